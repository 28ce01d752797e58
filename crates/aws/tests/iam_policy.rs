//! Every AWS call the provider makes is granted by
//! `manifests/iam-policy.json`. Calls go through `Aws::call` under their IAM
//! action name, so the action names in the source are the calls made.

use std::collections::BTreeSet;
use std::path::Path;

/// This package's directory, as cargo gives it when it runs the test: a test
/// binary cargo reuses from a build of a checkout elsewhere (one target
/// directory for every clone) must read this checkout's files, not that one's.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

fn policy_actions() -> BTreeSet<String> {
    let path = manifest_dir().join("../../manifests/iam-policy.json");
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("policy exists")).expect("policy is JSON");
    let mut out = BTreeSet::new();
    for statement in policy["Statement"].as_array().expect("statements") {
        match &statement["Action"] {
            serde_json::Value::String(a) => {
                out.insert(a.clone());
            }
            serde_json::Value::Array(list) => out.extend(list.iter().filter_map(|a| a.as_str().map(str::to_owned))),
            other => panic!("unexpected Action: {other}"),
        }
    }
    out
}

/// Every `.rs` file under `dir`, modules in directories included.
fn sources(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// `"service:Action"` string literals in the provider's source.
fn actions_called() -> BTreeSet<String> {
    let dir = manifest_dir().join("src");
    let services = [
        "ec2",
        "autoscaling",
        "elasticfilesystem",
        "ssm",
        "logs",
        "elasticloadbalancing",
        "acm",
        "ecr",
        "kms",
        "secretsmanager",
    ];
    let mut out = BTreeSet::new();
    for path in sources(&dir) {
        let text = std::fs::read_to_string(&path).expect("source");
        for literal in text.split('"').skip(1).step_by(2) {
            if let Some((service, op)) = literal.split_once(':')
                && services.contains(&service)
                && !op.is_empty()
                && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && op.chars().all(|c| c.is_ascii_alphanumeric())
            {
                out.insert(literal.to_owned());
            }
        }
    }
    out
}

#[test]
fn the_policy_grants_every_call_the_provider_makes() {
    let granted = policy_actions();
    let called = actions_called();
    assert!(called.len() >= 20, "found {called:?}");
    let missing: Vec<&String> = called.iter().filter(|a| !granted.contains(*a)).collect();
    assert!(missing.is_empty(), "add to manifests/iam-policy.json: {missing:?}");
}

#[test]
fn the_policy_grants_nothing_wild() {
    for action in policy_actions() {
        assert!(!action.contains('*'), "no wildcard actions: {action}");
        assert!(action.split_once(':').is_some(), "{action}");
    }
}

/// Actions AWS checks on swarmkeeper's behalf although it never calls them:
/// an auto scaling group launches with its creator's rights, EFS makes
/// network interfaces, SSM and CloudWatch Logs check tagging rights when a
/// resource is created with tags; an ECR token carries the rights of
/// whoever asked for it, and the engines pull with them.
const IMPLIED: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ec2:RunInstances",
    "ec2:CreateTags",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ssm:AddTagsToResource",
    "logs:TagResource",
    "elasticloadbalancing:AddTags",
    "iam:CreateServiceLinkedRole",
];

#[test]
fn the_policy_grants_nothing_the_provider_does_not_need() {
    let called = actions_called();
    let extra: Vec<String> = policy_actions()
        .into_iter()
        .filter(|a| !called.contains(a) && !IMPLIED.contains(&a.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "least privilege: remove {extra:?} or explain it in IMPLIED"
    );
}
