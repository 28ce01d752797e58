//! `swarmkeeper.yaml` → the AWS resources it asks for.
//!
//! Some desired values depend on facts only AWS or the swarm know (the
//! subnets of the default VPC, the AMI behind an SSM parameter, the swarm's
//! join tokens); the provider looks them up and passes them in as
//! [`AwsInputs`], so this stays pure.

use std::collections::BTreeMap;

use swarmkeeper_model::DesiredState;
use swarmkeeper_model::config::IngressKind;
use swarmkeeper_model::config::{Ami, DeletionPolicy, Pool, VolumeKind};

pub use super::names::{efs_dns, efs_group, lb_group, nodes_group, ssm_prefix, target_group_name, user_data_hash};
use super::spec::*;
use crate::node_types::NodePolicy;

/// Facts looked up for the desired state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AwsInputs {
    /// The cluster's subnets: declared, or all of the default VPC's.
    pub subnets: Vec<String>,
    /// SSM parameter → AMI id, for pools whose `ami` is `ssm:/…`.
    pub amis: BTreeMap<String, String>,
    /// The swarm's join tokens (worker, manager), when the swarm is reachable.
    pub join_tokens: Option<(Sensitive, Sensitive)>,
    /// `ip:2377` of the reachable managers.
    pub manager_addresses: Vec<String>,
    /// The ACM certificate `ingress.certificate` names, when found.
    pub certificate_arn: Option<String>,
}

/// ALB path patterns for a route path: `/` → `/*`; `/api` → `/api`, `/api/*`.
pub fn path_patterns(path: &str) -> Vec<String> {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        vec!["/*".to_owned()]
    } else {
        vec![trimmed.to_owned(), format!("{trimmed}/*")]
    }
}

/// What is wrong with the inputs, for the user.
pub type InputError = String;

pub fn desired_aws(
    state: &DesiredState,
    inputs: &AwsInputs,
    bootstrap: &str,
) -> Result<Option<DesiredAws>, Vec<InputError>> {
    let config = &state.config;
    let Some(cluster) = &config.cluster else {
        return Ok(None);
    };
    let name = &cluster.name;
    let mut errors = Vec::new();
    let mut out = DesiredAws {
        cluster: name.clone(),
        subnets: inputs.subnets.clone(),
        node_policy: NodePolicy {
            replace_after_secs: cluster.replace_after.as_secs(),
            max_unavailable: cluster.max_unavailable.max(1),
            ..NodePolicy::default()
        },
        ..DesiredAws::default()
    };
    if inputs.subnets.is_empty() {
        errors.push(format!(
            "cluster `{name}` has no subnets: declare `cluster.network.subnets`, or give the region a default VPC"
        ));
    }

    // Nodes talk to each other on the swarm ports (2377, 7946, 4789) and on
    // host-mode published ports: allow everything within the group.
    out.security_groups.push(SecurityGroupSpec {
        name: nodes_group(name),
        description: format!("swarmkeeper {name}: swarm nodes"),
        ingress: vec![IngressRule {
            protocol: IpProtocol::All,
            from_port: -1,
            to_port: -1,
            source: Source::Group(nodes_group(name)),
        }],
    });

    let pools: Vec<(&str, &Pool)> = std::iter::once(("managers", &cluster.managers))
        .chain(cluster.workers.as_ref().map(|w| ("workers", w)))
        .collect();
    for (pool, spec) in pools {
        let group_name = format!("{name}-{pool}");
        let image_id = match &spec.ami {
            Ami::Id(id) => Some(id.clone()),
            Ami::Ssm(param) => match inputs.amis.get(param) {
                Some(id) => Some(id.clone()),
                None => {
                    errors.push(format!(
                        "cluster.{pool}.ami: SSM parameter `{param}` was not found in {}; check the name, or give an AMI id",
                        cluster.region
                    ));
                    None
                }
            },
        };
        let role = if pool == "managers" { "manager" } else { "worker" };
        let user_data = format!(
            "#!/usr/bin/env bash\n# Rendered by swarmkeeper for pool {pool} of cluster {name}.\nSWARMKEEPER_CLUSTER={name}\nSWARMKEEPER_ROLE={role}\nSWARMKEEPER_REGION={}\nSWARMKEEPER_SSM_PREFIX={}\nexport SWARMKEEPER_CLUSTER SWARMKEEPER_ROLE SWARMKEEPER_REGION SWARMKEEPER_SSM_PREFIX\n{}",
            cluster.region,
            ssm_prefix(name),
            bootstrap.strip_prefix("#!/usr/bin/env bash\n").unwrap_or(bootstrap)
        );
        let user_data_hash = user_data_hash(&user_data);
        if let Some(image_id) = image_id {
            out.launch_templates.push(LaunchTemplateSpec {
                name: group_name.clone(),
                image_id,
                instance_type: spec.instance_type.clone(),
                key_name: spec.ssh_key.clone(),
                user_data,
                user_data_hash,
                root_volume_gb: spec.root_volume.as_ref().map(|r| r.size_gb),
                root_volume_type: spec.root_volume.as_ref().map(|r| {
                    serde_json::to_value(r.volume_type)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_else(|| "gp3".to_owned())
                }),
                security_groups: vec![nodes_group(name)],
            });
        }
        out.groups.push(AutoScalingGroupSpec {
            name: group_name.clone(),
            launch_template: group_name,
            min: spec.count,
            max: spec.count,
            desired: spec.count,
            subnets: inputs.subnets.clone(),
            pool: pool.to_owned(),
            target_groups: Vec::new(),
        });
    }

    if let Some((worker, manager)) = &inputs.join_tokens {
        let prefix = ssm_prefix(name);
        out.parameters.push(ParameterSpec {
            name: format!("{prefix}/join-token/worker"),
            secure: true,
            value: worker.clone(),
        });
        out.parameters.push(ParameterSpec {
            name: format!("{prefix}/join-token/manager"),
            secure: true,
            value: manager.clone(),
        });
        if !inputs.manager_addresses.is_empty() {
            out.parameters.push(ParameterSpec {
                name: format!("{prefix}/manager-addresses"),
                secure: false,
                value: Sensitive(inputs.manager_addresses.join(",")),
            });
        }
    }

    let shared: Vec<(&String, DeletionPolicy)> = config
        .volumes
        .iter()
        .filter(|(_, v)| v.kind == VolumeKind::Shared)
        .map(|(n, v)| (n, v.deletion_policy))
        .collect();
    if !shared.is_empty() {
        out.security_groups.push(SecurityGroupSpec {
            name: efs_group(name),
            description: format!("swarmkeeper {name}: NFS from the nodes to EFS"),
            ingress: vec![IngressRule {
                protocol: IpProtocol::Tcp,
                from_port: 2049,
                to_port: 2049,
                source: Source::Group(nodes_group(name)),
            }],
        });
    }
    for (volume, policy) in shared {
        out.file_systems.push(FileSystemSpec {
            volume: volume.clone(),
            creation_token: format!("{name}-{volume}"),
            deletion_policy: match policy {
                DeletionPolicy::Retain => super::spec::DeletionPolicy::Retain,
                DeletionPolicy::Delete => super::spec::DeletionPolicy::Delete,
            },
        });
    }

    out.log_group = config
        .logging
        .as_ref()
        .and_then(|l| l.cloudwatch.as_ref())
        .map(|c| LogGroupSpec {
            name: c.group.clone(),
            retention_days: c.retention_days,
        });

    if config
        .ingress
        .as_ref()
        .is_some_and(|i| i.kind == IngressKind::LoadBalancer)
    {
        load_balancer(state, inputs, &mut out, &mut errors);
    }

    if errors.is_empty() { Ok(Some(out)) } else { Err(errors) }
}

/// The load balancer, its listeners, one target group per routed service
/// port, the rules, and the security group rules between them.
fn load_balancer(state: &DesiredState, inputs: &AwsInputs, out: &mut DesiredAws, errors: &mut Vec<InputError>) {
    let config = &state.config;
    let (Some(cluster), Some(ingress)) = (&config.cluster, &config.ingress) else {
        return;
    };
    let name = &cluster.name;
    let certificate = match &ingress.certificate {
        None => None,
        Some(wanted) => match &inputs.certificate_arn {
            Some(arn) => Some(arn.clone()),
            None => {
                errors.push(format!(
                    "ingress.certificate: no issued ACM certificate `{wanted}` in {}; request or import it in ACM (same region), or give its ARN",
                    cluster.region
                ));
                None
            }
        },
    };
    let mut lb_rules: Vec<IngressRule> = Vec::new();
    for cidr in &ingress.allowed_cidrs {
        for port in [80, 443] {
            lb_rules.push(IngressRule {
                protocol: IpProtocol::Tcp,
                from_port: port,
                to_port: port,
                source: Source::Cidr(cidr.clone()),
            });
        }
    }
    lb_rules.sort();
    out.security_groups.push(SecurityGroupSpec {
        name: lb_group(name),
        description: format!("swarmkeeper {name}: the load balancer"),
        ingress: lb_rules,
    });
    out.load_balancer = Some(LoadBalancerSpec {
        name: name.clone(),
        subnets: inputs.subnets.clone(),
        security_group: lb_group(name),
    });

    let routing_port = if certificate.is_some() { 443 } else { 80 };
    out.listeners.push(ListenerSpec {
        port: 80,
        protocol: ListenerProtocol::Http,
        certificate_arn: None,
        default_action: if certificate.is_some() {
            DefaultAction::RedirectToHttps
        } else {
            DefaultAction::NotFound
        },
    });
    if let Some(arn) = &certificate {
        out.listeners.push(ListenerSpec {
            port: 443,
            protocol: ListenerProtocol::Https,
            certificate_arn: Some(arn.clone()),
            default_action: DefaultAction::NotFound,
        });
    }

    let mut node_rules = Vec::new();
    for (i, route) in config.routes.iter().enumerate() {
        let published = state
            .stacks
            .get(&route.service.stack)
            .and_then(|s| s.compose.services.get(&route.service.service))
            .and_then(|svc| svc.ports.iter().find(|p| p.target == route.port))
            .and_then(|p| p.published);
        let Some(published) = published else {
            errors.push(format!(
                "routes[{i}]: `{}` publishes container port {} without a fixed published port; set `published:` so the load balancer knows where to send traffic",
                route.service, route.port
            ));
            continue;
        };
        let label = format!("{}:{}", route.service, route.port);
        let tg = target_group_name(name, &label);
        if !out.target_groups.iter().any(|t| t.name == tg) {
            let hc = route.health_check.clone();
            out.target_groups.push(TargetGroupSpec {
                name: tg.clone(),
                route: label,
                port: published,
                health_check_path: hc.as_ref().map_or_else(|| "/".to_owned(), |h| h.path.clone()),
                health_check_interval_secs: hc.as_ref().map_or(15, |h| h.interval.as_secs() as u32),
                health_check_timeout_secs: hc.as_ref().map_or(5, |h| h.timeout.as_secs() as u32),
                matcher: hc.as_ref().map_or_else(|| "200-399".to_owned(), |h| h.matcher.clone()),
            });
            node_rules.push(IngressRule {
                protocol: IpProtocol::Tcp,
                from_port: i32::from(published),
                to_port: i32::from(published),
                source: Source::Group(lb_group(name)),
            });
        }
        // Priorities follow the route list: the first route is 10, the
        // next 20, so the same list always gives the same priorities.
        out.rules.push(RuleSpec {
            listener_port: routing_port,
            priority: 10 * (i as u32 + 1),
            host: route.host.clone(),
            paths: path_patterns(&route.path),
            target_group: tg,
        });
    }
    // The nodes accept the load balancer on the routed ports.
    if let Some(nodes) = out.security_groups.iter_mut().find(|g| g.name == nodes_group(name)) {
        nodes.ingress.extend(node_rules);
        nodes.ingress.sort();
        nodes.ingress.dedup();
    }
    // Workers serve the routes (managers when there are no workers).
    let mut names: Vec<String> = out.target_groups.iter().map(|t| t.name.clone()).collect();
    names.sort();
    let serving = if out.groups.iter().any(|g| g.pool == "workers" && g.desired > 0) {
        "workers"
    } else {
        "managers"
    };
    if let Some(group) = out.groups.iter_mut().find(|g| g.pool == serving) {
        group.target_groups = names;
    }
}
