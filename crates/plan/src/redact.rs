//! What plans never show: environment values of keys that look secret
//! (PASSWORD, TOKEN, KEY, … anywhere in the name, any case) and of keys a
//! service lists under `x-swarmkeeper-sensitive`. Plans are posted on pull
//! requests; values interpolated from the process environment or an env
//! file must not reach them. Only rendering redacts: the steps keep the
//! real specs, which the executor sends.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// What a redacted value reads as.
pub const SENSITIVE: &str = "(sensitive)";

/// Substrings (upper case) of environment keys whose values are secret.
pub const SECRET_MARKERS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "PWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIAL",
    "PRIVATE",
    "AUTH",
    "CERT",
    "SALT",
    "COOKIE",
    "SESSION",
    "SIGNATURE",
    "DSN",
];

/// The JSON path of a service's environment in specs and field changes.
pub const ENV_PATH: &str = "task.container.env";

/// Whether the name of an environment key looks secret.
pub fn looks_secret(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|m| upper.contains(m))
}

/// Redacts the environment of the services of one plan.
pub struct Redactor<'a> {
    /// Service → keys listed under `x-swarmkeeper-sensitive`.
    pub listed: &'a BTreeMap<String, BTreeSet<String>>,
}

impl Redactor<'_> {
    pub fn is_sensitive(&self, service: &str, key: &str) -> bool {
        looks_secret(key) || self.listed.get(service).is_some_and(|keys| keys.contains(key))
    }

    /// `KEY=value` → `KEY=(sensitive)` when the key is sensitive; a bare
    /// `KEY` has no value to hide.
    pub fn entry(&self, service: &str, entry: &str) -> String {
        match entry.split_once('=') {
            Some((key, _)) if self.is_sensitive(service, key) => format!("{key}={SENSITIVE}"),
            _ => entry.to_owned(),
        }
    }

    /// An environment array (JSON) with sensitive values replaced.
    pub fn env(&self, service: &str, env: &Value) -> Value {
        match env {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| match v.as_str() {
                        Some(s) => Value::String(self.entry(service, s)),
                        None => v.clone(),
                    })
                    .collect(),
            ),
            // Never expected; nothing of an unknown shape is shown.
            Value::Null => Value::Null,
            _ => Value::String(SENSITIVE.to_owned()),
        }
    }

    /// How the environment changed, key by key: `+KEY=v`, `-KEY=v`,
    /// `KEY: "old" → "new"`, and `KEY (sensitive) changed` with neither value.
    pub fn env_changes(&self, service: &str, old: &Value, new: &Value) -> Vec<String> {
        let (old, new) = (env_map(old), env_map(new));
        let keys: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
        let mut out = Vec::new();
        for key in keys {
            let secret = self.is_sensitive(service, key);
            let show = |v: &Option<&str>| match v {
                _ if secret => SENSITIVE.to_owned(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            let entry = |v: &Option<&str>| match v {
                Some(_) => format!("{key}={}", show(v)),
                None => key.to_owned(),
            };
            match (old.get(key), new.get(key)) {
                (None, Some(v)) => out.push(format!("+{}", entry(v))),
                (Some(v), None) => out.push(format!("-{}", entry(v))),
                (Some(a), Some(b)) if a != b => {
                    if secret {
                        out.push(format!("{key} {SENSITIVE} changed"));
                    } else {
                        let value = |v: &Option<&str>| v.map_or("(no value)".to_owned(), |v| format!("{v:?}"));
                        out.push(format!("{key}: {} → {}", value(a), value(b)));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Keys whose sensitive value changed (for JSON: the change is said,
    /// neither value is).
    pub fn changed_keys(&self, service: &str, old: &Value, new: &Value) -> Vec<String> {
        let (old, new) = (env_map(old), env_map(new));
        old.iter()
            .filter(|(k, v)| new.get(*k).is_some_and(|n| n != *v) && self.is_sensitive(service, k))
            .map(|(k, _)| (*k).to_owned())
            .collect()
    }
}

/// `KEY=value` entries by key (`None` for a bare `KEY`).
fn env_map(env: &Value) -> BTreeMap<&str, Option<&str>> {
    env.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (e, None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_keys_in_any_case() {
        for key in [
            "DB_PASSWORD",
            "db_passwd",
            "Api_Key",
            "GITHUB_TOKEN",
            "aws_secret_access_key",
            "X_AUTH",
        ] {
            assert!(looks_secret(key), "{key}");
        }
        for key in ["PORT", "LANG", "TZ", "NEXTCLOUD_TRUSTED_DOMAINS"] {
            assert!(!looks_secret(key), "{key}");
        }
    }
}
