//! The node lifecycle's vocabulary: the labels that carry its decisions
//! from one cycle to the next, its policy and context, the node change it
//! asks for and the report it gives. A leaf: `crate::nodes` decides, the
//! AWS desired state carries the policy, the plan carries the report.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::closed_set::closed_set;

closed_set! {
    /// A swarm node's role.
    pub enum NodeRole("node role") {
        Manager = "manager",
        Worker = "worker",
    }
}

closed_set! {
    /// Whether the scheduler may place tasks on a node.
    pub enum NodeAvailability("node availability") {
        Active = "active",
        Pause = "pause",
        Drain = "drain",
    }
}

closed_set! {
    /// A node's state as the managers see it. Only `Ready` is ready: an
    /// unknown word is `Other`, never taken as ready.
    pub enum NodeState("node state", other Other) {
        Unknown = "unknown",
        Down = "down",
        Ready = "ready",
        Disconnected = "disconnected",
    }
}

/// Engine label the bootstrap sets: the node's EC2 instance.
pub const ENGINE_LABEL_INSTANCE: &str = "swarmkeeper.instance-id";
/// Node label swarmkeeper sets on a node it adopted into a pool.
pub const LABEL_POOL: &str = "io.swarmkeeper.pool";
/// Node label swarmkeeper sets on a node it adopted: its instance.
pub const LABEL_INSTANCE: &str = "io.swarmkeeper.instance-id";
/// Node label on a node being retired: `roll` or `scale-in`, then `@` and
/// when the drain started (seconds since the epoch), e.g. `roll@1795563350`:
/// the drain timeout counts from there, not from the node's last change
/// (which any spec write resets). A value without the time (earlier
/// versions) counts from the node's last change.
pub const LABEL_RETIRE: &str = "io.swarmkeeper.retire";

/// The reason and start of a retire label's value.
pub fn retire_label(value: &str) -> (&str, Option<u64>) {
    match value.split_once('@') {
        Some((reason, at)) => (reason, at.parse().ok()),
        None => (value, None),
    }
}

/// How the lifecycle behaves (from `cluster:` in swarmkeeper.yaml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NodePolicy {
    /// A node Down (or a manager unreachable) this long is replaced.
    pub replace_after_secs: u64,
    /// Nodes of one pool out of service at once during rolls and scale-in.
    pub max_unavailable: u32,
    /// A drain that takes longer is cut short: the node is removed anyway.
    pub drain_timeout_secs: u64,
    /// A new instance that has not joined after this long is reported.
    pub join_grace_secs: u64,
}

impl Default for NodePolicy {
    fn default() -> Self {
        Self {
            replace_after_secs: 60,
            max_unavailable: 1,
            drain_timeout_secs: 300,
            join_grace_secs: 600,
        }
    }
}

/// What the lifecycle needs to know besides the two snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeContext {
    /// Seconds since the epoch: the diff itself never reads a clock.
    pub now_unix: u64,
    /// The node whose engine swarmkeeper talks to: where the acting
    /// controller runs, so it goes last in rolls and scale-in.
    pub local_node: Option<String>,
}

/// A change of one node's spec. Applied to the node as it is at execution
/// time (read again first), so several steps on one node compose.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NodeChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<NodeRole>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability: Option<NodeAvailability>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The managers and whether a majority of them is reachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Quorum {
    pub managers: usize,
    pub reachable: usize,
    pub ok: bool,
}

impl Quorum {
    /// Whether removing a manager (reachable or not) keeps a majority.
    pub fn survives_removal(&self, removed_is_reachable: bool) -> bool {
        let managers = self.managers.saturating_sub(1);
        let reachable = self.reachable - usize::from(removed_is_reachable && self.reachable > 0);
        reachable * 2 > managers
    }
}

/// What the lifecycle found: for `/status`, metrics and the plan's output.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NodeReport {
    pub quorum: Quorum,
    /// Things a person should look at; nothing destructive is done about
    /// them automatically.
    pub problems: Vec<String>,
    /// Work in progress that takes several cycles (drains).
    pub progress: Vec<String>,
    /// A node is unresponsive but not yet for `replace_after`: look again
    /// in this many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck_in_secs: Option<u64>,
}
