//! SSM parameters: put (create, or overwrite).

use swarmkeeper_plan::aws::spec::*;

use super::{AwsIds, AwsOutcome};
use crate::{Aws, AwsError};

impl Aws {
    pub(crate) async fn put_parameter(
        &self,
        spec: &ParameterSpec,
        overwrite: bool,
        ids: &AwsIds,
    ) -> Result<AwsOutcome, AwsError> {
        let kind = if spec.secure {
            aws_sdk_ssm::types::ParameterType::SecureString
        } else {
            aws_sdk_ssm::types::ParameterType::String
        };
        let mut put = self
            .ssm
            .put_parameter()
            .name(&spec.name)
            .value(&spec.value.0)
            .r#type(kind)
            .overwrite(overwrite);
        // SSM refuses tags together with overwrite.
        if !overwrite {
            put = put.tags(
                aws_sdk_ssm::types::Tag::builder()
                    .key(TAG_CLUSTER)
                    .value(&ids.cluster)
                    .build()
                    .map_err(|e| AwsError {
                        action: "ssm:PutParameter",
                        code: "InvalidTag".to_owned(),
                        message: e.to_string(),
                        hint: None,
                        kind: swarmkeeper_plan::ErrorKind::Invalid,
                    })?,
            );
        }
        self.call("ssm:PutParameter", put.send()).await?;
        Ok(AwsOutcome::Done)
    }
}
