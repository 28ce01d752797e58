//! The AWS decisions: create what is missing, update what drifted (rules,
//! launch template data, group sizes, parameters), delete owned resources
//! that are no longer declared — except data: a file system is deleted only
//! when its recorded deletion policy says `delete`.

use std::collections::{BTreeMap, BTreeSet};

use super::action::AwsAction;
use super::names::{efs_group, removed_pool_name};
use super::spec::*;
use crate::action::{Action, FieldChange};
use crate::json_diff::json_diff;

/// Step ids of the AWS work that swarm steps may wait for.
#[derive(Debug, Default)]
pub struct AwsSteps {
    /// Volume → steps that make its file system mountable.
    pub volume_ready: BTreeMap<String, Vec<usize>>,
}

/// Adds steps through `push(action, reason, depends_on) -> id`.
pub fn diff_aws(
    desired: &DesiredAws,
    observed: &ObservedAws,
    push: &mut dyn FnMut(Action, String, Vec<usize>) -> usize,
    warnings: &mut Vec<String>,
    conflicts: &mut Vec<String>,
) -> AwsSteps {
    let cluster = &desired.cluster;
    let mut steps = AwsSteps::default();
    let mut aws =
        |action: AwsAction, reason: &str, deps: Vec<usize>| push(Action::Aws { aws: action }, reason.to_owned(), deps);

    // Security groups first, then their rules: rules may name groups that
    // are new too (the nodes accept the load balancer, EFS the nodes), so a
    // new group is created empty and each rule waits for both ends.
    let mut sg_steps: BTreeMap<&str, usize> = BTreeMap::new();
    let obs_sgs: BTreeMap<&str, &ObservedSecurityGroup> =
        observed.security_groups.iter().map(|g| (g.name.as_str(), g)).collect();
    let mut missing_rules: Vec<(&SecurityGroupSpec, Vec<&IngressRule>)> = Vec::new();
    for spec in &desired.security_groups {
        match obs_sgs.get(spec.name.as_str()) {
            None => {
                let empty = SecurityGroupSpec {
                    ingress: Vec::new(),
                    ..spec.clone()
                };
                let id = aws(
                    AwsAction::CreateSecurityGroup { spec: empty },
                    "declared, not present",
                    vec![],
                );
                sg_steps.insert(&spec.name, id);
                missing_rules.push((spec, spec.ingress.iter().collect()));
            }
            Some(o) if !owned(&o.tags, cluster) => conflicts.push(format!(
                "security group `{}` exists without the tag {TAG_CLUSTER}={cluster}: rename or delete it",
                spec.name
            )),
            Some(o) => {
                let want: BTreeSet<&IngressRule> = spec.ingress.iter().collect();
                let have: BTreeSet<&IngressRule> = o.ingress.iter().collect();
                missing_rules.push((spec, want.difference(&have).copied().collect()));
                for rule in have.difference(&want) {
                    aws(
                        AwsAction::RevokeIngress {
                            group: spec.name.clone(),
                            rule: (*rule).clone(),
                        },
                        "rule not declared (drift)",
                        vec![],
                    );
                }
            }
        }
    }
    let mut rule_steps: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (spec, rules) in missing_rules {
        for rule in rules {
            let mut deps = rule_deps(rule, &sg_steps);
            deps.extend(sg_steps.get(spec.name.as_str()).copied());
            let reason = if sg_steps.contains_key(spec.name.as_str()) {
                "rule of a new group"
            } else {
                "rule missing"
            };
            let id = aws(
                AwsAction::AuthorizeIngress {
                    group: spec.name.clone(),
                    rule: rule.clone(),
                },
                reason,
                deps,
            );
            rule_steps.entry(&spec.name).or_default().push(id);
        }
    }
    // Whatever uses a group waits for it and its rules.
    let sg_deps = |names: &[String]| -> Vec<usize> {
        names
            .iter()
            .flat_map(|n| {
                sg_steps
                    .get(n.as_str())
                    .copied()
                    .into_iter()
                    .chain(rule_steps.get(n.as_str()).into_iter().flatten().copied())
            })
            .collect()
    };

    // Launch templates.
    let mut lt_steps: BTreeMap<&str, usize> = BTreeMap::new();
    let obs_lts: BTreeMap<&str, &ObservedLaunchTemplate> =
        observed.launch_templates.iter().map(|t| (t.name.as_str(), t)).collect();
    for spec in &desired.launch_templates {
        let deps = sg_deps(&spec.security_groups);
        match obs_lts.get(spec.name.as_str()) {
            None => {
                let id = aws(
                    AwsAction::CreateLaunchTemplate { spec: spec.clone() },
                    "declared, not present",
                    deps,
                );
                lt_steps.insert(&spec.name, id);
            }
            Some(o) if !owned(&o.tags, cluster) => conflicts.push(format!(
                "launch template `{}` exists without the tag {TAG_CLUSTER}={cluster}: rename or delete it",
                spec.name
            )),
            Some(o) => {
                let changes = json_changes(&o.spec, spec);
                if !changes.is_empty() {
                    let fields: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
                    let id = aws(
                        AwsAction::CreateLaunchTemplateVersion { spec: spec.clone() },
                        &format!(
                            "changed: {} (new instances use it; rolling the nodes is the node lifecycle's job)",
                            fields.join(", ")
                        ),
                        deps,
                    );
                    lt_steps.insert(&spec.name, id);
                }
            }
        }
    }

    // Auto scaling groups.
    let mut group_steps: BTreeMap<&str, usize> = BTreeMap::new();
    let obs_groups: BTreeMap<&str, &ObservedGroup> = observed.groups.iter().map(|g| (g.name.as_str(), g)).collect();
    for spec in &desired.groups {
        let deps: Vec<usize> = lt_steps
            .get(spec.launch_template.as_str())
            .copied()
            .into_iter()
            .collect();
        match obs_groups.get(spec.name.as_str()) {
            None => {
                let id = aws(
                    AwsAction::CreateGroup { spec: spec.clone() },
                    "declared, not present",
                    deps,
                );
                group_steps.insert(&spec.name, id);
            }
            Some(o) if !owned(&o.tags, cluster) => conflicts.push(format!(
                "auto scaling group `{}` exists without the tag {TAG_CLUSTER}={cluster}: rename or delete it",
                spec.name
            )),
            Some(o) => {
                // Scale-in is the node lifecycle's: it drains the nodes it
                // picks and terminates them with the group shrinking. The
                // group keeps its size meanwhile, or it would pick by itself.
                let mut effective = spec.clone();
                if o.desired > effective.desired {
                    effective.desired = o.desired;
                    effective.max = effective.max.max(o.desired);
                }
                let mut sorted_obs = o.subnets.clone();
                sorted_obs.sort();
                let mut sorted_want = spec.subnets.clone();
                sorted_want.sort();
                let mut changed = Vec::new();
                if (o.min, o.max, o.desired) != (effective.min, effective.max, effective.desired) {
                    changed.push(format!(
                        "size {}/{}/{} → {}/{}/{}",
                        o.min, o.desired, o.max, effective.min, effective.desired, effective.max
                    ));
                }
                if sorted_obs != sorted_want {
                    changed.push("subnets".to_owned());
                }
                if o.launch_template != spec.launch_template || o.launch_template_version != "$Default" {
                    changed.push("launch template".to_owned());
                }
                if !changed.is_empty() {
                    let id = aws(AwsAction::UpdateGroup { spec: effective }, &changed.join(", "), deps);
                    group_steps.insert(&spec.name, id);
                }
            }
        }
    }

    // SSM parameters: join tokens, then manager addresses — a booting node
    // reads the addresses first and expects the tokens to be there.
    let mut token_steps = Vec::new();
    let (tokens, addresses): (Vec<&ParameterSpec>, Vec<&ParameterSpec>) =
        desired.parameters.iter().partition(|p| p.secure);
    for (spec, is_token) in tokens
        .into_iter()
        .map(|p| (p, true))
        .chain(addresses.into_iter().map(|p| (p, false)))
    {
        match observed.parameters.get(&spec.name) {
            Some(v) if *v == spec.value => {}
            existing => {
                let id = aws(
                    AwsAction::PutParameter {
                        spec: spec.clone(),
                        overwrite: existing.is_some(),
                    },
                    if existing.is_some() {
                        "value changed"
                    } else {
                        "not published yet"
                    },
                    if is_token { vec![] } else { token_steps.clone() },
                );
                if is_token {
                    token_steps.push(id);
                }
            }
        }
    }

    // EFS file systems and their mount targets.
    let efs_sg_dep: Vec<usize> = sg_steps.get(efs_group(cluster).as_str()).copied().into_iter().collect();
    let obs_fs: BTreeMap<&str, &ObservedFileSystem> = observed
        .file_systems
        .iter()
        .map(|f| (f.creation_token.as_str(), f))
        .collect();
    for spec in &desired.file_systems {
        let mut ready = Vec::new();
        let (fs_dep, existing) = match obs_fs.get(spec.creation_token.as_str()) {
            None => {
                let id = aws(
                    AwsAction::CreateFileSystem { spec: spec.clone() },
                    "declared, not present",
                    vec![],
                );
                ready.push(id);
                (vec![id], None)
            }
            Some(o) if !owned(&o.tags, cluster) => {
                conflicts.push(format!(
                    "EFS file system with creation token `{}` exists without the tag {TAG_CLUSTER}={cluster}",
                    spec.creation_token
                ));
                continue;
            }
            Some(o) => {
                if o.tags.get(TAG_DELETION_POLICY).map(String::as_str) != Some(spec.deletion_policy.as_str()) {
                    aws(
                        AwsAction::TagFileSystem {
                            id: o.id.clone(),
                            spec: spec.clone(),
                        },
                        &format!("deletion policy is now {}", spec.deletion_policy),
                        vec![],
                    );
                }
                (vec![], Some(*o))
            }
        };
        for subnet in &desired.subnets {
            if existing.is_some_and(|o| o.mount_targets.contains_key(subnet)) {
                continue;
            }
            let mut deps = fs_dep.clone();
            deps.extend(efs_sg_dep.iter().copied());
            ready.push(aws(
                AwsAction::CreateMountTarget {
                    creation_token: spec.creation_token.clone(),
                    subnet: subnet.clone(),
                },
                "every cluster subnet gets a mount target",
                deps,
            ));
        }
        steps.volume_ready.insert(spec.volume.clone(), ready);
    }

    // Log group.
    if let Some(spec) = &desired.log_group {
        match observed.log_groups.iter().find(|g| g.name == spec.name) {
            None => {
                let id = aws(AwsAction::CreateLogGroup { spec: spec.clone() }, "declared, not present", vec![]);
                aws(AwsAction::PutRetentionPolicy { spec: spec.clone() }, "retention of the new group", vec![id]);
            }
            Some(o) if !owned(&o.tags, cluster) => conflicts.push(format!(
                "log group `{}` exists without the tag {TAG_CLUSTER}={cluster}: choose another `logging.cloudwatch.group` or tag it",
                spec.name
            )),
            Some(o) if o.retention_days != Some(spec.retention_days) => {
                aws(AwsAction::PutRetentionPolicy { spec: spec.clone() }, "retention changed", vec![]);
            }
            Some(_) => {}
        }
    }

    diff_load_balancer(desired, observed, &mut aws, &sg_steps, &group_steps, conflicts);

    // Prune what the cluster owns and no longer declares, leaves first.
    let declared_groups: BTreeSet<&str> = desired.groups.iter().map(|g| g.name.as_str()).collect();
    // A pool no longer declared is scaled in by the node lifecycle (drain,
    // remove from the swarm, terminate with the group shrinking); its group
    // and launch template go only once the group has no instance left.
    let mut removed_groups = Vec::new();
    let mut draining_groups: BTreeSet<&str> = BTreeSet::new();
    for o in observed.groups.iter().filter(|g| owned(&g.tags, cluster)) {
        if declared_groups.contains(o.name.as_str()) {
            continue;
        }
        let instances = observed.instances.iter().filter(|i| i.group == o.name).count();
        if instances > 0 {
            draining_groups.insert(o.name.as_str());
            draining_groups.insert(o.launch_template.as_str());
            if o.min > 0 {
                // Terminating with the group shrinking cannot go below min.
                let spec = AutoScalingGroupSpec {
                    name: o.name.clone(),
                    launch_template: o.launch_template.clone(),
                    min: 0,
                    max: o.max,
                    desired: o.desired,
                    subnets: o.subnets.clone(),
                    pool: removed_pool_name(cluster, &o.name).to_owned(),
                    target_groups: o.target_groups.clone(),
                };
                aws(
                    AwsAction::UpdateGroup { spec },
                    "pool no longer declared: minimum 0, so the node lifecycle can scale it in",
                    vec![],
                );
            }
            continue;
        }
        removed_groups.push(aws(
            AwsAction::DeleteGroup {
                name: o.name.clone(),
                force: false,
            },
            "pool no longer declared, and its group has no instance left",
            vec![],
        ));
    }
    let declared_lts: BTreeSet<&str> = desired.launch_templates.iter().map(|t| t.name.as_str()).collect();
    let mut removed_lts = Vec::new();
    for o in observed.launch_templates.iter().filter(|t| owned(&t.tags, cluster)) {
        if !declared_lts.contains(o.name.as_str())
            && !declared_groups.contains(o.name.as_str())
            && !draining_groups.contains(o.name.as_str())
        {
            removed_lts.push(aws(
                AwsAction::DeleteLaunchTemplate {
                    id: o.id.clone(),
                    name: o.name.clone(),
                },
                "pool no longer declared",
                removed_groups.clone(),
            ));
        }
    }
    let declared_fs: BTreeSet<&str> = desired.file_systems.iter().map(|f| f.creation_token.as_str()).collect();
    let mut removed_fs = Vec::new();
    for o in observed.file_systems.iter().filter(|f| owned(&f.tags, cluster)) {
        if declared_fs.contains(o.creation_token.as_str()) {
            continue;
        }
        let volume = o
            .tags
            .get(TAG_NAME)
            .cloned()
            .unwrap_or_else(|| o.creation_token.clone());
        if o.tags.get(TAG_DELETION_POLICY).map(String::as_str) != Some(DeletionPolicy::Delete.as_str()) {
            warnings.push(format!(
                "volume `{volume}` ({}) is no longer declared and is retained (deletion_policy: retain); delete it in AWS yourself, or declare it again with `deletion_policy: delete` before removing it",
                o.id
            ));
            continue;
        }
        let targets: Vec<usize> = o
            .mount_targets
            .iter()
            .map(|(subnet, id)| {
                aws(
                    AwsAction::DeleteMountTarget {
                        id: id.clone(),
                        subnet: subnet.clone(),
                    },
                    "its volume is no longer declared",
                    vec![],
                )
            })
            .collect();
        removed_fs.push(aws(
            AwsAction::DeleteFileSystem {
                id: o.id.clone(),
                volume,
            },
            "no longer declared, deletion_policy: delete",
            targets,
        ));
    }
    let declared_sgs: BTreeSet<&str> = desired.security_groups.iter().map(|g| g.name.as_str()).collect();
    for o in observed.security_groups.iter().filter(|g| owned(&g.tags, cluster)) {
        // Instances of a pool still being drained may use it.
        if !declared_sgs.contains(o.name.as_str()) && draining_groups.is_empty() {
            let mut deps = removed_lts.clone();
            deps.extend(removed_groups.iter().copied());
            deps.extend(removed_fs.iter().copied());
            aws(
                AwsAction::DeleteSecurityGroup {
                    id: o.id.clone(),
                    name: o.name.clone(),
                },
                "no longer needed",
                deps,
            );
        }
    }
    steps
}

/// The load balancer, target groups, listeners, rules and which group's
/// instances are registered; whatever a hand edit changed is put back.
fn diff_load_balancer(
    desired: &DesiredAws,
    observed: &ObservedAws,
    aws: &mut dyn FnMut(AwsAction, &str, Vec<usize>) -> usize,
    sg_steps: &BTreeMap<&str, usize>,
    group_steps: &BTreeMap<&str, usize>,
    conflicts: &mut Vec<String>,
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
            lb_step.push(aws(
                AwsAction::CreateLoadBalancer { spec: spec.clone() },
                "declared, not present",
                deps,
            ));
        }
        (Some(_), Some(o)) if !owned(&o.tags, cluster) => conflicts.push(format!(
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
                let id = aws(
                    AwsAction::CreateTargetGroup { spec: spec.clone() },
                    "routed, not present",
                    vec![],
                );
                tg_steps.insert(&spec.name, id);
            }
            Some(o) if !owned(&o.tags, cluster) => conflicts.push(format!(
                "target group `{}` exists without the tag {TAG_CLUSTER}={cluster}",
                spec.name
            )),
            Some(o) if o.spec != *spec => {
                aws(
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
                let id = aws(
                    AwsAction::CreateListener { spec: spec.clone() },
                    "declared, not present",
                    lb_step.clone(),
                );
                listener_steps.insert(spec.port, id);
            }
            Some(o) if o.spec != *spec => {
                aws(
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
                aws(AwsAction::CreateRule { spec: spec.clone() }, "route not present", deps),
                None,
            )),
            Some(o) if o.spec != *spec => rule_steps.push((
                aws(
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
            removed_rules.push(aws(
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
        let id = aws(
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
            removed_tgs.push(aws(
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
        aws(
            AwsAction::DeleteLoadBalancer {
                arn: o.arn.clone(),
                name: o.spec.name.clone(),
            },
            "ingress is no longer a load balancer",
            vec![],
        );
    }
}

fn rule_deps(rule: &IngressRule, sg_steps: &BTreeMap<&str, usize>) -> Vec<usize> {
    match &rule.source {
        Source::Group(g) => sg_steps.get(g.as_str()).copied().into_iter().collect(),
        Source::Cidr(_) => vec![],
    }
}

fn json_changes<T: serde::Serialize>(old: &T, new: &T) -> Vec<FieldChange> {
    let (Ok(old), Ok(new)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    json_diff("", &old, &new, &mut out);
    out
}
