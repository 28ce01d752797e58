//! Configs and secrets whose bytes live in AWS (`x-swarmkeeper.source`):
//! which values a desired state names, and the state with them filled in.
//! The reading itself is the binary's (through crates/aws); a value is
//! never part of the state as loaded, so it never reaches the revision
//! digest or a diagnostic.

use std::collections::{BTreeMap, BTreeSet};

use crate::compose::{Content, ValueSource};
use crate::load::DesiredState;

/// A reference and where it is declared, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub source: ValueSource,
    /// `stacks.<stack>: secrets.<key>` (or `configs.<key>`).
    pub declared: String,
}

impl DesiredState {
    /// Every AWS value the state names, each once, with the first place
    /// that names it.
    pub fn references(&self) -> Vec<Reference> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (stack, s) in &self.stacks {
            for (section, defs) in [("configs", &s.compose.configs), ("secrets", &s.compose.secrets)] {
                for (key, def) in defs {
                    if let Some(source) = &def.source
                        && seen.insert(source.clone())
                    {
                        out.push(Reference {
                            source: source.clone(),
                            declared: format!("stack `{stack}`, {section}.{key}"),
                        });
                    }
                }
            }
        }
        out
    }

    /// The state with each referenced config's or secret's bytes from
    /// `values`; a reference without a value is left without content.
    pub fn with_values(&self, values: &BTreeMap<ValueSource, Content>) -> DesiredState {
        let mut out = self.clone();
        for s in out.stacks.values_mut() {
            for def in s.compose.configs.values_mut().chain(s.compose.secrets.values_mut()) {
                if let Some(source) = &def.source {
                    def.content = values.get(source).cloned();
                }
            }
        }
        out
    }
}
