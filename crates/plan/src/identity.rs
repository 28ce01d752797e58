//! The cluster's swarm is an identity, never a guess: which engine a run
//! may treat as the cluster's swarm, given the swarm id recorded for the
//! cluster (`<ssm-prefix>/swarm-id`, written by the first manager when it
//! runs `swarm init`, or by `--adopt-swarm`) and what the engine it reached
//! says. swarmkeeper publishes join tokens and manager addresses only of
//! the engine this module accepts: a laptop in swarm mode must never become
//! where a cluster's instances try to join.

use std::fmt;

/// What the engine a run reached says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineSeen {
    /// No engine answered (`why`: what the connection said).
    Unreachable { why: String },
    /// An engine that is not in a swarm, or only pending/locked.
    NotInSwarm { state: String },
    /// A worker of a swarm: it can neither observe nor change the swarm.
    Worker,
    /// A manager of swarm `swarm_id`.
    Manager { swarm_id: String },
}

/// How the engine was chosen: named by the user (`DOCKER_HOST`), or the
/// default local socket tried because nothing was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    Named,
    Default,
}

/// The facts of one decision.
#[derive(Debug, Clone, Copy)]
pub struct IdentityInputs<'a> {
    pub cluster: &'a str,
    /// Where the recorded id lives (for messages).
    pub parameter: &'a str,
    /// The endpoint reached (for messages).
    pub endpoint: &'a str,
    pub recorded: Option<&'a str>,
    pub seen: &'a EngineSeen,
    pub choice: EngineChoice,
    /// `--adopt-swarm`: make the reached swarm the cluster's.
    pub adopt: bool,
}

/// What to do with the engine reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// It manages the cluster's swarm: plan both halves through it.
    Cluster { swarm_id: String },
    /// Make its swarm the cluster's (`--adopt-swarm`): recording the id is
    /// a step of the plan, then as [`Identity::Cluster`].
    Adopt { swarm_id: String },
    /// The cluster has no swarm yet: apply the AWS half, whose first
    /// manager creates it. `note` says why the engine reached (if any) was
    /// left alone.
    NotFormed { note: Option<String> },
    /// The cluster's swarm exists; this engine is not a way into it: look
    /// for one of its managers (`note`: why this one was passed over).
    FindManager { note: Option<String> },
    /// Refuse the run: the user named an engine that is not the cluster's.
    Refuse(String),
}

pub fn decide(i: &IdentityInputs<'_>) -> Identity {
    let IdentityInputs {
        cluster,
        parameter,
        endpoint,
        ..
    } = *i;
    let named = i.choice == EngineChoice::Named;
    match (i.recorded, i.seen) {
        (Some(recorded), EngineSeen::Manager { swarm_id }) if swarm_id == recorded => Identity::Cluster {
            swarm_id: swarm_id.clone(),
        },
        (Some(recorded), seen) => {
            if i.adopt {
                return Identity::Refuse(format!(
                    "--adopt-swarm: cluster `{cluster}` already has a swarm ({recorded}, recorded at {parameter}); \
                     it cannot adopt another. Drop --adopt-swarm; if that swarm is gone for good, take the cluster \
                     down (`swarmkeeper destroy`) or delete {parameter} by hand first"
                ));
            }
            let what = describe(seen);
            if named {
                Identity::Refuse(format!(
                    "DOCKER_HOST={endpoint} {what}, not cluster `{cluster}`'s swarm {recorded} (recorded at {parameter}); \
                     nothing was published or changed. Point DOCKER_HOST at one of the cluster's managers, or unset it \
                     and swarmkeeper finds one (cluster.ssh)"
                ))
            } else {
                Identity::FindManager {
                    note: match seen {
                        EngineSeen::Unreachable { .. } => None,
                        _ => Some(format!("the local engine ({endpoint}) {what}: left alone")),
                    },
                }
            }
        }
        (None, EngineSeen::Manager { swarm_id }) => {
            if i.adopt {
                Identity::Adopt {
                    swarm_id: swarm_id.clone(),
                }
            } else if named {
                Identity::Refuse(format!(
                    "DOCKER_HOST={endpoint} reaches swarm {swarm_id}, which is not cluster `{cluster}`'s: the cluster has \
                     no swarm yet (nothing at {parameter}); nothing was published or changed. To make that swarm the \
                     cluster's, run again with --adopt-swarm; to let the cluster's first manager create one, unset DOCKER_HOST"
                ))
            } else {
                Identity::NotFormed {
                    note: Some(format!(
                        "the local engine ({endpoint}) manages swarm {swarm_id}, which is not cluster `{cluster}`'s: left alone"
                    )),
                }
            }
        }
        (None, seen) => {
            if i.adopt {
                Identity::Refuse(format!(
                    "--adopt-swarm needs DOCKER_HOST to reach a manager of the swarm to adopt; {endpoint} {}",
                    describe(seen)
                ))
            } else if named && matches!(seen, EngineSeen::Worker) {
                Identity::Refuse(format!(
                    "DOCKER_HOST={endpoint} is a worker of a swarm that is not cluster `{cluster}`'s (it has none yet): \
                     nothing was changed. Unset DOCKER_HOST to let the cluster's first manager create its swarm"
                ))
            } else {
                Identity::NotFormed {
                    note: named.then(|| format!("DOCKER_HOST={endpoint} {}: left alone", describe(seen))),
                }
            }
        }
    }
}

/// What an engine is, for a message ("reaches swarm X", "is not in a swarm").
fn describe(seen: &EngineSeen) -> String {
    match seen {
        EngineSeen::Unreachable { why } => format!("cannot be reached ({why})"),
        EngineSeen::NotInSwarm { state } => format!("is not a swarm manager (swarm state: {state})"),
        EngineSeen::Worker => "is a swarm worker".to_owned(),
        EngineSeen::Manager { swarm_id } => format!("reaches swarm {swarm_id}"),
    }
}

impl fmt::Display for EngineSeen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(recorded: Option<&str>, seen: EngineSeen, choice: EngineChoice, adopt: bool) -> Identity {
        decide(&IdentityInputs {
            cluster: "cloud",
            parameter: "/swarmkeeper/cloud/swarm-id",
            endpoint: "tcp://laptop:2375",
            recorded,
            seen: &seen,
            choice,
            adopt,
        })
    }

    fn manager(id: &str) -> EngineSeen {
        EngineSeen::Manager { swarm_id: id.into() }
    }

    fn refused(i: &Identity, words: &[&str]) -> bool {
        matches!(i, Identity::Refuse(m) if words.iter().all(|w| m.contains(w)))
    }

    use EngineChoice::{Default as Implicit, Named};

    #[test]
    fn the_recorded_swarm_is_used_whoever_chose_the_engine() {
        for choice in [Named, Implicit] {
            assert_eq!(
                run(Some("abc"), manager("abc"), choice, false),
                Identity::Cluster { swarm_id: "abc".into() }
            );
        }
    }

    #[test]
    fn a_named_engine_of_another_swarm_is_refused_and_says_which_swarm_is_the_clusters() {
        let i = run(Some("abc"), manager("laptop"), Named, false);
        assert!(
            refused(
                &i,
                &["laptop", "abc", "/swarmkeeper/cloud/swarm-id", "nothing was published"]
            ),
            "{i:?}"
        );
        let unreachable = EngineSeen::Unreachable { why: "refused".into() };
        for seen in [
            EngineSeen::Worker,
            EngineSeen::NotInSwarm {
                state: "inactive".into(),
            },
            unreachable,
        ] {
            assert!(refused(
                &run(Some("abc"), seen, Named, false),
                &["not cluster `cloud`'s swarm abc"]
            ));
        }
    }

    #[test]
    fn an_implicit_engine_that_is_not_the_clusters_is_passed_over_for_a_manager_of_the_cluster() {
        assert!(matches!(
            run(Some("abc"), manager("laptop"), Implicit, false),
            Identity::FindManager { note: Some(n) } if n.contains("laptop") && n.contains("left alone")
        ));
        assert_eq!(
            run(
                Some("abc"),
                EngineSeen::Unreachable {
                    why: "no socket".into()
                },
                Implicit,
                false
            ),
            Identity::FindManager { note: None }
        );
    }

    #[test]
    fn without_a_recorded_swarm_a_named_swarm_needs_adopt_swarm() {
        let i = run(None, manager("hand-built"), Named, false);
        assert!(refused(&i, &["--adopt-swarm", "hand-built", "no swarm yet"]), "{i:?}");
        assert_eq!(
            run(None, manager("hand-built"), Named, true),
            Identity::Adopt {
                swarm_id: "hand-built".into()
            }
        );
    }

    #[test]
    fn without_a_recorded_swarm_and_no_named_engine_the_cluster_bootstraps_leaving_a_local_swarm_alone() {
        assert!(matches!(
            run(None, manager("laptop"), Implicit, false),
            Identity::NotFormed { note: Some(n) } if n.contains("laptop")
        ));
        for seen in [
            EngineSeen::Unreachable {
                why: "no socket".into(),
            },
            EngineSeen::NotInSwarm {
                state: "inactive".into(),
            },
        ] {
            assert_eq!(
                run(None, seen.clone(), Implicit, false),
                Identity::NotFormed { note: None }
            );
            assert!(matches!(
                run(None, seen, Named, false),
                Identity::NotFormed { note: Some(n) } if n.contains("left alone")
            ));
        }
        assert!(refused(&run(None, EngineSeen::Worker, Named, false), &["worker"]));
    }

    #[test]
    fn adopt_swarm_never_replaces_a_recorded_swarm_and_needs_a_manager() {
        for seen in [manager("other"), manager("abc")] {
            let i = run(Some("abc"), seen.clone(), Named, true);
            if seen == manager("abc") {
                // Already the cluster's: adopting again is a no-op.
                assert_eq!(i, Identity::Cluster { swarm_id: "abc".into() });
            } else {
                assert!(refused(&i, &["already has a swarm", "abc"]), "{i:?}");
            }
        }
        assert!(refused(
            &run(None, EngineSeen::Worker, Named, true),
            &["needs DOCKER_HOST to reach a manager"]
        ));
    }
}
