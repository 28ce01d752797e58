//! Prometheus metrics (text format at `/metrics`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::apply::StepOutcome;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CycleLabels {
    trigger: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    provider: String,
    access: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ManagerLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevisionLabels {
    revision: String,
}

pub struct Metrics {
    registry: Registry,
    cycles: Family<CycleLabels, Counter>,
    cycle_seconds: Histogram,
    plan_seconds: Histogram,
    actions: Family<ActionLabels, Counter>,
    calls: Family<CallLabels, Counter>,
    drift: Counter,
    invalid: Counter,
    lease: prometheus_client::metrics::gauge::Gauge,
    /// One series at 1: the revision (git: commit) of the last valid state.
    applied_revision: Family<RevisionLabels, prometheus_client::metrics::gauge::Gauge>,
    managers: Family<ManagerLabels, prometheus_client::metrics::gauge::Gauge>,
    quorum: prometheus_client::metrics::gauge::Gauge,
    /// Call totals already counted (the providers report cumulative ones).
    seen_calls: Mutex<[u64; 4]>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("swarmkeeper");
        let cycles = Family::<CycleLabels, Counter>::default();
        let cycle_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        let plan_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        let actions = Family::<ActionLabels, Counter>::default();
        let calls = Family::<CallLabels, Counter>::default();
        let drift = Counter::default();
        let invalid = Counter::default();
        let lease = prometheus_client::metrics::gauge::Gauge::default();
        let applied_revision = Family::<RevisionLabels, prometheus_client::metrics::gauge::Gauge>::default();
        let managers = Family::<ManagerLabels, prometheus_client::metrics::gauge::Gauge>::default();
        let quorum = prometheus_client::metrics::gauge::Gauge::default();
        registry.register(
            "managers",
            "Swarm managers by reachability (with a cluster declared)",
            managers.clone(),
        );
        registry.register(
            "manager_quorum",
            "1 while a majority of managers is reachable; 0 means quorum is lost and no node action is taken",
            quorum.clone(),
        );
        registry.register(
            "applied_revision",
            "1 for the revision (git: the commit) of the desired state being reconciled",
            applied_revision.clone(),
        );
        registry.register(
            "lease_held",
            "1 when this replica holds the lease and acts",
            lease.clone(),
        );
        registry.register("cycles", "Reconcile cycles, by trigger and outcome", cycles.clone());
        registry.register("cycle_duration_seconds", "Time a cycle took", cycle_seconds.clone());
        registry.register(
            "plan_duration_seconds",
            "Time to observe and plan",
            plan_seconds.clone(),
        );
        registry.register("actions", "Plan actions executed, by kind and outcome", actions.clone());
        registry.register("api_calls", "API calls, by provider and read or write", calls.clone());
        registry.register("drift_detected", "Resyncs that found changes to make", drift.clone());
        registry.register(
            "invalid_desired_states",
            "Loads of an invalid desired state",
            invalid.clone(),
        );
        Self {
            registry,
            cycles,
            cycle_seconds,
            plan_seconds,
            actions,
            calls,
            drift,
            invalid,
            lease,
            applied_revision,
            managers,
            quorum,
            seen_calls: Mutex::new([0; 4]),
        }
    }

    pub fn cycle(&self, trigger: &str, ok: bool, took: Duration) {
        self.cycles
            .get_or_create(&CycleLabels {
                trigger: trigger.to_owned(),
                outcome: if ok { "ok" } else { "error" }.to_owned(),
            })
            .inc();
        self.cycle_seconds.observe(took.as_secs_f64());
    }

    pub fn plan_duration(&self, took: Duration) {
        self.plan_seconds.observe(took.as_secs_f64());
    }

    pub fn drift(&self) {
        self.drift.inc();
    }

    pub fn lease(&self, held: bool) {
        self.lease.set(i64::from(held));
    }

    /// Managers by reachability and whether they have quorum.
    pub fn nodes(&self, report: &swarmkeeper_plan::nodes::NodeReport) {
        let q = report.quorum;
        self.quorum.set(i64::from(q.ok));
        for (state, n) in [("reachable", q.reachable), ("unreachable", q.managers - q.reachable)] {
            self.managers
                .get_or_create(&ManagerLabels {
                    state: state.to_owned(),
                })
                .set(n as i64);
        }
    }

    /// Record the revision being reconciled; the previous one's series goes.
    pub fn applied_revision(&self, revision: &str) {
        let labels = RevisionLabels {
            revision: revision.to_owned(),
        };
        if self.applied_revision.get(&labels).is_none() {
            self.applied_revision.clear();
            self.applied_revision.get_or_create(&labels).set(1);
        }
    }

    pub fn invalid(&self) {
        self.invalid.inc();
    }

    /// A progress callback for the executor that counts actions.
    pub fn progress(&self) -> crate::apply::Progress {
        let actions = self.actions.clone();
        Arc::new(move |step, outcome| {
            let outcome = match outcome {
                StepOutcome::Done { .. } => "done",
                StepOutcome::Failed { .. } => "failed",
                StepOutcome::Skipped { .. } => "skipped",
                StepOutcome::Cancelled => "cancelled",
            };
            if outcome == "failed" {
                tracing::warn!(kind = step.action.kind(), name = %step.action.name(), "action failed");
            }
            actions
                .get_or_create(&ActionLabels {
                    kind: step.action.kind().to_owned(),
                    outcome: outcome.to_owned(),
                })
                .inc();
        })
    }

    /// Add the calls made since the last report.
    pub fn calls(&self, swarm: &swarmkeeper_swarm::CallCounts, aws: Option<&swarmkeeper_aws::CallCounts>) {
        let now = [
            swarm.reads,
            swarm.writes,
            aws.map_or(0, |a| a.reads),
            aws.map_or(0, |a| a.writes),
        ];
        let Ok(mut seen) = self.seen_calls.lock() else { return };
        for (i, (provider, access)) in [("swarm", "read"), ("swarm", "write"), ("aws", "read"), ("aws", "write")]
            .into_iter()
            .enumerate()
        {
            let delta = now[i].saturating_sub(seen[i]);
            self.calls
                .get_or_create(&CallLabels {
                    provider: provider.to_owned(),
                    access: access.to_owned(),
                })
                .inc_by(delta);
        }
        *seen = now;
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
