//! The SDK clients, built from the standard AWS configuration chain, and
//! the one place every call goes through (counted, errors classified).
//!
//! The chain is the SDK's default, as the AWS CLI resolves it: environment
//! keys, then the profile (AWS_PROFILE, else `default`, from
//! AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE): static keys,
//! `credential_process`, SSO (`sso_session` or the legacy keys, from the
//! token `aws sso login` cached), `role_arn` with `source_profile` or
//! `credential_source` (assumed through STS), web identity; then ECS and
//! the instance profile (IMDSv2).

use std::future::Future;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::calls::{CallCounter, CallCounts};
use crate::error::AwsError;

/// Attempts per SDK call (first try included) before an error surfaces.
/// Throttling and 5xx are retried by the SDK's standard mode; there is no
/// second retry layer around SDK calls.
pub const MAX_ATTEMPTS: u32 = 5;

/// How long [`Aws::connect_checked`] may take to find credentials.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Load the shared SDK configuration: standard credential and region chain,
/// standard retry mode, rustls with ring (no C toolchain needed).
pub async fn sdk_config(region: Option<&str>) -> aws_config::SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https();
    loader(region).http_client(http_client).load().await
}

/// The configuration loader without an HTTP client, for callers (tests)
/// that bring their own.
pub fn loader(region: Option<&str>) -> aws_config::ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    loader
}

/// The SDK clients swarmkeeper uses, sharing one configuration.
#[derive(Clone, Debug)]
pub struct Aws {
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) autoscaling: aws_sdk_autoscaling::Client,
    pub(crate) efs: aws_sdk_efs::Client,
    pub(crate) ssm: aws_sdk_ssm::Client,
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    pub(crate) elb: aws_sdk_elasticloadbalancingv2::Client,
    pub(crate) acm: aws_sdk_acm::Client,
    pub(crate) ecr: aws_sdk_ecr::Client,
    pub(crate) secrets: aws_sdk_secretsmanager::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    pub(crate) region: String,
    calls: Arc<CallCounter>,
}

impl Aws {
    /// Connect with the standard chain; `region` (from `cluster.region`)
    /// wins over the environment's region when given.
    pub async fn connect(region: Option<&str>) -> Self {
        let config = sdk_config(region).await;
        Self::from_config(&config)
    }

    /// [`Aws::connect`], then resolve the credentials once (bounded), so
    /// that a controller without credentials says so when it connects
    /// rather than at its first call.
    pub async fn connect_checked(region: &str) -> Result<Self, AwsError> {
        use aws_credential_types::provider::ProvideCredentials as _;
        let config = sdk_config(Some(region)).await;
        let failed = |message: String| {
            let profile = std::env::var("AWS_PROFILE").ok();
            let hint = crate::error::credentials_hint(&message, profile.as_deref()).unwrap_or_else(|| {
                "give swarmkeeper credentials through the standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, the instance profile)"
                    .to_owned()
            });
            AwsError {
                action: "credentials",
                code: "NoCredentials".to_owned(),
                message,
                hint: Some(hint),
                kind: swarmkeeper_plan::ErrorKind::Permission,
            }
        };
        let Some(provider) = config.credentials_provider() else {
            return Err(failed("no credentials provider is configured".to_owned()));
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, provider.provide_credentials()).await {
            Ok(Ok(_)) => Ok(Self::from_config(&config)),
            Ok(Err(e)) => Err(failed(DisplayErrorContext(&e).to_string())),
            Err(_) => Err(failed(format!(
                "resolving the credentials took longer than {}s",
                CONNECT_TIMEOUT.as_secs()
            ))),
        }
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self {
            ec2: aws_sdk_ec2::Client::new(config),
            autoscaling: aws_sdk_autoscaling::Client::new(config),
            efs: aws_sdk_efs::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            acm: aws_sdk_acm::Client::new(config),
            ecr: aws_sdk_ecr::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
            region: config.region().map(|r| r.to_string()).unwrap_or_default(),
            calls: Arc::new(CallCounter::default()),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn calls(&self) -> CallCounts {
        self.calls.snapshot()
    }

    /// Make one SDK call, counted under its IAM action.
    pub(crate) async fn call<T, E>(
        &self,
        action: &'static str,
        fut: impl Future<Output = Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>>,
    ) -> Result<T, AwsError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.calls.record(action, crate::calls::is_read(action));
        fut.await.map_err(|e| AwsError::from_sdk(action, e))
    }
}
