//! SSM parameters, in the order a booting node reads them: the swarm's id
//! first (what the cluster's swarm is), then the join tokens, then the
//! manager addresses — a node reads the addresses first and expects the
//! tokens to be there, and nothing is published for a swarm before it is
//! recorded as the cluster's.

use super::out::Out;
use crate::aws::action::AwsAction;
use crate::aws::spec::{DesiredAws, ObservedAws, ParameterSpec};

/// What a parameter is to a booting node, in publishing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    Identity,
    Token,
    Address,
}

fn tier(spec: &ParameterSpec) -> Tier {
    if spec.name.ends_with("/swarm-id") {
        Tier::Identity
    } else if spec.secure {
        Tier::Token
    } else {
        Tier::Address
    }
}

/// Puts each parameter whose value is missing or changed; each tier waits
/// for the tiers before it. The recorded swarm id is never overwritten:
/// a different one means another swarm, which `identity` refuses before
/// any plan is made.
pub fn diff_parameters(desired: &DesiredAws, observed: &ObservedAws, out: &mut Out) {
    let mut ordered: Vec<&ParameterSpec> = desired.parameters.iter().collect();
    ordered.sort_by_key(|p| tier(p));
    let mut before: Vec<usize> = Vec::new();
    let mut this_tier: Vec<usize> = Vec::new();
    let mut current = Tier::Identity;
    for spec in ordered {
        let t = tier(spec);
        if t != current {
            before.append(&mut this_tier);
            current = t;
        }
        let existing = observed.parameters.get(&spec.name);
        match existing {
            Some(v) if *v == spec.value => continue,
            Some(_) if t == Tier::Identity => continue,
            _ => {}
        }
        let id = out.step(
            AwsAction::PutParameter {
                spec: spec.clone(),
                overwrite: existing.is_some(),
            },
            match (t, existing.is_some()) {
                (Tier::Identity, _) => "the swarm becomes the cluster's",
                (_, true) => "value changed",
                (_, false) => "not published yet",
            },
            before.clone(),
        );
        this_tier.push(id);
    }
}
