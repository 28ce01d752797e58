//! `DOCKER_HOST=ssh://user@host[:port]` against the lab (issue 13, item 3):
//! swarmkeeper reaches the lab's engine through a real sshd, as the docker
//! CLI would (`docker system dial-stdio` on the far side), checks host keys
//! against the file it is given, and explains a refused key or host.
//!
//! Each test starts its own sshd on 127.0.0.1 (a free port, keys in a
//! temporary directory, the lab's DOCKER_HOST set for its sessions) and
//! stops it by its pid when it ends.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{DesiredDir, docker, free_port, reset, swarmkeeper};

type Lab = BTreeMap<String, String>;

const WEB: &str = "services:\n  web:\n    image: swarmkeeper-lab/web:1\n";

/// One sshd of a test, with the client's key and known_hosts file.
struct Sshd {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Sshd {
    fn start(lab: &Lab, test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("swarmkeeper-ssh-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the sshd directory");
        for key in ["host_key", "client_key", "other_key"] {
            keygen(&dir.join(key));
        }
        let public = std::fs::read_to_string(dir.join("client_key.pub")).expect("the client's public key");
        std::fs::write(dir.join("authorized_keys"), public).expect("write authorized_keys");
        // sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        let port = free_port();
        let config = format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {dir}/host_key\nAuthorizedKeysFile {dir}/authorized_keys\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
             StrictModes no\nUsePAM no\nPidFile none\nSetEnv DOCKER_HOST={docker_host}\n",
            dir = dir.display(),
            docker_host = lab["DOCKER_HOST"],
        );
        std::fs::write(dir.join("sshd_config"), config).expect("write sshd_config");
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("sshd.log")).expect("create sshd.log"))
            .spawn()
            .expect("start sshd (tests/lab/up installs openssh-server)");
        let sshd = Self { child, dir, port };
        sshd.wait_listening();
        sshd
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "sshd never listened: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The lab's variables with DOCKER_HOST over this sshd and `key`.
    fn env(&self, lab: &Lab, key: &str) -> Lab {
        let mut env = lab.clone();
        env.insert("DOCKER_HOST".into(), format!("ssh://root@127.0.0.1:{}", self.port));
        env.insert(
            "SWARMKEEPER_SSH_IDENTITY".into(),
            self.path(key).to_string_lossy().into_owned(),
        );
        env.insert(
            "SWARMKEEPER_SSH_KNOWN_HOSTS".into(),
            self.path("known_hosts").to_string_lossy().into_owned(),
        );
        env
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Child::kill signals this sshd's own pid (its listener) only.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_stack_is_previewed_and_applied_over_ssh_and_the_host_key_is_remembered() {
    let _serial = common::serial();
    let lab = common::lab("a_stack_is_previewed_and_applied_over_ssh_and_the_host_key_is_remembered");
    reset(&lab, &[]);
    let sshd = Sshd::start(&lab, "apply");
    let env = sshd.env(&lab, "client_key");
    let dir = DesiredDir::new("ssh-apply");
    dir.stacks(&[("web", WEB)]);

    let run = swarmkeeper(&env, &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}\nsshd: {}", sshd.log());
    assert!(run.stdout.contains("web_web"), "{run:?}");
    // (The line's host may be hashed, as HashKnownHosts says: its key is not.)
    let known = std::fs::read_to_string(sshd.path("known_hosts")).unwrap_or_default();
    let host_key = std::fs::read_to_string(sshd.path("host_key.pub")).expect("the host's public key");
    let host_key = host_key.split_whitespace().nth(1).unwrap_or("no key");
    assert!(
        known.contains(host_key),
        "a new host's key is added to SWARMKEEPER_SSH_KNOWN_HOSTS: {known:?}"
    );

    let run = swarmkeeper(&env, &["reconcile", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}\nsshd: {}", sshd.log());
    let listed = docker(&lab, &["service", "ls", "--format", "{{.Name}}"]);
    assert!(listed.stdout.lines().any(|l| l == "web_web"), "{listed:?}");

    // Nothing left to do, over the same transport.
    let run = swarmkeeper(&env, &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    reset(&lab, &[]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn a_refused_key_or_a_changed_host_key_is_explained_and_changes_nothing() {
    let _serial = common::serial();
    let lab = common::lab("a_refused_key_or_a_changed_host_key_is_explained_and_changes_nothing");
    reset(&lab, &[]);
    let sshd = Sshd::start(&lab, "refused");
    let dir = DesiredDir::new("ssh-refused");
    dir.stacks(&[("web", WEB)]);

    // A key the far side does not accept.
    let run = swarmkeeper(&sshd.env(&lab, "other_key"), &["reconcile", &dir.arg()]);
    assert_ne!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("did not accept"), "{run:?}");
    assert!(
        run.stderr.contains("SWARMKEEPER_SSH_IDENTITY"),
        "what to do next: {run:?}"
    );

    // A known_hosts line for this address with another key: refused.
    let other = std::fs::read_to_string(sshd.path("other_key.pub")).expect("other public key");
    let mut words = other.split_whitespace();
    let (kind, key) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    std::fs::write(
        sshd.path("known_hosts"),
        format!("[127.0.0.1]:{} {kind} {key}\n", sshd.port),
    )
    .expect("write known_hosts");
    let run = swarmkeeper(&sshd.env(&lab, "client_key"), &["reconcile", &dir.arg()]);
    assert_ne!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("is not the one in"), "{run:?}");
    assert!(run.stderr.contains("ssh-keygen -R"), "what to do next: {run:?}");

    let listed = docker(&lab, &["service", "ls", "--format", "{{.Name}}"]);
    assert!(
        !listed.stdout.lines().any(|l| l == "web_web"),
        "nothing applied: {listed:?}"
    );
}
