//! Compose YAML (already interpolated) → [`ComposeFile`], collecting every
//! error and warning with its position.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::keys;
use super::types::*;
use crate::config::enum_value;
use crate::decode::Decoder;
use crate::names;
use crate::source::Span;
use crate::yaml::{Node, Value};

/// What decoding needs from the loader: reading env files and recording
/// files that must exist. Paths are as written, relative to the compose file.
pub trait FileAccess {
    /// Variables of a service `env_file`, or `None` after reporting why not.
    fn read_env_file(&mut self, path: &str, span: Span, d: &mut Decoder) -> Option<Vec<(String, String)>>;
    /// Read a referenced file that must lie inside the desired-state
    /// directory; returns its path relative to that directory and its bytes.
    fn read_file(&mut self, path: &str, span: Span, what: &str, d: &mut Decoder) -> Option<(PathBuf, Vec<u8>)>;
}

pub fn decode_compose(root: &Node, d: &mut Decoder, files: &mut dyn FileAccess) -> Option<ComposeFile> {
    let entries = d.mapping(root, "compose file", keys::TOP, true)?;
    let mut out = ComposeFile::default();
    for (key, value) in entries {
        match key.as_scalar().unwrap_or_default() {
            "version" | "name" => {}
            "services" => {
                for (k, name, v) in d.named_entries(value, "services") {
                    if names::check(d, k.span, "service name", name, &names::SERVICE_NAME)
                        && let Some(svc) = decode_service(name, k.span, v, d, files)
                    {
                        out.services.insert(name.to_owned(), svc);
                    }
                }
            }
            "networks" => {
                for (k, name, v) in d.named_entries(value, "networks") {
                    if let Some(n) = decode_network_def(name, k.span, v, d) {
                        out.networks.insert(name.to_owned(), n);
                    }
                }
            }
            "volumes" => {
                for (k, name, v) in d.named_entries(value, "volumes") {
                    if let Some(n) = decode_volume_def(name, k.span, v, d) {
                        out.volumes.insert(name.to_owned(), n);
                    }
                }
            }
            "configs" => {
                for (k, name, v) in d.named_entries(value, "configs") {
                    if let Some(n) = decode_file_object(name, k.span, v, "configs", keys::CONFIG_DEF, d, files) {
                        out.configs.insert(name.to_owned(), n);
                    }
                }
            }
            "secrets" => {
                for (k, name, v) in d.named_entries(value, "secrets") {
                    if let Some(n) = decode_file_object(name, k.span, v, "secrets", keys::SECRET_DEF, d, files) {
                        out.secrets.insert(name.to_owned(), n);
                    }
                }
            }
            _ => {} // x- extensions
        }
    }
    match root.get("services") {
        None => d.diags.error_help(
            "missing-key",
            Some(root.span),
            "this compose file declares no `services`",
            "add a `services:` section with at least one service",
        ),
        // Null or `{}`: the stack would run nothing, and its services would
        // be pruned. Removing a stack is done by removing it from `stacks:`.
        Some(s) if s.is_null() || s.as_map().is_some_and(<[(Node, Node)]>::is_empty) => d.diags.error_help(
            "empty-services",
            Some(s.span),
            "`services` is empty: this stack would run nothing",
            "declare at least one service; to remove the stack on purpose, delete it from `stacks:` in swarmkeeper.yaml",
        ),
        Some(_) => {}
    }
    check_references(&out, d);
    Some(out)
}

fn decode_service(name: &str, at: Span, node: &Node, d: &mut Decoder, files: &mut dyn FileAccess) -> Option<Service> {
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
                    if let Some(vars) = files.read_env_file(&file, span, d) {
                        for (key, value) in vars {
                            env_from_files.insert(key, Some(value));
                        }
                    }
                }
            }
            "labels" => svc.labels = string_map(v, &p, d),
            "deploy" => {
                if let Some(deploy) = decode_deploy(v, &p, d) {
                    svc.deploy = deploy;
                }
            }
            "ports" => svc.ports = decode_ports(v, &p, d),
            "networks" => svc.networks = decode_service_networks(v, &p, d),
            "volumes" => svc.volumes.extend(decode_mounts(v, &p, d)),
            "configs" => svc.configs = decode_file_refs(v, &p, d),
            "secrets" => svc.secrets = decode_file_refs(v, &p, d),
            "healthcheck" => svc.healthcheck = decode_healthcheck(v, &p, d),
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
    if !has_image {
        d.diags.error_help(
            "missing-image",
            Some(at),
            format!("service `{name}` has no `image`"),
            "swarm runs images only: set `image:` (build and push the image first)",
        );
    }
    // env_file values first, `environment` overrides them (as docker does).
    if env_from_files.is_empty() {
        env_from_files = env_inline;
    } else {
        env_from_files.extend(env_inline);
    }
    svc.environment = env_from_files;
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

/// `restart:` as docker stack deploy reads it when no restart_policy is set.
fn restart_key(v: &Node, p: &str, d: &mut Decoder) -> Option<RestartPolicy> {
    let text = d.string(v, p)?;
    let policy = |condition, max_attempts| RestartPolicy {
        condition: Some(condition),
        delay: None,
        max_attempts,
        window: None,
    };
    match text.as_str() {
        "no" => None,
        "always" | "unless-stopped" => Some(policy(RestartCondition::Any, None)),
        "on-failure" => Some(policy(RestartCondition::OnFailure, None)),
        other => match other.strip_prefix("on-failure:").map(str::parse::<u64>) {
            Some(Ok(n)) => Some(policy(RestartCondition::OnFailure, Some(n))),
            _ => {
                d.diags.error_help(
                    "invalid-value",
                    Some(v.span),
                    format!("`{p}`: `{other}` is not a restart policy"),
                    "use no, always, unless-stopped, on-failure or on-failure:N (or deploy.restart_policy)",
                );
                None
            }
        },
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
                if let Some(map) = i.as_map() {
                    let _ = map;
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

/// Split a command line as a POSIX shell would (quotes and backslashes).
pub fn shell_split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// A mapping or `KEY=VALUE` list whose values must all be set.
fn string_map(v: &Node, p: &str, d: &mut Decoder) -> BTreeMap<String, String> {
    d.key_values(v, p)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v, _)| (k, v.unwrap_or_default()))
        .collect()
}

fn decode_deploy(node: &Node, p: &str, d: &mut Decoder) -> Option<Deploy> {
    if node.is_null() {
        return Some(Deploy::default());
    }
    d.mapping(node, p, keys::DEPLOY, true)?;
    let mut deploy = Deploy::default();
    if let Some(m) = node.get("mode") {
        deploy.mode = enum_value(
            d,
            m,
            &format!("{p}.mode"),
            &["replicated", "global", "replicated-job", "global-job"],
            |s| match s {
                "replicated" => Some(ServiceMode::Replicated),
                "global" => Some(ServiceMode::Global),
                "replicated-job" => Some(ServiceMode::ReplicatedJob),
                "global-job" => Some(ServiceMode::GlobalJob),
                _ => None,
            },
        )
        .unwrap_or_default();
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
                condition: r.get("condition").and_then(|c| {
                    enum_value(
                        d,
                        c,
                        &format!("{rp}.condition"),
                        &["none", "on-failure", "any"],
                        |s| match s {
                            "none" => Some(RestartCondition::None),
                            "on-failure" => Some(RestartCondition::OnFailure),
                            "any" => Some(RestartCondition::Any),
                            _ => None,
                        },
                    )
                }),
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
        deploy.endpoint_mode = enum_value(d, e, &format!("{p}.endpoint_mode"), &["vip", "dnsrr"], |s| match s {
            "vip" => Some(EndpointMode::Vip),
            "dnsrr" => Some(EndpointMode::Dnsrr),
            _ => None,
        });
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

/// Byte sizes as docker reads them: `512m`, `1g`, `1.5GB`, `1024` (bytes).
pub fn parse_bytes(text: &str) -> Option<i64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return None,
    };
    let bytes = n * mult;
    (bytes >= 0.0 && bytes < i64::MAX as f64).then_some(bytes as i64)
}

fn memory_bytes(node: &Node, p: &str, d: &mut Decoder) -> Option<i64> {
    let parsed = node.as_scalar().and_then(parse_bytes);
    if parsed.is_none() {
        d.diags.error_help(
            "invalid-value",
            Some(node.span),
            format!("`{p}` is not a size, found {}", node.kind()),
            "write a size such as 512M, 1G or a number of bytes",
        );
    }
    parsed
}

fn decode_update_config(node: &Node, p: &str, d: &mut Decoder) -> Option<UpdateConfig> {
    d.mapping(node, p, keys::UPDATE_CONFIG, true)?;
    Some(UpdateConfig {
        parallelism: node
            .get("parallelism")
            .and_then(|n| d.u64(n, &format!("{p}.parallelism"))),
        delay: node.get("delay").and_then(|n| d.duration(n, &format!("{p}.delay"))),
        failure_action: node.get("failure_action").and_then(|n| {
            enum_value(
                d,
                n,
                &format!("{p}.failure_action"),
                &["continue", "rollback", "pause"],
                |s| match s {
                    "continue" => Some(FailureAction::Continue),
                    "rollback" => Some(FailureAction::Rollback),
                    "pause" => Some(FailureAction::Pause),
                    _ => None,
                },
            )
        }),
        monitor: node.get("monitor").and_then(|n| d.duration(n, &format!("{p}.monitor"))),
        max_failure_ratio: node
            .get("max_failure_ratio")
            .and_then(|n| d.f64(n, &format!("{p}.max_failure_ratio"))),
        order: node.get("order").and_then(|n| {
            enum_value(
                d,
                n,
                &format!("{p}.order"),
                &["start-first", "stop-first"],
                |s| match s {
                    "start-first" => Some(UpdateOrder::StartFirst),
                    "stop-first" => Some(UpdateOrder::StopFirst),
                    _ => None,
                },
            )
        }),
    })
}

fn decode_ports(node: &Node, p: &str, d: &mut Decoder) -> Vec<Port> {
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
                let protocol = item.get("protocol").map_or(Some(Protocol::Tcp), |n| protocol(n, p, d));
                let mode = item.get("mode").map_or(Some(PublishMode::Ingress), |n| {
                    enum_value(d, n, &format!("{p}.mode"), &["ingress", "host"], |s| match s {
                        "ingress" => Some(PublishMode::Ingress),
                        "host" => Some(PublishMode::Host),
                        _ => None,
                    })
                });
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

fn protocol(node: &Node, p: &str, d: &mut Decoder) -> Option<Protocol> {
    enum_value(
        d,
        node,
        &format!("{p}.protocol"),
        &["tcp", "udp", "sctp"],
        parse_protocol,
    )
}

fn parse_protocol(s: &str) -> Option<Protocol> {
    match s {
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        "sctp" => Some(Protocol::Sctp),
        _ => None,
    }
}

/// Short port syntax: `80`, `8080:80`, `8080:80/udp`, `127.0.0.1:8080:80`,
/// `8000-8001:80-81`. Ranges expand to one port each, as docker does.
pub fn parse_short_port(text: &str) -> Result<Vec<Port>, String> {
    let (spec, proto) = match text.rsplit_once('/') {
        Some((s, p)) => (s, parse_protocol(p).ok_or_else(|| format!("unknown protocol `{p}`"))?),
        None => (text, Protocol::Tcp),
    };
    // Drop a host IP: everything before the last two colon-separated parts.
    let parts: Vec<&str> = if spec.starts_with('[') {
        let close = spec.find(']').ok_or("an IPv6 address is not closed with `]`")?;
        spec[close + 1..].trim_start_matches(':').split(':').collect()
    } else {
        spec.split(':').collect()
    };
    let (published, target) = match parts.as_slice() {
        [t] => (None, *t),
        [p, t] => (Some(*p), *t),
        [_ip, p, t] => (if p.is_empty() { None } else { Some(*p) }, *t),
        _ => return Err("too many `:`".into()),
    };
    let range = |s: &str| -> Result<(u16, u16), String> {
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let a: u16 = a.parse().map_err(|_| format!("`{a}` is not a port number"))?;
        let b: u16 = b.parse().map_err(|_| format!("`{b}` is not a port number"))?;
        if a == 0 || b < a {
            return Err(format!("`{s}` is not a valid port range"));
        }
        Ok((a, b))
    };
    let (t0, t1) = range(target)?;
    let published = published.map(range).transpose()?;
    if let Some((p0, p1)) = published
        && p1 - p0 != t1 - t0
        && p0 != p1
    {
        return Err("the published and target ranges differ in size".into());
    }
    Ok((0..=(t1 - t0))
        .map(|i| Port {
            target: t0 + i,
            published: published.map(|(p0, p1)| if p0 == p1 { p0 } else { p0 + i }),
            protocol: proto,
            mode: PublishMode::Ingress,
            declared_at: None,
        })
        .collect())
}

fn decode_service_networks(node: &Node, p: &str, d: &mut Decoder) -> BTreeMap<String, ServiceNetwork> {
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

fn decode_mounts(node: &Node, p: &str, d: &mut Decoder) -> Vec<Mount> {
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

fn is_path_like(s: &str) -> bool {
    s.starts_with('/') || s.starts_with('.') || s.starts_with('~') || s.starts_with('$')
}

pub fn parse_short_volume(text: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, opts) = match parts.as_slice() {
        [t] => (None, *t, ""),
        [s, t] => (Some(*s), *t, ""),
        [s, t, o] => (Some(*s), *t, *o),
        _ => return Err("too many `:`".into()),
    };
    if target.is_empty() {
        return Err("the container path is empty".into());
    }
    if !target.starts_with('/') {
        return Err(format!("the container path `{target}` is not absolute"));
    }
    let mut m = Mount {
        kind: match source {
            Some(s) if is_path_like(s) => MountType::Bind,
            _ => MountType::Volume,
        },
        source: source.map(str::to_owned),
        target: target.to_owned(),
        read_only: false,
        consistency: None,
        bind_propagation: None,
        bind_create_host_path: None,
        volume_nocopy: false,
        tmpfs_size: None,
        tmpfs_mode: None,
        declared_at: None,
    };
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => m.read_only = true,
            "rw" => m.read_only = false,
            "nocopy" => m.volume_nocopy = true,
            "z" | "Z" => {}
            "cached" | "delegated" | "consistent" => m.consistency = Some(opt.to_owned()),
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                m.bind_propagation = Some(opt.to_owned());
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if m.kind == MountType::Bind {
        // docker stack deploy creates missing bind sources only with the long form.
        m.bind_create_host_path = Some(true);
    }
    Ok(m)
}

fn decode_long_mount(item: &Node, p: &str, d: &mut Decoder) -> Option<Mount> {
    d.mapping(item, p, keys::MOUNT, true)?;
    let kind = match item.get("type") {
        Some(t) => enum_value(
            d,
            t,
            &format!("{p}.type"),
            &["bind", "volume", "tmpfs", "npipe", "cluster"],
            |s| {
                Some(match s {
                    "bind" => MountType::Bind,
                    "volume" => MountType::Volume,
                    "tmpfs" => MountType::Tmpfs,
                    "npipe" => MountType::Npipe,
                    "cluster" => MountType::Cluster,
                    _ => return None,
                })
            },
        )?,
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
            .and_then(|n| d.opt_string(n, &format!("{p}.consistency"))),
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
            .and_then(|n| d.opt_string(n, &format!("{p}.bind.propagation")));
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
            .and_then(|n| d.u32_in(n, &format!("{p}.tmpfs.mode"), 0..=0o7777));
    }
    Some(m)
}

fn decode_file_refs(node: &Node, p: &str, d: &mut Decoder) -> Vec<FileReference> {
    let Some(items) = node.as_seq() else {
        if !node.is_null() {
            d.expected(node, "a list", p);
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        match &item.value {
            Value::Scalar { text, .. } => out.push(FileReference {
                source: text.clone(),
                target: None,
                uid: None,
                gid: None,
                mode: None,
                declared_at: Some(item.span),
            }),
            Value::Map(_) => {
                if d.mapping(item, p, keys::FILE_REFERENCE, true).is_none() {
                    continue;
                }
                let Some(source) = item.get("source").and_then(|s| d.string(s, &format!("{p}.source"))) else {
                    if item.get("source").is_none() {
                        d.diags.error_help(
                            "missing-key",
                            Some(item.span),
                            format!("an entry in `{p}` has no `source`"),
                            "name the config or secret with `source:`",
                        );
                    }
                    continue;
                };
                let mode = item.get("mode").and_then(|m| file_mode(m, &format!("{p}.mode"), d));
                out.push(FileReference {
                    source,
                    target: item.get("target").and_then(|n| d.opt_string(n, &format!("{p}.target"))),
                    uid: item.get("uid").and_then(|n| d.opt_string(n, &format!("{p}.uid"))),
                    gid: item.get("gid").and_then(|n| d.opt_string(n, &format!("{p}.gid"))),
                    mode,
                    declared_at: Some(item.span),
                });
            }
            _ => d.expected(item, "a name or a mapping with `source`", p),
        }
    }
    out
}

/// File modes: YAML octal `0440`/`0o440` or a decimal number, as compose reads them.
fn file_mode(node: &Node, p: &str, d: &mut Decoder) -> Option<u32> {
    let text = node.as_scalar().unwrap_or_default().trim();
    let parsed = if let Some(oct) = text.strip_prefix("0o") {
        u32::from_str_radix(oct, 8).ok()
    } else if text.len() > 1 && text.starts_with('0') {
        u32::from_str_radix(&text[1..], 8).ok()
    } else {
        text.parse::<u32>().ok()
    };
    match parsed {
        None => d.expected(node, "a file mode such as 0440", p),
        Some(mode) if mode > 0o7777 => {
            d.diags.error_help(
                "out-of-range",
                Some(node.span),
                format!("`{p}` is {text}, more than the largest file mode 07777"),
                "write a file mode such as 0440",
            );
            return None;
        }
        Some(_) => {}
    }
    parsed
}

fn decode_healthcheck(node: &Node, p: &str, d: &mut Decoder) -> Option<Healthcheck> {
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

/// `external: true`, `external: {name: x}` (legacy), plus the `name:` key.
fn decode_external(node: &Node, name: &str, p: &str, d: &mut Decoder) -> (bool, Option<String>) {
    let explicit = node.get("name").and_then(|n| d.opt_string(n, &format!("{p}.name")));
    let Some(ext) = node.get("external") else {
        return (false, explicit);
    };
    let external = match &ext.value {
        Value::Map(_) => {
            if d.mapping(ext, &format!("{p}.external"), keys::EXTERNAL, false)
                .is_some()
                && let Some(n) = ext.get("name").and_then(|n| d.string(n, &format!("{p}.external.name")))
            {
                return (true, Some(n));
            }
            true
        }
        _ => d.bool(ext, &format!("{p}.external")).unwrap_or(false),
    };
    (external, explicit.or_else(|| external.then(|| name.to_owned())))
}

fn decode_network_def(name: &str, at: Span, node: &Node, d: &mut Decoder) -> Option<NetworkDef> {
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

fn decode_volume_def(name: &str, at: Span, node: &Node, d: &mut Decoder) -> Option<VolumeDef> {
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

fn decode_file_object(
    name: &str,
    at: Span,
    node: &Node,
    section: &str,
    known: &[&str],
    d: &mut Decoder,
    files: &mut dyn FileAccess,
) -> Option<FileObjectDef> {
    let p = format!("{section}.{name}");
    d.mapping(node, &p, known, true)?;
    let (external, ext_name) = decode_external(node, name, &p, d);
    let mut def = FileObjectDef {
        labels: node
            .get("labels")
            .map(|n| string_map(n, &format!("{p}.labels"), d))
            .unwrap_or_default(),
        template_driver: node
            .get("template_driver")
            .and_then(|n| d.opt_string(n, &format!("{p}.template_driver"))),
        declared_at: Some(at),
        ..FileObjectDef::default()
    };
    if external {
        def.external_name = ext_name;
        return Some(def);
    }
    def.name = ext_name;
    if let Some(f) = node.get("file") {
        let file = d.string(f, &format!("{p}.file"))?;
        if let Some((path, bytes)) = files.read_file(&file, f.span, &format!("{p}.file"), d) {
            def.file = Some(path);
            def.content = Some(Content(bytes));
        }
    } else if let Some(c) = node.get("content") {
        def.content = d.string(c, &format!("{p}.content")).map(|s| Content(s.into_bytes()));
    } else if let Some(e) = node.get("environment") {
        d.diags.error_help(
            "unsupported",
            Some(e.span),
            format!("`{p}.environment` is not supported by swarmkeeper"),
            "put the value in a file and use `file:`",
        );
    } else {
        d.diags.error_help(
            "missing-key",
            Some(at),
            format!("`{p}` has no `file` and is not `external`"),
            "point at the content with `file: ./path` or declare `external: true`",
        );
    }
    Some(def)
}

/// Every network, volume, config and secret a service names is declared.
fn check_references(file: &ComposeFile, d: &mut Decoder) {
    for (name, svc) in &file.services {
        for (net, attachment) in &svc.networks {
            if net != "default" && !file.networks.contains_key(net) {
                let declared: Vec<&str> = file.networks.keys().map(String::as_str).collect();
                undefined(
                    d,
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
                undefined(d, m.declared_at, name, "volume", src, &declared);
            }
        }
        for (kind, refs, defs) in [
            ("config", &svc.configs, &file.configs),
            ("secret", &svc.secrets, &file.secrets),
        ] {
            for r in refs {
                if !defs.contains_key(&r.source) {
                    let declared: Vec<&str> = defs.keys().map(String::as_str).collect();
                    undefined(d, r.declared_at, name, kind, &r.source, &declared);
                }
            }
        }
    }
}

fn undefined(d: &mut Decoder, at: Option<Span>, service: &str, kind: &str, name: &str, declared: &[&str]) {
    let help = match crate::decode::did_you_mean(name, declared) {
        Some(s) => {
            format!("did you mean `{s}`? Otherwise declare `{name}` under the top-level `{kind}s:`")
        }
        None => format!("declare `{name}` under the top-level `{kind}s:` key"),
    };
    d.diags.error_help(
        "undefined-reference",
        at,
        format!("service `{service}` uses {kind} `{name}`, which is not declared"),
        help,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ports() {
        let p = |s: &str| {
            parse_short_port(s).map(|v| {
                v.iter()
                    .map(|p| (p.published, p.target, p.protocol))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(p("80"), Ok(vec![(None, 80, Protocol::Tcp)]));
        assert_eq!(p("8080:80"), Ok(vec![(Some(8080), 80, Protocol::Tcp)]));
        assert_eq!(p("53:53/udp"), Ok(vec![(Some(53), 53, Protocol::Udp)]));
        assert_eq!(p("127.0.0.1:8080:80"), Ok(vec![(Some(8080), 80, Protocol::Tcp)]));
        assert_eq!(
            p("8000-8001:90-91"),
            Ok(vec![(Some(8000), 90, Protocol::Tcp), (Some(8001), 91, Protocol::Tcp)])
        );
        assert!(p("80/xyz").is_err());
        assert!(p("abc").is_err());
        assert!(p("1:2:3:4").is_err());
    }

    #[test]
    fn short_volumes() {
        let m = parse_short_volume("data:/var/lib/data:ro").expect("valid");
        assert_eq!(
            (m.kind, m.source.as_deref(), m.target.as_str(), m.read_only),
            (MountType::Volume, Some("data"), "/var/lib/data", true)
        );
        let m = parse_short_volume("/srv:/srv").expect("valid");
        assert_eq!(m.kind, MountType::Bind);
        let m = parse_short_volume("/cache").expect("valid");
        assert_eq!((m.kind, m.source), (MountType::Volume, None));
        assert!(parse_short_volume("data:relative").is_err());
        assert!(parse_short_volume("a:/b:bogus").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("512M"), Some(512 * 1024 * 1024));
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("1.5GB"), Some(3 << 29));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("lots"), None);
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            shell_split(r#"sh -c "echo 'hi there'""#),
            Ok(vec!["sh".into(), "-c".into(), "echo 'hi there'".into()])
        );
        assert_eq!(shell_split("a\\ b c"), Ok(vec!["a b".into(), "c".into()]));
        assert!(shell_split("echo 'oops").is_err());
    }
}
