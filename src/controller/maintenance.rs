//! The scheduled prune (`maintenance.system_prune`): a task beside the
//! reconcile loop, acting only while this replica holds the lease. It
//! checks the schedule against the run the swarm records
//! ([`swarmkeeper_plan::maintenance::due`]), and when a window is due and no
//! node work is in progress (a drain, a replacement) it starts a global job
//! of swarmkeeper's own image that runs `swarmkeeper prune-node` on every
//! node, waits for its tasks, reads their reports from the job's output,
//! removes the job and records the run. What it reclaimed goes to
//! `/status`, the metrics and the `prune` notification (after the next
//! cycle). A run cut short (lease lost, shutdown) is not recorded: the next
//! holder runs the window again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use swarmkeeper_model::config::SystemPrune;
use swarmkeeper_plan::maintenance::{self, Due, PruneRun};
use swarmkeeper_swarm::Engine;
use swarmkeeper_swarm::maintenance::{JobTask, PruneJob};
use tokio::sync::watch;

use super::Metrics;
use super::status::{MaintenanceStatus, Shared};

/// How often the schedule is looked at.
const TICK: Duration = Duration::from_secs(30);
/// How often a running job's tasks are looked at.
const POLL: Duration = Duration::from_secs(2);
/// How long the job may run beyond its stagger (pulling the image on a
/// slow node, pruning a large build cache).
const JOB_BOUND: Duration = Duration::from_secs(15 * 60);
/// How long a job may have no task at all before it counts as failed
/// (no node could take one).
const NO_TASK_BOUND: Duration = Duration::from_secs(60);

/// How the job is run, from `swarmkeeper run`'s flags.
#[derive(Debug, Clone)]
pub struct MaintenanceConfig {
    /// `--maintenance-image` (`None`: the image of this container).
    pub image: Option<String>,
    /// `--maintenance-socket`.
    pub socket: String,
}

/// Runs that ended since the notifier last asked.
#[derive(Debug, Clone, Default)]
pub struct Finished(Arc<Mutex<Vec<PruneRun>>>);

impl Finished {
    fn push(&self, run: PruneRun) {
        if let Ok(mut runs) = self.0.lock() {
            runs.push(run);
        }
    }

    pub fn take(&self) -> Vec<PruneRun> {
        self.0.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default()
    }
}

/// What the task shares with the loop.
pub struct Handles {
    pub engine: Engine,
    pub shared: Shared,
    pub metrics: Arc<Metrics>,
    pub finished: Finished,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Keep the schedule of `desired` (the last valid state's
/// `maintenance.system_prune`) while `held`, until `stop`.
pub async fn keep(
    config: MaintenanceConfig,
    handles: Handles,
    mut desired: watch::Receiver<Option<SystemPrune>>,
    mut held: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let mut image: Option<String> = config.image.clone();
    loop {
        let prune = desired.borrow().clone();
        let wait = match prune {
            None => {
                handles.shared.update(|s| s.maintenance = None);
                TICK
            }
            Some(_) if !*held.borrow() => TICK,
            Some(prune) => {
                handles.metrics.prune_scheduled();
                let mut cut = stop.clone();
                let mut lost = held.clone();
                let interrupted = async move {
                    tokio::select! {
                        _ = cut.wait_for(|s| *s) => {}
                        _ = lost.wait_for(|h| !*h) => {}
                    }
                };
                tokio::select! {
                    () = interrupted => {
                        tracing::info!("scheduled prune: cut short (lease lost or shutdown); the next holder runs it again");
                        TICK
                    }
                    wait = step(&prune, &config, &mut image, &handles) => wait,
                }
            }
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = desired.changed() => {}
            _ = held.changed() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

fn set(shared: &Shared, state: &'static str, next: Option<u64>, problem: Option<String>) {
    shared.update(|s| {
        let last_run = s.maintenance.as_ref().and_then(|m| m.last_run.clone());
        s.maintenance = Some(MaintenanceStatus {
            state,
            next_run_unix: next,
            problem,
            last_run,
        });
    });
}

/// One look at the schedule; runs the prune when it is due. Returns how
/// long to wait before the next look.
async fn step(prune: &SystemPrune, config: &MaintenanceConfig, image: &mut Option<String>, h: &Handles) -> Duration {
    let Some(at) = maintenance::time_of_day(&prune.at) else {
        return TICK;
    };
    let period = maintenance::period(prune.schedule);
    let now = now_unix();
    let last = match h.engine.prune_window().await {
        Ok(last) => last,
        Err(e) => {
            tracing::warn!(error = %e, "scheduled prune: cannot read its record in the swarm");
            set(&h.shared, "failed", None, Some(format!("cannot read the record: {e}")));
            return TICK;
        }
    };
    let window = match maintenance::due(prune.schedule, at, last, now) {
        Due::Baseline { window } => {
            if let Err(e) = h.engine.record_prune(window, None).await {
                tracing::warn!(error = %e, "scheduled prune: cannot record its schedule");
            }
            set(&h.shared, "scheduled", Some(window + period), None);
            return TICK;
        }
        Due::NotYet { next } => {
            set(&h.shared, "scheduled", Some(next), None);
            return TICK.min(Duration::from_secs(next.saturating_sub(now).max(1)));
        }
        Due::Now { window } => window,
    };
    // Never during node work: a drain moves tasks, and the images a
    // rescheduled task needs must not go meanwhile.
    if let Some(work) = h.shared.get().nodes.and_then(|n| n.progress.first().cloned()) {
        set(
            &h.shared,
            "deferred",
            Some(window),
            Some(format!(
                "node work in progress ({work}); the prune runs once it is done"
            )),
        );
        return TICK;
    }
    if image.is_none() {
        *image = own_image(&h.engine).await;
    }
    let Some(image) = image.clone() else {
        let problem = "no image to run the prune with: swarmkeeper runs outside a container; \
                       give its image with --maintenance-image (SWARMKEEPER_MAINTENANCE_IMAGE)"
            .to_owned();
        if h.shared.get().maintenance.and_then(|m| m.problem).as_deref() != Some(problem.as_str()) {
            tracing::error!("scheduled prune: {problem}");
        }
        set(&h.shared, "failed", Some(window), Some(problem));
        return TICK;
    };
    let job = PruneJob {
        image,
        socket: config.socket.clone(),
        stagger_secs: prune.stagger.as_secs(),
        volumes: prune.volumes,
    };
    set(&h.shared, "running", Some(window + period), None);
    tracing::info!(window, image = %job.image, "scheduled prune: starting the job on every node");
    match run_job(&h.engine, &job).await {
        Ok((tasks, output)) => {
            let run = outcome(window, &tasks, &output);
            tracing::info!(reclaimed_bytes = run.reclaimed_bytes(), "{}", run.summary());
            if let Err(e) = h.engine.remove_prune_job().await {
                tracing::warn!(error = %e, "scheduled prune: cannot remove its job; the next run does");
            }
            if let Err(e) = h.engine.record_prune(window, Some(&run)).await {
                tracing::warn!(error = %e, "scheduled prune: cannot record the run; it may run again");
            }
            h.metrics.prune(Some(&run));
            h.shared.update(|s| {
                s.maintenance = Some(MaintenanceStatus {
                    state: "scheduled",
                    next_run_unix: Some(window + period),
                    problem: None,
                    last_run: Some(run.clone()),
                });
            });
            h.finished.push(run);
        }
        Err(e) => {
            tracing::warn!(error = %e, "scheduled prune failed; retried at the next look");
            h.metrics.prune(None);
            let _ = h.engine.remove_prune_job().await;
            set(&h.shared, "failed", Some(window), Some(e));
        }
    }
    TICK
}

/// The image of the container this controller runs in. Its ID is in the
/// paths of the files the engine bind-mounts into every container
/// (`/etc/hostname` from `.../containers/<id>/hostname`), which hold on the
/// host network too, where the host name is the host's.
async fn own_image(engine: &Engine) -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let id = container_id(&mounts)?;
    match engine.container_image(&id).await {
        Ok(image) => image,
        Err(e) => {
            tracing::debug!(error = %e, "own container");
            None
        }
    }
}

/// The container ID in `/proc/self/mountinfo`'s text (`None`: not in a
/// container the engine made).
fn container_id(mountinfo: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Field 4 is the mount's root in its filesystem, field 5 where it is.
        let (root, at) = (fields.get(3)?, fields.get(4)?);
        if *at != "/etc/hostname" {
            return None;
        }
        let (_, rest) = root.split_once("/containers/")?;
        let id = rest.split('/').next()?;
        (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_owned())
    })
}

/// Start the job and wait for every task to end; its tasks and output.
async fn run_job(engine: &Engine, job: &PruneJob) -> Result<(Vec<JobTask>, String), String> {
    engine
        .start_prune_job(job)
        .await
        .map_err(|e| format!("cannot start the job: {e}"))?;
    let started = tokio::time::Instant::now();
    let bound = Duration::from_secs(job.stagger_secs) + JOB_BOUND;
    loop {
        tokio::time::sleep(POLL).await;
        let tasks = engine
            .prune_job_tasks()
            .await
            .map_err(|e| format!("cannot read the job's tasks: {e}"))?;
        if tasks.is_empty() {
            if started.elapsed() > NO_TASK_BOUND {
                return Err(format!(
                    "the job got no task within {}s: no node could take one",
                    NO_TASK_BOUND.as_secs()
                ));
            }
            continue;
        }
        if tasks.iter().all(JobTask::ended) {
            let output = engine
                .prune_job_output()
                .await
                .map_err(|e| format!("cannot read the job's output: {e}"))?;
            return Ok((tasks, output));
        }
        if started.elapsed() > bound {
            return Err(format!(
                "the job did not finish within {}s; `docker service ps {}` shows its tasks",
                bound.as_secs(),
                maintenance::JOB_NAME
            ));
        }
    }
}

/// The run, from the job's tasks and output: a node whose task failed, or
/// that printed no report, is listed as not pruned.
fn outcome(window: u64, tasks: &[JobTask], output: &str) -> PruneRun {
    let nodes = maintenance::reports(output);
    let mut failed = Vec::new();
    for task in tasks {
        let reported = nodes.iter().any(|n| n.node == task.node);
        if task.state != "complete" && !reported {
            failed.push(format!(
                "{}: task {}{}",
                task.node,
                task.state,
                task.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
            ));
        } else if !reported {
            failed.push(format!("{}: no report in the job's output", task.node));
        }
    }
    PruneRun {
        window,
        finished: now_unix(),
        nodes,
        failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swarmkeeper_plan::maintenance::NodePrune;

    #[test]
    fn the_container_id_is_read_from_the_hostname_mount() {
        let id = "3f4e0c5b8a9d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7";
        let mountinfo = format!(
            "612 600 0:52 / / rw,relatime - overlay overlay rw\n\
             630 612 259:1 /var/lib/docker/containers/{id}/resolv.conf /etc/resolv.conf rw - ext4 /dev/root rw\n\
             631 612 259:1 /var/lib/docker/containers/{id}/hostname /etc/hostname rw - ext4 /dev/root rw\n"
        );
        assert_eq!(container_id(&mountinfo).as_deref(), Some(id));
        assert_eq!(container_id("22 1 0:21 / /proc rw - proc proc rw\n"), None);
        let short = "631 612 259:1 /var/lib/docker/containers/abc/hostname /etc/hostname rw - ext4 /dev/root rw";
        assert_eq!(container_id(short), None);
    }

    #[test]
    fn nodes_that_failed_or_never_reported_are_listed() {
        let report = NodePrune {
            node: "n1".into(),
            reclaimed_bytes: 9,
            ..NodePrune::default()
        };
        let task = |node: &str, state: &str, error: Option<&str>| JobTask {
            node: node.into(),
            state: state.into(),
            error: error.map(str::to_owned),
        };
        let tasks = [
            task("n1", "complete", None),
            task("n2", "complete", None),
            task("n3", "rejected", Some("No such image")),
        ];
        let run = outcome(5, &tasks, &report.to_line());
        assert_eq!(run.nodes, vec![report]);
        assert_eq!(
            run.failed,
            vec![
                "n2: no report in the job's output".to_owned(),
                "n3: task rejected (No such image)".to_owned()
            ]
        );
    }
}
