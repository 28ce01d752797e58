//! Lookups the desired state depends on: the cluster's VPC and subnets,
//! and the AMIs behind `ssm:` parameters.

use swarmkeeper_model::Config;
use swarmkeeper_model::config::Ami;
use swarmkeeper_plan::aws::desired::AwsInputs;

use crate::{Aws, AwsError};

fn filter(name: &str, value: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder().name(name).values(value).build()
}

impl Aws {
    /// The cluster's VPC id and its subnets (sorted).
    pub async fn network(&self, config: &Config) -> Result<(String, Vec<String>), AwsError> {
        let declared = config.cluster.as_ref().and_then(|c| c.network.as_ref());
        let vpc = match declared {
            Some(n) => n.vpc.clone(),
            None => {
                let vpcs = self
                    .call(
                        "ec2:DescribeVpcs",
                        self.ec2.describe_vpcs().filters(filter("isDefault", "true")).send(),
                    )
                    .await?;
                match vpcs.vpcs().first().and_then(|v| v.vpc_id()) {
                    Some(id) => id.to_owned(),
                    None => {
                        return Err(AwsError {
                            action: "ec2:DescribeVpcs",
                            code: "NoDefaultVpc".to_owned(),
                            message: format!("region {} has no default VPC", self.region),
                            hint: Some("declare `cluster.network` with a VPC and its subnets".to_owned()),
                            kind: swarmkeeper_plan::ErrorKind::Invalid,
                        });
                    }
                }
            }
        };
        if let Some(n) = declared.filter(|n| !n.subnets.is_empty()) {
            let mut subnets = n.subnets.clone();
            subnets.sort();
            return Ok((vpc, subnets));
        }
        let out = self
            .call(
                "ec2:DescribeSubnets",
                self.ec2.describe_subnets().filters(filter("vpc-id", &vpc)).send(),
            )
            .await?;
        let mut subnets: Vec<String> = out
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_id().map(str::to_owned))
            .collect();
        subnets.sort();
        Ok((vpc, subnets))
    }

    /// Resolve every `ssm:` AMI of the cluster's pools; missing parameters
    /// are left out (the desired state reports them).
    pub async fn amis(&self, config: &Config) -> Result<std::collections::BTreeMap<String, String>, AwsError> {
        let mut out = std::collections::BTreeMap::new();
        let Some(cluster) = &config.cluster else { return Ok(out) };
        let pools = std::iter::once(&cluster.managers).chain(cluster.workers.as_ref());
        for pool in pools {
            let Ami::Ssm(param) = &pool.ami else { continue };
            if out.contains_key(param) {
                continue;
            }
            match self
                .call("ssm:GetParameter", self.ssm.get_parameter().name(param).send())
                .await
            {
                Ok(p) => {
                    if let Some(v) = p.parameter().and_then(|p| p.value()) {
                        out.insert(param.clone(), v.to_owned());
                    }
                }
                Err(e) if e.is("ParameterNotFound") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Everything [`AwsInputs`] needs from AWS; the swarm facts (join
    /// tokens, manager addresses) are added by the caller.
    pub async fn inputs(&self, config: &Config) -> Result<(String, AwsInputs), AwsError> {
        let (vpc, subnets) = self.network(config).await?;
        let amis = self.amis(config).await?;
        let certificate_arn = match config.ingress.as_ref().and_then(|i| i.certificate.as_deref()) {
            Some(wanted) => self.certificate(wanted).await?,
            None => None,
        };
        Ok((
            vpc,
            AwsInputs {
                subnets,
                amis,
                certificate_arn,
                ..AwsInputs::default()
            },
        ))
    }
}
