//! Destruction needs evidence, on the lab's real swarm: two named desired
//! states share it and neither prunes (or even writes to) the other's
//! stacks; an emptied compose file is refused with zero engine writes.

mod common;

use common::{DesiredDir, docker, reset, swarmkeeper};

type Lab = std::collections::BTreeMap<String, String>;

fn json(run: &common::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("JSON output: {e}\n{run:?}"))
}

/// A desired state named `name` declaring `stacks` (one web service each).
fn named(dir: &DesiredDir, name: &str, stacks: &[&str]) {
    let mut root = format!("version: 1\nname: {name}\n");
    if !stacks.is_empty() {
        root.push_str("stacks:\n");
    }
    for s in stacks {
        root.push_str(&format!("  {s}:\n    compose: {s}.yml\n"));
        dir.write(
            &format!("{s}.yml"),
            "services:\n  web:\n    image: swarmkeeper-lab/web:1\n    environment:\n      DB_PASSWORD: pw-never-shown\n",
        );
    }
    dir.write("swarmkeeper.yaml", &root);
}

/// Remove everything the named state owns (tests leave the swarm clean).
fn forget(lab: &Lab, name: &str) {
    let dir = DesiredDir::new(&format!("forget-{name}"));
    named(&dir, name, &[]);
    let run = swarmkeeper(lab, &["reconcile", &dir.arg(), "--allow-empty"]);
    assert_eq!(run.code, Some(0), "forget {name}: {run:?}");
}

fn exists(lab: &Lab, service: &str) -> bool {
    docker(lab, &["service", "inspect", service]).code == Some(0)
}

/// Each service's version index: any write to a service changes it.
fn versions(lab: &Lab, services: &[&str]) -> Vec<String> {
    services
        .iter()
        .map(|s| docker(lab, &["service", "inspect", "--format", "{{.Version.Index}}", s]).stdout)
        .collect()
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn two_named_states_share_the_swarm_and_neither_prunes_the_other() {
    let _serial = common::serial();
    let lab = common::lab("two_named_states_share_the_swarm_and_neither_prunes_the_other");
    reset(&lab, &[]);
    forget(&lab, "platform");
    forget(&lab, "apps");
    let a = DesiredDir::new("safety-platform");
    named(&a, "platform", &["sfa"]);
    let b = DesiredDir::new("safety-apps");
    named(&b, "apps", &["sfb"]);

    for dir in [&a, &b] {
        let run = swarmkeeper(&lab, &["reconcile", &dir.arg()]);
        assert_eq!(run.code, Some(0), "{run:?}");
    }
    assert!(exists(&lab, "sfa_web") && exists(&lab, "sfb_web"));
    let owner = docker(
        &lab,
        &[
            "service",
            "inspect",
            "--format",
            "{{index .Spec.Labels \"io.swarmkeeper.owner\"}}",
            "sfb_web",
        ],
    );
    assert_eq!(owner.stdout.trim(), "apps", "{owner:?}");

    // Each, converged in turn, sees the other's objects as another owner's
    // and writes nothing.
    let before = versions(&lab, &["sfa_web", "sfb_web"]);
    for (dir, other, theirs) in [(&a, "apps", "sfb_web"), (&b, "platform", "sfa_web")] {
        let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run", "--verbose"]);
        assert_eq!(run.code, Some(0), "{run:?}");
        assert!(
            run.stdout.contains(&format!("service {theirs}  (owned by `{other}`)")),
            "{run:?}"
        );
        let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--dry-run", "--output", "json"]);
        assert_eq!(run.code, Some(0), "{run:?}");
        let report = json(&run);
        assert_eq!(report["changes"], false, "{report:#}");
        assert_eq!(report["api_calls"]["swarm"]["writes"], 0, "{report:#}");
        let foreign = report["foreign"].as_array().expect("foreign objects");
        assert!(
            foreign.iter().any(|f| f["name"] == theirs && f["owner"] == other),
            "{report:#}"
        );
        let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--output", "json"]);
        assert_eq!(run.code, Some(0), "{run:?}");
        assert_eq!(json(&run)["api_calls"]["swarm"]["writes"], 0, "{run:?}");
        assert!(!run.stdout.contains("pw-never-shown"), "{run:?}");
    }
    assert_eq!(
        versions(&lab, &["sfa_web", "sfb_web"]),
        before,
        "no write to either service"
    );

    // A third state declaring `apps`' stack is refused, naming the owner.
    let c = DesiredDir::new("safety-clash");
    named(&c, "intruder", &["sfb"]);
    let run = swarmkeeper(&lab, &["reconcile", &c.arg(), "--output", "json"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("belongs to the desired state `apps`"), "{run:?}");
    assert_eq!(json(&run)["api_calls"]["swarm"]["writes"], 0, "{run:?}");

    // `platform` drops its stack: only its own goes.
    named(&a, "platform", &[]);
    let run = swarmkeeper(&lab, &["reconcile", &a.arg(), "--allow-empty"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(!exists(&lab, "sfa_web"), "platform's stack is pruned");
    assert!(exists(&lab, "sfb_web"), "apps' stack is untouched");
    assert_eq!(versions(&lab, &["sfb_web"]), before[1..], "and unwritten");

    forget(&lab, "apps");
    assert!(!exists(&lab, "sfb_web"));
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn an_emptied_compose_file_is_refused_with_zero_engine_writes() {
    let _serial = common::serial();
    let lab = common::lab("an_emptied_compose_file_is_refused_with_zero_engine_writes");
    reset(&lab, &[]);
    let dir = DesiredDir::new("safety-emptied");
    let web = "services:\n  web:\n    image: swarmkeeper-lab/web:1\n";
    dir.stacks(&[("sfe1", web), ("sfe2", web)]);
    let run = swarmkeeper(&lab, &["reconcile", &dir.arg()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let before = versions(&lab, &["sfe1_web", "sfe2_web"]);

    for emptied in ["", "# nothing here yet\n", "services:\n", "services: {}\n"] {
        dir.write("sfe2.yml", emptied);
        let run = swarmkeeper(&lab, &["reconcile", &dir.arg(), "--output", "json"]);
        assert_eq!(run.code, Some(1), "{emptied:?} is refused: {run:?}");
        // Refused at load (no engine call at all) or at plan (reads only).
        if let Ok(report) = serde_json::from_str::<serde_json::Value>(&run.stdout)
            && report.get("api_calls").is_some()
        {
            assert_eq!(report["api_calls"]["swarm"]["writes"], 0, "{emptied:?}: {run:?}");
        }
        assert!(
            run.stderr.contains("sfe2"),
            "{emptied:?}: the message names the stack: {run:?}"
        );
        assert!(!run.stderr.contains("no longer declared"), "{run:?}");
        assert!(exists(&lab, "sfe1_web") && exists(&lab, "sfe2_web"), "{emptied:?}");
    }
    assert_eq!(versions(&lab, &["sfe1_web", "sfe2_web"]), before, "no write at all");
    reset(&lab, &[]);
}
