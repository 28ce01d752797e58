//! The executor: runs a plan's steps, each as soon as the steps it depends
//! on have succeeded, at most `concurrency` at a time (AWS actions at most
//! [`AWS_CONCURRENCY`]), on the provider the action belongs to. A failed
//! step fails only the steps that depend on it; independent ones go on. A
//! step whose task panics counts as failed, and its slot is given back.
//! On shutdown nothing new starts; what runs may finish.
//!
//! The providers are behind [`Execute`], so the scheduling is tested here
//! with in-memory fakes, without the lab.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use swarmkeeper_aws::AwsIds;
use swarmkeeper_aws::execute::AwsOutcome;
use swarmkeeper_plan::{Action, ErrorKind, Plan, Step};
use swarmkeeper_swarm::execute::{Ids, Outcome};
use tokio::task::JoinSet;

use crate::execute::{Execute, StepError, no_aws};

/// How one step ended.
#[derive(Debug, Clone)]
pub enum StepOutcome {
    Done {
        already_gone: bool,
        took: Duration,
    },
    Failed {
        error: String,
        /// Decided by the provider (see [`ErrorKind`]).
        kind: ErrorKind,
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

/// AWS actions at once, whatever `concurrency` allows the engine: AWS
/// throttles per account and region, and a burst of mutating calls there
/// mostly buys retries.
pub const AWS_CONCURRENCY: usize = 4;

/// Run `plan` on `executor`. `swarm_ids` and `aws_ids` are what planning
/// observed (`aws_ids` is `None` without an AWS connection: AWS steps then
/// fail); ids of what steps create are added for the steps after them.
/// Every step of the plan gets an outcome, unless it depends on a step
/// that is not in the plan.
pub async fn apply<E: Execute>(
    executor: &E,
    plan: &Plan,
    swarm_ids: Ids,
    aws_ids: Option<AwsIds>,
    concurrency: usize,
    progress: Progress,
    cancel: Option<tokio::sync::watch::Receiver<bool>>,
) -> BTreeMap<usize, StepOutcome> {
    let cancelled = || cancel.as_ref().is_some_and(|c| *c.borrow());
    let limit = concurrency.max(1);
    let aws_limit = AWS_CONCURRENCY.min(limit);
    let (mut swarm_ids, mut aws_ids) = (swarm_ids, aws_ids);
    let mut results: BTreeMap<usize, StepOutcome> = BTreeMap::new();
    let mut running: JoinSet<(Result<Done, StepError>, Duration)> = JoinSet::new();
    // Task id → index in `plan.steps`: a panicked task's result is its
    // JoinError, which carries only the task id.
    let mut tasks: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut started = vec![false; plan.steps.len()];
    let mut aws_running = 0usize;

    loop {
        for (index, step) in plan.steps.iter().enumerate() {
            if started[index] || running.len() >= limit {
                continue;
            }
            if step.action.is_aws() && aws_running >= aws_limit {
                continue;
            }
            if cancelled() {
                // Shutdown: start nothing new; what runs may finish.
                started[index] = true;
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
                started[index] = true;
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
            started[index] = true;
            aws_running += usize::from(step.action.is_aws());
            let executor = executor.clone();
            let action = step.action.clone();
            let (swarm_ids, aws_ids) = (swarm_ids.clone(), aws_ids.clone());
            let span = tracing::info_span!("action", kind = action.kind(), name = %action.name(), op = ?action.op());
            let task = running.spawn(tracing::Instrument::instrument(
                async move {
                    let start = Instant::now();
                    let result = match (&action, aws_ids) {
                        (Action::Aws { aws }, Some(aws_ids)) => executor.aws(aws, &aws_ids).await.map(Done::Aws),
                        (Action::Aws { .. }, None) => Err(no_aws()),
                        _ => executor.swarm(&action, &swarm_ids).await.map(Done::Swarm),
                    };
                    (result, start.elapsed())
                },
                span,
            ));
            tasks.insert(task.id(), index);
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (task, ended) = match joined {
            Ok((task, (result, took))) => (task, Ok(result.map(|done| (done, took)))),
            Err(e) => (e.id(), Err(task_failure(e))),
        };
        let Some(index) = tasks.remove(&task) else {
            tracing::error!(?task, "internal error: an action task the executor did not start ended");
            continue;
        };
        let step = &plan.steps[index];
        aws_running -= usize::from(step.action.is_aws());
        let outcome = match ended {
            Ok(Ok((done, took))) => {
                let mut already_gone = false;
                match &done {
                    Done::Swarm(Outcome::CreatedNetwork { name, id }) => swarm_ids.insert_network(name, id),
                    Done::Swarm(Outcome::CreatedFile { kind, name, id }) => swarm_ids.insert(*kind, name, id),
                    Done::Swarm(Outcome::AlreadyGone) => already_gone = true,
                    Done::Swarm(_) => {}
                    Done::Aws(outcome) => {
                        if let Some(aws) = aws_ids.as_mut() {
                            aws.record(outcome);
                        }
                    }
                }
                StepOutcome::Done { already_gone, took }
            }
            Ok(Err(StepError { kind, message })) => StepOutcome::Failed { error: message, kind },
            Err(failure) => {
                tracing::error!(
                    step = step.id,
                    kind = step.action.kind(),
                    name = %step.action.name(),
                    %failure,
                    "internal error: an action task ended without a result; the step counts as failed"
                );
                StepOutcome::Failed {
                    error: format!("internal error: {failure}"),
                    kind: ErrorKind::Unknown,
                }
            }
        };
        progress(step, &outcome);
        results.insert(step.id, outcome);
    }
    results
}

/// Why a task ended without a result: its panic message (a panic payload
/// is a `&str` or a `String` unless someone panicked with another type).
fn task_failure(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic payload that is not text)".to_owned());
            format!("the action panicked: {message}")
        }
        Err(e) => format!("the action's task was cancelled ({e})"),
    }
}

#[cfg(test)]
mod tests {
    //! The scheduling, against an in-memory provider that records what it
    //! was asked, in order, and counts how many actions run at once. The
    //! fake's actions stay busy for a few scheduler turns (no clock), so
    //! steps started together overlap and the counters see it.

    use std::collections::BTreeSet;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use swarmkeeper_plan::aws::AwsAction;
    use swarmkeeper_plan::spec::NetworkSpec;
    use tokio::sync::watch;

    use super::*;
    use crate::execute::{ExecError, NO_AWS};

    /// Scheduler turns an action stays busy.
    const BUSY: usize = 8;

    /// What the fake does for an action, by the action's name.
    #[derive(Clone)]
    enum Behaviour {
        Succeed,
        /// Stay busy this many scheduler turns more than the others.
        Slow(usize),
        Fail(ErrorKind, &'static str),
        Panic(&'static str),
        /// Begin shutdown when it starts, then succeed.
        BeginShutdown(Arc<watch::Sender<bool>>),
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Event {
        Start(String),
        End(String),
    }

    #[derive(Default)]
    struct State {
        behaviour: Mutex<HashMap<String, Behaviour>>,
        events: Mutex<Vec<Event>>,
        running: AtomicUsize,
        most_running: AtomicUsize,
        aws_running: AtomicUsize,
        most_aws_running: AtomicUsize,
        /// Per action: the id of `net-a` it was given, or the AWS security
        /// groups it was given.
        saw: Mutex<BTreeMap<String, String>>,
    }

    #[derive(Clone, Default)]
    struct Fake(Arc<State>);

    /// Counts an action as running while it lives, unwinding included.
    struct Running<'a> {
        state: &'a State,
        name: String,
        aws: bool,
    }

    impl<'a> Running<'a> {
        fn new(state: &'a State, name: String, aws: bool) -> Self {
            let now = state.running.fetch_add(1, Ordering::SeqCst) + 1;
            state.most_running.fetch_max(now, Ordering::SeqCst);
            if aws {
                let now = state.aws_running.fetch_add(1, Ordering::SeqCst) + 1;
                state.most_aws_running.fetch_max(now, Ordering::SeqCst);
            }
            state.events.lock().unwrap().push(Event::Start(name.clone()));
            Self { state, name, aws }
        }
    }

    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.state.running.fetch_sub(1, Ordering::SeqCst);
            if self.aws {
                self.state.aws_running.fetch_sub(1, Ordering::SeqCst);
            }
            // Not `unwrap`: this may run while a panic unwinds.
            if let Ok(mut events) = self.state.events.lock() {
                events.push(Event::End(std::mem::take(&mut self.name)));
            }
        }
    }

    impl Fake {
        fn with(self, name: &str, behaviour: Behaviour) -> Self {
            self.0.behaviour.lock().unwrap().insert(name.to_owned(), behaviour);
            self
        }

        async fn act(&self, name: String, aws: bool) -> Result<(), ExecError> {
            let behaviour = self.0.behaviour.lock().unwrap().get(&name).cloned();
            let _running = Running::new(&self.0, name, aws);
            let behaviour = behaviour.unwrap_or(Behaviour::Succeed);
            let turns = match &behaviour {
                Behaviour::Slow(more) => BUSY + more,
                Behaviour::BeginShutdown(signal) => {
                    signal.send_replace(true);
                    BUSY
                }
                _ => BUSY,
            };
            for _ in 0..turns {
                tokio::task::yield_now().await;
            }
            match behaviour {
                Behaviour::Fail(kind, message) => Err(StepError::new(kind, message)),
                Behaviour::Panic(message) => panic!("{message}"),
                Behaviour::Succeed | Behaviour::Slow(_) | Behaviour::BeginShutdown(_) => Ok(()),
            }
        }

        fn events(&self) -> Vec<Event> {
            self.0.events.lock().unwrap().clone()
        }

        fn started(&self) -> BTreeSet<String> {
            self.events()
                .into_iter()
                .filter_map(|e| match e {
                    Event::Start(name) => Some(name),
                    Event::End(_) => None,
                })
                .collect()
        }

        fn most_running(&self) -> usize {
            self.0.most_running.load(Ordering::SeqCst)
        }

        fn most_aws_running(&self) -> usize {
            self.0.most_aws_running.load(Ordering::SeqCst)
        }

        fn saw(&self, name: &str) -> Option<String> {
            self.0.saw.lock().unwrap().get(name).cloned()
        }
    }

    impl Execute for Fake {
        async fn swarm(&self, action: &Action, ids: &Ids) -> Result<Outcome, ExecError> {
            let name = action.name();
            self.0.saw.lock().unwrap().insert(name.clone(), ids.network("net-a"));
            self.act(name.clone(), false).await?;
            Ok(match action {
                Action::CreateNetwork { .. } => Outcome::CreatedNetwork {
                    id: format!("id-of-{name}"),
                    name,
                },
                _ => Outcome::Removed,
            })
        }

        async fn aws(&self, action: &AwsAction, ids: &AwsIds) -> Result<AwsOutcome, ExecError> {
            let name = action.name();
            let groups: Vec<String> = ids.security_groups.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.0.saw.lock().unwrap().insert(name.clone(), groups.join(","));
            self.act(name.clone(), true).await?;
            Ok(AwsOutcome::SecurityGroup {
                id: format!("sg-of-{name}"),
                name,
            })
        }
    }

    fn step(id: usize, action: Action, depends_on: &[usize]) -> Step {
        Step {
            id,
            action,
            reason: String::new(),
            depends_on: depends_on.to_vec(),
        }
    }

    /// A swarm step (the action's name is `name`).
    fn swarm(id: usize, name: &str, depends_on: &[usize]) -> Step {
        let action = Action::RemoveService {
            id: format!("id-of-{name}"),
            name: name.to_owned(),
        };
        step(id, action, depends_on)
    }

    fn network(id: usize, name: &str, depends_on: &[usize]) -> Step {
        let spec = NetworkSpec {
            name: name.to_owned(),
            driver: "overlay".to_owned(),
            driver_opts: BTreeMap::new(),
            labels: BTreeMap::new(),
            attachable: false,
            internal: false,
            ipam_driver: None,
            ipam_subnets: Vec::new(),
        };
        step(id, Action::CreateNetwork { spec }, depends_on)
    }

    /// An AWS step (the action's name is `name`).
    fn aws(id: usize, name: &str, depends_on: &[usize]) -> Step {
        let aws = AwsAction::DeleteGroup {
            name: name.to_owned(),
            force: false,
        };
        step(id, Action::Aws { aws }, depends_on)
    }

    fn plan(steps: Vec<Step>) -> Plan {
        Plan {
            steps,
            ..Plan::default()
        }
    }

    struct Run {
        results: BTreeMap<usize, StepOutcome>,
        /// Step ids as progress reported them.
        reported: Vec<usize>,
    }

    async fn run(
        fake: &Fake,
        plan: &Plan,
        concurrency: usize,
        aws_ids: Option<AwsIds>,
        cancel: Option<watch::Receiver<bool>>,
    ) -> Run {
        let reported = Arc::new(Mutex::new(Vec::new()));
        let progress: Progress = {
            let reported = reported.clone();
            Arc::new(move |step: &Step, _: &StepOutcome| reported.lock().unwrap().push(step.id))
        };
        let results = apply(fake, plan, Ids::default(), aws_ids, concurrency, progress, cancel).await;
        let reported = reported.lock().unwrap().clone();
        Run { results, reported }
    }

    /// Outcomes in a comparable form: `done`, `failed: …`, `skipped: 3`,
    /// `cancelled`, in step order.
    fn outcomes(results: &BTreeMap<usize, StepOutcome>) -> Vec<(usize, String)> {
        results
            .iter()
            .map(|(id, o)| {
                let o = match o {
                    StepOutcome::Done { .. } => "done".to_owned(),
                    StepOutcome::Failed { error, .. } => format!("failed: {error}"),
                    StepOutcome::Skipped { because_of } => format!("skipped: {because_of}"),
                    StepOutcome::Cancelled => "cancelled".to_owned(),
                };
                (*id, o)
            })
            .collect()
    }

    fn all_done(n: usize) -> Vec<(usize, String)> {
        (0..n).map(|id| (id, "done".to_owned())).collect()
    }

    fn names(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn position(events: &[Event], wanted: &Event) -> usize {
        events
            .iter()
            .position(|e| e == wanted)
            .unwrap_or_else(|| panic!("{wanted:?} not in {events:?}"))
    }

    #[tokio::test]
    async fn a_step_starts_only_after_every_step_it_depends_on_succeeded() {
        // a → b → d, a → c → d, c → e; f on its own, slow.
        let steps = vec![
            swarm(0, "a", &[]),
            aws(1, "b", &[0]),
            swarm(2, "c", &[0]),
            swarm(3, "d", &[1, 2]),
            aws(4, "e", &[2]),
            swarm(5, "f", &[]),
        ];
        let fake = Fake::default()
            .with("b", Behaviour::Slow(20))
            .with("f", Behaviour::Slow(40));
        let plan = plan(steps);
        let run = run(&fake, &plan, 4, Some(AwsIds::default()), None).await;
        assert_eq!(outcomes(&run.results), all_done(6));
        let events = fake.events();
        for step in &plan.steps {
            let start = position(&events, &Event::Start(step.action.name()));
            for dep in &step.depends_on {
                let end = position(&events, &Event::End(plan.steps[*dep].action.name()));
                assert!(
                    end < start,
                    "{} started before {} ended: {events:?}",
                    step.action.name(),
                    dep
                );
            }
        }
        // Independent steps did not wait for each other: `c` and `e` ran
        // while the slow `b` did, and the slow `f` from the start.
        assert!(position(&events, &Event::End("e".into())) < position(&events, &Event::End("b".into())));
        assert!(position(&events, &Event::Start("f".into())) < position(&events, &Event::End("a".into())));
        let mut reported = run.reported.clone();
        reported.sort_unstable();
        assert_eq!(reported, vec![0, 1, 2, 3, 4, 5], "every step is reported once");
    }

    #[tokio::test]
    async fn a_failure_skips_its_dependents_transitively_and_nothing_else() {
        let steps = vec![
            aws(0, "a", &[]),
            swarm(1, "b", &[0]),
            swarm(2, "c", &[1]),
            swarm(3, "d", &[]),
            aws(4, "e", &[3]),
            swarm(5, "f", &[3, 2]),
        ];
        let fake = Fake::default().with("a", Behaviour::Fail(ErrorKind::Permission, "AccessDenied: not allowed"));
        let run = run(&fake, &plan(steps), 4, Some(AwsIds::default()), None).await;
        assert_eq!(
            outcomes(&run.results),
            vec![
                (0, "failed: AccessDenied: not allowed".to_owned()),
                (1, "skipped: 0".to_owned()),
                (2, "skipped: 1".to_owned()),
                (3, "done".to_owned()),
                (4, "done".to_owned()),
                (5, "skipped: 2".to_owned()),
            ]
        );
        assert_eq!(fake.started(), names(&["a", "d", "e"]));
        assert_eq!(run.reported.len(), 6, "skipped steps are reported too");
    }

    #[tokio::test]
    async fn at_most_aws_concurrency_aws_actions_run_while_other_actions_run() {
        // Twelve of each, interleaved, all independent.
        let steps: Vec<Step> = (0..24)
            .map(|i| {
                if i % 2 == 0 {
                    aws(i, &format!("aws-{i}"), &[])
                } else {
                    swarm(i, &format!("swarm-{i}"), &[])
                }
            })
            .collect();
        let fake = Fake::default();
        let run = run(&fake, &plan(steps), 10, Some(AwsIds::default()), None).await;
        assert_eq!(outcomes(&run.results), all_done(24));
        assert_eq!(
            fake.most_aws_running(),
            AWS_CONCURRENCY,
            "the AWS cap is reached, never passed"
        );
        assert_eq!(fake.most_running(), 10, "swarm actions fill the slots AWS may not use");
    }

    #[tokio::test]
    async fn the_aws_cap_is_never_above_concurrency() {
        let steps: Vec<Step> = (0..10).map(|i| aws(i, &format!("aws-{i}"), &[])).collect();
        for (concurrency, most) in [(2, 2), (AWS_CONCURRENCY + 6, AWS_CONCURRENCY)] {
            let fake = Fake::default();
            let run = run(&fake, &plan(steps.clone()), concurrency, Some(AwsIds::default()), None).await;
            assert_eq!(outcomes(&run.results), all_done(10));
            assert_eq!(fake.most_aws_running(), most, "concurrency {concurrency}");
        }
    }

    #[tokio::test]
    async fn at_most_concurrency_actions_run_at_once() {
        let steps: Vec<Step> = (0..20)
            .map(|i| {
                if i % 3 == 0 {
                    aws(i, &format!("aws-{i}"), &[])
                } else {
                    swarm(i, &format!("swarm-{i}"), &[])
                }
            })
            .collect();
        // 0 counts as 1.
        for (concurrency, most) in [(0, 1), (1, 1), (3, 3), (7, 7)] {
            let fake = Fake::default();
            let run = run(&fake, &plan(steps.clone()), concurrency, Some(AwsIds::default()), None).await;
            assert_eq!(outcomes(&run.results), all_done(20));
            assert_eq!(fake.most_running(), most, "concurrency {concurrency}");
            assert!(
                fake.most_aws_running() <= most.min(AWS_CONCURRENCY),
                "concurrency {concurrency}"
            );
        }
    }

    #[tokio::test]
    async fn on_shutdown_nothing_new_starts_and_running_steps_finish() {
        let (tx, rx) = watch::channel(false);
        // Two slots: `a` and the slow `b` start; `a` begins shutdown.
        // `c` (after `a`) and `d` (waiting for a slot) never start.
        let steps = vec![
            swarm(0, "a", &[]),
            aws(1, "b", &[]),
            swarm(2, "c", &[0]),
            aws(3, "d", &[]),
            swarm(4, "e", &[1]),
        ];
        let fake = Fake::default()
            .with("a", Behaviour::BeginShutdown(Arc::new(tx)))
            .with("b", Behaviour::Slow(50));
        let run = run(&fake, &plan(steps), 2, Some(AwsIds::default()), Some(rx)).await;
        assert_eq!(
            outcomes(&run.results),
            vec![
                (0, "done".to_owned()),
                (1, "done".to_owned()),
                (2, "cancelled".to_owned()),
                (3, "cancelled".to_owned()),
                (4, "cancelled".to_owned()),
            ]
        );
        assert_eq!(fake.started(), names(&["a", "b"]));
        let events = fake.events();
        assert_eq!(
            events.last(),
            Some(&Event::End("b".into())),
            "b ran to its end: {events:?}"
        );
    }

    #[tokio::test]
    async fn after_shutdown_began_no_step_starts() {
        let (tx, rx) = watch::channel(false);
        tx.send_replace(true);
        let fake = Fake::default();
        let run = run(
            &fake,
            &plan(vec![swarm(0, "a", &[]), aws(1, "b", &[0])]),
            4,
            None,
            Some(rx),
        )
        .await;
        assert_eq!(
            outcomes(&run.results),
            vec![(0, "cancelled".to_owned()), (1, "cancelled".to_owned())]
        );
        assert!(fake.events().is_empty());
    }

    /// Captures what tracing writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    /// The test binary's log, captured by a global subscriber installed
    /// once. Global, not a thread's default: tracing caches per call site
    /// whether anyone listens, and with a thread-local subscriber a test
    /// running beside it could leave the executor's events unheard (CI saw
    /// the capture empty). Tests look for what only they log.
    fn captured_log() -> Captured {
        static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
        LOG.get_or_init(|| {
            let log = Captured::default();
            let subscriber = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer({
                    let log = log.clone();
                    move || log.clone()
                })
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in these tests");
            log
        })
        .clone()
    }

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_panicking_action_fails_its_step_skips_its_dependents_and_gives_back_its_aws_slot() {
        let log = captured_log();
        // As many panicking AWS actions as there are AWS slots, then one
        // more AWS action: it runs only if every slot came back.
        let mut steps: Vec<Step> = (0..AWS_CONCURRENCY)
            .map(|i| aws(i, &format!("boom-{i}"), &[]))
            .collect();
        let n = steps.len();
        steps.push(swarm(n, "after-boom", &[0]));
        steps.push(aws(n + 1, "after-after-boom", &[n]));
        steps.push(aws(n + 2, "later", &[]));
        let mut fake = Fake::default();
        for i in 0..AWS_CONCURRENCY {
            fake = fake.with(
                &format!("boom-{i}"),
                Behaviour::Panic("index out of bounds in the fake"),
            );
        }
        let run = run(&fake, &plan(steps), 8, Some(AwsIds::default()), None).await;
        let mut expected: Vec<(usize, String)> = (0..AWS_CONCURRENCY)
            .map(|i| {
                let error = "failed: internal error: the action panicked: index out of bounds in the fake";
                (i, error.to_owned())
            })
            .collect();
        expected.push((n, "skipped: 0".to_owned()));
        expected.push((n + 1, format!("skipped: {n}")));
        expected.push((n + 2, "done".to_owned()));
        assert_eq!(outcomes(&run.results), expected);
        assert!(!fake.started().contains("after-boom"));
        assert_eq!(fake.most_aws_running(), AWS_CONCURRENCY);
        assert_eq!(run.reported.len(), n + 3, "the panicked steps are reported");
        let log = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
        assert!(
            log.contains("ERROR") && log.contains("the action panicked: index out of bounds in the fake"),
            "the panic is logged through tracing: {log}"
        );
        assert!(log.contains("boom-0"), "the log names the step's action: {log}");

        // With one slot: the slot comes back too. (In this test, not one of
        // its own: tracing caches per call site whether anyone listens, and
        // another test thread could decide that for the capture above.)
        let steps = vec![swarm(0, "boom", &[]), swarm(1, "next", &[]), aws(2, "then", &[1])];
        let fake = Fake::default().with("boom", Behaviour::Panic("boom"));
        let one_slot = super::tests::run(&fake, &plan(steps), 1, Some(AwsIds::default()), None).await;
        assert_eq!(
            outcomes(&one_slot.results),
            vec![
                (0, "failed: internal error: the action panicked: boom".to_owned()),
                (1, "done".to_owned()),
                (2, "done".to_owned()),
            ]
        );
    }

    #[tokio::test]
    async fn ids_of_what_a_step_created_reach_the_steps_after_it() {
        let steps = vec![
            network(0, "net-a", &[]),
            swarm(1, "uses-net-a", &[0]),
            aws(2, "group-a", &[]),
            aws(3, "uses-group-a", &[2]),
        ];
        let fake = Fake::default();
        let run = run(&fake, &plan(steps), 4, Some(AwsIds::default()), None).await;
        assert_eq!(outcomes(&run.results), all_done(4));
        assert_eq!(fake.saw("net-a").as_deref(), Some("net-a"), "not created yet: the name");
        assert_eq!(fake.saw("uses-net-a").as_deref(), Some("id-of-net-a"));
        assert_eq!(fake.saw("group-a").as_deref(), Some(""));
        assert_eq!(fake.saw("uses-group-a").as_deref(), Some("group-a=sg-of-group-a"));
    }

    #[tokio::test]
    async fn without_an_aws_connection_aws_steps_fail_and_swarm_steps_run() {
        let steps = vec![
            aws(0, "group", &[]),
            swarm(1, "after-group", &[0]),
            swarm(2, "service", &[]),
        ];
        let fake = Fake::default();
        let run = run(&fake, &plan(steps), 4, None, None).await;
        assert_eq!(
            outcomes(&run.results),
            vec![
                (0, format!("failed: {NO_AWS}")),
                (1, "skipped: 0".to_owned()),
                (2, "done".to_owned()),
            ]
        );
        assert_eq!(fake.started(), names(&["service"]));
    }

    /// The kind of each failure as the executor records it: the provider's
    /// for a failed action, unknown for a panic, transient for a missing
    /// AWS connection.
    #[tokio::test]
    async fn a_failed_step_keeps_the_kind_its_provider_gave() {
        let steps = vec![
            swarm(0, "conflict", &[]),
            swarm(1, "panics", &[]),
            aws(2, "no-aws", &[]),
            swarm(3, "fine", &[]),
        ];
        let fake = Fake::default()
            .with("conflict", Behaviour::Fail(ErrorKind::Conflict, "name in use"))
            .with("panics", Behaviour::Panic("boom"));
        let run = run(&fake, &plan(steps), 4, None, None).await;
        let kinds: Vec<(usize, Option<ErrorKind>)> = run
            .results
            .iter()
            .map(|(id, o)| {
                (
                    *id,
                    match o {
                        StepOutcome::Failed { kind, .. } => Some(*kind),
                        _ => None,
                    },
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                (0, Some(ErrorKind::Conflict)),
                (1, Some(ErrorKind::Unknown)),
                (2, Some(ErrorKind::Transient)),
                (3, None),
            ]
        );
    }
}
