//! `swarmkeeper run`: set up logging, bind the listener, run the
//! controller until SIGTERM or SIGINT.

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::controller::commit_status::{Target, default_api, repo_of};
use crate::controller::source::git::GitSource;
use crate::controller::webhook::{Secret, WebhookConfig};
use crate::controller::{RunConfig, Source, run as run_controller};

/// The webhook's secret, when it is given in the environment.
const WEBHOOK_SECRET_ENV: &str = "SWARMKEEPER_WEBHOOK_SECRET";
/// The commit status token, when it is given in the environment.
const COMMIT_STATUS_TOKEN_ENV: &str = "SWARMKEEPER_COMMIT_STATUS_TOKEN";

/// Where commit statuses go, as the flags say: the token from a file or
/// the environment (never a flag), the repository from the git URL unless
/// given.
fn commit_status(args: &RunArgs) -> anyhow::Result<Option<Target>> {
    let Some(forge) = args.commit_status else {
        return Ok(None);
    };
    let token = match (
        &args.commit_status_token_file,
        std::env::var(COMMIT_STATUS_TOKEN_ENV).ok(),
    ) {
        (Some(_), Some(_)) => anyhow::bail!(
            "the commit status token is given twice, by --commit-status-token-file and by {COMMIT_STATUS_TOKEN_ENV}: keep one"
        ),
        (Some(path), None) => std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the commit status token {}: {e}; check the path (a swarm secret is under /run/secrets)",
                path.display()
            )
        })?,
        (None, Some(token)) => token,
        (None, None) => anyhow::bail!(
            "--commit-status needs a token that may set statuses: --commit-status-token-file PATH or {COMMIT_STATUS_TOKEN_ENV}"
        ),
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        anyhow::bail!("the commit status token is empty: put the forge's token in it");
    }
    let url = args.git.as_ref().map(|u| u.expose().to_owned()).unwrap_or_default();
    let from_url = repo_of(&url);
    let repo = match (&args.commit_status_repo, &from_url) {
        (Some(repo), _) => repo.trim_matches('/').to_owned(),
        (None, Some((_, repo))) => repo.clone(),
        (None, None) => anyhow::bail!(
            "cannot tell the repository from the git URL {}: give it with --commit-status-repo OWNER/REPO",
            crate::controller::source::git::redact(&url)
        ),
    };
    let api = match (&args.commit_status_api, &from_url) {
        (Some(api), _) => api.clone(),
        (None, Some((host, _))) => default_api(forge, host),
        (None, None) => {
            anyhow::bail!("give the forge's API with --commit-status-api URL (e.g. https://gitea.example.com)")
        }
    };
    Ok(Some(Target {
        forge,
        api,
        repo,
        token,
    }))
}

/// Libraries whose debug and trace output carries request and response
/// bodies (service specs with their environment, swarm inspect with its join
/// tokens, SDK responses): capped at `info` whatever `RUST_LOG` asks, so no
/// log level can print a secret.
const BODY_LOGGING_TARGETS: &[&str] = &[
    "bollard",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sdk_ssm",
    "aws_config",
    "gix",
    "gix_transport",
];

/// Logs: human-readable on a terminal, JSON lines otherwise (for log
/// shippers); `RUST_LOG` overrides the default `info` level, except for
/// [`BODY_LOGGING_TARGETS`].
fn init_logging() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for target in BODY_LOGGING_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        let _ = builder.try_init();
    } else {
        let _ = builder.json().with_current_span(true).try_init();
    }
}

pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM"),
                _ = int.recv() => tracing::info!("SIGINT"),
            }
        }
        _ => {
            tracing::error!("cannot listen for signals; stop with SIGKILL");
            std::future::pending::<()>().await;
        }
    }
}

/// A temporary git cache, removed when the controller stops.
struct TempCache(std::path::PathBuf);

impl Drop for TempCache {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn source(args: &RunArgs) -> anyhow::Result<(Source, Option<TempCache>)> {
    let Some(url) = &args.git else {
        return Ok((
            Source::Dir {
                dir: args.dir.clone(),
                poll: args.poll,
            },
            None,
        ));
    };
    if args.dir != std::path::Path::new(".") {
        anyhow::bail!(
            "give either a directory or --git, not both (--git-path names the directory inside the repository)"
        );
    }
    let git_path = swarmkeeper_model::tree::normalise(&args.git_path).ok_or_else(|| {
        anyhow::anyhow!(
            "--git-path `{}` must be relative and stay inside the repository",
            args.git_path.display()
        )
    })?;
    let (repo_dir, cache) = match &args.git_cache {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir = std::env::temp_dir().join(format!("swarmkeeper-git-{}", std::process::id()));
            (dir.clone(), Some(TempCache(dir)))
        }
    };
    let git = GitSource {
        url: url.clone(),
        branch: args.branch.clone(),
        path: git_path,
        repo_dir,
    };
    Ok((
        Source::Git {
            git,
            interval: args.git_interval,
        },
        cache,
    ))
}

/// The webhook as the flags and the environment configure it: a secret
/// from a file or `SWARMKEEPER_WEBHOOK_SECRET`, never from a flag (a
/// process's arguments are visible to every user of the machine).
fn webhook(args: &RunArgs) -> anyhow::Result<Option<WebhookConfig>> {
    let from_env = std::env::var_os(WEBHOOK_SECRET_ENV);
    let secret = match (&args.webhook_secret_file, from_env) {
        (Some(_), Some(_)) => anyhow::bail!(
            "the webhook secret is given twice, by --webhook-secret-file and by {WEBHOOK_SECRET_ENV}: keep one"
        ),
        (Some(path), None) => {
            let text = std::fs::read(path).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read the webhook secret {}: {e}; check the path (a swarm secret is under /run/secrets)",
                    path.display()
                )
            })?;
            Secret::parse(&text)
                .map_err(|e| anyhow::anyhow!("{e} ({}): put the forge's secret in it", path.display()))?
        }
        (None, Some(value)) => {
            if args.git.is_none() {
                anyhow::bail!(
                    "{WEBHOOK_SECRET_ENV} is set, but the webhook makes a git source fetch: add --git, or unset it"
                );
            }
            Secret::parse(value.as_encoded_bytes())
                .map_err(|e| anyhow::anyhow!("{e} ({WEBHOOK_SECRET_ENV}): set it to the forge's secret"))?
        }
        (None, None) => {
            if args.webhook_listen.is_some() {
                anyhow::bail!(
                    "--webhook-listen needs the webhook's secret: --webhook-secret-file PATH or {WEBHOOK_SECRET_ENV}"
                );
            }
            return Ok(None);
        }
    };
    Ok(Some(WebhookConfig {
        secret,
        listen: args.webhook_listen,
    }))
}

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    // HTTPS git fetches go through reqwest on rustls with ring, the one
    // provider built (the AWS clients set theirs explicitly).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let code = runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "error: cannot listen on {}: {e}; choose another --listen address",
                    args.listen
                );
                return Ok(ExitCode::from(1));
            }
        };
        let (source, _cache) = match source(args) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(ExitCode::from(1));
            }
        };
        let (webhook, commit_status) = match webhook(args).and_then(|w| Ok((w, commit_status(args)?))) {
            Ok(both) => both,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(ExitCode::from(1));
            }
        };
        let config = RunConfig {
            source,
            resync: args.resync,
            concurrency: usize::from(args.concurrency),
            shutdown_grace: args.shutdown_grace,
            allow_empty: args.allow_empty,
            lease_ttl: args.lease_ttl,
            adopt_swarm: args.adopt_swarm,
            webhook,
            commit_status,
            maintenance: crate::controller::maintenance::MaintenanceConfig {
                image: args.maintenance_image.clone().filter(|i| !i.is_empty()),
                socket: args.maintenance_socket.clone(),
            },
        };
        run_controller(config, listener, shutdown_signal()).await?;
        Ok(ExitCode::SUCCESS)
    });
    // A blocking task (a git fetch being interrupted) may not end at once:
    // the process exits anyway, within the task's stop grace.
    runtime.shutdown_timeout(SHUTDOWN_TIMEOUT);
    code
}

/// How long the runtime waits for blocking tasks once the controller stopped.
const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
