//! The diff's rules, case by case, on desired states loaded from compose
//! text and observed swarms built by applying earlier plans.

mod support;

use support::desired;
use swarmkeeper_plan::plan::Op;
use swarmkeeper_plan::simulate::apply;
use swarmkeeper_plan::{Action, ObservedSwarm, PlanError, PlanOptions, diff};

const WEB1: &str = "services:\n  web:\n    image: swarmkeeper-lab/web:1\n";
const WEB2: &str = "services:\n  web:\n    image: swarmkeeper-lab/web:2\n";

fn converge(stacks: &[(&str, &str)]) -> ObservedSwarm {
    let (_, d) = desired(stacks);
    let mut swarm = ObservedSwarm::default();
    let plan = diff(&d, &swarm, &PlanOptions::default()).expect("plan");
    apply(&plan, &mut swarm);
    swarm
}

fn ops(plan: &swarmkeeper_plan::Plan) -> Vec<(Op, &'static str, String)> {
    plan.steps
        .iter()
        .map(|s| (s.action.op(), s.action.kind(), s.action.name().to_owned()))
        .collect()
}

#[test]
fn first_apply_creates_network_before_service() {
    let (_, d) = desired(&[("app", WEB1)]);
    let plan = diff(&d, &ObservedSwarm::default(), &PlanOptions::default()).expect("plan");
    assert_eq!(
        ops(&plan),
        vec![
            (Op::Create, "network", "app_default".to_owned()),
            (Op::Create, "service", "app_web".to_owned())
        ]
    );
    assert_eq!(plan.steps[1].depends_on, vec![0]);
}

#[test]
fn unchanged_state_plans_nothing() {
    let swarm = converge(&[("app", WEB1)]);
    let (_, d) = desired(&[("app", WEB1)]);
    let plan = diff(&d, &swarm, &PlanOptions::default()).expect("plan");
    assert!(plan.is_empty(), "{plan:#?}");
}

#[test]
fn image_change_is_one_field_update() {
    let swarm = converge(&[("app", WEB1)]);
    let (_, d) = desired(&[("app", WEB2)]);
    let plan = diff(&d, &swarm, &PlanOptions::default()).expect("plan");
    assert_eq!(ops(&plan), vec![(Op::Update, "service", "app_web".to_owned())]);
    let Action::UpdateService { changes, .. } = &plan.steps[0].action else {
        panic!()
    };
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["labels[\"com.docker.stack.image\"]", "task.container.image"]
    );
    assert_eq!(changes[1].old, "swarmkeeper-lab/web:1");
    assert_eq!(changes[1].new, "swarmkeeper-lab/web:2");
}

#[test]
fn a_digest_pinned_by_the_engine_is_not_a_change() {
    let mut swarm = converge(&[("app", WEB1)]);
    swarm.services[0].spec.task.container.image = "swarmkeeper-lab/web:1@sha256:abc".to_owned();
    let (_, d) = desired(&[("app", WEB1)]);
    assert!(diff(&d, &swarm, &PlanOptions::default()).expect("plan").is_empty());
}

#[test]
fn env_order_does_not_matter_but_values_do() {
    let a = "services:\n  web:\n    image: x\n    environment:\n      B: 2\n      A: 1\n";
    let b = "services:\n  web:\n    image: x\n    environment: [\"A=1\", \"B=2\"]\n";
    let swarm = converge(&[("app", a)]);
    let (_, d) = desired(&[("app", b)]);
    assert!(diff(&d, &swarm, &PlanOptions::default()).expect("plan").is_empty());
    let c = "services:\n  web:\n    image: x\n    environment: [\"A=1\", \"B=3\"]\n";
    let (_, d) = desired(&[("app", c)]);
    assert_eq!(diff(&d, &swarm, &PlanOptions::default()).expect("plan").steps.len(), 1);
}

#[test]
fn removed_stack_is_pruned_service_before_network() {
    let swarm = converge(&[("app", WEB1), ("other", WEB1)]);
    let (_, d) = desired(&[("other", WEB1)]);
    let plan = diff(&d, &swarm, &PlanOptions::default()).expect("plan");
    assert_eq!(
        ops(&plan),
        vec![
            (Op::Delete, "service", "app_web".to_owned()),
            (Op::Delete, "network", "app_default".to_owned())
        ]
    );
    assert_eq!(plan.steps[1].depends_on, vec![0]);
    assert!(plan.steps[0].reason.contains("no longer declared"));
}

#[test]
fn empty_desired_state_refuses_to_prune_unless_allowed() {
    let swarm = converge(&[("app", WEB1)]);
    let (_, d) = desired(&[]);
    let err = diff(&d, &swarm, &PlanOptions::default()).expect_err("guarded");
    assert!(matches!(&err, PlanError::EmptyDesiredState { managed_stacks } if managed_stacks == &["app"]));
    assert!(err.to_string().contains("--allow-empty"));
    let opts = PlanOptions {
        allow_empty: true,
        ..PlanOptions::default()
    };
    assert_eq!(diff(&d, &swarm, &opts).expect("allowed").summary().destroy, 2);
}

#[test]
fn unmanaged_objects_are_never_touched() {
    let mut swarm = converge(&[("app", WEB1)]);
    let mut stranger = swarm.services[0].clone();
    stranger.id = "stranger".into();
    stranger.spec.name = "hand_made".into();
    stranger.spec.labels.clear();
    swarm.services.push(stranger);
    let (_, d) = desired(&[("app", WEB1)]);
    let plan = diff(&d, &swarm, &PlanOptions::default()).expect("plan");
    assert!(plan.is_empty());
    assert_eq!(plan.unmanaged.len(), 1);
    assert_eq!(plan.unmanaged[0].name, "hand_made");
}

#[test]
fn an_unmanaged_object_with_a_desired_name_blocks_the_plan() {
    let mut swarm = converge(&[("app", WEB1)]);
    swarm.services[0].spec.labels.clear();
    let (_, d) = desired(&[("app", WEB1)]);
    let err = diff(&d, &swarm, &PlanOptions::default()).expect_err("conflict");
    assert!(err.to_string().contains("not managed by swarmkeeper"), "{err}");
}

#[test]
fn a_service_deployed_by_docker_stack_deploy_is_adopted() {
    let mut swarm = converge(&[("app", WEB1)]);
    swarm.services[0]
        .spec
        .labels
        .remove(swarmkeeper_plan::labels::MANAGED_BY);
    let (_, d) = desired(&[("app", WEB1)]);
    let plan = diff(&d, &swarm, &PlanOptions::default()).expect("plan");
    assert_eq!(ops(&plan), vec![(Op::Update, "service", "app_web".to_owned())]);
    assert!(plan.steps[0].reason.contains("adopt"));
}

const WITH_SECRET_1: &str =
    "services:\n  web:\n    image: x\n    secrets: [token]\nsecrets:\n  token:\n    file: ./secret.txt\n";
const WITH_SECRET_2: &str =
    "services:\n  web:\n    image: x\n    secrets: [token]\nsecrets:\n  token:\n    file: ./secret2.txt\n";

#[test]
fn secret_rotation_creates_a_revision_moves_the_service_and_keeps_the_old_one() {
    let swarm = converge(&[("app", WITH_SECRET_1)]);
    let old_name = swarm.files[0].name.clone();
    assert!(old_name.starts_with("app_token_") && old_name.len() == "app_token_".len() + 10);
    let (_, d) = desired(&[("app", WITH_SECRET_2)]);
    let plan = diff(&d, &swarm, &PlanOptions::default()).expect("plan");
    assert_eq!(plan.steps.len(), 2, "{plan:#?}");
    assert_eq!(plan.steps[0].action.op(), Op::Create);
    assert_eq!(plan.steps[0].action.kind(), "secret");
    assert_eq!(plan.steps[1].action.op(), Op::Update);
    assert_eq!(plan.steps[1].depends_on, vec![0]);
    // The old revision is kept (newest few), so a rollback still finds it.
    let opts = PlanOptions {
        keep_revisions: 0,
        ..PlanOptions::default()
    };
    let plan = diff(&d, &swarm, &opts).expect("plan");
    let removal = plan
        .steps
        .iter()
        .find(|s| s.action.op() == Op::Delete)
        .expect("old revision removed");
    assert_eq!(removal.action.name(), old_name);
    assert!(!removal.depends_on.is_empty(), "removed after the service moved off it");
}

#[test]
fn plans_never_carry_secret_values() {
    let (_, d) = desired(&[("app", WITH_SECRET_1)]);
    let plan = diff(&d, &ObservedSwarm::default(), &PlanOptions::default()).expect("plan");
    let json = serde_json::to_string(&swarmkeeper_plan::render::json(&plan)).expect("json");
    let text = swarmkeeper_plan::render::text(&plan, false, true);
    let debug = format!("{plan:?}");
    for out in [json, text, debug] {
        assert!(!out.contains("s3cret-one"), "{out}");
    }
}

#[test]
fn text_rendering_reads_like_terraform() {
    let swarm = converge(&[("app", WEB1)]);
    let (_, d) = desired(&[("app", WEB2)]);
    let plan = diff(&d, &swarm, &PlanOptions::default()).expect("plan");
    let text = swarmkeeper_plan::render::text(&plan, false, false);
    assert!(text.contains("~ service \"app_web\""), "{text}");
    assert!(
        text.contains("~ task.container.image: \"swarmkeeper-lab/web:1\" → \"swarmkeeper-lab/web:2\""),
        "{text}"
    );
    assert!(text.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{text}");
}

#[test]
fn the_revision_label_follows_changes_and_never_causes_one() {
    use swarmkeeper_plan::labels::REVISION;
    let (_, mut d) = desired(&[("app", WEB1), ("other", WEB1)]);
    d.revision = Some("rev1".into());
    let mut swarm = ObservedSwarm::default();
    apply(&diff(&d, &swarm, &PlanOptions::default()).expect("plan"), &mut swarm);
    let label = |swarm: &ObservedSwarm, name: &str| {
        swarm
            .services
            .iter()
            .find(|s| s.spec.name == name)
            .and_then(|s| s.spec.labels.get(REVISION).cloned())
    };
    assert_eq!(label(&swarm, "app_web").as_deref(), Some("rev1"));

    // A new revision that changes only `app`: `other` is not touched.
    let (_, mut d) = desired(&[("app", WEB2), ("other", WEB1)]);
    d.revision = Some("rev2".into());
    let plan = diff(&d, &swarm, &PlanOptions::default()).expect("plan");
    assert_eq!(ops(&plan), vec![(Op::Update, "service", "app_web".to_owned())]);
    apply(&plan, &mut swarm);
    assert_eq!(label(&swarm, "app_web").as_deref(), Some("rev2"));
    assert_eq!(label(&swarm, "other_web").as_deref(), Some("rev1"));
    assert!(diff(&d, &swarm, &PlanOptions::default()).expect("plan").is_empty());
}

#[test]
fn the_revision_label_is_a_note_not_a_field_that_differs() {
    let at = |revision: &str, env: &str| {
        let (_, mut d) = desired(&[(
            "app",
            &format!("services:\n  web:\n    image: swarmkeeper-lab/web:1\n    environment:\n      MODE: {env}\n"),
        )]);
        d.revision = Some(revision.to_owned());
        d
    };
    let mut swarm = ObservedSwarm::default();
    apply(
        &diff(&at("aaaaaaaaaaaa", "one"), &swarm, &PlanOptions::default()).expect("plan"),
        &mut swarm,
    );

    // A new revision alone changes nothing.
    assert!(
        diff(&at("bbbbbbbbbbbb", "one"), &swarm, &PlanOptions::default())
            .expect("plan")
            .is_empty()
    );

    // One value changed: one field differs, and the new revision is a note.
    let plan = diff(&at("bbbbbbbbbbbb", "two"), &swarm, &PlanOptions::default()).expect("plan");
    let Action::UpdateService {
        changes, notes, spec, ..
    } = &plan.steps[0].action
    else {
        panic!("{plan:#?}")
    };
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, vec!["task.container.env"]);
    assert_eq!(notes, &vec!["revision → bbbbbbbbbbbb".to_owned()]);
    assert_eq!(plan.steps[0].reason, "1 field(s) differ");
    // The label is still written with the change.
    assert_eq!(
        spec.labels.get("io.swarmkeeper.revision").map(String::as_str),
        Some("bbbbbbbbbbbb")
    );
    let text = swarmkeeper_plan::render::text(&plan, false, false);
    assert!(text.contains("# revision → bbbbbbbbbbbb"), "{text}");
    assert!(!text.contains("io.swarmkeeper.revision"), "{text}");
    let json = serde_json::to_value(swarmkeeper_plan::render::json(&plan)).expect("json");
    assert_eq!(json["steps"][0]["notes"][0], "revision → bbbbbbbbbbbb");
    assert_eq!(json["steps"][0]["changes"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_suspended_stack_is_planned_shown_and_counted_but_held() {
    use std::collections::BTreeSet;
    use swarmkeeper_plan::control::Hold;
    let swarm = converge(&[("app", WEB1), ("other", WEB1)]);
    let (_, d) = desired(&[("app", WEB2), ("other", WEB2), ("fresh", WEB1)]);
    let opts = PlanOptions {
        hold: Hold::Stacks(BTreeSet::from(["app".to_owned()])),
        ..PlanOptions::default()
    };
    let plan = diff(&d, &swarm, &opts).expect("plan");
    let names = |steps: Vec<&swarmkeeper_plan::Step>| steps.iter().map(|s| s.action.name()).collect::<Vec<_>>();
    assert_eq!(names(plan.held.iter().map(|h| &h.step).collect()), vec!["app_web"]);
    assert!(names(plan.steps.iter().collect()).contains(&"other_web".to_owned()));
    assert!(names(plan.steps.iter().collect()).contains(&"fresh_web".to_owned()));
    let text = swarmkeeper_plan::render::text(&plan, false, false);
    assert!(text.contains("Held by a suspension"), "{text}");
    assert!(
        text.contains("held: stack `app` is suspended (swarmkeeper resume --stack app)"),
        "{text}"
    );
    assert!(text.contains("to destroy; 1 held (suspended)."), "{text}");
    let json = serde_json::to_value(swarmkeeper_plan::render::json(&plan)).expect("json");
    assert_eq!(json["summary"]["held"], 1, "{json:#}");
    assert_eq!(json["held"][0]["name"], "app_web", "{json:#}");
    assert!(
        json["held"][0]["held_by"].as_str().is_some_and(|w| w.contains("`app`")),
        "{json:#}"
    );

    // Everything held: nothing to apply, every difference still shown.
    let opts = PlanOptions {
        hold: Hold::Everything,
        ..PlanOptions::default()
    };
    let plan = diff(&d, &swarm, &opts).expect("plan");
    assert!(plan.is_empty() && !plan.pending(), "{plan:#?}");
    assert_eq!(plan.summary().held, 4, "{:#?}", plan.held);
    let text = swarmkeeper_plan::render::text(&plan, false, false);
    assert!(
        text.contains("Nothing will be applied: every difference is held by a suspension."),
        "{text}"
    );
}
