//! Compose → swarm specs, following `docker stack deploy`'s conversion
//! (docker/cli `cli/compose/convert`) so that `docker stack ls/ps/services`
//! treat swarmkeeper's stacks as their own: names `<stack>_<name>`, the
//! stack labels, the default network, network aliases, sorted environment.
//!
//! Differences from docker, on purpose: configs and secrets are named
//! `<stack>_<name>_<suffix>`, the suffix a keyed hash of the content under
//! the cluster's [`RevisionKey`] (swarm objects are immutable; a new name
//! per content lets services move to a new revision), every engine default is
//! filled in explicitly, and ownership labels are added to service,
//! network, config and secret labels (never to container labels).

use std::collections::{BTreeMap, BTreeSet};

use swarmkeeper_model::compose::{self, ComposeFile, MountType, PublishMode, Service, ServiceMode};
use swarmkeeper_model::{DesiredState, Stack};

use crate::labels;
use crate::revision_key::RevisionKey;
use crate::spec::*;

/// Everything a desired state asks of the swarm.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredSwarm {
    /// Stack names `swarmkeeper.yaml` declares: only a stack missing here
    /// is pruned as "no longer declared".
    pub stacks: BTreeSet<String>,
    /// Declared stacks that did not load (a valid state has none: the
    /// plan refuses to act on such a state rather than prune them).
    pub unloaded: BTreeSet<String>,
    /// The desired state's owner name, on everything it creates.
    pub owner: String,
    /// Service → environment keys its compose file lists under
    /// `x-swarmkeeper-sensitive`: plans show their values as `(sensitive)`.
    pub sensitive_env: BTreeMap<String, BTreeSet<String>>,
    pub services: BTreeMap<String, ServiceSpec>,
    pub networks: BTreeMap<String, NetworkSpec>,
    /// (kind, swarm name) → spec.
    pub files: BTreeMap<(FileKind, String), FileObjectSpec>,
    /// Declared services that wait on this apply, with what for (a shared
    /// volume whose file system does not exist yet): still in `services`,
    /// planned with the address [`KNOWN_AFTER_APPLY`], and their steps go to
    /// `Plan::after_apply`. Never pruned.
    pub deferred: BTreeMap<String, String>,
    /// Service → the cluster volumes it mounts.
    pub volume_users: BTreeMap<String, Vec<String>>,
    /// The desired state's revision, recorded on the services it changes.
    pub revision: Option<String>,
    /// Service → its `x-swarmkeeper-image` policy, where not the default
    /// (see [`crate::images`]).
    pub image_policy: BTreeMap<String, compose::ImagePolicy>,
    /// Registries whose credentials expire (ECR tokens, 12 h): services
    /// pulling from them get fresh ones sent in time
    /// ([`crate::images::CREDENTIALS_RENEW_AFTER_SECS`]).
    pub expiring_credentials: BTreeSet<String>,
}

impl DesiredSwarm {
    /// How a service's image is pinned.
    pub fn policy(&self, service: &str) -> compose::ImagePolicy {
        self.image_policy.get(service).copied().unwrap_or_default()
    }
}

/// How nodes mount a shared (EFS) cluster volume: NFS address by volume.
pub type SharedVolumes = BTreeMap<String, String>;

/// NFS mount options for EFS, as AWS recommends them.
/// What a value only the apply can know (a new file system's address)
/// reads as in a plan, as Terraform shows it.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

pub const EFS_NFS_OPTIONS: &str = "nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport";

pub fn desired_swarm(state: &DesiredState, key: &RevisionKey) -> DesiredSwarm {
    desired_swarm_with(state, &SharedVolumes::new(), key)
}

/// The swarm side, knowing the NFS address of each shared cluster volume
/// whose file system exists, with revisions named under `key`. A service
/// mounting a shared volume without an address yet is deferred to a later
/// round.
pub fn desired_swarm_with(state: &DesiredState, shared: &SharedVolumes, key: &RevisionKey) -> DesiredSwarm {
    let mut out = DesiredSwarm {
        owner: state.config.owner().to_owned(),
        ..DesiredSwarm::default()
    };
    for name in state.config.stacks.keys() {
        out.stacks.insert(name.clone());
        if !state.stacks.contains_key(name) {
            out.unloaded.insert(name.clone());
        }
    }
    for (name, stack) in &state.stacks {
        out.stacks.insert(name.clone());
        convert_stack(name, stack, key, &mut out);
    }
    // Everything the state creates carries its owner (services, networks,
    // configs, secrets), over any label of that name in a compose file.
    let owner = out.owner.clone();
    let own = |labels: &mut BTreeMap<String, String>| {
        labels.insert(labels::OWNER.to_owned(), owner.clone());
    };
    out.services.values_mut().for_each(|s| own(&mut s.labels));
    out.networks.values_mut().for_each(|n| own(&mut n.labels));
    out.files.values_mut().for_each(|f| own(&mut f.labels));
    let shared_kinds: BTreeSet<&String> = state
        .config
        .volumes
        .iter()
        .filter(|(_, v)| v.kind == swarmkeeper_model::config::VolumeKind::Shared)
        .map(|(k, _)| k)
        .collect();
    let mut deferred = Vec::new();
    for (service, spec) in out.services.iter_mut() {
        let mut used = Vec::new();
        for m in spec.task.container.mounts.iter_mut() {
            let Some(source) = m.source.clone() else { continue };
            if m.kind != MountKind::Volume || !state.config.volumes.contains_key(&source) {
                continue;
            }
            used.push(source.clone());
            if !shared_kinds.contains(&source) {
                continue;
            }
            match shared.get(&source) {
                Some(addr) => {
                    m.volume_driver = Some("local".to_owned());
                    m.volume_driver_options = BTreeMap::from([
                        ("type".to_owned(), "nfs".to_owned()),
                        ("o".to_owned(), format!("addr={addr},{EFS_NFS_OPTIONS}")),
                        ("device".to_owned(), ":/".to_owned()),
                    ]);
                }
                None => {
                    // Planned all the same, with the one value only the
                    // apply knows: `Plan::after_apply` shows the step.
                    m.volume_driver = Some("local".to_owned());
                    m.volume_driver_options = BTreeMap::from([
                        ("type".to_owned(), "nfs".to_owned()),
                        ("o".to_owned(), format!("addr={KNOWN_AFTER_APPLY},{EFS_NFS_OPTIONS}")),
                        ("device".to_owned(), ":/".to_owned()),
                    ]);
                    deferred.push((service.clone(), source.clone()));
                }
            }
        }
        if !used.is_empty() {
            out.volume_users.insert(service.clone(), used);
        }
    }
    for (service, volume) in deferred {
        out.deferred.insert(
            service,
            format!("the EFS file system of volume `{volume}`, which this apply creates first (its address is known after apply)"),
        );
    }
    out
}

fn scoped(stack: &str, name: &str) -> String {
    format!("{stack}_{name}")
}

fn stack_labels(stack: &str, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut l = extra.clone();
    l.insert(labels::STACK_NAMESPACE.to_owned(), stack.to_owned());
    l
}

fn owned_labels(stack: &str, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut l = stack_labels(stack, extra);
    l.insert(labels::MANAGED_BY.to_owned(), labels::MANAGED_BY_VALUE.to_owned());
    l
}

/// The swarm name of a network the compose file calls `key`.
fn network_name(stack: &str, file: &ComposeFile, key: &str) -> String {
    match file.networks.get(key) {
        Some(def) => def
            .external_name
            .clone()
            .or_else(|| def.name.clone())
            .unwrap_or_else(|| scoped(stack, key)),
        None => scoped(stack, key), // `default`
    }
}

fn convert_stack(stack_name: &str, stack: &Stack, key: &RevisionKey, out: &mut DesiredSwarm) {
    let file = &stack.compose;

    // Configs and secrets: one revision per content.
    let mut file_names: BTreeMap<(FileKind, String), String> = BTreeMap::new();
    for (kind, defs) in [(FileKind::Config, &file.configs), (FileKind::Secret, &file.secrets)] {
        for (name_key, def) in defs {
            if let Some(external) = &def.external_name {
                file_names.insert((kind, name_key.clone()), external.clone());
                continue;
            }
            let Some(content) = &def.content else { continue };
            let base = def.name.clone().unwrap_or_else(|| scoped(stack_name, name_key));
            let name = format!("{base}_{}", key.suffix(kind, &base, content));
            let mut l = owned_labels(stack_name, &def.labels);
            l.insert(labels::OBJECT_NAME.to_owned(), base);
            l.insert(labels::REVISION_KEY.to_owned(), key.id());
            file_names.insert((kind, name_key.clone()), name.clone());
            out.files.insert(
                (kind, name.clone()),
                FileObjectSpec {
                    name,
                    labels: l,
                    content: content.clone(),
                    template_driver: def.template_driver.clone(),
                },
            );
        }
    }

    for (svc_name, svc) in &file.services {
        let spec = convert_service(stack_name, svc_name, svc, file, &file_names);
        if !svc.sensitive_env.is_empty() {
            out.sensitive_env.insert(spec.name.clone(), svc.sensitive_env.clone());
        }
        if svc.image_policy != compose::ImagePolicy::default() {
            out.image_policy.insert(spec.name.clone(), svc.image_policy);
        }
        // Networks the service uses and the stack owns are created with it.
        for key in service_network_keys(svc) {
            let def = file.networks.get(&key);
            if def.is_some_and(|d| d.external_name.is_some()) {
                continue;
            }
            let name = network_name(stack_name, file, &key);
            let def = def.cloned().unwrap_or_default();
            out.networks.entry(name.clone()).or_insert_with(|| NetworkSpec {
                name,
                driver: def.driver.clone().unwrap_or_else(|| "overlay".to_owned()),
                driver_opts: def.driver_opts.clone(),
                labels: owned_labels(stack_name, &def.labels),
                attachable: def.attachable,
                internal: def.internal,
                ipam_driver: def.ipam_driver.clone(),
                ipam_subnets: def.ipam_subnets.clone(),
            });
        }
        out.services.insert(spec.name.clone(), spec);
    }
}

/// Network keys a service attaches to (`default` when it names none).
fn service_network_keys(svc: &Service) -> Vec<String> {
    if svc.networks.is_empty() {
        vec!["default".to_owned()]
    } else {
        svc.networks.keys().cloned().collect()
    }
}

fn nanos(d: Option<std::time::Duration>) -> Option<i64> {
    d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

pub fn convert_service(
    stack: &str,
    name: &str,
    svc: &Service,
    file: &ComposeFile,
    file_names: &BTreeMap<(FileKind, String), String>,
) -> ServiceSpec {
    let deploy = &svc.deploy;
    let mut service_labels = owned_labels(stack, &deploy.labels);
    service_labels.insert(labels::STACK_IMAGE.to_owned(), svc.image.clone());

    let mut env: Vec<String> = svc
        .environment
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    env.sort();

    let mut networks: Vec<NetworkAttachment> = service_network_keys(svc)
        .into_iter()
        .map(|key| {
            let attach = svc.networks.get(&key).cloned().unwrap_or_default();
            let mut aliases = attach.aliases.clone();
            aliases.push(name.to_owned());
            NetworkAttachment {
                target: network_name(stack, file, &key),
                aliases,
                driver_opts: attach.driver_opts,
            }
        })
        .collect();
    networks.sort_by(|a, b| a.target.cmp(&b.target));

    // Sorted by swarm object name, as docker sends them.
    let file_refs = |kind: FileKind, refs: &[compose::FileReference]| -> Vec<FileRefSpec> {
        let mut out: Vec<FileRefSpec> = refs
            .iter()
            .map(|r| FileRefSpec {
                name: file_names
                    .get(&(kind, r.source.clone()))
                    .cloned()
                    .unwrap_or_else(|| scoped(stack, &r.source)),
                // Both default to the compose key, as docker does (a config
                // then lands at `/<key>` in the container).
                target: r.target.clone().unwrap_or_else(|| r.source.clone()),
                uid: r.uid.clone().unwrap_or_else(|| "0".to_owned()),
                gid: r.gid.clone().unwrap_or_else(|| "0".to_owned()),
                mode: r.mode.unwrap_or(defaults::FILE_MODE),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    };

    let healthcheck = svc.healthcheck.as_ref().map(|h| {
        if h.disable {
            HealthcheckSpec {
                test: Some(vec!["NONE".to_owned()]),
                interval_ns: None,
                timeout_ns: None,
                start_period_ns: None,
                retries: None,
            }
        } else {
            // Zero is the engine's "unset" (Go's omitempty): `retries: 0`
            // reads back as no value, and must plan as none.
            HealthcheckSpec {
                test: h.test.clone(),
                interval_ns: nanos(h.interval).filter(|v| *v != 0),
                timeout_ns: nanos(h.timeout).filter(|v| *v != 0),
                start_period_ns: nanos(h.start_period).filter(|v| *v != 0),
                retries: h
                    .retries
                    .map(|r| i64::try_from(r).unwrap_or(i64::MAX))
                    .filter(|v| *v != 0),
            }
        }
    });

    let dns = (!svc.dns.is_empty() || !svc.dns_search.is_empty() || !svc.dns_opt.is_empty()).then(|| DnsSpec {
        nameservers: svc.dns.clone(),
        search: svc.dns_search.clone(),
        options: svc.dns_opt.clone(),
    });

    // `restart:` stands in when no restart_policy is set, as with docker.
    let restart_policy = match deploy.restart_policy.as_ref().or(svc.restart.as_ref()) {
        None => RestartPolicySpec::default(),
        Some(r) => RestartPolicySpec {
            condition: match r.condition {
                Some(compose::RestartCondition::None) => "none",
                Some(compose::RestartCondition::OnFailure) => "on-failure",
                Some(compose::RestartCondition::Any) | None => defaults::RESTART_CONDITION,
            }
            .to_owned(),
            delay_ns: nanos(r.delay).unwrap_or(defaults::RESTART_DELAY_NS),
            max_attempts: r.max_attempts.unwrap_or(0),
            window_ns: nanos(r.window).unwrap_or(0),
        },
    };

    let mode = match deploy.mode {
        ServiceMode::Replicated => Mode::Replicated {
            replicas: deploy.replicas.unwrap_or(1),
        },
        ServiceMode::Global => Mode::Global,
        ServiceMode::ReplicatedJob => Mode::ReplicatedJob {
            max_concurrent: 1,
            total_completions: deploy.replicas.unwrap_or(1),
        },
        ServiceMode::GlobalJob => Mode::GlobalJob,
    };

    let mut ports: Vec<PortSpec> = svc
        .ports
        .iter()
        .map(|p| PortSpec {
            published: p.published.unwrap_or(0),
            target: p.target,
            protocol: match p.protocol {
                compose::Protocol::Tcp => "tcp",
                compose::Protocol::Udp => "udp",
                compose::Protocol::Sctp => "sctp",
            }
            .to_owned(),
            publish_mode: match p.mode {
                PublishMode::Ingress => "ingress",
                PublishMode::Host => "host",
            }
            .to_owned(),
        })
        .collect();
    ports.sort();

    ServiceSpec {
        name: scoped(stack, name),
        labels: service_labels,
        task: TaskSpec {
            container: ContainerSpec {
                image: swarmkeeper_model::image::as_docker_sends(&svc.image),
                labels: stack_labels(stack, &svc.labels),
                command: svc.entrypoint.clone(),
                args: svc.command.clone(),
                hostname: svc.hostname.clone(),
                env,
                dir: svc.working_dir.clone(),
                user: svc.user.clone(),
                groups: svc.group_add.clone(),
                tty: svc.tty,
                open_stdin: svc.stdin_open,
                read_only: svc.read_only,
                mounts: svc.volumes.iter().map(|m| convert_mount(stack, m, file)).collect(),
                stop_signal: svc.stop_signal.clone(),
                stop_grace_period_ns: nanos(svc.stop_grace_period),
                healthcheck,
                hosts: svc.extra_hosts.iter().map(|h| convert_extra_host(h)).collect(),
                dns,
                secrets: file_refs(FileKind::Secret, &svc.secrets),
                configs: file_refs(FileKind::Config, &svc.configs),
                isolation: svc.isolation.clone().unwrap_or_else(|| defaults::ISOLATION.to_owned()),
                init: svc.init,
                sysctls: svc.sysctls.clone(),
                capability_add: normalize_caps(&svc.cap_add),
                capability_drop: normalize_caps(&svc.cap_drop)
                    .into_iter()
                    .filter(|c| !normalize_caps(&svc.cap_add).contains(c))
                    .collect(),
                ulimits: svc.ulimits.iter().map(|(k, u)| (k.clone(), (u.soft, u.hard))).collect(),
            },
            resources: ResourcesSpec {
                limit_nano_cpus: deploy.resources.limits.nano_cpus,
                limit_memory_bytes: deploy.resources.limits.memory_bytes,
                limit_pids: deploy.resources.limits.pids,
                reserve_nano_cpus: deploy.resources.reservations.nano_cpus,
                reserve_memory_bytes: deploy.resources.reservations.memory_bytes,
                reserve_generic: deploy.resources.reservations.generic_resources.clone(),
            },
            restart_policy,
            placement: PlacementSpec {
                constraints: deploy.placement.constraints.clone(),
                preferences: deploy.placement.preferences.clone(),
                max_replicas: deploy.placement.max_replicas_per_node.unwrap_or(0),
            },
            networks,
            // As docker's convertLogDriver: options without a driver are
            // the engine's default driver's options (name left empty).
            log_driver: svc
                .logging
                .as_ref()
                .filter(|l| l.driver.is_some() || !l.options.is_empty())
                .map(|l| LogDriverSpec {
                    name: l.driver.clone().unwrap_or_default(),
                    options: l.options.clone(),
                }),
        },
        mode,
        update_config: deploy.update_config.as_ref().map(convert_update).unwrap_or_default(),
        rollback_config: deploy.rollback_config.as_ref().map(convert_update).unwrap_or_default(),
        endpoint: EndpointSpec {
            mode: match deploy.endpoint_mode {
                Some(compose::EndpointMode::Dnsrr) => "dnsrr",
                _ => defaults::ENDPOINT_MODE,
            }
            .to_owned(),
            ports,
        },
    }
}

fn convert_update(u: &compose::UpdateConfig) -> UpdateSpec {
    let d = UpdateSpec::default();
    UpdateSpec {
        parallelism: u.parallelism.unwrap_or(d.parallelism),
        delay_ns: nanos(u.delay).unwrap_or(d.delay_ns),
        failure_action: match u.failure_action {
            Some(compose::FailureAction::Continue) => "continue".to_owned(),
            Some(compose::FailureAction::Rollback) => "rollback".to_owned(),
            Some(compose::FailureAction::Pause) => "pause".to_owned(),
            None => d.failure_action,
        },
        monitor_ns: nanos(u.monitor).unwrap_or(d.monitor_ns),
        max_failure_ratio: u.max_failure_ratio.unwrap_or(d.max_failure_ratio),
        order: match u.order {
            Some(compose::UpdateOrder::StartFirst) => "start-first".to_owned(),
            Some(compose::UpdateOrder::StopFirst) => "stop-first".to_owned(),
            None => d.order,
        },
    }
}

/// `host:ip` (compose) → `ip host` (the hosts-file line swarm stores);
/// an IPv6 address loses its brackets.
fn convert_extra_host(entry: &str) -> String {
    match entry.split_once(':') {
        Some((host, ip)) => format!("{} {host}", ip.trim_start_matches('[').trim_end_matches(']')),
        None => entry.to_owned(),
    }
}

/// Capabilities as docker normalises them: upper case with a `CAP_` prefix
/// (except the keyword `ALL`), deduplicated and sorted. A capability both
/// added and dropped is only added.
fn normalize_caps(caps: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = caps
        .iter()
        .map(|c| {
            let up = c.to_ascii_uppercase();
            if up == "ALL" || up.starts_with("CAP_") {
                up
            } else {
                format!("CAP_{up}")
            }
        })
        .collect();
    set.into_iter().collect()
}

fn convert_mount(stack: &str, m: &compose::Mount, file: &ComposeFile) -> MountSpec {
    let mut spec = MountSpec {
        kind: match m.kind {
            MountType::Bind => MountKind::Bind,
            MountType::Volume => MountKind::Volume,
            MountType::Tmpfs => MountKind::Tmpfs,
            MountType::Npipe => MountKind::Npipe,
            MountType::Cluster => MountKind::Cluster,
        },
        source: m.source.clone(),
        target: m.target.clone(),
        read_only: m.read_only,
        // Consistency only means something to Docker Desktop; the engine
        // drops it, so sending it would read back as a change forever.
        consistency: None,
        bind_propagation: m.bind_propagation.map(|p| p.as_str().to_owned()),
        volume_nocopy: m.volume_nocopy,
        volume_labels: BTreeMap::new(),
        volume_driver: None,
        volume_driver_options: BTreeMap::new(),
        tmpfs_size: m.tmpfs_size,
        tmpfs_mode: m.tmpfs_mode,
    };
    if m.kind == MountType::Volume
        && let Some(source) = &m.source
        && let Some(def) = file.volumes.get(source)
    {
        if let Some(external) = &def.external_name {
            spec.source = Some(external.clone());
        } else {
            spec.source = Some(def.name.clone().unwrap_or_else(|| scoped(stack, source)));
            spec.volume_labels = stack_labels(stack, &def.labels);
            spec.volume_driver = def.driver.clone();
            spec.volume_driver_options = def.driver_opts.clone();
        }
    }
    spec
}
