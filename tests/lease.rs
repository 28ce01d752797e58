//! The lease holder's engine stalls: it stops acting — its /status and the
//! metric `swarmkeeper_lease_held` say so — before the time to live lets
//! another replica take over, and the other replica then acts.
//!
//! The holder talks to the lab's engine through a unix-socket forwarder
//! this test controls; pausing it is a stalled engine (connections stay
//! open, no byte moves). The other replica uses the lab socket directly.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{DesiredDir, eventually, free_port, get, reset, status};

/// A forwarder from `path` to the engine's socket that can be paused.
struct Forwarder {
    path: PathBuf,
    paused: Arc<AtomicBool>,
}

impl Forwarder {
    fn start(upstream: &str, path: PathBuf) -> Self {
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind the forwarder");
        let paused = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_owned();
        let flag = paused.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = UnixStream::connect(&upstream) else {
                    continue;
                };
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
                        continue;
                    };
                    let flag = flag.clone();
                    std::thread::spawn(move || pipe(from, to, &flag));
                }
            }
        });
        Self { path, paused }
    }

    fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }
}

/// Copy bytes until either side closes; while paused, hold what was read.
fn pipe(mut from: UnixStream, mut to: UnixStream, paused: &AtomicBool) {
    let mut buf = [0u8; 65536];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(lab: &BTreeMap<String, String>, dir: &DesiredDir, port: u16, docker_host: &str) -> Controller {
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
        .env("DOCKER_HOST", docker_host)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a controller");
    Controller(child)
}

fn image(lab: &BTreeMap<String, String>) -> String {
    common::service_image(lab, "ls_web")
}

/// `swarmkeeper_lease_held` as the metrics endpoint says it.
fn lease_metric(port: u16) -> Option<String> {
    let metrics = get(port, "/metrics")?;
    metrics
        .lines()
        .find(|l| l.starts_with("swarmkeeper_lease_held "))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(str::to_owned)
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_holder_whose_engine_stalls_stops_before_another_replica_takes_over() {
    let lab = common::lab("a_holder_whose_engine_stalls_stops_before_another_replica_takes_over");
    reset(&lab, &[]);
    let socket = lab
        .get("DOCKER_HOST")
        .and_then(|h| h.strip_prefix("unix://"))
        .expect("the lab's engine is a unix socket")
        .to_owned();
    let forwarder = Forwarder::start(
        &socket,
        std::env::temp_dir().join(format!("sk-stall-{}.sock", std::process::id())),
    );
    let dir = DesiredDir::new("stall");
    let web = |image: &str| format!("services:\n  web:\n    image: {image}\n");
    dir.stacks(&[("ls", &web("swarmkeeper-lab/web:1"))]);

    // The replica behind the forwarder takes the lease first.
    let (port_a, port_b) = (free_port(), free_port());
    let _a = start(&lab, &dir, port_a, &format!("unix://{}", forwarder.path.display()));
    eventually(30, "the first replica holding the lease and applying", || {
        let held = status(port_a)?["lease_held"].as_bool()?;
        (held && image(&lab) == "swarmkeeper-lab/web:1").then_some(())
    });
    let mut b = start(&lab, &dir, port_b, &format!("unix://{socket}"));
    eventually(20, "the second replica standing by", || {
        (!status(port_b)?["lease_held"].as_bool()?).then_some(())
    });
    assert_eq!(lease_metric(port_a).as_deref(), Some("1"));

    // The engine stalls for the holder. Watch both replicas closely.
    forwarder.pause();
    let paused_at = Instant::now();
    let deadline = paused_at + Duration::from_secs(40);
    let (mut a_stopped, mut b_took_over) = (None, None);
    while (a_stopped.is_none() || b_took_over.is_none()) && Instant::now() < deadline {
        if a_stopped.is_none()
            && status(port_a).is_some_and(|s| s["lease_held"] == false)
            && lease_metric(port_a).as_deref() == Some("0")
        {
            a_stopped = Some(paused_at.elapsed());
        }
        if b_took_over.is_none() && status(port_b).is_some_and(|s| s["lease_held"] == true) {
            b_took_over = Some(paused_at.elapsed());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let a_stopped = a_stopped.expect("the stalled holder never said it stopped acting");
    let b_took_over = b_took_over.expect("the other replica never took over");
    eprintln!("stalled holder stopped after {a_stopped:?}; the other replica took over after {b_took_over:?}");
    assert!(
        a_stopped < b_took_over,
        "the stalled holder stopped ({a_stopped:?}) only after the other took over ({b_took_over:?})"
    );

    // The other replica acts.
    dir.write("ls.yml", &web("swarmkeeper-lab/web:2"));
    eventually(30, "the new holder applying an edit", || {
        (image(&lab) == "swarmkeeper-lab/web:2").then_some(())
    });
    let pid = b.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let exited = eventually(40, "the new holder to exit", || b.0.try_wait().ok().flatten());
    assert!(exited.success(), "{exited:?}");
    reset(&lab, &[]);
}
