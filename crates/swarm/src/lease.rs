//! The controller lease, kept in the swarm itself: the labels of a swarm
//! config named `swarmkeeper-lease` say who holds it and when it was last
//! renewed. Configs are immutable except for their labels, and a label
//! update carries the config's version index, so two replicas writing at
//! once conflict ("update out of sequence") and only one wins. The lease
//! expires when its holder stops renewing.
//!
//! This module is the mechanism (read, take, renew, release); when to act
//! is the controller's decision.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models as api;
use bollard::query_parameters::UpdateConfigOptionsBuilder;

use crate::engine::{Engine, EngineError};

pub const LEASE_NAME: &str = "swarmkeeper-lease";
const HOLDER: &str = "io.swarmkeeper.lease.holder";
const RENEWED_MS: &str = "io.swarmkeeper.lease.renewed-ms";
const TTL_MS: &str = "io.swarmkeeper.lease.ttl-ms";
/// What the holder follows (`url@branch:path` or a directory), so that a
/// CLI run can say where changes go instead.
const SOURCE: &str = "io.swarmkeeper.lease.source";

/// The lease as last read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: Option<String>,
    pub renewed_ms: u64,
    pub ttl_ms: u64,
    /// What the holder follows, as it described it (no credentials).
    pub source: Option<String>,
}

impl Lease {
    /// Whether nobody holds it at `now_ms` (released, or not renewed in time).
    pub fn expired(&self, now_ms: u64) -> bool {
        self.holder.is_none() || now_ms.saturating_sub(self.renewed_ms) > self.ttl_ms
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn labels(holder: Option<(&str, &str)>, renewed_ms: u64, ttl: Duration) -> HashMap<String, String> {
    let mut l = HashMap::from([
        (RENEWED_MS.to_owned(), renewed_ms.to_string()),
        (TTL_MS.to_owned(), ttl.as_millis().to_string()),
    ]);
    if let Some((h, source)) = holder {
        l.insert(HOLDER.to_owned(), h.to_owned());
        l.insert(SOURCE.to_owned(), source.to_owned());
    }
    l
}

impl Engine {
    /// Take or renew the lease for `me`, which follows `source`. `Ok(true)`:
    /// `me` holds it until `now + ttl`; `Ok(false)`: someone else does (or
    /// won the race).
    pub async fn acquire_lease(&self, me: &str, source: &str, ttl: Duration) -> Result<bool, EngineError> {
        let now = now_ms();
        let existing = self
            .call(
                "GET /configs/{id}",
                |d| async move { d.inspect_config(LEASE_NAME).await },
            )
            .await;
        let config = match existing {
            Ok(c) => c,
            Err(e) if e.is_not_found() => {
                let spec = api::ConfigSpec {
                    name: Some(LEASE_NAME.to_owned()),
                    labels: Some(labels(Some((me, source)), now, ttl)),
                    data: Some(crate::observe::encode(b"swarmkeeper controller lease")),
                    templating: None,
                };
                return match self
                    .call("POST /configs/create", |d| async move { d.create_config(spec).await })
                    .await
                {
                    Ok(_) => Ok(true),
                    // Another replica created it first.
                    Err(EngineError::Api { status: Some(409), .. }) => Ok(false),
                    Err(e) => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let lease = read(&config);
        if lease.holder.as_deref() != Some(me) && !lease.expired(now) {
            return Ok(false);
        }
        match self.write_lease(config, labels(Some((me, source)), now, ttl)).await {
            Ok(()) => Ok(true),
            // Another replica wrote in between: it holds the lease.
            Err(e) if e.is_out_of_sequence() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Give the lease up (on shutdown) so another replica can take over now.
    pub async fn release_lease(&self, me: &str) -> Result<(), EngineError> {
        let config = match self
            .call(
                "GET /configs/{id}",
                |d| async move { d.inspect_config(LEASE_NAME).await },
            )
            .await
        {
            Ok(c) => c,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        if read(&config).holder.as_deref() != Some(me) {
            return Ok(());
        }
        match self.write_lease(config, labels(None, 0, Duration::ZERO)).await {
            Err(e) if !e.is_out_of_sequence() => Err(e),
            _ => Ok(()),
        }
    }

    /// Replace the lease's labels, conditional on the version read.
    async fn write_lease(&self, config: api::Config, labels: HashMap<String, String>) -> Result<(), EngineError> {
        let version = config.version.and_then(|v| v.index).unwrap_or(0);
        let mut spec = config.spec.unwrap_or_default();
        spec.labels = Some(labels);
        let id = config.id.unwrap_or_else(|| LEASE_NAME.to_owned());
        let options = UpdateConfigOptionsBuilder::default()
            .version(i64::try_from(version).unwrap_or(i64::MAX))
            .build();
        self.call("POST /configs/{id}/update", |d| async move {
            d.update_config(&id, spec, options).await
        })
        .await
    }

    /// Who holds the lease, as far as the swarm says.
    pub async fn lease(&self) -> Result<Option<Lease>, EngineError> {
        match self
            .call(
                "GET /configs/{id}",
                |d| async move { d.inspect_config(LEASE_NAME).await },
            )
            .await
        {
            Ok(c) => Ok(Some(read(&c))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn read(config: &api::Config) -> Lease {
    let labels = config.spec.as_ref().and_then(|s| s.labels.clone()).unwrap_or_default();
    let num = |k: &str| labels.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Lease {
        holder: labels.get(HOLDER).filter(|h| !h.is_empty()).cloned(),
        renewed_ms: num(RENEWED_MS),
        ttl_ms: num(TTL_MS),
        source: labels.get(SOURCE).filter(|s| !s.is_empty()).cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry() {
        let lease = Lease {
            holder: Some("a".into()),
            renewed_ms: 1_000,
            ttl_ms: 500,
            source: None,
        };
        assert!(!lease.expired(1_400));
        assert!(lease.expired(1_600));
        let released = Lease { holder: None, ..lease };
        assert!(released.expired(1_100));
    }
}
