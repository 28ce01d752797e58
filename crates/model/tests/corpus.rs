//! The corpus under `tests/corpus/` (at the repository root): every
//! invalid desired state must produce exactly the diagnostics listed in its
//! `expect` file (position, severity, code and message), and every valid one
//! must load without error.

use std::path::{Path, PathBuf};

use swarmkeeper_model::{Variables, load_dir};

#[path = "../../../tests/corpus/prepare.rs"]
mod prepare;

/// This package's directory, as cargo gives it when it runs the test: a test
/// binary cargo reuses from a build of a checkout elsewhere (one target
/// directory for every clone) must read this checkout's files, not that one's.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = manifest_dir().join("../../tests/corpus").join(kind);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    // Cases with files git cannot hold (FIFOs, sockets) load from a copy.
    cases.iter().map(|case| prepare::prepare(case)).collect()
}

/// One diagnostic as a line of an `expect` file.
fn lines_of(dir: &Path) -> Vec<String> {
    let outcome = load_dir(dir, &Variables::new());
    outcome
        .diagnostics
        .iter()
        .map(|d| {
            let r = d.resolve(&outcome.sources);
            let pos = r.position().unwrap_or_else(|| "-".into());
            let sev = match r.severity {
                swarmkeeper_model::Severity::Error => "error",
                swarmkeeper_model::Severity::Warning => "warning",
            };
            format!("{pos} {sev} {} {}", r.code, r.message)
        })
        .collect()
}

#[test]
fn invalid_corpus_reports_exactly_the_expected_diagnostics() {
    let cases = corpus("invalid");
    assert!(cases.len() >= 40, "the corpus holds {} invalid cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let expect = std::fs::read_to_string(case.join("expect")).expect("every case has an expect file");
        let want: Vec<&str> = expect.lines().filter(|l| !l.trim().is_empty()).collect();
        let got = lines_of(case);
        let outcome = load_dir(case, &Variables::new());
        if outcome.state.is_some() {
            failures.push(format!("{}: loaded as valid", case.display()));
        }
        if !want.iter().any(|l| l.contains(" error ")) {
            failures.push(format!("{}: expect lists no error", case.display()));
        }
        if got != want {
            failures.push(format!("{}:\n  want {want:#?}\n  got  {got:#?}", case.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_corpus_and_example_load_without_errors() {
    let mut dirs = corpus("valid");
    dirs.push(manifest_dir().join("../../manifests/examples/nextcloud"));
    assert!(dirs.len() >= 6);
    for dir in dirs {
        let outcome = load_dir(&dir, &Variables::new());
        let errors: Vec<String> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == swarmkeeper_model::Severity::Error)
            .map(|d| format!("{:?}", d.resolve(&outcome.sources)))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", dir.display());
        assert!(outcome.state.is_some(), "{}", dir.display());
    }
}
