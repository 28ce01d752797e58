//! The kitchen-sink stack uses every compose key swarmkeeper deploys; this
//! checks each one decodes to what `docker stack deploy` would read.

use std::time::Duration;

use swarmkeeper_model::compose::*;
use swarmkeeper_model::{Variables, load_dir};

/// This package's directory, as cargo gives it when it runs the test: a test
/// binary cargo reuses from a build of a checkout elsewhere (one target
/// directory for every clone) must read this checkout's files, not that one's.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

fn load() -> (ComposeFile, Vec<String>) {
    let dir = manifest_dir().join("../../tests/corpus/valid/kitchen-sink");
    let env: Variables = [("FROM_HOST".to_owned(), "host-value".to_owned())].into();
    let outcome = load_dir(&dir, &env);
    let warnings = outcome
        .diagnostics
        .iter()
        .map(|d| d.resolve(&outcome.sources).message)
        .collect();
    let state = outcome.state.expect("kitchen sink is valid");
    (state.stacks["sink"].compose.clone(), warnings)
}

#[test]
fn every_key_decodes() {
    let (file, warnings) = load();
    assert!(warnings.is_empty(), "{warnings:?}");
    let web = &file.services["web"];

    assert_eq!(web.image, "nginx:1.27");
    assert_eq!(
        web.entrypoint.as_deref(),
        Some(&["/docker-entrypoint.sh".to_owned()][..])
    );
    assert_eq!(
        web.command.as_deref(),
        Some(&["nginx".to_owned(), "-g".to_owned(), "daemon off;".to_owned()][..])
    );
    let env = |k: &str| web.environment.get(k).cloned().flatten();
    assert_eq!(
        env("OVERRIDDEN").as_deref(),
        Some("inline"),
        "environment wins over env_file"
    );
    assert_eq!(env("FROM_FILE").as_deref(), Some("1"));
    assert_eq!(env("DEFAULTED").as_deref(), Some("fallback"));
    assert_eq!(env("ALT").as_deref(), Some("tagged"));
    assert_eq!(env("DOLLAR").as_deref(), Some("$HOME"));
    assert_eq!(env("EMPTY_DEFAULT").as_deref(), Some(""));
    assert_eq!(
        env("FROM_HOST").as_deref(),
        Some("host-value"),
        "a bare key takes the environment's value"
    );
    assert_eq!(
        web.environment.get("NOT_IN_ENV"),
        Some(&None),
        "and stays bare when the environment has none"
    );
    assert_eq!(web.labels.get("com.example.team").map(String::as_str), Some("platform"));
    assert_eq!(web.labels.get("com.example.role").map(String::as_str), Some("frontend"));
    assert_eq!(web.user.as_deref(), Some("101:101"));
    assert_eq!(web.working_dir.as_deref(), Some("/srv"));
    assert_eq!(web.hostname.as_deref(), Some("web-{{.Task.Slot}}"));
    assert_eq!(web.stop_grace_period, Some(Duration::from_secs(45)));
    assert_eq!(web.stop_signal.as_deref(), Some("SIGTERM"), "merged from x-common");
    let logging = web.logging.as_ref().expect("logging");
    assert_eq!(logging.driver.as_deref(), Some("json-file"));
    assert_eq!(logging.options.get("max-size").map(String::as_str), Some("10m"));
    assert_eq!(web.cap_add, ["NET_ADMIN"]);
    assert_eq!(web.cap_drop, ["ALL"]);
    assert_eq!(
        web.sysctls.get("net.ipv4.ip_local_port_range").map(String::as_str),
        Some("1024 65000")
    );
    assert_eq!(web.ulimits.get("nofile"), Some(&Ulimit { soft: 1024, hard: 2048 }));
    assert_eq!(web.init, Some(true));
    assert_eq!(web.extra_hosts, ["db.internal:10.0.0.5"]);
    assert_eq!(web.dns, ["1.1.1.1", "9.9.9.9"]);
    assert_eq!(web.dns_search, ["example.internal"]);
    assert!(web.read_only);

    let ports: Vec<(Option<u16>, u16, Protocol, PublishMode)> = web
        .ports
        .iter()
        .map(|p| (p.published, p.target, p.protocol, p.mode))
        .collect();
    assert_eq!(
        ports,
        [
            (Some(80), 8080, Protocol::Tcp, PublishMode::Ingress),
            (Some(8443), 443, Protocol::Tcp, PublishMode::Ingress),
            (Some(9000), 9000, Protocol::Udp, PublishMode::Host),
        ]
    );
    assert_eq!(web.networks["front"].aliases, ["www", "web-alias"]);
    assert!(web.networks.contains_key("back"));

    let mounts: Vec<(MountType, Option<&str>, &str, bool)> = web
        .volumes
        .iter()
        .map(|m| (m.kind, m.source.as_deref(), m.target.as_str(), m.read_only))
        .collect();
    assert_eq!(
        mounts,
        [
            (MountType::Volume, Some("static"), "/usr/share/nginx/html", true),
            (MountType::Bind, Some("/var/log/nginx"), "/var/log/nginx", false),
            (MountType::Tmpfs, None, "/cache", false),
            (MountType::Volume, Some("static"), "/mnt/static", false),
            (MountType::Tmpfs, None, "/run", false),
        ]
    );
    assert_eq!(web.volumes[2].tmpfs_size, Some(64 << 20));
    assert!(web.volumes[3].volume_nocopy);

    assert_eq!(web.configs[0].source, "nginx_conf");
    assert_eq!(web.configs[0].target.as_deref(), Some("/etc/nginx/conf.d/default.conf"));
    assert_eq!(web.configs[0].mode, Some(0o444));
    assert_eq!(web.secrets[0].source, "api_key");

    let hc = web.healthcheck.as_ref().expect("healthcheck");
    assert_eq!(hc.test.as_ref().map(Vec::len), Some(4));
    assert_eq!(hc.interval, Some(Duration::from_secs(30)));
    assert_eq!(hc.timeout, Some(Duration::from_secs(3)));
    assert_eq!(hc.retries, Some(4));
    assert_eq!(hc.start_period, Some(Duration::from_secs(10)));

    let deploy = &web.deploy;
    assert_eq!(deploy.mode, ServiceMode::Replicated);
    assert_eq!(deploy.replicas, Some(3), "interpolated then cast, as docker does");
    assert_eq!(deploy.endpoint_mode, Some(EndpointMode::Vip));
    assert_eq!(
        deploy.labels.get("com.example.deployed-by").map(String::as_str),
        Some("swarmkeeper")
    );
    assert_eq!(
        deploy.placement.constraints,
        ["node.role == worker", "node.labels.zone != b"]
    );
    assert_eq!(deploy.placement.preferences, ["node.labels.zone"]);
    assert_eq!(deploy.placement.max_replicas_per_node, Some(2));
    assert_eq!(deploy.resources.limits.nano_cpus, Some(500_000_000));
    assert_eq!(deploy.resources.limits.memory_bytes, Some(256 << 20));
    assert_eq!(deploy.resources.limits.pids, Some(200));
    assert_eq!(deploy.resources.reservations.nano_cpus, Some(250_000_000));
    let restart = deploy.restart_policy.as_ref().expect("restart_policy");
    assert_eq!(restart.condition, Some(RestartCondition::OnFailure));
    assert_eq!(restart.delay, Some(Duration::from_secs(5)));
    assert_eq!(restart.max_attempts, Some(3));
    assert_eq!(restart.window, Some(Duration::from_secs(120)));
    let update = deploy.update_config.as_ref().expect("update_config");
    assert_eq!(update.parallelism, Some(2));
    assert_eq!(update.failure_action, Some(FailureAction::Rollback));
    assert_eq!(update.monitor, Some(Duration::from_secs(60)));
    assert_eq!(update.max_failure_ratio, Some(0.1));
    assert_eq!(update.order, Some(UpdateOrder::StartFirst));
    let rollback = deploy.rollback_config.as_ref().expect("rollback_config");
    assert_eq!(rollback.failure_action, Some(FailureAction::Pause));
    assert_eq!(rollback.order, Some(UpdateOrder::StopFirst));

    let agent = &file.services["agent"];
    assert_eq!(agent.deploy.mode, ServiceMode::Global);
    let restart = agent.restart.as_ref().expect("restart: on-failure:2");
    assert_eq!(
        (restart.condition, restart.max_attempts),
        (Some(RestartCondition::OnFailure), Some(2))
    );
    assert_eq!(
        agent.healthcheck.as_ref().and_then(|h| h.test.clone()),
        Some(vec!["NONE".to_owned()])
    );

    assert!(file.networks["front"].attachable);
    assert!(file.networks["back"].internal);
    assert_eq!(file.networks["back"].ipam_subnets, ["10.20.0.0/24"]);
    assert_eq!(
        file.volumes["static"]
            .labels
            .get("com.example.volume")
            .map(String::as_str),
        Some("static")
    );
    assert_eq!(
        file.configs["nginx_conf"].content.as_ref().map(|c| c.0.clone()),
        Some(b"server { listen 80; }\n".to_vec())
    );
    assert!(file.secrets["api_key"].content.is_some());
    assert_eq!(
        format!("{:?}", file.secrets["api_key"].content),
        "Some(Content(7 bytes))",
        "secret bytes never print"
    );
}

#[test]
fn keys_swarm_ignores_are_warnings_with_their_line() {
    let dir = manifest_dir().join("../../tests/corpus/valid/nextcloud-redis");
    let outcome = load_dir(&dir, &Variables::new());
    assert!(outcome.state.is_some());
    let warnings: Vec<(u32, String)> = outcome
        .diagnostics
        .iter()
        .map(|d| {
            let r = d.resolve(&outcome.sources);
            (r.location.map_or(0, |l| l.line), r.message)
        })
        .collect();
    let ignored: Vec<&(u32, String)> = warnings
        .iter()
        .filter(|(_, m)| m.contains("ignored by swarm"))
        .collect();
    assert!(
        ignored
            .iter()
            .any(|(line, m)| *line == 25 && m.contains("services.app.depends_on")),
        "{warnings:?}"
    );
    assert_eq!(ignored.len(), 2, "2 depends_on: {warnings:?}");
    // `restart:` is used, as docker stack deploy does when no restart_policy is set.
    let state = outcome.state.as_ref().expect("valid");
    let db = &state.stacks["cloud"].compose.services["db"];
    assert_eq!(
        db.restart.as_ref().and_then(|r| r.condition),
        Some(RestartCondition::Any)
    );
}
