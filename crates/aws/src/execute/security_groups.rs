//! Security groups and their ingress rules: create (with its rules, one
//! call each), authorize, revoke, delete.

use aws_sdk_ec2::types as ec2;
use swarmkeeper_plan::aws::spec::*;

use super::{AwsIds, AwsOutcome, ec2_tags, settled};
use crate::{Aws, AwsError};

fn permission(rule: &IngressRule, ids: &AwsIds) -> Result<ec2::IpPermission, AwsError> {
    let mut p = ec2::IpPermission::builder().ip_protocol(rule.protocol.as_str());
    if rule.protocol != IpProtocol::All {
        p = p.from_port(rule.from_port).to_port(rule.to_port);
    }
    Ok(match &rule.source {
        Source::Cidr(c) if c.contains(':') => p.ipv6_ranges(ec2::Ipv6Range::builder().cidr_ipv6(c).build()),
        Source::Cidr(c) => p.ip_ranges(ec2::IpRange::builder().cidr_ip(c).build()),
        Source::Group(g) => p.user_id_group_pairs(ec2::UserIdGroupPair::builder().group_id(ids.sg(g)?).build()),
    }
    .build())
}

impl Aws {
    pub(crate) async fn create_security_group(
        &self,
        spec: &SecurityGroupSpec,
        ids: &AwsIds,
    ) -> Result<AwsOutcome, AwsError> {
        let created = self
            .call(
                "ec2:CreateSecurityGroup",
                self.ec2
                    .create_security_group()
                    .group_name(&spec.name)
                    .description(&spec.description)
                    .vpc_id(&ids.vpc)
                    .tag_specifications(ec2_tags(ec2::ResourceType::SecurityGroup, &ids.cluster, &spec.name))
                    .send(),
            )
            .await?;
        let id = created.group_id().unwrap_or_default().to_owned();
        let mut with_self = ids.clone();
        with_self.security_groups.insert(spec.name.clone(), id.clone());
        // One rule per call: EC2 rejects a whole batch if one rule exists.
        for rule in &spec.ingress {
            self.authorize(&id, rule, &with_self).await?;
        }
        Ok(AwsOutcome::SecurityGroup {
            name: spec.name.clone(),
            id,
        })
    }

    pub(crate) async fn authorize_ingress(
        &self,
        group: &str,
        rule: &IngressRule,
        ids: &AwsIds,
    ) -> Result<AwsOutcome, AwsError> {
        self.authorize(ids.sg(group)?, rule, ids).await?;
        Ok(AwsOutcome::Done)
    }

    pub(crate) async fn revoke_ingress(
        &self,
        group: &str,
        rule: &IngressRule,
        ids: &AwsIds,
    ) -> Result<AwsOutcome, AwsError> {
        let result = self
            .call(
                "ec2:RevokeSecurityGroupIngress",
                self.ec2
                    .revoke_security_group_ingress()
                    .group_id(ids.sg(group)?)
                    .ip_permissions(permission(rule, ids)?)
                    .send(),
            )
            .await;
        settled(result, "InvalidPermission.NotFound")
    }

    pub(crate) async fn delete_security_group(&self, id: &str) -> Result<AwsOutcome, AwsError> {
        let result = self
            .call(
                "ec2:DeleteSecurityGroup",
                self.ec2.delete_security_group().group_id(id).send(),
            )
            .await;
        settled(result, "InvalidGroup.NotFound")
    }

    async fn authorize(&self, group_id: &str, rule: &IngressRule, ids: &AwsIds) -> Result<(), AwsError> {
        let result = self
            .call(
                "ec2:AuthorizeSecurityGroupIngress",
                self.ec2
                    .authorize_security_group_ingress()
                    .group_id(group_id)
                    .ip_permissions(permission(rule, ids)?)
                    .send(),
            )
            .await;
        match result {
            Err(e) if !e.is("InvalidPermission.Duplicate") => Err(e),
            _ => Ok(()),
        }
    }
}
