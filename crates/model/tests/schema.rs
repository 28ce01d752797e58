//! `swarmkeeper schema` output is a JSON Schema that accepts the example
//! and rejects what validate rejects at the top level.

use swarmkeeper_model::diagnostic::Diagnostics;
use swarmkeeper_model::source::Sources;
use swarmkeeper_model::{schema, yaml};

/// This package's directory, as cargo gives it when it runs the test: a test
/// binary cargo reuses from a build of a checkout elsewhere (one target
/// directory for every clone) must read this checkout's files, not that one's.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

fn example_as_json(extra: &str) -> serde_json::Value {
    let path = manifest_dir().join("../../manifests/examples/nextcloud/swarmkeeper.yaml");
    let text = std::fs::read_to_string(path).expect("example exists") + extra;
    let mut sources = Sources::default();
    let id = sources.add("swarmkeeper.yaml", text);
    let mut diags = Diagnostics::default();
    let node = yaml::parse(id, sources.get(id), &mut diags).expect("example parses");
    yaml::to_json(&node)
}

#[test]
fn schema_accepts_the_example() {
    let validator = jsonschema::validator_for(&schema::json_schema()).expect("schema compiles");
    let doc = example_as_json("");
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn schema_rejects_unknown_keys_and_bad_values() {
    let validator = jsonschema::validator_for(&schema::json_schema()).expect("schema compiles");
    assert!(!validator.is_valid(&example_as_json("surprise: true\n")));
    let mut doc = example_as_json("");
    doc["cluster"]["managers"]["instance_type"] = "t2micro".into();
    assert!(!validator.is_valid(&doc));
    let mut doc = example_as_json("");
    doc["volumes"]["db-data"]["type"] = "efs".into();
    assert!(!validator.is_valid(&doc));
}
