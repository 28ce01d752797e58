//! What the registries of `swarmkeeper.yaml` need of AWS: a password kept
//! as an SSM SecureString, and ECR's short-lived tokens
//! (`ecr:GetAuthorizationToken`, the instance profile's). Values are
//! returned to the caller and never logged or put into an error.

use base64::Engine as _;

use crate::client::Aws;
use crate::error::AwsError;

/// An ECR token as `docker login` would use it.
#[derive(Clone, PartialEq, Eq)]
pub struct EcrToken {
    pub username: String,
    pub password: String,
    /// When ECR says it expires (unix seconds), if it says.
    pub expires_at: Option<u64>,
}

impl std::fmt::Debug for EcrToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EcrToken({}, <redacted>, expires {:?})",
            self.username, self.expires_at
        )
    }
}

fn unreadable(action: &'static str, message: &str) -> AwsError {
    AwsError {
        action,
        code: "Unreadable".to_owned(),
        message: message.to_owned(),
        hint: None,
        kind: swarmkeeper_plan::ErrorKind::Invalid,
    }
}

impl Aws {
    /// The decrypted value of an SSM parameter (a SecureString); `None`
    /// when it does not exist.
    pub async fn secure_parameter(&self, name: &str) -> Result<Option<String>, AwsError> {
        match self
            .call(
                "ssm:GetParameter",
                self.ssm.get_parameter().name(name).with_decryption(true).send(),
            )
            .await
        {
            Ok(p) => Ok(p.parameter().and_then(|p| p.value()).map(str::to_owned)),
            Err(e) if e.is("ParameterNotFound") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A token for the ECR registry of `account` (in this connection's
    /// region): `AWS` and a password, valid for 12 hours.
    pub async fn ecr_token(&self, account: &str) -> Result<EcrToken, AwsError> {
        const ACTION: &str = "ecr:GetAuthorizationToken";
        #[allow(deprecated)] // registryIds: deprecated by AWS, still the way to name another account's registry
        let answer = self
            .call(ACTION, self.ecr.get_authorization_token().registry_ids(account).send())
            .await?;
        let data = answer
            .authorization_data()
            .first()
            .ok_or_else(|| unreadable(ACTION, "ECR answered without authorization data"))?;
        let token = data
            .authorization_token()
            .ok_or_else(|| unreadable(ACTION, "ECR answered without a token"))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unreadable(ACTION, "ECR's token is not base64 text"))?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| unreadable(ACTION, "ECR's token is not USER:PASSWORD"))?;
        Ok(EcrToken {
            username: username.to_owned(),
            password: password.to_owned(),
            expires_at: data.expires_at().and_then(|t| u64::try_from(t.secs()).ok()),
        })
    }
}
