//! `swarmkeeper suspend`, `resume`, `pin`, `unpin`: record the controller's
//! controls in the swarm (`swarmkeeper_swarm::control`), for every replica
//! to read at its next cycle — at once, since a change of them is an event
//! the controller listens for; and `history`, the revisions it applied.

use std::collections::BTreeSet;
use std::process::ExitCode;

use swarmkeeper_plan::control::{Control, Controls, Mark, Outcome, Pin};

use crate::cli::{ControlArgs, HistoryArgs, OutputFormat};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Suspend,
    Resume,
}

/// Who is typing, for the record: `user@host`.
fn who() -> String {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{user}@{host}")
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A stack name as docker takes it (`docker stack deploy` refuses others):
/// a name no stack can have is refused (a well-formed name of no declared
/// stack is recorded: the desired state is not read here).
fn valid_stack(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

pub fn run(args: &ControlArgs, verb: Verb) -> anyhow::Result<ExitCode> {
    if let Some(bad) = args.stacks.iter().find(|s| !valid_stack(s)) {
        eprintln!(
            "error: `{bad}` is not a stack name: give the name under `stacks:` in swarmkeeper.yaml \
             (letters, digits, `-` and `_`, starting with a letter or digit)"
        );
        return Ok(ExitCode::from(1));
    }
    let stacks: BTreeSet<String> = args.stacks.iter().cloned().collect();
    let control = match verb {
        Verb::Suspend => Control::Suspend {
            stacks: stacks.clone(),
            mark: Mark {
                by: who(),
                at_unix: now_unix(),
            },
        },
        Verb::Resume => Control::Resume { stacks: stacks.clone() },
    };
    record(&control, |now| {
        match (verb, stacks.is_empty()) {
            (Verb::Suspend, true) => println!(
                "Suspended: the controller observes and reports, and applies nothing until `swarmkeeper resume`."
            ),
            (Verb::Suspend, false) => println!(
                "Suspended stack(s) {}: their changes are held until `swarmkeeper resume --stack …`; the rest is applied.",
                list(&stacks)
            ),
            (Verb::Resume, true) => println!("Resumed: the controller applies what it held at its next cycle."),
            (Verb::Resume, false) => println!("Resumed stack(s) {}.", list(&stacks)),
        }
        if !now.suspension.is_none() {
            println!("Still suspended: {}.", now.suspension.describe());
        }
    })
}

/// `pin REVISION` (`Some`) or `unpin` (`None`).
pub fn pin(revision: Option<&str>) -> anyhow::Result<ExitCode> {
    let control = match revision {
        Some(r) => {
            let r = r.trim().to_ascii_lowercase();
            if !Pin::is_commit_id(&r) {
                eprintln!(
                    "error: `{r}` is not a commit id: give 7 to 40 hex digits of a commit of the controller's branch \
                     (`swarmkeeper history` lists the revisions it applied)"
                );
                return Ok(ExitCode::from(1));
            }
            Control::Pin {
                revision: r,
                mark: Mark {
                    by: who(),
                    at_unix: now_unix(),
                },
            }
        }
        None => Control::Unpin,
    };
    record(&control, |now| match &now.pin {
        Some(pin) => println!(
            "Pinned to {}: the controller applies it and stays there, whatever the branch says, until `swarmkeeper unpin`.",
            pin.revision
        ),
        None => println!("Unpinned: the controller follows its branch again and applies its head at once."),
    })
}

/// Run `f` on an engine reached through DOCKER_HOST; errors are one line
/// saying what to do, exit code 1.
fn with_engine<F, Fut>(f: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(swarmkeeper_swarm::Engine) -> Fut,
    Fut: std::future::Future<Output = Result<ExitCode, swarmkeeper_swarm::EngineError>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let engine = match swarmkeeper_swarm::Engine::connect().await {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(1));
            }
        };
        match f(engine).await {
            Ok(code) => Ok(code),
            Err(e) => {
                eprintln!("error: {e}. Point DOCKER_HOST at a manager of the swarm the controller runs on");
                Ok(ExitCode::from(1))
            }
        }
    })
}

/// Record `control`, then `say` what the controls are now.
fn record(control: &Control, say: impl FnOnce(&Controls)) -> anyhow::Result<ExitCode> {
    with_engine(|engine| async move {
        let now = engine.apply_control(control).await?;
        say(&now);
        // Said, not refused: the controls wait in the swarm for a controller.
        match engine.lease().await {
            Ok(Some(lease)) if !lease.expired(swarmkeeper_swarm::lease::now_ms()) => {}
            Ok(_) => {
                eprintln!("note: no controller holds the lease on this swarm now; the next one to start reads this")
            }
            Err(e) => tracing::debug!(error = %e, "lease"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `swarmkeeper history [-o json]`.
pub fn history(args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let output = args.output;
    with_engine(|engine| async move {
        let history = engine.history().await?;
        let controls = engine.controls().await?;
        if output == OutputFormat::Json {
            let doc = serde_json::json!({ "history": history, "controls": controls });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            return Ok(ExitCode::SUCCESS);
        }
        if history.0.is_empty() {
            println!("No revision applied yet (the controller records each one it applies).");
        }
        for applied in &history.0 {
            let outcome = match applied.outcome {
                Outcome::Applied => "applied",
                Outcome::Failed => "FAILED",
            };
            let [add, change, remove] = applied.counts;
            println!(
                "{}  {}  {outcome:<7}  +{add} ~{change} -{remove}{}",
                applied.revision,
                swarmkeeper_plan::cluster_status::rfc3339(applied.at_unix),
                if applied.pinned { "  (pinned)" } else { "" }
            );
        }
        if let Some(pin) = &controls.pin {
            println!(
                "Pinned to {} by {} (`swarmkeeper unpin` follows the branch again).",
                pin.revision, pin.mark.by
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn list(stacks: &BTreeSet<String>) -> String {
    stacks.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_as_docker_takes_them() {
        for ok in ["web", "a_b", "x-1", "9lives"] {
            assert!(valid_stack(ok), "{ok}");
        }
        for bad in ["", "-x", "_x", "a b", "a/b", &"x".repeat(64)] {
            assert!(!valid_stack(bad), "{bad}");
        }
    }
}
