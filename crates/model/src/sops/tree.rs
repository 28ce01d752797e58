//! The four file forms sops writes, read into one ordered tree (order is
//! what the MAC is computed in) with the `sops` metadata apart, and the
//! decrypted tree written back out in the file's form.

use std::collections::BTreeMap;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{AgeKey, Decrypted, KmsKey, MasterKeys, SopsError};
use crate::diagnostic::Diagnostics;
use crate::source::Sources;
use crate::yaml::{self, Node, Parsed};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    /// Any other file: `{"data": "<the whole file>", "sops": …}`.
    Binary,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    Bytes(Vec<u8>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Map(Vec<(String, Value)>),
    Seq(Vec<Value>),
    Scalar(Scalar),
    Null,
}

/// The `sops` metadata that decryption needs.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub keys: MasterKeys,
    pub lastmodified: String,
    pub mac: String,
    pub mac_only_encrypted: bool,
    unencrypted_suffix: Option<String>,
    encrypted_suffix: Option<String>,
    unencrypted_regex: Option<regex::Regex>,
    encrypted_regex: Option<regex::Regex>,
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub root: Value,
    pub meta: Meta,
}

impl Meta {
    /// sops.go's `shouldBeEncrypted` (the comment regexes are refused at parse).
    pub fn should_encrypt(&self, path: &[String]) -> bool {
        let mut encrypted = true;
        if let Some(s) = &self.unencrypted_suffix
            && path.iter().any(|p| p.ends_with(s.as_str()))
        {
            encrypted = false;
        }
        if let Some(s) = &self.encrypted_suffix {
            encrypted = path.iter().any(|p| p.ends_with(s.as_str()));
        }
        if let Some(r) = &self.unencrypted_regex
            && path.iter().any(|p| r.is_match(p))
        {
            encrypted = false;
        }
        if let Some(r) = &self.encrypted_regex {
            encrypted = path.iter().any(|p| r.is_match(p));
        }
        encrypted
    }
}

impl Format {
    /// The form sops gives a file of this name.
    pub fn of(path: &str) -> Format {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else if lower.ends_with(".json") {
            Format::Json
        } else if lower.ends_with(".env") {
            Format::Dotenv
        } else {
            Format::Binary
        }
    }

    /// A quick look: does the file carry sops metadata with a MAC?
    pub fn is_encrypted(self, bytes: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return false;
        };
        match self {
            Format::Dotenv => text.lines().any(|l| l.starts_with("sops_mac=")),
            Format::Yaml => text.lines().any(|l| l == "sops:") && text.contains("mac:"),
            Format::Json | Format::Binary => {
                let t = text.trim_start();
                t.starts_with('{') && t.contains("\"sops\"") && t.contains("\"mac\"")
            }
        }
    }

    pub fn parse(self, bytes: &[u8]) -> Result<Tree, SopsError> {
        let text = std::str::from_utf8(bytes).map_err(|_| SopsError::Format("not UTF-8 text".into()))?;
        let mut root = match self {
            Format::Yaml => parse_yaml(text)?,
            Format::Json | Format::Binary => {
                let mut de = serde_json::Deserializer::from_str(text);
                let v = Value::deserialize(&mut de).map_err(|e| SopsError::Format(format!("not valid JSON: {e}")))?;
                de.end()
                    .map_err(|e| SopsError::Format(format!("not valid JSON: {e}")))?;
                v
            }
            Format::Dotenv => return parse_dotenv(text),
        };
        let Value::Map(entries) = &mut root else {
            return Err(SopsError::Format("the top level is not a mapping".into()));
        };
        let at = entries
            .iter()
            .position(|(k, _)| k == "sops")
            .ok_or_else(|| SopsError::Format("no `sops` metadata".into()))?;
        let (_, meta) = entries.remove(at);
        if self == Format::Binary && (entries.len() != 1 || entries[0].0 != "data") {
            return Err(SopsError::Format(
                "a binary SOPS file holds `data` and `sops` only".into(),
            ));
        }
        Ok(Tree {
            root,
            meta: meta_from(&meta)?,
        })
    }

    /// The decrypted tree in this form (as `sops decrypt` would give it,
    /// up to layout).
    pub fn emit(self, tree: &Tree) -> Decrypted {
        let entries: &[(String, Value)] = match &tree.root {
            Value::Map(e) => e,
            _ => &[],
        };
        match self {
            Format::Binary => Decrypted {
                content: match entries.first().map(|(_, v)| v) {
                    Some(Value::Scalar(Scalar::Str(s))) => s.clone().into_bytes(),
                    Some(Value::Scalar(Scalar::Bytes(b))) => b.clone(),
                    _ => Vec::new(),
                },
                pairs: Vec::new(),
            },
            Format::Dotenv => {
                let mut content = String::new();
                let mut pairs = Vec::new();
                for (k, v) in entries {
                    let v = match v {
                        Value::Scalar(s) => scalar_text(s),
                        _ => String::new(),
                    };
                    content.push_str(&format!("{k}={}\n", v.replace('\n', "\\n")));
                    pairs.push((k.clone(), v));
                }
                Decrypted {
                    content: content.into_bytes(),
                    pairs,
                }
            }
            Format::Json => {
                let mut out = String::new();
                json(&tree.root, &mut out);
                out.push('\n');
                Decrypted {
                    content: out.into_bytes(),
                    pairs: Vec::new(),
                }
            }
            Format::Yaml => {
                let mut out = String::new();
                yaml_block(&tree.root, 0, &mut out);
                Decrypted {
                    content: out.into_bytes(),
                    pairs: Vec::new(),
                }
            }
        }
    }
}

pub(super) fn scalar_text(s: &Scalar) -> String {
    match s {
        Scalar::Str(s) => s.clone(),
        Scalar::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => super::format_float(*f),
        Scalar::Bool(b) => b.to_string(),
    }
}

fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn json(v: &Value, out: &mut String) {
    match v {
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&quoted(k));
                out.push(':');
                json(v, out);
            }
            out.push('}');
        }
        Value::Seq(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(v, out);
            }
            out.push(']');
        }
        Value::Null => out.push_str("null"),
        Value::Scalar(Scalar::Str(s)) => out.push_str(&quoted(s)),
        Value::Scalar(Scalar::Bytes(b)) => out.push_str(&quoted(&String::from_utf8_lossy(b))),
        Value::Scalar(s) => out.push_str(&scalar_text(s)),
    }
}

/// Block YAML, strings double-quoted (JSON's escapes are YAML's).
fn yaml_block(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Map(entries) if !entries.is_empty() => {
            for (k, v) in entries {
                out.push_str(&format!("{pad}{}:", quoted(k)));
                yaml_child(v, indent, out);
            }
        }
        Value::Seq(items) if !items.is_empty() => {
            for v in items {
                out.push_str(&format!("{pad}-"));
                yaml_child(v, indent, out);
            }
        }
        other => {
            out.push_str(&pad);
            yaml_inline(other, out);
            out.push('\n');
        }
    }
}

fn yaml_child(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Map(e) if !e.is_empty() => {
            out.push('\n');
            yaml_block(v, indent + 2, out);
        }
        Value::Seq(i) if !i.is_empty() => {
            out.push('\n');
            yaml_block(v, indent + 2, out);
        }
        _ => {
            out.push(' ');
            yaml_inline(v, out);
            out.push('\n');
        }
    }
}

fn yaml_inline(v: &Value, out: &mut String) {
    match v {
        Value::Map(_) => out.push_str("{}"),
        Value::Seq(_) => out.push_str("[]"),
        other => json(other, out),
    }
}

pub(super) fn parse_yaml(text: &str) -> Result<Value, SopsError> {
    let mut sources = Sources::default();
    let id = sources.add("sops.yaml", text.to_owned());
    let mut diags = Diagnostics::default();
    match yaml::parse_document(id, sources.get(id), &mut diags) {
        Parsed::Document(node) => Ok(from_node(&node)),
        _ => {
            let first = diags
                .iter()
                .next()
                .map(|d| {
                    let at = d.span.map(|s| format!(" (line {})", s.line)).unwrap_or_default();
                    format!("{}{at}", d.message)
                })
                .unwrap_or_else(|| "an empty document".into());
            Err(SopsError::Format(format!("not valid YAML: {first}")))
        }
    }
}

/// The tree and metadata of a SOPS-encrypted YAML document already parsed
/// into `root` (whose `sops` entry is left in place).
pub(super) fn tree_of_node(root: &Node) -> Result<Tree, SopsError> {
    let mut value = from_node(root);
    let Value::Map(entries) = &mut value else {
        return Err(SopsError::Format("the top level is not a mapping".into()));
    };
    let at = entries
        .iter()
        .position(|(k, _)| k == "sops")
        .ok_or_else(|| SopsError::Format("no `sops` metadata".into()))?;
    let (_, meta) = entries.remove(at);
    Ok(Tree {
        root: value,
        meta: meta_from(&meta)?,
    })
}

pub(super) fn from_node(node: &Node) -> Value {
    match &node.value {
        yaml::Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.as_scalar().unwrap_or_default().to_owned(), from_node(v)))
                .collect(),
        ),
        yaml::Value::Seq(items) => Value::Seq(items.iter().map(from_node).collect()),
        yaml::Value::Scalar { .. } if node.is_null() => Value::Null,
        yaml::Value::Scalar { text, plain: true } => Value::Scalar(plain_scalar(text)),
        yaml::Value::Scalar { text, .. } => Value::Scalar(Scalar::Str(text.clone())),
    }
}

/// A plain YAML scalar typed as sops's YAML library types it (core schema).
fn plain_scalar(text: &str) -> Scalar {
    if let Some(b) = yaml::parse_bool(text) {
        return Scalar::Bool(b);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let int = if let Some(h) = digits.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = digits.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Scalar::Int(if text.starts_with('-') { -i } else { i });
    }
    if text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && let Ok(f) = text.parse::<f64>()
    {
        return Scalar::Float(f);
    }
    Scalar::Str(text.to_owned())
}

fn parse_dotenv(text: &str) -> Result<Tree, SopsError> {
    let mut entries = Vec::new();
    let mut meta = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| SopsError::Format(format!("line {} has no `=`", n + 1)))?;
        let v = v.replace("\\n", "\n");
        match k.strip_prefix("sops_") {
            Some(m) => meta.push((m.to_owned(), v)),
            None => entries.push((k.to_owned(), Value::Scalar(Scalar::Str(v)))),
        }
    }
    Ok(Tree {
        root: Value::Map(entries),
        meta: meta_from(&unflatten(&meta)?)?,
    })
}

/// sops's flattened metadata (`age__list_0__map_enc`) back into a tree.
fn unflatten(flat: &[(String, String)]) -> Result<Value, SopsError> {
    let mut root = Value::Map(Vec::new());
    for (path, v) in flat {
        let mut node = &mut root;
        let mut rest = path.as_str();
        let mut key = {
            let end = rest.find("__").unwrap_or(rest.len());
            let k = rest[..end].to_owned();
            rest = &rest[end..];
            Step::Key(k)
        };
        loop {
            let next = if let Some(r) = rest.strip_prefix("__list_") {
                let end = r.find("__").unwrap_or(r.len());
                let i: usize = r[..end]
                    .parse()
                    .map_err(|_| SopsError::Format(format!("metadata key sops_{path}")))?;
                rest = &r[end..];
                Some(Step::Index(i))
            } else if let Some(r) = rest.strip_prefix("__map_") {
                let end = r.find("__").unwrap_or(r.len());
                let k = r[..end].to_owned();
                rest = &r[end..];
                Some(Step::Key(k))
            } else {
                None
            };
            let Some(next) = next else {
                *child(node, &key, false) = Value::Scalar(Scalar::Str(v.clone()));
                break;
            };
            node = child(node, &key, matches!(next, Step::Index(_)));
            key = next;
        }
    }
    Ok(root)
}

enum Step {
    Key(String),
    Index(usize),
}

fn child<'a>(node: &'a mut Value, step: &Step, seq: bool) -> &'a mut Value {
    let fresh = || {
        if seq {
            Value::Seq(Vec::new())
        } else {
            Value::Map(Vec::new())
        }
    };
    match step {
        Step::Key(k) => {
            if !matches!(node, Value::Map(_)) {
                *node = Value::Map(Vec::new());
            }
            let Value::Map(entries) = node else { unreachable!() };
            let at = match entries.iter().position(|(e, _)| e == k) {
                Some(at) => at,
                None => {
                    entries.push((k.clone(), fresh()));
                    entries.len() - 1
                }
            };
            &mut entries[at].1
        }
        Step::Index(i) => {
            if !matches!(node, Value::Seq(_)) {
                *node = Value::Seq(Vec::new());
            }
            let Value::Seq(items) = node else { unreachable!() };
            while items.len() <= *i {
                items.push(fresh());
            }
            &mut items[*i]
        }
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(e) => e.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Scalar(s) => Some(scalar_text(s)),
        _ => None,
    }
}

fn list(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Seq(items)) => items,
        _ => &[],
    }
}

fn meta_from(m: &Value) -> Result<Meta, SopsError> {
    let field = |k: &str| text(get(m, k)).filter(|s| !s.is_empty());
    for refused in ["unencrypted_comment_regex", "encrypted_comment_regex"] {
        if field(refused).is_some() {
            return Err(SopsError::Format(format!(
                "`sops.{refused}` is not supported by swarmkeeper: encrypt with a suffix or key regex instead"
            )));
        }
    }
    if !list(get(m, "key_groups")).is_empty() {
        return Err(SopsError::Format(
            "`sops.key_groups` (Shamir key groups) is not supported by swarmkeeper: encrypt to one group of recipients"
                .into(),
        ));
    }
    let regex = |k: &str| -> Result<Option<regex::Regex>, SopsError> {
        field(k)
            .map(|r| regex::Regex::new(&r).map_err(|e| SopsError::Format(format!("`sops.{k}`: {e}"))))
            .transpose()
    };
    let mut keys = MasterKeys::default();
    for a in list(get(m, "age")) {
        keys.age.push(AgeKey {
            recipient: text(get(a, "recipient")).unwrap_or_default(),
            enc: text(get(a, "enc")).unwrap_or_default(),
        });
    }
    for k in list(get(m, "kms")) {
        let context: BTreeMap<String, String> = match get(k, "context") {
            Some(Value::Map(e)) => e
                .iter()
                .filter_map(|(k, v)| text(Some(v)).map(|v| (k.clone(), v)))
                .collect(),
            _ => BTreeMap::new(),
        };
        keys.kms.push(KmsKey {
            arn: text(get(k, "arn")).unwrap_or_default(),
            enc: text(get(k, "enc")).unwrap_or_default(),
            context,
            role: text(get(k, "role")).filter(|r| !r.is_empty()),
        });
    }
    for other in ["pgp", "gcp_kms", "azure_kv", "hc_vault", "hckms"] {
        if !list(get(m, other)).is_empty() {
            keys.unsupported.push(other.to_owned());
        }
    }
    let lastmodified = field("lastmodified").ok_or_else(|| SopsError::Format("no `sops.lastmodified`".into()))?;
    let mac = field("mac").ok_or_else(|| SopsError::Format("no `sops.mac`".into()))?;
    Ok(Meta {
        keys,
        lastmodified,
        mac,
        mac_only_encrypted: matches!(get(m, "mac_only_encrypted"), Some(Value::Scalar(Scalar::Bool(true))))
            || field("mac_only_encrypted").is_some_and(|v| v == "true"),
        unencrypted_suffix: field("unencrypted_suffix"),
        encrypted_suffix: field("encrypted_suffix"),
        unencrypted_regex: regex("unencrypted_regex")?,
        encrypted_regex: regex("encrypted_regex")?,
    })
}

/// JSON into the ordered tree (serde visits a map's entries in file order).
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
                Ok(Value::Scalar(Scalar::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
                Ok(Value::Scalar(Scalar::Int(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
                Ok(Value::Scalar(match i64::try_from(v) {
                    Ok(i) => Scalar::Int(i),
                    Err(_) => Scalar::Float(v as f64),
                }))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
                Ok(Value::Scalar(Scalar::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Scalar(Scalar::Str(v.to_owned())))
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = a.next_element()? {
                    items.push(v);
                }
                Ok(Value::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    entries.push((k, v));
                }
                Ok(Value::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}
