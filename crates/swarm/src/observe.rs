//! Observation: one list call per object kind, all at once, translated to
//! the plan's snapshot. Reads grow with the number of kinds, not objects.

use std::collections::HashMap;

use base64::Engine as _;
use bollard::query_parameters::{
    ListConfigsOptions, ListNetworksOptions, ListNodesOptions, ListSecretsOptions, ListServicesOptions,
    ListTasksOptions, ListVolumesOptions,
};
use swarmkeeper_plan::observed::*;
use swarmkeeper_plan::spec::FileKind;

use crate::engine::{Engine, EngineError};
use crate::translate::{config_from_api, network_from_api, secret_from_api, service_from_api};

fn sorted(map: Option<HashMap<String, String>>) -> std::collections::BTreeMap<String, String> {
    map.unwrap_or_default().into_iter().collect()
}

impl Engine {
    /// Everything swarmkeeper needs to plan, from seven list calls.
    pub async fn observe(&self) -> Result<ObservedSwarm, EngineError> {
        let (services, networks, configs, secrets, nodes, tasks, volumes) = tokio::try_join!(
            self.list_services(),
            self.call("GET /networks", |d| async move {
                d.list_networks(None::<ListNetworksOptions>).await
            }),
            self.call("GET /configs", |d| async move {
                d.list_configs(None::<ListConfigsOptions>).await
            }),
            self.call("GET /secrets", |d| async move {
                d.list_secrets(None::<ListSecretsOptions>).await
            }),
            self.call(
                "GET /nodes",
                |d| async move { d.list_nodes(None::<ListNodesOptions>).await }
            ),
            self.call(
                "GET /tasks",
                |d| async move { d.list_tasks(None::<ListTasksOptions>).await }
            ),
            self.call("GET /volumes", |d| async move {
                d.list_volumes(None::<ListVolumesOptions>).await
            }),
        )?;

        let network_names: HashMap<String, String> = networks
            .iter()
            .filter_map(|n| Some((n.id.clone()?, n.name.clone()?)))
            .collect();
        let mut out = ObservedSwarm::default();
        for s in services {
            let (Some(id), Some(spec)) = (s.id, s.spec) else {
                continue;
            };
            out.services.push(ObservedService {
                id,
                version: s.version.and_then(|v| v.index).unwrap_or(0),
                spec: service_from_api(&spec, &network_names),
            });
        }
        for n in &networks {
            let Some(id) = n.id.clone() else { continue };
            out.networks.push(ObservedNetwork {
                id,
                spec: network_from_api(n),
                scope: n.scope.clone().unwrap_or_default(),
            });
        }
        for c in configs {
            let (Some(id), Some(spec)) = (c.id, c.spec) else {
                continue;
            };
            let file = config_from_api(&spec);
            out.files.push(ObservedFile {
                kind: FileKind::Config,
                id,
                name: file.name,
                version: c.version.and_then(|v| v.index).unwrap_or(0),
                labels: file.labels,
            });
        }
        for s in secrets {
            let (Some(id), Some(spec)) = (s.id, s.spec) else {
                continue;
            };
            let file = secret_from_api(&spec);
            out.files.push(ObservedFile {
                kind: FileKind::Secret,
                id,
                name: file.name,
                version: s.version.and_then(|v| v.index).unwrap_or(0),
                labels: file.labels,
            });
        }
        for n in nodes {
            let Some(id) = n.id else { continue };
            let spec = n.spec.unwrap_or_default();
            let desc = n.description.unwrap_or_default();
            let status = n.status.unwrap_or_default();
            out.nodes.push(ObservedNode {
                id,
                hostname: desc.hostname.unwrap_or_default(),
                role: spec.role.map(|r| r.to_string()).unwrap_or_default(),
                availability: spec.availability.map(|a| a.to_string()).unwrap_or_default(),
                state: status.state.map(|s| s.to_string()).unwrap_or_default(),
                addr: status.addr.unwrap_or_default(),
                manager_addr: n.manager_status.as_ref().and_then(|m| m.addr.clone()),
                reachable: n
                    .manager_status
                    .as_ref()
                    .and_then(|m| m.reachability)
                    .is_some_and(|r| r.to_string() == "reachable"),
                labels: sorted(spec.labels),
                engine_labels: sorted(desc.engine.and_then(|e| e.labels)),
                updated_unix: n.updated_at.as_deref().and_then(rfc3339_unix).unwrap_or(0),
                leader: n.manager_status.as_ref().and_then(|m| m.leader).unwrap_or(false),
            });
        }
        for t in tasks {
            let Some(id) = t.id else { continue };
            let status = t.status.unwrap_or_default();
            out.tasks.push(ObservedTask {
                id,
                service_id: t.service_id.unwrap_or_default(),
                node_id: t.node_id.filter(|n| !n.is_empty()),
                state: status.state.map(|s| s.to_string()).unwrap_or_default(),
                desired_state: t.desired_state.map(|s| s.to_string()).unwrap_or_default(),
                image: t
                    .spec
                    .and_then(|s| s.container_spec)
                    .and_then(|c| c.image)
                    .unwrap_or_default(),
                error: status.err.filter(|e| !e.is_empty()),
            });
        }
        out.volumes = volumes
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        Ok(out)
    }
}

impl Engine {
    /// `GET /services`, read so that health checks survive (see [`crate::raw`]).
    async fn list_services(&self) -> Result<Vec<bollard::models::Service>, EngineError> {
        let Some(endpoint) = crate::raw::RawEndpoint::parse(self.endpoint()) else {
            return self
                .call("GET /services", |d| async move {
                    d.list_services(None::<ListServicesOptions>).await
                })
                .await;
        };
        self.record("GET /services");
        let path = format!("/v{}/services", self.api_version());
        let mut value = crate::raw::get_json(&endpoint, &path)
            .await
            .map_err(|e| EngineError::Api {
                call: "GET /services",
                status: None,
                message: e.to_string(),
            })?;
        crate::raw::fix_healthcheck_keys(&mut value);
        serde_json::from_value(value).map_err(|e| EngineError::Api {
            call: "GET /services",
            status: None,
            message: format!("unexpected answer: {e}"),
        })
    }
}

/// Base64 as the Engine API wants config and secret data.
pub(crate) fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Seconds since the epoch of an RFC 3339 UTC time as the engine writes it
/// (`2026-11-24T23:35:50.898428Z`); `None` for anything else.
fn rfc3339_unix(s: &str) -> Option<u64> {
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.strip_suffix('Z')?;
    let hms = time.split('.').next()?;
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, min, sec) = (t.next()??, t.next()??, t.next()??);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + min * 60 + sec).ok()
}

#[cfg(test)]
mod tests {
    use super::rfc3339_unix;

    #[test]
    fn engine_times_become_unix_seconds() {
        assert_eq!(rfc3339_unix("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_unix("2026-11-24T23:35:50.898428123Z"), Some(1_795_563_350));
        assert_eq!(rfc3339_unix("2000-02-29T12:00:00Z"), Some(951_825_600));
        assert_eq!(rfc3339_unix("yesterday"), None);
    }
}
