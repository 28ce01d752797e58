//! What a suspension holds back of a plan ([`Hold`], from
//! `PlanOptions::hold`): every step, or the steps of suspended stacks, move
//! to [`Plan::held`] with every step that depends on one of them. The apply
//! runs none of them; they are shown and counted, so drift stays visible
//! while nothing is done about it.

use std::collections::{BTreeMap, BTreeSet};

use crate::action::Action;
use crate::control::Hold;
use crate::labels::STACK_NAMESPACE;
use crate::plan::{Held, Plan, Step};

/// The stack whose object `action` changes: its spec's stack label
/// (`com.docker.stack.namespace`) where the action carries a spec, else
/// docker's naming (`<stack>_<name>`, a removal): the longest of `stacks`
/// that prefixes the name, so that `a_b`'s objects are not taken for `a`'s.
/// Node and AWS steps belong to no stack.
fn stack_of<'a>(action: &Action, stacks: &'a BTreeSet<String>) -> Option<&'a str> {
    let labelled = match action {
        Action::CreateNetwork { spec } => Some(&spec.labels),
        Action::CreateFile { spec, .. } => Some(&spec.labels),
        Action::CreateService { spec } | Action::UpdateService { spec, .. } => Some(&spec.labels),
        _ => None,
    };
    if let Some(stack) = labelled.and_then(|l| l.get(STACK_NAMESPACE)) {
        return stacks.get(stack).map(String::as_str);
    }
    let swarm_object = matches!(
        action,
        Action::CreateNetwork { .. }
            | Action::RemoveNetwork { .. }
            | Action::CreateFile { .. }
            | Action::RemoveFile { .. }
            | Action::CreateService { .. }
            | Action::UpdateService { .. }
            | Action::RemoveService { .. }
    );
    if !swarm_object {
        return None;
    }
    let name = action.name();
    stacks
        .iter()
        .filter(|s| name.len() > s.len() && name.starts_with(s.as_str()) && name.as_bytes()[s.len()] == b'_')
        .max_by_key(|s| s.len())
        .map(String::as_str)
}

/// Move what `hold` holds out of `plan.steps` (and, holding everything,
/// out of `after_apply`) into `plan.held`. `declared` are the stacks of
/// the desired state, so that a declared `a_b` is not held for a
/// suspended `a`.
pub fn hold_back(plan: &mut Plan, hold: &Hold, declared: &BTreeSet<String>) {
    let suspended = match hold {
        Hold::Nothing => return,
        Hold::Everything => {
            let why = "everything is suspended (swarmkeeper resume)".to_owned();
            let waiting = std::mem::take(&mut plan.after_apply).into_iter().map(|w| w.step);
            plan.held.extend(
                std::mem::take(&mut plan.steps)
                    .into_iter()
                    .chain(waiting)
                    .map(|step| Held {
                        step,
                        held_by: why.clone(),
                    }),
            );
            return;
        }
        Hold::Stacks(stacks) => stacks,
    };
    let known: BTreeSet<String> = declared.union(suspended).cloned().collect();
    let mut moved: BTreeMap<usize, String> = BTreeMap::new();
    let mut kept: Vec<Step> = Vec::with_capacity(plan.steps.len());
    // Steps come in dependency order: a step's dependencies are decided first.
    for step in std::mem::take(&mut plan.steps) {
        let own = stack_of(&step.action, &known)
            .filter(|s| suspended.contains(*s))
            .map(|s| format!("stack `{s}` is suspended (swarmkeeper resume --stack {s})"));
        let inherited = || {
            step.depends_on
                .iter()
                .find_map(|d| moved.get(d).map(|why| format!("it needs a held step ({why})")))
        };
        match own.or_else(inherited) {
            Some(why) => {
                moved.insert(step.id, why.clone());
                plan.held.push(Held { step, held_by: why });
            }
            None => kept.push(step),
        }
    }
    plan.steps = kept;
    plan.after_apply.retain(|w| {
        let held = stack_of(&w.step.action, &known).is_some_and(|s| suspended.contains(s))
            || w.step.depends_on.iter().any(|d| moved.contains_key(d));
        if held {
            plan.held.push(Held {
                step: w.step.clone(),
                held_by: format!("{} (held: its stack is suspended)", w.waits_for),
            });
        }
        !held
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remove(id: usize, name: &str, deps: &[usize]) -> Step {
        Step {
            id,
            action: Action::RemoveService {
                id: format!("id-{name}"),
                name: name.to_owned(),
            },
            reason: String::new(),
            depends_on: deps.to_vec(),
        }
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_longest_declared_stack_owns_a_name() {
        let stacks = set(&["a", "a_b"]);
        let of = |name: &str| stack_of(&remove(0, name, &[]).action, &stacks).map(str::to_owned);
        assert_eq!(of("a_web").as_deref(), Some("a"));
        assert_eq!(of("a_b_web").as_deref(), Some("a_b"));
        assert_eq!(of("ab_web"), None);
        assert_eq!(of("a"), None);
    }

    #[test]
    fn a_suspended_stack_and_what_depends_on_it_are_held_and_the_rest_stays() {
        let mut plan = Plan {
            steps: vec![
                remove(0, "a_web", &[]),
                remove(1, "b_web", &[]),
                remove(2, "a_b_x", &[0]),
            ],
            ..Plan::default()
        };
        hold_back(&mut plan, &Hold::Stacks(set(&["a"])), &set(&["a_b", "b"]));
        let kept: Vec<usize> = plan.steps.iter().map(|s| s.id).collect();
        let held: Vec<usize> = plan.held.iter().map(|h| h.step.id).collect();
        assert_eq!(kept, vec![1]);
        assert_eq!(held, vec![0, 2]);
        assert!(
            plan.held[0].held_by.contains("stack `a` is suspended"),
            "{:?}",
            plan.held
        );
        assert!(plan.held[1].held_by.contains("needs a held step"), "{:?}", plan.held);
        assert_eq!(plan.summary().held, 2);
        assert!(plan.pending(), "b_web is still to do");
    }

    #[test]
    fn holding_everything_leaves_nothing_to_apply() {
        let mut plan = Plan {
            steps: vec![remove(0, "a_web", &[]), remove(1, "b_web", &[])],
            ..Plan::default()
        };
        hold_back(&mut plan, &Hold::Everything, &set(&["a", "b"]));
        assert!(plan.steps.is_empty());
        assert!(!plan.pending());
        assert_eq!(plan.held.len(), 2);
        let mut same = plan.clone();
        hold_back(&mut same, &Hold::Nothing, &BTreeSet::new());
        assert_eq!(same, plan);
    }
}
