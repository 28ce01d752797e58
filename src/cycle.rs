//! One observe → plan pass across both providers, the part of a reconcile
//! that `reconcile` (and later the controller loop) repeats.

use anyhow::Context as _;
use swarmkeeper_aws::{Aws, AwsIds};
use swarmkeeper_model::DesiredState;
use swarmkeeper_plan::ObservedSwarm;
use swarmkeeper_plan::aws::desired::{AwsInputs, desired_aws, ssm_prefix, swarm_id_parameter};
use swarmkeeper_plan::convert::{SharedVolumes, desired_swarm_with};
use swarmkeeper_plan::diff::diff_cluster;
use swarmkeeper_plan::health::unhealthy_services;
use swarmkeeper_plan::identity::{self, EngineChoice, EngineSeen, Identity, IdentityInputs};
use swarmkeeper_plan::images;
use swarmkeeper_plan::nodes::NodeContext;
use swarmkeeper_plan::plan::SwarmSeen;
use swarmkeeper_plan::publish::{manager_addresses, mountable_volumes};
use swarmkeeper_plan::{Plan, PlanOptions};
use swarmkeeper_swarm::Engine;
use swarmkeeper_swarm::execute::Ids;
use swarmkeeper_swarm::registry::LookupCache;

use crate::registries::Registries;

/// The node bootstrap every instance runs (manifests/bootstrap/node.sh).
pub const BOOTSTRAP: &str = include_str!("../manifests/bootstrap/node.sh");

/// The providers a desired state needs: the swarm, and AWS when it
/// declares a cluster — in the cluster's region, following the desired
/// state as it changes (see [`Providers::follow`]).
#[derive(Clone)]
pub struct Providers {
    /// The swarm planned and changed: the cluster's own (its id checked
    /// against the recorded one), or without a cluster the engine
    /// DOCKER_HOST names. `None` while the cluster's swarm has not formed
    /// or cannot be reached: then only the AWS half is planned.
    pub engine: Option<Engine>,
    /// What is known of the swarm when there is no engine.
    pub swarm: SwarmReach,
    /// The id of the cluster's swarm, to publish (recorded, or adopted).
    pub swarm_id: Option<String>,
    pub aws: Option<Aws>,
    /// Why there is no AWS connection although a cluster is declared.
    pub aws_error: Option<String>,
    /// The swarm node of the engine we talk to (where this process runs
    /// when it runs as the controller): the node lifecycle retires it last.
    pub local_node: Option<String>,
    /// What the run should know about the engines it left alone.
    pub notes: Vec<String>,
    /// Registry credentials (ECR tokens held until due).
    pub registries: Registries,
    /// Digests found lately (a followed tag is asked again after a minute).
    pub lookups: LookupCache,
    /// A dry run: the swarm's revision key is read but never created (a
    /// swarm without one gets provisional names, and a warning says so).
    pub dry_run: bool,
    /// Without a cluster: the AWS connection that reads the state's
    /// configs and secrets kept in AWS, and why there is none.
    pub values_aws: Option<Aws>,
    pub values_error: Option<String>,
}

/// A plan and what executing it needs.
pub struct Planned {
    pub plan: Plan,
    pub swarm_ids: Ids,
    pub aws_ids: Option<AwsIds>,
    /// Declared services that cannot be planned yet (waiting for AWS).
    pub deferred: usize,
    /// Managed services whose running tasks fall short of what they ask.
    pub unhealthy: Vec<String>,
    /// The swarm's managers as observed, with or without a cluster.
    pub quorum: swarmkeeper_plan::nodes::Quorum,
    /// Nodes ready per declared pool (with a cluster), for its SSM status.
    pub pools: std::collections::BTreeMap<String, swarmkeeper_plan::cluster_status::PoolCount>,
    /// Services this plan rolls because a tag they follow moved.
    pub moved_tags: Vec<images::Moved>,
    /// The swarm and the cluster's AWS resources as this plan observed them.
    pub observed: ObservedSwarm,
    pub observed_aws: Option<swarmkeeper_plan::aws::spec::ObservedAws>,
}

/// The swarm as this run can see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwarmReach {
    Connected,
    /// The cluster has no swarm yet: its first manager creates it.
    NotFormed,
    /// The cluster's swarm exists, and this run has no way into it.
    Unreachable(String),
}

/// How to connect.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectOptions {
    /// `--adopt-swarm`: make the swarm DOCKER_HOST reaches the cluster's.
    pub adopt_swarm: bool,
    /// The controller: it runs on a manager of the cluster's swarm, so an
    /// engine that is not the cluster's is an error, not a bootstrap.
    pub require_engine: bool,
}

/// The engine named by DOCKER_HOST, or the default local socket.
fn engine_endpoint() -> (String, EngineChoice) {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => (host, EngineChoice::Named),
        _ => ("unix:///var/run/docker.sock".to_owned(), EngineChoice::Default),
    }
}

/// A manager of the cluster's recorded swarm, found over ssh
/// ([`crate::reach::find_manager`]): the engine, its node id and the
/// swarm's id, or why there is none. A manager of another swarm is not one.
async fn find_cluster_manager(
    aws: &Aws,
    cluster: &swarmkeeper_model::config::Cluster,
    recorded: Option<&str>,
) -> Result<(Engine, Option<String>, String), String> {
    let reach = crate::reach::find_manager(aws, cluster)
        .await
        .map_err(|e| e.to_string())?;
    let Some(engine) = reach.engine else {
        return Err(reach.why_not());
    };
    let state = engine.swarm_state().await.map_err(|e| e.to_string())?;
    match (state.swarm_id, recorded) {
        (Some(id), Some(want)) if id == want => {
            eprintln!(
                "reaching cluster `{}`'s swarm over ssh: {}",
                cluster.name,
                engine.endpoint()
            );
            Ok((engine, state.node_id, id))
        }
        (id, want) => Err(format!(
            "{} manages swarm {}, not the cluster's ({})",
            engine.endpoint(),
            id.as_deref().unwrap_or("(none)"),
            want.unwrap_or("(none recorded)")
        )),
    }
}

/// Reach `endpoint` and say what it is.
async fn probe(endpoint: &str) -> (EngineSeen, Option<(Engine, Option<String>)>) {
    let engine = match Engine::connect_to(endpoint).await {
        Ok(e) => e,
        Err(e) => return (EngineSeen::Unreachable { why: e.to_string() }, None),
    };
    match engine.swarm_state().await {
        Err(e) => (EngineSeen::Unreachable { why: e.to_string() }, None),
        Ok(state) if state.local_node_state != "active" => (
            EngineSeen::NotInSwarm {
                state: state.local_node_state,
            },
            None,
        ),
        Ok(state) if !state.is_manager => (EngineSeen::Worker, None),
        Ok(state) => match state.swarm_id {
            Some(id) => (EngineSeen::Manager { swarm_id: id }, Some((engine, state.node_id))),
            None => (
                EngineSeen::NotInSwarm {
                    state: "active, but no swarm id".to_owned(),
                },
                None,
            ),
        },
    }
}

impl Providers {
    /// Connect to the swarm and, when the desired state declares a
    /// cluster, to AWS in its region. Without a cluster the engine is the
    /// one DOCKER_HOST names and must manage an active swarm. With one, AWS
    /// comes first: the engine is used only when its swarm is the one
    /// recorded for the cluster (see [`swarmkeeper_plan::identity`]), and
    /// without it the AWS half is planned alone (the cluster's swarm has
    /// not formed yet, or there is no way into it).
    pub async fn connect(state: &DesiredState, how: ConnectOptions) -> anyhow::Result<Self> {
        let mut providers = Self {
            engine: None,
            swarm: SwarmReach::Connected,
            swarm_id: None,
            aws: None,
            aws_error: None,
            local_node: None,
            notes: Vec::new(),
            registries: Registries::default(),
            lookups: LookupCache::default(),
            dry_run: false,
            values_aws: None,
            values_error: None,
        };
        let Some(cluster) = &state.config.cluster else {
            if how.adopt_swarm {
                anyhow::bail!("--adopt-swarm adopts a swarm for a cluster, and this desired state declares none");
            }
            let engine = Engine::connect().await?;
            providers.local_node = engine.require_manager().await?.node_id;
            providers.engine = Some(engine);
            providers.follow_values(state).await;
            return Ok(providers);
        };
        providers.follow(state).await;
        let Some(aws) = providers.aws.clone() else {
            anyhow::bail!(
                "cluster `{}` is declared but there is no AWS connection ({}): without it the cluster's swarm cannot be \
                 identified, so no AWS or node step is taken (nor any swarm step); fix the credentials or the network \
                 (the controller retries every cycle)",
                cluster.name,
                providers.aws_error.as_deref().unwrap_or("not connected")
            );
        };
        let parameter = swarm_id_parameter(&cluster.name);
        let recorded = aws.recorded_swarm(&parameter).await?;
        let (endpoint, choice) = engine_endpoint();
        let (seen, engine) = probe(&endpoint).await;
        let decision = identity::decide(&IdentityInputs {
            cluster: &cluster.name,
            parameter: &parameter,
            endpoint: &endpoint,
            recorded: recorded.as_deref(),
            seen: &seen,
            choice,
            adopt: how.adopt_swarm,
        });
        match decision {
            Identity::Cluster { swarm_id } | Identity::Adopt { swarm_id } => {
                let (engine, node) = engine.context("a manager was reached")?;
                providers.engine = Some(engine);
                providers.local_node = node;
                providers.swarm_id = Some(swarm_id);
            }
            Identity::Refuse(message) => anyhow::bail!(message),
            Identity::NotFormed { note } => {
                providers.notes.extend(note);
                providers.swarm = SwarmReach::NotFormed;
            }
            Identity::FindManager { note } => {
                // Only when nothing was named: a DOCKER_HOST the user set
                // is never swapped for another engine, and the controller
                // runs on a manager.
                let found = match (choice, how.require_engine) {
                    (EngineChoice::Default, false) => {
                        Some(find_cluster_manager(&aws, cluster, recorded.as_deref()).await)
                    }
                    _ => None,
                };
                match found {
                    Some(Ok((engine, node, swarm_id))) => {
                        providers.engine = Some(engine);
                        providers.local_node = node;
                        providers.swarm_id = Some(swarm_id);
                    }
                    Some(Err(why)) => {
                        providers.notes.extend(note);
                        providers.swarm = SwarmReach::Unreachable(format!(
                            "swarmkeeper found no way into cluster `{}`'s swarm over ssh as `{}` (cluster.ssh): {why}. \
                             Set DOCKER_HOST to one of its managers (ssh://user@host works), or fix cluster.ssh",
                            cluster.name, cluster.ssh.user
                        ));
                    }
                    None => {
                        providers.notes.extend(note);
                        providers.swarm = SwarmReach::Unreachable(format!(
                            "swarmkeeper has no way into cluster `{}`'s swarm: set DOCKER_HOST to one of its managers \
                             (ssh://user@host works), or unset it to let swarmkeeper find one over ssh (cluster.ssh)",
                            cluster.name
                        ));
                    }
                }
            }
        }
        if how.require_engine && providers.engine.is_none() {
            anyhow::bail!(
                "the engine at {endpoint} is not a manager of cluster `{}`'s swarm ({seen}); the controller runs on one \
                 of the cluster's managers",
                cluster.name
            );
        }
        Ok(providers)
    }

    /// Bring the AWS connection in line with `state`: connect when a
    /// cluster appears (or an earlier attempt failed), reconnect when its
    /// region changed, let go when the cluster is no longer declared.
    /// Returns whether the connection changed.
    pub async fn follow(&mut self, state: &DesiredState) -> bool {
        self.follow_values(state).await;
        let Some(cluster) = &state.config.cluster else {
            let changed = self.aws.is_some();
            self.aws = None;
            self.aws_error = None;
            return changed;
        };
        if self.aws.as_ref().is_some_and(|aws| aws.region() == cluster.region) {
            return false;
        }
        let previous = self.aws.as_ref().map(|a| a.region().to_owned());
        match Aws::connect_checked(&cluster.region).await {
            Ok(aws) => {
                match previous {
                    Some(old) => {
                        tracing::info!(from = %old, to = %cluster.region, "the cluster's region changed: AWS reconnected")
                    }
                    None => {
                        tracing::info!(region = %cluster.region, cluster = %cluster.name, "a cluster is declared: AWS connected")
                    }
                }
                self.aws = Some(aws);
                self.aws_error = None;
            }
            Err(e) => {
                tracing::error!(error = %e, region = %cluster.region, "cannot connect to AWS");
                self.aws = None;
                self.aws_error = Some(e.to_string());
            }
        }
        true
    }

    /// Without a cluster, a state whose configs or secrets come from AWS
    /// (`x-swarmkeeper.source`) needs a connection of its own, in the
    /// region of the process's AWS configuration (`AWS_REGION`).
    async fn follow_values(&mut self, state: &DesiredState) {
        if state.config.cluster.is_some() || state.references().is_empty() {
            self.values_aws = None;
            return;
        }
        if self.values_aws.is_some() {
            return;
        }
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .ok()
            .filter(|r| !r.is_empty());
        let Some(region) = region else {
            self.values_error = Some(
                "the state reads configs or secrets from AWS and declares no cluster: set AWS_REGION to the region of its parameters and secrets".to_owned(),
            );
            return;
        };
        match Aws::connect_checked(&region).await {
            Ok(aws) => {
                tracing::info!(region = %region, "configs or secrets come from AWS: connected");
                self.values_aws = Some(aws);
                self.values_error = None;
            }
            Err(e) => {
                tracing::error!(error = %e, region = %region, "cannot connect to AWS for the state's values");
                self.values_error = Some(e.to_string());
            }
        }
    }

    /// `state` with the bytes of each config and secret it keeps in AWS,
    /// read now (each value once); unchanged when it names none. A value
    /// that cannot be read fails the plan: nothing is changed.
    async fn with_values(&self, state: &DesiredState) -> anyhow::Result<Option<DesiredState>> {
        let refs = state.references();
        if refs.is_empty() {
            return Ok(None);
        }
        let aws = match (&state.config.cluster, &self.aws, &self.values_aws) {
            (Some(_), Some(aws), _) => aws,
            (None, _, Some(aws)) => aws,
            (Some(_), None, _) => anyhow::bail!(
                "configs or secrets come from AWS and there is no AWS connection ({}): nothing is planned until it is back",
                self.aws_error.as_deref().unwrap_or("not connected")
            ),
            (None, _, None) => anyhow::bail!(
                "{}",
                self.values_error
                    .as_deref()
                    .unwrap_or("configs or secrets come from AWS and there is no AWS connection")
            ),
        };
        let values = aws.values(&refs).await?;
        Ok(Some(state.with_values(&values)))
    }

    pub async fn plan(&self, state: &DesiredState, opts: &PlanOptions) -> anyhow::Result<Planned> {
        let observed = match &self.engine {
            Some(engine) => Some(engine.observe().await?),
            None => None,
        };
        let mut shared = SharedVolumes::new();
        let mut aws_part = None;
        if let Some(cluster) = &state.config.cluster {
            // A declared cluster is never skipped silently: without its AWS
            // connection (in its region) nothing is planned at all, so no
            // AWS or node step can run on a partial view.
            let aws = match &self.aws {
                Some(aws) if aws.region() == cluster.region => aws,
                Some(aws) => anyhow::bail!(
                    "cluster `{}` is declared in {} but the AWS connection is for {}: no AWS or node step is taken until it is reconnected",
                    cluster.name,
                    cluster.region,
                    aws.region()
                ),
                None => anyhow::bail!(
                    "cluster `{}` is declared but there is no AWS connection ({}): no AWS or node step is taken; fix the credentials or the network, it is retried every cycle",
                    cluster.name,
                    self.aws_error.as_deref().unwrap_or("not connected")
                ),
            };
            let (vpc, mut inputs): (String, AwsInputs) = aws.inputs(&state.config).await?;
            // Only the cluster's own swarm is published (its id checked at
            // connect): never tokens of an engine that merely answered.
            if let (Some(engine), Some(observed)) = (&self.engine, &observed) {
                inputs.swarm_id = self.swarm_id.clone();
                inputs.join_tokens = Some(engine.join_tokens().await?);
                inputs.manager_addresses = manager_addresses(&observed.nodes);
            }
            let desired = desired_aws(state, &inputs, BOOTSTRAP)
                .map_err(|errors| anyhow::anyhow!(errors.join("\n")))?
                .context("a cluster is declared")?;
            let log_group = desired.log_group.as_ref().map(|g| g.name.clone());
            let observed_aws = aws
                .observe(&cluster.name, &ssm_prefix(&cluster.name), log_group.as_deref())
                .await?;
            shared.extend(mountable_volumes(&observed_aws.file_systems, aws.region()));
            let ids = AwsIds::from_observed(&cluster.name, &vpc, &observed_aws);
            aws_part = Some((desired, observed_aws, ids));
        }
        // Revisions are named under the swarm's key (created on first use).
        let key = match &self.engine {
            Some(engine) => engine.revision_key(!self.dry_run).await?,
            // No swarm yet: its steps wait for it, and are planned again
            // (with the key it then stores) once it exists.
            None => swarmkeeper_swarm::revision_key::provisional()?,
        };
        let with_values = self.with_values(state).await?;
        let mut desired = desired_swarm_with(with_values.as_ref().unwrap_or(state), &shared, &key.key);
        desired.revision = Some(state.revision.clone());
        let opts = PlanOptions {
            nodes: NodeContext {
                now_unix: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                local_node: self.local_node.clone(),
            },
            ..opts.clone()
        };
        // Images pinned to digests (docker's --resolve-image), against the
        // swarm as observed; before the swarm exists, when it does.
        let mut credential_warnings = Vec::new();
        if let Some(engine) = &self.engine {
            let credentials = self.registries.credentials(&state.config, self.aws.as_ref()).await;
            engine.set_registry_auth(credentials.auth);
            desired.expiring_credentials = credentials.expiring;
            credential_warnings = credentials.warnings;
        }
        let pinned = match (&self.engine, &observed) {
            (Some(engine), Some(observed)) => {
                let wanted = images::lookups(&desired, observed);
                let found = engine.look_up(&wanted, &engine.registry_auth(), &self.lookups).await;
                images::pin(&mut desired, observed, &found).map_err(|errors| anyhow::anyhow!(errors.join("\n")))?
            }
            _ => images::Pinned::default(),
        };
        let seen = match (&observed, &self.swarm) {
            (Some(observed), _) => SwarmSeen::Observed(observed),
            (None, SwarmReach::Unreachable(why)) => SwarmSeen::Unreachable(why),
            (None, _) => SwarmSeen::NotFormed,
        };
        let mut plan = diff_cluster(&desired, seen, aws_part.as_ref().map(|(d, o, _)| (d, o)), &opts)?;
        if !key.stored && !desired.files.is_empty() {
            plan.warnings.push(format!(
                "the swarm has no revision key yet (config `{}`): the names of new config and secret revisions are known after apply, which creates the key",
                swarmkeeper_swarm::revision_key::KEY_CONFIG
            ));
        }
        images::annotate(&mut plan, &pinned);
        plan.warnings.extend(credential_warnings);
        let observed = observed.unwrap_or_default();
        let observed_aws = aws_part.as_ref().map(|(_, o, _)| o.clone());
        let observed = &observed;
        // A held service's wait is not this apply's to wait out.
        let deferred = desired
            .deferred
            .keys()
            .filter(|service| !plan.held.iter().any(|h| h.step.action.name() == **service))
            .count();
        Ok(Planned {
            moved_tags: pinned.moved.clone(),
            plan,
            swarm_ids: Ids::from_observed(observed),
            aws_ids: aws_part.map(|(_, _, ids)| ids),
            deferred,
            unhealthy: unhealthy_services(observed, state.config.owner()),
            // Managers and quorum as observed, with or without a cluster: the
            // metrics use the lifecycle's rule.
            quorum: swarmkeeper_plan::nodes::quorum::quorum_of(&observed.nodes),
            pools: state.config.cluster.as_ref().map_or_else(Default::default, |c| {
                use swarmkeeper_plan::cluster_status::{declared_pools, pools};
                pools(&observed.nodes, &declared_pools(c))
            }),
            observed: observed.clone(),
            observed_aws,
        })
    }
}

/// How to apply: parallelism, what to tell about rounds and steps, and a
/// stop flag (set on shutdown: nothing new starts).
pub struct ApplyOptions<'a> {
    pub concurrency: usize,
    pub on_round: &'a (dyn Fn(usize, &Plan) + Sync),
    pub progress: crate::apply::Progress,
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
}

/// What converging did.
pub struct Converged {
    /// The first round's plan (what was pending when it started).
    pub first_plan: Plan,
    /// Steps done: added, changed, destroyed.
    pub totals: [usize; 3],
    /// Every step that failed or was skipped.
    pub failures: Vec<StepFailure>,
    /// Steps (and deferred services) still pending at the end.
    pub remaining: usize,
    pub cancelled: bool,
    /// Nodes ready per pool as last observed.
    pub pools: std::collections::BTreeMap<String, swarmkeeper_plan::cluster_status::PoolCount>,
    /// Managed services not running what they ask for, as last observed
    /// (not as they were before the apply started them).
    pub unhealthy: Vec<String>,
}

/// A step that failed (or was skipped because one it needs failed): the
/// kind its provider gave (a skipped step's is that of the failure it
/// waits on) and `kind name: error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    pub kind: swarmkeeper_plan::ErrorKind,
    pub message: String,
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kind of the failure that made step `id` fail or be skipped.
fn failure_kind(
    results: &std::collections::BTreeMap<usize, crate::apply::StepOutcome>,
    mut id: usize,
) -> swarmkeeper_plan::ErrorKind {
    use crate::apply::StepOutcome;
    // Each skip names an earlier step: the walk ends within the plan.
    for _ in 0..=results.len() {
        match results.get(&id) {
            Some(StepOutcome::Failed { kind, .. }) => return *kind,
            Some(StepOutcome::Skipped { because_of }) => id = *because_of,
            _ => break,
        }
    }
    swarmkeeper_plan::ErrorKind::Unknown
}

/// Apply rounds until planning again finds nothing to do (at most
/// `MAX_ROUNDS`: a service that mounts a new shared volume follows in the
/// round after its file system), then check convergence.
pub async fn converge(
    providers: &Providers,
    state: &DesiredState,
    opts: &PlanOptions,
    mut planned: Planned,
    how: &ApplyOptions<'_>,
) -> anyhow::Result<Converged> {
    use crate::apply::{StepOutcome, apply};
    use swarmkeeper_plan::plan::Op;
    let mut out = Converged {
        first_plan: planned.plan.clone(),
        totals: [0; 3],
        failures: Vec::new(),
        remaining: 0,
        cancelled: false,
        pools: planned.pools.clone(),
        unhealthy: planned.unhealthy.clone(),
    };
    for round in 1..=MAX_ROUNDS {
        if planned.plan.is_empty() {
            break;
        }
        (how.on_round)(round, &planned.plan);
        let results = apply(
            providers,
            &planned.plan,
            planned.swarm_ids.clone(),
            planned.aws_ids.clone(),
            how.concurrency,
            how.progress.clone(),
            how.cancel.clone(),
        )
        .await;
        for step in &planned.plan.steps {
            match results.get(&step.id) {
                Some(StepOutcome::Done { .. }) => {
                    out.totals[match step.action.op() {
                        Op::Create => 0,
                        Op::Update => 1,
                        Op::Delete => 2,
                    }] += 1
                }
                Some(StepOutcome::Failed { error, kind }) => out.failures.push(StepFailure {
                    kind: *kind,
                    message: format!("{} {}: {error}", step.action.kind(), step.action.name()),
                }),
                Some(StepOutcome::Skipped { .. }) => out.failures.push(StepFailure {
                    kind: failure_kind(&results, step.id),
                    message: format!(
                        "{} {}: skipped, a step it needs failed",
                        step.action.kind(),
                        step.action.name()
                    ),
                }),
                Some(StepOutcome::Cancelled) | None => out.cancelled = true,
            }
        }
        if !out.failures.is_empty() || out.cancelled {
            return Ok(out);
        }
        planned = providers.plan(state, opts).await?;
        out.pools = planned.pools.clone();
        out.unhealthy = planned.unhealthy.clone();
    }
    // The last plan is the convergence check when it found nothing: no
    // need to observe once more. Otherwise (rounds exhausted, services
    // waiting for AWS) look again, giving eventual consistency a moment.
    out.remaining = if planned.plan.is_empty() && planned.deferred == 0 {
        0
    } else {
        remaining_changes(providers, state, opts).await?
    };
    Ok(out)
}

/// Apply rounds before giving up on converging in one run.
pub const MAX_ROUNDS: usize = 3;

/// Steps (and deferred services) still pending after applying, once
/// eventual consistency settled (bounded: about 20 s). Swarm removes some
/// objects asynchronously (a network stays listed until the tasks of a
/// removed service are gone), so look again for a while.
pub async fn remaining_changes(
    providers: &Providers,
    state: &DesiredState,
    opts: &PlanOptions,
) -> anyhow::Result<usize> {
    use backon::{ExponentialBuilder, Retryable};
    enum Check {
        NotYet(usize),
        Failed(anyhow::Error),
    }
    let check = || async {
        let planned = providers.plan(state, opts).await.map_err(Check::Failed)?;
        match planned.plan.steps.len() + planned.deferred {
            0 => Ok(0),
            left => Err(Check::NotYet(left)),
        }
    };
    let result = check
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(std::time::Duration::from_millis(250))
                .with_max_delay(std::time::Duration::from_secs(4))
                .with_max_times(8),
        )
        .when(|e| matches!(e, Check::NotYet(_)))
        .await;
    match result {
        Ok(n) | Err(Check::NotYet(n)) => Ok(n),
        Err(Check::Failed(e)) => Err(e),
    }
}
