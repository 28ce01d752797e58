//! A service's `deploy:` section: mode and replicas, labels, placement,
//! resources (limits and reservations), restart policy, update and rollback
//! configs, endpoint mode.

use super::{memory_bytes, string_map};
use crate::compose::keys;
use crate::compose::types::*;
use crate::decode::Decoder;
use crate::yaml::Node;

pub(super) fn decode_deploy(node: &Node, p: &str, d: &mut Decoder) -> Option<Deploy> {
    if node.is_null() {
        return Some(Deploy::default());
    }
    d.mapping(node, p, keys::DEPLOY, true)?;
    let mut deploy = Deploy::default();
    if let Some(m) = node.get("mode") {
        deploy.mode = d.keyword(m, &format!("{p}.mode")).unwrap_or_default();
    }
    if let Some(r) = node.get("replicas") {
        deploy.replicas = d.u64(r, &format!("{p}.replicas"));
        if matches!(deploy.mode, ServiceMode::Global | ServiceMode::GlobalJob) {
            d.diags.error_help(
                "invalid-value",
                Some(r.span),
                format!("`{p}.replicas` cannot be set for a global service"),
                "a global service runs one task per node: remove `replicas` or use `mode: replicated`",
            );
        }
    }
    if let Some(l) = node.get("labels") {
        deploy.labels = string_map(l, &format!("{p}.labels"), d);
    }
    if let Some(pl) = node.get("placement").filter(|n| !n.is_null()) {
        let pp = format!("{p}.placement");
        if d.mapping(pl, &pp, keys::PLACEMENT, true).is_some() {
            if let Some(c) = pl.get("constraints") {
                deploy.placement.constraints = d
                    .string_list(c, &format!("{pp}.constraints"), false)
                    .unwrap_or_default();
                for (item, text) in c
                    .as_seq()
                    .unwrap_or_default()
                    .iter()
                    .zip(deploy.placement.constraints.clone())
                {
                    if !(text.contains("==") || text.contains("!=")) {
                        d.diags.error_help(
                            "invalid-value",
                            Some(item.span),
                            format!("placement constraint `{text}` has no `==` or `!=`"),
                            "write constraints like `node.role == manager` or `node.labels.zone != a`",
                        );
                    }
                }
            }
            if let Some(prefs) = pl.get("preferences") {
                match prefs.as_seq() {
                    Some(items) => {
                        for item in items {
                            let ip = format!("{pp}.preferences");
                            if d.mapping(item, &ip, keys::PREFERENCE, false).is_some()
                                && let Some(s) = item.get("spread").and_then(|s| d.string(s, &format!("{ip}.spread")))
                            {
                                deploy.placement.preferences.push(s);
                            }
                        }
                    }
                    None => d.expected(prefs, "a list of `spread:` entries", &format!("{pp}.preferences")),
                }
            }
            if let Some(m) = pl.get("max_replicas_per_node") {
                deploy.placement.max_replicas_per_node = d.u64(m, &format!("{pp}.max_replicas_per_node"));
            }
        }
    }
    if let Some(r) = node.get("resources").filter(|n| !n.is_null()) {
        let rp = format!("{p}.resources");
        if d.mapping(r, &rp, keys::RESOURCES, true).is_some() {
            if let Some(l) = r.get("limits") {
                deploy.resources.limits = decode_limits(l, &format!("{rp}.limits"), keys::LIMITS, d);
            }
            if let Some(l) = r.get("reservations") {
                deploy.resources.reservations = decode_limits(l, &format!("{rp}.reservations"), keys::RESERVATIONS, d);
            }
        }
    }
    if let Some(r) = node.get("restart_policy").filter(|n| !n.is_null()) {
        let rp = format!("{p}.restart_policy");
        if d.mapping(r, &rp, keys::RESTART_POLICY, true).is_some() {
            deploy.restart_policy = Some(RestartPolicy {
                condition: r
                    .get("condition")
                    .and_then(|c| d.keyword(c, &format!("{rp}.condition"))),
                delay: r.get("delay").and_then(|n| d.duration(n, &format!("{rp}.delay"))),
                max_attempts: r
                    .get("max_attempts")
                    .and_then(|n| d.u64(n, &format!("{rp}.max_attempts"))),
                window: r.get("window").and_then(|n| d.duration(n, &format!("{rp}.window"))),
            });
        }
    }
    for (key, slot) in [
        ("update_config", &mut deploy.update_config),
        ("rollback_config", &mut deploy.rollback_config),
    ] {
        if let Some(u) = node.get(key).filter(|n| !n.is_null()) {
            *slot = decode_update_config(u, &format!("{p}.{key}"), d);
        }
    }
    if let Some(e) = node.get("endpoint_mode") {
        deploy.endpoint_mode = d.keyword(e, &format!("{p}.endpoint_mode"));
    }
    Some(deploy)
}

fn decode_limits(node: &Node, p: &str, known: &[&str], d: &mut Decoder) -> ResourceLimits {
    let mut out = ResourceLimits::default();
    if node.is_null() || d.mapping(node, p, known, true).is_none() {
        return out;
    }
    if let Some(c) = node.get("cpus") {
        out.nano_cpus = d.f64(c, &format!("{p}.cpus")).and_then(|f| {
            if f < 0.0 {
                d.expected(c, "a number of CPUs of 0 or more", &format!("{p}.cpus"));
                return None;
            }
            let nanos = (f * 1e9).round();
            if nanos >= i64::MAX as f64 {
                d.diags.error_help(
                    "out-of-range",
                    Some(c.span),
                    format!("`{p}.cpus` is {f}, more CPUs than any node has"),
                    "write the number of CPUs, e.g. `cpus: 0.5`",
                );
                return None;
            }
            Some(nanos as i64)
        });
    }
    if let Some(m) = node.get("memory") {
        out.memory_bytes = memory_bytes(m, &format!("{p}.memory"), d);
    }
    if let Some(n) = node.get("pids") {
        out.pids = d.i64(n, &format!("{p}.pids"));
    }
    if let Some(g) = node.get("generic_resources") {
        for item in g.as_seq().unwrap_or_default() {
            let gp = format!("{p}.generic_resources");
            if let Some(spec) = item.get("discrete_resource_spec") {
                let kind = spec.get("kind").and_then(|k| d.string(k, &format!("{gp}.kind")));
                let value = spec.get("value").and_then(|v| d.i64(v, &format!("{gp}.value")));
                if let (Some(kind), Some(value)) = (kind, value) {
                    out.generic_resources.push((kind, value));
                }
            } else {
                d.expected(item, "a `discrete_resource_spec` with kind and value", &gp);
            }
        }
    }
    if let Some(dev) = node.get("devices") {
        d.diags.warning_help(
            "ignored-key",
            Some(dev.span),
            format!("`{p}.devices` is ignored by swarm and will not be deployed"),
            "swarm services cannot reserve devices; use generic_resources",
        );
    }
    out
}

fn decode_update_config(node: &Node, p: &str, d: &mut Decoder) -> Option<UpdateConfig> {
    d.mapping(node, p, keys::UPDATE_CONFIG, true)?;
    Some(UpdateConfig {
        parallelism: node
            .get("parallelism")
            .and_then(|n| d.u64(n, &format!("{p}.parallelism"))),
        delay: node.get("delay").and_then(|n| d.duration(n, &format!("{p}.delay"))),
        failure_action: node
            .get("failure_action")
            .and_then(|n| d.keyword(n, &format!("{p}.failure_action"))),
        monitor: node.get("monitor").and_then(|n| d.duration(n, &format!("{p}.monitor"))),
        max_failure_ratio: node
            .get("max_failure_ratio")
            .and_then(|n| d.f64(n, &format!("{p}.max_failure_ratio"))),
        order: node.get("order").and_then(|n| d.keyword(n, &format!("{p}.order"))),
    })
}
