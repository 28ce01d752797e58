//! `diff(desired, observed) -> Plan`: the decisions. Pure: it reads two
//! snapshots and returns what to do, so every rule here is unit-testable.
//!
//! Rules:
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
//!   stacks, unless explicitly allowed.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::diff::{AwsSteps, diff_aws};
use crate::aws::spec::{DesiredAws, ObservedAws};
use crate::convert::DesiredSwarm;
use crate::labels;
use crate::observed::{ObservedFile, ObservedNetwork, ObservedService, ObservedSwarm, Unmanaged};
use crate::plan::{Action, FieldChange, Plan, Step};
use crate::spec::{FileKind, NetworkSpec, ServiceSpec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Allow pruning every managed stack when the desired state declares none.
    pub allow_empty: bool,
    /// Unused revisions of a still-declared config or secret to keep.
    pub keep_revisions: usize,
    /// The time and the local node, for the node lifecycle.
    pub nodes: crate::nodes::NodeContext,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            allow_empty: false,
            keep_revisions: 2,
            nodes: crate::nodes::NodeContext::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The desired state declares no stack while managed stacks are live.
    EmptyDesiredState { managed_stacks: Vec<String> },
    /// Objects that block the plan (name taken by an unmanaged object,
    /// external object missing).
    Conflicts(Vec<String>),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::EmptyDesiredState { managed_stacks } => write!(
                f,
                "the desired state declares no stacks, but swarmkeeper manages {} live ({}); refusing to remove them all. \
                 If that is what you want, run again with --allow-empty",
                managed_stacks.len(),
                managed_stacks.join(", ")
            ),
            PlanError::Conflicts(list) => {
                write!(f, "the plan is blocked:")?;
                for c in list {
                    write!(f, "\n  - {c}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for PlanError {}

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
    let obs_services: BTreeMap<&str, &ObservedService> =
        observed.services.iter().map(|s| (s.spec.name.as_str(), s)).collect();
    let obs_networks: BTreeMap<&str, &ObservedNetwork> = observed
        .networks
        .iter()
        .filter(|n| n.scope == "swarm")
        .map(|n| (n.spec.name.as_str(), n))
        .collect();
    let obs_files: BTreeMap<(FileKind, &str), &ObservedFile> =
        observed.files.iter().map(|f| ((f.kind, f.name.as_str()), f)).collect();

    guard_empty(desired, observed, opts)?;

    let mut plan = Plan::default();
    let mut b = Builder { steps: Vec::new() };
    let mut conflicts = Vec::new();

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
    if let Some((want, have)) = aws {
        plan.nodes = Some(crate::nodes::plan_nodes(
            want,
            have,
            observed,
            &opts.nodes,
            &mut |action, reason, deps| b.push(action, reason, deps),
        ));
    }
    for (service, why) in &desired.deferred {
        plan.warnings.push(format!("service `{service}` waits: {why}"));
    }

    // Networks and files first: services depend on them.
    let mut network_steps: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, spec) in &desired.networks {
        match obs_networks.get(name.as_str()) {
            None => {
                let id = b.push(
                    Action::CreateNetwork { spec: spec.clone() },
                    "declared, not present",
                    vec![],
                );
                network_steps.insert(name, id);
            }
            Some(o) if !o.is_managed() && !same_stack(&o.spec.labels, &spec.labels) => conflicts.push(format!(
                "network `{name}` exists but is not managed by swarmkeeper: remove it or rename the compose network"
            )),
            Some(o) => {
                if let Some(field) = network_difference(&o.spec, spec) {
                    plan.warnings.push(format!(
                        "network `{name}` differs from the desired state ({field}); swarm networks cannot change in place: \
                         remove the stack's services from it (or the stack) to have it recreated"
                    ));
                }
            }
        }
    }
    let mut file_steps: BTreeMap<(FileKind, &str), usize> = BTreeMap::new();
    for ((kind, name), spec) in &desired.files {
        match obs_files.get(&(*kind, name.as_str())) {
            None => {
                let id = b.push(
                    Action::CreateFile {
                        kind: *kind,
                        spec: spec.clone(),
                    },
                    "new content revision",
                    vec![],
                );
                file_steps.insert((*kind, name), id);
            }
            Some(o) if !o.is_managed() => conflicts.push(format!(
                "{} `{name}` exists but is not managed by swarmkeeper: remove it",
                kind.word()
            )),
            Some(_) => {}
        }
    }

    // Services.
    let mut service_steps: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, spec) in &desired.services {
        let mut deps = Vec::new();
        for n in &spec.task.networks {
            if let Some(id) = network_steps.get(n.target.as_str()) {
                deps.push(*id);
            } else if !desired.networks.contains_key(&n.target) && !obs_networks.contains_key(n.target.as_str()) {
                conflicts.push(format!(
                    "service `{name}` uses external network `{}`, which does not exist: create it (docker network create --driver overlay {}) or stop declaring it external",
                    n.target, n.target
                ));
            }
        }
        for (kind, refs) in [
            (FileKind::Secret, &spec.task.container.secrets),
            (FileKind::Config, &spec.task.container.configs),
        ] {
            for r in refs {
                if let Some(id) = file_steps.get(&(kind, r.name.as_str())) {
                    deps.push(*id);
                } else if !desired.files.contains_key(&(kind, r.name.clone()))
                    && !obs_files.contains_key(&(kind, r.name.as_str()))
                {
                    conflicts.push(format!(
                        "service `{name}` uses external {} `{}`, which does not exist: create it with docker {} create",
                        kind.word(),
                        r.name,
                        kind.word()
                    ));
                }
            }
        }
        for volume in desired.volume_users.get(name).into_iter().flatten() {
            deps.extend(aws_steps.volume_ready.get(volume).into_iter().flatten().copied());
        }
        match obs_services.get(name.as_str()) {
            None => {
                let id = b.push(
                    Action::CreateService {
                        spec: Box::new(with_revision(spec, desired.revision.as_deref())),
                    },
                    "declared, not present",
                    deps,
                );
                service_steps.insert(name, id);
            }
            Some(o) => {
                let adopt = !o.is_managed();
                if adopt && !same_stack(&o.spec.labels, &spec.labels) {
                    conflicts.push(format!(
                        "service `{name}` exists but is not managed by swarmkeeper: remove it (docker service rm {name}) or rename the stack"
                    ));
                    continue;
                }
                // The revision label records the desired-state revision that
                // last changed the service: it never causes an update itself.
                let mut spec = spec.clone();
                match o.spec.labels.get(labels::REVISION) {
                    Some(old) => spec.labels.insert(labels::REVISION.to_owned(), old.clone()),
                    None => spec.labels.remove(labels::REVISION),
                };
                let mut changes = field_changes(&comparable_observed(&o.spec, &spec), &spec);
                if !changes.is_empty() {
                    if let Some(revision) = &desired.revision {
                        spec.labels.insert(labels::REVISION.to_owned(), revision.clone());
                        changes = field_changes(&comparable_observed(&o.spec, &spec), &spec);
                    }
                    let reason = if adopt {
                        "adopt a service deployed by docker stack deploy".to_owned()
                    } else {
                        format!("{} field(s) differ", changes.len())
                    };
                    let id = b.push(
                        Action::UpdateService {
                            id: o.id.clone(),
                            version: o.version,
                            spec: Box::new(spec),
                            changes,
                        },
                        reason,
                        deps,
                    );
                    service_steps.insert(name, id);
                }
            }
        }
    }

    // Prune services no longer declared.
    for o in &observed.services {
        if !o.is_managed() {
            plan.unmanaged.push(Unmanaged {
                kind: "service",
                name: o.spec.name.clone(),
            });
            continue;
        }
        if !desired.services.contains_key(&o.spec.name) && !desired.deferred.contains_key(&o.spec.name) {
            let id = b.push(
                Action::RemoveService {
                    id: o.id.clone(),
                    name: o.spec.name.clone(),
                },
                removal_reason(o.stack(), desired),
                vec![],
            );
            service_steps.insert(&o.spec.name, id);
        }
    }

    // Steps that detach an observed service from something: its update or removal.
    let detaching = |uses: &dyn Fn(&ServiceSpec) -> bool| -> Vec<usize> {
        observed
            .services
            .iter()
            .filter(|s| uses(&s.spec))
            .filter_map(|s| service_steps.get(s.spec.name.as_str()).copied())
            .collect()
    };

    // Prune networks.
    for o in &observed.networks {
        if o.scope != "swarm" || desired.networks.contains_key(&o.spec.name) {
            continue;
        }
        if !o.is_managed() {
            if !is_builtin_network(&o.spec.name) {
                plan.unmanaged.push(Unmanaged {
                    kind: "network",
                    name: o.spec.name.clone(),
                });
            }
            continue;
        }
        let name = o.spec.name.clone();
        let deps = detaching(&|s: &ServiceSpec| s.task.networks.iter().any(|n| n.target == name));
        b.push(
            Action::RemoveNetwork {
                id: o.id.clone(),
                name: name.clone(),
            },
            "no longer declared",
            deps,
        );
    }

    // Prune config and secret revisions.
    let declared_objects: BTreeSet<(FileKind, &str)> = desired
        .files
        .iter()
        .filter_map(|((kind, _), spec)| spec.labels.get(labels::OBJECT_NAME).map(|o| (*kind, o.as_str())))
        .collect();
    let mut unused: BTreeMap<(FileKind, String), Vec<&ObservedFile>> = BTreeMap::new();
    for o in &observed.files {
        if !o.is_managed() {
            plan.unmanaged.push(Unmanaged {
                kind: o.kind.word(),
                name: o.name.clone(),
            });
            continue;
        }
        if desired.files.contains_key(&(o.kind, o.name.clone())) {
            continue;
        }
        let object = o
            .labels
            .get(labels::OBJECT_NAME)
            .cloned()
            .unwrap_or_else(|| o.name.clone());
        unused.entry((o.kind, object)).or_default().push(o);
    }
    for ((kind, object), mut revisions) in unused {
        revisions.sort_by_key(|r| std::cmp::Reverse(r.version));
        let keep = if declared_objects.contains(&(kind, object.as_str())) {
            opts.keep_revisions
        } else {
            0
        };
        for o in revisions.into_iter().skip(keep) {
            let name = o.name.clone();
            let deps = detaching(&|s: &ServiceSpec| {
                let refs = match kind {
                    FileKind::Secret => &s.task.container.secrets,
                    FileKind::Config => &s.task.container.configs,
                };
                refs.iter().any(|r| r.name == name)
            });
            let reason = if keep > 0 {
                format!("unused revision (the newest {keep} are kept)")
            } else {
                "no longer declared".to_owned()
            };
            b.push(
                Action::RemoveFile {
                    kind,
                    id: o.id.clone(),
                    name: name.clone(),
                },
                reason,
                deps,
            );
        }
    }

    if !conflicts.is_empty() {
        return Err(PlanError::Conflicts(conflicts));
    }
    plan.steps = b.steps;
    plan.unmanaged.sort();
    Ok(plan)
}

fn with_revision(spec: &ServiceSpec, revision: Option<&str>) -> ServiceSpec {
    let mut spec = spec.clone();
    if let Some(r) = revision {
        spec.labels.insert(labels::REVISION.to_owned(), r.to_owned());
    }
    spec
}

fn guard_empty(desired: &DesiredSwarm, observed: &ObservedSwarm, opts: &PlanOptions) -> Result<(), PlanError> {
    if !desired.stacks.is_empty() || opts.allow_empty {
        return Ok(());
    }
    let managed: BTreeSet<String> = observed
        .services
        .iter()
        .filter(|s| s.is_managed())
        .filter_map(|s| s.stack().map(str::to_owned))
        .collect();
    if managed.is_empty() {
        return Ok(());
    }
    Err(PlanError::EmptyDesiredState {
        managed_stacks: managed.into_iter().collect(),
    })
}

fn same_stack(observed: &BTreeMap<String, String>, desired: &BTreeMap<String, String>) -> bool {
    let ns = |l: &BTreeMap<String, String>| l.get(labels::STACK_NAMESPACE).cloned();
    ns(observed).is_some() && ns(observed) == ns(desired)
}

fn removal_reason(stack: Option<&str>, desired: &DesiredSwarm) -> String {
    match stack {
        Some(s) if !desired.stacks.contains(s) => format!("stack `{s}` is no longer declared"),
        _ => "no longer declared in its stack".to_owned(),
    }
}

fn is_builtin_network(name: &str) -> bool {
    name == "ingress"
}

/// The first attribute that differs between two networks (labels aside).
fn network_difference(observed: &NetworkSpec, desired: &NetworkSpec) -> Option<&'static str> {
    if observed.driver != desired.driver {
        Some("driver")
    } else if observed.internal != desired.internal {
        Some("internal")
    } else if observed.attachable != desired.attachable {
        Some("attachable")
    } else if !desired.ipam_subnets.is_empty() && observed.ipam_subnets != desired.ipam_subnets {
        Some("ipam subnets")
    } else {
        None
    }
}

/// The observed spec as it should be compared with `desired`: an image the
/// engine pinned to a digest equals the tag it was resolved from.
pub fn comparable_observed(observed: &ServiceSpec, desired: &ServiceSpec) -> ServiceSpec {
    let mut spec = observed.clone();
    if !desired.task.container.image.contains('@')
        && let Some((image, _digest)) = spec.task.container.image.split_once('@')
    {
        spec.task.container.image = image.to_owned();
    }
    spec
}

/// Field-level differences between two specs, as JSON paths.
pub fn field_changes(old: &ServiceSpec, new: &ServiceSpec) -> Vec<FieldChange> {
    let (Ok(old), Ok(new)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    json_diff("", &old, &new, &mut out);
    out
}

pub(crate) fn json_diff(path: &str, old: &serde_json::Value, new: &serde_json::Value, out: &mut Vec<FieldChange>) {
    use serde_json::Value as J;
    if old == new {
        return;
    }
    match (old, new) {
        (J::Object(a), J::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let child = child_path(path, k);
                json_diff(&child, a.get(k).unwrap_or(&J::Null), b.get(k).unwrap_or(&J::Null), out);
            }
        }
        _ => out.push(FieldChange {
            path: path.to_owned(),
            old: old.clone(),
            new: new.clone(),
        }),
    }
}

fn child_path(parent: &str, key: &str) -> String {
    let plain = key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (true, false) => format!("[{key:?}]"),
        (false, true) => format!("{parent}.{key}"),
        (false, false) => format!("{parent}[{key:?}]"),
    }
}
