//! `swarmkeeper destroy DIR`: take the cluster DIR declares down — every
//! AWS resource carrying its tag, in dependency order — keeping data under
//! `deletion_policy: retain` (listed by id at the end).
//!
//! Order of a run: load DIR (invalid: nothing changes); observe; show the
//! plan (`plan_destroy`, rendered like a reconcile's); confirm (the
//! cluster's name typed on a terminal, `--yes` elsewhere); write the
//! `destroying` marker, which stops the controller from applying anything;
//! remove the controller's service when DOCKER_HOST reaches the cluster's
//! own swarm; then rounds of observe → plan → apply until nothing is left.
//! The marker is the plan's last step. Every run plans from what it
//! observes, so a run killed at any point is finished by the next one, and
//! a run with nothing left says "nothing to destroy" and exits 0.
//!
//! Exit codes: 0 done (or nothing to destroy), 1 error or refusal, 2 with
//! `--dry-run` when something would be destroyed (Terraform's rule).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::keys::load_dir;
use serde::Serialize;
use swarmkeeper_aws::execute::AwsOutcome;
use swarmkeeper_aws::{Aws, AwsIds};
use swarmkeeper_plan::aws::AwsAction;
use swarmkeeper_plan::aws::desired::ssm_prefix;
use swarmkeeper_plan::aws::names::destroying_parameter;
use swarmkeeper_plan::cluster_status::rfc3339;
use swarmkeeper_plan::destroy::{Destroy, Kept, declared_policies, plan_destroy};
use swarmkeeper_plan::{Action, ErrorKind, render};
use swarmkeeper_swarm::execute::{Ids, Outcome};

use super::process_environment;
use crate::apply::{StepOutcome, apply};
use crate::cli::{DestroyArgs, OutputFormat};
use crate::execute::{ExecError, Execute, StepError};

const EXIT_CHANGES: u8 = 2;

/// Rounds of observe → plan → apply before giving up (each round retries
/// what AWS refused for a dependency still going away).
const MAX_ROUNDS: usize = 4;

/// The controller's service, as `manifests/swarmkeeper.stack.yml` deploys
/// it (stack `swarmkeeper`, service `controller`).
pub const CONTROLLER_SERVICE: &str = "swarmkeeper_controller";

/// AWS refuses to delete a thing while something still uses it (an
/// instance's network interface in a security group, a mount target of a
/// file system, a target group a load balancer forwarded to): that passes
/// once the user is gone, so these are retried, bounded.
const IN_USE_CODES: &[&str] = &[
    "DependencyViolation",
    "FileSystemInUse",
    "ResourceInUse",
    "InvalidGroup.InUse",
];

/// How long one delete waits for its users to go away.
const IN_USE_PATIENCE: Duration = Duration::from_secs(180);

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    plan: render::JsonPlan<'a>,
    cluster: &'a str,
    region: &'a str,
    kept: &'a [Kept],
    dry_run: bool,
    destroyed: bool,
    api_calls: swarmkeeper_aws::CallCounts,
}

/// Runs the delete steps on AWS alone.
#[derive(Clone)]
struct Destroyer {
    aws: Aws,
}

impl Execute for Destroyer {
    async fn swarm(&self, action: &Action, _ids: &Ids) -> Result<Outcome, ExecError> {
        Err(StepError::new(
            ErrorKind::Invalid,
            format!("destroy plans AWS steps only, not {} {}", action.kind(), action.name()),
        ))
    }

    async fn aws(&self, action: &AwsAction, ids: &AwsIds) -> Result<AwsOutcome, ExecError> {
        use backon::{ExponentialBuilder, Retryable};
        let patient = matches!(
            action,
            AwsAction::DeleteSecurityGroup { .. }
                | AwsAction::DeleteFileSystem { .. }
                | AwsAction::DeleteTargetGroup { .. }
        );
        let once = || self.aws.execute(action, ids);
        if !patient {
            return Ok(once().await?);
        }
        let started = Instant::now();
        let result = once
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_secs(1))
                    .with_max_delay(Duration::from_secs(15))
                    .with_max_times(40),
            )
            .when(|e| IN_USE_CODES.iter().any(|c| e.is(c)) && started.elapsed() < IN_USE_PATIENCE)
            .await;
        Ok(result?)
    }
}

fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn kept_lines(kept: &[Kept]) -> String {
    kept.iter().map(|k| format!("kept: {k}\n")).collect()
}

pub fn run(args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    let outcome = load_dir(&args.dir, &process_environment());
    let style = crate::render::Style::for_stderr();
    for d in outcome.diagnostics.iter() {
        eprint!("{}", crate::render::diagnostic(&d.resolve(&outcome.sources), style));
    }
    let Some(state) = outcome.state else {
        eprintln!(
            "{} is invalid; nothing was destroyed. Fix the errors above (`swarmkeeper validate {}`): destroy reads the cluster's name, region and volumes' deletion policies from it.",
            args.dir.display(),
            args.dir.display()
        );
        return Ok(ExitCode::from(1));
    };
    let Some(cluster) = state.config.cluster.clone() else {
        eprintln!(
            "error: {} declares no `cluster:`, so there is nothing in AWS to destroy; nothing was changed. (Stacks of a swarm swarmkeeper does not run are removed by dropping them from `stacks:`.)",
            args.dir.display()
        );
        return Ok(ExitCode::from(1));
    };
    let declared = declared_policies(&state.config);
    let log_group = state
        .config
        .logging
        .as_ref()
        .and_then(|l| l.cloudwatch.as_ref())
        .map(|c| c.group.clone());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let aws = match Aws::connect_checked(&cluster.region).await {
            Ok(aws) => aws,
            Err(e) => {
                eprintln!("error: cannot connect to AWS in {}: {e}; nothing was destroyed", cluster.region);
                return Ok(ExitCode::from(1));
            }
        };
        let observe = || async {
            let observed = aws
                .observe(&cluster.name, &ssm_prefix(&cluster.name), log_group.as_deref())
                .await?;
            let ids = AwsIds::from_observed(&cluster.name, "", &observed);
            Ok::<_, swarmkeeper_aws::AwsError>((plan_destroy(&cluster.name, &observed, &declared), ids))
        };
        let first = match observe().await {
            Ok((d, _)) => d,
            Err(e) => {
                eprintln!("error: cannot observe cluster {}: {e}; nothing was destroyed", cluster.name);
                return Ok(ExitCode::from(1));
            }
        };
        let json = args.output == OutputFormat::Json;
        let report = |d: &Destroy, destroyed: bool| {
            let doc = JsonReport {
                plan: render::json(&d.plan),
                cluster: &cluster.name,
                region: &cluster.region,
                kept: &d.kept,
                dry_run: args.dry_run,
                destroyed,
                api_calls: aws.calls(),
            };
            match serde_json::to_string_pretty(&doc) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("error: cannot render the plan as JSON: {e}"),
            }
        };
        if first.plan.is_empty() {
            if json {
                report(&first, false);
            } else {
                println!("Nothing to destroy: cluster {} has nothing left in {}.", cluster.name, cluster.region);
                print!("{}", kept_lines(&first.kept));
            }
            return Ok(ExitCode::SUCCESS);
        }
        if args.dry_run {
            if json {
                report(&first, false);
            } else {
                print!("{}", render::text(&first.plan, color_stdout(), false));
                print!("{}", kept_lines(&first.kept));
            }
            return Ok(ExitCode::from(EXIT_CHANGES));
        }
        if !json {
            print!("{}", render::text(&first.plan, color_stdout(), false));
            print!("{}", kept_lines(&first.kept));
        }
        if let Err(refused) = confirm(args, &cluster.name) {
            eprintln!("{refused}");
            return Ok(ExitCode::from(1));
        }

        // Stop the controller first: the marker, then its service.
        let marker = destroying_parameter(&cluster.name);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if let Err(e) = aws
            .put_string_parameter(&marker, &format!("swarmkeeper destroy, started {}", rfc3339(now)))
            .await
        {
            eprintln!("error: cannot write {marker}, which stops the controller: {e}; nothing was destroyed");
            return Ok(ExitCode::from(1));
        }
        eprintln!("{}", stop_controller(&aws, &cluster).await);

        let started = Instant::now();
        let color = crate::render::Style::for_stderr() == crate::render::Style::Color;
        let reporter = crate::progress::Reporter::for_stderr(color);
        let mut destroyed = 0usize;
        let mut failures = Vec::new();
        for round in 1..=MAX_ROUNDS {
            // Observed again each round (the first round too: the marker
            // is there now, as its last step).
            let (now, ids) = match observe().await {
                Ok(d) => d,
                Err(e) => {
                    reporter.finish();
                    eprintln!(
                        "error: cannot observe cluster {}: {e}. Run `swarmkeeper destroy` again: it continues with what is left.",
                        cluster.name
                    );
                    return Ok(ExitCode::from(1));
                }
            };
            if now.plan.is_empty() {
                break;
            }
            reporter.round(&now.plan, || {
                if round > 1 && !json {
                    println!("Round {round}: what is left.\n");
                    print!("{}", render::text(&now.plan, color_stdout(), false));
                }
            });
            let results = apply(
                &Destroyer { aws: aws.clone() },
                &now.plan,
                Ids::default(),
                Some(ids),
                16,
                reporter.progress(),
                None,
            )
            .await;
            failures.clear();
            for step in &now.plan.steps {
                match results.get(&step.id) {
                    Some(StepOutcome::Done { .. }) => destroyed += 1,
                    Some(StepOutcome::Failed { error, .. }) => {
                        failures.push(format!("{} {}: {error}", step.action.kind(), step.action.name()))
                    }
                    _ => {}
                }
            }
        }
        reporter.finish();
        let left = match observe().await {
            Ok((d, _)) => d,
            Err(e) => {
                eprintln!("error: cannot observe cluster {} after destroying: {e}", cluster.name);
                return Ok(ExitCode::from(1));
            }
        };
        if json {
            report(&left, left.plan.is_empty());
        }
        if !left.plan.is_empty() {
            for f in &failures {
                eprintln!("failed: {f}");
            }
            eprintln!(
                "error: {} thing(s) of cluster {} are left after {MAX_ROUNDS} rounds; the controller stays stopped ({marker} is kept). Fix the cause above and run `swarmkeeper destroy` again: it continues with what is left.",
                left.plan.steps.len(),
                cluster.name
            );
            return Ok(ExitCode::from(1));
        }
        if !json {
            println!(
                "Destroy complete: {destroyed} destroyed in {:.1}s.",
                started.elapsed().as_secs_f64()
            );
            print!("{}", kept_lines(&left.kept));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The cluster's name typed on a terminal, or `--yes`; otherwise refused.
fn confirm(args: &DestroyArgs, cluster: &str) -> Result<(), String> {
    if args.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "error: refusing to destroy cluster {cluster} without a terminal to confirm on; nothing was destroyed. Run with --yes to confirm (review `swarmkeeper destroy --dry-run` first)."
        ));
    }
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\nThis destroys cluster {cluster} and everything listed above. Type the cluster's name to confirm: "
    );
    let _ = err.flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim_end_matches(['\r', '\n']) != cluster {
        return Err(format!(
            "error: the name typed is not `{cluster}`; nothing was destroyed"
        ));
    }
    Ok(())
}

/// Remove the controller's service through a manager of the cluster's own
/// swarm (one of its nodes is one of the cluster's instances): the one
/// DOCKER_HOST names, or with DOCKER_HOST unset one found over ssh as
/// `reconcile` finds it (`cluster.ssh`). Otherwise say so: the marker
/// stops the controller, and its instances go.
async fn stop_controller(aws: &Aws, cluster_spec: &swarmkeeper_model::config::Cluster) -> String {
    let fallback = "the `destroying` marker stops the controller, and its instances go";
    let cluster = cluster_spec.name.as_str();
    let attempt = async {
        let engine = if std::env::var_os("DOCKER_HOST").is_some() {
            swarmkeeper_swarm::Engine::connect().await.map_err(|e| e.to_string())?
        } else {
            let reach = crate::reach::find_manager(aws, cluster_spec)
                .await
                .map_err(|e| e.to_string())?;
            match reach.engine {
                Some(engine) => engine,
                None => return Err(reach.why_not()),
            }
        };
        engine.require_manager().await.map_err(|e| e.to_string())?;
        let swarm = engine.observe().await.map_err(|e| e.to_string())?;
        let observed = aws
            .observe(cluster, &ssm_prefix(cluster), None)
            .await
            .map_err(|e| e.to_string())?;
        let ours = swarm.nodes.iter().any(|n| {
            n.engine_labels
                .get(swarmkeeper_plan::node_types::ENGINE_LABEL_INSTANCE)
                .is_some_and(|id| observed.instances.iter().any(|i| &i.id == id))
        });
        if !ours {
            return Err(format!(
                "the swarm at {} is not cluster {cluster}'s (none of its nodes is one of the cluster's instances): left alone",
                engine.endpoint()
            ));
        }
        let Some(service) = swarm.services.iter().find(|s| s.spec.name == CONTROLLER_SERVICE) else {
            return Ok(format!("no {CONTROLLER_SERVICE} service runs on the cluster's swarm"));
        };
        let remove = Action::RemoveService {
            id: service.id.clone(),
            name: service.spec.name.clone(),
        };
        engine
            .execute(&remove, &Ids::from_observed(&swarm))
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("removed the controller's service {CONTROLLER_SERVICE}"))
    };
    match tokio::time::timeout(Duration::from_secs(30), attempt).await {
        Ok(Ok(done)) => done,
        Ok(Err(why)) => format!("note: no swarm manager of the cluster is reachable ({why}); {fallback}"),
        Err(_) => format!("note: the swarm manager at DOCKER_HOST did not answer within 30s; {fallback}"),
    }
}
