//! The vocabulary of `swarmkeeper.yaml` (format v1): [`Config`] and its
//! parts (cluster, pools, volumes, ingress, routes, stacks, maintenance,
//! logging), the closed sets of words they use, and every default and
//! range, written once here as constants.
//!
//! The decoder ([`super::decode`]) fills these types and checks values
//! against the same constants; the structs' serde and schemars attributes
//! read them too, so the JSON Schema that `swarmkeeper schema` prints states
//! the same defaults and ranges.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;

use crate::source::Span;
use crate::syntax::duration::format_duration;
use crate::syntax::keyword::keywords;

// Defaults and ranges. The decoder, the schema attributes below and the
// serde default functions all read these; docs/reference.md states them.

/// The format version this swarmkeeper reads.
pub const VERSION: u32 = 1;

/// The most nodes one pool (and `max_unavailable`) may have: far above a
/// swarm's practical size, far below what would overflow anything.
pub const MAX_POOL_COUNT: u32 = 1000;

/// The shortest `cluster.replace_after`: a node Down for less is not
/// replaced (the lab's tests use 5s).
pub const MIN_REPLACE_AFTER: Duration = Duration::from_secs(5);

/// `cluster.replace_after` when not written.
pub const DEFAULT_REPLACE_AFTER: Duration = Duration::from_secs(60);

/// `cluster.max_unavailable`: 0 would never let a node be replaced.
pub const MAX_UNAVAILABLE: RangeInclusive<u32> = 1..=MAX_POOL_COUNT;
/// `cluster.max_unavailable` when not written.
pub const DEFAULT_MAX_UNAVAILABLE: u32 = 1;

/// `cluster.ssh.user` when not written: the login of Amazon Linux's AMIs
/// (the example's); Debian's AMIs log in as `admin`, Ubuntu's as `ubuntu`.
pub const DEFAULT_SSH_USER: &str = "ec2-user";
/// `cluster.ssh.address` when not written.
pub const DEFAULT_SSH_ADDRESS: SshAddress = SshAddress::Private;

/// A pool's `count`.
pub const POOL_COUNT: RangeInclusive<u32> = 0..=MAX_POOL_COUNT;
/// The most managers (an odd count from 1): more slows consensus.
pub const MAX_MANAGERS: u32 = 7;
/// Controller replicas when `cluster.controller.replicas` is omitted
/// (fewer when there are fewer managers: one per manager at most).
pub const DEFAULT_CONTROLLER_REPLICAS: u32 = 2;
pub const CONTROLLER_REPLICAS: std::ops::RangeInclusive<u32> = 1..=MAX_MANAGERS;
pub const DEFAULT_CONTROLLER_BRANCH: &str = "main";
pub const DEFAULT_CONTROLLER_PATH: &str = ".";

/// `root_volume.size_gb`: the sizes EBS accepts for a root volume (GiB).
pub const ROOT_VOLUME_SIZE_GB: RangeInclusive<u32> = 8..=16384;
/// `root_volume.type` when not written.
pub const DEFAULT_ROOT_VOLUME_TYPE: EbsType = EbsType::Gp3;

/// A relocatable volume's `size_gb`: the sizes EBS accepts (GiB) for some
/// type; each type's own range is in [`super::ebs::limits`].
pub const VOLUME_SIZE_GB: RangeInclusive<u32> = 1..=65536;
/// A cluster volume's `deletion_policy` when not written.
pub const DEFAULT_DELETION_POLICY: DeletionPolicy = DeletionPolicy::Retain;

/// `ingress.allowed_cidrs` when not written: everyone.
pub const DEFAULT_ALLOWED_CIDRS: &[&str] = &["0.0.0.0/0", "::/0"];

/// A route's and a health check's `path` when not written.
pub const DEFAULT_PATH: &str = "/";
/// A route's `port` (a TCP port).
pub const ROUTE_PORT: RangeInclusive<u16> = 1..=65535;

/// `health_check.interval`: the range ELBv2 accepts for a target group.
pub const HEALTH_CHECK_INTERVAL: RangeInclusive<Duration> = Duration::from_secs(5)..=Duration::from_secs(300);
/// `health_check.interval` when not written.
pub const DEFAULT_HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(15);
/// `health_check.timeout`: the range ELBv2 accepts for a target group.
pub const HEALTH_CHECK_TIMEOUT: RangeInclusive<Duration> = Duration::from_secs(2)..=Duration::from_secs(120);
/// `health_check.timeout` when not written.
pub const DEFAULT_HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// `health_check.matcher` when not written.
pub const DEFAULT_MATCHER: &str = "200-399";

/// `maintenance.system_prune.at` when not written (UTC).
pub const DEFAULT_PRUNE_AT: &str = "00:00";

/// `logging.cloudwatch.retention_days` when not written.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// Retention periods CloudWatch Logs accepts (PutRetentionPolicy).
pub const CLOUDWATCH_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/// The root file of a desired-state directory.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "swarmkeeper.yaml", description = "swarmkeeper desired state, format v1")]
pub struct Config {
    /// Format version; always 1.
    #[schemars(range(min = VERSION, max = VERSION))]
    pub version: u32,
    /// The desired state's identity: it owns (and may prune) only the swarm
    /// objects and AWS resources that carry this name. Default: `cluster.name`,
    /// else `default`. Required in practice when two desired states share a swarm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,30}$"))]
    pub name: Option<String>,
    /// The AWS side: node pools and their network. Omit to manage the stacks of an existing swarm only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
    /// Cluster volumes, by name; a compose volume with `external: true` and the same name uses it.
    #[serde(default)]
    pub volumes: BTreeMap<String, VolumeSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Ingress>,
    /// Host/path routes from the load balancer to a service port.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Stacks by name: each is a compose file deployed like `docker stack deploy`.
    #[serde(default)]
    pub stacks: BTreeMap<String, StackRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<Maintenance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// Private registries by host (as image names write it: `ghcr.io`,
    /// `10.0.0.5:5000`), and where their credentials live — never in git.
    #[serde(default)]
    pub registries: BTreeMap<String, RegistryCredentials>,
    /// Where the controller sends what happens (applied, failed, drift
    /// corrected, node replaced, quorum, suspension), by a name of the
    /// user's; the URLs live outside git.
    #[serde(default)]
    pub notifications: BTreeMap<String, Notification>,
}

/// `notifications.NAME`: one receiver of the controller's events.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    /// `slack`: a Slack-compatible incoming webhook (`{"text": ...}`;
    /// Mattermost, Rocket.Chat and Discord's `/slack` endpoint take it too);
    /// `webhook`: the event as JSON.
    #[serde(rename = "type")]
    pub kind: NotificationKind,
    /// Where the URL lives: `{env: NAME}`, `{file: PATH}` (a mounted swarm
    /// secret) or `{ssm: NAME}`. A webhook URL is a credential: never in git.
    pub url: SecretSource,
    /// The events sent (default: all of them).
    #[serde(default = "all_notification_events")]
    pub events: Vec<NotificationEvent>,
}

fn all_notification_events() -> Vec<NotificationEvent> {
    NotificationEvent::ALL_EVENTS.to_vec()
}

keywords! {
    /// `notifications.NAME.type`.
    #[derive(JsonSchema)]
    pub enum NotificationKind {
        Slack = "slack",
        Webhook = "webhook",
    }
}

keywords! {
    /// `notifications.NAME.events`: what a receiver is sent.
    #[derive(JsonSchema)]
    pub enum NotificationEvent {
        /// A revision applied, with the counts of what changed.
        Applied = "applied",
        /// An apply failed: the step and the error (once while it fails so).
        Failed = "failed",
        /// Something changed the platform behind swarmkeeper's back, and it was put back.
        DriftCorrected = "drift_corrected",
        /// A failed node's instance was replaced.
        NodeReplaced = "node_replaced",
        /// The swarm's manager quorum was lost, or regained.
        Quorum = "quorum",
        /// The controller was suspended or resumed (`swarmkeeper suspend`, `resume`).
        Suspension = "suspension",
        /// The scheduled system prune ran (`maintenance.system_prune`): the space reclaimed per node.
        Prune = "prune",
    }
}

impl NotificationEvent {
    /// Every event, in declaration order.
    pub const ALL_EVENTS: &'static [Self] = <Self as crate::syntax::keyword::Keyword>::ALL;
}

/// `registries.HOST`: a user and where the password lives, or an ECR
/// registry (tokens from `ecr:GetAuthorizationToken`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryCredentials {
    /// The user the password belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Where the password lives: `{ssm: NAME}` (a SecureString) or `{file: PATH}`
    /// (e.g. a swarm secret mounted into the controller, `/run/secrets/NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretSource>,
    /// An ECR registry: short-lived tokens, renewed well before they expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecr: Option<Ecr>,
    #[serde(skip)]
    #[schemars(skip)]
    pub declared_at: Option<Span>,
}

/// Where a secret value lives, outside git.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretSource {
    /// An SSM parameter (SecureString), read with decryption.
    Ssm(String),
    /// A file on the machine swarmkeeper runs on (a mounted swarm secret).
    #[schemars(with = "String")]
    File(PathBuf),
    /// An environment variable of the swarmkeeper process (the controller's
    /// service environment).
    Env(String),
    /// The value itself, written SOPS-encrypted in `swarmkeeper.yaml` and
    /// decrypted at load (never shown).
    #[schemars(skip)]
    #[serde(skip_deserializing)]
    Sealed(Sealed),
}

/// A value decrypted from a SOPS-encrypted `swarmkeeper.yaml`: its `Debug`
/// and its serialisation show `(sensitive)`, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(pub String);

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealed(sensitive)")
    }
}

impl Serialize for Sealed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("(sensitive)")
    }
}

/// `registries.HOST.ecr`. Both default to what an ECR host name says
/// (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ecr {
    /// The registry's AWS account (12 digits).
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account: String,
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: String,
}

/// An ECR registry's host name → (account, region).
pub fn ecr_host(host: &str) -> Option<(String, String)> {
    let rest = host.strip_suffix(".amazonaws.com")?;
    let (account, rest) = rest.split_once(".dkr.ecr.")?;
    let ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty();
    ok.then(|| (account.to_owned(), rest.to_owned()))
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Used in AWS names and tags.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,30}$"))]
    pub name: String,
    /// AWS region, e.g. eu-west-1.
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: String,
    /// Omit for the default VPC and all its subnets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    pub managers: Pool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<Pool>,
    /// How long a node may be Down before it is replaced (default 60s, at least 5s).
    #[serde(default = "default_replace_after", with = "duration_text")]
    #[schemars(with = "DurationText")]
    pub replace_after: Duration,
    /// Nodes taken out at once by rolls and scale-in (default 1).
    #[serde(default = "default_max_unavailable")]
    #[schemars(range(min = *MAX_UNAVAILABLE.start(), max = *MAX_UNAVAILABLE.end()))]
    pub max_unavailable: u32,
    /// swarmkeeper itself, started by the first manager right after
    /// `swarm init` (manifests/swarmkeeper.stack.yml), following git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<Controller>,
    /// How the CLI reaches a manager over ssh when DOCKER_HOST is unset.
    #[serde(default)]
    pub ssh: Ssh,
}

/// `cluster.controller`: the in-cluster controller from the first boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Controller {
    /// The swarmkeeper image (an ECR image is pulled after logging in to ECR).
    pub image: String,
    pub git: ControllerGit,
    /// Replicas on distinct managers; one holds the lease (default 2, at
    /// most the managers' count).
    #[serde(default = "default_controller_replicas")]
    #[schemars(range(min = *CONTROLLER_REPLICAS.start(), max = *CONTROLLER_REPLICAS.end()))]
    pub replicas: u32,
}

fn default_controller_replicas() -> u32 {
    DEFAULT_CONTROLLER_REPLICAS
}

fn default_controller_branch() -> String {
    DEFAULT_CONTROLLER_BRANCH.to_owned()
}

fn default_controller_path() -> String {
    DEFAULT_CONTROLLER_PATH.to_owned()
}

/// The repository the controller follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControllerGit {
    /// https://, ssh://, git://, file:// or user@host:path; no credentials.
    pub url: String,
    /// Default main.
    #[serde(default = "default_controller_branch")]
    pub branch: String,
    /// The directory holding swarmkeeper.yaml (default `.`).
    #[serde(default = "default_controller_path")]
    pub path: String,
}

/// `cluster.ssh`: how `swarmkeeper` run from outside the cluster reaches a
/// manager (over ssh, `docker system dial-stdio`) when DOCKER_HOST is unset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ssh {
    /// The login on the managers (default `ec2-user`, Amazon Linux's; Debian's AMIs use `admin`).
    #[serde(default = "default_ssh_user")]
    #[schemars(regex(pattern = r"^[a-z_][a-z0-9_-]{0,31}$"))]
    pub user: String,
    /// Which address of a manager to connect to (default `private`: the
    /// addresses the managers publish in SSM; `public`: their instances' public IPs).
    #[serde(default = "default_ssh_address")]
    pub address: SshAddress,
    /// CIDR blocks allowed to reach the managers on TCP 22. Nothing is
    /// opened when absent or empty.
    #[serde(default)]
    pub allow_from: Vec<String>,
}

impl Default for Ssh {
    fn default() -> Self {
        Self {
            user: default_ssh_user(),
            address: DEFAULT_SSH_ADDRESS,
            allow_from: Vec::new(),
        }
    }
}

fn default_ssh_user() -> String {
    DEFAULT_SSH_USER.to_owned()
}

fn default_ssh_address() -> SshAddress {
    DEFAULT_SSH_ADDRESS
}

keywords! {
    /// `cluster.ssh.address`: which of a manager's addresses the CLI uses.
    #[derive(JsonSchema)]
    pub enum SshAddress {
        /// The address each manager published in SSM (`manager-addresses`): from inside the VPC, a VPN or a bastion.
        Private = "private",
        /// The public IP of each running manager instance.
        Public = "public",
    }
}

fn default_replace_after() -> Duration {
    DEFAULT_REPLACE_AFTER
}

fn default_max_unavailable() -> u32 {
    DEFAULT_MAX_UNAVAILABLE
}

/// A duration such as `30s`, `5m`, `1h` or `1m30s`.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct DurationText(#[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$"))] String);

mod duration_text {
    use super::format_duration;
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*d))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[schemars(regex(pattern = r"^vpc-[0-9a-z]+$"))]
    pub vpc: String,
    #[serde(default)]
    pub subnets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    #[schemars(range(min = *POOL_COUNT.start(), max = *POOL_COUNT.end()))]
    pub count: u32,
    /// EC2 instance type, e.g. t2.micro.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$"))]
    pub instance_type: String,
    /// An AMI id (ami-…) or `ssm:/path/to/parameter`.
    #[schemars(with = "String", regex(pattern = r"^(ami-[0-9a-f]{8,17}|ssm:/.+)$"))]
    pub ami: Ami,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<RootVolume>,
    /// The IAM instance profile (its name) the pool's instances run with:
    /// their credentials for SSM (join), CloudWatch Logs and, on the
    /// managers, the controller's AWS half. Created outside swarmkeeper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9+=,.@_-]{1,128}$"))]
    pub instance_profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Ami {
    Id(String),
    /// Resolved through SSM Parameter Store at plan time.
    Ssm(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RootVolume {
    #[schemars(range(min = *ROOT_VOLUME_SIZE_GB.start(), max = *ROOT_VOLUME_SIZE_GB.end()))]
    pub size_gb: u32,
    #[serde(rename = "type", default = "default_ebs_type")]
    pub volume_type: EbsType,
}

fn default_ebs_type() -> EbsType {
    DEFAULT_ROOT_VOLUME_TYPE
}

keywords! {
    /// An EBS volume type (`root_volume.type`).
    #[derive(JsonSchema)]
    pub enum EbsType {
        Gp2 = "gp2",
        Gp3 = "gp3",
        Io1 = "io1",
        Io2 = "io2",
        St1 = "st1",
        Sc1 = "sc1",
        Standard = "standard",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    #[serde(rename = "type")]
    pub kind: VolumeKind,
    /// `retain` (default) keeps the data when the volume is removed from the desired state.
    #[serde(default = "default_deletion_policy")]
    pub deletion_policy: DeletionPolicy,
    /// Size of a relocatable (EBS) volume; not used for shared volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = *VOLUME_SIZE_GB.start(), max = *VOLUME_SIZE_GB.end()))]
    pub size_gb: Option<u32>,
    /// A relocatable volume's EBS type (gp3 when not written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_type: Option<EbsType>,
    /// Provisioned IOPS (gp3: 3000–16000, io1/io2: required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iops: Option<u32>,
    /// Provisioned throughput in MiB/s (gp3 only: 125–1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<u32>,
    /// Encrypted at rest (true when not written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    /// The KMS key that encrypts it (the account's EBS default when not written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub declared_at: Option<Span>,
}

fn default_deletion_policy() -> DeletionPolicy {
    DEFAULT_DELETION_POLICY
}

keywords! {
    /// A cluster volume's `type`.
    #[derive(JsonSchema)]
    pub enum VolumeKind {
        /// EFS: every node can mount it.
        Shared = "shared",
        /// EBS: follows its service from node to node.
        Relocatable = "relocatable",
    }
}

keywords! {
    /// A cluster volume's `deletion_policy`.
    #[derive(JsonSchema)]
    pub enum DeletionPolicy {
        Retain = "retain",
        Delete = "delete",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    #[serde(rename = "type")]
    pub kind: IngressKind,
    /// ACM certificate, by domain or ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Who may reach the load balancer (default: everyone).
    #[serde(default = "default_allowed_cidrs")]
    pub allowed_cidrs: Vec<String>,
}

/// [`DEFAULT_ALLOWED_CIDRS`], owned.
pub fn default_allowed_cidrs() -> Vec<String> {
    DEFAULT_ALLOWED_CIDRS.iter().map(|c| (*c).to_owned()).collect()
}

keywords! {
    /// `ingress.type`.
    #[derive(JsonSchema)]
    pub enum IngressKind {
        LoadBalancer = "load_balancer",
        ElasticIp = "elastic_ip",
        None = "none",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub host: String,
    #[serde(default = "default_path")]
    pub path: String,
    /// `<stack>/<service>`.
    #[schemars(with = "String", regex(pattern = r"^[^/]+/[^/]+$"))]
    pub service: ServiceRef,
    /// The container port; the service must publish it.
    #[schemars(range(min = *ROUTE_PORT.start(), max = *ROUTE_PORT.end()))]
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Where `host` is written (its value).
    #[serde(skip)]
    #[schemars(skip)]
    pub host_at: Option<Span>,
    /// Where `path` is written; `None` when the route takes the default.
    #[serde(skip)]
    #[schemars(skip)]
    pub path_at: Option<Span>,
    #[serde(skip)]
    #[schemars(skip)]
    pub service_at: Option<Span>,
    #[serde(skip)]
    #[schemars(skip)]
    pub port_at: Option<Span>,
}

fn default_path() -> String {
    DEFAULT_PATH.into()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ServiceRef {
    pub stack: String,
    pub service: String,
}

impl std::fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.stack, self.service)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default = "default_hc_interval", with = "duration_text")]
    #[schemars(with = "DurationText")]
    pub interval: Duration,
    #[serde(default = "default_hc_timeout", with = "duration_text")]
    #[schemars(with = "DurationText")]
    pub timeout: Duration,
    /// HTTP codes that count as healthy, e.g. `200-399`.
    #[serde(default = "default_matcher")]
    pub matcher: String,
}

fn default_hc_interval() -> Duration {
    DEFAULT_HEALTH_CHECK_INTERVAL
}
fn default_hc_timeout() -> Duration {
    DEFAULT_HEALTH_CHECK_TIMEOUT
}
fn default_matcher() -> String {
    DEFAULT_MATCHER.into()
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackRef {
    /// Compose file, relative to the desired-state directory.
    #[schemars(with = "String")]
    pub compose: PathBuf,
    /// Variables for interpolating the compose file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub env_file: Option<PathBuf>,
    #[serde(skip)]
    #[schemars(skip)]
    pub declared_at: Option<Span>,
    #[serde(skip)]
    #[schemars(skip)]
    pub compose_at: Option<Span>,
    #[serde(skip)]
    #[schemars(skip)]
    pub env_file_at: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prune: Option<SystemPrune>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemPrune {
    pub schedule: Schedule,
    /// Time of day, UTC, `HH:MM` (default 00:00).
    #[serde(default = "default_prune_at")]
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub at: String,
    /// Each node waits up to this long (a delay fixed by its node ID) before
    /// it prunes, so a large swarm does not hit its disks and registries
    /// all at once (default 60s, at most 1h).
    #[serde(default = "default_prune_stagger", with = "duration_text")]
    #[schemars(with = "DurationText")]
    pub stagger: Duration,
    /// Also remove unused volumes (`docker volume prune`: anonymous
    /// volumes no container uses). Default false: volumes hold data.
    #[serde(default)]
    pub volumes: bool,
}

/// `maintenance.system_prune.stagger` when not written.
pub const DEFAULT_PRUNE_STAGGER: Duration = Duration::from_secs(60);
/// The longest `maintenance.system_prune.stagger`.
pub const MAX_PRUNE_STAGGER: Duration = Duration::from_secs(3600);

fn default_prune_stagger() -> Duration {
    DEFAULT_PRUNE_STAGGER
}

fn default_prune_at() -> String {
    DEFAULT_PRUNE_AT.into()
}

keywords! {
    /// `maintenance.system_prune.schedule`.
    #[derive(JsonSchema)]
    pub enum Schedule {
        Hourly = "hourly",
        Daily = "daily",
        Weekly = "weekly",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudwatch: Option<CloudWatch>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudWatch {
    pub group: String,
    /// Days CloudWatch keeps the logs: one of the periods it accepts.
    #[serde(default = "default_retention")]
    #[schemars(extend("enum" = CLOUDWATCH_RETENTION_DAYS))]
    pub retention_days: u32,
}

fn default_retention() -> u32 {
    DEFAULT_RETENTION_DAYS
}

/// The owner name of a desired state that names neither itself nor a cluster.
pub const DEFAULT_OWNER: &str = "default";

impl Config {
    /// Who this desired state is: `name`, else `cluster.name`, else
    /// [`DEFAULT_OWNER`]. Everything it creates carries this name, and it
    /// prunes or adopts nothing that carries another.
    pub fn owner(&self) -> &str {
        self.name
            .as_deref()
            .or(self.cluster.as_ref().map(|c| c.name.as_str()))
            .unwrap_or(DEFAULT_OWNER)
    }
}
