//! `swarmkeeper.yaml`: the typed, validated form of the desired-state root
//! file (format v1), and its decoder.
//!
//! The structs double as the source of the JSON Schema that
//! `swarmkeeper schema` prints; a test keeps the decoder's key lists and the
//! schema's properties identical.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;

use crate::decode::Decoder;
use crate::source::Span;
use crate::syntax::duration::format_duration;
use crate::syntax::names;
use crate::yaml::Node;

pub const TOP_KEYS: &[&str] = &[
    "version",
    "name",
    "cluster",
    "volumes",
    "ingress",
    "routes",
    "stacks",
    "maintenance",
    "logging",
];
pub const CLUSTER_KEYS: &[&str] = &[
    "name",
    "region",
    "network",
    "managers",
    "workers",
    "replace_after",
    "max_unavailable",
];
pub const NETWORK_KEYS: &[&str] = &["vpc", "subnets"];
pub const POOL_KEYS: &[&str] = &["count", "instance_type", "ami", "ssh_key", "root_volume"];
pub const ROOT_VOLUME_KEYS: &[&str] = &["size_gb", "type"];
pub const VOLUME_KEYS: &[&str] = &["type", "deletion_policy", "size_gb"];
pub const INGRESS_KEYS: &[&str] = &["type", "certificate", "allowed_cidrs"];
pub const ROUTE_KEYS: &[&str] = &["host", "path", "service", "port", "health_check"];
pub const HEALTH_CHECK_KEYS: &[&str] = &["path", "interval", "timeout", "matcher"];
pub const STACK_KEYS: &[&str] = &["compose", "env_file"];
pub const MAINTENANCE_KEYS: &[&str] = &["system_prune"];
pub const SYSTEM_PRUNE_KEYS: &[&str] = &["schedule", "at"];
pub const LOGGING_KEYS: &[&str] = &["cloudwatch"];
pub const CLOUDWATCH_KEYS: &[&str] = &["group", "retention_days"];

/// The most nodes one pool (and `max_unavailable`) may have: far above a
/// swarm's practical size, far below what would overflow anything.
pub const MAX_POOL_COUNT: u32 = 1000;

/// The shortest `cluster.replace_after`: a node Down for less is not
/// replaced (the lab's tests use 5s).
pub const MIN_REPLACE_AFTER: Duration = Duration::from_secs(5);

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
    #[schemars(range(min = 1, max = 1))]
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
    #[schemars(range(min = 1, max = 1000))]
    pub max_unavailable: u32,
}

fn default_replace_after() -> Duration {
    Duration::from_secs(60)
}

fn default_max_unavailable() -> u32 {
    1
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
    #[schemars(range(max = 1000))]
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
    #[schemars(range(min = 8, max = 16384))]
    pub size_gb: u32,
    #[serde(rename = "type", default = "default_ebs_type")]
    pub volume_type: EbsType,
}

fn default_ebs_type() -> EbsType {
    EbsType::Gp3
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EbsType {
    Gp2,
    Gp3,
    Io1,
    Io2,
    St1,
    Sc1,
    Standard,
}

impl EbsType {
    pub const NAMES: &[&str] = &["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"];
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "gp2" => Self::Gp2,
            "gp3" => Self::Gp3,
            "io1" => Self::Io1,
            "io2" => Self::Io2,
            "st1" => Self::St1,
            "sc1" => Self::Sc1,
            "standard" => Self::Standard,
            _ => return None,
        })
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
    #[schemars(range(min = 1, max = 16384))]
    pub size_gb: Option<u32>,
    #[serde(skip)]
    #[schemars(skip)]
    pub declared_at: Option<Span>,
}

fn default_deletion_policy() -> DeletionPolicy {
    DeletionPolicy::Retain
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VolumeKind {
    /// EFS: every node can mount it.
    Shared,
    /// EBS: follows its service from node to node.
    Relocatable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeletionPolicy {
    Retain,
    Delete,
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

fn default_allowed_cidrs() -> Vec<String> {
    vec!["0.0.0.0/0".into(), "::/0".into()]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IngressKind {
    LoadBalancer,
    ElasticIp,
    None,
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
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(skip)]
    #[schemars(skip)]
    pub service_at: Option<Span>,
    #[serde(skip)]
    #[schemars(skip)]
    pub port_at: Option<Span>,
}

fn default_path() -> String {
    "/".into()
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
    Duration::from_secs(15)
}
fn default_hc_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_matcher() -> String {
    "200-399".into()
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
    /// Time of day, UTC, `HH:MM`.
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Hourly,
    Daily,
    Weekly,
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
    #[serde(default = "default_retention")]
    pub retention_days: u32,
}

fn default_retention() -> u32 {
    30
}

/// Decode the root node of `swarmkeeper.yaml`. Errors go to the decoder's
/// diagnostics; `None` means the file is unusable.
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

pub fn decode_config(node: &Node, d: &mut Decoder) -> Option<Config> {
    let entries = d.mapping(node, "swarmkeeper.yaml", TOP_KEYS, false)?;
    let get = |key: &str| entries.iter().find(|(k, _)| k.as_scalar() == Some(key)).map(|(_, v)| v);

    let version = match get("version") {
        None => {
            d.diags.error_help(
                "missing-key",
                Some(node.span),
                "`version` is missing",
                "start swarmkeeper.yaml with `version: 1`",
            );
            None
        }
        Some(v) => match d.u64(v, "version") {
            Some(1) => Some(1),
            Some(other) => {
                d.diags.error_help(
                    "unsupported-version",
                    Some(v.span),
                    format!("format version {other} is not supported"),
                    "this swarmkeeper reads `version: 1`",
                );
                None
            }
            None => None,
        },
    };
    let name = get("name").and_then(|n| {
        let s = d.string(n, "name")?;
        names::check(d, n.span, "name", &s, &names::CLUSTER_NAME).then_some(s)
    });
    let cluster = get("cluster")
        .filter(|n| !n.is_null())
        .and_then(|n| decode_cluster(n, d));
    let volumes = get("volumes").map(|n| decode_volumes(n, d)).unwrap_or_default();
    let ingress = get("ingress")
        .filter(|n| !n.is_null())
        .and_then(|n| decode_ingress(n, d));
    let routes = get("routes").map(|n| decode_routes(n, d)).unwrap_or_default();
    let stacks = get("stacks").map(|n| decode_stacks(n, d)).unwrap_or_default();
    let maintenance = get("maintenance")
        .filter(|n| !n.is_null())
        .and_then(|n| decode_maintenance(n, d));
    let logging = get("logging")
        .filter(|n| !n.is_null())
        .and_then(|n| decode_logging(n, d));

    Some(Config {
        version: version?,
        name,
        cluster,
        volumes,
        ingress,
        routes,
        stacks,
        maintenance,
        logging,
    })
}

/// Looks up a required key, reporting it when absent.
fn required<'n>(d: &mut Decoder, map: &'n Node, key: &str, path: &str, help: &str) -> Option<&'n Node> {
    let found = map.get(key).filter(|n| !n.is_null());
    if found.is_none() {
        d.diags.error_help(
            "missing-key",
            Some(map.span),
            format!("`{path}.{key}` is required"),
            help.to_owned(),
        );
    }
    found
}

fn decode_cluster(node: &Node, d: &mut Decoder) -> Option<Cluster> {
    d.mapping(node, "cluster", CLUSTER_KEYS, false)?;
    let name = required(d, node, "name", "cluster", "name the cluster, e.g. `name: cloud`").and_then(|n| {
        let s = d.string(n, "cluster.name")?;
        names::check(d, n.span, "cluster.name", &s, &names::CLUSTER_NAME).then_some(s)
    });
    let region = required(
        d,
        node,
        "region",
        "cluster",
        "set the AWS region, e.g. `region: eu-west-1`",
    )
    .and_then(|n| {
        let s = d.string(n, "cluster.region")?;
        names::check(d, n.span, "cluster.region", &s, &names::REGION).then_some(s)
    });
    let network = node.get("network").filter(|n| !n.is_null()).and_then(|n| {
        d.mapping(n, "cluster.network", NETWORK_KEYS, false)?;
        let vpc = required(
            d,
            n,
            "vpc",
            "cluster.network",
            "name the VPC, e.g. `vpc: vpc-0abc`, or omit `network` for the default VPC",
        )
        .and_then(|v| {
            let s = d.string(v, "cluster.network.vpc")?;
            names::check(d, v.span, "cluster.network.vpc", &s, &names::VPC_ID).then_some(s)
        });
        let subnets = match n.get("subnets") {
            None => Some(Vec::new()),
            Some(list) => {
                let items = d.string_list(list, "cluster.network.subnets", false)?;
                let mut ok = true;
                for (item, s) in list.as_seq().unwrap_or_default().iter().zip(&items) {
                    ok &= names::check(d, item.span, "cluster.network.subnets", s, &names::SUBNET_ID);
                }
                ok.then_some(items)
            }
        };
        Some(Network {
            vpc: vpc?,
            subnets: subnets?,
        })
    });
    let managers = required(
        d,
        node,
        "managers",
        "cluster",
        "declare the manager pool: count, instance_type and ami",
    )
    .and_then(|n| decode_pool(n, "cluster.managers", d));
    if let (Some(m), Some(n)) = (&managers, node.get("managers"))
        && (m.count == 0 || m.count > 7 || m.count.is_multiple_of(2))
    {
        let at = n.get("count").map_or(n.span, |c| c.span);
        d.diags.error_help(
            "manager-count",
            Some(at),
            format!(
                "`cluster.managers.count` is {}, but a swarm needs an odd number of managers from 1 to 7",
                m.count
            ),
            "use 1, 3, 5 or 7 managers: an even count adds no fault tolerance and more than 7 slows consensus",
        );
    }
    let workers = node
        .get("workers")
        .filter(|n| !n.is_null())
        .and_then(|n| decode_pool(n, "cluster.workers", d));
    let replace_after = match node.get("replace_after") {
        None => Some(default_replace_after()),
        Some(n) => d.duration_at_least(
            n,
            "cluster.replace_after",
            MIN_REPLACE_AFTER,
            "a node briefly Down (a restart of its engine, a network blip) would be replaced",
        ),
    };
    let max_unavailable = match node.get("max_unavailable") {
        None => Some(default_max_unavailable()),
        // 0 would never let a node be replaced.
        Some(n) => d.u32_in(n, "cluster.max_unavailable", 1..=MAX_POOL_COUNT),
    };
    Some(Cluster {
        name: name?,
        region: region?,
        network: network.or(None),
        managers: managers?,
        workers,
        replace_after: replace_after?,
        max_unavailable: max_unavailable?,
    })
}

fn decode_pool(node: &Node, path: &str, d: &mut Decoder) -> Option<Pool> {
    d.mapping(node, path, POOL_KEYS, false)?;
    let count = required(
        d,
        node,
        "count",
        path,
        "set how many nodes the pool has, e.g. `count: 1`",
    )
    .and_then(|n| d.u32_in(n, &format!("{path}.count"), 0..=MAX_POOL_COUNT));
    let instance_type = required(
        d,
        node,
        "instance_type",
        path,
        "set the EC2 instance type, e.g. `instance_type: t3.small`",
    )
    .and_then(|n| {
        let s = d.string(n, &format!("{path}.instance_type"))?;
        names::check(d, n.span, &format!("{path}.instance_type"), &s, &names::INSTANCE_TYPE).then_some(s)
    });
    let ami = required(
        d,
        node,
        "ami",
        path,
        "set the AMI: an id like `ami-0123456789abcdef0` or `ssm:/aws/service/...`",
    )
    .and_then(|n| {
        let s = d.string(n, &format!("{path}.ami"))?;
        if let Some(param) = s.strip_prefix("ssm:") {
            if param.starts_with('/') && param.len() > 1 {
                return Some(Ami::Ssm(param.to_owned()));
            }
        } else if names::AMI_ID.matches(&s) {
            return Some(Ami::Id(s));
        }
        d.diags.error_help(
            "invalid-value",
            Some(n.span),
            format!("`{path}.ami`: `{s}` is neither an AMI id nor an SSM parameter"),
            "write `ami-` followed by 8 or 17 hex digits, or `ssm:/path/to/parameter`",
        );
        None
    });
    let ssh_key = node
        .get("ssh_key")
        .and_then(|n| d.opt_string(n, &format!("{path}.ssh_key")));
    let root_volume = node.get("root_volume").filter(|n| !n.is_null()).and_then(|n| {
        let p = format!("{path}.root_volume");
        d.mapping(n, &p, ROOT_VOLUME_KEYS, false)?;
        // EBS root volumes are 8 to 16384 GiB.
        let size_gb = required(d, n, "size_gb", &p, "set the root volume size, e.g. `size_gb: 20`")
            .and_then(|s| d.u32_in(s, &format!("{p}.size_gb"), 8..=16384));
        let volume_type = match n.get("type") {
            None => Some(EbsType::Gp3),
            Some(t) => enum_value(d, t, &format!("{p}.type"), EbsType::NAMES, EbsType::parse),
        };
        Some(RootVolume {
            size_gb: size_gb?,
            volume_type: volume_type?,
        })
    });
    Some(Pool {
        count: count?,
        instance_type: instance_type?,
        ami: ami?,
        ssh_key,
        root_volume,
    })
}

/// A string restricted to a fixed set of words.
pub(crate) fn enum_value<T>(
    d: &mut Decoder,
    node: &Node,
    path: &str,
    names: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let s = d.string(node, path)?;
    let parsed = parse(&s);
    if parsed.is_none() {
        let help = match crate::decode::did_you_mean(&s, names) {
            Some(m) => format!("did you mean `{m}`? (one of: {})", names.join(", ")),
            None => format!("use one of: {}", names.join(", ")),
        };
        d.diags.error_help(
            "invalid-value",
            Some(node.span),
            format!("`{path}`: `{s}` is not a valid value"),
            help,
        );
    }
    parsed
}

fn decode_volumes(node: &Node, d: &mut Decoder) -> BTreeMap<String, VolumeSpec> {
    let mut out = BTreeMap::new();
    for (key, name, value) in d.named_entries(node, "volumes") {
        let path = format!("volumes.{name}");
        let name_ok = names::check(d, key.span, "volume name", name, &names::VOLUME_NAME);
        if d.mapping(value, &path, VOLUME_KEYS, false).is_none() {
            continue;
        }
        let kind = required(
            d,
            value,
            "type",
            &path,
            "set `type: shared` (EFS) or `type: relocatable` (EBS)",
        )
        .and_then(|t| {
            enum_value(d, t, &format!("{path}.type"), &["shared", "relocatable"], |s| match s {
                "shared" => Some(VolumeKind::Shared),
                "relocatable" => Some(VolumeKind::Relocatable),
                _ => None,
            })
        });
        let deletion_policy = match value.get("deletion_policy") {
            None => Some(DeletionPolicy::Retain),
            Some(p) => enum_value(
                d,
                p,
                &format!("{path}.deletion_policy"),
                &["retain", "delete"],
                |s| match s {
                    "retain" => Some(DeletionPolicy::Retain),
                    "delete" => Some(DeletionPolicy::Delete),
                    _ => None,
                },
            ),
        };
        // EBS volumes are 1 to 16384 GiB.
        let size_gb = value
            .get("size_gb")
            .and_then(|s| d.u32_in(s, &format!("{path}.size_gb"), 1..=16384));
        match (kind, size_gb, value.get("size_gb")) {
            (Some(VolumeKind::Relocatable), None, None) => d.diags.error_help(
                "missing-key",
                Some(value.span),
                format!("`{path}.size_gb` is required for a relocatable volume"),
                "set the EBS volume size, e.g. `size_gb: 20`",
            ),
            (Some(VolumeKind::Shared), _, Some(s)) => d.diags.error_help(
                "invalid-value",
                Some(s.span),
                format!("`{path}.size_gb` does not apply to a shared volume"),
                "EFS grows on demand: remove `size_gb`",
            ),
            _ => {}
        }
        if let (true, Some(kind), Some(deletion_policy)) = (name_ok, kind, deletion_policy) {
            out.insert(
                name.to_owned(),
                VolumeSpec {
                    kind,
                    deletion_policy,
                    size_gb,
                    declared_at: Some(key.span),
                },
            );
        }
    }
    out
}

fn decode_ingress(node: &Node, d: &mut Decoder) -> Option<Ingress> {
    d.mapping(node, "ingress", INGRESS_KEYS, false)?;
    let kind = required(
        d,
        node,
        "type",
        "ingress",
        "set `type: load_balancer`, `elastic_ip` or `none`",
    )
    .and_then(|t| {
        enum_value(
            d,
            t,
            "ingress.type",
            &["load_balancer", "elastic_ip", "none"],
            |s| match s {
                "load_balancer" => Some(IngressKind::LoadBalancer),
                "elastic_ip" => Some(IngressKind::ElasticIp),
                "none" => Some(IngressKind::None),
                _ => None,
            },
        )
    });
    let certificate = node
        .get("certificate")
        .and_then(|n| d.opt_string(n, "ingress.certificate"));
    let allowed_cidrs = match node.get("allowed_cidrs") {
        None => Some(default_allowed_cidrs()),
        Some(list) => d.string_list(list, "ingress.allowed_cidrs", false).and_then(|items| {
            let mut ok = true;
            for (item, s) in list.as_seq().unwrap_or_default().iter().zip(&items) {
                if let Err(why) = names::parse_cidr(s) {
                    ok = false;
                    d.diags.error_help(
                        "invalid-cidr",
                        Some(item.span),
                        format!("`{s}` is not a CIDR block: {why}"),
                        "write an address and prefix length, e.g. 203.0.113.0/24 or 2001:db8::/32",
                    );
                }
            }
            ok.then_some(items)
        }),
    };
    Some(Ingress {
        kind: kind?,
        certificate,
        allowed_cidrs: allowed_cidrs?,
    })
}

fn decode_routes(node: &Node, d: &mut Decoder) -> Vec<Route> {
    if node.is_null() {
        return Vec::new();
    }
    let Some(items) = node.as_seq() else {
        d.expected(node, "a list of routes", "routes");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("routes[{i}]");
        if d.mapping(item, &path, ROUTE_KEYS, false).is_none() {
            continue;
        }
        let host = required(
            d,
            item,
            "host",
            &path,
            "set the host name this route answers, e.g. `host: cloud.example.com`",
        )
        .and_then(|h| {
            let s = d.string(h, &format!("{path}.host"))?;
            names::check(d, h.span, &format!("{path}.host"), &s, &names::HOST_NAME).then_some(s)
        });
        let route_path = match item.get("path") {
            None => Some(default_path()),
            Some(p) => d.string(p, &format!("{path}.path")).and_then(|s| {
                if s.starts_with('/') {
                    Some(s)
                } else {
                    d.diags.error_help(
                        "invalid-value",
                        Some(p.span),
                        format!("`{path}.path` must start with `/`, found `{s}`"),
                        "write an absolute path such as `/` or `/api`",
                    );
                    None
                }
            }),
        };
        let service_node = required(d, item, "service", &path, "name the target as `<stack>/<service>`");
        let service = service_node.and_then(|s| {
            let text = d.string(s, &format!("{path}.service"))?;
            match text.split_once('/') {
                Some((stack, service)) if !stack.is_empty() && !service.is_empty() && !service.contains('/') => {
                    Some(ServiceRef {
                        stack: stack.to_owned(),
                        service: service.to_owned(),
                    })
                }
                _ => {
                    d.diags.error_help(
                        "invalid-value",
                        Some(s.span),
                        format!("`{path}.service` is `{text}`, expected `<stack>/<service>`"),
                        "name the stack and the service, e.g. `service: nextcloud/app`",
                    );
                    None
                }
            }
        });
        let port_node = required(
            d,
            item,
            "port",
            &path,
            "set the container port the service publishes, e.g. `port: 80`",
        );
        let port = port_node.and_then(|p| {
            let v = d.u64(p, &format!("{path}.port"))?;
            match u16::try_from(v) {
                Ok(port) if port > 0 => Some(port),
                _ => {
                    d.diags.error_help(
                        "out-of-range",
                        Some(p.span),
                        format!("`{path}.port` is {v}, outside 1..=65535"),
                        "use a TCP port number",
                    );
                    None
                }
            }
        });
        let health_check = item.get("health_check").filter(|n| !n.is_null()).and_then(|h| {
            let p = format!("{path}.health_check");
            d.mapping(h, &p, HEALTH_CHECK_KEYS, false)?;
            let hc_path = match h.get("path") {
                None => Some(default_path()),
                Some(n) => d.string(n, &format!("{p}.path")),
            };
            // The ranges ELBv2 accepts for a target group's health check.
            let interval = match h.get("interval") {
                None => Some(default_hc_interval()),
                Some(n) => d.duration_in(
                    n,
                    &format!("{p}.interval"),
                    Duration::from_secs(5),
                    Duration::from_secs(300),
                ),
            };
            let timeout = match h.get("timeout") {
                None => Some(default_hc_timeout()),
                Some(n) => d.duration_in(
                    n,
                    &format!("{p}.timeout"),
                    Duration::from_secs(2),
                    Duration::from_secs(120),
                ),
            };
            let matcher = match h.get("matcher") {
                None => Some(default_matcher()),
                Some(n) => d.string(n, &format!("{p}.matcher")),
            };
            Some(HealthCheck {
                path: hc_path?,
                interval: interval?,
                timeout: timeout?,
                matcher: matcher?,
            })
        });
        if let (Some(host), Some(path_), Some(service), Some(port)) = (host, route_path, service, port) {
            out.push(Route {
                host,
                path: path_,
                service,
                port,
                health_check,
                service_at: service_node.map(|n| n.span),
                port_at: port_node.map(|n| n.span),
            });
        }
    }
    out
}

fn decode_stacks(node: &Node, d: &mut Decoder) -> BTreeMap<String, StackRef> {
    let mut out = BTreeMap::new();
    for (key, name, value) in d.named_entries(node, "stacks") {
        let path = format!("stacks.{name}");
        let name_ok = names::check(d, key.span, "stack name", name, &names::STACK_NAME);
        if d.mapping(value, &path, STACK_KEYS, false).is_none() {
            continue;
        }
        let compose = required(
            d,
            value,
            "compose",
            &path,
            "point at the stack's compose file, e.g. `compose: stacks/app.yml`",
        )
        .and_then(|c| d.string(c, &format!("{path}.compose")));
        let env_file = value
            .get("env_file")
            .and_then(|e| d.opt_string(e, &format!("{path}.env_file")));
        if let (true, Some(compose)) = (name_ok, compose) {
            out.insert(
                name.to_owned(),
                StackRef {
                    compose: PathBuf::from(compose),
                    env_file: env_file.map(PathBuf::from),
                    declared_at: Some(key.span),
                    compose_at: value.get("compose").map(|n| n.span),
                    env_file_at: value.get("env_file").map(|n| n.span),
                },
            );
        }
    }
    out
}

fn decode_maintenance(node: &Node, d: &mut Decoder) -> Option<Maintenance> {
    d.mapping(node, "maintenance", MAINTENANCE_KEYS, false)?;
    let system_prune = node.get("system_prune").filter(|n| !n.is_null()).and_then(|n| {
        let p = "maintenance.system_prune";
        d.mapping(n, p, SYSTEM_PRUNE_KEYS, false)?;
        let schedule = required(d, n, "schedule", p, "set `schedule: daily` (or hourly, weekly)").and_then(|s| {
            enum_value(
                d,
                s,
                "maintenance.system_prune.schedule",
                &["hourly", "daily", "weekly"],
                |v| match v {
                    "hourly" => Some(Schedule::Hourly),
                    "daily" => Some(Schedule::Daily),
                    "weekly" => Some(Schedule::Weekly),
                    _ => None,
                },
            )
        });
        let at = match n.get("at") {
            None => Some("00:00".to_owned()),
            Some(a) => d.string(a, "maintenance.system_prune.at").and_then(|s| {
                names::check(d, a.span, "maintenance.system_prune.at", &s, &names::TIME_OF_DAY).then_some(s)
            }),
        };
        Some(SystemPrune {
            schedule: schedule?,
            at: at?,
        })
    });
    Some(Maintenance { system_prune })
}

fn decode_logging(node: &Node, d: &mut Decoder) -> Option<Logging> {
    d.mapping(node, "logging", LOGGING_KEYS, false)?;
    let cloudwatch = node.get("cloudwatch").filter(|n| !n.is_null()).and_then(|n| {
        let p = "logging.cloudwatch";
        d.mapping(n, p, CLOUDWATCH_KEYS, false)?;
        let group = required(
            d,
            n,
            "group",
            p,
            "name the CloudWatch log group, e.g. `group: cloud-logs`",
        )
        .and_then(|g| {
            let s = d.string(g, "logging.cloudwatch.group")?;
            names::check(d, g.span, "logging.cloudwatch.group", &s, &names::LOG_GROUP).then_some(s)
        });
        let retention_days = match n.get("retention_days") {
            None => Some(default_retention()),
            Some(r) => d.u64(r, "logging.cloudwatch.retention_days").and_then(|v| {
                let ok = u32::try_from(v).ok().filter(|v| CLOUDWATCH_RETENTION_DAYS.contains(v));
                if ok.is_none() {
                    let list: Vec<String> = CLOUDWATCH_RETENTION_DAYS.iter().map(u32::to_string).collect();
                    d.diags.error_help(
                        "invalid-value",
                        Some(r.span),
                        format!("`logging.cloudwatch.retention_days` is {v}, which CloudWatch does not accept"),
                        format!("use one of: {}", list.join(", ")),
                    );
                }
                ok
            }),
        };
        Some(CloudWatch {
            group: group?,
            retention_days: retention_days?,
        })
    });
    Some(Logging { cloudwatch })
}
