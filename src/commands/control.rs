//! `swarmkeeper suspend` and `resume`: record the controller's controls in
//! the swarm (`swarmkeeper_swarm::control`), for every replica to read at
//! its next cycle — at once, since a change of them is an event the
//! controller listens for.

use std::collections::BTreeSet;
use std::process::ExitCode;

use swarmkeeper_plan::control::{Control, Mark};

use crate::cli::ControlArgs;

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

/// A stack name as docker takes it (`docker stack deploy` refuses others),
/// so that a typo cannot suspend nothing while saying it did.
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
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let engine = match swarmkeeper_swarm::Engine::connect().await {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(1));
            }
        };
        let now = match engine.apply_control(&control).await {
            Ok(now) => now,
            Err(e) => {
                eprintln!("error: {e}. Point DOCKER_HOST at a manager of the swarm the controller runs on");
                return Ok(ExitCode::from(1));
            }
        };
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
        if !now.is_none() {
            println!("Still suspended: {}.", now.describe());
        }
        // Said, not refused: the controls wait in the swarm for a controller.
        match engine.lease().await {
            Ok(Some(lease)) if !lease.expired(swarmkeeper_swarm::lease::now_ms()) => {}
            Ok(_) => eprintln!(
                "note: no controller holds the lease on this swarm now; the next one to start reads this"
            ),
            Err(e) => tracing::debug!(error = %e, "lease"),
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
