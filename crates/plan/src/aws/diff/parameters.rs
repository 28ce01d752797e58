//! SSM parameters: the join tokens, then the manager addresses — a booting
//! node reads the addresses first and expects the tokens to be there.

use super::out::Out;
use crate::aws::action::AwsAction;
use crate::aws::spec::{DesiredAws, ObservedAws, ParameterSpec};

/// Puts each parameter whose value is missing or changed.
pub fn diff_parameters(desired: &DesiredAws, observed: &ObservedAws, out: &mut Out) {
    let mut token_steps = Vec::new();
    let (tokens, addresses): (Vec<&ParameterSpec>, Vec<&ParameterSpec>) =
        desired.parameters.iter().partition(|p| p.secure);
    for (spec, is_token) in tokens
        .into_iter()
        .map(|p| (p, true))
        .chain(addresses.into_iter().map(|p| (p, false)))
    {
        match observed.parameters.get(&spec.name) {
            Some(v) if *v == spec.value => {}
            existing => {
                let id = out.step(
                    AwsAction::PutParameter {
                        spec: spec.clone(),
                        overwrite: existing.is_some(),
                    },
                    if existing.is_some() {
                        "value changed"
                    } else {
                        "not published yet"
                    },
                    if is_token { vec![] } else { token_steps.clone() },
                );
                if is_token {
                    token_steps.push(id);
                }
            }
        }
    }
}
