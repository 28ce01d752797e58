//! Revisions named before keyed names: a desired config or secret whose
//! content equals that of a live revision named the old way (unsalted
//! SHA-256, recorded in its `io.swarmkeeper.content-hash` label) keeps
//! that revision's name, so upgrading swarmkeeper rolls no service whose
//! content did not change. The next change of content gets a keyed name;
//! the old revision is then pruned like any unused one.
//!
//! What decides is in labels the old revision already carries (its object
//! and the unsalted hash it was named with): the engine never returns
//! secret data, and nothing new about the content is written anywhere.

use std::collections::BTreeMap;

use crate::convert::DesiredSwarm;
use crate::labels::{self, Ownership, ownership};
use crate::observed::ObservedSwarm;
use crate::revision_key::legacy_suffix;
use crate::spec::FileKind;

/// `desired` with each config and secret that has a live old-style revision
/// of the same object and content renamed to it (and the services' references
/// with it). Returns how many were kept.
pub fn keep_legacy_names(desired: &mut DesiredSwarm, observed: &ObservedSwarm) -> usize {
    let me = desired.owner.clone();
    let mut renames: BTreeMap<(FileKind, String), String> = BTreeMap::new();
    for ((kind, name), spec) in &desired.files {
        if observed.files.iter().any(|o| o.kind == *kind && &o.name == name) {
            continue;
        }
        let Some(object) = spec.labels.get(labels::OBJECT_NAME) else {
            continue;
        };
        let hash = legacy_suffix(&spec.content);
        let old = observed
            .files
            .iter()
            .filter(|o| o.kind == *kind)
            .filter(|o| matches!(ownership(&o.labels, &me), Ownership::Mine | Ownership::Legacy))
            .filter(|o| !o.labels.contains_key(labels::REVISION_KEY))
            .filter(|o| o.labels.get(labels::OBJECT_NAME) == Some(object))
            .filter(|o| o.labels.get(labels::CONTENT_HASH) == Some(&hash))
            // The name says the same: `<object>_<hash>`.
            .filter(|o| o.name == format!("{object}_{hash}"))
            .max_by_key(|o| o.version);
        if let Some(old) = old {
            renames.insert((*kind, name.clone()), old.name.clone());
        }
    }
    for ((kind, new), old) in &renames {
        if let Some(mut spec) = desired.files.remove(&(*kind, new.clone())) {
            spec.name = old.clone();
            desired.files.insert((*kind, old.clone()), spec);
        }
    }
    if renames.is_empty() {
        return 0;
    }
    for service in desired.services.values_mut() {
        let c = &mut service.task.container;
        for (kind, refs) in [(FileKind::Secret, &mut c.secrets), (FileKind::Config, &mut c.configs)] {
            for r in refs.iter_mut() {
                if let Some(old) = renames.get(&(kind, r.name.clone())) {
                    r.name = old.clone();
                }
            }
            // Sorted by swarm name, as they are sent.
            refs.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
    renames.len()
}
