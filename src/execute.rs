//! What a provider must do for the executor: run one action, given the
//! names → ids known so far, and say what it left behind.
//!
//! [`crate::apply`] schedules steps (dependencies, concurrency caps,
//! cancellation, panics) and knows nothing of bollard or the AWS SDK; the
//! real providers implement [`Execute`] here, and the executor's tests use
//! in-memory fakes. A step's failure is a [`StepError`]: its kind travels
//! with its message, up to the controller's error policy.

use std::future::Future;

use swarmkeeper_aws::execute::AwsOutcome;
use swarmkeeper_aws::{AwsError, AwsIds};
use swarmkeeper_plan::Action;
use swarmkeeper_plan::ErrorKind;
use swarmkeeper_plan::aws::AwsAction;
use swarmkeeper_swarm::EngineError;
use swarmkeeper_swarm::execute::{Ids, Outcome};

use crate::cycle::Providers;

/// How a step failed: its kind, decided by the provider that ran it (see
/// [`ErrorKind`]), and the message the user reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub kind: ErrorKind,
    pub message: String,
}

impl StepError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StepError {}

impl From<EngineError> for StepError {
    fn from(e: EngineError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

impl From<AwsError> for StepError {
    fn from(e: AwsError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

/// What a provider's failure becomes in the executor.
pub type ExecError = StepError;

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

/// A step that needs AWS when there is no connection: transient, the
/// controller connects again at its next cycle.
pub fn no_aws() -> StepError {
    StepError::new(ErrorKind::Transient, NO_AWS)
}

impl Execute for Providers {
    async fn swarm(&self, action: &Action, ids: &Ids) -> Result<Outcome, ExecError> {
        match &self.engine {
            Some(engine) => Ok(engine.execute(action, ids).await?),
            // Never planned without an engine; a step that gets here anyway
            // fails rather than going to some other engine.
            None => Err(StepError::new(
                ErrorKind::Transient,
                "no connection to the cluster's swarm for a swarm action",
            )),
        }
    }

    async fn aws(&self, action: &AwsAction, ids: &AwsIds) -> Result<AwsOutcome, ExecError> {
        match &self.aws {
            Some(client) => Ok(client.execute(action, ids).await?),
            None => Err(no_aws()),
        }
    }
}
