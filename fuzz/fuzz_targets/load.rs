//! The loader from bytes: a desired-state tree in memory (swarmkeeper.yaml,
//! compose files, env files, whatever paths the input names) through YAML
//! parsing, interpolation, compose decoding and validation.
//!
//! Input: `path NUL content NUL path NUL content ...` (what
//! tests/fuzz/run makes of each case of tests/corpus). Input without a NUL
//! is a compose file `app.yml` of a one-stack `swarmkeeper.yaml`.
//!
//! Checked beyond "no panic, no hang, no unbounded memory": a load that
//! fails says why (at least one error), every diagnostic resolves to a
//! position, and a valid state holds every stack it declares.

#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmkeeper_model::tree::Entry;
use swarmkeeper_model::{MemoryTree, Severity, Variables, load_tree};

const ROOT: &str = "version: 1\nstacks:\n  app:\n    compose: app.yml\n    env_file: app.env\n";

fn tree(data: &[u8]) -> MemoryTree {
    let mut t = MemoryTree::new("fuzz");
    if !data.contains(&0) {
        t.insert("swarmkeeper.yaml", Entry::File(ROOT.as_bytes().to_vec()));
        t.insert("app.yml", Entry::File(data.to_vec()));
        t.insert("app.env", Entry::File(b"TAG=1.27\n".to_vec()));
        return t;
    }
    let mut parts = data.split(|b| *b == 0);
    while let (Some(path), Some(content)) = (parts.next(), parts.next()) {
        let path = String::from_utf8_lossy(path).into_owned();
        if path.is_empty() {
            continue;
        }
        match content.strip_prefix(b"->") {
            // A symbolic link: `path NUL ->target NUL`.
            Some(target) => t.insert(path, Entry::Link(String::from_utf8_lossy(target).into_owned().into())),
            None => t.insert(path, Entry::File(content.to_vec())),
        }
    }
    t
}

fuzz_target!(|data: &[u8]| {
    let t = tree(data);
    let mut env = Variables::new();
    env.insert("FUZZ".into(), "value".into());
    let outcome = load_tree(&t, &env);
    for d in outcome.diagnostics.iter() {
        let r = d.resolve(&outcome.sources);
        assert!(!r.message.is_empty());
    }
    match &outcome.state {
        None => assert!(
            outcome.diagnostics.iter().any(|d| d.severity == Severity::Error),
            "a failed load without an error"
        ),
        Some(state) => {
            assert!(!outcome.diagnostics.has_errors());
            for name in state.config.stacks.keys() {
                assert!(state.stacks.contains_key(name), "stack {name} missing from a valid state");
            }
        }
    }
});
