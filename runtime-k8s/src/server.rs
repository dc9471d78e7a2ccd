//! The HTTP server every replica runs: `/healthz` (the process is alive), `/readyz` (stores
//! synced and VPSie reachable) and `/metrics` (Prometheus text format).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;

/// Health flags shared between the controller and the server.
#[derive(Debug, Default)]
pub struct Health {
    pub stores_synced: AtomicBool,
    pub vpsie_reachable: AtomicBool,
}

#[derive(Debug, Clone)]
struct AppState {
    health: Arc<Health>,
    metrics: Arc<Metrics>,
}

/// The router (separate from serving, so tests can call it directly).
pub fn router(health: Arc<Health>, metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(AppState { health, metrics })
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let synced = s.health.stores_synced.load(Ordering::Relaxed);
    let vpsie = s.health.vpsie_reachable.load(Ordering::Relaxed);
    if synced && vpsie {
        (StatusCode::OK, "ready".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: stores synced={synced}, VPSie reachable={vpsie}"),
        )
    }
}

async fn metrics_text(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}
