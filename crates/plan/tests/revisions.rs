//! Revision names: keyed (same content, same key → same name; another
//! cluster's key → another name; nothing in a name or label is the unsalted
//! hash of the content), and revisions named the old way (unsalted
//! SHA-256) keep their names while their content is unchanged, so an
//! upgrade rolls no service.

mod support;

use support::load_files;
use swarmkeeper_model::compose::Content;
use swarmkeeper_plan::labels::{CONTENT_HASH, OBJECT_NAME, REVISION_KEY};
use swarmkeeper_plan::revision_key::{RevisionKey, legacy_suffix};
use swarmkeeper_plan::simulate::apply;
use swarmkeeper_plan::spec::FileKind;
use swarmkeeper_plan::{Action, DesiredSwarm, ObservedSwarm, PlanOptions, desired_swarm, diff};

const COMPOSE: &str = "services:\n  db:\n    image: db:1\n    secrets: [pw]\n    configs: [conf]\n  web:\n    image: web:1\n\
                       secrets:\n  pw:\n    file: pw.txt\nconfigs:\n  conf:\n    file: conf.txt\n";

fn state(password: &str, key: &RevisionKey) -> DesiredSwarm {
    let root = "version: 1\nstacks:\n  app:\n    compose: app.yml\n";
    desired_swarm(
        &load_files(&[
            ("swarmkeeper.yaml", root),
            ("app.yml", COMPOSE),
            ("pw.txt", password),
            ("conf.txt", "a=1"),
        ]),
        key,
    )
}

fn key(n: u8) -> RevisionKey {
    RevisionKey::new(vec![n; 32]).expect("long enough")
}

fn secret_names(d: &DesiredSwarm) -> Vec<String> {
    d.files
        .keys()
        .filter(|(k, _)| *k == FileKind::Secret)
        .map(|(_, n)| n.clone())
        .collect()
}

#[test]
fn same_content_same_name_under_one_key_and_different_names_across_clusters() {
    let a1 = state("hunter2", &key(1));
    let a2 = state("hunter2", &key(1));
    let b = state("hunter2", &key(2));
    assert_eq!(secret_names(&a1), secret_names(&a2));
    assert_ne!(secret_names(&a1), secret_names(&b));
    let name = &secret_names(&a1)[0];
    assert!(name.starts_with("app_pw_"), "{name}");
    // Neither the name nor a label carries the unsalted hash.
    let legacy = legacy_suffix(&Content(b"hunter2".to_vec()));
    let spec = a1.files.values().find(|f| &f.name == name).expect("the secret");
    assert!(!name.contains(&legacy), "{name}");
    assert!(spec.labels.values().all(|v| !v.contains(&legacy)), "{:?}", spec.labels);
    assert_eq!(spec.labels.get(REVISION_KEY), Some(&key(1).id()));
    assert!(!spec.labels.contains_key(CONTENT_HASH));
}

/// The swarm as an earlier version left it: the same objects, with the
/// revisions named `<object>_<sha256 prefix>` and labelled with that hash.
fn as_an_earlier_version_made_it(swarm: &mut ObservedSwarm) {
    let mut renames = Vec::new();
    for f in &mut swarm.files {
        let object = f.labels.get(OBJECT_NAME).cloned().expect("object label");
        let content = match (f.kind, object.as_str()) {
            (FileKind::Secret, "app_pw") => "hunter2",
            (FileKind::Config, "app_conf") => "a=1",
            other => panic!("unexpected {other:?}"),
        };
        let hash = legacy_suffix(&Content(content.as_bytes().to_vec()));
        let old = format!("{object}_{hash}");
        renames.push((f.name.clone(), old.clone()));
        f.name = old;
        f.labels.remove(REVISION_KEY);
        f.labels.insert(CONTENT_HASH.to_owned(), hash);
    }
    for s in &mut swarm.services {
        let c = &mut s.spec.task.container;
        for r in c.secrets.iter_mut().chain(c.configs.iter_mut()) {
            if let Some((_, old)) = renames.iter().find(|(new, _)| new == &r.name) {
                r.name = old.clone();
            }
        }
    }
}

#[test]
fn old_style_revisions_keep_their_names_while_content_is_unchanged() {
    let desired = state("hunter2", &key(1));
    let mut swarm = ObservedSwarm::default();
    apply(
        &diff(&desired, &swarm, &PlanOptions::default()).expect("plan"),
        &mut swarm,
    );
    as_an_earlier_version_made_it(&mut swarm);

    // Upgraded: nothing to do, no service rolls.
    let plan = diff(&desired, &swarm, &PlanOptions::default()).expect("plan");
    assert!(plan.is_empty(), "{:?}", plan.steps);

    // The password changes: a keyed revision, the one service that uses it
    // moves to it, the config keeps its old name.
    let changed = state("correct horse", &key(1));
    let plan = diff(&changed, &swarm, &PlanOptions::default()).expect("plan");
    let created: Vec<&str> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::CreateFile { spec, .. } => Some(spec.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        created,
        secret_names(&changed).iter().map(String::as_str).collect::<Vec<_>>()
    );
    let updated: Vec<&str> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::UpdateService { spec, .. } => Some(spec.name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(updated, ["app_db"]);
    let Some(Action::UpdateService { spec, .. }) = plan
        .steps
        .iter()
        .map(|s| &s.action)
        .find(|a| matches!(a, Action::UpdateService { .. }))
    else {
        unreachable!()
    };
    let conf = legacy_suffix(&Content(b"a=1".to_vec()));
    assert_eq!(spec.task.container.configs[0].name, format!("app_conf_{conf}"));
    apply(&plan, &mut swarm);
    assert!(
        diff(&changed, &swarm, &PlanOptions::default())
            .expect("plan")
            .is_empty()
    );
}

#[test]
fn an_old_style_revision_of_other_content_is_not_taken() {
    let desired = state("hunter2", &key(1));
    let mut swarm = ObservedSwarm::default();
    apply(
        &diff(&desired, &swarm, &PlanOptions::default()).expect("plan"),
        &mut swarm,
    );
    as_an_earlier_version_made_it(&mut swarm);
    // A label that does not match the content (edited by hand, or another
    // content) is not the same revision: a keyed one is created.
    for f in &mut swarm.files {
        if f.kind == FileKind::Secret {
            f.labels.insert(CONTENT_HASH.to_owned(), "0000000000".to_owned());
        }
    }
    let plan = diff(&desired, &swarm, &PlanOptions::default()).expect("plan");
    assert!(
        plan.steps.iter().any(|s| matches!(
            &s.action,
            Action::CreateFile {
                kind: FileKind::Secret,
                ..
            }
        )),
        "{:?}",
        plan.steps
    );
}
