//! Field-level differences between two values, as JSON paths
//! (`task.container.env.KEY`, `labels["a.b"]`): what an update step shows.
//! A utility: the swarm and the AWS diffs both use it.

use std::collections::BTreeSet;

use crate::action::FieldChange;
use crate::spec::ServiceSpec;

/// Field-level differences between two specs, as JSON paths.
pub fn field_changes(old: &ServiceSpec, new: &ServiceSpec) -> Vec<FieldChange> {
    let (Ok(old), Ok(new)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    json_diff("", &old, &new, &mut out);
    out
}

pub fn json_diff(path: &str, old: &serde_json::Value, new: &serde_json::Value, out: &mut Vec<FieldChange>) {
    use serde_json::Value as J;
    if old == new {
        return;
    }
    match (old, new) {
        (J::Object(a), J::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let child = child_path(path, k);
                json_diff(&child, a.get(k).unwrap_or(&J::Null), b.get(k).unwrap_or(&J::Null), out);
            }
        }
        _ => out.push(FieldChange {
            path: path.to_owned(),
            old: old.clone(),
            new: new.clone(),
        }),
    }
}

fn child_path(parent: &str, key: &str) -> String {
    let plain = key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (true, false) => format!("[{key:?}]"),
        (false, true) => format!("{parent}.{key}"),
        (false, false) => format!("{parent}[{key:?}]"),
    }
}
