//! `swarmkeeper validate`: load a desired-state directory and report.

use std::process::ExitCode;

use serde::Serialize;
use swarmkeeper_model::ResolvedDiagnostic;

use crate::keys::load_dir;

use super::process_environment;
use crate::cli::{OutputFormat, ValidateArgs};
use crate::render;

#[derive(Serialize)]
struct JsonReport {
    valid: bool,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<ResolvedDiagnostic>,
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let outcome = load_dir(&args.dir, &process_environment());
    let resolved: Vec<ResolvedDiagnostic> = outcome
        .diagnostics
        .iter()
        .map(|d| d.resolve(&outcome.sources))
        .collect();
    let errors = outcome.diagnostics.error_count();
    let warnings = resolved.len() - errors;
    let valid = outcome.state.is_some();
    match args.output {
        OutputFormat::Json => {
            let report = JsonReport {
                valid,
                errors,
                warnings,
                diagnostics: resolved,
            };
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        OutputFormat::Text => {
            let style = render::Style::for_stderr();
            for d in &resolved {
                eprint!("{}", render::diagnostic(d, style));
            }
            let summary = summary_line(valid, errors, warnings, &args.dir.display().to_string());
            eprintln!("{summary}");
        }
    }
    Ok(if valid { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn summary_line(valid: bool, errors: usize, warnings: usize, dir: &str) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if valid {
        format!("{dir} is valid ({}).", plural(warnings, "warning"))
    } else {
        format!(
            "{dir} is invalid: {}, {}. Nothing was changed; fix the errors above and run `swarmkeeper validate` again.",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}
