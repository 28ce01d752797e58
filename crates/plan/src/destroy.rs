//! `swarmkeeper destroy`'s decisions: from what AWS holds under the
//! cluster's tag, the delete steps that take it all down, in dependency
//! order, and the data that stays. Pure: the command observes, this plans,
//! the executor runs the steps; a run killed midway is re-observed and
//! planned again from what is left.
//!
//! Order (each delete waits for every step that removes a user of the
//! thing):
//! - listener rules, then listeners, then the load balancer;
//! - auto scaling groups, forced: their instances are terminated with them
//!   (the whole swarm goes, so there is nothing to drain to);
//! - target groups after the rules, listeners, load balancer and groups
//!   that use them; launch templates after the groups launching them;
//! - EFS mount targets, then the file systems under `deletion_policy:
//!   delete` (mount targets of retained ones go too: they are not data, and
//!   they hold the security group);
//! - ingress rules that name another of the cluster's security groups, then
//!   the security groups, after everything that sits in them;
//! - the log group and the SSM parameters once the instances are gone;
//! - the `destroying` marker last of all.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::action::Action;
use crate::aws::action::AwsAction;
use crate::aws::names::{destroying_parameter, ssm_prefix};
use crate::aws::spec::{DeletionPolicy, ObservedAws, ObservedFileSystem, Source, TAG_DELETION_POLICY, owned};
use crate::plan::{Plan, Step};

/// A data-bearing resource that stays, listed at the end of a destroy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    /// The file system's id (`fs-…`).
    pub id: String,
    /// The cluster volume it holds.
    pub volume: String,
    pub deletion_policy: DeletionPolicy,
}

impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (volume {}, deletion_policy: {})",
            self.id, self.volume, self.deletion_policy
        )
    }
}

/// What destroying the cluster takes: the steps and what is kept.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Destroy {
    pub plan: Plan,
    pub kept: Vec<Kept>,
}

/// The deletion policy the desired state declares for each of its volumes.
pub fn declared_policies(config: &swarmkeeper_model::config::Config) -> BTreeMap<String, DeletionPolicy> {
    use swarmkeeper_model::config::DeletionPolicy as Declared;
    config
        .volumes
        .iter()
        .map(|(name, v)| {
            let policy = match v.deletion_policy {
                Declared::Retain => DeletionPolicy::Retain,
                Declared::Delete => DeletionPolicy::Delete,
            };
            (name.clone(), policy)
        })
        .collect()
}

/// The volume a file system holds: its creation token is
/// `<cluster>-<volume>`.
pub fn volume_of<'a>(cluster: &str, fs: &'a ObservedFileSystem) -> &'a str {
    fs.creation_token
        .strip_prefix(cluster)
        .and_then(|rest| rest.strip_prefix('-'))
        .unwrap_or(&fs.creation_token)
}

/// Whether a file system goes: only under `deletion_policy: delete`, as the
/// desired state declares it for its volume (`declared`), else as recorded
/// on the file system's tag; absent or unreadable means retain.
pub fn policy_of(
    cluster: &str,
    fs: &ObservedFileSystem,
    declared: &BTreeMap<String, DeletionPolicy>,
) -> DeletionPolicy {
    if let Some(p) = declared.get(volume_of(cluster, fs)) {
        return *p;
    }
    match fs.tags.get(TAG_DELETION_POLICY).map(String::as_str) {
        Some("delete") => DeletionPolicy::Delete,
        _ => DeletionPolicy::Retain,
    }
}

struct Builder {
    steps: Vec<Step>,
}

impl Builder {
    fn push(&mut self, action: AwsAction, reason: &str, depends_on: Vec<usize>) -> usize {
        let id = self.steps.len();
        let mut depends_on = depends_on;
        depends_on.sort_unstable();
        depends_on.dedup();
        self.steps.push(Step {
            id,
            action: Action::Aws { aws: action },
            reason: reason.to_owned(),
            depends_on,
        });
        id
    }
}

/// The steps that remove everything `observed` holds for `cluster`, except
/// file systems whose policy (see [`policy_of`]) is retain.
pub fn plan_destroy(cluster: &str, observed: &ObservedAws, declared: &BTreeMap<String, DeletionPolicy>) -> Destroy {
    let mut b = Builder { steps: Vec::new() };

    // The load balancer: rules, listeners, then itself.
    let lb = observed.load_balancer.as_ref().filter(|l| owned(&l.tags, cluster));
    let mut rules = Vec::new();
    let mut listeners = Vec::new();
    let mut lb_step = Vec::new();
    if let Some(lb) = lb {
        for r in &observed.rules {
            rules.push((
                r.spec.listener_port,
                r.spec.target_group.clone(),
                b.push(
                    AwsAction::DeleteRule {
                        arn: r.arn.clone(),
                        spec: r.spec.clone(),
                    },
                    "the cluster is destroyed",
                    vec![],
                ),
            ));
        }
        for l in &observed.listeners {
            let before: Vec<usize> = rules
                .iter()
                .filter(|(port, _, _)| *port == l.spec.port)
                .map(|(_, _, id)| *id)
                .collect();
            listeners.push(b.push(
                AwsAction::DeleteListener {
                    arn: l.arn.clone(),
                    spec: l.spec.clone(),
                },
                "its rules are gone",
                before,
            ));
        }
        lb_step.push(b.push(
            AwsAction::DeleteLoadBalancer {
                arn: lb.arn.clone(),
                name: lb.spec.name.clone(),
            },
            "its listeners are gone",
            listeners.clone(),
        ));
    }

    // The groups, with their instances.
    let mut groups = Vec::new();
    for g in observed.groups.iter().filter(|g| owned(&g.tags, cluster)) {
        let instances = observed.instances.iter().filter(|i| i.group == g.name).count();
        let reason = if instances == 0 {
            "the cluster is destroyed".to_owned()
        } else {
            format!("the cluster is destroyed: its {instances} instance(s) are terminated with it")
        };
        groups.push((
            g,
            b.push(
                AwsAction::DeleteGroup {
                    name: g.name.clone(),
                    force: true,
                },
                &reason,
                vec![],
            ),
        ));
    }
    let group_steps: Vec<usize> = groups.iter().map(|(_, id)| *id).collect();

    for t in observed.target_groups.iter().filter(|t| owned(&t.tags, cluster)) {
        let mut after: Vec<usize> = rules
            .iter()
            .filter(|(_, tg, _)| *tg == t.spec.name)
            .map(|(_, _, id)| *id)
            .collect();
        after.extend(&listeners);
        after.extend(&lb_step);
        after.extend(
            groups
                .iter()
                .filter(|(g, _)| g.target_groups.contains(&t.spec.name))
                .map(|(_, id)| *id),
        );
        b.push(
            AwsAction::DeleteTargetGroup {
                arn: t.arn.clone(),
                name: t.spec.name.clone(),
            },
            "nothing routes to it any more",
            after,
        );
    }

    let mut templates = Vec::new();
    for t in observed.launch_templates.iter().filter(|t| owned(&t.tags, cluster)) {
        let users: Vec<usize> = groups
            .iter()
            .filter(|(g, _)| g.launch_template == t.name)
            .map(|(_, id)| *id)
            .collect();
        templates.push(b.push(
            AwsAction::DeleteLaunchTemplate {
                id: t.id.clone(),
                name: t.name.clone(),
            },
            "no group launches it any more",
            users,
        ));
    }

    // File systems: mount targets always, the data only under delete.
    let mut mount_targets = Vec::new();
    let mut kept = Vec::new();
    for fs in observed.file_systems.iter().filter(|f| owned(&f.tags, cluster)) {
        let mine: Vec<usize> = fs
            .mount_targets
            .iter()
            .map(|(subnet, id)| {
                b.push(
                    AwsAction::DeleteMountTarget {
                        id: id.clone(),
                        subnet: subnet.clone(),
                    },
                    "the cluster is destroyed",
                    vec![],
                )
            })
            .collect();
        mount_targets.extend(&mine);
        let volume = volume_of(cluster, fs).to_owned();
        match policy_of(cluster, fs, declared) {
            DeletionPolicy::Delete => {
                b.push(
                    AwsAction::DeleteFileSystem {
                        id: fs.id.clone(),
                        volume,
                    },
                    "deletion_policy: delete",
                    mine,
                );
            }
            DeletionPolicy::Retain => kept.push(Kept {
                id: fs.id.clone(),
                volume,
                deletion_policy: DeletionPolicy::Retain,
            }),
        }
    }

    // Security groups: first the rules naming one of them, then the groups.
    let sgs: Vec<_> = observed
        .security_groups
        .iter()
        .filter(|g| owned(&g.tags, cluster))
        .collect();
    let mut revokes = Vec::new();
    for g in &sgs {
        for rule in &g.ingress {
            if let Source::Group(other) = &rule.source
                && sgs.iter().any(|s| &s.name == other)
            {
                revokes.push(b.push(
                    AwsAction::RevokeIngress {
                        group: g.name.clone(),
                        rule: rule.clone(),
                    },
                    "another of the cluster's security groups is named in it",
                    vec![],
                ));
            }
        }
    }
    let mut users = group_steps.clone();
    users.extend(&lb_step);
    users.extend(&mount_targets);
    users.extend(&templates);
    users.extend(&revokes);
    for g in &sgs {
        b.push(
            AwsAction::DeleteSecurityGroup {
                id: g.id.clone(),
                name: g.name.clone(),
            },
            "nothing is in it any more",
            users.clone(),
        );
    }

    for g in observed.log_groups.iter().filter(|g| owned(&g.tags, cluster)) {
        b.push(
            AwsAction::DeleteLogGroup { name: g.name.clone() },
            "no instance ships logs to it any more",
            group_steps.clone(),
        );
    }

    let prefix = format!("{}/", ssm_prefix(cluster));
    let marker = destroying_parameter(cluster);
    for name in observed.parameters.keys().filter(|n| n.starts_with(&prefix)) {
        if *name != marker {
            b.push(
                AwsAction::DeleteParameter { name: name.clone() },
                "no instance reads it any more",
                group_steps.clone(),
            );
        }
    }
    if observed.parameters.contains_key(&marker) {
        let everything: Vec<usize> = (0..b.steps.len()).collect();
        b.push(
            AwsAction::DeleteParameter { name: marker },
            "last: the cluster is gone, nothing is being destroyed",
            everything,
        );
    }
    Destroy {
        plan: Plan {
            steps: b.steps,
            ..Plan::default()
        },
        kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(token: &str, tag: Option<&str>) -> ObservedFileSystem {
        let mut tags = BTreeMap::from([(crate::aws::spec::TAG_CLUSTER.to_owned(), "c".to_owned())]);
        if let Some(t) = tag {
            tags.insert(TAG_DELETION_POLICY.to_owned(), t.to_owned());
        }
        ObservedFileSystem {
            id: "fs-1".into(),
            creation_token: token.into(),
            tags,
            mount_targets: BTreeMap::new(),
        }
    }

    #[test]
    fn the_policy_is_the_declared_one_then_the_tag_then_retain() {
        let declared = BTreeMap::from([("data".to_owned(), DeletionPolicy::Delete)]);
        let none = BTreeMap::new();
        for (token, tag, declared, want) in [
            ("c-data", Some("retain"), &declared, DeletionPolicy::Delete),
            ("c-data", None, &none, DeletionPolicy::Retain),
            ("c-data", Some("delete"), &none, DeletionPolicy::Delete),
            ("c-data", Some("Delete"), &none, DeletionPolicy::Retain),
            ("c-other", Some("retain"), &declared, DeletionPolicy::Retain),
        ] {
            assert_eq!(policy_of("c", &fs(token, tag), declared), want, "{token} {tag:?}");
        }
        assert_eq!(volume_of("c", &fs("c-data", None)), "data");
    }
}
