//! Images from a private registry, on the lab's real one (Debian's
//! docker-registry with htpasswd, tests/lab/README.md): swarmkeeper looks
//! each new tag up with the docker client's credentials, pins the service
//! to `tag@digest` as `docker stack deploy` does, sends the credentials
//! with the create so the engine can pull (the engine forgot the image: a
//! running task pulled it), never rolls a moved tag on a resync unless the
//! service follows it, and stops with an error naming the registry when
//! the credentials are wrong, changing nothing. `registries:` gives the
//! credentials from an SSM SecureString or ECR tokens (moto's, which the lab
//! registry accepts); an expiring token is renewed on the service in time
//! for a task rescheduled after the old one expired.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{DesiredDir, docker, eventually, inspect, reset, swarmkeeper};

/// The lab registry's address, user and password.
fn registry(lab: &BTreeMap<String, String>) -> (String, String, String) {
    let password_file = &lab["SWARMKEEPER_LAB_REGISTRY_PASSWORD_FILE"];
    let password = std::fs::read_to_string(password_file).expect("the lab registry's password");
    (
        lab["SWARMKEEPER_LAB_REGISTRY"].clone(),
        lab["SWARMKEEPER_LAB_REGISTRY_USER"].clone(),
        password.trim().to_owned(),
    )
}

/// A docker client configuration holding `user:password` for `registry`,
/// as `docker login` writes it.
fn docker_config(dir: &DesiredDir, name: &str, registry: &str, user: &str, password: &str) -> String {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let config = serde_json::json!({ "auths": { registry: { "auth": auth } } });
    dir.write(&format!("{name}/config.json"), &config.to_string());
    dir.path.join(name).to_string_lossy().into_owned()
}

/// Pushes the lab image `swarmkeeper-lab/web:N` to `target` with the lab's
/// own login, then forgets the name locally, and returns the digest the
/// registry gave it.
fn push(lab: &BTreeMap<String, String>, n: u8, target: &str) -> String {
    let client = Path::new(&lab["SWARMKEEPER_LAB_DIR"]).join("registry/client");
    let client = client.to_string_lossy();
    let run = docker(lab, &["tag", &format!("swarmkeeper-lab/web:{n}"), target]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = docker(lab, &["--config", &client, "push", target]);
    assert_eq!(run.code, Some(0), "push {target}: {run:?}");
    let digest = run
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("a digest in the push output: {run:?}"))
        .to_owned();
    let run = docker(lab, &["rmi", target]);
    assert_eq!(run.code, Some(0), "{run:?}");
    digest
}

fn image_of(lab: &BTreeMap<String, String>, service: &str) -> String {
    inspect(lab, "service", service)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The images the running tasks of `service` run, once `replicas` run.
fn running_images(lab: &BTreeMap<String, String>, service: &str, replicas: usize) -> Vec<String> {
    eventually(120, &format!("{replicas} running task(s) of {service}"), || {
        let ids = docker(
            lab,
            &["service", "ps", service, "-q", "--filter", "desired-state=running"],
        );
        let ids: Vec<&str> = ids.stdout.split_whitespace().collect();
        let images: Vec<String> = ids
            .iter()
            .filter_map(|id| {
                let run = docker(lab, &["inspect", id]);
                let list: serde_json::Value = serde_json::from_str(&run.stdout).ok()?;
                let task = &list[0];
                (task["Status"]["State"] == "running").then(|| {
                    task["Spec"]["ContainerSpec"]["Image"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
            })
            .collect();
        (images.len() == replicas).then_some(images)
    })
}

/// Puts a file back as it was when dropped.
struct Restore {
    path: std::path::PathBuf,
    text: String,
}

impl Restore {
    fn file(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            text: std::fs::read_to_string(path).expect("read the file to restore"),
        }
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, &self.text);
    }
}

/// The lab registry's `AWS` user (the ECR tokens' user) accepts `token`
/// only; the registry reads its htpasswd file again when it changes.
fn accept_only_token(htpasswd: &Path, token: &str) {
    let out = std::process::Command::new("htpasswd")
        .args(["-Bbn", "AWS", token])
        .output()
        .expect("run htpasswd");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(htpasswd).expect("read htpasswd");
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("AWS:") && !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    lines.push(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    std::fs::write(htpasswd, lines.join("\n") + "\n").expect("write htpasswd");
}

/// Ids of the running tasks of `service`, sorted.
fn running_tasks(lab: &BTreeMap<String, String>, service: &str) -> Vec<String> {
    let ps = docker(
        lab,
        &[
            "service",
            "ps",
            service,
            "-q",
            "--no-trunc",
            "--filter",
            "desired-state=running",
        ],
    );
    let mut ids: Vec<String> = ps.stdout.split_whitespace().map(str::to_owned).collect();
    ids.sort();
    ids
}

fn compose(image: &str) -> String {
    format!(
        "services:\n  pinned:\n    image: {image}\n    deploy:\n      replicas: 2\n  followed:\n    image: {image}\n    x-swarmkeeper-image: {{follow: true}}\n"
    )
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn private_images_are_pinned_pulled_with_credentials_and_followed_only_when_asked() {
    let _serial = common::serial();
    let mut lab = common::lab("private_images_are_pinned_pulled_with_credentials_and_followed_only_when_asked");
    reset(&lab, &[]);
    let (registry, user, password) = registry(&lab);
    let repo = format!("{registry}/it/app-{}", std::process::id());
    let image = format!("{repo}:v1");
    let first = push(&lab, 1, &image);

    let dir = DesiredDir::new("registry");
    lab.insert(
        "DOCKER_CONFIG".into(),
        docker_config(&dir, "docker-good", &registry, &user, &password),
    );
    let desired = DesiredDir::new("registry-state");
    desired.stacks(&[("reg", &compose(&image))]);

    // Created pinned to the digest the tag names; the tasks pulled it with
    // the credentials sent along (the engine had no such image).
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let pinned = format!("{image}@{first}");
    for service in ["reg_pinned", "reg_followed"] {
        assert_eq!(image_of(&lab, service), pinned, "{service}");
    }
    assert_eq!(
        running_images(&lab, "reg_pinned", 2),
        vec![pinned.clone(), pinned.clone()]
    );
    // The stack label keeps the image as written.
    let spec = inspect(&lab, "service", "reg_pinned");
    assert_eq!(spec["Spec"]["Labels"]["com.docker.stack.image"], image.as_str());

    // Nothing changed: no lookup of an unchanged image, zero writes.
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg(), "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(report["api_calls"]["swarm"]["writes"], 0, "{report:#}");

    // The tag moves: only the service that follows it rolls, and the plan
    // says so.
    let second = push(&lab, 2, &image);
    assert_ne!(first, second);
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stdout.contains("reg_followed") && !run.stdout.contains("reg_pinned"),
        "{run:?}"
    );
    assert!(run.stdout.contains("the tag moved from"), "{run:?}");
    assert!(run.stdout.contains(&format!("{image}@{second}")), "{run:?}");
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(image_of(&lab, "reg_followed"), format!("{image}@{second}"));
    assert_eq!(
        image_of(&lab, "reg_pinned"),
        pinned,
        "a moved tag is not rolled without follow"
    );
    assert_eq!(
        running_images(&lab, "reg_followed", 1),
        vec![format!("{image}@{second}")]
    );

    // Wrong credentials: an error naming the registry, and nothing changes.
    let v2 = format!("{repo}:v2");
    push(&lab, 2, &v2);
    lab.insert(
        "DOCKER_CONFIG".into(),
        docker_config(&dir, "docker-bad", &registry, &user, "not-the-password"),
    );
    desired.stacks(&[("reg", &compose(&v2))]);
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg()]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("registry {registry} refused access to `{v2}`")),
        "{run:?}"
    );
    assert!(run.stderr.contains(&format!("docker login {registry}")), "{run:?}");
    assert_eq!(image_of(&lab, "reg_pinned"), pinned, "nothing changed");
    assert_eq!(
        image_of(&lab, "reg_followed"),
        format!("{image}@{second}"),
        "nothing changed"
    );

    reset(&lab, &[]);
}

/// swarmkeeper.yaml with `registries:` and one stack.
fn with_registries(desired: &DesiredDir, registries: &str, compose: &str) {
    desired.write("app.yml", compose);
    desired.write(
        "swarmkeeper.yaml",
        &format!("version: 1\nregistries:\n{registries}stacks:\n  creds:\n    compose: app.yml\n"),
    );
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn registries_give_credentials_from_ssm_and_ecr_and_expiring_tokens_are_renewed_in_time() {
    let _serial = common::serial();
    let mut lab = common::lab("registries_give_credentials_from_ssm_and_ecr_and_expiring_tokens_are_renewed_in_time");
    reset(&lab, &[]);
    let (registry, user, password) = registry(&lab);
    let repo = format!("{registry}/it/creds-{}", std::process::id());
    let v1 = format!("{repo}:v1");
    let v2 = format!("{repo}:v2");
    let d1 = push(&lab, 1, &v1);
    let d2 = push(&lab, 2, &v2);
    // No docker client credentials at all: only `registries:` gives them.
    let empty = DesiredDir::new("registry-no-docker-config");
    lab.insert("DOCKER_CONFIG".into(), empty.arg());
    let desired = DesiredDir::new("registry-creds");
    // A slow restart leaves time to take the image away from the engine.
    let compose = |image: &str| {
        format!("services:\n  app:\n    image: {image}\n    deploy:\n      restart_policy: {{delay: 10s}}\n")
    };

    // The password in an SSM SecureString.
    let parameter = format!("/swarmkeeper/it/registry-password-{}", std::process::id());
    common::boto(
        &lab,
        &format!(
            "boto3.client('ssm', **kw).put_parameter(Name='{parameter}', Value='{password}', Type='SecureString', Overwrite=True)\nprint('{{}}')"
        ),
    );
    with_registries(
        &desired,
        &format!("  {registry}:\n    username: {user}\n    password: {{ssm: {parameter}}}\n"),
        &compose(&v1),
    );
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(image_of(&lab, "creds_app"), format!("{v1}@{d1}"));
    assert_eq!(running_images(&lab, "creds_app", 1), vec![format!("{v1}@{d1}")]);
    assert!(
        !run.stdout.contains(&password) && !run.stderr.contains(&password),
        "the password is never shown"
    );

    // ECR: a token from ecr:GetAuthorizationToken (moto's, which the lab
    // registry accepts), the time it was sent recorded on the service.
    with_registries(
        &desired,
        &format!("  {registry}:\n    ecr: {{account: \"123456789012\", region: eu-west-1}}\n"),
        &compose(&v2),
    );
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(image_of(&lab, "creds_app"), format!("{v2}@{d2}"));
    assert_eq!(running_images(&lab, "creds_app", 1), vec![format!("{v2}@{d2}")]);
    let spec = inspect(&lab, "service", "creds_app");
    let sent: u64 = spec["Spec"]["Labels"]["io.swarmkeeper.credentials-sent"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("credentials-sent label: {spec:#}"));
    assert!(sent > 1_700_000_000, "{sent}");
    // Not due for renewal yet: zero writes.
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg(), "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(report["api_calls"]["swarm"]["writes"], 0, "{report:#}");

    // Six hours later: the token the service holds has expired and ECR
    // hands out another. moto's token is fixed per account, so another
    // account stands for "the next token"; the lab registry now accepts only
    // that one, as a registry refuses an expired token.
    let htpasswd = Path::new(&lab["SWARMKEEPER_LAB_DIR"]).join("registry/htpasswd");
    let _restore = Restore::file(&htpasswd);
    accept_only_token(&htpasswd, "210987654321-auth-token");
    with_registries(
        &desired,
        &format!("  {registry}:\n    ecr: {{account: \"210987654321\", region: eu-west-1}}\n"),
        &compose(&v2),
    );
    // Due for renewal: one update that changes no field sends the fresh
    // token; the running task is not restarted.
    let task_before = running_tasks(&lab, "creds_app");
    let run = docker(
        &lab,
        &[
            "service",
            "update",
            "--detach",
            "--label-add",
            "io.swarmkeeper.credentials-sent=1",
            "creds_app",
        ],
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("renew the pull credentials of registry {registry}")),
        "{run:?}"
    );
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let renewed: u64 = inspect(&lab, "service", "creds_app")["Spec"]["Labels"]["io.swarmkeeper.credentials-sent"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    assert!(renewed >= sent, "{renewed} < {sent}");
    assert_eq!(
        running_tasks(&lab, "creds_app"),
        task_before,
        "the running task was not restarted"
    );
    // A task rescheduled later pulls with the credentials stored with the
    // service: its container and the image go, and a new task runs.
    let container = docker(
        &lab,
        &["ps", "-q", "--filter", "label=com.docker.swarm.service.name=creds_app"],
    );
    let container = container.stdout.trim().to_owned();
    assert!(!container.is_empty(), "a container of creds_app");
    assert_eq!(docker(&lab, &["rm", "-f", &container]).code, Some(0));
    let pinned_v2 = format!("{v2}@{d2}");
    let run = docker(&lab, &["rmi", &format!("{repo}@{d2}")]);
    assert_eq!(run.code, Some(0), "the image is gone from the engine: {run:?}");
    eventually(120, "a new task of creds_app running", || {
        let now = running_tasks(&lab, "creds_app");
        (!now.is_empty() && now != task_before).then_some(())
    });
    assert_eq!(running_images(&lab, "creds_app", 1), vec![pinned_v2]);

    // A password written in the file is refused before anything is read.
    with_registries(
        &desired,
        &format!("  {registry}:\n    username: {user}\n    password: {password}\n"),
        &compose(&v1),
    );
    let run = swarmkeeper(&lab, &["reconcile", &desired.arg()]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("secret-in-git"), "{run:?}");
    assert_eq!(image_of(&lab, "creds_app"), format!("{v2}@{d2}"), "nothing changed");

    reset(&lab, &[]);
}
