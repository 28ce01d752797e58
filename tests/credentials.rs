//! The AWS credential chain a user already has, as the AWS CLI resolves it:
//! a temporary AWS config file (never ~/.aws: HOME is a temporary
//! directory too) with a `credential_process` profile, a role assumed
//! through moto's STS from a `source_profile`, and an SSO profile without
//! a cached token. The lab's endpoint override (AWS_ENDPOINT_URL) stays
//! as it is; only where the credentials come from changes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::DesiredDir;

/// A temporary HOME with an AWS config file, removed on drop.
struct AwsHome {
    path: PathBuf,
}

impl Drop for AwsHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl AwsHome {
    fn new(test: &str, config: &str) -> Self {
        let path = std::env::temp_dir().join(format!("swarmkeeper-aws-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("home");
        std::fs::write(path.join("config"), config).expect("config");
        Self { path }
    }

    fn config(&self) -> PathBuf {
        self.path.join("config")
    }
}

/// The lab's environment with the profile's credentials instead of the
/// lab's dummy keys.
fn with_profile(lab: &BTreeMap<String, String>, home: &AwsHome, profile: &str) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = lab
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN" | "AWS_PROFILE" | "DOCKER_HOST"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.insert("HOME".into(), home.path.display().to_string());
    env.insert("AWS_CONFIG_FILE".into(), home.config().display().to_string());
    env.insert(
        "AWS_SHARED_CREDENTIALS_FILE".into(),
        home.path.join("credentials").display().to_string(),
    );
    env.insert("AWS_PROFILE".into(), profile.into());
    // No instance profile here: IMDS must not be where credentials come from.
    env.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    env
}

/// Run the binary with exactly `env` (the test process's AWS keys, if any,
/// do not leak in), and no engine: a cluster with no swarm yet plans its
/// AWS half alone, which is what these tests need credentials for.
fn run(env: &BTreeMap<String, String>, args: &[&str]) -> common::Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args(args)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("DOCKER_HOST")
        .envs(env)
        .env("NO_COLOR", "1")
        .output()
        .expect("run swarmkeeper");
    common::Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A cluster in the lab's region: its dry-run plans AWS steps (exit 2),
/// which needs credentials moto accepts.
fn cluster_dir(test: &str, lab: &BTreeMap<String, String>) -> DesiredDir {
    let dir = DesiredDir::new(test);
    dir.write(
        "swarmkeeper.yaml",
        &format!(
            "version: 1\ncluster:\n  name: creds\n  region: {}\n  managers:\n    count: 1\n    instance_type: t3.small\n    ami: ami-0123456789abcdef0\n",
            lab["AWS_REGION"]
        ),
    );
    dir
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).expect("script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_credential_process_profile_reaches_moto() {
    let lab = common::lab("a_credential_process_profile_reaches_moto");
    let home = AwsHome::new("process", "");
    let script = home.path.join("creds.sh");
    let marker = home.path.join("process-ran");
    write_script(
        &script,
        &format!(
            "#!/bin/sh\ntouch '{}'\necho '{{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESS0000000000\", \"SecretAccessKey\": \"process-secret\"}}'\n",
            marker.display()
        ),
    );
    std::fs::write(
        home.config(),
        format!(
            "[profile sk-process]\nregion = {}\ncredential_process = {}\n",
            lab["AWS_REGION"],
            script.display()
        ),
    )
    .expect("config");
    let dir = cluster_dir("creds-process", &lab);
    let run = run(
        &with_profile(&lab, &home, "sk-process"),
        &["reconcile", &dir.arg(), "--dry-run"],
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stdout.contains("+ security group \"creds-nodes\""), "{run:?}");
    assert!(marker.exists(), "the credentials came from the process");
    assert!(!run.stdout.contains("process-secret") && !run.stderr.contains("process-secret"));
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_role_is_assumed_through_sts_from_a_source_profile() {
    let lab = common::lab("a_role_is_assumed_through_sts_from_a_source_profile");
    // The source profile's keys come from a credential_process too, so the
    // test sees that they were read; the role's come from moto's STS.
    let home = AwsHome::new("role", "");
    let script = home.path.join("base.sh");
    let marker = home.path.join("base-ran");
    write_script(
        &script,
        &format!(
            "#!/bin/sh\ntouch '{}'\necho '{{\"Version\": 1, \"AccessKeyId\": \"AKIABASE000000000000\", \"SecretAccessKey\": \"base-secret\"}}'\n",
            marker.display()
        ),
    );
    std::fs::write(
        home.config(),
        format!(
            "[profile sk-base]\nregion = {r}\ncredential_process = {s}\n\n[profile sk-role]\nregion = {r}\nrole_arn = arn:aws:iam::123456789012:role/swarmkeeper-operator\nrole_session_name = swarmkeeper-test\nsource_profile = sk-base\n",
            r = lab["AWS_REGION"],
            s = script.display()
        ),
    )
    .expect("config");
    let dir = cluster_dir("creds-role", &lab);
    let assumed = run(
        &with_profile(&lab, &home, "sk-role"),
        &["reconcile", &dir.arg(), "--dry-run"],
    );
    assert_eq!(assumed.code, Some(2), "{assumed:?}");
    assert!(
        assumed.stdout.contains("+ security group \"creds-nodes\""),
        "{assumed:?}"
    );
    assert!(marker.exists(), "the source profile was read");

    // A role the source profile cannot assume (moto checks nothing, so the
    // failure is made where it must be seen: no source credentials at all).
    std::fs::write(
        home.config(),
        format!(
            "[profile sk-role]\nregion = {}\nrole_arn = arn:aws:iam::123456789012:role/swarmkeeper-operator\nsource_profile = sk-missing\n",
            lab["AWS_REGION"]
        ),
    )
    .expect("config");
    let run = run(
        &with_profile(&lab, &home, "sk-role"),
        &["reconcile", &dir.arg(), "--dry-run"],
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("sk-missing"), "names the missing profile: {run:?}");
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn an_sso_profile_without_a_token_says_to_log_in() {
    let lab = common::lab("an_sso_profile_without_a_token_says_to_log_in");
    let home = AwsHome::new(
        "sso",
        &format!(
            "[profile sk-sso]\nregion = {}\nsso_session = sk\nsso_account_id = 123456789012\nsso_role_name = Operator\n\n[sso-session sk]\nsso_region = us-east-1\nsso_start_url = https://sso.invalid/start\nsso_registration_scopes = sso:account:access\n",
            lab["AWS_REGION"]
        ),
    );
    let dir = cluster_dir("creds-sso", &lab);
    let run = run(
        &with_profile(&lab, &home, "sk-sso"),
        &["reconcile", &dir.arg(), "--dry-run"],
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("aws sso login --profile sk-sso"),
        "says what to run: {run:?}"
    );
}
