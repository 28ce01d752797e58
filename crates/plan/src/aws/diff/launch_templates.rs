//! Launch templates: created, given a new default version when their data
//! changed (rolling the nodes onto it is the node lifecycle's job), deleted
//! with their pool.

use std::collections::{BTreeMap, BTreeSet};

use super::out::Out;
use super::security_groups::SecurityGroupSteps;
use crate::action::FieldChange;
use crate::aws::action::AwsAction;
use crate::aws::spec::*;
use crate::json_diff::json_diff;

/// Creates or versions the declared templates; template name → its step.
pub fn diff_launch_templates<'a>(
    desired: &'a DesiredAws,
    observed: &ObservedAws,
    sgs: &SecurityGroupSteps,
    out: &mut Out,
) -> BTreeMap<&'a str, usize> {
    let cluster = &desired.cluster;
    let mut lt_steps: BTreeMap<&str, usize> = BTreeMap::new();
    let obs_lts: BTreeMap<&str, &ObservedLaunchTemplate> =
        observed.launch_templates.iter().map(|t| (t.name.as_str(), t)).collect();
    for spec in &desired.launch_templates {
        let deps = sgs.deps(&spec.security_groups);
        match obs_lts.get(spec.name.as_str()) {
            None => {
                let id = out.step(
                    AwsAction::CreateLaunchTemplate { spec: spec.clone() },
                    "declared, not present",
                    deps,
                );
                lt_steps.insert(&spec.name, id);
            }
            Some(o) if !owned(&o.tags, cluster) => out.conflicts.push(format!(
                "launch template `{}` exists without the tag {TAG_CLUSTER}={cluster}: rename or delete it",
                spec.name
            )),
            Some(o) => {
                let changes = json_changes(&o.spec, spec);
                if !changes.is_empty() {
                    let fields: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
                    let id = out.step(
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

    lt_steps
}

/// Deletes owned templates whose pool is gone, after its group
/// (`removed_groups`); the steps.
pub fn prune_launch_templates(
    desired: &DesiredAws,
    observed: &ObservedAws,
    draining_groups: &BTreeSet<&str>,
    removed_groups: &[usize],
    out: &mut Out,
) -> Vec<usize> {
    let cluster = &desired.cluster;
    let declared_groups: BTreeSet<&str> = desired.groups.iter().map(|g| g.name.as_str()).collect();
    let declared_lts: BTreeSet<&str> = desired.launch_templates.iter().map(|t| t.name.as_str()).collect();
    let mut removed_lts = Vec::new();
    for o in observed.launch_templates.iter().filter(|t| owned(&t.tags, cluster)) {
        if !declared_lts.contains(o.name.as_str())
            && !declared_groups.contains(o.name.as_str())
            && !draining_groups.contains(o.name.as_str())
        {
            removed_lts.push(out.step(
                AwsAction::DeleteLaunchTemplate {
                    id: o.id.clone(),
                    name: o.name.clone(),
                },
                "pool no longer declared",
                removed_groups.to_vec(),
            ));
        }
    }
    removed_lts
}

fn json_changes<T: serde::Serialize>(old: &T, new: &T) -> Vec<FieldChange> {
    let (Ok(old), Ok(new)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    json_diff("", &old, &new, &mut out);
    out
}
