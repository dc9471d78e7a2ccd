//! One full step of the autoscaling loop (scale-up and scale-down planning, lifecycle, timers)
//! on 5,000 nodes and 150,000 pods, 1,000 of them pending with hostname anti-affinity (Cluster
//! Autoscaler's large-cluster scalability shape). Target: under 10 seconds per step.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use vpsie_engine::autoscaler::{AutoscalerConfig, ListedWorker, LoopState, step};
use vpsie_engine::model::ClusterSnapshot;
use vpsie_engine::scaledown::{ScaleDownOptions, plan_scale_down};
use vpsie_engine::scaleup::{ScaleUpOptions, plan_scale_up};

const NODES: usize = 5_000;
/// Nodes at about a quarter of their capacity (scale-down candidates).
const LIGHT_NODES: usize = 500;
const PODS_PER_FULL_NODE: usize = 32;
const PODS_PER_LIGHT_NODE: usize = 10;
const ANTI_AFFINITY_PODS: usize = 1_000;

fn snapshot() -> ClusterSnapshot {
    let nodes: Vec<Value> = (0..NODES)
        .map(|i| {
            json!({"name": format!("node-{i:05}"), "nodeGroup": "workers",
                "zone": format!("z{}", i % 3),
                "allocatable": {"cpu": "8", "memory": "16Gi", "pods": 110}})
        })
        .collect();
    let mut pods: Vec<Value> = Vec::new();
    for i in 0..NODES {
        let count = if i < LIGHT_NODES {
            PODS_PER_LIGHT_NODE
        } else {
            PODS_PER_FULL_NODE
        };
        for j in 0..count {
            pods.push(
                json!({"name": format!("web-{i:05}-{j:02}"), "nodeName": format!("node-{i:05}"),
                "labels": {"app": format!("web-{}", (i + j) % 50)},
                "owner": {"kind": "ReplicaSet", "name": format!("web-{}", (i + j) % 50)},
                "containers": [{"requests": {"cpu": "210m", "memory": "380Mi"}}]}),
            );
        }
    }
    for i in 0..ANTI_AFFINITY_PODS {
        pods.push(
            json!({"name": format!("anti-{i:04}"), "labels": {"app": "anti"},
            "owner": {"kind": "ReplicaSet", "name": "anti"},
            "affinity": {"podAntiAffinity": [{"labelSelector": {"matchLabels": {"app": "anti"}},
                "topologyKey": "kubernetes.io/hostname"}]},
            "containers": [{"requests": {"cpu": "2", "memory": "2Gi"}}]}),
        );
    }
    let doc = json!({
        "version": 1,
        "nowMs": 0,
        "sizes": [
            {"id": 3, "name": "K8S-4C-8G", "vcpu": 4, "ramMb": 8192, "diskGb": 160, "hourlyPrice": 0.0274},
            {"id": 4, "name": "K8S-8C-16G", "vcpu": 8, "ramMb": 16384, "diskGb": 160, "hourlyPrice": 0.0548},
            {"id": 6, "name": "K8S-16C-32G", "vcpu": 16, "ramMb": 32768, "diskGb": 320, "hourlyPrice": 0.1096}
        ],
        "nodeGroups": [{"name": "workers", "size": "K8S-8C-16G", "min": 1, "max": 10_000}],
        "nodes": nodes,
        "pods": pods,
    });
    serde_json::from_value(doc).unwrap_or_else(|e| unreachable_snapshot(&e))
}

/// The document above is built in code; a failure is a bug in this file.
#[allow(clippy::panic)]
fn unreachable_snapshot(e: &serde_json::Error) -> ClusterSnapshot {
    panic!("benchmark snapshot does not parse: {e}")
}

/// Every node tracked (adopted) and already Ready: the state of a running controller.
fn state(snapshot: &ClusterSnapshot, config: &AutoscalerConfig) -> LoopState {
    let workers: Vec<ListedWorker> = snapshot
        .nodes
        .iter()
        .map(|n| ListedWorker {
            group: "workers".into(),
            identifier: format!("id-{}", n.name),
            hostname: n.name.clone(),
            status: "running".into(),
            created_at_ms: Some(0),
        })
        .collect();
    let mut empty = snapshot.clone();
    empty.pods.clear();
    let state = LoopState::rebuild(Vec::new(), &workers, 0);
    // Settle the lifecycle (adopted -> Ready) without planning anything heavy.
    let (state, _) = step(state, &empty, &[], 0, config);
    state
}

fn full_step(c: &mut Criterion) {
    let snapshot = snapshot();
    let config = AutoscalerConfig::default();
    let start = state(&snapshot, &config);
    let started = Instant::now();
    let (_, out) = step(start.clone(), &snapshot, &[], 10_000, &config);
    let whole = started.elapsed();
    // Where the time goes: the two planners alone on the same snapshot.
    let started = Instant::now();
    let up = plan_scale_up(&snapshot, &ScaleUpOptions::default());
    let up_time = started.elapsed();
    let started = Instant::now();
    let down_opts = ScaleDownOptions {
        max_nodes: NODES as u32,
        max_empty_bulk: NODES as u32,
        ..ScaleDownOptions::default()
    };
    let down = plan_scale_down(&snapshot, &down_opts);
    let down_time = started.elapsed();
    eprintln!(
        "one step {whole:?}: scale-up plan alone {up_time:?} ({} increases, work {}), scale-down plan alone {down_time:?} ({} removals, {} replacements)",
        up.increases.len(),
        up.work_used,
        down.removals.len(),
        down.replacements.len()
    );
    eprintln!(
        "loop step on {} nodes / {} pods: {} actions, scale-up requested {:?}, {} unschedulable, {} nodes unneeded",
        snapshot.nodes.len(),
        snapshot.pods.len(),
        out.actions.len(),
        out.decision.scale_up.requested,
        out.decision.scale_up.unschedulable.len(),
        out.decision.scale_down.unneeded.len()
    );
    let mut group = c.benchmark_group("loop");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("step_5000_nodes_150000_pods_1000_anti_affinity", |b| {
        b.iter(|| black_box(step(start.clone(), &snapshot, &[], 10_000, &config)))
    });
    group.finish();
}

criterion_group!(benches, full_step);
criterion_main!(benches);
