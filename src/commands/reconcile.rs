//! `swarmkeeper reconcile [DIR]`: load, observe, plan, and (without
//! `--dry-run`) apply, then check the platform converged.
//!
//! Exit codes, as Terraform's `plan -detailed-exitcode`: 0 nothing to do
//! (or applied and converged), 2 changes pending (dry-run), 1 error.
//!
//! Applying may take more than one round: a service that mounts a shared
//! volume can only be planned once its EFS file system exists, so after a
//! round that created AWS resources the plan is made again.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;
use swarmkeeper_model::{DesiredState, LoadOutcome};

use crate::keys::load_dir;
use swarmkeeper_plan::{Plan, PlanOptions, render};

use super::process_environment;

use crate::cli::{OutputFormat, ReconcileArgs};
use crate::cycle::{ApplyOptions, ConnectOptions, Planned, Providers, SwarmReach, converge};
use crate::render as diag_render;

const EXIT_CHANGES: u8 = 2;

#[derive(Serialize)]
struct ApiCalls {
    swarm: swarmkeeper_swarm::CallCounts,
    #[serde(skip_serializing_if = "Option::is_none")]
    aws: Option<swarmkeeper_aws::CallCounts>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    plan: render::JsonPlan<'a>,
    applied: bool,
    converged: Option<bool>,
    /// After an apply: each round's steps as it ran them (the first is
    /// `steps`; later rounds run what waited on earlier ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    rounds: Option<Vec<Vec<serde_json::Value>>>,
    api_calls: ApiCalls,
}

fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn color_stderr() -> bool {
    diag_render::Style::for_stderr() == diag_render::Style::Color
}

fn calls(providers: &Providers) -> ApiCalls {
    ApiCalls {
        swarm: providers.engine.as_ref().map(|e| e.calls()).unwrap_or_default(),
        aws: providers.aws.as_ref().map(|a| a.calls()),
    }
}

pub fn run(args: &ReconcileArgs) -> anyhow::Result<ExitCode> {
    // Validation first: a state with errors stops everything before any call.
    let outcome = load_dir(&args.dir, &process_environment());
    report_diagnostics(&outcome);
    let Some(state) = outcome.state else {
        eprintln!(
            "{} is invalid; nothing was planned or changed. Fix the errors above (`swarmkeeper validate {}`).",
            args.dir.display(),
            args.dir.display()
        );
        return Ok(ExitCode::from(1));
    };
    if state
        .config
        .volumes
        .values()
        .any(|v| v.kind == swarmkeeper_model::config::VolumeKind::Relocatable)
    {
        eprintln!(
            "note: relocatable volumes are not provisioned as EBS by this version; services mount them as local volumes of the node they run on."
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let how = ConnectOptions {
            adopt_swarm: args.adopt_swarm,
            require_engine: false,
        };
        let mut providers = match Providers::connect(&state, how).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(ExitCode::from(1));
            }
        };
        // A dry run writes nothing, not even the revision key.
        providers.dry_run = args.dry_run;
        for note in &providers.notes {
            eprintln!("note: {note}");
        }
        if providers.swarm == SwarmReach::NotFormed
            && let Some(controller) = state.config.cluster.as_ref().and_then(|c| c.controller.as_ref())
        {
            eprintln!(
                "note: the steps after the swarm exists are the in-cluster controller's: the manager that creates the \
                 swarm starts it ({}), and it applies them from {}#{}",
                controller.image, controller.git.url, controller.git.branch
            );
        }
        let opts = PlanOptions {
            allow_empty: args.allow_empty,
            ..PlanOptions::default()
        };
        let planned = match providers.plan(&state, &opts).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e:#}");
                if args.output == OutputFormat::Json {
                    // A refused plan still says what it cost: reads, no writes.
                    let refused = serde_json::json!({ "refused": true, "api_calls": calls(&providers) });
                    println!("{refused}");
                }
                return Ok(ExitCode::from(1));
            }
        };
        let pending = planned.plan.pending() || planned.deferred > 0;
        if !args.dry_run
            && let Some(refused) = crate::cluster_status::refusal(&providers, &state).await
        {
            eprintln!("error: {refused}");
            return Ok(ExitCode::from(1));
        }
        if !args.dry_run && !pending {
            crate::cluster_status::publish_from_cli(&providers, &state, &planned.pools, &planned.unhealthy, None).await;
        }
        if args.dry_run || !pending {
            print_plan(&planned.plan, args, false, None, None, calls(&providers));
            return Ok(if pending {
                ExitCode::from(EXIT_CHANGES)
            } else {
                swarm_half_left(&state, &providers)
            });
        }
        if let Some(refused) = controller_guard(&providers, args).await {
            return Ok(refused);
        }
        let code = apply_rounds(&providers, &state, &opts, planned, args).await?;
        if code != ExitCode::SUCCESS || providers.swarm != SwarmReach::NotFormed {
            return Ok(if code == ExitCode::SUCCESS {
                swarm_half_left(&state, &providers)
            } else {
                code
            });
        }
        bootstrap_swarm_half(&providers, &state, &opts, how, args).await
    })
}

/// The controller owns the platform while it holds the lease: a CLI run
/// changes nothing then (unless `--force`) and says where changes go.
/// `Some(exit)` refuses.
async fn controller_guard(providers: &Providers, args: &ReconcileArgs) -> Option<ExitCode> {
    let engine = providers.engine.as_ref()?;
    if args.force {
        return None;
    }
    match engine.lease().await {
        Ok(Some(lease)) if !lease.expired(swarmkeeper_swarm::lease::now_ms()) => {
            eprintln!(
                "error: the controller follows {}: push there. It holds the lease ({}), so this run changed \
                 nothing; `--dry-run` shows the difference, `--force` applies from here anyway (the controller goes \
                 back to what it follows at its next cycle).",
                lease.source.as_deref().unwrap_or("its own source"),
                lease.holder.as_deref().unwrap_or("a replica")
            );
            Some(ExitCode::from(1))
        }
        Ok(_) => None,
        Err(e) => {
            eprintln!(
                "error: cannot tell whether a controller holds the lease ({e}); nothing was changed. Run again, or \
                 pass --force if you know no controller runs"
            );
            Some(ExitCode::from(1))
        }
    }
}

/// After the AWS half of a bootstrap: wait for the cluster's swarm to
/// form, then apply the swarm half through it.
async fn bootstrap_swarm_half(
    first: &Providers,
    state: &DesiredState,
    opts: &PlanOptions,
    how: ConnectOptions,
    args: &ReconcileArgs,
) -> anyhow::Result<ExitCode> {
    let (Some(cluster), Some(aws)) = (state.config.cluster.as_ref(), first.aws.as_ref()) else {
        anyhow::bail!(
            "the cluster's AWS connection was lost after applying its AWS half; run `swarmkeeper reconcile` again"
        );
    };
    eprintln!(
        "The AWS half is applied; cluster `{}`'s instances are booting and its first manager creates the swarm.",
        cluster.name
    );
    let formed = match crate::bootstrap::wait_for_swarm(aws, cluster, args.swarm_timeout).await {
        Ok(formed) => formed,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    eprintln!(
        "Cluster `{}`'s swarm formed ({}) {:.0}s after the AWS half was applied.",
        cluster.name,
        formed.swarm_id,
        formed.took.as_secs_f64()
    );
    if let Some(controller) = &cluster.controller {
        // The controller owns the swarm half from here: applying it from
        // this directory as well would race it with another source.
        eprintln!(
            "Its manager starts the in-cluster controller ({}), which applies the swarm half from {}#{}; changes go \
             there from now on (push). `swarmkeeper status --cluster {}` shows what it applied.",
            controller.image, controller.git.url, controller.git.branch, cluster.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    let providers = match Providers::connect(state, how).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let Some(engine) = providers.engine.as_ref() else {
        return Ok(swarm_half_left(state, &providers));
    };
    let members =
        crate::bootstrap::wait_for_members(engine, cluster, args.swarm_timeout.saturating_sub(formed.took)).await;
    if members.joined < members.declared {
        eprintln!(
            "note: {}/{} of cluster `{}`'s instances have joined its swarm; the swarm half is applied now, and the \
             next reconcile (or the controller's next cycle) gives the others their pool's labels.",
            members.joined, members.declared, cluster.name
        );
    }
    let planned = match providers.plan(state, opts).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    if !planned.plan.pending() && planned.deferred == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(refused) = controller_guard(&providers, args).await {
        return Ok(refused);
    }
    if args.output == OutputFormat::Text {
        println!("\nThe swarm half, through the new swarm:\n");
    }
    apply_rounds(&providers, state, opts, planned, args).await
}

/// The exit when nothing more can be done from here: success, unless the
/// cluster's swarm half could not be planned at all (no way into it) —
/// then the output says who applies it.
fn swarm_half_left(state: &DesiredState, providers: &Providers) -> ExitCode {
    let why = match &providers.swarm {
        SwarmReach::Connected => return ExitCode::SUCCESS,
        SwarmReach::Unreachable(why) => why.clone(),
        SwarmReach::NotFormed => "the cluster's swarm has not formed yet".to_owned(),
    };
    let name = state.config.cluster.as_ref().map_or("", |c| c.name.as_str());
    eprintln!(
        "error: the swarm half of cluster `{name}` was not applied: {why}. Nothing in the swarm was changed; its stacks \
         follow once swarmkeeper can reach a manager (DOCKER_HOST=ssh://…, cluster.ssh), or the in-cluster controller \
         applies them"
    );
    ExitCode::from(1)
}

async fn apply_rounds(
    providers: &Providers,
    state: &DesiredState,
    opts: &PlanOptions,
    planned: Planned,
    args: &ReconcileArgs,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let color = color_stderr();
    let text = args.output == OutputFormat::Text;
    let verbose = args.verbose;
    // On a terminal a live line; otherwise a line per step (see progress.rs).
    let reporter = crate::progress::Reporter::for_stderr(color);
    let rounds = std::sync::Mutex::new(Vec::new());
    let on_round = |round: usize, plan: &Plan| {
        if !text && let Ok(mut rounds) = rounds.lock() {
            rounds.push(render::json(plan).steps);
        }
        reporter.round(plan, || {
            if text {
                if round > 1 {
                    println!("Round {round}: what the first round made possible.\n");
                }
                print!("{}", render::text(plan, color_stdout(), verbose));
            }
        });
    };
    let how = ApplyOptions {
        concurrency: usize::from(args.concurrency),
        on_round: &on_round,
        progress: reporter.progress(),
        cancel: None,
    };
    let done = converge(providers, state, opts, planned, &how).await;
    reporter.finish();
    let done = done?;
    let converged = done.failures.is_empty() && done.remaining == 0;
    let last_error = match (done.failures.first(), converged) {
        (Some(first), _) => Some(format!(
            "{} step(s) did not complete; first: {first}",
            done.failures.len()
        )),
        (None, false) => Some(format!("{} change(s) remain after applying", done.remaining)),
        (None, true) => None,
    };
    crate::cluster_status::publish_from_cli(providers, state, &done.pools, &done.unhealthy, last_error).await;
    if args.output == OutputFormat::Json {
        let rounds = rounds.into_inner().unwrap_or_default();
        print_plan(
            &done.first_plan,
            args,
            true,
            Some(converged),
            Some(rounds),
            calls(providers),
        );
    } else {
        println!(
            "Apply {}: {} added, {} changed, {} destroyed in {:.1}s.",
            if converged { "complete" } else { "incomplete" },
            done.totals[0],
            done.totals[1],
            done.totals[2],
            started.elapsed().as_secs_f64()
        );
        if args.verbose {
            print_calls(&calls(providers));
        }
    }
    if !converged {
        if done.failures.is_empty() {
            eprintln!(
                "error: the platform still differs from the desired state after applying ({} change(s) remain); run `swarmkeeper reconcile --dry-run` to see them",
                done.remaining
            );
        } else {
            eprintln!(
                "error: {} step(s) did not complete; the rest of the plan was applied. Fix the cause above and run `swarmkeeper reconcile` again: it continues from where things are now.",
                done.failures.len()
            );
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn report_diagnostics(outcome: &LoadOutcome) {
    let style = diag_render::Style::for_stderr();
    for d in outcome.diagnostics.iter() {
        eprint!("{}", diag_render::diagnostic(&d.resolve(&outcome.sources), style));
    }
}

fn print_plan(
    plan: &Plan,
    args: &ReconcileArgs,
    applied: bool,
    converged: Option<bool>,
    rounds: Option<Vec<Vec<serde_json::Value>>>,
    calls: ApiCalls,
) {
    match args.output {
        OutputFormat::Json => {
            let report = JsonReport {
                plan: render::json(plan),
                applied,
                converged,
                rounds,
                api_calls: calls,
            };
            match serde_json::to_string_pretty(&report) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("error: cannot render the plan as JSON: {e}"),
            }
        }
        OutputFormat::Text => {
            print!("{}", render::text(plan, color_stdout(), args.verbose));
            if args.verbose {
                print_calls(&calls);
            }
        }
    }
}

fn print_calls(calls: &ApiCalls) {
    println!(
        "Engine API calls: {} reads, {} writes.",
        calls.swarm.reads, calls.swarm.writes
    );
    if let Some(aws) = &calls.aws {
        println!("AWS API calls: {} reads, {} writes.", aws.reads, aws.writes);
    }
}
