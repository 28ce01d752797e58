//! Which swarm node is which instance of the cluster's pools: by the engine
//! label the bootstrap sets, else by address; which nodes claim an instance
//! that is gone; which pools there are (the declared ones, and removed ones
//! still holding instances).

use std::collections::{BTreeMap, BTreeSet};

use super::context::{Matched, Pool, pool_role};
use crate::aws::names::removed_pool_name;
use crate::aws::spec::{DesiredAws, ObservedAws, ObservedInstance, owned};
use crate::node_types::ENGINE_LABEL_INSTANCE;
use crate::observed::{ObservedNode, ObservedSwarm};

/// The cluster's pools and their instances matched to nodes; `None` when
/// the cluster has no pool (nothing for the lifecycle to do).
pub fn match_members<'a>(
    desired: &'a DesiredAws,
    aws: &'a ObservedAws,
    swarm: &'a ObservedSwarm,
) -> Option<Matched<'a>> {
    let pools = pools(desired, aws);
    if pools.is_empty() {
        return None;
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
    Some(Matched {
        pools,
        alive,
        node_of,
        instance_of,
        gone,
    })
}

/// A problem for each node that is no instance of the cluster's pools.
pub fn strangers(matched: &Matched, swarm: &ObservedSwarm) -> Vec<String> {
    swarm
        .nodes
        .iter()
        .filter(|n| !matched.is_ours(n))
        .map(|n| {
            format!(
                "node {} ({}, {}) is no instance of the cluster's pools: the node lifecycle leaves it alone",
                n.hostname, n.role, n.id
            )
        })
        .collect()
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
