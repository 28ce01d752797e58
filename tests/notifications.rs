//! `notifications:` against a controller on the lab: a receiver in this
//! test (a local HTTP server, as a Slack incoming webhook and a JSON
//! webhook would be) gets exactly one message per event — a revision
//! applied, an apply failing (however often it is retried), drift put back —
//! and no message carries a secret the test planted (the receivers' own
//! URLs, a service's secret environment value).

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

use common::receiver::{Received, receiver};
use common::{DesiredDir, docker, eventually, free_port, reset, status};

type Lab = BTreeMap<String, String>;

const PLANTED: &[&str] = &["SECRET-TOKEN-chat", "SECRET-TOKEN-audit", "planted-secret-value"];

struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        common::stop_controller(&mut self.0);
    }
}

fn web(tag: u8) -> String {
    format!(
        "services:\n  web:\n    image: swarmkeeper-lab/web:{tag}\n    environment:\n      API_TOKEN: planted-secret-value\n"
    )
}

/// The chat messages' texts.
fn texts(got: &Received) -> Vec<String> {
    got.on("/chat/")
        .iter()
        .map(|b| b["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn events(got: &Received) -> Vec<String> {
    got.on("/audit/")
        .iter()
        .map(|b| b["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn start(lab: &Lab, dir: &DesiredDir, port: u16, audit_url: &str) -> Controller {
    let listen = format!("127.0.0.1:{port}");
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
        .envs(lab)
        .env("SK_TEST_AUDIT_URL", audit_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a controller");
    Controller(child)
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn each_event_reaches_each_receiver_once_and_no_message_carries_a_secret() {
    let _serial = common::serial();
    let lab = common::lab("each_event_reaches_each_receiver_once_and_no_message_carries_a_secret");
    reset(&lab, &[]);
    let (receiver_port, got) = receiver();
    let secrets = DesiredDir::new("notify-secrets");
    secrets.write(
        "chat-url",
        &format!("http://127.0.0.1:{receiver_port}/chat/SECRET-TOKEN-chat\n"),
    );
    let audit_url = format!("http://127.0.0.1:{receiver_port}/audit/SECRET-TOKEN-audit");
    let dir = DesiredDir::new("notify");
    let root = format!(
        "version: 1
notifications:
  chat:
    type: slack
    url: {{file: {}}}
  audit:
    type: webhook
    url: {{env: SK_TEST_AUDIT_URL}}
    events: [applied, failed, drift_corrected]
stacks:
  nf:
    compose: nf.yml
",
        secrets.path.join("chat-url").display()
    );
    dir.write("swarmkeeper.yaml", &root);
    dir.write("nf.yml", &web(1));
    let port = free_port();
    let _controller = start(&lab, &dir, port, &audit_url);

    // The first revision applied: one message each.
    eventually(60, "the first revision's message", || {
        (events(&got) == ["applied"] && texts(&got).len() == 1).then_some(())
    });
    // The stack's network and its service.
    assert!(
        texts(&got)[0].contains("applied: 2 added, 0 changed"),
        "{:?}",
        texts(&got)
    );
    let audit = got.on("/audit/");
    assert_eq!(audit[0]["counts"]["added"], 2, "{audit:?}");
    assert!(audit[0]["revision"].is_string(), "{audit:?}");

    // An apply that fails, and keeps failing at each retry and resync:
    // told once.
    dir.write(
        "nf.yml",
        &format!(
            "{}    secrets: [db_pw]\nsecrets:\n  db_pw:\n    external: true\n",
            web(1)
        ),
    );
    eventually(30, "the failure's message", || {
        (events(&got) == ["applied", "failed"]).then_some(())
    });
    let failures_before = status(port).expect("status")["consecutive_failures"]
        .as_u64()
        .unwrap_or(0);
    eventually(30, "two more failed cycles", || {
        (status(port)?["consecutive_failures"].as_u64()? >= failures_before + 2).then_some(())
    });
    assert_eq!(events(&got), ["applied", "failed"], "a failure told more than once");
    let failed = &got.on("/audit/")[1];
    assert!(
        failed["error"].as_str().unwrap_or_default().contains("db_pw"),
        "{failed}"
    );

    // Fixed with a new revision: applied, told.
    dir.write("nf.yml", &web(2));
    eventually(30, "the fix's message", || {
        (events(&got) == ["applied", "failed", "applied"]).then_some(())
    });

    // Something changes the service behind swarmkeeper's back: the resync
    // puts it back, and says so once.
    docker(
        &lab,
        &[
            "service",
            "update",
            "--detach",
            "--no-resolve-image",
            "--env-add",
            "DRIFT=1",
            "nf_web",
        ],
    );
    eventually(30, "the drift's message", || {
        (events(&got) == ["applied", "failed", "applied", "drift_corrected"]).then_some(())
    });
    // Resyncs that find nothing more say nothing more.
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(events(&got), ["applied", "failed", "applied", "drift_corrected"]);
    let chat = texts(&got);
    assert_eq!(chat.len(), 4, "{chat:#?}");
    assert!(chat[1].contains("failed"), "{chat:#?}");
    assert!(chat[3].contains("drift corrected"), "{chat:#?}");

    // No message carries a planted secret.
    for request in got.all() {
        let text = request.body.to_string();
        for planted in PLANTED {
            assert!(!text.contains(planted), "{}: {text}", request.path);
        }
    }
    drop(_controller);
    reset(&lab, &[]);
}
