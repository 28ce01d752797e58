//! The controller's controls, kept in the swarm: the labels of a swarm
//! config named `swarmkeeper-control` (what they mean is
//! `swarmkeeper_plan::control`). As with the lease, a label update carries
//! the config's version index, so two writers at once conflict and the
//! loser reads again: a `suspend` and a `resume --stack` typed at the same
//! moment both take effect.

use bollard::models as api;
use bollard::query_parameters::UpdateConfigOptionsBuilder;
use swarmkeeper_plan::control::{Control, Suspension};

use crate::engine::{Engine, EngineError};

pub const CONTROL_NAME: &str = "swarmkeeper-control";

/// Read-modify-write attempts before a busy config is reported.
const ATTEMPTS: usize = 5;

impl Engine {
    async fn control_config(&self) -> Result<Option<api::Config>, EngineError> {
        match self
            .call(
                "GET /configs/{id}",
                |d| async move { d.inspect_config(CONTROL_NAME).await },
            )
            .await
        {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The suspension as the swarm records it (none when the config does
    /// not exist: nothing was ever suspended).
    pub async fn suspension(&self) -> Result<Suspension, EngineError> {
        Ok(self
            .control_config()
            .await?
            .and_then(|c| c.spec)
            .and_then(|s| s.labels)
            .map(|l| Suspension::from_labels(&l))
            .unwrap_or_default())
    }

    /// Record `control`; the suspension as written. Writes nothing when
    /// it changes nothing.
    pub async fn apply_control(&self, control: &Control) -> Result<Suspension, EngineError> {
        for _ in 0..ATTEMPTS {
            let Some(config) = self.control_config().await? else {
                let next = Suspension::default().after(control);
                if next.is_none() {
                    return Ok(next);
                }
                let mut labels = std::collections::HashMap::new();
                next.write_labels(&mut labels);
                let spec = api::ConfigSpec {
                    name: Some(CONTROL_NAME.to_owned()),
                    labels: Some(labels),
                    data: Some(crate::observe::encode(
                        b"swarmkeeper controller controls (see its labels)",
                    )),
                    templating: None,
                };
                match self
                    .call("POST /configs/create", |d| async move { d.create_config(spec).await })
                    .await
                {
                    Ok(_) => return Ok(next),
                    // Another writer created it first: read it and try again.
                    Err(EngineError::Api { status: Some(409), .. }) => continue,
                    Err(e) => return Err(e),
                }
            };
            let mut spec = config.spec.unwrap_or_default();
            let mut labels = spec.labels.take().unwrap_or_default();
            let now = Suspension::from_labels(&labels);
            let next = now.after(control);
            if next == now {
                return Ok(next);
            }
            next.write_labels(&mut labels);
            spec.labels = Some(labels);
            let version = config.version.and_then(|v| v.index).unwrap_or(0);
            let id = config.id.unwrap_or_else(|| CONTROL_NAME.to_owned());
            let options = UpdateConfigOptionsBuilder::default()
                .version(i64::try_from(version).unwrap_or(i64::MAX))
                .build();
            match self
                .call("POST /configs/{id}/update", |d| async move {
                    d.update_config(&id, spec, options).await
                })
                .await
            {
                Ok(()) => return Ok(next),
                Err(e) if e.is_out_of_sequence() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(EngineError::Busy {
            what: format!(
                "the swarm config `{CONTROL_NAME}` changed under {ATTEMPTS} attempts in a row: \
                 someone else is changing the controls; run the command again"
            ),
        })
    }
}
