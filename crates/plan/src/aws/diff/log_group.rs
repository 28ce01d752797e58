//! The CloudWatch log group the services log to, and its retention.

use super::out::Out;
use crate::aws::action::AwsAction;
use crate::aws::spec::{DesiredAws, ObservedAws, TAG_CLUSTER, owned};

/// Creates the declared log group or puts its changed retention.
pub fn diff_log_group(desired: &DesiredAws, observed: &ObservedAws, out: &mut Out) {
    let cluster = &desired.cluster;
    if let Some(spec) = &desired.log_group {
        match observed.log_groups.iter().find(|g| g.name == spec.name) {
            None => {
                let id = out.step(AwsAction::CreateLogGroup { spec: spec.clone() }, "declared, not present", vec![]);
                out.step(AwsAction::PutRetentionPolicy { spec: spec.clone() }, "retention of the new group", vec![id]);
            }
            Some(o) if !owned(&o.tags, cluster) => out.conflicts.push(format!(
                "log group `{}` exists without the tag {TAG_CLUSTER}={cluster}: choose another `logging.cloudwatch.group` or tag it",
                spec.name
            )),
            Some(o) if o.retention_days != Some(spec.retention_days) => {
                out.step(AwsAction::PutRetentionPolicy { spec: spec.clone() }, "retention changed", vec![]);
            }
            Some(_) => {}
        }
    }
}
