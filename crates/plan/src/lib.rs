//! swarmkeeper's pure core for the swarm side: what the desired state asks
//! of the swarm ([`convert`]), what was observed ([`observed`]), the
//! decisions ([`diff`]) and their result ([`plan`]), and how a plan reads
//! ([`render`]).
//!
//! No I/O at all: providers fill an [`observed::ObservedSwarm`] and execute
//! [`plan::Action`]s; everything between is here, and tested here.

pub mod aws;
pub mod calls;
pub mod convert;
pub mod diff;
pub mod error_kind;
pub mod labels;
pub mod nodes;
pub mod observed;
pub mod plan;
pub mod redact;
pub mod render;
pub mod simulate;
pub mod spec;

pub use convert::{DesiredSwarm, desired_swarm};
pub use diff::{PlanError, PlanOptions, diff};
pub use error_kind::ErrorKind;
pub use observed::ObservedSwarm;
pub use plan::{Action, Plan, Step};
