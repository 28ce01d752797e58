//! swarmkeeper's AWS provider: the only crate that links the AWS SDK
//! (it is the slow one to compile, so nothing else depends on the SDK).
//!
//! It observes and changes AWS resources and holds no policy: what to do is
//! decided by `swarmkeeper-plan`. Credentials, region and endpoints come only
//! from the standard AWS chain (`AWS_PROFILE`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL` and the per-service forms). Retries are the SDK's own
//! (standard mode, bounded attempts); there is no second retry layer.
//!
//! - [`client`]: configuration and the counted call path;
//! - [`inputs`]: lookups the desired state depends on (subnets, AMIs);
//! - [`observe`]: what the cluster owns, found by its tag;
//! - [`reach`]: the managers' published addresses and running instances,
//!   for reaching the swarm from outside;
//! - [`execute`]: one plan action = the calls that make it so;
//! - `identity`: the swarm recorded as the cluster's;
//! - `ssm`: the parameters under a cluster's prefix, page by page;
//! - [`registry`]: registry passwords kept in SSM, and ECR tokens.
//! - [`values`]: configs' and secrets' values kept in SSM and Secrets
//!   Manager; [`kms`]: SOPS data keys wrapped by KMS.

mod calls;
pub mod client;
mod ec2;
mod elb;
mod error;
pub mod execute;
mod identity;
pub mod inputs;
pub mod kms;
pub mod observe;
pub mod reach;
pub mod registry;
mod ssm;
pub mod values;

pub use calls::{CallCounts, is_read};
pub use client::{Aws, sdk_config};
pub use ec2::VpcSummary;
pub use error::AwsError;
pub use execute::AwsIds;
pub(crate) use ssm::SsmRead;
