//! Each fault class of the mock, and the client's retry, breaker and size-limit behaviour.

use std::time::Duration;

use vpsie_client::{AddWorkerOutcome, ClientError, DeleteOutcome, discover_new_workers};
use vpsie_sim::cloud::{ApiOp, FaultKind, FaultRule};
use vpsie_sim::mock::FaultUpdate;

use super::*;

fn set(server: &MockServer, rules: Vec<FaultRule>) {
    server
        .control()
        .update_faults(FaultUpdate {
            rules: Some(rules),
            ..FaultUpdate::default()
        })
        .unwrap();
}

fn count(server: &MockServer, path: &str) -> usize {
    server
        .control()
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_5xx_429_and_200_with_error_are_retried() {
    let server = mock(mock_config()).await;
    let (c, registry) = client(client_config(&server), static_credentials());
    set(
        &server,
        vec![
            FaultRule::always(FaultKind::ServerError { status: 503 })
                .on(&[ApiOp::ListClusters])
                .times(1),
            FaultRule::always(FaultKind::RateLimited)
                .on(&[ApiOp::ListClusters])
                .times(1),
        ],
    );
    c.list_clusters().await.unwrap();
    assert_eq!(count(&server, "/k8s/cluster/all"), 3);
    set(
        &server,
        vec![
            FaultRule::always(FaultKind::ErrorOn200 {
                message: "try later".into(),
            })
            .on(&[ApiOp::Datacenters])
            .times(1),
        ],
    );
    c.list_datacenters().await.unwrap();
    let metrics = metrics_text(&registry);
    assert!(
        metrics.contains(r#"vpsie_api_retries_total{operation="list_clusters"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"vpsie_api_retries_total{operation="list_datacenters"} 1"#),
        "{metrics}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_faults_end_after_bounded_attempts_with_typed_errors() {
    let server = mock(mock_config()).await;
    let (c, registry) = client(client_config(&server), static_credentials());
    set(
        &server,
        vec![FaultRule::always(FaultKind::RateLimited).on(&[ApiOp::ListClusters])],
    );
    let err = c.list_clusters().await.unwrap_err();
    assert!(matches!(err, ClientError::RateLimited { .. }), "{err}");
    assert_eq!(count(&server, "/k8s/cluster/all"), 3);
    set(
        &server,
        vec![
            FaultRule::always(FaultKind::ErrorOn200 {
                message: "internal".into(),
            })
            .on(&[ApiOp::GetCluster]),
        ],
    );
    let err = c.get_cluster(CLUSTER).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Server { status: 500, .. }),
        "{err}"
    );
    let metrics = metrics_text(&registry);
    assert!(
        metrics
            .contains(r#"vpsie_api_errors_total{operation="list_clusters",kind="rate_limited"} 1"#),
        "{metrics}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_add_failure_is_not_retried_but_a_429_is() {
    let server = mock(mock_config()).await;
    let (c, _) = client(client_config(&server), static_credentials());
    let add_path = format!("/k8s/cluster/byId/{CLUSTER}/add/slave/group/{GROUP}");
    set(
        &server,
        vec![
            FaultRule::always(FaultKind::ServerError { status: 502 })
                .on(&[ApiOp::AddWorker])
                .times(1),
        ],
    );
    let err = c.add_worker(CLUSTER, GROUP).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Server { status: 502, .. }),
        "{err}"
    );
    assert_eq!(count(&server, &add_path), 1);
    set(
        &server,
        vec![
            FaultRule::always(FaultKind::RateLimited)
                .on(&[ApiOp::AddWorker])
                .times(1),
        ],
    );
    assert_eq!(
        c.add_worker(CLUSTER, GROUP).await.unwrap(),
        AddWorkerOutcome::Accepted
    );
    assert_eq!(count(&server, &add_path), 3);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_and_late_adds_show_in_the_node_list_diff() {
    let server = mock(mock_config()).await;
    let (c, _) = client(client_config(&server), static_credentials());
    let before = c.list_nodes(CLUSTER).await.unwrap();
    set(
        &server,
        vec![
            FaultRule::always(FaultKind::LostAdd).times(1),
            FaultRule::always(FaultKind::LateMaterialization { delay_ms: 900_000 }).times(1),
        ],
    );
    c.add_worker(CLUSTER, GROUP).await.unwrap();
    c.add_worker(CLUSTER, GROUP).await.unwrap();
    server.control().advance(899_999);
    assert!(discover_new_workers(&before, &c.list_nodes(CLUSTER).await.unwrap()).is_empty());
    server.control().advance(1);
    let new = discover_new_workers(&before, &c.list_nodes(CLUSTER).await.unwrap());
    assert_eq!(new.len(), 1, "only the late one, never the lost one");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delete_leaves_the_worker_running() {
    let server = mock(mock_config()).await;
    let (c, _) = client(client_config(&server), static_credentials());
    set(&server, vec![FaultRule::always(FaultKind::FailedDelete)]);
    let node = c
        .find_node_by_hostname(CLUSTER, "hel-kubernetes-49ab-slave-11cc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c.delete_worker(CLUSTER, &node.identifier).await.unwrap(),
        DeleteOutcome::Deleting
    );
    server.control().advance(1);
    let again = c
        .find_node_by_hostname(CLUSTER, "hel-kubernetes-49ab-slave-11cc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, "running");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_out_is_terminal() {
    let server = mock(mock_config()).await;
    let (c, _) = client(client_config(&server), static_credentials());
    set(
        &server,
        vec![FaultRule::always(FaultKind::StockOut { size_id: 3 })],
    );
    let err = c.add_worker(CLUSTER, GROUP).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Terminal {
                kind: vpsie_client::TerminalKind::OutOfStock,
                ..
            }
        ),
        "{err}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_then_lets_a_probe_through() {
    let server = mock(mock_config()).await;
    let config = ClientConfig {
        max_attempts: 1,
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_millis(200),
        ..client_config(&server)
    };
    let (c, _) = client(config, static_credentials());
    set(
        &server,
        vec![FaultRule::always(FaultKind::ServerError { status: 500 }).on(&[ApiOp::ListClusters])],
    );
    for _ in 0..2 {
        assert_eq!(
            c.list_clusters().await.unwrap_err().metric_label(),
            "server"
        );
    }
    let err = c.list_clusters().await.unwrap_err();
    assert!(matches!(err, ClientError::CircuitOpen { .. }), "{err}");
    assert_eq!(
        count(&server, "/k8s/cluster/all"),
        2,
        "an open circuit sends nothing"
    );
    set(&server, vec![]);
    tokio::time::sleep(Duration::from_millis(250)).await;
    c.list_clusters().await.unwrap();
    c.list_clusters().await.unwrap();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_responses_are_refused() {
    let server = mock(mock_config()).await;
    let (c, _) = client(
        ClientConfig {
            max_response_bytes: 300,
            ..client_config(&server)
        },
        static_credentials(),
    );
    let err = c.get_cluster(CLUSTER).await.unwrap_err();
    assert!(
        matches!(err, ClientError::ResponseTooLarge { limit: 300, .. }),
        "{err}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_api_is_a_connect_error_after_retries() {
    let server = mock(mock_config()).await;
    let base = server.base_url();
    server.shutdown().await;
    let mut registry = Registry::default();
    let config = ClientConfig {
        base_url: base,
        prefix: "/v2".into(),
        allow_http: true,
        max_attempts: 2,
        backoff_base: Duration::from_millis(1),
        ..ClientConfig::default()
    };
    let c = VpsieClient::new(config, static_credentials(), &mut registry).unwrap();
    let err = c.list_clusters().await.unwrap_err();
    assert_eq!(err.metric_label(), "connect", "{err}");
    assert!(err.is_retryable());
}
