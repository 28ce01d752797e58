//! Reading the root node of `swarmkeeper.yaml` into [`Config`], collecting
//! every error with its position. Defaults and ranges come from the
//! constants of [`super::types`]; closed sets parse through
//! [`Decoder::keyword`]; names and identifiers follow the rules of
//! [`crate::syntax::names`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::keys::*;
use super::types::*;
use crate::decode::Decoder;
use crate::syntax::names;
use crate::yaml::Node;

/// Decode the root node of `swarmkeeper.yaml`. Errors go to the decoder's
/// diagnostics; `None` means the file is unusable.
pub fn decode_config(node: &Node, d: &mut Decoder) -> Option<Config> {
    let entries = d.mapping(node, "swarmkeeper.yaml", TOP_KEYS, false)?;
    let get = |key: &str| entries.iter().find(|(k, _)| k.as_scalar() == Some(key)).map(|(_, v)| v);

    let version = match get("version") {
        None => {
            d.diags.error_help(
                "missing-key",
                Some(node.span),
                "`version` is missing",
                format!("start swarmkeeper.yaml with `version: {VERSION}`"),
            );
            None
        }
        Some(v) => match d.u64(v, "version") {
            Some(v) if v == u64::from(VERSION) => Some(VERSION),
            Some(other) => {
                d.diags.error_help(
                    "unsupported-version",
                    Some(v.span),
                    format!("format version {other} is not supported"),
                    format!("this swarmkeeper reads `version: {VERSION}`"),
                );
                None
            }
            None => None,
        },
    };
    let name = get("name").and_then(|n| {
        let s = d.string(n, "name")?;
        names::check(d, n.span, "name", &s, &names::CLUSTER_NAME).then_some(s)
    });
    let cluster = get("cluster")
        .filter(|n| !n.is_null())
        .and_then(|n| decode_cluster(n, d));
    let volumes = get("volumes").map(|n| decode_volumes(n, d)).unwrap_or_default();
    let ingress = get("ingress")
        .filter(|n| !n.is_null())
        .and_then(|n| decode_ingress(n, d));
    let routes = get("routes").map(|n| decode_routes(n, d)).unwrap_or_default();
    let stacks = get("stacks").map(|n| decode_stacks(n, d)).unwrap_or_default();
    let maintenance = get("maintenance")
        .filter(|n| !n.is_null())
        .and_then(|n| decode_maintenance(n, d));
    let logging = get("logging")
        .filter(|n| !n.is_null())
        .and_then(|n| decode_logging(n, d));
    let registries = get("registries").map(|n| decode_registries(n, d)).unwrap_or_default();
    let notifications = get("notifications")
        .map(|n| decode_notifications(n, d))
        .unwrap_or_default();

    Some(Config {
        version: version?,
        name,
        cluster,
        volumes,
        ingress,
        routes,
        stacks,
        maintenance,
        logging,
        registries,
        notifications,
    })
}

/// `1, 3, 5 or 7`: the odd counts up to `max`.
fn odd_counts(max: u32) -> String {
    let counts: Vec<String> = (1..=max).step_by(2).map(|c| c.to_string()).collect();
    match counts.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Looks up a required key, reporting it when absent.
fn required<'n>(d: &mut Decoder, map: &'n Node, key: &str, path: &str, help: &str) -> Option<&'n Node> {
    let found = map.get(key).filter(|n| !n.is_null());
    if found.is_none() {
        d.diags.error_help(
            "missing-key",
            Some(map.span),
            format!("`{path}.{key}` is required"),
            help.to_owned(),
        );
    }
    found
}

fn decode_cluster(node: &Node, d: &mut Decoder) -> Option<Cluster> {
    d.mapping(node, "cluster", CLUSTER_KEYS, false)?;
    let name = required(d, node, "name", "cluster", "name the cluster, e.g. `name: cloud`").and_then(|n| {
        let s = d.string(n, "cluster.name")?;
        names::check(d, n.span, "cluster.name", &s, &names::CLUSTER_NAME).then_some(s)
    });
    let region = required(
        d,
        node,
        "region",
        "cluster",
        "set the AWS region, e.g. `region: eu-west-1`",
    )
    .and_then(|n| {
        let s = d.string(n, "cluster.region")?;
        names::check(d, n.span, "cluster.region", &s, &names::REGION).then_some(s)
    });
    let network = node.get("network").filter(|n| !n.is_null()).and_then(|n| {
        d.mapping(n, "cluster.network", NETWORK_KEYS, false)?;
        let vpc = required(
            d,
            n,
            "vpc",
            "cluster.network",
            "name the VPC, e.g. `vpc: vpc-0abc`, or omit `network` for the default VPC",
        )
        .and_then(|v| {
            let s = d.string(v, "cluster.network.vpc")?;
            names::check(d, v.span, "cluster.network.vpc", &s, &names::VPC_ID).then_some(s)
        });
        let subnets = match n.get("subnets") {
            None => Some(Vec::new()),
            Some(list) => {
                let items = d.string_list(list, "cluster.network.subnets", false)?;
                let mut ok = true;
                for (item, s) in list.as_seq().unwrap_or_default().iter().zip(&items) {
                    ok &= names::check(d, item.span, "cluster.network.subnets", s, &names::SUBNET_ID);
                }
                ok.then_some(items)
            }
        };
        Some(Network {
            vpc: vpc?,
            subnets: subnets?,
        })
    });
    let managers = required(
        d,
        node,
        "managers",
        "cluster",
        "declare the manager pool: count, instance_type and ami",
    )
    .and_then(|n| decode_pool(n, "cluster.managers", d));
    if let (Some(m), Some(n)) = (&managers, node.get("managers"))
        && (m.count == 0 || m.count > MAX_MANAGERS || m.count.is_multiple_of(2))
    {
        let at = n.get("count").map_or(n.span, |c| c.span);
        d.diags.error_help(
            "manager-count",
            Some(at),
            format!(
                "`cluster.managers.count` is {}, but a swarm needs an odd number of managers from 1 to {MAX_MANAGERS}",
                m.count
            ),
            format!(
                "use {} managers: an even count adds no fault tolerance and more than {MAX_MANAGERS} slows consensus",
                odd_counts(MAX_MANAGERS)
            ),
        );
    }
    let workers = node
        .get("workers")
        .filter(|n| !n.is_null())
        .and_then(|n| decode_pool(n, "cluster.workers", d));
    let replace_after = match node.get("replace_after") {
        None => Some(DEFAULT_REPLACE_AFTER),
        Some(n) => d.duration_at_least(
            n,
            "cluster.replace_after",
            MIN_REPLACE_AFTER,
            "a node briefly Down (a restart of its engine, a network blip) would be replaced",
        ),
    };
    let max_unavailable = match node.get("max_unavailable") {
        None => Some(DEFAULT_MAX_UNAVAILABLE),
        Some(n) => d.u32_in(n, "cluster.max_unavailable", MAX_UNAVAILABLE),
    };
    let manager_count = managers.as_ref().map_or(1, |m| m.count);
    let controller = match node.get("controller").filter(|n| !n.is_null()) {
        None => Some(None),
        Some(n) => decode_controller(n, manager_count, d).map(Some),
    };
    let ssh = match node.get("ssh").filter(|n| !n.is_null()) {
        None => Some(Ssh::default()),
        Some(n) => decode_ssh(n, d),
    };
    Some(Cluster {
        name: name?,
        region: region?,
        network: network.or(None),
        managers: managers?,
        workers,
        replace_after: replace_after?,
        max_unavailable: max_unavailable?,
        controller: controller?,
        ssh: ssh?,
    })
}

/// `cluster.controller`: what the first manager starts after `swarm init`.
/// Its values go into the managers' user data, so they are checked to be
/// plain words (no shell or YAML specials) and the URL to carry no
/// credentials (the user data and git would hold them in clear).
fn decode_controller(node: &Node, managers: u32, d: &mut Decoder) -> Option<Controller> {
    d.mapping(node, "cluster.controller", CONTROLLER_KEYS, false)?;
    let image = required(
        d,
        node,
        "image",
        "cluster.controller",
        "name the swarmkeeper image, e.g. `image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/swarmkeeper:0.1.0`",
    )
    .and_then(|n| {
        let s = d.string(n, "cluster.controller.image")?;
        names::check(d, n.span, "cluster.controller.image", &s, &names::IMAGE_REF).then_some(s)
    });
    let git = required(
        d,
        node,
        "git",
        "cluster.controller",
        "say which repository to follow, e.g. `git: {url: https://git.example.com/ops/platform.git}`",
    )
    .and_then(|g| {
        d.mapping(g, "cluster.controller.git", CONTROLLER_GIT_KEYS, false)?;
        let url = required(
            d,
            g,
            "url",
            "cluster.controller.git",
            "give the repository's URL, e.g. `url: https://git.example.com/ops/platform.git`",
        )
        .and_then(|u| {
            let s = d.string(u, "cluster.controller.git.url")?;
            if names::url_has_credentials(&s) {
                d.diags.error_help(
                    "credentials-in-url",
                    Some(u.span),
                    "`cluster.controller.git.url` carries credentials, which would sit in clear in git and in the \
                     managers' user data"
                        .to_owned(),
                    "remove them from the URL and give the managers access another way: an SSH deploy key \
                     (`git@host:path`) or a git credential helper on the managers"
                        .to_owned(),
                );
                return None;
            }
            names::check(d, u.span, "cluster.controller.git.url", &s, &names::GIT_URL).then_some(s)
        });
        let branch = match g.get("branch") {
            None => Some(DEFAULT_CONTROLLER_BRANCH.to_owned()),
            Some(b) => {
                let s = d.string(b, "cluster.controller.git.branch")?;
                names::check(d, b.span, "cluster.controller.git.branch", &s, &names::GIT_BRANCH).then_some(s)
            }
        };
        let path = match g.get("path") {
            None => Some(DEFAULT_CONTROLLER_PATH.to_owned()),
            Some(p) => {
                let s = d.string(p, "cluster.controller.git.path")?;
                names::check(d, p.span, "cluster.controller.git.path", &s, &names::REPO_PATH).then_some(s)
            }
        };
        Some(ControllerGit {
            url: url?,
            branch: branch?,
            path: path?,
        })
    });
    let replicas = match node.get("replicas") {
        None => Some(DEFAULT_CONTROLLER_REPLICAS.min(managers.max(1))),
        Some(n) => {
            let r = d.u32_in(n, "cluster.controller.replicas", CONTROLLER_REPLICAS)?;
            if r > managers {
                d.diags.error_help(
                    "controller-replicas",
                    Some(n.span),
                    format!("`cluster.controller.replicas` is {r}, but the cluster has {managers} manager(s)"),
                    "run at most one replica per manager: lower `replicas` or add managers".to_owned(),
                );
                return None;
            }
            Some(r)
        }
    };
    Some(Controller {
        image: image?,
        git: git?,
        replicas: replicas?,
    })
}

fn decode_ssh(node: &Node, d: &mut Decoder) -> Option<Ssh> {
    d.mapping(node, "cluster.ssh", SSH_KEYS, false)?;
    let user = match node.get("user") {
        None => Some(DEFAULT_SSH_USER.to_owned()),
        Some(u) => d
            .string(u, "cluster.ssh.user")
            .and_then(|s| names::check(d, u.span, "cluster.ssh.user", &s, &names::SSH_USER).then_some(s)),
    };
    let address = match node.get("address") {
        None => Some(DEFAULT_SSH_ADDRESS),
        Some(a) => d.keyword(a, "cluster.ssh.address"),
    };
    let allow_from = match node.get("allow_from") {
        None => Some(Vec::new()),
        Some(list) => cidr_list(d, list, "cluster.ssh.allow_from"),
    };
    Some(Ssh {
        user: user?,
        address: address?,
        allow_from: allow_from?,
    })
}

/// A list of CIDR blocks, each checked (an error at each bad one).
fn cidr_list(d: &mut Decoder, list: &Node, path: &str) -> Option<Vec<String>> {
    d.string_list(list, path, false).and_then(|items| {
        let mut ok = true;
        for (item, s) in list.as_seq().unwrap_or_default().iter().zip(&items) {
            if let Err(why) = names::parse_cidr(s) {
                ok = false;
                d.diags.error_help(
                    "invalid-cidr",
                    Some(item.span),
                    format!("`{s}` is not a CIDR block: {why}"),
                    "write an address and prefix length, e.g. 203.0.113.0/24 or 2001:db8::/32",
                );
            }
        }
        ok.then_some(items)
    })
}

fn decode_pool(node: &Node, path: &str, d: &mut Decoder) -> Option<Pool> {
    d.mapping(node, path, POOL_KEYS, false)?;
    let count = required(
        d,
        node,
        "count",
        path,
        "set how many nodes the pool has, e.g. `count: 1`",
    )
    .and_then(|n| d.u32_in(n, &format!("{path}.count"), POOL_COUNT));
    let instance_type = required(
        d,
        node,
        "instance_type",
        path,
        "set the EC2 instance type, e.g. `instance_type: t3.small`",
    )
    .and_then(|n| {
        let s = d.string(n, &format!("{path}.instance_type"))?;
        names::check(d, n.span, &format!("{path}.instance_type"), &s, &names::INSTANCE_TYPE).then_some(s)
    });
    let ami = required(
        d,
        node,
        "ami",
        path,
        "set the AMI: an id like `ami-0123456789abcdef0` or `ssm:/aws/service/...`",
    )
    .and_then(|n| {
        let s = d.string(n, &format!("{path}.ami"))?;
        if let Some(param) = s.strip_prefix("ssm:") {
            if param.starts_with('/') && param.len() > 1 {
                return Some(Ami::Ssm(param.to_owned()));
            }
        } else if names::AMI_ID.matches(&s) {
            return Some(Ami::Id(s));
        }
        d.diags.error_help(
            "invalid-value",
            Some(n.span),
            format!("`{path}.ami`: `{s}` is neither an AMI id nor an SSM parameter"),
            "write `ami-` followed by 8 or 17 hex digits, or `ssm:/path/to/parameter`",
        );
        None
    });
    let ssh_key = node
        .get("ssh_key")
        .and_then(|n| d.opt_string(n, &format!("{path}.ssh_key")));
    let root_volume = node.get("root_volume").filter(|n| !n.is_null()).and_then(|n| {
        let p = format!("{path}.root_volume");
        d.mapping(n, &p, ROOT_VOLUME_KEYS, false)?;
        let size_gb = required(d, n, "size_gb", &p, "set the root volume size, e.g. `size_gb: 20`")
            .and_then(|s| d.u32_in(s, &format!("{p}.size_gb"), ROOT_VOLUME_SIZE_GB));
        let volume_type = match n.get("type") {
            None => Some(DEFAULT_ROOT_VOLUME_TYPE),
            Some(t) => d.keyword(t, &format!("{p}.type")),
        };
        Some(RootVolume {
            size_gb: size_gb?,
            volume_type: volume_type?,
        })
    });
    let instance_profile = match node.get("instance_profile").filter(|n| !n.is_null()) {
        None => None,
        Some(n) => {
            let p = format!("{path}.instance_profile");
            let s = d.string(n, &p)?;
            if !names::check(d, n.span, &p, &s, &names::INSTANCE_PROFILE) {
                return None;
            }
            Some(s)
        }
    };
    Some(Pool {
        count: count?,
        instance_type: instance_type?,
        ami: ami?,
        ssh_key,
        root_volume,
        instance_profile,
    })
}

fn decode_volumes(node: &Node, d: &mut Decoder) -> BTreeMap<String, VolumeSpec> {
    let mut out = BTreeMap::new();
    for (key, name, value) in d.named_entries(node, "volumes") {
        let path = format!("volumes.{name}");
        let name_ok = names::check(d, key.span, "volume name", name, &names::VOLUME_NAME);
        if d.mapping(value, &path, VOLUME_KEYS, false).is_none() {
            continue;
        }
        let kind = required(
            d,
            value,
            "type",
            &path,
            "set `type: shared` (EFS) or `type: relocatable` (EBS)",
        )
        .and_then(|t| d.keyword(t, &format!("{path}.type")));
        let deletion_policy = match value.get("deletion_policy") {
            None => Some(DEFAULT_DELETION_POLICY),
            Some(p) => d.keyword(p, &format!("{path}.deletion_policy")),
        };
        let size_gb = value
            .get("size_gb")
            .and_then(|s| d.u32_in(s, &format!("{path}.size_gb"), VOLUME_SIZE_GB));
        let ebs = match kind {
            Some(VolumeKind::Relocatable) => decode_ebs(value, &path, size_gb, d),
            Some(VolumeKind::Shared) => {
                for key in EBS_ONLY_VOLUME_KEYS {
                    if let Some(n) = value.get(key) {
                        d.diags.error_help(
                            "invalid-value",
                            Some(n.span),
                            format!("`{path}.{key}` does not apply to a shared volume"),
                            "EFS grows on demand, is always encrypted and sets its own performance: remove it, or make the volume `type: relocatable` (EBS)",
                        );
                    }
                }
                Some(Ebs::default())
            }
            None => None,
        };
        // Kept even when its EBS settings are refused (those errors make
        // the state invalid anyway), so no "not declared" follows them.
        if let (true, Some(kind), Some(deletion_policy)) = (name_ok, kind, deletion_policy) {
            let ebs = ebs.unwrap_or_default();
            out.insert(
                name.to_owned(),
                VolumeSpec {
                    kind,
                    deletion_policy,
                    size_gb,
                    ebs_type: ebs.kind,
                    iops: ebs.iops,
                    throughput: ebs.throughput,
                    encrypted: ebs.encrypted,
                    kms_key: ebs.kms_key,
                    declared_at: Some(key.span),
                },
            );
        }
    }
    out
}

/// A relocatable volume's EBS settings, as decoded.
#[derive(Default)]
struct Ebs {
    kind: Option<EbsType>,
    iops: Option<u32>,
    throughput: Option<u32>,
    encrypted: Option<bool>,
    kms_key: Option<String>,
}

/// The EBS settings of relocatable volume `path`, checked against what EBS
/// accepts for its type ([`super::ebs::limits`]); `None` after an error.
fn decode_ebs(value: &Node, path: &str, size_gb: Option<u32>, d: &mut Decoder) -> Option<Ebs> {
    use super::ebs::{DEFAULT_RELOCATABLE_TYPE, GP3_BASELINE_IOPS, GP3_THROUGHPUT_PER_IOPS, kms_key_problem, limits};
    let errors = d.diags.error_count();
    let kind = match value.get("ebs_type") {
        None => Some(DEFAULT_RELOCATABLE_TYPE),
        Some(n) => d.keyword::<EbsType>(n, &format!("{path}.ebs_type")),
    };
    let limits = kind.and_then(|k| {
        let l = limits(k);
        if l.is_none()
            && let Some(n) = value.get("ebs_type")
        {
            d.diags.error_help(
                "invalid-value",
                Some(n.span),
                format!(
                    "`{path}.ebs_type`: `{}` (magnetic) is of a previous generation and not offered",
                    k.as_str()
                ),
                "use gp3 (the default), gp2, io1, io2, st1 or sc1",
            );
        }
        l
    });
    let iops = value
        .get("iops")
        .and_then(|n| d.u32_in(n, &format!("{path}.iops"), 0..=u32::MAX).map(|v| (n, v)));
    let throughput = value
        .get("throughput")
        .and_then(|n| d.u32_in(n, &format!("{path}.throughput"), 0..=u32::MAX).map(|v| (n, v)));
    if let (Some(kind), Some(l)) = (kind, &limits) {
        let word = kind.as_str();
        match (size_gb, value.get("size_gb")) {
            (None, None) => d.diags.error_help(
                "missing-key",
                Some(value.span),
                format!("`{path}.size_gb` is required for a relocatable volume"),
                "set the EBS volume size, e.g. `size_gb: 20`",
            ),
            (Some(size), Some(n)) if !l.size_gb.contains(&size) => d.diags.error_help(
                "out-of-range",
                Some(n.span),
                format!(
                    "`{path}.size_gb` is {size}, outside what {word} takes: {}..={} GiB",
                    l.size_gb.start(),
                    l.size_gb.end()
                ),
                format!(
                    "give a size in {}..={}, or another `ebs_type`",
                    l.size_gb.start(),
                    l.size_gb.end()
                ),
            ),
            _ => {}
        }
        match (&l.iops, iops) {
            (None, Some((n, _))) => d.diags.error_help(
                "invalid-value",
                Some(n.span),
                format!("`{path}.iops` does not apply to {word}: {}", l.fixed_performance),
                "remove it, or use gp3, io1 or io2 to provision IOPS",
            ),
            (Some(_), None) if l.iops_required => d.diags.error_help(
                "missing-key",
                Some(value.span),
                format!("`{path}.iops` is required for {word}: it is a provisioned-IOPS type"),
                "set the IOPS to provision, e.g. `iops: 3000`, or use gp3",
            ),
            (Some(range), Some((n, v))) if !range.contains(&v) => d.diags.error_help(
                "out-of-range",
                Some(n.span),
                format!(
                    "`{path}.iops` is {v}, outside what {word} takes: {}..={}",
                    range.start(),
                    range.end()
                ),
                format!("give IOPS in {}..={}", range.start(), range.end()),
            ),
            (Some(_), Some((n, v))) => {
                if let (Some(per), Some(size)) = (l.iops_per_gib, size_gb)
                    && u64::from(v) > u64::from(per) * u64::from(size)
                {
                    d.diags.error_help(
                        "out-of-range",
                        Some(n.span),
                        format!("`{path}.iops` is {v}, more than {word} allows for {size} GiB ({per} per GiB)"),
                        format!(
                            "lower the IOPS to {} at most, or make the volume larger",
                            u64::from(per) * u64::from(size)
                        ),
                    );
                }
            }
            _ => {}
        }
        match (&l.throughput, throughput) {
            (None, Some((n, _))) => d.diags.error_help(
                "invalid-value",
                Some(n.span),
                format!("`{path}.throughput` applies to gp3 only, not to {word}"),
                "remove it, or use gp3 to provision throughput",
            ),
            (Some(range), Some((n, v))) if !range.contains(&v) => d.diags.error_help(
                "out-of-range",
                Some(n.span),
                format!(
                    "`{path}.throughput` is {v} MiB/s, outside what gp3 takes: {}..={}",
                    range.start(),
                    range.end()
                ),
                format!("give a throughput in {}..={} MiB/s", range.start(), range.end()),
            ),
            (Some(_), Some((n, v))) => {
                let iops = iops.map_or(GP3_BASELINE_IOPS, |(_, i)| i);
                let most = (f64::from(iops) * GP3_THROUGHPUT_PER_IOPS) as u32;
                if v > most {
                    d.diags.error_help(
                        "out-of-range",
                        Some(n.span),
                        format!("`{path}.throughput` is {v} MiB/s, more than gp3 allows with {iops} IOPS ({most} MiB/s: 0.25 per IOPS)"),
                        format!("raise `iops` to {} or more, or lower the throughput", v.saturating_mul(4)),
                    );
                }
            }
            _ => {}
        }
    }
    let encrypted = match value.get("encrypted") {
        None => Some(true),
        Some(n) => d.bool(n, &format!("{path}.encrypted")),
    };
    let kms_key = value.get("kms_key").and_then(|n| {
        let key = d.string(n, &format!("{path}.kms_key"))?;
        if encrypted == Some(false) {
            d.diags.error_help(
                "conflicting-keys",
                Some(n.span),
                format!("`{path}` names a `kms_key` and is `encrypted: false`"),
                "remove `encrypted: false` (volumes are encrypted by default) or the key",
            );
        } else if let Some(expected) = kms_key_problem(&key) {
            d.diags.error_help(
                "invalid-value",
                Some(n.span),
                format!("`{path}.kms_key`: `{key}` is not a KMS key"),
                format!("write {expected}"),
            );
        }
        Some(key)
    });
    (d.diags.error_count() == errors).then_some(Ebs {
        kind,
        iops: iops.map(|(_, v)| v),
        throughput: throughput.map(|(_, v)| v),
        encrypted,
        kms_key,
    })
}

fn decode_ingress(node: &Node, d: &mut Decoder) -> Option<Ingress> {
    d.mapping(node, "ingress", INGRESS_KEYS, false)?;
    let kind = required(
        d,
        node,
        "type",
        "ingress",
        "set `type: load_balancer`, `elastic_ip` or `none`",
    )
    .and_then(|t| d.keyword(t, "ingress.type"));
    let certificate = node
        .get("certificate")
        .and_then(|n| d.opt_string(n, "ingress.certificate"));
    let allowed_cidrs = match node.get("allowed_cidrs") {
        None => Some(default_allowed_cidrs()),
        Some(list) => cidr_list(d, list, "ingress.allowed_cidrs"),
    };
    Some(Ingress {
        kind: kind?,
        certificate,
        allowed_cidrs: allowed_cidrs?,
    })
}

fn decode_routes(node: &Node, d: &mut Decoder) -> Vec<Route> {
    if node.is_null() {
        return Vec::new();
    }
    let Some(items) = node.as_seq() else {
        d.expected(node, "a list of routes", "routes");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("routes[{i}]");
        if d.mapping(item, &path, ROUTE_KEYS, false).is_none() {
            continue;
        }
        let host_node = required(
            d,
            item,
            "host",
            &path,
            "set the host name this route answers, e.g. `host: cloud.example.com`",
        );
        let host = host_node.and_then(|h| {
            let s = d.string(h, &format!("{path}.host"))?;
            names::check(d, h.span, &format!("{path}.host"), &s, &names::HOST_NAME).then_some(s)
        });
        let route_path = match item.get("path") {
            None => Some(DEFAULT_PATH.to_owned()),
            Some(p) => d.string(p, &format!("{path}.path")).and_then(|s| {
                if s.starts_with('/') {
                    Some(s)
                } else {
                    d.diags.error_help(
                        "invalid-value",
                        Some(p.span),
                        format!("`{path}.path` must start with `/`, found `{s}`"),
                        "write an absolute path such as `/` or `/api`",
                    );
                    None
                }
            }),
        };
        let service_node = required(d, item, "service", &path, "name the target as `<stack>/<service>`");
        let service = service_node.and_then(|s| {
            let text = d.string(s, &format!("{path}.service"))?;
            match text.split_once('/') {
                Some((stack, service)) if !stack.is_empty() && !service.is_empty() && !service.contains('/') => {
                    Some(ServiceRef {
                        stack: stack.to_owned(),
                        service: service.to_owned(),
                    })
                }
                _ => {
                    d.diags.error_help(
                        "invalid-value",
                        Some(s.span),
                        format!("`{path}.service` is `{text}`, expected `<stack>/<service>`"),
                        "name the stack and the service, e.g. `service: nextcloud/app`",
                    );
                    None
                }
            }
        });
        let port_node = required(
            d,
            item,
            "port",
            &path,
            "set the container port the service publishes, e.g. `port: 80`",
        );
        let port = port_node.and_then(|p| {
            let v = d.u64(p, &format!("{path}.port"))?;
            match u16::try_from(v) {
                Ok(port) if ROUTE_PORT.contains(&port) => Some(port),
                _ => {
                    d.diags.error_help(
                        "out-of-range",
                        Some(p.span),
                        format!(
                            "`{path}.port` is {v}, outside {}..={}",
                            ROUTE_PORT.start(),
                            ROUTE_PORT.end()
                        ),
                        "use a TCP port number",
                    );
                    None
                }
            }
        });
        let health_check = item.get("health_check").filter(|n| !n.is_null()).and_then(|h| {
            let p = format!("{path}.health_check");
            d.mapping(h, &p, HEALTH_CHECK_KEYS, false)?;
            let hc_path = match h.get("path") {
                None => Some(DEFAULT_PATH.to_owned()),
                Some(n) => d.string(n, &format!("{p}.path")),
            };
            let interval = match h.get("interval") {
                None => Some(DEFAULT_HEALTH_CHECK_INTERVAL),
                Some(n) => d.duration_in(n, &format!("{p}.interval"), HEALTH_CHECK_INTERVAL),
            };
            let timeout = match h.get("timeout") {
                None => Some(DEFAULT_HEALTH_CHECK_TIMEOUT),
                Some(n) => d.duration_in(n, &format!("{p}.timeout"), HEALTH_CHECK_TIMEOUT),
            };
            let matcher = match h.get("matcher") {
                None => Some(DEFAULT_MATCHER.to_owned()),
                Some(n) => d.string(n, &format!("{p}.matcher")),
            };
            Some(HealthCheck {
                path: hc_path?,
                interval: interval?,
                timeout: timeout?,
                matcher: matcher?,
            })
        });
        if let (Some(host), Some(path_), Some(service), Some(port)) = (host, route_path, service, port) {
            out.push(Route {
                host,
                path: path_,
                service,
                port,
                health_check,
                host_at: host_node.map(|n| n.span),
                path_at: item.get("path").map(|n| n.span),
                service_at: service_node.map(|n| n.span),
                port_at: port_node.map(|n| n.span),
            });
        }
    }
    out
}

fn decode_stacks(node: &Node, d: &mut Decoder) -> BTreeMap<String, StackRef> {
    let mut out = BTreeMap::new();
    for (key, name, value) in d.named_entries(node, "stacks") {
        let path = format!("stacks.{name}");
        let name_ok = names::check(d, key.span, "stack name", name, &names::STACK_NAME);
        if d.mapping(value, &path, STACK_KEYS, false).is_none() {
            continue;
        }
        let compose = required(
            d,
            value,
            "compose",
            &path,
            "point at the stack's compose file, e.g. `compose: stacks/app.yml`",
        )
        .and_then(|c| d.string(c, &format!("{path}.compose")));
        let env_file = value
            .get("env_file")
            .and_then(|e| d.opt_string(e, &format!("{path}.env_file")));
        if let (true, Some(compose)) = (name_ok, compose) {
            out.insert(
                name.to_owned(),
                StackRef {
                    compose: PathBuf::from(compose),
                    env_file: env_file.map(PathBuf::from),
                    declared_at: Some(key.span),
                    compose_at: value.get("compose").map(|n| n.span),
                    env_file_at: value.get("env_file").map(|n| n.span),
                },
            );
        }
    }
    out
}

fn decode_maintenance(node: &Node, d: &mut Decoder) -> Option<Maintenance> {
    d.mapping(node, "maintenance", MAINTENANCE_KEYS, false)?;
    let system_prune = node.get("system_prune").filter(|n| !n.is_null()).and_then(|n| {
        let p = "maintenance.system_prune";
        d.mapping(n, p, SYSTEM_PRUNE_KEYS, false)?;
        let schedule = required(d, n, "schedule", p, "set `schedule: daily` (or hourly, weekly)")
            .and_then(|s| d.keyword(s, "maintenance.system_prune.schedule"));
        let at = match n.get("at") {
            None => Some(DEFAULT_PRUNE_AT.to_owned()),
            Some(a) => d.string(a, "maintenance.system_prune.at").and_then(|s| {
                names::check(d, a.span, "maintenance.system_prune.at", &s, &names::TIME_OF_DAY).then_some(s)
            }),
        };
        let stagger = match n.get("stagger") {
            None => Some(DEFAULT_PRUNE_STAGGER),
            Some(v) => d.duration_in(
                v,
                "maintenance.system_prune.stagger",
                Duration::ZERO..=MAX_PRUNE_STAGGER,
            ),
        };
        let volumes = match n.get("volumes") {
            None => Some(false),
            Some(v) => d.bool(v, "maintenance.system_prune.volumes"),
        };
        Some(SystemPrune {
            schedule: schedule?,
            at: at?,
            stagger: stagger?,
            volumes: volumes?,
        })
    });
    Some(Maintenance { system_prune })
}

fn decode_logging(node: &Node, d: &mut Decoder) -> Option<Logging> {
    d.mapping(node, "logging", LOGGING_KEYS, false)?;
    let cloudwatch = node.get("cloudwatch").filter(|n| !n.is_null()).and_then(|n| {
        let p = "logging.cloudwatch";
        d.mapping(n, p, CLOUDWATCH_KEYS, false)?;
        let group = required(
            d,
            n,
            "group",
            p,
            "name the CloudWatch log group, e.g. `group: cloud-logs`",
        )
        .and_then(|g| {
            let s = d.string(g, "logging.cloudwatch.group")?;
            names::check(d, g.span, "logging.cloudwatch.group", &s, &names::LOG_GROUP).then_some(s)
        });
        let retention_days = match n.get("retention_days") {
            None => Some(DEFAULT_RETENTION_DAYS),
            Some(r) => d.u64(r, "logging.cloudwatch.retention_days").and_then(|v| {
                let ok = u32::try_from(v).ok().filter(|v| CLOUDWATCH_RETENTION_DAYS.contains(v));
                if ok.is_none() {
                    let list: Vec<String> = CLOUDWATCH_RETENTION_DAYS.iter().map(u32::to_string).collect();
                    d.diags.error_help(
                        "invalid-value",
                        Some(r.span),
                        format!("`logging.cloudwatch.retention_days` is {v}, which CloudWatch does not accept"),
                        format!("use one of: {}", list.join(", ")),
                    );
                }
                ok
            }),
        };
        Some(CloudWatch {
            group: group?,
            retention_days: retention_days?,
        })
    });
    Some(Logging { cloudwatch })
}

/// `registries`: by registry host, a user and where the password lives, or
/// an ECR registry. A password written in the file is refused: whoever can
/// read the repository could read it.
fn decode_registries(node: &Node, d: &mut Decoder) -> BTreeMap<String, RegistryCredentials> {
    let mut out = BTreeMap::new();
    for (key, host, value) in d.named_entries(node, "registries") {
        let path = format!("registries.{host}");
        let host_ok = registry_host(host);
        if !host_ok {
            d.diags.error_help(
                "invalid-value",
                Some(key.span),
                format!("`{host}` is not a registry host"),
                "write the registry as image names write it, e.g. `ghcr.io` or `10.0.0.5:5000` (no scheme, no path)",
            );
        }
        if d.mapping(value, &path, REGISTRY_KEYS, false).is_none() {
            continue;
        }
        let username = value
            .get("username")
            .and_then(|n| d.string(n, &format!("{path}.username")));
        let password = value
            .get("password")
            .and_then(|n| decode_secret_source(n, &format!("{path}.password"), "registry-password", d));
        let ecr = value
            .get("ecr")
            .and_then(|n| decode_ecr(n, host, &format!("{path}.ecr"), d));
        let ok = match (&ecr, value.get("ecr"), &username, &password) {
            (_, Some(_), None, None) => ecr.is_some(),
            (_, Some(at), _, _) => {
                d.diags.error_help(
                    "conflicting-keys",
                    Some(at.span),
                    format!("`{path}` names both an ECR registry and a user or password"),
                    "ECR registries take their tokens from ecr:GetAuthorizationToken: remove `username` and `password`, or `ecr`",
                );
                false
            }
            (_, None, Some(_), Some(_)) => true,
            (_, None, _, _) if value.get("password").is_some() && password.is_none() => false,
            (_, None, u, _) => {
                d.diags.error_help(
                    "missing-key",
                    Some(value.span),
                    format!(
                        "`{path}` needs {}",
                        if u.is_some() { "`password`" } else { "`username` and `password`, or `ecr`" }
                    ),
                    "e.g. `username: deploy` and `password: {ssm: /swarmkeeper/registry-password}`, or `ecr: {}` for ECR",
                );
                false
            }
        };
        if host_ok && ok {
            out.insert(
                host.to_owned(),
                RegistryCredentials {
                    username,
                    password,
                    ecr,
                    declared_at: Some(key.span),
                },
            );
        }
    }
    out
}

/// `notifications`: by a name of the user's, a receiver's type, where its
/// URL lives and the events it is sent.
fn decode_notifications(node: &Node, d: &mut Decoder) -> BTreeMap<String, Notification> {
    let mut out = BTreeMap::new();
    for (key, name, value) in d.named_entries(node, "notifications") {
        let path = format!("notifications.{name}");
        let name_ok = names::check(d, key.span, "notifications", name, &names::STACK_NAME);
        if d.mapping(value, &path, NOTIFICATION_KEYS, false).is_none() {
            continue;
        }
        let kind = required(
            d,
            value,
            "type",
            &path,
            "set `type: slack` (an incoming webhook) or `type: webhook` (JSON)",
        )
        .and_then(|n| d.keyword::<NotificationKind>(n, &format!("{path}.type")));
        let url = required(
            d,
            value,
            "url",
            &path,
            "say where the URL lives, e.g. `url: {env: SLACK_WEBHOOK_URL}` or `url: {file: /run/secrets/slack-webhook}`",
        )
        .and_then(|n| decode_secret_source(n, &format!("{path}.url"), "slack-webhook", d));
        let events = match value.get("events") {
            None => Some(NotificationEvent::ALL_EVENTS.to_vec()),
            Some(list) => decode_events(list, &format!("{path}.events"), d),
        };
        if let (true, Some(kind), Some(url), Some(events)) = (name_ok, kind, url, events) {
            out.insert(name.to_owned(), Notification { kind, url, events });
        }
    }
    out
}

fn decode_events(list: &Node, path: &str, d: &mut Decoder) -> Option<Vec<NotificationEvent>> {
    let Some(items) = list.as_seq() else {
        d.expected(list, "a list of events", path);
        return None;
    };
    let mut events = Vec::new();
    let mut ok = true;
    for item in items {
        match d.keyword::<NotificationEvent>(item, path) {
            Some(e) if !events.contains(&e) => events.push(e),
            Some(_) => {}
            None => ok = false,
        }
    }
    if ok && events.is_empty() {
        d.diags.error_help(
            "invalid-value",
            Some(list.span),
            format!("`{path}` names no event"),
            format!(
                "list what to send ({}), or leave `events` out for all of them",
                NotificationEvent::NAMES.join(", ")
            ),
        );
        return None;
    }
    ok.then_some(events)
}

/// A registry host as image names write it: `host[:port]`, lowercase.
fn registry_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0))
}

/// Where a secret lives (`{ssm: NAME}`, `{file: PATH}`, `{env: NAME}`);
/// `example` names one in the help (`registry-password`).
fn decode_secret_source(node: &Node, path: &str, example: &str, d: &mut Decoder) -> Option<SecretSource> {
    // Written SOPS-encrypted: not in git in clear.
    if d.is_sealed(node)
        && let Some(value) = node.as_scalar()
    {
        return Some(SecretSource::Sealed(crate::config::types::Sealed(value.to_owned())));
    }
    if node.as_scalar().is_some() && !node.is_null() {
        d.diags.error_help(
            "secret-in-git",
            Some(node.span),
            format!("`{path}` is written in the desired state, which anyone who can read the repository can read"),
            format!(
                "keep it in SSM (`{{ssm: /swarmkeeper/{example}}}`, a SecureString), in a swarm secret mounted into the \
                 controller (`{{file: /run/secrets/{example}}}`), in the controller's environment (`{{env: NAME}}`), or \
                 encrypt it in place with SOPS (`sops encrypt -i --encrypted-regex '^(url|password)$' swarmkeeper.yaml`)"
            ),
        );
        return None;
    }
    let entries = d.mapping(node, path, SECRET_SOURCE_KEYS, false)?;
    if entries.len() != 1 {
        d.diags.error_help(
            "invalid-value",
            Some(node.span),
            format!("`{path}` names {} sources", entries.len()),
            "write exactly one: `{ssm: NAME}` or `{file: PATH}`",
        );
        return None;
    }
    if let Some(n) = node.get("ssm") {
        let name = d.string(n, &format!("{path}.ssm"))?;
        let ok = !name.is_empty()
            && name.len() <= 2048
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b));
        if !ok {
            d.diags.error_help(
                "invalid-value",
                Some(n.span),
                format!("`{path}.ssm`: `{name}` is not an SSM parameter name"),
                "write the parameter's name, e.g. `/swarmkeeper/registry-password` (letters, digits, `/_.-`)",
            );
            return None;
        }
        return Some(SecretSource::Ssm(name));
    }
    if let Some(n) = node.get("env") {
        let name = d.string(n, &format!("{path}.env"))?;
        let ok = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            d.diags.error_help(
                "invalid-value",
                Some(n.span),
                format!("`{path}.env`: `{name}` is not an environment variable name"),
                "name the variable, e.g. `SLACK_WEBHOOK_URL` (letters, digits and `_`, not starting with a digit)",
            );
            return None;
        }
        return Some(SecretSource::Env(name));
    }
    let n = node.get("file")?;
    let file = d.string(n, &format!("{path}.file"))?;
    if !file.starts_with('/') {
        d.diags.error_help(
            "invalid-value",
            Some(n.span),
            format!("`{path}.file`: `{file}` is not an absolute path"),
            "name the file where swarmkeeper runs, e.g. `/run/secrets/registry-password` (a swarm secret mounted into the controller)",
        );
        return None;
    }
    Some(SecretSource::File(PathBuf::from(file)))
}

fn decode_ecr(node: &Node, host: &str, path: &str, d: &mut Decoder) -> Option<Ecr> {
    let from_host = ecr_host(host);
    if node.is_null() || node.as_scalar() == Some("true") {
        if from_host.is_none() {
            d.diags.error_help(
                "missing-key",
                Some(node.span),
                format!("`{path}`: `{host}` is not an ECR host name, so its account and region must be given"),
                "write `ecr: {account: \"123456789012\", region: eu-west-1}`, or use the registry's ECR host name (ACCOUNT.dkr.ecr.REGION.amazonaws.com)",
            );
        }
        return from_host.map(|(account, region)| Ecr { account, region });
    }
    d.mapping(node, path, ECR_KEYS, false)?;
    let account = match node.get("account") {
        Some(n) => {
            let s = scalar_text(n, &format!("{path}.account"), d)?;
            if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
                d.diags.error_help(
                    "invalid-value",
                    Some(n.span),
                    format!("`{path}.account`: `{s}` is not an AWS account id"),
                    "write the 12 digits of the registry's account, quoted: `account: \"123456789012\"`",
                );
                return None;
            }
            Some(s)
        }
        None => from_host.as_ref().map(|(a, _)| a.clone()),
    };
    let region = match node.get("region") {
        Some(n) => {
            let s = d.string(n, &format!("{path}.region"))?;
            if !names::check(d, n.span, &format!("{path}.region"), &s, &names::REGION) {
                return None;
            }
            Some(s)
        }
        None => from_host.as_ref().map(|(_, r)| r.clone()),
    };
    match (account, region) {
        (Some(account), Some(region)) => Some(Ecr { account, region }),
        _ => {
            d.diags.error_help(
                "missing-key",
                Some(node.span),
                format!("`{path}` needs `account` and `region`: `{host}` is not an ECR host name"),
                "write `ecr: {account: \"123456789012\", region: eu-west-1}`",
            );
            None
        }
    }
}

/// A scalar as written (a number or a string): account ids are digits.
fn scalar_text(node: &Node, path: &str, d: &mut Decoder) -> Option<String> {
    match node.as_scalar() {
        Some(s) if !node.is_null() => Some(s.to_owned()),
        _ => {
            d.expected(node, "a string", path);
            None
        }
    }
}
