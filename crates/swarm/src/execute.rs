//! Executing one plan action: one create, update or remove call.
//!
//! Removals of something already gone succeed (idempotence). Service
//! updates send the version index they were planned against; when swarm
//! answers "update out of sequence" (someone else updated the service in
//! between) the service is re-read and the update retried with backoff.

use std::collections::HashMap;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bollard::models as api;
use bollard::query_parameters::{
    DeleteNodeOptionsBuilder, InspectServiceOptions, UpdateNodeOptionsBuilder, UpdateServiceOptionsBuilder,
};
use swarmkeeper_plan::Action;
use swarmkeeper_plan::nodes::{NodeAvailability, NodeChange, NodeRole};
use swarmkeeper_plan::observed::ObservedSwarm;
use swarmkeeper_plan::spec::{FileKind, FileObjectSpec};

use crate::engine::{Engine, EngineError};
use crate::translate::{config_to_api, network_to_api, secret_to_api, service_to_api};

/// Names → ids of networks, configs and secrets, from observation and
/// from what this run created.
#[derive(Debug, Clone, Default)]
pub struct Ids {
    networks: HashMap<String, String>,
    configs: HashMap<String, String>,
    secrets: HashMap<String, String>,
}

impl Ids {
    pub fn from_observed(observed: &ObservedSwarm) -> Self {
        let mut ids = Ids::default();
        for n in observed.networks.iter().filter(|n| n.scope == "swarm") {
            ids.networks.insert(n.spec.name.clone(), n.id.clone());
        }
        for f in &observed.files {
            ids.insert(f.kind, &f.name, &f.id);
        }
        ids
    }

    pub fn insert(&mut self, kind: FileKind, name: &str, id: &str) {
        let map = match kind {
            FileKind::Config => &mut self.configs,
            FileKind::Secret => &mut self.secrets,
        };
        map.insert(name.to_owned(), id.to_owned());
    }

    pub fn insert_network(&mut self, name: &str, id: &str) {
        self.networks.insert(name.to_owned(), id.to_owned());
    }

    /// The id of a network, or its name (the engine resolves names too).
    pub fn network(&self, name: &str) -> String {
        self.networks.get(name).cloned().unwrap_or_else(|| name.to_owned())
    }

    pub fn secret(&self, name: &str) -> Option<String> {
        self.secrets.get(name).cloned()
    }

    pub fn config(&self, name: &str) -> Option<String> {
        self.configs.get(name).cloned()
    }
}

/// What an executed action left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    CreatedNetwork {
        name: String,
        id: String,
    },
    CreatedFile {
        kind: FileKind,
        name: String,
        id: String,
    },
    CreatedService {
        id: String,
    },
    Updated,
    Removed,
    /// A removal found nothing to remove.
    AlreadyGone,
}

impl Engine {
    pub async fn execute(&self, action: &Action, ids: &Ids) -> Result<Outcome, EngineError> {
        match action {
            Action::CreateNetwork { spec } => {
                let request = network_to_api(spec);
                let created = self
                    .call(
                        "POST /networks/create",
                        |d| async move { d.create_network(request).await },
                    )
                    .await?;
                Ok(Outcome::CreatedNetwork {
                    name: spec.name.clone(),
                    id: created.id,
                })
            }
            Action::RemoveNetwork { id, .. } => {
                let remove = || {
                    let id = id.clone();
                    self.call("DELETE /networks/{id}", |d| async move { d.remove_network(&id).await })
                };
                gone_ok(remove.retry(while_in_use()).when(EngineError::is_in_use).await)
            }
            Action::CreateFile { kind, spec } => self.create_file(*kind, spec).await,
            Action::RemoveFile { kind, id, .. } => {
                let remove = || async {
                    let id = id.clone();
                    match kind {
                        FileKind::Config => {
                            self.call("DELETE /configs/{id}", |d| async move { d.delete_config(&id).await })
                                .await
                        }
                        FileKind::Secret => {
                            self.call("DELETE /secrets/{id}", |d| async move { d.delete_secret(&id).await })
                                .await
                        }
                    }
                };
                gone_ok(remove.retry(while_in_use()).when(EngineError::is_in_use).await)
            }
            Action::CreateService { spec } => {
                let request = service_to_api(spec, ids)?;
                let credentials = self.credentials_for(&spec.task.container.image).await?;
                let created = self
                    .call("POST /services/create", |d| async move {
                        d.create_service(request, credentials).await
                    })
                    .await?;
                Ok(Outcome::CreatedService {
                    id: created.id.unwrap_or_default(),
                })
            }
            Action::UpdateService { id, version, spec, .. } => {
                let credentials = self.credentials_for(&spec.task.container.image).await?;
                self.update_service(id, *version, service_to_api(spec, ids)?, credentials)
                    .await
            }
            Action::RemoveService { id, .. } => {
                let id = id.clone();
                gone_ok(
                    self.call("DELETE /services/{id}", |d| async move { d.delete_service(&id).await })
                        .await,
                )
            }
            Action::UpdateNode { id, change, .. } => self.update_node(id, change).await,
            Action::RemoveNode { id, .. } => {
                let id = id.clone();
                let options = DeleteNodeOptionsBuilder::default().force(true).build();
                gone_ok(
                    self.call("DELETE /nodes/{id}", |d| async move {
                        d.delete_node(&id, Some(options)).await
                    })
                    .await,
                )
            }
            Action::Aws { .. } => Err(EngineError::Api {
                call: "execute",
                status: None,
                message: "an AWS action was routed to the swarm provider".to_owned(),
            }),
        }
    }

    async fn create_file(&self, kind: FileKind, spec: &FileObjectSpec) -> Result<Outcome, EngineError> {
        let id = match kind {
            FileKind::Config => {
                let request = config_to_api(spec);
                self.call(
                    "POST /configs/create",
                    |d| async move { d.create_config(request).await },
                )
                .await?
                .id
            }
            FileKind::Secret => {
                let request = secret_to_api(spec);
                self.call(
                    "POST /secrets/create",
                    |d| async move { d.create_secret(request).await },
                )
                .await?
                .id
            }
        };
        Ok(Outcome::CreatedFile {
            kind,
            name: spec.name.clone(),
            id,
        })
    }

    /// Read the node, apply `change` to its spec, write it back with the
    /// version just read (again on "update out of sequence": heartbeats
    /// and other writers move a node's version often).
    async fn update_node(&self, id: &str, change: &NodeChange) -> Result<Outcome, EngineError> {
        let attempt = || async {
            let target = id.to_owned();
            let node = self
                .call("GET /nodes/{id}", |d| async move { d.inspect_node(&target).await })
                .await?;
            let version = node.version.and_then(|v| v.index).unwrap_or(0);
            let mut spec = node.spec.unwrap_or_default();
            if let Some(role) = change.role {
                spec.role = Some(match role {
                    NodeRole::Manager => api::NodeSpecRoleEnum::MANAGER,
                    NodeRole::Worker => api::NodeSpecRoleEnum::WORKER,
                });
            }
            if let Some(availability) = change.availability {
                spec.availability = Some(match availability {
                    NodeAvailability::Active => api::NodeSpecAvailabilityEnum::ACTIVE,
                    NodeAvailability::Pause => api::NodeSpecAvailabilityEnum::PAUSE,
                    NodeAvailability::Drain => api::NodeSpecAvailabilityEnum::DRAIN,
                });
            }
            if !change.labels.is_empty() {
                let labels = spec.labels.get_or_insert_with(Default::default);
                labels.extend(change.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            let options = UpdateNodeOptionsBuilder::default()
                .version(i64::try_from(version).unwrap_or(i64::MAX))
                .build();
            let target = id.to_owned();
            self.call("POST /nodes/{id}/update", |d| async move {
                d.update_node(&target, spec, options).await
            })
            .await
        };
        attempt
            .retry(out_of_sequence_backoff())
            .when(EngineError::is_out_of_sequence)
            .await?;
        Ok(Outcome::Updated)
    }

    async fn update_service(
        &self,
        id: &str,
        planned_version: u64,
        spec: api::ServiceSpec,
        credentials: Option<bollard::auth::DockerCredentials>,
    ) -> Result<Outcome, EngineError> {
        let version = std::sync::atomic::AtomicU64::new(planned_version);
        let attempt = || async {
            let v = version.load(std::sync::atomic::Ordering::SeqCst);
            let options = UpdateServiceOptionsBuilder::default()
                .version(i32::try_from(v).unwrap_or(i32::MAX))
                .build();
            let (target, spec, credentials) = (id.to_owned(), spec.clone(), credentials.clone());
            let result = self
                .call("POST /services/{id}/update", |d| async move {
                    d.update_service(&target, spec, options, credentials).await
                })
                .await;
            if let Err(e) = &result
                && e.is_out_of_sequence()
            {
                // Someone updated it since we looked: read the new index.
                let id = id.to_owned();
                let current = self
                    .call("GET /services/{id}", |d| async move {
                        d.inspect_service(&id, None::<InspectServiceOptions>).await
                    })
                    .await?;
                if let Some(index) = current.version.and_then(|v| v.index) {
                    version.store(index, std::sync::atomic::Ordering::SeqCst);
                }
            }
            result
        };
        attempt
            .retry(out_of_sequence_backoff())
            .when(EngineError::is_out_of_sequence)
            .await?;
        Ok(Outcome::Updated)
    }
}

/// How long a removal waits for the tasks of removed or updated services to
/// let go of a network, config or secret: about 30 s in all.
fn while_in_use() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(4))
        .with_max_times(12)
}

fn gone_ok(result: Result<(), EngineError>) -> Result<Outcome, EngineError> {
    match result {
        Ok(()) => Ok(Outcome::Removed),
        Err(e) if e.is_not_found() => Ok(Outcome::AlreadyGone),
        Err(e) => Err(e),
    }
}

/// Retries of an update that met "update out of sequence" (another writer
/// moved the object's version): short, bounded, jittered.
fn out_of_sequence_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(2))
        .with_max_times(5)
        .with_jitter()
}
