//! docs/reference.md states the defaults and ranges of `swarmkeeper.yaml`
//! that the decoder and the schema use: each is written once, as a constant
//! of `config::types`, and this test reads the document against them.

use std::time::Duration;
use swarmkeeper_model::compose::{BindPropagation, Consistency};
use swarmkeeper_model::config::*;

/// This package's directory, as cargo gives it when it runs the test: a test
/// binary cargo reuses from a build of a checkout elsewhere (one target
/// directory for every clone) must read this checkout's files, not that one's.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

fn reference() -> String {
    let path = manifest_dir().join("../../docs/reference.md");
    std::fs::read_to_string(path).expect("docs/reference.md is readable")
}

/// The table row of `key` (`| `key` | …`), exactly one.
fn row<'a>(doc: &'a str, key: &str) -> &'a str {
    let start = format!("| `{key}` |");
    let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with(&start)).collect();
    assert_eq!(
        rows.len(),
        1,
        "one row for `{key}` in docs/reference.md, found {rows:?}"
    );
    rows[0]
}

fn words(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

#[test]
fn reference_states_the_defaults_and_ranges_the_decoder_uses() {
    let doc = reference();
    // The document writes durations in seconds (`60s`, `300s`).
    let d = |t: Duration| format!("{}s", t.as_secs());
    let checks: Vec<(&str, String)> = vec![
        (
            "replace_after",
            format!("duration ≥ `{}` | `{}`", d(MIN_REPLACE_AFTER), d(DEFAULT_REPLACE_AFTER)),
        ),
        (
            "max_unavailable",
            format!(
                "integer {}–{} | `{DEFAULT_MAX_UNAVAILABLE}`",
                MAX_UNAVAILABLE.start(),
                MAX_UNAVAILABLE.end()
            ),
        ),
        ("managers", format!("odd, 1–{MAX_MANAGERS}")),
        ("controller.git.branch", format!("`{DEFAULT_CONTROLLER_BRANCH}`")),
        ("controller.git.path", format!("`{DEFAULT_CONTROLLER_PATH}`")),
        (
            "controller.replicas",
            format!(
                "integer {}–{} | `{DEFAULT_CONTROLLER_REPLICAS}`",
                CONTROLLER_REPLICAS.start(),
                CONTROLLER_REPLICAS.end()
            ),
        ),
        ("count", format!("integer {}–{}", POOL_COUNT.start(), POOL_COUNT.end())),
        (
            "root_volume.size_gb",
            format!("{}–{}", ROOT_VOLUME_SIZE_GB.start(), ROOT_VOLUME_SIZE_GB.end()),
        ),
        (
            "root_volume.type",
            format!("`{DEFAULT_ROOT_VOLUME_TYPE}` | {}", words(EbsType::NAMES)),
        ),
        ("deletion_policy", format!("`{DEFAULT_DELETION_POLICY}`")),
        (
            "size_gb",
            format!("{}–{}", VOLUME_SIZE_GB.start(), VOLUME_SIZE_GB.end()),
        ),
        ("allowed_cidrs", words(DEFAULT_ALLOWED_CIDRS)),
        ("path", format!("`{DEFAULT_PATH}`")),
        ("health_check.path", format!("`{DEFAULT_PATH}`")),
        (
            "health_check.interval",
            format!("`{}`", d(DEFAULT_HEALTH_CHECK_INTERVAL)),
        ),
        ("health_check.timeout", format!("`{}`", d(DEFAULT_HEALTH_CHECK_TIMEOUT))),
        ("health_check.matcher", format!("`{DEFAULT_MATCHER}`")),
        ("system_prune.at", format!("(UTC) | `{DEFAULT_PRUNE_AT}`")),
        (
            "system_prune.stagger",
            format!("`0s` to `{}` | `{}`", d(MAX_PRUNE_STAGGER), d(DEFAULT_PRUNE_STAGGER)),
        ),
        ("cloudwatch.retention_days", format!("`{DEFAULT_RETENTION_DAYS}`")),
    ];
    for (key, want) in checks {
        let got = row(&doc, key);
        assert!(got.contains(&want), "the row of `{key}` should say {want:?}: {got}");
    }
    for want in [
        format!(
            "`routes[].health_check.interval` {}–{}",
            d(*HEALTH_CHECK_INTERVAL.start()),
            d(*HEALTH_CHECK_INTERVAL.end())
        ),
        format!(
            "`timeout` {}–{}",
            d(*HEALTH_CHECK_TIMEOUT.start()),
            d(*HEALTH_CHECK_TIMEOUT.end())
        ),
        format!("`cluster.replace_after` ≥ {}", d(MIN_REPLACE_AFTER)),
        format!("ports {}–{}", ROUTE_PORT.start(), ROUTE_PORT.end()),
        words(BindPropagation::NAMES),
        words(Consistency::NAMES),
    ] {
        assert!(doc.contains(&want), "docs/reference.md should say {want:?}");
    }
}
