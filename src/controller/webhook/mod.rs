//! `POST /hooks/git`: a forge's push webhook makes the git source fetch at
//! once instead of at its next interval. Served on the controller's
//! listener, or on a listener of its own (`--webhook-listen`) for exposure
//! through a proxy while `/status` and `/metrics` stay private.
//!
//! A delivery is rate-limited ([`limit`]) before anything else, bounded in
//! size ([`MAX_BODY`]), then judged ([`verify`]): only an authentic push to
//! the followed branch wakes the fetch. Nothing a delivery says is trusted
//! beyond "look now": what is applied is what the fetch finds.
//!
//! Several replicas may run, and the forge reaches one of them. One
//! without the lease fetches (it stays current for a takeover) and passes
//! the push on through the swarm ([`Engine::request_fetch`](swarmkeeper_swarm::Engine::request_fetch)): every
//! replica sees the fetch config's event and fetches, the holder included.

pub mod limit;
pub mod verify;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::{Notify, watch};

use super::metrics::Metrics;
use super::status::Shared;
use swarmkeeper_swarm::Engine;

/// The path forges are pointed at.
pub const PATH: &str = "/hooks/git";

/// The largest delivery read (GitHub's push events list at most 20
/// commits; a body over this is refused with 413 before it is read).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Deliveries judged at once, and per second after that.
const BURST: u32 = 30;
const PER_SECOND: u32 = 2;

/// The shared secret, never printed.
#[derive(Clone)]
pub struct Secret(Arc<[u8]>);

impl Secret {
    /// A secret as read from a file or the environment: surrounding
    /// whitespace (the newline `echo` leaves) is not part of it.
    pub fn parse(text: &[u8]) -> Result<Self, String> {
        let trimmed = text.trim_ascii();
        if trimmed.is_empty() {
            return Err("the webhook secret is empty".into());
        }
        Ok(Self(trimmed.into()))
    }
}

impl Secret {
    /// The secret as text, for scrubbing it from what is said elsewhere.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What `run` was told about the webhook.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub secret: Secret,
    /// A listener of its own; `None`: the controller's `--listen`.
    pub listen: Option<std::net::SocketAddr>,
}

/// The receiver's state, shared by the requests.
pub struct Receiver {
    secret: Secret,
    branch: String,
    /// Wakes the git source's fetch loop (a permit is kept when it is
    /// fetching already: it fetches again once done).
    fetch: Arc<Notify>,
    bucket: Mutex<limit::Bucket>,
    status: Shared,
    metrics: Arc<Metrics>,
    /// The swarm and this replica's name, once the engine answered: how a
    /// replica without the lease passes a push on.
    relay: OnceLock<(Engine, String)>,
}

impl Receiver {
    pub fn new(secret: Secret, branch: String, fetch: Arc<Notify>, status: Shared, metrics: Arc<Metrics>) -> Self {
        Self {
            secret,
            branch,
            fetch,
            bucket: Mutex::new(limit::Bucket::new(BURST, PER_SECOND, Instant::now())),
            status,
            metrics,
            relay: OnceLock::new(),
        }
    }

    /// Pass pushes on through `engine`'s swarm when this replica, `me`,
    /// does not hold the lease.
    pub fn relay_through(&self, engine: Engine, me: String) {
        let _ = self.relay.set((engine, me));
    }

    /// Fetch here, and have the lease holder fetch.
    fn fetch(&self) {
        self.fetch.notify_one();
        if self.status.get().lease_held {
            return;
        }
        let Some((engine, me)) = self.relay.get().cloned() else {
            tracing::warn!("webhook: the engine has not answered yet; the lease holder fetches at its interval");
            return;
        };
        tokio::spawn(async move {
            match engine.request_fetch(&me).await {
                Ok(()) => tracing::info!("webhook: passed on to the lease holder through the swarm"),
                Err(e) => tracing::warn!(
                    error = %e,
                    "webhook: cannot pass the push on through the swarm; the lease holder fetches at its interval"
                ),
            }
        });
    }
}

/// The route, to merge into a router.
pub fn routes(receiver: Arc<Receiver>) -> Router {
    Router::new().route(PATH, post(receive)).with_state(receiver)
}

/// Serve the webhook alone on `listener` until `stop`.
pub async fn serve(listener: tokio::net::TcpListener, receiver: Arc<Receiver>, mut stop: watch::Receiver<bool>) {
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, routes(receiver))
        .with_graceful_shutdown(stopped)
        .await
    {
        tracing::error!(error = %e, "the webhook listener stopped");
    }
}

async fn receive(State(hook): State<Arc<Receiver>>, request: Request) -> Response {
    let limited = hook
        .bucket
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take(Instant::now());
    if let Err(wait) = limited {
        hook.metrics.webhook("none", "rate_limited");
        let seconds = wait.as_secs().max(1).to_string();
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, seconds)],
            "too many deliveries: retry later\n",
        )
            .into_response();
    }
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large(&hook);
    }
    let Ok(body) = axum::body::to_bytes(Body::new(body), MAX_BODY).await else {
        return too_large(&hook);
    };
    let verdict = verify::judge(
        |name| header_str(&parts.headers, name),
        &body,
        &hook.secret.0,
        &hook.branch,
    );
    let provider = match &verdict {
        verify::Verdict::Fetch { provider, .. } | verify::Verdict::Ignore { provider, .. } => provider.name(),
        verify::Verdict::Refuse { .. } => "unknown",
    };
    hook.metrics.webhook(provider, verdict.outcome());
    let answer = match &verdict {
        verify::Verdict::Fetch { commit, .. } => {
            tracing::info!(
                provider,
                commit = commit.as_deref().unwrap_or(""),
                "webhook: a push to the followed branch; fetching now"
            );
            hook.fetch();
            "fetching\n".to_owned()
        }
        verify::Verdict::Ignore { reason, .. } => {
            tracing::debug!(provider, %reason, "webhook: nothing to do");
            format!("ignored: {reason}\n")
        }
        verify::Verdict::Refuse { status, reason } => {
            tracing::warn!(status, %reason, "webhook delivery refused");
            format!("refused: {reason}\n")
        }
    };
    hook.status
        .update(|s| s.webhook_delivery(provider, verdict.outcome(), verdict.status()));
    let status = StatusCode::from_u16(verdict.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, answer).into_response()
}

fn too_large(hook: &Receiver) -> Response {
    hook.metrics.webhook("unknown", "too_large");
    hook.status.update(|s| s.webhook_delivery("unknown", "too_large", 413));
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("refused: the body is over {} MiB\n", MAX_BODY / (1024 * 1024)),
    )
        .into_response()
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
