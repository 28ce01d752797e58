//! The plan crate's layering: no two of its source files import each other,
//! and no longer chain of imports comes back to where it started.
//!
//! Reads every file under `src/`, takes the module paths it names (`use`
//! trees starting at `crate::`, `super::`, `self::` or a child module, and
//! `crate::…`/`super::…` paths written inline), resolves each to the deepest
//! module file it reaches (`crate::aws::spec::owned` → `aws::spec`), and looks
//! for a cycle in that graph. Declaring a child (`pub mod x;`) is not an
//! import. A file's `#[cfg(test)]` tail (its unit tests, whose `super` is the
//! file itself) is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// This package's directory, as cargo gives it when it runs the test: a test
/// binary cargo reuses from a build of a checkout elsewhere (one target
/// directory for every clone) must read this checkout's files, not that one's.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

/// A module path: `[]` for the crate root, `["aws", "spec"]` for `aws/spec.rs`.
type Module = Vec<String>;

/// One import: the module it reaches and the line that says so.
#[derive(Debug, Clone)]
struct Edge {
    to: Module,
    line: usize,
}

fn module_of(rel: &Path) -> Module {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.strip_suffix(".rs").unwrap_or(&last).to_owned();
    if stem != "lib" && stem != "mod" {
        parts.push(stem);
    }
    parts
}

fn show(m: &[String]) -> String {
    if m.is_empty() {
        "crate (lib.rs)".to_owned()
    } else {
        m.join("::")
    }
}

/// The source without comments, string contents and the `#[cfg(test)]` tail;
/// newlines are kept so that offsets still give line numbers.
fn code_only(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push('"');
            }
            // A char literal such as '"' or '\'' (not a lifetime: those have
            // no closing quote right after one character).
            '\'' => {
                let rest: String = chars.clone().take(3).collect();
                let len = if rest.starts_with('\\') {
                    rest.chars().position(|c| c == '\'').filter(|p| *p > 1).map(|p| p + 1)
                } else if rest.chars().nth(1) == Some('\'') {
                    Some(2)
                } else {
                    None
                };
                out.push('\'');
                if let Some(len) = len {
                    for _ in 0..len {
                        chars.next();
                    }
                    out.push('\'');
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn ident_at(s: &[u8], mut i: usize) -> (String, usize) {
    let start = i;
    while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'_') {
        i += 1;
    }
    (String::from_utf8_lossy(&s[start..i]).into_owned(), i)
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Parses a use tree at `i` (`a::b::{c, d::e}`), pushing each full path.
fn use_tree(s: &[u8], i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut i = skip_ws(s, i);
    let mut path = prefix.to_vec();
    loop {
        if s.get(i) == Some(&b'{') {
            i += 1;
            loop {
                i = skip_ws(s, i);
                if s.get(i) == Some(&b'}') {
                    return i + 1;
                }
                i = use_tree(s, i, &path, out);
                i = skip_ws(s, i);
                match s.get(i) {
                    Some(b',') => i += 1,
                    Some(b'}') => return i + 1,
                    _ => return i,
                }
            }
        }
        if s.get(i) == Some(&b'*') {
            out.push(path);
            return i + 1;
        }
        let (id, j) = ident_at(s, i);
        if id.is_empty() {
            out.push(path);
            return j;
        }
        path.push(id);
        i = skip_ws(s, j);
        if s[i..].starts_with(b"::") {
            i = skip_ws(s, i + 2);
        } else {
            out.push(path);
            return i;
        }
    }
}

/// Every module path `text` (the file of module `me`) names, with its line.
fn imports(me: &Module, text: &str, children: &BTreeSet<String>) -> Vec<(Vec<String>, usize)> {
    let code = code_only(text);
    let s = code.as_bytes();
    let line_of = |i: usize| code[..i].matches('\n').count() + 1;
    let boundary = |i: usize| i == 0 || !(s[i - 1].is_ascii_alphanumeric() || s[i - 1] == b'_' || s[i - 1] == b':');
    let mut found = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if boundary(i) && s[i..].starts_with(b"use ") {
            let mut paths = Vec::new();
            let end = use_tree(s, i + 4, &[], &mut paths);
            found.extend(paths.into_iter().map(|p| (p, line_of(i))));
            i = end.max(i + 4);
        } else if boundary(i) && (s[i..].starts_with(b"crate::") || s[i..].starts_with(b"super::")) {
            let mut paths = Vec::new();
            let end = use_tree(s, i, &[], &mut paths);
            found.extend(paths.into_iter().map(|p| (p, line_of(i))));
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    found
        .into_iter()
        .filter_map(|(path, line)| {
            let mut abs: Vec<String> = Vec::new();
            let mut rest = path.as_slice();
            match rest.first().map(String::as_str) {
                Some("crate") => rest = &rest[1..],
                Some("self") => {
                    abs = me.clone();
                    rest = &rest[1..];
                }
                Some("super") => {
                    abs = me.clone();
                    while rest.first().map(String::as_str) == Some("super") {
                        abs.pop();
                        rest = &rest[1..];
                    }
                }
                Some(first) if children.contains(first) => abs = me.clone(),
                _ => return None, // std, serde, another crate
            }
            abs.extend(rest.iter().cloned());
            Some((abs, line))
        })
        .collect()
}

/// The import graph of a crate given as (path under `src/`, text) pairs.
fn graph(files: &[(String, String)]) -> BTreeMap<Module, Vec<Edge>> {
    let modules: BTreeSet<Module> = files.iter().map(|(p, _)| module_of(Path::new(p))).collect();
    let mut out = BTreeMap::new();
    for (path, text) in files {
        let me = module_of(Path::new(path));
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|m| m.len() == me.len() + 1 && m.starts_with(&me))
            .filter_map(|m| m.last().cloned())
            .collect();
        let mut edges = Vec::new();
        for (abs, line) in imports(&me, text, &children) {
            // The deepest module file the path reaches.
            let to = (0..=abs.len())
                .rev()
                .map(|n| abs[..n].to_vec())
                .find(|m| modules.contains(m))
                .unwrap_or_default();
            if to != me {
                edges.push(Edge { to, line });
            }
        }
        out.insert(me, edges);
    }
    out
}

/// The first cycle found, as the modules along it (the first repeated last),
/// each with the line of the import that leads to the next.
fn find_cycle(graph: &BTreeMap<Module, Vec<Edge>>) -> Option<Vec<(Module, usize)>> {
    fn visit(
        m: &Module,
        graph: &BTreeMap<Module, Vec<Edge>>,
        done: &mut BTreeSet<Module>,
        stack: &mut Vec<(Module, usize)>,
    ) -> Option<Vec<(Module, usize)>> {
        if let Some(pos) = stack.iter().position(|(s, _)| s == m) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push((m.clone(), 0));
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        for e in graph.get(m).into_iter().flatten() {
            stack.push((m.clone(), e.line));
            if let Some(c) = visit(&e.to, graph, done, stack) {
                return Some(c);
            }
            stack.pop();
        }
        done.insert(m.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|m| visit(m, graph, &mut done, &mut Vec::new()))
}

fn describe(cycle: &[(Module, usize)], files: &BTreeMap<Module, String>) -> String {
    let mut out = String::new();
    for pair in cycle.windows(2) {
        let (from, line) = &pair[0];
        let file = files.get(from).map_or("?", String::as_str);
        out.push_str(&format!(
            "\n  {} (src/{file}:{line}) imports {}",
            show(from),
            show(&pair[1].0)
        ));
    }
    out
}

fn read_sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            read_sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let rel = path
                .strip_prefix(root)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, text));
        }
    }
}

fn check(files: &[(String, String)]) -> Result<BTreeMap<Module, Vec<Edge>>, String> {
    let g = graph(files);
    let names: BTreeMap<Module, String> = files
        .iter()
        .map(|(p, _)| (module_of(Path::new(p)), p.clone()))
        .collect();
    match find_cycle(&g) {
        Some(cycle) => Err(format!(
            "files of crates/plan import each other:{}\nmove what both need into a vocabulary module that imports \
             neither (see the layering paragraph of src/lib.rs)",
            describe(&cycle, &names)
        )),
        None => Ok(g),
    }
}

#[test]
fn no_files_of_the_plan_crate_import_each_other() {
    let root = manifest_dir().join("src");
    let mut files = Vec::new();
    read_sources(&root, &root, &mut files);
    assert!(
        files.len() > 10,
        "found only {} source files under {}",
        files.len(),
        root.display()
    );
    let g = check(&files).unwrap_or_else(|e| panic!("{e}"));
    // The parser sees the imports at all: the orchestrator reaches the
    // three decision modules, the node lifecycle its vocabulary.
    let reaches = |from: &[&str], to: &[&str]| {
        let from: Module = from.iter().map(|s| s.to_string()).collect();
        let to: Module = to.iter().map(|s| s.to_string()).collect();
        g.get(&from).is_some_and(|es| es.iter().any(|e| e.to == to))
    };
    assert!(reaches(&["diff"], &["aws", "diff"]), "diff → aws::diff not seen: {g:?}");
    assert!(reaches(&["diff"], &["swarm_diff"]), "diff → swarm_diff not seen");
    assert!(reaches(&["diff"], &["nodes"]), "diff → nodes not seen");
    assert!(
        reaches(&["action"], &["aws", "action"]),
        "action → aws::action not seen"
    );
}

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect()
}

#[test]
fn a_pair_of_files_importing_each_other_is_found() {
    let err = check(&files(&[
        ("lib.rs", "pub mod plan;\npub mod nodes;\n"),
        ("plan.rs", "use serde::Serialize;\n\nuse crate::nodes::NodeReport;\n"),
        (
            "nodes.rs",
            "// crate::plan in a comment is no import\nfn f() -> crate::plan::Action { todo!() }\n",
        ),
    ]))
    .expect_err("a 2-cycle");
    assert!(err.contains("plan (src/plan.rs:3) imports nodes"), "{err}");
    assert!(err.contains("nodes (src/nodes.rs:2) imports plan"), "{err}");
}

#[test]
fn a_longer_cycle_through_super_and_groups_is_found() {
    let err = check(&files(&[
        ("lib.rs", "pub mod aws;\npub mod action;\n"),
        ("action.rs", "use crate::{op::Op, aws::action::AwsAction};\n"),
        ("op.rs", ""),
        (
            "aws/mod.rs",
            "pub mod action;\npub mod spec;\npub use action::AwsAction;\n",
        ),
        ("aws/action.rs", "use super::spec::*;\n"),
        ("aws/spec.rs", "pub struct S(crate::action::Action);\n"),
    ]))
    .expect_err("action → aws::action → aws::spec → action");
    assert!(err.contains("aws::spec (src/aws/spec.rs:1) imports action"), "{err}");
}

#[test]
fn comments_strings_tests_and_declarations_are_no_imports() {
    let g = check(&files(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub use a::X;\n"),
        (
            "a.rs",
            "//! see [`crate::b`]\npub struct X;\nconst S: &str = \"crate::b::Y\";\n#[cfg(test)]\nmod tests { use crate::b::Y; }\n",
        ),
        ("b.rs", "use crate::a::X;\nfn lt<'a>(c: char) -> bool { c == '\"' }\n"),
    ]))
    .expect("no cycle");
    let a: Module = vec!["a".into()];
    assert!(g[&a].is_empty(), "{:?}", g[&a]);
    assert_eq!(g[&Vec::new()].iter().map(|e| e.to.clone()).collect::<Vec<_>>(), vec![a]);
}
