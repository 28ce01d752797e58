//! How `reconcile` shows an apply while it runs.
//!
//! On a terminal (stderr is a TTY and `TERM` is not `dumb`): one live line
//! (steps done of total, running, failed, elapsed) drawn by `indicatif`,
//! a detailed line above it for each step that failed, was skipped or not
//! started, and a summary in its place at the end. Elsewhere (CI, logs, pipes): one line
//! per step as it ends, as always.
//!
//! The executor tells about steps only through the hooks it already has:
//! [`crate::apply::Progress`] as each step ends, `on_round` of
//! [`crate::cycle::ApplyOptions`] as a round starts. What runs is read from
//! the `action` span the executor opens around each step it started (a
//! tracing layer counts the open ones), so the executor needs no hook more.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use swarmkeeper_plan::plan::Op;
use swarmkeeper_plan::{Plan, Step};
use tracing::span::{Attributes, Id};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

use crate::apply::StepOutcome;

/// Where the per-step reports go.
#[derive(Clone)]
pub enum Reporter {
    /// One line per step on stderr.
    Lines { color: bool },
    /// The live line on a terminal.
    Live(Arc<Live>),
}

impl Reporter {
    /// The live line when stderr is a terminal, the per-step lines
    /// otherwise. `color` paints the step marks.
    pub fn for_stderr(color: bool) -> Self {
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        if !std::io::stderr().is_terminal() || dumb {
            return Reporter::Lines { color };
        }
        let live = Arc::new(Live::new(color));
        // Counts the steps running; without it (a subscriber already set)
        // the line says 0 running and the rest still holds.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Running(live.clone())));
        Reporter::Live(live)
    }

    /// A round starts: `print` shows its plan (above the live line).
    pub fn round(&self, plan: &Plan, print: impl FnOnce()) {
        match self {
            Reporter::Lines { .. } => print(),
            Reporter::Live(live) => {
                live.bar.suspend(print);
                live.bar.inc_length(plan.steps.len() as u64);
                live.refresh();
                live.show();
            }
        }
    }

    /// The executor's hook: called as each step ends.
    pub fn progress(&self) -> crate::apply::Progress {
        match self.clone() {
            Reporter::Lines { color } => {
                Arc::new(move |step, outcome| eprintln!("{}", step_line(step, outcome, color)))
            }
            Reporter::Live(live) => Arc::new(move |step, outcome| live.ended(step, outcome)),
        }
    }

    /// The apply is over: on a terminal, the final line and a summary.
    pub fn finish(&self) {
        if let Reporter::Live(live) = self {
            live.finish();
        }
    }
}

/// What ended so far.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
    pub not_started: usize,
}

impl Counts {
    fn add(&mut self, outcome: &StepOutcome) {
        match outcome {
            StepOutcome::Done { .. } => self.done += 1,
            StepOutcome::Failed { .. } => self.failed += 1,
            StepOutcome::Skipped { .. } => self.skipped += 1,
            StepOutcome::Cancelled => self.not_started += 1,
        }
    }

    fn ended(&self) -> usize {
        self.done + self.failed + self.skipped + self.not_started
    }
}

/// The live line's message: what runs and what failed.
pub fn status_message(running: usize, counts: &Counts) -> String {
    let mut message = format!("{running} running, {} failed", counts.failed);
    if counts.skipped > 0 {
        message.push_str(&format!(", {} skipped", counts.skipped));
    }
    message
}

/// The summary printed under the final line.
pub fn summary(total: usize, counts: &Counts, took: Duration) -> String {
    let mut out = format!(
        "{} of {total} step(s) ended: {} done, {} failed, {} skipped",
        counts.ended(),
        counts.done,
        counts.failed,
        counts.skipped
    );
    if counts.not_started > 0 {
        out.push_str(&format!(", {} not started", counts.not_started));
    }
    out.push_str(&format!(" in {:.1}s.", took.as_secs_f64()));
    out
}

/// The live line and what it counts.
pub struct Live {
    bar: ProgressBar,
    started: Instant,
    color: bool,
    counts: Mutex<Counts>,
    running: AtomicUsize,
}

impl Live {
    fn new(color: bool) -> Self {
        // Hidden until the first round's plan is printed.
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        let template = if color {
            "{spinner:.cyan} Applying: {pos}/{len} steps, {msg}, {elapsed}"
        } else {
            "{spinner} Applying: {pos}/{len} steps, {msg}, {elapsed}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        let live = Self {
            bar,
            started: Instant::now(),
            color,
            counts: Mutex::new(Counts::default()),
            running: AtomicUsize::new(0),
        };
        live.refresh();
        live
    }

    /// Draw the line from now on (the elapsed time ticking).
    fn show(&self) {
        if self.bar.is_hidden() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    fn counts(&self) -> Counts {
        self.counts.lock().map(|c| *c).unwrap_or_default()
    }

    fn refresh(&self) {
        self.bar
            .set_message(status_message(self.running.load(Ordering::Relaxed), &self.counts()));
    }

    fn ended(&self, step: &Step, outcome: &StepOutcome) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.add(outcome);
        }
        if !matches!(outcome, StepOutcome::Done { .. }) {
            let line = step_line(step, outcome, self.color);
            self.bar.suspend(|| eprintln!("{line}"));
        }
        self.bar.inc(1);
        self.refresh();
    }

    fn finish(&self) {
        // The summary takes the live line's place.
        self.bar.finish_and_clear();
        let total = usize::try_from(self.bar.length().unwrap_or(0)).unwrap_or(usize::MAX);
        eprintln!("{}", summary(total, &self.counts(), self.started.elapsed()));
    }
}

/// Counts the executor's open `action` spans: the steps running.
struct Running(Arc<Live>);

fn is_action(metadata: &Metadata<'_>) -> bool {
    metadata.name() == "action" && metadata.target() == "swarmkeeper::apply"
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Running {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        if is_action(attrs.metadata()) {
            self.0.running.fetch_add(1, Ordering::Relaxed);
            self.0.refresh();
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if ctx.metadata(&id).is_some_and(is_action) {
            // Never below zero, whatever order the events come in.
            let _ = self
                .0
                .running
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            self.0.refresh();
        }
    }
}

/// One step's line, as printed without a terminal (and on one for the
/// steps that did not succeed).
pub fn step_line(step: &Step, outcome: &StepOutcome, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let what = format!("{} {}", step.action.kind(), step.action.name());
    let verb = match step.action.op() {
        Op::Create => "created",
        Op::Update => "updated",
        Op::Delete => "removed",
    };
    match outcome {
        StepOutcome::Done { took, already_gone } => {
            let note = if *already_gone { ", already gone" } else { "" };
            format!("  {} {verb} {what} ({} ms{note})", paint("32", "✓"), took.as_millis())
        }
        StepOutcome::Failed { error, .. } => format!("  {} {what}: {error}", paint("31", "✗")),
        StepOutcome::Skipped { because_of } => {
            format!("  {} {what}: skipped, step {because_of} failed", paint("33", "-"))
        }
        StepOutcome::Cancelled => format!("  {} {what}: not started (shutting down)", paint("33", "-")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_what_runs_and_what_failed() {
        let mut counts = Counts::default();
        assert_eq!(status_message(3, &counts), "3 running, 0 failed");
        counts.add(&StepOutcome::Failed {
            error: "x".into(),
            kind: swarmkeeper_plan::ErrorKind::Unknown,
        });
        counts.add(&StepOutcome::Skipped { because_of: 1 });
        assert_eq!(status_message(0, &counts), "0 running, 1 failed, 1 skipped");
    }

    #[test]
    fn the_summary_counts_every_outcome() {
        let mut counts = Counts::default();
        for outcome in [
            StepOutcome::Done {
                already_gone: false,
                took: Duration::ZERO,
            },
            StepOutcome::Done {
                already_gone: true,
                took: Duration::ZERO,
            },
            StepOutcome::Failed {
                error: "x".into(),
                kind: swarmkeeper_plan::ErrorKind::Unknown,
            },
            StepOutcome::Skipped { because_of: 2 },
        ] {
            counts.add(&outcome);
        }
        assert_eq!(
            summary(5, &counts, Duration::from_millis(1300)),
            "4 of 5 step(s) ended: 2 done, 1 failed, 1 skipped in 1.3s."
        );
        counts.add(&StepOutcome::Cancelled);
        assert_eq!(
            summary(5, &counts, Duration::from_secs(2)),
            "5 of 5 step(s) ended: 2 done, 1 failed, 1 skipped, 1 not started in 2.0s."
        );
    }
}
