//! Auto scaling groups: created, resized and pointed at their template's
//! default version; a removed pool's group kept (minimum 0) while the node
//! lifecycle scales it in, deleted once it has no instance left.

use std::collections::{BTreeMap, BTreeSet};

use super::out::Out;
use crate::aws::action::AwsAction;
use crate::aws::names::removed_pool_name;
use crate::aws::spec::*;

/// Creates or updates the declared groups; group name → its step.
pub fn diff_groups<'a>(
    desired: &'a DesiredAws,
    observed: &ObservedAws,
    lt_steps: &BTreeMap<&str, usize>,
    out: &mut Out,
) -> BTreeMap<&'a str, usize> {
    let cluster = &desired.cluster;
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
                let id = out.step(
                    AwsAction::CreateGroup { spec: spec.clone() },
                    "declared, not present",
                    deps,
                );
                group_steps.insert(&spec.name, id);
            }
            Some(o) if !owned(&o.tags, cluster) => out.conflicts.push(format!(
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
                    let id = out.step(AwsAction::UpdateGroup { spec: effective }, &changed.join(", "), deps);
                    group_steps.insert(&spec.name, id);
                }
            }
        }
    }

    group_steps
}

/// The groups of removed pools: deleted when empty, else kept for the node
/// lifecycle to scale in.
pub struct RemovedGroups<'a> {
    /// The steps deleting groups.
    pub deleted: Vec<usize>,
    /// Names of groups (and their launch templates) still draining.
    pub draining: BTreeSet<&'a str>,
}

/// Deletes the owned groups no longer declared that have no instance left.
pub fn prune_groups<'a>(desired: &DesiredAws, observed: &'a ObservedAws, out: &mut Out) -> RemovedGroups<'a> {
    let cluster = &desired.cluster;
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
                out.step(
                    AwsAction::UpdateGroup { spec },
                    "pool no longer declared: minimum 0, so the node lifecycle can scale it in",
                    vec![],
                );
            }
            continue;
        }
        removed_groups.push(out.step(
            AwsAction::DeleteGroup {
                name: o.name.clone(),
                force: false,
            },
            "pool no longer declared, and its group has no instance left",
            vec![],
        ));
    }
    RemovedGroups {
        deleted: removed_groups,
        draining: draining_groups,
    }
}
