//! "Destruction needs evidence", on the shipped example
//! (manifests/examples/nextcloud): converge the simulators to it, then for
//! every single-key deletion in its YAML files and every emptied file, the
//! edited state is either refused (a load error or a refused plan) or its
//! plan destroys only what the edit removed — nothing else of the swarm,
//! no node pool without a drain, no data volume.

use std::collections::{BTreeMap, BTreeSet};

use swarmkeeper_model::tree::Entry;
use swarmkeeper_model::{DesiredState, MemoryTree, Variables, load_tree};
use swarmkeeper_plan::aws::AwsAction;
use swarmkeeper_plan::aws::desired::{AwsInputs, desired_aws};
use swarmkeeper_plan::aws::spec::*;
use swarmkeeper_plan::convert::{DesiredSwarm, SharedVolumes, desired_swarm_with};
use swarmkeeper_plan::diff::diff_with_aws;
use swarmkeeper_plan::nodes::{ENGINE_LABEL_INSTANCE, NodeAvailability, NodeContext, NodeRole, NodeState};
use swarmkeeper_plan::observed::ObservedNode;
use swarmkeeper_plan::simulate::apply_all;
use swarmkeeper_plan::{Action, ObservedSwarm, Plan, PlanOptions};

/// This package's directory, as cargo gives it when it runs the test: a test
/// binary cargo reuses from a build of a checkout elsewhere (one target
/// directory for every clone) must read this checkout's files, not that one's.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

fn example_dir() -> std::path::PathBuf {
    manifest_dir().join("../../manifests/examples/nextcloud")
}
const FILES: [&str; 3] = ["swarmkeeper.yaml", "stacks/nextcloud.yml", "stacks/nextcloud.env"];
const PARAM: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
const NOW: u64 = 2_000_000_000;

fn example() -> BTreeMap<&'static str, String> {
    FILES
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(example_dir().join(f)).expect("example file");
            (*f, text)
        })
        .collect()
}

fn load(files: &BTreeMap<&'static str, String>) -> Option<DesiredState> {
    let mut tree = MemoryTree::new("nextcloud example");
    for (path, text) in files {
        tree.insert(*path, Entry::File(text.clone().into_bytes()));
    }
    // The database password comes from SSM: the binary reads it before
    // planning; here it is a fixed value.
    let state = load_tree(&tree, &Variables::new()).state?;
    let values = state
        .references()
        .into_iter()
        .map(|r| {
            (
                r.source,
                swarmkeeper_model::compose::Content(b"example password".to_vec()),
            )
        })
        .collect();
    Some(state.with_values(&values))
}

fn inputs() -> AwsInputs {
    AwsInputs {
        subnets: vec!["subnet-aaaa".into(), "subnet-bbbb".into()],
        amis: [(PARAM.to_owned(), "ami-0aaaaaaaaaaaaaaaa".to_owned())].into(),
        swarm_id: None,
        join_tokens: Some((Sensitive("SWMTKN-w".into()), Sensitive("SWMTKN-m".into()))),
        manager_addresses: vec!["10.0.0.1:2377".into()],
        certificate_arn: Some("arn:aws:acm:eu-west-1:1:certificate/x".into()),
    }
}

/// The swarm side and the plan, as the binary computes them.
fn plan(state: &DesiredState, swarm: &ObservedSwarm, aws: &ObservedAws) -> (DesiredSwarm, Result<Plan, String>) {
    let mut shared = SharedVolumes::new();
    for fs in &aws.file_systems {
        if let (Some(v), false) = (fs.tags.get(TAG_NAME), fs.mount_targets.is_empty()) {
            shared.insert(v.clone(), format!("{}.efs", fs.id));
        }
    }
    let desired = desired_swarm_with(state, &shared, &test_key());
    let want = match desired_aws(state, &inputs(), "#!/usr/bin/env bash\necho boot\n") {
        Ok(want) => want,
        Err(e) => return (desired, Err(format!("{e:?}"))),
    };
    let opts = PlanOptions {
        nodes: NodeContext {
            now_unix: NOW,
            local_node: Some("node-0".into()),
        },
        ..PlanOptions::default()
    };
    let plan = diff_with_aws(&desired, swarm, want.as_ref().map(|w| (w, aws)), &opts).map_err(|e| e.to_string());
    (desired, plan)
}

/// Each group's instances are running and joined: one ready node each.
fn launch(swarm: &mut ObservedSwarm, aws: &mut ObservedAws) {
    for g in &aws.groups {
        let have = aws.instances.iter().filter(|i| i.group == g.name).count() as u32;
        for _ in have..g.desired {
            let n = swarm.nodes.len();
            let id = format!("i-{n}");
            let lt = aws.launch_templates.iter().find(|t| t.name == g.launch_template);
            aws.instances.push(ObservedInstance {
                id: id.clone(),
                group: g.name.clone(),
                private_ip: Some(format!("10.0.0.{}", n + 10)),
                state: InstanceLifecycle::InService,
                health: InstanceHealth::Healthy,
                instance_type: lt.map_or_else(String::new, |t| t.spec.instance_type.clone()),
                image_id: lt.map(|t| t.spec.image_id.clone()),
                launched_unix: Some(NOW - 3600),
            });
            let manager = g.name.ends_with("managers");
            swarm.nodes.push(ObservedNode {
                id: format!("node-{n}"),
                hostname: format!("host-{n}"),
                role: if manager { NodeRole::Manager } else { NodeRole::Worker },
                availability: NodeAvailability::Active,
                state: NodeState::Ready,
                addr: format!("10.0.0.{}", n + 10),
                manager_addr: manager.then(|| format!("10.0.0.{}:2377", n + 10)),
                reachable: manager,
                labels: BTreeMap::new(),
                engine_labels: BTreeMap::from([
                    (ENGINE_LABEL_INSTANCE.to_owned(), id),
                    ("swarmkeeper.cluster".to_owned(), "cloud".to_owned()),
                ]),
                updated_unix: Some(NOW - 3600),
                leader: manager && n == 0,
            });
        }
    }
}

fn converged() -> (ObservedSwarm, ObservedAws) {
    let state = load(&example()).expect("the example is valid");
    let mut swarm = ObservedSwarm::default();
    let mut aws = ObservedAws::default();
    for _ in 0..6 {
        let (_, p) = plan(&state, &swarm, &aws);
        let p = p.expect("the example plans");
        if p.is_empty() {
            return (swarm, aws);
        }
        apply_all(&p, &mut swarm, &mut aws, "cloud");
        launch(&mut swarm, &mut aws);
    }
    let (_, p) = plan(&state, &swarm, &aws);
    panic!("the example does not converge: {:#?}", p.map(|p| p.steps));
}

/// The file with the mapping key at `line` (and its block) deleted.
fn delete_key(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let at = indent(lines[line]);
    let mut end = line + 1;
    while end < lines.len() {
        let l = lines[end];
        let t = l.trim_start();
        if !t.is_empty() && !t.starts_with('#') && (indent(l) < at || (indent(l) == at && !t.starts_with("- "))) {
            break;
        }
        end += 1;
    }
    let mut out: Vec<&str> = lines[..line].to_vec();
    out.extend(&lines[end..]);
    out.join("\n") + "\n"
}

/// Lines that start a block-mapping key (not a list item, not a comment).
fn key_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            let key: String = t
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "_.-".contains(*c))
                .collect();
            !key.is_empty() && !t.starts_with('-') && t[key.len()..].starts_with(':')
        })
        .map(|(i, _)| i)
        .collect()
}

fn swarm_names(d: &DesiredSwarm) -> BTreeSet<String> {
    d.services
        .keys()
        .chain(d.deferred.keys())
        .chain(d.networks.keys())
        .cloned()
        .chain(d.files.keys().map(|(_, n)| n.clone()))
        .collect()
}

#[test]
fn every_single_key_deletion_or_emptied_file_is_refused_or_destroys_only_what_it_removed() {
    let original = example();
    let (swarm, aws) = converged();
    let (original_desired, _) = plan(&load(&original).expect("valid"), &swarm, &aws);
    let original_names = swarm_names(&original_desired);

    let mut edits: Vec<(String, &'static str, BTreeMap<&'static str, String>)> = Vec::new();
    // (description, file edited, the edited files)
    for file in FILES {
        let mut emptied = original.clone();
        emptied.insert(file, String::new());
        edits.push((format!("{file} emptied"), file, emptied));
        if file.ends_with(".yml") || file.ends_with(".yaml") {
            for line in key_lines(&original[file]) {
                let mut edited = original.clone();
                edited.insert(file, delete_key(&original[file], line));
                let what = original[file].lines().nth(line).unwrap_or_default().trim().to_owned();
                edits.push((format!("{file}:{}: `{what}` deleted", line + 1), file, edited));
            }
        }
    }
    assert!(edits.len() > 60, "{} edits", edits.len());

    let (mut refused, mut planned) = (0, 0);
    let mut plans: BTreeMap<&str, Plan> = BTreeMap::new();
    for (what, file, files) in &edits {
        let Some(state) = load(files) else {
            refused += 1;
            continue;
        };
        let (desired, p) = plan(&state, &swarm, &aws);
        let Ok(p) = p else {
            refused += 1;
            continue;
        };
        planned += 1;
        let edited_names = swarm_names(&desired);
        let removed_by_edit: BTreeSet<&String> = original_names.difference(&edited_names).collect();
        for step in &p.steps {
            let name = step.action.name();
            match &step.action {
                Action::RemoveService { .. } | Action::RemoveNetwork { .. } | Action::RemoveFile { .. } => {
                    assert!(
                        removed_by_edit.contains(&name),
                        "{what}: removes {} `{name}`, which the edit did not remove",
                        step.action.kind()
                    );
                }
                Action::RemoveNode { id, .. } => {
                    let n = swarm.nodes.iter().find(|n| &n.id == id).expect("a known node");
                    assert!(
                        n.state != NodeState::Ready || n.availability != NodeAvailability::Active,
                        "{what}: removes the healthy node {id} without a drain"
                    );
                }
                Action::Aws { aws: action } => {
                    if let AwsAction::DeleteFileSystem { volume, .. } = action {
                        panic!("{what}: deletes the data volume {volume}");
                    }
                    if let AwsAction::DeleteGroup { name, force } = action {
                        assert!(!force, "{what}: a forced group delete");
                        assert!(
                            !aws.instances.iter().any(|i| &i.group == name),
                            "{what}: deletes group {name} with instances"
                        );
                    }
                    if let AwsAction::TerminateInstance { id, .. } = action {
                        let node = swarm
                            .nodes
                            .iter()
                            .find(|n| n.engine_labels.get(ENGINE_LABEL_INSTANCE) == Some(id));
                        assert!(
                            node.is_none_or(
                                |n| n.state != NodeState::Ready || n.availability != NodeAvailability::Active
                            ),
                            "{what}: terminates {id} under a healthy node without a drain"
                        );
                    }
                    if action.op() == swarmkeeper_plan::plan::Op::Delete {
                        assert_eq!(
                            *file,
                            "swarmkeeper.yaml",
                            "{what}: an edit of a stack's files deletes {} `{name}` in AWS",
                            action.kind()
                        );
                    }
                }
                _ => {}
            }
        }
        plans.insert(what, p);
    }
    // Removing the workers pool drains it: a drain now, nothing deleted.
    let workers = plans
        .iter()
        .find(|(what, _)| what.starts_with("swarmkeeper.yaml:") && what.ends_with("`workers:` deleted"))
        .map(|(_, p)| p)
        .expect("deleting `workers:` plans");
    assert!(
        workers
            .steps
            .iter()
            .any(|s| matches!(&s.action, Action::UpdateNode { change, .. }
            if change.availability == Some(NodeAvailability::Drain))),
        "{:#?}",
        workers.steps
    );
    // Removing a service from the compose file removes that service only.
    let db = plans
        .iter()
        .find(|(what, _)| what.starts_with("stacks/nextcloud.yml:") && what.ends_with("`db:` deleted"));
    if let Some((_, p)) = db {
        assert!(
            p.steps
                .iter()
                .all(|s| s.action.name() != "nextcloud_app" || s.action.op() != swarmkeeper_plan::plan::Op::Delete)
        );
    }
    // Both outcomes occur: the property is not vacuous.
    assert!(refused > 10 && planned > 10, "refused {refused}, planned {planned}");
}

fn test_key() -> swarmkeeper_plan::revision_key::RevisionKey {
    swarmkeeper_plan::revision_key::RevisionKey::new(b"swarmkeeper example edits' key".to_vec()).expect("long enough")
}
