//! Compatibility with `docker stack deploy`: the same compose file deployed
//! by docker (stack `compata`) and by swarmkeeper (stack `compatb`) gives
//! equal ServiceSpecs once the stack name is factored out.
//!
//! Both sides are read with the same instrument (`docker service inspect`)
//! and normalised the same way: the stack name becomes `STACK`; ids are
//! dropped and network ids replaced by names; swarmkeeper's own ownership
//! labels and the content hash in its config/secret names are removed (its
//! documented differences); zero values are dropped, as Go's `omitempty`
//! makes "unset" and "zero" the same thing.

mod common;

use std::collections::BTreeMap;

use common::{DesiredDir, docker, reset, swarmkeeper};
use serde_json::Value;

const SERVICES: &[&str] = &["web", "agent", "plain"];

/// Published ports of each side: (http, udp, tls).
const PORTS_A: [u16; 3] = [18201, 18202, 18203];
const PORTS_B: [u16; 3] = [18211, 18212, 18213];

fn port_env(ports: [u16; 3]) -> [(&'static str, String); 3] {
    [
        ("PORT_HTTP", ports[0].to_string()),
        ("PORT_UDP", ports[1].to_string()),
        ("PORT_TLS", ports[2].to_string()),
    ]
}

fn normalise(spec: &Value, stack: &str, ports: [u16; 3], networks: &BTreeMap<String, String>) -> Value {
    let text = serde_json::to_string(spec).expect("json");
    let mut v: Value = serde_json::from_str(&text.replace(stack, "STACK")).expect("json");
    if let Some(labels) = v["Labels"].as_object_mut() {
        labels.retain(|k, _| !k.starts_with("io.swarmkeeper."));
    }
    if let Some(list) = v["EndpointSpec"]["Ports"].as_array_mut() {
        for p in list.iter_mut() {
            if let Some(i) = ports
                .iter()
                .position(|x| p["PublishedPort"].as_u64() == Some(u64::from(*x)))
            {
                p["PublishedPort"] = Value::String(format!("PORT{i}"));
            }
        }
        list.sort_by_key(|p| p.to_string());
    }
    let task = &mut v["TaskTemplate"];
    task.as_object_mut().map(|t| t.remove("ForceUpdate"));
    if let Some(nets) = task["Networks"].as_array_mut() {
        for n in nets {
            let id = n["Target"].as_str().unwrap_or_default().to_owned();
            n["Target"] = Value::String(networks.get(&id).cloned().unwrap_or(id).replace(stack, "STACK"));
        }
    }
    let container = &mut task["ContainerSpec"];
    for (list, id_key, name_key) in [
        ("Secrets", "SecretID", "SecretName"),
        ("Configs", "ConfigID", "ConfigName"),
    ] {
        if let Some(items) = container[list].as_array_mut() {
            for item in items {
                let obj = item.as_object_mut().expect("object");
                obj.remove(id_key);
                if let Some(Value::String(name)) = obj.get_mut(name_key) {
                    *name = strip_hash(name);
                }
            }
        }
    }
    prune_zero(&mut v);
    v
}

/// `STACK_token_0123456789` → `STACK_token`.
fn strip_hash(name: &str) -> String {
    match name.rsplit_once('_') {
        Some((base, hash)) if hash.len() == 10 && hash.chars().all(|c| c.is_ascii_hexdigit()) => base.to_owned(),
        _ => name.to_owned(),
    }
}

fn prune_zero(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune_zero(child);
            }
            map.retain(|_, c| !is_zero(c));
        }
        Value::Array(items) => items.iter_mut().for_each(prune_zero),
        _ => {}
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn same_service_specs_as_docker_stack_deploy() {
    let _serial = common::serial();
    let lab = common::lab("same_service_specs_as_docker_stack_deploy");
    reset(&lab, &["compata"]);
    let source = common::repo_root().join("tests/compat");

    let deploy = std::process::Command::new("docker")
        .args([
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "-c",
            "compat.yml",
            "compata",
        ])
        .current_dir(&source)
        .envs(&lab)
        .envs(port_env(PORTS_A))
        .output()
        .expect("docker stack deploy");
    assert!(deploy.status.success(), "{}", String::from_utf8_lossy(&deploy.stderr));

    let dir = DesiredDir::new("compat");
    for file in ["compat.yml", "page.html", "settings.conf", "token.txt", "other.txt"] {
        dir.write(file, &std::fs::read_to_string(source.join(file)).expect("compat file"));
    }
    dir.write(
        "swarmkeeper.yaml",
        "version: 1\nstacks:\n  compatb:\n    compose: compat.yml\n",
    );
    let mut lab_b = lab.clone();
    lab_b.extend(port_env(PORTS_B).map(|(k, v)| (k.to_owned(), v)));
    let run = swarmkeeper(&lab_b, &["reconcile", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");

    let ls = docker(&lab, &["network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Name}}"]);
    let networks: BTreeMap<String, String> = ls
        .stdout
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, name)| (id.to_owned(), name.to_owned()))
        .collect();
    let mut mismatches = Vec::new();
    for service in SERVICES {
        let a = common::inspect(&lab, "service", &format!("compata_{service}"));
        let b = common::inspect(&lab, "service", &format!("compatb_{service}"));
        let a = normalise(&a["Spec"], "compata", PORTS_A, &networks);
        let b = normalise(&b["Spec"], "compatb", PORTS_B, &networks);
        if a != b {
            mismatches.push(format!(
                "{service}:\n docker stack deploy: {}\n swarmkeeper:         {}",
                serde_json::to_string(&a).unwrap_or_default(),
                serde_json::to_string(&b).unwrap_or_default()
            ));
        }
    }
    // The networks too (labels aside, which carry swarmkeeper's ownership).
    for net in ["front", "back"] {
        let a = common::inspect(&lab, "network", &format!("compata_{net}"));
        let b = common::inspect(&lab, "network", &format!("compatb_{net}"));
        for key in ["Driver", "Internal", "Attachable", "Scope"] {
            if a[key] != b[key] {
                mismatches.push(format!("network {net}: {key}: {} vs {}", a[key], b[key]));
            }
        }
    }
    // Prune with the B ports in the environment, so the compose file loads.
    reset(&lab_b, &["compata"]);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
