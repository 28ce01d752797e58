//! What kind of change an action is: create, update or delete (the plan's
//! summary counts them). A leaf: both the swarm's and AWS's actions name it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Update,
    Delete,
}
