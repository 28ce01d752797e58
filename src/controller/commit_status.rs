//! Commit statuses: with a forge and a token configured (`run
//! --commit-status FORGE`), the commit the controller applies gets
//! `pending` when its apply starts, then `success` or `failure`, with the
//! plan's summary as description — in the API form each forge documents:
//!
//! - GitHub: `POST {api}/repos/{owner}/{repo}/statuses/{sha}`, JSON
//!   `{state, description, context}`, `Authorization: Bearer TOKEN`;
//! - GitLab: `POST {api}/api/v4/projects/{url-encoded path}/statuses/{sha}`,
//!   JSON `{state, description, name}` (states `pending`, `success`,
//!   `failed`), `PRIVATE-TOKEN: TOKEN`;
//! - Gitea and Forgejo: `POST {api}/api/v1/repos/{owner}/{repo}/statuses/{sha}`,
//!   JSON `{state, description, context}`, `Authorization: token TOKEN`.
//!
//! The requests are built here without I/O ([`request`]); one task sends
//! them in order, with retries, never holding a cycle up.

use std::time::Duration;

use serde_json::json;
use tokio::sync::{mpsc, watch};

/// The context (GitHub, Gitea) or name (GitLab) statuses are posted under.
pub const CONTEXT: &str = "swarmkeeper";
/// GitHub caps a status description at 140 characters.
const DESCRIPTION_MAX: usize = 140;
const ATTEMPTS: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Forge {
    Github,
    Gitlab,
    /// Gitea, and Forgejo (the same API).
    #[value(alias = "forgejo")]
    Gitea,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Success,
    Failure,
}

/// Where statuses go, as `run` was told.
#[derive(Clone)]
pub struct Target {
    pub forge: Forge,
    /// The API's base URL (`https://api.github.com`, `https://gitlab.example.com`).
    pub api: String,
    /// `owner/repo` (GitLab: the project's full path).
    pub repo: String,
    pub token: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("forge", &self.forge)
            .field("api", &self.api)
            .field("repo", &self.repo)
            .finish_non_exhaustive()
    }
}

/// One request: method POST, the URL, the headers, the JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: serde_json::Value,
}

/// The request that sets `commit`'s status to `state` on `target`.
pub fn request(target: &Target, commit: &str, state: State, description: &str) -> Request {
    let description: String = description.chars().take(DESCRIPTION_MAX).collect();
    let api = target.api.trim_end_matches('/');
    match target.forge {
        Forge::Github => Request {
            url: format!("{api}/repos/{}/statuses/{commit}", target.repo),
            headers: vec![
                ("Authorization", format!("Bearer {}", target.token)),
                ("Accept", "application/vnd.github+json".to_owned()),
                ("X-GitHub-Api-Version", "2022-11-28".to_owned()),
            ],
            body: json!({"state": github_state(state), "description": description, "context": CONTEXT}),
        },
        Forge::Gitea => Request {
            url: format!("{api}/api/v1/repos/{}/statuses/{commit}", target.repo),
            headers: vec![("Authorization", format!("token {}", target.token))],
            body: json!({"state": github_state(state), "description": description, "context": CONTEXT}),
        },
        Forge::Gitlab => Request {
            url: format!(
                "{api}/api/v4/projects/{}/statuses/{commit}",
                target.repo.replace('/', "%2F")
            ),
            headers: vec![("PRIVATE-TOKEN", target.token.clone())],
            body: json!({
                "state": match state {
                    State::Pending => "pending",
                    State::Success => "success",
                    State::Failure => "failed",
                },
                "description": description,
                "name": CONTEXT,
            }),
        },
    }
}

fn github_state(state: State) -> &'static str {
    match state {
        State::Pending => "pending",
        State::Success => "success",
        State::Failure => "failure",
    }
}

/// `owner/repo` from a git URL (`https://host/owner/repo.git`,
/// `ssh://git@host/owner/repo`, `git@host:owner/repo.git`), and its host.
pub fn repo_of(url: &str) -> Option<(String, String)> {
    let (host, path) = if let Some((_, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit('@').next()?.split(':').next()?;
        (host.to_owned(), path.to_owned())
    } else {
        let (authority, path) = url.split_once(':')?;
        (authority.rsplit('@').next()?.to_owned(), path.to_owned())
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    (!host.is_empty() && path.contains('/')).then(|| (host, path.to_owned()))
}

/// The API a forge is reached at, for a repository on `host`.
pub fn default_api(forge: Forge, host: &str) -> String {
    match (forge, host) {
        (Forge::Github, "github.com") => "https://api.github.com".to_owned(),
        // GitHub Enterprise Server.
        (Forge::Github, host) => format!("https://{host}/api/v3"),
        (Forge::Gitlab | Forge::Gitea, host) => format!("https://{host}"),
    }
}

/// The controller's side: decides when, and queues.
pub struct CommitStatus {
    queue: mpsc::Sender<(String, State, String)>,
    /// The last (commit, state) posted: each is posted once.
    last: Option<(String, State)>,
}

impl CommitStatus {
    pub fn start(target: Target, stop: watch::Receiver<bool>) -> (Self, tokio::task::JoinHandle<()>) {
        let (queue, requests) = mpsc::channel(64);
        let task = tokio::spawn(send_all(target, requests, stop));
        (Self { queue, last: None }, task)
    }

    /// Set `commit`'s status, unless it is set so already.
    pub fn set(&mut self, commit: &str, state: State, description: String) {
        let key = (commit.to_owned(), state);
        if self.last.as_ref() == Some(&key) {
            return;
        }
        // Pending once per commit: not again for drift put back on a commit
        // applied already, nor at each retry of one failing.
        if state == State::Pending && self.last.as_ref().is_some_and(|(c, _)| c == commit) {
            return;
        }
        self.last = Some(key);
        if self.queue.try_send((commit.to_owned(), state, description)).is_err() {
            tracing::warn!("commit status: the queue is full (the forge is slow or down); this one is dropped");
        }
    }
}

async fn send_all(
    target: Target,
    mut requests: mpsc::Receiver<(String, State, String)>,
    mut stop: watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("swarmkeeper/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "commit status: cannot build an HTTP client; none is posted");
            return;
        }
    };
    loop {
        let (commit, state, description) = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            r = requests.recv() => match r { Some(r) => r, None => return },
        };
        let req = request(&target, &commit, state, &description);
        for attempt in 1..=ATTEMPTS {
            let mut call = client
                .post(&req.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(req.body.to_string());
            for (name, value) in &req.headers {
                call = call.header(*name, value);
            }
            let why = match call.send().await {
                Ok(r) if r.status().is_success() => break,
                Ok(r) if r.status().is_client_error() && r.status() != reqwest::StatusCode::TOO_MANY_REQUESTS => {
                    tracing::warn!(
                        status = r.status().as_u16(),
                        commit = %commit,
                        "commit status refused: check the token (it needs the status scope of {}) and --commit-status-repo",
                        target.repo
                    );
                    break;
                }
                Ok(r) => format!("HTTP {}", r.status().as_u16()),
                Err(e) => e.without_url().to_string(),
            };
            if attempt == ATTEMPTS {
                tracing::warn!(error = %why, commit = %commit, "commit status not posted; given up");
                break;
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                () = tokio::time::sleep(super::jitter(Duration::from_secs(1 << attempt))) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(forge: Forge) -> Target {
        Target {
            forge,
            api: "https://forge.example/".into(),
            repo: "ops/platform".into(),
            token: "t0ken".into(),
        }
    }

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn each_forge_gets_its_documented_request() {
        let gh = request(&target(Forge::Github), SHA, State::Pending, "applying");
        assert_eq!(
            gh.url,
            format!("https://forge.example/repos/ops/platform/statuses/{SHA}")
        );
        assert_eq!(
            gh.body,
            json!({"state": "pending", "description": "applying", "context": "swarmkeeper"})
        );
        assert!(gh.headers.contains(&("Authorization", "Bearer t0ken".into())));
        let gl = request(&target(Forge::Gitlab), SHA, State::Failure, "failed");
        assert_eq!(
            gl.url,
            format!("https://forge.example/api/v4/projects/ops%2Fplatform/statuses/{SHA}")
        );
        assert_eq!(
            gl.body,
            json!({"state": "failed", "description": "failed", "name": "swarmkeeper"})
        );
        assert_eq!(gl.headers, vec![("PRIVATE-TOKEN", "t0ken".to_owned())]);
        let gt = request(&target(Forge::Gitea), SHA, State::Success, "applied");
        assert_eq!(
            gt.url,
            format!("https://forge.example/api/v1/repos/ops/platform/statuses/{SHA}")
        );
        assert_eq!(gt.body["state"], "success");
        assert_eq!(gt.headers, vec![("Authorization", "token t0ken".to_owned())]);
    }

    #[test]
    fn a_long_description_is_cut_to_githubs_limit() {
        let long = "x".repeat(300);
        let r = request(&target(Forge::Github), SHA, State::Failure, &long);
        assert_eq!(r.body["description"].as_str().map(str::len), Some(140));
    }

    #[test]
    fn the_repository_is_read_from_the_git_url() {
        let cases = [
            (
                "https://github.com/ops/platform.git",
                Some(("github.com", "ops/platform")),
            ),
            (
                "https://x-access-token:abc@github.com/ops/platform",
                Some(("github.com", "ops/platform")),
            ),
            (
                "ssh://git@gitlab.example.com:2222/group/sub/project.git",
                Some(("gitlab.example.com", "group/sub/project")),
            ),
            (
                "git@gitea.example.com:ops/platform.git",
                Some(("gitea.example.com", "ops/platform")),
            ),
            ("file:///srv/git/platform.git", None),
        ];
        for (url, want) in cases {
            let got = repo_of(url);
            assert_eq!(got.as_ref().map(|(h, p)| (h.as_str(), p.as_str())), want, "{url}");
        }
        assert_eq!(default_api(Forge::Github, "github.com"), "https://api.github.com");
        assert_eq!(default_api(Forge::Github, "ghe.corp"), "https://ghe.corp/api/v3");
        assert_eq!(
            default_api(Forge::Gitlab, "gitlab.example.com"),
            "https://gitlab.example.com"
        );
    }
}
