//! The small languages the model parses inside YAML scalars and beside the
//! YAML files, each a pure function from text to a value or a reason:
//!
//! - [`duration`]: Go-style durations (`30s`, `1m30s`);
//! - [`size`]: byte sizes as docker reads them (`512m`, `1.5GB`);
//! - [`port`]: compose's short port syntax (`8080:80/udp`, ranges);
//! - [`volume`]: compose's short volume syntax (`data:/srv:ro`);
//! - [`shell`]: command lines split into words as a POSIX shell would;
//! - [`file_mode`]: file modes (`0440`, `0o440`, decimal);
//! - [`restart`]: the service-level `restart:` key (`on-failure:3`);
//! - [`keyword`]: closed sets of words (mount types, protocols, policies…),
//!   each declared once with its spelling;
//! - [`interpolate`]: `${VAR:-default}` substitution in compose files;
//! - [`envfile`]: env files (`KEY=value` lines);
//! - [`names`]: the rules for names and identifiers (stacks, regions, CIDRs…).
//!
//! These know nothing of YAML nodes: the decoders (`config::decode`,
//! `compose::decode`) call them and turn a reason into a diagnostic at the
//! scalar's position (except `names::check` and `envfile`, which record
//! their own diagnostics).

pub mod duration;
pub mod envfile;
pub mod file_mode;
pub mod interpolate;
pub mod keyword;
pub mod names;
pub mod port;
pub mod restart;
pub mod shell;
pub mod size;
pub mod volume;
