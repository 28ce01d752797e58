//! Checks across files: routes against stacks and their ports, compose
//! volumes against cluster volumes, sections that need others.
//!
//! Each check records an error at the place the user must edit.

use std::collections::BTreeMap;

use crate::compose::{MountType, ServiceMode, UpdateOrder};
use crate::config::{IngressKind, VolumeKind};
use crate::decode::did_you_mean;
use crate::diagnostic::Diagnostics;
use crate::load::DesiredState;

/// Longest service name swarm accepts (`<stack>_<service>` is a DNS label).
const MAX_SERVICE_NAME: usize = 63;

pub fn validate(state: &DesiredState, diags: &mut Diagnostics) {
    check_sections(state, diags);
    check_routes(state, diags);
    check_volumes(state, diags);
    check_service_names(state, diags);
}

fn check_sections(state: &DesiredState, diags: &mut Diagnostics) {
    let cfg = &state.config;
    if cfg.cluster.is_none() {
        if let Some(v) = cfg.volumes.values().next() {
            diags.error_help(
                "needs-cluster",
                v.declared_at,
                "cluster volumes need a `cluster` section",
                "declare `cluster:` (name, region, managers) so swarmkeeper can provision volumes in AWS, or remove `volumes:`",
            );
        }
        if cfg.ingress.as_ref().is_some_and(|i| i.kind != IngressKind::None) {
            diags.error_help(
                "needs-cluster",
                None,
                "`ingress` needs a `cluster` section",
                "declare `cluster:` so swarmkeeper can create the load balancer, or set `ingress.type: none`",
            );
        }
    }
    if let Some(route) = cfg.routes.first()
        && cfg.ingress.as_ref().is_none_or(|i| i.kind != IngressKind::LoadBalancer)
    {
        diags.error_help(
            "needs-load-balancer",
            route.service_at,
            "routes need `ingress.type: load_balancer`",
            "add `ingress: { type: load_balancer }` to swarmkeeper.yaml, or remove `routes:`",
        );
    }
    // A repeat is reported at its host (the key that makes the pair
    // collide), naming the first route with that pair and its line.
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, r) in cfg.routes.iter().enumerate() {
        if let Some(&first) = seen.get(&(r.host.as_str(), r.path.as_str())) {
            let earlier = &cfg.routes[first];
            let line = earlier
                .host_at
                .or(earlier.service_at)
                .map(|at| format!(" (line {})", at.line))
                .unwrap_or_default();
            diags.error_help(
                "duplicate-route",
                r.host_at.or(r.service_at),
                format!(
                    "routes[{i}] repeats host `{}` and path `{}` of routes[{first}]{line}",
                    r.host, r.path
                ),
                "each host and path pair may be routed once; remove or change one of them",
            );
        } else {
            seen.insert((&r.host, &r.path), i);
        }
    }
}

fn check_routes(state: &DesiredState, diags: &mut Diagnostics) {
    for (i, route) in state.config.routes.iter().enumerate() {
        let target = &route.service;
        let Some(stack) = state.stacks.get(&target.stack) else {
            // A declared stack that failed to load has its own errors already.
            if !state.config.stacks.contains_key(&target.stack) {
                let known: Vec<&str> = state.config.stacks.keys().map(String::as_str).collect();
                let help = match did_you_mean(&target.stack, &known) {
                    Some(s) => format!("did you mean `{s}/{}`?", target.service),
                    None => "declare the stack under `stacks:` or fix the name".to_owned(),
                };
                diags.error_help(
                    "unknown-route-target",
                    route.service_at,
                    format!("routes[{i}] targets stack `{}`, which is not declared", target.stack),
                    help,
                );
            }
            continue;
        };
        let Some(service) = stack.compose.services.get(&target.service) else {
            let known: Vec<&str> = stack.compose.services.keys().map(String::as_str).collect();
            let help = match did_you_mean(&target.service, &known) {
                Some(s) => format!("did you mean `{}/{s}`?", target.stack),
                None => format!("services in `{}`: {}", target.stack, known.join(", ")),
            };
            diags.error_help(
                "unknown-route-target",
                route.service_at,
                format!(
                    "routes[{i}] targets `{target}`, but stack `{}` has no service `{}`",
                    target.stack, target.service
                ),
                help,
            );
            continue;
        };
        if !service.ports.iter().any(|p| p.target == route.port) {
            let published: Vec<String> = service.ports.iter().map(|p| p.target.to_string()).collect();
            let help = if published.is_empty() {
                format!(
                    "publish the port in the compose file: `ports: [\"{0}\"]` under service `{1}`",
                    route.port, target.service
                )
            } else {
                format!(
                    "`{target}` publishes container ports {}; route one of them or publish {}",
                    published.join(", "),
                    route.port
                )
            };
            diags.error_help(
                "route-port-not-published",
                route.port_at,
                format!(
                    "routes[{i}] sends traffic to port {} of `{target}`, which the service does not publish",
                    route.port
                ),
                help,
            );
        }
    }
}

fn check_volumes(state: &DesiredState, diags: &mut Diagnostics) {
    let cluster_volumes = &state.config.volumes;
    for stack in state.stacks.values() {
        for (key, def) in &stack.compose.volumes {
            let Some(external) = &def.external_name else {
                continue;
            };
            if !cluster_volumes.contains_key(external) {
                let known: Vec<&str> = cluster_volumes.keys().map(String::as_str).collect();
                let help = match did_you_mean(external, &known) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "declare `{external}` under `volumes:` in swarmkeeper.yaml (type shared or relocatable), or drop `external: true` so the stack creates it"
                    ),
                };
                diags.error_help(
                    "undeclared-cluster-volume",
                    def.declared_at,
                    format!("compose volume `{key}` is external `{external}`, which swarmkeeper.yaml does not declare"),
                    help,
                );
                continue;
            }
        }
    }
    check_relocatable_writers(state, diags);
}

/// A relocatable volume is one EBS block device, attached to one node at a
/// time: one service may mount it, with one task, replaced stop-first.
/// Anything else would put two writers on one file system, which corrupts
/// it.
fn check_relocatable_writers(state: &DesiredState, diags: &mut Diagnostics) {
    const WHY: &str = "two writers on one block device corrupt its file system";
    // Volume → the services mounting it, in stack and service order.
    let mut users: BTreeMap<&str, Vec<(String, &crate::compose::Service)>> = BTreeMap::new();
    for (stack_name, stack) in &state.stacks {
        for (svc_name, svc) in &stack.compose.services {
            for (key, def) in &stack.compose.volumes {
                let Some(external) = def.external_name.as_deref() else {
                    continue;
                };
                if state
                    .config
                    .volumes
                    .get(external)
                    .is_none_or(|v| v.kind != VolumeKind::Relocatable)
                {
                    continue;
                }
                let mounts = svc
                    .volumes
                    .iter()
                    .any(|m| m.kind == MountType::Volume && m.source.as_deref() == Some(key));
                if mounts {
                    users
                        .entry(external)
                        .or_default()
                        .push((format!("{stack_name}_{svc_name}"), svc));
                }
            }
        }
    }
    for (volume, services) in &users {
        if let [(first, _), rest @ ..] = services.as_slice() {
            for (other, svc) in rest {
                diags.error_help(
                    "relocatable-volume-shared",
                    svc.declared_at,
                    format!(
                        "service `{other}` mounts relocatable volume `{volume}`, which `{first}` mounts too: {WHY}"
                    ),
                    "give each service a volume of its own, or make the volume `type: shared` (EFS)",
                );
            }
        }
        for (name, svc) in services {
            let multi = match svc.deploy.mode {
                ServiceMode::Global | ServiceMode::GlobalJob => true,
                _ => svc.deploy.replicas.unwrap_or(1) > 1,
            };
            if multi {
                diags.error_help(
                    "relocatable-volume-shared",
                    svc.declared_at,
                    format!("service `{name}` runs more than one task but mounts relocatable volume `{volume}`: {WHY}"),
                    "an EBS volume attaches to one node at a time: run one replica (`mode: replicated`, `replicas: 1`), or make the volume `type: shared`",
                );
            }
            let start_first = svc
                .deploy
                .update_config
                .as_ref()
                .and_then(|u| u.order)
                .is_some_and(|o| o == UpdateOrder::StartFirst);
            if start_first {
                diags.error_help(
                    "relocatable-volume-start-first",
                    svc.declared_at,
                    format!(
                        "service `{name}` updates start-first but mounts relocatable volume `{volume}`: the new task would start while the old one still writes, and {WHY}"
                    ),
                    "set `deploy.update_config.order: stop-first` (swarm's default)",
                );
            }
        }
    }
}

fn check_service_names(state: &DesiredState, diags: &mut Diagnostics) {
    for (stack_name, stack) in &state.stacks {
        for (name, svc) in &stack.compose.services {
            let full = format!("{stack_name}_{name}");
            if full.len() > MAX_SERVICE_NAME {
                diags.error_help(
                    "name-too-long",
                    svc.declared_at,
                    format!(
                        "service name `{full}` is {} characters; swarm allows {MAX_SERVICE_NAME}",
                        full.len()
                    ),
                    "shorten the stack or the service name",
                );
            }
        }
    }
}
