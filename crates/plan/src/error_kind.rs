//! What kind of failure a step (or a cycle) ended in: the closed set the
//! controller's error policy decides on. Each provider classifies its own
//! errors (`EngineError::kind`, `AwsError::kind`); nothing above the
//! providers reads error messages to decide.

use serde::Serialize;

/// The kind of a failure, as far as retrying it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Likely to pass if tried again soon: throttling, a 5xx, a timeout, a
    /// connection that failed, a swarm update out of sequence.
    Transient,
    /// Something the step needs is not there (yet): AWS's eventual
    /// consistency, or a step it needed that did not run. Retried like a
    /// transient failure.
    NotFound,
    /// The name is taken by an object swarmkeeper does not manage, or the
    /// object is in use or still has dependents.
    Conflict,
    /// Not allowed: credentials, or an IAM action not granted.
    Permission,
    /// Rejected as invalid: the desired state asks for something the
    /// engine or AWS refuses.
    Invalid,
    /// Not classified (an error a provider does not recognise, an internal
    /// error such as a panicking action). Retried like a transient one.
    Unknown,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::Transient,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Permission,
        ErrorKind::Invalid,
        ErrorKind::Unknown,
    ];

    /// The label used in logs, `/status` and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Permission => "permission",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Unknown => "unknown",
        }
    }

    /// Whether trying the same thing again, unchanged, may pass. The other
    /// kinds need a change (of the desired state, of what is live, of the
    /// permissions) first.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Transient | ErrorKind::NotFound | ErrorKind::Unknown)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_and_serde_agrees() {
        let labels: std::collections::BTreeSet<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(labels.len(), ErrorKind::ALL.len());
        for kind in ErrorKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(kind.as_str()));
        }
    }

    #[test]
    fn only_what_may_pass_unchanged_is_retryable() {
        let retryable: Vec<_> = ErrorKind::ALL.into_iter().filter(|k| k.is_retryable()).collect();
        assert_eq!(
            retryable,
            [ErrorKind::Transient, ErrorKind::NotFound, ErrorKind::Unknown]
        );
    }
}
