//! What the controller tells people: after each cycle, the events worth a
//! message, each once. A failure is told when it starts failing that way,
//! not at every retry; a lost quorum once until it is back, and its return
//! once; a revision once when it is applied, and a change made to a
//! revision already applied is drift put back. No I/O: the controller
//! delivers ([`Notice`] carries everything a message says).

use serde::Serialize;
pub use swarmkeeper_model::config::NotificationEvent as Event;

pub use crate::maintenance::PruneRun;
pub use crate::node_types::Quorum;

/// How one cycle ended, as the notifier needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Every step done (counts: added, changed, removed).
    Applied { counts: [usize; 3] },
    /// A step failed, or the cycle could not plan or apply.
    Failed { error: String },
    /// Cut short (lease lost, shutdown), or not finished (node work in
    /// progress, changes held by a suspension): says nothing yet.
    Cancelled,
}

/// What one cycle saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The revision reconciled (git: the commit).
    pub revision: Option<String>,
    pub ended: Ended,
    /// Whether a majority of the managers was reachable (`None`: not
    /// observed this cycle).
    pub quorum: Option<Quorum>,
    /// Instances replaced in this cycle.
    pub replaced: Vec<Replacement>,
    /// Whether the whole controller is suspended (`swarmkeeper suspend`).
    pub suspended: Option<String>,
    /// Scheduled prunes that finished since the last cycle.
    pub pruned: Vec<PruneRun>,
}

/// An instance terminated for its group to launch a new one: a failed
/// node's, or one rolled to a new instance type or image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// `i-… in GROUP`.
    pub instance: String,
    /// Why, as the plan says it.
    pub why: String,
}

/// One message: the event, a line for people, and the details for machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub event: Event,
    /// What happened, in one line (Slack's text).
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Added, changed, removed (applied and drift corrected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// The failure (failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The node replaced (node replaced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Lost or regained (quorum), suspended or resumed (suspension).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    /// What the scheduled prune reclaimed, per node (prune).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneRun>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
}

impl Notice {
    fn new(event: Event, message: String) -> Self {
        Self {
            event,
            message,
            revision: None,
            counts: None,
            error: None,
            node: None,
            state: None,
            prune: None,
        }
    }
}

/// What the notifier remembers between cycles (in memory: a controller
/// that starts again tells a condition that still holds once more).
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    /// The last revision a cycle applied completely.
    applied: Option<String>,
    /// The failure last told, while it lasts.
    failing: Option<String>,
    /// The quorum as last told (`None`: not told yet).
    quorum_ok: Option<bool>,
    /// Cycles in a row that found the quorum lost.
    lost_for: u32,
    suspended: Option<bool>,
}

/// Cycles in a row a lost quorum must be seen before it is told: a
/// manager that is joining shows as unreachable for a moment.
pub const QUORUM_LOST_CYCLES: u32 = 2;

impl Notifier {
    /// The events of a cycle that ended as `seen` says, in order.
    pub fn after(&mut self, seen: &Seen) -> Vec<Notice> {
        let mut out = Vec::new();
        let revision = seen.revision.clone();
        let short = revision.as_deref().unwrap_or("(none)").to_owned();
        if let Some(q) = seen.quorum {
            self.lost_for = if q.ok { 0 } else { self.lost_for.saturating_add(1) };
            match (self.quorum_ok, q.ok) {
                (Some(true) | None, false) if self.lost_for < QUORUM_LOST_CYCLES => {}
                (Some(true) | None, false) => {
                    let mut n = Notice::new(
                        Event::Quorum,
                        format!(
                            "manager quorum lost: {} of {} managers reachable; no node action is taken until a majority is back",
                            q.reachable, q.managers
                        ),
                    );
                    n.state = Some("lost");
                    out.push(n);
                }
                (Some(false), true) => {
                    let mut n = Notice::new(
                        Event::Quorum,
                        format!(
                            "manager quorum regained: {} of {} managers reachable",
                            q.reachable, q.managers
                        ),
                    );
                    n.state = Some("regained");
                    out.push(n);
                }
                // First seen and held: nothing to tell.
                (None, true) => self.quorum_ok = Some(true),
                _ => {}
            }
            if q.ok || self.lost_for >= QUORUM_LOST_CYCLES {
                self.quorum_ok = Some(q.ok);
            }
        }
        let suspended = seen.suspended.is_some();
        match (self.suspended, &seen.suspended) {
            (Some(false), Some(by)) => {
                let mut n = Notice::new(
                    Event::Suspension,
                    format!(
                        "suspended by {by}: changes are observed and held, nothing is applied until `swarmkeeper resume`"
                    ),
                );
                n.state = Some("suspended");
                out.push(n);
            }
            (Some(true), None) => {
                let mut n = Notice::new(Event::Suspension, "resumed: changes are applied again".to_owned());
                n.state = Some("resumed");
                out.push(n);
            }
            _ => {}
        }
        self.suspended = Some(suspended);
        for run in &seen.pruned {
            let mut n = Notice::new(Event::Prune, run.summary());
            n.prune = Some(run.clone());
            out.push(n);
        }
        for r in &seen.replaced {
            let mut n = Notice::new(
                Event::NodeReplaced,
                format!(
                    "instance {} replaced ({}); its group launches a new one",
                    r.instance, r.why
                ),
            );
            n.node = Some(r.instance.clone());
            out.push(n);
        }
        match &seen.ended {
            Ended::Cancelled => {}
            Ended::Failed { error } => {
                if self.failing.as_ref() != Some(error) {
                    let mut n = Notice::new(Event::Failed, format!("applying {short} failed: {error}"));
                    n.revision = revision.clone();
                    n.error = Some(error.clone());
                    out.push(n);
                    self.failing = Some(error.clone());
                }
            }
            Ended::Applied { counts } => {
                self.failing = None;
                let changes = counts.iter().sum::<usize>();
                let counted = Counts {
                    added: counts[0],
                    changed: counts[1],
                    removed: counts[2],
                };
                let what = format!("{} added, {} changed, {} removed", counts[0], counts[1], counts[2]);
                let first = self.applied.is_none();
                if self.applied != revision && !(first && changes == 0) {
                    let mut n = Notice::new(Event::Applied, format!("revision {short} applied: {what}"));
                    n.revision = revision.clone();
                    n.counts = Some(counted);
                    out.push(n);
                } else if self.applied == revision && changes > 0 {
                    let mut n = Notice::new(
                        Event::DriftCorrected,
                        format!("drift corrected at revision {short}: {what} to match it again"),
                    );
                    n.revision = revision.clone();
                    n.counts = Some(counted);
                    out.push(n);
                }
                self.applied = revision;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(revision: &str, counts: [usize; 3]) -> Seen {
        Seen {
            revision: Some(revision.to_owned()),
            ended: Ended::Applied { counts },
            quorum: None,
            replaced: Vec::new(),
            suspended: None,
            pruned: Vec::new(),
        }
    }

    fn failed(revision: &str, error: &str) -> Seen {
        Seen {
            ended: Ended::Failed {
                error: error.to_owned(),
            },
            ..applied(revision, [0; 3])
        }
    }

    fn events(n: &[Notice]) -> Vec<Event> {
        n.iter().map(|n| n.event).collect()
    }

    #[test]
    fn a_revision_is_told_once_when_applied_and_later_changes_to_it_are_drift() {
        let mut notifier = Notifier::default();
        // Started on a platform already in sync: nothing to tell.
        assert!(notifier.after(&applied("a", [0, 0, 0])).is_empty());
        assert!(notifier.after(&applied("a", [0, 0, 0])).is_empty());
        let told = notifier.after(&applied("b", [1, 2, 0]));
        assert_eq!(events(&told), [Event::Applied]);
        assert_eq!(told[0].message, "revision b applied: 1 added, 2 changed, 0 removed");
        assert_eq!(told[0].counts.map(|c| c.changed), Some(2));
        // Resyncs that change nothing: nothing.
        assert!(notifier.after(&applied("b", [0, 0, 0])).is_empty());
        // Something changed behind swarmkeeper's back and was put back.
        let told = notifier.after(&applied("b", [0, 1, 0]));
        assert_eq!(events(&told), [Event::DriftCorrected]);
        // A revision that changes nothing live is still applied: told.
        assert_eq!(events(&notifier.after(&applied("c", [0, 0, 0]))), [Event::Applied]);
    }

    #[test]
    fn a_first_cycle_that_changes_something_is_an_apply() {
        let mut notifier = Notifier::default();
        assert_eq!(events(&notifier.after(&applied("a", [3, 0, 0]))), [Event::Applied]);
    }

    #[test]
    fn a_failure_is_told_once_while_it_lasts_and_again_after_a_success() {
        let mut notifier = Notifier::default();
        notifier.after(&applied("a", [0, 0, 0]));
        assert_eq!(
            events(&notifier.after(&failed("b", "web: no such image"))),
            [Event::Failed]
        );
        assert!(notifier.after(&failed("b", "web: no such image")).is_empty());
        assert!(notifier.after(&failed("b", "web: no such image")).is_empty());
        // Failing another way is news.
        assert_eq!(events(&notifier.after(&failed("b", "db: port taken"))), [Event::Failed]);
        // The retry that succeeds applies b: told, and the failure is over.
        assert_eq!(events(&notifier.after(&applied("b", [1, 0, 0]))), [Event::Applied]);
        assert_eq!(events(&notifier.after(&failed("c", "db: port taken"))), [Event::Failed]);
    }

    #[test]
    fn quorum_loss_is_told_once_and_its_return_once() {
        let mut notifier = Notifier::default();
        let with = |ok, reachable| Seen {
            quorum: Some(Quorum {
                ok,
                reachable,
                managers: 3,
            }),
            ..applied("a", [0; 3])
        };
        assert!(notifier.after(&with(true, 3)).is_empty());
        // One cycle (a manager joining): not told.
        assert!(notifier.after(&with(false, 1)).is_empty());
        assert!(notifier.after(&with(true, 3)).is_empty());
        // Lost for two cycles in a row: told, once.
        assert!(notifier.after(&with(false, 1)).is_empty());
        let told = notifier.after(&with(false, 1));
        assert_eq!(events(&told), [Event::Quorum]);
        assert_eq!(told[0].state, Some("lost"));
        assert!(notifier.after(&with(false, 1)).is_empty());
        assert!(notifier.after(&with(false, 0)).is_empty());
        let told = notifier.after(&with(true, 2));
        assert_eq!(told[0].state, Some("regained"));
        assert!(notifier.after(&with(true, 3)).is_empty());
        // A controller that starts with the quorum lost says so.
        let mut fresh = Notifier::default();
        assert!(fresh.after(&with(false, 1)).is_empty());
        assert_eq!(events(&fresh.after(&with(false, 1))), [Event::Quorum]);
    }

    #[test]
    fn each_replaced_node_is_told_and_suspension_changes_are_told() {
        let mut notifier = Notifier::default();
        notifier.after(&applied("a", [0; 3]));
        let replaced = |instance: &str| Replacement {
            instance: instance.to_owned(),
            why: "Down for 5s".to_owned(),
        };
        let told = notifier.after(&Seen {
            replaced: vec![replaced("i-1 in c-workers"), replaced("i-2 in c-workers")],
            ..applied("a", [0; 3])
        });
        assert_eq!(events(&told), [Event::NodeReplaced, Event::NodeReplaced]);
        assert_eq!(told[1].node.as_deref(), Some("i-2 in c-workers"));
        assert_eq!(
            told[0].message,
            "instance i-1 in c-workers replaced (Down for 5s); its group launches a new one"
        );
        let suspended = Seen {
            suspended: Some("ops@host".into()),
            ..applied("a", [0; 3])
        };
        assert_eq!(notifier.after(&suspended)[0].state, Some("suspended"));
        assert!(notifier.after(&suspended).is_empty());
        assert_eq!(notifier.after(&applied("a", [0; 3]))[0].state, Some("resumed"));
    }

    #[test]
    fn each_finished_prune_is_told_once_with_what_it_reclaimed() {
        use crate::maintenance::NodePrune;
        let mut notifier = Notifier::default();
        notifier.after(&applied("a", [0; 3]));
        let run = PruneRun {
            window: 1,
            finished: 2,
            nodes: vec![NodePrune {
                node: "n1".into(),
                reclaimed_bytes: 2048,
                ..NodePrune::default()
            }],
            failed: vec![],
        };
        let told = notifier.after(&Seen {
            pruned: vec![run.clone()],
            ..applied("a", [0; 3])
        });
        assert_eq!(events(&told), [Event::Prune]);
        assert_eq!(told[0].message, "system prune: 2.0 KiB reclaimed on 1 node");
        assert_eq!(told[0].prune.as_ref(), Some(&run));
        assert!(notifier.after(&applied("a", [0; 3])).is_empty());
    }

    #[test]
    fn a_cancelled_cycle_tells_nothing_and_forgets_nothing() {
        let mut notifier = Notifier::default();
        notifier.after(&failed("a", "boom"));
        let cancelled = Seen {
            ended: Ended::Cancelled,
            ..applied("a", [0; 3])
        };
        assert!(notifier.after(&cancelled).is_empty());
        assert!(notifier.after(&failed("a", "boom")).is_empty());
    }
}
