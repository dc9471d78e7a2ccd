//! Kubernetes objects for tests, written as JSON like a user would write YAML.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};
use vpsie_autoscaler::crd::{NodeGroup, VPSieNode};

pub fn pod_json(ns: &str, name: &str, node: Option<&str>, cpu: &str, mem: &str) -> Value {
    let mut p = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"),
                     "creationTimestamp": "2026-01-01T00:00:00Z",
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "rs1", "controller": true}]},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}}}]},
        "status": {"phase": if node.is_some() { "Running" } else { "Pending" }}
    });
    if let Some(n) = node {
        p["spec"]["nodeName"] = json!(n);
    }
    p
}

pub fn pod(ns: &str, name: &str, node: Option<&str>, cpu: &str, mem: &str) -> Arc<Pod> {
    Arc::new(serde_json::from_value(pod_json(ns, name, node, cpu, mem)).unwrap())
}

pub fn node_json(name: &str, group: Option<&str>, cpu: &str, mem: &str, ready: bool) -> Value {
    let mut labels = json!({"kubernetes.io/hostname": name});
    if let Some(g) = group {
        labels["autoscaler.vpsie.com/node-group"] = json!(g);
    }
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "labels": labels,
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {},
        "status": {"allocatable": {"cpu": cpu, "memory": mem, "pods": "110"},
                   "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    })
}

pub fn node(name: &str, group: Option<&str>, cpu: &str, mem: &str, ready: bool) -> Arc<Node> {
    Arc::new(serde_json::from_value(node_json(name, group, cpu, mem, ready)).unwrap())
}

pub fn node_group_json(
    name: &str,
    min: u32,
    max: u32,
    size: u32,
    vpsie_group: Option<i64>,
) -> Value {
    let mut g = json!({
        "apiVersion": "autoscaler.vpsie.com/v1alpha1", "kind": "NodeGroup",
        "metadata": {"name": name, "namespace": "vpsie-system", "uid": format!("uid-{name}"), "generation": 1},
        "spec": {"minNodes": min, "maxNodes": max, "datacenter": "dc-1",
                 "clusterIdentifier": "cluster-1", "kubeSizeId": size,
                 "labels": {"workload": "general"}}
    });
    if let Some(id) = vpsie_group {
        g["spec"]["vpsieGroupId"] = json!(id);
    }
    g
}

pub fn node_group(
    name: &str,
    min: u32,
    max: u32,
    size: u32,
    vpsie_group: Option<i64>,
) -> Arc<NodeGroup> {
    Arc::new(serde_json::from_value(node_group_json(name, min, max, size, vpsie_group)).unwrap())
}

pub fn vpsie_node(value: Value) -> Arc<VPSieNode> {
    Arc::new(serde_json::from_value(value).unwrap())
}
