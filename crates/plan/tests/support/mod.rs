//! Building desired states for plan tests from compose text, through the
//! real model loader (the plan's input is always a validated state).

#![allow(dead_code)]

use std::path::PathBuf;

use swarmkeeper_model::{DesiredState, Variables, load_dir};
use swarmkeeper_plan::{DesiredSwarm, desired_swarm};

/// A temporary desired-state directory with the given stacks (name, compose).
pub fn desired(stacks: &[(&str, &str)]) -> (DesiredState, DesiredSwarm) {
    let dir = tempdir();
    let mut root = String::from("version: 1\nstacks:\n");
    if stacks.is_empty() {
        root = "version: 1\n".to_owned();
    }
    for (name, compose) in stacks {
        root.push_str(&format!("  {name}:\n    compose: {name}.yml\n"));
        std::fs::write(dir.join(format!("{name}.yml")), compose).expect("write compose");
    }
    std::fs::write(dir.join("swarmkeeper.yaml"), root).expect("write root");
    for (name, content) in [
        ("secret.txt", "s3cret-one"),
        ("secret2.txt", "s3cret-two"),
        ("app.conf", "a=1"),
    ] {
        std::fs::write(dir.join(name), content).expect("write file");
    }
    let outcome = load_dir(&dir, &Variables::new());
    let state = outcome
        .state
        .unwrap_or_else(|| panic!("invalid test state: {:?}", outcome.diagnostics));
    let swarm = desired_swarm(&state, &key());
    let _ = std::fs::remove_dir_all(&dir);
    (state, swarm)
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "swarmkeeper-plan-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Load a desired-state directory made of `files` (path, text).
pub fn load_files(files: &[(&str, &str)]) -> DesiredState {
    let dir = tempdir();
    for (path, text) in files {
        std::fs::write(dir.join(path), text).expect("write file");
    }
    let outcome = load_dir(&dir, &Variables::new());
    let _ = std::fs::remove_dir_all(&dir);
    outcome
        .state
        .unwrap_or_else(|| panic!("invalid test state: {:?}", outcome.diagnostics))
}

/// The AMI parameter the AWS tests' managers name (`ami: ssm:…`).
pub const AMI_PARAM: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

/// What the binary looks up before planning AWS, as fixed test values.
pub fn aws_inputs() -> swarmkeeper_plan::aws::desired::AwsInputs {
    use swarmkeeper_plan::aws::spec::Sensitive;
    swarmkeeper_plan::aws::desired::AwsInputs {
        subnets: vec!["subnet-aaaa".into(), "subnet-bbbb".into()],
        amis: [(AMI_PARAM.to_owned(), "ami-0aaaaaaaaaaaaaaaa".to_owned())].into(),
        swarm_id: None,
        join_tokens: Some((Sensitive("SWMTKN-w".into()), Sensitive("SWMTKN-m".into()))),
        manager_addresses: vec!["10.0.0.1:2377".into()],
        certificate_arn: Some("arn:aws:acm:eu-west-1:1:certificate/x".into()),
    }
}

/// Plan the state in `files` (path, text) against the models, as the binary
/// does: shared volumes become mountable once their file system has mount
/// targets.
pub fn plan_with_aws(
    files: &[(&str, String)],
    swarm: &swarmkeeper_plan::ObservedSwarm,
    aws: &swarmkeeper_plan::aws::spec::ObservedAws,
) -> swarmkeeper_plan::Plan {
    use swarmkeeper_plan::aws::spec::TAG_NAME;
    use swarmkeeper_plan::convert::{SharedVolumes, desired_swarm_with};
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let state = load_files(&refs);
    let want = swarmkeeper_plan::aws::desired::desired_aws(&state, &aws_inputs(), "#!/usr/bin/env bash\necho boot\n")
        .expect("inputs suffice")
        .expect("a cluster is declared");
    let mut shared = SharedVolumes::new();
    for fs in &aws.file_systems {
        if let (Some(v), false) = (fs.tags.get(TAG_NAME), fs.mount_targets.is_empty()) {
            shared.insert(v.clone(), format!("{}.efs", fs.id));
        }
    }
    let desired = desired_swarm_with(&state, &shared, &key());
    swarmkeeper_plan::diff::diff_with_aws(
        &desired,
        swarm,
        Some((&want, aws)),
        &swarmkeeper_plan::PlanOptions::default(),
    )
    .expect("plan")
}

/// A revision key for tests (a cluster's is random, kept in the swarm).
pub fn key() -> swarmkeeper_plan::revision_key::RevisionKey {
    swarmkeeper_plan::revision_key::RevisionKey::new(b"swarmkeeper plan tests' revision key".to_vec())
        .expect("long enough")
}
