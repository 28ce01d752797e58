//! Executing one AWS action. Creates are safe to repeat after a crash: the
//! plan only creates what observation did not find, and names (and the EFS
//! creation token) are unique per cluster, so a second run finds what the
//! first one made instead of duplicating it. (moto's silent duplicate
//! `CreateAutoScalingGroup` is why "describe first, create only if missing"
//! is the rule, not trusting creates to be idempotent.)

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_autoscaling::types as asg;
use aws_sdk_ec2::types as ec2;
use backon::{ExponentialBuilder, Retryable};
use base64::Engine as _;
use swarmkeeper_plan::aws::AwsAction;
use swarmkeeper_plan::aws::spec::*;

use crate::{Aws, AwsError};

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

fn permission(rule: &IngressRule, ids: &AwsIds) -> Result<ec2::IpPermission, AwsError> {
    let mut p = ec2::IpPermission::builder().ip_protocol(rule.protocol.as_str());
    if rule.protocol != IpProtocol::All {
        p = p.from_port(rule.from_port).to_port(rule.to_port);
    }
    Ok(match &rule.source {
        Source::Cidr(c) if c.contains(':') => p.ipv6_ranges(ec2::Ipv6Range::builder().cidr_ipv6(c).build()),
        Source::Cidr(c) => p.ip_ranges(ec2::IpRange::builder().cidr_ip(c).build()),
        Source::Group(g) => p.user_id_group_pairs(ec2::UserIdGroupPair::builder().group_id(ids.sg(g)?).build()),
    }
    .build())
}

fn template_data(spec: &LaunchTemplateSpec, ids: &AwsIds) -> Result<ec2::RequestLaunchTemplateData, AwsError> {
    let mut data = ec2::RequestLaunchTemplateData::builder()
        .image_id(&spec.image_id)
        .instance_type(ec2::InstanceType::from(spec.instance_type.as_str()))
        .user_data(base64::engine::general_purpose::STANDARD.encode(&spec.user_data))
        .set_key_name(spec.key_name.clone())
        .metadata_options(
            ec2::LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(ec2::LaunchTemplateHttpTokensState::Required)
                .build(),
        )
        .tag_specifications(
            ec2::LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ec2::ResourceType::Instance)
                .tags(ec2::Tag::builder().key(TAG_CLUSTER).value(&ids.cluster).build())
                .tags(ec2::Tag::builder().key(TAG_NAME).value(&spec.name).build())
                .build(),
        );
    for sg in &spec.security_groups {
        data = data.security_group_ids(ids.sg(sg)?);
    }
    if let Some(size) = spec.root_volume_gb {
        data = data.block_device_mappings(
            ec2::LaunchTemplateBlockDeviceMappingRequest::builder()
                .device_name("/dev/xvda")
                .ebs(
                    ec2::LaunchTemplateEbsBlockDeviceRequest::builder()
                        .volume_size(i32::try_from(size).unwrap_or(i32::MAX))
                        .set_volume_type(spec.root_volume_type.as_deref().map(ec2::VolumeType::from))
                        .encrypted(true)
                        .delete_on_termination(true)
                        .build(),
                )
                .build(),
        );
    }
    Ok(data.build())
}

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

/// Waiting for EFS to finish deleting mount targets (eventual consistency,
/// not throttling: the SDK retries that).
fn while_in_use() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(10))
        .with_max_times(10)
}

impl Aws {
    pub async fn execute(&self, action: &AwsAction, ids: &AwsIds) -> Result<AwsOutcome, AwsError> {
        use AwsAction::*;
        match action {
            CreateSecurityGroup { spec } => {
                let created = self
                    .call(
                        "ec2:CreateSecurityGroup",
                        self.ec2
                            .create_security_group()
                            .group_name(&spec.name)
                            .description(&spec.description)
                            .vpc_id(&ids.vpc)
                            .tag_specifications(ec2_tags(ec2::ResourceType::SecurityGroup, &ids.cluster, &spec.name))
                            .send(),
                    )
                    .await?;
                let id = created.group_id().unwrap_or_default().to_owned();
                let mut with_self = ids.clone();
                with_self.security_groups.insert(spec.name.clone(), id.clone());
                // One rule per call: EC2 rejects a whole batch if one rule exists.
                for rule in &spec.ingress {
                    self.authorize(&id, rule, &with_self).await?;
                }
                Ok(AwsOutcome::SecurityGroup {
                    name: spec.name.clone(),
                    id,
                })
            }
            AuthorizeIngress { group, rule } => {
                self.authorize(ids.sg(group)?, rule, ids).await?;
                Ok(AwsOutcome::Done)
            }
            RevokeIngress { group, rule } => {
                let result = self
                    .call(
                        "ec2:RevokeSecurityGroupIngress",
                        self.ec2
                            .revoke_security_group_ingress()
                            .group_id(ids.sg(group)?)
                            .ip_permissions(permission(rule, ids)?)
                            .send(),
                    )
                    .await;
                settled(result, "InvalidPermission.NotFound")
            }
            DeleteSecurityGroup { id, .. } => {
                let result = self
                    .call(
                        "ec2:DeleteSecurityGroup",
                        self.ec2.delete_security_group().group_id(id).send(),
                    )
                    .await;
                settled(result, "InvalidGroup.NotFound")
            }
            CreateLaunchTemplate { spec } => {
                let created = self
                    .call(
                        "ec2:CreateLaunchTemplate",
                        self.ec2
                            .create_launch_template()
                            .launch_template_name(&spec.name)
                            .launch_template_data(template_data(spec, ids)?)
                            .tag_specifications(ec2_tags(ec2::ResourceType::LaunchTemplate, &ids.cluster, &spec.name))
                            .send(),
                    )
                    .await?;
                let id = created
                    .launch_template()
                    .and_then(|t| t.launch_template_id())
                    .unwrap_or_default()
                    .to_owned();
                Ok(AwsOutcome::LaunchTemplate {
                    name: spec.name.clone(),
                    id,
                })
            }
            CreateLaunchTemplateVersion { spec } => {
                let id = ids
                    .launch_templates
                    .get(&spec.name)
                    .ok_or_else(|| missing("launch template", &spec.name))?;
                // The full data every time: a version based on another one
                // is not merged by every implementation (moto ignores it).
                let created = self
                    .call(
                        "ec2:CreateLaunchTemplateVersion",
                        self.ec2
                            .create_launch_template_version()
                            .launch_template_id(id)
                            .launch_template_data(template_data(spec, ids)?)
                            .send(),
                    )
                    .await?;
                let version = created
                    .launch_template_version()
                    .and_then(|v| v.version_number())
                    .unwrap_or_default();
                self.call(
                    "ec2:ModifyLaunchTemplate",
                    self.ec2
                        .modify_launch_template()
                        .launch_template_id(id)
                        .default_version(version.to_string())
                        .send(),
                )
                .await?;
                Ok(AwsOutcome::Done)
            }
            DeleteLaunchTemplate { id, .. } => {
                let result = self
                    .call(
                        "ec2:DeleteLaunchTemplate",
                        self.ec2.delete_launch_template().launch_template_id(id).send(),
                    )
                    .await;
                match result {
                    Err(e) if !e.code.starts_with("InvalidLaunchTemplate") => Err(e),
                    _ => Ok(AwsOutcome::Done),
                }
            }
            CreateGroup { spec } => {
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
            UpdateGroup { spec } => {
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
            TerminateInstance { id, decrement, .. } => {
                let result = self
                    .call(
                        "autoscaling:TerminateInstanceInAutoScalingGroup",
                        self.autoscaling
                            .terminate_instance_in_auto_scaling_group()
                            .instance_id(id)
                            .should_decrement_desired_capacity(*decrement)
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
            DeleteGroup { name, force } => {
                // The plan decides: without `force` AWS refuses a group
                // that still has instances, so no node goes undrained.
                self.call(
                    "autoscaling:DeleteAutoScalingGroup",
                    self.autoscaling
                        .delete_auto_scaling_group()
                        .auto_scaling_group_name(name)
                        .force_delete(*force)
                        .send(),
                )
                .await?;
                Ok(AwsOutcome::Done)
            }
            PutParameter { spec, overwrite } => {
                let kind = if spec.secure {
                    aws_sdk_ssm::types::ParameterType::SecureString
                } else {
                    aws_sdk_ssm::types::ParameterType::String
                };
                let mut put = self
                    .ssm
                    .put_parameter()
                    .name(&spec.name)
                    .value(&spec.value.0)
                    .r#type(kind)
                    .overwrite(*overwrite);
                // SSM refuses tags together with overwrite.
                if !overwrite {
                    put = put.tags(
                        aws_sdk_ssm::types::Tag::builder()
                            .key(TAG_CLUSTER)
                            .value(&ids.cluster)
                            .build()
                            .map_err(|e| AwsError {
                                action: "ssm:PutParameter",
                                code: "InvalidTag".to_owned(),
                                message: e.to_string(),
                                hint: None,
                            })?,
                    );
                }
                self.call("ssm:PutParameter", put.send()).await?;
                Ok(AwsOutcome::Done)
            }
            CreateFileSystem { spec } => self.create_file_system(spec, ids).await,
            TagFileSystem { id, spec } => {
                self.call(
                    "elasticfilesystem:TagResource",
                    self.efs
                        .tag_resource()
                        .resource_id(id)
                        .tags(efs_tag(TAG_DELETION_POLICY, spec.deletion_policy.as_str()))
                        .send(),
                )
                .await?;
                Ok(AwsOutcome::Done)
            }
            CreateMountTarget { creation_token, subnet } => {
                let fs = ids
                    .file_systems
                    .get(creation_token)
                    .ok_or_else(|| missing("file system", creation_token))?;
                let sg = ids.sg(&swarmkeeper_plan::aws::desired::efs_group(&ids.cluster))?;
                let result = self
                    .call(
                        "elasticfilesystem:CreateMountTarget",
                        self.efs
                            .create_mount_target()
                            .file_system_id(fs)
                            .subnet_id(subnet)
                            .security_groups(sg)
                            .send(),
                    )
                    .await;
                // Made by an earlier, interrupted run: nothing to do.
                settled(result, "MountTargetConflict")
            }
            DeleteMountTarget { id, .. } => {
                let result = self
                    .call(
                        "elasticfilesystem:DeleteMountTarget",
                        self.efs.delete_mount_target().mount_target_id(id).send(),
                    )
                    .await;
                settled(result, "MountTargetNotFound")
            }
            DeleteFileSystem { id, .. } => {
                let delete = || {
                    self.call(
                        "elasticfilesystem:DeleteFileSystem",
                        self.efs.delete_file_system().file_system_id(id).send(),
                    )
                };
                match delete
                    .retry(while_in_use())
                    .when(|e: &AwsError| e.is("FileSystemInUse"))
                    .await
                {
                    Err(e) if !e.is("FileSystemNotFound") => Err(e),
                    _ => Ok(AwsOutcome::Done),
                }
            }
            CreateLogGroup { spec } => {
                let result = self
                    .call(
                        "logs:CreateLogGroup",
                        self.logs
                            .create_log_group()
                            .log_group_name(&spec.name)
                            .tags(TAG_CLUSTER, &ids.cluster)
                            .tags(TAG_NAME, &spec.name)
                            .send(),
                    )
                    .await;
                settled(result, "ResourceAlreadyExistsException")
            }
            CreateLoadBalancer { .. }
            | DeleteLoadBalancer { .. }
            | CreateTargetGroup { .. }
            | ModifyTargetGroup { .. }
            | DeleteTargetGroup { .. }
            | CreateListener { .. }
            | ModifyListener { .. }
            | CreateRule { .. }
            | ModifyRule { .. }
            | DeleteRule { .. }
            | SetGroupTargets { .. } => self.execute_elb(action, ids).await,
            PutRetentionPolicy { spec } => {
                self.call(
                    "logs:PutRetentionPolicy",
                    self.logs
                        .put_retention_policy()
                        .log_group_name(&spec.name)
                        .retention_in_days(spec.retention_days as i32)
                        .send(),
                )
                .await?;
                Ok(AwsOutcome::Done)
            }
        }
    }

    async fn authorize(&self, group_id: &str, rule: &IngressRule, ids: &AwsIds) -> Result<(), AwsError> {
        let result = self
            .call(
                "ec2:AuthorizeSecurityGroupIngress",
                self.ec2
                    .authorize_security_group_ingress()
                    .group_id(group_id)
                    .ip_permissions(permission(rule, ids)?)
                    .send(),
            )
            .await;
        match result {
            Err(e) if !e.is("InvalidPermission.Duplicate") => Err(e),
            _ => Ok(()),
        }
    }

    async fn create_file_system(&self, spec: &FileSystemSpec, ids: &AwsIds) -> Result<AwsOutcome, AwsError> {
        let created = self
            .call(
                "elasticfilesystem:CreateFileSystem",
                self.efs
                    .create_file_system()
                    .creation_token(&spec.creation_token)
                    .encrypted(true)
                    .tags(efs_tag(TAG_CLUSTER, &ids.cluster))
                    .tags(efs_tag(TAG_NAME, &spec.volume))
                    .tags(efs_tag("Name", &spec.creation_token))
                    .tags(efs_tag(TAG_DELETION_POLICY, spec.deletion_policy.as_str()))
                    .send(),
            )
            .await;
        let id = match created {
            Ok(fs) => fs.file_system_id().to_owned(),
            // The creation token is the idempotency key: a run interrupted
            // after this call finds its file system here.
            Err(e) if e.is("FileSystemAlreadyExists") => {
                let found = self
                    .call(
                        "elasticfilesystem:DescribeFileSystems",
                        self.efs
                            .describe_file_systems()
                            .creation_token(&spec.creation_token)
                            .send(),
                    )
                    .await?;
                found
                    .file_systems()
                    .first()
                    .map(|f| f.file_system_id().to_owned())
                    .ok_or(e)?
            }
            Err(e) => return Err(e),
        };
        Ok(AwsOutcome::FileSystem {
            token: spec.creation_token.clone(),
            id,
        })
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

fn efs_tag(key: &str, value: &str) -> aws_sdk_efs::types::Tag {
    aws_sdk_efs::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .unwrap_or_else(|_| unreachable!("key and value are set"))
}
