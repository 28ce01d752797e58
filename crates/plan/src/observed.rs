//! The observed snapshot: what the providers saw, in provider-neutral form.
//!
//! Providers fill it from list calls; the diff reads it. Specs here are
//! already translated back to names (network ids → names) and normalised
//! the same way desired specs are.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::closed_set::closed_set;
use crate::labels;
use crate::node_types::{NodeAvailability, NodeRole, NodeState};
use crate::spec::{FileKind, NetworkSpec, ServiceSpec};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObservedSwarm {
    pub services: Vec<ObservedService>,
    pub networks: Vec<ObservedNetwork>,
    pub files: Vec<ObservedFile>,
    pub nodes: Vec<ObservedNode>,
    pub tasks: Vec<ObservedTask>,
    /// Volume names on the engine that was asked (volumes are per node).
    pub volumes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedNode {
    pub id: String,
    pub hostname: String,
    pub role: NodeRole,
    pub availability: NodeAvailability,
    pub state: NodeState,
    pub addr: String,
    /// `ip:2377` where a manager listens for joins (managers only).
    pub manager_addr: Option<String>,
    /// The manager is reachable by the raft quorum.
    pub reachable: bool,
    pub labels: BTreeMap<String, String>,
    pub engine_labels: BTreeMap<String, String>,
    /// When the node last changed (spec or status), in seconds since the
    /// epoch: a Down node has been down at least since then. `None` when
    /// the engine's time was absent or unreadable: the lifecycle takes an
    /// unknown time as "just now", never as "long ago".
    pub updated_unix: Option<u64>,
    /// The raft leader (managers only).
    pub leader: bool,
}

closed_set! {
    /// A task's state (and the state its service wants it in), as the
    /// engine names them, in the order a task goes through them.
    pub enum TaskState("task state", other Other) {
        New = "new",
        Allocated = "allocated",
        Pending = "pending",
        Assigned = "assigned",
        Accepted = "accepted",
        Preparing = "preparing",
        Ready = "ready",
        Starting = "starting",
        Running = "running",
        Complete = "complete",
        Shutdown = "shutdown",
        Failed = "failed",
        Rejected = "rejected",
        Remove = "remove",
        Orphaned = "orphaned",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTask {
    pub id: String,
    pub service_id: String,
    pub node_id: Option<String>,
    pub state: TaskState,
    pub desired_state: TaskState,
    pub image: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedService {
    pub id: String,
    /// Swarm's version index: updates must send it back.
    pub version: u64,
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedNetwork {
    pub id: String,
    pub spec: NetworkSpec,
    /// `swarm` for overlay networks; others (`local`) are never managed.
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedFile {
    pub kind: FileKind,
    pub id: String,
    pub name: String,
    pub version: u64,
    pub labels: BTreeMap<String, String>,
}

impl ObservedService {
    pub fn is_managed(&self) -> bool {
        labels::is_managed(&self.spec.labels)
    }
    pub fn stack(&self) -> Option<&str> {
        self.spec.labels.get(labels::STACK_NAMESPACE).map(String::as_str)
    }
}

impl ObservedNetwork {
    pub fn is_managed(&self) -> bool {
        labels::is_managed(&self.spec.labels)
    }
}

impl ObservedFile {
    pub fn is_managed(&self) -> bool {
        labels::is_managed(&self.labels)
    }
}

/// An object swarmkeeper saw and leaves alone (shown with `--verbose`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unmanaged {
    pub kind: &'static str,
    pub name: String,
}

/// A swarmkeeper object this desired state does not own and leaves alone:
/// another state's (`owner`), or made by a version before owners and not
/// declared here (`owner: None`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Foreign {
    pub kind: &'static str,
    pub name: String,
    pub owner: Option<String>,
}
