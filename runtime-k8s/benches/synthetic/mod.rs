//! A synthetic large cluster as the reflectors would hold it (Kubernetes objects, not engine
//! types): nodes in five NodeGroups over three zones, pods with two containers, ports,
//! tolerations, hostname anti-affinity per app and an owner, one in ten pending. Shared by the
//! `snapshot` benchmark and the `snapshot_scale` example.

// Generated from literals in this file, so a failed conversion is a bug here, not bad input.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;
use vpsie_autoscaler::crd::NodeGroup;
use vpsie_autoscaler::snapshot::{BuildOptions, ClusterObjects};

pub const GROUPS: usize = 5;
/// 2026-01-01T00:00:00Z.
pub const NOW_MS: i64 = 1_767_225_600_000;

/// `nodes` nodes and `pods` pods (every tenth pending), with five NodeGroup resources.
pub fn objects(nodes: usize, pods: usize) -> ClusterObjects {
    ClusterObjects {
        node_groups: (0..GROUPS)
            .map(|g| {
                let ng: NodeGroup = serde_json::from_value(json!({
                    "apiVersion": "autoscaler.vpsie.com/v1alpha1", "kind": "NodeGroup",
                    "metadata": {"name": format!("group-{g}"), "namespace": "vpsie-system",
                                 "uid": format!("uid-group-{g}"), "generation": 1},
                    "spec": {"minNodes": 1, "maxNodes": 400, "datacenter": "dc-1",
                             "clusterIdentifier": "cluster-1", "kubeSizeId": 3,
                             "vpsieGroupId": 1000 + g}
                }))
                .expect("a valid NodeGroup");
                Arc::new(ng)
            })
            .collect(),
        nodes: (0..nodes).map(|i| Arc::new(node(i))).collect(),
        pods: (0..pods).map(|i| Arc::new(pod(i, nodes))).collect(),
        ..Default::default()
    }
}

fn node(i: usize) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": format!("node-{i:05}"), "labels": {
            "kubernetes.io/hostname": format!("node-{i:05}"),
            "autoscaler.vpsie.com/node-group": format!("group-{}", i % GROUPS),
            "topology.kubernetes.io/zone": format!("zone-{}", i % 3)}},
        "spec": {},
        "status": {"allocatable": {"cpu": "3800m", "memory": "7600Mi", "pods": "110", "ephemeral-storage": "150Gi"},
                   "conditions": [{"type": "Ready", "status": "True"}]}
    }))
    .expect("a valid Node")
}

fn pod(i: usize, nodes: usize) -> Pod {
    let bound = !i.is_multiple_of(10);
    let mut p = json!({
        "metadata": {"name": format!("pod-{i:06}"), "namespace": format!("ns-{}", i % 20),
            "labels": {"app": format!("app-{}", i % 300), "tier": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("rs-{}", i % 300), "uid": "u", "controller": true}],
            "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"containers": [
            {"name": "app", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
             "ports": [{"containerPort": 8080}]},
            {"name": "sidecar", "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}],
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": format!("app-{}", i % 300)}}, "topologyKey": "kubernetes.io/hostname"}]}},
            "volumes": [{"name": "token", "projected": {"sources": []}}]},
        "status": {"phase": if bound { "Running" } else { "Pending" }}
    });
    if bound {
        p["spec"]["nodeName"] = json!(format!("node-{:05}", i % nodes.max(1)));
    }
    serde_json::from_value(p).expect("a valid Pod")
}

/// The build options the controller would use (example size catalogue, no reservation).
pub fn options() -> BuildOptions {
    BuildOptions {
        now_ms: NOW_MS,
        sizes: vpsie_autoscaler::oneshot::example_sizes(),
        system_reserved: Default::default(),
    }
}
