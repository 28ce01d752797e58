//! SSM parameters: put (create, or overwrite), delete; and the single
//! parameters the binary reads and writes outside a plan: the compact
//! status and the `destroying` marker.

use swarmkeeper_plan::aws::spec::*;

use super::{AwsIds, AwsOutcome, settled};
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

    pub(crate) async fn delete_parameter(&self, name: &str) -> Result<AwsOutcome, AwsError> {
        let result = self
            .call("ssm:DeleteParameter", self.ssm.delete_parameter().name(name).send())
            .await;
        settled(result, "ParameterNotFound")
    }

    /// One plain (String) parameter's value; `None` when it does not exist.
    pub async fn string_parameter(&self, name: &str) -> Result<Option<String>, AwsError> {
        match self
            .call("ssm:GetParameter", self.ssm.get_parameter().name(name).send())
            .await
        {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_owned)),
            Err(e) if e.is("ParameterNotFound") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes a plain (String) parameter, replacing what is there.
    pub async fn put_string_parameter(&self, name: &str, value: &str) -> Result<(), AwsError> {
        self.call(
            "ssm:PutParameter",
            self.ssm
                .put_parameter()
                .name(name)
                .value(value)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .overwrite(true)
                .send(),
        )
        .await?;
        Ok(())
    }
}
