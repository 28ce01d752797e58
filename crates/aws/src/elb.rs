//! The load balancer side: observation and execution for ELBv2 (the load
//! balancer, target groups, listeners, rules) and the ACM certificate
//! lookup.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types as elb;
use swarmkeeper_plan::aws::spec::*;

use crate::execute::{AwsIds, AwsOutcome, settled};
use crate::observe::closed_word;
use crate::{Aws, AwsError};

/// What ELBv2 holds for the cluster, and the target group names by ARN.
#[derive(Debug, Default)]
pub struct ObservedElb {
    pub load_balancer: Option<ObservedLoadBalancer>,
    pub target_groups: Vec<ObservedTargetGroup>,
    pub listeners: Vec<(String, ListenerSpec)>,
    pub rules: Vec<ObservedRule>,
    pub tg_names: BTreeMap<String, String>,
}

fn build_error(action: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError {
        action,
        code: "InvalidRequest".to_owned(),
        message: e.to_string(),
        hint: None,
        kind: swarmkeeper_plan::ErrorKind::Invalid,
    }
}

fn tag(key: &str, value: &str) -> elb::Tag {
    elb::Tag::builder().key(key).value(value).build()
}

fn default_action(spec: &ListenerSpec) -> elb::Action {
    match spec.default_action {
        DefaultAction::RedirectToHttps => elb::Action::builder()
            .r#type(elb::ActionTypeEnum::Redirect)
            .redirect_config(
                elb::RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port("443")
                    .status_code(elb::RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build(),
        DefaultAction::NotFound => elb::Action::builder()
            .r#type(elb::ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                elb::FixedResponseActionConfig::builder()
                    .status_code("404")
                    .content_type("text/plain")
                    .message_body("no route for this host and path")
                    .build(),
            )
            .build(),
    }
}

fn conditions(spec: &RuleSpec) -> Vec<elb::RuleCondition> {
    vec![
        elb::RuleCondition::builder()
            .field("host-header")
            .host_header_config(elb::HostHeaderConditionConfig::builder().values(&spec.host).build())
            .build(),
        elb::RuleCondition::builder()
            .field("path-pattern")
            .path_pattern_config(
                elb::PathPatternConditionConfig::builder()
                    .set_values(Some(spec.paths.clone()))
                    .build(),
            )
            .build(),
    ]
}

fn condition_values(c: &elb::RuleCondition) -> Vec<String> {
    let typed = match c.field() {
        Some("host-header") => c.host_header_config().map(|h| h.values().to_vec()),
        Some("path-pattern") => c.path_pattern_config().map(|p| p.values().to_vec()),
        _ => None,
    };
    typed.filter(|v| !v.is_empty()).unwrap_or_else(|| c.values().to_vec())
}

impl Aws {
    /// The issued ACM certificate for a domain (or the ARN as given).
    pub async fn certificate(&self, wanted: &str) -> Result<Option<String>, AwsError> {
        if wanted.starts_with("arn:") {
            return Ok(Some(wanted.to_owned()));
        }
        let mut token = None;
        loop {
            let page = self
                .call(
                    "acm:ListCertificates",
                    self.acm
                        .list_certificates()
                        .certificate_statuses(aws_sdk_acm::types::CertificateStatus::Issued)
                        .set_next_token(token.take())
                        .send(),
                )
                .await?;
            if let Some(c) = page
                .certificate_summary_list()
                .iter()
                .find(|c| c.domain_name() == Some(wanted))
            {
                return Ok(c.certificate_arn().map(str::to_owned));
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(None);
            }
        }
    }

    async fn elb_tags(&self, arns: &[String]) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
        let mut out = BTreeMap::new();
        for chunk in arns.chunks(20) {
            let tags = self
                .call(
                    "elasticloadbalancing:DescribeTags",
                    self.elb.describe_tags().set_resource_arns(Some(chunk.to_vec())).send(),
                )
                .await?;
            for d in tags.tag_descriptions() {
                let map = d
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                    .collect();
                out.insert(d.resource_arn().unwrap_or_default().to_owned(), map);
            }
        }
        Ok(out)
    }

    /// The cluster's load balancer (named after it) and its parts.
    pub async fn observe_elb(
        &self,
        cluster: &str,
        sg_names: &BTreeMap<String, String>,
    ) -> Result<ObservedElb, AwsError> {
        let mut out = ObservedElb::default();
        // Target groups: all, then kept by tag.
        let mut all = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .call(
                    "elasticloadbalancing:DescribeTargetGroups",
                    self.elb.describe_target_groups().set_marker(marker.take()).send(),
                )
                .await?;
            all.extend(page.target_groups().iter().cloned());
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        let arns: Vec<String> = all
            .iter()
            .filter_map(|t| t.target_group_arn().map(str::to_owned))
            .collect();
        let tags = self.elb_tags(&arns).await?;
        for t in &all {
            let arn = t.target_group_arn().unwrap_or_default().to_owned();
            let name = t.target_group_name().unwrap_or_default().to_owned();
            out.tg_names.insert(arn.clone(), name.clone());
            let t_tags = tags.get(&arn).cloned().unwrap_or_default();
            if !owned(&t_tags, cluster) {
                continue;
            }
            out.target_groups.push(ObservedTargetGroup {
                arn,
                tags: t_tags.clone(),
                spec: TargetGroupSpec {
                    name,
                    route: t_tags.get("swarmkeeper:route").cloned().unwrap_or_default(),
                    port: t.port().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
                    health_check_path: t.health_check_path().unwrap_or("/").to_owned(),
                    health_check_interval_secs: t.health_check_interval_seconds().unwrap_or(0).max(0) as u32,
                    health_check_timeout_secs: t.health_check_timeout_seconds().unwrap_or(0).max(0) as u32,
                    matcher: t.matcher().and_then(|m| m.http_code()).unwrap_or_default().to_owned(),
                },
            });
        }

        let found = self
            .call(
                "elasticloadbalancing:DescribeLoadBalancers",
                self.elb.describe_load_balancers().names(cluster).send(),
            )
            .await;
        let lb = match found {
            Ok(page) => page.load_balancers().first().cloned(),
            Err(e) if e.is("LoadBalancerNotFound") => None,
            Err(e) => return Err(e),
        };
        let Some(lb) = lb else { return Ok(out) };
        let arn = lb.load_balancer_arn().unwrap_or_default().to_owned();
        let lb_tags = self
            .elb_tags(std::slice::from_ref(&arn))
            .await?
            .remove(&arn)
            .unwrap_or_default();
        let mut subnets: Vec<String> = lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(str::to_owned))
            .collect();
        subnets.sort();
        out.load_balancer = Some(ObservedLoadBalancer {
            arn: arn.clone(),
            tags: lb_tags,
            spec: LoadBalancerSpec {
                name: cluster.to_owned(),
                subnets,
                security_group: lb
                    .security_groups()
                    .first()
                    .map(|id| sg_names.get(id).cloned().unwrap_or_else(|| id.clone()))
                    .unwrap_or_default(),
            },
        });
        let listeners = self
            .call(
                "elasticloadbalancing:DescribeListeners",
                self.elb.describe_listeners().load_balancer_arn(&arn).send(),
            )
            .await?;
        for l in listeners.listeners() {
            let listener_arn = l.listener_arn().unwrap_or_default().to_owned();
            let port = l.port().and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
            let default_action = match l.default_actions().first().and_then(|a| a.r#type()) {
                Some(elb::ActionTypeEnum::Redirect) => DefaultAction::RedirectToHttps,
                _ => DefaultAction::NotFound,
            };
            out.listeners.push((
                listener_arn.clone(),
                ListenerSpec {
                    port,
                    protocol: closed_word(
                        "elasticloadbalancing:DescribeListeners",
                        &format!("listener {listener_arn}"),
                        l.protocol().map(|p| p.as_str()),
                    )?,
                    certificate_arn: l
                        .certificates()
                        .first()
                        .and_then(|c| c.certificate_arn())
                        .map(str::to_owned),
                    default_action,
                },
            ));
            let rules = self
                .call(
                    "elasticloadbalancing:DescribeRules",
                    self.elb.describe_rules().listener_arn(&listener_arn).send(),
                )
                .await?;
            for r in rules.rules() {
                let Some(priority) = r.priority().and_then(|p| p.parse::<u32>().ok()) else {
                    continue;
                };
                let mut host = String::new();
                let mut paths = Vec::new();
                for c in r.conditions() {
                    match c.field() {
                        Some("host-header") => host = condition_values(c).first().cloned().unwrap_or_default(),
                        Some("path-pattern") => paths = condition_values(c),
                        _ => {}
                    }
                }
                let target = r
                    .actions()
                    .iter()
                    .find_map(|a| a.target_group_arn())
                    .map(|a| out.tg_names.get(a).cloned().unwrap_or_else(|| a.to_owned()))
                    .unwrap_or_default();
                out.rules.push(ObservedRule {
                    arn: r.rule_arn().unwrap_or_default().to_owned(),
                    spec: RuleSpec {
                        listener_port: port,
                        priority,
                        host,
                        paths,
                        target_group: target,
                    },
                });
            }
        }
        Ok(out)
    }

    pub(crate) async fn execute_elb(
        &self,
        action: &swarmkeeper_plan::aws::AwsAction,
        ids: &AwsIds,
    ) -> Result<AwsOutcome, AwsError> {
        use swarmkeeper_plan::aws::AwsAction::*;
        let lb_arn = || {
            ids.load_balancer
                .clone()
                .ok_or_else(|| crate::execute::missing("load balancer", &ids.cluster))
        };
        let tg_arn = |name: &str| {
            ids.target_groups
                .get(name)
                .cloned()
                .ok_or_else(|| crate::execute::missing("target group", name))
        };
        let listener_arn = |port: u16| {
            ids.listeners
                .get(&port)
                .cloned()
                .ok_or_else(|| crate::execute::missing("listener", &port.to_string()))
        };
        match action {
            CreateLoadBalancer { spec } => {
                let created = self
                    .call(
                        "elasticloadbalancing:CreateLoadBalancer",
                        self.elb
                            .create_load_balancer()
                            .name(&spec.name)
                            .r#type(elb::LoadBalancerTypeEnum::Application)
                            .scheme(elb::LoadBalancerSchemeEnum::InternetFacing)
                            .set_subnets(Some(spec.subnets.clone()))
                            .security_groups(ids.sg_id(&spec.security_group)?)
                            .tags(tag(TAG_CLUSTER, &ids.cluster))
                            .tags(tag(TAG_NAME, &spec.name))
                            .send(),
                    )
                    .await?;
                let arn = created
                    .load_balancers()
                    .first()
                    .and_then(|l| l.load_balancer_arn())
                    .unwrap_or_default()
                    .to_owned();
                Ok(AwsOutcome::LoadBalancer { arn })
            }
            DeleteLoadBalancer { arn, .. } => {
                let result = self
                    .call(
                        "elasticloadbalancing:DeleteLoadBalancer",
                        self.elb.delete_load_balancer().load_balancer_arn(arn).send(),
                    )
                    .await;
                settled(result, "LoadBalancerNotFound")
            }
            CreateTargetGroup { spec } => {
                let created = self
                    .call(
                        "elasticloadbalancing:CreateTargetGroup",
                        self.elb
                            .create_target_group()
                            .name(&spec.name)
                            .protocol(elb::ProtocolEnum::Http)
                            .port(i32::from(spec.port))
                            .vpc_id(&ids.vpc)
                            .target_type(elb::TargetTypeEnum::Instance)
                            .health_check_path(&spec.health_check_path)
                            .health_check_interval_seconds(spec.health_check_interval_secs as i32)
                            .health_check_timeout_seconds(spec.health_check_timeout_secs as i32)
                            .matcher(elb::Matcher::builder().http_code(&spec.matcher).build())
                            .tags(tag(TAG_CLUSTER, &ids.cluster))
                            .tags(tag(TAG_NAME, &spec.name))
                            .tags(tag("swarmkeeper:route", &spec.route))
                            .send(),
                    )
                    .await?;
                let arn = created
                    .target_groups()
                    .first()
                    .and_then(|t| t.target_group_arn())
                    .unwrap_or_default()
                    .to_owned();
                Ok(AwsOutcome::TargetGroup {
                    name: spec.name.clone(),
                    arn,
                })
            }
            ModifyTargetGroup { spec } => {
                self.call(
                    "elasticloadbalancing:ModifyTargetGroup",
                    self.elb
                        .modify_target_group()
                        .target_group_arn(tg_arn(&spec.name)?)
                        .health_check_path(&spec.health_check_path)
                        .health_check_interval_seconds(spec.health_check_interval_secs as i32)
                        .health_check_timeout_seconds(spec.health_check_timeout_secs as i32)
                        .matcher(elb::Matcher::builder().http_code(&spec.matcher).build())
                        .send(),
                )
                .await?;
                Ok(AwsOutcome::Done)
            }
            DeleteTargetGroup { arn, .. } => {
                let result = self
                    .call(
                        "elasticloadbalancing:DeleteTargetGroup",
                        self.elb.delete_target_group().target_group_arn(arn).send(),
                    )
                    .await;
                settled(result, "TargetGroupNotFound")
            }
            CreateListener { spec } => {
                let mut create = self
                    .elb
                    .create_listener()
                    .load_balancer_arn(lb_arn()?)
                    .port(i32::from(spec.port))
                    .protocol(elb::ProtocolEnum::from(spec.protocol.as_str()))
                    .default_actions(default_action(spec));
                if let Some(cert) = &spec.certificate_arn {
                    create = create.certificates(elb::Certificate::builder().certificate_arn(cert).build());
                }
                let created = self.call("elasticloadbalancing:CreateListener", create.send()).await?;
                let arn = created
                    .listeners()
                    .first()
                    .and_then(|l| l.listener_arn())
                    .unwrap_or_default()
                    .to_owned();
                Ok(AwsOutcome::Listener { port: spec.port, arn })
            }
            ModifyListener { arn, spec } => {
                let mut modify = self
                    .elb
                    .modify_listener()
                    .listener_arn(arn)
                    .port(i32::from(spec.port))
                    .protocol(elb::ProtocolEnum::from(spec.protocol.as_str()))
                    .default_actions(default_action(spec));
                if let Some(cert) = &spec.certificate_arn {
                    modify = modify.certificates(elb::Certificate::builder().certificate_arn(cert).build());
                }
                self.call("elasticloadbalancing:ModifyListener", modify.send()).await?;
                Ok(AwsOutcome::Done)
            }
            DeleteListener { arn, .. } => {
                let result = self
                    .call(
                        "elasticloadbalancing:DeleteListener",
                        self.elb.delete_listener().listener_arn(arn).send(),
                    )
                    .await;
                settled(result, "ListenerNotFound")
            }
            CreateRule { spec } => {
                self.call(
                    "elasticloadbalancing:CreateRule",
                    self.elb
                        .create_rule()
                        .listener_arn(listener_arn(spec.listener_port)?)
                        .priority(spec.priority as i32)
                        .set_conditions(Some(conditions(spec)))
                        .actions(
                            elb::Action::builder()
                                .r#type(elb::ActionTypeEnum::Forward)
                                .target_group_arn(tg_arn(&spec.target_group)?)
                                .build(),
                        )
                        .send(),
                )
                .await?;
                Ok(AwsOutcome::Done)
            }
            ModifyRule { arn, spec } => {
                self.call(
                    "elasticloadbalancing:ModifyRule",
                    self.elb
                        .modify_rule()
                        .rule_arn(arn)
                        .set_conditions(Some(conditions(spec)))
                        .actions(
                            elb::Action::builder()
                                .r#type(elb::ActionTypeEnum::Forward)
                                .target_group_arn(tg_arn(&spec.target_group)?)
                                .build(),
                        )
                        .send(),
                )
                .await?;
                Ok(AwsOutcome::Done)
            }
            DeleteRule { arn, .. } => {
                let result = self
                    .call(
                        "elasticloadbalancing:DeleteRule",
                        self.elb.delete_rule().rule_arn(arn).send(),
                    )
                    .await;
                settled(result, "RuleNotFound")
            }
            SetGroupTargets { group, attach, detach } => {
                if !attach.is_empty() {
                    let arns = attach.iter().map(|t| tg_arn(t)).collect::<Result<Vec<_>, _>>()?;
                    self.call(
                        "autoscaling:AttachLoadBalancerTargetGroups",
                        self.autoscaling
                            .attach_load_balancer_target_groups()
                            .auto_scaling_group_name(group)
                            .set_target_group_arns(Some(arns))
                            .send(),
                    )
                    .await?;
                }
                if !detach.is_empty() {
                    let arns = detach.iter().map(|t| tg_arn(t)).collect::<Result<Vec<_>, _>>()?;
                    self.call(
                        "autoscaling:DetachLoadBalancerTargetGroups",
                        self.autoscaling
                            .detach_load_balancer_target_groups()
                            .auto_scaling_group_name(group)
                            .set_target_group_arns(Some(arns))
                            .send(),
                    )
                    .await?;
                }
                Ok(AwsOutcome::Done)
            }
            _ => Err(build_error("swarmkeeper:Route", "not a load balancer action")),
        }
    }
}
