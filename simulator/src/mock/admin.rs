//! The admin endpoint: `GET /__admin/state`, `POST /__admin/faults`, `POST /__admin/advance`,
//! `GET /__admin/requests`. Unauthenticated; the mock listens on loopback by default.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::render;
use super::routes::{error_response, json_response};
use super::state::{FaultUpdate, MockControl, Shared};

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/__admin/state", get(state))
        .route("/__admin/faults", post(faults))
        .route("/__admin/advance", post(advance))
        .route("/__admin/requests", get(requests))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StateView {
    now_ms: i64,
    clusters: Vec<ClusterView>,
    faults: Vec<crate::cloud::FaultRule>,
    billing: crate::cloud::BillingSummary,
    lost_adds: u64,
    logins: u64,
    login_failure: bool,
    next_event_at_ms: Option<i64>,
    events: Vec<crate::cloud::CloudEvent>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterView {
    cluster: vpsie_api::Cluster,
    groups: Vec<vpsie_api::NodeGroup>,
    /// Adds accepted but not listed yet.
    pending_adds: usize,
    worker_limit: u32,
}

async fn state(State(shared): State<Shared>) -> Response {
    let mut inner = shared.lock();
    let now = inner.tick();
    let inner = &*inner;
    let clusters = inner
        .cloud
        .clusters()
        .map(|c| ClusterView {
            cluster: render::cluster(inner, c, true),
            groups: c
                .active_groups()
                .map(|g| render::group(inner, c, g))
                .collect(),
            pending_adds: c.workers.values().filter(|w| !w.is_listed()).count(),
            worker_limit: c.worker_limit,
        })
        .collect();
    json_response(
        StatusCode::OK,
        &StateView {
            now_ms: now,
            clusters,
            faults: inner.cloud.faults().to_vec(),
            billing: inner.cloud.billing(now),
            lost_adds: inner.cloud.lost_adds(),
            logins: inner.logins,
            login_failure: inner.auth.login_failure,
            next_event_at_ms: inner.cloud.next_event_at(),
            events: inner.events.clone(),
        },
    )
}

async fn faults(State(shared): State<Shared>, body: Bytes) -> Response {
    let update: FaultUpdate = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => return error_response(400, 400, &format!("Invalid fault update: {e}")),
    };
    match (MockControl { shared }).update_faults(update) {
        Ok(()) => json_response(StatusCode::OK, &serde_json::json!({"error": false})),
        Err(message) => error_response(400, 400, &message),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AdvanceRequest {
    ms: i64,
}

async fn advance(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: AdvanceRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error_response(400, 400, &format!("Invalid advance request: {e}")),
    };
    if request.ms < 0 {
        return error_response(400, 400, "ms: must not be negative");
    }
    let control = MockControl { shared };
    let events = control.advance(request.ms);
    json_response(
        StatusCode::OK,
        &serde_json::json!({"error": false, "nowMs": control.now_ms(), "events": events}),
    )
}

async fn requests(State(shared): State<Shared>) -> Response {
    let journal = shared.lock().journal.clone();
    json_response(StatusCode::OK, &journal)
}
