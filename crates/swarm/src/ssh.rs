//! `DOCKER_HOST=ssh://[user@]host[:port]`: the engine reached through the
//! system `ssh`, which runs `docker system dial-stdio` on the far side, as
//! the docker CLI does. One `ssh` process per HTTP connection (hyper pools
//! and reuses connections), ended when the connection is dropped.
//!
//! Why not bollard's own `ssh` connector: it accepts any new host key into
//! `~/.ssh/known_hosts` without asking, takes no known-hosts file, and its
//! failures say nothing of why ssh failed. Here the user's ssh
//! configuration and agent apply as for `ssh` itself, plus two settings
//! for machines (CI, the lab) that must not touch `~/.ssh`:
//! - [`ENV_IDENTITY`]: the private key to offer (only that one);
//! - [`ENV_KNOWN_HOSTS`]: the known-hosts file to check host keys
//!   against; a host not in it yet is added to it (accept-new), a host
//!   whose key changed is always refused.
//!
//! Without [`ENV_KNOWN_HOSTS`] the user's own known hosts decide, in batch
//! mode: an unknown host is refused (no prompt), never added silently.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{ChildStdin, ChildStdout};

/// The private key `ssh` offers (`ssh -i FILE -o IdentitiesOnly=yes`).
pub const ENV_IDENTITY: &str = "SWARMKEEPER_SSH_IDENTITY";
/// The known-hosts file host keys are checked against, and new hosts
/// added to (`UserKnownHostsFile=FILE`, `StrictHostKeyChecking=accept-new`).
pub const ENV_KNOWN_HOSTS: &str = "SWARMKEEPER_SSH_KNOWN_HOSTS";

/// How long `ssh` may take to open the TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How much of `ssh`'s standard error is kept to explain a failure.
const STDERR_KEEP: usize = 8 * 1024;

/// How long a dropped connection's `ssh` may take to end by itself (its
/// standard input closed) before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Where `ssh://` leads: `[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parse a `DOCKER_HOST` value `ssh://[user@]host[:port]`, as the docker
    /// CLI reads it: no password, no path, no query.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("ssh://")
            .ok_or_else(|| format!("`{url}` does not start with ssh://"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(format!(
                "`{url}` has a path, query or fragment; write ssh://[user@]host[:port] only"
            ));
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) => (Some(user), hostport),
            None => (None, rest),
        };
        if let Some(user) = user {
            if user.contains(':') {
                // The URL is not repeated: it holds a secret.
                return Err(format!(
                    "the ssh:// DOCKER_HOST carries a password (user:password@); ssh:// takes none: use a key (ssh-agent or {ENV_IDENTITY})"
                ));
            }
            if user.is_empty() {
                return Err(format!("`{url}` has an empty user name before `@`"));
            }
        }
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| format!("`{url}`: `[` without `]` around an IPv6 address"))?;
            match after {
                "" => (host, None),
                p => (
                    host,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| format!("`{url}`: expected `:port` after `]`"))?,
                    ),
                ),
            }
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(format!("`{url}` names no host"));
        }
        if host.starts_with('-') || user.is_some_and(|u| u.starts_with('-')) {
            return Err(format!("`{url}`: a host or user may not start with `-`"));
        }
        let port = match port {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("`{url}`: `{p}` is not a port (1-65535)"))?,
            ),
        };
        Ok(Self {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
        })
    }

    /// The `ssh://` form, as a `DOCKER_HOST` value.
    pub fn url(&self) -> String {
        let user = self.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("ssh://{user}{host}{port}")
    }
}

/// The identity and host-key settings for `ssh` beyond the user's own
/// configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshOptions {
    pub identity: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
}

impl SshOptions {
    /// From [`ENV_IDENTITY`] and [`ENV_KNOWN_HOSTS`] (empty means unset).
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let path = |k: &str| get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        Self {
            identity: path(ENV_IDENTITY),
            known_hosts: path(ENV_KNOWN_HOSTS),
        }
    }
}

/// The arguments of `ssh` for one connection to `target`.
pub fn ssh_args(target: &SshTarget, options: &SshOptions) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut opt = |o: String| {
        args.push("-o".into());
        args.push(o.into());
    };
    // No prompt can ever be answered: fail instead of asking.
    opt("BatchMode=yes".to_owned());
    opt(format!("ConnectTimeout={}", CONNECT_TIMEOUT.as_secs()));
    opt("ServerAliveInterval=15".to_owned());
    if let Some(file) = &options.known_hosts {
        let mut o = OsString::from("UserKnownHostsFile=");
        o.push(file);
        args.push("-o".into());
        args.push(o);
        args.push("-o".into());
        args.push("StrictHostKeyChecking=accept-new".into());
    }
    if let Some(identity) = &options.identity {
        args.push("-i".into());
        args.push(identity.into());
        args.push("-o".into());
        args.push("IdentitiesOnly=yes".into());
    }
    // No terminal: the session carries the engine's bytes, nothing else.
    args.push("-T".into());
    if let Some(user) = &target.user {
        args.push("-l".into());
        args.push(user.into());
    }
    if let Some(port) = target.port {
        args.push("-p".into());
        args.push(port.to_string().into());
    }
    args.push("--".into());
    args.push(target.host.clone().into());
    for word in ["docker", "system", "dial-stdio"] {
        args.push(word.into());
    }
    args
}

/// How one `ssh` ended when it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshFailure {
    /// The exit code (255: ssh itself failed; else the far command's).
    pub code: Option<i32>,
    /// The end of its standard error.
    pub stderr: String,
}

/// Opens connections to one engine over ssh; remembers how the last
/// failed `ssh` ended, to explain a failed connection.
#[derive(Debug, Clone)]
pub struct SshDialer {
    target: SshTarget,
    options: SshOptions,
    last_failure: Arc<Mutex<Option<SshFailure>>>,
}

impl SshDialer {
    pub fn new(target: SshTarget, options: SshOptions) -> Self {
        Self {
            target,
            options,
            last_failure: Arc::default(),
        }
    }

    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    pub fn options(&self) -> &SshOptions {
        &self.options
    }

    /// How the last `ssh` that failed ended, if one did.
    pub fn last_failure(&self) -> Option<SshFailure> {
        self.last_failure
            .lock()
            .map(|f| f.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Wait (at most `within`) for a failed `ssh` to have been recorded:
    /// its exit is seen a moment after the connection breaks.
    pub async fn failure_within(&self, within: Duration) -> Option<SshFailure> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(f) = self.last_failure() {
                return Some(f);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Start `ssh … docker system dial-stdio`: a byte stream to the engine.
    pub fn dial(&self) -> io::Result<SshStream> {
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.args(ssh_args(&self.target, &self.options))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot start `ssh` ({e}): install the OpenSSH client (Debian: openssh-client)"),
            )
        })?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("ssh started without its pipes"));
        };
        let (dropped, on_drop) = tokio::sync::oneshot::channel::<()>();
        let slot = Arc::clone(&self.last_failure);
        tokio::spawn(async move {
            // The child is owned here: when this future is dropped (or the
            // runtime ends), kill_on_drop ends the ssh process.
            let work = async move {
                let mut kept: Vec<u8> = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    match stderr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            kept.extend_from_slice(&buf[..n]);
                            if kept.len() > STDERR_KEEP {
                                kept.drain(..kept.len() - STDERR_KEEP);
                            }
                        }
                    }
                }
                (child.wait().await, kept)
            };
            tokio::pin!(work);
            let ended = tokio::select! {
                biased;
                r = &mut work => Some(r),
                _ = on_drop => tokio::time::timeout(EXIT_GRACE, &mut work).await.ok(),
            };
            if let Some((Ok(status), stderr)) = ended
                && !status.success()
            {
                let failure = SshFailure {
                    code: status.code(),
                    stderr: String::from_utf8_lossy(&stderr).trim().to_owned(),
                };
                match slot.lock() {
                    Ok(mut s) => *s = Some(failure),
                    Err(p) => *p.into_inner() = Some(failure),
                }
            }
        });
        Ok(SshStream {
            stdin: Some(stdin),
            stdout,
            _dropped: dropped,
        })
    }

    /// Why the connection failed, for the user: what ssh said, summarised,
    /// and what to do.
    pub fn explain(&self, failure: Option<&SshFailure>) -> String {
        explain(&self.target, &self.options, failure)
    }
}

/// Two dialers are the same when they lead to the same place the same way.
impl PartialEq for SshDialer {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target && self.options == other.options
    }
}

impl Eq for SshDialer {}

/// What went wrong on the way to the far engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshProblem {
    /// The host's key is not the one known for it.
    HostKeyChanged,
    /// No key is known for the host (and none may be added).
    HostKeyUnknown,
    /// The user was not let in.
    Auth,
    /// No TCP connection (refused, timed out, unresolvable, no route).
    Network,
    /// No `docker` command on the far side.
    NoDocker,
    /// The far user may not use the engine's socket.
    DockerDenied,
    /// The far side's `docker` reaches no engine.
    DockerDown,
    Other,
}

/// Classify what `ssh` (and the far command) wrote to standard error.
pub fn classify(failure: &SshFailure) -> SshProblem {
    let s = failure.stderr.to_ascii_lowercase();
    if s.contains("remote host identification has changed") || s.contains("host key for") && s.contains("has changed") {
        SshProblem::HostKeyChanged
    } else if s.contains("host key verification failed") || s.contains("no ") && s.contains("host key is known") {
        SshProblem::HostKeyUnknown
    } else if s.contains("permission denied (") || s.contains("too many authentication failures") {
        SshProblem::Auth
    } else if s.contains("connection refused")
        || s.contains("timed out")
        || s.contains("no route to host")
        || s.contains("could not resolve hostname")
        || s.contains("network is unreachable")
        || s.contains("connection closed by")
        || s.contains("connection reset")
    {
        SshProblem::Network
    } else if failure.code == Some(127) || s.contains("docker: command not found") || s.contains("docker: not found") {
        SshProblem::NoDocker
    } else if s.contains("permission denied while trying to connect to the docker daemon") {
        SshProblem::DockerDenied
    } else if s.contains("cannot connect to the docker daemon") || s.contains("is the docker daemon running") {
        SshProblem::DockerDown
    } else {
        SshProblem::Other
    }
}

/// The message for a connection over ssh that failed.
pub fn explain(target: &SshTarget, options: &SshOptions, failure: Option<&SshFailure>) -> String {
    let host = &target.host;
    let user = target.user.as_deref().unwrap_or("your ssh user");
    let known = match &options.known_hosts {
        Some(f) => format!("{} ({ENV_KNOWN_HOSTS})", f.display()),
        None => "your known_hosts".to_owned(),
    };
    let Some(failure) = failure else {
        return format!(
            "the connection over ssh to {host} broke without an ssh error; check that `ssh {host} docker system dial-stdio` works from here"
        );
    };
    let said = summary(&failure.stderr);
    let what = match classify(failure) {
        SshProblem::HostKeyChanged => format!(
            "the host key of {host} is not the one in {known}: refused. If the host was replaced, remove its old line (ssh-keygen -R {host}{}) and connect again; otherwise someone may be in the middle",
            options
                .known_hosts
                .as_ref()
                .map(|f| format!(" -f {}", f.display()))
                .unwrap_or_default()
        ),
        SshProblem::HostKeyUnknown => format!(
            "no host key is known for {host} in {known}, and ssh may not ask: add it (ssh-keyscan, checked against the host's real key), or set {ENV_KNOWN_HOSTS} to a file swarmkeeper may add new hosts to"
        ),
        SshProblem::Auth => format!(
            "{host} did not accept {user}'s key: load the key into ssh-agent, or set {ENV_IDENTITY} to the private key's file; check the user (ssh://USER@host)"
        ),
        SshProblem::Network => format!(
            "no ssh connection to {host}{}: check the address, that sshd runs there and that port 22 (or the one given) is open to this machine (the managers' security group)",
            target.port.map(|p| format!(":{p}")).unwrap_or_default()
        ),
        SshProblem::NoDocker => format!(
            "the ssh login on {host} worked, but `docker` did not run there: is docker installed on the far side, on {user}'s PATH?"
        ),
        SshProblem::DockerDenied => format!(
            "the ssh login on {host} worked, but {user} may not use the Docker Engine there: add {user} to the docker group, or connect as a user who can run docker"
        ),
        SshProblem::DockerDown => {
            format!("the ssh login on {host} worked, but docker there reaches no engine: is dockerd running on {host}?")
        }
        SshProblem::Other => format!("ssh to {host} failed"),
    };
    let code = failure
        .code
        .map(|c| format!("exit {c}"))
        .unwrap_or_else(|| "killed".to_owned());
    format!("{what} (ssh {code}: {said})")
}

/// The lines of ssh's standard error worth showing: warnings banners
/// (`@@@@`) and blank lines dropped, at most a few lines.
fn summary(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("@@@") && !l.starts_with("Warning: Permanently added"))
        .collect();
    if lines.is_empty() {
        return "nothing on stderr".to_owned();
    }
    let tail = &lines[lines.len().saturating_sub(3)..];
    tail.join(" / ")
}

/// The byte stream of one `ssh … docker system dial-stdio`: its standard
/// output and input.
pub struct SshStream {
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    /// Dropped with the stream: tells the child's watcher to end it.
    _dropped: tokio::sync::oneshot::Sender<()>,
}

impl AsyncRead for SshStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl SshStream {
    fn stdin(&mut self) -> io::Result<&mut ChildStdin> {
        self.stdin.as_mut().ok_or_else(|| io::ErrorKind::BrokenPipe.into())
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.stdin() {
            Ok(s) => Pin::new(s).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.stdin() {
            Ok(s) => Pin::new(s).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Closing standard input is how the far side learns we are done.
        if let Some(s) = self.stdin.as_mut() {
            std::task::ready!(Pin::new(s).poll_shutdown(cx))?;
        }
        self.stdin = None;
        Poll::Ready(Ok(()))
    }
}

impl hyper_util::client::legacy::connect::Connection for SshStream {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        hyper_util::client::legacy::connect::Connected::new()
    }
}

/// hyper's connector: every new connection is a new `ssh`.
impl tower_service::Service<hyper::Uri> for SshDialer {
    type Response = hyper_util::rt::TokioIo<SshStream>;
    type Error = io::Error;
    type Future = std::future::Ready<Result<Self::Response, io::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        std::future::ready(self.dial().map(hyper_util::rt::TokioIo::new))
    }
}

/// A bollard client whose every connection is [`SshDialer::dial`].
pub fn docker_over_ssh(dialer: SshDialer, timeout_secs: u64) -> Result<bollard::Docker, bollard::errors::Error> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(dialer);
    let client = Arc::new(client);
    bollard::Docker::connect_with_custom_transport(
        move |req: bollard::BollardRequest| {
            let client = Arc::clone(&client);
            async move {
                client
                    .request(req)
                    .await
                    .map_err(|err| bollard::errors::Error::HyperLegacyError { err })
            }
        },
        // hyper pools connections by this address; the connector ignores it.
        Some("ssh://engine"),
        timeout_secs,
        bollard::API_DEFAULT_VERSION,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(user: Option<&str>, host: &str, port: Option<u16>) -> SshTarget {
        SshTarget {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
        }
    }

    #[test]
    fn targets_parse_as_the_docker_cli_reads_them() {
        let cases = [
            ("ssh://root@127.0.0.1:2222", t(Some("root"), "127.0.0.1", Some(2222))),
            ("ssh://host", t(None, "host", None)),
            ("ssh://ec2-user@10.0.0.5/", t(Some("ec2-user"), "10.0.0.5", None)),
            ("ssh://me@[2001:db8::1]:22", t(Some("me"), "2001:db8::1", Some(22))),
            ("ssh://[::1]", t(None, "::1", None)),
        ];
        for (url, want) in cases {
            assert_eq!(SshTarget::parse(url).as_ref(), Ok(&want), "{url}");
            assert_eq!(SshTarget::parse(&want.url()), Ok(want.clone()), "round trip of {url}");
        }
        for bad in [
            "tcp://host",
            "ssh://",
            "ssh://user:secret@host",
            "ssh://host/path",
            "ssh://host:0",
            "ssh://host:99999",
            "ssh://host:abc",
            "ssh://-oProxyCommand=x",
            "ssh://@host",
            "ssh://[::1",
        ] {
            let err = SshTarget::parse(bad).expect_err(bad);
            assert!(
                err.contains(bad.trim_end_matches('/')) || err.contains("ssh://"),
                "{bad}: {err}"
            );
        }
        let secret = SshTarget::parse("ssh://user:hunter2@host").expect_err("password");
        assert!(
            !secret.contains("hunter2") && secret.contains("carries a password"),
            "{secret}"
        );
    }

    #[test]
    fn the_arguments_check_host_keys_and_offer_only_the_given_key() {
        let target = t(Some("root"), "10.213.0.7", Some(2222));
        let plain: Vec<String> = ssh_args(&target, &SshOptions::default())
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(plain.contains(&"BatchMode=yes".to_owned()), "{plain:?}");
        assert!(
            !plain.iter().any(|a| a.starts_with("StrictHostKeyChecking")),
            "without a file of its own, the user's host-key policy applies: {plain:?}"
        );
        assert_eq!(
            plain[plain.len() - 5..],
            ["--", "10.213.0.7", "docker", "system", "dial-stdio"]
        );
        let options = SshOptions::from_lookup(|k| match k {
            ENV_IDENTITY => Some("/keys/lab".to_owned()),
            ENV_KNOWN_HOSTS => Some("/keys/known".to_owned()),
            _ => None,
        });
        let args: Vec<String> = ssh_args(&target, &options)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        for want in [
            "UserKnownHostsFile=/keys/known",
            "StrictHostKeyChecking=accept-new",
            "IdentitiesOnly=yes",
            "/keys/lab",
        ] {
            assert!(args.contains(&want.to_owned()), "{want} in {args:?}");
        }
        let at = args.iter().position(|a| a == "-p").expect("-p");
        assert_eq!(args[at + 1], "2222");
        assert_eq!(SshOptions::from_lookup(|_| Some(String::new())), SshOptions::default());
    }

    #[test]
    fn failures_are_explained_by_what_ssh_said() {
        let f = |code, stderr: &str| SshFailure {
            code: Some(code),
            stderr: stderr.to_owned(),
        };
        let cases = [
            (
                f(
                    255,
                    "@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.",
                ),
                SshProblem::HostKeyChanged,
            ),
            (
                f(
                    255,
                    "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\nHost key verification failed.",
                ),
                SshProblem::HostKeyUnknown,
            ),
            (
                f(255, "root@127.0.0.1: Permission denied (publickey)."),
                SshProblem::Auth,
            ),
            (
                f(255, "ssh: connect to host 10.0.0.1 port 22: Connection refused"),
                SshProblem::Network,
            ),
            (
                f(255, "ssh: connect to host 10.0.0.1 port 22: Connection timed out"),
                SshProblem::Network,
            ),
            (f(127, "bash: line 1: docker: command not found"), SshProblem::NoDocker),
            (
                f(
                    1,
                    "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock",
                ),
                SshProblem::DockerDenied,
            ),
            (
                f(
                    1,
                    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
                ),
                SshProblem::DockerDown,
            ),
            (f(1, "something else"), SshProblem::Other),
        ];
        let target = t(Some("root"), "127.0.0.1", Some(2222));
        for (failure, want) in cases {
            assert_eq!(classify(&failure), want, "{failure:?}");
            let message = explain(&target, &SshOptions::default(), Some(&failure));
            assert!(message.contains("127.0.0.1"), "{message}");
            assert!(!message.contains("@@@"), "{message}");
        }
        let changed = explain(
            &target,
            &SshOptions {
                known_hosts: Some("/k/known".into()),
                identity: None,
            },
            Some(&cases_changed()),
        );
        assert!(
            changed.contains("/k/known") && changed.contains("ssh-keygen -R"),
            "{changed}"
        );
        let missing_docker = explain(&target, &SshOptions::default(), Some(&f(127, "sh: docker: not found")));
        assert!(missing_docker.contains("is docker installed"), "{missing_docker}");
    }

    fn cases_changed() -> SshFailure {
        SshFailure {
            code: Some(255),
            stderr: "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\nHost key verification failed.".to_owned(),
        }
    }
}
