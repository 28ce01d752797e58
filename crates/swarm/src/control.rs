//! The controller's controls and its history, kept in the swarm: the labels
//! of the swarm configs `swarmkeeper-control` (suspension, pin) and
//! `swarmkeeper-history` (the revisions applied); what they mean is
//! `swarmkeeper_plan::control`. As with the lease, a label update carries
//! the config's version index, so two writers at once conflict and the
//! loser reads again: a `suspend` and a `pin` typed at the same moment both
//! take effect. The history is a config of its own so that recording a
//! revision is no change of the controls (whose events start a cycle).
//! A third, `swarmkeeper-fetch`, carries a replica's webhook to the others:
//! its label changes, every replica sees the event and fetches.

use std::collections::HashMap;

use bollard::models as api;
use bollard::query_parameters::UpdateConfigOptionsBuilder;
use swarmkeeper_plan::control::{Applied, Control, Controls, History};

use crate::engine::{Engine, EngineError};

pub const CONTROL_NAME: &str = "swarmkeeper-control";
pub const HISTORY_NAME: &str = "swarmkeeper-history";
pub const FETCH_NAME: &str = "swarmkeeper-fetch";
/// `<unix milliseconds> <replica>`: the last fetch a webhook asked for.
const FETCH_REQUESTED: &str = "io.swarmkeeper.fetch.requested";

/// Read-modify-write attempts before a busy config is reported.
const ATTEMPTS: usize = 5;

impl Engine {
    async fn config_named(&self, name: &'static str) -> Result<Option<api::Config>, EngineError> {
        match self
            .call("GET /configs/{id}", |d| async move { d.inspect_config(name).await })
            .await
        {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn labels_of(&self, name: &'static str) -> Result<HashMap<String, String>, EngineError> {
        Ok(self
            .config_named(name)
            .await?
            .and_then(|c| c.spec)
            .and_then(|s| s.labels)
            .unwrap_or_default())
    }

    /// Change the labels of config `name` with `change` (given the current
    /// labels, it returns the new ones, or `None` for no write), created
    /// when missing; conditional on the version read, retried on a conflict.
    pub(crate) async fn change_labels(
        &self,
        name: &'static str,
        mut change: impl FnMut(&HashMap<String, String>) -> Option<HashMap<String, String>>,
    ) -> Result<HashMap<String, String>, EngineError> {
        for _ in 0..ATTEMPTS {
            let Some(config) = self.config_named(name).await? else {
                let Some(labels) = change(&HashMap::new()) else {
                    return Ok(HashMap::new());
                };
                let spec = api::ConfigSpec {
                    name: Some(name.to_owned()),
                    labels: Some(labels.clone()),
                    data: Some(crate::observe::encode(b"swarmkeeper controller state (see its labels)")),
                    templating: None,
                };
                match self
                    .call("POST /configs/create", |d| async move { d.create_config(spec).await })
                    .await
                {
                    Ok(_) => return Ok(labels),
                    // Another writer created it first: read it and try again.
                    Err(EngineError::Api { status: Some(409), .. }) => continue,
                    Err(e) => return Err(e),
                }
            };
            let mut spec = config.spec.unwrap_or_default();
            let now = spec.labels.take().unwrap_or_default();
            let Some(labels) = change(&now) else {
                return Ok(now);
            };
            spec.labels = Some(labels.clone());
            let version = config.version.and_then(|v| v.index).unwrap_or(0);
            let id = config.id.unwrap_or_else(|| name.to_owned());
            let options = UpdateConfigOptionsBuilder::default()
                .version(i64::try_from(version).unwrap_or(i64::MAX))
                .build();
            match self
                .call("POST /configs/{id}/update", |d| async move {
                    d.update_config(&id, spec, options).await
                })
                .await
            {
                Ok(()) => return Ok(labels),
                Err(e) if e.is_out_of_sequence() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(EngineError::Busy {
            what: format!(
                "the swarm config `{name}` changed under {ATTEMPTS} attempts in a row: \
                 someone else is changing it; run the command again"
            ),
        })
    }

    /// The controls as the swarm records them (none set when the config
    /// does not exist).
    pub async fn controls(&self) -> Result<Controls, EngineError> {
        Ok(Controls::from_labels(&self.labels_of(CONTROL_NAME).await?))
    }

    /// Record `control`; the controls as written. Writes nothing when it
    /// changes nothing.
    pub async fn apply_control(&self, control: &Control) -> Result<Controls, EngineError> {
        let labels = self
            .change_labels(CONTROL_NAME, |labels| {
                let now = Controls::from_labels(labels);
                let next = now.after(control);
                (next != now).then(|| {
                    let mut labels = labels.clone();
                    next.write_labels(&mut labels);
                    labels
                })
            })
            .await?;
        Ok(Controls::from_labels(&labels))
    }

    /// Ask every replica to fetch the git source now (a webhook reached
    /// `by`, which may not hold the lease): one label update of the fetch
    /// config, whose event each replica's event stream carries.
    pub async fn request_fetch(&self, by: &str) -> Result<(), EngineError> {
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let value = format!("{at} {by}");
        self.change_labels(FETCH_NAME, |labels| {
            let mut labels = labels.clone();
            labels.insert(FETCH_REQUESTED.to_owned(), value.clone());
            Some(labels)
        })
        .await?;
        Ok(())
    }

    /// The revisions applied, oldest first.
    pub async fn history(&self) -> Result<History, EngineError> {
        Ok(History::from_labels(&self.labels_of(HISTORY_NAME).await?))
    }

    /// Record one applied revision (nothing is written when it says nothing
    /// new: see `History::record`).
    pub async fn record_applied(&self, entry: &Applied) -> Result<(), EngineError> {
        self.change_labels(HISTORY_NAME, |labels| {
            History::from_labels(labels).record(entry.clone()).map(|h| h.labels())
        })
        .await?;
        Ok(())
    }
}
