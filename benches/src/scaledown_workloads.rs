//! Scale-down benchmark snapshots in Cluster Autoscaler's shape: many equal nodes at 40%
//! utilization, each pod 1% of a node, so 60% of the nodes can go.

use serde_json::{Value, json};
use vpsie_engine::model::ClusterSnapshot;

/// Pods per node in the Cluster Autoscaler shape (1% of a node each: 40% utilization).
pub const PODS_PER_NODE: usize = 40;
/// Deployments the pods are spread over, round-robin, each with its own PDB.
pub const DEPLOYMENTS: usize = 80;

/// `nodes` nodes of 4 cpu / 4000Mi, each with 40 pods of 40m / 40Mi (1% each), spread
/// round-robin over 80 deployments, each with a PDB allowing 5% unavailable.
/// The optimum removes 60% of the nodes.
#[allow(
    clippy::expect_used,
    reason = "the snapshot is a constant of the benchmark"
)]
pub fn ca_shape(nodes: usize) -> ClusterSnapshot {
    let node_values: Vec<Value> = (0..nodes)
        .map(|i| {
            json!({"name": format!("node-{i:05}"), "nodeGroup": "workers",
                   "allocatable": {"cpu": "4", "memory": "4000Mi", "pods": 110}})
        })
        .collect();
    let pod_values: Vec<Value> = (0..nodes * PODS_PER_NODE)
        .map(|j| {
            let dep = j % DEPLOYMENTS;
            json!({"name": format!("pod-{j:06}"), "nodeName": format!("node-{:05}", j / PODS_PER_NODE),
                   "labels": {"app": format!("app-{dep:02}")},
                   "owner": {"kind": "ReplicaSet", "name": format!("app-{dep:02}")},
                   "containers": [{"requests": {"cpu": "40m", "memory": "40Mi"}}]})
        })
        .collect();
    let pdbs: Vec<Value> = (0..DEPLOYMENTS)
        .map(|d| json!({"name": format!("app-{d:02}"), "selector": {"matchLabels": {"app": format!("app-{d:02}")}}, "maxUnavailable": "5%"}))
        .collect();
    serde_json::from_value(json!({
        "version": 1,
        "nodes": node_values,
        "pods": pod_values,
        "pdbs": pdbs,
        "nodeGroups": [{"name": "workers", "size": "K8S-4C-4G", "min": 0, "max": 5000}],
        "sizes": [{"id": 1, "name": "K8S-4C-4G", "vcpu": 4, "ramMb": 4000, "diskGb": 80, "hourlyPrice": 0.04}]
    }))
    .expect("benchmark snapshot")
}
