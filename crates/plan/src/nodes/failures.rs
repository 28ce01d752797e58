//! Failed nodes and their replacement: workers Down too long or whose
//! instance is bad or gone, replaced all at once (unless every worker
//! looks down at once, which is more likely the managers' network); failed
//! managers likewise, one at a time and only while a majority stays.

use super::context::{Lifecycle, Push};
use super::steps::retire;
use crate::aws::spec::{InstanceHealth, ObservedInstance};
use crate::node_types::{NodeReport, NodeRole, NodeState};
use crate::observed::ObservedNode;

/// A node found failed: its instance (none when gone) and why.
struct Failed<'a> {
    node: &'a ObservedNode,
    instance: Option<&'a ObservedInstance>,
    why: String,
}

/// What the replacement did, for what may follow in the same cycle.
pub struct Replaced {
    /// Steps were added for failed nodes.
    pub acted: bool,
    /// A manager failed (replaced now, or waiting for the majority).
    pub managers_failed: bool,
}

/// Finds the failed nodes of the cluster and adds the steps that replace
/// them; reports what waits and when to look again.
pub fn replace_failed(lc: &Lifecycle, report: &mut NodeReport, push: &mut Push<'_>) -> Replaced {
    let (workers, managers) = failed(lc, report);
    let mut acted = false;
    if let Some(problem) = partition(lc, &workers) {
        report.problems.push(problem);
    } else {
        for f in &workers {
            retire(push, f.node, f.instance, &format!("failed: {}", f.why), None);
            acted = true;
        }
    }
    if let Some(f) = managers.first() {
        if report.quorum.survives_removal(f.node.reachable) {
            retire(
                push,
                f.node,
                f.instance,
                &format!("failed: {}", f.why),
                Some(NodeRole::Worker),
            );
            acted = true;
        } else {
            report.problems.push(format!(
                "manager {} failed ({}) but removing it would leave no majority: waiting",
                f.node.hostname, f.why
            ));
        }
    }
    for f in managers.iter().skip(1) {
        report.progress.push(format!(
            "manager {} failed: replaced after the one before it",
            f.node.hostname
        ));
    }
    Replaced {
        acted,
        managers_failed: !managers.is_empty(),
    }
}

/// The failed workers and managers of the cluster; an unresponsive node not
/// yet due sets `recheck_in_secs`, a ready node whose instance is gone is a
/// problem.
fn failed<'a>(lc: &Lifecycle<'a>, report: &mut NodeReport) -> (Vec<Failed<'a>>, Vec<Failed<'a>>) {
    let replace_after = lc.policy.replace_after_secs;
    let (mut workers, mut managers) = (Vec::new(), Vec::new());
    for n in lc.swarm.nodes.iter().filter(|n| lc.matched.is_ours(n)) {
        let instance = lc.matched.instance_of.get(n.id.as_str()).copied();
        let gone = lc.matched.gone.contains(n.id.as_str());
        let down_for = lc.since_change(n);
        let unresponsive = n.state == NodeState::Down || (n.role == NodeRole::Manager && !n.reachable);
        if unresponsive && down_for < replace_after {
            let due = replace_after - down_for;
            report.recheck_in_secs = Some(report.recheck_in_secs.map_or(due, |d| d.min(due)));
        }
        let why = if unresponsive && down_for >= replace_after {
            Some(format!("down for {down_for}s (replace_after {replace_after}s)"))
        } else if gone && n.state != NodeState::Ready {
            Some("its instance is terminated".to_owned())
        } else if instance.is_some_and(|i| i.health == InstanceHealth::Unhealthy) {
            Some("its instance is unhealthy".to_owned())
        } else {
            None
        };
        match why {
            Some(why) => {
                let f = Failed { node: n, instance, why };
                if n.role == NodeRole::Manager {
                    managers.push(f);
                } else {
                    workers.push(f);
                }
            }
            None if gone => report.problems.push(format!(
                "node {} ({}) is ready but its instance is no longer in the cluster's groups",
                n.hostname, n.id
            )),
            None => {}
        }
    }
    (workers, managers)
}

/// Every worker down while AWS says each instance is fine: the managers
/// more likely lost the network than every worker died. The problem to
/// report instead of replacing them.
fn partition(lc: &Lifecycle, failed_workers: &[Failed]) -> Option<String> {
    let workers_total = lc
        .swarm
        .nodes
        .iter()
        .filter(|n| n.role == NodeRole::Worker && lc.matched.is_ours(n))
        .count();
    let healthy_instances = failed_workers
        .iter()
        .filter(|f| f.instance.is_some_and(|i| i.health == InstanceHealth::Healthy))
        .count();
    (workers_total >= 2 && failed_workers.len() == workers_total && healthy_instances == workers_total).then(|| {
        format!(
            "all {workers_total} workers are down while AWS reports their instances healthy: probably a network \
             problem of the managers, not {workers_total} failures; not replacing them"
        )
    })
}
