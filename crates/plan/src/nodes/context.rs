//! What every part of the node lifecycle reads: the pools, which instance
//! is which node, the policy and the time ([`Lifecycle`]), and the small
//! facts about one node they share.

use std::collections::{BTreeMap, BTreeSet};

use crate::action::Action;
use crate::aws::spec::ObservedInstance;
use crate::node_types::{LABEL_RETIRE, NodePolicy, NodeRole, retire_label};
use crate::observed::{ObservedNode, ObservedSwarm};

/// Adds a step to the plan being built: `push(action, reason, depends_on)
/// -> step id`.
pub type Push<'p> = dyn FnMut(Action, &str, Vec<usize>) -> usize + 'p;

/// One pool as the lifecycle sees it.
pub struct Pool<'a> {
    pub group: &'a str,
    /// `managers` or `workers`.
    pub name: &'a str,
    pub role: NodeRole,
    pub count: u32,
    pub instance_type: &'a str,
    pub image_id: &'a str,
}

/// A member of a pool: its instance and, once joined, its node.
pub struct Member<'a> {
    pub instance: &'a ObservedInstance,
    pub node: Option<&'a ObservedNode>,
}

/// The cluster's instances matched to swarm nodes.
pub struct Matched<'a> {
    pub pools: Vec<Pool<'a>>,
    /// Instances of the pools' groups not on their way out.
    pub alive: Vec<&'a ObservedInstance>,
    /// Instance id → its node.
    pub node_of: BTreeMap<&'a str, &'a ObservedNode>,
    /// Node id → its instance.
    pub instance_of: BTreeMap<&'a str, &'a ObservedInstance>,
    /// Nodes that claim (by engine label) one of the cluster's instances
    /// that is gone: terminated, by us or by someone else.
    pub gone: BTreeSet<&'a str>,
}

impl<'a> Matched<'a> {
    /// The node is one of the cluster's: its instance is alive, or gone.
    pub fn is_ours(&self, node: &ObservedNode) -> bool {
        self.instance_of.contains_key(node.id.as_str()) || self.gone.contains(node.id.as_str())
    }

    /// The members of `pool`, in the order of the group's instances.
    pub fn members(&self, pool: &Pool) -> Vec<Member<'a>> {
        self.alive
            .iter()
            .filter(|i| i.group == pool.group)
            .map(|i| Member {
                instance: i,
                node: self.node_of.get(i.id.as_str()).copied(),
            })
            .collect()
    }
}

/// Everything the lifecycle's decisions read.
pub struct Lifecycle<'a> {
    pub swarm: &'a ObservedSwarm,
    pub policy: NodePolicy,
    /// Seconds since the epoch.
    pub now: u64,
    /// The node the acting controller runs on: it goes last.
    pub local_node: Option<&'a str>,
    pub matched: Matched<'a>,
}

impl Lifecycle<'_> {
    /// Seconds since the node last changed; an unknown time is "just now".
    pub fn since_change(&self, n: &ObservedNode) -> u64 {
        since_change(n, self.now)
    }
}

/// Seconds since the node last changed; an unknown time is "just now".
pub fn since_change(n: &ObservedNode, now: u64) -> u64 {
    n.updated_unix.map_or(0, |t| now.saturating_sub(t))
}

/// The node carries a retire label for scale-in.
pub fn retiring_for_scale_in(n: &ObservedNode) -> bool {
    n.labels
        .get(LABEL_RETIRE)
        .is_some_and(|r| retire_label(r).0 == "scale-in")
}

/// The role of a pool's nodes: the `managers` pool's are managers.
pub fn pool_role(pool: &str) -> NodeRole {
    if pool == "managers" {
        NodeRole::Manager
    } else {
        NodeRole::Worker
    }
}
