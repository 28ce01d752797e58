//! `POST /hooks/git` against a controller following a git repository on
//! the lab. The fetch interval is an hour here, so only the webhook can
//! bring a new commit in: a valid push of each forge's form is applied at
//! once; a bad signature, a push to another branch, an oversized body, a
//! wrong method and a missing signature are refused (with the status each
//! deserves) and fetch nothing; a flood is rate-limited.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};

use common::{DesiredDir, GitRepo, eventually, free_port, get, reset, service_image, status, web_compose};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type Lab = BTreeMap<String, String>;

const SECRET: &str = "a webhook secret planted by the test";

struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        common::stop_controller(&mut self.0);
    }
}

/// A controller following `origin`'s main, fetching only once an hour
/// (so only a webhook brings a commit in), with the webhook's secret.
fn start(lab: &Lab, origin: &str, secret_file: &std::path::Path, port: u16) -> Controller {
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args(["run", "--git", origin, "--branch", "main", "--git-interval", "1h"])
        .args(["--resync", "10m", "--lease-ttl", "6s", "--listen", &listen])
        .arg("--webhook-secret-file")
        .arg(secret_file)
        .envs(lab)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a controller");
    Controller(child)
}

/// A delivery and the status it must get: what, method, headers, body, status.
type Delivery = (&'static str, &'static str, Vec<(&'static str, String)>, Vec<u8>, u16);

/// One request to the controller; the status code and the body.
fn request(port: u16, method: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let mut head = format!("{method} /hooks/git HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    let mut length_given = false;
    for (name, value) in headers {
        length_given |= name.eq_ignore_ascii_case("content-length");
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !length_given {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(body).expect("write body");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let code = answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer:?}"));
    (
        code,
        answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default(),
    )
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn push_event(branch: &str, commit: &str) -> Vec<u8> {
    serde_json::json!({"ref": format!("refs/heads/{branch}"), "after": commit, "commits": []})
        .to_string()
        .into_bytes()
}

/// The headers each forge documents for a push, signed with `secret`.
fn forge(provider: &str, secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let hmac = hmac_hex(secret, body);
    let mut headers = vec![("Content-Type", "application/json".to_owned())];
    match provider {
        "github" => {
            headers.push(("X-GitHub-Event", "push".into()));
            headers.push(("X-Hub-Signature-256", format!("sha256={hmac}")));
        }
        "gitlab" => {
            headers.push(("X-Gitlab-Event", "Push Hook".into()));
            headers.push(("X-Gitlab-Token", secret.to_owned()));
        }
        "gitea" => {
            headers.push(("X-Gitea-Event", "push".into()));
            headers.push(("X-Gitea-Signature", hmac.clone()));
            headers.push(("X-Hub-Signature-256", format!("sha256={hmac}")));
        }
        "forgejo" => {
            headers.push(("X-Forgejo-Event", "push".into()));
            headers.push(("X-Forgejo-Signature", hmac.clone()));
            headers.push(("X-Gitea-Event", "push".into()));
            headers.push(("X-Gitea-Signature", hmac));
        }
        "generic" => headers.push(("X-Swarmkeeper-Signature", format!("sha256={hmac}"))),
        other => panic!("no forge {other}"),
    }
    headers
}

/// The sum of a counter's series whose labels contain `having`.
fn counter(port: u16, name: &str, having: &str) -> u64 {
    let body = get(port, "/metrics").unwrap_or_default();
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(having))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn fetches(port: u16) -> u64 {
    counter(port, "swarmkeeper_git_fetches_total", "")
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_signed_push_is_fetched_at_once_and_every_other_delivery_is_refused_without_a_fetch() {
    let _serial = common::serial();
    let lab = common::lab("a_signed_push_is_fetched_at_once_and_every_other_delivery_is_refused_without_a_fetch");
    reset(&lab, &[]);
    let repo = GitRepo::new("hook");
    let work = &repo.work;
    work.write("swarmkeeper.yaml", "version: 1\nstacks:\n  wh:\n    compose: wh.yml\n");
    work.write("wh.yml", &web_compose(1));
    repo.push("web 1");
    let secrets = DesiredDir::new("hook-secret");
    // As `echo` writes it: the newline is not part of the secret.
    secrets.write("secret", &format!("{SECRET}\n"));
    let secret_file = secrets.path.join("secret");

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _controller = start(&lab, &repo.url, &secret_file, port);
    eventually(40, "the first commit applied", || {
        (service_image(&lab, "wh_web") == "swarmkeeper-lab/web:1").then_some(())
    });
    let fetched = fetches(port);
    assert_eq!(fetched, 1, "one fetch at start, none since (the interval is an hour)");

    // A new commit, and deliveries that must not fetch it.
    work.write("wh.yml", &web_compose(2));
    let second = repo.push("web 2");
    let event = push_event("main", &second);
    let other_branch = push_event("feature", &second);
    let refusals: Vec<Delivery> = vec![
        ("wrong method", "GET", vec![], vec![], 405),
        (
            "no signature",
            "POST",
            vec![("X-GitHub-Event", "push".to_owned())],
            event.clone(),
            401,
        ),
        (
            "github, wrong secret",
            "POST",
            forge("github", "not the secret", &event),
            event.clone(),
            401,
        ),
        (
            "gitlab, wrong token",
            "POST",
            forge("gitlab", "not the secret", &event),
            event.clone(),
            401,
        ),
        (
            "gitea, wrong secret",
            "POST",
            forge("gitea", "not the secret", &event),
            event.clone(),
            401,
        ),
        (
            "github, body changed after signing",
            "POST",
            forge("github", SECRET, &other_branch),
            event.clone(),
            401,
        ),
        (
            "another branch",
            "POST",
            forge("github", SECRET, &other_branch),
            other_branch.clone(),
            200,
        ),
        (
            "a ping",
            "POST",
            vec![
                ("X-GitHub-Event", "ping".to_owned()),
                ("X-Hub-Signature-256", format!("sha256={}", hmac_hex(SECRET, b"{}"))),
            ],
            b"{}".to_vec(),
            200,
        ),
        (
            "an oversized body",
            "POST",
            vec![("Content-Length", (8 * 1024 * 1024).to_string())],
            vec![],
            413,
        ),
    ];
    for (what, method, headers, body, expected) in &refusals {
        let (code, answer) = request(port, method, headers, body);
        assert_eq!(code, *expected, "{what}: {answer}");
    }
    // Nothing fetched, nothing applied (a fetch would take milliseconds).
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(fetches(port), fetched, "a refused or ignored delivery fetched");
    assert_eq!(service_image(&lab, "wh_web"), "swarmkeeper-lab/web:1");
    assert_eq!(
        counter(
            port,
            "swarmkeeper_webhook_requests_total",
            "outcome=\"unauthenticated\""
        ),
        5
    );
    assert_eq!(
        counter(port, "swarmkeeper_webhook_requests_total", "outcome=\"ignored\""),
        2
    );
    assert_eq!(
        counter(port, "swarmkeeper_webhook_requests_total", "outcome=\"too_large\""),
        1
    );
    let s = status(port).expect("status");
    assert_eq!(s["last_webhook"]["status"], 413, "{s:#}");
    let shown = common::swarmkeeper(&lab, &["status", "--listen", &listen]);
    assert!(shown.stdout.contains("too_large from unknown (HTTP 413)"), "{shown:?}");

    // Each forge's push is fetched and applied at once.
    let mut tag = 2;
    for (round, provider) in ["github", "gitlab", "gitea", "forgejo", "generic"]
        .into_iter()
        .enumerate()
    {
        let commit = if round == 0 {
            second.clone()
        } else {
            tag = 3 - tag;
            work.write("wh.yml", &web_compose(tag));
            repo.push(&format!("web {tag} for {provider}"))
        };
        let body = if provider == "generic" {
            Vec::new()
        } else {
            push_event("main", &commit)
        };
        let (code, answer) = request(port, "POST", &forge(provider, SECRET, &body), &body);
        assert_eq!(code, 202, "{provider}: {answer}");
        let wanted = format!("swarmkeeper-lab/web:{tag}");
        eventually(20, &format!("{provider}'s push applied"), || {
            let s = status(port)?;
            (service_image(&lab, "wh_web") == wanted && s["applied_revision"] == commit[..12]).then_some(())
        });
        assert_eq!(
            counter(
                port,
                "swarmkeeper_webhook_requests_total",
                &format!("provider=\"{provider}\",outcome=\"fetch\"")
            ),
            1,
            "{provider}"
        );
    }
    assert_eq!(
        counter(port, "swarmkeeper_git_fetches_total", "trigger=\"webhook\""),
        5,
        "one fetch per push delivered"
    );
    assert_eq!(
        counter(port, "swarmkeeper_git_fetches_total", "trigger=\"interval\""),
        1
    );

    // A flood: unsigned deliveries beyond the burst are answered 429.
    let codes: Vec<u16> = (0..60).map(|_| request(port, "POST", &[], b"").0).collect();
    assert!(codes.contains(&429), "no delivery rate-limited: {codes:?}");
    assert!(codes.iter().all(|c| *c == 401 || *c == 429), "{codes:?}");
    assert_eq!(fetches(port), fetched + 5);
    drop(_controller);
    reset(&lab, &[]);
}

#[test]
fn a_webhook_is_refused_at_start_without_a_git_source_or_a_secret() {
    // Each refusal comes before anything is read or reached: an empty
    // directory, no engine. Should one start a controller, it is killed.
    let empty = DesiredDir::new("hook-refusals");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
            .args(args)
            .current_dir(&empty.path)
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env_remove("SWARMKEEPER_WEBHOOK_SECRET")
            .env_remove("SWARMKEEPER_WEBHOOK_SECRET_FILE")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run swarmkeeper");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while matches!(child.try_wait(), Ok(None)) {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("`swarmkeeper {args:?}` did not refuse to start");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().expect("its output");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let port = format!("127.0.0.1:{}", free_port());
    let (code, err) = run(&["run", ".", "--listen", &port], &[("SWARMKEEPER_WEBHOOK_SECRET", "x")]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("add --git"), "{err}");
    let (code, err) = run(
        &[
            "run",
            "--git",
            "file:///nowhere",
            "--webhook-listen",
            "127.0.0.1:0",
            "--listen",
            &port,
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--webhook-secret-file"), "{err}");
    let (code, err) = run(
        &[
            "run",
            "--git",
            "file:///nowhere",
            "--webhook-secret-file",
            "/nonexistent/secret",
            "--listen",
            &port,
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot read the webhook secret /nonexistent/secret"),
        "{err}"
    );
    let (code, err) = run(
        &["run", "--git", "file:///nowhere", "--listen", &port],
        &[("SWARMKEEPER_WEBHOOK_SECRET", "  \n")],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("the webhook secret is empty"), "{err}");
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_push_delivered_to_a_replica_without_the_lease_is_fetched_and_applied_by_the_holder() {
    let _serial = common::serial();
    let lab = common::lab("a_push_delivered_to_a_replica_without_the_lease_is_fetched_and_applied_by_the_holder");
    reset(&lab, &[]);
    let repo = GitRepo::new("relay");
    let work = &repo.work;
    work.write("swarmkeeper.yaml", "version: 1\nstacks:\n  rl:\n    compose: rl.yml\n");
    work.write("rl.yml", &web_compose(1));
    repo.push("web 1");
    let secrets = DesiredDir::new("relay-secret");
    secrets.write("secret", SECRET);
    let secret_file = secrets.path.join("secret");

    let (holder_port, standby_port) = (free_port(), free_port());
    let _holder = start(&lab, &repo.url, &secret_file, holder_port);
    eventually(40, "the first commit applied by the holder", || {
        let s = status(holder_port)?;
        (s["lease_held"] == true && service_image(&lab, "rl_web") == "swarmkeeper-lab/web:1").then_some(())
    });
    let _standby = start(&lab, &repo.url, &secret_file, standby_port);
    eventually(30, "the second replica up, without the lease", || {
        let s = status(standby_port)?;
        (s["lease_held"] == false && s["identity"].is_string() && fetches(standby_port) == 1).then_some(())
    });

    work.write("rl.yml", &web_compose(2));
    let commit = repo.push("web 2");
    let body = push_event("main", &commit);
    let (code, answer) = request(standby_port, "POST", &forge("github", SECRET, &body), &body);
    assert_eq!(code, 202, "{answer}");
    eventually(20, "the push applied by the lease holder", || {
        let s = status(holder_port)?;
        (service_image(&lab, "rl_web") == "swarmkeeper-lab/web:2" && s["applied_revision"] == commit[..12])
            .then_some(())
    });
    assert!(
        counter(holder_port, "swarmkeeper_git_fetches_total", "trigger=\"webhook\"") >= 1,
        "the holder fetched on the swarm's event"
    );
    assert_eq!(
        counter(holder_port, "swarmkeeper_webhook_requests_total", ""),
        0,
        "the delivery went to the standby only"
    );
    let s = status(standby_port).expect("status");
    assert_eq!(s["lease_held"], false, "{s:#}");
    drop(_standby);
    drop(_holder);
    reset(&lab, &[]);
}
