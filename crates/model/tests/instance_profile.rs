//! `instance_profile` on a pool: the IAM instance profile its instances run
//! with, kept as declared; a name IAM would refuse is an error at its line.

use swarmkeeper_model::{Variables, load_dir};

fn load(profile: &str) -> swarmkeeper_model::LoadOutcome {
    let dir = std::env::temp_dir().join(format!("sk-instance-profile-{}-{}", std::process::id(), profile.len()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let root = format!(
        "version: 1\ncluster:\n  name: cloud\n  region: eu-west-1\n  managers:\n    count: 1\n    \
         instance_type: t3.small\n    ami: ami-0123456789abcdef0\n    instance_profile: {profile}\n  \
         workers: {{ count: 1, instance_type: t3.small, ami: ami-0123456789abcdef0 }}\n"
    );
    std::fs::write(dir.join("swarmkeeper.yaml"), root).expect("write");
    let outcome = load_dir(&dir, &Variables::new());
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

#[test]
fn a_declared_profile_is_kept_and_the_other_pool_has_none() {
    let outcome = load("swarmkeeper-managers");
    let cluster = outcome
        .state
        .and_then(|s| s.config.cluster)
        .unwrap_or_else(|| panic!("invalid: {:?}", outcome.diagnostics));
    assert_eq!(
        cluster.managers.instance_profile.as_deref(),
        Some("swarmkeeper-managers")
    );
    assert_eq!(cluster.workers.and_then(|w| w.instance_profile), None);
}

#[test]
fn a_name_iam_refuses_is_an_error_at_its_line() {
    let outcome = load("\"has spaces\"");
    assert!(outcome.state.is_none());
    let text = format!("{:?}", outcome.diagnostics);
    assert!(text.contains("cluster.managers.instance_profile"), "{text}");
    assert!(text.contains("an IAM instance profile name"), "{text}");
    assert!(
        outcome.diagnostics.iter().any(|d| d.span.is_some_and(|s| s.line == 9)),
        "{text}"
    );
}
