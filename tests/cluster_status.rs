//! The compact status in SSM and `status --cluster`, against the lab's
//! moto: a reconcile writes it, `status --cluster` reads it with AWS
//! credentials alone (no engine: DOCKER_HOST points nowhere), a no-op
//! reconcile writes nothing, an unknown cluster is a clear error, and while
//! `destroy`'s marker exists a reconcile applies nothing.

mod common;

use std::collections::BTreeMap;

use common::{DesiredDir, boto, reset, reset_moto, swarmkeeper};
use serde_json::Value;

type Lab = BTreeMap<String, String>;

const CLUSTER: &str = "version: 1
cluster:
  name: seen
  region: eu-west-1
  managers:
    count: 1
    instance_type: t3.small
    ami: ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
stacks:
  web:
    compose: web.yml
";

const WEB: &str = "services:\n  site:\n    image: swarmkeeper-lab/web:1\n";

/// The lab's environment with no engine reachable: only AWS credentials.
fn aws_only(lab: &Lab) -> Lab {
    let mut env = lab.clone();
    env.insert("DOCKER_HOST".into(), "unix:///nonexistent/docker.sock".into());
    env
}

fn parameter(lab: &Lab, name: &str) -> Value {
    boto(
        lab,
        &format!(
            "c = boto3.client('ssm', **kw)\ntry:\n    print(json.dumps(c.get_parameter(Name='{name}')['Parameter']['Value']))\nexcept c.exceptions.ParameterNotFound:\n    print('null')"
        ),
    )
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_reconciled_cluster_shows_synced_from_anywhere_and_a_no_op_writes_nothing() {
    let _serial = common::serial();
    let lab = common::lab("a_reconciled_cluster_shows_synced_from_anywhere_and_a_no_op_writes_nothing");
    reset(&lab, &[]);
    reset_moto(&lab);
    common::moto_only(&lab, &["seen"]);
    let dir = DesiredDir::new("cluster-status");
    dir.write("swarmkeeper.yaml", CLUSTER).write("web.yml", WEB);

    // Never applied: a clear error, exit 1.
    let run = swarmkeeper(
        &aws_only(&lab),
        &["status", "--cluster", "seen", "--region", "eu-west-1"],
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("cluster `seen` has no status in eu-west-1"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("never applied, or it does not exist in that region"),
        "{run:?}"
    );
    // A dry-run applies nothing, so writes no status.
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "--dry-run"]).code,
        Some(2)
    );
    assert_eq!(parameter(&lab, "/swarmkeeper/seen/status"), Value::Null);

    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");

    let run = swarmkeeper(
        &aws_only(&lab),
        &["status", "--cluster", "seen", "--region", "eu-west-1", "-o", "json"],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["sync_status"], "Synced", "{doc:#}");
    assert!(doc["health_status"].is_string(), "{doc:#}");
    assert!(
        doc["applied_revision"].as_str().is_some_and(|r| !r.is_empty()),
        "{doc:#}"
    );
    assert_eq!(doc["pools"]["managers"]["desired"], 1, "{doc:#}");
    assert_eq!(doc["last_error"], Value::Null, "{doc:#}");
    assert_eq!(doc["writer"], "cli", "{doc:#}");
    assert!(doc["updated_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{doc:#}");
    // The parameter holds the compact document the contract names.
    let stored = parameter(&lab, "/swarmkeeper/seen/status");
    let stored: Value = serde_json::from_str(stored.as_str().expect("a String parameter")).expect("JSON");
    assert_eq!(stored["sync_status"], "Synced");
    assert!(stored.to_string().len() < 4096);

    let run = swarmkeeper(
        &aws_only(&lab),
        &["status", "--cluster", "seen", "--region", "eu-west-1"],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("sync:     Synced"), "{run:?}");
    assert!(run.stdout.contains("managers: "), "{run:?}");
    assert!(run.stdout.contains("by the cli"), "{run:?}");

    // Unchanged: the status is read, not written. The services' tasks may
    // still have been starting when the apply ended (health is part of the
    // status, so its change is written once): wait until the stored status
    // says Healthy, then a no-op writes nothing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "-o", "json"]);
        assert_eq!(run.code, Some(0), "{run:?}");
        let stored = parameter(&lab, "/swarmkeeper/seen/status");
        let stored: Value = serde_json::from_str(stored.as_str().expect("a String parameter")).expect("JSON");
        if stored["health_status"] == "Healthy" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never healthy: {stored:#}");
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg(), "-o", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["api_calls"]["aws"]["writes"], 0, "{report:#}");
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn while_destroy_runs_reconcile_applies_nothing() {
    let _serial = common::serial();
    let lab = common::lab("while_destroy_runs_reconcile_applies_nothing");
    reset(&lab, &[]);
    reset_moto(&lab);
    common::moto_only(&lab, &["seen"]);
    let dir = DesiredDir::new("cluster-destroying");
    dir.write("swarmkeeper.yaml", CLUSTER).write("web.yml", WEB);
    boto(
        &lab,
        "c = boto3.client('ssm', **kw)\nc.put_parameter(Name='/swarmkeeper/seen/destroying', Value='swarmkeeper destroy', Type='String')\nprint('{}')",
    );
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &dir.arg()]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("cluster seen is being destroyed by `swarmkeeper destroy`; nothing is applied"),
        "{run:?}"
    );
    let groups = boto(
        &lab,
        "c = boto3.client('autoscaling', **kw)\nprint(json.dumps(len(c.describe_auto_scaling_groups()['AutoScalingGroups'])))",
    );
    assert_eq!(groups, 0, "nothing was created");
}
