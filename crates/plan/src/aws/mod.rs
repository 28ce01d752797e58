//! The AWS half of the plan. Vocabulary: the resource specs and the observed
//! snapshot ([`spec`]), the names of owned resources ([`names`]) and the
//! actions ([`action`]). Logic: desired resources from `swarmkeeper.yaml`
//! ([`desired`]), the decisions ([`diff`]), whose steps join the same
//! [`crate::plan::Plan`] as the swarm's, and their simulation ([`simulate`]).
//! The user data's wire form (gzip) is [`user_data`]'s.

pub mod action;
pub mod desired;
pub mod diff;
pub mod names;
pub mod simulate;
pub mod spec;
pub mod user_data;

pub use action::AwsAction;
