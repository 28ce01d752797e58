//! Reads the configs' and secrets' values a desired state keeps in AWS
//! (`x-swarmkeeper.source`): SSM parameters (SecureStrings decrypted by SSM
//! with their KMS key) and Secrets Manager secrets at a version id or a
//! stage. Each value once per plan; a value that does not exist is an
//! error naming it and the place that declares it, so the plan is refused
//! and nothing changes. Values travel as `Content` (whose `Debug` shows
//! only the length); errors carry AWS's code and message, never a body.

use std::collections::BTreeMap;

use swarmkeeper_model::compose::{Content, ValueSource};
use swarmkeeper_model::values::Reference;
use swarmkeeper_plan::ErrorKind;

use crate::client::Aws;
use crate::error::AwsError;

impl Aws {
    /// The bytes of every reference.
    pub async fn values(&self, refs: &[Reference]) -> Result<BTreeMap<ValueSource, Content>, AwsError> {
        let mut out = BTreeMap::new();
        for r in refs {
            let bytes = match &r.source {
                ValueSource::Ssm { name } => self.value_parameter(name, &r.declared).await?,
                ValueSource::SecretsManager {
                    id,
                    version_id,
                    version_stage,
                } => {
                    self.value_secret(id, version_id.as_deref(), version_stage.as_deref(), &r.declared)
                        .await?
                }
            };
            out.insert(r.source.clone(), Content(bytes));
        }
        Ok(out)
    }

    async fn value_parameter(&self, name: &str, declared: &str) -> Result<Vec<u8>, AwsError> {
        let answer = self
            .call(
                "ssm:GetParameter",
                self.ssm.get_parameter().name(name).with_decryption(true).send(),
            )
            .await
            .map_err(|e| missing(e, "ParameterNotFound", || {
                (
                    format!("{declared}: SSM parameter {name} does not exist"),
                    format!(
                        "create it (aws ssm put-parameter --type SecureString --name {name} --value …) or fix `x-swarmkeeper.source`; nothing is changed until it can be read"
                    ),
                )
            }))?;
        answer
            .parameter()
            .and_then(|p| p.value())
            .map(|v| v.as_bytes().to_vec())
            .ok_or_else(|| unanswered("ssm:GetParameter", &format!("SSM parameter {name}")))
    }

    async fn value_secret(
        &self,
        id: &str,
        version_id: Option<&str>,
        version_stage: Option<&str>,
        declared: &str,
    ) -> Result<Vec<u8>, AwsError> {
        let mut request = self.secrets.get_secret_value().secret_id(id);
        if let Some(v) = version_id {
            request = request.version_id(v);
        } else if let Some(s) = version_stage {
            request = request.version_stage(s);
        }
        let what = match (version_id, version_stage) {
            (Some(v), _) => format!("Secrets Manager secret {id} (version {v})"),
            (None, Some(s)) => format!("Secrets Manager secret {id} (stage {s})"),
            (None, None) => format!("Secrets Manager secret {id}"),
        };
        let answer = self
            .call("secretsmanager:GetSecretValue", request.send())
            .await
            .map_err(|e| missing(e, "ResourceNotFoundException", || {
                (
                    format!("{declared}: {what} does not exist"),
                    format!(
                        "create it (aws secretsmanager create-secret --name {id} --secret-string …), or fix `x-swarmkeeper.source` and its version; nothing is changed until it can be read"
                    ),
                )
            }))?;
        if let Some(s) = answer.secret_string() {
            return Ok(s.as_bytes().to_vec());
        }
        answer
            .secret_binary()
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| unanswered("secretsmanager:GetSecretValue", &what))
    }
}

/// A not-found error said as "this value, declared there, does not exist".
fn missing(e: AwsError, code: &str, say: impl FnOnce() -> (String, String)) -> AwsError {
    if !e.is(code) {
        return e;
    }
    let (message, hint) = say();
    AwsError {
        message,
        hint: Some(hint),
        kind: ErrorKind::NotFound,
        ..e
    }
}

fn unanswered(action: &'static str, what: &str) -> AwsError {
    AwsError {
        action,
        code: "NoValue".to_owned(),
        message: format!("AWS answered without the value of {what}"),
        hint: None,
        kind: ErrorKind::Invalid,
    }
}
