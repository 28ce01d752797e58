//! The dashboard's view model: which facts the page shows for an observed
//! platform. Availability zones → nodes → their tasks; the entry point and
//! its routes; the stacks and their services (image, digest, tasks running
//! of those wanted, the revision that last changed each, whether the
//! pending plan changes it); the declared volumes and where they live.
//! Pure: the binary renders it (HTML) and serves it; nothing here is
//! secret (names, images, counts and states only).

use std::collections::BTreeMap;

use serde::Serialize;
use swarmkeeper_model::config::{Config, VolumeKind};

use crate::aws::spec::ObservedAws;
use crate::labels::{self, Ownership};
use crate::node_types::{ENGINE_LABEL_INSTANCE, LABEL_INSTANCE, LABEL_POOL};
use crate::observed::{ObservedService, ObservedSwarm, TaskState};
use crate::plan::Plan;
use crate::spec::Mode;

/// The engine label the bootstrap sets: the node's availability zone.
pub const ENGINE_LABEL_ZONE: &str = "swarmkeeper.az";
/// Where nodes without a known zone are shown.
pub const NO_ZONE: &str = "(zone not known)";

/// What the page is made from.
pub struct Inputs<'a> {
    pub observed: &'a ObservedSwarm,
    pub aws: Option<&'a ObservedAws>,
    /// The desired state's `swarmkeeper.yaml` (routes, ingress, volumes).
    pub config: Option<&'a Config>,
    /// The plan a reconcile would carry out now.
    pub plan: Option<&'a Plan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Dashboard {
    pub zones: Vec<ZoneView>,
    /// Tasks that should run and have no node yet (no node fits their
    /// placement, or the scheduler has not placed them).
    pub unplaced: Vec<TaskView>,
    pub entry: Option<EntryView>,
    pub stacks: Vec<StackView>,
    pub volumes: Vec<VolumeView>,
    /// Managers reachable of all managers, and whether that is a majority.
    pub managers: (usize, usize),
    pub quorum: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneView {
    pub name: String,
    pub nodes: Vec<NodeView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeView {
    pub hostname: String,
    pub id: String,
    /// The pool swarmkeeper adopted it into (`None`: no pool's).
    pub pool: Option<String>,
    pub role: String,
    pub state: String,
    pub availability: String,
    pub leader: bool,
    pub instance_type: Option<String>,
    pub instance: Option<String>,
    /// The tasks that should run there, by service.
    pub tasks: Vec<TaskView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskView {
    pub service: String,
    pub state: String,
    pub running: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryView {
    /// `load_balancer` or `elastic_ip`.
    pub kind: String,
    /// The load balancer's name, when it exists.
    pub name: Option<String>,
    pub routes: Vec<RouteView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteView {
    pub host: String,
    pub path: String,
    /// The swarm service name (`stack_service`).
    pub service: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackView {
    pub name: String,
    pub services: Vec<ServiceView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceView {
    pub name: String,
    /// The image as written (tag), and the digest it is pinned to.
    pub image: String,
    pub digest: Option<String>,
    /// `replicated`, `global`, `job`.
    pub mode: &'static str,
    pub running: usize,
    /// Tasks it asks for (replicas; for a global service, one per node
    /// that should run it).
    pub wanted: usize,
    pub healthy: bool,
    /// The revision that last changed the service.
    pub revision: Option<String>,
    /// The pending plan changes (or removes) it.
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeView {
    pub name: String,
    /// `shared` (EFS) or `relocatable` (EBS).
    pub kind: &'static str,
    /// The file system or volume, once AWS has it.
    pub resource: Option<String>,
    /// Where it is mounted: every node (EFS), or the services using it.
    pub used_by: Vec<String>,
}

/// Build the view.
pub fn view(inputs: &Inputs<'_>) -> Dashboard {
    let observed = inputs.observed;
    let owner = inputs.config.map(Config::owner).unwrap_or_default();
    let names: BTreeMap<&str, &str> = observed
        .services
        .iter()
        .map(|s| (s.id.as_str(), s.spec.name.as_str()))
        .collect();
    let instances: BTreeMap<&str, &crate::aws::spec::ObservedInstance> = inputs
        .aws
        .map(|a| a.instances.iter().map(|i| (i.id.as_str(), i)).collect())
        .unwrap_or_default();

    let mut zones: BTreeMap<String, Vec<NodeView>> = BTreeMap::new();
    for node in &observed.nodes {
        let instance = node
            .labels
            .get(LABEL_INSTANCE)
            .or_else(|| node.engine_labels.get(ENGINE_LABEL_INSTANCE))
            .cloned();
        let mut tasks: Vec<TaskView> = observed
            .tasks
            .iter()
            .filter(|t| t.node_id.as_deref() == Some(node.id.as_str()) && t.desired_state == TaskState::Running)
            .map(|t| TaskView {
                service: names.get(t.service_id.as_str()).copied().unwrap_or("?").to_owned(),
                state: t.state.as_str().to_owned(),
                running: t.state == TaskState::Running,
            })
            .collect();
        tasks.sort_by(|a, b| a.service.cmp(&b.service));
        let zone = node
            .engine_labels
            .get(ENGINE_LABEL_ZONE)
            .cloned()
            .unwrap_or_else(|| NO_ZONE.to_owned());
        zones.entry(zone).or_default().push(NodeView {
            hostname: node.hostname.clone(),
            id: node.id.chars().take(12).collect(),
            pool: node.labels.get(LABEL_POOL).cloned(),
            role: node.role.as_str().to_owned(),
            state: node.state.as_str().to_owned(),
            availability: node.availability.as_str().to_owned(),
            leader: node.leader,
            instance_type: instance
                .as_deref()
                .and_then(|i| instances.get(i))
                .map(|i| i.instance_type.clone()),
            instance,
            tasks,
        });
    }
    let mut zones: Vec<ZoneView> = zones
        .into_iter()
        .map(|(name, mut nodes)| {
            nodes.sort_by(|a, b| (&a.role, &a.hostname).cmp(&(&b.role, &b.hostname)));
            ZoneView { name, nodes }
        })
        .collect();
    let mut unplaced: Vec<TaskView> = observed
        .tasks
        .iter()
        .filter(|t| t.node_id.as_deref().is_none_or(str::is_empty) && t.desired_state == TaskState::Running)
        .map(|t| TaskView {
            service: names.get(t.service_id.as_str()).copied().unwrap_or("?").to_owned(),
            state: t.state.as_str().to_owned(),
            running: false,
        })
        .collect();
    unplaced.sort_by(|a, b| a.service.cmp(&b.service));
    // Zones by name, the nodes of no known zone last.
    zones.sort_by_key(|z| z.name == NO_ZONE);

    let pending = |service: &str| {
        inputs
            .plan
            .is_some_and(|p| p.steps.iter().any(|s| !s.action.is_aws() && s.action.name() == service))
    };
    let mut stacks: BTreeMap<String, Vec<ServiceView>> = BTreeMap::new();
    for s in &observed.services {
        if !matches!(
            labels::ownership(&s.spec.labels, owner),
            Ownership::Mine | Ownership::Legacy
        ) {
            continue;
        }
        let stack = s
            .spec
            .labels
            .get(labels::STACK_NAMESPACE)
            .cloned()
            .unwrap_or_else(|| "(no stack)".to_owned());
        stacks
            .entry(stack)
            .or_default()
            .push(service_view(s, observed, pending(&s.spec.name)));
    }
    let stacks = stacks
        .into_iter()
        .map(|(name, services)| StackView { name, services })
        .collect();

    let entry = inputs.config.and_then(|c| {
        let ingress = c.ingress.as_ref()?;
        Some(EntryView {
            kind: ingress.kind.as_str().to_owned(),
            name: inputs
                .aws
                .and_then(|a| a.load_balancer.as_ref())
                .map(|lb| lb.spec.name.clone()),
            routes: c
                .routes
                .iter()
                .map(|r| RouteView {
                    host: r.host.clone(),
                    path: r.path.clone(),
                    service: format!("{}_{}", r.service.stack, r.service.service),
                    port: r.port,
                })
                .collect(),
        })
    });

    let volumes = inputs
        .config
        .map(|c| {
            c.volumes
                .iter()
                .map(|(name, v)| {
                    let resource = match v.kind {
                        VolumeKind::Shared => inputs.aws.and_then(|a| {
                            a.file_systems
                                .iter()
                                .find(|f| f.creation_token.ends_with(&format!("-{name}")))
                                .map(|f| f.id.clone())
                        }),
                        VolumeKind::Relocatable => None,
                    };
                    VolumeView {
                        name: name.clone(),
                        kind: v.kind.as_str(),
                        resource,
                        used_by: users_of(name, observed),
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    let quorum = crate::nodes::quorum::quorum_of(&observed.nodes);
    Dashboard {
        zones,
        unplaced,
        entry,
        stacks,
        volumes,
        managers: (quorum.reachable, quorum.managers),
        quorum: quorum.ok,
    }
}

fn service_view(s: &ObservedService, observed: &ObservedSwarm, pending: bool) -> ServiceView {
    let (running, scheduled) = crate::health::tasks_of(s, observed);
    let (mode, wanted) = match s.spec.mode {
        Mode::Replicated { replicas } => ("replicated", usize::try_from(replicas).unwrap_or(usize::MAX)),
        Mode::Global => ("global", scheduled),
        Mode::ReplicatedJob { .. } | Mode::GlobalJob => ("job", scheduled),
    };
    let image = &s.spec.task.container.image;
    let (tag, digest) = match image.split_once('@') {
        Some((tag, digest)) => (tag.to_owned(), Some(crate::images::short_digest(digest).to_owned())),
        None => (image.clone(), None),
    };
    ServiceView {
        name: s.spec.name.clone(),
        image: tag,
        digest,
        mode,
        running,
        wanted,
        healthy: mode == "job" || running >= wanted,
        revision: s.spec.labels.get(labels::REVISION).cloned(),
        pending,
    }
}

/// Services that mount the volume `name` (as the stacks name it:
/// `<stack>_<name>` or `name` itself for a cluster volume).
fn users_of(name: &str, observed: &ObservedSwarm) -> Vec<String> {
    let mut users: Vec<String> = observed
        .services
        .iter()
        .filter(|s| {
            s.spec.task.container.mounts.iter().any(|m| {
                m.source
                    .as_deref()
                    .is_some_and(|src| src == name || src.ends_with(&format!("_{name}")))
            })
        })
        .map(|s| s.spec.name.clone())
        .collect();
    users.sort();
    users
}
