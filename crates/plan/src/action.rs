//! The vocabulary of change: every action a plan can hold (swarm objects,
//! nodes, and AWS through [`AwsAction`]) and the field changes of an update.
//! Vocabulary only: the logic modules build these, the providers execute
//! them, and this module imports no logic.

use serde::Serialize;

use crate::aws::action::AwsAction;
use crate::node_types::NodeChange;
use crate::op::Op;
use crate::spec::{FileKind, FileObjectSpec, NetworkSpec, ServiceSpec};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    CreateNetwork {
        spec: NetworkSpec,
    },
    RemoveNetwork {
        id: String,
        name: String,
    },
    CreateFile {
        kind: FileKind,
        spec: FileObjectSpec,
    },
    RemoveFile {
        kind: FileKind,
        id: String,
        name: String,
    },
    CreateService {
        spec: Box<ServiceSpec>,
    },
    UpdateService {
        id: String,
        version: u64,
        spec: Box<ServiceSpec>,
        /// The user's changes: what makes this update happen.
        changes: Vec<FieldChange>,
        /// swarmkeeper's own bookkeeping written with them (the revision
        /// label), shown as notes such as `revision → ba3c620b00ca`, never
        /// counted as a field that differs.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    RemoveService {
        id: String,
        name: String,
    },
    /// A node's role, availability or labels (see [`crate::node_types::NodeChange`]).
    UpdateNode {
        id: String,
        name: String,
        change: NodeChange,
    },
    /// `docker node rm --force`: the node is out of service already.
    RemoveNode {
        id: String,
        name: String,
    },
    /// A change to AWS (see [`AwsAction`]).
    Aws {
        #[serde(flatten)]
        aws: AwsAction,
    },
}

/// One field of an update: `path` old → new, as JSON values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

impl Action {
    pub fn op(&self) -> Op {
        match self {
            Action::CreateNetwork { .. } | Action::CreateFile { .. } | Action::CreateService { .. } => Op::Create,
            Action::UpdateService { .. } | Action::UpdateNode { .. } => Op::Update,
            Action::RemoveNetwork { .. }
            | Action::RemoveFile { .. }
            | Action::RemoveService { .. }
            | Action::RemoveNode { .. } => Op::Delete,
            Action::Aws { aws } => aws.op(),
        }
    }

    /// `service`, `network`, `config` or `secret`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::CreateNetwork { .. } | Action::RemoveNetwork { .. } => "network",
            Action::CreateFile { kind, .. } | Action::RemoveFile { kind, .. } => kind.word(),
            Action::CreateService { .. } | Action::UpdateService { .. } | Action::RemoveService { .. } => "service",
            Action::UpdateNode { .. } | Action::RemoveNode { .. } => "node",
            Action::Aws { aws } => aws.kind(),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Action::CreateNetwork { spec } => spec.name.clone(),
            Action::CreateFile { spec, .. } => spec.name.clone(),
            Action::CreateService { spec } | Action::UpdateService { spec, .. } => spec.name.clone(),
            Action::RemoveNetwork { name, .. }
            | Action::RemoveFile { name, .. }
            | Action::RemoveService { name, .. }
            | Action::UpdateNode { name, .. }
            | Action::RemoveNode { name, .. } => name.clone(),
            Action::Aws { aws } => aws.name(),
        }
    }

    /// Whether the AWS provider executes it (else the swarm provider).
    pub fn is_aws(&self) -> bool {
        matches!(self, Action::Aws { .. })
    }
}
