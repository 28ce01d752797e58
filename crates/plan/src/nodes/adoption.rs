//! Adoption: a ready member of a pool gets the pool's labels (and, when it
//! is new to the pool, is made active), and the pool's role — a demotion
//! only while the managers keep their majority.

use super::context::{Lifecycle, Push};
use super::steps::update_node;
use crate::node_types::{
    LABEL_INSTANCE, LABEL_POOL, LABEL_RETIRE, NodeAvailability, NodeChange, NodeRole, NodeState, Quorum,
};

/// Adds the label and role changes of every pool's ready members; `quorum`
/// counts the demotions planned.
pub fn adopt(lc: &Lifecycle, quorum: &mut Quorum, push: &mut Push<'_>) {
    for pool in &lc.matched.pools {
        for inst in lc.matched.alive.iter().filter(|i| i.group == pool.group) {
            let Some(node) = lc.matched.node_of.get(inst.id.as_str()) else {
                continue;
            };
            if node.state != NodeState::Ready {
                continue;
            }
            let retiring = node.labels.contains_key(LABEL_RETIRE);
            let mut change = NodeChange::default();
            if node.labels.get(LABEL_POOL).map(String::as_str) != Some(pool.name) {
                change.labels.insert(LABEL_POOL.into(), pool.name.into());
                change.labels.insert(LABEL_INSTANCE.into(), inst.id.clone());
                if node.availability != NodeAvailability::Active && !retiring {
                    change.availability = Some(NodeAvailability::Active);
                }
            }
            if node.role != pool.role && !retiring {
                if pool.role == NodeRole::Manager {
                    change.role = Some(NodeRole::Manager);
                } else if quorum.survives_removal(node.reachable) {
                    change.role = Some(NodeRole::Worker);
                    quorum.managers -= 1;
                    quorum.reachable -= usize::from(node.reachable);
                }
            }
            if change != NodeChange::default() {
                let why = match change.role {
                    Some(NodeRole::Manager) => format!("joined the {} pool as a worker: promote", pool.name),
                    Some(NodeRole::Worker) => format!("a manager in the {} pool: demote", pool.name),
                    None => format!("joined the {} pool", pool.name),
                };
                push(update_node(node, change), &why, vec![]);
            }
        }
    }
}

/// The adoption steps of a swarm that does not exist yet: every instance
/// of every declared pool joins it and gets the pool's labels, one step
/// each, whose node and instance are known only after the apply; with
/// more than one manager, the published manager addresses then name them
/// all. They are
/// shown (and counted) in `Plan::after_swarm`, never executed: the apply
/// plans them again against the nodes that joined.
pub fn joining(desired: &crate::aws::spec::DesiredAws, push: &mut Push<'_>) {
    let managers = desired
        .groups
        .iter()
        .filter(|g| g.pool == "managers")
        .map(|g| g.desired)
        .sum::<u32>();
    if managers > 1 {
        // The first manager publishes its own address; once the others
        // have joined, the published list names them all.
        push(
            crate::action::Action::Aws {
                aws: crate::aws::action::AwsAction::PutParameter {
                    spec: crate::aws::spec::ParameterSpec {
                        name: format!("{}/manager-addresses", crate::aws::names::ssm_prefix(&desired.cluster)),
                        secure: false,
                        value: crate::aws::spec::Sensitive(crate::convert::KNOWN_AFTER_APPLY.into()),
                    },
                    overwrite: true,
                },
            },
            &format!("the {managers} managers' addresses, once they have joined"),
            vec![],
        );
    }
    for group in &desired.groups {
        for n in 1..=group.desired {
            let mut change = NodeChange::default();
            change.labels.insert(LABEL_POOL.into(), group.pool.clone());
            change
                .labels
                .insert(LABEL_INSTANCE.into(), crate::convert::KNOWN_AFTER_APPLY.into());
            push(
                crate::action::Action::UpdateNode {
                    id: crate::convert::KNOWN_AFTER_APPLY.into(),
                    name: joining_name(&group.pool, n, group.desired),
                    change,
                },
                &format!("joins the {} pool once the swarm exists", group.pool),
                vec![],
            );
        }
    }
}

/// The name a node that has not joined yet goes by in a preview.
pub fn joining_name(pool: &str, n: u32, of: u32) -> String {
    format!("{pool} {n}/{of} {}", crate::convert::KNOWN_AFTER_APPLY)
}
