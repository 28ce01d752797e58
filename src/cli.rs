//! Command-line interface: the raw flags, as clap parses them.

use std::path::PathBuf;

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::controller::source::git::GitUrl;

/// The shortest durations accepted: anything shorter spins (a resync or
/// fetch loop with no pause) or cannot work (a lease renewed every third of
/// its ttl, each call bounded by that third).
pub const MIN_RESYNC: Duration = Duration::from_secs(1);
pub const MIN_GIT_INTERVAL: Duration = Duration::from_secs(1);
pub const MIN_POLL: Duration = Duration::from_millis(100);
pub const MIN_SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
pub const MIN_LEASE_TTL: Duration = Duration::from_secs(3);
pub const MIN_SWARM_TIMEOUT: Duration = Duration::from_secs(10);

/// Keeps a Docker Swarm on AWS at the state declared in a directory.
#[derive(Debug, Parser)]
#[command(name = "swarmkeeper", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a desired-state directory: syntax, types, references, files.
    ///
    /// Exits 0 when it is valid (warnings allowed), 1 when it has errors.
    /// Diagnostics go to stderr; `--output json` prints them on stdout.
    Validate(ValidateArgs),
    /// Converge the swarm to a desired-state directory, or preview it.
    ///
    /// With --dry-run, prints the plan and exits 0 when there is nothing to
    /// do, 2 when changes are pending, 1 on error (like Terraform's
    /// `plan -detailed-exitcode`). Without it, applies the plan and exits 0
    /// once the swarm matches. The engine is found through DOCKER_HOST.
    Reconcile(ReconcileArgs),
    /// Run the controller: watch the directory and keep the platform
    /// converged, with status and metrics on --listen.
    ///
    /// Reconciles on every change of the directory, on a periodic resync
    /// (with jitter) that puts back drift, and after failures with
    /// exponential backoff. An invalid edit is reported and the last valid
    /// state kept. SIGTERM/SIGINT: nothing new starts, running actions
    /// finish (bounded by --shutdown-grace).
    Run(Box<RunArgs>),
    /// Show a running controller's status (its /status endpoint), or with
    /// --cluster the status the last apply wrote to the cluster's SSM
    /// parameters (AWS credentials alone: no engine, no directory).
    Status(StatusArgs),
    /// Take a cluster down: everything in AWS carrying its tag, in
    /// dependency order, shown as a plan first.
    ///
    /// Stops the controller first (the `destroying` marker under the
    /// cluster's SSM prefix, and its service when a manager is reachable
    /// through DOCKER_HOST). Data under `deletion_policy: retain` stays and is
    /// listed. On a terminal it asks for the cluster's name; elsewhere it
    /// needs --yes. With --dry-run: exits 0 when nothing is left, 2 when
    /// something would be destroyed, 1 on error. Safe to run again after an
    /// interruption: it continues with what is left.
    Destroy(DestroyArgs),
    /// Suspend the controller, or some stacks: it keeps observing and
    /// reporting (status `Suspended`, the changes it finds are shown as
    /// held) and applies nothing of what is suspended until `resume`.
    ///
    /// Recorded in the swarm (the labels of the `swarmkeeper-control`
    /// config), so every replica sees it; the engine is found through
    /// DOCKER_HOST (a manager, or `ssh://` to one).
    Suspend(ControlArgs),
    /// Lift a suspension: without --stack everything is resumed (every
    /// stack too); the controller applies what it held at once.
    Resume(ControlArgs),
    /// Hold the controller on one revision (a commit of its branch, as
    /// `history` lists them) whatever the branch's head says, until
    /// `unpin`: a rollback without rewriting git.
    Pin(PinArgs),
    /// Follow the branch again: its head is applied at once.
    Unpin,
    /// The revisions the controller applied, oldest first (kept in the
    /// swarm, the last 20): commit, time, outcome and counts.
    History(HistoryArgs),
    /// Prune this node's engine as `docker system prune` does: stopped
    /// containers, unused networks, dangling images, build cache (and
    /// unused volumes with --volumes), then print what it reclaimed.
    ///
    /// The scheduled prune (`maintenance.system_prune`) runs it on every
    /// node as a global job; it talks to the engine of DOCKER_HOST (the
    /// job mounts the node's socket).
    PruneNode(PruneNodeArgs),
    /// Serve the platform's dashboard on a laptop: the page the controller
    /// serves at `/`, for the swarm and AWS this directory declares.
    ///
    /// Reaches them as `reconcile` does (DOCKER_HOST, or `cluster.ssh`),
    /// observes and plans every --interval, and changes nothing.
    Dashboard(DashboardArgs),
    /// Print the JSON Schema of swarmkeeper.yaml, for editors.
    ///
    /// Reference it from the file's first line:
    /// `# yaml-language-server: $schema=<path to the saved schema>`.
    Schema,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The desired-state directory (holding swarmkeeper.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// How to print the diagnostics.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// The desired-state directory (holding swarmkeeper.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Only show what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Allow removing every managed stack when the desired state declares none.
    #[arg(long)]
    pub allow_empty: bool,
    /// How to print the plan.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Also list unmanaged objects and count Engine API calls.
    #[arg(long, short)]
    pub verbose: bool,
    /// Independent actions run at once (AWS actions: at most 4).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Make the swarm DOCKER_HOST reaches the cluster's own (a swarm built
    /// by hand before swarmkeeper): its id is recorded under the cluster's
    /// SSM prefix, and from then on only that swarm is the cluster's.
    #[arg(long)]
    pub adopt_swarm: bool,
    /// Apply even though a controller holds the lease (it follows its own
    /// source and goes back to it at its next cycle).
    #[arg(long)]
    pub force: bool,
    /// How long a bootstrap waits for the cluster's new swarm to form
    /// (its first manager's instance boots and runs `swarm init`).
    #[arg(long, default_value = "15m", value_parser = at_least(MIN_SWARM_TIMEOUT))]
    pub swarm_timeout: std::time::Duration,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The desired-state directory to watch (not with --git).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Follow a git repository instead of a directory: https://, ssh://,
    /// git@host:path or file:// URL. A token may be given in an https URL
    /// (it is never logged).
    #[arg(long, env = "SWARMKEEPER_GIT", hide_env_values = true, value_name = "URL", value_parser = GitUrl::parse)]
    pub git: Option<GitUrl>,
    /// The branch to follow.
    #[arg(
        long,
        env = "SWARMKEEPER_GIT_BRANCH",
        hide_env_values = true,
        default_value = "main",
        requires = "git"
    )]
    pub branch: String,
    /// The desired-state directory inside the repository.
    #[arg(
        long,
        env = "SWARMKEEPER_GIT_PATH",
        hide_env_values = true,
        default_value = ".",
        requires = "git"
    )]
    pub git_path: PathBuf,
    /// How often to fetch, with ±20 % jitter.
    #[arg(long, env = "SWARMKEEPER_GIT_INTERVAL", hide_env_values = true, default_value = "15s", value_parser = at_least(MIN_GIT_INTERVAL), requires = "git")]
    pub git_interval: std::time::Duration,
    /// The bare repository to fetch into (default: a temporary one per
    /// process, removed on exit).
    #[arg(long, env = "SWARMKEEPER_GIT_CACHE", hide_env_values = true, requires = "git")]
    pub git_cache: Option<PathBuf>,
    /// Serve `POST /hooks/git` with this shared secret (a file, e.g. a
    /// swarm secret under /run/secrets): a forge's push webhook (GitHub,
    /// GitLab, Gitea, Forgejo, or a generic HMAC-SHA256) makes the git
    /// source fetch at once. The secret may instead be given in the
    /// environment as SWARMKEEPER_WEBHOOK_SECRET.
    #[arg(
        long,
        env = "SWARMKEEPER_WEBHOOK_SECRET_FILE",
        hide_env_values = true,
        value_name = "PATH",
        requires = "git"
    )]
    pub webhook_secret_file: Option<PathBuf>,
    /// Serve the webhook on this address instead of --listen (to expose it
    /// through a proxy while /status and /metrics stay private).
    #[arg(
        long,
        env = "SWARMKEEPER_WEBHOOK_LISTEN",
        hide_env_values = true,
        value_name = "ADDR",
        requires = "git"
    )]
    pub webhook_listen: Option<std::net::SocketAddr>,
    /// Post the status of each commit applied (pending, then success or
    /// failure, with the plan's summary) to this forge's API. The token is
    /// read from --commit-status-token-file or SWARMKEEPER_COMMIT_STATUS_TOKEN.
    #[arg(
        long,
        env = "SWARMKEEPER_COMMIT_STATUS",
        hide_env_values = true,
        value_name = "FORGE",
        requires = "git"
    )]
    pub commit_status: Option<crate::controller::commit_status::Forge>,
    /// The token for commit statuses, in a file (a swarm secret under /run/secrets).
    #[arg(
        long,
        env = "SWARMKEEPER_COMMIT_STATUS_TOKEN_FILE",
        hide_env_values = true,
        value_name = "PATH",
        requires = "commit_status"
    )]
    pub commit_status_token_file: Option<PathBuf>,
    /// The forge's API (default: https://api.github.com for github.com,
    /// https://HOST/api/v3 for another GitHub host, https://HOST for GitLab and Gitea).
    #[arg(
        long,
        env = "SWARMKEEPER_COMMIT_STATUS_API",
        hide_env_values = true,
        value_name = "URL",
        requires = "commit_status"
    )]
    pub commit_status_api: Option<String>,
    /// The repository as the forge names it, `owner/repo` (default: from the git URL).
    #[arg(
        long,
        env = "SWARMKEEPER_COMMIT_STATUS_REPO",
        hide_env_values = true,
        value_name = "OWNER/REPO",
        requires = "commit_status"
    )]
    pub commit_status_repo: Option<String>,
    /// Where to serve /healthz, /readyz, /metrics and /status.
    #[arg(
        long,
        env = "SWARMKEEPER_LISTEN",
        hide_env_values = true,
        default_value = "127.0.0.1:9400"
    )]
    pub listen: std::net::SocketAddr,
    /// Periodic resync, with ±20 % jitter (e.g. 30s, 5m).
    #[arg(long, env = "SWARMKEEPER_RESYNC", hide_env_values = true, default_value = "30s", value_parser = at_least(MIN_RESYNC))]
    pub resync: std::time::Duration,
    /// Poll the directory at this interval instead of filesystem events
    /// (for network filesystems).
    #[arg(long, value_parser = at_least(MIN_POLL), conflicts_with = "git")]
    pub poll: Option<std::time::Duration>,
    /// How long running actions may take to finish after SIGTERM.
    #[arg(long, default_value = "30s", value_parser = at_least(MIN_SHUTDOWN_GRACE))]
    pub shutdown_grace: std::time::Duration,
    /// Independent actions run at once (AWS actions: at most 4).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Allow removing every managed stack when the desired state declares none.
    #[arg(long)]
    pub allow_empty: bool,
    /// The lease's time to live: a replica that stops renewing is replaced
    /// after this long.
    #[arg(long, default_value = "15s", value_parser = at_least(MIN_LEASE_TTL))]
    pub lease_ttl: std::time::Duration,
    /// Make the swarm DOCKER_HOST reaches the cluster's own (a swarm built
    /// by hand before swarmkeeper): its id is recorded under the cluster's
    /// SSM prefix, and from then on only that swarm is the cluster's.
    /// (`SWARMKEEPER_ADOPT_SWARM=true` in a stack file, where flags are awkward.)
    #[arg(long, env = "SWARMKEEPER_ADOPT_SWARM")]
    pub adopt_swarm: bool,
    /// The image the scheduled prune's job runs (`swarmkeeper prune-node`):
    /// swarmkeeper's own. Default: the image of the container this
    /// controller runs in.
    #[arg(
        long,
        env = "SWARMKEEPER_MAINTENANCE_IMAGE",
        hide_env_values = true,
        value_name = "IMAGE"
    )]
    pub maintenance_image: Option<String>,
    /// The engine's socket on the nodes, mounted into the prune job.
    #[arg(
        long,
        env = "SWARMKEEPER_MAINTENANCE_SOCKET",
        hide_env_values = true,
        value_name = "PATH",
        default_value = "/var/run/docker.sock"
    )]
    pub maintenance_socket: String,
}

#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// The desired-state directory (holding swarmkeeper.yaml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where to serve the page (keep it on loopback; reach it from elsewhere
    /// through an SSH tunnel).
    #[arg(long, default_value = "127.0.0.1:9401")]
    pub listen: std::net::SocketAddr,
    /// How often to observe and plan again.
    #[arg(long, default_value = "10s", value_parser = at_least(MIN_RESYNC))]
    pub interval: std::time::Duration,
}

#[derive(Debug, clap::Args)]
pub struct PruneNodeArgs {
    /// Wait up to this long first, a delay fixed by the node's ID, so the
    /// nodes of a swarm do not all prune at once.
    #[arg(long, default_value = "0s", value_parser = at_least(Duration::ZERO))]
    pub stagger: std::time::Duration,
    /// Also remove unused volumes (data no container uses).
    #[arg(long)]
    pub volumes: bool,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The controller's address: what its `run --listen` was given
    /// (`--address` is the old name of this flag).
    #[arg(
        long,
        visible_alias = "address",
        env = "SWARMKEEPER_LISTEN",
        hide_env_values = true,
        default_value = "127.0.0.1:9400"
    )]
    pub listen: std::net::SocketAddr,
    /// Read the status a cluster's last apply wrote to SSM
    /// (`/swarmkeeper/<NAME>/status`) instead of asking a controller.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The cluster's region (default: the standard AWS chain, AWS_REGION).
    #[arg(long, requires = "cluster")]
    pub region: Option<String>,
    /// How to print the status.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct ControlArgs {
    /// Only this stack (repeat for several); without it, everything.
    #[arg(long = "stack", value_name = "STACK")]
    pub stacks: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct PinArgs {
    /// A commit id, or its first 7 to 40 hex digits.
    pub revision: String,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// How to print the history.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    /// The cluster's desired-state directory (its name, region and volumes'
    /// deletion policies come from it).
    pub dir: PathBuf,
    /// Only show what would be destroyed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for the cluster's name (required without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// How to print the plan.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    swarmkeeper_model::duration::parse_duration(s).map_err(|why| format!("`{s}`: {why} (write e.g. 30s, 5m)"))
}

/// A duration parser that refuses anything shorter than `min` (clap names
/// the flag in its error).
fn at_least(min: Duration) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |s| {
        let d = parse_duration(s)?;
        if d < min {
            return Err(format!("must be at least {} (got {s})", show(min)));
        }
        Ok(d)
    }
}

fn show(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
