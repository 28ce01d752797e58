//! The compact status of a cluster, kept in SSM (`<prefix>/status`) by
//! whoever applies — the controller's cycle or a CLI `reconcile` — so that
//! `swarmkeeper status --cluster` can read it with AWS credentials alone.
//! Its sync and health words are `/status`'s. This module owns the
//! document (fields, compact JSON under [`MAX_BYTES`], parsing it back),
//! the "did it change?" rule (everything but `updated_at`), the nodes
//! ready per pool, and the RFC 3339 time; no clock is read here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::closed_set::{UnknownWord, closed_set};
use crate::node_types::{LABEL_POOL, NodeRole, NodeState};
use crate::observed::ObservedNode;

closed_set! {
    /// Whether the platform matches the desired state (as `/status` says it).
    #[derive(Default)]
    pub enum SyncStatus("sync status") {
        Synced = "Synced",
        OutOfSync = "OutOfSync",
        /// The controller is suspended (`swarmkeeper suspend`), or it holds
        /// the changes of suspended stacks back: found, not applied.
        Suspended = "Suspended",
        #[default]
        Unknown = "Unknown",
    }
}

closed_set! {
    /// Whether the managed services run the tasks they ask for.
    #[derive(Default)]
    pub enum HealthStatus("health status") {
        Healthy = "Healthy",
        Degraded = "Degraded",
        #[default]
        Unknown = "Unknown",
    }
}

closed_set! {
    /// Who wrote the status.
    pub enum Writer("status writer") {
        Controller = "controller",
        Cli = "cli",
    }
}

/// The parameter's size limit is 4 KiB (standard tier); the document stays
/// under it by shortening `last_error`.
pub const MAX_BYTES: usize = 4000;

/// Nodes of one pool: ready in the swarm, and asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PoolCount {
    pub ready: u32,
    pub desired: u32,
}

/// The document under `<prefix>/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    pub applied_revision: Option<String>,
    pub sync_status: SyncStatus,
    pub health_status: HealthStatus,
    /// `managers`, `workers` → counts.
    pub pools: BTreeMap<String, PoolCount>,
    pub last_error: Option<String>,
    /// RFC 3339, UTC (see [`rfc3339`]).
    pub updated_at: String,
    pub writer: Writer,
}

#[derive(Deserialize)]
struct Raw {
    applied_revision: Option<String>,
    sync_status: String,
    health_status: String,
    #[serde(default)]
    pools: BTreeMap<String, PoolCount>,
    last_error: Option<String>,
    updated_at: String,
    writer: String,
}

impl ClusterStatus {
    /// Compact JSON, under [`MAX_BYTES`]: a long `last_error` is cut (at a
    /// character boundary, marked with `…`).
    pub fn to_json(&self) -> String {
        let mut doc = self.clone();
        loop {
            let text = serde_json::to_string(&doc).unwrap_or_default();
            if text.len() < MAX_BYTES {
                return text;
            }
            let Some(error) = doc.last_error.as_mut() else {
                return text;
            };
            let over = text.len() - MAX_BYTES + 8;
            let keep = error.chars().count().saturating_sub(over.max(16));
            *error = error.chars().take(keep).collect::<String>() + "…";
            if keep == 0 {
                doc.last_error = Some("…".to_owned());
            }
        }
    }

    /// Reads a document back; what is wrong with it is named.
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: Raw = serde_json::from_str(text).map_err(|e| format!("not a status document: {e}"))?;
        let word = |e: UnknownWord| e.to_string();
        Ok(Self {
            applied_revision: raw.applied_revision,
            sync_status: raw.sync_status.parse().map_err(word)?,
            health_status: raw.health_status.parse().map_err(word)?,
            pools: raw.pools,
            last_error: raw.last_error,
            updated_at: raw.updated_at,
            writer: raw.writer.parse().map_err(word)?,
        })
    }

    /// Whether writing `self` changes what `previous` (the parameter's
    /// value, if any) says: everything but `updated_at` is compared, so an
    /// unchanged platform makes no write. An unreadable previous value is
    /// replaced.
    pub fn differs_from(&self, previous: Option<&str>) -> bool {
        let Some(old) = previous.and_then(|p| Self::parse(p).ok()) else {
            return true;
        };
        let strip = |s: &Self| Self {
            updated_at: String::new(),
            ..s.clone()
        };
        // Compare what would be written (a cut error compares as cut).
        let written = Self::parse(&self.to_json()).unwrap_or_else(|_| self.clone());
        strip(&old) != strip(&written)
    }
}

/// The pools a cluster declares and their node counts (`managers`, and
/// `workers` when declared).
pub fn declared_pools(cluster: &swarmkeeper_model::config::Cluster) -> Vec<(&'static str, u32)> {
    let mut out = vec![("managers", cluster.managers.count)];
    if let Some(w) = &cluster.workers {
        out.push(("workers", w.count));
    }
    out
}

/// Nodes ready per pool: a node's pool is its `io.swarmkeeper.pool` label,
/// else its role's pool (`managers`, `workers`); `desired` comes from the
/// declared counts. Only `Ready` nodes count as ready.
pub fn pools(nodes: &[ObservedNode], desired: &[(&str, u32)]) -> BTreeMap<String, PoolCount> {
    let mut out: BTreeMap<String, PoolCount> = desired
        .iter()
        .map(|(pool, n)| ((*pool).to_owned(), PoolCount { ready: 0, desired: *n }))
        .collect();
    for node in nodes.iter().filter(|n| n.state == NodeState::Ready) {
        let pool = node.labels.get(LABEL_POOL).cloned().unwrap_or_else(|| {
            match node.role {
                NodeRole::Manager => "managers",
                NodeRole::Worker => "workers",
            }
            .to_owned()
        });
        if let Some(count) = out.get_mut(&pool) {
            count.ready += 1;
        }
    }
    out
}

/// `unix` seconds as RFC 3339 in UTC (`2026-12-02T07:30:00Z`).
pub fn rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> ClusterStatus {
        ClusterStatus {
            applied_revision: Some("ba3c620b00ca".into()),
            sync_status: SyncStatus::Synced,
            health_status: HealthStatus::Healthy,
            pools: BTreeMap::from([("managers".to_owned(), PoolCount { ready: 1, desired: 1 })]),
            last_error: None,
            updated_at: rfc3339(1_795_563_350),
            writer: Writer::Cli,
        }
    }

    #[test]
    fn rfc3339_of_known_instants() {
        for (unix, want) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_795_563_350, "2026-11-24T23:35:50Z"),
            (4_102_444_799, "2099-12-31T23:59:59Z"),
        ] {
            assert_eq!(rfc3339(unix), want);
        }
    }

    #[test]
    fn the_document_reads_back_and_uses_status_words() {
        let s = status();
        let json = s.to_json();
        assert!(json.contains(r#""sync_status":"Synced""#), "{json}");
        assert!(
            json.contains(r#""pools":{"managers":{"ready":1,"desired":1}}"#),
            "{json}"
        );
        assert!(json.contains(r#""last_error":null"#), "{json}");
        assert!(json.contains(r#""writer":"cli""#), "{json}");
        assert_eq!(ClusterStatus::parse(&json), Ok(s));
    }

    #[test]
    fn only_a_change_other_than_the_time_is_a_change() {
        let old = status().to_json();
        let later = ClusterStatus {
            updated_at: rfc3339(1_795_563_999),
            ..status()
        };
        assert!(!later.differs_from(Some(&old)));
        for changed in [
            ClusterStatus {
                sync_status: SyncStatus::OutOfSync,
                ..status()
            },
            ClusterStatus {
                last_error: Some("boom".into()),
                ..status()
            },
            ClusterStatus {
                applied_revision: Some("other".into()),
                ..status()
            },
            ClusterStatus {
                writer: Writer::Controller,
                ..status()
            },
        ] {
            assert!(changed.differs_from(Some(&old)), "{changed:?}");
        }
        assert!(status().differs_from(None));
        assert!(status().differs_from(Some("not json")));
        assert!(status().differs_from(Some(r#"{"sync_status":"Fine"}"#)));
    }

    #[test]
    fn a_long_error_is_cut_to_fit_and_still_compares_equal() {
        let long = ClusterStatus {
            last_error: Some("é".repeat(10_000)),
            ..status()
        };
        let json = long.to_json();
        assert!(json.len() < MAX_BYTES, "{}", json.len());
        let back = ClusterStatus::parse(&json).expect("reads back");
        assert!(back.last_error.as_deref().is_some_and(|e| e.ends_with('…')));
        assert!(!long.differs_from(Some(&json)));
    }

    #[test]
    fn unknown_words_are_refused_by_name() {
        let json = status().to_json().replace("Synced", "Fine");
        let err = ClusterStatus::parse(&json).unwrap_err();
        assert!(err.contains("sync status `Fine`"), "{err}");
    }
}
