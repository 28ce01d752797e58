//! The top-level `volumes:` definitions (driver, options, labels,
//! external); a service's mounts are in [`super::mounts`].

use super::{decode_external, string_map};
use crate::compose::keys;
use crate::compose::types::*;
use crate::decode::Decoder;
use crate::source::Span;
use crate::yaml::Node;

pub(super) fn decode_volume_def(name: &str, at: Span, node: &Node, d: &mut Decoder) -> Option<VolumeDef> {
    let p = format!("volumes.{name}");
    if node.is_null() {
        return Some(VolumeDef {
            declared_at: Some(at),
            ..VolumeDef::default()
        });
    }
    d.mapping(node, &p, keys::VOLUME_DEF, true)?;
    let (external, ext_name) = decode_external(node, name, &p, d);
    let mut def = VolumeDef {
        driver: node.get("driver").and_then(|n| d.opt_string(n, &format!("{p}.driver"))),
        driver_opts: node
            .get("driver_opts")
            .map(|n| string_map(n, &format!("{p}.driver_opts"), d))
            .unwrap_or_default(),
        labels: node
            .get("labels")
            .map(|n| string_map(n, &format!("{p}.labels"), d))
            .unwrap_or_default(),
        declared_at: Some(at),
        ..VolumeDef::default()
    };
    if external {
        def.external_name = ext_name;
    } else {
        def.name = ext_name;
    }
    Some(def)
}
