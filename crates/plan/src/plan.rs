//! A plan: ordered, typed actions with dependencies, each saying why it
//! exists and, for updates, which fields change.

use serde::Serialize;

use crate::observed::Unmanaged;
use crate::spec::{FileKind, FileObjectSpec, NetworkSpec, ServiceSpec};

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Plan {
    /// In an order that respects `depends_on`.
    pub steps: Vec<Step>,
    /// Objects seen and left alone.
    pub unmanaged: Vec<Unmanaged>,
    /// swarmkeeper objects of another desired state (or of none, made
    /// before owners and not declared here): never touched.
    pub foreign: Vec<crate::observed::Foreign>,
    /// Things the user should know that change nothing.
    pub warnings: Vec<String>,
    /// Service → environment keys declared sensitive in its compose file
    /// (besides keys whose name looks secret): rendering redacts them.
    #[serde(skip)]
    pub sensitive_env: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    /// The node lifecycle's findings (with a cluster declared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<crate::nodes::NodeReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub id: usize,
    #[serde(flatten)]
    pub action: Action,
    pub reason: String,
    /// Steps that must succeed first.
    pub depends_on: Vec<usize>,
}

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
        changes: Vec<FieldChange>,
    },
    RemoveService {
        id: String,
        name: String,
    },
    /// A node's role, availability or labels (see [`crate::nodes`]).
    UpdateNode {
        id: String,
        name: String,
        change: crate::nodes::NodeChange,
    },
    /// `docker node rm --force`: the node is out of service already.
    RemoveNode {
        id: String,
        name: String,
    },
    /// A change to AWS (see [`crate::aws::AwsAction`]).
    Aws {
        #[serde(flatten)]
        aws: crate::aws::AwsAction,
    },
}

/// One field of an update: `path` old → new, as JSON values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: String,
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Update,
    Delete,
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

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for step in &self.steps {
            match step.action.op() {
                Op::Create => s.add += 1,
                Op::Update => s.change += 1,
                Op::Delete => s.destroy += 1,
            }
        }
        s
    }
}
