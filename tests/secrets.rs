//! Secrets stay sealed: swarmkeeper is run with known secret values — a
//! token in the git URL's environment variable, a compose environment
//! value interpolated from the process environment, a secret file's
//! content, the swarm's join token — and every output channel is searched
//! for them: stdout and stderr of `validate`, `reconcile --dry-run` (text
//! and JSON), `reconcile`, `--help`, and of `swarmkeeper run` its logs,
//! `/status`, `/metrics` and the dashboard page. The stack also holds SOPS-encrypted files (a
//! secret and an env file, tests/fixtures/sops, opened with the TEST age
//! key): their cleartext is searched for too.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{DesiredDir, docker, free_port, get, reset};

const GIT_TOKEN: &str = "ghp_sealedGitToken4711";
const DB_PASSWORD: &str = "sealed-Db-Passw0rd-4711";
const FILE_SECRET: &str = "sealed-file-secret-4711";
/// The cleartext of tests/fixtures/sops/password.txt and of app.env's values.
const SOPS_SECRET: &str = "correct horse battery staple";
const SOPS_ENV_VALUE: &str = "s3cr3t-env-value";

fn sops_fixture(name: &str) -> Vec<u8> {
    std::fs::read(common::repo_root().join("tests/fixtures/sops").join(name)).expect("a SOPS fixture")
}

/// The SOPS files of [`STACK`], encrypted, beside it in `dir`.
fn write_sops_files(dir: &DesiredDir) {
    for (name, fixture) in [("sops-password.txt", "password.txt"), ("app.env", "app.env")] {
        dir.write(name, &String::from_utf8(sops_fixture(fixture)).expect("text"));
    }
}

fn token_url(port: u16) -> String {
    format!("https://bot:{GIT_TOKEN}@127.0.0.1:{port}/ops/platform.git")
}

/// Every known secret value, the swarm's join tokens included.
fn secrets(lab: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = vec![
        GIT_TOKEN.to_owned(),
        DB_PASSWORD.to_owned(),
        FILE_SECRET.to_owned(),
        SOPS_SECRET.to_owned(),
        SOPS_ENV_VALUE.to_owned(),
        "line one".to_owned(),
    ];
    for role in ["worker", "manager"] {
        let token = docker(lab, &["swarm", "join-token", "-q", role]);
        assert_eq!(token.code, Some(0), "{token:?}");
        let token = token.stdout.trim().to_owned();
        assert!(token.starts_with("SWMTKN-"), "{token}");
        out.push(token.clone());
        // The secret part alone, too (the last dash-separated field).
        if let Some(last) = token.rsplit('-').next() {
            out.push(last.to_owned());
        }
    }
    out
}

fn assert_sealed(secrets: &[String], channel: &str, text: &str) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{channel} shows a secret value `{s}`:\n{text}"
        );
    }
}

/// The binary with the lab's environment and the secret-bearing variables.
fn command(lab: &BTreeMap<String, String>, args: &[&str], git_port: u16) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"));
    c.args(args)
        .envs(lab)
        .env("NO_COLOR", "1")
        .env("DB_PASSWORD", DB_PASSWORD)
        .env(
            "SOPS_AGE_KEY_FILE",
            common::repo_root().join("tests/fixtures/sops/test-age-key.txt"),
        )
        .env("SWARMKEEPER_GIT", token_url(git_port));
    c
}

fn output(lab: &BTreeMap<String, String>, args: &[&str], git_port: u16) -> (Option<i32>, String) {
    let out = command(lab, args, git_port).output().expect("run swarmkeeper");
    (
        out.status.code(),
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const STACK: &str = "services:
  db:
    image: swarmkeeper-lab/web:1
    env_file: ./app.env
    environment:
      DB_PASSWORD: ${DB_PASSWORD}
      PLAIN: visible
    secrets: [dbpass, sopspass]
secrets:
  dbpass:
    file: ./dbpass.txt
  sopspass:
    file: ./sops-password.txt
";

fn cluster_state() -> String {
    "version: 1
cluster:
  name: sealed
  region: eu-west-1
  managers:
    count: 1
    instance_type: t3.small
    ami: ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
  workers:
    count: 1
    instance_type: t3.small
    ami: ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
stacks:
  sealed:
    compose: sealed.yml
"
    .to_owned()
}

/// A controller's whole output after SIGTERM, with its /status and /metrics.
fn controller_channels(
    lab: &BTreeMap<String, String>,
    args: &[&str],
    git_port: u16,
    port: u16,
    wait: &dyn Fn(&serde_json::Value) -> bool,
) -> Vec<(String, String)> {
    let listen = format!("127.0.0.1:{port}");
    let mut full: Vec<&str> = args.to_vec();
    full.extend_from_slice(&["--listen", &listen, "--resync", "2s", "--lease-ttl", "6s"]);
    let mut c = command(lab, &full, git_port);
    if !args.contains(&"--git") && args.len() > 1 {
        // A directory source: the variable would select git instead.
        c.env_remove("SWARMKEEPER_GIT");
    }
    let mut child = c
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a controller");
    // Drained while it runs: a full pipe would block its logging.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = None;
    let status = loop {
        last = common::status(port).or(last);
        if let Some(s) = last.as_ref().filter(|s| wait(s)) {
            break s.clone();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{args:?} did not get where the test wants it within 60 s; last /status: {last:#?}\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let metrics = get(port, "/metrics").expect("/metrics");
    let dashboard = get(port, "/").expect("the dashboard at /");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    while child.try_wait().ok().flatten().is_none() {
        assert!(std::time::Instant::now() < deadline, "the controller did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
    let exited = child.wait().expect("the controller's exit");
    assert!(exited.success(), "{args:?}: {exited:?}");
    vec![
        ("run: /status".to_owned(), status.to_string()),
        ("run: /metrics".to_owned(), metrics),
        ("run: / (the dashboard)".to_owned(), dashboard),
        ("run: stdout".to_owned(), stdout.join().unwrap_or_default()),
        ("run: stderr (logs)".to_owned(), stderr.join().unwrap_or_default()),
    ]
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn no_output_channel_shows_a_secret_value() {
    let lab = common::lab("no_output_channel_shows_a_secret_value");
    common::moto_only(&lab, &["sealed"]);
    reset(&lab, &[]);
    let secrets = secrets(&lab);
    // Nothing listens there: the fetch fails, and its errors are shown.
    let git_port = free_port();

    let stacks = DesiredDir::new("sealed-stacks");
    stacks.write("dbpass.txt", FILE_SECRET);
    write_sops_files(&stacks);
    stacks.stacks(&[("sealed", STACK)]);
    let clustered = DesiredDir::new("sealed-cluster");
    clustered.write("dbpass.txt", FILE_SECRET);
    write_sops_files(&clustered);
    clustered.write("sealed.yml", STACK);
    clustered.write("swarmkeeper.yaml", &cluster_state());

    let mut seen = 0;
    for (args, codes) in [
        (vec!["--help"], &[0][..]),
        (vec!["run", "--help"], &[0]),
        (vec!["validate", &stacks.arg()], &[0]),
        (vec!["validate", &stacks.arg(), "-o", "json"], &[0]),
        (vec!["reconcile", &stacks.arg(), "--dry-run"], &[2]),
        (vec!["reconcile", &stacks.arg(), "--dry-run", "-o", "json"], &[2]),
        (vec!["reconcile", &stacks.arg(), "--dry-run", "-v"], &[2]),
        // With a cluster: the join tokens are read and go into user data.
        (vec!["reconcile", "--adopt-swarm", &clustered.arg(), "--dry-run"], &[2]),
        (
            vec![
                "reconcile",
                "--adopt-swarm",
                &clustered.arg(),
                "--dry-run",
                "-o",
                "json",
            ],
            &[2],
        ),
        (vec!["reconcile", &stacks.arg()], &[0]),
        (vec!["reconcile", &stacks.arg(), "-o", "json"], &[0]),
    ] {
        let (code, text) = output(&lab, &args, git_port);
        assert!(
            code.is_some_and(|c| codes.contains(&c)),
            "{args:?}: exit {code:?}\n{text}"
        );
        assert_sealed(&secrets, &format!("{args:?}"), &text);
        seen += 1;
    }
    // The env value did reach the service (the test would prove nothing otherwise).
    let env = docker(
        &lab,
        &[
            "service",
            "inspect",
            "sealed_db",
            "--format",
            "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
        ],
    );
    assert!(env.stdout.contains(DB_PASSWORD), "{env:?}");
    // So did the SOPS env file's value, decrypted, and its secret.
    assert!(env.stdout.contains(SOPS_ENV_VALUE), "{env:?}");
    let secrets_of = docker(
        &lab,
        &[
            "service",
            "inspect",
            "sealed_db",
            "--format",
            "{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.File.Name}} {{end}}",
        ],
    );
    assert!(secrets_of.stdout.contains("sopspass"), "{secrets_of:?}");
    // The engine holds the cleartext, as `sops decrypt` gives it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let container = loop {
        let ps = docker(
            &lab,
            &["ps", "-q", "--filter", "label=com.docker.swarm.service.name=sealed_db"],
        );
        if let Some(id) = ps.stdout.lines().next() {
            break id.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no sealed_db container runs: {ps:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let inside = docker(&lab, &["exec", &container, "cat", "/run/secrets/sopspass"]);
    assert_eq!(inside.stdout, format!("{SOPS_SECRET}\n"), "{inside:?}");

    // The controller on the directory: it acts (a drift put back), logs at debug.
    let _ = docker(&lab, &["service", "update", "-d", "--env-add", "SNEAKY=1", "sealed_db"]);
    let port = free_port();
    let dir_run = {
        let mut c = controller_channels(&lab, &["run", &stacks.arg()], git_port, port, &|s| {
            s["sync_status"] == "Synced" && s["cycles"].as_u64().is_some_and(|c| c >= 2)
        });
        c.iter_mut().for_each(|(name, _)| name.insert_str(0, "dir "));
        c
    };
    // The controller following the token-bearing URL (from SWARMKEEPER_GIT):
    // its fetch fails; the failure is logged and in /status.
    let port = free_port();
    let git_run = {
        let mut c = controller_channels(&lab, &["run"], git_port, port, &|s| {
            s["source_error"].as_str().is_some_and(|e| e.contains("cannot fetch"))
        });
        c.iter_mut().for_each(|(name, _)| name.insert_str(0, "git "));
        c
    };
    for (channel, text) in dir_run.iter().chain(&git_run) {
        assert_sealed(&secrets, channel, text);
        seen += 1;
    }
    let git_logs = &git_run
        .iter()
        .find(|(name, _)| name.ends_with("stderr (logs)"))
        .expect("the controller's logs")
        .1;
    assert!(
        git_logs.contains("bot:***@127.0.0.1"),
        "the redacted URL is what is logged:\n{git_logs}"
    );
    eprintln!("{seen} output channels searched for {} secret values", secrets.len());
    reset(&lab, &[]);
}
