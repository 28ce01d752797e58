//! The keys each mapping of `swarmkeeper.yaml` accepts. The decoder
//! rejects any other; a test (`schema.rs`) keeps these lists and the JSON
//! Schema's properties identical.

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
    "registries",
    "notifications",
];
pub const CLUSTER_KEYS: &[&str] = &[
    "name",
    "region",
    "network",
    "managers",
    "workers",
    "replace_after",
    "max_unavailable",
    "controller",
    "ssh",
];
pub const CONTROLLER_KEYS: &[&str] = &["image", "git", "replicas"];
pub const CONTROLLER_GIT_KEYS: &[&str] = &["url", "branch", "path"];
pub const SSH_KEYS: &[&str] = &["user", "address", "allow_from"];
pub const NETWORK_KEYS: &[&str] = &["vpc", "subnets"];
pub const POOL_KEYS: &[&str] = &[
    "count",
    "instance_type",
    "ami",
    "ssh_key",
    "root_volume",
    "instance_profile",
];
pub const ROOT_VOLUME_KEYS: &[&str] = &["size_gb", "type"];
pub const VOLUME_KEYS: &[&str] = &[
    "type",
    "deletion_policy",
    "size_gb",
    "ebs_type",
    "iops",
    "throughput",
    "encrypted",
    "kms_key",
];
/// The keys of a cluster volume that only a relocatable (EBS) one takes.
pub const EBS_ONLY_VOLUME_KEYS: &[&str] = &["size_gb", "ebs_type", "iops", "throughput", "encrypted", "kms_key"];
pub const INGRESS_KEYS: &[&str] = &["type", "certificate", "allowed_cidrs"];
pub const ROUTE_KEYS: &[&str] = &["host", "path", "service", "port", "health_check"];
pub const HEALTH_CHECK_KEYS: &[&str] = &["path", "interval", "timeout", "matcher"];
pub const STACK_KEYS: &[&str] = &["compose", "env_file"];
pub const MAINTENANCE_KEYS: &[&str] = &["system_prune"];
pub const SYSTEM_PRUNE_KEYS: &[&str] = &["schedule", "at", "stagger", "volumes"];
pub const LOGGING_KEYS: &[&str] = &["cloudwatch"];
pub const REGISTRY_KEYS: &[&str] = &["username", "password", "ecr"];
pub const SECRET_SOURCE_KEYS: &[&str] = &["ssm", "file", "env"];
pub const NOTIFICATION_KEYS: &[&str] = &["type", "url", "events"];
pub const ECR_KEYS: &[&str] = &["account", "region"];
pub const CLOUDWATCH_KEYS: &[&str] = &["group", "retention_days"];
