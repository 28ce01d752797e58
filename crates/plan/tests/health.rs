//! `health::unhealthy_services`: which of a state's services are short of
//! running tasks, over services made by the real loader and converter.

mod support;

use swarmkeeper_plan::ObservedSwarm;
use swarmkeeper_plan::health::unhealthy_services;
use swarmkeeper_plan::labels::OWNER;
use swarmkeeper_plan::observed::{ObservedService, ObservedTask, TaskState};

const APP: &str = "services:
  web:
    image: nginx:1.27
    deploy: { replicas: 2 }
  agent:
    image: busybox:1.36
    deploy: { mode: global }
  once:
    image: busybox:1.36
    deploy: { mode: replicated-job }
";

/// The state's owner and its services as live, each with id = its name.
fn live() -> (String, Vec<ObservedService>) {
    let (state, desired) = support::desired(&[("app", APP)]);
    let services = desired
        .services
        .values()
        .map(|spec| ObservedService {
            id: spec.name.clone(),
            version: 1,
            spec: spec.clone(),
        })
        .collect();
    (state.config.owner().to_owned(), services)
}

fn task(service: &str, state: TaskState, desired: TaskState) -> ObservedTask {
    ObservedTask {
        id: format!("{service}-{state}-{desired}"),
        service_id: service.to_owned(),
        node_id: Some("n1".into()),
        state,
        desired_state: desired,
        image: String::new(),
        error: None,
    }
}

#[test]
fn services_short_of_running_tasks_are_unhealthy() {
    use TaskState::*;
    let (owner, services) = live();
    let run = |s: &str| task(s, Running, Running);
    // (tasks, unhealthy services)
    let cases: Vec<(Vec<ObservedTask>, Vec<&str>)> = vec![
        // Replicated short of its replicas; a global service with no task
        // asked of it is not short; a job never counts.
        (vec![], vec!["app_web"]),
        (vec![run("app_web"), run("app_web")], vec![]),
        (
            vec![run("app_web"), task("app_web", Starting, Running)],
            vec!["app_web"],
        ),
        // A task on its way out does not count either way.
        (
            vec![run("app_web"), run("app_web"), task("app_web", Running, Shutdown)],
            vec![],
        ),
        (
            vec![
                run("app_web"),
                run("app_web"),
                run("app_agent"),
                task("app_agent", Pending, Running),
            ],
            vec!["app_agent"],
        ),
        (
            vec![
                run("app_web"),
                run("app_web"),
                run("app_agent"),
                task("app_once", Failed, Running),
            ],
            vec![],
        ),
        // An unknown state is not running.
        (
            vec![run("app_web"), task("app_web", Other("paused".into()), Running)],
            vec!["app_web"],
        ),
    ];
    for (tasks, want) in cases {
        let observed = ObservedSwarm {
            services: services.clone(),
            tasks: tasks.clone(),
            ..ObservedSwarm::default()
        };
        assert_eq!(unhealthy_services(&observed, &owner), want, "{tasks:?}");
    }
}

#[test]
fn only_this_states_services_and_unowned_swarmkeeper_ones_count() {
    let (owner, services) = live();
    let web = services
        .iter()
        .find(|s| s.spec.name == "app_web")
        .expect("the web service")
        .clone();
    let with = |f: &dyn Fn(&mut ObservedService)| {
        let mut s = web.clone();
        f(&mut s);
        ObservedSwarm {
            services: vec![s],
            ..ObservedSwarm::default()
        }
    };
    let other = with(&|s| {
        s.spec.labels.insert(OWNER.into(), "someone-else".into());
    });
    assert!(
        unhealthy_services(&other, &owner).is_empty(),
        "another owner's service counted"
    );
    let legacy = with(&|s| {
        s.spec.labels.remove(OWNER);
    });
    assert_eq!(
        unhealthy_services(&legacy, &owner),
        ["app_web"],
        "a service without an owner"
    );
    let unmanaged = with(&|s| s.spec.labels.clear());
    assert!(
        unhealthy_services(&unmanaged, &owner).is_empty(),
        "an unmanaged service counted"
    );
    assert_eq!(unhealthy_services(&with(&|_| {}), &owner), ["app_web"]);
}
