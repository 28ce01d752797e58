//! Networks: the top-level `networks:` definitions (driver, options,
//! IPAM, external) and a service's `networks:` attachments (aliases,
//! driver options).

use std::collections::BTreeMap;

use super::{decode_external, string_map};
use crate::compose::keys;
use crate::compose::types::*;
use crate::decode::Decoder;
use crate::source::Span;
use crate::syntax::names;
use crate::yaml::{Node, Value};

pub(super) fn decode_network_def(name: &str, at: Span, node: &Node, d: &mut Decoder) -> Option<NetworkDef> {
    let p = format!("networks.{name}");
    if node.is_null() {
        return Some(NetworkDef {
            declared_at: Some(at),
            ..NetworkDef::default()
        });
    }
    d.mapping(node, &p, keys::NETWORK_DEF, true)?;
    let (external, ext_name) = decode_external(node, name, &p, d);
    let mut def = NetworkDef {
        driver: node.get("driver").and_then(|n| d.opt_string(n, &format!("{p}.driver"))),
        driver_opts: node
            .get("driver_opts")
            .map(|n| string_map(n, &format!("{p}.driver_opts"), d))
            .unwrap_or_default(),
        attachable: node
            .get("attachable")
            .and_then(|n| d.bool(n, &format!("{p}.attachable")))
            .unwrap_or(false),
        internal: node
            .get("internal")
            .and_then(|n| d.bool(n, &format!("{p}.internal")))
            .unwrap_or(false),
        labels: node
            .get("labels")
            .map(|n| string_map(n, &format!("{p}.labels"), d))
            .unwrap_or_default(),
        declared_at: Some(at),
        ..NetworkDef::default()
    };
    if external {
        def.external_name = ext_name;
    } else {
        def.name = ext_name;
    }
    if let Some(ipam) = node.get("ipam").filter(|n| !n.is_null())
        && d.mapping(ipam, &format!("{p}.ipam"), keys::IPAM, true).is_some()
    {
        def.ipam_driver = ipam
            .get("driver")
            .and_then(|n| d.opt_string(n, &format!("{p}.ipam.driver")));
        for cfg in ipam.get("config").and_then(Node::as_seq).unwrap_or_default() {
            let cp = format!("{p}.ipam.config");
            if d.mapping(cfg, &cp, keys::IPAM_CONFIG, true).is_some()
                && let Some(s) = cfg.get("subnet").and_then(|n| d.string(n, &format!("{cp}.subnet")))
            {
                match names::parse_cidr(&s) {
                    Ok(_) => def.ipam_subnets.push(s),
                    Err(why) => d.diags.error_help(
                        "invalid-cidr",
                        cfg.get("subnet").map(|n| n.span),
                        format!("`{s}` is not a CIDR block: {why}"),
                        "write an address and prefix length, e.g. 10.10.0.0/24",
                    ),
                }
            }
        }
    }
    Some(def)
}

pub(super) fn decode_service_networks(node: &Node, p: &str, d: &mut Decoder) -> BTreeMap<String, ServiceNetwork> {
    let mut out = BTreeMap::new();
    match &node.value {
        Value::Seq(items) => {
            for item in items {
                if let Some(name) = d.string(item, p) {
                    out.insert(
                        name,
                        ServiceNetwork {
                            declared_at: Some(item.span),
                            ..ServiceNetwork::default()
                        },
                    );
                }
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                let Some(name) = d.string(k, p) else { continue };
                let np = format!("{p}.{name}");
                let mut net = ServiceNetwork {
                    declared_at: Some(k.span),
                    ..ServiceNetwork::default()
                };
                if !v.is_null() && d.mapping(v, &np, keys::SERVICE_NETWORK, true).is_some() {
                    if let Some(a) = v.get("aliases") {
                        net.aliases = d.string_list(a, &format!("{np}.aliases"), false).unwrap_or_default();
                    }
                    if let Some(o) = v.get("driver_opts") {
                        net.driver_opts = string_map(o, &format!("{np}.driver_opts"), d);
                    }
                    for key in ["ipv4_address", "ipv6_address", "priority"] {
                        if let Some(x) = v.get(key) {
                            d.diags.warning_help(
                                "ignored-key",
                                Some(x.span),
                                format!("`{np}.{key}` is ignored by swarm and will not be deployed"),
                                "swarm assigns service addresses itself",
                            );
                        }
                    }
                }
                out.insert(name, net);
            }
        }
        _ if node.is_null() => {}
        _ => d.expected(node, "a list or mapping of networks", p),
    }
    out
}
