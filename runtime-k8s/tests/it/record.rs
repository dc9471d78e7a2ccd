//! `vpsie-autoscaler record --scenario`: what it writes for a cluster listed from the scripted
//! API server loads in the simulator's scenario loader, and replays there.

use std::path::PathBuf;

use serde_json::json;
use vpsie_autoscaler::oneshot::{example_sizes, list_objects, scenario_of, snapshot_of};
use vpsie_engine::autoscaler::AutoscalerConfig;
use vpsie_sim::run::{Overrides, run_scenario};
use vpsie_sim::scenario::parse_str;

use crate::apiserver::ApiServer;
use crate::fixtures::{node_group_json, node_json, pod_json};

const T0: i64 = 1_767_225_600_000;

fn seeded_cluster() -> ApiServer {
    let server = ApiServer::default();
    server.put(
        "/apis/autoscaler.vpsie.com/v1alpha1/namespaces/vpsie-system/nodegroups/general",
        node_group_json("general", 1, 5, 3, Some(1187)),
    );
    server.put(
        "/api/v1/nodes/n1",
        node_json("n1", Some("general"), "4", "8Gi", true),
    );
    // A node no NodeGroup manages: it becomes a static node of the scenario.
    server.put(
        "/api/v1/nodes/legacy",
        node_json("legacy", None, "2", "4Gi", true),
    );
    server.put(
        "/api/v1/namespaces/shop/pods/busy",
        pod_json("shop", "busy", Some("n1"), "3500m", "6Gi"),
    );
    for i in 0..3 {
        server.put(
            &format!("/api/v1/namespaces/shop/pods/pending-{i}"),
            pod_json("shop", &format!("pending-{i}"), None, "1", "1Gi"),
        );
    }
    server.put(
        "/api/v1/namespaces/shop/pods/old",
        pod_json("shop", "old", Some("legacy"), "500m", "512Mi"),
    );
    server.put(
        "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/shop",
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
               "metadata": {"name": "shop", "namespace": "shop"},
               "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "shop"}}},
               "status": {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1}}),
    );
    server
}

#[tokio::test]
async fn a_recorded_scenario_loads_and_replays_in_the_simulator() {
    let server = seeded_cluster();
    let objects = list_objects(&server.client()).await.unwrap();
    assert_eq!(objects.pods.len(), 5);
    assert_eq!(objects.nodes.len(), 2);
    assert_eq!(objects.pdbs.len(), 1);
    let built = snapshot_of(&objects, example_sizes(), Default::default(), T0);
    assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    let value = scenario_of(&built.snapshot, &AutoscalerConfig::default(), "recorded");
    let text = serde_json::to_string_pretty(&value).unwrap();

    let loaded = parse_str(&text, "recorded.json", PathBuf::from("."))
        .unwrap_or_else(|e| panic!("the recorded scenario does not load: {e}\n{text}"));
    assert_eq!(loaded.scenario.name, "recorded");

    let result = run_scenario(&loaded, &Overrides::default(), &mut |_, _| {})
        .unwrap_or_else(|e| panic!("the recorded scenario does not run: {e}"));
    let report = &result.report;
    assert_eq!(report.pods_created, 5, "{report:?}");
    assert_eq!(
        report.pods_never_bound, 0,
        "every recorded pod runs: {report:?}"
    );
    assert_eq!(report.vps_orphaned, 0);
}
