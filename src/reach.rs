//! Finding a way into a cluster's swarm from outside it, when DOCKER_HOST
//! is unset: the managers the cluster's AWS side knows of
//! (`swarmkeeper_aws::reach`), in the order `swarmkeeper_plan::reach`
//! decides, tried over ssh (`swarmkeeper_swarm::ssh`) as
//! `cluster.ssh.user`. The first that answers as a manager of an active
//! swarm is the way in; none is "no way in", with what each attempt said.

use std::time::Duration;

use swarmkeeper_aws::{Aws, AwsError};
use swarmkeeper_model::config::{Cluster, SshAddress};
use swarmkeeper_plan::reach::{Candidate, CandidateSource, candidates};
use swarmkeeper_swarm::Engine;
use swarmkeeper_swarm::ssh::{SshOptions, SshTarget};

/// How long one candidate may take, ssh login and `GET /info` included.
/// The candidates of a tier are tried at once, so this bounds each tier.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);

/// A lookup in AWS failed: nothing was tried.
#[derive(Debug)]
pub struct ReachError {
    pub cluster: String,
    pub source: AwsError,
}

impl std::fmt::Display for ReachError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "finding a manager of cluster `{}` to reach over ssh: {}",
            self.cluster, self.source
        )
    }
}

impl std::error::Error for ReachError {}

/// One manager tried, and what it said.
#[derive(Debug)]
pub struct Attempt {
    pub url: String,
    pub instance: Option<String>,
    pub outcome: String,
}

/// The way in, or why there is none.
#[derive(Debug)]
pub struct Reach {
    pub engine: Option<Engine>,
    /// Every candidate tried that did not become the way in.
    pub tried: Vec<Attempt>,
    /// Why no candidate existed, when none did.
    pub no_candidates: Option<String>,
}

impl Reach {
    /// One line (or a few) saying why there is no way in.
    pub fn why_not(&self) -> String {
        if let Some(why) = &self.no_candidates {
            return why.clone();
        }
        let lines: Vec<String> = self
            .tried
            .iter()
            .map(|a| {
                let instance = a.instance.as_ref().map(|i| format!(" ({i})")).unwrap_or_default();
                format!("{}{instance}: {}", a.url, a.outcome)
            })
            .collect();
        format!("no manager answered over ssh:\n  {}", lines.join("\n  "))
    }
}

/// Find a manager of `cluster`'s swarm and connect to it over ssh.
/// `Ok(Reach { engine: None, .. })` when there is no way in (nothing
/// published or running yet, or no candidate let us in); `Err` only when
/// AWS could not be asked.
pub async fn find_manager(aws: &Aws, cluster: &Cluster) -> Result<Reach, ReachError> {
    let failed = |source| ReachError {
        cluster: cluster.name.clone(),
        source,
    };
    let published = aws.published_manager_addresses(&cluster.name).await.map_err(failed)?;
    let managers = aws.running_managers(&cluster.name).await.map_err(failed)?;
    let list = candidates(cluster.ssh.address, published.as_deref(), &managers);
    if list.is_empty() {
        let why = match cluster.ssh.address {
            SshAddress::Private => format!(
                "cluster `{}` has no published manager address and no running manager instance yet",
                cluster.name
            ),
            SshAddress::Public => format!(
                "no running manager of cluster `{}` has a public IP (cluster.ssh.address: public)",
                cluster.name
            ),
        };
        return Ok(Reach {
            engine: None,
            tried: Vec::new(),
            no_candidates: Some(why),
        });
    }
    // Published addresses first, and the instances only when none of
    // those answered: a manager wrote its address from inside the swarm,
    // while an instance's address may be one still booting.
    let (published, instances): (Vec<Candidate>, Vec<Candidate>) =
        list.into_iter().partition(|c| c.source == CandidateSource::Published);
    let options = SshOptions::from_env();
    let mut tried = Vec::new();
    for tier in [published, instances] {
        if tier.is_empty() {
            continue;
        }
        let reach = try_in_turn(&cluster.ssh.user, tier, options.clone()).await;
        tried.extend(reach.tried);
        if reach.engine.is_some() {
            return Ok(Reach {
                engine: reach.engine,
                tried,
                no_candidates: None,
            });
        }
    }
    Ok(Reach {
        engine: None,
        tried,
        no_candidates: None,
    })
}

/// Try every candidate at once; the first of the list (in its order) that
/// answers as a manager wins.
async fn try_in_turn(user: &str, list: Vec<Candidate>, options: SshOptions) -> Reach {
    let mut set = tokio::task::JoinSet::new();
    for (index, candidate) in list.into_iter().enumerate() {
        let target = SshTarget {
            user: Some(user.to_owned()),
            host: candidate.host.clone(),
            port: None,
        };
        let options = options.clone();
        set.spawn(async move {
            let url = target.url();
            let outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, async move {
                let engine = Engine::connect_over_ssh(target, options).await?;
                engine.require_manager().await?;
                Ok::<_, swarmkeeper_swarm::EngineError>(engine)
            })
            .await;
            let outcome = match outcome {
                Ok(Ok(engine)) => Ok(engine),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs())),
            };
            (index, url, candidate.instance, outcome)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => results.push(r),
            Err(e) => results.push((usize::MAX, String::new(), None, Err(format!("the attempt failed: {e}")))),
        }
    }
    results.sort_by_key(|r| r.0);
    let mut reach = Reach {
        engine: None,
        tried: Vec::new(),
        no_candidates: None,
    };
    for (_, url, instance, outcome) in results {
        match outcome {
            Ok(engine) if reach.engine.is_none() => reach.engine = Some(engine),
            Ok(_) => {}
            Err(outcome) => reach.tried.push(Attempt { url, instance, outcome }),
        }
    }
    reach
}
