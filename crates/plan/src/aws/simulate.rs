//! An in-memory model of the AWS account that executes AWS plan actions,
//! for the property tests: applying a plan, then planning again, must leave
//! nothing to do. It keeps what the diff reads (names, tags, specs).

use std::collections::BTreeMap;

use super::action::AwsAction;
use super::spec::*;

fn fresh(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", N.fetch_add(1, Ordering::Relaxed))
}

fn tags(cluster: &str, name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_CLUSTER.to_owned(), cluster.to_owned()),
        (TAG_NAME.to_owned(), name.to_owned()),
    ])
}

pub fn apply_action(action: &AwsAction, cluster: &str, aws: &mut ObservedAws) {
    use AwsAction::*;
    match action {
        CreateSecurityGroup { spec } => aws.security_groups.push(ObservedSecurityGroup {
            id: fresh("sg"),
            name: spec.name.clone(),
            tags: tags(cluster, &spec.name),
            ingress: spec.ingress.clone(),
        }),
        AuthorizeIngress { group, rule } => {
            if let Some(g) = aws.security_groups.iter_mut().find(|g| &g.name == group) {
                g.ingress.push(rule.clone());
                g.ingress.sort();
                g.ingress.dedup();
            }
        }
        RevokeIngress { group, rule } => {
            if let Some(g) = aws.security_groups.iter_mut().find(|g| &g.name == group) {
                g.ingress.retain(|r| r != rule);
            }
        }
        DeleteSecurityGroup { id, .. } => aws.security_groups.retain(|g| &g.id != id),
        CreateLaunchTemplate { spec } => aws.launch_templates.push(ObservedLaunchTemplate {
            id: fresh("lt"),
            name: spec.name.clone(),
            tags: tags(cluster, &spec.name),
            default_version: 1,
            spec: spec.clone(),
        }),
        CreateLaunchTemplateVersion { spec } => {
            if let Some(t) = aws.launch_templates.iter_mut().find(|t| t.name == spec.name) {
                t.spec = spec.clone();
                t.default_version += 1;
            }
        }
        DeleteLaunchTemplate { id, .. } => aws.launch_templates.retain(|t| &t.id != id),
        CreateGroup { spec } => aws.groups.push(ObservedGroup {
            name: spec.name.clone(),
            tags: tags(cluster, &spec.name),
            launch_template: spec.launch_template.clone(),
            launch_template_version: "$Default".to_owned(),
            min: spec.min,
            max: spec.max,
            desired: spec.desired,
            subnets: spec.subnets.clone(),
            target_groups: spec.target_groups.clone(),
        }),
        UpdateGroup { spec } => {
            if let Some(g) = aws.groups.iter_mut().find(|g| g.name == spec.name) {
                g.launch_template = spec.launch_template.clone();
                g.launch_template_version = "$Default".to_owned();
                (g.min, g.max, g.desired) = (spec.min, spec.max, spec.desired);
                g.subnets = spec.subnets.clone();
            }
        }
        DeleteGroup { name, force } => {
            // AWS refuses to delete a group with instances unless forced.
            if aws.instances.iter().any(|i| &i.group == name) {
                if !force {
                    return;
                }
                aws.instances.retain(|i| &i.group != name);
            }
            aws.groups.retain(|g| &g.name != name)
        }
        PutParameter { spec, .. } => {
            aws.parameters.insert(spec.name.clone(), spec.value.clone());
        }
        DeleteParameter { name } => {
            aws.parameters.remove(name);
        }
        DeleteLogGroup { name } => aws.log_groups.retain(|g| &g.name != name),
        DeleteListener { arn, spec } => {
            aws.listeners.retain(|l| &l.arn != arn);
            aws.rules.retain(|r| r.spec.listener_port != spec.port);
        }
        CreateFileSystem { spec } => {
            let mut t = tags(cluster, &spec.volume);
            t.insert(TAG_DELETION_POLICY.to_owned(), spec.deletion_policy.to_string());
            aws.file_systems.push(ObservedFileSystem {
                id: fresh("fs"),
                creation_token: spec.creation_token.clone(),
                tags: t,
                mount_targets: BTreeMap::new(),
            });
        }
        TagFileSystem { id, spec } => {
            if let Some(f) = aws.file_systems.iter_mut().find(|f| &f.id == id) {
                f.tags
                    .insert(TAG_DELETION_POLICY.to_owned(), spec.deletion_policy.to_string());
            }
        }
        CreateMountTarget { creation_token, subnet } => {
            if let Some(f) = aws
                .file_systems
                .iter_mut()
                .find(|f| &f.creation_token == creation_token)
            {
                f.mount_targets.insert(subnet.clone(), fresh("fsmt"));
            }
        }
        DeleteMountTarget { id, .. } => {
            for f in &mut aws.file_systems {
                f.mount_targets.retain(|_, m| m != id);
            }
        }
        DeleteFileSystem { id, .. } => aws.file_systems.retain(|f| &f.id != id),
        CreateLogGroup { spec } => aws.log_groups.push(ObservedLogGroup {
            name: spec.name.clone(),
            retention_days: None,
            tags: tags(cluster, &spec.name),
        }),
        PutRetentionPolicy { spec } => {
            if let Some(g) = aws.log_groups.iter_mut().find(|g| g.name == spec.name) {
                g.retention_days = Some(spec.retention_days);
            }
        }
        CreateLoadBalancer { spec } => {
            aws.load_balancer = Some(ObservedLoadBalancer {
                arn: fresh("lb"),
                tags: tags(cluster, &spec.name),
                spec: spec.clone(),
            })
        }
        DeleteLoadBalancer { .. } => {
            aws.load_balancer = None;
            aws.listeners.clear();
            aws.rules.clear();
        }
        CreateTargetGroup { spec } => aws.target_groups.push(ObservedTargetGroup {
            arn: fresh("tg"),
            tags: tags(cluster, &spec.name),
            spec: spec.clone(),
        }),
        ModifyTargetGroup { spec } => {
            if let Some(t) = aws.target_groups.iter_mut().find(|t| t.spec.name == spec.name) {
                t.spec = spec.clone();
            }
        }
        DeleteTargetGroup { arn, .. } => aws.target_groups.retain(|t| &t.arn != arn),
        CreateListener { spec } => aws.listeners.push(ObservedListener {
            arn: fresh("listener"),
            spec: spec.clone(),
        }),
        ModifyListener { arn, spec } => {
            if let Some(l) = aws.listeners.iter_mut().find(|l| &l.arn == arn) {
                l.spec = spec.clone();
            }
        }
        CreateRule { spec } => aws.rules.push(ObservedRule {
            arn: fresh("rule"),
            spec: spec.clone(),
        }),
        ModifyRule { arn, spec } => {
            if let Some(r) = aws.rules.iter_mut().find(|r| &r.arn == arn) {
                r.spec = spec.clone();
            }
        }
        DeleteRule { arn, .. } => aws.rules.retain(|r| &r.arn != arn),
        SetGroupTargets { group, attach, detach } => {
            if let Some(g) = aws.groups.iter_mut().find(|g| &g.name == group) {
                g.target_groups.retain(|t| !detach.contains(t));
                g.target_groups.extend(attach.iter().cloned());
                g.target_groups.sort();
            }
        }
        TerminateInstance { id, group, decrement } => {
            let Some(at) = aws.instances.iter().position(|i| &i.id == id) else {
                return;
            };
            let old = aws.instances.remove(at);
            if *decrement {
                if let Some(g) = aws.groups.iter_mut().find(|g| &g.name == group) {
                    g.desired = g.desired.saturating_sub(1);
                }
            } else {
                // The group launches a replacement from its launch template.
                let lt = aws
                    .groups
                    .iter()
                    .find(|g| &g.name == group)
                    .and_then(|g| aws.launch_templates.iter().find(|t| t.name == g.launch_template));
                aws.instances.push(ObservedInstance {
                    id: fresh("i"),
                    state: InstanceLifecycle::InService,
                    health: InstanceHealth::Healthy,
                    instance_type: lt.map_or(old.instance_type.clone(), |t| t.spec.instance_type.clone()),
                    image_id: lt.map(|t| t.spec.image_id.clone()),
                    private_ip: None,
                    launched_unix: None,
                    ..old
                });
            }
        }
    }
}
