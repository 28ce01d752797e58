//! The AWS half of the plan, on an in-memory account: for any two cluster
//! declarations A and B, converging to A, then planning B, applying it and
//! planning B again leaves nothing to do; every step comes after the steps
//! it depends on; data under `retain` is never deleted; and resources of
//! another cluster are never touched.

mod support;

use proptest::prelude::*;
use swarmkeeper_plan::aws::AwsAction;
use swarmkeeper_plan::aws::spec::*;
use swarmkeeper_plan::simulate::apply_all;
use swarmkeeper_plan::{Action, ObservedSwarm, Plan};

use support::AMI_PARAM as PARAM;

#[derive(Debug, Clone)]
struct Decl {
    workers: u32,
    instance_type: &'static str,
    /// (name, delete?)
    volumes: Vec<(&'static str, bool)>,
    logs: Option<u32>,
    /// Routes to `web/site` and/or `web/api`.
    routes: Vec<(&'static str, &'static str)>,
}

fn decl() -> impl Strategy<Value = Decl> {
    (
        0u32..4,
        prop::sample::select(vec!["t3.small", "t3.medium"]),
        prop::sample::subsequence(vec![("alpha", false), ("beta", true)], 0..=2),
        prop::option::of(prop::sample::select(vec![7u32, 30])),
        prop::sample::subsequence(vec![("site.example.com", "site"), ("api.example.com", "api")], 0..=2),
    )
        .prop_map(|(workers, instance_type, volumes, logs, routes)| Decl {
            workers,
            instance_type,
            volumes,
            logs,
            routes,
        })
}

fn files(d: &Decl) -> Vec<(&'static str, String)> {
    let mut root = format!(
        "version: 1\ncluster:\n  name: prop\n  region: eu-west-1\n  managers:\n    count: 1\n    instance_type: t3.small\n    ami: ssm:{PARAM}\n  workers:\n    count: {}\n    instance_type: {}\n    ami: ami-0123456789abcdef0\n",
        d.workers, d.instance_type
    );
    if !d.volumes.is_empty() {
        root.push_str("volumes:\n");
        for (name, delete) in &d.volumes {
            let policy = if *delete { "delete" } else { "retain" };
            root.push_str(&format!("  {name}:\n    type: shared\n    deletion_policy: {policy}\n"));
        }
    }
    if let Some(days) = d.logs {
        root.push_str(&format!(
            "logging:\n  cloudwatch: {{ group: prop-logs, retention_days: {days} }}\n"
        ));
    }
    if !d.routes.is_empty() {
        root.push_str("ingress:\n  type: load_balancer\n  certificate: site.example.com\nroutes:\n");
        for (host, service) in &d.routes {
            root.push_str(&format!("  - host: {host}\n    service: web/{service}\n    port: 80\n"));
        }
    }
    root.push_str("stacks:\n  web:\n    compose: web.yml\n");
    let web =
        "services:\n  site:\n    image: x\n    ports: [\"8001:80\"]\n  api:\n    image: x\n    ports: [\"8002:80\"]\n";
    vec![("swarmkeeper.yaml", root), ("web.yml", web.to_owned())]
}

fn plan(d: &Decl, swarm: &ObservedSwarm, aws: &ObservedAws) -> Plan {
    support::plan_with_aws(&files(d), swarm, aws)
}

/// Apply plans until nothing is left (a reconcile's rounds), at most 3.
fn converge(d: &Decl, swarm: &mut ObservedSwarm, aws: &mut ObservedAws) -> Vec<Plan> {
    let mut plans = Vec::new();
    for _ in 0..3 {
        let p = plan(d, swarm, aws);
        if p.is_empty() {
            break;
        }
        apply_all(&p, swarm, aws, "prop");
        plans.push(p);
    }
    plans
}

fn stranger() -> ObservedSecurityGroup {
    ObservedSecurityGroup {
        id: "sg-other".into(),
        name: "other-nodes".into(),
        tags: [(TAG_CLUSTER.to_owned(), "other".to_owned())].into(),
        ingress: vec![],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn converging_then_planning_again_is_empty(a in decl(), b in decl()) {
        let mut swarm = ObservedSwarm::default();
        let mut aws = ObservedAws::default();
        aws.security_groups.push(stranger());
        converge(&a, &mut swarm, &mut aws);
        let retained_before: Vec<String> = aws
            .file_systems
            .iter()
            .filter(|f| f.tags.get(TAG_DELETION_POLICY).map(String::as_str) == Some("retain"))
            .map(|f| f.id.clone())
            .collect();

        let plans = converge(&b, &mut swarm, &mut aws);
        for p in &plans {
            for step in &p.steps {
                prop_assert!(step.depends_on.iter().all(|d| *d < step.id), "{step:?}");
                if let Action::Aws { aws: AwsAction::DeleteFileSystem { id, .. } } = &step.action {
                    prop_assert!(!retained_before.contains(id), "deleted a retained file system");
                }
                if let Action::Aws { aws: AwsAction::DeleteSecurityGroup { id, .. } } = &step.action {
                    prop_assert!(id != "sg-other", "touched another cluster's group");
                }
            }
        }
        let again = plan(&b, &swarm, &aws);
        prop_assert!(again.is_empty(), "{:#?}", again.steps);
        for id in retained_before {
            prop_assert!(aws.file_systems.iter().any(|f| f.id == id), "retained data is still there");
        }
    }
}

#[test]
fn a_first_plan_orders_groups_templates_and_file_systems() {
    let d = Decl {
        workers: 2,
        instance_type: "t3.small",
        volumes: vec![("alpha", false)],
        logs: Some(7),
        routes: vec![("site.example.com", "site")],
    };
    let p = plan(&d, &ObservedSwarm::default(), &ObservedAws::default());
    let position = |kind: &str, name: &str| {
        p.steps
            .iter()
            .find(|s| s.action.kind() == kind && s.action.name().starts_with(name))
            .map(|s| s.id)
            .unwrap_or_else(|| panic!("{kind} {name} in {:#?}", p.steps))
    };
    let lt = position("launch template", "prop-workers");
    let group = position("auto scaling group", "prop-workers");
    assert!(p.steps[group].depends_on.contains(&lt));
    let nodes = position("security group", "prop-nodes");
    assert!(p.steps[lt].depends_on.contains(&nodes));
    // The service mounting nothing is planned now; the load balancer's
    // listener waits for the load balancer, the rule for listener and group.
    let lb = position("load balancer", "prop");
    let listener = position("listener", "HTTPS 443");
    assert!(p.steps[listener].depends_on.contains(&lb));
    let rule = position("listener rule", "10 site.example.com");
    assert!(p.steps[rule].depends_on.contains(&listener));
    // Tokens are published before the addresses nodes read first.
    let addresses = position("ssm parameter", "/swarmkeeper/prop/manager-addresses");
    let token = position("ssm parameter", "/swarmkeeper/prop/join-token/worker");
    assert!(p.steps[addresses].depends_on.contains(&token));
    // Join tokens are published, and never shown.
    let text = swarmkeeper_plan::render::text(&p, false, true);
    assert!(text.contains("ssm parameter \"/swarmkeeper/prop/join-token/worker\""));
    assert!(!text.contains("SWMTKN"));
    let json = serde_json::to_string(&swarmkeeper_plan::render::json(&p)).expect("json");
    assert!(!json.contains("SWMTKN"), "{json}");
}

#[test]
fn a_target_group_is_deleted_only_after_the_rules_that_stop_using_it() {
    let both = Decl {
        workers: 1,
        instance_type: "t3.small",
        volumes: vec![],
        logs: None,
        routes: vec![("site.example.com", "site"), ("api.example.com", "api")],
    };
    let mut swarm = ObservedSwarm::default();
    let mut aws = ObservedAws::default();
    converge(&both, &mut swarm, &mut aws);
    let site_tg = aws
        .rules
        .iter()
        .min_by_key(|r| r.spec.priority)
        .map(|r| r.spec.target_group.clone())
        .expect("a rule");
    // Dropping the first route moves its rule (matched by priority) to
    // the api target group: the site target group is still in use until
    // that rule is modified.
    let api_only = Decl {
        routes: vec![("api.example.com", "api")],
        ..both
    };
    let p = plan(&api_only, &swarm, &aws);
    let delete = p
        .steps
        .iter()
        .find(
            |s| matches!(&s.action, Action::Aws { aws: AwsAction::DeleteTargetGroup { name, .. } } if *name == site_tg),
        )
        .unwrap_or_else(|| panic!("{site_tg} is deleted: {:#?}", p.steps));
    let moving: Vec<usize> = p
        .steps
        .iter()
        .filter(|s| match &s.action {
            Action::Aws {
                aws: AwsAction::ModifyRule { arn, .. } | AwsAction::DeleteRule { arn, .. },
            } => aws
                .rules
                .iter()
                .any(|r| &r.arn == arn && r.spec.target_group == site_tg),
            _ => false,
        })
        .map(|s| s.id)
        .collect();
    assert!(!moving.is_empty(), "a rule stops using {site_tg}: {:#?}", p.steps);
    for id in moving {
        assert!(delete.depends_on.contains(&id), "{delete:?} waits for step {id}");
    }
}
