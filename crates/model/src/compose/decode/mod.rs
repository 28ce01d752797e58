//! Compose YAML (already interpolated) → [`ComposeFile`], collecting every
//! error and warning with its position.
//!
//! This module reads the top level and dispatches each section to its
//! decoder: `service` (one service's keys, with `deploy`, `ports`,
//! `mounts`, `healthcheck` and the attachments of `networks` and
//! `files`), `networks`, `volumes` and `files` (configs and
//! secrets). It also holds the helpers the sections share (`external`,
//! string maps, sizes). Short syntaxes are parsed by [`crate::syntax`];
//! whether every name a service uses is declared is checked afterwards by
//! [`super::references`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::keys;
use super::types::*;
use crate::decode::Decoder;
use crate::source::Span;
use crate::syntax::names;
use crate::syntax::size::parse_bytes;
use crate::yaml::{Node, Value};

mod deploy;
mod files;
mod healthcheck;
mod mounts;
mod networks;
mod ports;
mod service;
mod volumes;

/// What decoding needs from the loader: reading env files and recording
/// files that must exist. Paths are as written, relative to the compose file.
/// The variables of an env file; `sensitive` when it was SOPS-encrypted
/// (its values are then shown as `(sensitive)` in plans).
#[derive(Default)]
pub struct EnvFileVars {
    pub vars: Vec<(String, String)>,
    pub sensitive: bool,
}

impl std::fmt::Debug for EnvFileVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.vars.iter().map(|(k, _)| k.as_str()).collect();
        write!(f, "EnvFileVars({keys:?}, sensitive: {})", self.sensitive)
    }
}

pub trait FileAccess {
    /// Variables of a service `env_file`, or `None` after reporting why not.
    fn read_env_file(&mut self, path: &str, span: Span, d: &mut Decoder) -> Option<EnvFileVars>;
    /// Read a referenced file that must lie inside the desired-state
    /// directory; returns its path relative to that directory and its bytes
    /// (decrypted, for a SOPS-encrypted file).
    fn read_file(&mut self, path: &str, span: Span, what: &str, d: &mut Decoder) -> Option<(PathBuf, Vec<u8>)>;
}

pub fn decode_compose(root: &Node, d: &mut Decoder, files: &mut dyn FileAccess) -> Option<ComposeFile> {
    let entries = d.mapping(root, "compose file", keys::TOP, true)?;
    let mut out = ComposeFile::default();
    for (key, value) in entries {
        match key.as_scalar().unwrap_or_default() {
            "version" | "name" => {}
            "services" => {
                for (k, name, v) in d.named_entries(value, "services") {
                    if names::check(d, k.span, "service name", name, &names::SERVICE_NAME)
                        && let Some(svc) = service::decode_service(name, k.span, v, d, files)
                    {
                        out.services.insert(name.to_owned(), svc);
                    }
                }
            }
            "networks" => {
                for (k, name, v) in d.named_entries(value, "networks") {
                    if let Some(n) = networks::decode_network_def(name, k.span, v, d) {
                        out.networks.insert(name.to_owned(), n);
                    }
                }
            }
            "volumes" => {
                for (k, name, v) in d.named_entries(value, "volumes") {
                    if let Some(n) = volumes::decode_volume_def(name, k.span, v, d) {
                        out.volumes.insert(name.to_owned(), n);
                    }
                }
            }
            "configs" => {
                for (k, name, v) in d.named_entries(value, "configs") {
                    if let Some(n) = files::decode_file_object(name, k.span, v, "configs", keys::CONFIG_DEF, d, files) {
                        out.configs.insert(name.to_owned(), n);
                    }
                }
            }
            "secrets" => {
                for (k, name, v) in d.named_entries(value, "secrets") {
                    if let Some(n) = files::decode_file_object(name, k.span, v, "secrets", keys::SECRET_DEF, d, files) {
                        out.secrets.insert(name.to_owned(), n);
                    }
                }
            }
            _ => {} // x- extensions
        }
    }
    match root.get("services") {
        None => d.diags.error_help(
            "missing-key",
            Some(root.span),
            "this compose file declares no `services`",
            "add a `services:` section with at least one service",
        ),
        // Null or `{}`: the stack would run nothing, and its services would
        // be pruned. Removing a stack is done by removing it from `stacks:`.
        Some(s) if s.is_null() || s.as_map().is_some_and(<[(Node, Node)]>::is_empty) => d.diags.error_help(
            "empty-services",
            Some(s.span),
            "`services` is empty: this stack would run nothing",
            "declare at least one service; to remove the stack on purpose, delete it from `stacks:` in swarmkeeper.yaml",
        ),
        Some(_) => {}
    }
    super::references::check_references(&out, d.diags);
    Some(out)
}

/// A mapping or `KEY=VALUE` list whose values must all be set.
pub(super) fn string_map(v: &Node, p: &str, d: &mut Decoder) -> BTreeMap<String, String> {
    d.key_values(v, p)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v, _)| (k, v.unwrap_or_default()))
        .collect()
}

pub(super) fn memory_bytes(node: &Node, p: &str, d: &mut Decoder) -> Option<i64> {
    let parsed = node.as_scalar().and_then(parse_bytes);
    if parsed.is_none() {
        d.diags.error_help(
            "invalid-value",
            Some(node.span),
            format!("`{p}` is not a size, found {}", node.kind()),
            "write a size such as 512M, 1G or a number of bytes",
        );
    }
    parsed
}

/// `external: true`, `external: {name: x}` (legacy), plus the `name:` key.
pub(super) fn decode_external(node: &Node, name: &str, p: &str, d: &mut Decoder) -> (bool, Option<String>) {
    let explicit = node.get("name").and_then(|n| d.opt_string(n, &format!("{p}.name")));
    let Some(ext) = node.get("external") else {
        return (false, explicit);
    };
    let external = match &ext.value {
        Value::Map(_) => {
            if d.mapping(ext, &format!("{p}.external"), keys::EXTERNAL, false)
                .is_some()
                && let Some(n) = ext.get("name").and_then(|n| d.string(n, &format!("{p}.external.name")))
            {
                return (true, Some(n));
            }
            true
        }
        _ => d.bool(ext, &format!("{p}.external")).unwrap_or(false),
    };
    (external, explicit.or_else(|| external.then(|| name.to_owned())))
}
