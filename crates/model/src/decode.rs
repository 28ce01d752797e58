//! Typed reading of [`Node`] trees, collecting every error.
//!
//! Each `Decoder` method returns `Option<T>`: `None` means an error was
//! recorded and the caller should go on with the next field, so one load
//! reports all problems. Messages say what was expected and what was found.

use std::time::Duration;

use crate::diagnostic::Diagnostics;
use crate::source::Span;
use crate::syntax::duration::{format_duration, parse_duration};
use crate::syntax::keyword::Keyword;
use crate::yaml::{Node, Value, parse_bool};

/// The largest whole number a compose or desired-state field takes: the
/// engine's API holds signed 64-bit numbers.
pub const MAX_WHOLE: u64 = i64::MAX as u64;

pub struct Decoder<'d> {
    pub diags: &'d mut Diagnostics,
    /// Scalars decrypted from a SOPS-encrypted file: their values may be
    /// secrets written in the file (see `config::SecretSource::Sealed`).
    pub sealed: Vec<crate::source::Span>,
}

impl<'d> Decoder<'d> {
    pub fn new(diags: &'d mut Diagnostics) -> Self {
        Self {
            diags,
            sealed: Vec::new(),
        }
    }

    /// Whether `node` is a scalar decrypted from a SOPS-encrypted file.
    pub fn is_sealed(&self, node: &Node) -> bool {
        self.sealed.contains(&node.span)
    }

    pub fn expected(&mut self, node: &Node, what: &str, path: &str) {
        self.diags.error_help(
            "wrong-type",
            Some(node.span),
            format!("`{path}` must be {what}, found {}", node.kind()),
            format!("write `{path}` as {what}"),
        );
    }

    /// A mapping's entries, after checking every key against `known`.
    /// Keys starting with `x-` are extensions and always allowed when
    /// `allow_extensions` is set (compose files).
    pub fn mapping<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        known: &[&str],
        allow_extensions: bool,
    ) -> Option<&'n [(Node, Node)]> {
        let Some(entries) = node.as_map() else {
            self.expected(node, "a mapping", path);
            return None;
        };
        for (key, _) in entries {
            let Some(name) = key.as_scalar() else {
                self.diags.error(
                    "wrong-type",
                    Some(key.span),
                    format!("keys in `{path}` must be strings"),
                );
                continue;
            };
            if known.contains(&name) || (allow_extensions && name.starts_with("x-")) {
                continue;
            }
            self.unknown_key(key.span, name, path, known);
        }
        Some(entries)
    }

    pub fn unknown_key(&mut self, span: Span, name: &str, path: &str, known: &[&str]) {
        let help = match did_you_mean(name, known) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("expected one of: {}", known.join(", ")),
        };
        self.diags.error_help(
            "unknown-key",
            Some(span),
            format!("unknown key `{name}` in `{path}`"),
            help,
        );
    }

    /// A mapping whose keys are names chosen by the user (stacks, volumes…).
    pub fn named_entries<'n>(&mut self, node: &'n Node, path: &str) -> Vec<(&'n Node, &'n str, &'n Node)> {
        if node.is_null() {
            return Vec::new();
        }
        let Some(entries) = node.as_map() else {
            self.expected(node, "a mapping of names", path);
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|(k, v)| match k.as_scalar() {
                Some(name) => Some((k, name, v)),
                None => {
                    self.expected(k, "a string", path);
                    None
                }
            })
            .collect()
    }

    pub fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } if !node.is_null() => Some(text.clone()),
            _ => {
                self.expected(node, "a string", path);
                None
            }
        }
    }

    /// One word of a closed set ([`Keyword`]); any other is an error listing
    /// the accepted words (and the closest one, if it looks like a typo).
    pub fn keyword<T: Keyword>(&mut self, node: &Node, path: &str) -> Option<T> {
        let s = self.string(node, path)?;
        let parsed = T::parse(&s);
        if parsed.is_none() {
            let names = T::NAMES;
            let help = match did_you_mean(&s, names) {
                Some(m) => format!("did you mean `{m}`? (one of: {})", names.join(", ")),
                None => format!("use one of: {}", names.join(", ")),
            };
            self.diags.error_help(
                "invalid-value",
                Some(node.span),
                format!("`{path}`: `{s}` is not a valid value"),
                help,
            );
        }
        parsed
    }

    /// A string that may also be written as null (meaning "unset").
    pub fn opt_string(&mut self, node: &Node, path: &str) -> Option<String> {
        if node.is_null() {
            return None;
        }
        self.string(node, path)
    }

    /// A whole number from 0 to [`MAX_WHOLE`] (what the engine's API holds).
    pub fn u64(&mut self, node: &Node, path: &str) -> Option<u64> {
        self.whole(node, path, 0, MAX_WHOLE as i128, "a whole number (0 or more)")
            .and_then(|v| u64::try_from(v).ok())
    }

    /// A whole number in `min..=max`, as a `u32` (counts and sizes); a
    /// value outside the range is an error naming the range.
    pub fn u32_in(&mut self, node: &Node, path: &str, range: std::ops::RangeInclusive<u32>) -> Option<u32> {
        let v = self.whole(
            node,
            path,
            i128::from(*range.start()),
            i128::from(*range.end()),
            "a whole number (0 or more)",
        )?;
        u32::try_from(v).ok()
    }

    pub fn i64(&mut self, node: &Node, path: &str) -> Option<i64> {
        self.whole(node, path, i128::from(i64::MIN), i128::from(i64::MAX), "a whole number")
            .and_then(|v| i64::try_from(v).ok())
    }

    /// A whole number in `min..=max`. A number too large for any field is
    /// out of range, not of the wrong type: the message says which.
    fn whole(&mut self, node: &Node, path: &str, min: i128, max: i128, what: &str) -> Option<i128> {
        let text = node.as_scalar().map(str::trim).unwrap_or_default();
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        let is_integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !node.is_null();
        if !is_integer || (min >= 0 && text.starts_with('-')) {
            self.expected(node, what, path);
            return None;
        }
        // More digits than any i128 holds is out of range too.
        let value = text
            .parse::<i128>()
            .unwrap_or(if text.starts_with('-') { i128::MIN } else { i128::MAX });
        if value < min || value > max {
            let shown = if text.len() > 40 {
                format!("{}…", &text[..40])
            } else {
                text.to_owned()
            };
            self.diags.error_help(
                "out-of-range",
                Some(node.span),
                format!("`{path}` is {shown}, outside {min}..={max}"),
                format!("write `{path}` as a whole number from {min} to {max}"),
            );
            return None;
        }
        Some(value)
    }

    pub fn f64(&mut self, node: &Node, path: &str) -> Option<f64> {
        let parsed = node
            .as_scalar()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|f| f.is_finite());
        if parsed.is_none() {
            self.expected(node, "a number", path);
        }
        parsed
    }

    pub fn bool(&mut self, node: &Node, path: &str) -> Option<bool> {
        let parsed = node.as_scalar().and_then(parse_bool);
        if parsed.is_none() {
            self.expected(node, "true or false", path);
        }
        parsed
    }

    /// A duration of at least `min`; shorter is an error naming the key and
    /// why (`why`: what a shorter value would do).
    pub fn duration_at_least(&mut self, node: &Node, path: &str, min: Duration, why: &str) -> Option<Duration> {
        let d = self.duration(node, path)?;
        if d < min {
            let text = node.as_scalar().unwrap_or_default();
            self.diags.error_help(
                "duration-too-short",
                Some(node.span),
                format!(
                    "`{path}` is {text}, shorter than the minimum of {}",
                    format_duration(min)
                ),
                format!("use {} or more: {why}", format_duration(min)),
            );
            return None;
        }
        Some(d)
    }

    /// A duration within `min..=max` (limits set by AWS).
    pub fn duration_in(
        &mut self,
        node: &Node,
        path: &str,
        range: std::ops::RangeInclusive<Duration>,
    ) -> Option<Duration> {
        let (min, max) = (*range.start(), *range.end());
        let d = self.duration(node, path)?;
        if d < min || d > max {
            let text = node.as_scalar().unwrap_or_default();
            self.diags.error_help(
                "out-of-range",
                Some(node.span),
                format!(
                    "`{path}` is {text}, outside {}..={}",
                    format_duration(min),
                    format_duration(max)
                ),
                format!(
                    "use a duration from {} to {}",
                    format_duration(min),
                    format_duration(max)
                ),
            );
            return None;
        }
        Some(d)
    }

    pub fn duration(&mut self, node: &Node, path: &str) -> Option<Duration> {
        let Some(text) = node.as_scalar().filter(|_| !node.is_null()) else {
            self.expected(node, "a duration such as 30s, 5m or 1h", path);
            return None;
        };
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(why) => {
                self.diags.error_help(
                    "invalid-duration",
                    Some(node.span),
                    format!("`{path}`: `{text}` is not a duration: {why}"),
                    "write a duration such as 30s, 5m, 1h or 1m30s",
                );
                None
            }
        }
    }

    /// A list of strings; a single string is accepted when `allow_single`.
    pub fn string_list(&mut self, node: &Node, path: &str, allow_single: bool) -> Option<Vec<String>> {
        match &node.value {
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.string(item, path) {
                        Some(s) => out.push(s),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            Value::Scalar { text, .. } if allow_single && !node.is_null() => Some(vec![text.clone()]),
            _ => {
                self.expected(
                    node,
                    if allow_single {
                        "a string or a list of strings"
                    } else {
                        "a list of strings"
                    },
                    path,
                );
                None
            }
        }
    }

    /// `KEY: value` mapping or `["KEY=value", "KEY"]` list, as compose
    /// accepts for environment, labels and similar. A `None` value means the
    /// key was given without a value (`- KEY` or `KEY:` with null).
    pub fn key_values(&mut self, node: &Node, path: &str) -> Option<Vec<(String, Option<String>, Span)>> {
        match &node.value {
            Value::Map(entries) => {
                let mut out = Vec::new();
                for (k, v) in entries {
                    let Some(key) = self.string(k, path) else {
                        continue;
                    };
                    let value = match &v.value {
                        _ if v.is_null() => None,
                        Value::Scalar { text, .. } => Some(text.clone()),
                        _ => {
                            self.expected(v, "a string, number or boolean", &format!("{path}.{key}"));
                            continue;
                        }
                    };
                    out.push((key, value, k.span));
                }
                Some(out)
            }
            Value::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    let Some(text) = self.string(item, path) else {
                        continue;
                    };
                    match text.split_once('=') {
                        Some((k, v)) => out.push((k.to_owned(), Some(v.to_owned()), item.span)),
                        None => out.push((text, None, item.span)),
                    }
                }
                Some(out)
            }
            _ if node.is_null() => Some(Vec::new()),
            _ => {
                self.expected(node, "a mapping or a list of KEY=VALUE strings", path);
                None
            }
        }
    }
}

/// The closest known name, if it is close enough to be a typo.
pub fn did_you_mean<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let name_lower = name.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (levenshtein(&name_lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_outside_a_closed_set_names_the_accepted_words() {
        use crate::compose::BindPropagation;
        use crate::source::Sources;
        let mut sources = Sources::default();
        let id = sources.add("f.yml", "a: rshard\nb: slave\nc: upward\n".to_owned());
        let mut diags = Diagnostics::default();
        let root = crate::yaml::parse(id, sources.get(id), &mut diags).expect("parses");
        let mut d = Decoder::new(&mut diags);
        let get = |k: &str| root.get(k).expect("key present");
        assert_eq!(d.keyword::<BindPropagation>(get("a"), "a"), None);
        assert_eq!(d.keyword(get("b"), "b"), Some(BindPropagation::Slave));
        assert_eq!(d.keyword::<BindPropagation>(get("c"), "c"), None);
        let got: Vec<(String, Option<String>)> = diags.iter().map(|x| (x.message.clone(), x.help.clone())).collect();
        let all = "private, rprivate, shared, rshared, slave, rslave";
        assert_eq!(
            got,
            vec![
                (
                    "`a`: `rshard` is not a valid value".to_owned(),
                    Some(format!("did you mean `rshared`? (one of: {all})"))
                ),
                (
                    "`c`: `upward` is not a valid value".to_owned(),
                    Some(format!("use one of: {all}"))
                ),
            ]
        );
    }

    #[test]
    fn suggestions_catch_typos_only() {
        let known = ["replicas", "mode", "placement", "resources"];
        assert_eq!(did_you_mean("replica", &known), Some("replicas"));
        assert_eq!(did_you_mean("Mode", &known), Some("mode"));
        assert_eq!(did_you_mean("resorces", &known), Some("resources"));
        assert_eq!(did_you_mean("completely", &known), None);
    }
}
