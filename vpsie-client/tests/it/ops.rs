//! Every operation against the mock, under every prefix.

use vpsie_client::{
    AddWorkerOutcome, ClientError, DeleteOutcome, TerminalKind, discover_new_workers, offer_to_size,
};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_round_trips() {
    let server = mock(mock_config()).await;
    let (c, registry) = client(client_config(&server), static_credentials());

    let clusters = c.list_clusters().await.unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].cluster_name, "HEL-Kubernetes-49ab");
    assert_eq!((clusters[0].manager_count, clusters[0].slave_count), (1, 2));

    let cluster = c.get_cluster(CLUSTER).await.unwrap();
    let before = cluster.nodes.clone().unwrap();
    assert_eq!(before.len(), 3);
    assert_eq!(before[0].role, "master");

    let groups = c.list_node_groups(CLUSTER).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        (groups[0].id, groups[0].boxsize_id, groups[0].nodes_count),
        (GROUP, 3, 2)
    );

    let offers = c
        .list_offers("eb8ac92d-9d4d-11ee-9444-7e0140123655")
        .await
        .unwrap();
    assert_eq!(offers.len(), 6);
    let size3 = offer_to_size(&offers[2]);
    assert_eq!(
        (size3.id, size3.vcpu, size3.ram_mb, size3.hourly_price),
        (3, 4, 8192, 0.0274)
    );
    assert_eq!(c.list_datacenters().await.unwrap().len(), 3);

    let big = c.create_node_group(CLUSTER, "big", 6).await.unwrap();
    assert!(big.id > GROUP && big.boxsize_id == 6 && big.group_name == "big");
    let err = c.create_node_group(CLUSTER, "again", 3).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Terminal {
                kind: TerminalKind::DuplicateGroupSize,
                ..
            }
        ),
        "{err}"
    );

    assert_eq!(
        c.add_worker(CLUSTER, GROUP).await.unwrap(),
        AddWorkerOutcome::Accepted
    );
    server.control().advance(0);
    let after = c.list_nodes(CLUSTER).await.unwrap();
    let new = discover_new_workers(&before, &after);
    assert_eq!(new.len(), 1, "{after:?}");
    assert!(new[0].hostname.starts_with("hel-kubernetes-49ab-slave-"));

    let upper = new[0].hostname.to_uppercase();
    assert_eq!(
        c.delete_worker_by_hostname(CLUSTER, &upper).await.unwrap(),
        DeleteOutcome::Deleting
    );
    server.control().advance(1);
    assert_eq!(
        c.delete_worker(CLUSTER, &new[0].identifier).await.unwrap(),
        DeleteOutcome::AlreadyGone
    );
    assert_eq!(
        c.delete_worker_by_hostname(CLUSTER, "no-such-host")
            .await
            .unwrap(),
        DeleteOutcome::AlreadyGone
    );
    let err = c
        .delete_worker_by_hostname(CLUSTER, "hel-kubernetes-49ab-master-main")
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "invalid_argument");

    // Up to the worker limit of 10, then a terminal business error.
    for _ in 0..8 {
        c.add_worker(CLUSTER, GROUP).await.unwrap();
    }
    let err = c.add_worker(CLUSTER, GROUP).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Terminal {
                kind: TerminalKind::WorkerLimit,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_retryable());

    let err = c
        .get_cluster("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(err.metric_label(), "not_found");
    let err = c.get_cluster("../../etc").await.unwrap_err();
    assert_eq!(err.metric_label(), "invalid_argument");

    let metrics = metrics_text(&registry);
    assert!(
        metrics.contains(r#"vpsie_api_calls_total{operation="add_worker",outcome="ok"} 9"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"vpsie_api_errors_total{operation="add_worker",kind="terminal"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("vpsie_api_call_duration_seconds_bucket"),
        "{metrics}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_prefix_is_served_and_the_object_form_is_understood() {
    let mut config = mock_config();
    config.add_worker_object_form = true;
    let server = mock(config).await;
    for prefix in ["/apps/v2", "/api/v2", "/v2"] {
        let (c, _) = client(
            ClientConfig {
                prefix: prefix.to_string(),
                ..client_config(&server)
            },
            static_credentials(),
        );
        assert_eq!(c.list_clusters().await.unwrap().len(), 1, "{prefix}");
    }
    let (c, _) = client(client_config(&server), static_credentials());
    let AddWorkerOutcome::Worker(worker) = c.add_worker(CLUSTER, GROUP).await.unwrap() else {
        panic!("object form expected");
    };
    server.control().advance(0);
    let node = c
        .find_node_by_hostname(CLUSTER, &worker.hostname)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(node.identifier, worker.identifier);
    server.shutdown().await;
}

#[test]
fn plain_http_needs_explicit_permission() {
    let mut registry = Registry::default();
    let config = ClientConfig {
        base_url: "http://127.0.0.1:1".into(),
        ..ClientConfig::default()
    };
    let err = VpsieClient::new(config, static_credentials(), &mut registry).unwrap_err();
    assert_eq!(err.metric_label(), "config");
}
