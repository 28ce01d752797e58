//! The connection to a Docker Engine, and the provider's error type.

use std::future::Future;
use std::sync::Arc;

use bollard::Docker;
use swarmkeeper_plan::ErrorKind;
use swarmkeeper_plan::aws::spec::Sensitive;

use crate::calls::{CallCounter, CallCounts};
use crate::ssh::{SshDialer, SshOptions, SshTarget};

/// How long one Engine API request over ssh may take (bollard's default).
const SSH_REQUEST_TIMEOUT_SECS: u64 = 120;

/// How long a failed connection waits for its `ssh` to have exited, to
/// say why it failed.
const SSH_FAILURE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "cannot reach the Docker Engine at {endpoint} (DOCKER_HOST): {cause}. Set DOCKER_HOST to a swarm manager's socket, e.g. unix:///var/run/docker.sock, and check that the engine runs"
    )]
    Unreachable {
        endpoint: String,
        /// Said in the message, and so not a `source`: whoever prints the
        /// error's chain (`{:#}`) would print the cause a second time, after
        /// what to do.
        cause: bollard::errors::Error,
    },
    /// `DOCKER_HOST=ssh://…` could not be used: what ssh said, and what to do.
    #[error("cannot reach the Docker Engine at {endpoint} over ssh: {explanation}")]
    Ssh {
        endpoint: String,
        problem: crate::ssh::SshProblem,
        explanation: String,
    },
    /// A `DOCKER_HOST` that cannot be read.
    #[error("DOCKER_HOST: {why}")]
    BadHost { why: String },
    #[error(
        "this Docker Engine is not a swarm manager (swarm state: {state}); point DOCKER_HOST at a manager, or run `docker swarm init`"
    )]
    NotAManager { state: String },
    #[error("{call} failed: {message}")]
    Api {
        call: &'static str,
        /// HTTP status, when the engine answered.
        status: Option<u16>,
        message: String,
    },
    /// The engine answered something swarmkeeper cannot read: a field of
    /// an object that does not parse. Observation fails rather than guess
    /// (a guessed default would make the diff plan a change).
    #[error(
        "{call}: cannot read the engine's answer: {what}; this engine's API may be newer than swarmkeeper knows, report it with `docker version`"
    )]
    Unreadable { call: &'static str, what: String },
    /// An image's registry credentials could not be had (a credential
    /// helper failed): the call that needed them was not made.
    #[error("{why}")]
    Credentials { why: String },
    /// An object kept changing under a read-modify-write (the controls).
    #[error("{what}")]
    Busy { what: String },
    /// The swarm's revision key cannot be used (see `revision_key`).
    #[error("the revision key (config `swarmkeeper-revision-key`): {what}")]
    RevisionKey { what: String },
    /// A neutral spec holds a value the Engine API has no word for.
    #[error(transparent)]
    Unsendable(#[from] crate::translate::Unsendable),
}

impl EngineError {
    pub(crate) fn from_bollard(call: &'static str, err: bollard::errors::Error) -> Self {
        match err {
            bollard::errors::Error::DockerResponseServerError { status_code, message } => EngineError::Api {
                call,
                status: Some(status_code),
                message,
            },
            e @ (bollard::errors::Error::JsonDataError { .. } | bollard::errors::Error::JsonSerdeError { .. }) => {
                EngineError::Unreadable {
                    call,
                    what: e.to_string(),
                }
            }
            other => EngineError::Api {
                call,
                status: None,
                message: other.to_string(),
            },
        }
    }

    /// Swarm rejected an update because the version index moved on.
    pub fn is_out_of_sequence(&self) -> bool {
        matches!(self, EngineError::Api { message, .. } if message.contains("update out of sequence"))
    }

    /// A removal refused because tasks still use the object: swarm shuts
    /// the tasks of a removed service down asynchronously.
    pub fn is_in_use(&self) -> bool {
        matches!(self, EngineError::Api { message, .. } if message.contains("in use"))
    }

    /// The object is gone already (removals are then done).
    pub fn is_not_found(&self) -> bool {
        match self {
            EngineError::Api { status: Some(404), .. } => true,
            // Swarm's manager sometimes reports a vanished object as an RPC error.
            EngineError::Api { message, .. } => message.contains("code = NotFound") || message.ends_with(" not found"),
            _ => false,
        }
    }

    /// What kind of failure this is, for the controller's error policy:
    /// no answer, a 5xx, a swarm without a leader or an update out of
    /// sequence are transient; 409, a name in use by another object or an
    /// object in use are conflicts; 401/403 permission; 400 (an invalid
    /// spec) and other 4xx invalid; 404 not found.
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Unreachable { .. } => ErrorKind::Transient,
            EngineError::Ssh { problem, .. } => {
                use crate::ssh::SshProblem::*;
                match problem {
                    HostKeyChanged | HostKeyUnknown | Auth | DockerDenied => ErrorKind::Permission,
                    NoDocker => ErrorKind::Invalid,
                    Network | DockerDown | Other => ErrorKind::Transient,
                }
            }
            EngineError::BadHost { .. } => ErrorKind::Invalid,
            EngineError::Credentials { .. } => ErrorKind::Permission,
            EngineError::Busy { .. } => ErrorKind::Transient,
            EngineError::NotAManager { .. } => ErrorKind::Invalid,
            EngineError::Unreadable { .. } | EngineError::Unsendable(_) | EngineError::RevisionKey { .. } => {
                ErrorKind::Invalid
            }
            EngineError::Api { status, message, .. } => api_kind(*status, message),
        }
    }
}

/// The kind of an Engine API error from its status and message. Swarm's
/// manager answers gRPC errors inside HTTP ones: their code decides where
/// the status does not.
fn api_kind(status: Option<u16>, message: &str) -> ErrorKind {
    let transient = [
        "update out of sequence",
        "code = Unavailable",
        "does not have a leader",
        "code = DeadlineExceeded",
    ];
    if transient.iter().any(|t| message.contains(t)) {
        return ErrorKind::Transient;
    }
    if message.contains("code = NotFound") {
        return ErrorKind::NotFound;
    }
    if message.contains("code = InvalidArgument") {
        return ErrorKind::Invalid;
    }
    if message.contains("code = AlreadyExists") || message.contains("in use") || message.contains("already exists") {
        return ErrorKind::Conflict;
    }
    if message.contains("code = PermissionDenied") {
        return ErrorKind::Permission;
    }
    match status {
        // No answer: the connection broke or timed out.
        None => ErrorKind::Transient,
        Some(404) => ErrorKind::NotFound,
        Some(409) => ErrorKind::Conflict,
        Some(401 | 403) => ErrorKind::Permission,
        Some(s) if s >= 500 && message.contains("invalid") => ErrorKind::Invalid,
        Some(s) if s >= 500 => ErrorKind::Transient,
        Some(s) if s >= 400 => ErrorKind::Invalid,
        Some(_) => ErrorKind::Unknown,
    }
}

/// What `docker info` says about this engine's place in a swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmState {
    /// `inactive`, `pending`, `active`, `error` or `locked`.
    pub local_node_state: String,
    pub node_id: Option<String>,
    /// The swarm's own id (managers only: workers do not see it).
    pub swarm_id: Option<String>,
    pub is_manager: bool,
    pub managers: Option<i64>,
    pub nodes: Option<i64>,
    /// The API version agreed with the engine.
    pub api_version: String,
}

/// An event of the config named `name`.
fn is_config_event(e: &bollard::models::EventMessage, name: &str) -> bool {
    e.typ == Some(bollard::models::EventMessageTypeEnum::CONFIG)
        && e.actor
            .as_ref()
            .and_then(|a| a.attributes.as_ref())
            .and_then(|attrs| attrs.get("name"))
            .is_some_and(|n| n == name)
}

/// A change of the controller's controls (`swarmkeeper suspend`, `resume`):
/// an event of the `swarmkeeper-control` config.
fn is_control_change(e: &bollard::models::EventMessage) -> bool {
    is_config_event(e, crate::control::CONTROL_NAME)
}

/// A replica that received a webhook asks every replica to fetch: an
/// event of the `swarmkeeper-fetch` config.
fn is_fetch_request(e: &bollard::models::EventMessage) -> bool {
    is_config_event(e, crate::control::FETCH_NAME)
}

/// What a swarm event means to the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwarmEvent {
    /// A node joined, left, or its state, availability or role changed.
    Node(String),
    /// The controls changed (`suspend`, `resume`, `pin`, `unpin`).
    Control(String),
    /// A replica received a push by webhook: fetch the git source now.
    FetchRequested,
}

impl SwarmEvent {
    fn of(e: &bollard::models::EventMessage) -> Option<Self> {
        let described = || {
            format!(
                "{} {} {}",
                e.typ.map(|t| t.to_string()).unwrap_or_default(),
                e.action.clone().unwrap_or_default(),
                e.actor.as_ref().and_then(|a| a.id.clone()).unwrap_or_default()
            )
        };
        if is_node_change(e) {
            Some(Self::Node(described()))
        } else if is_control_change(e) {
            Some(Self::Control(described()))
        } else if is_fetch_request(e) {
            Some(Self::FetchRequested)
        } else {
            None
        }
    }
}

impl std::fmt::Display for SwarmEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Node(d) | Self::Control(d) => f.write_str(d),
            Self::FetchRequested => f.write_str("a fetch requested by a replica's webhook"),
        }
    }
}

/// A node event that may matter to the node lifecycle.
fn is_node_change(e: &bollard::models::EventMessage) -> bool {
    if e.typ != Some(bollard::models::EventMessageTypeEnum::NODE) {
        return false;
    }
    if e.action.as_deref() != Some("update") {
        return true; // create, remove
    }
    e.actor
        .as_ref()
        .and_then(|a| a.attributes.as_ref())
        .is_some_and(|attrs| {
            attrs
                .keys()
                .any(|k| k.starts_with("state.") || k.starts_with("availability.") || k.starts_with("role."))
        })
}

/// An open `GET /events` stream of node events (see
/// [`Engine::next_event`]); opened on first use, again after a break.
#[derive(Default)]
pub struct Events {
    #[allow(clippy::type_complexity)]
    stream: Option<
        std::pin::Pin<
            Box<dyn futures_util::Stream<Item = Result<bollard::models::EventMessage, bollard::errors::Error>> + Send>,
        >,
    >,
}

/// One Docker Engine, reached through `DOCKER_HOST` (or the default socket).
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: String,
    /// Set when the engine is reached over ssh.
    ssh: Option<SshDialer>,
    calls: Arc<CallCounter>,
    /// Registry credentials sent with the calls that pull images (digest
    /// lookups, service creates and updates), as `--with-registry-auth`.
    /// Shared by the engine's clones, replaced as credentials change
    /// ([`Engine::set_registry_auth`]).
    auth: Arc<std::sync::RwLock<Arc<crate::registry::RegistryAuth>>>,
}

impl Engine {
    /// Connect as the docker CLI would, then negotiate the API version.
    pub async fn connect() -> Result<Self, EngineError> {
        let endpoint = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned());
        Self::connect_to(&endpoint).await
    }

    /// Connect to `endpoint` (a `DOCKER_HOST` value) whatever the process
    /// environment says, then negotiate the API version. An `ssh://`
    /// endpoint goes through the system `ssh` (see [`crate::ssh`]), with
    /// the identity and known-hosts settings of this process's environment.
    pub async fn connect_to(endpoint: &str) -> Result<Self, EngineError> {
        if endpoint.starts_with("ssh://") {
            let target = SshTarget::parse(endpoint).map_err(|why| EngineError::BadHost { why })?;
            return Self::connect_over_ssh(target, SshOptions::from_env()).await;
        }
        let endpoint = endpoint.to_owned();
        let unreachable = |cause| EngineError::Unreachable {
            endpoint: endpoint.clone(),
            cause,
        };
        let docker = Docker::connect_with_host(&endpoint).map_err(unreachable)?;
        let calls = Arc::new(CallCounter::default());
        calls.record("GET /version", true);
        let docker = docker.negotiate_version().await.map_err(unreachable)?;
        Ok(Self {
            docker,
            endpoint,
            ssh: None,
            calls,
            auth: Arc::default(),
        })
    }

    /// Connect to the engine behind `target` over ssh (`docker system
    /// dial-stdio` on the far side), then negotiate the API version. A
    /// failure says what ssh said and what to do about it.
    pub async fn connect_over_ssh(target: SshTarget, options: SshOptions) -> Result<Self, EngineError> {
        let endpoint = target.url();
        let dialer = SshDialer::new(target, options);
        let docker = crate::ssh::docker_over_ssh(dialer.clone(), SSH_REQUEST_TIMEOUT_SECS)
            .map_err(|e| EngineError::BadHost { why: e.to_string() })?;
        let calls = Arc::new(CallCounter::default());
        calls.record("GET /version", true);
        match docker.negotiate_version().await {
            Ok(docker) => Ok(Self {
                docker,
                endpoint,
                ssh: Some(dialer),
                calls,
                auth: Arc::default(),
            }),
            Err(e) => {
                let failure = dialer.failure_within(SSH_FAILURE_WAIT).await;
                let problem = failure
                    .as_ref()
                    .map_or(crate::ssh::SshProblem::Other, crate::ssh::classify);
                let explanation = match failure {
                    Some(f) => dialer.explain(Some(&f)),
                    None => format!("{}: {e}", dialer.explain(None)),
                };
                Err(EngineError::Ssh {
                    endpoint,
                    problem,
                    explanation,
                })
            }
        }
    }

    /// The same engine, sending `auth`'s credentials with every call that
    /// pulls an image.
    pub fn with_registry_auth(self, auth: crate::registry::RegistryAuth) -> Self {
        self.set_registry_auth(auth);
        self
    }

    /// Replaces the credentials this engine (and every clone of it) sends.
    pub fn set_registry_auth(&self, auth: crate::registry::RegistryAuth) {
        if let Ok(mut current) = self.auth.write() {
            *current = Arc::new(auth);
        }
    }

    /// The registry credentials this engine sends.
    pub fn registry_auth(&self) -> Arc<crate::registry::RegistryAuth> {
        self.auth.read().map(|a| Arc::clone(&a)).unwrap_or_default()
    }

    /// The credentials for `image`'s registry, if any are configured.
    pub(crate) async fn credentials_for(
        &self,
        image: &str,
    ) -> Result<Option<bollard::auth::DockerCredentials>, EngineError> {
        self.registry_auth()
            .for_image(image)
            .await
            .map_err(|why| EngineError::Credentials { why })
    }

    /// Where a raw request (see [`crate::raw`]) reaches this engine.
    pub(crate) fn raw_endpoint(&self) -> Option<crate::raw::RawEndpoint> {
        match &self.ssh {
            Some(dialer) => Some(crate::raw::RawEndpoint::Ssh(dialer.clone())),
            None => crate::raw::RawEndpoint::parse(&self.endpoint),
        }
    }

    /// The client, for the few calls [`Engine::call`] cannot wrap (streams).
    pub(crate) fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The negotiated API version, as the `/v1.xx` path prefix wants it.
    pub(crate) fn api_version(&self) -> String {
        self.docker.client_version().to_string()
    }

    /// Calls made so far through this engine (and its clones).
    pub fn calls(&self) -> CallCounts {
        self.calls.snapshot()
    }

    pub(crate) fn record(&self, call: &'static str) {
        self.calls.record(call, crate::calls::is_read(call));
    }

    /// Run one Engine API call, counting it under `call` ("METHOD /path").
    pub(crate) async fn call<T, F>(&self, call: &'static str, f: impl FnOnce(Docker) -> F) -> Result<T, EngineError>
    where
        F: Future<Output = Result<T, bollard::errors::Error>>,
    {
        self.calls.record(call, crate::calls::is_read(call));
        f(self.docker.clone()).await.map_err(|e| match e {
            e @ (bollard::errors::Error::HyperResponseError { .. }
            | bollard::errors::Error::IOError { .. }
            | bollard::errors::Error::SocketNotFoundError(_)) => EngineError::Unreachable {
                endpoint: self.endpoint.clone(),
                cause: e,
            },
            e => EngineError::from_bollard(call, e),
        })
    }

    /// The engine's swarm membership, from one `GET /info`.
    pub async fn swarm_state(&self) -> Result<SwarmState, EngineError> {
        let info = self.call("GET /info", |d| async move { d.info().await }).await?;
        let swarm = info.swarm.unwrap_or_default();
        Ok(SwarmState {
            local_node_state: swarm
                .local_node_state
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unknown".to_owned()),
            node_id: swarm.node_id.filter(|s| !s.is_empty()),
            swarm_id: swarm.cluster.and_then(|c| c.id).filter(|s| !s.is_empty()),
            is_manager: swarm.control_available.unwrap_or(false),
            managers: swarm.managers,
            nodes: swarm.nodes,
            api_version: self.docker.client_version().to_string(),
        })
    }

    /// Wait for the next event the controller acts on — a node joined,
    /// left, went Down or changed, the controls changed (`suspend`,
    /// `resume`), a replica asked for a fetch — streamed by `GET /events`;
    /// `Err` when the stream broke (the caller reconnects). The controller
    /// reacts to a failed node or a `resume` here instead of at its next
    /// resync.
    pub async fn next_event(&self, events: &mut Events) -> Result<SwarmEvent, EngineError> {
        use futures_util::StreamExt;
        let stream = events.stream.get_or_insert_with(|| {
            self.calls.record("GET /events", true);
            let filters = std::collections::HashMap::from([("type", vec!["node", "config"])]);
            let options = bollard::query_parameters::EventsOptionsBuilder::default()
                .filters(&filters)
                .build();
            Box::pin(self.docker.events(Some(options)))
        });
        // Only what changes a node's fate is passed on: it joined or left,
        // or its state, availability or role changed (the engine's
        // attributes `state.new` etc.). Managers also announce `update`
        // events with no such change every few seconds, which must not
        // start a cycle each; so must the lease's renewals (config updates).
        let event = loop {
            match stream.next().await {
                Some(Ok(e)) => match SwarmEvent::of(&e) {
                    Some(meant) => break Some(Ok(meant)),
                    None => continue,
                },
                Some(Err(e)) => break Some(Err(e)),
                None => break None,
            }
        };
        match event {
            Some(Ok(meant)) => Ok(meant),
            Some(Err(e)) => {
                events.stream = None;
                Err(EngineError::Api {
                    call: "GET /events",
                    status: None,
                    message: e.to_string(),
                })
            }
            None => {
                events.stream = None;
                Err(EngineError::Api {
                    call: "GET /events",
                    status: None,
                    message: "the event stream ended".to_owned(),
                })
            }
        }
    }

    /// The swarm's join tokens (worker, manager), from `GET /swarm`. They
    /// are secrets: wrapped in [`Sensitive`] from here on, so Debug, logs
    /// and plans show `(sensitive)`.
    pub async fn join_tokens(&self) -> Result<(Sensitive, Sensitive), EngineError> {
        let swarm = self
            .call("GET /swarm", |d| async move { d.inspect_swarm().await })
            .await?;
        let tokens = swarm.join_tokens.unwrap_or_default();
        Ok((
            Sensitive(tokens.worker.unwrap_or_default()),
            Sensitive(tokens.manager.unwrap_or_default()),
        ))
    }

    /// Fail with a clear message unless this engine manages an active swarm.
    pub async fn require_manager(&self) -> Result<SwarmState, EngineError> {
        let state = self.swarm_state().await?;
        if state.local_node_state != "active" || !state.is_manager {
            return Err(EngineError::NotAManager {
                state: state.local_node_state,
            });
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::{EngineError, ErrorKind, is_control_change, is_fetch_request, is_node_change};
    use bollard::errors::Error as Bollard;
    use bollard::models::{EventActor, EventMessage, EventMessageTypeEnum};

    fn server(status_code: u16, message: &str) -> EngineError {
        EngineError::from_bollard(
            "POST /services/create",
            Bollard::DockerResponseServerError {
                status_code,
                message: message.to_owned(),
            },
        )
    }

    /// Engine answers as the engine words them (swarm's gRPC errors inside
    /// HTTP ones), and bollard's own errors, each with its kind.
    #[test]
    fn engine_errors_are_classified() {
        use ErrorKind::*;
        let cases = [
            (
                500,
                "rpc error: code = Unknown desc = update out of sequence",
                Transient,
            ),
            (
                503,
                "rpc error: code = Unavailable desc = the swarm does not have a leader",
                Transient,
            ),
            (
                500,
                "rpc error: code = Unknown desc = raft: failed to process the request",
                Transient,
            ),
            (
                409,
                "rpc error: code = AlreadyExists desc = name conflicts with an existing object",
                Conflict,
            ),
            (409, "conflict: unable to delete network", Conflict),
            (
                500,
                "rpc error: code = FailedPrecondition desc = network sk_net is in use by service x",
                Conflict,
            ),
            (
                400,
                "rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided",
                Invalid,
            ),
            (500, "rpc error: code = InvalidArgument desc = invalid mount", Invalid),
            (400, "json: cannot unmarshal string into Go struct field", Invalid),
            (403, "forbidden", Permission),
            (401, "unauthorized", Permission),
            (404, "service foo not found", NotFound),
            (500, "rpc error: code = NotFound desc = service x not found", NotFound),
        ];
        for (status, message, kind) in cases {
            assert_eq!(server(status, message).kind(), kind, "{status} {message}");
        }
        let timeout = EngineError::from_bollard("GET /nodes", Bollard::RequestTimeoutError);
        assert_eq!(timeout.kind(), Transient);
        let unreadable = EngineError::from_bollard(
            "GET /nodes",
            Bollard::JsonDataError {
                message: "expected value".to_owned(),
                column: 3,
            },
        );
        assert_eq!(unreadable.kind(), Invalid);
        let unreachable = EngineError::Unreachable {
            endpoint: "unix:///nowhere".to_owned(),
            cause: Bollard::SocketNotFoundError("/nowhere".to_owned()),
        };
        assert_eq!(unreachable.kind(), Transient);
        assert_eq!(
            EngineError::NotAManager {
                state: "inactive".to_owned()
            }
            .kind(),
            Invalid
        );
    }

    fn event(typ: EventMessageTypeEnum, action: &str, attrs: &[&str]) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            action: Some(action.to_owned()),
            actor: Some(EventActor {
                id: Some("n1".into()),
                attributes: Some(attrs.iter().map(|k| ((*k).to_owned(), "x".to_owned())).collect()),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_changes_of_a_nodes_fate_count() {
        use EventMessageTypeEnum::{CONFIG, NODE};
        assert!(is_node_change(&event(
            NODE,
            "update",
            &["name", "state.new", "state.old"]
        )));
        assert!(is_node_change(&event(NODE, "update", &["availability.new"])));
        assert!(is_node_change(&event(NODE, "remove", &["name"])));
        assert!(!is_node_change(&event(NODE, "update", &["name"])));
        assert!(!is_node_change(&event(CONFIG, "update", &["state.new"])));
    }

    #[test]
    fn the_controls_config_starts_a_cycle_and_the_lease_does_not() {
        use EventMessageTypeEnum::{CONFIG, NODE};
        let named = |typ, name: &str| {
            let mut e = event(typ, "update", &[]);
            if let Some(a) = e.actor.as_mut() {
                a.attributes = Some([("name".to_owned(), name.to_owned())].into());
            }
            e
        };
        assert!(is_control_change(&named(CONFIG, "swarmkeeper-control")));
        assert!(!is_control_change(&named(CONFIG, "swarmkeeper-lease")));
        assert!(!is_control_change(&named(NODE, "swarmkeeper-control")));
        assert!(is_fetch_request(&named(CONFIG, "swarmkeeper-fetch")));
        assert!(!is_fetch_request(&named(CONFIG, "swarmkeeper-control")));
        assert!(!is_control_change(&named(CONFIG, "swarmkeeper-fetch")));
    }
}
