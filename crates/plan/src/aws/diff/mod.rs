//! The AWS decisions: create what is missing, update what drifted (rules,
//! launch template data, group sizes, parameters), delete owned resources
//! that are no longer declared — except data: a file system is deleted only
//! when its recorded deletion policy says `delete`.
//!
//! [`diff_aws`] runs one function per resource kind in dependency order
//! (security groups, launch templates, groups, parameters, file systems,
//! the log group, the load balancer), then the prunes, leaves first. Step
//! order is the plan's order: keep the calls in this order.

mod file_systems;
mod groups;
mod launch_templates;
mod load_balancer;
mod log_group;
mod out;
mod parameters;
mod security_groups;

use std::collections::BTreeMap;

use crate::action::Action;
use crate::aws::spec::{DesiredAws, ObservedAws};
use file_systems::{diff_file_systems, prune_file_systems};
use groups::{diff_groups, prune_groups};
use launch_templates::{diff_launch_templates, prune_launch_templates};
use load_balancer::diff_load_balancer;
use log_group::diff_log_group;
use out::Out;
use parameters::diff_parameters;
use security_groups::{diff_security_groups, prune_security_groups};

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
    let out = &mut Out {
        push,
        warnings,
        conflicts,
    };
    let sgs = diff_security_groups(desired, observed, out);
    let lt_steps = diff_launch_templates(desired, observed, &sgs, out);
    let group_steps = diff_groups(desired, observed, &lt_steps, out);
    diff_parameters(desired, observed, out);
    let volume_ready = diff_file_systems(desired, observed, &sgs, out);
    diff_log_group(desired, observed, out);
    diff_load_balancer(desired, observed, &sgs.created, &group_steps, out);

    // Prune what the cluster owns and no longer declares, leaves first.
    let removed = prune_groups(desired, observed, out);
    let removed_lts = prune_launch_templates(desired, observed, &removed.draining, &removed.deleted, out);
    let removed_fs = prune_file_systems(desired, observed, out);
    let mut before_sgs = removed_lts;
    before_sgs.extend(removed.deleted.iter().copied());
    before_sgs.extend(removed_fs);
    prune_security_groups(desired, observed, &removed.draining, &before_sgs, out);
    AwsSteps { volume_ready }
}
