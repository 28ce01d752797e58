//! Label keys: docker's stack labels (so `docker stack ls/ps/services` see
//! our stacks) and swarmkeeper's ownership labels.
//!
//! Ownership labels go on ServiceSpec labels and on networks, configs and
//! secrets — never on container labels, whose change restarts every task.

/// docker's stack namespace label (`docker stack ls` groups by it).
pub const STACK_NAMESPACE: &str = "com.docker.stack.namespace";
/// docker's record of the image as written in the compose file.
pub const STACK_IMAGE: &str = "com.docker.stack.image";
/// Present (value `swarmkeeper`) on every object swarmkeeper owns.
pub const MANAGED_BY: &str = "io.swarmkeeper.managed-by";
pub const MANAGED_BY_VALUE: &str = "swarmkeeper";
/// The logical name of a config or secret (`<name>` in the compose file),
/// shared by all its content revisions.
pub const OBJECT_NAME: &str = "io.swarmkeeper.object";
/// On services: the desired-state revision (commit, or content digest of a
/// directory) that last changed the service. Volatile, so on ServiceSpec
/// labels only, and written only with a change that is made anyway.
pub const REVISION: &str = "io.swarmkeeper.revision";
/// On services whose registry hands out expiring tokens (ECR): when their
/// pull credentials were last sent (unix seconds). Bookkeeping, like
/// [`REVISION`]: it never causes an update itself, a renewal does.
pub const CREDENTIALS_SENT: &str = "io.swarmkeeper.credentials-sent";
/// Unsalted content hash that config and secret revisions carried before
/// keyed names: read (to keep such a revision while its content is
/// unchanged), never written.
pub const CONTENT_HASH: &str = "io.swarmkeeper.content-hash";
/// On a config or secret revision: the id of the revision key that named
/// it (see [`crate::revision_key`]). Also on the key's own config.
pub const REVISION_KEY: &str = "io.swarmkeeper.revision-key";

/// The desired state (its `name:`, else `cluster.name`) that owns the
/// object. Objects of another owner are never touched; managed objects
/// without it were made by a version before owners.
pub const OWNER: &str = "io.swarmkeeper.owner";

/// Who an observed object belongs to, from the point of view of `me`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership<'a> {
    /// Carries `me` as owner.
    Mine,
    /// swarmkeeper's, made before owners existed: no owner label.
    Legacy,
    /// swarmkeeper's, owned by another desired state.
    Other(&'a str),
    /// No swarmkeeper label at all.
    Unmanaged,
}

pub fn ownership<'a>(labels: &'a std::collections::BTreeMap<String, String>, me: &str) -> Ownership<'a> {
    if !is_managed(labels) {
        return Ownership::Unmanaged;
    }
    match labels.get(OWNER) {
        None => Ownership::Legacy,
        Some(o) if o == me => Ownership::Mine,
        Some(o) => Ownership::Other(o),
    }
}

pub fn is_managed(labels: &std::collections::BTreeMap<String, String>) -> bool {
    labels.get(MANAGED_BY).is_some_and(|v| v == MANAGED_BY_VALUE)
}
