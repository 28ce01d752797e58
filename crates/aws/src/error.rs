//! AWS errors as the user should see them: the operation, AWS's error code
//! and message, and what to do about it; and their [`ErrorKind`] for the
//! controller's error policy, decided here from AWS's error code (the
//! SDK's own lists of throttling and transient codes), the HTTP status and
//! the kind of SDK failure.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use swarmkeeper_plan::ErrorKind;

#[derive(Debug, thiserror::Error)]
#[error("AWS {action} failed: {code}: {message}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
pub struct AwsError {
    /// The IAM action of the call, e.g. `ec2:CreateSecurityGroup`.
    pub action: &'static str,
    /// AWS's error code (`UnauthorizedOperation`, …) or the transport failure.
    pub code: String,
    pub message: String,
    pub hint: Option<String>,
    /// Transient, conflict, permission, … (see [`classify`]).
    pub kind: ErrorKind,
}

impl AwsError {
    pub fn from_sdk<E>(action: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
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
                let kind = classify(&code, Some(service.raw().status().as_u16()));
                Self {
                    action,
                    code,
                    message: inner.message().unwrap_or_default().to_owned(),
                    hint,
                    kind,
                }
            }
            _ if credentials_hint(&DisplayErrorContext(&err).to_string(), None).is_some() => {
                let message = DisplayErrorContext(&err).to_string();
                let profile = std::env::var("AWS_PROFILE").ok();
                Self {
                    action,
                    code: "NoCredentials".to_owned(),
                    hint: credentials_hint(&message, profile.as_deref()),
                    message,
                    kind: ErrorKind::Permission,
                }
            }
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Self {
                action,
                code: "Unreachable".to_owned(),
                message: DisplayErrorContext(&err).to_string(),
                hint: Some("check network access to AWS, or AWS_ENDPOINT_URL if you set one".to_owned()),
                kind: ErrorKind::Transient,
            },
            // An answer the SDK could not read (cut off, garbled): the
            // SDK's own retry classifier counts it as transient.
            SdkError::ResponseError(_) => Self {
                action,
                code: "Error".to_owned(),
                message: DisplayErrorContext(&err).to_string(),
                hint: None,
                kind: ErrorKind::Transient,
            },
            _ => Self {
                action,
                code: "Error".to_owned(),
                // The chain of causes, never `{:?}`: Debug of a response
                // error can include the raw response and its body.
                message: DisplayErrorContext(&err).to_string(),
                hint: None,
                // The request could not be built: nothing AWS said.
                kind: ErrorKind::Invalid,
            },
        }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// What to do when the credential chain failed, from the SDK's words
/// (`None`: the failure is not about credentials). `profile` is the
/// profile in use (AWS_PROFILE), `default` when unset.
pub fn credentials_hint(message: &str, profile: Option<&str>) -> Option<String> {
    let m = message.to_ascii_lowercase();
    let profile = profile.filter(|p| !p.is_empty()).unwrap_or("default");
    let about_credentials = m.contains("credential") || m.contains("identity") || m.contains("sso");
    if !about_credentials {
        return None;
    }
    if m.contains("sso") && (m.contains("token") || m.contains("cache") || m.contains("expired")) {
        return Some(format!(
            "profile `{profile}` signs in through AWS SSO and has no valid SSO token: run `aws sso login --profile {profile}`, then run swarmkeeper again"
        ));
    }
    if m.contains("credential_process") || m.contains("credential process") || m.contains("credentialprocess") {
        return Some(format!(
            "the credential_process of profile `{profile}` failed: run its command by hand to see why; it must print the JSON the AWS CLI documents"
        ));
    }
    if m.contains("assumerole") || m.contains("assume role") || m.contains("role_arn") {
        return Some(format!(
            "assuming the role of profile `{profile}` failed: check its role_arn and the credentials of its source_profile"
        ));
    }
    if m.contains("no credentials")
        || m.contains("credentials provider")
        || m.contains("could not load credentials")
        || m.contains("credentialsnotloaded")
        || m.contains("failed to load credentials")
        || m.contains("identity")
    {
        return Some(
            "give swarmkeeper credentials through the standard chain: AWS_PROFILE (static keys, credential_process, SSO, role_arn + source_profile), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, web identity, or the instance profile"
                .to_owned(),
        );
    }
    None
}

/// The kind of an AWS error from its code and, when AWS answered, the
/// HTTP status. The code decides first (the SDK's own throttling and
/// transient lists, then the families of codes the services share); a code
/// none of them names goes by the status (5xx transient, 4xx invalid).
pub fn classify(code: &str, status: Option<u16>) -> ErrorKind {
    use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
    const PERMISSION: &[&str] = &[
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthFailure",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "OptInRequired",
        "NoCredentials",
    ];
    const TRANSIENT: &[&str] = &[
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "Unavailable",
        "Unreachable",
        "IncorrectState",
        "ResourceContention",
        "ScalingActivityInProgress",
        "IncorrectInstanceState",
    ];
    if THROTTLING_ERRORS.contains(&code) || TRANSIENT_ERRORS.contains(&code) || TRANSIENT.contains(&code) {
        return ErrorKind::Transient;
    }
    if PERMISSION.contains(&code) {
        return ErrorKind::Permission;
    }
    if code.ends_with("NotFound") || code.ends_with(".NotFound") || code.ends_with("NotFoundException") {
        return ErrorKind::NotFound;
    }
    if code.contains("AlreadyExists")
        || code.ends_with("InUse")
        || code.ends_with("InUseException")
        || code.ends_with(".Duplicate")
        || code.ends_with("Conflict")
        || code == "DependencyViolation"
        || code.starts_with("DuplicateLoadBalancerName")
        || code.starts_with("DuplicateTargetGroupName")
        || code.starts_with("DuplicateListener")
    {
        return ErrorKind::Conflict;
    }
    if code.starts_with("InvalidParameter")
        || code.starts_with("Invalid")
        || code.starts_with("ValidationError")
        || code.starts_with("ValidationException")
        || code == "MissingParameter"
        || code == "UnsupportedOperation"
        || code.starts_with("Unsupported")
        || code.ends_with("LimitExceeded")
    {
        return ErrorKind::Invalid;
    }
    match status {
        Some(s) if s >= 500 => ErrorKind::Transient,
        Some(401 | 403) => ErrorKind::Permission,
        Some(404) => ErrorKind::NotFound,
        Some(409) => ErrorKind::Conflict,
        Some(s) if s >= 400 => ErrorKind::Invalid,
        _ => ErrorKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    //! Classification of SDK errors as the SDK builds them: a service error
    //! with its code and HTTP status, a timeout, a connection that failed.

    use aws_sdk_ec2::operation::create_security_group::CreateSecurityGroupError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn service(code: &str, status: u16) -> AwsError {
        let err = CreateSecurityGroupError::generic(ErrorMetadata::builder().code(code).message("from AWS").build());
        let status = StatusCode::try_from(status).expect("a valid HTTP status");
        let raw = HttpResponse::new(status, SdkBody::empty());
        AwsError::from_sdk("ec2:CreateSecurityGroup", SdkError::service_error(err, raw))
    }

    #[test]
    fn service_errors_are_classified_by_code_then_status() {
        use ErrorKind::*;
        let cases = [
            ("RequestLimitExceeded", 503, Transient),
            ("Throttling", 400, Transient),
            ("ThrottlingException", 400, Transient),
            ("RequestTimeout", 400, Transient),
            ("InternalError", 500, Transient),
            ("ServiceUnavailable", 503, Transient),
            ("SomethingNew", 500, Transient),
            ("UnauthorizedOperation", 403, Permission),
            ("AccessDenied", 403, Permission),
            ("AccessDeniedException", 400, Permission),
            ("AuthFailure", 401, Permission),
            ("InvalidParameterValue", 400, Invalid),
            ("InvalidParameterCombination", 400, Invalid),
            ("ValidationError", 400, Invalid),
            ("InvalidAMIID.Malformed", 400, Invalid),
            ("VpcLimitExceeded", 400, Invalid),
            ("SomethingElse", 400, Invalid),
            ("InvalidGroup.Duplicate", 400, Conflict),
            ("InvalidPermission.Duplicate", 400, Conflict),
            ("AlreadyExists", 400, Conflict),
            ("FileSystemAlreadyExists", 409, Conflict),
            ("ResourceInUse", 400, Conflict),
            ("FileSystemInUse", 409, Conflict),
            ("DependencyViolation", 400, Conflict),
            ("MountTargetConflict", 409, Conflict),
            ("InvalidGroup.NotFound", 400, NotFound),
            ("FileSystemNotFound", 404, NotFound),
            ("ResourceNotFoundException", 400, NotFound),
        ];
        for (code, status, kind) in cases {
            let e = service(code, status);
            assert_eq!(e.kind(), kind, "{code} ({status})");
            assert_eq!(e.code, code);
        }
    }

    #[test]
    fn transport_failures_are_transient_and_unbuilt_requests_invalid() {
        let timeout: SdkError<CreateSecurityGroupError, HttpResponse> =
            SdkError::timeout_error(std::io::Error::other("timed out"));
        assert_eq!(
            AwsError::from_sdk("ec2:DescribeVpcs", timeout).kind(),
            ErrorKind::Transient
        );
        let dispatch: SdkError<CreateSecurityGroupError, HttpResponse> = SdkError::dispatch_failure(
            ConnectorError::io(Box::new(std::io::Error::other("connection refused"))),
        );
        let e = AwsError::from_sdk("ec2:DescribeVpcs", dispatch);
        assert_eq!((e.kind(), e.code.as_str()), (ErrorKind::Transient, "Unreachable"));
        let garbled: SdkError<CreateSecurityGroupError, HttpResponse> = SdkError::response_error(
            std::io::Error::other("truncated"),
            HttpResponse::new(StatusCode::try_from(200).expect("200"), SdkBody::empty()),
        );
        assert_eq!(
            AwsError::from_sdk("ec2:DescribeVpcs", garbled).kind(),
            ErrorKind::Transient
        );
        let unbuilt: SdkError<CreateSecurityGroupError, HttpResponse> =
            SdkError::construction_failure(std::io::Error::other("missing field"));
        assert_eq!(
            AwsError::from_sdk("ec2:CreateSecurityGroup", unbuilt).kind(),
            ErrorKind::Invalid
        );
    }

    #[test]
    fn credential_failures_say_what_to_run() {
        use super::credentials_hint;
        let sso = credentials_hint(
            "failed to load an SSO token: no cached SSO token was found for this session (CredentialsNotLoaded)",
            Some("dev"),
        )
        .expect("about credentials");
        assert!(sso.contains("aws sso login --profile dev"), "{sso}");
        let process = credentials_hint("credential_process: the process exited with status 1", None).expect("hint");
        assert!(process.contains("profile `default`"), "{process}");
        assert!(credentials_hint("dispatch failure: connection refused", Some("dev")).is_none());
    }
}
