//! The lookups for reaching a cluster's swarm from outside (see
//! `swarmkeeper_plan::reach`): what its managers published in SSM and its
//! managers' running instances (tagged `swarmkeeper:pool=managers` by
//! their group). Reads only.

use swarmkeeper_plan::aws::desired::ssm_prefix;
use swarmkeeper_plan::aws::spec::TAG_CLUSTER;
use swarmkeeper_plan::reach::ManagerInstance;

use crate::{Aws, AwsError, SsmRead};

impl Aws {
    /// `<prefix>/manager-addresses` (`ip:2377,…`), when published. Read
    /// with the prefix's own listing (one level, no decryption: the join
    /// tokens below it stay unread).
    pub async fn published_manager_addresses(&self, cluster: &str) -> Result<Option<String>, AwsError> {
        let prefix = ssm_prefix(cluster);
        let wanted = format!("{prefix}/manager-addresses");
        let values = self.parameters_under(&prefix, SsmRead::OneLevelUndecrypted).await?;
        Ok(values
            .into_iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, value)| value))
    }

    /// The running instances of the cluster's managers' group (by the
    /// cluster tag and the group the instance belongs to).
    pub async fn running_managers(&self, cluster: &str) -> Result<Vec<ManagerInstance>, AwsError> {
        let filter =
            |name: String, value: String| aws_sdk_ec2::types::Filter::builder().name(name).values(value).build();
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .call(
                    "ec2:DescribeInstances",
                    self.ec2
                        .describe_instances()
                        .filters(filter(format!("tag:{TAG_CLUSTER}"), cluster.to_owned()))
                        // Propagated from the managers' group at launch.
                        .filters(filter("tag:swarmkeeper:pool".to_owned(), "managers".to_owned()))
                        .filters(filter("instance-state-name".to_owned(), "running".to_owned()))
                        .set_next_token(token.take())
                        .send(),
                )
                .await?;
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                let Some(id) = i.instance_id() else { continue };
                out.push(ManagerInstance {
                    id: id.to_owned(),
                    private_ip: i.private_ip_address().map(str::to_owned),
                    public_ip: i.public_ip_address().map(str::to_owned),
                    launched_unix: i.launch_time().and_then(|t| u64::try_from(t.secs()).ok()),
                });
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}
