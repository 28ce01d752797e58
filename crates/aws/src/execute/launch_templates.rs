//! Launch templates: create, a new default version, delete.

use aws_sdk_ec2::types as ec2;
use base64::Engine as _;
use swarmkeeper_plan::aws::spec::*;
use swarmkeeper_plan::aws::user_data::compress;

use super::{AwsIds, AwsOutcome, ec2_tags, missing};
use crate::{Aws, AwsError};

fn template_data(spec: &LaunchTemplateSpec, ids: &AwsIds) -> Result<ec2::RequestLaunchTemplateData, AwsError> {
    let mut data = ec2::RequestLaunchTemplateData::builder()
        .image_id(&spec.image_id)
        .instance_type(ec2::InstanceType::from(spec.instance_type.as_str()))
        .user_data(base64::engine::general_purpose::STANDARD.encode(compress(&spec.user_data)))
        .set_key_name(spec.key_name.clone())
        .set_iam_instance_profile(spec.instance_profile.as_ref().map(|name| {
            ec2::LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .name(name)
                .build()
        }))
        .metadata_options(
            ec2::LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(ec2::LaunchTemplateHttpTokensState::Required)
                .build(),
        )
        .tag_specifications(
            ec2::LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ec2::ResourceType::Instance)
                .tags(ec2::Tag::builder().key(TAG_CLUSTER).value(&ids.cluster).build())
                .tags(ec2::Tag::builder().key(TAG_NAME).value(&spec.name).build())
                .build(),
        );
    for sg in &spec.security_groups {
        data = data.security_group_ids(ids.sg(sg)?);
    }
    if let Some(size) = spec.root_volume_gb {
        data = data.block_device_mappings(
            ec2::LaunchTemplateBlockDeviceMappingRequest::builder()
                .device_name("/dev/xvda")
                .ebs(
                    ec2::LaunchTemplateEbsBlockDeviceRequest::builder()
                        .volume_size(i32::try_from(size).unwrap_or(i32::MAX))
                        .set_volume_type(spec.root_volume_type.as_deref().map(ec2::VolumeType::from))
                        .encrypted(true)
                        .delete_on_termination(true)
                        .build(),
                )
                .build(),
        );
    }
    Ok(data.build())
}

impl Aws {
    pub(crate) async fn create_launch_template(
        &self,
        spec: &LaunchTemplateSpec,
        ids: &AwsIds,
    ) -> Result<AwsOutcome, AwsError> {
        let created = self
            .call(
                "ec2:CreateLaunchTemplate",
                self.ec2
                    .create_launch_template()
                    .launch_template_name(&spec.name)
                    .launch_template_data(template_data(spec, ids)?)
                    .tag_specifications(ec2_tags(ec2::ResourceType::LaunchTemplate, &ids.cluster, &spec.name))
                    .send(),
            )
            .await?;
        let id = created
            .launch_template()
            .and_then(|t| t.launch_template_id())
            .unwrap_or_default()
            .to_owned();
        Ok(AwsOutcome::LaunchTemplate {
            name: spec.name.clone(),
            id,
        })
    }

    pub(crate) async fn create_launch_template_version(
        &self,
        spec: &LaunchTemplateSpec,
        ids: &AwsIds,
    ) -> Result<AwsOutcome, AwsError> {
        let id = ids
            .launch_templates
            .get(&spec.name)
            .ok_or_else(|| missing("launch template", &spec.name))?;
        // The full data every time: a version based on another one
        // is not merged by every implementation (moto ignores it).
        let created = self
            .call(
                "ec2:CreateLaunchTemplateVersion",
                self.ec2
                    .create_launch_template_version()
                    .launch_template_id(id)
                    .launch_template_data(template_data(spec, ids)?)
                    .send(),
            )
            .await?;
        let version = created
            .launch_template_version()
            .and_then(|v| v.version_number())
            .unwrap_or_default();
        self.call(
            "ec2:ModifyLaunchTemplate",
            self.ec2
                .modify_launch_template()
                .launch_template_id(id)
                .default_version(version.to_string())
                .send(),
        )
        .await?;
        Ok(AwsOutcome::Done)
    }

    pub(crate) async fn delete_launch_template(&self, id: &str) -> Result<AwsOutcome, AwsError> {
        let result = self
            .call(
                "ec2:DeleteLaunchTemplate",
                self.ec2.delete_launch_template().launch_template_id(id).send(),
            )
            .await;
        match result {
            Err(e) if !e.code.starts_with("InvalidLaunchTemplate") => Err(e),
            _ => Ok(AwsOutcome::Done),
        }
    }
}
