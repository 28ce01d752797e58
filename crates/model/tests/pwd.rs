//! `$PWD` in a stack is the compose file's directory, as for `docker stack
//! deploy` run where the file is: `file: $PWD/…` names a file of the
//! desired state, on disk and in a git snapshot alike; an absolute path
//! outside the desired state is still refused.

use std::path::{Path, PathBuf};

use swarmkeeper_model::tree::Entry;
use swarmkeeper_model::{LoadOutcome, MemoryTree, Variables, load_dir, load_tree};

const ROOT: &str = "version: 1\nstacks:\n  web:\n    compose: stacks/web.yml\n";
const WEB: &str = "services:\n  site:\n    image: nginx:1\n    environment:\n      HERE: $PWD\n    configs: [page]\nconfigs:\n  page:\n    file: ${PWD}/page.html\n";

fn files(web: &str) -> Vec<(&'static str, String)> {
    vec![
        ("swarmkeeper.yaml", ROOT.to_owned()),
        ("stacks/web.yml", web.to_owned()),
        ("stacks/page.html", "<p>hello</p>".to_owned()),
    ]
}

fn on_disk(tag: &str, web: &str) -> (LoadOutcome, PathBuf) {
    let dir = std::env::temp_dir().join(format!("sk-pwd-{}-{tag}", std::process::id()));
    for (rel, text) in files(web) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/"))).expect("dir");
        std::fs::write(path, text).expect("write");
    }
    // The process environment's PWD is another directory altogether.
    let env: Variables = [("PWD".to_owned(), "/somewhere/else".to_owned())].into_iter().collect();
    let outcome = load_dir(&dir, &env);
    let real = std::fs::canonicalize(&dir).expect("canonical");
    let _ = std::fs::remove_dir_all(&dir);
    (outcome, real)
}

fn here_and_page(outcome: &LoadOutcome) -> (String, Option<PathBuf>) {
    let state = outcome
        .state
        .as_ref()
        .unwrap_or_else(|| panic!("invalid: {:?}", outcome.diagnostics));
    let web = &state.stacks["web"].compose;
    let here = web.services["site"].environment["HERE"].clone().unwrap_or_default();
    (here, web.configs["page"].file.clone())
}

#[test]
fn on_disk_pwd_is_the_compose_files_directory() {
    let (outcome, real) = on_disk("ok", WEB);
    let (here, page) = here_and_page(&outcome);
    assert_eq!(here, real.join("stacks").to_string_lossy());
    assert_eq!(page, Some(PathBuf::from("stacks/page.html")));
}

#[test]
fn in_a_snapshot_pwd_is_the_same_fixed_path_everywhere() {
    let mut tree = MemoryTree::new("git@lab:repo@abc123");
    for (rel, text) in files(WEB) {
        tree.insert(rel, Entry::File(text.into_bytes()));
    }
    let outcome = load_tree(&tree, &Variables::new());
    let (here, page) = here_and_page(&outcome);
    assert_eq!(here, "/swarmkeeper/desired-state/stacks");
    assert_eq!(page, Some(PathBuf::from("stacks/page.html")));
}

#[test]
fn an_absolute_path_outside_the_desired_state_is_refused() {
    let (outcome, _) = on_disk("outside", &WEB.replace("${PWD}/page.html", "/etc/hostname"));
    assert!(outcome.state.is_none());
    let text = format!("{:?}", outcome.diagnostics);
    assert!(
        text.contains("is an absolute path outside the desired-state directory"),
        "{text}"
    );
    let (outcome, _) = on_disk("escape", &WEB.replace("${PWD}/page.html", "${PWD}/../../x"));
    assert!(outcome.state.is_none(), "$PWD/.. out of the tree");
}
