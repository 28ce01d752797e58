//! The names of the AWS resources a cluster owns, derived from the cluster's
//! name: the desired state makes them, the node lifecycle and the diff read
//! them back. Vocabulary only.

use sha2::{Digest, Sha256};

/// The SSM path under which a cluster's parameters live.
pub fn ssm_prefix(cluster: &str) -> String {
    format!("/swarmkeeper/{cluster}")
}

/// The parameter holding the compact status whoever applies writes.
pub fn status_parameter(cluster: &str) -> String {
    format!("{}/status", ssm_prefix(cluster))
}

/// The marker `swarmkeeper destroy` writes first and deletes last: while
/// it exists nothing is applied to the cluster.
pub fn destroying_parameter(cluster: &str) -> String {
    format!("{}/destroying", ssm_prefix(cluster))
}

/// Where the id of the cluster's swarm is recorded (see [`crate::identity`]).
pub fn swarm_id_parameter(cluster: &str) -> String {
    format!("{}/swarm-id", ssm_prefix(cluster))
}

pub fn nodes_group(cluster: &str) -> String {
    format!("{cluster}-nodes")
}

/// The managers' own group: TCP 22 from `cluster.ssh.allow_from`, made
/// only when that list is not empty.
pub fn ssh_group(cluster: &str) -> String {
    format!("{cluster}-ssh")
}

pub fn efs_group(cluster: &str) -> String {
    format!("{cluster}-efs")
}

pub fn lb_group(cluster: &str) -> String {
    format!("{cluster}-lb")
}

/// Target group names are at most 32 characters: a prefix of the cluster
/// name and a hash of what it routes to.
pub fn target_group_name(cluster: &str, route: &str) -> String {
    let digest = Sha256::digest(route.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let prefix: String = cluster.chars().take(20).collect();
    format!("{}-{hash}", prefix.trim_end_matches('-'))
}

/// The DNS name nodes mount an EFS file system by.
pub fn efs_dns(file_system_id: &str, region: &str) -> String {
    format!("{file_system_id}.efs.{region}.amazonaws.com")
}

/// Short hash of a launch template's user data: plans show it instead of
/// the script, and observation computes it from what AWS holds.
pub fn user_data_hash(user_data: &str) -> String {
    let digest = Sha256::digest(user_data.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// `managers` or `workers` of a group named `<cluster>-<pool>`.
pub fn removed_pool_name<'a>(cluster: &str, group: &'a str) -> &'a str {
    group
        .strip_prefix(cluster)
        .and_then(|rest| rest.strip_prefix('-'))
        .unwrap_or(group)
}
