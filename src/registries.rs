//! The registry credentials each plan sends with its lookups, creates and
//! updates: the docker client's configuration, with the `registries:` of
//! swarmkeeper.yaml over it — passwords read from an SSM SecureString or a
//! file (a swarm secret mounted into the controller), ECR tokens from
//! `ecr:GetAuthorizationToken`, kept until they are due for renewal.
//!
//! Nothing here fails a plan: a credential that cannot be had is a warning
//! naming the registry and what to do, and the registry then gets none —
//! a lookup of one of its images says "denied" and stops that plan, while
//! services whose images did not change keep the credentials stored with
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use swarmkeeper_aws::Aws;
use swarmkeeper_aws::registry::EcrToken;
use swarmkeeper_model::config::{Config, SecretSource};
use swarmkeeper_plan::images::CREDENTIALS_RENEW_AFTER_SECS;
use swarmkeeper_swarm::registry::{Credential, RegistryAuth};

/// How long ECR says its tokens last, used when its answer says otherwise
/// nonsensical (an expiry already past).
const ECR_TOKEN_LIFETIME_SECS: u64 = 12 * 3600;

/// The credentials for one plan.
pub struct Credentials {
    pub auth: RegistryAuth,
    /// What could not be had, and what to do about it.
    pub warnings: Vec<String>,
    /// Registries whose credentials expire (ECR).
    pub expiring: BTreeSet<String>,
}

/// An ECR token and when to fetch a new one.
#[derive(Clone)]
struct Held {
    token: EcrToken,
    renew_at: u64,
    expires_at: u64,
}

/// What outlives one plan: ECR tokens, and AWS connections by region.
#[derive(Clone, Default)]
pub struct Registries {
    ecr: Arc<Mutex<BTreeMap<String, Held>>>,
    aws: Arc<tokio::sync::Mutex<BTreeMap<String, Aws>>>,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// When a token obtained at `now` that ECR says expires at `expires_at`
/// is renewed, and when it really expires: half its life, at most
/// [`CREDENTIALS_RENEW_AFTER_SECS`].
fn schedule(now: u64, expires_at: Option<u64>) -> (u64, u64) {
    let expires = expires_at.filter(|e| *e > now).unwrap_or(now + ECR_TOKEN_LIFETIME_SECS);
    let renew = now + ((expires - now) / 2).min(CREDENTIALS_RENEW_AFTER_SECS);
    (renew, expires)
}

impl Registries {
    /// An AWS connection in `region`: `cluster` when it is in that region.
    async fn aws_in(&self, region: Option<&str>, cluster: Option<&Aws>) -> Aws {
        if let Some(aws) = cluster
            && region.is_none_or(|r| r == aws.region())
        {
            return aws.clone();
        }
        let key = region.unwrap_or_default().to_owned();
        let mut held = self.aws.lock().await;
        if let Some(aws) = held.get(&key) {
            return aws.clone();
        }
        let aws = Aws::connect(region).await;
        held.insert(key, aws.clone());
        aws
    }

    /// The credentials for a plan of `config`; `cluster` is the cluster's
    /// AWS connection, when it declares one.
    pub async fn credentials(&self, config: &Config, cluster: Option<&Aws>) -> Credentials {
        let mut warnings = Vec::new();
        let mut auth = match RegistryAuth::from_docker_config() {
            Ok(auth) => auth,
            Err(why) => {
                warnings.push(format!(
                    "{why}: its registry credentials are not used; fix the file or remove it"
                ));
                RegistryAuth::default()
            }
        };
        let mut expiring = BTreeSet::new();
        for (host, registry) in &config.registries {
            let path = format!("registries.{host}");
            if let Some(ecr) = &registry.ecr {
                expiring.insert(host.clone());
                match self.ecr_token(host, &ecr.account, &ecr.region, cluster).await {
                    Ok(token) => auth.insert(
                        host,
                        Credential {
                            username: token.username,
                            secret: token.password,
                            token: false,
                        },
                    ),
                    Err(why) => warnings.push(format!(
                        "{path}: no ECR token ({why}): allow ecr:GetAuthorizationToken to swarmkeeper's credentials \
                         (manifests/iam-policy.json); images of {host} cannot be resolved until then"
                    )),
                }
                continue;
            }
            let (Some(username), Some(source)) = (&registry.username, &registry.password) else {
                continue;
            };
            match self.secret(source, cluster).await {
                Ok(password) => auth.insert(
                    host,
                    Credential {
                        username: username.clone(),
                        secret: password,
                        token: false,
                    },
                ),
                Err(why) => warnings.push(format!(
                    "{path}.password: {why}; images of {host} cannot be resolved until then"
                )),
            }
        }
        Credentials {
            auth,
            warnings,
            expiring,
        }
    }

    /// A secret's value where `source` says it lives (registry passwords,
    /// notification URLs); `Err` says what to do.
    pub(crate) async fn secret(&self, source: &SecretSource, cluster: Option<&Aws>) -> Result<String, String> {
        match source {
            SecretSource::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => Ok(text.trim_end_matches(['\n', '\r']).to_owned()),
                Err(e) => Err(format!(
                    "cannot read {} ({e}): where swarmkeeper runs as the controller, mount the swarm secret into its \
                     service (secrets:), or point `file:` at the file",
                    path.display()
                )),
            },
            SecretSource::Sealed(value) => Ok(value.0.clone()),
            SecretSource::Env(name) => match std::env::var(name) {
                Ok(value) if !value.is_empty() => Ok(value),
                _ => Err(format!(
                    "the environment variable {name} is not set where swarmkeeper runs: set it in the controller's \
                     service (environment:), or in the shell that runs `reconcile`"
                )),
            },
            SecretSource::Ssm(name) => {
                let aws = self.aws_in(cluster.map(Aws::region), cluster).await;
                match aws.secure_parameter(name).await {
                    Ok(Some(value)) => Ok(value),
                    Ok(None) => Err(format!(
                        "the SSM parameter {name} does not exist in {}: create it (aws ssm put-parameter --type \
                         SecureString --name {name} --value …)",
                        aws.region()
                    )),
                    Err(e) => Err(format!("cannot read the SSM parameter {name}: {e}")),
                }
            }
        }
    }

    /// The token held for `host`, or a new one when it is due.
    async fn ecr_token(
        &self,
        host: &str,
        account: &str,
        region: &str,
        cluster: Option<&Aws>,
    ) -> Result<EcrToken, String> {
        let now = now_unix();
        let held = self.ecr.lock().ok().and_then(|h| h.get(host).cloned());
        if let Some(held) = &held
            && now < held.renew_at
        {
            return Ok(held.token.clone());
        }
        let aws = self.aws_in(Some(region), cluster).await;
        match aws.ecr_token(account).await {
            Ok(token) => {
                let (renew_at, expires_at) = schedule(now, token.expires_at);
                tracing::info!(registry = %host, renew_in_s = renew_at - now, "ECR token obtained");
                if let Ok(mut all) = self.ecr.lock() {
                    all.insert(
                        host.to_owned(),
                        Held {
                            token: token.clone(),
                            renew_at,
                            expires_at,
                        },
                    );
                }
                Ok(token)
            }
            // A renewal that failed: the token held is still good for a while.
            Err(e) => match held {
                Some(held) if now < held.expires_at => {
                    tracing::warn!(registry = %host, error = %e, "renewing the ECR token failed; the one held is still valid");
                    Ok(held.token)
                }
                _ => Err(e.to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_at_half_their_life_at_most_six_hours_in() {
        let now = 1_800_000_000;
        // ECR's 12 hours: renewed after 6.
        assert_eq!(schedule(now, Some(now + 12 * 3600)), (now + 6 * 3600, now + 12 * 3600));
        // A short-lived token: at half its life.
        assert_eq!(schedule(now, Some(now + 600)), (now + 300, now + 600));
        // An expiry already past (moto answers 2015): ECR's documented 12 h.
        assert_eq!(schedule(now, Some(1_420_070_400)), (now + 6 * 3600, now + 12 * 3600));
        assert_eq!(schedule(now, None), (now + 6 * 3600, now + 12 * 3600));
    }
}
