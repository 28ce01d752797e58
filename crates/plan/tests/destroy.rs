//! `destroy`'s plan: on an in-memory account built by converging a random
//! cluster declaration, every delete comes after every step that removes a
//! user of the thing (transitively), retained file systems never appear,
//! the `destroying` marker goes last, applying the plan leaves nothing but
//! retained data, and a run stopped at any point (any set of finished steps
//! closed under their dependencies) and started again ends the same way.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use swarmkeeper_plan::Action;
use swarmkeeper_plan::aws::AwsAction;
use swarmkeeper_plan::aws::names::destroying_parameter;
use swarmkeeper_plan::aws::spec::*;
use swarmkeeper_plan::destroy::{Destroy, plan_destroy};
use swarmkeeper_plan::simulate::apply_all;
use swarmkeeper_plan::{ObservedSwarm, Plan};

use support::AMI_PARAM as PARAM;

#[derive(Debug, Clone)]
struct Decl {
    workers: u32,
    /// (name, delete?)
    volumes: Vec<(&'static str, bool)>,
    logs: bool,
    routes: Vec<(&'static str, &'static str)>,
}

fn decl() -> impl Strategy<Value = Decl> {
    (
        0u32..3,
        prop::sample::subsequence(vec![("alpha", false), ("beta", true)], 0..=2),
        any::<bool>(),
        prop::sample::subsequence(vec![("site.example.com", "site"), ("api.example.com", "api")], 0..=2),
    )
        .prop_map(|(workers, volumes, logs, routes)| Decl {
            workers,
            volumes,
            logs,
            routes,
        })
}

fn files(d: &Decl) -> Vec<(&'static str, String)> {
    let mut root = format!(
        "version: 1\ncluster:\n  name: prop\n  region: eu-west-1\n  managers:\n    count: 1\n    instance_type: t3.small\n    ami: ssm:{PARAM}\n  workers:\n    count: {}\n    instance_type: t3.small\n    ami: ami-0123456789abcdef0\n",
        d.workers
    );
    if !d.volumes.is_empty() {
        root.push_str("volumes:\n");
        for (name, delete) in &d.volumes {
            let policy = if *delete { "delete" } else { "retain" };
            root.push_str(&format!("  {name}:\n    type: shared\n    deletion_policy: {policy}\n"));
        }
    }
    if d.logs {
        root.push_str("logging:\n  cloudwatch: { group: prop-logs, retention_days: 7 }\n");
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

/// The account after converging `d`, with the groups' instances running,
/// the parameters the first manager writes, and the `destroying` marker
/// (`destroy` writes it before planning).
fn built(d: &Decl) -> ObservedAws {
    let mut swarm = ObservedSwarm::default();
    let mut aws = ObservedAws::default();
    for _ in 0..3 {
        let p = plan(d, &swarm, &aws);
        if p.is_empty() {
            break;
        }
        apply_all(&p, &mut swarm, &mut aws, "prop");
    }
    for g in aws.groups.clone() {
        for n in 0..g.desired {
            aws.instances.push(ObservedInstance {
                id: format!("i-{}-{n}", g.name),
                group: g.name.clone(),
                private_ip: None,
                state: InstanceLifecycle::InService,
                health: InstanceHealth::Healthy,
                instance_type: "t3.small".into(),
                image_id: None,
                launched_unix: None,
            });
        }
    }
    for name in ["swarm-id", "init-claim", "status", "destroying"] {
        aws.parameters
            .insert(format!("/swarmkeeper/prop/{name}"), Sensitive("x".into()));
    }
    // Another cluster's parameter that shares the prefix's first letters.
    aws.parameters
        .insert("/swarmkeeper/propane/swarm-id".into(), Sensitive("y".into()));
    aws.security_groups.push(ObservedSecurityGroup {
        id: "sg-other".into(),
        name: "other-nodes".into(),
        tags: [(TAG_CLUSTER.to_owned(), "other".to_owned())].into(),
        ingress: vec![],
    });
    aws
}

fn declared(d: &Decl) -> BTreeMap<String, DeletionPolicy> {
    d.volumes
        .iter()
        .map(|(v, delete)| {
            let p = if *delete {
                DeletionPolicy::Delete
            } else {
                DeletionPolicy::Retain
            };
            ((*v).to_owned(), p)
        })
        .collect()
}

fn aws_action(step: &swarmkeeper_plan::Step) -> &AwsAction {
    match &step.action {
        Action::Aws { aws } => aws,
        other => panic!("destroy plans AWS steps only: {other:?}"),
    }
}

/// Every step that `id` waits for, directly or not.
fn ancestors(plan: &Plan, id: usize) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut todo = plan.steps[id].depends_on.clone();
    while let Some(d) = todo.pop() {
        if out.insert(d) {
            todo.extend(plan.steps[d].depends_on.iter().copied());
        }
    }
    out
}

/// Whether deleting `user` must come before deleting `thing`: the uses
/// relation, written from the resources' side, apart from the planner.
fn uses(aws: &ObservedAws, user: &AwsAction, thing: &AwsAction) -> bool {
    use AwsAction::*;
    let group_of = |name: &str| aws.groups.iter().find(|g| g.name == name);
    match (thing, user) {
        (DeleteParameter { name }, _) if *name == destroying_parameter("prop") => {
            !matches!(user, DeleteParameter { name: n } if n == name)
        }
        (DeleteSecurityGroup { .. }, DeleteGroup { .. })
        | (DeleteSecurityGroup { .. }, DeleteLoadBalancer { .. })
        | (DeleteSecurityGroup { .. }, DeleteMountTarget { .. })
        | (DeleteSecurityGroup { .. }, DeleteLaunchTemplate { .. })
        | (DeleteSecurityGroup { .. }, RevokeIngress { .. }) => true,
        (DeleteTargetGroup { name, .. }, DeleteRule { spec, .. }) => spec.target_group == *name,
        (DeleteTargetGroup { name, .. }, DeleteGroup { name: g, .. }) => {
            group_of(g).is_some_and(|g| g.target_groups.contains(name))
        }
        (DeleteTargetGroup { .. }, DeleteLoadBalancer { .. } | DeleteListener { .. }) => true,
        (DeleteLaunchTemplate { name, .. }, DeleteGroup { name: g, .. }) => {
            group_of(g).is_some_and(|g| g.launch_template == *name)
        }
        (DeleteFileSystem { id, .. }, DeleteMountTarget { id: mt, .. }) => aws
            .file_systems
            .iter()
            .any(|f| f.id == *id && f.mount_targets.values().any(|m| m == mt)),
        (DeleteListener { spec: l, .. }, DeleteRule { spec: r, .. }) => r.listener_port == l.port,
        (DeleteLoadBalancer { .. }, DeleteListener { .. }) => true,
        (DeleteParameter { .. } | DeleteLogGroup { .. }, DeleteGroup { .. }) => true,
        _ => false,
    }
}

fn retained(aws: &ObservedAws, d: &Decl) -> BTreeSet<String> {
    let declared = declared(d);
    aws.file_systems
        .iter()
        .filter(|f| {
            let v = f.creation_token.trim_start_matches("prop-");
            declared.get(v) != Some(&DeletionPolicy::Delete)
        })
        .map(|f| f.id.clone())
        .collect()
}

/// What is left of the cluster: everything tagged, every parameter
/// under its prefix.
fn left(aws: &ObservedAws) -> Vec<String> {
    let mut out = Vec::new();
    let mine = |t: &BTreeMap<String, String>| owned(t, "prop");
    out.extend(
        aws.security_groups
            .iter()
            .filter(|g| mine(&g.tags))
            .map(|g| g.name.clone()),
    );
    out.extend(
        aws.launch_templates
            .iter()
            .filter(|t| mine(&t.tags))
            .map(|t| t.name.clone()),
    );
    out.extend(aws.groups.iter().filter(|g| mine(&g.tags)).map(|g| g.name.clone()));
    out.extend(aws.instances.iter().map(|i| i.id.clone()));
    out.extend(aws.log_groups.iter().filter(|g| mine(&g.tags)).map(|g| g.name.clone()));
    out.extend(aws.load_balancer.iter().map(|l| l.spec.name.clone()));
    out.extend(aws.target_groups.iter().map(|t| t.spec.name.clone()));
    out.extend(aws.listeners.iter().map(|l| l.arn.clone()));
    out.extend(aws.rules.iter().map(|r| r.arn.clone()));
    out.extend(
        aws.parameters
            .keys()
            .filter(|k| k.starts_with("/swarmkeeper/prop/"))
            .cloned(),
    );
    for f in &aws.file_systems {
        out.extend(f.mount_targets.values().cloned());
    }
    out
}

fn apply(plan: &Plan, aws: &mut ObservedAws) {
    apply_all(plan, &mut ObservedSwarm::default(), aws, "prop");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_delete_comes_after_its_users_and_retained_data_never_appears(d in decl()) {
        let aws = built(&d);
        let keep = retained(&aws, &d);
        let Destroy { plan, kept } = plan_destroy("prop", &aws, &declared(&d));
        prop_assert_eq!(kept.iter().map(|k| k.id.clone()).collect::<BTreeSet<_>>(), keep.clone());
        for step in &plan.steps {
            prop_assert!(step.depends_on.iter().all(|x| *x < step.id), "{:?}", step);
            let action = aws_action(step);
            prop_assert!(matches!(action.op(), swarmkeeper_plan::plan::Op::Delete), "{:?}", action);
            if let AwsAction::DeleteFileSystem { id, .. } = action {
                prop_assert!(!keep.contains(id), "deleted retained {}", id);
            }
            if let AwsAction::DeleteSecurityGroup { id, .. } = action {
                prop_assert!(id != "sg-other", "touched another cluster's group");
            }
            if let AwsAction::DeleteParameter { name } = action {
                prop_assert!(name.starts_with("/swarmkeeper/prop/"), "{}", name);
            }
            let before = ancestors(&plan, step.id);
            for other in &plan.steps {
                if other.id != step.id && uses(&aws, aws_action(other), action) {
                    prop_assert!(
                        before.contains(&other.id),
                        "{:?} must wait for {:?}",
                        action,
                        aws_action(other)
                    );
                }
            }
        }
        let marker = plan.steps.last().map(aws_action);
        prop_assert_eq!(
            marker,
            Some(&AwsAction::DeleteParameter { name: destroying_parameter("prop") })
        );
    }

    #[test]
    fn stopped_anywhere_and_run_again_nothing_is_left_but_retained_data(
        d in decl(),
        done in prop::collection::vec(any::<bool>(), 64),
    ) {
        let mut aws = built(&d);
        let keep = retained(&aws, &d);
        let first = plan_destroy("prop", &aws, &declared(&d)).plan;
        // A run killed midway: some steps finished, each only after the
        // ones it waits for.
        let mut finished = BTreeSet::new();
        let mut partial = Plan::default();
        for step in &first.steps {
            if done[step.id % done.len()] && step.depends_on.iter().all(|x| finished.contains(x)) {
                finished.insert(step.id);
                partial.steps.push(step.clone());
            }
        }
        apply(&partial, &mut aws);
        let again = plan_destroy("prop", &aws, &declared(&d));
        prop_assert!(again.plan.steps.len() <= first.steps.len() - finished.len() + 1);
        apply(&again.plan, &mut aws);
        prop_assert_eq!(left(&aws), Vec::<String>::new());
        let ids: BTreeSet<String> = aws.file_systems.iter().map(|f| f.id.clone()).collect();
        prop_assert_eq!(ids, keep);
        let third = plan_destroy("prop", &aws, &declared(&d));
        prop_assert!(third.plan.is_empty(), "{:#?}", third.plan.steps);
        prop_assert_eq!(third.kept.len(), aws.file_systems.len());
        prop_assert!(aws.parameters.contains_key("/swarmkeeper/propane/swarm-id"));
        prop_assert!(aws.security_groups.iter().any(|g| g.id == "sg-other"));
    }
}

#[test]
fn the_full_example_in_order() {
    let d = Decl {
        workers: 1,
        volumes: vec![("alpha", false), ("beta", true)],
        logs: true,
        routes: vec![("site.example.com", "site")],
    };
    let aws = built(&d);
    let Destroy { plan, kept } = plan_destroy("prop", &aws, &declared(&d));
    let text = swarmkeeper_plan::render::text(&plan, false, false);
    for line in [
        "- listener rule \"10 site.example.com /*\"",
        "- listener \"HTTPS 443\"",
        "- load balancer \"prop\"",
        "- auto scaling group \"prop-workers\"  # the cluster is destroyed: its 1 instance(s) are terminated with it",
        "- launch template \"prop-managers\"",
        "- efs file system \"beta\"  # deletion_policy: delete",
        "- security group \"prop-nodes\"",
        "- log group \"prop-logs\"",
        "- ssm parameter \"/swarmkeeper/prop/join-token/worker\"",
        "- ssm parameter \"/swarmkeeper/prop/destroying\"",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(!text.contains("\"alpha\""), "retained data is not in the plan: {text}");
    assert!(text.contains("to destroy."), "{text}");
    assert!(!text.contains("SWMTKN"), "{text}");
    assert_eq!(kept.len(), 1);
    let alpha = aws
        .file_systems
        .iter()
        .find(|f| f.creation_token == "prop-alpha")
        .expect("alpha");
    assert_eq!(
        kept[0].to_string(),
        format!("{} (volume alpha, deletion_policy: retain)", alpha.id)
    );
    // Its mount targets go: they are not data and hold the security group.
    for mt in alpha.mount_targets.values() {
        assert!(text.contains(&format!("- efs mount target \"{mt} in")), "{mt}: {text}");
    }
    // Groups go forced: the whole swarm goes.
    assert!(
        plan.steps
            .iter()
            .all(|s| !matches!(aws_action(s), AwsAction::DeleteGroup { force: false, .. }))
    );
}

#[test]
fn nothing_owned_nothing_planned_and_a_retained_volume_undeclared_stays_by_its_tag() {
    let empty = plan_destroy("prop", &ObservedAws::default(), &BTreeMap::new());
    assert!(empty.plan.is_empty() && empty.kept.is_empty());

    let tagged = |policy: Option<&str>, id: &str, token: &str| {
        let mut tags = BTreeMap::from([(TAG_CLUSTER.to_owned(), "prop".to_owned())]);
        if let Some(p) = policy {
            tags.insert(TAG_DELETION_POLICY.to_owned(), p.to_owned());
        }
        ObservedFileSystem {
            id: id.into(),
            creation_token: token.into(),
            tags,
            mount_targets: BTreeMap::new(),
        }
    };
    let aws = ObservedAws {
        file_systems: vec![
            tagged(Some("delete"), "fs-d", "prop-gone"),
            tagged(Some("retain"), "fs-r", "prop-kept"),
            tagged(None, "fs-u", "prop-untagged"),
            ObservedFileSystem {
                tags: [(TAG_CLUSTER.to_owned(), "other".to_owned())].into(),
                ..tagged(Some("delete"), "fs-o", "other-x")
            },
        ],
        ..ObservedAws::default()
    };
    let out = plan_destroy("prop", &aws, &BTreeMap::new());
    let deleted: Vec<&AwsAction> = out.plan.steps.iter().map(aws_action).collect();
    assert_eq!(
        deleted,
        vec![&AwsAction::DeleteFileSystem {
            id: "fs-d".into(),
            volume: "gone".into()
        }]
    );
    let kept: Vec<&str> = out.kept.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(kept, ["fs-r", "fs-u"]);
}
