//! swarmkeeper's desired state: the types of a desired-state directory
//! (`swarmkeeper.yaml` plus compose and env files), how they are loaded,
//! interpolated and validated.
//!
//! Raw YAML becomes a spanned [`yaml::Node`] tree, then the typed, validated
//! [`DesiredState`]. Every problem becomes a [`Diagnostic`] with file, line
//! and column; a state with any error is never returned. This crate reads
//! files (through a [`SourceTree`]) and nothing else: no network, no environment lookups of its own
//! (the keys for SOPS files come in from the caller).
//!
//! - [`tree`], [`source`], [`yaml`]: reading files and parsing YAML into
//!   spanned nodes; [`diagnostic`]: findings with positions;
//! - [`syntax`]: the small languages inside scalars (durations, sizes,
//!   short ports and volumes, shell words, file modes, closed sets of
//!   words, interpolation, env files, name rules);
//! - [`decode`]: the generic typed reader of nodes ([`decode::Decoder`]);
//! - [`config`]: `swarmkeeper.yaml`'s types with their defaults and
//!   ranges, its keys and its decoder; [`schema`]: its JSON Schema;
//! - [`compose`]: compose files' types, keys, decoder by section and
//!   cross-references;
//! - [`load`]: the loader that ties these together; [`validate`]: checks
//!   across files (routes against stacks, volumes against the cluster);
//! - [`sops`]: SOPS-encrypted files, decrypted in memory at load with the
//!   caller's keys ([`sops::DataKeys`]: age identities here, AWS KMS
//!   through the binary); [`values`]: configs and secrets whose bytes live
//!   in AWS (SSM, Secrets Manager), named by the state, read by the caller.

pub mod compose;
pub mod config;
pub mod decode;
pub mod diagnostic;
pub mod image;
pub mod load;
pub mod schema;
pub mod sops;
pub mod source;
pub mod syntax;
pub mod tree;
pub mod validate;
pub mod values;
pub mod yaml;

/// The duration syntax at its old path (the CLI parses flags with it).
pub use syntax::duration;

pub use config::Config;
pub use diagnostic::{Diagnostic, Diagnostics, ResolvedDiagnostic, Severity};
pub use load::{DesiredState, LoadOutcome, ROOT_FILE, Stack, load_dir, load_dir_with, load_tree, load_tree_with};
pub use source::Sources;
pub use syntax::interpolate::Variables;
pub use tree::{DirTree, MemoryTree, SourceTree};
