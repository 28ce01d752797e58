//! A YAML document as a tree of nodes that remember where they came from.
//!
//! We read YAML with `saphyr-parser` events rather than a serde deserializer
//! because the loader must report *every* problem with its line and column,
//! and serde stops at the first. Anchors, aliases and merge keys (`<<`) are
//! resolved here, so later stages see plain mappings; an aliased node keeps
//! the span of its anchor, which is where an error inside it really is.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan};

use crate::diagnostic::Diagnostics;
use crate::source::{FileId, SourceFile, Span};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar as written; typed lazily because compose casts strings that
    /// interpolation produced (`replicas: ${N}`) to numbers.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

impl Node {
    pub fn scalar(text: impl Into<String>, span: Span) -> Self {
        Node {
            value: Value::Scalar {
                text: text.into(),
                plain: false,
            },
            span,
        }
    }

    /// YAML 1.2 core-schema null: `~`, `null` or nothing, unquoted.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The scalar text, if this is a scalar (numbers and booleans included).
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Human name of what this node is, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar { .. } if self.is_null() => "nothing (null)",
            Value::Scalar { text, plain: true } => {
                if parse_bool(text).is_some() {
                    "a boolean"
                } else if text.parse::<f64>().is_ok() {
                    "a number"
                } else {
                    "a string"
                }
            }
            Value::Scalar { .. } => "a string",
        }
    }

    /// Value of a key in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .map(|(_, v)| v)
    }
}

/// YAML 1.2 core-schema booleans (what docker's YAML library accepts too).
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// How many nodes a document may hold once its aliases are expanded. A
/// real file holds far fewer; a "billion laughs" bomb of a few hundred
/// bytes would otherwise expand to billions.
pub const MAX_NODES: usize = 1_000_000;
/// How many bytes of scalar text a document may hold once its aliases are
/// expanded.
pub const MAX_EXPANDED_BYTES: usize = 64 * 1024 * 1024;
/// How deeply sequences and mappings may nest (later stages walk the tree
/// recursively; a real file nests a dozen levels at most).
pub const MAX_DEPTH: usize = 128;

/// Parse one YAML document. Syntax errors go to `diags`; `None` means the
/// file could not be read as YAML at all. A file without any document
/// (empty, or only comments) is an error too.
pub fn parse(file_id: FileId, file: &SourceFile, diags: &mut Diagnostics) -> Option<Node> {
    match parse_document(file_id, file, diags) {
        Parsed::Document(node) => Some(node),
        Parsed::Failed => None,
        Parsed::Empty => {
            diags.push(empty_file(
                file_id,
                file,
                "write the file's content, or remove what refers to it",
            ));
            None
        }
    }
}

/// What [`parse_document`] found.
#[derive(Debug)]
pub enum Parsed {
    /// Exactly one document.
    Document(Node),
    /// No document at all: the file is empty or holds only comments. No
    /// diagnostic was recorded: the caller says what the file should hold.
    Empty,
    /// An error was recorded.
    Failed,
}

/// The error for a file that holds no YAML document, at its first line.
pub fn empty_file(file_id: FileId, file: &SourceFile, help: &str) -> crate::diagnostic::Diagnostic {
    let what = if file.text.trim().is_empty() {
        "this file is empty"
    } else {
        "this file holds only comments, no YAML document"
    };
    crate::diagnostic::Diagnostic::error(
        "empty-file",
        Some(Span {
            file: file_id,
            offset: 0,
            len: 0,
            line: 1,
            column: 1,
        }),
        what,
    )
    .with_help(help)
}

/// Parse one YAML document, telling an empty file apart (see [`Parsed`]).
pub fn parse_document(file_id: FileId, file: &SourceFile, diags: &mut Diagnostics) -> Parsed {
    let mut builder = Builder {
        file_id,
        file,
        stack: Vec::new(),
        anchors: HashMap::new(),
        documents: Vec::new(),
        diags,
        nodes: 0,
        bytes: 0,
        failed: false,
    };
    let mut parser = Parser::new_from_str(&file.text);
    loop {
        if builder.failed {
            return Parsed::Failed;
        }
        match parser.next_event() {
            None => break,
            Some(Ok((Event::StreamEnd, _))) => break,
            Some(Ok((event, span))) => builder.on_event(event, span),
            Some(Err(e)) => {
                let span = builder.span_at(e.marker().line(), e.marker().col(), 1);
                builder.diags.error_help(
                    "yaml-syntax",
                    Some(span),
                    format!("invalid YAML: {}", e.info()),
                    "fix the YAML syntax at this position (check indentation, quotes and colons)",
                );
                return Parsed::Failed;
            }
        }
    }
    let mut documents = builder.documents;
    match documents.len() {
        0 => Parsed::Empty,
        1 => documents.pop().map_or(Parsed::Failed, Parsed::Document),
        _ => {
            let extra = &documents[1];
            diags.error_help(
                "yaml-multiple-documents",
                Some(extra.span),
                "this file holds more than one YAML document",
                "keep a single document per file (remove the `---` separator)",
            );
            Parsed::Failed
        }
    }
}

enum Frame {
    Seq {
        anchor: usize,
        start: YamlSpan,
        items: Vec<Node>,
    },
    Map {
        anchor: usize,
        start: YamlSpan,
        entries: Vec<(Node, Node)>,
        /// The scalar keys seen so far, for the duplicate check (a linear
        /// scan made a mapping of n keys cost n²).
        keys: KeyIndex,
        pending_key: Option<Node>,
    },
}

/// The scalar keys of a mapping being built, for the duplicate check in
/// constant time per key without copying them: a key's hash maps to the
/// index of its entry; on the rare collision of two different keys the
/// entries are scanned.
#[derive(Default)]
struct KeyIndex {
    by_hash: HashMap<u64, usize>,
}

impl KeyIndex {
    /// Record `name` (the key of the entry about to be pushed onto
    /// `entries`); false when the mapping already has it.
    fn insert(&mut self, name: &str, entries: &[(Node, Node)]) -> bool {
        use std::hash::{BuildHasher, RandomState};
        static STATE: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
        let hash = STATE.get_or_init(RandomState::new).hash_one(name);
        match self.by_hash.get(&hash) {
            None => {
                self.by_hash.insert(hash, entries.len());
                true
            }
            Some(&i) if entries.get(i).and_then(|(k, _)| k.as_scalar()) == Some(name) => false,
            // Same hash, another key: compare them all.
            Some(_) => !entries.iter().any(|(k, _)| k.as_scalar() == Some(name)),
        }
    }
}

/// An anchored node, with its size once expanded.
struct Anchored {
    node: Node,
    nodes: usize,
    bytes: usize,
}

struct Builder<'a> {
    file_id: FileId,
    file: &'a SourceFile,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    documents: Vec<Node>,
    diags: &'a mut Diagnostics,
    /// Nodes and scalar bytes of the document so far, aliases expanded.
    nodes: usize,
    bytes: usize,
    /// An error was recorded that stops the parse (a cap was crossed).
    failed: bool,
}

/// Nodes and scalar bytes of a tree.
fn size_of(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::Scalar { text, .. } => (1, text.len()),
        Value::Seq(items) => items.iter().fold((1, 0), |(n, b), i| {
            let (a, c) = size_of(i);
            (n + a, b + c)
        }),
        Value::Map(entries) => entries.iter().fold((1, 0), |(n, b), (k, v)| {
            let (a, c) = size_of(k);
            let (e, f) = size_of(v);
            (n + a + e, b + c + f)
        }),
    }
}

impl Builder<'_> {
    fn span_at(&self, line: usize, col: usize, len: usize) -> Span {
        let offset = self.file.offset_of(line, col);
        Span {
            file: self.file_id,
            offset,
            len: len.min(self.file.text.len().saturating_sub(offset)),
            line: line as u32,
            column: col as u32 + 1,
        }
    }

    fn span(&self, s: YamlSpan) -> Span {
        let start = self.file.offset_of(s.start.line(), s.start.col());
        let end = self.file.offset_of(s.end.line(), s.end.col()).max(start);
        Span {
            file: self.file_id,
            offset: start,
            len: end - start,
            line: s.start.line() as u32,
            column: s.start.col() as u32 + 1,
        }
    }

    fn on_event(&mut self, event: Event<'_>, span: YamlSpan) {
        match event {
            Event::Scalar(text, style, anchor, _tag) => {
                let plain = matches!(style, ScalarStyle::Plain);
                let mut sp = self.span(span);
                if sp.len == 0 {
                    // Quoted/implicit empty scalars have empty spans; mark one column.
                    sp.len = 1.min(self.file.text.len().saturating_sub(sp.offset));
                }
                if !self.grow(1, text.len(), sp) {
                    return;
                }
                let node = Node {
                    value: Value::Scalar {
                        text: text.into_owned(),
                        plain,
                    },
                    span: sp,
                };
                self.remember(anchor, &node);
                self.add(node);
            }
            Event::Alias(id) => {
                let sp = self.span(span);
                match self.anchors.get(&id).map(|a| (a.nodes, a.bytes)) {
                    Some((nodes, bytes)) => {
                        if !self.grow(nodes, bytes, sp) {
                            return;
                        }
                        if let Some(a) = self.anchors.get(&id) {
                            let node = a.node.clone();
                            self.add(node);
                        }
                    }
                    None => {
                        self.diags.error("yaml-alias", Some(sp), "unknown YAML alias");
                        self.add(Node::scalar("", sp));
                    }
                }
            }
            Event::SequenceStart(anchor, _) => {
                if self.deeper(span) && self.grow(1, 0, self.span(span)) {
                    self.stack.push(Frame::Seq {
                        anchor,
                        start: span,
                        items: Vec::new(),
                    });
                }
            }
            Event::MappingStart(anchor, _) => {
                if self.deeper(span) && self.grow(1, 0, self.span(span)) {
                    self.stack.push(Frame::Map {
                        anchor,
                        start: span,
                        entries: Vec::new(),
                        keys: KeyIndex::default(),
                        pending_key: None,
                    });
                }
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { anchor, start, items }) = self.stack.pop() {
                    let node = Node {
                        value: Value::Seq(items),
                        span: self.span(start),
                    };
                    self.remember(anchor, &node);
                    self.add(node);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    anchor, start, entries, ..
                }) = self.stack.pop()
                {
                    let entries = self.merge_keys(entries);
                    let node = Node {
                        value: Value::Map(entries),
                        span: self.span(start),
                    };
                    self.remember(anchor, &node);
                    self.add(node);
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd => {}
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            let (nodes, bytes) = size_of(node);
            self.anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    nodes,
                    bytes,
                },
            );
        }
    }

    /// Count `nodes` more nodes and `bytes` more scalar bytes; past a cap,
    /// record an error at `at` (the alias or node that crosses it) and stop.
    fn grow(&mut self, nodes: usize, bytes: usize, at: Span) -> bool {
        self.nodes = self.nodes.saturating_add(nodes);
        self.bytes = self.bytes.saturating_add(bytes);
        if self.nodes > MAX_NODES || self.bytes > MAX_EXPANDED_BYTES {
            let what = if self.nodes > MAX_NODES {
                format!("more than {MAX_NODES} nodes")
            } else {
                format!("more than {} MiB of text", MAX_EXPANDED_BYTES / (1024 * 1024))
            };
            self.diags.error_help(
                "yaml-too-large",
                Some(at),
                format!("with its aliases expanded, this document holds {what}"),
                "aliases (`*name`) copy what their anchor holds: nested aliases multiply; write the values out or split the file",
            );
            self.failed = true;
            return false;
        }
        true
    }

    /// Whether one more level of nesting is allowed; records the error if not.
    fn deeper(&mut self, at: YamlSpan) -> bool {
        if self.stack.len() < MAX_DEPTH {
            return true;
        }
        let sp = self.span(at);
        self.diags.error_help(
            "yaml-too-deep",
            Some(sp),
            format!("lists and mappings nest more than {MAX_DEPTH} levels deep here"),
            "flatten the structure: no desired-state or compose file needs this depth",
        );
        self.failed = true;
        false
    }

    fn add(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                keys,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => {
                    let duplicate = match key.as_scalar() {
                        Some("<<") | None => false,
                        Some(name) => !keys.insert(name, entries),
                    };
                    if duplicate {
                        let name = key.as_scalar().unwrap_or_default().to_owned();
                        self.diags.error_help(
                            "yaml-duplicate-key",
                            Some(key.span),
                            format!("duplicate key `{name}` in this mapping"),
                            "each key may appear once; remove or merge the repeated entry",
                        );
                    } else {
                        entries.push((key, node));
                    }
                }
            },
        }
    }

    /// Apply YAML merge keys: `<<: *base` or `<<: [*a, *b]`. Keys written in
    /// the mapping win over merged ones; earlier merged maps win over later.
    fn merge_keys(&mut self, entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
        if !entries
            .iter()
            .any(|(k, _)| matches!(&k.value, Value::Scalar { text, plain: true } if text == "<<"))
        {
            return entries;
        }
        let mut own = Vec::new();
        let mut merged: Vec<(Node, Node)> = Vec::new();
        let mut merged_keys: HashSet<String> = HashSet::new();
        for (key, value) in entries {
            if !matches!(&key.value, Value::Scalar { text, plain: true } if text == "<<") {
                own.push((key, value));
                continue;
            }
            let sources: Vec<Node> = match value.value {
                Value::Map(_) => vec![value],
                Value::Seq(items) => items,
                _ => {
                    self.diags.error_help(
                        "yaml-merge",
                        Some(value.span),
                        format!("a merge key `<<` needs a mapping, found {}", value.kind()),
                        "merge an anchored mapping: `<<: *name` or `<<: [*a, *b]`",
                    );
                    continue;
                }
            };
            for src in sources {
                match src.value {
                    Value::Map(src_entries) => {
                        for (k, v) in src_entries {
                            let new = k.as_scalar().is_none_or(|name| merged_keys.insert(name.to_owned()));
                            if new {
                                merged.push((k, v));
                            }
                        }
                    }
                    _ => self.diags.error_help(
                        "yaml-merge",
                        Some(src.span),
                        format!("a merge key `<<` needs mappings, found {}", src.kind()),
                        "merge anchored mappings only",
                    ),
                }
            }
        }
        let own_keys: HashSet<String> = own
            .iter()
            .filter_map(|(k, _)| k.as_scalar().map(str::to_owned))
            .collect();
        for (k, v) in merged {
            if k.as_scalar().is_none_or(|name| !own_keys.contains(name)) {
                own.push((k, v));
            }
        }
        own
    }
}

/// The node as JSON, with YAML 1.2 core-schema typing of plain scalars
/// (used to check documents against the JSON Schema).
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (k.as_scalar().unwrap_or_default().to_owned(), to_json(v)))
                .collect(),
        ),
        Value::Scalar { .. } if node.is_null() => J::Null,
        Value::Scalar { text, plain: true } => {
            if let Some(b) = parse_bool(text) {
                J::Bool(b)
            } else if let Ok(i) = text.parse::<i64>() {
                J::from(i)
            } else if let Some(f) = text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                J::Number(f)
            } else {
                J::String(text.clone())
            }
        }
        Value::Scalar { text, .. } => J::String(text.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Sources;

    fn parse_str(text: &str) -> (Option<Node>, Diagnostics) {
        let mut sources = Sources::default();
        let id = sources.add("t.yaml", text.to_owned());
        let mut diags = Diagnostics::default();
        let node = parse(id, sources.get(id), &mut diags);
        (node, diags)
    }

    #[test]
    fn spans_are_one_based_lines_and_columns() {
        let (node, diags) = parse_str("a:\n  b: hello\n");
        assert!(diags.is_empty());
        let node = node.expect("parsed");
        let b = node.get("a").and_then(|a| a.get("b")).expect("a.b");
        assert_eq!(b.as_scalar(), Some("hello"));
        assert_eq!((b.span.line, b.span.column), (2, 6));
        assert_eq!(b.span.len, 5);
    }

    #[test]
    fn merge_keys_and_aliases_resolve() {
        let text = "base: &b\n  x: 1\n  y: 2\nthing:\n  <<: *b\n  y: 3\nother: *b\n";
        let (node, diags) = parse_str(text);
        assert!(diags.is_empty(), "{diags:?}");
        let node = node.expect("parsed");
        let thing = node.get("thing").expect("thing");
        assert_eq!(thing.get("x").and_then(Node::as_scalar), Some("1"));
        assert_eq!(thing.get("y").and_then(Node::as_scalar), Some("3"));
        assert_eq!(
            node.get("other").and_then(|o| o.get("y")).and_then(Node::as_scalar),
            Some("2")
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let (_, diags) = parse_str("a: 1\nb: 2\na: 3\n");
        let d: Vec<_> = diags.iter().collect();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "yaml-duplicate-key");
        assert_eq!(d[0].span.map(|s| s.line), Some(3));
    }

    #[test]
    fn syntax_errors_carry_position() {
        let (node, diags) = parse_str("a: [1, 2\nb: 3\n");
        assert!(node.is_none());
        assert_eq!(diags.iter().next().map(|d| d.code), Some("yaml-syntax"));
    }

    #[test]
    fn nested_aliases_stop_at_the_node_cap() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, next) in ["a", "b", "c", "d", "e", "f", "g"].windows(2).map(|w| (w[0], w[1])) {
            text.push_str(&format!(
                "{next}: &{next} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
        }
        let (node, diags) = parse_str(&text);
        assert!(node.is_none());
        let d: Vec<_> = diags.iter().collect();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, "yaml-too-large");
        // `f` holds 1,111,111 nodes: one of its aliases crosses 1,000,000.
        assert_eq!(d[0].span.map(|s| s.line), Some(6));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("a: {}{}\n", "[".repeat(MAX_DEPTH + 10), "]".repeat(MAX_DEPTH + 10));
        let (node, diags) = parse_str(&text);
        assert!(node.is_none());
        assert_eq!(diags.iter().next().map(|d| d.code), Some("yaml-too-deep"));
        let ok = format!("a: {}{}\n", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(parse_str(&ok).0.is_some());
    }

    #[test]
    fn empty_and_comment_only_files_are_errors() {
        for text in ["", "\n\n", "# only a comment\n"] {
            let (node, diags) = parse_str(text);
            assert!(node.is_none());
            assert_eq!(
                diags.iter().map(|d| d.code).collect::<Vec<_>>(),
                ["empty-file"],
                "{text:?}"
            );
        }
    }

    #[test]
    fn duplicates_are_found_among_many_keys_and_merges_keep_their_order() {
        let mut text: String = (0..20_000).map(|i| format!("k{i}: {i}\n")).collect();
        text.push_str("k7: again\n");
        let (node, diags) = parse_str(&text);
        let d: Vec<_> = diags.iter().collect();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].span.map(|s| s.line), Some(20_001));
        assert_eq!(node.and_then(|n| n.as_map().map(<[(Node, Node)]>::len)), Some(20_000));
        let (node, _) = parse_str("a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\nc:\n  <<: [*a, *b]\n  x: 0\n");
        let c = node.as_ref().and_then(|n| n.get("c")).expect("c");
        let keys: Vec<_> = c
            .as_map()
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, _)| k.as_scalar())
            .collect();
        assert_eq!(keys, ["x", "y", "z"]);
        assert_eq!(c.get("x").and_then(Node::as_scalar), Some("0"));
        assert_eq!(c.get("y").and_then(Node::as_scalar), Some("2"));
    }
}
