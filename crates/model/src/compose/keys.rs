//! The keys compose files may hold, split into what swarm deploys and what
//! it ignores (reported as warnings, never dropped silently).

pub const TOP: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "configs", "secrets",
];

pub const SERVICE: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "labels",
    "deploy",
    "ports",
    "networks",
    "volumes",
    "configs",
    "secrets",
    "healthcheck",
    "user",
    "working_dir",
    "hostname",
    "stop_grace_period",
    "stop_signal",
    "logging",
    "cap_add",
    "cap_drop",
    "sysctls",
    "ulimits",
    "init",
    "tmpfs",
    "extra_hosts",
    "dns",
    "dns_search",
    "dns_opt",
    "read_only",
    "tty",
    "stdin_open",
    "isolation",
    "group_add",
    "restart",
];

/// `x-swarmkeeper-image`.
pub const IMAGE_POLICY: &[&str] = &["resolve", "follow"];

/// Service keys compose accepts that `docker stack deploy` does not apply to
/// a swarm service, with why — each one gets a warning.
pub const SERVICE_IGNORED: &[(&str, &str)] = &[
    ("build", "swarm deploys images only; build and push the image first"),
    ("container_name", "swarm names tasks itself"),
    (
        "depends_on",
        "swarm starts services independently; use healthchecks and retries",
    ),
    ("links", "services reach each other by name on shared networks"),
    ("external_links", "services reach each other by name on shared networks"),
    ("network_mode", "swarm services attach to networks with `networks:`"),
    ("cgroup_parent", "not supported by swarm services"),
    ("cgroupns_mode", "not supported by swarm services"),
    ("devices", "not supported by swarm services"),
    ("domainname", "not supported by swarm services"),
    ("ipc", "not supported by swarm services"),
    ("pid", "not supported by swarm services"),
    ("mac_address", "not supported by swarm services"),
    ("privileged", "swarm services cannot run privileged"),
    ("security_opt", "not supported by swarm services"),
    (
        "shm_size",
        "not supported by swarm services; mount a tmpfs at /dev/shm instead",
    ),
    ("userns_mode", "not supported by swarm services"),
    (
        "expose",
        "informational only; swarm services reach each other on all ports",
    ),
    ("profiles", "profiles are a `docker compose` feature"),
    ("pull_policy", "swarm pulls images itself"),
    ("platform", "use a placement constraint on `node.platform.arch`"),
    ("scale", "use `deploy.replicas`"),
    ("mem_limit", "use `deploy.resources.limits.memory`"),
    ("memswap_limit", "not supported by swarm services"),
    ("mem_reservation", "use `deploy.resources.reservations.memory`"),
    ("cpus", "use `deploy.resources.limits.cpus`"),
    ("cpu_shares", "use `deploy.resources`"),
    ("cpu_quota", "use `deploy.resources`"),
    ("cpuset", "not supported by swarm services"),
    ("oom_score_adj", "not supported by swarm services"),
    ("oom_kill_disable", "not supported by swarm services"),
    ("volumes_from", "not supported by swarm services"),
    ("credential_spec", "Windows only; not supported by swarmkeeper"),
    ("stop_timeout", "use `stop_grace_period`"),
];

pub const DEPLOY: &[&str] = &[
    "mode",
    "replicas",
    "labels",
    "placement",
    "resources",
    "restart_policy",
    "update_config",
    "rollback_config",
    "endpoint_mode",
];
pub const PLACEMENT: &[&str] = &["constraints", "preferences", "max_replicas_per_node"];
pub const PREFERENCE: &[&str] = &["spread"];
pub const RESOURCES: &[&str] = &["limits", "reservations"];
pub const LIMITS: &[&str] = &["cpus", "memory", "pids"];
pub const RESERVATIONS: &[&str] = &["cpus", "memory", "generic_resources", "devices"];
pub const RESTART_POLICY: &[&str] = &["condition", "delay", "max_attempts", "window"];
pub const UPDATE_CONFIG: &[&str] = &[
    "parallelism",
    "delay",
    "failure_action",
    "monitor",
    "max_failure_ratio",
    "order",
];
pub const PORT: &[&str] = &[
    "target",
    "published",
    "protocol",
    "mode",
    "host_ip",
    "name",
    "app_protocol",
];
pub const SERVICE_NETWORK: &[&str] = &["aliases", "ipv4_address", "ipv6_address", "driver_opts", "priority"];
pub const MOUNT: &[&str] = &[
    "type",
    "source",
    "target",
    "read_only",
    "consistency",
    "bind",
    "volume",
    "tmpfs",
];
pub const MOUNT_BIND: &[&str] = &["propagation", "create_host_path", "selinux"];
pub const MOUNT_VOLUME: &[&str] = &["nocopy", "subpath"];
pub const MOUNT_TMPFS: &[&str] = &["size", "mode"];
pub const FILE_REFERENCE: &[&str] = &["source", "target", "uid", "gid", "mode"];
pub const HEALTHCHECK: &[&str] = &[
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "start_interval",
    "disable",
];
pub const LOGGING: &[&str] = &["driver", "options"];
pub const ULIMIT: &[&str] = &["soft", "hard"];
pub const NETWORK_DEF: &[&str] = &[
    "driver",
    "driver_opts",
    "attachable",
    "internal",
    "labels",
    "external",
    "name",
    "ipam",
    "enable_ipv6",
];
pub const IPAM: &[&str] = &["driver", "config", "options"];
pub const IPAM_CONFIG: &[&str] = &["subnet", "ip_range", "gateway", "aux_addresses"];
pub const VOLUME_DEF: &[&str] = &["driver", "driver_opts", "labels", "external", "name"];
pub const EXTERNAL: &[&str] = &["name"];
pub const CONFIG_DEF: &[&str] = &[
    "file",
    "content",
    "external",
    "name",
    "labels",
    "template_driver",
    "environment",
];
pub const SECRET_DEF: &[&str] = &[
    "file",
    "external",
    "name",
    "labels",
    "template_driver",
    "environment",
    "driver",
    "driver_opts",
];

/// `x-swarmkeeper` on a config or secret: its bytes from an AWS store.
pub const FILE_SOURCE: &[&str] = &["source", "version_id", "version_stage"];
