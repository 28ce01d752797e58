//! `swarmkeeper.yaml` → the AWS resources it asks for.
//!
//! Some desired values depend on facts only AWS or the swarm know (the
//! subnets of the default VPC, the AMI behind an SSM parameter, the swarm's
//! join tokens); the provider looks them up and passes them in as
//! [`AwsInputs`], so this stays pure.

use std::collections::BTreeMap;

use swarmkeeper_model::DesiredState;
use swarmkeeper_model::config::IngressKind;
use swarmkeeper_model::config::{Ami, Controller, DeletionPolicy, Pool, VolumeKind};

pub use super::names::{
    efs_dns, efs_group, lb_group, nodes_group, ssh_group, ssm_prefix, swarm_id_parameter, target_group_name,
    user_data_hash,
};
use super::spec::*;
use crate::node_types::NodePolicy;

/// Facts looked up for the desired state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AwsInputs {
    /// The cluster's subnets: declared, or all of the default VPC's.
    pub subnets: Vec<String>,
    /// SSM parameter → AMI id, for pools whose `ami` is `ssm:/…`.
    pub amis: BTreeMap<String, String>,
    /// The id of the swarm reached, once it is known to be the cluster's
    /// (recorded, or being adopted): published first.
    pub swarm_id: Option<String>,
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

/// The in-cluster controller's stack file, the same one the manual path
/// deploys: with `cluster.controller` the managers' user data carries it,
/// and the manager that runs `swarm init` deploys it (node.sh,
/// `start_controller`). Compiled in, so the plan stays free of I/O.
pub const CONTROLLER_STACK: &str = include_str!("../../../../manifests/swarmkeeper.stack.yml");

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

    // ssh to the managers, from `cluster.ssh.allow_from` only: a group of
    // their own, made only when the list is not empty.
    let ssh_rules = ssh_rules(&cluster.ssh.allow_from);
    if !ssh_rules.is_empty() {
        out.security_groups.push(SecurityGroupSpec {
            name: ssh_group(name),
            description: format!("swarmkeeper {name}: ssh to the managers"),
            ingress: ssh_rules,
        });
    }

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
        let user_data = render_user_data(&UserDataVars {
            cluster: name,
            pool,
            role,
            region: &cluster.region,
            log_group: config
                .logging
                .as_ref()
                .and_then(|l| l.cloudwatch.as_ref())
                .map(|c| c.group.as_str()),
            controller: if pool == "managers" {
                cluster.controller.as_ref()
            } else {
                None
            },
            bootstrap,
        });
        let packed = super::user_data::compress(&user_data).len();
        if packed > super::user_data::MAX_USER_DATA_BYTES {
            errors.push(format!(
                "cluster.{pool}: the rendered user data is {packed} bytes compressed, over EC2's limit of {} bytes; shorten manifests/bootstrap/node.sh",
                super::user_data::MAX_USER_DATA_BYTES
            ));
        }
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
                instance_profile: spec.instance_profile.clone(),
                root_volume_type: spec.root_volume.as_ref().map(|r| {
                    serde_json::to_value(r.volume_type)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_else(|| "gp3".to_owned())
                }),
                security_groups: if pool == "managers" && out.security_groups.iter().any(|g| g.name == ssh_group(name))
                {
                    vec![nodes_group(name), ssh_group(name)]
                } else {
                    vec![nodes_group(name)]
                },
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

    if let Some(id) = &inputs.swarm_id {
        out.parameters.push(ParameterSpec {
            name: swarm_id_parameter(name),
            secure: false,
            value: Sensitive(id.clone()),
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

/// What a pool's user data says about its instances.
struct UserDataVars<'a> {
    cluster: &'a str,
    pool: &'a str,
    role: &'a str,
    region: &'a str,
    log_group: Option<&'a str>,
    /// Managers only: the controller their swarm's first manager starts.
    controller: Option<&'a Controller>,
    bootstrap: &'a str,
}

/// A pool's user data: the shebang, one assignment per variable node.sh
/// reads (manifests/bootstrap/node.sh lists them), then the bootstrap.
/// Plain text: [`super::user_data`] compresses it for the launch template.
/// Every value is validated by the model (names, regions, log groups) to
/// shell-safe characters; they are quoted all the same.
fn render_user_data(v: &UserDataVars) -> String {
    let prefix = ssm_prefix(v.cluster);
    let mut vars = vec![
        ("SWARMKEEPER_CLUSTER", v.cluster),
        ("SWARMKEEPER_ROLE", v.role),
        ("SWARMKEEPER_REGION", v.region),
        ("SWARMKEEPER_SSM_PREFIX", prefix.as_str()),
    ];
    if let Some(group) = v.log_group {
        vars.push(("SWARMKEEPER_LOG_GROUP", group));
    }
    let replicas = v.controller.map(|c| c.replicas.to_string());
    if let (Some(c), Some(replicas)) = (v.controller, replicas.as_deref()) {
        vars.extend([
            ("SWARMKEEPER_CONTROLLER_IMAGE", c.image.as_str()),
            ("SWARMKEEPER_CONTROLLER_GIT", c.git.url.as_str()),
            ("SWARMKEEPER_CONTROLLER_BRANCH", c.git.branch.as_str()),
            ("SWARMKEEPER_CONTROLLER_PATH", c.git.path.as_str()),
            ("SWARMKEEPER_CONTROLLER_REPLICAS", replicas),
            ("SWARMKEEPER_CONTROLLER_STACK", CONTROLLER_STACK),
        ]);
    }
    let mut out = format!(
        "#!/usr/bin/env bash\n# Rendered by swarmkeeper for pool {} of cluster {}.\n",
        v.pool, v.cluster
    );
    for (name, value) in &vars {
        out.push_str(&format!("{name}={}\n", shell_quote(value)));
    }
    let names: Vec<&str> = vars.iter().map(|(n, _)| *n).collect();
    out.push_str(&format!("export {}\n", names.join(" ")));
    out.push_str(v.bootstrap.strip_prefix("#!/usr/bin/env bash\n").unwrap_or(v.bootstrap));
    out
}

/// `value` as one shell word: bare when it holds only safe characters,
/// else in single quotes.
fn shell_quote(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// TCP 22 from each CIDR of `cluster.ssh.allow_from`, sorted, once each.
fn ssh_rules(allow_from: &[String]) -> Vec<IngressRule> {
    let mut rules: Vec<IngressRule> = allow_from
        .iter()
        .map(|cidr| IngressRule {
            protocol: IpProtocol::Tcp,
            from_port: 22,
            to_port: 22,
            source: Source::Cidr(cidr.clone()),
        })
        .collect();
    rules.sort();
    rules.dedup();
    rules
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

#[cfg(test)]
mod tests {
    use swarmkeeper_model::tree::Entry;
    use swarmkeeper_model::{MemoryTree, Variables, load_tree};

    use super::*;
    use crate::aws::user_data::{MAX_USER_DATA_BYTES, compress, decompress};

    const NODE_SH: &str = include_str!("../../../../manifests/bootstrap/node.sh");

    fn state(yaml: &str) -> DesiredState {
        let mut tree = MemoryTree::new("desired.rs test");
        tree.insert("swarmkeeper.yaml", Entry::File(yaml.as_bytes().to_vec()));
        let outcome = load_tree(&tree, &Variables::new());
        outcome.state.expect("a valid state")
    }

    fn inputs() -> AwsInputs {
        AwsInputs {
            subnets: vec!["subnet-aaaa".into()],
            ..AwsInputs::default()
        }
    }

    fn cluster(logging: &str) -> String {
        format!(
            "version: 1\ncluster:\n  name: cloud\n  region: eu-west-1\n  \
             managers: {{ count: 1, instance_type: t3.small, ami: ami-0123abcd }}\n  \
             workers: {{ count: 1, instance_type: t3.small, ami: ami-0123abcd }}\n{logging}"
        )
    }

    /// `NAME=value` lines of the rendered header, before the bootstrap.
    fn assignments(user_data: &str) -> Vec<&str> {
        user_data
            .lines()
            .skip(2)
            .take_while(|l| !l.starts_with("export "))
            .collect()
    }

    #[test]
    fn each_pool_runs_node_sh_with_its_variables_exported() {
        let aws = desired_aws(&state(&cluster("")), &inputs(), NODE_SH)
            .expect("no input errors")
            .expect("a cluster");
        let workers = aws
            .launch_templates
            .iter()
            .find(|t| t.name == "cloud-workers")
            .expect("workers");
        assert_eq!(
            assignments(&workers.user_data),
            [
                "SWARMKEEPER_CLUSTER=cloud",
                "SWARMKEEPER_ROLE=worker",
                "SWARMKEEPER_REGION=eu-west-1",
                "SWARMKEEPER_SSM_PREFIX=/swarmkeeper/cloud",
            ]
        );
        assert!(workers.user_data.starts_with("#!/usr/bin/env bash\n"));
        assert!(
            workers
                .user_data
                .contains("\nexport SWARMKEEPER_CLUSTER SWARMKEEPER_ROLE SWARMKEEPER_REGION SWARMKEEPER_SSM_PREFIX\n")
        );
        // node.sh follows, without its own shebang.
        assert!(
            workers
                .user_data
                .ends_with(NODE_SH.strip_prefix("#!/usr/bin/env bash\n").expect("shebang"))
        );
        assert_eq!(workers.user_data_hash, user_data_hash(&workers.user_data));
    }

    /// The rendered header up to its `export` line, run by bash: what
    /// node.sh would see of `name`.
    fn shell_value(user_data: &str, name: &str) -> String {
        let header = user_data
            .split_once("\nexport ")
            .map(|(head, rest)| format!("{head}\nexport {}", rest.lines().next().unwrap_or("")))
            .expect("an export line");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("{header}\nprintf %s \"${{{name}-unset}}\""))
            .output()
            .expect("run bash");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    #[test]
    fn the_managers_and_only_they_carry_the_controller_and_its_stack_file() {
        let yaml = cluster("").replace(
            "  workers:",
            "  controller:\n    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/swarmkeeper:0.2.0\n    \
             git: { url: 'git@git.example.com:ops/platform.git', branch: release/1, path: deploy/prod }\n    \
             replicas: 1\n  workers:",
        );
        let aws = desired_aws(&state(&yaml), &inputs(), NODE_SH)
            .expect("no input errors")
            .expect("a cluster");
        let template = |name: &str| {
            aws.launch_templates
                .iter()
                .find(|t| t.name == name)
                .map(|t| t.user_data.as_str())
                .expect("template")
        };
        let managers = template("cloud-managers");
        for (name, want) in [
            (
                "SWARMKEEPER_CONTROLLER_IMAGE",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/swarmkeeper:0.2.0",
            ),
            ("SWARMKEEPER_CONTROLLER_GIT", "git@git.example.com:ops/platform.git"),
            ("SWARMKEEPER_CONTROLLER_BRANCH", "release/1"),
            ("SWARMKEEPER_CONTROLLER_PATH", "deploy/prod"),
            ("SWARMKEEPER_CONTROLLER_REPLICAS", "1"),
            // The stack file, byte for byte, through the shell's quoting.
            ("SWARMKEEPER_CONTROLLER_STACK", CONTROLLER_STACK),
        ] {
            assert_eq!(shell_value(managers, name), want, "{name}");
        }
        assert_eq!(shell_value(managers, "SWARMKEEPER_ROLE"), "manager");
        let workers = template("cloud-workers");
        assert_eq!(shell_value(workers, "SWARMKEEPER_CONTROLLER_IMAGE"), "unset");
        let header = workers.split_once("\nexport ").map_or("", |(head, _)| head);
        assert!(!header.contains("SWARMKEEPER_CONTROLLER"), "{header}");
    }

    #[test]
    fn with_cloudwatch_logging_every_pool_gets_the_log_group() {
        let yaml = cluster("logging:\n  cloudwatch: { group: 'cloud/logs#1', retention_days: 7 }\n");
        let aws = desired_aws(&state(&yaml), &inputs(), NODE_SH)
            .expect("no input errors")
            .expect("a cluster");
        assert_eq!(aws.launch_templates.len(), 2);
        for t in &aws.launch_templates {
            // `#` starts a comment in a shell word only at its start; quoted anyway.
            assert_eq!(
                assignments(&t.user_data)[4],
                "SWARMKEEPER_LOG_GROUP='cloud/logs#1'",
                "{}",
                t.name
            );
            assert!(t.user_data.contains(" SWARMKEEPER_SSM_PREFIX SWARMKEEPER_LOG_GROUP\n"));
        }
    }

    #[test]
    fn quoting_keeps_a_value_one_word() {
        assert_eq!(shell_quote("eu-west-1"), "eu-west-1");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    /// EC2 counts its 16 KiB user data limit on the raw bytes, before base64
    /// ("User data is limited to 16 KB, in raw form, before it is
    /// base64-encoded", EC2 User Guide): here the gzip the launch template
    /// carries. The largest configuration: the longest cluster name (31),
    /// a long region, a 512-character log group of varied characters (which
    /// compress worst), the longer pool name.
    #[test]
    fn the_largest_configuration_s_user_data_is_under_16_kib_compressed() {
        let group: String = (0..512)
            .map(|i: usize| {
                let set = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-/.#";
                char::from(set[(i * 7919 + i / 3) % set.len()])
            })
            .collect();
        let name = format!("a{}", "b0-".repeat(10));
        assert_eq!(name.len(), 31);
        // The longest controller keys the model accepts.
        let controller = Controller {
            image: format!(
                "123456789012.dkr.ecr.ap-southeast-77.amazonaws.com/{}",
                group.replace(['#', '.'], "-")
            )[..255]
                .to_owned(),
            git: swarmkeeper_model::config::ControllerGit {
                url: format!("ssh://git@git.example.com/{}", group.repeat(4).replace('#', "-"))[..2048].to_owned(),
                branch: format!("b{}", group.replace(['#', '.'], "_"))[..255].to_owned(),
                path: format!("p{}", group.repeat(2).replace(['#', '.'], "_"))[..1024].to_owned(),
            },
            replicas: 7,
        };
        let script = render_user_data(&UserDataVars {
            cluster: &name,
            pool: "managers",
            role: "manager",
            region: "ap-southeast-77",
            log_group: Some(&group),
            controller: Some(&controller),
            bootstrap: NODE_SH,
        });
        let packed = compress(&script);
        eprintln!(
            "largest user data: {} bytes plain, {} compressed",
            script.len(),
            packed.len()
        );
        assert!(
            packed.len() < MAX_USER_DATA_BYTES,
            "{} bytes compressed (from {} plain)",
            packed.len(),
            script.len()
        );
        // Room to grow: 4 KiB free even with every value at its longest
        // (and of varied characters, which compress worst).
        assert!(
            packed.len() + 4096 < MAX_USER_DATA_BYTES,
            "{} bytes compressed",
            packed.len()
        );
        assert_eq!(decompress(&packed).as_deref(), Some(script.as_str()));
    }

    #[test]
    fn a_bootstrap_too_large_for_ec2_is_an_input_error_naming_the_pool() {
        // Incompressible: a long run of varied bytes.
        let mut x: u32 = 1;
        let noise: String = (0..40_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from(b'!' + ((x >> 16) % 90) as u8)
            })
            .collect();
        let bootstrap = format!("#!/usr/bin/env bash\n# {noise}\n");
        let errors = desired_aws(&state(&cluster("")), &inputs(), &bootstrap).expect_err("too large");
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("cluster.managers: the rendered user data is")),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.starts_with("cluster.workers:")), "{errors:?}");
    }
}

/// `cluster.ssh`: port 22 on the managers, from `allow_from` only.
#[cfg(test)]
mod ssh_tests {
    use super::*;
    use crate::action::Action;
    use crate::aws::AwsAction;
    use crate::aws::diff::diff_aws;
    use swarmkeeper_model::tree::Entry;
    use swarmkeeper_model::{MemoryTree, Variables, load_tree};

    fn state(ssh: &str) -> DesiredState {
        let yaml = format!(
            "version: 1\ncluster:\n  name: c1\n  region: eu-west-1\n  managers: {{count: 1, instance_type: t3.small, ami: ami-0123456789abcdef0}}\n  workers: {{count: 1, instance_type: t3.small, ami: ami-0123456789abcdef0}}\n{ssh}"
        );
        let mut tree = MemoryTree::new("test");
        tree.insert("swarmkeeper.yaml", Entry::File(yaml.into_bytes()));
        let loaded = load_tree(&tree, &Variables::new());
        loaded.state.expect("loads")
    }

    fn desired(ssh: &str) -> DesiredAws {
        let inputs = AwsInputs {
            subnets: vec!["subnet-a".into()],
            ..AwsInputs::default()
        };
        desired_aws(&state(ssh), &inputs, "#!/usr/bin/env bash\n")
            .expect("valid")
            .expect("a cluster")
    }

    fn rule(cidr: &str) -> IngressRule {
        IngressRule {
            protocol: IpProtocol::Tcp,
            from_port: 22,
            to_port: 22,
            source: Source::Cidr(cidr.into()),
        }
    }

    #[test]
    fn ssh_opens_port_22_on_the_managers_only_from_allow_from() {
        for absent in [
            "",
            "  ssh: {user: admin, address: public}\n",
            "  ssh: {allow_from: []}\n",
        ] {
            let d = desired(absent);
            assert!(
                !d.security_groups.iter().any(|g| g.name == "c1-ssh"),
                "nothing opened without allow_from: {absent:?}"
            );
            assert!(
                d.security_groups
                    .iter()
                    .flat_map(|g| &g.ingress)
                    .all(|r| r.from_port != 22 || matches!(r.source, Source::Group(_))),
                "{absent:?}"
            );
            assert!(d.launch_templates.iter().all(|t| t.security_groups == ["c1-nodes"]));
        }
        let d = desired("  ssh:\n    allow_from: [203.0.113.0/24, 198.51.100.7/32, 203.0.113.0/24]\n");
        let group = d
            .security_groups
            .iter()
            .find(|g| g.name == "c1-ssh")
            .expect("the ssh group");
        assert_eq!(group.ingress, [rule("198.51.100.7/32"), rule("203.0.113.0/24")]);
        let lt = |name: &str| {
            d.launch_templates
                .iter()
                .find(|t| t.name == name)
                .expect("template")
                .security_groups
                .clone()
        };
        assert_eq!(lt("c1-managers"), ["c1-nodes", "c1-ssh"]);
        assert_eq!(lt("c1-workers"), ["c1-nodes"], "workers are never opened to ssh");
    }

    fn plan(desired: &DesiredAws, observed: &ObservedAws) -> Vec<AwsAction> {
        let mut steps = Vec::new();
        let mut push = |a: Action, _: String, _: Vec<usize>| {
            steps.push(a);
            steps.len() - 1
        };
        diff_aws(desired, observed, &mut push, &mut Vec::new(), &mut Vec::new());
        steps
            .into_iter()
            .filter_map(|a| match a {
                Action::Aws { aws, .. } => Some(aws),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_changed_allow_from_authorizes_the_new_range_and_revokes_the_old() {
        let d = desired("  ssh: {allow_from: [203.0.113.0/24]}\n");
        let tags = BTreeMap::from([(TAG_CLUSTER.to_owned(), "c1".to_owned())]);
        let observed = ObservedAws {
            security_groups: vec![ObservedSecurityGroup {
                id: "sg-1".into(),
                name: "c1-ssh".into(),
                tags: tags.clone(),
                ingress: vec![rule("0.0.0.0/0")],
            }],
            ..ObservedAws::default()
        };
        let actions = plan(&d, &observed);
        assert!(actions.contains(&AwsAction::AuthorizeIngress {
            group: "c1-ssh".into(),
            rule: rule("203.0.113.0/24")
        }));
        assert!(actions.contains(&AwsAction::RevokeIngress {
            group: "c1-ssh".into(),
            rule: rule("0.0.0.0/0")
        }));
        // allow_from removed: the group is no longer declared and is deleted.
        let d = desired("");
        let actions = plan(&d, &observed);
        assert!(
            actions
                .iter()
                .any(|a| matches!(a, AwsAction::DeleteSecurityGroup { name, .. } if name == "c1-ssh")),
            "{actions:?}"
        );
    }
}
