//! Provider-neutral specs of the AWS resources swarmkeeper owns, and the
//! observed AWS snapshot. Resources refer to each other by name; the AWS
//! provider translates names to ids and ARNs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::closed_set::closed_set;
use crate::node_types::NodePolicy;

closed_set! {
    /// The IP protocol of a security group rule, as EC2 names it. EC2 knows
    /// more (`icmp`, numbers): a rule someone added by hand keeps its word
    /// and is revoked as drift.
    pub enum IpProtocol("IP protocol", other Other) {
        /// All traffic.
        All = "-1",
        Tcp = "tcp",
        Udp = "udp",
    }
}

closed_set! {
    /// An application load balancer listener's protocol.
    pub enum ListenerProtocol("listener protocol") {
        Http = "HTTP",
        Https = "HTTPS",
    }
}

closed_set! {
    /// What happens to a file system when its volume leaves the desired
    /// state: recorded as the tag [`TAG_DELETION_POLICY`].
    pub enum DeletionPolicy("deletion policy") {
        Retain = "retain",
        Delete = "delete",
    }
}

closed_set! {
    /// An instance's lifecycle state in its group, as the AutoScaling API
    /// names it (warm pool states and later ones are `Other`).
    pub enum InstanceLifecycle("instance lifecycle state", other Other) {
        Pending = "Pending",
        PendingWait = "Pending:Wait",
        PendingProceed = "Pending:Proceed",
        Quarantined = "Quarantined",
        InService = "InService",
        Terminating = "Terminating",
        TerminatingWait = "Terminating:Wait",
        TerminatingProceed = "Terminating:Proceed",
        Terminated = "Terminated",
        Detaching = "Detaching",
        Detached = "Detached",
        EnteringStandby = "EnteringStandby",
        Standby = "Standby",
    }
}

closed_set! {
    /// An instance's health in its group.
    pub enum InstanceHealth("instance health status") {
        Healthy = "Healthy",
        Unhealthy = "Unhealthy",
    }
}

/// Tag keys every owned resource carries.
pub const TAG_CLUSTER: &str = "swarmkeeper:cluster";
pub const TAG_NAME: &str = "swarmkeeper:name";
/// On file systems: what to do when the volume leaves the desired state.
pub const TAG_DELETION_POLICY: &str = "swarmkeeper:deletion-policy";

/// A value that must never be shown: join tokens. `Debug` and `Serialize`
/// print a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(pub String);

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(sensitive)")
    }
}

impl Serialize for Sensitive {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("(sensitive)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Source {
    Cidr(String),
    /// Another owned security group, by name.
    Group(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct IngressRule {
    pub protocol: IpProtocol,
    pub from_port: i32,
    pub to_port: i32,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityGroupSpec {
    pub name: String,
    pub description: String,
    /// Sorted.
    pub ingress: Vec<IngressRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchTemplateSpec {
    pub name: String,
    pub image_id: String,
    pub instance_type: String,
    pub key_name: Option<String>,
    /// The user data script (plain text; base64 is the provider's business).
    #[serde(skip)]
    pub user_data: String,
    /// Short hash of the user data, shown in plans instead of the script.
    pub user_data_hash: String,
    pub root_volume_gb: Option<u32>,
    pub root_volume_type: Option<String>,
    /// The IAM instance profile's name, when the pool names one.
    pub instance_profile: Option<String>,
    /// Security group names.
    pub security_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoScalingGroupSpec {
    pub name: String,
    pub launch_template: String,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    pub subnets: Vec<String>,
    /// `managers` or `workers`, tagged on the instances.
    pub pool: String,
    /// Target groups the group's instances are registered in (sorted names).
    pub target_groups: Vec<String>,
}

/// The application load balancer in front of the routed services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerSpec {
    pub name: String,
    pub subnets: Vec<String>,
    pub security_group: String,
}

/// One routed service port: instance targets on the port the service
/// publishes on every node, health-checked there (never on an agent port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetGroupSpec {
    pub name: String,
    /// `<stack>/<service>:<container port>`, for people.
    pub route: String,
    pub port: u16,
    pub health_check_path: String,
    pub health_check_interval_secs: u32,
    pub health_check_timeout_secs: u32,
    pub matcher: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultAction {
    /// HTTP 301 to the same URL on 443.
    RedirectToHttps,
    /// A plain 404 for hosts and paths no route names.
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerSpec {
    pub port: u16,
    pub protocol: ListenerProtocol,
    pub certificate_arn: Option<String>,
    pub default_action: DefaultAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSpec {
    pub listener_port: u16,
    pub priority: u32,
    pub host: String,
    /// Path patterns (`/*`, or `/api` and `/api/*`).
    pub paths: Vec<String>,
    pub target_group: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParameterSpec {
    pub name: String,
    pub secure: bool,
    pub value: Sensitive,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSystemSpec {
    /// The cluster volume's name.
    pub volume: String,
    /// `<cluster>-<volume>`: the idempotency key.
    pub creation_token: String,
    /// Recorded as a tag.
    pub deletion_policy: DeletionPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogGroupSpec {
    pub name: String,
    pub retention_days: u32,
}

/// Everything the desired state asks of AWS.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct DesiredAws {
    pub cluster: String,
    pub security_groups: Vec<SecurityGroupSpec>,
    pub launch_templates: Vec<LaunchTemplateSpec>,
    pub groups: Vec<AutoScalingGroupSpec>,
    pub parameters: Vec<ParameterSpec>,
    pub file_systems: Vec<FileSystemSpec>,
    /// Subnets every file system gets a mount target in.
    pub subnets: Vec<String>,
    pub log_group: Option<LogGroupSpec>,
    pub load_balancer: Option<LoadBalancerSpec>,
    pub target_groups: Vec<TargetGroupSpec>,
    pub listeners: Vec<ListenerSpec>,
    pub rules: Vec<RuleSpec>,
    /// How failed nodes are replaced and pools rolled (see [`crate::nodes`]).
    pub node_policy: NodePolicy,
}

/// What the AWS provider saw, limited to what carries the cluster's tag
/// (plus the lookups the desired state needs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObservedAws {
    pub security_groups: Vec<ObservedSecurityGroup>,
    pub launch_templates: Vec<ObservedLaunchTemplate>,
    pub groups: Vec<ObservedGroup>,
    pub parameters: BTreeMap<String, Sensitive>,
    pub file_systems: Vec<ObservedFileSystem>,
    pub log_groups: Vec<ObservedLogGroup>,
    /// Instances of the cluster's groups.
    pub instances: Vec<ObservedInstance>,
    pub load_balancer: Option<ObservedLoadBalancer>,
    pub target_groups: Vec<ObservedTargetGroup>,
    pub listeners: Vec<ObservedListener>,
    pub rules: Vec<ObservedRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedLoadBalancer {
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    pub spec: LoadBalancerSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedTargetGroup {
    pub arn: String,
    pub tags: BTreeMap<String, String>,
    pub spec: TargetGroupSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedListener {
    pub arn: String,
    pub spec: ListenerSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedRule {
    pub arn: String,
    pub spec: RuleSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedSecurityGroup {
    pub id: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub ingress: Vec<IngressRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedLaunchTemplate {
    pub id: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub default_version: i64,
    /// The default version's data.
    pub spec: LaunchTemplateSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedGroup {
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub launch_template: String,
    pub launch_template_version: String,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    pub subnets: Vec<String>,
    /// Attached target groups, by name (sorted).
    pub target_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedFileSystem {
    pub id: String,
    pub creation_token: String,
    pub tags: BTreeMap<String, String>,
    /// subnet → mount target id.
    pub mount_targets: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedLogGroup {
    pub name: String,
    pub retention_days: Option<u32>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedInstance {
    pub id: String,
    pub group: String,
    pub private_ip: Option<String>,
    /// The group's lifecycle state.
    pub state: InstanceLifecycle,
    /// The group's health status.
    pub health: InstanceHealth,
    pub instance_type: String,
    /// From EC2 (the group does not say); `None` when EC2 did not answer for it.
    pub image_id: Option<String>,
    pub launched_unix: Option<u64>,
}

impl ObservedInstance {
    /// In the group and not on its way out.
    pub fn is_alive(&self) -> bool {
        use InstanceLifecycle::*;
        !matches!(
            self.state,
            Terminating | TerminatingWait | TerminatingProceed | Terminated | Detaching | Detached | Standby
        )
    }
}

/// True when `tags` mark the resource as this cluster's.
pub fn owned(tags: &BTreeMap<String, String>, cluster: &str) -> bool {
    tags.get(TAG_CLUSTER).is_some_and(|c| c == cluster)
}
