//! The controller's controls against a controller on the lab.
//!
//! `suspend` and `resume`: a suspended controller applies no edit and
//! reports what it holds (status `Suspended`, the held changes, the
//! metrics); a resume applies it at once (the resync is 10 minutes here: the
//! control's change is what wakes it); a suspended stack is held while
//! another stack's edit is applied.
//!
//! `pin`, `unpin` and `history` on a git source: a pinned older commit is
//! applied and held while new commits arrive; unpin applies the branch's
//! head; the history lists what was applied, in order.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

use common::{DesiredDir, GitRepo, docker, eventually, free_port, get, reset, service_image, status, web_compose};

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
    start_with(lab, &[&dir.arg()], port)
}

/// The same with `source` arguments (a directory, or --git ...).
fn start_with(lab: &Lab, source: &[&str], port: u16) -> Controller {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["run"];
    args.extend_from_slice(source);
    args.extend_from_slice(&["--listen", &listen, "--resync", "10m", "--lease-ttl", "6s"]);
    let child = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args(&args)
        .envs(lab)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a controller");
    Controller(child)
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
    dir.stacks(&[("sa", &web_compose(1)), ("sb", &web_compose(1))]);
    let port = free_port();
    let controller = start(&lab, &dir, port);
    eventually(60, "the first cycle", || {
        (service_image(&lab, "sa_web") == "swarmkeeper-lab/web:1" && status(port)?["sync_status"] == "Synced")
            .then_some(())
    });
    assert_eq!(metric(port, "swarmkeeper_suspended").as_deref(), Some("0"));

    // Suspend everything: an edit is found, shown as held, not applied.
    let suspend = common::swarmkeeper(&lab, &["suspend"]);
    assert_eq!(suspend.code, Some(0), "{suspend:?}");
    assert!(
        suspend.stdout.contains("applies nothing until `swarmkeeper resume`"),
        "{suspend:?}"
    );
    dir.write("sa.yml", &web_compose(2));
    let held = eventually(30, "the edit held", || {
        let s = status(port)?;
        (s["sync_status"] == "Suspended" && s["last_cycle"]["planned"]["held"] == 1).then_some(s)
    });
    assert!(held["suspended"]["all"]["by"].is_string(), "{held:#}");
    assert_eq!(held["last_cycle"]["applied"], serde_json::json!([0, 0, 0]), "{held:#}");
    assert_eq!(service_image(&lab, "sa_web"), "swarmkeeper-lab/web:1");
    assert_eq!(metric(port, "swarmkeeper_suspended").as_deref(), Some("1"));
    assert_eq!(metric(port, "swarmkeeper_held_changes").as_deref(), Some("1"));
    // Drift behind its back is reported at the next cycle (a save of the
    // directory starts one), and left alone too.
    let sneak = docker(&lab, &["service", "update", "-d", "--env-add", "SNEAKY=1", "sb_web"]);
    assert_eq!(sneak.code, Some(0), "{sneak:?}");
    dir.write("sb.yml", &web_compose(1));
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
        (service_image(&lab, "sa_web") == "swarmkeeper-lab/web:2" && !env.stdout.contains("SNEAKY")).then_some(())
    });
    let after = eventually(30, "synced", || status(port).filter(|s| s["sync_status"] == "Synced"));
    assert!(after["suspended"].is_null(), "{after:#}");

    // One stack suspended: its edit is held, the other stack's applied.
    let suspend = common::swarmkeeper(&lab, &["suspend", "--stack", "sa"]);
    assert_eq!(suspend.code, Some(0), "{suspend:?}");
    dir.write("sa.yml", &web_compose(1)).write("sb.yml", &web_compose(2));
    let held = eventually(30, "sb applied, sa held", || {
        let s = status(port)?;
        (service_image(&lab, "sb_web") == "swarmkeeper-lab/web:2" && s["last_cycle"]["planned"]["held"] == 1)
            .then_some(s)
    });
    assert_eq!(held["sync_status"], "Suspended", "{held:#}");
    assert!(held["suspended"]["stacks"]["sa"]["by"].is_string(), "{held:#}");
    assert_eq!(service_image(&lab, "sa_web"), "swarmkeeper-lab/web:2");
    assert_eq!(metric(port, "swarmkeeper_suspended_stacks").as_deref(), Some("1"));
    let resume = common::swarmkeeper(&lab, &["resume", "--stack", "sa"]);
    assert_eq!(resume.code, Some(0), "{resume:?}");
    eventually(30, "sa applied after resume", || {
        (service_image(&lab, "sa_web") == "swarmkeeper-lab/web:1" && status(port)?["sync_status"] == "Synced")
            .then_some(())
    });

    // A name that is no stack's is refused before anything is written.
    let bad = common::swarmkeeper(&lab, &["suspend", "--stack", "a/b"]);
    assert_eq!(bad.code, Some(1), "{bad:?}");
    assert!(bad.stderr.contains("is not a stack name"), "{bad:?}");
    drop(controller);
    reset(&lab, &[]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_pinned_commit_is_applied_and_held_until_unpin_and_the_history_lists_them() {
    let _serial = common::serial();
    let lab = common::lab("a_pinned_commit_is_applied_and_held_until_unpin_and_the_history_lists_them");
    reset(&lab, &[]);
    let repo = GitRepo::new("pin");
    let work = &repo.work;
    work.write("swarmkeeper.yaml", "version: 1\nstacks:\n  pn:\n    compose: pn.yml\n");
    work.write("pn.yml", &web_compose(1));
    let first = repo.push("web 1");
    let port = free_port();
    let controller = start_with(
        &lab,
        &["--git", &repo.url, "--branch", "main", "--git-interval", "1s"],
        port,
    );
    eventually(40, "the first commit applied", || {
        (service_image(&lab, "pn_web") == "swarmkeeper-lab/web:1").then_some(())
    });
    work.write("pn.yml", &web_compose(2));
    let second = repo.push("web 2");
    eventually(40, "the second commit applied", || {
        (service_image(&lab, "pn_web") == "swarmkeeper-lab/web:2").then_some(())
    });

    // Pin the first commit (by its short id, as history shows it).
    let pin = common::swarmkeeper(&lab, &["pin", &first[..12]]);
    assert_eq!(pin.code, Some(0), "{pin:?}");
    eventually(30, "the pinned commit applied", || {
        let s = status(port)?;
        (service_image(&lab, "pn_web") == "swarmkeeper-lab/web:1" && s["applied_revision"] == first[..12]).then_some(())
    });
    // A new commit arrives, is fetched (a cycle it starts), and is not
    // applied while pinned.
    let before = status(port).expect("status")["cycles"].as_u64().unwrap_or(0);
    work.write(
        "pn.yml",
        &format!("{}    environment:\n      NEW: \"1\"\n", web_compose(2)),
    );
    let third = repo.push("web 2 with NEW");
    let s = eventually(30, "a cycle started by the fetched commit", || {
        status(port).filter(|s| s["cycles"].as_u64().unwrap_or(0) > before && s["last_cycle"]["trigger"] == "source")
    });
    assert_eq!(s["pinned"]["revision"], first[..12], "{s:#}");
    assert_eq!(s["applied_revision"], first[..12], "{s:#}");
    assert_eq!(service_image(&lab, "pn_web"), "swarmkeeper-lab/web:1");
    assert_eq!(metric(port, "swarmkeeper_pinned").as_deref(), Some("1"));
    let shown = common::swarmkeeper(&lab, &["status", "--listen", &format!("127.0.0.1:{port}")]);
    assert!(
        shown.stdout.contains(&format!("pinned:   {}", &first[..12])),
        "{shown:?}"
    );
    // A revision that is no commit of the branch fails the cycle, clearly,
    // and changes nothing.
    let bad = common::swarmkeeper(&lab, &["pin", "deadbeefdeadbeef"]);
    assert_eq!(bad.code, Some(0), "{bad:?}");
    let failed = eventually(30, "the unknown revision reported", || {
        status(port).filter(|s| s["last_error"].as_str().is_some_and(|e| e.contains("deadbeefdeadbeef")))
    });
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("swarmkeeper unpin"),
        "{failed:#}"
    );
    assert_eq!(service_image(&lab, "pn_web"), "swarmkeeper-lab/web:1");

    // Unpin: the branch's head is applied.
    let unpin = common::swarmkeeper(&lab, &["unpin"]);
    assert_eq!(unpin.code, Some(0), "{unpin:?}");
    eventually(30, "the head applied after unpin", || {
        let s = status(port)?;
        (s["applied_revision"] == third[..12] && s["sync_status"] == "Synced" && s["pinned"].is_null()).then_some(())
    });

    // The history, oldest first: 1, 2, 1 (pinned), 3.
    let history = common::swarmkeeper(&lab, &["history", "-o", "json"]);
    assert_eq!(history.code, Some(0), "{history:?}");
    let doc: serde_json::Value = serde_json::from_str(&history.stdout).expect("history JSON");
    let applied: Vec<(String, bool)> = doc["history"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|a| a["outcome"] == "applied")
        .map(|a| {
            (
                a["revision"].as_str().unwrap_or_default().to_owned(),
                a["pinned"] == true,
            )
        })
        .collect();
    let short = |c: &str| c[..12].to_owned();
    assert_eq!(
        applied,
        vec![
            (short(&first), false),
            (short(&second), false),
            (short(&first), true),
            (short(&third), false)
        ],
        "{doc:#}"
    );
    let text = common::swarmkeeper(&lab, &["history"]);
    assert!(text.stdout.contains(&format!("{}  ", &third[..12])), "{text:?}");
    assert!(text.stdout.contains("(pinned)"), "{text:?}");
    drop(controller);
    reset(&lab, &[]);
}
