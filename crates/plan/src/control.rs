//! The controller's controls, as people set them (`swarmkeeper suspend`,
//! `resume`): whether it applies anything, or nothing of some stacks. They
//! live in the swarm — the labels of one swarm config, read and written by
//! `crates/swarm`'s `control` module — so every replica sees the same.
//!
//! Vocabulary and the label codec; what a suspension holds back of a plan
//! is decided in `hold`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

/// Label of the whole-controller suspension: `"<unix seconds> <who>"`.
const SUSPENDED: &str = "io.swarmkeeper.suspended";
/// Prefix of one stack's suspension: `io.swarmkeeper.suspended.stack.<stack>`.
const SUSPENDED_STACK: &str = "io.swarmkeeper.suspended.stack.";

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

/// What `suspend` or `resume` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Suspend { stacks: BTreeSet<String>, mark: Mark },
    Resume { stacks: BTreeSet<String> },
}

impl Suspension {
    /// This suspension after `control`. `suspend` without stacks
    /// suspends everything; `resume` without stacks resumes everything
    /// (every stack too), as `flux resume` does for what it names.
    pub fn after(&self, control: &Control) -> Self {
        let mut next = self.clone();
        match control {
            Control::Suspend { stacks, mark } if stacks.is_empty() => next.all = Some(mark.clone()),
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
