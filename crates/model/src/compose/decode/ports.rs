//! A service's `ports:`, long form (`target`, `published`, `protocol`,
//! `mode`) and short form (parsed by [`crate::syntax::port`]).

use crate::compose::keys;
use crate::compose::types::*;
use crate::decode::Decoder;
use crate::syntax::port::parse_short_port;
use crate::yaml::{Node, Value};

pub(super) fn decode_ports(node: &Node, p: &str, d: &mut Decoder) -> Vec<Port> {
    let Some(items) = node.as_seq() else {
        if !node.is_null() {
            d.expected(node, "a list of ports", p);
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            Value::Map(_) => {
                if d.mapping(item, p, keys::PORT, true).is_none() {
                    continue;
                }
                let target = match item.get("target") {
                    Some(t) => port_number(t, &format!("{p}.target"), d),
                    None => {
                        d.diags.error_help(
                            "missing-key",
                            Some(item.span),
                            format!("a port in `{p}` has no `target`"),
                            "set `target:` to the container port",
                        );
                        None
                    }
                };
                let published = item
                    .get("published")
                    .and_then(|n| port_number(n, &format!("{p}.published"), d));
                let protocol = item
                    .get("protocol")
                    .map_or(Some(Protocol::Tcp), |n| d.keyword(n, &format!("{p}.protocol")));
                let mode = item
                    .get("mode")
                    .map_or(Some(PublishMode::Ingress), |n| d.keyword(n, &format!("{p}.mode")));
                if let (Some(target), Some(protocol), Some(mode)) = (target, protocol, mode) {
                    out.push(Port {
                        target,
                        published,
                        protocol,
                        mode,
                        declared_at: Some(item.span),
                    });
                }
            }
            Value::Scalar { text, .. } => match parse_short_port(text) {
                Ok(ports) => out.extend(ports.into_iter().map(|mut port| {
                    port.declared_at = Some(item.span);
                    port
                })),
                Err(why) => d.diags.error_help(
                    "invalid-port",
                    Some(item.span),
                    format!("`{text}` is not a port: {why}"),
                    "write `TARGET`, `PUBLISHED:TARGET`, `PUBLISHED:TARGET/udp`, or the long form with `target:`",
                ),
            },
            _ => d.expected(item, "a port string or mapping", p),
        }
    }
    out
}

fn port_number(node: &Node, p: &str, d: &mut Decoder) -> Option<u16> {
    let text = node.as_scalar().map(str::trim).unwrap_or_default();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return d.u32_in(node, p, 1..=65535).and_then(|v| u16::try_from(v).ok());
    }
    d.expected(node, "a port number from 1 to 65535", p);
    None
}
