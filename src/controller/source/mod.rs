//! Where the desired state comes from, and when it changed: a watched
//! directory ([`dir`]) or a branch of a git repository fetched on an
//! interval ([`git`]). Either way the controller gets a channel that yields
//! once per change and a `load` that reads one consistent state.

mod dir;
pub mod git;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use swarmkeeper_model::{LoadOutcome, Variables};

use crate::keys::{load_dir, load_tree};
use tokio::sync::{Notify, mpsc, watch};

use super::{Metrics, Shared};
use git::{GitSource, Snapshot};

/// The source `swarmkeeper run` was given.
#[derive(Debug, Clone)]
pub enum Source {
    Dir { dir: PathBuf, poll: Option<Duration> },
    Git { git: GitSource, interval: Duration },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Dir { dir, .. } => dir.display().to_string(),
            Source::Git { git, .. } => git.describe(),
        }
    }

    /// Start noticing changes. The directory watch runs on a thread of its
    /// own; the git source fetches in a task until `stop`, every interval
    /// and whenever `fetch_now` is notified (a webhook's push).
    pub fn start(
        &self,
        shared: Shared,
        metrics: Arc<Metrics>,
        fetch_now: Arc<Notify>,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Watching> {
        match self {
            Source::Dir { dir, poll } => Ok(Watching {
                changes: dir::watch_dir(dir, *poll)?,
                reader: Reader(Kind::Dir(dir.clone())),
            }),
            Source::Git { git, interval } => {
                let (tx, rx) = mpsc::channel(4);
                let latest = Arc::new(Mutex::new(Latest::default()));
                let poller = Poller {
                    git: git.clone(),
                    interval: *interval,
                    latest: latest.clone(),
                    changes: tx,
                    shared,
                    metrics,
                    fetch_now,
                };
                tokio::spawn(poller.run(stop));
                Ok(Watching {
                    changes: rx,
                    reader: Reader(Kind::Git {
                        latest,
                        git: git.clone(),
                    }),
                })
            }
        }
    }
}

/// A started source.
pub struct Watching {
    /// Yields once per change (bursts may be coalesced by the reader).
    pub changes: mpsc::Receiver<()>,
    pub reader: Reader,
}

/// Reads the source's current desired state.
pub struct Reader(Kind);

enum Kind {
    Dir(PathBuf),
    Git { latest: Arc<Mutex<Latest>>, git: GitSource },
}

/// The newest commit read, and the last fetch's error if it failed.
#[derive(Default)]
struct Latest {
    snapshot: Option<Arc<Snapshot>>,
    error: Option<String>,
}

/// A load and the revision it is known by: the commit for git, a digest of
/// the files read for a directory.
pub struct Loaded {
    pub outcome: LoadOutcome,
    pub revision: String,
    /// The full commit id (git only: what a commit status is posted for).
    pub commit: Option<String>,
}

impl Reader {
    /// Read the desired state as it is now, or at the `pinned` revision
    /// (`swarmkeeper pin`: a commit of the branch's history). `Err` when
    /// there is nothing to read (the first fetch has not succeeded, the
    /// pinned commit is not in the fetched history, a directory is pinned).
    pub fn load(&self, environment: &Variables, pinned: Option<&str>) -> anyhow::Result<Loaded> {
        if let (Some(revision), Kind::Dir(dir)) = (pinned, &self.0) {
            anyhow::bail!(
                "the controller is pinned to revision {revision}, but its source {} is a directory, which has no \
                 history to take a revision from: `swarmkeeper unpin` (pin is for a git source)",
                dir.display()
            );
        }
        match &self.0 {
            Kind::Dir(dir) => {
                let outcome = load_dir(dir, environment);
                let revision = outcome.revision();
                Ok(Loaded {
                    outcome,
                    revision,
                    commit: None,
                })
            }
            Kind::Git { latest, git } => {
                let (snapshot, error) = {
                    let latest = latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    (latest.snapshot.clone(), latest.error.clone())
                };
                let Some(snapshot) = snapshot else {
                    anyhow::bail!(
                        "nothing fetched yet: {}",
                        error.unwrap_or_else(|| "the first fetch has not finished".into())
                    );
                };
                // A pin is looked up in the history every time, the branch's
                // head included, so that an ambiguous prefix is refused.
                let snapshot = match pinned {
                    Some(revision) => Arc::new(git.snapshot_at(revision)?),
                    None => snapshot,
                };
                let mut outcome = load_tree(&snapshot.tree, environment);
                let revision = snapshot.revision();
                // The commit, not a digest, is what a person can look up.
                if let Some(state) = outcome.state.as_mut() {
                    state.revision = revision.clone();
                }
                Ok(Loaded {
                    outcome,
                    revision,
                    commit: Some(snapshot.commit.clone()),
                })
            }
        }
    }
}

/// The git source's fetch loop.
struct Poller {
    git: GitSource,
    interval: Duration,
    latest: Arc<Mutex<Latest>>,
    changes: mpsc::Sender<()>,
    shared: Shared,
    metrics: Arc<Metrics>,
    fetch_now: Arc<Notify>,
}

impl Poller {
    /// Fetch every `interval` (with jitter), and at once when `fetch_now` is
    /// notified; signal a change when the branch moved. A failed fetch keeps
    /// the last snapshot and is reported.
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let Poller {
            git,
            interval,
            latest,
            changes,
            shared,
            metrics,
            fetch_now,
        } = self;
        let mut failures = 0u32;
        let mut trigger = "interval";
        loop {
            let fetching = git.clone();
            // Set at the deadline or on shutdown: gix checks it while it
            // receives, and this task stops waiting for the thread either way.
            let interrupt = Arc::new(AtomicBool::new(false));
            let flag = interrupt.clone();
            let mut fetch = tokio::task::spawn_blocking(move || fetching.fetch(&flag));
            let fetched = tokio::select! {
                r = &mut fetch => r,
                () = async { let _ = stop.wait_for(|s| *s).await; } => {
                    interrupt.store(true, Ordering::Relaxed);
                    return;
                }
                () = tokio::time::sleep(git::FETCH_DEADLINE) => {
                    interrupt.store(true, Ordering::Relaxed);
                    // Give gix a moment to notice, then stop waiting.
                    match tokio::time::timeout(Duration::from_secs(5), &mut fetch).await {
                        Ok(r) => r,
                        Err(_) => Ok(Err(anyhow::anyhow!(
                            "the fetch of {} took longer than {}s and was abandoned: check the network and the server",
                            git.describe(),
                            git::FETCH_DEADLINE.as_secs()
                        ))),
                    }
                }
            };
            metrics.git_fetch(trigger, matches!(fetched, Ok(Ok(_))));
            let wait = match fetched {
                Ok(Ok(snapshot)) => {
                    failures = 0;
                    let moved = {
                        let mut latest = latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        latest.error = None;
                        let moved = latest.snapshot.as_ref().is_none_or(|s| s.commit != snapshot.commit);
                        if moved {
                            tracing::info!(commit = %snapshot.commit, files = snapshot.tree.len(), "fetched a new commit");
                            latest.snapshot = Some(Arc::new(snapshot));
                        }
                        moved
                    };
                    shared.update(|s| s.source_error = None);
                    if moved {
                        let _ = changes.try_send(());
                    }
                    super::jitter(interval)
                }
                Ok(Err(e)) => {
                    failures += 1;
                    let message = format!("{e:#}");
                    tracing::warn!(error = %message, "git fetch failed; keeping the last commit fetched");
                    latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner).error = Some(message.clone());
                    shared.update(|s| s.source_error = Some(message));
                    super::backoff(failures).min(interval)
                }
                Err(join) => {
                    tracing::error!(error = %join, "the git fetch task ended abnormally");
                    super::jitter(interval)
                }
            };
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(wait) => trigger = "interval",
                // A webhook's push: fetch now (a notification that came during
                // the fetch is kept, so that push is fetched too).
                () = fetch_now.notified() => trigger = "webhook",
            }
        }
    }
}
