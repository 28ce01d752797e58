//! One service: its keys (image, command, environment and env files,
//! labels, user, restart, ulimits, extra hosts, logging, the keys swarm
//! ignores…), dispatching `deploy`, `ports`, `volumes`, `networks`,
//! `configs`, `secrets` and `healthcheck` to their decoders, then the
//! checks within one service (an image is set, bind sources are absolute,
//! `restart:` yields to `deploy.restart_policy`, sensitive keys exist).

use std::collections::BTreeMap;

use super::{FileAccess, string_map};
use crate::compose::keys;
use crate::compose::types::*;
use crate::decode::Decoder;
use crate::source::Span;
use crate::syntax::restart;
use crate::syntax::shell::shell_split;
use crate::yaml::{Node, Value};

pub(super) fn decode_service(
    name: &str,
    at: Span,
    node: &Node,
    d: &mut Decoder,
    files: &mut dyn FileAccess,
) -> Option<Service> {
    let path = format!("services.{name}");
    let mut known: Vec<&str> = keys::SERVICE.to_vec();
    known.extend(keys::SERVICE_IGNORED.iter().map(|(k, _)| *k));
    let entries = d.mapping(node, &path, &known, true)?;
    let mut svc = Service {
        declared_at: Some(at),
        ..Service::default()
    };
    let mut env_from_files: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut env_inline: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut has_image = false;
    let mut sensitive_at: Option<&Node> = None;
    let mut policy_at: Option<&Node> = None;
    // Keys set by SOPS-encrypted env files: sensitive whatever their name.
    let mut sealed_keys = std::collections::BTreeSet::new();
    for (k, v) in entries {
        let key = k.as_scalar().unwrap_or_default();
        let p = format!("{path}.{key}");
        if let Some((_, why)) = keys::SERVICE_IGNORED.iter().find(|(ignored, _)| *ignored == key) {
            d.diags.warning_help(
                "ignored-key",
                Some(k.span),
                format!("`{p}` is ignored by swarm and will not be deployed"),
                *why,
            );
            continue;
        }
        match key {
            "image" => {
                if let Some(s) = d.string(v, &p) {
                    // Refused here, at its line, rather than by the engine
                    // halfway through an apply.
                    // (Left to the interpolation error when one failed.)
                    if let Err(e) = crate::image::ImageRef::parse(&s)
                        && !s.contains('$')
                    {
                        d.diags.error_help(
                            "invalid-image",
                            Some(v.span),
                            format!("`{p}`: {e}"),
                            "write NAME[:TAG][@DIGEST], e.g. `nginx:1.27`, `ghcr.io/org/app:2` or `localhost:5000/app`",
                        );
                    }
                    svc.image = s;
                    has_image = true;
                }
            }
            "command" => svc.command = command_line(v, &p, d),
            "entrypoint" => svc.entrypoint = command_line(v, &p, d),
            "environment" => {
                for (key, value, _) in d.key_values(v, &p).unwrap_or_default() {
                    env_inline.insert(key, value);
                }
            }
            "env_file" => {
                for (file, span) in env_file_list(v, &p, d) {
                    if let Some(file) = files.read_env_file(&file, span, d) {
                        for (key, value) in file.vars {
                            if file.sensitive {
                                sealed_keys.insert(key.clone());
                            }
                            env_from_files.insert(key, Some(value));
                        }
                    }
                }
            }
            "labels" => svc.labels = string_map(v, &p, d),
            "deploy" => {
                if let Some(deploy) = super::deploy::decode_deploy(v, &p, d) {
                    svc.deploy = deploy;
                }
            }
            "ports" => svc.ports = super::ports::decode_ports(v, &p, d),
            "networks" => svc.networks = super::networks::decode_service_networks(v, &p, d),
            "volumes" => svc.volumes.extend(super::mounts::decode_mounts(v, &p, d)),
            "configs" => svc.configs = super::files::decode_file_refs(v, &p, d),
            "secrets" => svc.secrets = super::files::decode_file_refs(v, &p, d),
            "healthcheck" => svc.healthcheck = super::healthcheck::decode_healthcheck(v, &p, d),
            "user" => svc.user = scalar_text(v, &p, d),
            "working_dir" => svc.working_dir = d.opt_string(v, &p),
            "hostname" => svc.hostname = d.opt_string(v, &p),
            "stop_grace_period" => svc.stop_grace_period = d.duration(v, &p),
            "stop_signal" => svc.stop_signal = d.opt_string(v, &p),
            "logging" => svc.logging = decode_logging(v, &p, d),
            "cap_add" => svc.cap_add = d.string_list(v, &p, false).unwrap_or_default(),
            "cap_drop" => svc.cap_drop = d.string_list(v, &p, false).unwrap_or_default(),
            "sysctls" => svc.sysctls = string_map(v, &p, d),
            "ulimits" => svc.ulimits = decode_ulimits(v, &p, d),
            "init" => svc.init = d.bool(v, &p),
            "tmpfs" => svc.tmpfs = d.string_list(v, &p, true).unwrap_or_default(),
            "extra_hosts" => svc.extra_hosts = decode_extra_hosts(v, &p, d),
            "dns" => svc.dns = d.string_list(v, &p, true).unwrap_or_default(),
            "dns_search" => svc.dns_search = d.string_list(v, &p, true).unwrap_or_default(),
            "dns_opt" => svc.dns_opt = d.string_list(v, &p, false).unwrap_or_default(),
            "read_only" => svc.read_only = d.bool(v, &p).unwrap_or_default(),
            "tty" => svc.tty = d.bool(v, &p).unwrap_or_default(),
            "stdin_open" => svc.stdin_open = d.bool(v, &p).unwrap_or_default(),
            "isolation" => svc.isolation = d.opt_string(v, &p),
            "group_add" => svc.group_add = d.string_list(v, &p, false).unwrap_or_default(),
            "restart" => svc.restart = restart_key(v, &p, d),
            "x-swarmkeeper-image" => {
                if let Some(policy) = decode_image_policy(v, &p, d) {
                    svc.image_policy = policy;
                    policy_at = Some(v);
                }
            }
            "x-swarmkeeper-sensitive" => {
                svc.sensitive_env = d.string_list(v, &p, false).unwrap_or_default().into_iter().collect();
                sensitive_at = Some(v);
            }
            _ => {} // x- extensions
        }
    }
    if let (Some(_), Some(r)) = (&svc.deploy.restart_policy, node.get("restart")) {
        d.diags.warning_help(
            "ignored-key",
            Some(r.span),
            format!("`{path}.restart` is ignored because `deploy.restart_policy` is set"),
            "remove `restart:`; swarm uses `deploy.restart_policy`",
        );
        svc.restart = None;
    }
    for m in &svc.volumes {
        if m.kind == MountType::Bind
            && let Some(source) = &m.source
            && !source.starts_with('/')
        {
            d.diags.error_help(
                "relative-bind-mount",
                m.declared_at,
                format!("bind mount source `{source}` is not an absolute path"),
                "a swarm task mounts a path of whichever node runs it: use an absolute path on the nodes, or ship the file as a config (`configs:`)",
            );
        }
    }
    if let Some(at) = policy_at {
        check_image_policy(&svc, &path, at, d);
    }
    if !has_image {
        d.diags.error_help(
            "missing-image",
            Some(at),
            format!("service `{name}` has no `image`"),
            "swarm runs images only: set `image:` (build and push the image first)",
        );
    }
    // env_file values first, `environment` overrides them (as docker does).
    let env_inline_keys: std::collections::BTreeSet<String> = env_inline.keys().cloned().collect();
    if env_from_files.is_empty() {
        env_from_files = env_inline;
    } else {
        env_from_files.extend(env_inline);
    }
    svc.environment = env_from_files;
    // A key `environment:` sets again is no longer the file's value.
    svc.sensitive_env
        .extend(sealed_keys.into_iter().filter(|k| !env_inline_keys.contains(k)));
    // A key listed as sensitive that the environment lacks is most likely
    // a typo, which would leave the real key's value visible in plans.
    for item in sensitive_at.and_then(Node::as_seq).unwrap_or_default() {
        if let Some(key) = item.as_scalar()
            && !svc.environment.contains_key(key)
        {
            d.diags.warning_help(
                "unknown-sensitive-key",
                Some(item.span),
                format!("`{path}.x-swarmkeeper-sensitive` lists `{key}`, which the service's environment does not set"),
                "list keys of the service's `environment` or `env_file`; check the spelling",
            );
        }
    }
    for t in &svc.tmpfs {
        svc.volumes.push(Mount {
            kind: MountType::Tmpfs,
            source: None,
            target: t.split(':').next().unwrap_or(t).to_owned(),
            read_only: false,
            consistency: None,
            bind_propagation: None,
            bind_create_host_path: None,
            volume_nocopy: false,
            tmpfs_size: None,
            tmpfs_mode: None,
            declared_at: Some(at),
        });
    }
    Some(svc)
}

/// `x-swarmkeeper-image: {resolve: changed|never, follow: BOOL}`.
fn decode_image_policy(node: &Node, p: &str, d: &mut Decoder) -> Option<ImagePolicy> {
    d.mapping(node, p, keys::IMAGE_POLICY, false)?;
    let mut policy = ImagePolicy::default();
    if let Some(v) = node.get("resolve") {
        policy.resolve = d.keyword(v, &format!("{p}.resolve"))?;
    }
    if let Some(v) = node.get("follow") {
        policy.follow = d.bool(v, &format!("{p}.follow"))?;
    }
    Some(policy)
}

/// A policy that cannot do what it says: following without resolving, or
/// following an image already pinned to a digest.
fn check_image_policy(svc: &Service, path: &str, at: &Node, d: &mut Decoder) {
    let p = format!("{path}.x-swarmkeeper-image");
    if !svc.image_policy.follow {
        return;
    }
    let span = at.get("follow").map_or(at.span, |n| n.span);
    if svc.image_policy.resolve == ImageResolve::Never {
        d.diags.error_help(
            "invalid-value",
            Some(span),
            format!("`{p}`: `follow: true` needs the tag resolved, and `resolve: never` says never to"),
            "remove `resolve: never` to follow the tag, or `follow: true` to send the tag as written",
        );
    } else if svc.image.contains('@') {
        d.diags.error_help(
            "invalid-value",
            Some(span),
            format!(
                "`{p}`: `follow: true` follows a tag, and `{}` is pinned to a digest",
                svc.image
            ),
            "write the image as NAME:TAG to follow the tag, or remove `follow: true` to keep the digest",
        );
    }
}

/// `restart:` as docker stack deploy reads it when no restart_policy is set.
fn restart_key(v: &Node, p: &str, d: &mut Decoder) -> Option<RestartPolicy> {
    let text = d.string(v, p)?;
    match restart::parse_restart(&text) {
        Ok(policy) => policy,
        Err(restart::UnknownRestart) => {
            d.diags.error_help(
                "invalid-value",
                Some(v.span),
                format!("`{p}`: `{text}` is not a restart policy"),
                format!("use {} (or deploy.restart_policy)", restart::FORMS),
            );
            None
        }
    }
}

fn scalar_text(v: &Node, p: &str, d: &mut Decoder) -> Option<String> {
    // `user: 1000` is a number in YAML but a string to docker.
    d.opt_string(v, p)
}

fn env_file_list(v: &Node, p: &str, d: &mut Decoder) -> Vec<(String, Span)> {
    match &v.value {
        Value::Scalar { text, .. } if !v.is_null() => vec![(text.clone(), v.span)],
        Value::Seq(items) => items
            .iter()
            .filter_map(|i| {
                // Compose spec allows `{path: x, required: bool}` entries.
                if i.as_map().is_some() {
                    d.mapping(i, p, &["path", "required", "format"], false)?;
                    return i
                        .get("path")
                        .and_then(|n| d.string(n, &format!("{p}.path")))
                        .map(|s| (s, i.span));
                }
                d.string(i, p).map(|s| (s, i.span))
            })
            .collect(),
        _ => {
            d.expected(v, "a file name or a list of file names", p);
            Vec::new()
        }
    }
}

/// `command`/`entrypoint`: a list as is, or a string split like a shell.
fn command_line(v: &Node, p: &str, d: &mut Decoder) -> Option<Vec<String>> {
    match &v.value {
        Value::Seq(_) => d.string_list(v, p, false),
        Value::Scalar { text, .. } if !v.is_null() => match shell_split(text) {
            Ok(words) => Some(words),
            Err(why) => {
                d.diags.error_help(
                    "invalid-value",
                    Some(v.span),
                    format!("`{p}` cannot be split into words: {why}"),
                    "close every quote, or write the command as a list",
                );
                None
            }
        },
        _ if v.is_null() => None,
        _ => {
            d.expected(v, "a string or a list of strings", p);
            None
        }
    }
}

fn decode_logging(node: &Node, p: &str, d: &mut Decoder) -> Option<Logging> {
    d.mapping(node, p, keys::LOGGING, true)?;
    Some(Logging {
        driver: node.get("driver").and_then(|n| d.opt_string(n, &format!("{p}.driver"))),
        options: node
            .get("options")
            .map(|o| string_map(o, &format!("{p}.options"), d))
            .unwrap_or_default(),
    })
}

fn decode_ulimits(node: &Node, p: &str, d: &mut Decoder) -> BTreeMap<String, Ulimit> {
    let mut out = BTreeMap::new();
    for (_k, name, v) in d.named_entries(node, p) {
        let up = format!("{p}.{name}");
        let limit = match &v.value {
            Value::Scalar { .. } => d.i64(v, &up).map(|n| Ulimit { soft: n, hard: n }),
            Value::Map(_) => {
                if d.mapping(v, &up, keys::ULIMIT, false).is_none() {
                    continue;
                }
                let soft = v.get("soft").and_then(|n| d.i64(n, &format!("{up}.soft")));
                let hard = v.get("hard").and_then(|n| d.i64(n, &format!("{up}.hard")));
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Some(Ulimit { soft, hard }),
                    _ => {
                        if v.get("soft").is_none() || v.get("hard").is_none() {
                            d.diags.error_help(
                                "missing-key",
                                Some(v.span),
                                format!("`{up}` needs both `soft` and `hard`"),
                                "write `{soft: N, hard: N}` or a single number for both",
                            );
                        }
                        None
                    }
                }
            }
            _ => {
                d.expected(v, "a number or a mapping with soft and hard", &up);
                None
            }
        };
        if let Some(l) = limit {
            out.insert(name.to_owned(), l);
        }
    }
    out
}

fn decode_extra_hosts(node: &Node, p: &str, d: &mut Decoder) -> Vec<String> {
    match &node.value {
        // The map form `host: ip` is written as "host:ip" in the list form.
        Value::Map(_) => string_map(node, p, d)
            .into_iter()
            .map(|(h, ip)| format!("{h}:{ip}"))
            .collect(),
        _ => d
            .string_list(node, p, false)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.replacen('=', ":", 1))
            .collect(),
    }
}
