//! Observation: what the cluster owns, found by its `swarmkeeper:cluster`
//! tag, one list call per kind (paginated to the end).

use std::collections::BTreeMap;

use base64::Engine as _;
use swarmkeeper_plan::ErrorKind;
use swarmkeeper_plan::aws::desired::user_data_hash;
use swarmkeeper_plan::aws::spec::*;
use swarmkeeper_plan::aws::user_data;
use swarmkeeper_plan::closed_set::UnknownWord;

use crate::{Aws, AwsError, SsmRead};

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
}

fn tag_filter(cluster: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(format!("tag:{TAG_CLUSTER}"))
        .values(cluster)
        .build()
}

const DESCRIBE_GROUPS: &str = "autoscaling:DescribeAutoScalingGroups";

/// A word of a closed set AWS must send (an instance's health, a
/// listener's protocol): absent or unknown is an error, never a default.
pub(crate) fn closed_word<T>(action: &'static str, what: &str, word: Option<&str>) -> Result<T, AwsError>
where
    T: std::str::FromStr<Err = UnknownWord>,
{
    let Some(word) = word.filter(|w| !w.is_empty()) else {
        return Err(AwsError {
            action,
            code: "IncompleteResponse".to_owned(),
            message: format!("{what}: a value AWS always sends is missing"),
            hint: None,
            kind: ErrorKind::Invalid,
        });
    };
    word.parse().map_err(|e: UnknownWord| AwsError {
        action,
        code: "UnexpectedValue".to_owned(),
        message: format!("{what}: {e}"),
        hint: None,
        kind: ErrorKind::Invalid,
    })
}

fn incomplete(action: &'static str, instance: Option<&str>, what: &str) -> AwsError {
    AwsError {
        action,
        code: "IncompleteResponse".to_owned(),
        message: format!("instance {}: its {what} is missing", instance.unwrap_or("(no id)")),
        hint: None,
        kind: ErrorKind::Invalid,
    }
}

/// A rule as the plan spells it, from EC2's permission (one permission may
/// hold several sources; each becomes a rule).
fn rules_of(p: &aws_sdk_ec2::types::IpPermission, group_names: &BTreeMap<String, String>) -> Vec<IngressRule> {
    let protocol = IpProtocol::from_word(p.ip_protocol().unwrap_or("-1"));
    let (from_port, to_port) = if protocol == IpProtocol::All {
        (-1, -1)
    } else {
        (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1))
    };
    let mut out = Vec::new();
    for r in p.ip_ranges() {
        if let Some(c) = r.cidr_ip() {
            out.push(IngressRule {
                protocol: protocol.clone(),
                from_port,
                to_port,
                source: Source::Cidr(c.to_owned()),
            });
        }
    }
    for r in p.ipv6_ranges() {
        if let Some(c) = r.cidr_ipv6() {
            out.push(IngressRule {
                protocol: protocol.clone(),
                from_port,
                to_port,
                source: Source::Cidr(c.to_owned()),
            });
        }
    }
    for pair in p.user_id_group_pairs() {
        if let Some(id) = pair.group_id() {
            out.push(IngressRule {
                protocol: protocol.clone(),
                from_port,
                to_port,
                source: Source::Group(group_names.get(id).cloned().unwrap_or_else(|| id.to_owned())),
            });
        }
    }
    out
}

impl Aws {
    /// The cluster's resources. `ssm_prefix` holds its parameters;
    /// `log_group` is the declared log group, if any.
    pub async fn observe(
        &self,
        cluster: &str,
        ssm_prefix: &str,
        log_group: Option<&str>,
    ) -> Result<ObservedAws, AwsError> {
        let mut out = ObservedAws::default();

        let sgs = self
            .call(
                "ec2:DescribeSecurityGroups",
                self.ec2.describe_security_groups().filters(tag_filter(cluster)).send(),
            )
            .await?;
        let names: BTreeMap<String, String> = sgs
            .security_groups()
            .iter()
            .filter_map(|g| Some((g.group_id()?.to_owned(), g.group_name()?.to_owned())))
            .collect();
        for g in sgs.security_groups() {
            let mut ingress: Vec<IngressRule> = g.ip_permissions().iter().flat_map(|p| rules_of(p, &names)).collect();
            ingress.sort();
            out.security_groups.push(ObservedSecurityGroup {
                id: g.group_id().unwrap_or_default().to_owned(),
                name: g.group_name().unwrap_or_default().to_owned(),
                tags: ec2_tags(g.tags()),
                ingress,
            });
        }

        let elb = self.observe_elb(cluster, &names).await?;
        out.load_balancer = elb.load_balancer;
        out.target_groups = elb.target_groups;
        out.listeners = elb
            .listeners
            .into_iter()
            .map(|(arn, spec)| ObservedListener { arn, spec })
            .collect();
        out.rules = elb.rules;
        let tg_names = elb.tg_names;

        // No MaxResults here: moto cuts the list without a NextToken.
        let lts = self
            .call(
                "ec2:DescribeLaunchTemplates",
                self.ec2.describe_launch_templates().filters(tag_filter(cluster)).send(),
            )
            .await?;
        for t in lts.launch_templates() {
            let id = t.launch_template_id().unwrap_or_default().to_owned();
            let versions = self
                .call(
                    "ec2:DescribeLaunchTemplateVersions",
                    self.ec2
                        .describe_launch_template_versions()
                        .launch_template_id(&id)
                        .versions("$Default")
                        .send(),
                )
                .await?;
            let Some(data) = versions
                .launch_template_versions()
                .first()
                .and_then(|v| v.launch_template_data())
            else {
                continue;
            };
            // gzip as swarmkeeper writes it, or plain as earlier versions did:
            // the plan compares the script's hash, never its encoding.
            let user_data = data
                .user_data()
                .and_then(|u| base64::engine::general_purpose::STANDARD.decode(u).ok())
                .and_then(|b| user_data::decompress(&b))
                .unwrap_or_default();
            let root = data.block_device_mappings().first().and_then(|m| m.ebs());
            let mut security_groups: Vec<String> = data
                .security_group_ids()
                .iter()
                .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
                .collect();
            security_groups.sort();
            out.launch_templates.push(ObservedLaunchTemplate {
                id,
                name: t.launch_template_name().unwrap_or_default().to_owned(),
                tags: ec2_tags(t.tags()),
                default_version: t.default_version_number().unwrap_or(0),
                spec: LaunchTemplateSpec {
                    name: t.launch_template_name().unwrap_or_default().to_owned(),
                    image_id: data.image_id().unwrap_or_default().to_owned(),
                    instance_type: data.instance_type().map(|i| i.as_str().to_owned()).unwrap_or_default(),
                    key_name: data.key_name().map(str::to_owned),
                    user_data_hash: user_data_hash(&user_data),
                    user_data,
                    root_volume_gb: root.and_then(|e| e.volume_size()).and_then(|s| u32::try_from(s).ok()),
                    root_volume_type: root.and_then(|e| e.volume_type()).map(|t| t.as_str().to_owned()),
                    instance_profile: data.iam_instance_profile().and_then(|p| p.name()).map(str::to_owned),
                    security_groups,
                },
            });
        }

        let mut token = None;
        loop {
            let page = self
                .call(
                    "autoscaling:DescribeAutoScalingGroups",
                    self.autoscaling
                        .describe_auto_scaling_groups()
                        .filters(
                            aws_sdk_autoscaling::types::Filter::builder()
                                .name(format!("tag:{TAG_CLUSTER}"))
                                .values(cluster)
                                .build(),
                        )
                        .set_next_token(token.take())
                        .send(),
                )
                .await?;
            for g in page.auto_scaling_groups() {
                let name = g.auto_scaling_group_name().unwrap_or_default().to_owned();
                let lt = g.launch_template();
                let mut subnets: Vec<String> = g
                    .vpc_zone_identifier()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                subnets.sort();
                for i in g.instances() {
                    out.instances.push(ObservedInstance {
                        id: i.instance_id().unwrap_or_default().to_owned(),
                        group: name.clone(),
                        private_ip: None,
                        state: match i.lifecycle_state() {
                            Some(s) => InstanceLifecycle::from_word(s.as_str()),
                            None => return Err(incomplete(DESCRIBE_GROUPS, i.instance_id(), "lifecycle state")),
                        },
                        health: closed_word(
                            DESCRIBE_GROUPS,
                            &format!("instance {}", i.instance_id().unwrap_or_default()),
                            i.health_status(),
                        )?,
                        instance_type: i.instance_type().unwrap_or_default().to_owned(),
                        image_id: None,
                        launched_unix: None,
                    });
                }
                out.groups.push(ObservedGroup {
                    name,
                    tags: g
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                        .collect(),
                    launch_template: lt.and_then(|l| l.launch_template_name()).unwrap_or_default().to_owned(),
                    launch_template_version: lt.and_then(|l| l.version()).unwrap_or_default().to_owned(),
                    min: g.min_size().unwrap_or(0).max(0) as u32,
                    max: g.max_size().unwrap_or(0).max(0) as u32,
                    desired: g.desired_capacity().unwrap_or(0).max(0) as u32,
                    subnets,
                    target_groups: {
                        let mut t: Vec<String> = g
                            .target_group_arns()
                            .iter()
                            .map(|a| tg_names.get(a).cloned().unwrap_or_else(|| a.clone()))
                            .collect();
                        t.sort();
                        t
                    },
                });
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        if !out.instances.is_empty() {
            self.describe_instances(cluster, &mut out.instances).await?;
        }

        for (name, value) in self.parameters_under(ssm_prefix, SsmRead::Everything).await? {
            out.parameters.insert(name, Sensitive(value));
        }

        let mut marker = None;
        loop {
            let page = self
                .call(
                    "elasticfilesystem:DescribeFileSystems",
                    self.efs.describe_file_systems().set_marker(marker.take()).send(),
                )
                .await?;
            for f in page.file_systems() {
                let tags: BTreeMap<String, String> = f
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect();
                if !owned(&tags, cluster) {
                    continue;
                }
                let id = f.file_system_id().to_owned();
                let targets = self
                    .call(
                        "elasticfilesystem:DescribeMountTargets",
                        self.efs.describe_mount_targets().file_system_id(&id).send(),
                    )
                    .await?;
                out.file_systems.push(ObservedFileSystem {
                    id,
                    creation_token: f.creation_token().to_owned(),
                    tags,
                    mount_targets: targets
                        .mount_targets()
                        .iter()
                        .map(|m| (m.subnet_id().to_owned(), m.mount_target_id().to_owned()))
                        .collect(),
                });
            }
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }

        if let Some(name) = log_group {
            let groups = self
                .call(
                    "logs:DescribeLogGroups",
                    self.logs.describe_log_groups().log_group_name_prefix(name).send(),
                )
                .await?;
            for g in groups.log_groups().iter().filter(|g| g.log_group_name() == Some(name)) {
                let tags = match g.log_group_arn() {
                    Some(arn) => self
                        .call(
                            "logs:ListTagsForResource",
                            self.logs.list_tags_for_resource().resource_arn(arn).send(),
                        )
                        .await?
                        .tags()
                        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default(),
                    None => BTreeMap::new(),
                };
                out.log_groups.push(ObservedLogGroup {
                    name: name.to_owned(),
                    retention_days: g.retention_in_days().and_then(|d| u32::try_from(d).ok()),
                    tags,
                });
            }
        }
        Ok(out)
    }
}

impl Aws {
    /// What the groups do not say about their instances: address, AMI and
    /// launch time (the node lifecycle maps nodes by address and rolls
    /// instances whose AMI is not the pool's). One paginated call.
    async fn describe_instances(&self, cluster: &str, instances: &mut [ObservedInstance]) -> Result<(), AwsError> {
        let mut token = None;
        loop {
            let page = self
                .call(
                    "ec2:DescribeInstances",
                    self.ec2
                        .describe_instances()
                        .filters(
                            aws_sdk_ec2::types::Filter::builder()
                                .name(format!("tag:{TAG_CLUSTER}"))
                                .values(cluster)
                                .build(),
                        )
                        .set_next_token(token.take())
                        .send(),
                )
                .await?;
            for found in page.reservations().iter().flat_map(|r| r.instances()) {
                let Some(i) = instances
                    .iter_mut()
                    .find(|i| Some(i.id.as_str()) == found.instance_id())
                else {
                    continue;
                };
                i.private_ip = found.private_ip_address().map(str::to_owned);
                i.image_id = found.image_id().map(str::to_owned);
                i.launched_unix = found.launch_time().and_then(|t| u64::try_from(t.secs()).ok());
                if let Some(t) = found.instance_type() {
                    i.instance_type = t.as_str().to_owned();
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(());
            }
        }
    }
}
