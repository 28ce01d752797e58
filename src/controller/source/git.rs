//! The git source: fetch one branch into a bare repository of our own and
//! read the desired state from the commit's tree — no working tree, so a
//! half-written checkout can never be loaded: each commit is one snapshot.
//!
//! Blocking (gix's network client is synchronous): the controller calls
//! [`GitSource::fetch`] from a blocking task.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use gix::remote::Direction;
use swarmkeeper_model::MemoryTree;
use swarmkeeper_model::tree::Entry;

/// A snapshot bigger than this is refused: a desired state is a handful of
/// YAML files, and a wrong `--git-path` should not fill the memory.
const MAX_SNAPSHOT_BYTES: usize = 64 << 20;

/// How many commits of the branch's history a pin is looked for in.
const PIN_SEARCH_LIMIT: usize = 10_000;

/// The longest one fetch may take before it is interrupted.
pub const FETCH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// A git URL that may carry a token: `Debug` and `Display` hide the
/// password of its userinfo; only [`GitUrl::expose`] (the fetch) gives
/// the real one.
#[derive(Clone, PartialEq, Eq)]
pub struct GitUrl(String);

impl GitUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// For clap: any string; gix judges it at the first fetch.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.trim().is_empty() {
            return Err("an empty URL: give https://, ssh://, git@host:path or file://".to_owned());
        }
        Ok(Self::new(url))
    }

    /// The real URL, with its token: for the fetch only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL's password (token), if it has one.
    pub(crate) fn secret(&self) -> Option<&str> {
        let rest = self.0.split_once("://")?.1;
        let authority = rest.split('/').next().unwrap_or(rest);
        let userinfo = authority.rsplit_once('@')?.0;
        userinfo.split_once(':').map(|(_, p)| p).filter(|p| !p.is_empty())
    }

    /// `text` with every occurrence of the URL and its token hidden (for
    /// errors from the git client, which may quote the URL).
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.0, &redact(&self.0));
        if let Some(secret) = self.secret() {
            out = out.replace(secret, "***");
            // Percent-decoded in some messages.
            if let Ok(decoded) = percent_decode(secret)
                && decoded != secret
            {
                out = out.replace(&decoded, "***");
            }
        }
        out
    }
}

/// `%XX` escapes decoded (a URL's user info; a form field's value once
/// its `+` are spaces).
pub(crate) fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

impl std::fmt::Debug for GitUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GitUrl({:?})", redact(&self.0))
    }
}

impl std::fmt::Display for GitUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// One branch of one repository, and where its bare copy lives.
#[derive(Debug, Clone)]
pub struct GitSource {
    pub url: GitUrl,
    pub branch: String,
    /// The desired-state directory inside the repository ("" for its root).
    pub path: PathBuf,
    /// The bare repository fetched into (created on first use).
    pub repo_dir: PathBuf,
}

/// A commit's files, read whole.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The full commit id.
    pub commit: String,
    pub tree: MemoryTree,
}

impl Snapshot {
    /// The revision reported in status and metrics and put on services.
    pub fn revision(&self) -> String {
        self.commit.chars().take(12).collect()
    }
}

impl GitSource {
    /// How this source is named in logs, status and messages.
    pub fn describe(&self) -> String {
        let url = &self.url;
        if self.path.as_os_str().is_empty() {
            format!("{url}#{}", self.branch)
        } else {
            format!("{url}#{}:{}", self.branch, self.path.display())
        }
    }

    /// Fetch the branch and read its tip. Errors say what to check and
    /// never show the URL's token. `interrupt` (set on shutdown or at the
    /// deadline) makes a running fetch give up.
    pub fn fetch(&self, interrupt: &AtomicBool) -> anyhow::Result<Snapshot> {
        self.fetch_inner(interrupt).map_err(|e| {
            let message = self.url.scrub(&format!("{e:#}"));
            if interrupt.load(std::sync::atomic::Ordering::Relaxed) {
                anyhow::anyhow!(
                    "the fetch was interrupted (shutdown, or longer than {}s): {message}",
                    FETCH_DEADLINE.as_secs()
                )
            } else {
                anyhow::anyhow!(message)
            }
        })
    }

    fn fetch_inner(&self, interrupt: &AtomicBool) -> anyhow::Result<Snapshot> {
        let repo = self.open_or_init()?;
        // Our own ref namespace: nothing else in the bare repository is ours
        // to rely on, and a forced push must be followed (`+`).
        let local_ref = self.local_ref();
        let refspec = format!("+refs/heads/{}:{local_ref}", self.branch);
        let remote = repo
            .remote_at(self.url.expose())
            .with_context(|| format!("`{}` is not a git URL", self.url))?
            .with_refspecs([refspec.as_str()], Direction::Fetch)
            .with_context(|| format!("`{}` is not a valid branch name", self.branch))?;
        let outcome = remote
            .connect(Direction::Fetch)
            .and_then(|connection| {
                connection
                    .prepare_fetch(gix::progress::Discard, Default::default())?
                    .receive(gix::progress::Discard, interrupt)
            })
            .with_context(|| {
                format!(
                    "cannot fetch {}: check the URL, the network and the credentials (ssh keys, or a token in the URL)",
                    self.describe()
                )
            })?;
        if outcome.ref_map.mappings.is_empty() {
            anyhow::bail!(
                "branch `{}` does not exist in {}: push it, or pass the right --git-branch",
                self.branch,
                self.url
            );
        }
        let mut reference = repo
            .find_reference(local_ref.as_str())
            .with_context(|| format!("the fetch of {} left no {local_ref}", self.describe()))?;
        let commit = reference
            .peel_to_commit()
            .context("the branch does not point at a commit")?;
        self.snapshot_of(&repo, &commit)
    }

    /// The commit of the fetched branch's history whose id starts with
    /// `revision` (at least 7 hex digits, as `swarmkeeper history` shows
    /// them): what `swarmkeeper pin` holds the controller on. Only commits
    /// of the branch's history, as last fetched, can be pinned; nothing is
    /// fetched here.
    pub fn snapshot_at(&self, revision: &str) -> anyhow::Result<Snapshot> {
        let wanted = revision.to_ascii_lowercase();
        if !swarmkeeper_plan::control::Pin::is_commit_id(&wanted) {
            anyhow::bail!(
                "the pinned revision `{revision}` is not a commit id: give 7 to 40 hex digits, as `swarmkeeper history` shows them"
            );
        }
        let repo = self.open_or_init()?;
        let local_ref = self.local_ref();
        let mut reference = repo
            .find_reference(local_ref.as_str())
            .with_context(|| format!("nothing fetched yet from {}", self.describe()))?;
        let tip = reference
            .peel_to_commit()
            .context("the branch does not point at a commit")?;
        // Breadth-first through the parents, bounded: a pin names a recent
        // revision, and a long history must not stall a cycle.
        let mut queue = std::collections::VecDeque::from([tip.id]);
        let mut seen = std::collections::HashSet::new();
        let mut found: Option<gix::ObjectId> = None;
        while let Some(id) = queue.pop_front() {
            if seen.len() >= PIN_SEARCH_LIMIT {
                break;
            }
            if !seen.insert(id) {
                continue;
            }
            let commit = commit_of(&repo, id)?;
            if id.to_string().starts_with(&wanted) {
                if let Some(first) = found {
                    anyhow::bail!(
                        "the pinned revision `{revision}` names two commits of {} ({first} and {id}): \
                         pin it with more digits",
                        self.describe()
                    );
                }
                found = Some(id);
            }
            queue.extend(commit.parent_ids().map(|p| p.detach()));
        }
        if let Some(id) = found {
            return self.snapshot_of(&repo, &commit_of(&repo, id)?);
        }
        anyhow::bail!(
            "the pinned revision `{revision}` is not among the last {PIN_SEARCH_LIMIT} commits of {} as fetched: \
             pin a commit of that branch (`swarmkeeper history` lists the applied ones), or `swarmkeeper unpin`",
            self.describe()
        )
    }

    /// Our own ref for the followed branch in the bare repository: nothing
    /// else in it is ours to rely on.
    fn local_ref(&self) -> String {
        format!("refs/swarmkeeper/heads/{}", self.branch)
    }

    /// A commit's files under `path`, read whole.
    fn snapshot_of(&self, repo: &gix::Repository, commit: &gix::Commit<'_>) -> anyhow::Result<Snapshot> {
        let commit_id = commit.id().to_string();
        let tree = commit.tree().context("cannot read the commit's tree")?;
        let entries = tree
            .traverse()
            .breadthfirst
            .files()
            .context("cannot walk the commit's tree")?;

        let name = format!("{}@{}", self.describe(), &commit_id[..12.min(commit_id.len())]);
        let mut snapshot = MemoryTree::new(name);
        let mut bytes = 0usize;
        for entry in entries {
            if !(entry.mode.is_blob() || entry.mode.is_link()) {
                continue; // trees are walked; submodules are not ours to read
            }
            let full = PathBuf::from(entry.filepath.to_string());
            let Ok(rel) = full.strip_prefix(&self.path) else {
                continue;
            };
            let data = repo
                .find_object(entry.oid)
                .with_context(|| format!("cannot read {} from the commit", full.display()))?
                .detach()
                .data;
            bytes += data.len();
            if bytes > MAX_SNAPSHOT_BYTES {
                anyhow::bail!(
                    "{} holds more than {} MiB: point --git-path at the desired-state directory",
                    self.describe(),
                    MAX_SNAPSHOT_BYTES >> 20
                );
            }
            let entry = if entry.mode.is_link() {
                Entry::Link(PathBuf::from(String::from_utf8_lossy(&data).into_owned()))
            } else {
                Entry::File(data)
            };
            snapshot.insert(rel.to_path_buf(), entry);
        }
        if snapshot.is_empty() {
            anyhow::bail!(
                "`{}` holds no files at commit {}: check --git-path",
                self.describe(),
                &commit_id[..12.min(commit_id.len())]
            );
        }
        Ok(Snapshot {
            commit: commit_id,
            tree: snapshot,
        })
    }

    fn open_or_init(&self) -> anyhow::Result<gix::Repository> {
        let dir: &Path = &self.repo_dir;
        if dir.join("HEAD").is_file() {
            gix::open(dir).with_context(|| {
                format!(
                    "cannot open the git cache {}: remove it and let swarmkeeper fetch again",
                    dir.display()
                )
            })
        } else {
            std::fs::create_dir_all(dir).with_context(|| {
                format!(
                    "cannot create the git cache {}: choose another --git-cache",
                    dir.display()
                )
            })?;
            gix::init_bare(dir).with_context(|| format!("cannot create a bare repository in {}", dir.display()))
        }
    }
}

/// The commit `id` of the fetched history.
fn commit_of(repo: &gix::Repository, id: gix::ObjectId) -> anyhow::Result<gix::Commit<'_>> {
    repo.find_object(id)
        .context("cannot read the fetched history")?
        .try_into_commit()
        .context("the fetched history holds a non-commit")
}

/// A URL with its password (a token) hidden, for messages, logs and the
/// lease's label. Over http(s) the user part is hidden too: a token is
/// often given as the user alone (`https://TOKEN@host/…`); ssh's user
/// (`git@`) is no secret and stays.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let http = scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http");
            let user = if http && !userinfo.contains(':') {
                "***"
            } else {
                userinfo.split(':').next().unwrap_or_default()
            };
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            let slash = if rest.contains('/') { "/" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{slash}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_and_keeps_the_rest() {
        for (url, shown) in [
            (
                "https://bot:ghp_secret@git.example.com/org/repo.git",
                "https://bot:***@git.example.com/org/repo.git",
            ),
            (
                "https://git.example.com/org/repo.git",
                "https://git.example.com/org/repo.git",
            ),
            (
                "ssh://git@git.example.com/org/repo.git",
                "ssh://git@git.example.com/org/repo.git",
            ),
            ("git@git.example.com:org/repo.git", "git@git.example.com:org/repo.git"),
            ("file:///srv/desired", "file:///srv/desired"),
            ("https://tok:en@host", "https://tok:***@host"),
            (
                "https://ghp_token@github.com/org/repo",
                "https://***@github.com/org/repo",
            ),
        ] {
            assert_eq!(redact(url), shown, "{url}");
            let wrapped = GitUrl::new(url);
            assert_eq!(wrapped.to_string(), shown, "{url}");
            assert_eq!(format!("{wrapped:?}"), format!("GitUrl({shown:?})"));
        }
    }

    #[test]
    fn scrubs_the_token_from_any_message() {
        let url = GitUrl::new("https://bot:s%40cret@git.example.com/org/repo.git");
        let message = "failed: https://bot:s%40cret@git.example.com/org/repo.git; user bot:s@cret; s%40cret";
        let scrubbed = url.scrub(message);
        assert!(
            !scrubbed.contains("s%40cret") && !scrubbed.contains("s@cret"),
            "{scrubbed}"
        );
        assert!(
            scrubbed.contains("https://bot:***@git.example.com/org/repo.git"),
            "{scrubbed}"
        );
    }

    #[test]
    fn a_fetch_error_never_shows_the_token() {
        // As `swarmkeeper run` does before its first fetch.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // A closed port on the loopback: the connection is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let cache = std::env::temp_dir().join(format!("sk-git-test-{}", std::process::id()));
        for url in [
            format!("https://user:hunter2-secret@127.0.0.1:{port}/x"),
            format!("ssh://user:hunter2-secret@127.0.0.1:{port}/x"),
        ] {
            let source = GitSource {
                url: GitUrl::new(url.clone()),
                branch: "main".into(),
                path: PathBuf::new(),
                repo_dir: cache.clone(),
            };
            let err = source
                .fetch(&AtomicBool::new(false))
                .expect_err("nothing listens there");
            let shown = format!("{err:#} {err:?}");
            assert!(!shown.contains("hunter2-secret"), "{url}: {shown}");
            assert!(shown.contains("cannot fetch"), "{url}: {shown}");
        }
        let _ = std::fs::remove_dir_all(&cache);
    }
}
