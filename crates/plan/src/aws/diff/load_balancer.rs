//! The application load balancer: the balancer, target groups, listeners,
//! rules and which group's instances are registered where; whatever a hand
//! edit changed is put back.

use std::collections::BTreeMap;

use super::out::Out;
use crate::aws::action::AwsAction;
use crate::aws::spec::*;

/// The load balancer, target groups, listeners, rules and which group's
/// instances are registered; whatever a hand edit changed is put back.
pub fn diff_load_balancer(
    desired: &DesiredAws,
    observed: &ObservedAws,
    sg_steps: &BTreeMap<&str, usize>,
    group_steps: &BTreeMap<&str, usize>,
    out: &mut Out,
) {
    let cluster = &desired.cluster;
    let mut lb_step = Vec::new();
    match (&desired.load_balancer, &observed.load_balancer) {
        (Some(spec), None) => {
            let deps = sg_steps
                .get(spec.security_group.as_str())
                .copied()
                .into_iter()
                .collect();
            lb_step.push(out.step(
                AwsAction::CreateLoadBalancer { spec: spec.clone() },
                "declared, not present",
                deps,
            ));
        }
        (Some(_), Some(o)) if !owned(&o.tags, cluster) => out.conflicts.push(format!(
            "load balancer `{}` exists without the tag {TAG_CLUSTER}={cluster}: rename or delete it",
            o.spec.name
        )),
        _ => {}
    }
    // Target groups.
    let mut tg_steps: BTreeMap<&str, usize> = BTreeMap::new();
    for spec in &desired.target_groups {
        match observed.target_groups.iter().find(|t| t.spec.name == spec.name) {
            None => {
                let id = out.step(
                    AwsAction::CreateTargetGroup { spec: spec.clone() },
                    "routed, not present",
                    vec![],
                );
                tg_steps.insert(&spec.name, id);
            }
            Some(o) if !owned(&o.tags, cluster) => out.conflicts.push(format!(
                "target group `{}` exists without the tag {TAG_CLUSTER}={cluster}",
                spec.name
            )),
            Some(o) if o.spec != *spec => {
                out.step(
                    AwsAction::ModifyTargetGroup { spec: spec.clone() },
                    "health check changed",
                    vec![],
                );
            }
            Some(_) => {}
        }
    }
    // Listeners.
    let mut listener_steps: BTreeMap<u16, usize> = BTreeMap::new();
    for spec in &desired.listeners {
        match observed.listeners.iter().find(|l| l.spec.port == spec.port) {
            None => {
                let id = out.step(
                    AwsAction::CreateListener { spec: spec.clone() },
                    "declared, not present",
                    lb_step.clone(),
                );
                listener_steps.insert(spec.port, id);
            }
            Some(o) if o.spec != *spec => {
                out.step(
                    AwsAction::ModifyListener {
                        arn: o.arn.clone(),
                        spec: spec.clone(),
                    },
                    "certificate or default action changed",
                    vec![],
                );
            }
            Some(_) => {}
        }
    }
    // Rules, matched by listener and priority.
    let mut rule_steps = Vec::new();
    for spec in &desired.rules {
        let mut deps: Vec<usize> = listener_steps.get(&spec.listener_port).copied().into_iter().collect();
        deps.extend(tg_steps.get(spec.target_group.as_str()).copied());
        match observed
            .rules
            .iter()
            .find(|r| r.spec.listener_port == spec.listener_port && r.spec.priority == spec.priority)
        {
            None => rule_steps.push((
                out.step(AwsAction::CreateRule { spec: spec.clone() }, "route not present", deps),
                None,
            )),
            Some(o) if o.spec != *spec => rule_steps.push((
                out.step(
                    AwsAction::ModifyRule {
                        arn: o.arn.clone(),
                        spec: spec.clone(),
                    },
                    "host, path or target differs (edited by hand, or the route changed)",
                    deps,
                ),
                Some(o.spec.target_group.clone()),
            )),
            Some(_) => {}
        }
    }
    let mut removed_rules = Vec::new();
    for o in &observed.rules {
        if !desired
            .rules
            .iter()
            .any(|r| r.listener_port == o.spec.listener_port && r.priority == o.spec.priority)
        {
            removed_rules.push(out.step(
                AwsAction::DeleteRule {
                    arn: o.arn.clone(),
                    spec: o.spec.clone(),
                },
                "route no longer declared",
                vec![],
            ));
        }
    }
    // Which instances serve the target groups.
    let mut detach_steps = Vec::new();
    for spec in &desired.groups {
        let have: Vec<String> = observed
            .groups
            .iter()
            .find(|g| g.name == spec.name)
            .map(|g| g.target_groups.clone())
            .unwrap_or_default();
        let attach: Vec<String> = spec
            .target_groups
            .iter()
            .filter(|t| !have.contains(t))
            .cloned()
            .collect();
        let detach: Vec<String> = have
            .iter()
            .filter(|t| !spec.target_groups.contains(t))
            .cloned()
            .collect();
        if attach.is_empty() && detach.is_empty() {
            continue;
        }
        let mut deps: Vec<usize> = attach
            .iter()
            .filter_map(|t| tg_steps.get(t.as_str()).copied())
            .collect();
        deps.extend(group_steps.get(spec.name.as_str()).copied());
        let id = out.step(
            AwsAction::SetGroupTargets {
                group: spec.name.clone(),
                attach,
                detach: detach.clone(),
            },
            "routed services changed",
            deps,
        );
        if !detach.is_empty() {
            detach_steps.push(id);
        }
    }
    // Target groups no longer routed go after their rules and detachment.
    let mut removed_tgs = Vec::new();
    for o in observed.target_groups.iter().filter(|t| owned(&t.tags, cluster)) {
        if !desired.target_groups.iter().any(|t| t.name == o.spec.name) {
            // After the rules that stop using it: deleted, or moved to
            // another target group (AWS refuses to delete one in use).
            let mut deps = removed_rules.clone();
            deps.extend(detach_steps.iter().copied());
            deps.extend(
                rule_steps
                    .iter()
                    .filter(|(_, was)| was.as_deref() == Some(o.spec.name.as_str()))
                    .map(|(id, _)| *id),
            );
            removed_tgs.push(out.step(
                AwsAction::DeleteTargetGroup {
                    arn: o.arn.clone(),
                    name: o.spec.name.clone(),
                },
                "route no longer declared",
                deps,
            ));
        }
    }
    if let (None, Some(o)) = (&desired.load_balancer, &observed.load_balancer)
        && owned(&o.tags, cluster)
    {
        out.step(
            AwsAction::DeleteLoadBalancer {
                arn: o.arn.clone(),
                name: o.spec.name.clone(),
            },
            "ingress is no longer a load balancer",
            vec![],
        );
    }
}
