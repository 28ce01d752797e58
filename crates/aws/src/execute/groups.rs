//! Auto Scaling groups and their instances: create, update, terminate an
//! instance, delete. Whether a delete forces (terminating what still runs)
//! is the plan's decision, carried by the action.

use aws_sdk_autoscaling::types as asg;
use swarmkeeper_plan::aws::spec::*;

use super::{AwsIds, AwsOutcome, settled};
use crate::{Aws, AwsError};

fn group_tags(spec: &AutoScalingGroupSpec, cluster: &str) -> Vec<asg::Tag> {
    [
        (TAG_CLUSTER, cluster),
        (TAG_NAME, spec.name.as_str()),
        ("swarmkeeper:pool", spec.pool.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| {
        asg::Tag::builder()
            .key(k)
            .value(v)
            .propagate_at_launch(true)
            .resource_id(&spec.name)
            .resource_type("auto-scaling-group")
            .build()
    })
    .collect()
}

fn launch_template_ref(spec: &AutoScalingGroupSpec) -> asg::LaunchTemplateSpecification {
    asg::LaunchTemplateSpecification::builder()
        .launch_template_name(&spec.launch_template)
        .version("$Default")
        .build()
}

impl Aws {
    pub(crate) async fn create_group(&self, spec: &AutoScalingGroupSpec, ids: &AwsIds) -> Result<AwsOutcome, AwsError> {
        let result = self
            .call(
                "autoscaling:CreateAutoScalingGroup",
                self.autoscaling
                    .create_auto_scaling_group()
                    .auto_scaling_group_name(&spec.name)
                    .launch_template(launch_template_ref(spec))
                    .min_size(spec.min as i32)
                    .max_size(spec.max as i32)
                    .desired_capacity(spec.desired as i32)
                    .vpc_zone_identifier(spec.subnets.join(","))
                    .set_tags(Some(group_tags(spec, &ids.cluster)))
                    .set_target_group_arns(Some(
                        spec.target_groups
                            .iter()
                            .filter_map(|t| ids.target_groups.get(t).cloned())
                            .collect(),
                    ))
                    .send(),
            )
            .await;
        // The name is the idempotency key: a create whose answer
        // was lost and that the SDK sent again finds its group.
        settled(result, "AlreadyExists")
    }

    pub(crate) async fn update_group(&self, spec: &AutoScalingGroupSpec) -> Result<AwsOutcome, AwsError> {
        self.call(
            "autoscaling:UpdateAutoScalingGroup",
            self.autoscaling
                .update_auto_scaling_group()
                .auto_scaling_group_name(&spec.name)
                .launch_template(launch_template_ref(spec))
                .min_size(spec.min as i32)
                .max_size(spec.max as i32)
                .desired_capacity(spec.desired as i32)
                .vpc_zone_identifier(spec.subnets.join(","))
                .send(),
        )
        .await?;
        Ok(AwsOutcome::Done)
    }

    pub(crate) async fn terminate_instance(&self, id: &str, decrement: bool) -> Result<AwsOutcome, AwsError> {
        let result = self
            .call(
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                self.autoscaling
                    .terminate_instance_in_auto_scaling_group()
                    .instance_id(id)
                    .should_decrement_desired_capacity(decrement)
                    .send(),
            )
            .await;
        match result {
            // Gone already (an earlier, interrupted run; the group).
            Err(e) if e.to_string().contains("not found") => Ok(AwsOutcome::Done),
            Err(e) => Err(e),
            Ok(_) => Ok(AwsOutcome::Done),
        }
    }

    pub(crate) async fn delete_group(&self, name: &str, force: bool) -> Result<AwsOutcome, AwsError> {
        // The plan decides: without `force` AWS refuses a group
        // that still has instances, so no node goes undrained.
        self.call(
            "autoscaling:DeleteAutoScalingGroup",
            self.autoscaling
                .delete_auto_scaling_group()
                .auto_scaling_group_name(name)
                .force_delete(force)
                .send(),
        )
        .await?;
        Ok(AwsOutcome::Done)
    }
}
