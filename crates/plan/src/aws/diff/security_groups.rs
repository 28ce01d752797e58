//! Security groups and their ingress rules: created empty, then each rule
//! waiting for both ends (rules may name groups that are new too); drift
//! revoked; groups no longer needed deleted last.

use std::collections::{BTreeMap, BTreeSet};

use super::out::Out;
use crate::aws::action::AwsAction;
use crate::aws::spec::*;

/// The steps that make each security group usable.
#[derive(Default)]
pub struct SecurityGroupSteps<'a> {
    /// Group name → the step creating it.
    pub created: BTreeMap<&'a str, usize>,
    /// Group name → the steps adding its rules.
    pub rules: BTreeMap<&'a str, Vec<usize>>,
}

impl SecurityGroupSteps<'_> {
    /// Whatever uses these groups waits for them and their rules.
    pub fn deps(&self, names: &[String]) -> Vec<usize> {
        names
            .iter()
            .flat_map(|n| {
                self.created
                    .get(n.as_str())
                    .copied()
                    .into_iter()
                    .chain(self.rules.get(n.as_str()).into_iter().flatten().copied())
            })
            .collect()
    }
}

/// Creates missing groups and rules, revokes rules not declared.
pub fn diff_security_groups<'a>(
    desired: &'a DesiredAws,
    observed: &ObservedAws,
    out: &mut Out,
) -> SecurityGroupSteps<'a> {
    let cluster = &desired.cluster;
    // Groups first, then their rules: rules may name groups that
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
                let id = out.step(
                    AwsAction::CreateSecurityGroup { spec: empty },
                    "declared, not present",
                    vec![],
                );
                sg_steps.insert(&spec.name, id);
                missing_rules.push((spec, spec.ingress.iter().collect()));
            }
            Some(o) if !owned(&o.tags, cluster) => out.conflicts.push(format!(
                "security group `{}` exists without the tag {TAG_CLUSTER}={cluster}: rename or delete it",
                spec.name
            )),
            Some(o) => {
                let want: BTreeSet<&IngressRule> = spec.ingress.iter().collect();
                let have: BTreeSet<&IngressRule> = o.ingress.iter().collect();
                missing_rules.push((spec, want.difference(&have).copied().collect()));
                for rule in have.difference(&want) {
                    out.step(
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
            let id = out.step(
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
    SecurityGroupSteps {
        created: sg_steps,
        rules: rule_steps,
    }
}

/// Deletes owned groups no longer declared, after what used them is gone
/// (`deps`), and never while a removed pool still has instances.
pub fn prune_security_groups(
    desired: &DesiredAws,
    observed: &ObservedAws,
    draining_groups: &BTreeSet<&str>,
    deps: &[usize],
    out: &mut Out,
) {
    let cluster = &desired.cluster;
    let declared_sgs: BTreeSet<&str> = desired.security_groups.iter().map(|g| g.name.as_str()).collect();
    for o in observed.security_groups.iter().filter(|g| owned(&g.tags, cluster)) {
        // Instances of a pool still being drained may use it.
        if !declared_sgs.contains(o.name.as_str()) && draining_groups.is_empty() {
            let deps = deps.to_vec();
            out.step(
                AwsAction::DeleteSecurityGroup {
                    id: o.id.clone(),
                    name: o.name.clone(),
                },
                "no longer needed",
                deps,
            );
        }
    }
}

fn rule_deps(rule: &IngressRule, sg_steps: &BTreeMap<&str, usize>) -> Vec<usize> {
    match &rule.source {
        Source::Group(g) => sg_steps.get(g.as_str()).copied().into_iter().collect(),
        Source::Cidr(_) => vec![],
    }
}
