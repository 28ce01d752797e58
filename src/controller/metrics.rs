//! Prometheus metrics (text format at `/metrics`), and the rules of what
//! they say.
//!
//! A metric exists only once its value is known: the managers and the
//! quorum once the swarm's nodes were observed (with or without a declared
//! cluster: a stacks-only controller watches the quorum of the swarm it
//! runs on just as well), the cluster-only ones (`nodes_replaced`) while a
//! cluster is declared, the desired state's validity once it was loaded.
//! Counters of things that happen (cycles, actions, drift) exist from the
//! start: zero is what is known of them. docs/reference.md lists them all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use prometheus_client::metrics::gauge::Gauge;
use swarmkeeper_plan::nodes::Quorum;

use crate::apply::StepOutcome;

/// What is known of the quorum when the managers answer no read ("does
/// not have a leader"): lost, with at most a minority reachable out of the
/// managers last seen (how many exactly is not known).
pub fn lost_quorum(last_seen: Option<Quorum>) -> Quorum {
    let managers = last_seen.map_or(0, |q| q.managers);
    let reachable = last_seen.map_or(0, |q| q.reachable.min(managers / 2));
    Quorum {
        managers,
        reachable,
        ok: false,
    }
}

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
struct ServiceLabels {
    service: String,
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
struct NodeLabels {
    node: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    provider: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FetchLabels {
    trigger: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevisionLabels {
    revision: String,
}

/// Metrics registered once known, after the others.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Late {
    Managers,
    Quorum,
    Valid,
    NodesReplaced,
    Controls,
    Fetches,
    Webhook,
    Prune,
}

pub struct Metrics {
    /// Behind a lock: metrics known only later are registered then.
    registry: Mutex<Registry>,
    registered: Mutex<Vec<Late>>,
    cycles: Family<CycleLabels, Counter>,
    cycle_seconds: Histogram,
    plan_seconds: Histogram,
    actions: Family<ActionLabels, Counter>,
    calls: Family<CallLabels, Counter>,
    drift: Counter,
    /// Services rolled because a tag they follow moved.
    followed: Family<ServiceLabels, Counter>,
    invalid: Counter,
    lease: prometheus_client::metrics::gauge::Gauge,
    /// One series at 1: the revision (git: commit) of the last valid state.
    applied_revision: Family<RevisionLabels, prometheus_client::metrics::gauge::Gauge>,
    managers: Family<ManagerLabels, Gauge>,
    quorum: Gauge,
    /// The quorum last observed (for what a lost one still knows).
    last_quorum: Mutex<Option<Quorum>>,
    /// 1 while the last load found the desired state valid.
    valid: Gauge,
    /// Cycles failed in a row (0 after one that succeeded).
    failing: Gauge,
    /// Nodes whose instance was terminated for the group to launch a new
    /// one: replaced after failing, or rolled to a new type or image.
    nodes_replaced: Counter,
    /// The nodes replaced since the controller last asked (for the
    /// notifications).
    replaced_names: Arc<Mutex<Vec<swarmkeeper_plan::notify::Replacement>>>,
    /// 1 while the whole controller is suspended (`swarmkeeper suspend`).
    suspended: Gauge,
    /// Stacks suspended one by one (`suspend --stack`).
    suspended_stacks: Gauge,
    /// Changes found and held back by a suspension at the last cycle.
    held_changes: Gauge,
    /// 1 while `swarmkeeper pin` holds the controller on a revision.
    pinned: Gauge,
    /// Git fetches, by what started them and how they ended.
    fetches: Family<FetchLabels, Counter>,
    /// Deliveries to `POST /hooks/git`, by forge and outcome.
    webhook: Family<WebhookLabels, Counter>,
    /// Bytes the last scheduled prune reclaimed, by node.
    prune_reclaimed: Family<NodeLabels, Gauge>,
    /// Scheduled prunes, by outcome.
    prune_runs: Family<OutcomeLabels, Counter>,
    /// Whether AWS calls are made (their series exist then).
    aws: AtomicBool,
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
        let followed = Family::<ServiceLabels, Counter>::default();
        let invalid = Counter::default();
        let lease = prometheus_client::metrics::gauge::Gauge::default();
        let applied_revision = Family::<RevisionLabels, prometheus_client::metrics::gauge::Gauge>::default();
        let managers = Family::<ManagerLabels, Gauge>::default();
        let quorum = Gauge::default();
        let failing = Gauge::default();
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
            "followed_image_updates",
            "Plans that roll a service because a tag it follows (x-swarmkeeper-image: {follow: true}) moved, by service",
            followed.clone(),
        );
        registry.register(
            "invalid_desired_states",
            "Loads that found the desired state invalid (one per cycle while it stays so; the last good one is reconciled)",
            invalid.clone(),
        );
        registry.register(
            "failing_cycles",
            "Cycles that failed in a row; 0 once one succeeds (or while this replica does not hold the lease)",
            failing.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            registered: Mutex::new(Vec::new()),
            cycles,
            cycle_seconds,
            plan_seconds,
            actions,
            calls,
            drift,
            followed,
            invalid,
            lease,
            applied_revision,
            managers,
            quorum,
            last_quorum: Mutex::new(None),
            valid: Gauge::default(),
            failing,
            nodes_replaced: Counter::default(),
            replaced_names: Arc::default(),
            suspended: Gauge::default(),
            suspended_stacks: Gauge::default(),
            held_changes: Gauge::default(),
            pinned: Gauge::default(),
            fetches: Family::default(),
            webhook: Family::default(),
            prune_reclaimed: Family::default(),
            prune_runs: Family::default(),
            aws: AtomicBool::new(false),
            seen_calls: Mutex::new([0; 4]),
        }
    }

    /// Register `which` the first time its value is known.
    fn known(&self, which: Late) {
        let (Ok(mut registered), Ok(mut registry)) = (self.registered.lock(), self.registry.lock()) else {
            return;
        };
        if registered.contains(&which) {
            return;
        }
        registered.push(which);
        match which {
            Late::Managers => registry.register(
                "managers",
                "Swarm managers by reachability, as observed (with or without a declared cluster)",
                self.managers.clone(),
            ),
            Late::Quorum => registry.register(
                "manager_quorum",
                "1 while a majority of the swarm's managers is reachable; 0: quorum is lost, no node action is taken",
                self.quorum.clone(),
            ),
            Late::Valid => registry.register(
                "desired_state_valid",
                "1 when the desired state last loaded is valid; 0: it is not, and the last good one is reconciled",
                self.valid.clone(),
            ),
            Late::NodesReplaced => registry.register(
                "nodes_replaced",
                "Nodes whose instance was terminated for its group to launch a new one (failed, or rolled to a new type or image)",
                self.nodes_replaced.clone(),
            ),
            Late::Fetches => registry.register(
                "git_fetches",
                "Fetches of the git source, by trigger (interval, webhook) and outcome (ok, error)",
                self.fetches.clone(),
            ),
            Late::Webhook => registry.register(
                "webhook_requests",
                "Deliveries to POST /hooks/git, by forge and outcome (fetch, ignored, unauthenticated, bad_request, too_large, rate_limited)",
                self.webhook.clone(),
            ),
            Late::Prune => {
                registry.register(
                    "prune_reclaimed_bytes",
                    "Bytes the last scheduled prune (maintenance.system_prune) reclaimed, by node",
                    self.prune_reclaimed.clone(),
                );
                registry.register(
                    "prune_runs",
                    "Scheduled prunes, by outcome (ok; partial: some node failed or a part of its prune did; failed: none ran)",
                    self.prune_runs.clone(),
                );
            }
            Late::Controls => {
                registry.register(
                    "suspended",
                    "1 while the controller is suspended (swarmkeeper suspend): it observes and reports, and applies nothing",
                    self.suspended.clone(),
                );
                registry.register(
                    "suspended_stacks",
                    "Stacks suspended one by one (swarmkeeper suspend --stack): their changes are held",
                    self.suspended_stacks.clone(),
                );
                registry.register(
                    "pinned",
                    "1 while the controller is pinned to a revision (swarmkeeper pin) and does not follow its branch",
                    self.pinned.clone(),
                );
                registry.register(
                    "held_changes",
                    "Changes the last cycle found and held back because of a suspension",
                    self.held_changes.clone(),
                );
            }
        }
    }

    pub fn cycle(&self, trigger: &str, ok: bool, took: Duration) {
        if ok {
            self.failing.set(0);
        } else {
            self.failing.inc();
        }
        self.cycles
            .get_or_create(&CycleLabels {
                trigger: trigger.to_owned(),
                outcome: if ok { "ok" } else { "error" }.to_owned(),
            })
            .inc();
        self.cycle_seconds.observe(took.as_secs_f64());
    }

    /// Show the prune's series (a prune is scheduled).
    pub fn prune_scheduled(&self) {
        self.known(Late::Prune);
    }

    /// A scheduled prune ended (`run: None`: it could not run at all).
    pub fn prune(&self, run: Option<&swarmkeeper_plan::maintenance::PruneRun>) {
        self.known(Late::Prune);
        let outcome = match run {
            None => "failed",
            Some(r) if r.failed.is_empty() && r.nodes.iter().all(|n| n.errors.is_empty()) => "ok",
            Some(_) => "partial",
        };
        self.prune_runs
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
        if let Some(run) = run {
            self.prune_reclaimed.clear();
            for node in &run.nodes {
                self.prune_reclaimed
                    .get_or_create(&NodeLabels {
                        node: node.node.clone(),
                    })
                    .set(i64::try_from(node.reclaimed_bytes).unwrap_or(i64::MAX));
            }
        }
    }

    /// A fetch of the git source ended.
    pub fn git_fetch(&self, trigger: &str, ok: bool) {
        self.known(Late::Fetches);
        self.fetches
            .get_or_create(&FetchLabels {
                trigger: trigger.to_owned(),
                outcome: if ok { "ok" } else { "error" }.to_owned(),
            })
            .inc();
    }

    /// Show the webhook's series from the start (a receiver is configured).
    pub fn webhook_enabled(&self) {
        self.known(Late::Webhook);
    }

    /// A webhook delivery was answered.
    pub fn webhook(&self, provider: &str, outcome: &str) {
        self.known(Late::Webhook);
        self.webhook
            .get_or_create(&WebhookLabels {
                provider: provider.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn plan_duration(&self, took: Duration) {
        self.plan_seconds.observe(took.as_secs_f64());
    }

    pub fn drift(&self) {
        self.drift.inc();
    }

    /// A service rolls because the tag it follows moved.
    pub fn followed_image_update(&self, service: &str) {
        self.followed
            .get_or_create(&ServiceLabels {
                service: service.to_owned(),
            })
            .inc();
    }

    pub fn lease(&self, held: bool) {
        self.lease.set(i64::from(held));
        if !held {
            // A replica that does not act is not failing to.
            self.failing.set(0);
        }
    }

    /// Whether the controls a cycle read pin a revision.
    pub fn pinned(&self, pinned: bool) {
        self.known(Late::Controls);
        self.pinned.set(i64::from(pinned));
    }

    /// The suspension a cycle read from the swarm, and what it held back.
    pub fn suspension(&self, suspension: &swarmkeeper_plan::control::Suspension, held: usize) {
        self.known(Late::Controls);
        self.suspended.set(i64::from(suspension.all.is_some()));
        self.suspended_stacks
            .set(i64::try_from(suspension.stacks.len()).unwrap_or(i64::MAX));
        self.held_changes.set(i64::try_from(held).unwrap_or(i64::MAX));
    }

    /// Whether the desired state declares a cluster: the cluster-only
    /// metrics exist from then on.
    pub fn cluster(&self, declared: bool) {
        if declared {
            self.known(Late::NodesReplaced);
        }
    }

    /// The swarm's managers as a cycle observed them.
    pub fn managers(&self, quorum: Quorum) {
        if let Ok(mut last) = self.last_quorum.lock() {
            *last = Some(quorum);
        }
        self.set_quorum(quorum);
    }

    /// The managers answered no read: quorum is lost.
    pub fn quorum_lost(&self) {
        let last = self.last_quorum.lock().ok().and_then(|q| *q);
        self.set_quorum(lost_quorum(last));
    }

    fn set_quorum(&self, q: Quorum) {
        self.quorum.set(i64::from(q.ok));
        self.known(Late::Quorum);
        // Without a manager count (quorum lost before any was observed)
        // the managers are not known.
        if q.managers > 0 {
            for (state, n) in [("reachable", q.reachable), ("unreachable", q.managers - q.reachable)] {
                self.managers
                    .get_or_create(&ManagerLabels {
                        state: state.to_owned(),
                    })
                    .set(n as i64);
            }
            self.known(Late::Managers);
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
        self.valid.set(1);
        self.known(Late::Valid);
    }

    pub fn invalid(&self) {
        self.invalid.inc();
        self.valid.set(0);
        self.known(Late::Valid);
    }

    /// The nodes replaced since the last call.
    pub fn take_replaced(&self) -> Vec<swarmkeeper_plan::notify::Replacement> {
        self.replaced_names
            .lock()
            .map(|mut names| std::mem::take(&mut *names))
            .unwrap_or_default()
    }

    /// A progress callback for the executor that counts actions.
    pub fn progress(&self) -> crate::apply::Progress {
        let actions = self.actions.clone();
        let replaced = self.nodes_replaced.clone();
        let names = self.replaced_names.clone();
        Arc::new(move |step, outcome| {
            if let (
                swarmkeeper_plan::Action::Aws {
                    aws: swarmkeeper_plan::aws::AwsAction::TerminateInstance { decrement: false, .. },
                },
                StepOutcome::Done { .. },
            ) = (&step.action, outcome)
            {
                replaced.inc();
                if let Ok(mut names) = names.lock() {
                    names.push(swarmkeeper_plan::notify::Replacement {
                        instance: step.action.name(),
                        why: step.reason.clone(),
                    });
                }
            }
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
        // AWS series exist once AWS is connected (a stacks-only controller
        // makes no AWS call at all).
        let aws_known = self.aws.fetch_or(aws.is_some(), Ordering::Relaxed) || aws.is_some();
        let Ok(mut seen) = self.seen_calls.lock() else { return };
        for (i, (provider, access)) in [("swarm", "read"), ("swarm", "write"), ("aws", "read"), ("aws", "write")]
            .into_iter()
            .enumerate()
        {
            if provider == "aws" && !aws_known {
                continue;
            }
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
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swarmkeeper_plan::node_types::{NodeAvailability, NodeRole, NodeState};
    use swarmkeeper_plan::nodes::quorum::quorum_of;
    use swarmkeeper_plan::observed::ObservedNode;

    fn node(role: NodeRole, reachable: bool) -> ObservedNode {
        ObservedNode {
            id: String::new(),
            hostname: String::new(),
            role,
            availability: NodeAvailability::Active,
            state: NodeState::Ready,
            addr: String::new(),
            manager_addr: None,
            reachable,
            labels: Default::default(),
            engine_labels: Default::default(),
            updated_unix: None,
            leader: false,
        }
    }

    fn manager(reachable: bool) -> ObservedNode {
        node(NodeRole::Manager, reachable)
    }

    /// `name value` lines of the exposition, comments left out.
    fn samples(metrics: &Metrics) -> Vec<String> {
        metrics
            .encode()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    }

    fn has(metrics: &Metrics, name: &str) -> bool {
        samples(metrics)
            .iter()
            .any(|l| l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{")))
    }

    #[test]
    fn a_lost_quorum_keeps_the_managers_last_seen_with_at_most_a_minority_reachable() {
        let seen = Quorum {
            managers: 3,
            reachable: 3,
            ok: true,
        };
        let lost = lost_quorum(Some(seen));
        assert_eq!((lost.managers, lost.reachable, lost.ok), (3, 1, false));
        let unknown = lost_quorum(None);
        assert_eq!((unknown.managers, unknown.reachable, unknown.ok), (0, 0, false));
    }

    #[test]
    fn node_and_quorum_metrics_exist_only_once_known() {
        let metrics = Metrics::new();
        for name in [
            "swarmkeeper_manager_quorum",
            "swarmkeeper_managers",
            "swarmkeeper_nodes_replaced_total",
            "swarmkeeper_desired_state_valid",
        ] {
            assert!(!has(&metrics, name), "{name} before it is known:\n{}", metrics.encode());
        }
        // What happens is counted from the start: zero is known.
        assert!(has(&metrics, "swarmkeeper_drift_detected_total"));
        assert!(has(&metrics, "swarmkeeper_failing_cycles"));

        // A stacks-only controller on a healthy single-manager swarm.
        metrics.cluster(false);
        metrics.managers(quorum_of(&[manager(true)]));
        let s = samples(&metrics);
        assert!(s.contains(&"swarmkeeper_manager_quorum 1".to_owned()), "{s:#?}");
        assert!(
            s.contains(&"swarmkeeper_managers{state=\"reachable\"} 1".to_owned()),
            "{s:#?}"
        );
        assert!(
            s.contains(&"swarmkeeper_managers{state=\"unreachable\"} 0".to_owned()),
            "{s:#?}"
        );
        assert!(!has(&metrics, "swarmkeeper_nodes_replaced_total"), "{s:#?}");

        // A cluster declared: its metrics appear.
        metrics.cluster(true);
        assert!(samples(&metrics).contains(&"swarmkeeper_nodes_replaced_total 0".to_owned()));
    }

    #[test]
    fn quorum_lost_before_any_observation_says_only_that() {
        let metrics = Metrics::new();
        metrics.quorum_lost();
        assert!(samples(&metrics).contains(&"swarmkeeper_manager_quorum 0".to_owned()));
        assert!(!has(&metrics, "swarmkeeper_managers"), "{}", metrics.encode());

        let metrics = Metrics::new();
        metrics.managers(quorum_of(&[manager(true), manager(true), manager(true)]));
        metrics.quorum_lost();
        let s = samples(&metrics);
        assert!(s.contains(&"swarmkeeper_manager_quorum 0".to_owned()), "{s:#?}");
        assert!(
            s.contains(&"swarmkeeper_managers{state=\"reachable\"} 1".to_owned()),
            "{s:#?}"
        );
        assert!(
            s.contains(&"swarmkeeper_managers{state=\"unreachable\"} 2".to_owned()),
            "{s:#?}"
        );
    }

    #[test]
    fn failing_cycles_count_in_a_row_and_reset() {
        let metrics = Metrics::new();
        let failing = |m: &Metrics| {
            samples(m)
                .into_iter()
                .find_map(|l| l.strip_prefix("swarmkeeper_failing_cycles ").map(str::to_owned))
        };
        metrics.cycle("start", false, Duration::ZERO);
        metrics.cycle("retry", false, Duration::ZERO);
        assert_eq!(failing(&metrics).as_deref(), Some("2"));
        metrics.cycle("retry", true, Duration::ZERO);
        assert_eq!(failing(&metrics).as_deref(), Some("0"));
        metrics.cycle("retry", false, Duration::ZERO);
        metrics.lease(false);
        assert_eq!(failing(&metrics).as_deref(), Some("0"));
    }

    #[test]
    fn validity_follows_the_last_load_and_aws_calls_exist_with_aws() {
        let metrics = Metrics::new();
        metrics.applied_revision("abc");
        assert!(samples(&metrics).contains(&"swarmkeeper_desired_state_valid 1".to_owned()));
        metrics.invalid();
        assert!(samples(&metrics).contains(&"swarmkeeper_desired_state_valid 0".to_owned()));

        let swarm = swarmkeeper_swarm::CallCounts {
            reads: 3,
            writes: 1,
            ..Default::default()
        };
        metrics.calls(&swarm, None);
        let s = samples(&metrics);
        assert!(
            s.contains(&"swarmkeeper_api_calls_total{provider=\"swarm\",access=\"read\"} 3".to_owned()),
            "{s:#?}"
        );
        assert!(!s.iter().any(|l| l.contains("provider=\"aws\"")), "{s:#?}");
        let aws = swarmkeeper_aws::CallCounts {
            reads: 2,
            writes: 0,
            ..Default::default()
        };
        metrics.calls(&swarm, Some(&aws));
        let s = samples(&metrics);
        assert!(
            s.contains(&"swarmkeeper_api_calls_total{provider=\"aws\",access=\"read\"} 2".to_owned()),
            "{s:#?}"
        );
        assert!(
            s.contains(&"swarmkeeper_api_calls_total{provider=\"swarm\",access=\"read\"} 3".to_owned()),
            "{s:#?}"
        );
    }
}
