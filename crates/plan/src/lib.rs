//! swarmkeeper's pure core: what the desired state asks of the swarm
//! ([`convert`]) and of AWS ([`aws::desired`]), what was observed
//! ([`observed`], [`aws::spec`]), the decisions ([`diff`], which runs
//! [`aws::diff`], [`nodes`] and [`swarm_diff`]) and their result ([`plan`]),
//! and how a plan reads ([`render`]); what a cycle hands on and reports
//! from what it observed ([`publish`], [`health`]); which managers the CLI
//! tries over ssh ([`reach`]).
//!
//! No I/O at all: providers fill an [`observed::ObservedSwarm`] and execute
//! [`action::Action`]s; everything between is here, and tested here.
//!
//! Layering: vocabulary modules ([`spec`], [`labels`], [`control`], [`observed`], [`op`],
//! [`action`], [`node_types`], [`plan`], [`aws::spec`], [`aws::names`],
//! [`aws::action`], [`revision_key`]) import no logic module; the logic modules import
//! vocabulary and utilities ([`json_diff`], [`redact`]), and only the roots
//! ([`diff`], [`simulate`]) call more than one of them. No two files import
//! each other (`tests/layering.rs` checks it).

pub mod action;
pub mod aws;
pub mod calls;
pub mod closed_set;
pub mod cluster_status;
pub mod control;
pub mod convert;
pub mod dashboard;
pub mod destroy;
pub mod diff;
pub mod error_kind;
pub mod health;
pub mod hold;
pub mod identity;
pub mod images;
pub mod json_diff;
pub mod labels;
pub mod list_diff;
pub mod maintenance;
pub mod node_types;
pub mod nodes;
pub mod notify;
pub mod observed;
pub mod op;
pub mod plan;
pub mod publish;
pub mod reach;
pub mod redact;
pub mod render;
pub mod revision_key;
pub mod revisions;
pub mod simulate;
pub mod spec;
pub mod swarm_diff;

pub use convert::{DesiredSwarm, desired_swarm};
pub use diff::{PlanError, PlanOptions, diff};
pub use error_kind::ErrorKind;
pub use observed::ObservedSwarm;
pub use plan::{Action, Plan, Step};
