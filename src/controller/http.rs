//! The read-only HTTP endpoints: `/healthz` (the process runs), `/readyz`
//! (a valid desired state is loaded and the last cycle did not fail),
//! `/metrics` (Prometheus text) and `/status` (JSON); and `POST /hooks/git`
//! when the webhook is served here (see [`super::webhook`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::watch;

use super::metrics::Metrics;
use super::status::Shared;
use super::webhook;

#[derive(Clone)]
struct App {
    status: Shared,
    metrics: Arc<Metrics>,
}

pub async fn serve(
    listener: tokio::net::TcpListener,
    status: Shared,
    metrics: Arc<Metrics>,
    hook: Option<Arc<webhook::Receiver>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/status", get(status_json))
        .with_state(App {
            status: status.clone(),
            metrics,
        });
    app = app.merge(crate::dashboard::routes(status));
    if let Some(hook) = hook {
        app = app.merge(webhook::routes(hook));
    }
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
        tracing::error!(error = %e, "the HTTP server stopped");
    }
}

async fn readyz(State(app): State<App>) -> impl IntoResponse {
    let s = app.status.get();
    if s.applied_revision.is_some() && s.last_error.is_none() && s.cycles > 0 {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn metrics_text(State(app): State<App>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
}

async fn status_json(State(app): State<App>) -> impl IntoResponse {
    axum::Json(app.status.get())
}
