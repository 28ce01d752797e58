//! Provider-neutral specs of the swarm objects swarmkeeper manages.
//!
//! They carry exactly what `docker stack deploy` sets, in normalised form
//! (sorted where swarm does not care about order, durations in nanoseconds,
//! engine defaults filled in), so that desired and observed specs compare
//! equal when nothing needs to change. Objects refer to each other by
//! name; providers translate names to ids.

use std::collections::BTreeMap;

use serde::Serialize;
use swarmkeeper_model::compose::Content;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceSpec {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub task: TaskSpec,
    pub mode: Mode,
    pub update_config: UpdateSpec,
    pub rollback_config: UpdateSpec,
    pub endpoint: EndpointSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskSpec {
    pub container: ContainerSpec,
    pub resources: ResourcesSpec,
    pub restart_policy: RestartPolicySpec,
    pub placement: PlacementSpec,
    /// Network attachments, sorted by network name.
    pub networks: Vec<NetworkAttachment>,
    pub log_driver: Option<LogDriverSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerSpec {
    /// The image as written (a digest the engine pinned is compared away).
    pub image: String,
    pub labels: BTreeMap<String, String>,
    /// Entrypoint (`ContainerSpec.Command`).
    pub command: Option<Vec<String>>,
    /// Command (`ContainerSpec.Args`).
    pub args: Option<Vec<String>>,
    pub hostname: Option<String>,
    /// `KEY=value` (or bare `KEY`), sorted.
    pub env: Vec<String>,
    pub dir: Option<String>,
    pub user: Option<String>,
    pub groups: Vec<String>,
    pub tty: bool,
    pub open_stdin: bool,
    pub read_only: bool,
    pub mounts: Vec<MountSpec>,
    pub stop_signal: Option<String>,
    pub stop_grace_period_ns: Option<i64>,
    pub healthcheck: Option<HealthcheckSpec>,
    /// `IP host` lines, in the order written.
    pub hosts: Vec<String>,
    pub dns: Option<DnsSpec>,
    pub secrets: Vec<FileRefSpec>,
    pub configs: Vec<FileRefSpec>,
    pub isolation: String,
    pub init: Option<bool>,
    pub sysctls: BTreeMap<String, String>,
    pub capability_add: Vec<String>,
    pub capability_drop: Vec<String>,
    /// name → (soft, hard), sorted by name.
    pub ulimits: BTreeMap<String, (i64, i64)>,
}

crate::closed_set::closed_set! {
    /// What a mount mounts, as the Engine API names it. The engine may add
    /// kinds (API 1.48 added `image`): one read back that this swarmkeeper
    /// does not know is kept as `Other`, and differs from every kind the
    /// desired state can ask for.
    pub enum MountKind("mount type", other Other) {
        Bind = "bind",
        Volume = "volume",
        Tmpfs = "tmpfs",
        Npipe = "npipe",
        Cluster = "cluster",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountSpec {
    pub kind: MountKind,
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub consistency: Option<String>,
    pub bind_propagation: Option<String>,
    pub volume_nocopy: bool,
    pub volume_labels: BTreeMap<String, String>,
    pub volume_driver: Option<String>,
    pub volume_driver_options: BTreeMap<String, String>,
    pub tmpfs_size: Option<i64>,
    pub tmpfs_mode: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthcheckSpec {
    pub test: Option<Vec<String>>,
    pub interval_ns: Option<i64>,
    pub timeout_ns: Option<i64>,
    pub start_period_ns: Option<i64>,
    pub retries: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsSpec {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

/// A config or secret mounted as a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRefSpec {
    /// The swarm object's name (`<stack>_<name>_<hash>`).
    pub name: String,
    pub target: String,
    pub uid: String,
    pub gid: String,
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ResourcesSpec {
    pub limit_nano_cpus: Option<i64>,
    pub limit_memory_bytes: Option<i64>,
    pub limit_pids: Option<i64>,
    pub reserve_nano_cpus: Option<i64>,
    pub reserve_memory_bytes: Option<i64>,
    pub reserve_generic: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestartPolicySpec {
    /// `none`, `on-failure` or `any`.
    pub condition: String,
    pub delay_ns: i64,
    pub max_attempts: u64,
    pub window_ns: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PlacementSpec {
    pub constraints: Vec<String>,
    /// Spread descriptors, in order.
    pub preferences: Vec<String>,
    pub max_replicas: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkAttachment {
    /// Network name (`<stack>_<name>` or an external network's name).
    pub target: String,
    /// Sorted; always includes the service's short name.
    pub aliases: Vec<String>,
    pub driver_opts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogDriverSpec {
    pub name: String,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum Mode {
    Replicated {
        replicas: u64,
    },
    Global,
    ReplicatedJob {
        max_concurrent: u64,
        total_completions: u64,
    },
    GlobalJob,
}

/// Engine defaults: what swarm stores when a field is not sent. Specs are
/// always compared and sent with these filled in, so "unset" and "set to
/// the default" are one state.
pub mod defaults {
    pub const RESTART_CONDITION: &str = "any";
    pub const RESTART_DELAY_NS: i64 = 5_000_000_000;
    pub const UPDATE_PARALLELISM: u64 = 1;
    pub const UPDATE_FAILURE_ACTION: &str = "pause";
    pub const UPDATE_MONITOR_NS: i64 = 5_000_000_000;
    pub const UPDATE_ORDER: &str = "stop-first";
    pub const ISOLATION: &str = "default";
    pub const ENDPOINT_MODE: &str = "vip";
    pub const FILE_MODE: u32 = 0o444;
}

impl Default for RestartPolicySpec {
    fn default() -> Self {
        Self {
            condition: defaults::RESTART_CONDITION.to_owned(),
            delay_ns: defaults::RESTART_DELAY_NS,
            max_attempts: 0,
            window_ns: 0,
        }
    }
}

impl Default for UpdateSpec {
    fn default() -> Self {
        Self {
            parallelism: defaults::UPDATE_PARALLELISM,
            delay_ns: 0,
            failure_action: defaults::UPDATE_FAILURE_ACTION.to_owned(),
            monitor_ns: defaults::UPDATE_MONITOR_NS,
            max_failure_ratio: 0.0,
            order: defaults::UPDATE_ORDER.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateSpec {
    pub parallelism: u64,
    pub delay_ns: i64,
    /// `continue`, `pause` or `rollback`.
    pub failure_action: String,
    pub monitor_ns: i64,
    pub max_failure_ratio: f64,
    /// `stop-first` or `start-first`.
    pub order: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointSpec {
    /// `vip` or `dnsrr`.
    pub mode: String,
    /// Sorted by (published, target, protocol).
    pub ports: Vec<PortSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PortSpec {
    pub published: u16,
    pub target: u16,
    pub protocol: String,
    /// `ingress` or `host`.
    pub publish_mode: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkSpec {
    pub name: String,
    pub driver: String,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub attachable: bool,
    pub internal: bool,
    pub ipam_driver: Option<String>,
    pub ipam_subnets: Vec<String>,
}

/// A config or secret revision. `content` never serialises or prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileObjectSpec {
    /// `<stack>_<name>_<suffix>` (see [`crate::revision_key`]).
    pub name: String,
    pub labels: BTreeMap<String, String>,
    #[serde(skip)]
    pub content: Content,
    pub template_driver: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Config,
    Secret,
}

impl FileKind {
    pub fn word(self) -> &'static str {
        match self {
            FileKind::Config => "config",
            FileKind::Secret => "secret",
        }
    }
}
