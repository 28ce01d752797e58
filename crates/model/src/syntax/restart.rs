//! The service-level `restart:` key (`no`, `always`, `unless-stopped`,
//! `on-failure`, `on-failure:N`), which `docker stack deploy` turns into a
//! restart policy when `deploy.restart_policy` is absent.

use crate::compose::{RestartCondition, RestartPolicy};

/// The accepted forms, as error messages list them.
pub const FORMS: &str = "no, always, unless-stopped, on-failure or on-failure:N";

/// A `restart:` value that is none of [`FORMS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownRestart;

/// The policy `text` names (`None` for `no`), or `Err` when it names none.
pub fn parse_restart(text: &str) -> Result<Option<RestartPolicy>, UnknownRestart> {
    let policy = |condition, max_attempts| RestartPolicy {
        condition: Some(condition),
        delay: None,
        max_attempts,
        window: None,
    };
    match text {
        "no" => Ok(None),
        "always" | "unless-stopped" => Ok(Some(policy(RestartCondition::Any, None))),
        "on-failure" => Ok(Some(policy(RestartCondition::OnFailure, None))),
        other => match other.strip_prefix("on-failure:").map(str::parse::<u64>) {
            Some(Ok(n)) => Ok(Some(policy(RestartCondition::OnFailure, Some(n)))),
            _ => Err(UnknownRestart),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_forms() {
        let cond = |t: &str| parse_restart(t).map(|p| p.map(|p| (p.condition, p.max_attempts)));
        assert_eq!(cond("no"), Ok(None));
        assert_eq!(cond("always"), Ok(Some((Some(RestartCondition::Any), None))));
        assert_eq!(cond("unless-stopped"), Ok(Some((Some(RestartCondition::Any), None))));
        assert_eq!(cond("on-failure"), Ok(Some((Some(RestartCondition::OnFailure), None))));
        assert_eq!(
            cond("on-failure:3"),
            Ok(Some((Some(RestartCondition::OnFailure), Some(3))))
        );
        assert_eq!(cond("on-failure:x"), Err(UnknownRestart));
        assert_eq!(cond("sometimes"), Err(UnknownRestart));
    }
}
