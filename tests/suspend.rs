//! `swarmkeeper suspend` and `resume` against a controller on the lab: a
//! suspended controller applies no edit and reports what it holds (status
//! `Suspended`, the held changes, the metrics); a resume applies it at once
//! (the resync is 10 minutes here: the control's change is what wakes it);
//! a suspended stack is held while another stack's edit is applied.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

use common::{DesiredDir, docker, eventually, free_port, get, reset, status};

type Lab = BTreeMap<String, String>;

struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A controller whose resync never comes during the test: only the
/// directory watch and the swarm's events start its cycles.
fn start(lab: &Lab, dir: &DesiredDir, port: u16) -> Controller {
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args([
            "run",
            &dir.arg(),
            "--listen",
            &listen,
            "--resync",
            "10m",
            "--lease-ttl",
            "6s",
        ])
        .envs(lab)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a controller");
    Controller(child)
}

fn image(lab: &Lab, service: &str) -> String {
    let run = docker(
        lab,
        &[
            "service",
            "inspect",
            service,
            "--format",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        ],
    );
    run.stdout.trim().to_owned()
}

fn web(tag: u8) -> String {
    format!("services:\n  web:\n    image: swarmkeeper-lab/web:{tag}\n")
}

/// A metric's value as `/metrics` has it (`name value`, no labels).
fn metric(port: u16, name: &str) -> Option<String> {
    let body = get(port, "/metrics")?;
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")).map(str::to_owned))
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_suspended_controller_holds_every_change_and_a_resume_applies_it_at_once() {
    let _serial = common::serial();
    let lab = common::lab("a_suspended_controller_holds_every_change_and_a_resume_applies_it_at_once");
    reset(&lab, &[]);
    let dir = DesiredDir::new("suspend");
    dir.stacks(&[("sa", &web(1)), ("sb", &web(1))]);
    let port = free_port();
    let controller = start(&lab, &dir, port);
    eventually(60, "the first cycle", || {
        (image(&lab, "sa_web") == "swarmkeeper-lab/web:1" && status(port)?["sync_status"] == "Synced").then_some(())
    });
    assert_eq!(metric(port, "swarmkeeper_suspended").as_deref(), Some("0"));

    // Suspend everything: an edit is found, shown as held, not applied.
    let suspend = common::swarmkeeper(&lab, &["suspend"]);
    assert_eq!(suspend.code, Some(0), "{suspend:?}");
    assert!(
        suspend.stdout.contains("applies nothing until `swarmkeeper resume`"),
        "{suspend:?}"
    );
    dir.write("sa.yml", &web(2));
    let held = eventually(30, "the edit held", || {
        let s = status(port)?;
        (s["sync_status"] == "Suspended" && s["last_cycle"]["planned"]["held"] == 1).then_some(s)
    });
    assert!(held["suspended"]["all"]["by"].is_string(), "{held:#}");
    assert_eq!(held["last_cycle"]["applied"], serde_json::json!([0, 0, 0]), "{held:#}");
    assert_eq!(image(&lab, "sa_web"), "swarmkeeper-lab/web:1");
    assert_eq!(metric(port, "swarmkeeper_suspended").as_deref(), Some("1"));
    assert_eq!(metric(port, "swarmkeeper_held_changes").as_deref(), Some("1"));
    // Drift behind its back is reported at the next cycle (a save of the
    // directory starts one), and left alone too.
    let sneak = docker(&lab, &["service", "update", "-d", "--env-add", "SNEAKY=1", "sb_web"]);
    assert_eq!(sneak.code, Some(0), "{sneak:?}");
    dir.write("sb.yml", &web(1));
    eventually(30, "the drift reported as held", || {
        (status(port)?["last_cycle"]["planned"]["held"] == 2).then_some(())
    });
    assert_eq!(metric(port, "swarmkeeper_held_changes").as_deref(), Some("2"));
    // The CLI says so.
    let shown = common::swarmkeeper(&lab, &["status", "--listen", &format!("127.0.0.1:{port}")]);
    assert!(shown.stdout.contains("suspended: everything"), "{shown:?}");

    // Resume: applied without waiting for the resync (10 minutes away).
    let resume = common::swarmkeeper(&lab, &["resume"]);
    assert_eq!(resume.code, Some(0), "{resume:?}");
    eventually(30, "the held edit and the drift applied after resume", || {
        let env = docker(
            &lab,
            &[
                "service",
                "inspect",
                "sb_web",
                "--format",
                "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
            ],
        );
        (image(&lab, "sa_web") == "swarmkeeper-lab/web:2" && !env.stdout.contains("SNEAKY")).then_some(())
    });
    let after = eventually(30, "synced", || status(port).filter(|s| s["sync_status"] == "Synced"));
    assert!(after["suspended"].is_null(), "{after:#}");

    // One stack suspended: its edit is held, the other stack's applied.
    let suspend = common::swarmkeeper(&lab, &["suspend", "--stack", "sa"]);
    assert_eq!(suspend.code, Some(0), "{suspend:?}");
    dir.write("sa.yml", &web(1)).write("sb.yml", &web(2));
    let held = eventually(30, "sb applied, sa held", || {
        let s = status(port)?;
        (image(&lab, "sb_web") == "swarmkeeper-lab/web:2" && s["last_cycle"]["planned"]["held"] == 1).then_some(s)
    });
    assert_eq!(held["sync_status"], "Suspended", "{held:#}");
    assert!(held["suspended"]["stacks"]["sa"]["by"].is_string(), "{held:#}");
    assert_eq!(image(&lab, "sa_web"), "swarmkeeper-lab/web:2");
    assert_eq!(metric(port, "swarmkeeper_suspended_stacks").as_deref(), Some("1"));
    let resume = common::swarmkeeper(&lab, &["resume", "--stack", "sa"]);
    assert_eq!(resume.code, Some(0), "{resume:?}");
    eventually(30, "sa applied after resume", || {
        (image(&lab, "sa_web") == "swarmkeeper-lab/web:1" && status(port)?["sync_status"] == "Synced").then_some(())
    });

    // A name that is no stack's is refused before anything is written.
    let bad = common::swarmkeeper(&lab, &["suspend", "--stack", "a/b"]);
    assert_eq!(bad.code, Some(1), "{bad:?}");
    assert!(bad.stderr.contains("is not a stack name"), "{bad:?}");
    drop(controller);
    reset(&lab, &[]);
}
