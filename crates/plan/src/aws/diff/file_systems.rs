//! EFS file systems and their mount targets (one per cluster subnet); the
//! deletion policy recorded as a tag; a file system no longer declared is
//! deleted only when its recorded policy says `delete` — data is never
//! deleted by default.

use std::collections::{BTreeMap, BTreeSet};

use super::out::Out;
use super::security_groups::SecurityGroupSteps;
use crate::aws::action::AwsAction;
use crate::aws::names::efs_group;
use crate::aws::spec::*;

/// Creates missing file systems and mount targets, records changed
/// policies; volume → the steps that make its file system mountable.
pub fn diff_file_systems(
    desired: &DesiredAws,
    observed: &ObservedAws,
    sgs: &SecurityGroupSteps,
    out: &mut Out,
) -> BTreeMap<String, Vec<usize>> {
    let cluster = &desired.cluster;
    let mut volume_ready = BTreeMap::new();
    let efs_sg_dep: Vec<usize> = sgs
        .created
        .get(efs_group(cluster).as_str())
        .copied()
        .into_iter()
        .collect();
    let obs_fs: BTreeMap<&str, &ObservedFileSystem> = observed
        .file_systems
        .iter()
        .map(|f| (f.creation_token.as_str(), f))
        .collect();
    for spec in &desired.file_systems {
        let mut ready = Vec::new();
        let (fs_dep, existing) = match obs_fs.get(spec.creation_token.as_str()) {
            None => {
                let id = out.step(
                    AwsAction::CreateFileSystem { spec: spec.clone() },
                    "declared, not present",
                    vec![],
                );
                ready.push(id);
                (vec![id], None)
            }
            Some(o) if !owned(&o.tags, cluster) => {
                out.conflicts.push(format!(
                    "EFS file system with creation token `{}` exists without the tag {TAG_CLUSTER}={cluster}",
                    spec.creation_token
                ));
                continue;
            }
            Some(o) => {
                if o.tags.get(TAG_DELETION_POLICY).map(String::as_str) != Some(spec.deletion_policy.as_str()) {
                    out.step(
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
            ready.push(out.step(
                AwsAction::CreateMountTarget {
                    creation_token: spec.creation_token.clone(),
                    subnet: subnet.clone(),
                },
                "every cluster subnet gets a mount target",
                deps,
            ));
        }
        volume_ready.insert(spec.volume.clone(), ready);
    }

    volume_ready
}

/// Deletes owned file systems no longer declared whose policy is `delete`
/// (their mount targets first), warns about retained ones; the steps.
pub fn prune_file_systems(desired: &DesiredAws, observed: &ObservedAws, out: &mut Out) -> Vec<usize> {
    let cluster = &desired.cluster;
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
            out.warnings.push(format!(
                "volume `{volume}` ({}) is no longer declared and is retained (deletion_policy: retain); delete it in AWS yourself, or declare it again with `deletion_policy: delete` before removing it",
                o.id
            ));
            continue;
        }
        let targets: Vec<usize> = o
            .mount_targets
            .iter()
            .map(|(subnet, id)| {
                out.step(
                    AwsAction::DeleteMountTarget {
                        id: id.clone(),
                        subnet: subnet.clone(),
                    },
                    "its volume is no longer declared",
                    vec![],
                )
            })
            .collect();
        removed_fs.push(out.step(
            AwsAction::DeleteFileSystem {
                id: o.id.clone(),
                volume,
            },
            "no longer declared, deletion_policy: delete",
            targets,
        ));
    }
    removed_fs
}
