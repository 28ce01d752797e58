//! The cluster's revision key (see `swarmkeeper_plan::revision_key`), kept
//! in the swarm as the data of a config named `swarmkeeper-revision-key`,
//! labelled as swarmkeeper's and with the key's id. Created on first use
//! with 32 bytes from the operating system's CSPRNG; when two replicas
//! create it at once, the engine refuses the second name and the loser
//! reads the winner's key, so every replica names revisions alike.
//!
//! Why a config and not a secret: the Engine API never returns a secret's
//! data, so a `reconcile` run from a workstation could not name revisions.
//! A config's data is readable by exactly those who can already read every
//! secret (engine API access can mount any secret into a task); what the
//! key keeps from everyone else — readers of plans, CI logs, `docker secret
//! ls` — is the content behind a revision name. Observation leaves this
//! config out, so no plan shows or prunes it.

use std::collections::HashMap;

use bollard::models as api;
use swarmkeeper_plan::labels;
use swarmkeeper_plan::revision_key::RevisionKey;

use crate::engine::{Engine, EngineError};

pub const KEY_CONFIG: &str = "swarmkeeper-revision-key";
const KEY_BYTES: usize = 32;

/// The key and whether it is the swarm's (else made for this plan only:
/// a dry run on a swarm that has none yet writes nothing).
#[derive(Debug, Clone)]
pub struct KeyRead {
    pub key: RevisionKey,
    pub stored: bool,
}

fn fresh() -> Result<Vec<u8>, EngineError> {
    let mut bytes = vec![0u8; KEY_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| EngineError::RevisionKey {
        what: format!("the operating system gave no random bytes for a new key: {e}"),
    })?;
    Ok(bytes)
}

fn read(config: &api::Config) -> Result<RevisionKey, EngineError> {
    let spec = config.spec.clone().unwrap_or_default();
    let labels = spec.labels.unwrap_or_default();
    if labels.get(labels::MANAGED_BY).map(String::as_str) != Some(labels::MANAGED_BY_VALUE) {
        return Err(EngineError::RevisionKey {
            what: format!(
                "it exists but is not labelled {}={}: swarmkeeper uses no key it did not make. Remove it (docker config rm {KEY_CONFIG}) if nothing else needs it",
                labels::MANAGED_BY,
                labels::MANAGED_BY_VALUE
            ),
        });
    }
    let bytes = spec
        .data
        .as_deref()
        .and_then(|d| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, d).ok())
        .unwrap_or_default();
    RevisionKey::new(bytes).map_err(|e| EngineError::RevisionKey { what: e.to_string() })
}

/// A key for a plan against a swarm that does not exist yet: its names are
/// provisional (the steps wait for the swarm, and are planned again).
pub fn provisional() -> Result<KeyRead, EngineError> {
    Ok(KeyRead {
        key: RevisionKey::provisional(),
        stored: false,
    })
}

impl Engine {
    /// The swarm's revision key: read, or (with `create`) made and stored
    /// when there is none. Without `create` a missing key gives a key made
    /// for this call only (`stored: false`).
    pub async fn revision_key(&self, create: bool) -> Result<KeyRead, EngineError> {
        match self.inspect_key().await? {
            Some(key) => return Ok(KeyRead { key, stored: true }),
            None if !create => return provisional(),
            None => {}
        }
        let bytes = fresh()?;
        let key = RevisionKey::new(bytes.clone()).map_err(|e| EngineError::RevisionKey { what: e.to_string() })?;
        let spec = api::ConfigSpec {
            name: Some(KEY_CONFIG.to_owned()),
            labels: Some(HashMap::from([
                (labels::MANAGED_BY.to_owned(), labels::MANAGED_BY_VALUE.to_owned()),
                (labels::REVISION_KEY.to_owned(), key.id()),
            ])),
            data: Some(crate::observe::encode(&bytes)),
            templating: None,
        };
        match self
            .call("POST /configs/create", |d| async move { d.create_config(spec).await })
            .await
        {
            Ok(_) => Ok(KeyRead { key, stored: true }),
            // Another replica created it first: use theirs.
            Err(e) if e.kind() == swarmkeeper_plan::ErrorKind::Conflict => match self.inspect_key().await? {
                Some(key) => Ok(KeyRead { key, stored: true }),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn inspect_key(&self) -> Result<Option<RevisionKey>, EngineError> {
        match self
            .call(
                "GET /configs/{id}",
                |d| async move { d.inspect_config(KEY_CONFIG).await },
            )
            .await
        {
            Ok(c) => read(&c).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
