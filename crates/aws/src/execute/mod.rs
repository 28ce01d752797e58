//! Executing one AWS action. Creates are safe to repeat after a crash: the
//! plan only creates what observation did not find, and names (and the EFS
//! creation token) are unique per cluster, so a second run finds what the
//! first one made instead of duplicating it. (moto's silent duplicate
//! `CreateAutoScalingGroup` is why "describe first, create only if missing"
//! is the rule, not trusting creates to be idempotent.)
//!
//! One module per resource kind holds its calls ([`security_groups`],
//! [`launch_templates`], [`groups`], [`efs`], [`parameters`], [`logs`];
//! the load balancer's are in `crate::elb`); [`Aws::execute`] only
//! dispatches.

use std::collections::BTreeMap;

use aws_sdk_ec2::types as ec2;
use swarmkeeper_plan::aws::AwsAction;
use swarmkeeper_plan::aws::spec::*;

use crate::{Aws, AwsError};

mod efs;
mod groups;
mod launch_templates;
mod logs;
mod parameters;
mod security_groups;

/// Names → ids of what the cluster owns (observed, plus what this run made).
#[derive(Debug, Clone, Default)]
pub struct AwsIds {
    pub cluster: String,
    pub vpc: String,
    pub security_groups: BTreeMap<String, String>,
    pub launch_templates: BTreeMap<String, String>,
    /// EFS creation token → file system id.
    pub file_systems: BTreeMap<String, String>,
    pub load_balancer: Option<String>,
    /// Target group name → ARN.
    pub target_groups: BTreeMap<String, String>,
    /// Listener port → ARN.
    pub listeners: BTreeMap<u16, String>,
}

impl AwsIds {
    pub fn from_observed(cluster: &str, vpc: &str, observed: &ObservedAws) -> Self {
        Self {
            cluster: cluster.to_owned(),
            vpc: vpc.to_owned(),
            security_groups: observed
                .security_groups
                .iter()
                .map(|g| (g.name.clone(), g.id.clone()))
                .collect(),
            launch_templates: observed
                .launch_templates
                .iter()
                .map(|t| (t.name.clone(), t.id.clone()))
                .collect(),
            file_systems: observed
                .file_systems
                .iter()
                .map(|f| (f.creation_token.clone(), f.id.clone()))
                .collect(),
            load_balancer: observed.load_balancer.as_ref().map(|l| l.arn.clone()),
            target_groups: observed
                .target_groups
                .iter()
                .map(|t| (t.spec.name.clone(), t.arn.clone()))
                .collect(),
            listeners: observed
                .listeners
                .iter()
                .map(|l| (l.spec.port, l.arn.clone()))
                .collect(),
        }
    }

    pub fn record(&mut self, outcome: &AwsOutcome) {
        match outcome {
            AwsOutcome::SecurityGroup { name, id } => {
                self.security_groups.insert(name.clone(), id.clone());
            }
            AwsOutcome::LaunchTemplate { name, id } => {
                self.launch_templates.insert(name.clone(), id.clone());
            }
            AwsOutcome::FileSystem { token, id } => {
                self.file_systems.insert(token.clone(), id.clone());
            }
            AwsOutcome::LoadBalancer { arn } => self.load_balancer = Some(arn.clone()),
            AwsOutcome::TargetGroup { name, arn } => {
                self.target_groups.insert(name.clone(), arn.clone());
            }
            AwsOutcome::Listener { port, arn } => {
                self.listeners.insert(*port, arn.clone());
            }
            AwsOutcome::Done => {}
        }
    }

    pub(crate) fn sg_id(&self, name: &str) -> Result<String, AwsError> {
        self.sg(name).map(str::to_owned)
    }

    fn sg(&self, name: &str) -> Result<&str, AwsError> {
        self.security_groups
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| missing("security group", name))
    }
}

pub(crate) fn missing(kind: &str, name: &str) -> AwsError {
    AwsError {
        action: "swarmkeeper:Resolve",
        code: "NotFound".to_owned(),
        message: format!("{kind} `{name}` is not known yet"),
        hint: Some("run reconcile again; the step it depends on may have failed".to_owned()),
        kind: swarmkeeper_plan::ErrorKind::NotFound,
    }
}

/// What an action created, for later steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsOutcome {
    SecurityGroup { name: String, id: String },
    LaunchTemplate { name: String, id: String },
    FileSystem { token: String, id: String },
    LoadBalancer { arn: String },
    TargetGroup { name: String, arn: String },
    Listener { port: u16, arn: String },
    Done,
}

fn ec2_tags(resource: ec2::ResourceType, cluster: &str, name: &str) -> ec2::TagSpecification {
    ec2::TagSpecification::builder()
        .resource_type(resource)
        .tags(ec2::Tag::builder().key(TAG_CLUSTER).value(cluster).build())
        .tags(ec2::Tag::builder().key(TAG_NAME).value(name).build())
        .build()
}

impl Aws {
    pub async fn execute(&self, action: &AwsAction, ids: &AwsIds) -> Result<AwsOutcome, AwsError> {
        use AwsAction::*;
        match action {
            CreateSecurityGroup { spec } => self.create_security_group(spec, ids).await,
            AuthorizeIngress { group, rule } => self.authorize_ingress(group, rule, ids).await,
            RevokeIngress { group, rule } => self.revoke_ingress(group, rule, ids).await,
            DeleteSecurityGroup { id, .. } => self.delete_security_group(id).await,
            CreateLaunchTemplate { spec } => self.create_launch_template(spec, ids).await,
            CreateLaunchTemplateVersion { spec } => self.create_launch_template_version(spec, ids).await,
            DeleteLaunchTemplate { id, .. } => self.delete_launch_template(id).await,
            CreateGroup { spec } => self.create_group(spec, ids).await,
            UpdateGroup { spec } => self.update_group(spec).await,
            TerminateInstance { id, decrement, .. } => self.terminate_instance(id, *decrement).await,
            DeleteGroup { name, force } => self.delete_group(name, *force).await,
            PutParameter { spec, overwrite } => self.put_parameter(spec, *overwrite, ids).await,
            DeleteParameter { name } => self.delete_parameter(name).await,
            CreateFileSystem { spec } => self.create_file_system(spec, ids).await,
            TagFileSystem { id, spec } => self.tag_file_system(id, spec).await,
            CreateMountTarget { creation_token, subnet } => self.create_mount_target(creation_token, subnet, ids).await,
            DeleteMountTarget { id, .. } => self.delete_mount_target(id).await,
            DeleteFileSystem { id, .. } => self.delete_file_system(id).await,
            CreateLogGroup { spec } => self.create_log_group(spec, ids).await,
            PutRetentionPolicy { spec } => self.put_retention_policy(spec).await,
            DeleteLogGroup { name } => self.delete_log_group(name).await,
            CreateLoadBalancer { .. }
            | DeleteLoadBalancer { .. }
            | CreateTargetGroup { .. }
            | ModifyTargetGroup { .. }
            | DeleteTargetGroup { .. }
            | CreateListener { .. }
            | ModifyListener { .. }
            | DeleteListener { .. }
            | CreateRule { .. }
            | ModifyRule { .. }
            | DeleteRule { .. }
            | SetGroupTargets { .. } => self.execute_elb(action, ids).await,
        }
    }
}

/// A call's result as a step's outcome: `already` is the error code that
/// means the step's effect is in place already (made by an earlier,
/// interrupted run, or removed by someone else), which is success.
pub(crate) fn settled<T>(result: Result<T, AwsError>, already: &str) -> Result<AwsOutcome, AwsError> {
    match result {
        Err(e) if !e.is(already) => Err(e),
        _ => Ok(AwsOutcome::Done),
    }
}
