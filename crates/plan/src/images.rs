//! Images pinned to digests, as `docker stack deploy --resolve-image`
//! pins them: which tags to look up in their registries ([`lookups`]), and
//! the image each desired service is sent with once they are known
//! ([`pin`]). Pure: the lookups themselves are the swarm provider's.
//!
//! Rules, per service (its `x-swarmkeeper-image` policy):
//! - an image written with a digest is sent as written, never looked up;
//! - `resolve: never` sends the tag as written;
//! - by default (`resolve: changed`) a tag is looked up when the service is
//!   created or its image changes in the desired state, and the service is
//!   pinned to `tag@digest`; an unchanged image keeps the image the service
//!   runs (pinned or not), so a resync never re-resolves and never rolls a
//!   moved tag: zero writes stays zero;
//! - `follow: true` looks the tag up on every plan: a tag that moved rolls
//!   the service to the new digest, and the plan says so;
//! - a registry that cannot be reached never blocks the plan: the service
//!   keeps its current image (or, new, gets the tag), with a warning;
//! - a registry that refuses the credentials, or does not have the tag, is
//!   an error naming the registry: creating or rolling a service to an
//!   image no node can pull would only break it.

use std::collections::{BTreeMap, BTreeSet};

use swarmkeeper_model::compose::{ImagePolicy, ImageResolve};
use swarmkeeper_model::image::ImageRef;

use crate::action::Action;
use crate::convert::DesiredSwarm;
use crate::observed::ObservedSwarm;
use crate::plan::Plan;

/// How old the pull credentials stored with a service may get before
/// fresh ones are sent, for registries whose tokens expire (ECR's last 12
/// hours): half their life, so a task rescheduled at any hour can pull.
pub const CREDENTIALS_RENEW_AFTER_SECS: u64 = 6 * 3600;

/// Whether credentials sent at `sent` (the service's
/// [`crate::labels::CREDENTIALS_SENT`] label) are due for renewal at `now`.
pub fn credentials_due(sent: Option<&str>, now: u64) -> bool {
    match sent.and_then(|s| s.parse::<u64>().ok()) {
        Some(sent) => now.saturating_sub(sent) >= CREDENTIALS_RENEW_AFTER_SECS || sent > now,
        None => true,
    }
}

/// What a registry said of one tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The digest the tag names now (`sha256:…`).
    Digest(String),
    /// The registry refused the credentials (or asked for some).
    Denied(String),
    /// The registry answered that the repository or tag does not exist.
    NotFound(String),
    /// No answer: network, timeout, a registry error.
    Unreachable(String),
}

/// Image (as sent, without a digest) → what its registry said.
pub type Lookups = BTreeMap<String, Lookup>;

/// A followed tag that moved: the service rolls from one digest to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub service: String,
    pub image: String,
    /// The digest the service runs now (`None`: it runs the bare tag).
    pub from: Option<String>,
    pub to: String,
}

/// What pinning found, for the plan ([`annotate`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pinned {
    pub warnings: Vec<String>,
    pub moved: Vec<Moved>,
}

/// The image a service runs now, split into tag and digest.
fn running<'a>(observed: &'a ObservedSwarm, service: &str) -> Option<(&'a str, Option<&'a str>)> {
    let spec = &observed.services.iter().find(|s| s.spec.name == service)?.spec;
    let image = spec.task.container.image.as_str();
    Some(match image.split_once('@') {
        Some((tag, digest)) => (tag, Some(digest)),
        None => (image, None),
    })
}

/// Whether a service's image needs a registry lookup in this plan, and if
/// so which image.
fn wanted<'a>(policy: ImagePolicy, image: &'a str, running: Option<(&str, Option<&str>)>) -> Option<&'a str> {
    if image.contains('@') || policy.resolve == ImageResolve::Never {
        return None;
    }
    let unchanged = running.is_some_and(|(tag, _)| tag == image);
    (policy.follow || !unchanged).then_some(image)
}

/// The images to look up before planning: each at most once.
pub fn lookups(desired: &DesiredSwarm, observed: &ObservedSwarm) -> BTreeSet<String> {
    desired
        .services
        .iter()
        .filter_map(|(name, spec)| {
            wanted(
                desired.policy(name),
                &spec.task.container.image,
                running(observed, name),
            )
            .map(str::to_owned)
        })
        .collect()
}

/// The registry an image comes from, as users write it (`docker.io` for
/// Docker Hub).
pub fn registry_of(image: &str) -> String {
    ImageRef::parse(image).map_or_else(|_| "docker.io".to_owned(), |r| r.domain)
}

/// Sets each desired service's image from the lookups (see the module's
/// rules). Errors (one per service) when a registry refused the
/// credentials or lacks the tag: the plan must not be acted on.
pub fn pin(desired: &mut DesiredSwarm, observed: &ObservedSwarm, found: &Lookups) -> Result<Pinned, Vec<String>> {
    let mut pinned = Pinned::default();
    let mut errors = Vec::new();
    let names: Vec<String> = desired.services.keys().cloned().collect();
    for name in names {
        let policy = desired.policy(&name);
        let Some(spec) = desired.services.get_mut(&name) else {
            continue;
        };
        let image = spec.task.container.image.clone();
        if image.contains('@') || policy.resolve == ImageResolve::Never {
            continue;
        }
        let now = running(observed, &name);
        let unchanged = now.is_some_and(|(tag, _)| tag == image);
        let current = now.map(|(tag, digest)| match digest {
            Some(d) => format!("{tag}@{d}"),
            None => tag.to_owned(),
        });
        if unchanged && !policy.follow {
            // The desired image did not change: keep what runs.
            if let Some(current) = current {
                spec.task.container.image = current;
            }
            continue;
        }
        let registry = registry_of(&image);
        match found.get(&image) {
            Some(Lookup::Digest(digest)) => {
                if unchanged
                    && let Some((_, from)) = now
                    && from != Some(digest.as_str())
                {
                    pinned.moved.push(Moved {
                        service: name.clone(),
                        image: image.clone(),
                        from: from.map(str::to_owned),
                        to: digest.clone(),
                    });
                }
                spec.task.container.image = format!("{image}@{digest}");
            }
            Some(Lookup::Denied(why)) => errors.push(format!(
                "service `{name}`: registry {registry} refused access to `{image}` ({why}): \
                 log in to it (docker login {registry}) or fix its credentials, then plan again"
            )),
            Some(Lookup::NotFound(why)) => errors.push(format!(
                "service `{name}`: registry {registry} has no image `{image}` ({why}): \
                 push it, or fix the image's name or tag"
            )),
            Some(Lookup::Unreachable(why)) => {
                let keeps = match (&current, unchanged) {
                    (Some(current), true) => {
                        spec.task.container.image = current.clone();
                        format!("the service keeps `{current}`")
                    }
                    _ => "it is sent as the tag, and each node pulls the tag itself (nodes may run different images)"
                        .to_owned(),
                };
                pinned.warnings.push(format!(
                    "service `{name}`: image `{image}` could not be resolved to a digest ({why}): {keeps}"
                ));
            }
            None => pinned.warnings.push(format!(
                "service `{name}`: image `{image}` was not looked up: it is sent as the tag"
            )),
        }
    }
    if errors.is_empty() { Ok(pinned) } else { Err(errors) }
}

/// Writes what pinning found into the plan: its warnings, and on the update
/// of each service whose followed tag moved, a note saying so.
pub fn annotate(plan: &mut Plan, pinned: &Pinned) {
    plan.warnings.extend(pinned.warnings.iter().cloned());
    for moved in &pinned.moved {
        let note = format!(
            "follows `{}`: the tag moved from {} to {}",
            moved.image,
            moved.from.as_deref().map_or("an unpinned image", short_digest),
            short_digest(&moved.to)
        );
        for step in &mut plan.steps {
            if let Action::UpdateService { spec, notes, .. } = &mut step.action
                && spec.name == moved.service
            {
                notes.push(note.clone());
            }
        }
    }
}

/// `sha256:0123456789ab` (12 hex digits, as docker shows image ids).
pub fn short_digest(digest: &str) -> &str {
    let end = digest.find(':').map_or(12, |colon| colon + 13);
    digest.get(..end).unwrap_or(digest)
}
