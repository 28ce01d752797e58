//! How a text plan shows what differs inside a value: a list element by
//! element (added, removed, changed with the sub-fields that changed), and
//! a long value elided away from the part that differs, never across it.
//! A utility of the renderer: pure, on JSON values.

use serde_json::Value;

use crate::action::FieldChange;
use crate::json_diff::json_diff;

/// Lists longer than this (either side) are compared by position only.
const MAX_MATCHED: usize = 256;

/// Fields that name a list element (a mount by its target, a secret by
/// its name…), in the order they are tried.
const IDENTITY: &[&str] = &[
    "target",
    "name",
    "secret_name",
    "config_name",
    "target_port",
    "path",
    "key",
];

/// One element's difference between two lists.
#[derive(Debug, Clone, PartialEq)]
pub enum ElementChange {
    /// At `index` of the new list.
    Added { index: usize, value: Value },
    /// At `index` of the old list.
    Removed { index: usize, value: Value },
    /// The element at `index` of the new list, named by `identity` when it
    /// has one, with the sub-fields that changed (paths relative to it).
    Changed {
        index: usize,
        identity: Option<String>,
        fields: Vec<FieldChange>,
    },
}

/// The element changes that turn `old` into `new`: equal elements are
/// matched in order (longest common subsequence); among the rest, an old
/// and a new element with the same identity (a mount's target…), or the
/// only two left between two matched ones, are one changed element. Shown
/// in that order: removed (by old index), changed, added (by new index).
pub fn diff_lists(old: &[Value], new: &[Value]) -> Vec<ElementChange> {
    let pairs = matched(old, new);
    let mut old_left: Vec<bool> = vec![true; old.len()];
    let mut new_left: Vec<bool> = vec![true; new.len()];
    for &(i, j) in &pairs {
        old_left[i] = false;
        new_left[j] = false;
    }
    let mut changed: Vec<(usize, usize)> = Vec::new();
    // The same element by identity, wherever it moved.
    for i in 0..old.len() {
        let Some(id) = old_left[i].then(|| identity(&old[i])).flatten() else {
            continue;
        };
        if let Some(j) = (0..new.len()).find(|&j| new_left[j] && identity(&new[j]).as_ref() == Some(&id)) {
            old_left[i] = false;
            new_left[j] = false;
            changed.push((i, j));
        }
    }
    // The one element left on each side between two matched ones.
    let mut bounds = vec![(0usize, 0usize)];
    bounds.extend(pairs.iter().map(|&(i, j)| (i + 1, j + 1)));
    let ends: Vec<(usize, usize)> = pairs
        .iter()
        .copied()
        .chain(std::iter::once((old.len(), new.len())))
        .collect();
    for (&(oi, nj), &(oe, ne)) in bounds.iter().zip(&ends) {
        let olds: Vec<usize> = (oi..oe).filter(|&i| old_left[i]).collect();
        let news: Vec<usize> = (nj..ne).filter(|&j| new_left[j]).collect();
        if let ([i], [j]) = (olds.as_slice(), news.as_slice())
            && same_shape(&old[*i], &new[*j])
        {
            old_left[*i] = false;
            new_left[*j] = false;
            changed.push((*i, *j));
        }
    }
    changed.sort_by_key(|&(_, j)| j);
    let mut out: Vec<ElementChange> = (0..old.len())
        .filter(|&i| old_left[i])
        .map(|i| ElementChange::Removed {
            index: i,
            value: old[i].clone(),
        })
        .collect();
    for (i, j) in changed {
        let mut fields = Vec::new();
        json_diff("", &old[i], &new[j], &mut fields);
        out.push(ElementChange::Changed {
            index: j,
            identity: identity(&new[j]),
            fields,
        });
    }
    out.extend((0..new.len()).filter(|&j| new_left[j]).map(|j| ElementChange::Added {
        index: j,
        value: new[j].clone(),
    }));
    out
}

/// Indices of equal elements, in order: a longest common subsequence.
fn matched(old: &[Value], new: &[Value]) -> Vec<(usize, usize)> {
    if old.len() > MAX_MATCHED || new.len() > MAX_MATCHED {
        return (0..old.len().min(new.len()))
            .filter(|&k| old[k] == new[k])
            .map(|k| (k, k))
            .collect();
    }
    // lcs[i][j]: the longest common subsequence of old[i..] and new[j..].
    let mut lcs = vec![vec![0u16; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < old.len() && j < new.len() {
        if old[i] == new[j] {
            out.push((i, j));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Both objects, or both strings, numbers…: one element changed rather
/// than one removed and another added.
fn same_shape(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b) && !a.is_array()
}

/// An element as a plan line shows it: without its unset fields (null,
/// false, empty), which say nothing and push what matters out of sight.
pub fn compact(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), compact(v)))
                .filter(|(_, v)| !unset(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(compact).collect()),
        other => other.clone(),
    }
}

fn unset(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `target=/data`: the first identity field an element has.
fn identity(v: &Value) -> Option<String> {
    let map = v.as_object()?;
    IDENTITY.iter().find_map(|k| {
        let value = map.get(*k)?;
        let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
        Some(format!("{k}={shown}"))
    })
}

/// Two values shown side by side in at most about `max` characters each:
/// what they share at the start and the end is cut down to a little
/// context around the part that differs, so the difference always shows.
pub fn elide_pair(old: &str, new: &str, max: usize) -> (String, String) {
    let (a, b): (Vec<char>, Vec<char>) = (old.chars().collect(), new.chars().collect());
    if a.len() <= max && b.len() <= max {
        return (old.to_owned(), new.to_owned());
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let room = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    let context = max / 6;
    let show = |s: &[char]| {
        let mut out = String::new();
        let start = prefix.saturating_sub(context);
        if start > 0 {
            out.push('…');
        }
        out.extend(&s[start..prefix]);
        let middle = &s[prefix..s.len() - suffix];
        let budget = max.saturating_sub(2 * context).max(8);
        if middle.len() > budget {
            out.extend(&middle[..budget / 2]);
            out.push('…');
            out.extend(&middle[middle.len() - budget / 2..]);
        } else {
            out.extend(middle);
        }
        let end = (s.len() - suffix + context).min(s.len());
        out.extend(&s[s.len() - suffix..end]);
        if end < s.len() {
            out.push('…');
        }
        out
    };
    (show(&a), show(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mount(target: &str, source: &str) -> Value {
        json!({ "kind": "volume", "source": source, "target": target, "read_only": false })
    }

    #[test]
    fn one_changed_mount_among_equal_ones_is_shown_with_its_field() {
        let old = vec![mount("/a", "a"), mount("/b", "b"), mount("/c", "c")];
        let new = vec![mount("/a", "a"), mount("/b", "b2"), mount("/c", "c")];
        assert_eq!(
            diff_lists(&old, &new),
            vec![ElementChange::Changed {
                index: 1,
                identity: Some("target=/b".into()),
                fields: vec![FieldChange {
                    path: "source".into(),
                    old: json!("b"),
                    new: json!("b2")
                }],
            }]
        );
    }

    /// Table: old, new → what is shown.
    #[test]
    fn added_removed_and_moved_elements() {
        let cases: Vec<(Vec<Value>, Vec<Value>, Vec<&str>)> = vec![
            (
                vec![json!("x"), json!("y")],
                vec![json!("x"), json!("y"), json!("z")],
                vec!["+2"],
            ),
            (
                vec![json!("x"), json!("y"), json!("z")],
                vec![json!("x"), json!("z")],
                vec!["-1"],
            ),
            (vec![json!("x")], vec![json!("y")], vec!["~0 "]),
            (vec![json!("x")], vec![json!(1)], vec!["-0", "+0"]),
            (
                vec![mount("/a", "a"), mount("/b", "b")],
                vec![mount("/b", "b"), mount("/a", "a2")],
                vec!["~1 target=/a"],
            ),
            (
                vec![mount("/a", "a")],
                vec![mount("/a", "a"), mount("/n", "n")],
                vec!["+1"],
            ),
            (vec![mount("/a", "a")], vec![mount("/z", "z")], vec!["~0 target=/z"]),
            (
                vec![mount("/a", "a"), mount("/b", "b")],
                vec![mount("/y", "y"), mount("/z", "z")],
                vec!["-0", "-1", "+0", "+1"],
            ),
        ];
        for (old, new, want) in cases {
            let got: Vec<String> = diff_lists(&old, &new)
                .iter()
                .map(|c| match c {
                    ElementChange::Added { index, .. } => format!("+{index}"),
                    ElementChange::Removed { index, .. } => format!("-{index}"),
                    ElementChange::Changed { index, identity, .. } => {
                        format!("~{index} {}", identity.clone().unwrap_or_default())
                    }
                })
                .collect();
            assert_eq!(got, want, "{old:?} → {new:?}");
        }
    }

    #[test]
    fn long_values_are_cut_away_from_the_difference() {
        let common = "x".repeat(300);
        let old = format!("{common}OLD{common}");
        let new = format!("{common}NEW{common}");
        let (a, b) = elide_pair(&old, &new, 60);
        assert!(a.contains("OLD") && b.contains("NEW"), "{a} / {b}");
        assert!(a.starts_with('…') && a.ends_with('…'), "{a}");
        assert!(a.chars().count() < 60, "{a}");
        // Short values are left alone.
        assert_eq!(elide_pair("a", "b", 60), ("a".into(), "b".into()));
        // A difference at the very end still shows.
        let (a, b) = elide_pair(&format!("{common}1"), &format!("{common}2"), 60);
        assert!(a.ends_with('1') && b.ends_with('2'), "{a} / {b}");
    }
}
