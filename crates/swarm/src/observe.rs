//! Observation: one list call per object kind, all at once, translated to
//! the plan's snapshot. Reads grow with the number of kinds, not objects.

use std::collections::HashMap;

use base64::Engine as _;
use bollard::query_parameters::{
    ListConfigsOptions, ListNetworksOptions, ListNodesOptions, ListSecretsOptions, ListServicesOptions,
    ListTasksOptions, ListVolumesOptions,
};
use swarmkeeper_plan::closed_set::UnknownWord;
use swarmkeeper_plan::node_types::NodeState;
use swarmkeeper_plan::observed::*;
use swarmkeeper_plan::spec::FileKind;

use crate::engine::{Engine, EngineError};
use crate::translate::{config_from_api, network_from_api, secret_from_api, service_from_api};

fn sorted(map: Option<HashMap<String, String>>) -> std::collections::BTreeMap<String, String> {
    map.unwrap_or_default().into_iter().collect()
}

/// A word of a closed set (a node's role, its availability) the engine
/// must send: absent or unknown is an error, never a default.
fn closed<T>(what: &str, node: &str, word: Option<String>) -> Result<T, EngineError>
where
    T: std::str::FromStr<Err = UnknownWord>,
{
    let word = word.filter(|w| !w.is_empty()).ok_or_else(|| EngineError::Api {
        call: "GET /nodes",
        status: None,
        message: format!("node {node} has no {what}: the engine's answer is incomplete"),
    })?;
    word.parse().map_err(|e: UnknownWord| EngineError::Api {
        call: "GET /nodes",
        status: None,
        message: format!("node {node}: {e}"),
    })
}

/// A task's state (a set the engine may grow: an unknown word is kept);
/// absent is an error.
fn task_state(what: &str, task: &str, word: Option<String>) -> Result<TaskState, EngineError> {
    match word.filter(|w| !w.is_empty()) {
        Some(w) => Ok(TaskState::from_word(&w)),
        None => Err(EngineError::Api {
            call: "GET /tasks",
            status: None,
            message: format!("task {task} has no {what}: the engine's answer is incomplete"),
        }),
    }
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
                spec: service_from_api(&spec, &network_names).map_err(|e| EngineError::Unreadable {
                    call: "GET /services",
                    what: e.to_string(),
                })?,
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
            // swarmkeeper's own bookkeeping, not a desired object.
            if spec.name.as_deref() == Some(crate::revision_key::KEY_CONFIG) {
                continue;
            }
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
            let role = closed(
                "node role",
                &id,
                n.spec.as_ref().and_then(|s| s.role).map(|r| r.to_string()),
            )?;
            let availability = closed(
                "node availability",
                &id,
                n.spec.as_ref().and_then(|s| s.availability).map(|a| a.to_string()),
            )?;
            let spec = n.spec.unwrap_or_default();
            let desc = n.description.unwrap_or_default();
            let status = n.status.unwrap_or_default();
            out.nodes.push(ObservedNode {
                id,
                hostname: desc.hostname.unwrap_or_default(),
                role,
                availability,
                // Absent is "unknown": the lifecycle takes only `ready` as ready.
                state: status
                    .state
                    .map_or(NodeState::Unknown, |s| NodeState::from_word(&s.to_string())),
                addr: status.addr.unwrap_or_default(),
                manager_addr: n.manager_status.as_ref().and_then(|m| m.addr.clone()),
                reachable: n
                    .manager_status
                    .as_ref()
                    .and_then(|m| m.reachability)
                    .is_some_and(|r| r.to_string() == "reachable"),
                labels: sorted(spec.labels),
                engine_labels: sorted(desc.engine.and_then(|e| e.labels)),
                // Unknown (absent, unparsable, Go's zero time) stays unknown:
                // the lifecycle reads it as "just now", never as "long ago".
                updated_unix: n.updated_at.as_deref().and_then(rfc3339_unix),
                leader: n.manager_status.as_ref().and_then(|m| m.leader).unwrap_or(false),
            });
        }
        for t in tasks {
            let Some(id) = t.id else { continue };
            let status = t.status.unwrap_or_default();
            let state = task_state("state", &id, status.state.map(|s| s.to_string()))?;
            let desired_state = task_state("desired state", &id, t.desired_state.map(|s| s.to_string()))?;
            out.tasks.push(ObservedTask {
                id,
                service_id: t.service_id.unwrap_or_default(),
                node_id: t.node_id.filter(|n| !n.is_empty()),
                state,
                desired_state,
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
        let Some(endpoint) = self.raw_endpoint() else {
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
        serde_json::from_value(value).map_err(|e| EngineError::Unreadable {
            call: "GET /services",
            what: e.to_string(),
        })
    }
}

/// Base64 as the Engine API wants config and secret data.
pub(crate) fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Seconds since the epoch of an RFC 3339 time as the engine writes it
/// (`2026-11-24T23:35:50.898428123Z`, or with an offset such as `+01:00`,
/// fractions of any length). `None` for anything else, for times outside
/// their ranges and for times at or before the epoch (Go's zero time
/// `0001-01-01T00:00:00Z` means "never set").
pub(crate) fn rfc3339_unix(s: &str) -> Option<u64> {
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let num = |p: &str, len: usize| -> Option<i64> {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?, 4)?, num(d.next()?, 2)?, num(d.next()?, 2)?);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=days_in_month(y, m)).contains(&day) {
        return None;
    }
    // The offset: `Z`, or `±hh:mm` (east of UTC is ahead: subtract it).
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, off) = time.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        let (oh, om) = (num(oh, 2)?, num(om, 2)?);
        if oh > 23 || om > 59 {
            return None;
        }
        (c, sign * (oh * 3600 + om * 60))
    };
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (clock, None),
    };
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut t = hms.split(':');
    let (h, min, sec) = (num(t.next()?, 2)?, num(t.next()?, 2)?, num(t.next()?, 2)?);
    if t.next().is_some() || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let unix = days * 86_400 + h * 3600 + min * 60 + sec - offset;
    u64::try_from(unix).ok().filter(|&t| t > 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::rfc3339_unix;

    #[test]
    fn engine_times_become_unix_seconds() {
        assert_eq!(rfc3339_unix("1970-01-01T00:00:01Z"), Some(1));
        assert_eq!(rfc3339_unix("2026-11-24T23:35:50.898428123Z"), Some(1_795_563_350));
        assert_eq!(rfc3339_unix("2026-11-24T23:35:50Z"), Some(1_795_563_350));
        assert_eq!(rfc3339_unix("2000-02-29T12:00:00Z"), Some(951_825_600));
    }

    #[test]
    fn offsets_are_taken_into_account() {
        // The same instant, written in three zones.
        assert_eq!(rfc3339_unix("2026-11-25T00:35:50.898428123+01:00"), Some(1_795_563_350));
        assert_eq!(rfc3339_unix("2026-11-24T18:05:50.5-05:30"), Some(1_795_563_350));
        assert_eq!(rfc3339_unix("2026-11-24T23:35:50+00:00"), Some(1_795_563_350));
    }

    #[test]
    fn unknown_times_are_none_never_zero() {
        for s in [
            "0001-01-01T00:00:00Z", // Go's zero time: never set
            "1970-01-01T00:00:00Z", // the epoch itself is "unset" too
            "1969-12-31T23:59:59Z",
            "",
            "yesterday",
            "2026-11-24",
            "2026-11-24T23:35:50",       // no zone
            "2026-13-01T00:00:00Z",      // month
            "2026-02-30T00:00:00Z",      // day
            "2026-11-24T24:00:00Z",      // hour
            "2026-11-24T23:35:50.Z",     // empty fraction
            "2026-11-24T23:35:50.12x4Z", // junk fraction
            "2026-11-24T23:35:50+1:00",  // offset digits
            "+2026-11-24T23:35:50Z",
            "2026-11-24T23:35:50Z trailing",
        ] {
            assert_eq!(rfc3339_unix(s), None, "{s:?}");
        }
    }
}
