//! `swarmkeeper dashboard [DIR]`: the controller's dashboard on a laptop.
//! Loads the directory, reaches the swarm and AWS as `reconcile` does
//! (DOCKER_HOST, or `cluster.ssh`), and every `--interval` observes and
//! plans — changing nothing — and serves the page on `--listen`.

use std::process::ExitCode;
use std::sync::Arc;

use crate::keys::load_dir;
use swarmkeeper_plan::PlanOptions;
use swarmkeeper_plan::cluster_status::{HealthStatus, SyncStatus};

use super::process_environment;
use crate::cli::DashboardArgs;
use crate::controller::status::Shared;
use crate::cycle::{ConnectOptions, Providers};

pub fn run(args: &DashboardArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}: {e}; choose another address with --listen",
                args.listen
            )
        })?;
        let addr = listener.local_addr()?;
        let shared = Shared::default();
        shared.update(|s| s.source = Some(args.dir.display().to_string()));
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let app = crate::dashboard::routes(shared.clone());
        let server = tokio::spawn(async move {
            let stopped = async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            };
            axum::serve(listener, app).with_graceful_shutdown(stopped).await
        });
        eprintln!(
            "dashboard of {} on http://{addr}/ (read-only; Ctrl-C stops)",
            args.dir.display()
        );
        let shutdown = super::run::shutdown_signal();
        tokio::pin!(shutdown);
        let mut providers: Option<Providers> = None;
        loop {
            look(args, &shared, &mut providers).await;
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(args.interval) => {}
            }
        }
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
        Ok(ExitCode::SUCCESS)
    })
}

/// One observation: load, connect (once), plan, and put it in the status.
async fn look(args: &DashboardArgs, shared: &Shared, providers: &mut Option<Providers>) {
    let outcome = load_dir(&args.dir, &process_environment());
    let Some(state) = outcome.state else {
        let errors: Vec<String> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == swarmkeeper_model::Severity::Error)
            .map(|d| {
                let r = d.resolve(&outcome.sources);
                format!("{}: {}", r.position().unwrap_or_default(), r.message)
            })
            .collect();
        shared.update(|s| s.invalid("(invalid)", errors));
        return;
    };
    let connected = match providers.take() {
        Some(mut p) => {
            p.follow(&state).await;
            p
        }
        None => {
            let how = ConnectOptions {
                adopt_swarm: false,
                require_engine: false,
            };
            match Providers::connect(&state, how).await {
                // The page applies nothing: not even the revision key.
                Ok(p) => Providers { dry_run: true, ..p },
                Err(e) => {
                    shared.update(|s| s.last_error = Some(format!("{e:#}")));
                    return;
                }
            }
        }
    };
    let planned = connected.plan(&state, &PlanOptions::default()).await;
    *providers = Some(connected);
    let planned = match planned {
        Ok(p) => p,
        Err(e) => {
            shared.update(|s| {
                s.sync_status = SyncStatus::OutOfSync;
                s.last_error = Some(format!("{e:#}"));
            });
            return;
        }
    };
    let pending = planned.plan.pending() || planned.deferred > 0;
    let view = swarmkeeper_plan::dashboard::view(&swarmkeeper_plan::dashboard::Inputs {
        observed: &planned.observed,
        aws: planned.observed_aws.as_ref(),
        config: Some(&state.config),
        plan: Some(&planned.plan),
    });
    let origin = state
        .config
        .cluster
        .as_ref()
        .map(|c| c.name.clone())
        .or_else(|| state.config.name.clone())
        .unwrap_or_else(|| args.dir.display().to_string());
    let snapshot = crate::dashboard::Snapshot::new(origin, view, Some(&planned.plan));
    shared.update(|s| {
        s.validated(&state.revision);
        s.sync_status = if pending {
            SyncStatus::OutOfSync
        } else {
            SyncStatus::Synced
        };
        s.health_status = if planned.unhealthy.is_empty() {
            HealthStatus::Healthy
        } else {
            HealthStatus::Degraded
        };
        s.unhealthy_services.clone_from(&planned.unhealthy);
        s.last_error = None;
        s.nodes_changed(planned.plan.nodes.clone());
        s.dashboard = Some(Arc::new(snapshot));
    });
}
