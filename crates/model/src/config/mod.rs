//! `swarmkeeper.yaml`, the desired-state root file (format v1): the
//! vocabulary with its defaults and ranges ([`types`]), the keys each
//! mapping accepts ([`keys`]), the decoder ([`decode`]) and what EBS
//! accepts for a relocatable volume ([`ebs`]).
//!
//! The types double as the source of the JSON Schema that
//! `swarmkeeper schema` prints; a test keeps the key lists and the schema's
//! properties identical, and the decoder and the schema read the same
//! default and range constants.

pub mod decode;
pub mod ebs;
pub mod keys;
pub mod types;

pub use decode::decode_config;
pub use keys::*;
pub use types::*;
