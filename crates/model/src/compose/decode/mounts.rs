//! A service's `volumes:` (mounts), long form (`type`, `source`,
//! `target`, `bind`, `volume`, `tmpfs` options) and short form (parsed by
//! [`crate::syntax::volume`]).

use super::memory_bytes;
use crate::compose::keys;
use crate::compose::types::*;
use crate::decode::Decoder;
use crate::syntax::file_mode::MAX_FILE_MODE;
use crate::syntax::volume::parse_short_volume;
use crate::yaml::{Node, Value};

pub(super) fn decode_mounts(node: &Node, p: &str, d: &mut Decoder) -> Vec<Mount> {
    let Some(items) = node.as_seq() else {
        if !node.is_null() {
            d.expected(node, "a list of volumes", p);
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let mount = match &item.value {
            Value::Scalar { text, .. } => match parse_short_volume(text) {
                Ok(m) => Some(m),
                Err(why) => {
                    d.diags.error_help(
                        "invalid-volume",
                        Some(item.span),
                        format!("`{text}` is not a volume: {why}"),
                        "write `SOURCE:TARGET[:ro]`, `TARGET`, or the long form with `type`, `source` and `target`",
                    );
                    None
                }
            },
            Value::Map(_) => decode_long_mount(item, p, d),
            _ => {
                d.expected(item, "a volume string or mapping", p);
                None
            }
        };
        if let Some(mut m) = mount {
            m.declared_at = Some(item.span);
            out.push(m);
        }
    }
    out
}

fn decode_long_mount(item: &Node, p: &str, d: &mut Decoder) -> Option<Mount> {
    d.mapping(item, p, keys::MOUNT, true)?;
    let kind = match item.get("type") {
        Some(t) => d.keyword(t, &format!("{p}.type"))?,
        None => {
            d.diags.error_help(
                "missing-key",
                Some(item.span),
                format!("a volume in `{p}` has no `type`"),
                "set `type: volume`, `bind` or `tmpfs`",
            );
            return None;
        }
    };
    let target = match item.get("target") {
        Some(t) => d.string(t, &format!("{p}.target"))?,
        None => {
            d.diags.error_help(
                "missing-key",
                Some(item.span),
                format!("a volume in `{p}` has no `target`"),
                "set `target:` to the path inside the container",
            );
            return None;
        }
    };
    let source = item.get("source").and_then(|s| d.opt_string(s, &format!("{p}.source")));
    if kind == MountType::Bind && source.is_none() {
        d.diags.error_help(
            "missing-key",
            Some(item.span),
            format!("a bind mount in `{p}` has no `source`"),
            "set `source:` to the host path",
        );
        return None;
    }
    let mut m = Mount {
        kind,
        source,
        target,
        read_only: item
            .get("read_only")
            .and_then(|n| d.bool(n, &format!("{p}.read_only")))
            .unwrap_or(false),
        consistency: item
            .get("consistency")
            .filter(|n| !n.is_null())
            .and_then(|n| d.keyword(n, &format!("{p}.consistency"))),
        bind_propagation: None,
        bind_create_host_path: None,
        volume_nocopy: false,
        tmpfs_size: None,
        tmpfs_mode: None,
        declared_at: None,
    };
    if let Some(b) = item.get("bind").filter(|n| !n.is_null())
        && d.mapping(b, &format!("{p}.bind"), keys::MOUNT_BIND, true).is_some()
    {
        m.bind_propagation = b
            .get("propagation")
            .filter(|n| !n.is_null())
            .and_then(|n| d.keyword(n, &format!("{p}.bind.propagation")));
        m.bind_create_host_path = b
            .get("create_host_path")
            .and_then(|n| d.bool(n, &format!("{p}.bind.create_host_path")));
    }
    if let Some(v) = item.get("volume").filter(|n| !n.is_null())
        && d.mapping(v, &format!("{p}.volume"), keys::MOUNT_VOLUME, true).is_some()
    {
        m.volume_nocopy = v
            .get("nocopy")
            .and_then(|n| d.bool(n, &format!("{p}.volume.nocopy")))
            .unwrap_or(false);
    }
    if let Some(t) = item.get("tmpfs").filter(|n| !n.is_null())
        && d.mapping(t, &format!("{p}.tmpfs"), keys::MOUNT_TMPFS, true).is_some()
    {
        m.tmpfs_size = t
            .get("size")
            .and_then(|n| memory_bytes(n, &format!("{p}.tmpfs.size"), d));
        m.tmpfs_mode = t
            .get("mode")
            .and_then(|n| d.u32_in(n, &format!("{p}.tmpfs.mode"), 0..=MAX_FILE_MODE));
    }
    Some(m)
}
