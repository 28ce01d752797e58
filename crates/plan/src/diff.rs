//! `diff(desired, observed) -> Plan`: the root of the decisions. Pure: it
//! reads the snapshots and returns what to do. It runs, in this order, the
//! AWS diff ([`crate::aws::diff`]), the node lifecycle ([`crate::nodes`]) and
//! the swarm diff ([`crate::swarm_diff`]) into one plan whose step ids and
//! dependencies span all three; the only module that calls more than one of
//! them. The rules they enforce together:
//!
//! - create what is missing; update a managed service whose normalised spec
//!   differs, naming each changed field; never touch what carries no
//!   ownership label (a service `docker stack deploy` made for the same
//!   stack is adopted: the update adds the labels);
//! - networks and config/secret revisions are immutable: they are created
//!   and removed, never updated;
//! - prune managed objects that are no longer declared, after the services
//!   that used them are updated or removed; keep the newest few unused
//!   revisions of configs and secrets that are still declared;
//! - refuse to prune everything when the desired state suddenly declares no
//!   stacks, or a still-declared stack suddenly has no services, unless
//!   explicitly allowed; a stack is "no longer declared" only when
//!   swarmkeeper.yaml no longer lists it, and a plan for a state where a
//!   declared stack did not load is refused;
//! - a desired state owns what carries its name (`io.swarmkeeper.owner`):
//!   another owner's objects are listed and never touched, and a name that
//!   clashes with one is refused; swarmkeeper objects without an owner
//!   (earlier versions) are adopted when this state declares them by name,
//!   and otherwise left alone;
//! - a config or secret revision named before keyed names keeps its name
//!   while its content is unchanged ([`crate::revisions`]).

use std::borrow::Cow;

use crate::action::Action;
use crate::aws::diff::{AwsSteps, diff_aws};
use crate::aws::spec::{DesiredAws, ObservedAws};
use crate::convert::DesiredSwarm;
pub use crate::json_diff::field_changes;
use crate::nodes::plan_nodes;
use crate::observed::ObservedSwarm;
use crate::plan::{Plan, Step, SwarmPart, SwarmSeen};
pub use crate::plan::{PlanError, PlanOptions};
use crate::revisions::keep_legacy_names;
pub use crate::swarm_diff::comparable_observed;
use crate::swarm_diff::{SwarmInputs, diff_swarm, guard_empty};

struct Builder {
    steps: Vec<Step>,
}

impl Builder {
    fn push(&mut self, action: Action, reason: impl Into<String>, mut depends_on: Vec<usize>) -> usize {
        let id = self.steps.len();
        depends_on.sort_unstable();
        depends_on.dedup();
        self.steps.push(Step {
            id,
            action,
            reason: reason.into(),
            depends_on,
        });
        id
    }
}

/// `desired`, with revisions that have a live old-style name renamed to it.
fn legacy_named<'a>(desired: &'a DesiredSwarm, observed: &ObservedSwarm) -> Cow<'a, DesiredSwarm> {
    let legacy = observed
        .files
        .iter()
        .any(|o| o.labels.contains_key(crate::labels::CONTENT_HASH));
    if !legacy {
        return Cow::Borrowed(desired);
    }
    let mut renamed = desired.clone();
    keep_legacy_names(&mut renamed, observed);
    Cow::Owned(renamed)
}

pub fn diff(desired: &DesiredSwarm, observed: &ObservedSwarm, opts: &PlanOptions) -> Result<Plan, PlanError> {
    diff_with_aws(desired, observed, None, opts)
}

/// The whole plan: AWS steps (when the desired state declares a cluster)
/// and swarm steps, in one dependency order.
pub fn diff_with_aws(
    desired: &DesiredSwarm,
    observed: &ObservedSwarm,
    aws: Option<(&DesiredAws, &ObservedAws)>,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    diff_cluster(desired, SwarmSeen::Observed(observed), aws, opts)
}

/// The plan for what is known of the swarm. Without an observed swarm
/// there is no evidence about nodes or swarm objects, so the node lifecycle
/// is not run and nothing of the swarm is changed or removed: when the
/// swarm has not formed yet its steps are planned against an empty swarm
/// into [`Plan::after_swarm`]; when it cannot be reached, not at all.
pub fn diff_cluster(
    desired: &DesiredSwarm,
    swarm: SwarmSeen<'_>,
    aws: Option<(&DesiredAws, &ObservedAws)>,
    opts: &PlanOptions,
) -> Result<Plan, PlanError> {
    let empty = ObservedSwarm::default();
    let (observed, part) = match &swarm {
        SwarmSeen::Observed(observed) => (*observed, SwarmPart::Planned),
        SwarmSeen::NotFormed => (&empty, SwarmPart::AfterSwarmExists),
        SwarmSeen::Unreachable(why) => (&empty, SwarmPart::Unreachable { why: (*why).to_owned() }),
    };
    if part == SwarmPart::Planned {
        guard_empty(desired, observed, opts)?;
    }
    let desired = &legacy_named(desired, observed);

    let mut plan = Plan::default();
    let mut b = Builder { steps: Vec::new() };
    let mut conflicts = Vec::new();
    for stack in &desired.unloaded {
        conflicts.push(format!(
            "stack `{stack}` is declared in swarmkeeper.yaml but did not load: nothing is planned until it does \
             (its services are neither changed nor removed)"
        ));
    }

    let aws_steps = match aws {
        Some((want, have)) => diff_aws(
            want,
            have,
            &mut |action, reason, deps| b.push(action, reason, deps),
            &mut plan.warnings,
            &mut conflicts,
        ),
        None => AwsSteps::default(),
    };
    if let (Some((want, have)), SwarmPart::Planned) = (aws, &part) {
        plan.nodes = Some(plan_nodes(
            want,
            have,
            observed,
            &opts.nodes,
            &mut |action, reason, deps| b.push(action, reason, deps),
        ));
    }
    if part != SwarmPart::Planned {
        // Planned, they are steps of `after_apply` (or `after_swarm`);
        // here their wait is said in words.
        for (service, why) in &desired.deferred {
            plan.warnings.push(format!("service `{service}` waits: {why}"));
        }
    }

    let inputs = SwarmInputs {
        opts,
        volume_ready: &aws_steps.volume_ready,
    };
    let now = b.steps.len();
    if let (Some((want, _)), SwarmPart::AfterSwarmExists) = (aws, &part) {
        // The pools' instances join the new swarm: their labels are part
        // of what happens after it exists.
        crate::nodes::adoption::joining(want, &mut |action, reason, deps| b.push(action, reason, deps));
    }
    if !matches!(part, SwarmPart::Unreachable { .. }) {
        diff_swarm(
            desired,
            observed,
            &inputs,
            &mut |action, reason, deps| b.push(action, reason, deps),
            &mut plan,
            &mut conflicts,
        );
    }
    if part == SwarmPart::AfterSwarmExists {
        // Ids stay unique across both lists; the later steps' dependencies
        // on AWS steps say what they wait for besides the swarm.
        plan.after_swarm = b.steps.split_off(now);
    } else if part == SwarmPart::Planned && !desired.deferred.is_empty() {
        plan.after_apply = wait_for_this_apply(&mut b.steps, now, &desired.deferred);
    }
    plan.swarm = part;

    if !conflicts.is_empty() {
        return Err(PlanError::Conflicts(conflicts));
    }
    plan.steps = b.steps;
    crate::hold::hold_back(&mut plan, &opts.hold, &desired.stacks);
    plan.sensitive_env = desired.sensitive_env.clone();
    plan.unmanaged.sort();
    plan.foreign.sort();
    let me = desired.owner.as_str();
    let legacy = plan.foreign.iter().filter(|f| f.owner.is_none()).count();
    if legacy > 0 {
        plan.warnings.push(format!(
            "{legacy} swarmkeeper object(s) carry no owner (made by an earlier version) and are not declared by `{me}`: \
             left alone, never pruned. Declare them in the desired state that should own them, or remove them by hand \
             (docs/operations.md, \"Migrating to owners\")"
        ));
    }
    Ok(plan)
}

/// Move the swarm steps (from `first`) of services that wait on this
/// apply (`deferred`: service → what it waits for) out of `steps`, with
/// every step that depends on one of them: the apply runs none of them,
/// and the next round plans them again with the real values. Ids stay as
/// they are, so what a waiting step depends on still names its step.
fn wait_for_this_apply(
    steps: &mut Vec<Step>,
    first: usize,
    deferred: &std::collections::BTreeMap<String, String>,
) -> Vec<crate::plan::Waiting> {
    let mut moved: std::collections::BTreeMap<usize, String> = std::collections::BTreeMap::new();
    // Steps come in dependency order: a step's dependencies are decided first.
    for step in steps.iter().skip(first) {
        let own = match &step.action {
            Action::CreateService { spec } | Action::UpdateService { spec, .. } => deferred.get(&spec.name).cloned(),
            _ => None,
        };
        let inherited = step.depends_on.iter().find_map(|d| {
            moved.get(d).map(|_| {
                let dep = steps.iter().find(|s| s.id == *d);
                format!(
                    "{} \"{}\" of this plan, which waits itself",
                    dep.map_or("", |s| s.action.kind()),
                    dep.map(|s| s.action.name()).unwrap_or_default()
                )
            })
        });
        if let Some(why) = own.or(inherited) {
            moved.insert(step.id, why);
        }
    }
    let mut waiting = Vec::new();
    steps.retain(|step| match moved.remove(&step.id) {
        Some(waits_for) => {
            waiting.push(crate::plan::Waiting {
                step: step.clone(),
                waits_for,
            });
            false
        }
        None => true,
    });
    waiting
}
