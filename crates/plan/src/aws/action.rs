//! One change to AWS: the actions of the AWS half of a plan, with the kind,
//! name and [`Op`] a plan shows for each. Vocabulary only.

use serde::Serialize;

use super::spec::*;
use crate::op::Op;

/// One change to AWS. Resources are named; the provider resolves ids.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "aws_action", rename_all = "snake_case")]
pub enum AwsAction {
    CreateSecurityGroup {
        spec: SecurityGroupSpec,
    },
    AuthorizeIngress {
        group: String,
        rule: IngressRule,
    },
    RevokeIngress {
        group: String,
        rule: IngressRule,
    },
    DeleteSecurityGroup {
        id: String,
        name: String,
    },
    CreateLaunchTemplate {
        spec: LaunchTemplateSpec,
    },
    /// A new version with the full data, made the default version (the
    /// groups launch `$Default`).
    CreateLaunchTemplateVersion {
        spec: LaunchTemplateSpec,
    },
    DeleteLaunchTemplate {
        id: String,
        name: String,
    },
    CreateGroup {
        spec: AutoScalingGroupSpec,
    },
    UpdateGroup {
        spec: AutoScalingGroupSpec,
    },
    /// Deletes a group. The plan deletes only groups with no instance left
    /// (a removed pool is drained to zero first): `force` (terminate what
    /// is still in it) is never set by the diff and stays a visible choice.
    DeleteGroup {
        name: String,
        force: bool,
    },
    PutParameter {
        spec: ParameterSpec,
        overwrite: bool,
    },
    /// Removes a parameter under the cluster's prefix (`destroy`).
    DeleteParameter {
        name: String,
    },
    CreateFileSystem {
        spec: FileSystemSpec,
    },
    /// Records a changed deletion policy on the file system.
    TagFileSystem {
        id: String,
        spec: FileSystemSpec,
    },
    CreateMountTarget {
        creation_token: String,
        subnet: String,
    },
    DeleteMountTarget {
        id: String,
        subnet: String,
    },
    DeleteFileSystem {
        id: String,
        volume: String,
    },
    CreateLogGroup {
        spec: LogGroupSpec,
    },
    PutRetentionPolicy {
        spec: LogGroupSpec,
    },
    /// Removes the cluster's log group and its streams (`destroy`).
    DeleteLogGroup {
        name: String,
    },
    CreateLoadBalancer {
        spec: LoadBalancerSpec,
    },
    DeleteLoadBalancer {
        arn: String,
        name: String,
    },
    CreateTargetGroup {
        spec: TargetGroupSpec,
    },
    /// Health check settings changed.
    ModifyTargetGroup {
        spec: TargetGroupSpec,
    },
    DeleteTargetGroup {
        arn: String,
        name: String,
    },
    CreateListener {
        spec: ListenerSpec,
    },
    ModifyListener {
        arn: String,
        spec: ListenerSpec,
    },
    /// Removes a listener of the cluster's load balancer (`destroy`).
    DeleteListener {
        arn: String,
        spec: ListenerSpec,
    },
    CreateRule {
        spec: RuleSpec,
    },
    /// Conditions or target changed (also puts back a rule edited by hand).
    ModifyRule {
        arn: String,
        spec: RuleSpec,
    },
    DeleteRule {
        arn: String,
        spec: RuleSpec,
    },
    /// Register or deregister a group's instances in target groups.
    SetGroupTargets {
        group: String,
        attach: Vec<String>,
        detach: Vec<String>,
    },
    /// Terminate a node's instance through its group: with `decrement`
    /// the group shrinks by one (scale-in), else it launches a replacement.
    TerminateInstance {
        id: String,
        group: String,
        decrement: bool,
    },
}

impl AwsAction {
    pub fn kind(&self) -> &'static str {
        use AwsAction::*;
        match self {
            CreateSecurityGroup { .. } | DeleteSecurityGroup { .. } => "security group",
            AuthorizeIngress { .. } | RevokeIngress { .. } => "security group rule",
            CreateLaunchTemplate { .. } | CreateLaunchTemplateVersion { .. } | DeleteLaunchTemplate { .. } => {
                "launch template"
            }
            CreateGroup { .. } | UpdateGroup { .. } | DeleteGroup { .. } => "auto scaling group",
            PutParameter { .. } | DeleteParameter { .. } => "ssm parameter",
            CreateFileSystem { .. } | TagFileSystem { .. } | DeleteFileSystem { .. } => "efs file system",
            CreateMountTarget { .. } | DeleteMountTarget { .. } => "efs mount target",
            CreateLogGroup { .. } | PutRetentionPolicy { .. } | DeleteLogGroup { .. } => "log group",
            CreateLoadBalancer { .. } | DeleteLoadBalancer { .. } => "load balancer",
            CreateTargetGroup { .. } | ModifyTargetGroup { .. } | DeleteTargetGroup { .. } => "target group",
            CreateListener { .. } | ModifyListener { .. } | DeleteListener { .. } => "listener",
            CreateRule { .. } | ModifyRule { .. } | DeleteRule { .. } => "listener rule",
            SetGroupTargets { .. } => "auto scaling group targets",
            TerminateInstance { .. } => "instance",
        }
    }

    /// What the action is about, as the user names it.
    pub fn name(&self) -> String {
        use AwsAction::*;
        match self {
            CreateSecurityGroup { spec } => spec.name.clone(),
            AuthorizeIngress { group, rule } | RevokeIngress { group, rule } => {
                let source = match &rule.source {
                    Source::Cidr(c) => c.clone(),
                    Source::Group(g) => g.clone(),
                };
                let ports = if rule.protocol == IpProtocol::All {
                    "all traffic".to_owned()
                } else {
                    format!("{}/{}-{}", rule.protocol, rule.from_port, rule.to_port)
                };
                format!("{group}: {ports} from {source}")
            }
            DeleteSecurityGroup { name, .. } | DeleteLaunchTemplate { name, .. } | DeleteGroup { name, .. } => {
                name.clone()
            }
            CreateLaunchTemplate { spec } | CreateLaunchTemplateVersion { spec } => spec.name.clone(),
            CreateGroup { spec } | UpdateGroup { spec } => spec.name.clone(),
            PutParameter { spec, .. } => spec.name.clone(),
            DeleteParameter { name } | DeleteLogGroup { name } => name.clone(),
            CreateFileSystem { spec } | TagFileSystem { spec, .. } => spec.volume.clone(),
            CreateMountTarget { creation_token, subnet } => format!("{creation_token} in {subnet}"),
            DeleteMountTarget { id, subnet } => format!("{id} in {subnet}"),
            DeleteFileSystem { volume, .. } => volume.clone(),
            CreateLogGroup { spec } | PutRetentionPolicy { spec } => spec.name.clone(),
            CreateLoadBalancer { spec } => spec.name.clone(),
            DeleteLoadBalancer { name, .. } | DeleteTargetGroup { name, .. } => name.clone(),
            CreateTargetGroup { spec } | ModifyTargetGroup { spec } => format!("{} ({})", spec.name, spec.route),
            CreateListener { spec } | ModifyListener { spec, .. } | DeleteListener { spec, .. } => {
                format!("{} {}", spec.protocol, spec.port)
            }
            CreateRule { spec } | ModifyRule { spec, .. } | DeleteRule { spec, .. } => {
                format!("{} {} {}", spec.priority, spec.host, spec.paths.join(" "))
            }
            SetGroupTargets { group, .. } => group.clone(),
            TerminateInstance { id, group, .. } => format!("{id} in {group}"),
        }
    }

    pub fn op(&self) -> Op {
        use AwsAction::*;
        match self {
            CreateSecurityGroup { .. }
            | AuthorizeIngress { .. }
            | CreateLaunchTemplate { .. }
            | CreateGroup { .. }
            | CreateFileSystem { .. }
            | CreateMountTarget { .. }
            | CreateLogGroup { .. }
            | CreateLoadBalancer { .. }
            | CreateTargetGroup { .. }
            | CreateListener { .. }
            | CreateRule { .. } => Op::Create,
            CreateLaunchTemplateVersion { .. }
            | UpdateGroup { .. }
            | PutParameter { overwrite: true, .. }
            | TagFileSystem { .. }
            | PutRetentionPolicy { .. }
            | ModifyTargetGroup { .. }
            | ModifyListener { .. }
            | ModifyRule { .. }
            | SetGroupTargets { .. } => Op::Update,
            PutParameter { overwrite: false, .. } => Op::Create,
            RevokeIngress { .. }
            | DeleteSecurityGroup { .. }
            | DeleteLaunchTemplate { .. }
            | DeleteGroup { .. }
            | DeleteMountTarget { .. }
            | DeleteFileSystem { .. }
            | DeleteLoadBalancer { .. }
            | DeleteTargetGroup { .. }
            | DeleteRule { .. }
            | DeleteListener { .. }
            | DeleteParameter { .. }
            | DeleteLogGroup { .. }
            | TerminateInstance { .. } => Op::Delete,
        }
    }
}
