//! What the controller knows about itself, served as `/status`. Sync
//! status and health status are separate: the swarm can match the desired
//! state while a service is failing, and the other way round.

use std::sync::{Arc, RwLock};

use serde::Serialize;
use swarmkeeper_plan::plan::Summary;

use swarmkeeper_plan::ErrorKind;

use super::policy::Requeue;
use crate::cycle::Converged;

// The words are the compact status's in SSM too (`status --cluster`).
pub use swarmkeeper_plan::cluster_status::{HealthStatus, SyncStatus};

#[derive(Debug, Clone, Serialize, Default)]
pub struct LastCycle {
    pub trigger: String,
    pub at_unix: u64,
    pub planned: Summary,
    pub applied: [usize; 3],
    pub failures: Vec<String>,
    pub remaining: usize,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Status {
    /// Where the desired state comes from (a directory, or `url#branch`).
    pub source: Option<String>,
    /// The last failure to read the source (a git fetch), if the last
    /// attempt failed; the last good commit is still reconciled.
    pub source_error: Option<String>,
    /// The revision (git: the commit) of the desired state as last read (valid or not).
    pub desired_revision: Option<String>,
    /// The revision of the last valid state, the one being reconciled.
    pub applied_revision: Option<String>,
    pub sync_status: SyncStatus,
    pub health_status: HealthStatus,
    /// Managed services short of running tasks.
    pub unhealthy_services: Vec<String>,
    /// Errors of the desired state as last read (empty when valid).
    pub validation_errors: Vec<String>,
    pub last_cycle: Option<LastCycle>,
    pub last_error: Option<String>,
    /// The kind of `last_error`: `transient`, `not_found` and `unknown`
    /// are retried with backoff; `conflict`, `permission` and `invalid`
    /// wait for a change (see `next_retry`).
    pub last_error_kind: Option<ErrorKind>,
    pub consecutive_failures: u32,
    pub next_retry_ms: Option<u64>,
    /// `backoff`, or `await_change` (a new revision, a node event, or the
    /// resync, which observes again).
    pub next_retry: Option<&'static str>,
    pub cycles: u64,
    /// This replica's name in the lease.
    pub identity: Option<String>,
    /// Whether this replica holds the lease (only the holder acts).
    pub lease_held: bool,
    /// Managers, quorum, node problems and drains in progress (with a
    /// cluster declared).
    pub nodes: Option<swarmkeeper_plan::nodes::NodeReport>,
    /// What `swarmkeeper suspend` suspended, as the swarm records it
    /// (absent when nothing is); `last_cycle.planned.held` counts the
    /// changes found and held back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspended: Option<swarmkeeper_plan::control::Suspension>,
    /// The revision `swarmkeeper pin` holds the controller on, whatever
    /// the branch says (absent when it follows the branch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<swarmkeeper_plan::control::Pin>,
    /// The last delivery `POST /hooks/git` received (absent without a
    /// webhook, or before the first): what to look at when a forge says
    /// its deliveries fail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_webhook: Option<WebhookDelivery>,
    /// The scheduled prune (`maintenance.system_prune`; absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<MaintenanceStatus>,
    /// What the last cycle saw, for the dashboard (not in `/status`: the
    /// page shows it).
    #[serde(skip)]
    pub dashboard: Option<std::sync::Arc<crate::dashboard::Snapshot>>,
    /// The last cycles, newest last (at most [`RECENT_CYCLES`]), for the
    /// dashboard.
    #[serde(skip)]
    pub recent_cycles: Vec<RecentCycle>,
}

/// Cycles the dashboard lists.
pub const RECENT_CYCLES: usize = 10;

/// One cycle, as the dashboard lists it.
#[derive(Debug, Clone)]
pub struct RecentCycle {
    pub at_unix: u64,
    pub trigger: String,
    /// Added, changed, removed.
    pub applied: [usize; 3],
    /// The error, when it failed.
    pub error: Option<String>,
}

/// Where the scheduled prune stands.
#[derive(Debug, Clone, Serialize, Default)]
pub struct MaintenanceStatus {
    /// `scheduled`, `running`, `deferred` (node work in progress), `failed`.
    pub state: &'static str,
    /// The next window (unix seconds), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run_unix: Option<u64>,
    /// Why it is deferred or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The last run: per node, what it reclaimed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<swarmkeeper_plan::maintenance::PruneRun>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WebhookDelivery {
    pub at_unix: u64,
    /// `github`, `gitlab`, `gitea`, `forgejo`, `generic`, or `unknown`
    /// (not authentic, so not known).
    pub provider: String,
    /// `fetch`, `ignored`, `unauthenticated`, `bad_request`, `too_large`.
    pub outcome: String,
    /// The HTTP status answered.
    pub status: u16,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Status {
    pub fn validated(&mut self, revision: &str) {
        self.desired_revision = Some(revision.to_owned());
        self.applied_revision = Some(revision.to_owned());
        self.validation_errors.clear();
    }

    pub fn invalid(&mut self, revision: &str, errors: Vec<String>) {
        self.desired_revision = Some(revision.to_owned());
        self.validation_errors = errors;
        self.sync_status = SyncStatus::OutOfSync;
    }

    pub fn cycled(&mut self, trigger: &str, planned: Summary, done: &Converged, unhealthy: Vec<String>) {
        self.cycles += 1;
        let in_sync = done.failures.is_empty() && done.remaining == 0 && !done.cancelled;
        // Suspended: everything is, or what is left to do is held back.
        let suspended = self.suspended.as_ref().is_some_and(|s| s.all.is_some()) || planned.held > 0;
        self.sync_status = match (in_sync && self.validation_errors.is_empty(), suspended) {
            (true, true) => SyncStatus::Suspended,
            (true, false) => SyncStatus::Synced,
            (false, _) => SyncStatus::OutOfSync,
        };
        self.health_status = if unhealthy.is_empty() {
            HealthStatus::Healthy
        } else {
            HealthStatus::Degraded
        };
        self.unhealthy_services = unhealthy;
        if done.failures.is_empty() {
            self.last_error = None;
            self.last_error_kind = None;
            self.consecutive_failures = 0;
            self.next_retry_ms = None;
            self.next_retry = None;
        }
        self.remember(RecentCycle {
            at_unix: now(),
            trigger: trigger.to_owned(),
            applied: done.totals,
            error: (!done.failures.is_empty()).then(|| {
                done.failures
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
        });
        self.last_cycle = Some(LastCycle {
            trigger: trigger.to_owned(),
            at_unix: now(),
            planned,
            applied: done.totals,
            failures: done.failures.iter().map(ToString::to_string).collect(),
            remaining: done.remaining,
        });
    }

    /// Node work still in progress keeps the state out of sync, and so
    /// does a lost quorum.
    pub fn nodes_changed(&mut self, nodes: Option<swarmkeeper_plan::nodes::NodeReport>) {
        if nodes.as_ref().is_some_and(|n| !n.quorum.ok || !n.progress.is_empty()) {
            self.sync_status = SyncStatus::OutOfSync;
        }
        if nodes.as_ref().is_some_and(|n| !n.quorum.ok) {
            self.health_status = HealthStatus::Degraded;
        }
        self.nodes = nodes;
    }

    pub fn webhook_delivery(&mut self, provider: &str, outcome: &str, status: u16) {
        self.last_webhook = Some(WebhookDelivery {
            at_unix: now(),
            provider: provider.to_owned(),
            outcome: outcome.to_owned(),
            status,
        });
    }

    fn remember(&mut self, cycle: RecentCycle) {
        self.recent_cycles.push(cycle);
        let over = self.recent_cycles.len().saturating_sub(RECENT_CYCLES);
        self.recent_cycles.drain(..over);
    }

    pub fn cycle_failed(&mut self, trigger: &str, error: &str, kind: ErrorKind, failures: u32, next: &Requeue) {
        self.cycles += 1;
        self.remember(RecentCycle {
            at_unix: now(),
            trigger: trigger.to_owned(),
            applied: [0; 3],
            error: Some(error.to_owned()),
        });
        self.sync_status = SyncStatus::OutOfSync;
        self.last_error = Some(error.to_owned());
        self.last_error_kind = Some(kind);
        self.consecutive_failures = failures;
        self.next_retry_ms = Some(next.wait().as_millis() as u64);
        self.next_retry = Some(next.label());
    }
}

/// The status, shared between the loop and the HTTP handlers.
#[derive(Debug, Clone, Default)]
pub struct Shared(Arc<RwLock<Status>>);

impl Shared {
    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        if let Ok(mut s) = self.0.write() {
            f(&mut s);
        }
    }

    pub fn get(&self) -> Status {
        self.0.read().map(|s| s.clone()).unwrap_or_default()
    }
}
