//! The cluster's compact status in SSM (`<prefix>/status`), the binary's
//! part: built from how an apply ended — by the controller's cycle or a
//! CLI `reconcile` — and written only when it changed (read first; the
//! document and the rule are `swarmkeeper_plan::cluster_status`). Whether
//! `swarmkeeper destroy` is under way (`<prefix>/destroying`) is read here
//! too: while it is, nothing is applied and no status is written.

use std::collections::BTreeMap;
use std::time::Duration;

use swarmkeeper_aws::{Aws, AwsError};
use swarmkeeper_plan::aws::names::{destroying_parameter, status_parameter};
use swarmkeeper_plan::cluster_status::{ClusterStatus, HealthStatus, PoolCount, SyncStatus, Writer, rfc3339};

/// How long writing the status may take: it never holds up a cycle.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(15);

/// What an apply ended with, for the document.
pub struct Ended<'a> {
    pub revision: Option<&'a str>,
    pub sync: SyncStatus,
    pub health: HealthStatus,
    pub pools: BTreeMap<String, PoolCount>,
    pub last_error: Option<String>,
    pub writer: Writer,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Ended<'_> {
    pub fn document(&self) -> ClusterStatus {
        ClusterStatus {
            applied_revision: self.revision.map(str::to_owned),
            sync_status: self.sync,
            health_status: self.health,
            pools: self.pools.clone(),
            last_error: self.last_error.clone(),
            updated_at: rfc3339(now_unix()),
            writer: self.writer,
        }
    }
}

/// Write the status of `cluster` unless it says what is there already.
/// Returns whether it wrote.
pub async fn publish(aws: &Aws, cluster: &str, ended: &Ended<'_>) -> Result<bool, AwsError> {
    let name = status_parameter(cluster);
    let document = ended.document();
    let previous = aws.string_parameter(&name).await?;
    if !document.differs_from(previous.as_deref()) {
        return Ok(false);
    }
    aws.put_string_parameter(&name, &document.to_json()).await?;
    Ok(true)
}

/// [`publish`], bounded by [`PUBLISH_TIMEOUT`]; a failure is a message for
/// the log, never the apply's failure.
pub async fn publish_bounded(aws: &Aws, cluster: &str, ended: &Ended<'_>) -> Result<bool, String> {
    match tokio::time::timeout(PUBLISH_TIMEOUT, publish(aws, cluster, ended)).await {
        Ok(Ok(wrote)) => Ok(wrote),
        Ok(Err(e)) => Err(format!("cannot write the cluster's status to SSM: {e}")),
        Err(_) => Err(format!(
            "writing the cluster's status to SSM took longer than {}s",
            PUBLISH_TIMEOUT.as_secs()
        )),
    }
}

/// Whether `swarmkeeper destroy` is taking `cluster` down (its marker
/// exists).
pub async fn being_destroyed(aws: &Aws, cluster: &str) -> Result<bool, AwsError> {
    Ok(aws.string_parameter(&destroying_parameter(cluster)).await?.is_some())
}

/// What the controller and `reconcile` say while the marker exists.
pub fn destroying_message(cluster: &str) -> String {
    format!("cluster {cluster} is being destroyed by `swarmkeeper destroy`; nothing is applied")
}

/// A CLI `reconcile`'s status, written after it applied (or found nothing
/// to do); a failure to write is reported on stderr and changes nothing
/// else.
pub async fn publish_from_cli(
    providers: &crate::cycle::Providers,
    state: &swarmkeeper_model::DesiredState,
    pools: &BTreeMap<String, PoolCount>,
    unhealthy: &[String],
    last_error: Option<String>,
) {
    use crate::cycle::SwarmReach;
    let (Some(aws), Some(cluster)) = (&providers.aws, &state.config.cluster) else {
        return;
    };
    // Without the cluster's swarm (not formed yet, or no way in) its half
    // was not applied and its services were not seen: the status says so
    // rather than Synced and Healthy.
    let last_error = match (&providers.swarm, last_error) {
        (_, Some(e)) => Some(e),
        (SwarmReach::Connected, None) => None,
        (SwarmReach::NotFormed, None) => {
            Some("the cluster's swarm has not formed yet: its stacks are not applied".to_owned())
        }
        (SwarmReach::Unreachable(why), None) => Some(format!("the swarm half is not applied: {why}")),
    };
    let ended = Ended {
        revision: Some(&state.revision),
        sync: if last_error.is_none() {
            SyncStatus::Synced
        } else {
            SyncStatus::OutOfSync
        },
        health: if providers.engine.is_none() {
            HealthStatus::Unknown
        } else if unhealthy.is_empty() {
            HealthStatus::Healthy
        } else {
            HealthStatus::Degraded
        },
        pools: pools.clone(),
        last_error,
        writer: Writer::Cli,
    };
    if let Err(e) = publish_bounded(aws, &cluster.name, &ended).await {
        eprintln!("warning: {e}");
    }
}

/// For `reconcile`: the refusal while `destroy` runs, if it does.
pub async fn refusal(providers: &crate::cycle::Providers, state: &swarmkeeper_model::DesiredState) -> Option<String> {
    let (Some(aws), Some(cluster)) = (&providers.aws, &state.config.cluster) else {
        return None;
    };
    match being_destroyed(aws, &cluster.name).await {
        Ok(true) => Some(format!(
            "{}. Wait for it to finish (or run it again to finish it); to keep the cluster instead, delete the parameter {} once no destroy runs.",
            destroying_message(&cluster.name),
            destroying_parameter(&cluster.name)
        )),
        Ok(false) => None,
        Err(e) => Some(format!(
            "cannot tell whether cluster {} is being destroyed ({e}); nothing is applied",
            cluster.name
        )),
    }
}
