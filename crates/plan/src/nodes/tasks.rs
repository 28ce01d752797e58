//! What the swarm's tasks say about a drain: which tasks of a node do not
//! run elsewhere yet, which task is still on its way to running.

use std::collections::{BTreeMap, BTreeSet};

use crate::observed::{ObservedNode, ObservedSwarm, TaskState};
use crate::spec::Mode;

/// How long after a node joined (or changed) a task the scheduler could
/// not place may still be placed on it.
pub const SETTLE_SECS: u64 = 30;

/// The scheduler's word for a task no node can take.
fn unplaceable(error: Option<&str>) -> bool {
    error.is_some_and(|e| e.contains("no suitable node"))
}

/// A task on its way to running; one the scheduler cannot place counts
/// only with `unplaced` (a node just joined that may take it).
pub fn starting_task(swarm: &ObservedSwarm, unplaced: bool) -> Option<&str> {
    use TaskState::*;
    const ON_THE_WAY: [TaskState; 7] = [New, Pending, Assigned, Accepted, Ready, Preparing, Starting];
    swarm
        .tasks
        .iter()
        .find(|t| {
            t.desired_state == Running
                && ON_THE_WAY.contains(&t.state)
                && (unplaced || !unplaceable(t.error.as_deref()))
        })
        .map(|t| t.id.as_str())
}

/// Tasks of `node` not yet running elsewhere: those still running there,
/// plus, for replicated services that had a task there, the replicas short
/// of running on other nodes — unless the scheduler says no other node can
/// take them (`max_replicas_per_node`, constraints): then waiting for them
/// cannot help, and the replacement node will.
pub fn tasks_left(node: &ObservedNode, swarm: &ObservedSwarm) -> usize {
    let here: Vec<_> = swarm
        .tasks
        .iter()
        .filter(|t| t.node_id.as_deref() == Some(node.id.as_str()))
        .collect();
    let still_running = here.iter().filter(|t| t.state == TaskState::Running).count();
    let services: BTreeSet<&str> = here.iter().map(|t| t.service_id.as_str()).collect();
    let short: usize = services
        .iter()
        .filter_map(|sid| {
            let svc = swarm.services.iter().find(|s| s.id == *sid)?;
            let Mode::Replicated { replicas } = svc.spec.mode else {
                return None;
            };
            let stuck = swarm
                .tasks
                .iter()
                .any(|t| t.service_id == *sid && t.state == TaskState::Pending && unplaceable(t.error.as_deref()));
            if stuck {
                return None;
            }
            let elsewhere = swarm
                .tasks
                .iter()
                .filter(|t| {
                    t.service_id == *sid
                        && t.state == TaskState::Running
                        && t.node_id.as_deref() != Some(node.id.as_str())
                })
                .count() as u64;
            Some(replicas.saturating_sub(elsewhere) as usize)
        })
        .sum();
    still_running.max(short)
}

/// Running tasks per node.
pub fn running_per_node(swarm: &ObservedSwarm) -> BTreeMap<&str, usize> {
    let mut out = BTreeMap::new();
    for t in swarm.tasks.iter().filter(|t| t.state == TaskState::Running) {
        if let Some(node) = t.node_id.as_deref() {
            *out.entry(node).or_insert(0) += 1;
        }
    }
    out
}
