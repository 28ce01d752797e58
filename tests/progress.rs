//! `swarmkeeper reconcile` shows an apply's progress on a terminal: the
//! real binary on the lab, once under a pseudo-terminal (util-linux's
//! `script`, which tests/lab/up installs) and once with pipes, where the
//! per-step lines stay as they are.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use common::{DesiredDir, reset, swarmkeeper};

fn stack(image: &str) -> String {
    format!("services:\n  a:\n    image: {image}\n  b:\n    image: {image}\n")
}

/// Single quotes for `sh -c` (a quote inside becomes `'\''`).
fn quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// Run the binary with stdin, stdout and stderr on one pseudo-terminal;
/// what the terminal showed, escape sequences and all.
fn under_pty(lab: &BTreeMap<String, String>, args: &[&str]) -> (Option<i32>, String) {
    let command = std::iter::once(env!("CARGO_BIN_EXE_swarmkeeper"))
        .chain(args.iter().copied())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["--quiet", "--return", "--flush", "--command", &command, "/dev/null"])
        .envs(lab)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn an_apply_shows_a_live_line_on_a_terminal_and_step_lines_elsewhere() {
    let _serial = common::serial();
    let lab = common::lab("an_apply_shows_a_live_line_on_a_terminal_and_step_lines_elsewhere");
    reset(&lab, &[]);
    let dir = DesiredDir::new("progress");
    dir.stacks(&[("pg", &stack("swarmkeeper-lab/web:1"))]);

    // On a terminal: the live line (done/total, running, failed, elapsed)
    // instead of a line per step, and the summary at the end.
    let (code, shown) = under_pty(&lab, &["reconcile", &dir.arg()]);
    assert_eq!(code, Some(0), "{shown}");
    let line = live_line(&shown);
    assert!(line.is_some(), "no live line in\n{shown:?}");
    assert!(
        shown.contains("3 of 3 step(s) ended: 3 done, 0 failed, 0 skipped in "),
        "the summary:\n{shown:?}"
    );
    assert!(
        shown.contains("Apply complete: 3 added, 0 changed, 0 destroyed"),
        "{shown:?}"
    );
    assert!(
        !shown.contains("✓ created"),
        "no per-step lines on a terminal:\n{shown:?}"
    );

    // Without a terminal: the per-step lines, as before, and no live line.
    dir.stacks(&[("pg", &stack("swarmkeeper-lab/web:2"))]);
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("  ✓ updated service pg_a ("), "{run:?}");
    assert!(run.stderr.contains("  ✓ updated service pg_b ("), "{run:?}");
    assert!(!run.stderr.contains("Applying:"), "{run:?}");
    assert!(!run.stderr.contains("step(s) ended"), "{run:?}");
    assert!(!run.stderr.contains('\r') && !run.stderr.contains('\x1b'), "{run:?}");
    reset(&lab, &[]);
}

/// The first drawing of the live line: `Applying: N/3 steps, R running,
/// F failed, ELAPSED`, found without a regex crate.
fn live_line(shown: &str) -> Option<&str> {
    shown.split(['\r', '\n']).find(|part| {
        let Some(rest) = part.split("Applying: ").nth(1) else {
            return false;
        };
        let Some((done, rest)) = rest.split_once("/3 steps, ") else {
            return false;
        };
        let Some((running, rest)) = rest.split_once(" running, ") else {
            return false;
        };
        done.parse::<u32>().is_ok() && running.parse::<u32>().is_ok() && rest.contains(" failed, ")
    })
}
