//! Neutral specs (swarmkeeper-plan) ⇄ Engine API specs (bollard).
//!
//! `to_api` sends every field explicitly, engine defaults included, and
//! `from_api` reads an absent field as the engine default, so a spec that
//! went through the engine reads back equal to what was sent. Networks,
//! configs and secrets are named in neutral specs and identified by id in
//! the API; [`Ids`] translates. Configs and secrets carry their content
//! base64-encoded, as the API wants it.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use bollard::models as api;
use swarmkeeper_plan::spec::*;

use crate::execute::Ids;

fn sorted(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn hash(map: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!map.is_empty()).then(|| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn nonempty<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// A value of a neutral spec the Engine API has no word for (a restart
/// condition, a port protocol, …). Sending the engine's default instead
/// would make every later diff plan the same update again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("service `{service}`: {field} is {value:?}, which the Engine API does not take; fix it in the compose file")]
pub struct Unsendable {
    pub service: String,
    pub field: &'static str,
    pub value: String,
}

/// Parses the engine's enumerations of one service's spec, keeping the
/// first value that does not parse.
struct Enums<'a> {
    service: &'a str,
    failed: std::cell::RefCell<Option<Unsendable>>,
}

impl Enums<'_> {
    fn parse<E: FromStr>(&self, field: &'static str, s: &str) -> Option<E> {
        match E::from_str(s) {
            Ok(v) => Some(v),
            Err(_) => {
                self.failed.borrow_mut().get_or_insert_with(|| Unsendable {
                    service: self.service.to_owned(),
                    field,
                    value: s.to_owned(),
                });
                None
            }
        }
    }
}

/// A neutral service spec as the Engine API takes it; a value the API has
/// no word for is an error naming the service and the field.
pub fn service_to_api(spec: &ServiceSpec, ids: &Ids) -> Result<api::ServiceSpec, Unsendable> {
    let enums = Enums {
        service: &spec.name,
        failed: std::cell::RefCell::new(None),
    };
    let sent = service_to_api_parsed(spec, ids, &enums);
    match enums.failed.into_inner() {
        Some(e) => Err(e),
        None => Ok(sent),
    }
}

fn service_to_api_parsed(spec: &ServiceSpec, ids: &Ids, enums: &Enums<'_>) -> api::ServiceSpec {
    let c = &spec.task.container;
    let container = api::TaskSpecContainerSpec {
        image: Some(c.image.clone()),
        labels: hash(&c.labels),
        command: c.command.clone(),
        args: c.args.clone(),
        hostname: c.hostname.clone(),
        env: nonempty(&c.env),
        dir: c.dir.clone(),
        user: c.user.clone(),
        groups: nonempty(&c.groups),
        tty: Some(c.tty),
        open_stdin: Some(c.open_stdin),
        read_only: Some(c.read_only),
        mounts: nonempty(&c.mounts.iter().map(|m| mount_to_api(m, enums)).collect::<Vec<_>>()),
        stop_signal: c.stop_signal.clone(),
        stop_grace_period: c.stop_grace_period_ns,
        health_check: c.healthcheck.as_ref().map(|h| api::HealthConfig {
            test: h.test.clone(),
            interval: h.interval_ns,
            timeout: h.timeout_ns,
            retries: h.retries,
            start_period: h.start_period_ns,
            start_interval: None,
        }),
        hosts: nonempty(&c.hosts),
        dns_config: c.dns.as_ref().map(|d| api::TaskSpecContainerSpecDnsConfig {
            nameservers: nonempty(&d.nameservers),
            search: nonempty(&d.search),
            options: nonempty(&d.options),
        }),
        secrets: nonempty(
            &c.secrets
                .iter()
                .map(|s| api::TaskSpecContainerSpecSecrets {
                    file: Some(api::TaskSpecContainerSpecFile {
                        name: Some(s.target.clone()),
                        uid: Some(s.uid.clone()),
                        gid: Some(s.gid.clone()),
                        mode: Some(s.mode),
                    }),
                    secret_id: ids.secret(&s.name),
                    secret_name: Some(s.name.clone()),
                })
                .collect::<Vec<_>>(),
        ),
        configs: nonempty(
            &c.configs
                .iter()
                .map(|s| api::TaskSpecContainerSpecConfigs {
                    file: Some(api::TaskSpecContainerSpecFile1 {
                        name: Some(s.target.clone()),
                        uid: Some(s.uid.clone()),
                        gid: Some(s.gid.clone()),
                        mode: Some(s.mode),
                    }),
                    runtime: None,
                    config_id: ids.config(&s.name),
                    config_name: Some(s.name.clone()),
                })
                .collect::<Vec<_>>(),
        ),
        isolation: enums.parse("TaskTemplate.ContainerSpec.Isolation", &c.isolation),
        init: c.init,
        sysctls: hash(&c.sysctls),
        capability_add: nonempty(&c.capability_add),
        capability_drop: nonempty(&c.capability_drop),
        ulimits: (!c.ulimits.is_empty()).then(|| {
            c.ulimits
                .iter()
                .map(|(name, (soft, hard))| api::ResourcesUlimits {
                    name: Some(name.clone()),
                    soft: Some(*soft),
                    hard: Some(*hard),
                })
                .collect()
        }),
        ..Default::default()
    };
    let r = &spec.task.resources;
    let resources = api::TaskSpecResources {
        limits: Some(api::Limit {
            nano_cpus: r.limit_nano_cpus,
            memory_bytes: r.limit_memory_bytes,
            pids: r.limit_pids,
        }),
        reservations: Some(api::ResourceObject {
            nano_cpus: r.reserve_nano_cpus,
            memory_bytes: r.reserve_memory_bytes,
            generic_resources: (!r.reserve_generic.is_empty()).then(|| {
                r.reserve_generic
                    .iter()
                    .map(|(kind, value)| api::GenericResourcesInner {
                        discrete_resource_spec: Some(api::GenericResourcesInnerDiscreteResourceSpec {
                            kind: Some(kind.clone()),
                            value: Some(*value),
                        }),
                        named_resource_spec: None,
                    })
                    .collect()
            }),
        }),
        ..Default::default()
    };
    let rp = &spec.task.restart_policy;
    let task = api::TaskSpec {
        container_spec: Some(container),
        resources: Some(resources),
        restart_policy: Some(api::TaskSpecRestartPolicy {
            condition: enums.parse("TaskTemplate.RestartPolicy.Condition", &rp.condition),
            delay: Some(rp.delay_ns),
            max_attempts: Some(i64::try_from(rp.max_attempts).unwrap_or(i64::MAX)),
            window: Some(rp.window_ns),
        }),
        placement: Some(api::TaskSpecPlacement {
            constraints: nonempty(&spec.task.placement.constraints),
            preferences: nonempty(
                &spec
                    .task
                    .placement
                    .preferences
                    .iter()
                    .map(|p| api::TaskSpecPlacementPreferences {
                        spread: Some(api::TaskSpecPlacementSpread {
                            spread_descriptor: Some(p.clone()),
                        }),
                    })
                    .collect::<Vec<_>>(),
            ),
            max_replicas: Some(i64::try_from(spec.task.placement.max_replicas).unwrap_or(i64::MAX)),
            platforms: None,
        }),
        networks: nonempty(
            &spec
                .task
                .networks
                .iter()
                .map(|n| api::NetworkAttachmentConfig {
                    target: Some(ids.network(&n.target)),
                    aliases: nonempty(&n.aliases),
                    driver_opts: hash(&n.driver_opts),
                })
                .collect::<Vec<_>>(),
        ),
        log_driver: spec.task.log_driver.as_ref().map(|l| api::TaskSpecLogDriver {
            name: Some(l.name.clone()).filter(|n| !n.is_empty()),
            options: hash(&l.options),
        }),
        ..Default::default()
    };
    let mode = match &spec.mode {
        Mode::Replicated { replicas } => api::ServiceSpecMode {
            replicated: Some(api::ServiceSpecModeReplicated {
                replicas: Some(i64::try_from(*replicas).unwrap_or(i64::MAX)),
            }),
            ..Default::default()
        },
        Mode::Global => api::ServiceSpecMode {
            global: Some(HashMap::new()),
            ..Default::default()
        },
        Mode::ReplicatedJob {
            max_concurrent,
            total_completions,
        } => api::ServiceSpecMode {
            replicated_job: Some(api::ServiceSpecModeReplicatedJob {
                max_concurrent: Some(i64::try_from(*max_concurrent).unwrap_or(i64::MAX)),
                total_completions: Some(i64::try_from(*total_completions).unwrap_or(i64::MAX)),
            }),
            ..Default::default()
        },
        Mode::GlobalJob => api::ServiceSpecMode {
            global_job: Some(HashMap::new()),
            ..Default::default()
        },
    };
    let u = &spec.update_config;
    let rb = &spec.rollback_config;
    api::ServiceSpec {
        name: Some(spec.name.clone()),
        labels: hash(&spec.labels),
        task_template: Some(task),
        mode: Some(mode),
        update_config: Some(api::ServiceSpecUpdateConfig {
            parallelism: Some(i64::try_from(u.parallelism).unwrap_or(i64::MAX)),
            delay: Some(u.delay_ns),
            failure_action: enums.parse("UpdateConfig.FailureAction", &u.failure_action),
            monitor: Some(u.monitor_ns),
            max_failure_ratio: Some(u.max_failure_ratio),
            order: enums.parse("UpdateConfig.Order", &u.order),
        }),
        rollback_config: Some(api::ServiceSpecRollbackConfig {
            parallelism: Some(i64::try_from(rb.parallelism).unwrap_or(i64::MAX)),
            delay: Some(rb.delay_ns),
            failure_action: enums.parse("RollbackConfig.FailureAction", &rb.failure_action),
            monitor: Some(rb.monitor_ns),
            max_failure_ratio: Some(rb.max_failure_ratio),
            order: enums.parse("RollbackConfig.Order", &rb.order),
        }),
        networks: None,
        endpoint_spec: Some(api::EndpointSpec {
            mode: enums.parse("EndpointSpec.Mode", &spec.endpoint.mode),
            ports: nonempty(
                &spec
                    .endpoint
                    .ports
                    .iter()
                    .map(|p| api::EndpointPortConfig {
                        name: None,
                        protocol: enums.parse("EndpointSpec.Ports.Protocol", &p.protocol),
                        target_port: Some(i64::from(p.target)),
                        published_port: (p.published != 0).then_some(i64::from(p.published)),
                        publish_mode: enums.parse("EndpointSpec.Ports.PublishMode", &p.publish_mode),
                    })
                    .collect::<Vec<_>>(),
            ),
        }),
    }
}

fn mount_to_api(m: &MountSpec, enums: &Enums<'_>) -> api::Mount {
    api::Mount {
        target: Some(m.target.clone()),
        source: m.source.clone(),
        typ: enums.parse("TaskTemplate.ContainerSpec.Mounts.Type", m.kind.as_str()),
        read_only: Some(m.read_only),
        consistency: m.consistency.clone(),
        bind_options: m.bind_propagation.as_ref().map(|p| api::MountBindOptions {
            propagation: enums.parse("TaskTemplate.ContainerSpec.Mounts.BindOptions.Propagation", p),
            ..Default::default()
        }),
        volume_options: (m.kind == MountKind::Volume
            && (m.volume_nocopy
                || !m.volume_labels.is_empty()
                || m.volume_driver.is_some()
                || !m.volume_driver_options.is_empty()))
        .then(|| api::MountVolumeOptions {
            no_copy: m.volume_nocopy.then_some(true),
            labels: hash(&m.volume_labels),
            // As docker's handleVolumeToMount: `driver_opts` without a
            // `driver` are the default (local) driver's options, sent with
            // no name. Dropping them would mount a plain local volume.
            driver_config: (m.volume_driver.is_some() || !m.volume_driver_options.is_empty()).then(|| {
                api::MountVolumeOptionsDriverConfig {
                    name: m.volume_driver.clone(),
                    options: hash(&m.volume_driver_options),
                }
            }),
            subpath: None,
        }),
        tmpfs_options: (m.tmpfs_size.is_some() || m.tmpfs_mode.is_some()).then(|| api::MountTmpfsOptions {
            size_bytes: m.tmpfs_size,
            mode: m.tmpfs_mode.map(i64::from),
            options: None,
        }),
        image_options: None,
    }
}

fn text<T: ToString>(v: Option<&T>) -> Option<String> {
    v.map(ToString::to_string).filter(|s| !s.is_empty())
}

/// Where a config or secret lands in the container (the API has two
/// identical types for it, one per kind).
struct FileTarget {
    name: Option<String>,
    uid: Option<String>,
    gid: Option<String>,
    mode: Option<u32>,
}

macro_rules! file_target_from {
    ($api:ty) => {
        impl From<$api> for FileTarget {
            fn from(f: $api) -> Self {
                FileTarget {
                    name: f.name,
                    uid: f.uid,
                    gid: f.gid,
                    mode: f.mode,
                }
            }
        }
    };
}
file_target_from!(api::TaskSpecContainerSpecFile);
file_target_from!(api::TaskSpecContainerSpecFile1);

fn file_ref(object: Option<&String>, f: FileTarget) -> FileRefSpec {
    FileRefSpec {
        name: object.cloned().unwrap_or_default(),
        target: f.name.unwrap_or_default(),
        uid: f.uid.unwrap_or_else(|| "0".to_owned()),
        gid: f.gid.unwrap_or_else(|| "0".to_owned()),
        mode: f.mode.unwrap_or(defaults::FILE_MODE),
    }
}

/// A value in an engine's answer that does not read as what the field
/// holds. Observation fails with it: a guessed default would make the diff
/// plan a change (or hide one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("service `{service}`: {field} is {value}, expected {expected}")]
pub struct Unreadable {
    pub service: String,
    pub field: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// Reads the numbers of one service's spec, naming the service in errors.
struct Numbers<'a> {
    service: &'a str,
}

impl Numbers<'_> {
    fn unreadable(&self, field: &'static str, value: impl ToString, expected: &'static str) -> Unreadable {
        Unreadable {
            service: self.service.to_owned(),
            field,
            value: value.to_string(),
            expected,
        }
    }

    /// A count (replicas, attempts, parallelism): absent is `default`.
    fn count(&self, field: &'static str, v: Option<i64>, default: u64) -> Result<u64, Unreadable> {
        match v {
            None => Ok(default),
            Some(v) => u64::try_from(v).map_err(|_| self.unreadable(field, v, "a count of 0 or more")),
        }
    }

    /// A port number: absent is 0 (none: the engine picks a published one).
    fn port(&self, field: &'static str, v: Option<i64>) -> Result<u16, Unreadable> {
        match v {
            None => Ok(0),
            Some(v) => u16::try_from(v).map_err(|_| self.unreadable(field, v, "a port number, 0 to 65535")),
        }
    }
}

/// An Engine API service spec in neutral form; network ids become names.
/// A number the neutral spec cannot hold (a port over 65535, a negative
/// count) is an error naming the service and the field.
pub fn service_from_api(
    spec: &api::ServiceSpec,
    network_names: &HashMap<String, String>,
) -> Result<ServiceSpec, Unreadable> {
    let name = spec.name.clone().unwrap_or_default();
    let read = Numbers { service: &name };
    let task = spec.task_template.clone().unwrap_or_default();
    let c = task.container_spec.clone().unwrap_or_default();
    let mut env = c.env.clone().unwrap_or_default();
    env.sort();
    let container = ContainerSpec {
        image: c.image.clone().unwrap_or_default(),
        labels: sorted(c.labels.as_ref()),
        command: c.command.clone(),
        args: c.args.clone(),
        hostname: c.hostname.clone().filter(|h| !h.is_empty()),
        env,
        dir: c.dir.clone().filter(|d| !d.is_empty()),
        user: c.user.clone().filter(|u| !u.is_empty()),
        groups: c.groups.clone().unwrap_or_default(),
        tty: c.tty.unwrap_or(false),
        open_stdin: c.open_stdin.unwrap_or(false),
        read_only: c.read_only.unwrap_or(false),
        mounts: c.mounts.iter().flatten().map(mount_from_api).collect(),
        stop_signal: c.stop_signal.clone().filter(|s| !s.is_empty()),
        stop_grace_period_ns: c.stop_grace_period,
        healthcheck: c.health_check.as_ref().map(|h| HealthcheckSpec {
            test: h.test.clone(),
            interval_ns: h.interval.filter(|v| *v != 0),
            timeout_ns: h.timeout.filter(|v| *v != 0),
            start_period_ns: h.start_period.filter(|v| *v != 0),
            retries: h.retries.filter(|v| *v != 0),
        }),
        hosts: c.hosts.clone().unwrap_or_default(),
        dns: c
            .dns_config
            .as_ref()
            .map(|d| DnsSpec {
                nameservers: d.nameservers.clone().unwrap_or_default(),
                search: d.search.clone().unwrap_or_default(),
                options: d.options.clone().unwrap_or_default(),
            })
            .filter(|d| !(d.nameservers.is_empty() && d.search.is_empty() && d.options.is_empty())),
        secrets: c
            .secrets
            .iter()
            .flatten()
            .map(|s| file_ref(s.secret_name.as_ref(), s.file.clone().unwrap_or_default().into()))
            .collect(),
        configs: c
            .configs
            .iter()
            .flatten()
            .filter(|s| s.file.is_some())
            .map(|s| file_ref(s.config_name.as_ref(), s.file.clone().unwrap_or_default().into()))
            .collect(),
        isolation: text(c.isolation.as_ref()).unwrap_or_else(|| defaults::ISOLATION.to_owned()),
        init: c.init,
        sysctls: sorted(c.sysctls.as_ref()),
        capability_add: c.capability_add.clone().unwrap_or_default(),
        capability_drop: c.capability_drop.clone().unwrap_or_default(),
        ulimits: c
            .ulimits
            .iter()
            .flatten()
            .map(|u| {
                (
                    u.name.clone().unwrap_or_default(),
                    (u.soft.unwrap_or(0), u.hard.unwrap_or(0)),
                )
            })
            .collect(),
    };
    let res = task.resources.clone().unwrap_or_default();
    let limits = res.limits.unwrap_or_default();
    let reservations = res.reservations.unwrap_or_default();
    let rp = task.restart_policy.clone().unwrap_or_default();
    let placement = task.placement.clone().unwrap_or_default();
    let mut networks: Vec<NetworkAttachment> = task
        .networks
        .clone()
        .or_else(|| spec.networks.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|n| {
            let target = n.target.unwrap_or_default();
            NetworkAttachment {
                target: network_names.get(&target).cloned().unwrap_or(target),
                aliases: n.aliases.unwrap_or_default(),
                driver_opts: sorted(n.driver_opts.as_ref()),
            }
        })
        .collect();
    networks.sort_by(|a, b| a.target.cmp(&b.target));
    let mode = spec.mode.clone().unwrap_or_default();
    let mode = if mode.global.is_some() {
        Mode::Global
    } else if mode.global_job.is_some() {
        Mode::GlobalJob
    } else if let Some(job) = mode.replicated_job {
        Mode::ReplicatedJob {
            max_concurrent: read.count("Mode.ReplicatedJob.MaxConcurrent", job.max_concurrent, 1)?,
            total_completions: read.count("Mode.ReplicatedJob.TotalCompletions", job.total_completions, 1)?,
        }
    } else {
        Mode::Replicated {
            replicas: read.count("Mode.Replicated.Replicas", mode.replicated.and_then(|r| r.replicas), 1)?,
        }
    };
    let d = UpdateSpec::default();
    let update = spec.update_config.clone().map(|u| {
        Ok(update_from_api(
            read.count("UpdateConfig.Parallelism", u.parallelism, d.parallelism)?,
            u.delay,
            text(u.failure_action.as_ref()),
            u.monitor,
            u.max_failure_ratio,
            text(u.order.as_ref()),
        ))
    });
    let rollback = spec.rollback_config.clone().map(|u| {
        Ok(update_from_api(
            read.count("RollbackConfig.Parallelism", u.parallelism, d.parallelism)?,
            u.delay,
            text(u.failure_action.as_ref()),
            u.monitor,
            u.max_failure_ratio,
            text(u.order.as_ref()),
        ))
    });
    let update: Option<UpdateSpec> = update.transpose()?;
    let rollback: Option<UpdateSpec> = rollback.transpose()?;
    let endpoint = spec.endpoint_spec.clone().unwrap_or_default();
    let mut ports: Vec<PortSpec> = endpoint
        .ports
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            Ok(PortSpec {
                published: read.port("EndpointSpec.Ports.PublishedPort", p.published_port)?,
                target: read.port("EndpointSpec.Ports.TargetPort", p.target_port)?,
                protocol: text(p.protocol.as_ref()).unwrap_or_else(|| "tcp".to_owned()),
                publish_mode: text(p.publish_mode.as_ref()).unwrap_or_else(|| "ingress".to_owned()),
            })
        })
        .collect::<Result<_, Unreadable>>()?;
    ports.sort();
    let max_attempts = read.count("TaskTemplate.RestartPolicy.MaxAttempts", rp.max_attempts, 0)?;
    let max_replicas = read.count("TaskTemplate.Placement.MaxReplicas", placement.max_replicas, 0)?;
    Ok(ServiceSpec {
        name: name.clone(),
        labels: sorted(spec.labels.as_ref()),
        task: TaskSpec {
            container,
            resources: ResourcesSpec {
                limit_nano_cpus: limits.nano_cpus.filter(|v| *v != 0),
                limit_memory_bytes: limits.memory_bytes.filter(|v| *v != 0),
                limit_pids: limits.pids.filter(|v| *v != 0),
                reserve_nano_cpus: reservations.nano_cpus.filter(|v| *v != 0),
                reserve_memory_bytes: reservations.memory_bytes.filter(|v| *v != 0),
                reserve_generic: reservations
                    .generic_resources
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|g| {
                        let d = g.discrete_resource_spec?;
                        Some((d.kind?, d.value?))
                    })
                    .collect(),
            },
            restart_policy: RestartPolicySpec {
                condition: text(rp.condition.as_ref()).unwrap_or_else(|| defaults::RESTART_CONDITION.to_owned()),
                delay_ns: rp.delay.unwrap_or(defaults::RESTART_DELAY_NS),
                max_attempts,
                window_ns: rp.window.unwrap_or(0),
            },
            placement: PlacementSpec {
                constraints: placement.constraints.unwrap_or_default(),
                preferences: placement
                    .preferences
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|p| p.spread?.spread_descriptor)
                    .collect(),
                max_replicas,
            },
            networks,
            log_driver: task.log_driver.clone().and_then(|l| {
                let spec = LogDriverSpec {
                    name: l.name.unwrap_or_default(),
                    options: sorted(l.options.as_ref()),
                };
                (!spec.name.is_empty() || !spec.options.is_empty()).then_some(spec)
            }),
        },
        mode,
        update_config: update.unwrap_or_default(),
        rollback_config: rollback.unwrap_or_default(),
        endpoint: EndpointSpec {
            mode: text(endpoint.mode.as_ref()).unwrap_or_else(|| defaults::ENDPOINT_MODE.to_owned()),
            ports,
        },
    })
}

fn update_from_api(
    parallelism: u64,
    delay: Option<i64>,
    failure_action: Option<String>,
    monitor: Option<i64>,
    max_failure_ratio: Option<f64>,
    order: Option<String>,
) -> UpdateSpec {
    let d = UpdateSpec::default();
    UpdateSpec {
        parallelism,
        delay_ns: delay.unwrap_or(d.delay_ns),
        failure_action: failure_action.unwrap_or(d.failure_action),
        monitor_ns: monitor.filter(|m| *m != 0).unwrap_or(d.monitor_ns),
        max_failure_ratio: max_failure_ratio.unwrap_or(d.max_failure_ratio),
        order: order.unwrap_or(d.order),
    }
}

fn mount_from_api(m: &api::Mount) -> MountSpec {
    let vol = m.volume_options.clone().unwrap_or_default();
    let driver = vol.driver_config.clone().unwrap_or_default();
    MountSpec {
        kind: text(m.typ.as_ref()).map_or(MountKind::Volume, |k| MountKind::from_word(&k)),
        source: m.source.clone().filter(|s| !s.is_empty()),
        target: m.target.clone().unwrap_or_default(),
        read_only: m.read_only.unwrap_or(false),
        consistency: m.consistency.clone().filter(|c| !c.is_empty() && c != "default"),
        bind_propagation: m.bind_options.as_ref().and_then(|b| text(b.propagation.as_ref())),
        volume_nocopy: vol.no_copy.unwrap_or(false),
        volume_labels: sorted(vol.labels.as_ref()),
        volume_driver: driver.name.filter(|n| !n.is_empty()),
        volume_driver_options: sorted(driver.options.as_ref()),
        tmpfs_size: m.tmpfs_options.as_ref().and_then(|t| t.size_bytes).filter(|v| *v != 0),
        tmpfs_mode: m
            .tmpfs_options
            .as_ref()
            .and_then(|t| t.mode)
            .filter(|v| *v != 0)
            .and_then(|v| u32::try_from(v).ok()),
    }
}

pub fn network_to_api(spec: &NetworkSpec) -> api::NetworkCreateRequest {
    api::NetworkCreateRequest {
        name: spec.name.clone(),
        driver: Some(spec.driver.clone()),
        scope: Some("swarm".to_owned()),
        internal: Some(spec.internal),
        attachable: Some(spec.attachable),
        options: hash(&spec.driver_opts),
        labels: hash(&spec.labels),
        ipam: (spec.ipam_driver.is_some() || !spec.ipam_subnets.is_empty()).then(|| api::Ipam {
            driver: spec.ipam_driver.clone(),
            config: Some(
                spec.ipam_subnets
                    .iter()
                    .map(|s| api::IpamConfig {
                        subnet: Some(s.clone()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            options: None,
        }),
        ..Default::default()
    }
}

pub fn network_from_api(n: &api::Network) -> NetworkSpec {
    let ipam = n.ipam.clone().unwrap_or_default();
    NetworkSpec {
        name: n.name.clone().unwrap_or_default(),
        driver: n.driver.clone().unwrap_or_default(),
        driver_opts: sorted(n.options.as_ref())
            .into_iter()
            // The engine records the VXLAN id it picked; it is not ours to compare.
            .filter(|(k, _)| k != "com.docker.network.driver.overlay.vxlanid_list")
            .collect(),
        labels: sorted(n.labels.as_ref()),
        attachable: n.attachable.unwrap_or(false),
        internal: n.internal.unwrap_or(false),
        ipam_driver: ipam.driver.filter(|d| d != "default"),
        ipam_subnets: ipam
            .config
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.subnet)
            .collect(),
    }
}

/// Config and secret data as the Engine API carries it.
fn file_data(spec: &FileObjectSpec) -> Option<String> {
    Some(crate::observe::encode(&spec.content.0))
}

fn file_labels(spec: &FileObjectSpec) -> Option<HashMap<String, String>> {
    Some(spec.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn templating(spec: &FileObjectSpec) -> Option<api::Driver> {
    spec.template_driver.as_ref().map(|name| api::Driver {
        name: name.clone(),
        options: None,
    })
}

/// Content from the API's base64 (empty when absent: the engine never
/// returns a secret's data, and config data that does not decode is
/// reported as empty rather than guessed).
fn file_content(data: Option<&String>) -> swarmkeeper_model::compose::Content {
    use base64::Engine as _;
    let bytes = data
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .unwrap_or_default();
    swarmkeeper_model::compose::Content(bytes)
}

pub fn config_to_api(spec: &FileObjectSpec) -> api::ConfigSpec {
    api::ConfigSpec {
        name: Some(spec.name.clone()),
        labels: file_labels(spec),
        data: file_data(spec),
        templating: templating(spec),
    }
}

pub fn secret_to_api(spec: &FileObjectSpec) -> api::SecretSpec {
    api::SecretSpec {
        name: Some(spec.name.clone()),
        labels: file_labels(spec),
        data: file_data(spec),
        driver: None,
        templating: templating(spec),
    }
}

pub fn config_from_api(spec: &api::ConfigSpec) -> FileObjectSpec {
    FileObjectSpec {
        name: spec.name.clone().unwrap_or_default(),
        labels: sorted(spec.labels.as_ref()),
        content: file_content(spec.data.as_ref()),
        template_driver: spec
            .templating
            .as_ref()
            .map(|d| d.name.clone())
            .filter(|n| !n.is_empty()),
    }
}

pub fn secret_from_api(spec: &api::SecretSpec) -> FileObjectSpec {
    FileObjectSpec {
        name: spec.name.clone().unwrap_or_default(),
        labels: sorted(spec.labels.as_ref()),
        content: file_content(spec.data.as_ref()),
        template_driver: spec
            .templating
            .as_ref()
            .map(|d| d.name.clone())
            .filter(|n| !n.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    //! Neutral → Engine API → neutral is the identity, for generated specs
    //! in normalised form (what the plan crate produces: sorted where swarm
    //! does not care about order, engine defaults filled in, no empty
    //! string or zero standing for "unset"). Each spec goes both ways in
    //! memory and over the wire: serialised as bollard sends it, read back
    //! as the engine answers (its `Healthcheck` key, see [`crate::raw`]).

    use proptest::collection::{btree_map, vec};
    use proptest::option;
    use proptest::prelude::*;
    use swarmkeeper_model::compose::Content;

    use super::*;

    fn word() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9._-]{0,8}"
    }

    /// Any text, empty and non-ASCII included.
    fn text() -> impl Strategy<Value = String> {
        "\\PC{0,10}"
    }

    fn some_text() -> impl Strategy<Value = String> {
        "\\PC{1,10}"
    }

    fn map() -> impl Strategy<Value = BTreeMap<String, String>> {
        btree_map(word(), text(), 0..3)
    }

    fn words(max: usize) -> impl Strategy<Value = Vec<String>> {
        vec(word(), 0..max)
    }

    fn one_of(values: &'static [&'static str]) -> impl Strategy<Value = String> {
        proptest::sample::select(values).prop_map(str::to_owned)
    }

    /// A positive count the API's signed integers hold.
    fn count() -> impl Strategy<Value = u64> {
        prop_oneof![0..5u64, 0..=i64::MAX as u64]
    }

    /// A duration or size the engine stores: zero is "unset" and reads
    /// back as `None`.
    fn nonzero() -> impl Strategy<Value = i64> {
        prop_oneof![1..1_000i64, 1..=i64::MAX]
    }

    fn mount() -> impl Strategy<Value = MountSpec> {
        let kind = one_of(MountKind::WORDS).prop_map(|k| MountKind::from_word(&k));
        (
            kind,
            option::of(some_text()),
            word(),
            any::<bool>(),
            option::of(one_of(&["consistent", "cached", "delegated"])),
            option::of(one_of(&["private", "rprivate", "shared", "rshared", "slave", "rslave"])),
            (any::<bool>(), map(), option::of(word()), map()),
            (option::of(nonzero()), option::of(1..=u32::MAX)),
        )
            .prop_map(
                |(kind, source, target, read_only, consistency, propagation, volume, tmpfs)| {
                    // Volume options belong to volume mounts; driver
                    // options go with a named driver or the default one
                    // (`driver_opts` without `driver`).
                    let (nocopy, labels, driver, driver_options) = match (&kind, volume) {
                        (MountKind::Volume, volume) => volume,
                        _ => (false, BTreeMap::new(), None, BTreeMap::new()),
                    };
                    MountSpec {
                        kind,
                        source,
                        target: format!("/{target}"),
                        read_only,
                        consistency,
                        bind_propagation: propagation,
                        volume_nocopy: nocopy,
                        volume_labels: labels,
                        volume_driver: driver,
                        volume_driver_options: driver_options,
                        tmpfs_size: tmpfs.0,
                        tmpfs_mode: tmpfs.1,
                    }
                },
            )
    }

    fn file_ref() -> impl Strategy<Value = FileRefSpec> {
        (word(), word(), word(), word(), 0..=0o7777u32).prop_map(|(name, target, uid, gid, mode)| FileRefSpec {
            name,
            target,
            uid,
            gid,
            mode,
        })
    }

    fn healthcheck() -> impl Strategy<Value = HealthcheckSpec> {
        (
            option::of(vec(text(), 0..3)),
            option::of(nonzero()),
            option::of(nonzero()),
            option::of(nonzero()),
            option::of(nonzero()),
        )
            .prop_map(
                |(test, interval_ns, timeout_ns, start_period_ns, retries)| HealthcheckSpec {
                    test,
                    interval_ns,
                    timeout_ns,
                    start_period_ns,
                    retries,
                },
            )
    }

    fn dns() -> impl Strategy<Value = Option<DnsSpec>> {
        option::of((words(3), words(3), words(3)))
            .prop_map(|d| {
                d.map(|(nameservers, search, options)| DnsSpec {
                    nameservers,
                    search,
                    options,
                })
            })
            // An empty DNS config is no DNS config.
            .prop_map(|d| d.filter(|d| !(d.nameservers.is_empty() && d.search.is_empty() && d.options.is_empty())))
    }

    prop_compose! {
        fn container()(
            (image, labels, command, args, hostname, mut env) in (
                some_text(),
                map(),
                option::of(vec(text(), 1..3)),
                option::of(vec(text(), 1..3)),
                option::of(word()),
                vec("[A-Z_]{1,6}(=\\PC{0,6})?", 0..4),
            ),
            (dir, user, groups, tty, open_stdin, read_only) in (
                option::of(word()),
                option::of(word()),
                words(3),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            ),
            (mounts, stop_signal, stop_grace_period_ns, healthcheck, hosts, dns) in (
                vec(mount(), 0..3),
                option::of(word()),
                option::of(any::<i64>()),
                option::of(healthcheck()),
                vec("[0-9.]{1,8} [a-z]{1,6}", 0..3),
                dns(),
            ),
            (secrets, configs, isolation, init, sysctls, capability_add, capability_drop, ulimits) in (
                vec(file_ref(), 0..3),
                vec(file_ref(), 0..3),
                one_of(&["default", "process", "hyperv"]),
                option::of(any::<bool>()),
                map(),
                words(3),
                words(3),
                btree_map(word(), (any::<i64>(), any::<i64>()), 0..3),
            ),
        ) -> ContainerSpec {
            env.sort();
            ContainerSpec {
                image,
                labels,
                command,
                args,
                hostname,
                env,
                dir,
                user,
                groups,
                tty,
                open_stdin,
                read_only,
                mounts,
                stop_signal,
                stop_grace_period_ns,
                healthcheck,
                hosts,
                dns,
                secrets,
                configs,
                isolation,
                init,
                sysctls,
                capability_add,
                capability_drop,
                ulimits,
            }
        }
    }

    fn resources() -> impl Strategy<Value = ResourcesSpec> {
        (
            option::of(nonzero()),
            option::of(nonzero()),
            option::of(nonzero()),
            option::of(nonzero()),
            option::of(nonzero()),
            vec((word(), any::<i64>()), 0..3),
        )
            .prop_map(
                |(
                    limit_nano_cpus,
                    limit_memory_bytes,
                    limit_pids,
                    reserve_nano_cpus,
                    reserve_memory_bytes,
                    reserve_generic,
                )| {
                    ResourcesSpec {
                        limit_nano_cpus,
                        limit_memory_bytes,
                        limit_pids,
                        reserve_nano_cpus,
                        reserve_memory_bytes,
                        reserve_generic,
                    }
                },
            )
    }

    fn update(failure_actions: &'static [&'static str]) -> impl Strategy<Value = UpdateSpec> {
        (
            count(),
            any::<i64>(),
            one_of(failure_actions),
            nonzero(),
            // Finite: NaN equals nothing, itself included.
            prop_oneof![Just(0.0), 0.0..1.0f64, proptest::num::f64::NORMAL],
            one_of(&["stop-first", "start-first"]),
        )
            .prop_map(
                |(parallelism, delay_ns, failure_action, monitor_ns, max_failure_ratio, order)| UpdateSpec {
                    parallelism,
                    delay_ns,
                    failure_action,
                    monitor_ns,
                    max_failure_ratio,
                    order,
                },
            )
    }

    fn mode() -> impl Strategy<Value = Mode> {
        prop_oneof![
            count().prop_map(|replicas| Mode::Replicated { replicas }),
            Just(Mode::Global),
            (count(), count()).prop_map(|(max_concurrent, total_completions)| Mode::ReplicatedJob {
                max_concurrent,
                total_completions
            }),
            Just(Mode::GlobalJob),
        ]
    }

    fn port() -> impl Strategy<Value = PortSpec> {
        (
            any::<u16>(),
            any::<u16>(),
            one_of(&["tcp", "udp", "sctp"]),
            one_of(&["ingress", "host"]),
        )
            .prop_map(|(published, target, protocol, publish_mode)| PortSpec {
                published,
                target,
                protocol,
                publish_mode,
            })
    }

    prop_compose! {
        fn service()(
            name in word(),
            labels in map(),
            container in container(),
            resources in resources(),
            restart in (one_of(&["none", "on-failure", "any"]), any::<i64>(), count(), any::<i64>()),
            placement in (words(3), words(3), count()),
            networks in btree_map(word(), (words(3), map()), 0..3),
            // A driver, or options of the default one (no name).
            log_driver in option::of((prop_oneof![word(), Just(String::new())], map())
                .prop_filter("a driver or options", |(name, options)| !name.is_empty() || !options.is_empty())),
            mode in mode(),
            update_config in update(&["continue", "pause", "rollback"]),
            // A rollback cannot itself roll back.
            rollback_config in update(&["continue", "pause"]),
            endpoint in (one_of(&["vip", "dnsrr"]), vec(port(), 0..4)),
        ) -> ServiceSpec {
            let (condition, delay_ns, max_attempts, window_ns) = restart;
            let (mode_name, mut ports) = endpoint;
            ports.sort();
            ServiceSpec {
                name,
                labels,
                task: TaskSpec {
                    container,
                    resources,
                    restart_policy: RestartPolicySpec { condition, delay_ns, max_attempts, window_ns },
                    placement: PlacementSpec {
                        constraints: placement.0,
                        preferences: placement.1,
                        max_replicas: placement.2,
                    },
                    // Sorted by network name (a BTreeMap's order).
                    networks: networks
                        .into_iter()
                        .map(|(target, (aliases, driver_opts))| NetworkAttachment { target, aliases, driver_opts })
                        .collect(),
                    log_driver: log_driver.map(|(name, options)| LogDriverSpec { name, options }),
                },
                mode,
                update_config,
                rollback_config,
                endpoint: EndpointSpec { mode: mode_name, ports },
            }
        }
    }

    prop_compose! {
        fn network()(
            name in word(),
            driver in one_of(&["overlay", "bridge", "macvlan"]),
            driver_opts in map(),
            labels in map(),
            attachable in any::<bool>(),
            internal in any::<bool>(),
            ipam_driver in option::of(word().prop_filter("the engine's default reads back as unset", |d| d != "default")),
            ipam_subnets in vec("10\\.[0-9]{1,3}\\.[0-9]{1,3}\\.0/24", 0..3),
        ) -> NetworkSpec {
            NetworkSpec { name, driver, driver_opts, labels, attachable, internal, ipam_driver, ipam_subnets }
        }
    }

    prop_compose! {
        fn file()(
            name in word(),
            labels in map(),
            content in vec(any::<u8>(), 0..64),
            template_driver in option::of(word()),
        ) -> FileObjectSpec {
            FileObjectSpec { name, labels, content: Content(content), template_driver }
        }
    }

    /// Names → ids for every network a service may attach to, both ways.
    fn network_ids(spec: &ServiceSpec) -> (Ids, HashMap<String, String>) {
        let mut ids = Ids::default();
        let mut names = HashMap::new();
        for n in &spec.task.networks {
            let id = format!("id{}", n.target.len() * 7919 + names.len());
            ids.insert_network(&n.target, &id);
            names.insert(id, n.target.clone());
        }
        for s in &spec.task.container.secrets {
            ids.insert(FileKind::Secret, &s.name, &format!("secret-id-of-{}", s.name));
        }
        for c in &spec.task.container.configs {
            ids.insert(FileKind::Config, &c.name, &format!("config-id-of-{}", c.name));
        }
        (ids, names)
    }

    /// A value as bollard sends it and reads the engine's answer back.
    fn over_the_wire<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
        let mut json = serde_json::to_value(value).expect("bollard's types serialise");
        // The engine answers with Go's key, which bollard does not read.
        rename_key(&mut json, "HealthCheck", "Healthcheck");
        crate::raw::fix_healthcheck_keys(&mut json);
        serde_json::from_value(json).expect("what bollard wrote reads back")
    }

    fn rename_key(value: &mut serde_json::Value, from: &str, to: &str) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(v) = map.remove(from) {
                    map.insert(to.to_owned(), v);
                }
                map.values_mut().for_each(|v| rename_key(v, from, to));
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| rename_key(v, from, to)),
            _ => {}
        }
    }

    /// A created network as the engine lists it: the create request's
    /// fields under the same keys.
    fn as_listed(request: &api::NetworkCreateRequest) -> api::Network {
        let mut json = serde_json::to_value(request).expect("bollard's types serialise");
        if let Some(map) = json.as_object_mut() {
            map.insert("Id".to_owned(), serde_json::Value::String("n1".to_owned()));
        }
        serde_json::from_value(json).expect("a created network reads as a network")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn a_service_spec_reads_back_as_sent(spec in service()) {
            let (ids, names) = network_ids(&spec);
            let sent = service_to_api(&spec, &ids).expect("sendable");
            prop_assert_eq!(&service_from_api(&sent, &names).expect("readable"), &spec);
            prop_assert_eq!(&service_from_api(&over_the_wire(&sent), &names).expect("readable"), &spec);
        }

        /// Swarm keeps environment, ports and network attachments in the
        /// order a writer sent them; another writer's order (`docker stack
        /// deploy`, a human) reads back as the same neutral spec.
        #[test]
        fn the_order_of_unordered_lists_does_not_matter(spec in service()) {
            let (ids, names) = network_ids(&spec);
            let mut sent = service_to_api(&spec, &ids).expect("sendable");
            if let Some(task) = sent.task_template.as_mut() {
                task.networks.iter_mut().for_each(|n| n.reverse());
                if let Some(c) = task.container_spec.as_mut() {
                    c.env.iter_mut().for_each(|e| e.reverse());
                }
            }
            if let Some(endpoint) = sent.endpoint_spec.as_mut() {
                endpoint.ports.iter_mut().for_each(|p| p.reverse());
            }
            prop_assert_eq!(&service_from_api(&sent, &names).expect("readable"), &spec);
        }

        #[test]
        fn a_network_spec_reads_back_as_sent(spec in network()) {
            let sent = network_to_api(&spec);
            prop_assert_eq!(&network_from_api(&as_listed(&sent)), &spec);
            prop_assert_eq!(&network_from_api(&as_listed(&over_the_wire(&sent))), &spec);
        }

        #[test]
        fn a_config_reads_back_as_sent(spec in file()) {
            let sent = config_to_api(&spec);
            prop_assert_eq!(&config_from_api(&sent), &spec);
            prop_assert_eq!(&config_from_api(&over_the_wire(&sent)), &spec);
        }

        #[test]
        fn a_secret_reads_back_as_sent(spec in file()) {
            let sent = secret_to_api(&spec);
            prop_assert_eq!(&secret_from_api(&sent), &spec);
            prop_assert_eq!(&secret_from_api(&over_the_wire(&sent)), &spec);
        }
    }

    #[test]
    fn network_ids_become_names_and_unknown_ids_stay() {
        let mut spec = ServiceSpec {
            name: "s".to_owned(),
            ..service_from_api(&api::ServiceSpec::default(), &HashMap::new()).expect("readable")
        };
        spec.task.networks = vec![NetworkAttachment {
            target: "web_default".to_owned(),
            aliases: vec!["app".to_owned()],
            driver_opts: BTreeMap::new(),
        }];
        let mut ids = Ids::default();
        ids.insert_network("web_default", "abc123");
        let sent = service_to_api(&spec, &ids).expect("sendable");
        let target = sent
            .task_template
            .as_ref()
            .and_then(|t| t.networks.as_ref())
            .and_then(|n| n.first())
            .and_then(|n| n.target.clone());
        assert_eq!(target.as_deref(), Some("abc123"), "sent by id");
        // Read back without knowing the id: the id stands (and differs).
        assert_ne!(service_from_api(&sent, &HashMap::new()), Ok(spec.clone()));
        let names = HashMap::from([("abc123".to_owned(), "web_default".to_owned())]);
        assert_eq!(service_from_api(&sent, &names), Ok(spec));
    }

    /// A number the neutral spec cannot hold is an error naming the
    /// service and the field, never a default (0, or 1 replica) that the
    /// diff would then "fix".
    #[test]
    fn numbers_that_do_not_fit_are_errors_naming_service_and_field() {
        let base = || api::ServiceSpec {
            name: Some("web_app".to_owned()),
            ..Default::default()
        };
        let port = |published: i64, target: i64| api::ServiceSpec {
            endpoint_spec: Some(api::EndpointSpec {
                ports: Some(vec![api::EndpointPortConfig {
                    published_port: Some(published),
                    target_port: Some(target),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..base()
        };
        let replicas = |n: i64| api::ServiceSpec {
            mode: Some(api::ServiceSpecMode {
                replicated: Some(api::ServiceSpecModeReplicated { replicas: Some(n) }),
                ..Default::default()
            }),
            ..base()
        };
        let read = |spec: api::ServiceSpec| service_from_api(&spec, &HashMap::new());
        let e = read(port(70000, 80)).expect_err("port 70000");
        assert_eq!(
            e.to_string(),
            "service `web_app`: EndpointSpec.Ports.PublishedPort is 70000, expected a port number, 0 to 65535"
        );
        assert_eq!(
            read(port(8080, -1)).expect_err("port -1").field,
            "EndpointSpec.Ports.TargetPort"
        );
        let e = read(replicas(-2)).expect_err("-2 replicas");
        assert_eq!(
            (e.service.as_str(), e.field, e.value.as_str()),
            ("web_app", "Mode.Replicated.Replicas", "-2")
        );
        let ok = read(port(8080, 80)).expect("readable");
        assert_eq!(
            (ok.endpoint.ports[0].published, ok.endpoint.ports[0].target),
            (8080, 80)
        );
        assert_eq!(read(replicas(3)).map(|s| s.mode), Ok(Mode::Replicated { replicas: 3 }));
    }

    /// A value the Engine API has no word for is an error naming the
    /// service and the field, never left out (the engine's default would
    /// be planned as a change at every diff).
    #[test]
    fn values_the_engine_does_not_take_are_errors_naming_service_and_field() {
        let mut spec = ServiceSpec {
            name: "web_app".to_owned(),
            ..service_from_api(&api::ServiceSpec::default(), &HashMap::new()).expect("readable")
        };
        assert!(service_to_api(&spec, &Ids::default()).is_ok());
        spec.task.restart_policy.condition = "sometimes".to_owned();
        let e = service_to_api(&spec, &Ids::default()).expect_err("condition `sometimes`");
        assert_eq!(
            (e.service.as_str(), e.field, e.value.as_str()),
            ("web_app", "TaskTemplate.RestartPolicy.Condition", "sometimes")
        );
        assert!(
            e.to_string()
                .starts_with("service `web_app`: TaskTemplate.RestartPolicy.Condition is \"sometimes\""),
            "{e}"
        );
    }

    /// As docker sends them (measured with `docker stack deploy`): volume
    /// `driver_opts` and logging options without a driver are the default
    /// driver's, sent with no name, never dropped.
    #[test]
    fn options_of_the_default_driver_are_sent_without_a_name() {
        let mut spec = ServiceSpec {
            name: "s_app".to_owned(),
            ..service_from_api(&api::ServiceSpec::default(), &HashMap::new()).expect("readable")
        };
        let options = BTreeMap::from([("type".to_owned(), "nfs".to_owned())]);
        spec.task.container.mounts = vec![MountSpec {
            kind: MountKind::Volume,
            source: Some("s_data".to_owned()),
            target: "/data".to_owned(),
            read_only: false,
            consistency: None,
            bind_propagation: None,
            volume_nocopy: false,
            volume_labels: BTreeMap::new(),
            volume_driver: None,
            volume_driver_options: options.clone(),
            tmpfs_size: None,
            tmpfs_mode: None,
        }];
        spec.task.log_driver = Some(LogDriverSpec {
            name: String::new(),
            options: BTreeMap::from([("max-size".to_owned(), "1m".to_owned())]),
        });
        let sent = service_to_api(&spec, &Ids::default()).expect("sendable");
        let task = sent.task_template.clone().unwrap_or_default();
        let mounts = task
            .container_spec
            .clone()
            .unwrap_or_default()
            .mounts
            .unwrap_or_default();
        let driver = mounts[0]
            .volume_options
            .clone()
            .and_then(|v| v.driver_config)
            .expect("a driver config");
        assert_eq!(driver.name, None);
        assert_eq!(driver.options.map(|o| o.len()), Some(1));
        let log = task.log_driver.expect("a log driver");
        assert_eq!(log.name, None);
        assert_eq!(
            service_from_api(&sent, &HashMap::new()).expect("readable"),
            spec,
            "and back"
        );
    }
}
