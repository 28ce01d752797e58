//! Rolls and scale-in of one pool, `max_unavailable` at a time: instances
//! that never joined go first on scale-in; drains in progress are finished
//! (the node removed once its tasks run elsewhere, or the drain timed out);
//! then, once nothing is settling, new drains start — stale nodes for a
//! roll, the emptiest for scale-in, the local node last.

use std::collections::BTreeSet;

use super::context::{Lifecycle, Member, Pool, Push, retiring_for_scale_in};
use super::steps::{retire_drained, update_node};
use super::tasks::{SETTLE_SECS, running_per_node, starting_task, tasks_left};
use crate::action::Action;
use crate::aws::action::AwsAction;
use crate::node_types::{
    LABEL_RETIRE, NodeAvailability, NodeChange, NodeReport, NodeRole, NodeState, Quorum, retire_label,
};

/// A pool once its never-joined excess is terminated.
struct PoolState<'m, 'a> {
    /// Members left (those terminated this cycle are not).
    members: Vec<&'m Member<'a>>,
    /// Members terminated this cycle.
    terminated: u32,
    /// Members still to take out for scale-in.
    excess: u32,
    /// Members out of service or not yet in (launching, down, drained).
    unavailable: u32,
    /// A member is launching or not ready: wait before taking more out.
    settling: bool,
}

/// Continue the drains of one pool, then start new ones for scale-in and
/// rolls, `max_unavailable` at a time.
pub fn plan_pool(
    lc: &Lifecycle,
    pool: &Pool,
    members: &[Member],
    quorum: &mut Quorum,
    report: &mut NodeReport,
    push: &mut Push<'_>,
) {
    let mut state = terminate_unjoined(pool, members, push);
    count_unavailable(lc, pool, &mut state, report);
    finish_drains(lc, &state.members, quorum, report, push);
    if state.settling {
        return; // wait for joins and recoveries before taking more out
    }
    // A node that just joined may be about to take a task the scheduler
    // could not place before: wait for that too, for a while.
    let fresh = state
        .members
        .iter()
        .filter_map(|m| m.node)
        .any(|n| lc.since_change(n) < SETTLE_SECS);
    if let Some(task) = starting_task(lc.swarm, fresh) {
        // The node before this one just moved its tasks: let them start
        // (on the new node, maybe) before taking the next one out, or a
        // service could briefly run nowhere.
        report.progress.push(format!(
            "waiting for task {task} to start before taking another {} node out",
            pool.name
        ));
        return;
    }
    start_drains(lc, pool, &state, report, push);
}

/// Scale-in takes instances that never joined first: nothing runs there,
/// so there is nothing to drain.
fn terminate_unjoined<'m, 'a>(pool: &Pool, members: &'m [Member<'a>], push: &mut Push<'_>) -> PoolState<'m, 'a> {
    let retiring_scale_in = members
        .iter()
        .filter_map(|m| m.node)
        .filter(|n| retiring_for_scale_in(n))
        .count() as u32;
    let mut excess = (members.len() as u32)
        .saturating_sub(pool.count)
        .saturating_sub(retiring_scale_in);
    let mut gone = BTreeSet::new();
    for m in members.iter().filter(|m| m.node.is_none()) {
        if excess == 0 {
            break;
        }
        push(
            Action::Aws {
                aws: AwsAction::TerminateInstance {
                    id: m.instance.id.clone(),
                    group: m.instance.group.clone(),
                    decrement: true,
                },
            },
            &format!(
                "scale-in: the {} pool shrinks to {}; this instance is in no swarm",
                pool.name, pool.count
            ),
            vec![],
        );
        gone.insert(m.instance.id.as_str());
        excess -= 1;
    }
    PoolState {
        members: members
            .iter()
            .filter(|m| !gone.contains(m.instance.id.as_str()))
            .collect(),
        terminated: gone.len() as u32,
        excess,
        unavailable: 0,
        settling: false,
    }
}

/// Counts the members out of service; an instance that has not joined
/// within the join grace is a problem.
fn count_unavailable(lc: &Lifecycle, pool: &Pool, state: &mut PoolState, report: &mut NodeReport) {
    for m in &state.members {
        match m.node {
            None => {
                let age = m.instance.launched_unix.map(|t| lc.now.saturating_sub(t));
                if age.is_some_and(|a| a > lc.policy.join_grace_secs) {
                    report.problems.push(format!(
                        "instance {} of the {} pool has not joined the swarm within {}s of its launch: check its bootstrap log",
                        m.instance.id, pool.name, lc.policy.join_grace_secs
                    ));
                }
                state.settling = true;
                state.unavailable += 1;
            }
            Some(n) if n.state != NodeState::Ready => {
                state.settling = true;
                state.unavailable += 1;
            }
            Some(n) if n.availability != NodeAvailability::Active => state.unavailable += 1,
            Some(_) => {}
        }
    }
}

/// Drains in progress: remove the node once its work runs elsewhere (or
/// the drain timed out), a manager only while the majority stays.
fn finish_drains(
    lc: &Lifecycle,
    members: &[&Member],
    quorum: &mut Quorum,
    report: &mut NodeReport,
    push: &mut Push<'_>,
) {
    for m in members {
        let Some(node) = m.node else { continue };
        let Some(label) = node.labels.get(LABEL_RETIRE) else {
            continue;
        };
        let (reason, started) = retire_label(label);
        let scale_in = reason == "scale-in";
        let left = tasks_left(node, lc.swarm);
        // A start in the future (another clock) counts as "just now".
        let drained_for = started.map_or_else(|| lc.since_change(node), |t| lc.now.saturating_sub(t));
        if left > 0 && drained_for < lc.policy.drain_timeout_secs {
            report.progress.push(format!(
                "draining {} ({reason}): {left} task(s) not yet running elsewhere",
                node.hostname
            ));
            continue;
        }
        let demote = (node.role == NodeRole::Manager).then_some(NodeRole::Worker);
        if demote.is_some() {
            if !quorum.survives_removal(node.reachable) {
                report.progress.push(format!(
                    "manager {} is drained; removing it now would leave no majority: waiting",
                    node.hostname
                ));
                continue;
            }
            quorum.managers -= 1;
            quorum.reachable -= usize::from(node.reachable);
        }
        let why = if left > 0 {
            format!("{reason}: drained for {drained_for}s with {left} task(s) left (drain timeout)")
        } else {
            format!("{reason}: drained, its tasks run elsewhere")
        };
        retire_drained(&mut *push, node, m.instance, &why, demote, scale_in);
    }
}

/// Starts drains for scale-in (the excess) or a roll (stale members), as
/// many as `max_unavailable` leaves room for.
fn start_drains(lc: &Lifecycle, pool: &Pool, state: &PoolState, report: &mut NodeReport, push: &mut Push<'_>) {
    let slots = lc.policy.max_unavailable.saturating_sub(state.unavailable);
    if slots == 0 {
        return;
    }
    let alive = state.members.len() as u32 + state.terminated;
    let stale = |m: &Member| {
        m.instance.instance_type != pool.instance_type
            || m.instance
                .image_id
                .as_deref()
                .is_some_and(|i| !pool.image_id.is_empty() && i != pool.image_id)
    };
    // Candidates: active nodes not yet retiring, the local node last, then
    // stale before current, then the emptiest, then by name.
    let mut candidates: Vec<&Member> = state
        .members
        .iter()
        .copied()
        .filter(|m| {
            m.node
                .is_some_and(|n| n.availability == NodeAvailability::Active && !n.labels.contains_key(LABEL_RETIRE))
        })
        .collect();
    let running = running_per_node(lc.swarm);
    candidates.sort_by_cached_key(|m| {
        let n = m.node.map_or("", |n| n.id.as_str());
        let node = m.node.expect("filtered on nodes");
        (
            lc.local_node == Some(n),
            !stale(m),
            node.reachable && node.role == NodeRole::Manager && node.leader,
            running.get(node.id.as_str()).copied().unwrap_or(0),
            node.hostname.clone(),
        )
    });
    let (reason, count) = if state.excess > 0 {
        ("scale-in", state.excess)
    } else if alive == pool.count {
        let stale_count = candidates.iter().filter(|m| stale(m)).count() as u32;
        ("roll", stale_count)
    } else {
        return; // scaling out: the group launches, nothing to take out
    };
    let now = lc.now;
    for m in candidates.into_iter().take(count.min(slots) as usize) {
        let Some(node) = m.node else { continue };
        if reason == "roll" && !stale(m) {
            break;
        }
        let mut change = NodeChange {
            availability: Some(NodeAvailability::Drain),
            ..NodeChange::default()
        };
        change.labels.insert(LABEL_RETIRE.into(), format!("{reason}@{now}"));
        let why = if reason == "roll" {
            format!(
                "roll: runs {} {}, the pool wants {} {}",
                m.instance.instance_type,
                m.instance.image_id.as_deref().unwrap_or("?"),
                pool.instance_type,
                pool.image_id
            )
        } else {
            format!("scale-in: the {} pool shrinks to {}", pool.name, pool.count)
        };
        push(update_node(node, change), &why, vec![]);
        report.progress.push(format!("draining {} ({reason})", node.hostname));
    }
}
