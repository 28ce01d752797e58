//! The dashboard's view model (`swarmkeeper_plan::dashboard::view`): which
//! facts the page shows for a given observed platform, over services made
//! by the real loader and converter.

mod support;

use std::collections::BTreeMap;

use swarmkeeper_plan::dashboard::{Inputs, NO_ZONE, view};
use swarmkeeper_plan::node_types::{ENGINE_LABEL_INSTANCE, LABEL_POOL, NodeAvailability, NodeRole, NodeState};
use swarmkeeper_plan::observed::{ObservedNode, ObservedService, ObservedTask, TaskState};
use swarmkeeper_plan::{ObservedSwarm, PlanOptions, diff};

const APP: &str = "services:
  web:
    image: reg.example:5000/web:1@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    deploy: { replicas: 2 }
  agent:
    image: busybox:1.36
    deploy: { mode: global }
";

fn node(id: &str, role: NodeRole, zone: Option<&str>, leader: bool) -> ObservedNode {
    let mut engine_labels = BTreeMap::from([(ENGINE_LABEL_INSTANCE.to_owned(), format!("i-{id}"))]);
    if let Some(zone) = zone {
        engine_labels.insert("swarmkeeper.az".to_owned(), zone.to_owned());
    }
    ObservedNode {
        id: format!("{id}-0123456789abcdef"),
        hostname: format!("host-{id}"),
        role,
        availability: NodeAvailability::Active,
        state: NodeState::Ready,
        addr: "10.0.0.1".into(),
        manager_addr: (role == NodeRole::Manager).then(|| "10.0.0.1:2377".to_owned()),
        reachable: role == NodeRole::Manager,
        labels: BTreeMap::from([(LABEL_POOL.to_owned(), format!("{role}s"))]),
        engine_labels,
        updated_unix: None,
        leader,
    }
}

fn task(service: &str, node: &str, state: TaskState) -> ObservedTask {
    ObservedTask {
        id: format!("{service}-{node}-{state}"),
        service_id: service.to_owned(),
        node_id: Some(format!("{node}-0123456789abcdef")),
        state,
        desired_state: TaskState::Running,
        image: String::new(),
        error: None,
    }
}

/// The state's services live (each with id = its name), on three nodes in
/// two zones; one replica of web is still starting.
fn platform() -> (swarmkeeper_model::DesiredState, ObservedSwarm) {
    let (state, desired) = support::desired(&[("app", APP)]);
    let mut observed = ObservedSwarm {
        services: desired
            .services
            .values()
            .map(|spec| ObservedService {
                id: spec.name.clone(),
                version: 1,
                spec: spec.clone(),
            })
            .collect(),
        ..ObservedSwarm::default()
    };
    observed.nodes = vec![
        node("m1", NodeRole::Manager, Some("eu-west-1a"), true),
        node("w1", NodeRole::Worker, Some("eu-west-1a"), false),
        node("w2", NodeRole::Worker, Some("eu-west-1b"), false),
    ];
    observed.tasks = vec![
        task("app_web", "w1", TaskState::Running),
        task("app_web", "w2", TaskState::Preparing),
        task("app_agent", "m1", TaskState::Running),
        task("app_agent", "w1", TaskState::Running),
        task("app_agent", "w2", TaskState::Running),
    ];
    (state, observed)
}

#[test]
fn nodes_are_shown_by_zone_with_their_tasks() {
    let (state, observed) = platform();
    let page = view(&Inputs {
        observed: &observed,
        aws: None,
        config: Some(&state.config),
        plan: None,
    });
    let zones: Vec<(&str, Vec<&str>)> = page
        .zones
        .iter()
        .map(|z| (z.name.as_str(), z.nodes.iter().map(|n| n.hostname.as_str()).collect()))
        .collect();
    assert_eq!(
        zones,
        [
            ("eu-west-1a", vec!["host-m1", "host-w1"]),
            ("eu-west-1b", vec!["host-w2"])
        ]
    );
    let m1 = &page.zones[0].nodes[0];
    assert_eq!(
        (m1.role.as_str(), m1.leader, m1.state.as_str()),
        ("manager", true, "ready")
    );
    assert_eq!(m1.pool.as_deref(), Some("managers"));
    assert_eq!(m1.instance.as_deref(), Some("i-m1"));
    assert_eq!(m1.id, "m1-012345678", "IDs are shortened to 12 characters");
    let w2 = &page.zones[1].nodes[0];
    let tasks: Vec<(&str, &str, bool)> = w2
        .tasks
        .iter()
        .map(|t| (t.service.as_str(), t.state.as_str(), t.running))
        .collect();
    assert_eq!(tasks, [("app_agent", "running", true), ("app_web", "preparing", false)]);
    assert_eq!((page.managers, page.quorum), ((1, 1), true));
    assert!(page.unplaced.is_empty());
}

#[test]
fn tasks_no_node_takes_are_shown_apart() {
    let (state, mut observed) = platform();
    let mut waiting = task("app_web", "w1", TaskState::Pending);
    waiting.node_id = None;
    observed.tasks.push(waiting);
    let page = view(&Inputs {
        observed: &observed,
        aws: None,
        config: Some(&state.config),
        plan: None,
    });
    let unplaced: Vec<(&str, &str)> = page
        .unplaced
        .iter()
        .map(|t| (t.service.as_str(), t.state.as_str()))
        .collect();
    assert_eq!(unplaced, [("app_web", "pending")]);
}

#[test]
fn services_show_their_image_digest_tasks_and_health() {
    let (state, observed) = platform();
    let page = view(&Inputs {
        observed: &observed,
        aws: None,
        config: Some(&state.config),
        plan: None,
    });
    assert_eq!(page.stacks.len(), 1);
    assert_eq!(page.stacks[0].name, "app");
    let by_name: BTreeMap<&str, _> = page.stacks[0].services.iter().map(|s| (s.name.as_str(), s)).collect();
    let web = by_name["app_web"];
    assert_eq!(web.image, "reg.example:5000/web:1");
    assert_eq!(web.digest.as_deref(), Some("sha256:aaaaaaaaaaaa"));
    assert_eq!(
        (web.mode, web.running, web.wanted, web.healthy),
        ("replicated", 1, 2, false)
    );
    let agent = by_name["app_agent"];
    assert_eq!(
        (agent.mode, agent.running, agent.wanted, agent.healthy),
        ("global", 3, 3, true)
    );
    assert_eq!(agent.digest, None);
    assert!(!web.pending && !agent.pending);
}

#[test]
fn what_the_pending_plan_changes_is_marked_and_other_owners_are_not_shown() {
    let (state, mut observed) = platform();
    // web drifted (one replica instead of two): the plan puts it back.
    let (_, desired) = support::desired(&[("app", APP)]);
    observed.services[1].spec.mode = swarmkeeper_plan::spec::Mode::Replicated { replicas: 1 };
    let plan = diff(&desired, &observed, &PlanOptions::default()).expect("plan");
    // A service of another desired state.
    let mut foreign = observed.services[0].clone();
    foreign.id = "other_x".into();
    foreign.spec.name = "other_x".into();
    foreign
        .spec
        .labels
        .insert(swarmkeeper_plan::labels::OWNER.to_owned(), "someone-else".into());
    observed.services.push(foreign);
    let page = view(&Inputs {
        observed: &observed,
        aws: None,
        config: Some(&state.config),
        plan: Some(&plan),
    });
    let services: Vec<(&str, bool)> = page.stacks[0]
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.pending))
        .collect();
    assert!(services.contains(&("app_web", true)), "{services:?}");
    assert!(services.contains(&("app_agent", false)), "{services:?}");
    assert!(
        page.stacks
            .iter()
            .all(|s| s.services.iter().all(|v| v.name != "other_x"))
    );
}

#[test]
fn a_node_without_a_zone_label_is_still_shown() {
    let (state, mut observed) = platform();
    observed.nodes.push(node("x", NodeRole::Worker, None, false));
    let page = view(&Inputs {
        observed: &observed,
        aws: None,
        config: Some(&state.config),
        plan: None,
    });
    let last = page.zones.last().expect("zones");
    assert_eq!(last.name, NO_ZONE);
    assert_eq!(last.nodes[0].hostname, "host-x");
}
