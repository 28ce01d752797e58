//! A plan: ordered steps (an [`Action`] each, with why it exists and what it
//! waits for), what was seen and left alone, the node lifecycle's report;
//! the options that shape a plan and the errors that refuse one. Vocabulary:
//! the diff modules fill it, render and the providers read it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use crate::action::{Action, FieldChange};
use crate::node_types::{NodeContext, NodeReport};
use crate::observed::{Foreign, ObservedSwarm, Unmanaged};
pub use crate::op::Op;

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Plan {
    /// In an order that respects `depends_on`.
    pub steps: Vec<Step>,
    /// Objects seen and left alone.
    pub unmanaged: Vec<Unmanaged>,
    /// swarmkeeper objects of another desired state (or of none, made
    /// before owners and not declared here): never touched.
    pub foreign: Vec<Foreign>,
    /// Things the user should know that change nothing.
    pub warnings: Vec<String>,
    /// Service → environment keys declared sensitive in its compose file
    /// (besides keys whose name looks secret): rendering redacts them.
    #[serde(skip)]
    pub sensitive_env: BTreeMap<String, BTreeSet<String>>,
    /// The node lifecycle's findings (with a cluster declared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<NodeReport>,
    /// Whether the swarm half was planned against an observed swarm.
    pub swarm: SwarmPart,
    /// With [`SwarmPart::AfterSwarmExists`]: the swarm steps that follow
    /// once the cluster's swarm has formed, planned against an empty swarm
    /// (Terraform's "known after apply"). Not run by the apply that runs
    /// `steps`: they are planned again against the new swarm.
    pub after_swarm: Vec<Step>,
    /// Steps that wait on something an earlier step of this same apply
    /// creates (a service mounting the EFS file system of a new shared
    /// volume): planned with the values known only after it ("known after
    /// apply"), shown and counted, but not run by the round that runs
    /// `steps`: the next round plans them again with the real values.
    pub after_apply: Vec<Waiting>,
    /// Steps a suspension holds back (`PlanOptions::hold`, see
    /// [`crate::hold`]): planned and shown, never applied until `resume`.
    pub held: Vec<Held>,
}

/// A step of [`Plan::after_apply`] and what it waits for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waiting {
    #[serde(flatten)]
    pub step: Step,
    pub waits_for: String,
}

/// A step of [`Plan::held`] and what holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    #[serde(flatten)]
    pub step: Step,
    pub held_by: String,
}

/// What a plan is given of the swarm.
#[derive(Debug, Clone, Copy)]
pub enum SwarmSeen<'a> {
    Observed(&'a ObservedSwarm),
    /// The cluster has no swarm yet (none recorded for it).
    NotFormed,
    /// The cluster's swarm exists; why it cannot be observed.
    Unreachable(&'a str),
}

/// How the swarm half of a plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum SwarmPart {
    /// Against the observed swarm.
    #[default]
    Planned,
    /// The cluster's swarm does not exist yet: its first manager creates it
    /// when its instance boots; the swarm steps are in `after_swarm`.
    AfterSwarmExists,
    /// The cluster's swarm exists but this run has no way into it: the
    /// swarm half is not planned (nothing of it is changed or removed).
    Unreachable { why: String },
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

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Steps that wait for the swarm to exist (`Plan::after_swarm`).
    pub after_swarm: usize,
    /// Steps that wait on an earlier step of this apply (`Plan::after_apply`).
    pub after_apply: usize,
    /// Steps a suspension holds back (`Plan::held`).
    pub held: usize,
}

impl Plan {
    /// No step to run now (steps that wait for the swarm are not counted:
    /// see [`Plan::pending`]).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Anything to do, now, once the swarm exists or after this apply.
    pub fn pending(&self) -> bool {
        !self.steps.is_empty() || !self.after_swarm.is_empty() || !self.after_apply.is_empty()
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
        s.after_swarm = self.after_swarm.len();
        s.after_apply = self.after_apply.len();
        s.held = self.held.len();
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Allow pruning every managed stack when the desired state declares none.
    pub allow_empty: bool,
    /// Unused revisions of a still-declared config or secret to keep.
    pub keep_revisions: usize,
    /// The time and the local node, for the node lifecycle.
    pub nodes: NodeContext,
    /// What a suspension holds back (the controller's `suspend`).
    pub hold: crate::control::Hold,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            allow_empty: false,
            keep_revisions: 2,
            nodes: NodeContext::default(),
            hold: crate::control::Hold::Nothing,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The desired state declares no stack while managed stacks are live.
    EmptyDesiredState { managed_stacks: Vec<String> },
    /// Declared stacks that have no services while theirs are live.
    EmptyStacks { stacks: Vec<String> },
    /// Objects that block the plan (name taken by an unmanaged object,
    /// external object missing).
    Conflicts(Vec<String>),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::EmptyDesiredState { managed_stacks } => write!(
                f,
                "the desired state declares no stacks, but swarmkeeper manages {} live ({}); refusing to remove them all. \
                 If that is what you want, run again with --allow-empty",
                managed_stacks.len(),
                managed_stacks.join(", ")
            ),
            PlanError::EmptyStacks { stacks } => write!(
                f,
                "stack(s) {} declare no services, but their services are live; refusing to remove them all \
                 (an empty or truncated compose file?). If that is what you want, remove the stack from \
                 `stacks:` in swarmkeeper.yaml, or run again with --allow-empty",
                stacks.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            ),
            PlanError::Conflicts(list) => {
                write!(f, "the plan is blocked:")?;
                for c in list {
                    write!(f, "\n  - {c}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for PlanError {}
