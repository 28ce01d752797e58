//! swarmkeeper deployed as it runs in production: `manifests/swarmkeeper.stack.yml`
//! (with the lab's differences from `tests/lab/swarmkeeper.lab.yml`) on the
//! lab swarm, the image built from this build's binary, following a git
//! repository that holds the example — and converging it.

mod common;

use std::path::Path;
use std::process::Command;

use common::{DesiredDir, docker, eventually, free_port, git, repo_root, reset, status};

const STACK: &str = "skctl";

/// Removes the controller's stack even when the test fails half-way, so a
/// controller does not outlive its test.
struct Deployed<'a>(&'a std::collections::BTreeMap<String, String>);

impl Drop for Deployed<'_> {
    fn drop(&mut self) {
        let _ = docker(self.0, &["stack", "rm", STACK]);
        for _ in 0..60 {
            let left = docker(
                self.0,
                &[
                    "ps",
                    "-q",
                    "--filter",
                    &format!("label=com.docker.stack.namespace={STACK}"),
                ],
            );
            if left.stdout.trim().is_empty() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy file");
        }
    }
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn the_stack_manifest_runs_the_controller_and_it_converges_the_example_from_git() {
    let _serial = common::serial();
    let lab = common::lab("the_stack_manifest_runs_the_controller_and_it_converges_the_example_from_git");
    reset(&lab, &[]);
    // The example's instances stay moto records: they must not join the
    // lab's own swarm, which the controller adopts.
    common::moto_only(&lab, &["cloud"]);
    common::ensure_example_aws(&lab);

    // The image, from the binary this test run built.
    let image = Command::new(repo_root().join("tests/lab/swarmkeeper-image"))
        .arg(env!("CARGO_BIN_EXE_swarmkeeper"))
        .envs(&lab)
        .output()
        .expect("run tests/lab/swarmkeeper-image");
    assert!(image.status.success(), "{}", String::from_utf8_lossy(&image.stderr));

    // The example in a git repository.
    let origin = DesiredDir::new("deploy-origin");
    git(&origin.path, &["init", "-q", "--bare"]);
    let work = DesiredDir::new("deploy-work");
    copy_dir(&repo_root().join("manifests/examples/nextcloud"), &work.path);
    git(&work.path, &["init", "-q"]);
    git(&work.path, &["add", "-A"]);
    git(&work.path, &["commit", "-q", "-m", "the example"]);
    git(
        &work.path,
        &[
            "push",
            "-q",
            &format!("file://{}", origin.arg()),
            "HEAD:refs/heads/main",
        ],
    );
    let commit = git(&work.path, &["rev-parse", "HEAD"]);
    let revision = &commit[..12];

    let port = free_port();
    let manifest = repo_root().join("manifests/swarmkeeper.stack.yml");
    let lab_override = repo_root().join("tests/lab/swarmkeeper.lab.yml");
    let deploy = Command::new("docker")
        .args(["stack", "deploy", "-c"])
        .arg(&manifest)
        .arg("-c")
        .arg(&lab_override)
        .arg(STACK)
        .envs(&lab)
        // As a user deploys it: the stack file requires the repository
        // (the lab's file copies the bare one to this path).
        .env("SWARMKEEPER_GIT", "file:///srv/desired.git")
        .env("SWARMKEEPER_LAB_GIT_DIR", &origin.path)
        .env("SWARMKEEPER_LAB_LISTEN", port.to_string())
        .output()
        .expect("docker stack deploy");
    let _deployed = Deployed(&lab);
    assert!(deploy.status.success(), "{}", String::from_utf8_lossy(&deploy.stderr));

    // The controller in its container follows the repository and converges.
    let synced = eventually(120, "the controller to converge the example's commit", || {
        status(port).filter(|s| s["applied_revision"] == revision && s["sync_status"] == "Synced")
    });
    assert_eq!(synced["lease_held"], true, "{synced:#}");
    let services = docker(
        &lab,
        &[
            "service",
            "ls",
            "--filter",
            "label=com.docker.stack.namespace=nextcloud",
            "--format",
            "{{.Name}}",
        ],
    );
    assert!(services.stdout.contains("nextcloud_app"), "{services:?}");
    let label = docker(
        &lab,
        &[
            "service",
            "inspect",
            "nextcloud_app",
            "--format",
            "{{index .Spec.Labels \"io.swarmkeeper.revision\"}}",
        ],
    );
    assert_eq!(label.stdout.trim(), revision, "{label:?}");
    // Nothing is left for a one-shot reconcile of the same files to do.
    let check = common::swarmkeeper(&lab, &["reconcile", &work.arg(), "--dry-run"]);
    assert_eq!(check.code, Some(0), "{check:?}");

    drop(_deployed);
    reset(&lab, &[]);
}
