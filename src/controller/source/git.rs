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

/// One branch of one repository, and where its bare copy lives.
#[derive(Debug, Clone)]
pub struct GitSource {
    pub url: String,
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
        let url = redact(&self.url);
        if self.path.as_os_str().is_empty() {
            format!("{url}#{}", self.branch)
        } else {
            format!("{url}#{}:{}", self.branch, self.path.display())
        }
    }

    /// Fetch the branch and read its tip. Errors say what to check.
    pub fn fetch(&self) -> anyhow::Result<Snapshot> {
        let repo = self.open_or_init()?;
        // Our own ref namespace: nothing else in the bare repository is ours
        // to rely on, and a forced push must be followed (`+`).
        let local_ref = format!("refs/swarmkeeper/heads/{}", self.branch);
        let refspec = format!("+refs/heads/{}:{local_ref}", self.branch);
        let remote = repo
            .remote_at(self.url.as_str())
            .with_context(|| format!("`{}` is not a git URL", redact(&self.url)))?
            .with_refspecs([refspec.as_str()], Direction::Fetch)
            .with_context(|| format!("`{}` is not a valid branch name", self.branch))?;
        let interrupt = AtomicBool::new(false);
        let outcome = remote
            .connect(Direction::Fetch)
            .and_then(|connection| {
                connection
                    .prepare_fetch(gix::progress::Discard, Default::default())?
                    .receive(gix::progress::Discard, &interrupt)
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
                redact(&self.url)
            );
        }
        let mut reference = repo
            .find_reference(local_ref.as_str())
            .with_context(|| format!("the fetch of {} left no {local_ref}", self.describe()))?;
        let commit = reference
            .peel_to_commit()
            .context("the branch does not point at a commit")?;
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

/// A URL with its password (a token) hidden, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
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
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }
}
