//! The node lifecycle: failed workers and managers replaced, quorum never
//! put at risk, rolls and scale-in one node at a time, emptiest first.

mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use swarmkeeper_plan::aws::AwsAction;
use swarmkeeper_plan::aws::spec::*;
use swarmkeeper_plan::nodes::*;
use swarmkeeper_plan::observed::{ObservedNode, ObservedService, ObservedTask, TaskState};
use swarmkeeper_plan::spec::Mode;
use swarmkeeper_plan::{Action, ObservedSwarm, Plan};

const NOW: u64 = 1_000_000;

/// A cluster `c1` with a managers and a workers pool.
fn desired(managers: u32, workers: u32, worker_type: &str) -> DesiredAws {
    let lt = |name: &str, t: &str| LaunchTemplateSpec {
        name: name.into(),
        image_id: "ami-1".into(),
        instance_type: t.into(),
        key_name: None,
        user_data: String::new(),
        user_data_hash: String::new(),
        root_volume_gb: None,
        root_volume_type: None,
        instance_profile: None,
        security_groups: vec![],
    };
    let group = |name: &str, pool: &str, count: u32| AutoScalingGroupSpec {
        name: name.into(),
        launch_template: name.into(),
        min: count,
        max: count,
        desired: count,
        subnets: vec![],
        pool: pool.into(),
        target_groups: vec![],
    };
    DesiredAws {
        cluster: "c1".into(),
        launch_templates: vec![lt("c1-managers", "t3.small"), lt("c1-workers", worker_type)],
        groups: vec![
            group("c1-managers", "managers", managers),
            group("c1-workers", "workers", workers),
        ],
        node_policy: NodePolicy {
            replace_after_secs: 60,
            max_unavailable: 1,
            drain_timeout_secs: 300,
            join_grace_secs: 600,
        },
        ..DesiredAws::default()
    }
}

fn instance(id: &str, group: &str, t: &str) -> ObservedInstance {
    ObservedInstance {
        id: id.into(),
        group: group.into(),
        private_ip: None,
        state: InstanceLifecycle::InService,
        health: InstanceHealth::Healthy,
        instance_type: t.into(),
        image_id: Some("ami-1".into()),
        launched_unix: Some(NOW - 3600),
    }
}

fn node(id: &str, role: &str, instance: &str) -> ObservedNode {
    let pool = if role == "manager" { "managers" } else { "workers" };
    ObservedNode {
        id: id.into(),
        hostname: format!("host-{id}"),
        role: role.parse().expect("a node role"),
        availability: NodeAvailability::Active,
        state: NodeState::Ready,
        addr: String::new(),
        manager_addr: (role == "manager").then(|| format!("{id}:2377")),
        reachable: role == "manager",
        labels: BTreeMap::from([
            (LABEL_POOL.to_owned(), pool.to_owned()),
            (LABEL_INSTANCE.to_owned(), instance.to_owned()),
        ]),
        engine_labels: BTreeMap::from([
            (ENGINE_LABEL_INSTANCE.to_owned(), instance.to_owned()),
            ("swarmkeeper.cluster".to_owned(), "c1".to_owned()),
        ]),
        updated_unix: Some(NOW - 3600),
        leader: false,
    }
}

/// `managers` managers m0.. and `workers` workers w0.., each with its instance.
fn cluster(managers: usize, workers: usize) -> (ObservedAws, ObservedSwarm) {
    let mut aws = ObservedAws::default();
    let mut swarm = ObservedSwarm::default();
    for i in 0..managers {
        aws.instances
            .push(instance(&format!("i-m{i}"), "c1-managers", "t3.small"));
        let mut n = node(&format!("m{i}"), "manager", &format!("i-m{i}"));
        n.leader = i == 0;
        swarm.nodes.push(n);
    }
    for i in 0..workers {
        aws.instances
            .push(instance(&format!("i-w{i}"), "c1-workers", "t3.small"));
        swarm.nodes.push(node(&format!("w{i}"), "worker", &format!("i-w{i}")));
    }
    (aws, swarm)
}

fn plan(want: &DesiredAws, aws: &ObservedAws, swarm: &ObservedSwarm, local: Option<&str>) -> (Plan, NodeReport) {
    let mut plan = Plan::default();
    let ctx = NodeContext {
        now_unix: NOW,
        local_node: local.map(str::to_owned),
    };
    let report = plan_nodes(want, aws, swarm, &ctx, &mut |action, reason, deps| {
        let id = plan.steps.len();
        plan.steps.push(swarmkeeper_plan::Step {
            id,
            action,
            reason: reason.to_owned(),
            depends_on: deps,
        });
        id
    });
    (plan, report)
}

/// Each step as a short line, e.g. `drain w1`, `rm w1`, `terminate i-w1`.
fn lines(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| match &s.action {
            Action::UpdateNode { id, change, .. } => {
                let mut what = vec![];
                if let Some(r) = &change.role {
                    what.push(if *r == NodeRole::Manager { "promote" } else { "demote" }.to_owned());
                }
                if let Some(a) = &change.availability {
                    what.push(a.to_string());
                }
                if let Some(r) = change.labels.get(LABEL_RETIRE) {
                    // The drain's start after `@` is checked on its own.
                    what.push(format!("retire={}", retire_label(r).0));
                } else if change.labels.contains_key(LABEL_POOL) {
                    what.push("adopt".into());
                }
                format!("{} {id}", what.join("+"))
            }
            Action::RemoveNode { id, .. } => format!("rm {id}"),
            Action::Aws {
                aws: AwsAction::TerminateInstance { id, decrement, .. },
            } => format!("terminate {id}{}", if *decrement { " -1" } else { "" }),
            other => format!("{other:?}"),
        })
        .collect()
}

fn down(swarm: &mut ObservedSwarm, id: &str, for_secs: u64) {
    let n = swarm.nodes.iter_mut().find(|n| n.id == id).expect("node");
    n.state = NodeState::Down;
    n.reachable = false;
    n.updated_unix = Some(NOW - for_secs);
}

#[test]
fn a_healthy_cluster_needs_nothing() {
    let (aws, swarm) = cluster(3, 2);
    let (p, report) = plan(&desired(3, 2, "t3.small"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
    assert_eq!(
        report.quorum,
        Quorum {
            managers: 3,
            reachable: 3,
            ok: true
        }
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_worker_down_past_replace_after_is_drained_removed_and_replaced() {
    let (aws, mut swarm) = cluster(1, 2);
    down(&mut swarm, "w1", 30);
    let (p, report) = plan(&desired(1, 2, "t3.small"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "not yet: {:?}", lines(&p));
    assert_eq!(report.recheck_in_secs, Some(30), "looked at again when due");

    down(&mut swarm, "w1", 61);
    let (p, _) = plan(&desired(1, 2, "t3.small"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["drain w1", "rm w1", "terminate i-w1"]);
    assert_eq!(p.steps[1].depends_on, [0]);
    assert_eq!(p.steps[2].depends_on, [1]);
}

#[test]
fn a_worker_whose_instance_is_unhealthy_or_gone_is_replaced() {
    let (mut aws, swarm) = cluster(1, 2);
    aws.instances[2].health = InstanceHealth::Unhealthy;
    let (p, _) = plan(&desired(1, 2, "t3.small"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["drain w1", "rm w1", "terminate i-w1"]);

    // Terminated (by someone else): the node only needs removing.
    let (mut aws, mut swarm) = cluster(1, 2);
    aws.instances.retain(|i| i.id != "i-w1");
    down(&mut swarm, "w1", 5);
    let (p, _) = plan(&desired(1, 2, "t3.small"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["drain w1", "rm w1"]);
}

#[test]
fn a_dead_manager_is_demoted_removed_and_replaced_while_a_majority_remains() {
    let (aws, mut swarm) = cluster(3, 0);
    down(&mut swarm, "m2", 120);
    let (p, report) = plan(&desired(3, 0, "t3.small"), &aws, &swarm, None);
    assert!(report.quorum.ok);
    assert_eq!(lines(&p), ["demote m2", "rm m2", "terminate i-m2"]);
}

#[test]
fn with_quorum_lost_nothing_is_done_and_it_is_said_loudly() {
    let (aws, mut swarm) = cluster(3, 2);
    down(&mut swarm, "m1", 600);
    down(&mut swarm, "m2", 600);
    down(&mut swarm, "w0", 600);
    let (p, report) = plan(&desired(3, 2, "t3.small"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
    assert!(!report.quorum.ok);
    assert!(
        report.problems[0].contains("QUORUM LOST: 1 of 3"),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems[0].contains("docs/operations.md"),
        "{:?}",
        report.problems
    );
}

#[test]
fn two_dead_managers_of_five_are_replaced_one_at_a_time() {
    let (aws, mut swarm) = cluster(5, 0);
    down(&mut swarm, "m3", 600);
    down(&mut swarm, "m4", 600);
    let (p, report) = plan(&desired(5, 0, "t3.small"), &aws, &swarm, None);
    assert!(report.quorum.ok);
    assert_eq!(lines(&p), ["demote m3", "rm m3", "terminate i-m3"]);
}

#[test]
fn every_worker_down_with_healthy_instances_looks_like_a_partition_and_is_left() {
    let (aws, mut swarm) = cluster(1, 3);
    for w in ["w0", "w1", "w2"] {
        down(&mut swarm, w, 600);
    }
    let (p, report) = plan(&desired(1, 3, "t3.small"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
    assert!(
        report.problems.iter().any(|p| p.contains("network problem")),
        "{report:?}"
    );
}

/// Running tasks: `(node, service id)`.
fn tasks(swarm: &mut ObservedSwarm, running: &[(&str, &str)]) {
    let (_, desired_swarm) = support::desired(&[("s", "services:\n  web:\n    image: web:1\n")]);
    let spec = desired_swarm.services.values().next().expect("a service").clone();
    for (i, (node, service)) in running.iter().enumerate() {
        if !swarm.services.iter().any(|s| s.id == *service) {
            let replicas = running.iter().filter(|(_, s)| s == service).count() as u64;
            let mut spec = spec.clone();
            spec.mode = Mode::Replicated { replicas };
            swarm.services.push(ObservedService {
                id: (*service).into(),
                version: 1,
                spec,
            });
        }
        swarm.tasks.push(ObservedTask {
            id: format!("t{i}"),
            service_id: (*service).into(),
            node_id: Some((*node).into()),
            state: TaskState::Running,
            desired_state: TaskState::Running,
            image: "web:1".into(),
            error: None,
        });
    }
}

#[test]
fn scale_in_drains_the_emptiest_worker_one_at_a_time() {
    let (aws, mut swarm) = cluster(1, 3);
    tasks(
        &mut swarm,
        &[("w0", "a"), ("w0", "b"), ("w1", "a"), ("w2", "b"), ("w2", "c")],
    );
    let (p, report) = plan(&desired(1, 1, "t3.small"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["drain+retire=scale-in w1"]);
    assert_eq!(report.progress, ["draining host-w1 (scale-in)"]);
}

#[test]
fn a_drained_node_is_removed_once_its_tasks_run_elsewhere() {
    let (mut aws, mut swarm) = cluster(1, 3);
    {
        let w1 = swarm.nodes.iter_mut().find(|n| n.id == "w1").expect("w1");
        w1.availability = NodeAvailability::Drain;
        w1.labels.insert(LABEL_RETIRE.into(), "scale-in".into());
        w1.updated_unix = Some(NOW - 10);
    }
    // Service a wants 2 replicas: one is still only on w1.
    tasks(&mut swarm, &[("w1", "a"), ("w0", "a")]);
    swarm.tasks[0].state = TaskState::Shutdown;
    let (p, report) = plan(&desired(1, 1, "t3.small"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
    assert!(
        report.progress[0].contains("1 task(s) not yet running elsewhere"),
        "{report:?}"
    );

    // The replacement runs on w2: remove w1, terminate with the group shrinking.
    swarm.tasks.push(ObservedTask {
        id: "t9".into(),
        service_id: "a".into(),
        node_id: Some("w2".into()),
        state: TaskState::Running,
        desired_state: TaskState::Running,
        image: "web:1".into(),
        error: None,
    });
    let (p, _) = plan(&desired(1, 1, "t3.small"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["rm w1", "terminate i-w1 -1"]);

    // A drain that takes too long is cut short.
    swarm.tasks.pop();
    swarm.nodes.iter_mut().find(|n| n.id == "w1").expect("w1").updated_unix = Some(NOW - 301);
    aws.groups.clear();
    let (p, _) = plan(&desired(1, 1, "t3.small"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["rm w1", "terminate i-w1 -1"]);
    assert!(p.steps[0].reason.contains("drain timeout"), "{}", p.steps[0].reason);
}

#[test]
fn an_instance_type_change_rolls_one_node_at_a_time_and_waits_for_the_replacement() {
    let (mut aws, mut swarm) = cluster(1, 2);
    let (p, _) = plan(&desired(1, 2, "t3.large"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["drain+retire=roll w0"]);
    assert!(p.steps[0].reason.contains("t3.small"), "{}", p.steps[0].reason);

    // w0 gone, its replacement launched but not joined yet: nothing more.
    aws.instances.retain(|i| i.id != "i-w0");
    swarm.nodes.retain(|n| n.id != "w0");
    let mut fresh = instance("i-w9", "c1-workers", "t3.large");
    fresh.launched_unix = Some(NOW - 20);
    aws.instances.push(fresh);
    let (p, _) = plan(&desired(1, 2, "t3.large"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));

    // Joined: it is adopted, and the next stale node is drained.
    let mut joined = node("w9", "worker", "i-w9");
    joined.labels.clear();
    swarm.nodes.push(joined);
    let (p, _) = plan(&desired(1, 2, "t3.large"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["adopt w9", "drain+retire=roll w1"]);
}

#[test]
fn a_manager_scale_in_takes_the_local_manager_last_and_keeps_a_majority() {
    let (aws, swarm) = cluster(3, 0);
    let (p, _) = plan(&desired(1, 0, "t3.small"), &aws, &swarm, Some("m1"));
    assert_eq!(lines(&p), ["drain+retire=scale-in m2"]);
}

#[test]
fn a_new_node_is_adopted_and_a_manager_pool_node_that_joined_as_worker_is_promoted() {
    let (aws, mut swarm) = cluster(3, 1);
    let m2 = swarm.nodes.iter_mut().find(|n| n.id == "m2").expect("m2");
    m2.role = NodeRole::Worker;
    m2.reachable = false;
    let w0 = swarm.nodes.iter_mut().find(|n| n.id == "w0").expect("w0");
    w0.labels.clear();
    w0.availability = NodeAvailability::Pause;
    let (p, _) = plan(&desired(3, 1, "t3.small"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["promote m2", "active+adopt w0"]);
}

#[test]
fn nodes_outside_the_pools_are_reported_and_left_alone() {
    let (aws, mut swarm) = cluster(1, 1);
    let mut seed = node("seed", "manager", "");
    seed.engine_labels.clear();
    seed.labels.clear();
    seed.state = NodeState::Down;
    seed.updated_unix = Some(0);
    swarm.nodes.push(seed);
    let (p, report) = plan(&desired(1, 1, "t3.small"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
    assert!(report.problems.iter().any(|p| p.contains("host-seed")), "{report:?}");
}

prop_compose! {
    /// A random cluster: managers and workers, each ready or down for a
    /// while, reachable or not, drained or not, some instances gone.
    fn random_cluster()(
        managers in proptest::collection::vec((any::<bool>(), 0u64..200, any::<bool>()), 1..6),
        workers in proptest::collection::vec((any::<bool>(), 0u64..200, any::<bool>(), any::<bool>()), 0..5),
        want_managers in 1u32..6,
        want_workers in 0u32..5,
        big in any::<bool>(),
    ) -> (ObservedAws, ObservedSwarm, DesiredAws) {
        let (mut aws, mut swarm) = cluster(managers.len(), workers.len());
        for (i, (is_down, secs, gone)) in managers.iter().enumerate() {
            if *is_down { down(&mut swarm, &format!("m{i}"), *secs); }
            if *gone { aws.instances.retain(|x| x.id != format!("i-m{i}")); }
        }
        for (i, (is_down, secs, gone, drained)) in workers.iter().enumerate() {
            if *is_down { down(&mut swarm, &format!("w{i}"), *secs); }
            if *gone { aws.instances.retain(|x| x.id != format!("i-w{i}")); }
            if *drained {
                let n = swarm.nodes.iter_mut().find(|n| n.id == format!("w{i}")).expect("worker");
                n.availability = NodeAvailability::Drain;
                n.labels.insert(LABEL_RETIRE.into(), "roll".into());
            }
        }
        (aws, swarm, desired(want_managers, want_workers, if big { "t3.large" } else { "t3.small" }))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the cluster looks like: with quorum lost nothing is
    /// planned; with quorum, applying the plan keeps a majority of the
    /// managers reachable; no node is removed that is up and not retiring.
    #[test]
    fn quorum_is_never_put_at_risk((aws, swarm, want) in random_cluster()) {
        let (p, report) = plan(&want, &aws, &swarm, Some("m0"));
        if !report.quorum.ok {
            prop_assert!(p.steps.is_empty(), "{:?}", lines(&p));
        } else {
            let mut after = swarm.clone();
            let mut aws_after = aws.clone();
            swarmkeeper_plan::simulate::apply_all(&p, &mut after, &mut aws_after, "c1");
            let managers = after.nodes.iter().filter(|n| n.role == NodeRole::Manager).count();
            let reachable = after.nodes.iter().filter(|n| n.role == NodeRole::Manager && n.reachable).count();
            prop_assert!(managers == 0 || reachable * 2 > managers, "{:?} left {reachable}/{managers}", lines(&p));
            for step in &p.steps {
                if let Action::RemoveNode { id, .. } = &step.action {
                    let n = swarm.nodes.iter().find(|n| &n.id == id).expect("removed node existed");
                    let retiring = n.labels.contains_key(LABEL_RETIRE);
                    let failed = n.state != NodeState::Ready || (n.role == NodeRole::Manager && !n.reachable)
                        || !aws.instances.iter().any(|i| Some(&i.id) == n.engine_labels.get(ENGINE_LABEL_INSTANCE));
                    prop_assert!(retiring || failed, "removed a healthy node {id}: {:?}", lines(&p));
                }
            }
            let drains = p.steps.iter().filter(|s| matches!(&s.action, Action::UpdateNode { change, .. }
                if change.labels.contains_key(LABEL_RETIRE))).count();
            prop_assert!(drains <= 2, "more than max_unavailable per pool: {:?}", lines(&p));
        }
    }
}

#[test]
fn no_new_drain_starts_while_tasks_are_still_starting_unless_they_cannot_be_placed() {
    let (aws, mut swarm) = cluster(1, 2);
    tasks(&mut swarm, &[("w0", "a"), ("w1", "a")]);
    swarm.tasks[1].state = TaskState::Starting;
    let (p, report) = plan(&desired(1, 2, "t3.large"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
    assert!(report.progress[0].contains("to start"), "{report:?}");

    swarm.tasks[1].state = TaskState::Pending;
    swarm.tasks[1].error = Some("no suitable node (max replicas per node limit exceed)".into());
    let (p, _) = plan(&desired(1, 2, "t3.large"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["drain+retire=roll w1"]);

    // ...unless a node just joined: the scheduler may place it there now.
    swarm.nodes.iter_mut().find(|n| n.id == "w1").expect("w1").updated_unix = Some(NOW - 5);
    let (p, _) = plan(&desired(1, 2, "t3.large"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
}

#[test]
fn scale_in_terminates_instances_that_never_joined_before_draining_nodes() {
    let (mut aws, swarm) = cluster(1, 2);
    for i in 0..3 {
        aws.instances
            .push(instance(&format!("i-x{i}"), "c1-workers", "t3.small"));
    }
    let (p, _) = plan(&desired(1, 2, "t3.small"), &aws, &swarm, None);
    assert_eq!(
        lines(&p),
        ["terminate i-x0 -1", "terminate i-x1 -1", "terminate i-x2 -1"]
    );
}

/// The cluster's own groups as AWS shows them, sized as declared.
fn groups(managers: u32, workers: u32) -> Vec<ObservedGroup> {
    [("c1-managers", managers), ("c1-workers", workers)]
        .into_iter()
        .map(|(name, n)| ObservedGroup {
            name: name.into(),
            tags: BTreeMap::from([
                (TAG_CLUSTER.to_owned(), "c1".to_owned()),
                (TAG_NAME.to_owned(), name.to_owned()),
            ]),
            launch_template: name.into(),
            launch_template_version: "$Default".into(),
            min: n,
            max: n,
            desired: n,
            subnets: vec![],
            target_groups: vec![],
        })
        .collect()
}

/// The launch templates of [`groups`], as AWS shows them.
fn templates(want: &DesiredAws) -> Vec<ObservedLaunchTemplate> {
    want.launch_templates
        .iter()
        .map(|t| ObservedLaunchTemplate {
            id: format!("lt-{}", t.name),
            name: t.name.clone(),
            tags: BTreeMap::from([(TAG_CLUSTER.to_owned(), "c1".to_owned())]),
            default_version: 1,
            spec: t.clone(),
        })
        .collect()
}

fn full_plan(want: &DesiredAws, aws: &ObservedAws, swarm: &ObservedSwarm) -> Plan {
    let opts = swarmkeeper_plan::PlanOptions {
        nodes: NodeContext {
            now_unix: NOW,
            local_node: Some("m0".into()),
        },
        ..Default::default()
    };
    swarmkeeper_plan::diff::diff_with_aws(
        &swarmkeeper_plan::convert::DesiredSwarm::default(),
        swarm,
        Some((want, aws)),
        &opts,
    )
    .expect("a plan")
}

#[test]
fn a_removed_pool_is_drained_to_zero_max_unavailable_at_a_time_before_its_group_goes() {
    let (mut aws, mut swarm) = cluster(1, 3);
    let all = desired(1, 3, "t3.small");
    aws.groups = groups(1, 3);
    aws.launch_templates = templates(&all);
    let mut want = all.clone();
    want.groups.retain(|g| g.pool != "workers");
    want.launch_templates.retain(|t| t.name != "c1-workers");
    tasks(&mut swarm, &[("w0", "a"), ("m0", "a"), ("w1", "b"), ("m0", "b")]);
    // Services of someone else: the swarm diff leaves them alone.
    for s in swarm.services.iter_mut() {
        s.spec.labels.clear();
    }

    let mut group_deleted_at = None;
    for cycle in 0..20 {
        let p = full_plan(&want, &aws, &swarm);
        let live_workers = aws.instances.iter().filter(|i| i.group == "c1-workers").count();
        for s in &p.steps {
            match &s.action {
                Action::Aws {
                    aws: AwsAction::DeleteGroup { name, force },
                } => {
                    assert!(!force, "never a forced delete");
                    assert_eq!(name, "c1-workers");
                    assert_eq!(
                        live_workers,
                        0,
                        "cycle {cycle}: group deleted with instances: {:?}",
                        lines(&p)
                    );
                    group_deleted_at = Some(cycle);
                }
                Action::Aws {
                    aws: AwsAction::DeleteLaunchTemplate { name, .. },
                } => {
                    assert_eq!(name, "c1-workers");
                    assert!(
                        live_workers == 0
                            && s.depends_on.iter().any(|d| matches!(
                                p.steps[*d].action,
                                Action::Aws {
                                    aws: AwsAction::DeleteGroup { .. }
                                }
                            ))
                            || !aws.groups.iter().any(|g| g.name == "c1-workers"),
                        "launch template deleted before its group: {:?}",
                        lines(&p)
                    );
                }
                Action::Aws {
                    aws: AwsAction::TerminateInstance { group, decrement, .. },
                } => {
                    assert_eq!(group, "c1-workers");
                    assert!(decrement, "the group shrinks: nothing is replaced");
                }
                Action::RemoveNode { id, .. } => assert!(id.starts_with('w'), "only workers go: {id}"),
                _ => {}
            }
        }
        let drains = p
            .steps
            .iter()
            .filter(
                |s| matches!(&s.action, Action::UpdateNode { change, .. } if change.labels.contains_key(LABEL_RETIRE)),
            )
            .count();
        let out_of_service = swarm
            .nodes
            .iter()
            .filter(|n| n.role == NodeRole::Worker && n.availability != NodeAvailability::Active)
            .count();
        assert!(
            drains + out_of_service <= 1,
            "more than max_unavailable: {:?}",
            lines(&p)
        );
        if p.steps.is_empty() {
            break;
        }
        swarmkeeper_plan::simulate::apply_all(&p, &mut swarm, &mut aws, "c1");
        // The scheduler moves a drained node's tasks to the manager.
        for t in swarm.tasks.iter_mut() {
            let on_drained = swarm
                .nodes
                .iter()
                .any(|n| Some(&n.id) == t.node_id.as_ref() && n.availability == NodeAvailability::Drain);
            if on_drained {
                t.node_id = Some("m0".into());
            }
        }
    }
    assert!(group_deleted_at.is_some(), "the empty group is deleted");
    assert!(!aws.groups.iter().any(|g| g.name == "c1-workers"));
    assert!(!aws.launch_templates.iter().any(|t| t.name == "c1-workers"));
    assert!(aws.instances.iter().all(|i| i.group == "c1-managers"));
    assert_eq!(
        swarm.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        ["m0"],
        "every worker left the swarm"
    );
    assert!(full_plan(&want, &aws, &swarm).steps.is_empty(), "converged");
}

#[test]
fn a_removed_pool_first_drops_its_minimum_and_keeps_its_size_and_launch_template() {
    let (mut aws, swarm) = cluster(1, 2);
    let all = desired(1, 2, "t3.small");
    aws.groups = groups(1, 2);
    aws.launch_templates = templates(&all);
    let mut want = all.clone();
    want.groups.retain(|g| g.pool != "workers");
    want.launch_templates.retain(|t| t.name != "c1-workers");
    let p = full_plan(&want, &aws, &swarm);
    let update = p
        .steps
        .iter()
        .find_map(|s| match &s.action {
            Action::Aws {
                aws: AwsAction::UpdateGroup { spec },
            } => Some(spec),
            _ => None,
        })
        .expect("an update of the removed pool's group");
    assert_eq!(
        (update.name.as_str(), update.min, update.desired, update.max),
        ("c1-workers", 0, 2, 2)
    );
    assert!(
        !p.steps.iter().any(|s| matches!(
            &s.action,
            Action::Aws {
                aws: AwsAction::DeleteGroup { .. } | AwsAction::DeleteLaunchTemplate { .. }
            }
        )),
        "{:?}",
        lines(&p)
    );
    assert_eq!(
        lines(&p).iter().filter(|l| l.starts_with("drain")).collect::<Vec<_>>(),
        ["drain+retire=scale-in w0"]
    );
}

#[test]
fn an_unknown_node_time_is_just_now_never_long_ago() {
    // A Down worker whose time the engine did not give: not replaced yet,
    // looked at again after replace_after.
    let (aws, mut swarm) = cluster(1, 2);
    down(&mut swarm, "w1", 0);
    swarm.nodes.iter_mut().find(|n| n.id == "w1").expect("w1").updated_unix = None;
    let (p, report) = plan(&desired(1, 2, "t3.small"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
    assert_eq!(report.recheck_in_secs, Some(60));

    // A draining node with a task left and no time: not removed.
    let (aws, mut swarm) = cluster(1, 3);
    {
        let w1 = swarm.nodes.iter_mut().find(|n| n.id == "w1").expect("w1");
        w1.availability = NodeAvailability::Drain;
        w1.labels.insert(LABEL_RETIRE.into(), "scale-in".into());
        w1.updated_unix = None;
    }
    tasks(&mut swarm, &[("w1", "a")]);
    let (p, report) = plan(&desired(1, 1, "t3.small"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
    assert!(report.progress[0].contains("not yet running elsewhere"), "{report:?}");
}

#[test]
fn the_drain_timeout_counts_from_the_start_recorded_in_the_retire_label() {
    let new_drain = |swarm: &ObservedSwarm| {
        let (p, _) = plan(&desired(1, 1, "t3.small"), &cluster(1, 3).0, swarm, None);
        p
    };
    // A drain starts: the label records when.
    let (aws, mut swarm) = cluster(1, 3);
    tasks(&mut swarm, &[("w0", "a"), ("w2", "b"), ("w2", "c")]);
    let p = new_drain(&swarm);
    let label = p
        .steps
        .iter()
        .find_map(|s| match &s.action {
            Action::UpdateNode { change, .. } => change.labels.get(LABEL_RETIRE).cloned(),
            _ => None,
        })
        .expect("a drain");
    assert_eq!(label, format!("scale-in@{NOW}"));

    // Recorded long ago, though the node changed just now (a label write
    // resets UpdatedAt): the timeout is due.
    let mut swarm = cluster(1, 3).1;
    tasks(&mut swarm, &[("w1", "a")]);
    {
        let w1 = swarm.nodes.iter_mut().find(|n| n.id == "w1").expect("w1");
        w1.availability = NodeAvailability::Drain;
        w1.labels.insert(LABEL_RETIRE.into(), format!("scale-in@{}", NOW - 301));
        w1.updated_unix = Some(NOW - 1);
    }
    let (p, _) = plan(&desired(1, 1, "t3.small"), &aws, &swarm, None);
    assert_eq!(lines(&p), ["rm w1", "terminate i-w1 -1"]);
    assert!(p.steps[0].reason.contains("drain timeout"), "{}", p.steps[0].reason);

    // Recorded just now, though the node's last change is long ago: wait.
    let w1 = swarm.nodes.iter_mut().find(|n| n.id == "w1").expect("w1");
    w1.labels.insert(LABEL_RETIRE.into(), format!("scale-in@{}", NOW - 10));
    w1.updated_unix = Some(NOW - 3600);
    let (p, _) = plan(&desired(1, 1, "t3.small"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
    // An unreadable start is "just now" too.
    let w1 = swarm.nodes.iter_mut().find(|n| n.id == "w1").expect("w1");
    w1.labels.insert(LABEL_RETIRE.into(), "scale-in@soon".into());
    w1.updated_unix = None;
    let (p, _) = plan(&desired(1, 1, "t3.small"), &aws, &swarm, None);
    assert!(p.steps.is_empty(), "{:?}", lines(&p));
}
