//! Ownership per desired state and "destruction needs evidence": a state
//! prunes only its own objects, never another state's, never a stack that
//! swarmkeeper.yaml still declares, and adopts objects of earlier versions
//! (no owner label) only when it declares them.

mod support;

use support::load_files;
use swarmkeeper_plan::labels::OWNER;
use swarmkeeper_plan::plan::Op;
use swarmkeeper_plan::simulate::apply;
use swarmkeeper_plan::{Action, DesiredSwarm, ObservedSwarm, PlanError, PlanOptions, desired_swarm, diff};

const WEB: &str = "services:\n  web:\n    image: web:1\n    configs: [conf]\nconfigs:\n  conf:\n    content: a=1\n";
const BLOG: &str = "services:\n  blog:\n    image: blog:1\n  db:\n    image: db:1\n";

/// A named desired state with the given stacks.
fn state(name: Option<&str>, stacks: &[(&str, &str)]) -> DesiredSwarm {
    let mut root = String::from("version: 1\n");
    if let Some(n) = name {
        root.push_str(&format!("name: {n}\n"));
    }
    root.push_str("stacks:\n");
    let mut files = Vec::new();
    for (stack, compose) in stacks {
        root.push_str(&format!("  {stack}:\n    compose: {stack}.yml\n"));
        files.push((format!("{stack}.yml"), (*compose).to_owned()));
    }
    files.push(("swarmkeeper.yaml".to_owned(), root));
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    desired_swarm(&load_files(&refs), &support::key())
}

fn converge(d: &DesiredSwarm, swarm: &mut ObservedSwarm) {
    let plan = diff(d, swarm, &PlanOptions::default()).expect("plan");
    apply(&plan, swarm);
    assert!(diff(d, swarm, &PlanOptions::default()).expect("plan").is_empty());
}

fn touched(plan: &swarmkeeper_plan::Plan) -> Vec<String> {
    plan.steps.iter().map(|s| s.action.name()).collect()
}

#[test]
fn everything_a_state_creates_carries_its_owner() {
    let d = state(Some("platform"), &[("app", WEB)]);
    let plan = diff(&d, &ObservedSwarm::default(), &PlanOptions::default()).expect("plan");
    assert_eq!(plan.steps.len(), 3, "{:?}", touched(&plan));
    for s in &plan.steps {
        let labels = match &s.action {
            Action::CreateService { spec } => &spec.labels,
            Action::CreateNetwork { spec } => &spec.labels,
            Action::CreateFile { spec, .. } => &spec.labels,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(labels.get(OWNER).map(String::as_str), Some("platform"), "{s:?}");
    }
    // Without `name:` nor a cluster, the documented default.
    let d = state(None, &[("app", WEB)]);
    assert_eq!(d.owner, "default");
}

#[test]
fn two_states_share_a_swarm_and_neither_prunes_the_other() {
    let a = state(Some("platform"), &[("app", WEB)]);
    let b = state(Some("apps"), &[("blog", BLOG)]);
    let mut swarm = ObservedSwarm::default();
    converge(&a, &mut swarm);
    converge(&b, &mut swarm);
    for (me, other, prefix) in [(&a, "apps", "blog_"), (&b, "platform", "app_")] {
        let plan = diff(me, &swarm, &PlanOptions::default()).expect("plan");
        assert!(plan.is_empty(), "{:?}", touched(&plan));
        assert!(!plan.foreign.is_empty());
        for f in &plan.foreign {
            assert_eq!(f.owner.as_deref(), Some(other), "{f:?}");
            assert!(f.name.starts_with(prefix), "{f:?}");
        }
        let text = swarmkeeper_plan::render::text(&plan, false, true);
        assert!(text.contains(&format!("owned by `{other}`")), "{text}");
        let json = serde_json::to_value(swarmkeeper_plan::render::json(&plan)).expect("json");
        assert_eq!(json["foreign"][0]["owner"], other, "{json}");
    }
    // One state removes its only stack: with nothing declared the empty
    // guard counts only its own stacks, and allowed, it prunes only those.
    let none = state(Some("apps"), &[]);
    let err = diff(&none, &swarm, &PlanOptions::default()).expect_err("guarded");
    assert!(matches!(&err, PlanError::EmptyDesiredState { managed_stacks } if managed_stacks == &["blog"]));
    let allowed = PlanOptions {
        allow_empty: true,
        ..PlanOptions::default()
    };
    let plan = diff(&none, &swarm, &allowed).expect("plan");
    assert!(!plan.steps.is_empty());
    for s in &plan.steps {
        assert_eq!(s.action.op(), Op::Delete);
        assert!(s.action.name().starts_with("blog_"), "{:?}", touched(&plan));
    }
}

#[test]
fn a_name_taken_by_another_owner_is_refused_saying_who_owns_it() {
    let a = state(Some("platform"), &[("app", WEB)]);
    let b = state(Some("apps"), &[("app", WEB)]);
    let mut swarm = ObservedSwarm::default();
    converge(&a, &mut swarm);
    let err = diff(&b, &swarm, &PlanOptions::default()).expect_err("clash");
    let PlanError::Conflicts(list) = &err else {
        panic!("{err}")
    };
    assert_eq!(list.len(), 3, "service, network and config: {list:#?}");
    for c in list {
        assert!(c.contains("belongs to the desired state `platform`"), "{c}");
    }
}

/// The swarm as an earlier version left it: managed, no owner label.
fn strip_owners(swarm: &mut ObservedSwarm) {
    for s in &mut swarm.services {
        s.spec.labels.remove(OWNER);
    }
    for n in &mut swarm.networks {
        n.spec.labels.remove(OWNER);
    }
    for f in &mut swarm.files {
        f.labels.remove(OWNER);
    }
}

#[test]
fn objects_of_earlier_versions_are_adopted_once_by_the_state_that_declares_them() {
    let a = state(Some("platform"), &[("app", WEB)]);
    let mut swarm = ObservedSwarm::default();
    converge(&a, &mut swarm);
    strip_owners(&mut swarm);

    // Another state leaves them alone, and says so.
    let b = state(Some("apps"), &[("blog", BLOG)]);
    let plan = diff(&b, &swarm, &PlanOptions::default()).expect("plan");
    assert!(
        touched(&plan).iter().all(|n| n.starts_with("blog_")),
        "{:?}",
        touched(&plan)
    );
    assert_eq!(plan.foreign.len(), 3);
    assert!(plan.foreign.iter().all(|f| f.owner.is_none()));
    assert!(
        plan.warnings.iter().any(|w| w.contains("carry no owner")),
        "{:?}",
        plan.warnings
    );

    // The state that declares them adopts them: one service update, with a
    // note; networks and configs cannot be relabelled and are taken as its.
    let plan = diff(&a, &swarm, &PlanOptions::default()).expect("plan");
    assert_eq!(touched(&plan), ["app_web"]);
    let Action::UpdateService { changes, .. } = &plan.steps[0].action else {
        panic!("{:?}", plan.steps)
    };
    assert_eq!(changes.len(), 1, "only the owner label: {changes:?}");
    assert!(changes[0].path.contains(OWNER), "{changes:?}");
    assert!(
        plan.steps[0].reason.contains("earlier swarmkeeper"),
        "{}",
        plan.steps[0].reason
    );
    apply(&plan, &mut swarm);
    assert!(
        diff(&a, &swarm, &PlanOptions::default()).expect("plan").is_empty(),
        "once"
    );

    // Undeclared legacy objects are never pruned, even by the state that
    // made them: it has to declare them to own them.
    let mut legacy = swarm.clone();
    strip_owners(&mut legacy);
    let a_without = state(Some("platform"), &[("other", BLOG)]);
    let plan = diff(&a_without, &legacy, &PlanOptions::default()).expect("plan");
    assert!(
        plan.steps.iter().all(|s| s.action.op() == Op::Create),
        "{:?}",
        touched(&plan)
    );
}

#[test]
fn a_stack_still_declared_is_never_pruned_as_undeclared() {
    let a = state(Some("platform"), &[("app", WEB), ("blog", BLOG)]);
    let mut swarm = ObservedSwarm::default();
    converge(&a, &mut swarm);

    // A declared stack that did not load: the plan is refused.
    let mut unloaded = a.clone();
    unloaded.services.retain(|n, _| !n.starts_with("blog_"));
    unloaded.networks.retain(|n, _| !n.starts_with("blog_"));
    unloaded.unloaded.insert("blog".into());
    let err = diff(&unloaded, &swarm, &PlanOptions::default()).expect_err("refused");
    assert!(
        err.to_string()
            .contains("stack `blog` is declared in swarmkeeper.yaml but did not load"),
        "{err}"
    );

    // A declared stack whose services all vanished (an emptied file that
    // slipped through): refused too, naming the stack.
    let mut emptied = a.clone();
    emptied.services.retain(|n, _| !n.starts_with("blog_"));
    let err = diff(&emptied, &swarm, &PlanOptions::default()).expect_err("refused");
    assert!(
        matches!(&err, PlanError::EmptyStacks { stacks } if stacks == &["blog"]),
        "{err}"
    );
    assert!(err.to_string().contains("remove the stack from `stacks:`"), "{err}");

    // One service removed from a compose file that loaded: removed as today.
    let one_less = state(
        Some("platform"),
        &[("app", WEB), ("blog", "services:\n  blog:\n    image: blog:1\n")],
    );
    let plan = diff(&one_less, &swarm, &PlanOptions::default()).expect("plan");
    assert_eq!(touched(&plan), ["blog_db"]);
    assert_eq!(plan.steps[0].reason, "no longer declared in its stack");

    // The stack's key gone from `stacks:`: pruned as no longer declared.
    let without = state(Some("platform"), &[("app", WEB)]);
    let plan = diff(&without, &swarm, &PlanOptions::default()).expect("plan");
    assert!(plan.steps.iter().all(|s| s.action.name().starts_with("blog_")));
    assert!(
        plan.steps
            .iter()
            .any(|s| s.reason == "stack `blog` is no longer declared")
    );
}
