//! Commit statuses against a controller following a git repository on the
//! lab, with a local stand-in for each forge's status API (there is no
//! forge on this machine): the requests are checked against the API each
//! forge documents — the path, the token's header, the JSON body — for a
//! commit applied (pending, then success) and one that fails (failure).

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

use common::receiver::{Got, receiver};
use common::{GitRepo, eventually, free_port, reset};
use serde_json::json;

type Lab = BTreeMap<String, String>;

const TOKEN: &str = "status-token-planted-by-the-test";

struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        common::stop_controller(&mut self.0);
    }
}

fn start(lab: &Lab, origin: &str, forge: &str, api: &str) -> Controller {
    let listen = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_swarmkeeper"))
        .args(["run", "--git", origin, "--branch", "main", "--git-interval", "1s"])
        .args(["--resync", "10m", "--lease-ttl", "6s", "--listen", &listen])
        .args(["--commit-status", forge, "--commit-status-api", api])
        .args(["--commit-status-repo", "ops/platform"])
        .envs(lab)
        .env("SWARMKEEPER_COMMIT_STATUS_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a controller");
    Controller(child)
}

fn header<'g>(got: &'g Got, name: &str) -> Option<&'g str> {
    got.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// (path, the token's header, the body) as the forge's API takes them.
fn expected(
    forge: &str,
    commit: &str,
    state: &str,
    description: &str,
) -> (String, (&'static str, String), serde_json::Value) {
    match forge {
        "github" => (
            format!("/github/repos/ops/platform/statuses/{commit}"),
            ("authorization", format!("Bearer {TOKEN}")),
            json!({"state": state, "description": description, "context": "swarmkeeper"}),
        ),
        "gitlab" => (
            format!("/gitlab/api/v4/projects/ops%2Fplatform/statuses/{commit}"),
            ("private-token", TOKEN.to_owned()),
            json!({"state": if state == "failure" { "failed" } else { state }, "description": description, "name": "swarmkeeper"}),
        ),
        "gitea" => (
            format!("/gitea/api/v1/repos/ops/platform/statuses/{commit}"),
            ("authorization", format!("token {TOKEN}")),
            json!({"state": state, "description": description, "context": "swarmkeeper"}),
        ),
        other => panic!("no forge {other}"),
    }
}

#[test]
#[ignore = "needs the lab: tests/run runs it (tests/lab/up, then --include-ignored)"]
fn each_forge_gets_pending_then_success_for_an_applied_commit_and_failure_for_a_failing_one() {
    let _serial = common::serial();
    let lab = common::lab("each_forge_gets_pending_then_success_for_an_applied_commit_and_failure_for_a_failing_one");
    let (port, got) = receiver();
    let repo = GitRepo::new("status");
    let work = &repo.work;
    work.write("swarmkeeper.yaml", "version: 1\nstacks:\n  cs:\n    compose: cs.yml\n");
    for forge in ["github", "gitlab", "gitea"] {
        reset(&lab, &[]);
        work.write(
            "cs.yml",
            &format!("# {forge}\nservices:\n  web:\n    image: swarmkeeper-lab/web:1\n"),
        );
        let good = repo.push(&format!("web 1 for {forge}"));
        let api = format!("http://127.0.0.1:{port}/{forge}");
        let _controller = start(&lab, &repo.url, forge, &api);
        let prefix = format!("/{forge}/");
        eventually(40, &format!("{forge}: pending then success"), || {
            (got.requests(&prefix).len() >= 2).then_some(())
        });
        // A commit whose plan cannot be carried out: failure, straight away.
        work.write(
            "cs.yml",
            &format!(
                "# {forge}\nservices:\n  web:\n    image: swarmkeeper-lab/web:1\n    secrets: [db_pw]\nsecrets:\n  db_pw:\n    external: true\n"
            ),
        );
        let bad = repo.push(&format!("a missing secret for {forge}"));
        eventually(40, &format!("{forge}: failure"), || {
            (got.requests(&prefix).len() >= 3).then_some(())
        });
        std::thread::sleep(std::time::Duration::from_secs(2));
        let requests = got.requests(&prefix);
        assert_eq!(requests.len(), 3, "{forge}: {requests:#?}");
        let want = [
            (
                good.as_str(),
                "pending",
                "applying: 2 to add, 0 to change, 0 to remove".to_owned(),
            ),
            (
                good.as_str(),
                "success",
                "applied: 2 added, 0 changed, 0 removed".to_owned(),
            ),
        ];
        for (got, (commit, state, description)) in requests.iter().zip(&want) {
            let (path, (name, value), body) = expected(forge, commit, state, description);
            assert_eq!(got.path, path, "{forge}: {got:#?}");
            assert_eq!(header(got, name), Some(value.as_str()), "{forge}: {got:#?}");
            assert_eq!(got.body, body, "{forge}: {got:#?}");
            assert_eq!(header(got, "content-type"), Some("application/json"), "{forge}");
        }
        let failure = &requests[2];
        let (path, (name, value), _) = expected(forge, &bad, "failure", "");
        assert_eq!(failure.path, path, "{forge}: {failure:#?}");
        assert_eq!(header(failure, name), Some(value.as_str()));
        let state = if forge == "gitlab" { "failed" } else { "failure" };
        assert_eq!(failure.body["state"], state, "{failure:#?}");
        let description = failure.body["description"].as_str().unwrap_or_default();
        assert!(
            description.starts_with("failed: ") && description.contains("db_pw"),
            "{failure:#?}"
        );
        assert!(description.chars().count() <= 140, "{description}");
        if forge == "github" {
            assert_eq!(header(failure, "accept"), Some("application/vnd.github+json"));
            assert_eq!(header(failure, "x-github-api-version"), Some("2022-11-28"));
            assert!(header(failure, "user-agent").is_some_and(|a| a.starts_with("swarmkeeper/")));
        }
    }
    reset(&lab, &[]);
}
