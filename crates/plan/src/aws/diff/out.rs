//! Where the AWS diff's parts put what they find: steps (through the plan
//! builder's `push`), warnings and conflicts.

use crate::action::Action;
use crate::aws::action::AwsAction;

/// The plan being built, as the AWS diff's parts see it.
pub struct Out<'o> {
    pub push: &'o mut dyn FnMut(Action, String, Vec<usize>) -> usize,
    pub warnings: &'o mut Vec<String>,
    pub conflicts: &'o mut Vec<String>,
}

impl Out<'_> {
    /// Adds a step; its id.
    pub fn step(&mut self, action: AwsAction, reason: &str, deps: Vec<usize>) -> usize {
        (self.push)(Action::Aws { aws: action }, reason.to_owned(), deps)
    }
}
