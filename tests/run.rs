//! `swarmkeeper run` against the lab: an edit of the watched directory is
//! applied within seconds; an invalid edit applies nothing, is reported
//! and the last good state kept; drift is put back at the resync; SIGTERM
//! stops it cleanly. (Latency figures belong to the benchmarks.)

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{DesiredDir, GitRepo, docker, eventually, free_port, get, reset, status};

/// SIGTERM `controller` and wait (bounded) for a clean exit.
fn terminate(controller: &mut Controller) {
    let pid = controller.0.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
    assert!(term.success());
    let exited = eventually(40, "the controller to exit", || controller.0.try_wait().ok().flatten());
    assert!(exited.success(), "{exited:?}");
}

fn image(lab: &std::collections::BTreeMap<String, String>) -> String {
    common::service_image(lab, "rt_web")
}

struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn the_controller_follows_edits_keeps_the_last_good_state_and_heals_drift() {
    let _serial = common::serial();
    let lab = common::lab("the_controller_follows_edits_keeps_the_last_good_state_and_heals_drift");
    reset(&lab, &[]);
    let dir = DesiredDir::new("run");
    let web = |image: &str| format!("services:\n  web:\n    image: {image}\n");
    dir.stacks(&[("rt", &web("swarmkeeper-lab/web:1"))]);
    let port = free_port();
    let mut controller = start(&lab, &dir, port);

    eventually(30, "the first cycle", || {
        (image(&lab) == "swarmkeeper-lab/web:1").then_some(())
    });
    let first = eventually(10, "status", || status(port));
    assert_eq!(first["sync_status"], "Synced", "{first:#}");

    // An edit is applied (the bound is generous; latency is benchmarked).
    dir.write("rt.yml", &web("swarmkeeper-lab/web:2"));
    eventually(20, "the edit applied", || {
        (image(&lab) == "swarmkeeper-lab/web:2").then_some(())
    });

    // An invalid edit applies nothing, is reported, and the last good state stays.
    dir.write("rt.yml", "services:\n  web:\n    image: [unclosed\n");
    let reported = eventually(20, "the validation error in /status", || {
        status(port).filter(|s| s["validation_errors"].as_array().is_some_and(|e| !e.is_empty()))
    });
    assert!(
        reported["validation_errors"][0]
            .as_str()
            .unwrap_or_default()
            .contains("rt.yml:"),
        "{reported:#}"
    );
    assert_eq!(image(&lab), "swarmkeeper-lab/web:2");
    // The next valid edit is applied.
    dir.write("rt.yml", &web("swarmkeeper-lab/web:1"));
    eventually(20, "the valid edit applied", || {
        (image(&lab) == "swarmkeeper-lab/web:1").then_some(())
    });

    // A change behind its back is put back at the next resync.
    let sneak = docker(&lab, &["service", "update", "-d", "--env-add", "SNEAKY=1", "rt_web"]);
    assert_eq!(sneak.code, Some(0), "{sneak:?}");
    eventually(30, "drift put back", || {
        let env = docker(
            &lab,
            &[
                "service",
                "inspect",
                "rt_web",
                "--format",
                "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
            ],
        );
        (!env.stdout.contains("SNEAKY")).then_some(())
    });
    let metrics = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics");
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").expect("request");
        let mut body = String::new();
        s.read_to_string(&mut body).expect("read");
        body
    };
    assert!(metrics.contains("swarmkeeper_drift_detected_total"), "{metrics}");
    assert!(
        metrics.contains("swarmkeeper_cycles_total{trigger=\"source\""),
        "{metrics}"
    );
    // A stacks-only controller on the lab's healthy swarm: the quorum of
    // the swarm it runs on is known and held; what only a cluster knows
    // is not exported.
    let samples: Vec<&str> = metrics.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(samples.contains(&"swarmkeeper_manager_quorum 1"), "{metrics}");
    assert!(
        samples
            .iter()
            .any(|l| l.starts_with("swarmkeeper_managers{state=\"reachable\"} ") && !l.ends_with(" 0")),
        "{metrics}"
    );
    assert!(samples.contains(&"swarmkeeper_desired_state_valid 1"), "{metrics}");
    for unknown in ["swarmkeeper_nodes_replaced", "provider=\"aws\""] {
        assert!(!metrics.contains(unknown), "{unknown} without a cluster:\n{metrics}");
    }

    // SIGTERM: it stops by itself, promptly.
    let pid = controller.0.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
    assert!(term.success());
    let exited = eventually(20, "the controller to exit", || controller.0.try_wait().ok().flatten());
    assert!(exited.success(), "{exited:?}");
    reset(&lab, &[]);
}

fn start(lab: &std::collections::BTreeMap<String, String>, dir: &DesiredDir, port: u16) -> Controller {
    start_with(lab, &[&dir.arg()], port)
}

/// A controller with `source` arguments (a directory, or --git ...).
fn start_with(lab: &std::collections::BTreeMap<String, String>, source: &[&str], port: u16) -> Controller {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["run"];
    args.extend_from_slice(source);
    args.extend_from_slice(&["--listen", &listen, "--resync", "2s", "--lease-ttl", "6s"]);
    let child = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args(&args)
        .envs(lab)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a controller");
    Controller(child)
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn of_two_replicas_one_acts_and_the_other_takes_over_when_it_dies() {
    let _serial = common::serial();
    let lab = common::lab("of_two_replicas_one_acts_and_the_other_takes_over_when_it_dies");
    reset(&lab, &[]);
    let dir = DesiredDir::new("lease");
    let web = |image: &str| format!("services:\n  web:\n    image: {image}\n");
    dir.stacks(&[("rt", &web("swarmkeeper-lab/web:1"))]);
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = start(&lab, &dir, port_a);
    let mut b = start(&lab, &dir, port_b);

    let holder = eventually(30, "one replica holding the lease", || {
        let (sa, sb) = (status(port_a)?, status(port_b)?);
        match (sa["lease_held"].as_bool()?, sb["lease_held"].as_bool()?) {
            (true, false) => Some('a'),
            (false, true) => Some('b'),
            _ => None,
        }
    });
    eventually(30, "the first apply", || {
        (image(&lab) == "swarmkeeper-lab/web:1").then_some(())
    });
    // The standby never ran a cycle.
    let standby_port = if holder == 'a' { port_b } else { port_a };
    let standby = status(standby_port).expect("standby status");
    assert_eq!(standby["cycles"], 0, "{standby:#}");

    // The holder dies without releasing; the other takes over and acts.
    let (dead, survivor, survivor_port) = if holder == 'a' {
        (&mut a, &mut b, port_b)
    } else {
        (&mut b, &mut a, port_a)
    };
    let _ = dead.0.kill();
    let _ = dead.0.wait();
    dir.write("rt.yml", &web("swarmkeeper-lab/web:2"));
    eventually(30, "failover within 30 s and the edit applied", || {
        (image(&lab) == "swarmkeeper-lab/web:2").then_some(())
    });
    let s = status(survivor_port).expect("survivor status");
    assert_eq!(s["lease_held"], true, "{s:#}");

    let pid = survivor.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    eventually(20, "the survivor to exit", || survivor.0.try_wait().ok().flatten());
    reset(&lab, &[]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_commit_pushed_to_the_followed_branch_is_applied() {
    let _serial = common::serial();
    let lab = common::lab("a_commit_pushed_to_the_followed_branch_is_applied");
    reset(&lab, &[]);
    let repo = GitRepo::new("git");
    // The desired state lives in a subdirectory, as in a monorepo.
    let work = &repo.work;
    let web = |image: &str| format!("services:\n  web:\n    image: {image}\n");
    work.write("README.md", "not part of the desired state\n");
    work.write(
        "cluster/swarmkeeper.yaml",
        "version: 1\nstacks:\n  rt:\n    compose: rt.yml\n",
    );
    work.write("cluster/rt.yml", &web("swarmkeeper-lab/web:1"));
    let first = repo.push("web 1");

    let port = free_port();
    let mut controller = start_with(
        &lab,
        &[
            "--git",
            &repo.url,
            "--branch",
            "main",
            "--git-path",
            "cluster",
            "--git-interval",
            "1s",
        ],
        port,
    );
    eventually(40, "the first commit applied", || {
        (image(&lab) == "swarmkeeper-lab/web:1").then_some(())
    });
    let revision_label = || {
        docker(
            &lab,
            &[
                "service",
                "inspect",
                "rt_web",
                "--format",
                "{{index .Spec.Labels \"io.swarmkeeper.revision\"}}",
            ],
        )
        .stdout
        .trim()
        .to_owned()
    };
    assert_eq!(revision_label(), first[..12]);
    let s = eventually(10, "status", || status(port));
    assert_eq!(s["applied_revision"], first[..12], "{s:#}");
    assert!(
        s["source"].as_str().unwrap_or_default().ends_with("#main:cluster"),
        "{s:#}"
    );

    // A new commit on the branch is fetched and applied.
    work.write("cluster/rt.yml", &web("swarmkeeper-lab/web:2"));
    let second = repo.push("web 2");
    eventually(40, "the pushed commit applied", || {
        (image(&lab) == "swarmkeeper-lab/web:2").then_some(())
    });
    assert_eq!(revision_label(), second[..12]);
    let metrics = get(port, "/metrics").expect("metrics");
    assert!(
        metrics.contains(&format!(
            "swarmkeeper_applied_revision{{revision=\"{}\"}} 1",
            &second[..12]
        )),
        "{metrics}"
    );

    // A commit that fails validation is reported; the last good commit stays.
    work.write("cluster/rt.yml", "services:\n  web:\n    image: [unclosed\n");
    let third = repo.push("broken");
    let reported = eventually(40, "the invalid commit reported", || {
        status(port).filter(|s| {
            s["desired_revision"] == third[..12] && s["validation_errors"].as_array().is_some_and(|e| !e.is_empty())
        })
    });
    assert_eq!(reported["applied_revision"], second[..12], "{reported:#}");
    assert_eq!(image(&lab), "swarmkeeper-lab/web:2");

    terminate(&mut controller);
    reset(&lab, &[]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_run_stopped_mid_apply_leaves_a_state_the_next_run_converges() {
    let _serial = common::serial();
    let lab = common::lab("a_run_stopped_mid_apply_leaves_a_state_the_next_run_converges");
    reset(&lab, &[]);
    // Many creates, one at a time, so that SIGTERM lands while they run.
    const SERVICES: usize = 200;
    let compose: String = std::iter::once("services:\n".to_owned())
        .chain(
            (0..SERVICES)
                .map(|i| format!("  s{i:03}:\n    image: swarmkeeper-lab/web:1\n    deploy: {{ replicas: 0 }}\n")),
        )
        .collect();
    let dir = DesiredDir::new("midapply");
    dir.stacks(&[("mid", &compose)]);
    let managed = || {
        docker(
            &lab,
            &[
                "service",
                "ls",
                "--filter",
                "label=com.docker.stack.namespace=mid",
                "-q",
            ],
        )
        .stdout
        .lines()
        .count()
    };
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args([
            "run",
            &dir.arg(),
            "--listen",
            &listen,
            "--concurrency",
            "1",
            "--lease-ttl",
            "6s",
        ])
        .envs(&lab)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a controller");
    let mut controller = Controller(child);
    // The first action counted is the moment to stop it (polled tightly:
    // the whole apply takes a second or two).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !get(port, "/metrics").is_some_and(|m| m.contains("swarmkeeper_actions_total{")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the apply did not start within 60 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    terminate(&mut controller);
    let left = managed();
    eprintln!("SIGTERM stopped the apply after {left} of {SERVICES} services");
    assert!(
        left < SERVICES,
        "the apply had finished before SIGTERM ({left} services); nothing was interrupted"
    );

    // The next run converges what the first left half done.
    let mut next = start(&lab, &dir, port);
    eventually(60, "the next run to converge", || {
        status(port).filter(|s| s["sync_status"] == "Synced" && managed() == SERVICES)
    });
    terminate(&mut next);
    let check = common::swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(check.code, Some(0), "nothing left to do: {check:?}");
    reset(&lab, &[]);
}
