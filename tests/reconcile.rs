//! `swarmkeeper reconcile` against the lab's real swarm: create, update,
//! prune, rotate, stay idempotent, and refuse what it must refuse.

mod common;

use common::{DesiredDir, docker, eventually, http_get, inspect, reset, swarmkeeper};

fn json(run: &common::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("JSON output: {e}\n{run:?}"))
}

fn web(image: &str, port: u16, extra: &str) -> String {
    format!(
        "services:\n  web:\n    image: {image}\n    ports:\n      - target: 80\n        published: {port}\n        mode: host\n{extra}"
    )
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn create_update_and_stay_idempotent() {
    let _serial = common::serial();
    let lab = common::lab("create_update_and_stay_idempotent");
    reset(&lab, &[]);
    let dir = DesiredDir::new("create");
    dir.stacks(&[(
        "t1",
        &web(
            "swarmkeeper-lab/web:1",
            18101,
            "    environment:\n      GREETING: hello\n",
        ),
    )]);

    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stdout.contains("+ service \"t1_web\""), "{run:?}");
    assert!(run.stdout.contains("+ network \"t1_default\""), "{run:?}");
    assert!(
        run.stdout.contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{run:?}"
    );

    let run = swarmkeeper(&lab, &["reconcile", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let page = eventually(60, "web 1 on port 18101", || {
        http_get("127.0.0.1:18101").filter(|b| b.contains("web 1"))
    });
    assert!(page.contains("swarmkeeper-lab web 1"));

    // docker's own stack commands see it as a stack.
    let ls = docker(&lab, &["stack", "ls"]);
    assert!(ls.stdout.contains("t1"), "{ls:?}");
    let services = docker(&lab, &["stack", "services", "t1", "--format", "{{.Name}}"]);
    assert_eq!(services.stdout.trim(), "t1_web", "{services:?}");

    // Unchanged: dry-run exits 0 and a second apply writes nothing.
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let report = json(&run);
    assert_eq!(report["changes"], false);
    assert_eq!(report["api_calls"]["swarm"]["writes"], 0, "{report:#}");
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--verbose"]);
    assert!(run.stdout.contains("Engine API calls: 10 reads, 0 writes."), "{run:?}");

    // Image web:1 → web:2: one field-level update, and the task serves the new page.
    dir.stacks(&[(
        "t1",
        &web(
            "swarmkeeper-lab/web:2",
            18101,
            "    environment:\n      GREETING: hello\n",
        ),
    )]);
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stdout
            .contains("~ task.container.image: \"swarmkeeper-lab/web:1\" → \"swarmkeeper-lab/web:2\""),
        "{run:?}"
    );
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    eventually(90, "web 2 on port 18101", || {
        http_get("127.0.0.1:18101").filter(|b| b.contains("web 2"))
    });

    // Environment change.
    dir.stacks(&[(
        "t1",
        &web(
            "swarmkeeper-lab/web:2",
            18101,
            "    environment:\n      GREETING: bonjour\n",
        ),
    )]);
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);
    assert!(
        run.stdout
            .contains("~ task.container.env: GREETING: \"hello\" → \"bonjour\""),
        "{run:?}"
    );
    assert_eq!(swarmkeeper(&lab, &["reconcile", &dir.arg()]).code, Some(0));
    let spec = inspect(&lab, "service", "t1_web");
    assert_eq!(
        spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"],
        serde_json::json!(["GREETING=bonjour"])
    );

    // Ownership labels are on the service, not on the containers.
    assert_eq!(spec["Spec"]["Labels"]["io.swarmkeeper.managed-by"], "swarmkeeper");
    assert!(
        spec["Spec"]["Labels"]["io.swarmkeeper.revision"]
            .as_str()
            .is_some_and(|r| r.len() == 12),
        "{spec:#}"
    );
    assert_eq!(spec["Spec"]["Labels"]["com.docker.stack.namespace"], "t1");
    assert_eq!(
        spec["Spec"]["Labels"]["com.docker.stack.image"],
        "swarmkeeper-lab/web:2"
    );
    let container_labels = &spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Labels"];
    assert_eq!(container_labels["com.docker.stack.namespace"], "t1");
    assert!(container_labels.get("io.swarmkeeper.managed-by").is_none());
    reset(&lab, &[]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn replicas_and_global_mode() {
    let _serial = common::serial();
    let lab = common::lab("replicas_and_global_mode");
    reset(&lab, &[]);
    let dir = DesiredDir::new("replicas");
    let compose = |replicas: u32| {
        format!(
            "services:\n  worker:\n    image: swarmkeeper-lab/web:1\n    deploy:\n      replicas: {replicas}\n  agent:\n    image: swarmkeeper-lab/web:1\n    deploy:\n      mode: global\n"
        )
    };
    dir.stacks(&[("t2", &compose(1))]);
    assert_eq!(swarmkeeper(&lab, &["reconcile", &dir.arg()]).code, Some(0));
    let running = |service: &str| {
        let ps = docker(
            &lab,
            &[
                "service",
                "ps",
                service,
                "--filter",
                "desired-state=running",
                "--format",
                "{{.CurrentState}}",
            ],
        );
        ps.stdout.lines().filter(|l| l.starts_with("Running")).count()
    };
    eventually(60, "1 worker task", || (running("t2_worker") == 1).then_some(()));
    dir.stacks(&[("t2", &compose(3))]);
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);
    assert!(run.stdout.contains("~ mode.replicas: 1 → 3"), "{run:?}");
    assert_eq!(swarmkeeper(&lab, &["reconcile", &dir.arg()]).code, Some(0));
    eventually(60, "3 worker tasks", || (running("t2_worker") == 3).then_some(()));

    let agent = inspect(&lab, "service", "t2_agent");
    assert!(agent["Spec"]["Mode"]["Global"].is_object(), "{agent:#}");
    eventually(60, "the global task on the lab's one node", || {
        (running("t2_agent") == 1).then_some(())
    });
    reset(&lab, &[]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn prune_removes_only_what_swarmkeeper_owns() {
    let _serial = common::serial();
    let lab = common::lab("prune_removes_only_what_swarmkeeper_owns");
    reset(&lab, &[]);
    let _ = docker(&lab, &["service", "rm", "handmade"]);
    let made = docker(
        &lab,
        &["service", "create", "-d", "--name", "handmade", "swarmkeeper-lab/web:1"],
    );
    assert_eq!(made.code, Some(0), "{made:?}");

    let dir = DesiredDir::new("prune");
    let two = "services:\n  a:\n    image: swarmkeeper-lab/web:1\n    networks: [back]\n  b:\n    image: swarmkeeper-lab/web:1\nnetworks:\n  back: {}\n";
    dir.stacks(&[
        ("t3", two),
        ("t4", "services:\n  c:\n    image: swarmkeeper-lab/web:1\n"),
    ]);
    assert_eq!(swarmkeeper(&lab, &["reconcile", &dir.arg()]).code, Some(0));

    // Drop service `a` (and with it the `back` network) and the whole stack t4.
    dir.stacks(&[("t3", "services:\n  b:\n    image: swarmkeeper-lab/web:1\n")]);
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run", "--verbose"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    for line in [
        "- service \"t3_a\"",
        "- network \"t3_back\"",
        "- service \"t4_c\"",
        "- network \"t4_default\"",
    ] {
        assert!(run.stdout.contains(line), "{line}: {run:?}");
    }
    assert!(run.stdout.contains("stack `t4` is no longer declared"), "{run:?}");
    assert!(
        run.stdout.contains("service handmade"),
        "unmanaged listed with --verbose: {run:?}"
    );
    assert_eq!(swarmkeeper(&lab, &["reconcile", &dir.arg()]).code, Some(0));
    let names = docker(&lab, &["service", "ls", "--format", "{{.Name}}"]);
    let mut names: Vec<&str> = names.stdout.lines().collect();
    names.sort_unstable();
    assert_eq!(names, vec!["handmade", "t3_b"]);

    // A desired state that suddenly declares nothing does not prune everything…
    let empty = DesiredDir::new("prune-empty");
    empty.stacks(&[]);
    let run = swarmkeeper(&lab, &["reconcile", &empty.arg()]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("--allow-empty"), "{run:?}");
    assert!(docker(&lab, &["service", "inspect", "t3_b"]).code == Some(0));
    // …unless told to, and the unmanaged service survives either way.
    assert_eq!(
        swarmkeeper(&lab, &["reconcile", &empty.arg(), "--allow-empty"]).code,
        Some(0)
    );
    assert!(docker(&lab, &["service", "inspect", "t3_b"]).code != Some(0));
    assert_eq!(docker(&lab, &["service", "inspect", "handmade"]).code, Some(0));
    let _ = docker(&lab, &["service", "rm", "handmade"]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn config_and_secret_rotation() {
    let _serial = common::serial();
    let lab = common::lab("config_and_secret_rotation");
    reset(&lab, &[]);
    let dir = DesiredDir::new("rotate");
    let compose = "services:\n  web:\n    image: swarmkeeper-lab/web:1\n    configs:\n      - source: page\n        target: /www/extra.html\n    secrets: [token]\nconfigs:\n  page:\n    file: ./page.html\nsecrets:\n  token:\n    file: ./token.txt\n";
    dir.stacks(&[("t5", compose)]);
    let names = |kind: &str| {
        let ls = docker(
            &lab,
            &[
                kind,
                "ls",
                "--filter",
                "label=com.docker.stack.namespace=t5",
                "--format",
                "{{.Name}}",
            ],
        );
        let mut v: Vec<String> = ls.stdout.lines().map(str::to_owned).collect();
        v.sort();
        v
    };
    let mut seen_secrets = Vec::new();
    for round in 1..=4 {
        let secret_value = format!("very-secret-value-{round}");
        dir.write("page.html", &format!("page {round}\n"));
        dir.write("token.txt", &secret_value);
        let plan = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run", "--output", "json"]);
        let text = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);
        let apply = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--verbose"]);
        assert_eq!(apply.code, Some(0), "{apply:?}");
        for out in [
            &plan.stdout,
            &plan.stderr,
            &text.stdout,
            &text.stderr,
            &apply.stdout,
            &apply.stderr,
        ] {
            assert!(!out.contains(&secret_value), "secret value leaked: {out}");
        }
        let spec = inspect(&lab, "service", "t5_web");
        let secret = spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"][0]["SecretName"]
            .as_str()
            .expect("secret name")
            .to_owned();
        assert!(secret.starts_with("t5_token_"), "{secret}");
        assert!(!seen_secrets.contains(&secret), "a new revision each round");
        seen_secrets.push(secret);
        // The current revision plus at most two unused ones are kept.
        assert_eq!(names("secret").len(), round.min(3), "{:?}", names("secret"));
        assert_eq!(names("config").len(), round.min(3), "{:?}", names("config"));
    }
    assert!(
        !names("secret").contains(&seen_secrets[0]),
        "the oldest revision was removed"
    );
    // The service reads the new config.
    let container = eventually(60, "a running task", || {
        let ps = docker(
            &lab,
            &[
                "ps",
                "-q",
                "--filter",
                "label=com.docker.swarm.service.name=t5_web",
                "--filter",
                "status=running",
            ],
        );
        ps.stdout.lines().next().map(str::to_owned)
    });
    let cat = docker(&lab, &["exec", &container, "cat", "/www/extra.html"]);
    assert!(cat.stdout.contains("page 4") || cat.code != Some(0), "{cat:?}");
    reset(&lab, &[]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn drift_behind_swarmkeepers_back_is_planned_back() {
    let _serial = common::serial();
    let lab = common::lab("drift_behind_swarmkeepers_back_is_planned_back");
    reset(&lab, &[]);
    let dir = DesiredDir::new("drift");
    dir.stacks(&[("t6", "services:\n  web:\n    image: swarmkeeper-lab/web:1\n")]);
    assert_eq!(swarmkeeper(&lab, &["reconcile", &dir.arg()]).code, Some(0));
    let changed = docker(&lab, &["service", "update", "-d", "--env-add", "SNEAKY=1", "t6_web"]);
    assert_eq!(changed.code, Some(0), "{changed:?}");
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stdout.contains("~ task.container.env: -SNEAKY=1"), "{run:?}");
    assert_eq!(swarmkeeper(&lab, &["reconcile", &dir.arg()]).code, Some(0));
    assert_eq!(swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]).code, Some(0));
    reset(&lab, &[]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn an_unreachable_engine_is_one_clear_line() {
    let mut lab = common::lab("an_unreachable_engine_is_one_clear_line");
    lab.insert("DOCKER_HOST".into(), "unix:///nonexistent/docker.sock".into());
    let dir = DesiredDir::new("unreachable");
    dir.stacks(&[("t7", "services:\n  web:\n    image: swarmkeeper-lab/web:1\n")]);
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run:?}");
    assert!(run.stderr.contains("DOCKER_HOST"), "{run:?}");
    assert!(run.stderr.contains("unix:///nonexistent/docker.sock"), "{run:?}");
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn an_invalid_state_stops_before_any_call() {
    let mut lab = common::lab("an_invalid_state_stops_before_any_call");
    // An engine that cannot be reached proves no call was attempted: the
    // run must fail on validation, not on the connection.
    lab.insert("DOCKER_HOST".into(), "unix:///nonexistent/docker.sock".into());
    let dir = DesiredDir::new("invalid");
    dir.stacks(&[(
        "t8",
        "services:\n  web:\n    image: swarmkeeper-lab/web:1\n    deploy:\n      replicas: many\n",
    )]);
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg()]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("t8.yml:5:17"), "{run:?}");
    assert!(run.stderr.contains("nothing was planned or changed"), "{run:?}");
    assert!(!run.stderr.contains("cannot reach"), "{run:?}");
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn the_example_converges_and_stays_converged() {
    let _serial = common::serial();
    let lab = common::lab("the_example_converges_and_stays_converged");
    reset(&lab, &[]);
    // The example's instances stay moto records: they must not join the
    // lab's own swarm, which this test adopts.
    common::moto_only(&lab, &["cloud"]);
    common::ensure_example_aws(&lab);
    let example = common::repo_root().join("manifests/examples/nextcloud");
    let example = example.to_string_lossy();
    // The example declares cluster `cloud`; the lab's swarm was built by
    // hand, so the first run adopts it (a no-op when an earlier test did).
    let run = swarmkeeper(&lab, &["reconcile", "--adopt-swarm", &example]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = swarmkeeper(&lab, &["reconcile", &example, "--dry-run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = swarmkeeper(&lab, &["reconcile", &example, "--output", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(json(&run)["api_calls"]["swarm"]["writes"], 0, "{run:?}");
    assert_eq!(json(&run)["api_calls"]["aws"]["writes"], 0, "{run:?}");
    reset(&lab, &[]);
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn an_update_racing_another_writer_is_retried_with_the_new_version() {
    use swarmkeeper_plan::{PlanOptions, desired_swarm, diff};
    use swarmkeeper_swarm::execute::Ids;

    let _serial = common::serial();
    let lab = common::lab("an_update_racing_another_writer_is_retried_with_the_new_version");
    reset(&lab, &[]);
    let dir = DesiredDir::new("race");
    dir.stacks(&[("t9", "services:\n  web:\n    image: swarmkeeper-lab/web:1\n")]);
    assert_eq!(swarmkeeper(&lab, &["reconcile", &dir.arg()]).code, Some(0));
    dir.stacks(&[("t9", "services:\n  web:\n    image: swarmkeeper-lab/web:2\n")]);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let engine = common::engine(&lab).await;
        let observed = engine.observe().await.expect("observe");
        let state = swarmkeeper_model::load_dir(&dir.path, &Default::default())
            .state
            .expect("valid");
        let key = engine.revision_key(false).await.expect("revision key").key;
        let plan = diff(&desired_swarm(&state, &key), &observed, &PlanOptions::default()).expect("plan");
        assert_eq!(plan.steps.len(), 1);
        // Another writer updates the service after we observed it.
        let other = docker(
            &lab,
            &["service", "update", "-d", "--label-add", "other=writer", "t9_web"],
        );
        assert_eq!(other.code, Some(0), "{other:?}");
        engine
            .execute(&plan.steps[0].action, &Ids::from_observed(&observed))
            .await
            .expect("retried with the fresh version index");
        let calls = engine.calls();
        assert!(
            calls.by_call.get("POST /services/{id}/update").copied().unwrap_or(0) >= 2,
            "{calls:?}"
        );
        assert!(calls.by_call.contains_key("GET /services/{id}"), "{calls:?}");
    });
    let spec = inspect(&lab, "service", "t9_web");
    assert_eq!(
        spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"],
        "swarmkeeper-lab/web:2"
    );
    reset(&lab, &[]);
}
