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

use std::collections::{BTreeMap, BTreeSet};

use crate::action::Action;
use crate::aws::action::AwsAction;
use crate::aws::names::removed_pool_name;
use crate::aws::spec::{DesiredAws, InstanceHealth, ObservedAws, ObservedInstance, owned};
pub use crate::node_types::{
    ENGINE_LABEL_INSTANCE, LABEL_INSTANCE, LABEL_POOL, LABEL_RETIRE, NodeAvailability, NodeChange, NodeContext, NodePolicy,
    NodeReport, NodeRole, NodeState, Quorum, retire_label,
};
use crate::observed::{ObservedNode, ObservedSwarm, TaskState};
use crate::spec::Mode;

fn retiring_for_scale_in(n: &ObservedNode) -> bool {
    n.labels
        .get(LABEL_RETIRE)
        .is_some_and(|r| retire_label(r).0 == "scale-in")
}

/// Seconds since the node last changed; an unknown time is "just now".
fn since_change(n: &ObservedNode, now: u64) -> u64 {
    n.updated_unix.map_or(0, |t| now.saturating_sub(t))
}

/// The managers of `nodes` and whether a majority of them is reachable.
fn quorum_of(nodes: &[ObservedNode]) -> Quorum {
    let managers = nodes.iter().filter(|n| n.role == NodeRole::Manager).count();
    let reachable = nodes.iter().filter(|n| n.role == NodeRole::Manager && n.reachable).count();
    Quorum {
        managers,
        reachable,
        ok: managers == 0 || reachable * 2 > managers,
    }
}

/// One pool as the lifecycle sees it.
struct Pool<'a> {
    group: &'a str,
    /// `managers` or `workers`.
    name: &'a str,
    role: NodeRole,
    count: u32,
    instance_type: &'a str,
    image_id: &'a str,
}

/// A member of a pool: its instance and, once joined, its node.
struct Member<'a> {
    instance: &'a ObservedInstance,
    node: Option<&'a ObservedNode>,
}

/// Plan the node lifecycle. `push(action, reason, depends_on) -> step id`
/// adds a step to the plan being built.
pub fn plan_nodes(
    desired: &DesiredAws,
    aws: &ObservedAws,
    swarm: &ObservedSwarm,
    ctx: &NodeContext,
    push: &mut dyn FnMut(Action, &str, Vec<usize>) -> usize,
) -> NodeReport {
    let policy = desired.node_policy;
    let mut report = NodeReport {
        quorum: quorum_of(&swarm.nodes),
        ..NodeReport::default()
    };
    let pools = pools(desired, aws);
    if pools.is_empty() {
        return report;
    }
    let groups: BTreeSet<&str> = pools.iter().map(|p| p.group).collect();
    let alive: Vec<&ObservedInstance> = aws
        .instances
        .iter()
        .filter(|i| groups.contains(i.group.as_str()) && i.is_alive())
        .collect();
    let node_of = map_nodes(&swarm.nodes, &alive);
    let by_id: BTreeMap<&str, &ObservedInstance> = alive.iter().map(|i| (i.id.as_str(), *i)).collect();
    let instance_of: BTreeMap<&str, &ObservedInstance> = node_of
        .iter()
        .filter_map(|(inst, node)| Some((node.id.as_str(), *by_id.get(inst)?)))
        .collect();

    // Nodes that claim one of our instances (by engine label) that is gone:
    // their instance was terminated, by us or by someone else.
    let gone: BTreeSet<&str> = swarm
        .nodes
        .iter()
        .filter(|n| !instance_of.contains_key(n.id.as_str()))
        .filter(|n| {
            n.engine_labels
                .get(ENGINE_LABEL_INSTANCE)
                .is_some_and(|id| !by_id.contains_key(id.as_str()))
                && n.engine_labels.get("swarmkeeper.cluster") == Some(&desired.cluster)
        })
        .map(|n| n.id.as_str())
        .collect();

    for n in &swarm.nodes {
        if !instance_of.contains_key(n.id.as_str()) && !gone.contains(n.id.as_str()) {
            report.problems.push(format!(
                "node {} ({}, {}) is no instance of the cluster's pools: the node lifecycle leaves it alone",
                n.hostname, n.role, n.id
            ));
        }
    }

    if !report.quorum.ok {
        report.problems.insert(
            0,
            format!(
                "MANAGER QUORUM LOST: {} of {} managers reachable. swarmkeeper takes no action on nodes until a majority is back; \
                 see docs/operations.md (\"Quorum lost\") to recover with --force-new-cluster",
                report.quorum.reachable, report.quorum.managers
            ),
        );
        return report;
    }

    let now = ctx.now_unix;
    let down_for = |n: &ObservedNode| since_change(n, now);
    let replace_after = policy.replace_after_secs;

    // 1. Failed nodes: workers Down too long or whose instance is bad;
    //    managers likewise, one at a time and only while a majority stays.
    let mut acted_on_failures = false;
    let mut failed_workers = Vec::new();
    let mut failed_managers = Vec::new();
    for n in &swarm.nodes {
        let instance = instance_of.get(n.id.as_str()).copied();
        let is_ours = instance.is_some() || gone.contains(n.id.as_str());
        if !is_ours {
            continue;
        }
        let unresponsive = n.state == NodeState::Down || (n.role == NodeRole::Manager && !n.reachable);
        if unresponsive && down_for(n) < replace_after {
            let due = replace_after - down_for(n);
            report.recheck_in_secs = Some(report.recheck_in_secs.map_or(due, |d| d.min(due)));
        }
        let why = if unresponsive && down_for(n) >= replace_after {
            Some(format!("down for {}s (replace_after {}s)", down_for(n), replace_after))
        } else if gone.contains(n.id.as_str()) && n.state != NodeState::Ready {
            Some("its instance is terminated".to_owned())
        } else if instance.is_some_and(|i| i.health == InstanceHealth::Unhealthy) {
            Some("its instance is unhealthy".to_owned())
        } else {
            None
        };
        if let Some(why) = why {
            if n.role == NodeRole::Manager {
                failed_managers.push((n, instance, why));
            } else {
                failed_workers.push((n, instance, why));
            }
        } else if gone.contains(n.id.as_str()) {
            report.problems.push(format!(
                "node {} ({}) is ready but its instance is no longer in the cluster's groups",
                n.hostname, n.id
            ));
        }
    }
    let workers_total = swarm
        .nodes
        .iter()
        .filter(|n| n.role == NodeRole::Worker && (instance_of.contains_key(n.id.as_str()) || gone.contains(n.id.as_str())))
        .count();
    let healthy_instances = failed_workers
        .iter()
        .filter(|(_, i, _)| i.is_some_and(|i| i.health == InstanceHealth::Healthy))
        .count();
    if workers_total >= 2 && failed_workers.len() == workers_total && healthy_instances == workers_total {
        // Every worker Down while AWS says each instance is fine: the
        // managers more likely lost the network than every worker died.
        report.problems.push(format!(
            "all {workers_total} workers are down while AWS reports their instances healthy: probably a network \
             problem of the managers, not {workers_total} failures; not replacing them"
        ));
    } else {
        for (n, instance, why) in &failed_workers {
            retire(push, n, *instance, &format!("failed: {why}"), None);
            acted_on_failures = true;
        }
    }
    if let Some((n, instance, why)) = failed_managers.first() {
        if report.quorum.survives_removal(n.reachable) {
            retire(push, n, *instance, &format!("failed: {why}"), Some(NodeRole::Worker));
            acted_on_failures = true;
        } else {
            report.problems.push(format!(
                "manager {} failed ({why}) but removing it would leave no majority: waiting",
                n.hostname
            ));
        }
    }
    for (n, _, _) in failed_managers.iter().skip(1) {
        report.progress.push(format!(
            "manager {} failed: replaced after the one before it",
            n.hostname
        ));
    }

    // 2. Adoption: members get the pool's labels and role.
    let mut quorum = report.quorum;
    for pool in &pools {
        for inst in alive.iter().filter(|i| i.group == pool.group) {
            let Some(node) = node_of.get(inst.id.as_str()) else {
                continue;
            };
            if node.state != NodeState::Ready {
                continue;
            }
            let mut change = NodeChange::default();
            if node.labels.get(LABEL_POOL).map(String::as_str) != Some(pool.name) {
                change.labels.insert(LABEL_POOL.into(), pool.name.into());
                change.labels.insert(LABEL_INSTANCE.into(), inst.id.clone());
                if node.availability != NodeAvailability::Active && !node.labels.contains_key(LABEL_RETIRE) {
                    change.availability = Some(NodeAvailability::Active);
                }
            }
            if node.role != pool.role && !node.labels.contains_key(LABEL_RETIRE) {
                if pool.role == NodeRole::Manager {
                    change.role = Some(NodeRole::Manager);
                } else if quorum.survives_removal(node.reachable) {
                    change.role = Some(NodeRole::Worker);
                    quorum.managers -= 1;
                    quorum.reachable -= usize::from(node.reachable);
                }
            }
            if change != NodeChange::default() {
                let why = match change.role {
                    Some(NodeRole::Manager) => format!("joined the {} pool as a worker: promote", pool.name),
                    Some(_) => format!("a manager in the {} pool: demote", pool.name),
                    None => format!("joined the {} pool", pool.name),
                };
                push(update_node(node, change), &why, vec![]);
            }
        }
    }

    // 3. Rolls and scale-in, pool by pool, once nothing has failed.
    if acted_on_failures || !failed_managers.is_empty() {
        return report;
    }
    for pool in &pools {
        let members: Vec<Member> = alive
            .iter()
            .filter(|i| i.group == pool.group)
            .map(|i| Member {
                instance: i,
                node: node_of.get(i.id.as_str()).copied(),
            })
            .collect();
        plan_pool(pool, &members, swarm, ctx, &policy, &mut quorum, &mut report, push);
    }
    report
}

/// Continue the drains of one pool, then start new ones for scale-in and
/// rolls, `max_unavailable` at a time.
#[allow(clippy::too_many_arguments)]
fn plan_pool(
    pool: &Pool,
    members: &[Member],
    swarm: &ObservedSwarm,
    ctx: &NodeContext,
    policy: &NodePolicy,
    quorum: &mut Quorum,
    report: &mut NodeReport,
    push: &mut dyn FnMut(Action, &str, Vec<usize>) -> usize,
) {
    let now = ctx.now_unix;
    // Scale-in takes instances that never joined first: nothing runs
    // there, so there is nothing to drain.
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
    let members: Vec<&Member> = members
        .iter()
        .filter(|m| !gone.contains(m.instance.id.as_str()))
        .collect();
    let mut unavailable = 0u32;
    let mut settling = false;
    for m in &members {
        match m.node {
            None => {
                let age = m.instance.launched_unix.map(|t| now.saturating_sub(t));
                if age.is_some_and(|a| a > policy.join_grace_secs) {
                    report.problems.push(format!(
                        "instance {} of the {} pool has not joined the swarm within {}s of its launch: check its bootstrap log",
                        m.instance.id, pool.name, policy.join_grace_secs
                    ));
                }
                settling = true;
                unavailable += 1;
            }
            Some(n) if n.state != NodeState::Ready => {
                settling = true;
                unavailable += 1;
            }
            Some(n) if n.availability != NodeAvailability::Active => unavailable += 1,
            Some(_) => {}
        }
    }

    // Drains in progress: remove the node once its work runs elsewhere.
    for m in &members {
        let Some(node) = m.node else { continue };
        let Some(label) = node.labels.get(LABEL_RETIRE) else {
            continue;
        };
        let (reason, started) = retire_label(label);
        let scale_in = reason == "scale-in";
        let left = tasks_left(node, swarm);
        // A start in the future (another clock) counts as "just now".
        let drained_for = started.map_or_else(|| since_change(node, now), |t| now.saturating_sub(t));
        if left > 0 && drained_for < policy.drain_timeout_secs {
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

    if settling {
        return; // wait for joins and recoveries before taking more out
    }
    // A node that just joined may be about to take a task the scheduler
    // could not place before: wait for that too, for a while.
    let fresh = members
        .iter()
        .filter_map(|m| m.node)
        .any(|n| since_change(n, now) < SETTLE_SECS);
    if let Some(task) = starting_task(swarm, fresh) {
        // The node before this one just moved its tasks: let them start
        // (on the new node, maybe) before taking the next one out, or a
        // service could briefly run nowhere.
        report.progress.push(format!(
            "waiting for task {task} to start before taking another {} node out",
            pool.name
        ));
        return;
    }
    let slots = policy.max_unavailable.saturating_sub(unavailable);
    if slots == 0 {
        return;
    }
    let alive = members.len() as u32 + gone.len() as u32;
    let stale = |m: &Member| {
        m.instance.instance_type != pool.instance_type
            || m.instance
                .image_id
                .as_deref()
                .is_some_and(|i| !pool.image_id.is_empty() && i != pool.image_id)
    };
    // Candidates: active nodes not yet retiring, the local node last, then
    // stale before current, then the emptiest, then by name.
    let mut candidates: Vec<&Member> = members
        .iter()
        .copied()
        .filter(|m| {
            m.node
                .is_some_and(|n| n.availability == NodeAvailability::Active && !n.labels.contains_key(LABEL_RETIRE))
        })
        .collect();
    let running = running_per_node(swarm);
    candidates.sort_by_cached_key(|m| {
        let n = m.node.map_or("", |n| n.id.as_str());
        let node = m.node.expect("filtered on nodes");
        (
            ctx.local_node.as_deref() == Some(n),
            !stale(m),
            node.reachable && node.role == NodeRole::Manager && is_leader(node),
            running.get(node.id.as_str()).copied().unwrap_or(0),
            node.hostname.clone(),
        )
    });
    let (reason, count) = if excess > 0 {
        ("scale-in", excess)
    } else if alive == pool.count {
        let stale_count = candidates.iter().filter(|m| stale(m)).count() as u32;
        ("roll", stale_count)
    } else {
        return; // scaling out: the group launches, nothing to take out
    };
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

/// How long after a node joined (or changed) a task the scheduler could
/// not place may still be placed on it.
const SETTLE_SECS: u64 = 30;

/// A task on its way to running; one the scheduler cannot place counts
/// only with `unplaced` (a node just joined that may take it).
fn starting_task(swarm: &ObservedSwarm, unplaced: bool) -> Option<&str> {
    use TaskState::*;
    const ON_THE_WAY: [TaskState; 7] = [New, Pending, Assigned, Accepted, Ready, Preparing, Starting];
    swarm
        .tasks
        .iter()
        .find(|t| {
            t.desired_state == TaskState::Running
                && ON_THE_WAY.contains(&t.state)
                && (unplaced || !t.error.as_deref().is_some_and(|e| e.contains("no suitable node")))
        })
        .map(|t| t.id.as_str())
}

fn is_leader(n: &ObservedNode) -> bool {
    n.leader
}

/// Tasks of `node` not yet running elsewhere: those still running there,
/// plus, for replicated services that had a task there, the replicas short
/// of running on other nodes — unless the scheduler says no other node can
/// take them (`max_replicas_per_node`, constraints): then waiting for them
/// cannot help, and the replacement node will.
fn tasks_left(node: &ObservedNode, swarm: &ObservedSwarm) -> usize {
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
            let unplaceable = swarm.tasks.iter().any(|t| {
                t.service_id == *sid
                    && t.state == TaskState::Pending
                    && t.error.as_deref().is_some_and(|e| e.contains("no suitable node"))
            });
            if unplaceable {
                return None;
            }
            let elsewhere = swarm
                .tasks
                .iter()
                .filter(|t| {
                    t.service_id == *sid && t.state == TaskState::Running && t.node_id.as_deref() != Some(node.id.as_str())
                })
                .count() as u64;
            Some(replicas.saturating_sub(elsewhere) as usize)
        })
        .sum();
    still_running.max(short)
}

/// Running tasks per node.
fn running_per_node(swarm: &ObservedSwarm) -> BTreeMap<&str, usize> {
    let mut out = BTreeMap::new();
    for t in swarm.tasks.iter().filter(|t| t.state == TaskState::Running) {
        if let Some(node) = t.node_id.as_deref() {
            *out.entry(node).or_insert(0) += 1;
        }
    }
    out
}

/// Steps for a failed node: drain (workers), demote (managers), remove,
/// terminate the instance so the group launches a replacement.
fn retire(
    push: &mut dyn FnMut(Action, &str, Vec<usize>) -> usize,
    node: &ObservedNode,
    instance: Option<&ObservedInstance>,
    why: &str,
    demote: Option<NodeRole>,
) {
    let mut deps = vec![];
    if demote.is_none() && node.availability != NodeAvailability::Drain {
        let change = NodeChange {
            availability: Some(NodeAvailability::Drain),
            ..NodeChange::default()
        };
        deps.push(push(update_node(node, change), why, vec![]));
    }
    let scale_in = retiring_for_scale_in(node);
    match instance {
        Some(instance) => retire_drained(push_with(push, deps), node, instance, why, demote, scale_in),
        None => {
            remove_node(push, node, why, demote, deps);
        }
    }
}

/// A `push` that adds `deps` to the first step it is given.
fn push_with<'a>(
    push: &'a mut dyn FnMut(Action, &str, Vec<usize>) -> usize,
    deps: Vec<usize>,
) -> impl FnMut(Action, &str, Vec<usize>) -> usize + 'a {
    let mut first = Some(deps);
    move |action, why, mut more| {
        if let Some(d) = first.take() {
            more.extend(d);
        }
        push(action, why, more)
    }
}

/// Demote (managers), remove, terminate: a node already out of service.
fn retire_drained(
    mut push: impl FnMut(Action, &str, Vec<usize>) -> usize,
    node: &ObservedNode,
    instance: &ObservedInstance,
    why: &str,
    demote: Option<NodeRole>,
    scale_in: bool,
) {
    let removed = remove_node(&mut push, node, why, demote, vec![]);
    push(
        Action::Aws {
            aws: AwsAction::TerminateInstance {
                id: instance.id.clone(),
                group: instance.group.clone(),
                decrement: scale_in,
            },
        },
        if scale_in {
            "scale-in: the group shrinks by one"
        } else {
            "the group launches a replacement"
        },
        vec![removed],
    );
}

fn remove_node(
    push: &mut dyn FnMut(Action, &str, Vec<usize>) -> usize,
    node: &ObservedNode,
    why: &str,
    demote: Option<NodeRole>,
    mut deps: Vec<usize>,
) -> usize {
    if let Some(role) = demote.filter(|_| node.role == NodeRole::Manager) {
        let change = NodeChange {
            role: Some(role),
            ..NodeChange::default()
        };
        deps = vec![push(update_node(node, change), why, deps)];
    }
    push(
        Action::RemoveNode {
            id: node.id.clone(),
            name: node.hostname.clone(),
        },
        why,
        deps,
    )
}

/// Instance id → node: by the engine label the bootstrap sets, else by
/// the node's address being the instance's private IP.
fn map_nodes<'a>(nodes: &'a [ObservedNode], instances: &[&'a ObservedInstance]) -> BTreeMap<&'a str, &'a ObservedNode> {
    let mut labelled = BTreeMap::new();
    let mut unlabelled = BTreeMap::new();
    for n in nodes {
        match n.engine_labels.get(ENGINE_LABEL_INSTANCE) {
            Some(id) => labelled.entry(id.as_str()).or_insert(n),
            None => unlabelled.entry(n.addr.as_str()).or_insert(n),
        };
    }
    let mut out = BTreeMap::new();
    for inst in instances {
        let by_label = labelled.get(inst.id.as_str()).copied();
        let by_addr = || inst.private_ip.as_deref().and_then(|ip| unlabelled.get(ip).copied());
        if let Some(n) = by_label.or_else(by_addr) {
            out.insert(inst.id.as_str(), n);
        }
    }
    out
}

/// The declared pools, and the cluster's groups no longer declared that
/// still have instances: pools of size 0, scaled in through the drain
/// path before the AWS diff deletes their group.
fn pools<'a>(desired: &'a DesiredAws, aws: &'a ObservedAws) -> Vec<Pool<'a>> {
    let mut out: Vec<Pool<'a>> = desired
        .groups
        .iter()
        .filter_map(|g| {
            let lt = desired.launch_templates.iter().find(|t| t.name == g.launch_template)?;
            Some(Pool {
                group: &g.name,
                name: &g.pool,
                role: pool_role(&g.pool),
                count: g.desired,
                instance_type: &lt.instance_type,
                image_id: &lt.image_id,
            })
        })
        .collect();
    for g in &aws.groups {
        let declared = desired.groups.iter().any(|d| d.name == g.name);
        if declared || !owned(&g.tags, &desired.cluster) {
            continue;
        }
        if !aws.instances.iter().any(|i| i.group == g.name) {
            continue;
        }
        let name = removed_pool_name(&desired.cluster, &g.name);
        out.push(Pool {
            group: &g.name,
            name,
            role: pool_role(name),
            count: 0,
            instance_type: "",
            image_id: "",
        });
    }
    out
}

/// The role of a pool's nodes: the `managers` pool's are managers.
fn pool_role(pool: &str) -> NodeRole {
    if pool == "managers" { NodeRole::Manager } else { NodeRole::Worker }
}

/// The step that applies `change` to `node`.
fn update_node(node: &ObservedNode, change: NodeChange) -> Action {
    Action::UpdateNode {
        id: node.id.clone(),
        name: node.hostname.clone(),
        change,
    }
}
