//! Configs and secrets: the top-level `configs:`/`secrets:` definitions
//! (a file inside the desired-state directory, inline content, or
//! external) and a service's references to them (target, uid, gid, mode).

use super::{FileAccess, decode_external, string_map};
use crate::compose::keys;
use crate::compose::types::*;
use crate::decode::Decoder;
use crate::source::Span;
use crate::syntax::file_mode::{MAX_FILE_MODE, parse_file_mode};
use crate::yaml::{Node, Value};

pub(super) fn decode_file_object(
    name: &str,
    at: Span,
    node: &Node,
    section: &str,
    known: &[&str],
    d: &mut Decoder,
    files: &mut dyn FileAccess,
) -> Option<FileObjectDef> {
    let p = format!("{section}.{name}");
    d.mapping(node, &p, known, true)?;
    let (external, ext_name) = decode_external(node, name, &p, d);
    let mut def = FileObjectDef {
        labels: node
            .get("labels")
            .map(|n| string_map(n, &format!("{p}.labels"), d))
            .unwrap_or_default(),
        template_driver: node
            .get("template_driver")
            .and_then(|n| d.opt_string(n, &format!("{p}.template_driver"))),
        declared_at: Some(at),
        ..FileObjectDef::default()
    };
    let source = node
        .get("x-swarmkeeper")
        .and_then(|x| decode_source(x, &format!("{p}.x-swarmkeeper"), d));
    if external {
        if let Some(x) = node.get("x-swarmkeeper").filter(|_| source.is_some()) {
            d.diags.error_help(
                "conflicting-keys",
                Some(x.span),
                format!("`{p}` is `external` and also names an `x-swarmkeeper.source`"),
                "keep one: `external: true` for an object made by hand, or `x-swarmkeeper.source` for one swarmkeeper reads from AWS",
            );
        }
        def.external_name = ext_name;
        return Some(def);
    }
    def.name = ext_name;
    // An `x-swarmkeeper` that failed to decode was reported above: a
    // missing `file` beside it would only repeat it.
    if source.is_none() && node.get("x-swarmkeeper").is_some() {
        return Some(def);
    }
    if let Some(source) = source {
        for key in ["file", "content", "environment"] {
            if let Some(n) = node.get(key) {
                d.diags.error_help(
                    "conflicting-keys",
                    Some(n.span),
                    format!("`{p}` has both `{key}` and `x-swarmkeeper.source`"),
                    "keep one source of the bytes: the file, or the AWS reference",
                );
            }
        }
        def.source = Some(source);
        return Some(def);
    }
    if let Some(f) = node.get("file") {
        let file = d.string(f, &format!("{p}.file"))?;
        if let Some((path, bytes)) = files.read_file(&file, f.span, &format!("{p}.file"), d) {
            def.file = Some(path);
            def.content = Some(Content(bytes));
        }
    } else if let Some(c) = node.get("content") {
        def.content = d.string(c, &format!("{p}.content")).map(|s| Content(s.into_bytes()));
    } else if let Some(e) = node.get("environment") {
        d.diags.error_help(
            "unsupported",
            Some(e.span),
            format!("`{p}.environment` is not supported by swarmkeeper"),
            "put the value in a file and use `file:`",
        );
    } else {
        d.diags.error_help(
            "missing-key",
            Some(at),
            format!("`{p}` has no `file` and is not `external`"),
            "point at the content with `file: ./path` or declare `external: true`",
        );
    }
    Some(def)
}

pub(super) fn decode_file_refs(node: &Node, p: &str, d: &mut Decoder) -> Vec<FileReference> {
    let Some(items) = node.as_seq() else {
        if !node.is_null() {
            d.expected(node, "a list", p);
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            Value::Scalar { text, .. } => out.push(FileReference {
                source: text.clone(),
                target: None,
                uid: None,
                gid: None,
                mode: None,
                declared_at: Some(item.span),
            }),
            Value::Map(_) => {
                if d.mapping(item, p, keys::FILE_REFERENCE, true).is_none() {
                    continue;
                }
                let Some(source) = item.get("source").and_then(|s| d.string(s, &format!("{p}.source"))) else {
                    if item.get("source").is_none() {
                        d.diags.error_help(
                            "missing-key",
                            Some(item.span),
                            format!("an entry in `{p}` has no `source`"),
                            "name the config or secret with `source:`",
                        );
                    }
                    continue;
                };
                let mode = item.get("mode").and_then(|m| file_mode(m, &format!("{p}.mode"), d));
                out.push(FileReference {
                    source,
                    target: item.get("target").and_then(|n| d.opt_string(n, &format!("{p}.target"))),
                    uid: item.get("uid").and_then(|n| d.opt_string(n, &format!("{p}.uid"))),
                    gid: item.get("gid").and_then(|n| d.opt_string(n, &format!("{p}.gid"))),
                    mode,
                    declared_at: Some(item.span),
                });
            }
            _ => d.expected(item, "a name or a mapping with `source`", p),
        }
    }
    out
}

/// File modes: YAML octal `0440`/`0o440` or a decimal number, as compose reads them.
fn file_mode(node: &Node, p: &str, d: &mut Decoder) -> Option<u32> {
    let text = node.as_scalar().unwrap_or_default().trim();
    let parsed = parse_file_mode(text);
    match parsed {
        None => d.expected(node, "a file mode such as 0440", p),
        Some(mode) if mode > MAX_FILE_MODE => {
            d.diags.error_help(
                "out-of-range",
                Some(node.span),
                format!("`{p}` is {text}, more than the largest file mode 07777"),
                "write a file mode such as 0440",
            );
            return None;
        }
        Some(_) => {}
    }
    parsed
}

/// `x-swarmkeeper: {source: ssm:/path | secretsmanager:name-or-arn,
/// version_id, version_stage}`.
fn decode_source(node: &Node, p: &str, d: &mut Decoder) -> Option<ValueSource> {
    d.mapping(node, p, keys::FILE_SOURCE, false)?;
    let Some(s) = node.get("source") else {
        d.diags.error_help(
            "missing-key",
            Some(node.span),
            format!("`{p}` has no `source`"),
            "name the value: `source: ssm:/path/to/parameter` or `source: secretsmanager:name-or-arn`",
        );
        return None;
    };
    let text = d.string(s, &format!("{p}.source"))?;
    let version_id = node
        .get("version_id")
        .and_then(|n| d.opt_string(n, &format!("{p}.version_id")));
    let version_stage = node
        .get("version_stage")
        .and_then(|n| d.opt_string(n, &format!("{p}.version_stage")));
    if let Some(name) = text.strip_prefix("ssm:") {
        if !name.starts_with('/') || name.len() < 2 || name.contains(char::is_whitespace) {
            d.diags.error_help(
                "invalid-value",
                Some(s.span),
                format!("`{p}.source`: `{name}` is not an SSM parameter name"),
                "write the full path: `ssm:/team/app/db-password`",
            );
            return None;
        }
        for (key, v) in [("version_id", &version_id), ("version_stage", &version_stage)] {
            if v.is_some() {
                let at = node.get(key).map(|n| n.span);
                d.diags.error_help(
                    "invalid-key",
                    at,
                    format!("`{p}.{key}` applies to Secrets Manager, not to an SSM parameter"),
                    "remove it; an SSM parameter is read at its latest version",
                );
            }
        }
        return Some(ValueSource::Ssm { name: name.to_owned() });
    }
    if let Some(id) = text.strip_prefix("secretsmanager:") {
        if id.is_empty() || id.contains(char::is_whitespace) {
            d.diags.error_help(
                "invalid-value",
                Some(s.span),
                format!("`{p}.source`: `{id}` is not a secret name or ARN"),
                "write `secretsmanager:team/app/db-password` or the secret's ARN",
            );
            return None;
        }
        if version_id.is_some() && version_stage.is_some() {
            d.diags.error_help(
                "conflicting-keys",
                node.get("version_stage").map(|n| n.span),
                format!("`{p}` names both `version_id` and `version_stage`"),
                "keep one: a version id pins one version; a stage (AWSCURRENT, AWSPREVIOUS, or yours) follows it",
            );
        }
        return Some(ValueSource::SecretsManager {
            id: id.to_owned(),
            version_id,
            version_stage,
        });
    }
    d.diags.error_help(
        "invalid-value",
        Some(s.span),
        format!("`{p}.source`: `{text}` names no store swarmkeeper reads"),
        "write `ssm:/path/to/parameter` (SSM Parameter Store) or `secretsmanager:name-or-arn` (Secrets Manager)",
    );
    None
}
