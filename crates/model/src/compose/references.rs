//! Cross-references within one compose file: every network, volume, config
//! and secret a service names is declared at the top level. Runs after
//! decoding, on the typed [`ComposeFile`]; an error is reported where the
//! service names the missing object, with the closest declared name.

use super::types::*;
use crate::decode::did_you_mean;
use crate::diagnostic::Diagnostics;
use crate::source::Span;

/// Every network, volume, config and secret a service names is declared.
pub(crate) fn check_references(file: &ComposeFile, diags: &mut Diagnostics) {
    for (name, svc) in &file.services {
        for (net, attachment) in &svc.networks {
            if net != "default" && !file.networks.contains_key(net) {
                let declared: Vec<&str> = file.networks.keys().map(String::as_str).collect();
                undefined(
                    diags,
                    attachment.declared_at.or(svc.declared_at),
                    name,
                    "network",
                    net,
                    &declared,
                );
            }
        }
        for m in &svc.volumes {
            if m.kind == MountType::Volume
                && let Some(src) = &m.source
                && !file.volumes.contains_key(src)
            {
                let declared: Vec<&str> = file.volumes.keys().map(String::as_str).collect();
                undefined(diags, m.declared_at, name, "volume", src, &declared);
            }
        }
        for (kind, refs, defs) in [
            ("config", &svc.configs, &file.configs),
            ("secret", &svc.secrets, &file.secrets),
        ] {
            for r in refs {
                if !defs.contains_key(&r.source) {
                    let declared: Vec<&str> = defs.keys().map(String::as_str).collect();
                    undefined(diags, r.declared_at, name, kind, &r.source, &declared);
                }
            }
        }
    }
}

fn undefined(diags: &mut Diagnostics, at: Option<Span>, service: &str, kind: &str, name: &str, declared: &[&str]) {
    let help = match did_you_mean(name, declared) {
        Some(s) => {
            format!("did you mean `{s}`? Otherwise declare `{name}` under the top-level `{kind}s:`")
        }
        None => format!("declare `{name}` under the top-level `{kind}s:` key"),
    };
    diags.error_help(
        "undefined-reference",
        at,
        format!("service `{service}` uses {kind} `{name}`, which is not declared"),
        help,
    );
}
