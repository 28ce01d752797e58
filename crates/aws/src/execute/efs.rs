//! EFS file systems and their mount targets: create (the creation token
//! is the idempotency key), tag, add and remove mount targets, delete
//! (waiting while mount targets are still going away).

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use swarmkeeper_plan::aws::spec::*;

use super::{AwsIds, AwsOutcome, missing, settled};
use crate::{Aws, AwsError};

/// Waiting for EFS to finish deleting mount targets (eventual consistency,
/// not throttling: the SDK retries that).
fn while_in_use() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(10))
        .with_max_times(10)
}

impl Aws {
    pub(crate) async fn create_file_system(&self, spec: &FileSystemSpec, ids: &AwsIds) -> Result<AwsOutcome, AwsError> {
        let created = self
            .call(
                "elasticfilesystem:CreateFileSystem",
                self.efs
                    .create_file_system()
                    .creation_token(&spec.creation_token)
                    .encrypted(true)
                    .tags(efs_tag(TAG_CLUSTER, &ids.cluster))
                    .tags(efs_tag(TAG_NAME, &spec.volume))
                    .tags(efs_tag("Name", &spec.creation_token))
                    .tags(efs_tag(TAG_DELETION_POLICY, spec.deletion_policy.as_str()))
                    .send(),
            )
            .await;
        let id = match created {
            Ok(fs) => fs.file_system_id().to_owned(),
            // The creation token is the idempotency key: a run interrupted
            // after this call finds its file system here.
            Err(e) if e.is("FileSystemAlreadyExists") => {
                let found = self
                    .call(
                        "elasticfilesystem:DescribeFileSystems",
                        self.efs
                            .describe_file_systems()
                            .creation_token(&spec.creation_token)
                            .send(),
                    )
                    .await?;
                found
                    .file_systems()
                    .first()
                    .map(|f| f.file_system_id().to_owned())
                    .ok_or(e)?
            }
            Err(e) => return Err(e),
        };
        Ok(AwsOutcome::FileSystem {
            token: spec.creation_token.clone(),
            id,
        })
    }

    pub(crate) async fn tag_file_system(&self, id: &str, spec: &FileSystemSpec) -> Result<AwsOutcome, AwsError> {
        self.call(
            "elasticfilesystem:TagResource",
            self.efs
                .tag_resource()
                .resource_id(id)
                .tags(efs_tag(TAG_DELETION_POLICY, spec.deletion_policy.as_str()))
                .send(),
        )
        .await?;
        Ok(AwsOutcome::Done)
    }

    pub(crate) async fn create_mount_target(
        &self,
        creation_token: &str,
        subnet: &str,
        ids: &AwsIds,
    ) -> Result<AwsOutcome, AwsError> {
        let fs = ids
            .file_systems
            .get(creation_token)
            .ok_or_else(|| missing("file system", creation_token))?;
        let sg = ids.sg(&swarmkeeper_plan::aws::desired::efs_group(&ids.cluster))?;
        let result = self
            .call(
                "elasticfilesystem:CreateMountTarget",
                self.efs
                    .create_mount_target()
                    .file_system_id(fs)
                    .subnet_id(subnet)
                    .security_groups(sg)
                    .send(),
            )
            .await;
        // Made by an earlier, interrupted run: nothing to do.
        settled(result, "MountTargetConflict")
    }

    pub(crate) async fn delete_mount_target(&self, id: &str) -> Result<AwsOutcome, AwsError> {
        let result = self
            .call(
                "elasticfilesystem:DeleteMountTarget",
                self.efs.delete_mount_target().mount_target_id(id).send(),
            )
            .await;
        settled(result, "MountTargetNotFound")
    }

    pub(crate) async fn delete_file_system(&self, id: &str) -> Result<AwsOutcome, AwsError> {
        let delete = || {
            self.call(
                "elasticfilesystem:DeleteFileSystem",
                self.efs.delete_file_system().file_system_id(id).send(),
            )
        };
        match delete
            .retry(while_in_use())
            .when(|e: &AwsError| e.is("FileSystemInUse"))
            .await
        {
            Err(e) if !e.is("FileSystemNotFound") => Err(e),
            _ => Ok(AwsOutcome::Done),
        }
    }
}

fn efs_tag(key: &str, value: &str) -> aws_sdk_efs::types::Tag {
    aws_sdk_efs::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .unwrap_or_else(|_| unreachable!("key and value are set"))
}
