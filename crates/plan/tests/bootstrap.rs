//! A cluster's plan when its swarm is not observed: before the swarm has
//! formed only the AWS half runs now and the swarm's steps wait in
//! `after_swarm`; with no way into an existing swarm nothing of the swarm
//! is planned; in neither case does the node lifecycle run (there is no
//! evidence about nodes). And the swarm's id is published before anything
//! a booting node would use to join, and never overwritten.

mod support;

use support::load_files;
use swarmkeeper_plan::aws::AwsAction;
use swarmkeeper_plan::aws::desired::{AwsInputs, desired_aws};
use swarmkeeper_plan::aws::names::swarm_id_parameter;
use swarmkeeper_plan::aws::spec::{DesiredAws, ObservedAws, Sensitive};
use swarmkeeper_plan::convert::KNOWN_AFTER_APPLY;
use swarmkeeper_plan::convert::{DesiredSwarm, SharedVolumes, desired_swarm_with};
use swarmkeeper_plan::diff::diff_cluster;
use swarmkeeper_plan::nodes::adoption::joining_name;
use swarmkeeper_plan::nodes::{LABEL_INSTANCE, LABEL_POOL};
use swarmkeeper_plan::plan::{Step, SwarmPart, SwarmSeen};
use swarmkeeper_plan::{Action, ObservedSwarm, PlanOptions};

const ROOT: &str = "version: 1\ncluster:\n  name: boot\n  region: eu-west-1\n  managers:\n    count: 1\n    \
                    instance_type: t3.small\n    ami: ami-0123456789abcdef0\nstacks:\n  web:\n    compose: web.yml\n";
const WEB: &str = "services:\n  site:\n    image: nginx\n    ports: [\"8001:80\"]\n";

fn desired(inputs: &AwsInputs) -> (DesiredSwarm, DesiredAws) {
    let state = load_files(&[("swarmkeeper.yaml", ROOT), ("web.yml", WEB)]);
    let aws = desired_aws(&state, inputs, "#!/usr/bin/env bash\necho boot\n")
        .expect("inputs suffice")
        .expect("a cluster is declared");
    (desired_swarm_with(&state, &SharedVolumes::new(), &support::key()), aws)
}

fn inputs() -> AwsInputs {
    AwsInputs {
        subnets: vec!["subnet-aaaa".into()],
        ..AwsInputs::default()
    }
}

fn is_aws(step: &Step) -> bool {
    matches!(step.action, Action::Aws { .. })
}

fn put(step: &Step) -> Option<(&str, bool)> {
    match &step.action {
        Action::Aws {
            aws: AwsAction::PutParameter { spec, overwrite },
        } => Some((spec.name.as_str(), *overwrite)),
        _ => None,
    }
}

#[test]
fn before_the_swarm_forms_only_aws_runs_now_and_the_swarm_steps_wait() {
    let (swarm, aws) = desired(&inputs());
    let plan = diff_cluster(
        &swarm,
        SwarmSeen::NotFormed,
        Some((&aws, &ObservedAws::default())),
        &PlanOptions::default(),
    )
    .expect("plan");
    assert_eq!(plan.swarm, SwarmPart::AfterSwarmExists);
    assert!(
        !plan.steps.is_empty() && plan.steps.iter().all(is_aws),
        "{:#?}",
        plan.steps
    );
    assert!(!plan.after_swarm.is_empty(), "the stack's service waits for the swarm");
    assert!(plan.after_swarm.iter().all(|s| !is_aws(s)), "{:#?}", plan.after_swarm);
    assert!(plan.nodes.is_none(), "no node lifecycle on a swarm nobody saw");
    assert!(plan.pending());
    assert_eq!(plan.summary().after_swarm, plan.after_swarm.len());
    // Ids stay unique across both lists (the later ones may name AWS steps).
    let mut ids: Vec<usize> = plan.steps.iter().chain(&plan.after_swarm).map(|s| s.id).collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all);
}

/// The plan of `root` (with the web stack) from an empty account, before
/// the swarm has formed.
fn before_the_swarm(root: &str) -> swarmkeeper_plan::Plan {
    let state = load_files(&[("swarmkeeper.yaml", root), ("web.yml", WEB)]);
    let aws = desired_aws(&state, &inputs(), "#!/usr/bin/env bash\necho boot\n")
        .expect("inputs suffice")
        .expect("a cluster is declared");
    let swarm = desired_swarm_with(&state, &SharedVolumes::new(), &support::key());
    diff_cluster(
        &swarm,
        SwarmSeen::NotFormed,
        Some((&aws, &ObservedAws::default())),
        &PlanOptions::default(),
    )
    .expect("plan")
}

/// Each instance the pools declare joins the new swarm and gets its
/// pool's labels: one step each in the preview, its node known after apply.
#[test]
fn every_declared_instance_is_shown_joining_with_its_pool_label() {
    let root = ROOT.replace(
        "stacks:",
        "  workers:\n    count: 2\n    instance_type: t3.small\n    ami: ami-0123456789abcdef0\nstacks:",
    );
    let plan = before_the_swarm(&root);
    assert!(
        !plan.after_swarm.iter().any(|s| matches!(s.action, Action::Aws { .. })),
        "one manager publishes its own address: nothing to update"
    );
    let joining: Vec<(String, String)> = plan
        .after_swarm
        .iter()
        .filter_map(|s| match &s.action {
            Action::UpdateNode { id, name, change } => {
                assert_eq!(id, KNOWN_AFTER_APPLY);
                assert_eq!(
                    change.labels.get(LABEL_INSTANCE).map(String::as_str),
                    Some(KNOWN_AFTER_APPLY)
                );
                Some((name.clone(), change.labels.get(LABEL_POOL).cloned().unwrap_or_default()))
            }
            _ => None,
        })
        .collect();
    let want: Vec<(String, String)> = [("managers", 1, 1), ("workers", 1, 2), ("workers", 2, 2)]
        .iter()
        .map(|(pool, n, of)| (joining_name(pool, *n, *of), (*pool).to_owned()))
        .collect();
    assert_eq!(joining, want);
    assert!(plan.steps.iter().all(is_aws), "nothing of the swarm runs now");
    let text = swarmkeeper_plan::render::text(&plan, false, false);
    assert!(
        text.contains("~ node \"workers 2/2 (known after apply)\"  # joins the workers pool once the swarm exists"),
        "{text}"
    );
    // Three nodes, the network and the service.
    assert!(text.contains("; 5 more after the swarm exists"), "{text}");
}

/// With more than one manager, the addresses published once they have all
/// joined are part of what follows the swarm.
#[test]
fn several_managers_are_published_once_they_have_joined() {
    let root = ROOT.replace("    count: 1\n", "    count: 3\n");
    let plan = before_the_swarm(&root);
    let puts: Vec<(&str, bool)> = plan.after_swarm.iter().filter_map(put).collect();
    assert_eq!(puts, vec![("/swarmkeeper/boot/manager-addresses", true)]);
    let text = swarmkeeper_plan::render::text(&plan, false, false);
    assert!(
        text.contains("~ ssm parameter \"/swarmkeeper/boot/manager-addresses\"  # the 3 managers' addresses"),
        "{text}"
    );
    assert!(!text.contains("SWMTKN"), "{text}");
}

#[test]
fn with_no_way_into_the_swarm_nothing_of_it_is_planned() {
    let (swarm, aws) = desired(&inputs());
    let plan = diff_cluster(
        &swarm,
        SwarmSeen::Unreachable("no manager reachable"),
        Some((&aws, &ObservedAws::default())),
        &PlanOptions::default(),
    )
    .expect("plan");
    assert_eq!(
        plan.swarm,
        SwarmPart::Unreachable {
            why: "no manager reachable".into()
        }
    );
    assert!(plan.steps.iter().all(is_aws), "{:#?}", plan.steps);
    assert!(plan.after_swarm.is_empty());
    assert!(plan.nodes.is_none());
}

#[test]
fn the_swarm_id_goes_first_and_is_never_overwritten() {
    let with_swarm = AwsInputs {
        swarm_id: Some("swarm-a".into()),
        join_tokens: Some((Sensitive("SWMTKN-w".into()), Sensitive("SWMTKN-m".into()))),
        manager_addresses: vec!["10.0.0.1:2377".into()],
        ..inputs()
    };
    let (swarm, aws) = desired(&with_swarm);
    let observed = ObservedSwarm::default();
    let id_name = swarm_id_parameter("boot");

    let plan = diff_cluster(
        &swarm,
        SwarmSeen::Observed(&observed),
        Some((&aws, &ObservedAws::default())),
        &PlanOptions::default(),
    )
    .expect("plan");
    let id_step = plan
        .steps
        .iter()
        .find(|s| put(s).is_some_and(|(name, _)| name == id_name))
        .expect("the swarm id is published");
    assert!(id_step.depends_on.is_empty());
    for step in plan
        .steps
        .iter()
        .filter(|s| put(s).is_some_and(|(name, _)| name != id_name))
    {
        assert!(
            step.depends_on.contains(&id_step.id),
            "{step:?} is published before the swarm id"
        );
    }

    // Another swarm recorded: identity refuses the run before planning;
    // the plan alone still never replaces the record.
    let recorded = ObservedAws {
        parameters: [(id_name.clone(), Sensitive("swarm-b".into()))].into(),
        ..ObservedAws::default()
    };
    let plan = diff_cluster(
        &swarm,
        SwarmSeen::Observed(&observed),
        Some((&aws, &recorded)),
        &PlanOptions::default(),
    )
    .expect("plan");
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| put(s).is_some_and(|(name, _)| name == id_name)),
        "{:#?}",
        plan.steps
    );
}

#[test]
fn the_rendered_plan_says_what_waits_for_the_swarm() {
    let (swarm, aws) = desired(&inputs());
    let plan = diff_cluster(
        &swarm,
        SwarmSeen::NotFormed,
        Some((&aws, &ObservedAws::default())),
        &PlanOptions::default(),
    )
    .expect("plan");
    let text = swarmkeeper_plan::render::text(&plan, false, false);
    assert!(text.contains("After the swarm exists"), "{text}");
    assert!(
        text.contains(&format!("{} more after the swarm exists.", plan.after_swarm.len())),
        "{text}"
    );
    let json = serde_json::to_value(swarmkeeper_plan::render::json(&plan)).expect("the plan serializes");
    assert_eq!(json["changes"], true);
    assert_eq!(json["swarm"]["state"], "after_swarm_exists");
    assert_eq!(
        json["after_swarm"].as_array().map(Vec::len),
        Some(plan.after_swarm.len())
    );

    let unreachable = diff_cluster(
        &swarm,
        SwarmSeen::Unreachable("no manager reachable"),
        Some((&aws, &ObservedAws::default())),
        &PlanOptions::default(),
    )
    .expect("plan");
    let text = swarmkeeper_plan::render::text(&unreachable, false, false);
    assert!(
        text.contains("the swarm half is not planned: no manager reachable"),
        "{text}"
    );
}
