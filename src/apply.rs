//! The executor: runs a plan's steps, each as soon as the steps it depends
//! on have succeeded, at most `concurrency` at a time, on the provider the
//! action belongs to. A failed step fails only the steps that depend on it;
//! independent ones go on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use swarmkeeper_aws::AwsIds;
use swarmkeeper_aws::execute::AwsOutcome;
use swarmkeeper_plan::{Action, Plan, Step};
use swarmkeeper_swarm::execute::{Ids, Outcome};
use tokio::task::JoinSet;

use crate::cycle::Providers;

/// How one step ended.
#[derive(Debug, Clone)]
pub enum StepOutcome {
    Done {
        already_gone: bool,
        took: Duration,
    },
    Failed {
        error: String,
    },
    /// Not run because a step it depends on failed.
    Skipped {
        because_of: usize,
    },
    /// Not started because shutdown began.
    Cancelled,
}

/// Called as each step ends.
pub type Progress = Arc<dyn Fn(&Step, &StepOutcome) + Send + Sync>;

enum Done {
    Swarm(Outcome),
    Aws(AwsOutcome),
}

#[derive(Default)]
struct IdState {
    swarm: Ids,
    aws: Option<AwsIds>,
}

/// AWS actions at once, whatever `concurrency` allows the engine: AWS
/// throttles per account and region, and a burst of mutating calls there
/// mostly buys retries.
pub const AWS_CONCURRENCY: usize = 4;

pub async fn apply(
    providers: &Providers,
    plan: &Plan,
    swarm_ids: Ids,
    aws_ids: Option<AwsIds>,
    concurrency: usize,
    progress: Progress,
    cancel: Option<tokio::sync::watch::Receiver<bool>>,
) -> BTreeMap<usize, StepOutcome> {
    let cancelled = || cancel.as_ref().is_some_and(|c| *c.borrow());
    let ids = Arc::new(Mutex::new(IdState {
        swarm: swarm_ids,
        aws: aws_ids,
    }));
    let mut results: BTreeMap<usize, StepOutcome> = BTreeMap::new();
    let mut running: JoinSet<(usize, Result<Done, String>, Duration)> = JoinSet::new();
    let mut started = vec![false; plan.steps.len()];
    let mut aws_running = 0usize;

    loop {
        for step in &plan.steps {
            if started[step.id] || running.len() >= concurrency.max(1) {
                continue;
            }
            if step.action.is_aws() && aws_running >= AWS_CONCURRENCY.min(concurrency.max(1)) {
                continue;
            }
            if cancelled() {
                // Shutdown: start nothing new; what runs may finish.
                started[step.id] = true;
                progress(step, &StepOutcome::Cancelled);
                results.insert(step.id, StepOutcome::Cancelled);
                continue;
            }
            if let Some(failed) = step.depends_on.iter().find(|d| {
                matches!(
                    results.get(d),
                    Some(StepOutcome::Failed { .. } | StepOutcome::Skipped { .. } | StepOutcome::Cancelled)
                )
            }) {
                started[step.id] = true;
                let outcome = StepOutcome::Skipped { because_of: *failed };
                progress(step, &outcome);
                results.insert(step.id, outcome);
                continue;
            }
            if !step
                .depends_on
                .iter()
                .all(|d| matches!(results.get(d), Some(StepOutcome::Done { .. })))
            {
                continue;
            }
            started[step.id] = true;
            aws_running += usize::from(step.action.is_aws());
            let providers = providers.clone();
            let action = step.action.clone();
            let id = step.id;
            let (swarm_ids, aws_ids) = ids.lock().map(|i| (i.swarm.clone(), i.aws.clone())).unwrap_or_default();
            let span = tracing::info_span!("action", kind = action.kind(), name = %action.name(), op = ?action.op());
            running.spawn(tracing::Instrument::instrument(
                async move {
                    let start = Instant::now();
                    let result = match (&action, &providers.aws, aws_ids) {
                        (Action::Aws { aws }, Some(client), Some(aws_ids)) => client
                            .execute(aws, &aws_ids)
                            .await
                            .map(Done::Aws)
                            .map_err(|e| e.to_string()),
                        (Action::Aws { .. }, _, _) => Err("no AWS connection for an AWS action".to_owned()),
                        _ => providers
                            .engine
                            .execute(&action, &swarm_ids)
                            .await
                            .map(Done::Swarm)
                            .map_err(|e| e.to_string()),
                    };
                    (id, result, start.elapsed())
                },
                span,
            ));
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (id, result, took) = match joined {
            Ok(r) => r,
            Err(e) => {
                eprintln!("internal error: an action task failed: {e}");
                continue;
            }
        };
        aws_running -= usize::from(plan.steps[id].action.is_aws());
        let outcome = match result {
            Ok(done) => {
                let mut already_gone = false;
                if let Ok(mut ids) = ids.lock() {
                    match &done {
                        Done::Swarm(Outcome::CreatedNetwork { name, id }) => ids.swarm.insert_network(name, id),
                        Done::Swarm(Outcome::CreatedFile { kind, name, id }) => ids.swarm.insert(*kind, name, id),
                        Done::Swarm(Outcome::AlreadyGone) => already_gone = true,
                        Done::Swarm(_) => {}
                        Done::Aws(outcome) => {
                            if let Some(aws) = ids.aws.as_mut() {
                                aws.record(outcome);
                            }
                        }
                    }
                }
                StepOutcome::Done { already_gone, took }
            }
            Err(error) => StepOutcome::Failed { error },
        };
        progress(&plan.steps[id], &outcome);
        results.insert(id, outcome);
    }
    results
}
