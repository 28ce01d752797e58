//! One module per subcommand; each exposes `run`, returning the exit code.

pub mod control;
pub mod dashboard;
pub mod destroy;
pub mod prune_node;
pub mod reconcile;
pub mod run;
pub mod schema;
pub mod status;
pub mod validate;

use swarmkeeper_model::Variables;

/// The process environment, for compose interpolation (non-UTF-8 entries
/// cannot be referenced from YAML and are skipped).
pub fn process_environment() -> Variables {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}
