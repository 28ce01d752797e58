//! The scheduled prune's engine side: its record (labels of the swarm
//! config `swarmkeeper-maintenance`), the global job that runs `swarmkeeper
//! prune-node` once on every node, the job's tasks and output, and the
//! prune calls one node's engine gets. When a prune is due and what its
//! output means is `swarmkeeper_plan::maintenance`.

use std::collections::HashMap;

use bollard::models as api;
use bollard::query_parameters::{
    ListTasksOptionsBuilder, LogsOptionsBuilder, PruneBuildOptions, PruneContainersOptions, PruneImagesOptions,
    PruneNetworksOptions, PruneVolumesOptions,
};
use futures_util::StreamExt;
use swarmkeeper_plan::maintenance::{
    FINISHED_LABEL, JOB_NAME, NodePrune, PruneRun, RECLAIMED_LABEL, RECORD_NAME, WINDOW_LABEL,
};

use crate::engine::{Engine, EngineError};

/// Marks the job's service (not `managed-by`: it is no stack's).
pub const COMPONENT_LABEL: &str = "io.swarmkeeper.component";
pub const COMPONENT: &str = "maintenance";

/// The most output read from the job (a report is a line per node).
const MAX_OUTPUT: usize = 4 << 20;

/// How the job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneJob {
    /// swarmkeeper's own image (it runs `swarmkeeper prune-node`).
    pub image: String,
    /// The engine's socket on the nodes, bind-mounted into the task.
    pub socket: String,
    pub stagger_secs: u64,
    pub volumes: bool,
}

/// One task of the job, as the swarm reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTask {
    pub node: String,
    /// `complete`, `failed`, `running`, …
    pub state: String,
    /// The task's error, when it failed.
    pub error: Option<String>,
}

impl JobTask {
    /// Whether the task will not change any more.
    pub fn ended(&self) -> bool {
        matches!(
            self.state.as_str(),
            "complete" | "failed" | "rejected" | "shutdown" | "orphaned" | "remove"
        )
    }
}

impl Engine {
    /// The window the last prune ran for (`None`: none recorded).
    pub async fn prune_window(&self) -> Result<Option<u64>, EngineError> {
        Ok(self
            .labels_of(RECORD_NAME)
            .await?
            .get(WINDOW_LABEL)
            .and_then(|v| v.parse().ok()))
    }

    /// Record that the prune ran for `window` (or, with no `run`, that the
    /// schedule starts at it).
    pub async fn record_prune(&self, window: u64, run: Option<&PruneRun>) -> Result<(), EngineError> {
        self.change_labels(RECORD_NAME, |now| {
            let mut next = now.clone();
            next.insert(WINDOW_LABEL.to_owned(), window.to_string());
            if let Some(run) = run {
                next.insert(FINISHED_LABEL.to_owned(), run.finished.to_string());
                next.insert(RECLAIMED_LABEL.to_owned(), run.reclaimed_bytes().to_string());
            }
            (next != *now).then_some(next)
        })
        .await?;
        Ok(())
    }

    /// Start the job (a leftover one, from a controller that stopped
    /// mid-run, is removed first).
    pub async fn start_prune_job(&self, job: &PruneJob) -> Result<(), EngineError> {
        self.remove_prune_job().await?;
        let mut args = vec![
            "prune-node".to_owned(),
            "--stagger".to_owned(),
            format!("{}s", job.stagger_secs),
        ];
        if job.volumes {
            args.push("--volumes".to_owned());
        }
        let spec = api::ServiceSpec {
            name: Some(JOB_NAME.to_owned()),
            labels: Some(HashMap::from([(COMPONENT_LABEL.to_owned(), COMPONENT.to_owned())])),
            mode: Some(api::ServiceSpecMode {
                global_job: Some(HashMap::new()),
                ..Default::default()
            }),
            task_template: Some(api::TaskSpec {
                container_spec: Some(api::TaskSpecContainerSpec {
                    image: Some(job.image.clone()),
                    args: Some(args),
                    // Swarm's templates: each task learns its node.
                    env: Some(vec![
                        "SWARMKEEPER_NODE_ID={{.Node.ID}}".to_owned(),
                        "SWARMKEEPER_NODE_HOSTNAME={{.Node.Hostname}}".to_owned(),
                    ]),
                    mounts: Some(vec![api::Mount {
                        target: Some("/var/run/docker.sock".to_owned()),
                        source: Some(job.socket.clone()),
                        typ: Some(api::MountType::BIND),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                restart_policy: Some(api::TaskSpecRestartPolicy {
                    condition: Some(api::TaskSpecRestartPolicyConditionEnum::NONE),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let credentials = self.credentials_for(&job.image).await?;
        self.call("POST /services/create", |d| async move {
            d.create_service(spec, credentials).await
        })
        .await?;
        Ok(())
    }

    /// The job's tasks (empty when it does not exist).
    pub async fn prune_job_tasks(&self) -> Result<Vec<JobTask>, EngineError> {
        let filters = HashMap::from([("service", vec![JOB_NAME])]);
        let options = ListTasksOptionsBuilder::default().filters(&filters).build();
        let tasks = match self
            .call("GET /tasks", |d| async move { d.list_tasks(Some(options)).await })
            .await
        {
            Ok(tasks) => tasks,
            Err(e) if e.is_not_found() => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        Ok(tasks
            .into_iter()
            .map(|t| {
                let status = t.status.unwrap_or_default();
                JobTask {
                    node: t.node_id.unwrap_or_default(),
                    state: status.state.map(|s| s.to_string()).unwrap_or_default(),
                    error: status.err.filter(|e| !e.is_empty()),
                }
            })
            .collect())
    }

    /// What the job's tasks printed, stdout and stderr (bounded).
    pub async fn prune_job_output(&self) -> Result<String, EngineError> {
        self.record("GET /services/{id}/logs");
        let options = LogsOptionsBuilder::default().stdout(true).stderr(true).build();
        let mut stream = self.docker().service_logs(JOB_NAME, Some(options));
        let mut out = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| EngineError::from_bollard("GET /services/{id}/logs", e))?;
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            if out.len() > MAX_OUTPUT {
                break;
            }
        }
        Ok(out)
    }

    /// The image container `id` (a name or ID prefix) runs, as its config
    /// says (`None`: no such container).
    pub async fn container_image(&self, id: &str) -> Result<Option<String>, EngineError> {
        let id = id.to_owned();
        match self
            .call("GET /containers/{id}/json", |d| async move {
                d.inspect_container(&id, None).await
            })
            .await
        {
            Ok(c) => Ok(c.config.and_then(|c| c.image).filter(|i| !i.is_empty())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Remove the job (nothing when it is not there).
    pub async fn remove_prune_job(&self) -> Result<(), EngineError> {
        match self
            .call(
                "DELETE /services/{id}",
                |d| async move { d.delete_service(JOB_NAME).await },
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Prune this engine as `docker system prune` does (stopped
    /// containers, unused networks, dangling images, build cache), and
    /// unused volumes with `volumes`. A part that fails is reported in
    /// `errors`; the others still run.
    pub async fn prune_here(&self, volumes: bool) -> NodePrune {
        let mut report = NodePrune::default();
        let bytes = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        match self
            .call("POST /containers/prune", |d| async move {
                d.prune_containers(None::<PruneContainersOptions>).await
            })
            .await
        {
            Ok(r) => {
                report.containers = r.containers_deleted.map_or(0, |c| c.len() as u64);
                report.reclaimed_bytes += bytes(r.space_reclaimed);
            }
            Err(e) => report.errors.push(format!("containers: {e}")),
        }
        match self
            .call("POST /networks/prune", |d| async move {
                d.prune_networks(None::<PruneNetworksOptions>).await
            })
            .await
        {
            Ok(r) => report.networks = r.networks_deleted.map_or(0, |n| n.len() as u64),
            Err(e) => report.errors.push(format!("networks: {e}")),
        }
        if volumes {
            match self
                .call("POST /volumes/prune", |d| async move {
                    d.prune_volumes(None::<PruneVolumesOptions>).await
                })
                .await
            {
                Ok(r) => {
                    report.volumes = r.volumes_deleted.map_or(0, |v| v.len() as u64);
                    report.reclaimed_bytes += bytes(r.space_reclaimed);
                }
                Err(e) => report.errors.push(format!("volumes: {e}")),
            }
        }
        // The engine's default: dangling images only.
        match self
            .call("POST /images/prune", |d| async move {
                d.prune_images(None::<PruneImagesOptions>).await
            })
            .await
        {
            Ok(r) => {
                report.images = r.images_deleted.map_or(0, |i| i.len() as u64);
                report.reclaimed_bytes += bytes(r.space_reclaimed);
            }
            Err(e) => report.errors.push(format!("images: {e}")),
        }
        match self
            .call("POST /build/prune", |d| async move {
                d.prune_build(None::<PruneBuildOptions>).await
            })
            .await
        {
            Ok(r) => {
                report.build_cache_bytes = bytes(r.space_reclaimed);
                report.reclaimed_bytes += report.build_cache_bytes;
            }
            Err(e) => report.errors.push(format!("build cache: {e}")),
        }
        report
    }
}
