//! Providers follow the desired state: a controller started on a
//! stacks-only directory tries to connect to AWS when a commit adds
//! `cluster:`; when that fails (here: no credentials at all) the cycle is
//! an error in /status and the log, and it does nothing — never a silent
//! skip of the AWS side.

mod common;

use std::process::{Command, Stdio};

use common::{DesiredDir, eventually, free_port, reset, status};

struct Controller(std::process::Child);

impl Drop for Controller {
    fn drop(&mut self) {
        common::stop_controller(&mut self.0);
    }
}

fn image(lab: &std::collections::BTreeMap<String, String>) -> String {
    common::service_image(lab, "pv_web")
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_cluster_added_without_an_aws_connection_is_an_error_not_a_silent_skip() {
    let lab = common::lab("a_cluster_added_without_an_aws_connection_is_an_error_not_a_silent_skip");
    common::moto_only(&lab, &["pv"]);
    reset(&lab, &[]);
    let dir = DesiredDir::new("providers");
    let web = |image: &str| format!("services:\n  web:\n    image: {image}\n");
    dir.stacks(&[("pv", &web("swarmkeeper-lab/web:1"))]);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // No credentials anywhere: the standard chain finds none.
    let empty = DesiredDir::new("providers-aws-home");
    empty.write("credentials", "");
    let creds = empty.path.join("credentials");
    let child = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args([
            "run",
            &dir.arg(),
            "--listen",
            &listen,
            "--resync",
            "2s",
            "--lease-ttl",
            "6s",
        ])
        .envs(&lab)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .env("AWS_CONFIG_FILE", &creds)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a controller");
    let _controller = Controller(child);
    eventually(30, "the stacks-only state applied", || {
        let s = status(port)?;
        (s["sync_status"] == "Synced" && image(&lab) == "swarmkeeper-lab/web:1").then_some(())
    });

    // A cluster appears, with a stack change in the same edit.
    dir.write("pv.yml", &web("swarmkeeper-lab/web:2"));
    dir.write(
        "swarmkeeper.yaml",
        "version: 1
cluster:
  name: pv
  region: eu-west-1
  managers:
    count: 1
    instance_type: t3.small
    ami: ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
stacks:
  pv:
    compose: pv.yml
",
    );
    let failed = eventually(60, "the missing AWS connection reported in /status", || {
        status(port).filter(|s| {
            s["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("cluster `pv` is declared but there is no AWS connection"))
        })
    });
    let error = failed["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("no AWS or node step is taken"), "{failed:#}");
    assert!(error.contains("NoCredentials"), "{failed:#}");
    // Nothing of that state was acted on, not even its stack change.
    assert_eq!(image(&lab), "swarmkeeper-lab/web:1");
    reset(&lab, &[]);
}
