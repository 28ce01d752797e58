//! Shared by the integration tests: finding the local lab.
//!
//! A test that needs the lab carries
//! `#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]`
//! (so a plain `cargo test` lists it as ignored, never as passed) and calls
//! [`lab`] first, which FAILS when `tests/lab/lab.env` is missing: a lab test
//! run without a lab is a failure, never a pass.
//!
//! The lab's variables go to what a test starts (`Command::envs`) and to the
//! clients it builds ([`engine`], [`aws`]); a test never changes its
//! own process environment, which other test threads read at the same time.

#![allow(dead_code)]

pub mod receiver;
pub mod webdriver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The checkout under test, as cargo gives it when it runs the test: a test
/// binary cargo reuses from a build of a checkout elsewhere (one target
/// directory for every clone) must read this checkout's files.
pub fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

/// The variables `tests/lab/up` wrote; panics, saying what to run, when
/// the lab is not up.
pub fn lab(test: &str) -> BTreeMap<String, String> {
    let path = repo_root().join("tests/lab/lab.env");
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_env(&text),
        Err(e) => panic!(
            "{test} needs the lab, and it is not up ({}: {e}): run tests/lab/up (as root), then \
             `cargo test -- --include-ignored`; tests/run does both",
            path.display()
        ),
    }
}

fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        // Values that lean on shell expansion are for shells, not for us.
        .filter(|(_, v)| !v.contains('$'))
        .map(|(k, v)| (k.to_owned(), v.trim_matches(|c| c == '"' || c == '\'').to_owned()))
        .collect()
}

/// The lab's engine, reached at its `DOCKER_HOST` (not this process's).
pub async fn engine(lab: &BTreeMap<String, String>) -> swarmkeeper_swarm::Engine {
    swarmkeeper_swarm::Engine::connect_to(&lab["DOCKER_HOST"])
        .await
        .expect("the lab's engine answers")
}

/// The AWS provider against the lab's moto through `http_client`: the
/// lab's endpoint, region and dummy credentials are given explicitly (this
/// process's environment is not the lab's), with swarmkeeper's own retry
/// configuration.
pub async fn aws_with(
    lab: &BTreeMap<String, String>,
    http_client: impl aws_smithy_runtime_api::client::http::HttpClient + 'static,
) -> swarmkeeper_aws::Aws {
    let config = swarmkeeper_aws::client::loader(Some(&lab["AWS_REGION"]))
        .endpoint_url(&lab["AWS_ENDPOINT_URL"])
        .test_credentials()
        .http_client(http_client)
        .load()
        .await;
    swarmkeeper_aws::Aws::from_config(&config)
}

/// The AWS provider against the lab's moto, over plain HTTP.
pub async fn aws(lab: &BTreeMap<String, String>) -> swarmkeeper_aws::Aws {
    aws_with(lab, aws_smithy_http_client::Builder::new().build_http()).await
}

pub fn corpus_dir(kind: &str) -> PathBuf {
    repo_root().join("tests/corpus").join(kind)
}

#[path = "../corpus/prepare.rs"]
mod prepare;

/// The corpus cases in `dir`; a case with files git cannot hold (FIFOs,
/// sockets, huge files) is a prepared copy (see tests/corpus/prepare.rs).
pub fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out.iter().map(|case| prepare::prepare(case)).collect()
}

/// Runs one lab test at a time within a test binary: every test converges
/// the one lab swarm, and a desired state owns every managed stack on it.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The image a service's spec names (as `docker service inspect` shows it).
pub fn service_image(lab: &BTreeMap<String, String>, service: &str) -> String {
    docker(
        lab,
        &[
            "service",
            "inspect",
            service,
            "--format",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        ],
    )
    .stdout
    .trim()
    .to_owned()
}

/// A compose file of one service, `web`, on the lab's test image `tag`.
pub fn web_compose(tag: u8) -> String {
    format!("services:\n  web:\n    image: swarmkeeper-lab/web:{tag}\n")
}

/// A desired-state directory in a temporary place, removed on drop.
pub struct DesiredDir {
    pub path: PathBuf,
}

impl DesiredDir {
    pub fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("swarmkeeper-it-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create desired dir");
        Self { path }
    }

    pub fn write(&self, name: &str, text: &str) -> &Self {
        let file = self.path.join(name);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(file, text).expect("write file");
        self
    }

    /// swarmkeeper.yaml declaring `stacks`, each with `<name>.yml`.
    pub fn stacks(&self, stacks: &[(&str, &str)]) -> &Self {
        let mut root = String::from("version: 1\n");
        if !stacks.is_empty() {
            root.push_str("stacks:\n");
        }
        for (name, compose) in stacks {
            root.push_str(&format!("  {name}:\n    compose: {name}.yml\n"));
            self.write(&format!("{name}.yml"), compose);
        }
        self.write("swarmkeeper.yaml", &root)
    }

    pub fn arg(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }
}

impl Drop for DesiredDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Run the swarmkeeper binary with the lab's environment.
pub fn swarmkeeper(lab: &BTreeMap<String, String>, args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args(args)
        .envs(lab)
        .env("NO_COLOR", "1")
        .output()
        .expect("run swarmkeeper");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run the docker CLI against the lab's engine.
/// A lab image (`web:1`, `web:2`) as the lab's public registry serves it:
/// the name a node pulls (nothing is loaded into a node by hand).
pub fn registry_image(lab: &BTreeMap<String, String>, name: &str) -> String {
    format!("{}/lab/{name}", lab["SWARMKEEPER_LAB_PUBLIC_REGISTRY"])
}

pub fn docker(lab: &BTreeMap<String, String>, args: &[&str]) -> Run {
    let out = std::process::Command::new("docker")
        .args(args)
        .envs(lab)
        .output()
        .expect("run docker");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `docker inspect`-style JSON of one object.
pub fn inspect(lab: &BTreeMap<String, String>, kind: &str, name: &str) -> serde_json::Value {
    let run = docker(lab, &[kind, "inspect", name]);
    assert_eq!(run.code, Some(0), "{kind} inspect {name}: {run:?}");
    let list: serde_json::Value = serde_json::from_str(&run.stdout).expect("inspect JSON");
    list[0].clone()
}

/// Leave the lab swarm without managed stacks (and without the given
/// docker stacks), so each test starts from the same place.
pub fn reset(lab: &BTreeMap<String, String>, docker_stacks: &[&str]) {
    let empty = DesiredDir::new("reset");
    empty.stacks(&[]);
    // --force: a test's controller may still hold the lease (or a killed
    // one's may not have expired); the reset is the test's, not a user's.
    let run = swarmkeeper(lab, &["reconcile", &empty.arg(), "--allow-empty", "--force"]);
    assert_eq!(run.code, Some(0), "reset: {run:?}");
    for s in docker_stacks {
        let _ = docker(lab, &["stack", "rm", s]);
    }
    // No controls (`swarmkeeper suspend`, `pin`), history or prune record left over from
    // another test.
    let _ = docker(
        lab,
        &[
            "config",
            "rm",
            "swarmkeeper-control",
            "swarmkeeper-history",
            "swarmkeeper-fetch",
            "swarmkeeper-maintenance",
        ],
    );
    // The empty state above prunes only what its own owner (`default`)
    // made; tests that converge named states (the example is `cloud`) leave
    // objects of other owners, which no state of `default` may touch. Remove
    // every managed stack object directly, as an operator would by hand.
    for kind in ["service", "config", "secret", "network"] {
        let ids = docker(
            lab,
            &[
                kind,
                "ls",
                "--filter",
                "label=io.swarmkeeper.managed-by=swarmkeeper",
                "-q",
            ],
        );
        let ids: Vec<&str> = ids.stdout.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec![kind, "rm"];
            args.extend(ids);
            // Networks and secrets still in use by departing tasks fail
            // here; the wait below retries them.
            let _ = docker(lab, &args);
        }
    }
    // Wait (bounded) until the removed stacks' objects are gone.
    let mut left = String::new();
    for _ in 0..60 {
        let ls = docker(
            lab,
            &["network", "ls", "--filter", "label=com.docker.stack.namespace", "-q"],
        );
        let services = docker(
            lab,
            &["service", "ls", "--filter", "label=com.docker.stack.namespace", "-q"],
        );
        if ls.stdout.trim().is_empty() && services.stdout.trim().is_empty() {
            return;
        }
        // A network still in use by a departing task: try again.
        let nets: Vec<&str> = ls.stdout.split_whitespace().collect();
        let mut args = vec!["network", "rm"];
        args.extend(nets);
        let _ = docker(lab, &args);
        left = format!("services {:?}, networks {:?}", services.stdout.trim(), ls.stdout.trim());
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("reset: the lab swarm still holds stack objects after 30 s ({left}); the next test would start dirty");
}

/// Poll `check` every 500 ms until it returns `Some`, at most `secs` seconds.
pub fn eventually<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// One bounded HTTP GET to a lab address; `None` on any failure.
pub fn http_get(addr: &str) -> Option<String> {
    use std::io::{Read, Write};
    let sock: std::net::SocketAddr = addr.parse().ok()?;
    let mut stream = std::net::TcpStream::connect_timeout(&sock, std::time::Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(2))).ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n").ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    Some(body)
}

/// The AWS side the example needs in the lab's moto and cannot create
/// itself: its ACM certificate and its database password in SSM (both
/// idempotent; `tests/lab/up` seeds them too, a moto reset removes them).
pub fn ensure_example_aws(lab: &BTreeMap<String, String>) {
    for script in ["acm-certificate.py", "example-values.py"] {
        let out = std::process::Command::new(&lab["SWARMKEEPER_LAB_PYTHON"])
            .arg(repo_root().join("tests/lab").join(script))
            .envs(lab)
            .output()
            .unwrap_or_else(|e| panic!("run {script}: {e}"));
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A controller's /status.
pub fn status(port: u16) -> Option<serde_json::Value> {
    serde_json::from_str(&get(port, "/status")?).ok()
}

/// The body of one bounded GET to a controller on 127.0.0.1:`port`.
pub fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(2))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes()).ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body.split_once("\r\n\r\n")?.1.to_owned())
}

/// Run a Python snippet with boto3 against moto; it must print JSON.
pub fn boto(lab: &BTreeMap<String, String>, body: &str) -> serde_json::Value {
    let script = format!(
        "import boto3, json\nkw = dict(endpoint_url='{}', region_name='eu-west-1')\n{body}\n",
        lab["AWS_ENDPOINT_URL"]
    );
    let out = std::process::Command::new(&lab["SWARMKEEPER_LAB_PYTHON"])
        .args(["-c", &script])
        .envs(lab)
        .output()
        .expect("run python");
    assert!(out.status.success(), "boto3: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("boto3 JSON: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// A bare repository to follow (`url`, a `file://` URL) and a work tree
/// that pushes to its `main`, both removed on drop.
pub struct GitRepo {
    pub origin: DesiredDir,
    pub work: DesiredDir,
    pub url: String,
}

impl GitRepo {
    pub fn new(name: &str) -> Self {
        let origin = DesiredDir::new(&format!("{name}-origin"));
        git(&origin.path, &["init", "-q", "--bare"]);
        let url = format!("file://{}", origin.arg());
        let work = DesiredDir::new(&format!("{name}-work"));
        git(&work.path, &["init", "-q"]);
        Self { origin, work, url }
    }

    /// Commit everything in the work tree and push it; the commit id.
    pub fn push(&self, message: &str) -> String {
        commit_and_push(&self.work.path, &self.url, message)
    }
}

/// Commit everything in `work` and push it to `origin`'s main; the commit id.
pub fn commit_and_push(work: &std::path::Path, origin: &str, message: &str) -> String {
    git(work, &["add", "-A"]);
    git(work, &["commit", "-q", "-m", message]);
    git(work, &["push", "-q", origin, "HEAD:refs/heads/main"]);
    git(work, &["rev-parse", "HEAD"])
}

/// `git` in `dir` with a fixed identity; panics with its output on failure.
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=swarmkeeper tests",
            "-c",
            "user.email=tests@swarmkeeper.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Stop a controller this test started as a user would (SIGTERM to its own
/// pid, so it releases its lease), waiting at most 15 s before SIGKILL: a
/// killed controller's lease would make the next tests' runs refuse until
/// it expires.
pub fn stop_controller(child: &mut std::process::Child) {
    let pid = child.id().to_string();
    let _ = std::process::Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Start from an empty AWS account: moto's own reset endpoint.
pub fn reset_moto(lab: &BTreeMap<String, String>) {
    boto(
        lab,
        "import urllib.request\nurllib.request.urlopen(urllib.request.Request(kw['endpoint_url'] + '/moto-api/reset', method='POST'))\nprint('{}')",
    );
}

/// Keep `clusters`' instances as mere records in moto: the lab's node agent
/// boots every other cluster's instances through their real user data, and
/// those of a test of the AWS half alone would join the swarm it adopted
/// (the lab's own). Call before anything creates an instance.
pub fn moto_only(lab: &BTreeMap<String, String>, clusters: &[&str]) {
    let dir = PathBuf::from(&lab["SWARMKEEPER_LAB_DIR"]).join("nodes/moto-only");
    std::fs::create_dir_all(&dir).expect("create the moto-only directory");
    for cluster in clusters {
        std::fs::write(dir.join(cluster), "").expect("mark a cluster moto-only");
    }
}

/// Let the node agent boot `cluster`'s instances again (an earlier test of
/// the AWS half alone may have marked the same name moto-only).
pub fn booted(lab: &BTreeMap<String, String>, cluster: &str) {
    let marker = PathBuf::from(&lab["SWARMKEEPER_LAB_DIR"])
        .join("nodes/moto-only")
        .join(cluster);
    match std::fs::remove_file(&marker) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("unmark {}: {e}", marker.display()),
    }
}
