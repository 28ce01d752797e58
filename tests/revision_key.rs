//! The cluster's revision key on the lab's swarm: created once, whoever
//! asks first, and read alike by every replica, so every run names the
//! same content's revision alike.

mod common;

use common::{DesiredDir, docker, reset, swarmkeeper};

/// The secret revision names a dry run would create.
fn secret_names(lab: &std::collections::BTreeMap<String, String>, dir: &DesiredDir) -> Vec<String> {
    let run = swarmkeeper(lab, &["reconcile", &dir.arg(), "--dry-run", "-o", "json"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON plan");
    let mut names: Vec<String> = doc["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["kind"] == "secret")
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn two_replicas_asking_at_once_get_one_key_and_every_run_names_revisions_alike() {
    let lab = common::lab("two_replicas_asking_at_once_get_one_key_and_every_run_names_revisions_alike");
    let _serial = common::serial();
    reset(&lab, &[]);
    // reset removed the key with every managed config: none now.
    let gone = docker(&lab, &["config", "inspect", "swarmkeeper-revision-key"]);
    assert_ne!(gone.code, Some(0), "{gone:?}");

    let dir = DesiredDir::new("revision-key");
    dir.write("pw.txt", "the same content");
    dir.stacks(&[(
        "rk",
        "services:\n  web:\n    image: swarmkeeper-lab/web:1\n    secrets: [pw]\nsecrets:\n  pw:\n    file: ./pw.txt\n",
    )]);
    // A dry run creates nothing: its names are known after apply.
    assert_eq!(secret_names(&lab, &dir), ["rk_pw_(known after apply)"]);
    assert_ne!(
        docker(&lab, &["config", "inspect", "swarmkeeper-revision-key"]).code,
        Some(0),
        "a dry run created the key"
    );

    // Two replicas ask for the key at the same moment: the engine keeps
    // one config, and both use it.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (a, b) = runtime.block_on(async {
        let (one, two) = (common::engine(&lab).await, common::engine(&lab).await);
        let (a, b) = tokio::join!(one.revision_key(true), two.revision_key(true));
        (a.expect("a key"), b.expect("a key"))
    });
    assert!(a.stored && b.stored);
    assert_eq!(a.key.id(), b.key.id(), "two keys for one swarm");

    // Every run reads that key: the same content, the same name.
    let first = secret_names(&lab, &dir);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0].starts_with("rk_pw_") && !first[0].contains("known after apply"),
        "{first:?}"
    );
    assert_eq!(secret_names(&lab, &dir), first);
    let labels = docker(
        &lab,
        &[
            "config",
            "inspect",
            "swarmkeeper-revision-key",
            "--format",
            "{{json .Spec.Labels}}",
        ],
    );
    assert!(labels.stdout.contains(&a.key.id()), "{labels:?}");
    reset(&lab, &[]);
}
