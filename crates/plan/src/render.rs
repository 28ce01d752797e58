//! How a plan reads: Terraform-style text for people (`+` create, `~`
//! update with old → new per field, `-` delete, a summary line) and JSON for
//! machines. Secret contents are not part of any spec, so cannot leak here.

use std::fmt::Write as _;

use serde::Serialize;

use crate::plan::{Action, Op, Plan, Summary};
use crate::spec::Mode;

struct Paint {
    color: bool,
}

impl Paint {
    fn op(&self, op: Op, text: &str) -> String {
        let code = match op {
            Op::Create => "32",
            Op::Update => "33",
            Op::Delete => "31",
        };
        self.code(code, text)
    }
    fn code(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

fn symbol(op: Op) -> &'static str {
    match op {
        Op::Create => "+",
        Op::Update => "~",
        Op::Delete => "-",
    }
}

/// The plan for a person. `verbose` adds unmanaged objects.
pub fn text(plan: &Plan, color: bool, verbose: bool) -> String {
    let p = Paint { color };
    let mut out = String::new();
    for w in &plan.warnings {
        let _ = writeln!(out, "{} {w}", p.code("1;33", "warning:"));
    }
    if let Some(nodes) = &plan.nodes {
        let q = nodes.quorum;
        if !q.ok {
            let _ = writeln!(out, "{} {}", p.code("1;31", "error:"), nodes.problems[0]);
        }
        for problem in nodes.problems.iter().skip(usize::from(!q.ok)) {
            let _ = writeln!(out, "{} {problem}", p.code("1;33", "note:"));
        }
        for progress in &nodes.progress {
            let _ = writeln!(out, "{} {progress}", p.code("2", "in progress:"));
        }
    }
    if plan.is_empty() {
        let _ = writeln!(out, "No changes. Everything matches the desired state.");
    } else {
        let _ = writeln!(out, "swarmkeeper will perform the following actions:\n");
        for step in &plan.steps {
            let op = step.action.op();
            let head = format!("{} {} \"{}\"", symbol(op), step.action.kind(), step.action.name());
            let _ = writeln!(
                out,
                "  {}  {}",
                p.op(op, &head),
                p.code("2", &format!("# {}", step.reason))
            );
            match &step.action {
                Action::CreateService { spec } => {
                    let mode = match &spec.mode {
                        Mode::Replicated { replicas } => format!("replicas: {replicas}"),
                        Mode::Global => "mode: global".to_owned(),
                        Mode::ReplicatedJob { total_completions, .. } => {
                            format!("job, completions: {total_completions}")
                        }
                        Mode::GlobalJob => "mode: global job".to_owned(),
                    };
                    let _ = writeln!(out, "      image: {}   {mode}", spec.task.container.image);
                }
                Action::CreateNetwork { spec } => {
                    let _ = writeln!(out, "      driver: {}", spec.driver);
                }
                Action::UpdateNode { change, .. } => {
                    let _ = writeln!(out, "      {}", serde_json::to_string(change).unwrap_or_default());
                }
                Action::UpdateService { changes, .. } => {
                    for c in changes {
                        let line = format!("~ {}: {} → {}", c.path, short(&c.old), short(&c.new));
                        let _ = writeln!(out, "      {}", p.op(Op::Update, &line));
                    }
                }
                _ => {}
            }
        }
        let _ = writeln!(out);
    }
    if verbose && !plan.unmanaged.is_empty() {
        let _ = writeln!(out, "Unmanaged (left alone, no ownership label):");
        for u in &plan.unmanaged {
            let _ = writeln!(out, "  {} {}", u.kind, u.name);
        }
        let _ = writeln!(out);
    }
    let s = plan.summary();
    if !plan.is_empty() {
        let _ = writeln!(out, "{}", summary_line(s));
    }
    out
}

pub fn summary_line(s: Summary) -> String {
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        s.add, s.change, s.destroy
    )
}

/// A JSON value shown compactly, long ones cut in the middle.
fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 120 {
        return s;
    }
    let head: String = s.chars().take(58).collect();
    let tail: String = s.chars().rev().take(58).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{head}…{tail}")
}

/// The `--output json` document.
#[derive(Serialize)]
pub struct JsonPlan<'a> {
    pub format_version: u32,
    pub changes: bool,
    pub summary: Summary,
    pub steps: &'a [crate::plan::Step],
    pub warnings: &'a [String],
    pub unmanaged: &'a [crate::observed::Unmanaged],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<&'a crate::nodes::NodeReport>,
}

pub fn json(plan: &Plan) -> JsonPlan<'_> {
    JsonPlan {
        format_version: 1,
        changes: !plan.is_empty(),
        summary: plan.summary(),
        steps: &plan.steps,
        warnings: &plan.warnings,
        unmanaged: &plan.unmanaged,
        nodes: plan.nodes.as_ref(),
    }
}
