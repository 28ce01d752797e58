//! AWS errors as the user should see them: the operation, AWS's error code
//! and message, and what to do about it.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, thiserror::Error)]
#[error("AWS {action} failed: {code}: {message}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
pub struct AwsError {
    /// The IAM action of the call, e.g. `ec2:CreateSecurityGroup`.
    pub action: &'static str,
    /// AWS's error code (`UnauthorizedOperation`, …) or the transport failure.
    pub code: String,
    pub message: String,
    pub hint: Option<String>,
}

impl AwsError {
    pub fn from_sdk<E, R>(action: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                let code = inner.code().unwrap_or("Unknown").to_owned();
                let hint = match code.as_str() {
                    "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" => Some(format!(
                        "grant the IAM action {action} to swarmkeeper's role; manifests/iam-policy.json lists every action it needs"
                    )),
                    "AuthFailure" | "InvalidClientTokenId" | "ExpiredToken" | "UnrecognizedClientException" => Some(
                        "check the credentials of the standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, the instance profile)"
                            .to_owned(),
                    ),
                    _ => None,
                };
                Self {
                    action,
                    code,
                    message: inner.message().unwrap_or_default().to_owned(),
                    hint,
                }
            }
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Self {
                action,
                code: "Unreachable".to_owned(),
                message: DisplayErrorContext(&err).to_string(),
                hint: Some("check network access to AWS, or AWS_ENDPOINT_URL if you set one".to_owned()),
            },
            _ => Self {
                action,
                code: "Error".to_owned(),
                // The chain of causes, never `{:?}`: Debug of a response
                // error can include the raw response and its body.
                message: DisplayErrorContext(&err).to_string(),
                hint: None,
            },
        }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
}
