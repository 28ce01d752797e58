//! The controller's controls, as people set them: whether it applies
//! anything, or nothing of some stacks (`swarmkeeper suspend`, `resume`),
//! and the revision it stays on (`pin`, `unpin`). They live in the swarm —
//! the labels of one swarm config, read and written by `crates/swarm`'s
//! `control` module — so every replica sees the same. Beside them, the
//! revisions applied ([`History`], another config's labels).
//!
//! Vocabulary, the label codecs and the rules of how they change; what a
//! suspension holds back of a plan is decided in `hold`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

/// Label of the whole-controller suspension: `"<unix seconds> <who>"`.
const SUSPENDED: &str = "io.swarmkeeper.suspended";
/// Prefix of one stack's suspension: `io.swarmkeeper.suspended.stack.<stack>`.
const SUSPENDED_STACK: &str = "io.swarmkeeper.suspended.stack.";
/// The pinned revision (a commit, or a prefix of one).
const PIN: &str = "io.swarmkeeper.pin";
/// Who pinned it and when: `"<unix seconds> <who>"`.
const PIN_MARK: &str = "io.swarmkeeper.pin.mark";
/// Prefix of one applied revision in the history config: a sequence number.
const HISTORY: &str = "io.swarmkeeper.history.";
/// The revisions the history keeps (the newest).
pub const HISTORY_LENGTH: usize = 20;

/// Who set a control, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mark {
    pub by: String,
    pub at_unix: u64,
}

impl Mark {
    fn encode(&self) -> String {
        format!("{} {}", self.at_unix, self.by)
    }

    /// A value another version wrote in another form still suspends: the
    /// time is then unknown (0), never a reason to apply.
    fn decode(value: &str) -> Self {
        match value.split_once(' ') {
            Some((at, by)) if at.parse::<u64>().is_ok() => Self {
                by: by.to_owned(),
                at_unix: at.parse().unwrap_or(0),
            },
            _ => Self {
                by: value.to_owned(),
                at_unix: 0,
            },
        }
    }
}

/// What is suspended: everything, some stacks, or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Suspension {
    /// The whole controller: it observes, plans and reports, and applies nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all: Option<Mark>,
    /// Stacks whose changes are held while the rest is applied.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stacks: BTreeMap<String, Mark>,
}

impl Suspension {
    pub fn is_none(&self) -> bool {
        self.all.is_none() && self.stacks.is_empty()
    }

    /// Read from the control config's labels (other labels are ignored).
    pub fn from_labels(labels: &HashMap<String, String>) -> Self {
        let mut s = Self::default();
        for (key, value) in labels {
            if key == SUSPENDED {
                s.all = Some(Mark::decode(value));
            } else if let Some(stack) = key.strip_prefix(SUSPENDED_STACK)
                && !stack.is_empty()
            {
                s.stacks.insert(stack.to_owned(), Mark::decode(value));
            }
        }
        s
    }

    /// `labels` with this suspension written over the old one (labels that
    /// are not a suspension's are kept).
    pub fn write_labels(&self, labels: &mut HashMap<String, String>) {
        labels.retain(|k, _| k != SUSPENDED && !k.starts_with(SUSPENDED_STACK));
        if let Some(all) = &self.all {
            labels.insert(SUSPENDED.to_owned(), all.encode());
        }
        for (stack, mark) in &self.stacks {
            labels.insert(format!("{SUSPENDED_STACK}{stack}"), mark.encode());
        }
    }

    /// What a plan holds back under this suspension.
    pub fn hold(&self) -> Hold {
        if self.all.is_some() {
            Hold::Everything
        } else if self.stacks.is_empty() {
            Hold::Nothing
        } else {
            Hold::Stacks(self.stacks.keys().cloned().collect())
        }
    }

    /// One line for people: `everything (by alice, since …)` or the stacks.
    pub fn describe(&self) -> String {
        match (&self.all, self.stacks.is_empty()) {
            (Some(m), _) => format!("everything (by {})", m.by),
            (None, false) => format!(
                "stack(s) {}",
                self.stacks
                    .iter()
                    .map(|(s, m)| format!("`{s}` (by {})", m.by))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (None, true) => "nothing".to_owned(),
        }
    }
}

/// The revision the controller stays on (`swarmkeeper pin`) whatever the
/// branch's head: the rollback of Argo CD's `app rollback`, git untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    /// A commit id, or a prefix of one (as `history` shows them).
    pub revision: String,
    #[serde(flatten)]
    pub mark: Mark,
}

impl Pin {
    /// Whether `revision` can name a commit: 7 to 40 hex digits, as
    /// `swarmkeeper history` shows them (what `pin` takes and the git
    /// source looks up).
    pub fn is_commit_id(revision: &str) -> bool {
        (7..=40).contains(&revision.len()) && revision.chars().all(|c| c.is_ascii_hexdigit())
    }
}

/// Everything people set, as one record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Controls {
    pub suspension: Suspension,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin: Option<Pin>,
}

impl Controls {
    pub fn from_labels(labels: &HashMap<String, String>) -> Self {
        Self {
            suspension: Suspension::from_labels(labels),
            pin: labels.get(PIN).filter(|r| !r.is_empty()).map(|revision| Pin {
                revision: revision.clone(),
                mark: labels.get(PIN_MARK).map_or(
                    Mark {
                        by: "unknown".to_owned(),
                        at_unix: 0,
                    },
                    |m| Mark::decode(m),
                ),
            }),
        }
    }

    pub fn write_labels(&self, labels: &mut HashMap<String, String>) {
        self.suspension.write_labels(labels);
        labels.remove(PIN);
        labels.remove(PIN_MARK);
        if let Some(pin) = &self.pin {
            labels.insert(PIN.to_owned(), pin.revision.clone());
            labels.insert(PIN_MARK.to_owned(), pin.mark.encode());
        }
    }

    /// These controls after `control`.
    pub fn after(&self, control: &Control) -> Self {
        let mut next = self.clone();
        match control {
            Control::Pin { revision, mark } => {
                next.pin = Some(Pin {
                    revision: revision.clone(),
                    mark: mark.clone(),
                });
            }
            Control::Unpin => next.pin = None,
            _ => next.suspension = self.suspension.after(control),
        }
        next
    }
}

/// What `suspend`, `resume`, `pin` or `unpin` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Suspend { stacks: BTreeSet<String>, mark: Mark },
    Resume { stacks: BTreeSet<String> },
    Pin { revision: String, mark: Mark },
    Unpin,
}

impl Suspension {
    /// This suspension after `control`. `suspend` without stacks
    /// suspends everything; `resume` without stacks resumes everything
    /// (every stack too), as `flux resume` does for what it names.
    pub fn after(&self, control: &Control) -> Self {
        let mut next = self.clone();
        match control {
            Control::Pin { .. } | Control::Unpin => {}
            Control::Suspend { stacks, mark } if stacks.is_empty() => {
                next.all.get_or_insert_with(|| mark.clone());
            }
            Control::Suspend { stacks, mark } => {
                for stack in stacks {
                    next.stacks.entry(stack.clone()).or_insert_with(|| mark.clone());
                }
            }
            Control::Resume { stacks } if stacks.is_empty() => next = Self::default(),
            Control::Resume { stacks } => {
                for stack in stacks {
                    next.stacks.remove(stack);
                }
            }
        }
        next
    }
}

/// How a cycle of a revision ended, for the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Applied: the platform matched the revision at the cycle's end.
    Applied,
    /// Some step failed, or changes remained.
    Failed,
}

/// One revision as a controller applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Applied {
    pub revision: String,
    pub at_unix: u64,
    pub outcome: Outcome,
    /// Steps done: added, changed, removed.
    pub counts: [usize; 3],
    /// Applied while pinned (`swarmkeeper pin`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
}

/// The revisions applied, oldest first, at most [`HISTORY_LENGTH`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct History(pub Vec<Applied>);

impl History {
    /// Read from the history config's labels; entries that do not parse
    /// (another version's) are left out, never guessed at.
    pub fn from_labels(labels: &HashMap<String, String>) -> Self {
        let mut entries: Vec<(u64, Applied)> = labels
            .iter()
            .filter_map(|(k, v)| {
                let seq = k.strip_prefix(HISTORY)?.parse::<u64>().ok()?;
                Some((seq, serde_json::from_str::<Applied>(v).ok()?))
            })
            .collect();
        entries.sort_by_key(|(seq, _)| *seq);
        Self(entries.into_iter().map(|(_, a)| a).collect())
    }

    /// The labels of this history (sequence numbers from 0, oldest first).
    pub fn labels(&self) -> HashMap<String, String> {
        self.0
            .iter()
            .enumerate()
            .filter_map(|(i, a)| Some((format!("{HISTORY}{i:04}"), serde_json::to_string(a).ok()?)))
            .collect()
    }

    /// The history with `entry` recorded, or `None` when it says nothing
    /// new (the same revision, outcome and pin as the newest entry): a
    /// resync that changes nothing writes nothing.
    pub fn record(&self, entry: Applied) -> Option<Self> {
        if self
            .0
            .last()
            .is_some_and(|l| l.revision == entry.revision && l.outcome == entry.outcome && l.pinned == entry.pinned)
        {
            return None;
        }
        let mut next = self.0.clone();
        next.push(entry);
        let drop = next.len().saturating_sub(HISTORY_LENGTH);
        next.drain(..drop);
        Some(Self(next))
    }
}

/// What a plan holds back (`PlanOptions::hold`): its steps are planned and
/// shown, never applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Hold {
    #[default]
    Nothing,
    Everything,
    Stacks(BTreeSet<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(by: &str) -> Mark {
        Mark {
            by: by.into(),
            at_unix: 1_700_000_000,
        }
    }

    #[test]
    fn labels_round_trip_and_keep_what_is_not_a_suspension() {
        let s = Suspension {
            all: Some(mark("alice@laptop")),
            stacks: BTreeMap::from([("web".into(), mark("bob"))]),
        };
        let mut labels = HashMap::from([("other".to_owned(), "kept".to_owned())]);
        s.write_labels(&mut labels);
        assert_eq!(labels["io.swarmkeeper.suspended"], "1700000000 alice@laptop");
        assert_eq!(labels["io.swarmkeeper.suspended.stack.web"], "1700000000 bob");
        assert_eq!(Suspension::from_labels(&labels), s);
        Suspension::default().write_labels(&mut labels);
        assert_eq!(labels, HashMap::from([("other".to_owned(), "kept".to_owned())]));
    }

    #[test]
    fn a_commit_id_is_7_to_40_hex_digits() {
        assert!(Pin::is_commit_id("0123456"));
        assert!(Pin::is_commit_id(&"a".repeat(40)));
        for bad in ["012345", "0123456g", "", &"a".repeat(41)] {
            assert!(!Pin::is_commit_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_pin_round_trips_and_unpin_leaves_the_suspension() {
        let controls = Controls::default()
            .after(&Control::Suspend {
                stacks: BTreeSet::new(),
                mark: mark("a"),
            })
            .after(&Control::Pin {
                revision: "0123456789ab".into(),
                mark: mark("b"),
            });
        let mut labels = HashMap::new();
        controls.write_labels(&mut labels);
        assert_eq!(labels["io.swarmkeeper.pin"], "0123456789ab");
        assert_eq!(Controls::from_labels(&labels), controls);
        let unpinned = controls.after(&Control::Unpin);
        assert!(unpinned.pin.is_none());
        assert_eq!(unpinned.suspension, controls.suspension);
        unpinned.write_labels(&mut labels);
        assert!(!labels.contains_key("io.swarmkeeper.pin"));
    }

    fn applied(revision: &str, outcome: Outcome) -> Applied {
        Applied {
            revision: revision.into(),
            at_unix: 1,
            outcome,
            counts: [0, 1, 0],
            pinned: false,
        }
    }

    #[test]
    fn the_history_records_what_is_new_keeps_the_newest_and_round_trips() {
        let h = History::default();
        let h = h.record(applied("a", Outcome::Applied)).expect("new");
        assert_eq!(
            h.record(applied("a", Outcome::Applied)),
            None,
            "a no-op resync writes nothing"
        );
        let h = h.record(applied("a", Outcome::Failed)).expect("the outcome changed");
        let mut h = h.record(applied("b", Outcome::Applied)).expect("new revision");
        for i in 0..30 {
            h = h.record(applied(&format!("r{i}"), Outcome::Applied)).expect("new");
        }
        assert_eq!(h.0.len(), HISTORY_LENGTH);
        assert_eq!(h.0.last().map(|a| a.revision.as_str()), Some("r29"));
        assert_eq!(h.0[0].revision, "r10");
        let mut labels = h.labels();
        labels.insert("io.swarmkeeper.history.9999".into(), "not json".into());
        assert_eq!(History::from_labels(&labels), h);
    }

    #[test]
    fn a_value_in_another_form_still_suspends() {
        let labels = HashMap::from([("io.swarmkeeper.suspended".to_owned(), "someone".to_owned())]);
        let s = Suspension::from_labels(&labels);
        assert_eq!(s.hold(), Hold::Everything);
        assert_eq!(s.all.map(|m| m.at_unix), Some(0));
    }

    #[test]
    fn suspend_and_resume_compose_as_flux_does() {
        let none = Suspension::default();
        let web = Control::Suspend {
            stacks: BTreeSet::from(["web".into()]),
            mark: mark("a"),
        };
        let all = Control::Suspend {
            stacks: BTreeSet::new(),
            mark: mark("b"),
        };
        let s = none.after(&web);
        assert_eq!(s.hold(), Hold::Stacks(BTreeSet::from(["web".into()])));
        // Suspending again keeps who suspended first.
        let again = s.after(&Control::Suspend {
            stacks: BTreeSet::from(["web".into()]),
            mark: mark("c"),
        });
        assert_eq!(again.stacks["web"].by, "a");
        let s = s.after(&all);
        assert_eq!(s.hold(), Hold::Everything);
        let again = s.after(&Control::Suspend {
            stacks: BTreeSet::new(),
            mark: mark("z"),
        });
        assert_eq!(again, s, "suspending everything again changes nothing");
        // Resuming a stack leaves the whole suspension in place.
        let s2 = s.after(&Control::Resume {
            stacks: BTreeSet::from(["web".into()]),
        });
        assert_eq!(s2.hold(), Hold::Everything);
        assert!(s2.stacks.is_empty());
        // Resume without stacks lifts everything.
        assert!(
            s.after(&Control::Resume {
                stacks: BTreeSet::new()
            })
            .is_none()
        );
        assert_eq!(none.hold(), Hold::Nothing);
    }
}
