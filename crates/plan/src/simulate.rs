//! An in-memory model of a swarm that executes plans: what the property
//! tests use to check that applying a plan, then diffing again, leaves
//! nothing to do. It follows the engine's rules that matter to the diff:
//! new objects get fresh ids, updates bump the version index, removals
//! delete.

use crate::node_types::NodeRole;
use crate::observed::{ObservedFile, ObservedNetwork, ObservedService, ObservedSwarm};
use crate::plan::{Action, Plan};

/// Apply every step of `plan` to `swarm`, in order.
pub fn apply(plan: &Plan, swarm: &mut ObservedSwarm) {
    for step in &plan.steps {
        apply_action(&step.action, swarm);
    }
}

/// Apply every step to the swarm model and the AWS model of `cluster`.
pub fn apply_all(plan: &Plan, swarm: &mut ObservedSwarm, aws: &mut crate::aws::spec::ObservedAws, cluster: &str) {
    for step in &plan.steps {
        match &step.action {
            Action::Aws { aws: action } => crate::aws::simulate::apply_action(action, cluster, aws),
            other => apply_action(other, swarm),
        }
    }
}

fn next_id(swarm: &ObservedSwarm) -> String {
    format!(
        "id{}",
        swarm.services.len() + swarm.networks.len() + swarm.files.len() + 1000 + fresh()
    )
}

fn fresh() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

pub fn apply_action(action: &Action, swarm: &mut ObservedSwarm) {
    match action {
        Action::CreateNetwork { spec } => {
            let id = next_id(swarm);
            swarm.networks.push(ObservedNetwork {
                id,
                spec: spec.clone(),
                scope: "swarm".to_owned(),
            });
        }
        Action::RemoveNetwork { id, .. } => swarm.networks.retain(|n| &n.id != id),
        Action::CreateFile { kind, spec } => {
            let id = next_id(swarm);
            swarm.files.push(ObservedFile {
                kind: *kind,
                id,
                name: spec.name.clone(),
                version: fresh() as u64,
                labels: spec.labels.clone(),
            });
        }
        Action::RemoveFile { id, .. } => swarm.files.retain(|f| &f.id != id),
        Action::CreateService { spec } => {
            let id = next_id(swarm);
            swarm.services.push(ObservedService {
                id,
                version: 1,
                spec: (**spec).clone(),
            });
        }
        Action::UpdateService { id, spec, .. } => {
            if let Some(s) = swarm.services.iter_mut().find(|s| &s.id == id) {
                s.spec = (**spec).clone();
                s.version += 1;
            }
        }
        Action::RemoveService { id, .. } => swarm.services.retain(|s| &s.id != id),
        Action::UpdateNode { id, change, .. } => {
            if let Some(n) = swarm.nodes.iter_mut().find(|n| &n.id == id) {
                if let Some(role) = &change.role {
                    n.role = *role;
                    n.reachable = n.reachable && *role == NodeRole::Manager;
                }
                if let Some(availability) = &change.availability {
                    n.availability = *availability;
                }
                n.labels.extend(change.labels.clone());
            }
        }
        Action::RemoveNode { id, .. } => {
            swarm.nodes.retain(|n| &n.id != id);
            swarm.tasks.retain(|t| t.node_id.as_ref() != Some(id));
        }
        // AWS actions change AWS, not the swarm model.
        Action::Aws { .. } => {}
    }
}
