//! Which of a desired state's services are short of running tasks: the
//! `/status` health and the metrics read it. Pure over the observed swarm;
//! `src/cycle.rs` calls it.

use crate::labels::{Ownership, ownership};
use crate::observed::{ObservedService, ObservedSwarm, TaskState};
use crate::spec::Mode;

/// Services of `owner` (and those of earlier versions it may adopt)
/// without all their tasks running: replicated services short of their
/// replicas, global services with a task that should run and does not.
/// Jobs never count. Another owner's services are another state's health.
pub fn unhealthy_services(observed: &ObservedSwarm, owner: &str) -> Vec<String> {
    let own = |s: &&ObservedService| matches!(ownership(&s.spec.labels, owner), Ownership::Mine | Ownership::Legacy);
    observed
        .services
        .iter()
        .filter(own)
        .filter(|s| short_of_tasks(s, observed))
        .map(|s| s.spec.name.clone())
        .collect()
}

/// The service runs fewer tasks than it asks for.
fn short_of_tasks(s: &ObservedService, observed: &ObservedSwarm) -> bool {
    let (running, wanted) = tasks_of(s, observed);
    match s.spec.mode {
        Mode::Replicated { replicas } => (running as u64) < replicas,
        Mode::Global => running < wanted,
        Mode::ReplicatedJob { .. } | Mode::GlobalJob => false,
    }
}

/// A service's tasks that should run: how many do, of how many there are.
pub fn tasks_of(s: &ObservedService, observed: &ObservedSwarm) -> (usize, usize) {
    observed
        .tasks
        .iter()
        .filter(|t| t.service_id == s.id && t.desired_state == TaskState::Running)
        .fold((0, 0), |(r, w), t| {
            (r + usize::from(t.state == TaskState::Running), w + 1)
        })
}
