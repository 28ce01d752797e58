//! Typed compose file, limited to what swarm deploys, in the shape that
//! `docker stack deploy` reads (compose format 3.x and the compose spec).
//!
//! Values are already interpolated and normalised (short forms expanded,
//! env files merged into `environment`, sizes in bytes, durations typed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::source::Span;
use crate::syntax::keyword::keywords;

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ComposeFile {
    pub services: BTreeMap<String, Service>,
    pub networks: BTreeMap<String, NetworkDef>,
    pub volumes: BTreeMap<String, VolumeDef>,
    pub configs: BTreeMap<String, FileObjectDef>,
    pub secrets: BTreeMap<String, FileObjectDef>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Service {
    pub image: String,
    /// `command`, split like a shell would when written as a string.
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// Merged from `env_file` then `environment`; `None` = `KEY` without value.
    pub environment: BTreeMap<String, Option<String>>,
    /// Environment keys whose values plans must never show
    /// (`x-swarmkeeper-sensitive: [KEY, ...]`), beside the keys that look
    /// secret by name.
    pub sensitive_env: BTreeSet<String>,
    /// Container labels (`labels:`); service labels are `deploy.labels`.
    pub labels: BTreeMap<String, String>,
    pub deploy: Deploy,
    pub ports: Vec<Port>,
    /// Network name (as in the compose file) → attachment options.
    pub networks: BTreeMap<String, ServiceNetwork>,
    pub volumes: Vec<Mount>,
    pub configs: Vec<FileReference>,
    pub secrets: Vec<FileReference>,
    pub healthcheck: Option<Healthcheck>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub hostname: Option<String>,
    pub stop_grace_period: Option<Duration>,
    pub stop_signal: Option<String>,
    pub logging: Option<Logging>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub sysctls: BTreeMap<String, String>,
    pub ulimits: BTreeMap<String, Ulimit>,
    pub init: Option<bool>,
    pub tmpfs: Vec<String>,
    pub extra_hosts: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_opt: Vec<String>,
    pub read_only: bool,
    pub tty: bool,
    pub stdin_open: bool,
    pub isolation: Option<String>,
    pub group_add: Vec<String>,
    /// `restart:` (`no`, `always`, `unless-stopped`, `on-failure[:N]`):
    /// docker stack deploy uses it when `deploy.restart_policy` is absent.
    pub restart: Option<RestartPolicy>,
    /// How the image's tag is pinned to a digest
    /// (`x-swarmkeeper-image: {resolve, follow}`).
    pub image_policy: ImagePolicy,
    #[serde(skip)]
    pub declared_at: Option<Span>,
}

keywords! {
    /// `x-swarmkeeper-image.resolve`: when a tag is looked up in its
    /// registry and the service pinned to the digest it names.
    #[derive(Default)]
    pub enum ImageResolve {
        /// When the service is created or its image changes in the desired
        /// state (docker stack deploy's `--resolve-image changed`).
        #[default]
        Changed = "changed",
        /// Never: the tag is sent as written, each node pulls it itself.
        Never = "never",
    }
}

/// A service's image policy: pinning (by default, when the image changes)
/// and whether a resync follows the tag to a new digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ImagePolicy {
    pub resolve: ImageResolve,
    /// `follow: true`: every resync looks the tag up again, and a moved tag
    /// rolls the service to the new digest (image update automation).
    pub follow: bool,
}

keywords! {
    /// `deploy.mode`.
    #[derive(Default)]
    pub enum ServiceMode {
        #[default]
        Replicated = "replicated",
        Global = "global",
        ReplicatedJob = "replicated-job",
        GlobalJob = "global-job",
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Deploy {
    pub mode: ServiceMode,
    /// `None`: not written (swarm's default of 1 for replicated services).
    pub replicas: Option<u64>,
    pub labels: BTreeMap<String, String>,
    pub placement: Placement,
    pub resources: Resources,
    pub restart_policy: Option<RestartPolicy>,
    pub update_config: Option<UpdateConfig>,
    pub rollback_config: Option<UpdateConfig>,
    pub endpoint_mode: Option<EndpointMode>,
}

keywords! {
    /// `deploy.endpoint_mode`.
    pub enum EndpointMode {
        Vip = "vip",
        Dnsrr = "dnsrr",
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Placement {
    pub constraints: Vec<String>,
    /// `spread` descriptors, in order.
    pub preferences: Vec<String>,
    pub max_replicas_per_node: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Resources {
    pub limits: ResourceLimits,
    pub reservations: ResourceLimits,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ResourceLimits {
    /// CPUs in billionths (`cpus: "0.5"` → 500_000_000), as swarm stores them.
    pub nano_cpus: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub pids: Option<i64>,
    /// `generic_resources` (reservations only): kind → count.
    pub generic_resources: Vec<(String, i64)>,
}

keywords! {
    /// `deploy.restart_policy.condition`.
    pub enum RestartCondition {
        None = "none",
        OnFailure = "on-failure",
        Any = "any",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestartPolicy {
    pub condition: Option<RestartCondition>,
    pub delay: Option<Duration>,
    pub max_attempts: Option<u64>,
    pub window: Option<Duration>,
}

keywords! {
    /// `failure_action` of `deploy.update_config` and `rollback_config`.
    pub enum FailureAction {
        Continue = "continue",
        Rollback = "rollback",
        Pause = "pause",
    }
}

keywords! {
    /// `order` of `deploy.update_config` and `rollback_config`.
    pub enum UpdateOrder {
        StartFirst = "start-first",
        StopFirst = "stop-first",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateConfig {
    pub parallelism: Option<u64>,
    pub delay: Option<Duration>,
    pub failure_action: Option<FailureAction>,
    pub monitor: Option<Duration>,
    pub max_failure_ratio: Option<f64>,
    pub order: Option<UpdateOrder>,
}

keywords! {
    /// A port's `protocol`.
    pub enum Protocol {
        Tcp = "tcp",
        Udp = "udp",
        Sctp = "sctp",
    }
}

keywords! {
    /// A port's `mode`.
    pub enum PublishMode {
        Ingress = "ingress",
        Host = "host",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    pub target: u16,
    pub published: Option<u16>,
    pub protocol: Protocol,
    pub mode: PublishMode,
    #[serde(skip)]
    pub declared_at: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ServiceNetwork {
    pub aliases: Vec<String>,
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip)]
    pub declared_at: Option<Span>,
}

keywords! {
    /// A mount's `type`.
    pub enum MountType {
        Bind = "bind",
        Volume = "volume",
        Tmpfs = "tmpfs",
        Npipe = "npipe",
        Cluster = "cluster",
    }
}

keywords! {
    /// A bind mount's `bind.propagation` (or a short-syntax option).
    pub enum BindPropagation {
        Private = "private",
        Rprivate = "rprivate",
        Shared = "shared",
        Rshared = "rshared",
        Slave = "slave",
        Rslave = "rslave",
    }
}

keywords! {
    /// A mount's `consistency` (Docker Desktop; swarm ignores it). `default`
    /// is the engine's word for none given.
    pub enum Consistency {
        Default = "default",
        Consistent = "consistent",
        Cached = "cached",
        Delegated = "delegated",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mount {
    pub kind: MountType,
    /// Volume name, host path, or `None` for anonymous volumes and tmpfs.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub consistency: Option<Consistency>,
    pub bind_propagation: Option<BindPropagation>,
    pub bind_create_host_path: Option<bool>,
    pub volume_nocopy: bool,
    pub tmpfs_size: Option<i64>,
    pub tmpfs_mode: Option<u32>,
    #[serde(skip)]
    pub declared_at: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileReference {
    /// Name as declared under top-level `configs:`/`secrets:`.
    pub source: String,
    pub target: Option<String>,
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub mode: Option<u32>,
    #[serde(skip)]
    pub declared_at: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Healthcheck {
    /// `["NONE"]` when disabled, else `["CMD", …]` or `["CMD-SHELL", cmd]`.
    pub test: Option<Vec<String>>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u64>,
    pub disable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Logging {
    pub driver: Option<String>,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct NetworkDef {
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub attachable: bool,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    /// External: the network exists already, under this name.
    pub external_name: Option<String>,
    /// Explicit `name:`, used instead of `<stack>_<key>`.
    pub name: Option<String>,
    pub ipam_driver: Option<String>,
    pub ipam_subnets: Vec<String>,
    #[serde(skip)]
    pub declared_at: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct VolumeDef {
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub external_name: Option<String>,
    pub name: Option<String>,
    #[serde(skip)]
    pub declared_at: Option<Span>,
}

/// A top-level config or secret.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FileObjectDef {
    /// Path relative to the desired-state directory.
    pub file: Option<PathBuf>,
    /// The bytes swarm will hold, read from `file` or given as `content:`.
    #[serde(skip)]
    pub content: Option<Content>,
    pub external_name: Option<String>,
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub template_driver: Option<String>,
    /// Where the bytes come from instead of a file (`x-swarmkeeper.source`):
    /// read from AWS when planning, so `content` is `None` after loading.
    pub source: Option<ValueSource>,
    #[serde(skip)]
    pub declared_at: Option<Span>,
}

/// An AWS store holding a config's or secret's bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ValueSource {
    /// An SSM parameter by name (a SecureString is decrypted).
    Ssm { name: String },
    /// A Secrets Manager secret by name or ARN, at a version id or a
    /// staging label (neither: `AWSCURRENT`).
    SecretsManager {
        id: String,
        version_id: Option<String>,
        version_stage: Option<String>,
    },
}

impl std::fmt::Display for ValueSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueSource::Ssm { name } => write!(f, "SSM parameter {name}"),
            ValueSource::SecretsManager {
                id,
                version_id,
                version_stage,
            } => {
                write!(f, "Secrets Manager secret {id}")?;
                match (version_id, version_stage) {
                    (Some(v), _) => write!(f, " (version {v})"),
                    (None, Some(s)) => write!(f, " (stage {s})"),
                    (None, None) => Ok(()),
                }
            }
        }
    }
}

/// Bytes of a config or secret. Its `Debug` never shows them: secret values
/// must not reach plans, logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Content(pub Vec<u8>);

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Content({} bytes)", self.0.len())
    }
}
