//! The swarm's decisions: networks, configs and secrets, services, and the
//! pruning of what is no longer declared. Pure: it reads the desired and the
//! observed swarm and adds steps to the plan being built (see
//! [`crate::diff`], which runs it after the AWS and node decisions).
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
//!   stacks, or a still-declared stack suddenly has no services, unless
//!   explicitly allowed; a stack is "no longer declared" only when
//!   swarmkeeper.yaml no longer lists it, and a plan for a state where a
//!   declared stack did not load is refused;
//! - a desired state owns what carries its name (`io.swarmkeeper.owner`):
//!   another owner's objects are listed and never touched, and a name that
//!   clashes with one is refused; swarmkeeper objects without an owner
//!   (earlier versions) are adopted when this state declares them by name,
//!   and otherwise left alone.

use std::collections::{BTreeMap, BTreeSet};

use crate::action::Action;
use crate::convert::DesiredSwarm;
use crate::json_diff::field_changes;
use crate::labels::{self, Ownership, ownership};
use crate::observed::{Foreign, ObservedFile, ObservedNetwork, ObservedService, ObservedSwarm, Unmanaged};
use crate::plan::{Plan, PlanError, PlanOptions};
use crate::spec::{FileKind, NetworkSpec, ServiceSpec};

/// Adds steps through `push(action, reason, depends_on) -> id`.
struct Steps<'a> {
    push: &'a mut dyn FnMut(Action, String, Vec<usize>) -> usize,
}

impl Steps<'_> {
    fn push(&mut self, action: Action, reason: impl Into<String>, depends_on: Vec<usize>) -> usize {
        (self.push)(action, reason.into(), depends_on)
    }
}

/// What the swarm diff needs besides the two snapshots.
pub struct SwarmInputs<'a> {
    pub opts: &'a PlanOptions,
    /// Volume → steps that make its file system mountable (services using
    /// the volume wait for them).
    pub volume_ready: &'a BTreeMap<String, Vec<usize>>,
}

/// The swarm's steps, added through `push(action, reason, depends_on) -> id`;
/// what is left alone goes to `plan.unmanaged` and `plan.foreign`, what the
/// user should know to `plan.warnings`, what blocks the plan to `conflicts`.
pub fn diff_swarm(
    desired: &DesiredSwarm,
    observed: &ObservedSwarm,
    inputs: &SwarmInputs,
    push: &mut dyn FnMut(Action, String, Vec<usize>) -> usize,
    plan: &mut Plan,
    conflicts: &mut Vec<String>,
) {
    let opts = inputs.opts;
    let mut b = Steps { push };
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
    let me = desired.owner.as_str();
    let other_owner = |kind: &str, name: &str, owner: &str| {
        format!(
            "{kind} `{name}` belongs to the desired state `{owner}` (label {}={owner}): swarmkeeper leaves it alone. \
             Rename the stack or object here, or remove it from `{owner}` first",
            labels::OWNER
        )
    };

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
            Some(o) if let Ownership::Other(owner) = ownership(&o.spec.labels, me) => {
                conflicts.push(other_owner("network", name, owner))
            }
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
            Some(o) if let Ownership::Other(owner) = ownership(&o.labels, me) => {
                conflicts.push(other_owner(kind.word(), name, owner))
            }
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
            deps.extend(inputs.volume_ready.get(volume).into_iter().flatten().copied());
        }
        // Pull credentials that expire are renewed on the service in time.
        let expiring = desired
            .expiring_credentials
            .contains(&crate::images::registry_of(&spec.task.container.image));
        let now = opts.nodes.now_unix.to_string();
        match obs_services.get(name.as_str()) {
            None => {
                let mut spec = with_revision(spec, desired.revision.as_deref());
                if expiring {
                    spec.labels.insert(labels::CREDENTIALS_SENT.to_owned(), now);
                }
                let id = b.push(
                    Action::CreateService { spec: Box::new(spec) },
                    "declared, not present",
                    deps,
                );
                service_steps.insert(name, id);
            }
            Some(o) => {
                let owned = ownership(&o.spec.labels, me);
                if let Ownership::Other(owner) = owned {
                    conflicts.push(other_owner("service", name, owner));
                    continue;
                }
                let adopt = owned == Ownership::Unmanaged;
                if adopt && !same_stack(&o.spec.labels, &spec.labels) {
                    conflicts.push(format!(
                        "service `{name}` exists but is not managed by swarmkeeper: remove it (docker service rm {name}) or rename the stack"
                    ));
                    continue;
                }
                // The revision label records the desired-state revision that
                // last changed the service: it never causes an update itself.
                let mut spec = spec.clone();
                for bookkeeping in [labels::REVISION, labels::CREDENTIALS_SENT] {
                    match o.spec.labels.get(bookkeeping) {
                        Some(old) => spec.labels.insert(bookkeeping.to_owned(), old.clone()),
                        None => spec.labels.remove(bookkeeping),
                    };
                }
                let changes = field_changes(&comparable_observed(&o.spec, &spec), &spec);
                let renew = expiring
                    && crate::images::credentials_due(
                        o.spec.labels.get(labels::CREDENTIALS_SENT).map(String::as_str),
                        opts.nodes.now_unix,
                    );
                if changes.is_empty() && renew {
                    // Only the credentials stored with the service change:
                    // running tasks are not restarted (swarm ignores pull
                    // options for tasks that already pulled).
                    let mut spec = spec.clone();
                    spec.labels.insert(labels::CREDENTIALS_SENT.to_owned(), now.clone());
                    let registry = crate::images::registry_of(&spec.task.container.image);
                    let id = b.push(
                        Action::UpdateService {
                            id: o.id.clone(),
                            version: o.version,
                            spec: Box::new(spec),
                            changes: Vec::new(),
                            notes: vec![format!("credentials-sent → {now}")],
                        },
                        format!(
                            "renew the pull credentials of registry {registry}, whose tokens expire (running tasks are not restarted)"
                        ),
                        deps,
                    );
                    service_steps.insert(name, id);
                    continue;
                }
                if !changes.is_empty() {
                    if expiring {
                        spec.labels.insert(labels::CREDENTIALS_SENT.to_owned(), now.clone());
                    }
                    let mut notes = Vec::new();
                    if let Some(revision) = &desired.revision {
                        spec.labels.insert(labels::REVISION.to_owned(), revision.clone());
                        if o.spec.labels.get(labels::REVISION) != Some(revision) {
                            notes.push(format!("revision → {revision}"));
                        }
                    }
                    let reason = if adopt {
                        "adopt a service deployed by docker stack deploy".to_owned()
                    } else if owned == Ownership::Legacy {
                        format!(
                            "adopt: made by an earlier swarmkeeper without an owner; it now carries {}={me}",
                            labels::OWNER
                        )
                    } else {
                        format!("{} field(s) differ", changes.len())
                    };
                    let id = b.push(
                        Action::UpdateService {
                            id: o.id.clone(),
                            version: o.version,
                            spec: Box::new(spec),
                            changes,
                            notes,
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
        let declared = desired.services.contains_key(&o.spec.name) || desired.deferred.contains_key(&o.spec.name);
        match ownership(&o.spec.labels, me) {
            Ownership::Unmanaged => {
                plan.unmanaged.push(Unmanaged {
                    kind: "service",
                    name: o.spec.name.clone(),
                });
                continue;
            }
            Ownership::Other(owner) => {
                plan.foreign.push(foreign("service", &o.spec.name, Some(owner)));
                continue;
            }
            Ownership::Legacy if !declared => {
                plan.foreign.push(foreign("service", &o.spec.name, None));
                continue;
            }
            Ownership::Legacy | Ownership::Mine => {}
        }
        if !declared {
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
        match ownership(&o.spec.labels, me) {
            Ownership::Unmanaged => {
                if !is_builtin_network(&o.spec.name) {
                    plan.unmanaged.push(Unmanaged {
                        kind: "network",
                        name: o.spec.name.clone(),
                    });
                }
                continue;
            }
            Ownership::Other(owner) => {
                plan.foreign.push(foreign("network", &o.spec.name, Some(owner)));
                continue;
            }
            // Not declared here (declared ones were skipped above).
            Ownership::Legacy => {
                plan.foreign.push(foreign("network", &o.spec.name, None));
                continue;
            }
            Ownership::Mine => {}
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
        let object = o
            .labels
            .get(labels::OBJECT_NAME)
            .cloned()
            .unwrap_or_else(|| o.name.clone());
        match ownership(&o.labels, me) {
            Ownership::Unmanaged => {
                plan.unmanaged.push(Unmanaged {
                    kind: o.kind.word(),
                    name: o.name.clone(),
                });
                continue;
            }
            Ownership::Other(owner) => {
                plan.foreign.push(foreign(o.kind.word(), &o.name, Some(owner)));
                continue;
            }
            // A revision made before owners belongs to the state that
            // declares its object (configs and secrets cannot be relabelled).
            Ownership::Legacy
                if !declared_objects.contains(&(o.kind, object.as_str()))
                    && !desired.files.contains_key(&(o.kind, o.name.clone())) =>
            {
                plan.foreign.push(foreign(o.kind.word(), &o.name, None));
                continue;
            }
            Ownership::Legacy | Ownership::Mine => {}
        }
        if desired.files.contains_key(&(o.kind, o.name.clone())) {
            continue;
        }
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
}

fn foreign(kind: &'static str, name: &str, owner: Option<&str>) -> Foreign {
    Foreign {
        kind,
        name: name.to_owned(),
        owner: owner.map(str::to_owned),
    }
}

fn with_revision(spec: &ServiceSpec, revision: Option<&str>) -> ServiceSpec {
    let mut spec = spec.clone();
    if let Some(r) = revision {
        spec.labels.insert(labels::REVISION.to_owned(), r.to_owned());
    }
    spec
}

/// Refuses a plan that would prune every managed stack, or every service of
/// a still-declared stack, unless `opts.allow_empty`.
pub fn guard_empty(desired: &DesiredSwarm, observed: &ObservedSwarm, opts: &PlanOptions) -> Result<(), PlanError> {
    if opts.allow_empty {
        return Ok(());
    }
    // Stacks with live services this state would prune (its own only).
    let managed: BTreeSet<&str> = observed
        .services
        .iter()
        .filter(|s| ownership(&s.spec.labels, &desired.owner) == Ownership::Mine)
        .filter_map(|s| s.stack())
        .collect();
    if desired.stacks.is_empty() {
        if managed.is_empty() {
            return Ok(());
        }
        return Err(PlanError::EmptyDesiredState {
            managed_stacks: managed.into_iter().map(str::to_owned).collect(),
        });
    }
    let declares_services = |stack: &str| {
        let prefix = format!("{stack}_");
        let any = |name: &String| name.starts_with(&prefix);
        desired
            .services
            .iter()
            .any(|(name, spec)| any(name) && spec.labels.get(labels::STACK_NAMESPACE).is_some_and(|s| s == stack))
            || desired.deferred.keys().any(any)
    };
    let emptied: Vec<String> = managed
        .into_iter()
        .filter(|s| desired.stacks.contains(*s) && !desired.unloaded.contains(*s) && !declares_services(s))
        .map(str::to_owned)
        .collect();
    if emptied.is_empty() {
        Ok(())
    } else {
        Err(PlanError::EmptyStacks { stacks: emptied })
    }
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
