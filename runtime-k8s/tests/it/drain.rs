//! The executor's Kubernetes side against the scripted API server, under paused time: drains
//! (with a PDB refusal, which must come back as a refusal and not stall), cordon, labelling.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use vpsie_autoscaler::executor::{ActionContext, DrainSettings, Executor, drain_node};
use vpsie_autoscaler::metrics::Metrics;
use vpsie_autoscaler::snapshot::GroupBinding;
use vpsie_engine::autoscaler::{Action, Observation};
use vpsie_engine::model::{Taint, TaintEffect};

use crate::apiserver::ApiServer;
use crate::fake_vpsie::FakeVpsie;
use crate::fixtures::*;

fn settings() -> DrainSettings {
    DrainSettings {
        timeout: Duration::from_secs(60),
        retry_interval: Duration::from_secs(5),
        poll_interval: Duration::from_secs(1),
    }
}

fn seed_node_with_pods(server: &ApiServer) {
    server.put(
        "/api/v1/nodes/n1",
        node_json("n1", Some("general"), "4", "8Gi", true),
    );
    for name in ["a", "b"] {
        server.put(
            &format!("/api/v1/namespaces/shop/pods/{name}"),
            pod_json("shop", name, Some("n1"), "100m", "128Mi"),
        );
    }
    let mut ds_pod = pod_json("kube-system", "logs-x", Some("n1"), "10m", "16Mi");
    ds_pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "logs", "uid": "d", "controller": true}]);
    server.put("/api/v1/namespaces/kube-system/pods/logs-x", ds_pod);
}

#[tokio::test(start_paused = true)]
async fn drain_evicts_every_pod_but_daemonset_pods() {
    let server = ApiServer::default();
    seed_node_with_pods(&server);
    let client = server.client();
    let obs = drain_node(client.clone(), client, "n1", settings()).await;
    assert_eq!(obs, Observation::DrainFinished { node: "n1".into() });
    let evictions: Vec<String> = server
        .request_lines()
        .into_iter()
        .filter(|l| l.ends_with("/eviction"))
        .collect();
    assert_eq!(
        evictions,
        [
            "POST /api/v1/namespaces/shop/pods/a/eviction",
            "POST /api/v1/namespaces/shop/pods/b/eviction"
        ]
    );
    assert!(
        server
            .get("/api/v1/namespaces/kube-system/pods/logs-x")
            .is_some()
    );
}

#[tokio::test(start_paused = true)]
async fn pdb_refusal_comes_back_promptly_and_fails_the_drain_within_its_bound() {
    let server = ApiServer::default();
    seed_node_with_pods(&server);
    server.on(|r| {
        (r.method == "POST" && r.path.ends_with("/pods/b/eviction")).then(|| {
            (
                429,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 429,
                       "reason": "TooManyRequests",
                       "message": "Cannot evict pod as it would violate the pod's disruption budget."}),
            )
        })
    });
    let client = server.client();
    let started = tokio::time::Instant::now();
    let obs = drain_node(client.clone(), client, "n1", settings()).await;
    let waited = started.elapsed();
    match obs {
        Observation::DrainFailed { node, message } => {
            assert_eq!(node, "n1");
            assert!(
                message.contains("shop/b") && message.contains("disruption budget"),
                "{message}"
            );
        }
        other => panic!("expected a failed drain, got {other:?}"),
    }
    assert!(
        waited <= Duration::from_secs(60),
        "drain exceeded its bound: {waited:?}"
    );
    let refusals = server
        .request_lines()
        .iter()
        .filter(|l| l.ends_with("/pods/b/eviction"))
        .count();
    // One attempt every 5s within the 60s bound: each 429 came back at once (no client retry).
    assert!((10..=12).contains(&refusals), "{refusals} attempts");
    assert!(
        server.get("/api/v1/namespaces/shop/pods/a").is_none(),
        "a was evicted"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refusal_that_clears_lets_the_drain_finish() {
    let server = ApiServer::default();
    seed_node_with_pods(&server);
    let mut refusals_left = 2;
    server.on(move |r| {
        if r.method == "POST" && r.path.ends_with("/pods/b/eviction") && refusals_left > 0 {
            refusals_left -= 1;
            return Some((429, json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 429, "message": "pdb"})));
        }
        None
    });
    let client = server.client();
    let obs = drain_node(client.clone(), client, "n1", settings()).await;
    assert_eq!(obs, Observation::DrainFinished { node: "n1".into() });
}

fn executor(server: &ApiServer) -> (Executor<FakeVpsie>, mpsc::UnboundedReceiver<Observation>) {
    let client = server.client();
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Executor::new(
            client.clone(),
            client,
            Arc::new(FakeVpsie::with_group(1187, "general", 3)),
            Arc::new(Metrics::new()),
            settings(),
            tx,
        ),
        rx,
    )
}

fn context() -> ActionContext {
    let mut labels = BTreeMap::new();
    labels.insert("workload".to_string(), "general".to_string());
    let binding = GroupBinding {
        engine_group: "general".into(),
        namespace: "vpsie-system".into(),
        node_group: "general".into(),
        kube_size_id: 3,
        cluster_identifier: "cluster-1".into(),
        vpsie_group_id: Some(1187),
        labels,
        taints: vec![Taint {
            key: "dedicated".into(),
            value: "general".into(),
            effect: TaintEffect::NoSchedule,
        }],
        max_nodes: 10,
    };
    ActionContext {
        bindings: [("general".to_string(), binding)].into_iter().collect(),
        ..ActionContext::default()
    }
}

#[tokio::test(start_paused = true)]
async fn label_node_sets_group_labels_and_taints_once() {
    let server = ApiServer::default();
    server.put("/api/v1/nodes/w1", node_json("w1", None, "4", "8Gi", true));
    let (exec, _rx) = executor(&server);
    let action = Action::LabelNode {
        node: "w1".into(),
        group: "general".into(),
    };
    exec.execute(&action, &context()).await;
    exec.execute(&action, &context()).await;
    let node = server.get("/api/v1/nodes/w1").unwrap();
    assert_eq!(
        node["metadata"]["labels"]["autoscaler.vpsie.com/node-group"],
        "general"
    );
    assert_eq!(node["metadata"]["labels"]["workload"], "general");
    let taints = node["spec"]["taints"].as_array().unwrap();
    assert_eq!(
        taints.len(),
        1,
        "labelling twice adds the taint once: {taints:?}"
    );
    assert_eq!(taints[0]["effect"], "NoSchedule");
}

#[tokio::test(start_paused = true)]
async fn cordon_and_uncordon_patch_the_node_and_tolerate_a_missing_one() {
    let server = ApiServer::default();
    server.put("/api/v1/nodes/n1", node_json("n1", None, "4", "8Gi", true));
    let (exec, _rx) = executor(&server);
    exec.execute(&Action::Cordon { node: "n1".into() }, &context())
        .await;
    assert_eq!(
        server.get("/api/v1/nodes/n1").unwrap()["spec"]["unschedulable"],
        true
    );
    exec.execute(&Action::Uncordon { node: "n1".into() }, &context())
        .await;
    let n = server.get("/api/v1/nodes/n1").unwrap();
    assert_eq!(n["spec"]["unschedulable"], false);
    assert!(
        n["metadata"]["annotations"]
            .get("autoscaler.vpsie.com/cordoned")
            .is_none()
    );
    exec.execute(
        &Action::Cordon {
            node: "gone".into(),
        },
        &context(),
    )
    .await;
    exec.execute(&Action::DeleteNode { node: "n1".into() }, &context())
        .await;
    exec.execute(&Action::DeleteNode { node: "n1".into() }, &context())
        .await;
    assert!(server.get("/api/v1/nodes/n1").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_reissued_drain_does_not_start_a_second_one() {
    let server = ApiServer::default();
    seed_node_with_pods(&server);
    let (exec, mut rx) = executor(&server);
    let drain = Action::Drain {
        node: "n1".into(),
        evictions: Vec::new(),
    };
    exec.execute(&drain, &context()).await;
    exec.execute(&drain, &context()).await;
    let obs = rx.recv().await.unwrap();
    assert_eq!(obs, Observation::DrainFinished { node: "n1".into() });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(rx.try_recv().is_err(), "only one drain ran");
    let lists = server
        .request_lines()
        .iter()
        .filter(|l| l.as_str() == "GET /api/v1/pods")
        .count();
    assert_eq!(lists, 1);
}

#[test]
fn eviction_client_config_disables_the_429_retry_layer() {
    let config = kube::Config::new("https://example.invalid".parse().unwrap());
    assert!(config.default_retry);
    assert!(!vpsie_autoscaler::executor::eviction_config(config).default_retry);
}
