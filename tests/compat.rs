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
            for item in items.iter_mut() {
                let obj = item.as_object_mut().expect("object");
                obj.remove(id_key);
                if let Some(Value::String(name)) = obj.get_mut(name_key) {
                    *name = strip_hash(name);
                }
            }
            // docker sorts references by name only, and two references to one secret
            // come out in the order of a Go map (docker/cli ParseSecrets): random.
            items.sort_by_key(|item| item.to_string());
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

/// Published ports of the real-world-modelled stack number `i`, `P1`..`P3`:
/// docker's side and swarmkeeper's (each stack its own, as ports are
/// unique in a swarm).
fn stack_ports(i: usize) -> ([u16; 3], [u16; 3]) {
    let base = 18300 + 10 * u16::try_from(i).expect("few stacks");
    ([base + 1, base + 2, base + 3], [base + 5, base + 6, base + 7])
}

fn stack_port_env(ports: [u16; 3]) -> Vec<(String, String)> {
    (1..=3).map(|i| (format!("P{i}"), ports[i - 1].to_string())).collect()
}

/// A deliberate difference (docs/reference.md): swarmkeeper applies a
/// tmpfs mount's `tmpfs.mode`, which `docker stack deploy` drops.
fn without_tmpfs_mode(spec: &mut Value) {
    let mounts = spec
        .pointer_mut("/TaskTemplate/ContainerSpec/Mounts")
        .and_then(Value::as_array_mut);
    for m in mounts.into_iter().flatten() {
        if let Some(t) = m.get_mut("TmpfsOptions").and_then(Value::as_object_mut) {
            t.remove("Mode");
        }
    }
}

/// The names of a stack's services or networks, by their namespace label.
fn stack_objects(lab: &BTreeMap<String, String>, kind: &str, stack: &str) -> Vec<String> {
    let ls = docker(
        lab,
        &[
            kind,
            "ls",
            "--filter",
            &format!("label=com.docker.stack.namespace={stack}"),
            "--format",
            "{{.Name}}",
        ],
    );
    let mut names: Vec<String> = ls.stdout.lines().map(str::to_owned).collect();
    names.sort();
    names
}

/// Stack files modelled on well-known public stacks (tests/compat/stacks,
/// one directory each): deployed by `docker stack deploy` and by
/// swarmkeeper, every service equal field by field (the documented
/// differences aside, see `normalise`), the networks alike, and a second
/// reconcile changes nothing.
#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn real_world_stacks_come_out_as_docker_stack_deploy_makes_them() {
    let _serial = common::serial();
    let lab = common::lab("real_world_stacks_come_out_as_docker_stack_deploy_makes_them");
    let root = common::repo_root().join("tests/compat/stacks");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .expect("tests/compat/stacks")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("stack.yml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "at least ten stacks: {names:?}");
    let docker_stacks: Vec<String> = (0..names.len()).map(|i| format!("rwa{i:02}")).collect();
    let docker_refs: Vec<&str> = docker_stacks.iter().map(String::as_str).collect();
    reset(&lab, &docker_refs);
    // What the external stack expects to exist, made by hand.
    let _ = docker(&lab, &["network", "rm", "compat_ext_proxy"]);
    let _ = docker(&lab, &["secret", "rm", "compat_ext_db"]);
    let made = docker(
        &lab,
        &[
            "network",
            "create",
            "--driver",
            "overlay",
            "--attachable",
            "compat_ext_proxy",
        ],
    );
    assert_eq!(made.code, Some(0), "{made:?}");
    let secret = std::process::Command::new("docker")
        .args(["secret", "create", "compat_ext_db", "-"])
        .envs(&lab)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().map(|mut s| s.write_all(b"not-a-real-password"));
            child.wait()
        })
        .expect("docker secret create");
    assert!(secret.success());

    let dir = DesiredDir::new("compat-stacks");
    let mut root_yaml = String::from("version: 1\nstacks:\n");
    for (i, name) in names.iter().enumerate() {
        let (ports_a, ports_b) = stack_ports(i);
        let mut env_a = lab.clone();
        env_a.extend(stack_port_env(ports_a));
        let deploy = std::process::Command::new("docker")
            .args(["stack", "deploy", "--resolve-image", "never", "-c", "stack.yml"])
            .arg(&docker_stacks[i])
            .current_dir(root.join(name))
            .envs(&env_a)
            // As a shell in that directory has it (`$PWD/…` in a file).
            .env("PWD", root.join(name))
            .output()
            .expect("docker stack deploy");
        assert!(
            deploy.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&deploy.stderr)
        );
        for entry in std::fs::read_dir(root.join(name)).expect("stack directory").flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(entry.path()).expect("stack file");
            dir.write(&format!("{name}/{file}"), &text);
        }
        // swarmkeeper's side takes its ports from the stack's env_file.
        let env: String = stack_port_env(ports_b)
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        dir.write(&format!("rwb{i:02}.env"), &env);
        root_yaml.push_str(&format!(
            "  rwb{i:02}:\n    compose: {name}/stack.yml\n    env_file: rwb{i:02}.env\n"
        ));
    }
    dir.write("swarmkeeper.yaml", &root_yaml);
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg()]);
    // A second reconcile makes no write: nothing differs.
    let again = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);

    let ls = docker(&lab, &["network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Name}}"]);
    let networks: BTreeMap<String, String> = ls
        .stdout
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, name)| (id.to_owned(), name.to_owned()))
        .collect();
    let mut mismatches = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (a, b) = (format!("rwa{i:02}"), format!("rwb{i:02}"));
        let (ports_a, ports_b) = stack_ports(i);
        let strip = |stack: &str, list: Vec<String>| -> Vec<String> {
            list.iter().map(|n| n.replacen(stack, "STACK", 1)).collect()
        };
        let services_a = strip(&a, stack_objects(&lab, "service", &a));
        let services_b = strip(&b, stack_objects(&lab, "service", &b));
        if services_a != services_b {
            mismatches.push(format!("{name}: services {services_a:?} vs {services_b:?}"));
            continue;
        }
        for service in &services_a {
            let sa = common::inspect(&lab, "service", &service.replacen("STACK", &a, 1));
            let sb = common::inspect(&lab, "service", &service.replacen("STACK", &b, 1));
            let sa = normalise(&sa["Spec"], &a, ports_a, &networks);
            let mut sb = normalise(&sb["Spec"], &b, ports_b, &networks);
            without_tmpfs_mode(&mut sb);
            if sa != sb {
                mismatches.push(format!(
                    "{name} {service}:\n docker stack deploy: {}\n swarmkeeper:         {}",
                    serde_json::to_string(&sa).unwrap_or_default(),
                    serde_json::to_string(&sb).unwrap_or_default()
                ));
            }
        }
        let nets_a = strip(&a, stack_objects(&lab, "network", &a));
        let nets_b = strip(&b, stack_objects(&lab, "network", &b));
        if nets_a != nets_b {
            mismatches.push(format!("{name}: networks {nets_a:?} vs {nets_b:?}"));
            continue;
        }
        for net in &nets_a {
            let na = common::inspect(&lab, "network", &net.replacen("STACK", &a, 1));
            let nb = common::inspect(&lab, "network", &net.replacen("STACK", &b, 1));
            // The VXLAN id is the engine's pick, different for every network.
            let options = |n: &Value| {
                let mut o = n["Options"].clone();
                o.as_object_mut()
                    .map(|o| o.remove("com.docker.network.driver.overlay.vxlanid_list"));
                o
            };
            if options(&na) != options(&nb) {
                mismatches.push(format!(
                    "{name} network {net}: Options: {} vs {}",
                    na["Options"], nb["Options"]
                ));
            }
            for key in ["Driver", "Internal", "Attachable", "Scope"] {
                if na[key] != nb[key] {
                    mismatches.push(format!("{name} network {net}: {key}: {} vs {}", na[key], nb[key]));
                }
            }
        }
    }
    reset(&lab, &docker_refs);
    let _ = docker(&lab, &["network", "rm", "compat_ext_proxy"]);
    let _ = docker(&lab, &["secret", "rm", "compat_ext_db"]);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(again.code, Some(0), "a second reconcile changes nothing: {again:?}");
    assert_eq!(run.code, Some(0), "{run:?}");
}
