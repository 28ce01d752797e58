//! Waiting for a new cluster's swarm to form, after the AWS half of a
//! bootstrap was applied: the managers' instances boot, the first one wins
//! the init claim, runs `swarm init` and records the swarm's id under the
//! cluster's SSM prefix, then its address (manifests/bootstrap/node.sh). Bounded; on a
//! terminal a live line says what it waits for, elsewhere a line now and
//! then; on timeout the error names the instance to look at and where its
//! bootstrap log is. Then, bounded too, for the pools' other instances to
//! join, so that one round of the swarm half adopts them all.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use swarmkeeper_aws::Aws;
use swarmkeeper_model::config::Cluster;
use swarmkeeper_plan::aws::desired::{ssm_prefix, swarm_id_parameter};
use swarmkeeper_plan::aws::spec::{InstanceLifecycle, ObservedAws};

/// How often to look again while waiting.
const POLL: Duration = Duration::from_secs(5);
/// Without a terminal, a progress line at most this often.
const LINE_EVERY: Duration = Duration::from_secs(30);

/// The swarm recorded for the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formed {
    pub swarm_id: String,
    pub took: Duration,
}

/// What the wait saw last, for the progress line and the timeout error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Seen {
    managers_running: usize,
    managers_desired: u32,
    /// The instance that won the init claim, once one did.
    claim: Option<String>,
    /// A manager instance (the first by id), when no claim is known.
    first_manager: Option<String>,
}

fn seen(observed: &ObservedAws, cluster: &Cluster) -> Seen {
    let group = format!("{}-managers", cluster.name);
    let mut managers: Vec<&str> = observed
        .instances
        .iter()
        .filter(|i| i.group == group && i.state == InstanceLifecycle::InService)
        .map(|i| i.id.as_str())
        .collect();
    managers.sort_unstable();
    Seen {
        managers_running: managers.len(),
        managers_desired: cluster.managers.count,
        claim: observed
            .parameters
            .get(&format!("{}/init-claim", ssm_prefix(&cluster.name)))
            .map(|v| v.0.clone()),
        first_manager: managers.first().map(|s| (*s).to_owned()),
    }
}

fn describe(s: &Seen) -> String {
    let claim = match &s.claim {
        Some(id) => format!("{id} won the init claim"),
        None => "no manager has claimed the init yet".to_owned(),
    };
    format!(
        "{}/{} manager instance(s) in service, {claim}",
        s.managers_running, s.managers_desired
    )
}

/// Wait until the cluster's swarm id is recorded, at most `timeout`.
pub async fn wait_for_swarm(aws: &Aws, cluster: &Cluster, timeout: Duration) -> anyhow::Result<Formed> {
    let started = Instant::now();
    let parameter = swarm_id_parameter(&cluster.name);
    let prefix = ssm_prefix(&cluster.name);
    let live = std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
    let bar = live.then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    });
    let mut last_line: Option<Instant> = None;
    let mut last = Seen::default();
    let outcome = loop {
        match aws.recorded_swarm(&parameter).await {
            // Formed once its manager also published its address (right
            // after the id): that is what a way into it starts from.
            Ok(Some(swarm_id)) => match aws.published_manager_addresses(&cluster.name).await {
                Ok(Some(_)) => {
                    break Ok(Formed {
                        swarm_id,
                        took: started.elapsed(),
                    });
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "reading the managers' addresses failed; trying again"),
            },
            Ok(None) => {}
            // Reads may fail for a moment; the deadline still holds.
            Err(e) => tracing::warn!(error = %e, "reading {parameter} failed; trying again"),
        }
        if let Ok(observed) = aws.observe(&cluster.name, &prefix, None).await {
            last = seen(&observed, cluster);
        }
        let elapsed = started.elapsed();
        let message = format!(
            "waiting for cluster `{}`'s swarm to form: {} ({}s)",
            cluster.name,
            describe(&last),
            elapsed.as_secs()
        );
        match &bar {
            Some(bar) => bar.set_message(message),
            None if last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY) => {
                eprintln!("{message}");
                last_line = Some(Instant::now());
            }
            None => {}
        }
        if elapsed >= timeout {
            break Err(timed_out(&cluster.name, &cluster.region, &last, timeout));
        }
        tokio::time::sleep(POLL.min(timeout.saturating_sub(elapsed))).await;
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    outcome
}

/// How many of the pools' instances have joined the swarm, of how many
/// are declared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Joined {
    pub joined: usize,
    pub declared: usize,
}

/// The cluster's nodes that are up in the swarm: the bootstrap labels
/// each node's engine with its cluster (manifests/bootstrap/node.sh).
fn joined(swarm: &swarmkeeper_plan::ObservedSwarm, cluster: &Cluster) -> usize {
    swarm
        .nodes
        .iter()
        .filter(|n| n.state == swarmkeeper_plan::nodes::NodeState::Ready)
        .filter(|n| n.engine_labels.get("swarmkeeper.cluster") == Some(&cluster.name))
        .count()
}

/// After the swarm formed, wait (at most `timeout`) until every instance
/// the pools declare has joined it, so that the swarm half labels all of
/// them in one round, as the preview showed. A node that does not join in
/// time is no error: the swarm half is applied without it and the next
/// reconcile (the controller's next cycle) adopts it.
pub async fn wait_for_members(engine: &swarmkeeper_swarm::Engine, cluster: &Cluster, timeout: Duration) -> Joined {
    let started = Instant::now();
    let declared =
        usize::try_from(cluster.managers.count + cluster.workers.as_ref().map_or(0, |w| w.count)).unwrap_or(usize::MAX);
    let mut last_line: Option<Instant> = None;
    loop {
        let now = match engine.observe().await {
            Ok(swarm) => joined(&swarm, cluster),
            Err(e) => {
                tracing::warn!(error = %e, "listing the swarm's nodes failed; trying again");
                0
            }
        };
        let seen = Joined { joined: now, declared };
        let elapsed = started.elapsed();
        if now >= declared || elapsed >= timeout {
            return seen;
        }
        if last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
            eprintln!(
                "waiting for cluster `{}`'s instances to join its swarm: {now}/{declared} ({}s)",
                cluster.name,
                elapsed.as_secs()
            );
            last_line = Some(Instant::now());
        }
        tokio::time::sleep(POLL.min(timeout.saturating_sub(elapsed))).await;
    }
}

fn timed_out(name: &str, region: &str, last: &Seen, timeout: Duration) -> anyhow::Error {
    let parameter = swarm_id_parameter(name);
    let look_at = match (&last.claim, &last.first_manager) {
        (Some(id), _) => format!(
            "instance {id} won the init claim but recorded no swarm: its bootstrap log is \
             /var/log/swarmkeeper-bootstrap.log on the instance, and `aws ec2 get-console-output --instance-id {id} \
             --region {region}` shows cloud-init's output without logging in"
        ),
        (None, Some(id)) => format!(
            "no manager claimed the init: look at instance {id}'s bootstrap log, /var/log/swarmkeeper-bootstrap.log \
             (or `aws ec2 get-console-output --instance-id {id} --region {region}`) — can it reach SSM and install Docker?"
        ),
        (None, None) => format!(
            "no manager instance is in service: check the auto scaling group {name}-managers' activity \
             (`aws autoscaling describe-scaling-activities --auto-scaling-group-name {name}-managers --region {region}`)"
        ),
    };
    anyhow::anyhow!(
        "cluster `{name}`'s swarm did not form within {}s (nothing at {parameter}; {}): {look_at}. What was applied stays; \
         run `swarmkeeper reconcile` again to go on waiting",
        timeout.as_secs(),
        describe(last)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_names_the_instance_that_holds_the_claim_and_its_log() {
        let last = Seen {
            managers_running: 1,
            managers_desired: 1,
            claim: Some("i-0abc".into()),
            first_manager: Some("i-0abc".into()),
        };
        let e = timed_out("cloud", "eu-west-1", &last, Duration::from_secs(600)).to_string();
        for want in [
            "i-0abc",
            "/var/log/swarmkeeper-bootstrap.log",
            "get-console-output",
            "within 600s",
            "1/1 manager",
        ] {
            assert!(e.contains(want), "{want} missing from: {e}");
        }
        let none = timed_out("cloud", "eu-west-1", &Seen::default(), Duration::from_secs(60)).to_string();
        assert!(none.contains("describe-scaling-activities"), "{none}");
    }
}
