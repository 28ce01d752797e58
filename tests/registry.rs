//! Images from a private registry, on the lab's real one (Debian's
//! docker-registry with htpasswd, tests/lab/README.md): swarmkeeper looks
//! each new tag up with the docker client's credentials, pins the service
//! to `tag@digest` as `docker stack deploy` does, sends the credentials
//! with the create so the engine can pull (the engine forgot the image: a
//! running task pulled it), never rolls a moved tag on a resync unless the
//! service follows it, and stops with an error naming the registry when
//! the credentials are wrong, changing nothing.

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
