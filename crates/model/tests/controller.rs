//! `cluster.controller`'s defaults: the branch and path git is read from,
//! and replicas capped at the managers' count (one per manager at most).

use swarmkeeper_model::{Variables, load_dir};

fn controller(managers: u32, body: &str) -> swarmkeeper_model::config::Controller {
    let dir = std::env::temp_dir().join(format!("sk-controller-{}-{managers}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let root = format!(
        "version: 1\ncluster:\n  name: cloud\n  region: eu-west-1\n  managers:\n    count: {managers}\n    \
         instance_type: t3.small\n    ami: ami-0123456789abcdef0\n  controller:\n{body}"
    );
    std::fs::write(dir.join("swarmkeeper.yaml"), root).expect("write");
    let outcome = load_dir(&dir, &Variables::new());
    let _ = std::fs::remove_dir_all(&dir);
    let state = outcome
        .state
        .unwrap_or_else(|| panic!("invalid: {:?}", outcome.diagnostics));
    state
        .config
        .cluster
        .and_then(|c| c.controller)
        .expect("a controller is declared")
}

#[test]
fn branch_path_and_replicas_default() {
    let body = "    image: swarmkeeper:0.1.0\n    git:\n      url: ssh://git@git.example.com/ops/platform.git\n";
    let one = controller(1, body);
    assert_eq!(one.git.branch, "main");
    assert_eq!(one.git.path, ".");
    assert_eq!(one.replicas, 1, "one manager: one replica");
    assert_eq!(controller(3, body).replicas, 2);
}

#[test]
fn declared_values_are_kept() {
    let body = "    image: swarmkeeper@sha256:0123abcd\n    git:\n      url: git@git.example.com:ops/platform.git\n      \
                branch: release/1.2\n      path: deploy/platform\n    replicas: 3\n";
    let c = controller(5, body);
    assert_eq!(c.image, "swarmkeeper@sha256:0123abcd");
    assert_eq!(c.git.url, "git@git.example.com:ops/platform.git");
    assert_eq!(c.git.branch, "release/1.2");
    assert_eq!(c.git.path, "deploy/platform");
    assert_eq!(c.replicas, 3);
}
