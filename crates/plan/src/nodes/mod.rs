//! Node lifecycle: which swarm node is which instance, which nodes failed,
//! and the steps that replace them, roll a pool to a new instance type or
//! AMI and scale it in — never leaving fewer than a majority of managers
//! reachable.
//!
//! Pure: the observed swarm and AWS, the desired pools, the policy and the
//! time come in; steps (drain, promote/demote, remove, terminate) and a
//! report come out. A node is retired over several cycles: the first one
//! drains it and labels it `io.swarmkeeper.retire`, later ones wait until
//! its tasks run elsewhere (bounded by the drain timeout), then remove it
//! and terminate its instance. The label is what carries the decision from
//! one cycle to the next, so a restarted controller continues it.
//!
//! [`plan_nodes`] runs the parts in order: matching instances to nodes
//! ([`matching`]), the quorum ([`quorum`]), failed nodes ([`failures`]),
//! adoption and role changes ([`adoption`]), then, once nothing failed,
//! rolls and scale-in per pool ([`rolls`]). They share [`context`] and
//! build their steps with [`steps`]; [`tasks`] reads the swarm's tasks.
//! The vocabulary (policy, change, report, labels) is in
//! [`crate::node_types`], re-exported here.

pub mod adoption;
pub mod context;
pub mod failures;
pub mod matching;
pub mod quorum;
pub mod rolls;
pub mod steps;
pub mod tasks;

use adoption::adopt;
use context::{Lifecycle, Push};
use failures::replace_failed;
use matching::{match_members, strangers};
use quorum::{quorum_lost, quorum_of};
use rolls::plan_pool;

use crate::aws::spec::{DesiredAws, ObservedAws};
pub use crate::node_types::{
    ENGINE_LABEL_INSTANCE, LABEL_INSTANCE, LABEL_POOL, LABEL_RETIRE, NodeAvailability, NodeChange, NodeContext,
    NodePolicy, NodeReport, NodeRole, NodeState, Quorum, retire_label,
};
use crate::observed::ObservedSwarm;

/// Plan the node lifecycle. `push(action, reason, depends_on) -> step id`
/// adds a step to the plan being built.
pub fn plan_nodes(
    desired: &DesiredAws,
    aws: &ObservedAws,
    swarm: &ObservedSwarm,
    ctx: &NodeContext,
    push: &mut Push<'_>,
) -> NodeReport {
    let mut report = NodeReport {
        quorum: quorum_of(&swarm.nodes),
        ..NodeReport::default()
    };
    let Some(matched) = match_members(desired, aws, swarm) else {
        return report;
    };
    report.problems.extend(strangers(&matched, swarm));
    if !report.quorum.ok {
        report.problems.insert(0, quorum_lost(&report.quorum));
        return report;
    }
    let lc = Lifecycle {
        swarm,
        policy: desired.node_policy,
        now: ctx.now_unix,
        local_node: ctx.local_node.as_deref(),
        matched,
    };

    // 1. Failed nodes.
    let replaced = replace_failed(&lc, &mut report, push);
    // 2. Adoption: members get the pool's labels and role.
    let mut quorum = report.quorum;
    adopt(&lc, &mut quorum, push);
    // 3. Rolls and scale-in, pool by pool, once nothing has failed.
    if replaced.acted || replaced.managers_failed {
        return report;
    }
    for pool in &lc.matched.pools {
        let members = lc.matched.members(pool);
        plan_pool(&lc, pool, &members, &mut quorum, &mut report, push);
    }
    report
}
