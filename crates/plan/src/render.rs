//! How a plan reads: Terraform-style text for people (`+` create, `~`
//! update with old → new per field, `-` delete, a summary line) and JSON for
//! machines. Secret contents are not part of any spec, so cannot leak here;
//! environment values of sensitive keys are shown as `(sensitive)` in both
//! (see [`crate::redact`]).

use std::fmt::Write as _;

use serde::Serialize;

use crate::plan::{Action, Op, Plan, Summary, SwarmPart};
use crate::redact::{ENV_PATH, Redactor};
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
    let redactor = Redactor {
        listed: &plan.sensitive_env,
    };
    let mut out = String::new();
    for w in &plan.warnings {
        let _ = writeln!(out, "{} {w}", p.code("1;33", "warning:"));
    }
    if let Some(nodes) = &plan.nodes {
        let q = nodes.quorum;
        if !q.ok
            && let Some(first) = nodes.problems.first()
        {
            let _ = writeln!(out, "{} {first}", p.code("1;31", "error:"));
        }
        for problem in nodes.problems.iter().skip(usize::from(!q.ok)) {
            let _ = writeln!(out, "{} {problem}", p.code("1;33", "note:"));
        }
        for progress in &nodes.progress {
            let _ = writeln!(out, "{} {progress}", p.code("2", "in progress:"));
        }
    }
    if let SwarmPart::Unreachable { why } = &plan.swarm {
        let _ = writeln!(out, "{} the swarm half is not planned: {why}", p.code("1;33", "note:"));
    }
    if !plan.pending() && !plan.held.is_empty() {
        let _ = writeln!(
            out,
            "Nothing will be applied: every difference is held by a suspension.\n"
        );
    } else if !plan.pending() && plan.swarm != SwarmPart::Planned {
        let _ = writeln!(
            out,
            "No changes in AWS. The swarm half was not planned (see the note above)."
        );
    } else if !plan.pending() {
        let _ = writeln!(out, "No changes. Everything matches the desired state.");
    } else {
        if !plan.steps.is_empty() {
            let _ = writeln!(out, "swarmkeeper will perform the following actions:\n");
            for step in &plan.steps {
                write_step(&mut out, &p, &redactor, step, None);
            }
            let _ = writeln!(out);
        }
        if !plan.after_swarm.is_empty() {
            let _ = writeln!(
                out,
                "After the swarm exists (its first manager creates it when its instance boots), \
                 planned against an empty swarm — known after apply:\n"
            );
            for step in &plan.after_swarm {
                let why = match step.action {
                    Action::UpdateNode { .. } | Action::Aws { .. } => step.reason.clone(),
                    _ => "after the swarm exists".to_owned(),
                };
                write_step(&mut out, &p, &redactor, step, Some(&why));
            }
            let _ = writeln!(out);
        }
        if !plan.after_apply.is_empty() {
            let _ = writeln!(
                out,
                "After this apply creates what they wait for, planned with the values known only then \
                 (known after apply); the apply's next round runs them:\n"
            );
            for waiting in &plan.after_apply {
                let wait = format!("waits for {}", waiting.waits_for);
                write_step(&mut out, &p, &redactor, &waiting.step, Some(&wait));
            }
            let _ = writeln!(out);
        }
    }
    if !plan.held.is_empty() {
        let _ = writeln!(
            out,
            "Held by a suspension — differences found, not applied until `swarmkeeper resume`:\n"
        );
        for held in &plan.held {
            let why = format!("held: {}", held.held_by);
            write_step(&mut out, &p, &redactor, &held.step, Some(&why));
        }
        let _ = writeln!(out);
    }
    let (others, legacy): (Vec<_>, Vec<_>) = plan.foreign.iter().partition(|f| f.owner.is_some());
    if verbose {
        if !others.is_empty() {
            let _ = writeln!(out, "Other desired states' objects (left alone):");
            for f in &others {
                let owner = f.owner.as_deref().unwrap_or_default();
                let _ = writeln!(out, "  {} {}  (owned by `{owner}`)", f.kind, f.name);
            }
            let _ = writeln!(out);
        }
        if !legacy.is_empty() {
            let _ = writeln!(
                out,
                "Made by an earlier swarmkeeper, no owner, not declared here (left alone):"
            );
            for f in &legacy {
                let _ = writeln!(out, "  {} {}", f.kind, f.name);
            }
            let _ = writeln!(out);
        }
    } else if !others.is_empty() {
        let owners: std::collections::BTreeSet<&str> = others.iter().filter_map(|f| f.owner.as_deref()).collect();
        let _ = writeln!(
            out,
            "{} object(s) of other desired states left alone ({}); --verbose lists them.",
            others.len(),
            owners
                .into_iter()
                .map(|o| format!("owned by `{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if verbose && !plan.unmanaged.is_empty() {
        let _ = writeln!(out, "Unmanaged (left alone, no ownership label):");
        for u in &plan.unmanaged {
            let _ = writeln!(out, "  {} {}", u.kind, u.name);
        }
        let _ = writeln!(out);
    }
    let s = plan.summary();
    if plan.pending() || !plan.held.is_empty() {
        let _ = writeln!(out, "{}", summary_line(s));
    }
    out
}

/// One step: its head line (`+ kind "name"  # reason`) and what matters
/// of it. `wait` replaces the reason for steps that wait for something.
fn write_step(out: &mut String, p: &Paint, redactor: &Redactor, step: &crate::plan::Step, wait: Option<&str>) {
    let op = step.action.op();
    let head = format!("{} {} \"{}\"", symbol(op), step.action.kind(), step.action.name());
    let _ = writeln!(
        out,
        "  {}  {}",
        p.op(op, &head),
        p.code("2", &format!("# {}", wait.unwrap_or(&step.reason)))
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
        Action::UpdateService {
            changes, spec, notes, ..
        } => {
            for note in notes {
                let _ = writeln!(out, "      # {note}");
            }
            for c in changes {
                if c.path == ENV_PATH {
                    let keys = redactor.env_changes(&spec.name, &c.old, &c.new);
                    let line = format!("~ {}: {}", c.path, keys.join(", "));
                    let _ = writeln!(out, "      {}", p.op(Op::Update, &line));
                    continue;
                }
                let (old, new) = (
                    redact_at(redactor, &spec.name, &c.path, &c.old),
                    redact_at(redactor, &spec.name, &c.path, &c.new),
                );
                for (op, line) in change_lines(&c.path, &old, &new) {
                    let _ = writeln!(out, "      {}", p.op(op, &line));
                }
            }
        }
        _ => {}
    }
}

pub fn summary_line(s: Summary) -> String {
    let mut line = format!(
        "Plan: {} to add, {} to change, {} to destroy",
        s.add, s.change, s.destroy
    );
    if s.after_swarm > 0 {
        let _ = write!(line, "; {} more after the swarm exists", s.after_swarm);
    }
    if s.after_apply > 0 {
        let _ = write!(line, "; {} more after this apply (known after apply)", s.after_apply);
    }
    if s.held > 0 {
        let _ = write!(line, "; {} held (suspended)", s.held);
    }
    line.push('.');
    line
}

/// About how many characters of a value a line shows.
const VALUE_WIDTH: usize = 120;

/// The lines of one changed field: a list element by element (`-`
/// removed, `+` added, `~` changed with its sub-fields), anything else as
/// `old → new`, a long value elided away from where the two differ.
fn change_lines(path: &str, old: &serde_json::Value, new: &serde_json::Value) -> Vec<(Op, String)> {
    use crate::list_diff::{ElementChange, diff_lists, elide_pair};
    use serde_json::Value as J;
    let list = |v: &J| match v {
        J::Array(items) => Some(items.clone()),
        J::Null => Some(Vec::new()),
        _ => None,
    };
    let (Some(a), Some(b)) = (list(old), list(new)) else {
        let (o, n) = elide_pair(&old.to_string(), &new.to_string(), VALUE_WIDTH);
        return vec![(Op::Update, format!("~ {path}: {o} → {n}"))];
    };
    let one = |v: &J| elide_pair(&crate::list_diff::compact(v).to_string(), "", VALUE_WIDTH).0;
    let mut lines = Vec::new();
    for change in diff_lists(&a, &b) {
        match change {
            ElementChange::Removed { index, value } => {
                lines.push((Op::Delete, format!("- {path}[{index}]: {}", one(&value))));
            }
            ElementChange::Added { index, value } => {
                lines.push((Op::Create, format!("+ {path}[{index}]: {}", one(&value))));
            }
            ElementChange::Changed {
                index,
                identity,
                fields,
            } => {
                let name = identity.map(|id| format!(" ({id})")).unwrap_or_default();
                for f in fields {
                    let (o, n) = elide_pair(&f.old.to_string(), &f.new.to_string(), VALUE_WIDTH);
                    let sub = if f.path.is_empty() {
                        String::new()
                    } else {
                        format!(" {}:", f.path)
                    };
                    lines.push((Op::Update, format!("~ {path}[{index}]{name}:{sub} {o} → {n}")));
                }
            }
        }
    }
    lines
}

/// The `--output json` document.
#[derive(Serialize)]
pub struct JsonPlan<'a> {
    pub format_version: u32,
    pub changes: bool,
    pub summary: Summary,
    /// The steps, with sensitive environment values redacted.
    pub steps: Vec<serde_json::Value>,
    /// Whether the swarm half was planned against the swarm.
    pub swarm: &'a SwarmPart,
    /// Swarm steps that follow once the swarm exists (see `swarm`).
    pub after_swarm: Vec<serde_json::Value>,
    /// Steps that wait on an earlier step of this apply, each with
    /// `waits_for`; the apply's next round runs them.
    pub after_apply: Vec<serde_json::Value>,
    /// Steps a suspension holds back, each with `held_by`; not applied.
    pub held: Vec<serde_json::Value>,
    pub warnings: &'a [String],
    pub unmanaged: &'a [crate::observed::Unmanaged],
    /// Objects of other desired states (`owner`), or of none (made before
    /// owners, not declared here): never touched.
    pub foreign: &'a [crate::observed::Foreign],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<&'a crate::node_types::NodeReport>,
}

pub fn json(plan: &Plan) -> JsonPlan<'_> {
    JsonPlan {
        format_version: 1,
        changes: plan.pending(),
        summary: plan.summary(),
        steps: plan.steps.iter().map(|s| redacted_step(plan, s)).collect(),
        swarm: &plan.swarm,
        after_swarm: plan.after_swarm.iter().map(|s| redacted_step(plan, s)).collect(),
        after_apply: plan
            .after_apply
            .iter()
            .map(|w| {
                let mut v = redacted_step(plan, &w.step);
                if let Some(map) = v.as_object_mut() {
                    map.insert("waits_for".to_owned(), serde_json::Value::String(w.waits_for.clone()));
                }
                v
            })
            .collect(),
        held: plan
            .held
            .iter()
            .map(|h| {
                let mut v = redacted_step(plan, &h.step);
                if let Some(map) = v.as_object_mut() {
                    map.insert("held_by".to_owned(), serde_json::Value::String(h.held_by.clone()));
                }
                v
            })
            .collect(),
        warnings: &plan.warnings,
        unmanaged: &plan.unmanaged,
        foreign: &plan.foreign,
        nodes: plan.nodes.as_ref(),
    }
}

/// A step as JSON, its services' sensitive environment values redacted;
/// a changed sensitive value is listed by key under `sensitive_changed`.
fn redacted_step(plan: &Plan, step: &crate::plan::Step) -> serde_json::Value {
    let redactor = Redactor {
        listed: &plan.sensitive_env,
    };
    let Ok(mut v) = serde_json::to_value(step) else {
        // Never expected; a step that cannot be shown is not shown.
        return serde_json::json!({ "id": step.id, "reason": step.reason });
    };
    // What the text plan's header line says, for every kind of step alike:
    // a reader of `-o json` need not know each action's shape.
    if let Some(map) = v.as_object_mut() {
        map.insert("op".to_owned(), serde_json::json!(step.action.op()));
        map.insert("kind".to_owned(), serde_json::json!(step.action.kind()));
        map.insert("name".to_owned(), serde_json::json!(step.action.name()));
    }
    let service = match &step.action {
        Action::CreateService { spec } | Action::UpdateService { spec, .. } => spec.name.clone(),
        _ => return v,
    };
    if let Some(spec) = v.get_mut("spec") {
        *spec = redact_at(&redactor, &service, "", spec);
    }
    if let Some(serde_json::Value::Array(changes)) = v.get_mut("changes") {
        for c in changes.iter_mut() {
            let path = c.get("path").and_then(|p| p.as_str()).unwrap_or_default().to_owned();
            let old = c.get("old").cloned().unwrap_or_default();
            let new = c.get("new").cloned().unwrap_or_default();
            if path == ENV_PATH {
                let keys = redactor.changed_keys(&service, &old, &new);
                if !keys.is_empty() {
                    c["sensitive_changed"] = serde_json::json!(keys);
                }
            }
            c["old"] = redact_at(&redactor, &service, &path, &old);
            c["new"] = redact_at(&redactor, &service, &path, &new);
        }
    }
    v
}

/// `value`, found at `path` of a service spec, with the environment inside
/// it (or it, when it is the environment) redacted.
fn redact_at(redactor: &Redactor, service: &str, path: &str, value: &serde_json::Value) -> serde_json::Value {
    if path == ENV_PATH {
        return redactor.env(service, value);
    }
    let rest = if path.is_empty() {
        ENV_PATH
    } else {
        match ENV_PATH.strip_prefix(path).and_then(|r| r.strip_prefix('.')) {
            Some(rest) => rest,
            None => return value.clone(),
        }
    };
    let mut out = value.clone();
    let mut at = Some(&mut out);
    for key in rest.split('.') {
        at = at.and_then(|v| v.get_mut(key));
    }
    if let Some(env) = at {
        *env = redactor.env(service, env);
    }
    out
}
