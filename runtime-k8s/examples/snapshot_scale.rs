//! Measures the snapshot builder at 1,000 nodes / 30,000 pods: time per build and memory
//! (resident set after creating the objects, peak after building).
//!
//! `cargo run --release -p vpsie-autoscaler --example snapshot_scale [NODES PODS]`
#![allow(
    clippy::unwrap_used,
    reason = "a measurement program over objects it generates itself"
)]

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;
use vpsie_autoscaler::snapshot::{BuildOptions, ClusterObjects, build};

fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let nodes = args.first().copied().unwrap_or(1_000);
    let pods = args.get(1).copied().unwrap_or(30_000);
    let base = rss_kb("VmRSS:");
    let objects = ClusterObjects {
        nodes: (0..nodes)
            .map(|i| {
                let n: Node = serde_json::from_value(json!({
                    "metadata": {"name": format!("node-{i:05}"), "labels": {
                        "kubernetes.io/hostname": format!("node-{i:05}"),
                        "autoscaler.vpsie.com/node-group": format!("group-{}", i % 5),
                        "topology.kubernetes.io/zone": format!("zone-{}", i % 3)}},
                    "spec": {},
                    "status": {"allocatable": {"cpu": "3800m", "memory": "7600Mi", "pods": "110", "ephemeral-storage": "150Gi"},
                               "conditions": [{"type": "Ready", "status": "True"}]}
                }))
                .unwrap();
                Arc::new(n)
            })
            .collect(),
        pods: (0..pods)
            .map(|i| {
                let bound = i % 10 != 0;
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
                    p["spec"]["nodeName"] = json!(format!("node-{:05}", i % nodes));
                }
                Arc::new(serde_json::from_value::<Pod>(p).unwrap())
            })
            .collect(),
        ..Default::default()
    };
    let with_objects = rss_kb("VmRSS:");
    let options = BuildOptions {
        now_ms: 1_767_225_600_000,
        sizes: vpsie_autoscaler::oneshot::example_sizes(),
        system_reserved: Default::default(),
    };
    let runs = 5;
    let mut times = Vec::new();
    let mut pod_count = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let built = build(&objects, &options);
        times.push(start.elapsed());
        pod_count = built.snapshot.pods.len();
        drop(built);
    }
    times.sort();
    println!(
        "nodes {nodes} pods {pods} (in snapshot {pod_count}): build median {:?} min {:?} max {:?}",
        times[runs / 2],
        times[0],
        times[runs - 1]
    );
    println!(
        "memory: baseline {} MB, with k8s objects {} MB, peak {} MB (peak over objects: {} MB)",
        base / 1024,
        with_objects / 1024,
        rss_kb("VmHWM:") / 1024,
        rss_kb("VmHWM:").saturating_sub(with_objects) / 1024
    );
}
