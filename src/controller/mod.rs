//! `swarmkeeper run`: the long-running controller.
//!
//! One loop decides when to reconcile — on a change of the
//! [`source`] (a watched directory, or a git branch fetched on an interval), on a periodic resync with jitter that catches drift and missed
//! events, and on a retry after a failure (exponential backoff with jitter,
//! reset on success) — and each reconcile is a [`cycle`](crate::cycle):
//! load and validate (an invalid state is reported and the last good one
//! kept), observe, plan, apply. When the next one runs is decided by one
//! function, [`policy::policy`], from how the cycle ended: the kind of its
//! errors picks a backoff or a wait for a change. Status and metrics are served read-only
//! over HTTP. Shutdown (SIGTERM/SIGINT) starts nothing new, lets running
//! actions finish within a bound, and stops the server. Several replicas
//! may run: only the holder of the [`lease`] acts.

pub mod commit_status;
mod http;
mod lease;
pub mod maintenance;
pub(crate) mod metrics;
mod notify;
pub mod policy;
pub mod source;
pub(crate) mod status;
pub mod webhook;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use swarmkeeper_model::DesiredState;
use swarmkeeper_plan::PlanOptions;
use swarmkeeper_plan::control::{Applied, Controls, Hold, Outcome};
use tokio::sync::watch;

use crate::cycle::{ApplyOptions, Providers, converge};
pub use metrics::Metrics;
use policy::{CycleEnd, Requeue};
pub use source::Source;
pub use status::Shared;
use swarmkeeper_plan::ErrorKind;
use swarmkeeper_swarm::engine::SwarmEvent;

/// What `swarmkeeper run` was told.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub source: Source,
    pub resync: Duration,
    pub concurrency: usize,
    /// How long running actions may take to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    pub allow_empty: bool,
    /// How long the lease lives without renewal (failover time).
    pub lease_ttl: Duration,
    /// `--adopt-swarm`: make the local engine's swarm the cluster's.
    pub adopt_swarm: bool,
    /// `POST /hooks/git` (with a git source only).
    pub webhook: Option<webhook::WebhookConfig>,
    /// Where commit statuses are posted (with a git source only).
    pub commit_status: Option<commit_status::Target>,
    /// How the scheduled prune's job runs.
    pub maintenance: maintenance::MaintenanceConfig,
}

/// The longest one cycle (observe, plan, apply rounds, check) may take.
/// Node work that takes longer (a drain) is requeued, not waited for.
pub const CYCLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The delay before the next retry after `failures` failed attempts in a
/// row (connecting to the engine, the node event stream, git fetches).
pub fn backoff(failures: u32) -> Duration {
    jitter(policy::backoff_nominal(failures))
}

/// ±20 % so replicas and retries do not march in step.
pub fn jitter(d: Duration) -> Duration {
    policy::jittered(d, fastrand::f64())
}

/// Serve status and metrics on `listener` and reconcile until `shutdown`.
pub async fn run(
    config: RunConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let shared = Shared::default();
    let metrics = Arc::new(Metrics::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let addr: SocketAddr = listener.local_addr()?;
    let source = config.source.describe();
    tracing::info!(%addr, %source, "serving /healthz /readyz /metrics /status");
    shared.update(|s| s.source = Some(source));
    let fetch_now = Arc::new(tokio::sync::Notify::new());
    let mut receiver: Option<Arc<webhook::Receiver>> = None;
    let (hook_here, hook_server) = match (&config.webhook, &config.source) {
        (None, _) => (None, None),
        (Some(hook), Source::Git { git, .. }) => {
            metrics.webhook_enabled();
            let made = Arc::new(webhook::Receiver::new(
                hook.secret.clone(),
                git.branch.clone(),
                fetch_now.clone(),
                shared.clone(),
                metrics.clone(),
            ));
            receiver = Some(made.clone());
            let receiver = made;
            match hook.listen {
                None => {
                    tracing::info!(%addr, path = webhook::PATH, "serving the git webhook");
                    (Some(receiver), None)
                }
                Some(at) => {
                    let listener = tokio::net::TcpListener::bind(at).await.map_err(|e| {
                        anyhow::anyhow!(
                            "cannot listen on {at} for the webhook: {e}; choose another --webhook-listen address"
                        )
                    })?;
                    tracing::info!(addr = %at, path = webhook::PATH, "serving the git webhook");
                    (
                        None,
                        Some(tokio::spawn(webhook::serve(listener, receiver, stop_rx.clone()))),
                    )
                }
            }
        }
        (Some(_), Source::Dir { .. }) => {
            anyhow::bail!("the webhook makes the git source fetch: it needs --git (a directory is watched already)")
        }
    };
    let server = tokio::spawn(http::serve(
        listener,
        shared.clone(),
        metrics.clone(),
        hook_here,
        stop_rx.clone(),
    ));
    let source::Watching { mut changes, reader } =
        config
            .source
            .start(shared.clone(), metrics.clone(), fetch_now.clone(), stop_rx.clone())?;

    tokio::pin!(shutdown);
    // Only the replica holding the lease acts. The engine may not answer
    // yet (a manager still starting): keep trying, with backoff.
    let me = lease::identity();
    shared.update(|s| s.identity = Some(me.clone()));
    let mut attempts = 0;
    let engine = loop {
        match swarmkeeper_swarm::Engine::connect().await {
            Ok(engine) => break engine,
            Err(e) => {
                attempts += 1;
                let wait = backoff(attempts);
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "cannot reach the engine");
                let next = Requeue::After(wait, policy::Reason::Backoff { failures: attempts });
                shared.update(|s| s.cycle_failed("start", &e.to_string(), e.kind(), attempts, &next));
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    };
    // Node events (a node went Down, joined, left) start a cycle at once:
    // the resync would notice a failed node up to a period later.
    // So do the controls (`suspend`, `resume`): a resume is applied at once.
    let (node_tx, mut node_events) = tokio::sync::mpsc::channel::<&'static str>(4);
    tokio::spawn(watch_swarm(engine.clone(), node_tx, fetch_now.clone(), stop_rx.clone()));
    // A webhook that reaches a replica without the lease is passed on
    // through the swarm, whose event makes every replica fetch.
    if let Some(receiver) = &receiver {
        receiver.relay_through(engine.clone(), me.clone());
    }
    let (held_tx, mut held) = watch::channel(false);
    // The swarm the lease is kept in holds the controls and the history too.
    let home = engine.clone();
    let keeper = tokio::spawn(lease::keep(
        engine,
        me.clone(),
        config.source.describe(),
        config.lease_ttl,
        held_tx,
        stop_rx.clone(),
    ));
    // The scheduled prune, beside the loop: it acts while the lease is held.
    let (prune_tx, prune_rx) = watch::channel(None);
    let pruned = maintenance::Finished::default();
    let maintainer = tokio::spawn(maintenance::keep(
        config.maintenance.clone(),
        maintenance::Handles {
            engine: home.clone(),
            shared: shared.clone(),
            metrics: metrics.clone(),
            finished: pruned.clone(),
        },
        prune_rx,
        held.clone(),
        stop_rx.clone(),
    ));
    // The executor's stop flag: set on shutdown and when the lease is lost.
    let (cancel_tx, cancel_rx) = watch::channel(false);

    // What the controller tells people, with every secret it knows kept
    // out of the messages.
    let mut secrets: Vec<String> = Vec::new();
    if let Some(hook) = &config.webhook {
        secrets.push(hook.secret.text());
    }
    if let Source::Git { git, .. } = &config.source
        && let Some(secret) = git.url.secret()
    {
        secrets.push(secret.to_owned());
    }
    let (mut notifications, notifier) = notify::Notifications::start(secrets, stop_rx.clone());

    let mut stopping = false;
    let mut carried = Carried::default();
    let mut status_poster = None;
    if let Some(target) = config.commit_status.clone() {
        let (poster, task) = commit_status::CommitStatus::start(target, stop_rx.clone());
        carried.commit_status = Some(poster);
        status_poster = Some(task);
    }
    let mut failures: u32 = 0;
    // The last error logged at ERROR: one that needs a change is logged
    // once, not at every resync.
    let mut reported: Option<String> = None;
    let mut trigger = "start";
    if matches!(config.source, Source::Git { .. }) {
        // Nothing to read before the first fetch: it triggers the first
        // cycle (a failing fetch is reported by the source meanwhile).
        tokio::select! {
            () = &mut shutdown => stopping = true,
            fetched = changes.recv() => {
                if fetched.is_none() {
                    anyhow::bail!("the source stopped watching");
                }
                trigger = "source";
            }
        }
    }
    while !stopping {
        if !*held.borrow() {
            shared.update(|s| s.lease_held = false);
            metrics.lease(false);
            tokio::select! {
                () = &mut shutdown => break,
                _ = held.changed() => continue,
            }
        }
        shared.update(|s| s.lease_held = true);
        metrics.lease(true);
        let _ = cancel_tx.send(false);
        let started = Instant::now();
        let span = tracing::info_span!("cycle", trigger);
        let mut work = Box::pin(tracing::Instrument::instrument(
            cycle(
                &config,
                Inputs {
                    source: &reader,
                    home: &home,
                },
                trigger,
                &mut carried,
                &shared,
                &metrics,
                cancel_rx.clone(),
            ),
            span,
        ));
        // A shutdown during a cycle starts nothing new (the executor sees
        // the stop flag) and gives running actions `shutdown_grace`.
        let mut deadline: Option<tokio::time::Instant> = None;
        // The whole cycle is bounded: a stalled engine or AWS makes it fail.
        let bound = tokio::time::Instant::now() + CYCLE_TIMEOUT;
        // Set when the lease is lost mid-cycle: running actions get until
        // the lease may pass to another replica, then they are dropped.
        let mut abandon: Option<tokio::time::Instant> = None;
        let outcome = loop {
            tokio::select! {
                r = &mut work => break Some(r),
                () = &mut shutdown, if !stopping => {
                    tracing::info!("shutdown: starting nothing new, letting running actions finish");
                    stopping = true;
                    let _ = cancel_tx.send(true);
                    deadline = Some(tokio::time::Instant::now() + config.shutdown_grace);
                }
                _ = held.wait_for(|h| !*h), if abandon.is_none() => {
                    // Lost the lease mid-cycle: start nothing new, say so at once.
                    let _ = cancel_tx.send(true);
                    shared.update(|s| s.lease_held = false);
                    metrics.lease(false);
                    tracing::warn!("lease lost during a cycle: starting nothing new");
                    abandon = Some(tokio::time::Instant::now() + config.lease_ttl / 3);
                }
                () = tokio::time::sleep_until(abandon.unwrap_or(bound)), if abandon.is_some() => {
                    break Some(Err(policy::Classified {
                        kind: ErrorKind::Transient,
                        message: "the lease was lost and the running actions did not finish before another replica may take over; \
                                  they were abandoned (the engine at DOCKER_HOST may not be answering)"
                            .to_owned(),
                    }
                    .into()));
                }
                () = tokio::time::sleep_until(bound) => {
                    break Some(Err(policy::Classified {
                        kind: ErrorKind::Transient,
                        message: format!(
                            "the cycle did not finish within {}s: the Docker Engine (DOCKER_HOST) or AWS stopped answering; \
                             the next cycle continues from where things are",
                            CYCLE_TIMEOUT.as_secs()
                        ),
                    }
                    .into()));
                }
                () = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                    tracing::warn!("running actions did not finish within the shutdown grace; the next run continues from where things are");
                    break None;
                }
            }
        };
        // An abandoned cycle's calls are dropped here, not left pending.
        drop(work);
        let Some(outcome) = outcome else { break };
        metrics.cycle(trigger, outcome.is_ok(), started.elapsed());
        let end = match &outcome {
            Ok(end) => *end,
            Err(e) => CycleEnd::Failed {
                kind: policy::kind_of(e),
            },
        };
        failures = match end {
            CycleEnd::Done { .. } => 0,
            CycleEnd::Failed { .. } => failures.saturating_add(1),
        };
        let next = policy::policy(end, failures, config.resync, fastrand::f64());
        let wait = next.wait();
        match (&outcome, next) {
            (Ok(_), _) => reported = None,
            (Err(e), Requeue::AwaitChange { kind, .. }) => {
                let error = format!("{e:#}");
                if reported.as_ref() != Some(&error) {
                    tracing::error!(
                        %error,
                        %kind,
                        retry_in_ms = wait.as_millis() as u64,
                        "cycle failed; not retried before the desired or the observed state changes (a new revision, a node event, or the resync)"
                    );
                    reported = Some(error.clone());
                } else {
                    tracing::debug!(%error, %kind, "cycle failed again, as reported");
                }
                shared.update(|s| s.cycle_failed(trigger, &error, kind, failures, &next));
            }
            (Err(e), _) => {
                let error = format!("{e:#}");
                let kind = policy::kind_of(e);
                tracing::warn!(%error, %kind, retry_in_ms = wait.as_millis() as u64, "cycle failed");
                shared.update(|s| s.cycle_failed(trigger, &error, kind, failures, &next));
                reported = None;
            }
        }
        publish_status(&carried, &shared).await;
        let prune = carried
            .last_good
            .as_ref()
            .and_then(|s| s.config.maintenance.as_ref())
            .and_then(|m| m.system_prune.clone());
        prune_tx.send_if_modified(|now| {
            let changed = *now != prune;
            if changed {
                now.clone_from(&prune);
            }
            changed
        });
        let told = Told {
            shared: &shared,
            metrics: &metrics,
            pruned: &pruned,
        };
        notify_after(&mut notifications, &outcome, &mut carried, &config, &told);
        tracing::debug!(next = next.label(), wait_ms = wait.as_millis() as u64, "requeue");
        if stopping {
            break;
        }
        tokio::select! {
            () = &mut shutdown => {
                stopping = true;
            }
            _ = held.wait_for(|h| !*h) => {
                trigger = "lease";
            }
            changed = changes.recv() => {
                if changed.is_none() {
                    anyhow::bail!("the source stopped watching");
                }
                // Several events for one save arrive together: take them all.
                while changes.try_recv().is_ok() {}
                trigger = "source";
            }
            Some(what) = node_events.recv() => {
                trigger = what;
                while let Ok(more) = node_events.try_recv() {
                    trigger = if more == trigger { trigger } else { "node" };
                }
            }
            () = tokio::time::sleep(wait) => {
                trigger = if outcome.is_ok() { "resync" } else { "retry" };
            }
        }
    }
    let _ = cancel_tx.send(true);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), keeper).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), notifier).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), maintainer).await;
    if let Some(task) = status_poster {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    if let Some(hook_server) = hook_server {
        let _ = tokio::time::timeout(Duration::from_secs(5), hook_server).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Where the news of a cycle comes from, besides the cycle itself.
struct Told<'a> {
    shared: &'a Shared,
    metrics: &'a Metrics,
    /// Scheduled prunes that ended since.
    pruned: &'a maintenance::Finished,
}

/// Tell the receivers of `notifications:` what the cycle that ended with
/// `outcome` did (the notifier decides what is news).
fn notify_after(
    notifications: &mut notify::Notifications,
    outcome: &anyhow::Result<CycleEnd>,
    carried: &mut Carried,
    config: &RunConfig,
    Told {
        shared,
        metrics,
        pruned,
    }: &Told<'_>,
) {
    use swarmkeeper_plan::notify::{Ended, Seen};
    let status = shared.get();
    let ended = match (outcome, carried.ended.take()) {
        (Err(e), _) => Ended::Failed {
            error: format!("{e:#}"),
        },
        (Ok(_), Some(ended)) => ended,
        // Ended before applying (the controls changed meanwhile).
        (Ok(_), None) => Ended::Cancelled,
    };
    if let (Some(poster), Some(commit)) = (carried.commit_status.as_mut(), carried.commit.as_deref()) {
        use commit_status::State;
        match &ended {
            Ended::Applied { counts } => poster.set(
                commit,
                State::Success,
                format!(
                    "applied: {} added, {} changed, {} removed",
                    counts[0], counts[1], counts[2]
                ),
            ),
            Ended::Failed { error } => poster.set(commit, State::Failure, format!("failed: {error}")),
            Ended::Cancelled => {}
        }
    }
    let seen = Seen {
        revision: status.applied_revision.clone(),
        ended,
        quorum: status.nodes.as_ref().map(|n| n.quorum).or(carried.quorum),
        replaced: metrics.take_replaced(),
        suspended: status
            .suspended
            .as_ref()
            .and_then(|s| s.all.as_ref())
            .map(|mark| mark.by.clone()),
        pruned: pruned.take(),
    };
    let state = carried.last_good.as_ref();
    let providers = carried.providers.as_ref();
    notifications.after(&seen, |notices| {
        let (state, providers) = (state?, providers?);
        Some(notify::Batch {
            notices,
            receivers: state.config.notifications.clone(),
            registries: providers.registries.clone(),
            aws: providers.aws.clone(),
            origin: origin_of(state, config),
        })
    });
}

/// Who the platform is, in messages and on the dashboard: the cluster's
/// name, else the state's `name:`, else the source.
fn origin_of(state: &DesiredState, config: &RunConfig) -> String {
    state
        .config
        .cluster
        .as_ref()
        .map(|c| c.name.clone())
        .or_else(|| state.config.name.clone())
        .unwrap_or_else(|| config.source.describe())
}

/// Write the cluster's compact status to SSM when it changed (not while
/// `destroy` runs: it removes the parameter and must find it gone).
async fn publish_status(carried: &Carried, shared: &Shared) {
    use swarmkeeper_plan::cluster_status::Writer;
    let (Some(providers), Some(state)) = (&carried.providers, &carried.last_good) else {
        return;
    };
    let (Some(aws), Some(cluster)) = (&providers.aws, &state.config.cluster) else {
        return;
    };
    if carried.destroying {
        return;
    }
    let status = shared.get();
    let ended = crate::cluster_status::Ended {
        revision: status.applied_revision.as_deref(),
        sync: status.sync_status,
        health: status.health_status,
        pools: carried.pools.clone(),
        last_error: status.last_error.clone(),
        writer: Writer::Controller,
    };
    match crate::cluster_status::publish_bounded(aws, &cluster.name, &ended).await {
        Ok(true) => tracing::debug!("cluster status written to SSM"),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "cluster status"),
    }
}

/// Without a leader the managers answer no read at all: when `error` says
/// so, report what it means (status, metrics, one error line) rather than
/// only "cycle failed".
fn report_no_leader(error: &str, shared: &Shared, metrics: &Metrics) {
    if !error.contains("does not have a leader") {
        return;
    }
    let problem = "MANAGER QUORUM LOST: the swarm has no leader (too few managers reachable). swarmkeeper \
                   takes no action on nodes until a majority is back; see docs/operations.md (\"Quorum lost\")";
    tracing::error!("{problem}");
    shared.update(|s| {
        let mut report = s.nodes.clone().unwrap_or_default();
        report.quorum.ok = false;
        // Fewer than a majority answer; how many is not known.
        report.quorum.reachable = report.quorum.reachable.min(report.quorum.managers / 2);
        report.problems = vec![problem.to_owned()];
        report.progress.clear();
        s.nodes_changed(Some(report));
    });
    metrics.quorum_lost();
}

/// Say when the controls changed (in the log, once), and show them in
/// `/status` and the metrics.
fn report_controls(controls: &Controls, shared: &Shared, metrics: &Metrics) {
    let status = shared.get();
    let (was, was_pinned) = (status.suspended.unwrap_or_default(), status.pinned);
    let suspension = &controls.suspension;
    if *suspension != was {
        if suspension.is_none() {
            tracing::info!("resumed: changes are applied again");
        } else {
            tracing::warn!(
                suspended = %suspension.describe(),
                "suspended: observing and reporting, applying nothing of it until `swarmkeeper resume`"
            );
        }
    }
    if controls.pin != was_pinned {
        match &controls.pin {
            Some(pin) => tracing::warn!(
                revision = %pin.revision,
                by = %pin.mark.by,
                "pinned: applying this revision whatever the branch says, until `swarmkeeper unpin`"
            ),
            None => tracing::info!("unpinned: following the branch again"),
        }
    }
    shared.update(|s| {
        s.suspended = (!suspension.is_none()).then(|| suspension.clone());
        s.pinned.clone_from(&controls.pin);
    });
    metrics.pinned(controls.pin.is_some());
}

/// Forward node events (as trigger `node`) and changes of the controls
/// (`control`) to the loop; reconnect (with backoff) when the stream
/// breaks, until `stop`.
async fn watch_swarm(
    engine: swarmkeeper_swarm::Engine,
    tx: tokio::sync::mpsc::Sender<&'static str>,
    fetch_now: Arc<tokio::sync::Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut events = swarmkeeper_swarm::engine::Events::default();
    let mut failures = 0u32;
    loop {
        let wait = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            event = engine.next_event(&mut events) => match event {
                Ok(event) => {
                    failures = 0;
                    tracing::debug!(%event, "swarm event");
                    match event {
                        SwarmEvent::Node(_) => {
                            let _ = tx.try_send("node");
                        }
                        SwarmEvent::Control(_) => {
                            let _ = tx.try_send("control");
                        }
                        // A fetch, not a cycle: the fetch starts one if
                        // the branch moved.
                        SwarmEvent::FetchRequested => fetch_now.notify_one(),
                    }
                    continue;
                }
                Err(e) => {
                    failures += 1;
                    tracing::debug!(error = %e, "node events: reconnecting");
                    backoff(failures)
                }
            },
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// What one cycle leaves to the next.
#[derive(Default)]
struct Carried {
    /// The last desired state that passed validation: reconciled while
    /// the source holds an invalid one.
    last_good: Option<DesiredState>,
    /// Connected on the first cycle that has a valid state.
    providers: Option<Providers>,
    /// Nodes ready per pool at the last cycle's end (for the SSM status).
    pools: std::collections::BTreeMap<String, swarmkeeper_plan::cluster_status::PoolCount>,
    /// `swarmkeeper destroy` runs: nothing is applied, no status written.
    destroying: bool,
    /// How the last cycle's apply ended, for the notifications (`None`:
    /// it did not get to apply).
    ended: Option<swarmkeeper_plan::notify::Ended>,
    /// The quorum the last plan observed.
    quorum: Option<swarmkeeper_plan::nodes::Quorum>,
    /// The full commit of `last_good` (git).
    commit: Option<String>,
    /// Posts commit statuses, when configured.
    commit_status: Option<commit_status::CommitStatus>,
}

/// Where a cycle reads from: the desired state's source, and the swarm the
/// lease is kept in (the controls, the history).
struct Inputs<'a> {
    source: &'a source::Reader,
    home: &'a swarmkeeper_swarm::Engine,
}

/// One reconcile. An invalid desired state is reported and the last good
/// one is reconciled instead (so drift is still put back).
async fn cycle(
    config: &RunConfig,
    Inputs { source, home }: Inputs<'_>,
    trigger: &'static str,
    carried: &mut Carried,
    shared: &Shared,
    metrics: &Metrics,
    cancel: watch::Receiver<bool>,
) -> anyhow::Result<CycleEnd> {
    // The controls people set (`suspend`, `pin`), read from the swarm at
    // every cycle. Controls that cannot be read fail the cycle: they are
    // never taken for "none set".
    let controls = match home.controls().await {
        Ok(controls) => controls,
        Err(e) => {
            report_no_leader(&e.to_string(), shared, metrics);
            return Err(e.into());
        }
    };
    report_controls(&controls, shared, metrics);
    let pin = controls.pin.as_ref().map(|p| p.revision.as_str());
    let source::Loaded {
        outcome,
        revision,
        commit,
    } = source.load(&crate::commands::process_environment(), pin)?;
    let Carried {
        last_good,
        providers,
        pools: carried_pools,
        destroying,
        ended,
        quorum: carried_quorum,
        commit: good_commit,
        commit_status,
    } = carried;
    *ended = None;
    let errors: Vec<String> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.severity == swarmkeeper_model::Severity::Error)
        .map(|d| {
            let r = d.resolve(&outcome.sources);
            format!("{}: {}", r.position().unwrap_or_default(), r.message)
        })
        .collect();
    match outcome.state {
        Some(state) => {
            *last_good = Some(state);
            *good_commit = commit;
            shared.update(|s| s.validated(&revision));
            metrics.applied_revision(&revision);
        }
        None => {
            tracing::error!(
                errors = errors.len(),
                "the desired state is invalid; keeping the last good one"
            );
            for e in &errors {
                tracing::error!("{e}");
            }
            shared.update(|s| s.invalid(&revision, errors.clone()));
            metrics.invalid();
        }
    }
    // A pinned revision that does not validate is applied by nobody: the
    // last good state is another revision, which the pin rules out.
    if let Some(pin) = &controls.pin
        && !errors.is_empty()
    {
        return Err(policy::Classified {
            kind: ErrorKind::Invalid,
            message: format!(
                "the pinned revision {} is invalid, and a pin applies only it: pin another revision, or `swarmkeeper unpin`",
                pin.revision
            ),
        }
        .into());
    }
    let Some(state) = last_good.as_ref() else {
        return Err(policy::Classified {
            kind: ErrorKind::Invalid,
            message: format!("no valid desired state yet: fix {}", config.source.describe()),
        }
        .into());
    };
    // A cluster declared in a state first applied without one: the engine
    // was taken as DOCKER_HOST named it, never checked against the swarm
    // recorded for the cluster. Connect again through that check rather
    // than publish this engine's join tokens for the cluster's instances.
    if state.config.cluster.is_some() && providers.as_ref().is_some_and(|p| p.swarm_id.is_none()) {
        tracing::info!("a cluster is declared: connecting again to check the swarm is the cluster's");
        *providers = None;
    }
    let providers = match providers {
        Some(p) => {
            // A cluster that appeared, or a region that changed, in a new
            // desired state: AWS follows it (and retries a failed connect).
            p.follow(state).await;
            &*p
        }
        None => {
            let how = crate::cycle::ConnectOptions {
                adopt_swarm: config.adopt_swarm,
                require_engine: true,
            };
            &*providers.insert(Providers::connect(state, how).await?)
        }
    };
    // `swarmkeeper destroy` writes its marker before anything else: from
    // then on this controller applies nothing (its instances are going).
    *destroying = false;
    if let (Some(aws), Some(cluster)) = (&providers.aws, &state.config.cluster)
        && crate::cluster_status::being_destroyed(aws, &cluster.name).await?
    {
        *destroying = true;
        return Err(policy::Classified {
            kind: ErrorKind::Conflict,
            message: crate::cluster_status::destroying_message(&cluster.name),
        }
        .into());
    }
    let suspension = &controls.suspension;
    let opts = PlanOptions {
        allow_empty: config.allow_empty,
        hold: suspension.hold(),
        ..PlanOptions::default()
    };
    let plan_started = Instant::now();
    let mut planned = match providers.plan(state, &opts).await {
        Ok(planned) => planned,
        Err(e) => {
            report_no_leader(&format!("{e:#}"), shared, metrics);
            return Err(e);
        }
    };
    metrics.plan_duration(plan_started.elapsed());
    metrics.suspension(suspension, planned.plan.held.len());
    if !planned.plan.held.is_empty() {
        tracing::info!(
            held = planned.plan.held.len(),
            "changes found and held back by the suspension"
        );
    }
    metrics.cluster(state.config.cluster.is_some());
    metrics.managers(planned.quorum);
    *carried_quorum = Some(planned.quorum);
    let nodes = planned.plan.nodes.clone();
    if let Some(report) = &nodes {
        if !report.quorum.ok {
            tracing::error!(
                reachable = report.quorum.reachable,
                managers = report.quorum.managers,
                "manager quorum lost: no node actions until a majority is back (docs/operations.md)"
            );
        }
        // Problems are logged when they appear, not at every cycle.
        let known = shared.get().nodes.map(|n| n.problems).unwrap_or_default();
        for problem in report.problems.iter().skip(usize::from(!report.quorum.ok)) {
            if !known.contains(problem) {
                tracing::warn!(problem = %problem, "node");
            }
        }
        for progress in &report.progress {
            tracing::info!(progress = %progress, "node");
        }
    }
    for moved in &planned.moved_tags {
        tracing::info!(
            service = %moved.service,
            image = %moved.image,
            from = moved.from.as_deref().unwrap_or("(unpinned)"),
            to = %moved.to,
            "a followed tag moved: rolling the service to its new digest"
        );
        metrics.followed_image_update(&moved.service);
    }
    let pending = planned.plan.steps.len() + planned.deferred;
    if pending > 0 && trigger == "resync" {
        metrics.drift();
        tracing::info!(changes = pending, "drift found at resync");
    }
    let summary = planned.plan.summary();
    let planned_held = summary.held;
    let metrics_progress = metrics.progress();
    let on_round =
        |round: usize, plan: &swarmkeeper_plan::Plan| tracing::info!(round, steps = plan.steps.len(), "applying");
    let how = ApplyOptions {
        concurrency: config.concurrency,
        on_round: &on_round,
        progress: metrics_progress,
        cancel: Some(cancel),
    };
    // A `suspend` or `pin` typed while this cycle observed and planned
    // must not be overrun by the plan made before it: look again, and let
    // the next cycle (its event is already queued) plan with it.
    if home.controls().await? != controls {
        tracing::info!("the controls changed during the cycle: nothing applied, planning again");
        return Ok(CycleEnd::Done {
            node_work: true,
            due: None,
        });
    }
    if let (Some(poster), Some(commit)) = (commit_status.as_mut(), good_commit.as_deref())
        && !planned.plan.steps.is_empty()
        && planned_held == 0
    {
        poster.set(
            commit,
            commit_status::State::Pending,
            format!(
                "applying: {} to add, {} to change, {} to remove",
                summary.add, summary.change, summary.destroy
            ),
        );
    }
    // What the dashboard shows of this cycle, taken before the apply
    // consumes the plan.
    let seen_swarm = std::mem::take(&mut planned.observed);
    let seen_aws = planned.observed_aws.take();
    let pending_plan = planned.plan.clone();
    let done = converge(providers, state, &opts, planned, &how).await?;
    let still_pending = !done.failures.is_empty() || done.remaining > 0 || planned_held > 0;
    let view = swarmkeeper_plan::dashboard::view(&swarmkeeper_plan::dashboard::Inputs {
        observed: &seen_swarm,
        aws: seen_aws.as_ref(),
        config: Some(&state.config),
        plan: still_pending.then_some(&pending_plan),
    });
    let mut snapshot =
        crate::dashboard::Snapshot::new(origin_of(state, config), view, still_pending.then_some(&pending_plan));
    carried_pools.clone_from(&done.pools);
    metrics.calls(
        &providers.engine.as_ref().map(|e| e.calls()).unwrap_or_default(),
        providers.aws.as_ref().map(|a| a.calls()).as_ref(),
    );
    // Held node work is not in progress: no quick requeue while suspended.
    let node_work = opts.hold != Hold::Everything && nodes.as_ref().is_some_and(|n| !n.progress.is_empty());
    // A node Down but not yet for `replace_after` is looked at again when
    // it is due, not at the next resync.
    let due = nodes
        .as_ref()
        .and_then(|n| n.recheck_in_secs)
        .map(|s| Duration::from_secs(s + 1));
    // The history, before the status says synced: a revision applied (or
    // failed), once; not while a suspension holds part of it back (it is
    // not applied yet), nor for a cycle cut short (a lost lease, a shutdown).
    if planned_held == 0 && !done.cancelled {
        let entry = Applied {
            revision: state.revision.clone(),
            at_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            outcome: if done.failures.is_empty() && done.remaining == 0 {
                Outcome::Applied
            } else {
                Outcome::Failed
            },
            counts: done.totals,
            pinned: controls.pin.is_some(),
        };
        if let Err(e) = home.record_applied(&entry).await {
            tracing::warn!(error = %e, "cannot record the revision in the history");
        }
    }
    // The dashboard lists the history too (a read of one config).
    snapshot.history = home.history().await.map(|h| h.0).unwrap_or_default();
    shared.update(|s| s.dashboard = Some(Arc::new(snapshot)));
    *ended = Some(
        if done.cancelled || planned_held > 0 || (done.failures.is_empty() && done.remaining > 0) {
            swarmkeeper_plan::notify::Ended::Cancelled
        } else if done.failures.is_empty() {
            swarmkeeper_plan::notify::Ended::Applied { counts: done.totals }
        } else {
            swarmkeeper_plan::notify::Ended::Failed {
                error: done
                    .failures
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        },
    );
    shared.update(|s| {
        s.cycled(trigger, summary, &done, done.unhealthy.clone());
        s.nodes_changed(nodes.clone());
    });
    if !done.failures.is_empty() {
        return Err(policy::Classified::steps(&done.failures).into());
    }
    // Node work in progress (a drain) is looked at again soon, not at the
    // next resync: the requeue of kube-runtime's controllers.
    Ok(CycleEnd::Done { node_work, due })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_then_caps_with_jitter() {
        for (failures, nominal) in [(1u32, 2u64), (2, 4), (3, 8), (6, 64), (9, 256), (30, 256)] {
            for _ in 0..20 {
                let d = backoff(failures).as_secs_f64();
                let n = nominal as f64;
                assert!(d >= n * 0.8 - 1e-9 && d <= n * 1.2 + 1e-9, "{failures}: {d} vs {n}");
            }
        }
        assert!(backoff(100) <= Duration::from_secs(360));
    }
}
