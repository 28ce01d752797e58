//! The steps that take one node out: drain, demote, remove, terminate its
//! instance, each waiting for the one before.

use super::context::{Push, retiring_for_scale_in};
use crate::action::Action;
use crate::aws::action::AwsAction;
use crate::aws::spec::ObservedInstance;
use crate::node_types::{NodeAvailability, NodeChange, NodeRole};
use crate::observed::ObservedNode;

/// Steps for a failed node: drain (workers), demote (managers), remove,
/// terminate the instance so the group launches a replacement.
pub fn retire(
    push: &mut Push<'_>,
    node: &ObservedNode,
    instance: Option<&ObservedInstance>,
    why: &str,
    demote: Option<NodeRole>,
) {
    let mut deps = vec![];
    if demote.is_none() && node.availability != NodeAvailability::Drain {
        let change = NodeChange {
            availability: Some(NodeAvailability::Drain),
            ..NodeChange::default()
        };
        deps.push(push(update_node(node, change), why, vec![]));
    }
    let scale_in = retiring_for_scale_in(node);
    match instance {
        Some(instance) => retire_drained(push_with(push, deps), node, instance, why, demote, scale_in),
        None => {
            remove_node(push, node, why, demote, deps);
        }
    }
}

/// A `push` that adds `deps` to the first step it is given.
fn push_with<'a>(push: &'a mut Push<'_>, deps: Vec<usize>) -> impl FnMut(Action, &str, Vec<usize>) -> usize + 'a {
    let mut first = Some(deps);
    move |action, why, mut more| {
        if let Some(d) = first.take() {
            more.extend(d);
        }
        push(action, why, more)
    }
}

/// Demote (managers), remove, terminate: a node already out of service.
pub fn retire_drained(
    mut push: impl FnMut(Action, &str, Vec<usize>) -> usize,
    node: &ObservedNode,
    instance: &ObservedInstance,
    why: &str,
    demote: Option<NodeRole>,
    scale_in: bool,
) {
    let removed = remove_node(&mut push, node, why, demote, vec![]);
    push(
        Action::Aws {
            aws: AwsAction::TerminateInstance {
                id: instance.id.clone(),
                group: instance.group.clone(),
                decrement: scale_in,
            },
        },
        if scale_in {
            "scale-in: the group shrinks by one"
        } else {
            "the group launches a replacement"
        },
        vec![removed],
    );
}

fn remove_node(
    push: &mut Push<'_>,
    node: &ObservedNode,
    why: &str,
    demote: Option<NodeRole>,
    mut deps: Vec<usize>,
) -> usize {
    if let Some(role) = demote.filter(|_| node.role == NodeRole::Manager) {
        let change = NodeChange {
            role: Some(role),
            ..NodeChange::default()
        };
        deps = vec![push(update_node(node, change), why, deps)];
    }
    push(
        Action::RemoveNode {
            id: node.id.clone(),
            name: node.hostname.clone(),
        },
        why,
        deps,
    )
}

/// The step that applies `change` to `node`.
pub fn update_node(node: &ObservedNode, change: NodeChange) -> Action {
    Action::UpdateNode {
        id: node.id.clone(),
        name: node.hostname.clone(),
        change,
    }
}
