//! Leader election against the scripted API server (one holder at a time, takeover only after
//! the lease expired, a stale write loses), and the health and metrics endpoints over real HTTP.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vpsie_autoscaler::leader::LeaderElector;
use vpsie_autoscaler::metrics::Metrics;
use vpsie_autoscaler::server::{Health, router};

use crate::apiserver::ApiServer;

const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/vpsie-system/leases/vpsie-autoscaler";

fn elector(server: &ApiServer, identity: &str) -> LeaderElector {
    LeaderElector::new(
        server.client(),
        "vpsie-system",
        "vpsie-autoscaler",
        identity,
        Duration::from_secs(15),
    )
}

fn holder(server: &ApiServer) -> Option<String> {
    server
        .get(LEASE)
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
}

/// Moves the lease's last renewal an hour back, as if its holder had died.
fn expire(server: &ApiServer) {
    let mut lease = server.get(LEASE).unwrap();
    lease["spec"]["renewTime"] = json!("2020-01-01T00:00:00.000000Z");
    server.put(LEASE, lease);
}

#[tokio::test]
async fn only_one_replica_holds_the_lease_and_takeover_waits_for_expiry() {
    let server = ApiServer::default();
    let a = elector(&server, "replica-a");
    let b = elector(&server, "replica-b");
    assert!(
        a.try_acquire_or_renew().await,
        "the first replica creates the Lease"
    );
    assert_eq!(holder(&server).as_deref(), Some("replica-a"));
    for _ in 0..3 {
        assert!(!b.try_acquire_or_renew().await, "a live lease is not taken");
        assert!(a.try_acquire_or_renew().await, "the holder renews");
    }
    assert_eq!(
        server.get(LEASE).unwrap()["spec"]["leaseTransitions"],
        0,
        "renewals are not transitions"
    );
    expire(&server);
    assert!(
        b.try_acquire_or_renew().await,
        "an expired lease is taken over"
    );
    assert_eq!(holder(&server).as_deref(), Some("replica-b"));
    assert_eq!(server.get(LEASE).unwrap()["spec"]["leaseTransitions"], 1);
    assert!(!a.try_acquire_or_renew().await, "the old holder lost it");
    b.release().await;
    assert_eq!(holder(&server), None, "released on shutdown");
    assert!(
        a.try_acquire_or_renew().await,
        "a released lease is free at once"
    );
}

#[tokio::test]
async fn a_write_based_on_a_stale_read_loses_the_race() {
    let server = ApiServer::default();
    assert!(elector(&server, "replica-old").try_acquire_or_renew().await);
    expire(&server);
    // Replica b reads the expired lease; before its write lands, replica a takes the lease.
    let winner = elector(&server, "replica-a");
    let racing = server.clone();
    let raced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let raced_in = Arc::clone(&raced);
    let client = server.client_gated(Arc::new(move |method, path| {
        if method == "PUT" && path == LEASE && !raced_in.swap(true, Ordering::SeqCst) {
            let mut lease = racing.get(LEASE).unwrap();
            lease["spec"]["holderIdentity"] = json!("replica-a");
            lease["metadata"]["resourceVersion"] = json!("999999");
            racing.put(LEASE, lease);
        }
        true
    }));
    let b = LeaderElector::new(
        client,
        "vpsie-system",
        "vpsie-autoscaler",
        "replica-b",
        Duration::from_secs(15),
    );
    assert!(
        !b.try_acquire_or_renew().await,
        "the stale write is refused (409)"
    );
    assert!(raced.load(Ordering::SeqCst));
    assert_eq!(holder(&server).as_deref(), Some("replica-a"));
    assert!(winner.try_acquire_or_renew().await);
}

/// `GET path` over a real socket; returns the status code and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let health = Arc::new(Health::default());
    let metrics = Arc::new(Metrics::new());
    metrics.vpsie_call("add_worker", "ok");
    metrics.is_leader.set(1);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(Arc::clone(&health), Arc::clone(&metrics));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let (status, body) = get(addr, "/healthz").await;
    assert_eq!((status, body.trim()), (200, "ok"));

    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503, "not ready before the stores synced");
    assert!(body.contains("stores synced=false"), "{body}");
    health.stores_synced.store(true, Ordering::Relaxed);
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503, "not ready while VPSie is unreachable");
    assert!(body.contains("VPSie reachable=false"), "{body}");
    health.vpsie_reachable.store(true, Ordering::Relaxed);
    assert_eq!(get(addr, "/readyz").await.0, 200);

    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("vpsie_autoscaler_is_leader 1"), "{body}");
    assert!(
        body.lines()
            .any(|l| l.starts_with("vpsie_autoscaler_vpsie_api_calls_total")
                && l.contains("operation=\"add_worker\"")
                && l.ends_with(" 1")),
        "{body}"
    );
    assert!(
        body.trim_end().ends_with("# EOF"),
        "OpenMetrics text ends with # EOF"
    );
    assert_eq!(get(addr, "/nope").await.0, 404);
    server.abort();
}
