//! A service's `healthcheck:` (test, interval, timeout, start period and
//! interval, retries, disable).

use crate::compose::keys;
use crate::compose::types::*;
use crate::decode::Decoder;
use crate::yaml::{Node, Value};

pub(super) fn decode_healthcheck(node: &Node, p: &str, d: &mut Decoder) -> Option<Healthcheck> {
    d.mapping(node, p, keys::HEALTHCHECK, true)?;
    let disable = node
        .get("disable")
        .and_then(|n| d.bool(n, &format!("{p}.disable")))
        .unwrap_or(false);
    let test = node.get("test").and_then(|t| match &t.value {
        Value::Scalar { text, .. } if !t.is_null() => Some(vec!["CMD-SHELL".to_owned(), text.clone()]),
        Value::Seq(_) => {
            let list = d.string_list(t, &format!("{p}.test"), false)?;
            match list.first().map(String::as_str) {
                Some("CMD" | "CMD-SHELL" | "NONE") => Some(list),
                _ => {
                    d.diags.error_help(
                        "invalid-value",
                        Some(t.span),
                        format!("`{p}.test` must start with CMD, CMD-SHELL or NONE"),
                        "write `[\"CMD\", \"curl\", \"-f\", \"http://localhost\"]` or a shell string",
                    );
                    None
                }
            }
        }
        _ => {
            d.expected(t, "a string or a list", &format!("{p}.test"));
            None
        }
    });
    Some(Healthcheck {
        test: if disable { Some(vec!["NONE".to_owned()]) } else { test },
        interval: node
            .get("interval")
            .and_then(|n| d.duration(n, &format!("{p}.interval"))),
        timeout: node.get("timeout").and_then(|n| d.duration(n, &format!("{p}.timeout"))),
        start_period: node
            .get("start_period")
            .and_then(|n| d.duration(n, &format!("{p}.start_period"))),
        start_interval: node
            .get("start_interval")
            .and_then(|n| d.duration(n, &format!("{p}.start_interval"))),
        retries: node.get("retries").and_then(|n| d.u64(n, &format!("{p}.retries"))),
        disable,
    })
}
