//! The cluster's recorded swarm (`<ssm-prefix>/swarm-id`): read before
//! anything is planned, so that the engine reached can be checked against
//! it (`swarmkeeper_plan::identity` decides). Written by the first manager's
//! bootstrap, or as a plan step when a swarm is adopted.

use crate::{Aws, AwsError};

impl Aws {
    /// The id of the cluster's swarm, `None` when none is recorded yet.
    pub async fn recorded_swarm(&self, parameter: &str) -> Result<Option<String>, AwsError> {
        self.parameter(parameter).await
    }

    /// The value of an SSM String parameter, `None` when it does not exist.
    pub async fn parameter(&self, name: &str) -> Result<Option<String>, AwsError> {
        match self
            .call("ssm:GetParameter", self.ssm.get_parameter().name(name).send())
            .await
        {
            Ok(p) => Ok(p.parameter().and_then(|p| p.value()).map(str::to_owned)),
            Err(e) if e.is("ParameterNotFound") => Ok(None),
            Err(e) => Err(e),
        }
    }
}
