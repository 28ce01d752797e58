//! The controller's one error policy (kube-runtime's `error_policy`): a
//! cycle ends in a [`CycleEnd`], and [`policy`] alone maps it to the next
//! [`Requeue`]. Pure: no clock, no randomness (the jitter is a number the
//! caller draws), no I/O; tested table-driven below.
//!
//! | cycle ended                          | next cycle                                   |
//! |--------------------------------------|----------------------------------------------|
//! | done, nothing pending                | resync (jittered)                            |
//! | done, node work in progress (drain)  | 5 s ([`NODE_REQUEUE`]), at most the resync   |
//! | done, a Down node due for replacement| when it is due, at most the resync           |
//! | failed: transient, not found, unknown| backoff 2 s · 2ⁿ⁻¹ ± 20 %, up to [`BACKOFF_MAX`] (256 s; not capped by the resync) |
//! | failed: conflict, permission, invalid| on a change (desired state, node event, lease) or at the resync, which observes again |
//!
//! A change of the desired state or a node event starts a cycle at once
//! whatever the requeue says; the failure count (and so the backoff)
//! resets on the first cycle that succeeds.

use std::time::Duration;

use swarmkeeper_aws::AwsError;
use swarmkeeper_plan::ErrorKind;
use swarmkeeper_swarm::EngineError;

use crate::cycle::StepFailure;
use crate::execute::StepError;

/// How soon a cycle with node work in progress (a drain) runs again.
pub const NODE_REQUEUE: Duration = Duration::from_secs(5);

/// The first retry after a transient failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(2);

/// The longest wait between retries of a transient failure, before jitter
/// (2 s doubled seven times: about four minutes).
pub const BACKOFF_MAX: Duration = Duration::from_secs(256);

/// How a cycle ended, as far as the next one goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleEnd {
    /// Applied, or nothing to do. `node_work`: a drain in progress; `due`:
    /// when a Down node reaches `replace_after`.
    Done { node_work: bool, due: Option<Duration> },
    /// Failed, with the kind that decides the retry (see [`dominant`]).
    Failed { kind: ErrorKind },
}

/// Why the next cycle runs when it does (logged, and in `/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Nothing pending: the periodic resync that catches drift.
    Resync,
    /// Node work in progress (a drain): looked at again soon.
    NodeWork,
    /// A node Down for less than `replace_after`: looked at when due.
    NodeDue,
    /// The `failures`-th failure in a row that may pass if tried again.
    Backoff { failures: u32 },
}

/// What the controller does after a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Run the next cycle after this long (or earlier, on a change).
    After(Duration, Reason),
    /// A failure that trying again unchanged will not fix: the next cycle
    /// runs on a change of the desired state, a node event, or at the
    /// resync (`after`), which observes again. Never sooner.
    AwaitChange { kind: ErrorKind, after: Duration },
}

impl Requeue {
    /// How long the loop sleeps unless something changes.
    pub fn wait(&self) -> Duration {
        match *self {
            Requeue::After(d, _) | Requeue::AwaitChange { after: d, .. } => d,
        }
    }

    /// The short name of the decision, for logs and `/status`.
    pub fn label(&self) -> &'static str {
        match self {
            Requeue::After(_, Reason::Resync) => "resync",
            Requeue::After(_, Reason::NodeWork) => "node_work",
            Requeue::After(_, Reason::NodeDue) => "node_due",
            Requeue::After(_, Reason::Backoff { .. }) => "backoff",
            Requeue::AwaitChange { .. } => "await_change",
        }
    }
}

/// `d` ± 20 % for `draw` in [0, 1): replicas and retries do not march in step.
pub fn jittered(d: Duration, draw: f64) -> Duration {
    d.mul_f64(0.8 + draw.clamp(0.0, 1.0) * 0.4)
}

/// The backoff before jitter after `failures` failures in a row (the
/// first is 1): 2 s, 4 s, 8 s, … up to [`BACKOFF_MAX`].
pub fn backoff_nominal(failures: u32) -> Duration {
    let doublings = failures.max(1).saturating_sub(1).min(16);
    BACKOFF_BASE.saturating_mul(1u32 << doublings).min(BACKOFF_MAX)
}

/// The next cycle after one that ended in `end`, the `failures`-th failure
/// in a row (0 after a success), with a resync period of `resync` and a
/// jitter `draw` in [0, 1).
pub fn policy(end: CycleEnd, failures: u32, resync: Duration, draw: f64) -> Requeue {
    match end {
        CycleEnd::Done { node_work, due } => {
            let soon = [
                node_work.then_some((NODE_REQUEUE, Reason::NodeWork)),
                due.map(|d| (d, Reason::NodeDue)),
            ]
            .into_iter()
            .flatten()
            .min_by_key(|(d, _)| *d);
            match soon {
                Some((d, reason)) => Requeue::After(d.min(resync), reason),
                None => Requeue::After(jittered(resync, draw), Reason::Resync),
            }
        }
        CycleEnd::Failed { kind } if kind.is_retryable() => {
            Requeue::After(jittered(backoff_nominal(failures), draw), Reason::Backoff { failures })
        }
        CycleEnd::Failed { kind } => Requeue::AwaitChange {
            kind,
            after: jittered(resync, draw),
        },
    }
}

/// The kind that decides for a cycle where several steps failed: one that
/// needs a change wins (retrying the cycle sooner would retry that step
/// too), permission first, then invalid, then conflict; otherwise the
/// first retryable kind.
pub fn dominant(kinds: impl IntoIterator<Item = ErrorKind>) -> ErrorKind {
    fn rank(kind: ErrorKind) -> u8 {
        match kind {
            ErrorKind::Permission => 5,
            ErrorKind::Invalid => 4,
            ErrorKind::Conflict => 3,
            ErrorKind::Transient => 2,
            ErrorKind::NotFound => 1,
            ErrorKind::Unknown => 0,
        }
    }
    kinds.into_iter().max_by_key(|k| rank(*k)).unwrap_or(ErrorKind::Unknown)
}

/// A cycle's failure with the kind it was classified as: what step
/// failures and the controller's own errors become before they leave the
/// cycle, so that [`kind_of`] finds the kind behind any context.
#[derive(Debug)]
pub struct Classified {
    pub kind: ErrorKind,
    pub message: String,
}

impl std::fmt::Display for Classified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Classified {}

impl Classified {
    /// The failure of a cycle whose steps failed: `n step(s) failed: …`.
    pub fn steps(failures: &[StepFailure]) -> Self {
        let messages: Vec<String> = failures.iter().map(ToString::to_string).collect();
        Self {
            kind: dominant(failures.iter().map(|f| f.kind)),
            message: format!("{} step(s) failed: {}", failures.len(), messages.join("; ")),
        }
    }
}

/// The kind of a cycle's error: the first classified error in its chain
/// (a provider's, a step's, or the controller's own), else unknown.
pub fn kind_of(error: &anyhow::Error) -> ErrorKind {
    error
        .chain()
        .find_map(|e| {
            if let Some(c) = e.downcast_ref::<Classified>() {
                Some(c.kind)
            } else if let Some(e) = e.downcast_ref::<EngineError>() {
                Some(e.kind())
            } else if let Some(e) = e.downcast_ref::<AwsError>() {
                Some(e.kind())
            } else {
                e.downcast_ref::<StepError>().map(|e| e.kind)
            }
        })
        .unwrap_or(ErrorKind::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESYNC: Duration = Duration::from_secs(60);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_policy_table() {
        use ErrorKind::*;
        let done = |node_work, due| CycleEnd::Done { node_work, due };
        let failed = |kind| CycleEnd::Failed { kind };
        // (cycle end, failures in a row, jitter draw, expected)
        let cases = [
            (done(false, None), 0, 0.5, Requeue::After(RESYNC, Reason::Resync)),
            (done(false, None), 0, 0.0, Requeue::After(secs(48), Reason::Resync)),
            (done(false, None), 0, 1.0, Requeue::After(secs(72), Reason::Resync)),
            (done(true, None), 0, 0.9, Requeue::After(NODE_REQUEUE, Reason::NodeWork)),
            (
                done(false, Some(secs(31))),
                0,
                0.9,
                Requeue::After(secs(31), Reason::NodeDue),
            ),
            (
                done(true, Some(secs(3))),
                0,
                0.9,
                Requeue::After(secs(3), Reason::NodeDue),
            ),
            (
                done(true, Some(secs(30))),
                0,
                0.9,
                Requeue::After(NODE_REQUEUE, Reason::NodeWork),
            ),
            // A node due later than the resync: the resync comes first.
            (
                done(false, Some(secs(600))),
                0,
                0.9,
                Requeue::After(RESYNC, Reason::NodeDue),
            ),
            (
                failed(Transient),
                1,
                0.5,
                Requeue::After(secs(2), Reason::Backoff { failures: 1 }),
            ),
            (
                failed(Transient),
                2,
                0.5,
                Requeue::After(secs(4), Reason::Backoff { failures: 2 }),
            ),
            (
                failed(NotFound),
                3,
                0.5,
                Requeue::After(secs(8), Reason::Backoff { failures: 3 }),
            ),
            (
                failed(Unknown),
                4,
                0.5,
                Requeue::After(secs(16), Reason::Backoff { failures: 4 }),
            ),
            // Not capped by the resync: its own maximum.
            (
                failed(Transient),
                7,
                0.5,
                Requeue::After(secs(128), Reason::Backoff { failures: 7 }),
            ),
            (
                failed(Transient),
                8,
                0.5,
                Requeue::After(secs(256), Reason::Backoff { failures: 8 }),
            ),
            (
                failed(Transient),
                9,
                0.5,
                Requeue::After(secs(256), Reason::Backoff { failures: 9 }),
            ),
            (
                failed(Transient),
                40,
                1.0,
                Requeue::After(Duration::from_millis(307_200), Reason::Backoff { failures: 40 }),
            ),
            (
                failed(Transient),
                1,
                0.0,
                Requeue::After(Duration::from_millis(1600), Reason::Backoff { failures: 1 }),
            ),
            // Needs a change: never sooner than the resync, however many.
            (
                failed(Conflict),
                1,
                0.5,
                Requeue::AwaitChange {
                    kind: Conflict,
                    after: RESYNC,
                },
            ),
            (
                failed(Permission),
                5,
                0.5,
                Requeue::AwaitChange {
                    kind: Permission,
                    after: RESYNC,
                },
            ),
            (
                failed(Invalid),
                30,
                0.0,
                Requeue::AwaitChange {
                    kind: Invalid,
                    after: secs(48),
                },
            ),
        ];
        for (end, failures, draw, expected) in cases {
            assert_eq!(
                policy(end, failures, RESYNC, draw),
                expected,
                "{end:?} after {failures}"
            );
        }
    }

    #[test]
    fn every_kind_has_a_decision_and_only_retryable_ones_back_off() {
        for kind in ErrorKind::ALL {
            let next = policy(CycleEnd::Failed { kind }, 1, RESYNC, 0.5);
            assert_eq!(
                matches!(next, Requeue::After(_, Reason::Backoff { .. })),
                kind.is_retryable(),
                "{kind}"
            );
            assert_eq!(
                matches!(next, Requeue::AwaitChange { .. }),
                !kind.is_retryable(),
                "{kind}"
            );
        }
    }

    #[test]
    fn the_kind_that_needs_a_change_decides_a_mixed_cycle() {
        use ErrorKind::*;
        let cases: [(&[ErrorKind], ErrorKind); 6] = [
            (&[], Unknown),
            (&[Transient], Transient),
            (&[Unknown, Transient, NotFound], Transient),
            (&[Transient, Conflict], Conflict),
            (&[Conflict, Invalid, Transient], Invalid),
            (&[Invalid, Permission], Permission),
        ];
        for (kinds, expected) in cases {
            assert_eq!(dominant(kinds.iter().copied()), expected, "{kinds:?}");
        }
    }

    #[test]
    fn the_kind_is_found_behind_context() {
        let engine = EngineError::Api {
            call: "POST /services/create",
            status: Some(409),
            message: "name conflicts with an existing object".to_owned(),
        };
        let e = anyhow::Error::new(engine).context("observing the swarm");
        assert_eq!(kind_of(&e), ErrorKind::Conflict);
        let steps = Classified::steps(&[
            StepFailure {
                kind: ErrorKind::Transient,
                message: "service web: busy".to_owned(),
            },
            StepFailure {
                kind: ErrorKind::Permission,
                message: "aws group: AccessDenied".to_owned(),
            },
        ]);
        assert_eq!(
            steps.to_string(),
            "2 step(s) failed: service web: busy; aws group: AccessDenied"
        );
        assert_eq!(kind_of(&anyhow::Error::new(steps)), ErrorKind::Permission);
        assert_eq!(kind_of(&anyhow::anyhow!("something else")), ErrorKind::Unknown);
    }
}
