//! CloudWatch log groups: create, retention, delete.

use swarmkeeper_plan::aws::spec::*;

use super::{AwsIds, AwsOutcome, settled};
use crate::{Aws, AwsError};

impl Aws {
    pub(crate) async fn create_log_group(&self, spec: &LogGroupSpec, ids: &AwsIds) -> Result<AwsOutcome, AwsError> {
        let result = self
            .call(
                "logs:CreateLogGroup",
                self.logs
                    .create_log_group()
                    .log_group_name(&spec.name)
                    .tags(TAG_CLUSTER, &ids.cluster)
                    .tags(TAG_NAME, &spec.name)
                    .send(),
            )
            .await;
        settled(result, "ResourceAlreadyExistsException")
    }

    pub(crate) async fn put_retention_policy(&self, spec: &LogGroupSpec) -> Result<AwsOutcome, AwsError> {
        self.call(
            "logs:PutRetentionPolicy",
            self.logs
                .put_retention_policy()
                .log_group_name(&spec.name)
                .retention_in_days(spec.retention_days as i32)
                .send(),
        )
        .await?;
        Ok(AwsOutcome::Done)
    }

    pub(crate) async fn delete_log_group(&self, name: &str) -> Result<AwsOutcome, AwsError> {
        let result = self
            .call(
                "logs:DeleteLogGroup",
                self.logs.delete_log_group().log_group_name(name).send(),
            )
            .await;
        settled(result, "ResourceNotFoundException")
    }
}
