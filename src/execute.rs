//! What a provider must do for the executor: run one action, given the
//! names → ids known so far, and say what it left behind.
//!
//! [`crate::apply`] schedules steps (dependencies, concurrency caps,
//! cancellation, panics) and knows nothing of bollard or the AWS SDK; the
//! real providers implement [`Execute`] here, and the executor's tests use
//! in-memory fakes.

use std::future::Future;

use swarmkeeper_aws::AwsIds;
use swarmkeeper_aws::execute::AwsOutcome;
use swarmkeeper_plan::Action;
use swarmkeeper_plan::aws::AwsAction;
use swarmkeeper_swarm::execute::{Ids, Outcome};

use crate::cycle::Providers;

/// A provider's error, kept typed (an `EngineError` or `AwsError` can be
/// downcast) for whoever classifies it; the executor records its message.
pub type ExecError = Box<dyn std::error::Error + Send + Sync>;

/// Executes one action. Cloned into each step's task, so cloning must be
/// cheap (handles, not connections).
pub trait Execute: Clone + Send + Sync + 'static {
    /// A swarm action (every [`Action`] but [`Action::Aws`]).
    fn swarm(&self, action: &Action, ids: &Ids) -> impl Future<Output = Result<Outcome, ExecError>> + Send;

    /// An AWS action.
    fn aws(&self, action: &AwsAction, ids: &AwsIds) -> impl Future<Output = Result<AwsOutcome, ExecError>> + Send;
}

/// The message of a step that needs AWS when there is no connection.
pub const NO_AWS: &str = "no AWS connection for an AWS action";

impl Execute for Providers {
    async fn swarm(&self, action: &Action, ids: &Ids) -> Result<Outcome, ExecError> {
        Ok(self.engine.execute(action, ids).await?)
    }

    async fn aws(&self, action: &AwsAction, ids: &AwsIds) -> Result<AwsOutcome, ExecError> {
        match &self.aws {
            Some(client) => Ok(client.execute(action, ids).await?),
            None => Err(NO_AWS.into()),
        }
    }
}
