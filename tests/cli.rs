//! The real `swarmkeeper` binary on the corpus, the example and the schema.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn swarmkeeper(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_example_is_valid() {
    let dir = common::repo_root().join("manifests/examples/nextcloud");
    let out = swarmkeeper(&["validate", &dir.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is valid"));
}

#[test]
fn every_invalid_case_exits_1_with_positions_in_text_and_json() {
    let cases = common::cases(&common::corpus_dir("invalid"));
    assert!(cases.len() >= 40);
    for case in cases {
        let dir = case.to_string_lossy().into_owned();
        let expect = std::fs::read_to_string(case.join("expect")).expect("expect file");
        let expected: Vec<(&str, &str)> = expect
            .lines()
            .filter_map(|l| {
                let (pos, rest) = l.split_once(' ')?;
                let (_severity, rest) = rest.split_once(' ')?;
                let (_code, message) = rest.split_once(' ')?;
                Some((pos, message))
            })
            .collect();

        let out = swarmkeeper(&["validate", &dir]);
        assert_eq!(out.status.code(), Some(1), "{dir}");
        let stderr = text(&out.stderr);
        for (pos, message) in &expected {
            assert!(
                stderr.contains(&format!("--> {pos}")),
                "{dir}: {pos} missing from\n{stderr}"
            );
            assert!(stderr.contains(message), "{dir}: `{message}` missing from\n{stderr}");
        }
        assert!(stderr.contains("Nothing was changed"), "{dir}");

        let out = swarmkeeper(&["validate", &dir, "--output", "json"]);
        assert_eq!(out.status.code(), Some(1), "{dir}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        assert_eq!(report["valid"], false);
        let got: Vec<(String, String)> = report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .map(|d| {
                (
                    format!("{}:{}:{}", d["file"].as_str().unwrap_or("-"), d["line"], d["column"]),
                    d["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = expected.iter().map(|(p, m)| (p.to_string(), m.to_string())).collect();
        assert_eq!(got, want, "{dir}");
    }
}

#[test]
fn the_committed_schema_is_what_the_binary_prints() {
    let out = swarmkeeper(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    let committed_path = common::repo_root().join("manifests/schema/swarmkeeper.schema.json");
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&committed_path).expect("manifests/schema/swarmkeeper.schema.json exists"),
    )
    .expect("committed schema is JSON");
    assert_eq!(
        printed, committed,
        "regenerate it: swarmkeeper schema > manifests/schema/swarmkeeper.schema.json"
    );
    assert_eq!(
        printed["additionalProperties"], false,
        "unknown top-level keys are rejected"
    );
}

#[test]
fn help_and_version() {
    for args in [&["--help"][..], &["validate", "--help"], &["schema", "--help"]] {
        let out = swarmkeeper(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(text(&out.stdout).contains("Usage"), "{args:?}");
    }
    let out = swarmkeeper(&["--version"]);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("swarmkeeper {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let out = swarmkeeper(&["validate", "/nonexistent/desired-state"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is not a directory"));
    assert!(!Path::new("/nonexistent/desired-state").exists());
}

#[test]
fn durations_below_their_minimum_are_refused_naming_the_flag() {
    let dir = common::repo_root().join("manifests/examples/nextcloud");
    let dir = dir.to_string_lossy();
    for (flag, value, minimum) in [
        ("--resync", "0s", "1s"),
        ("--resync", "500ms", "1s"),
        ("--lease-ttl", "0s", "3s"),
        ("--lease-ttl", "2s", "3s"),
        ("--shutdown-grace", "0s", "1s"),
        ("--poll", "0s", "100ms"),
    ] {
        let out = swarmkeeper(&["run", &dir, "--listen", "127.0.0.1:0", flag, value]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("must be at least {minimum}")),
            "{flag} {value}: {stderr}"
        );
    }
    let out = swarmkeeper(&[
        "run",
        "--git",
        "file:///nonexistent",
        "--listen",
        "127.0.0.1:0",
        "--git-interval",
        "0s",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--git-interval") && stderr.contains("must be at least 1s"),
        "{stderr}"
    );
}

#[test]
fn help_never_shows_environment_values() {
    let token_url = "https://bot:ghp_helpTokenValue123@git.example.com/org/repo.git";
    for args in [&["run", "--help"][..], &["run", "-h"], &["help", "run"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("SWARMKEEPER_GIT", token_url)
            .env("SWARMKEEPER_GIT_BRANCH", "branch-value-xyz")
            .env("SWARMKEEPER_LISTEN", "127.0.0.1:19999")
            .env("SWARMKEEPER_RESYNC", "77s")
            .output()
            .expect("the binary runs");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {all}");
        assert!(
            all.contains("SWARMKEEPER_GIT"),
            "{args:?}: the variable's name is shown: {all}"
        );
        for value in ["ghp_helpTokenValue123", "branch-value-xyz", "127.0.0.1:19999", "77s"] {
            assert!(!all.contains(value), "{args:?}: `{value}` shown in\n{all}");
        }
    }
}

/// An engine that cannot be reached: the cause is said once, then what to
/// do (the error's chain once printed it a second time after the advice).
#[test]
fn an_unreachable_engine_is_said_once_with_what_to_do() {
    let dir = common::DesiredDir::new("cli-no-engine");
    dir.stacks(&[("web", "services:\n  web:\n    image: busybox\n")]);
    let socket = dir.path.join("no-such-docker.sock");
    for args in [&["reconcile", "--dry-run"][..], &["reconcile"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
            .args(args)
            .arg(&dir.path)
            .env("NO_COLOR", "1")
            .env("DOCKER_HOST", format!("unix://{}", socket.display()))
            .output()
            .expect("the binary runs");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        let cause = format!("Socket not found: {}", socket.display());
        assert_eq!(
            stderr.matches(&cause).count(),
            1,
            "{args:?}: the cause once in\n{stderr}"
        );
        assert!(stderr.contains("Set DOCKER_HOST"), "{args:?}: what to do in\n{stderr}");
        let (before, after) = stderr.split_once("Set DOCKER_HOST").unwrap_or_default();
        assert!(
            before.contains(&cause) && !after.contains("Socket not found"),
            "{args:?}: the cause before what to do, not after it:\n{stderr}"
        );
    }
}

/// `--listen` names the controller's address everywhere: `status` takes it
/// (and still `--address`, its old name), and says it in the error when
/// nothing answers there.
#[test]
fn status_takes_the_controllers_listen_address_under_either_name() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = unused.local_addr().expect("address").to_string();
    drop(unused);
    for flag in ["--listen", "--address"] {
        let out = swarmkeeper(&["status", flag, &addr]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flag}: {stderr}");
        assert!(
            stderr.contains(&format!("no controller answers on {addr}")),
            "{flag}: {stderr}"
        );
    }
    let help = text(&swarmkeeper(&["status", "--help"]).stdout);
    assert!(help.contains("--listen"), "{help}");
    // Like `run`, the address may come from SWARMKEEPER_LISTEN.
    let out = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args(["status"])
        .env("NO_COLOR", "1")
        .env("SWARMKEEPER_LISTEN", &addr)
        .output()
        .expect("the binary runs");
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("no controller answers on {addr}")), "{stderr}");
}
