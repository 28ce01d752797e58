//! Steps that wait on an earlier step of the same apply are planned and
//! shown, not only warned about: a service mounting the EFS file system of
//! a new shared volume is in `Plan::after_apply` with what it waits for and
//! its address "(known after apply)", counted in the summary and present
//! in the JSON; and the apply's rounds run exactly what the first plan
//! showed (the union of the rounds' steps equals its steps and waiting
//! steps), on the in-memory account and swarm.

mod support;

use std::collections::BTreeSet;

use swarmkeeper_plan::aws::spec::ObservedAws;
use swarmkeeper_plan::simulate::apply_all;
use swarmkeeper_plan::{Action, ObservedSwarm, Plan, render};

fn files() -> Vec<(&'static str, String)> {
    let root = format!(
        "version: 1\ncluster:\n  name: kaa\n  region: eu-west-1\n  managers:\n    count: 1\n    instance_type: t3.small\n    \
         ami: ssm:{}\nvolumes:\n  data:\n    type: shared\n    deletion_policy: delete\nstacks:\n  web:\n    compose: web.yml\n",
        support::AMI_PARAM
    );
    let web = "services:\n  app:\n    image: x\n    volumes: [\"data:/srv\"]\n  site:\n    image: x\nvolumes:\n  data:\n    external: true\n";
    vec![("swarmkeeper.yaml", root), ("web.yml", web.to_owned())]
}

/// (kind, name, op) of a step: what the user reads in a plan line.
fn what(action: &Action) -> (String, String, String) {
    (action.kind().to_owned(), action.name(), format!("{:?}", action.op()))
}

fn shown(plan: &Plan) -> BTreeSet<(String, String, String)> {
    plan.steps
        .iter()
        .map(|s| what(&s.action))
        .chain(plan.after_apply.iter().map(|w| what(&w.step.action)))
        .collect()
}

#[test]
fn a_service_waiting_for_its_file_system_is_planned_shown_counted_and_run_by_the_next_round() {
    let mut swarm = ObservedSwarm::default();
    let mut aws = ObservedAws::default();
    let first = support::plan_with_aws(&files(), &swarm, &aws);

    // Planned, with what it waits for, and counted.
    assert_eq!(first.after_apply.len(), 1, "{:#?}", first.after_apply);
    let waiting = &first.after_apply[0];
    assert!(matches!(&waiting.step.action, Action::CreateService { spec } if spec.name == "web_app"));
    assert!(
        waiting.waits_for.contains("the EFS file system of volume `data`"),
        "{}",
        waiting.waits_for
    );
    let Action::CreateService { spec } = &waiting.step.action else {
        unreachable!()
    };
    let mount = spec
        .task
        .container
        .mounts
        .iter()
        .find(|m| m.target == "/srv")
        .expect("the mount");
    assert!(
        mount.volume_driver_options["o"].starts_with("addr=(known after apply),"),
        "{:?}",
        mount.volume_driver_options
    );
    assert!(
        !first.warnings.iter().any(|w| w.contains("web_app")),
        "a step, not a warning: {:?}",
        first.warnings
    );
    assert!(first.steps.iter().all(|s| s.action.name() != "web_app"));
    assert!(first.steps.iter().any(|s| s.action.name() == "web_site"));
    assert_eq!(first.summary().after_apply, 1);
    let line = render::summary_line(first.summary());
    assert!(
        line.ends_with("; 1 more after this apply (known after apply)."),
        "{line}"
    );
    let text = render::text(&first, false, false);
    assert!(text.contains("(known after apply)"), "{text}");
    assert!(text.contains("+ service \"web_app\""), "{text}");
    let json = serde_json::to_value(render::json(&first)).expect("json");
    assert_eq!(json["after_apply"][0]["waits_for"], waiting.waits_for.as_str());
    assert_eq!(json["summary"]["after_apply"], 1);
    // What a waiting step needs is named by its id: none is missing.
    let ids: BTreeSet<usize> = first.steps.iter().map(|s| s.id).collect();
    assert!(waiting.step.depends_on.iter().all(|d| ids.contains(d)));

    // The rounds, as `converge` runs them: apply the steps, plan again.
    let mut ran = BTreeSet::new();
    let mut plan = first.clone();
    for _ in 0..3 {
        if plan.steps.is_empty() {
            break;
        }
        ran.extend(plan.steps.iter().map(|s| what(&s.action)));
        apply_all(&plan, &mut swarm, &mut aws, "kaa");
        plan = support::plan_with_aws(&files(), &swarm, &aws);
    }
    assert!(
        plan.steps.is_empty() && plan.after_apply.is_empty(),
        "converged: {plan:#?}"
    );
    assert_eq!(ran, shown(&first), "the rounds ran exactly what the preview showed");
}
