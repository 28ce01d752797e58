//! swarmkeeper's Docker Swarm provider: talks to one Docker Engine (a swarm
//! manager) through bollard. It observes and executes; it decides nothing.
//!
//! - [`engine`]: the connection (API version negotiated; the lab's engine
//!   speaks 1.41) and the error type, which names DOCKER_HOST when the
//!   engine cannot be reached.
//! - [`ssh`]: `DOCKER_HOST=ssh://`: the system `ssh` running `docker
//!   system dial-stdio` on the far side, with a known-hosts file and an
//!   identity of swarmkeeper's own when given.
//! - [`observe`]: one list call per object kind, translated to the plan's
//!   provider-neutral snapshot.
//! - [`translate`]: neutral specs ⇄ Engine API specs.
//! - [`execute`]: one plan action = one create/update/remove call (updates
//!   carry the version index and retry on "update out of sequence").
//! - [`registry`]: the docker client's registry credentials, sent with
//!   service creates and updates, and digest lookups through the engine.
//! - [`lease`] and [`control`]: the controller's lease and its controls
//!   (`suspend`, `resume`), labels of swarm configs written with their
//!   version index.
//! - [`maintenance`]: the scheduled prune's record, its global job, and
//!   the prune calls of one node's engine.
//! - [`calls`]: every call is counted, reads and writes apart.
//! - [`lease`]: the controller lease; [`revision_key`]: the key that names
//!   config and secret revisions, read or created in the swarm.

pub mod calls;
pub mod control;
pub mod engine;
pub mod execute;
pub mod lease;
pub mod maintenance;
pub mod observe;
mod raw;
pub mod registry;
pub mod revision_key;
pub mod ssh;
pub mod translate;

pub use calls::CallCounts;
pub use engine::{Engine, EngineError, SwarmState};
pub use execute::{Ids, Outcome};
