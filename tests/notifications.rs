//! `notifications:` against a controller on the lab: a receiver in this
//! test (a local HTTP server, as a Slack incoming webhook and a JSON
//! webhook would be) gets exactly one message per event — a revision
//! applied, an apply failing (however often it is retried), drift put back —
//! and no message carries a secret the test planted (the receivers' own
//! URLs, a service's secret environment value).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::{DesiredDir, docker, eventually, free_port, reset, status};

type Lab = BTreeMap<String, String>;

const PLANTED: &[&str] = &["SECRET-TOKEN-chat", "SECRET-TOKEN-audit", "planted-secret-value"];

struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        common::stop_controller(&mut self.0);
    }
}

/// What the receiver got: (path, body), in order.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, serde_json::Value)>>>);

impl Received {
    fn on(&self, prefix: &str) -> Vec<serde_json::Value> {
        self.0
            .lock()
            .map(|all| {
                all.iter()
                    .filter(|(p, _)| p.starts_with(prefix))
                    .map(|(_, b)| b.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An HTTP server on 127.0.0.1 that answers 200 to every POST and keeps
/// what it was sent; its port.
fn receiver() -> (u16, Received) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = Received::default();
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let keep = keep.clone();
            std::thread::spawn(move || serve(stream, &keep));
        }
    });
    (port, got)
}

fn serve(stream: std::net::TcpStream, got: &Received) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let value = serde_json::from_slice(&body)
            .unwrap_or(serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
        if let Ok(mut all) = got.0.lock() {
            all.push((path, value));
        }
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if reader.get_mut().write_all(answer).is_err() {
            return;
        }
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
    assert!(texts(&got)[0].contains("applied: 2 added, 0 changed"), "{:?}", texts(&got));
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
    let all = got.0.lock().map(|a| a.clone()).unwrap_or_default();
    for (path, body) in &all {
        let text = body.to_string();
        for planted in PLANTED {
            assert!(!text.contains(planted), "{path}: {text}");
        }
    }
    drop(_controller);
    reset(&lab, &[]);
}
