//! The dashboard: a read-only page of the platform, served at `/` by the
//! controller (on its `--listen`) and by `swarmkeeper dashboard` on a
//! laptop. [`Snapshot`] is what a cycle saw (the view model of
//! `swarmkeeper_plan::dashboard`, and the pending plan as text), kept in
//! the status; [`render`] makes the HTML; [`routes`] serves `/` and
//! `/events` (server-sent events: the new `<main>` whenever it changes).

pub mod render;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use swarmkeeper_plan::dashboard::Dashboard;

use crate::controller::status::Shared;

/// How often `/events` looks for a change to send.
const EVENT_TICK: Duration = Duration::from_secs(1);

/// The page's own rules: nothing from anywhere, no frames, no forms.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
                   connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// What one cycle saw of the platform.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The cluster's name, else the state's `name:`, else the source.
    pub origin: String,
    pub view: Dashboard,
    /// The plan as `reconcile --dry-run` prints it (redacted), when it
    /// has anything to do.
    pub plan_text: Option<String>,
    pub at_unix: u64,
    /// The revisions applied, oldest first (the swarm's history).
    pub history: Vec<swarmkeeper_plan::control::Applied>,
}

impl Snapshot {
    pub fn new(origin: String, view: Dashboard, plan: Option<&swarmkeeper_plan::Plan>) -> Self {
        Self {
            origin,
            view,
            plan_text: plan
                .filter(|p| !p.steps.is_empty() || !p.held.is_empty())
                .map(|p| swarmkeeper_plan::render::text(p, false, false)),
            history: Vec::new(),
            at_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

/// `/` and `/events`, over the status `shared` holds.
pub fn routes(shared: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/events", get(events))
        .with_state(shared)
}

async fn index(State(shared): State<Shared>) -> Response {
    let status = shared.get();
    let html = render::page(&status, status.dashboard.as_deref());
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

async fn events(State(shared): State<Shared>) -> impl IntoResponse {
    let stream = futures_util::stream::unfold((shared, None::<String>), |(shared, last)| async move {
        loop {
            let status = shared.get();
            let main = render::main(&status, status.dashboard.as_deref());
            // The ages in the page change every second: send when the
            // facts change, or at least every few seconds.
            if last.as_ref() != Some(&main) {
                let event = Event::default().event("page").data(main.clone());
                return Some((Ok::<_, Infallible>(event), (shared, Some(main))));
            }
            tokio::time::sleep(EVENT_TICK).await;
        }
    });
    (
        [(header::CACHE_CONTROL, "no-store")],
        Sse::new(stream).keep_alive(KeepAlive::default()),
    )
}
