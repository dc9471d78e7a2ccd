//! Scale-down benchmark in Cluster Autoscaler's shape: 2,000 nodes × 40 pods, each pod 1% of
//! a node (40% utilization), so the optimum removes 1,200 nodes.
//!
//! Measures one decision (at the default parallelism of 10, and unlimited), and before the
//! criterion runs, iterates decisions the way the loop would (carry out the plan, plan again)
//! until nothing is removable, printing how many nodes went, in how many decisions, and
//! checking that no decision overdrew a PDB.

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use serde_json::{Value, json};
use vpsie_engine::model::ClusterSnapshot;
use vpsie_engine::scaledown::pdb::disruptions_allowed;
use vpsie_engine::scaledown::{ScaleDownOptions, apply_removals, plan_scale_down};

const NODES: usize = 2000;
const PODS_PER_NODE: usize = 40;
const DEPLOYMENTS: usize = 80;

/// `nodes` nodes of 4 cpu / 4000Mi, each with 40 pods of 40m / 40Mi (1% each), spread
/// round-robin over 80 deployments, each with a PDB allowing 5% unavailable.
#[allow(
    clippy::expect_used,
    reason = "the snapshot is a constant of the benchmark"
)]
fn ca_shape(nodes: usize) -> ClusterSnapshot {
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

/// Plans, carries out the whole plan, and plans again until a decision removes nothing.
/// Returns (nodes removed, decisions, PDB overdraws, slowest decision in seconds).
fn iterate_to_fixpoint(
    mut snap: ClusterSnapshot,
    opts: &ScaleDownOptions,
) -> (usize, usize, usize, f64) {
    let (mut removed, mut decisions, mut overdraws, mut slowest) = (0, 0, 0, 0.0f64);
    loop {
        let started = Instant::now();
        let plan = plan_scale_down(&snap, opts);
        slowest = slowest.max(started.elapsed().as_secs_f64());
        decisions += 1;
        if plan.removals.is_empty() {
            break;
        }
        // Independent PDB check: evictions per PDB versus its budget before the decision.
        for pdb in &snap.pdbs {
            let used = plan
                .removals
                .iter()
                .flat_map(|r| r.evictions.iter())
                .filter(|e| {
                    e.pdbs
                        .iter()
                        .any(|p| *p == format!("{}/{}", pdb.namespace, pdb.name))
                })
                .count();
            if used as i64 > i64::from(disruptions_allowed(pdb, &snap)) {
                overdraws += 1;
            }
        }
        removed += plan.removals.len();
        snap = apply_removals(&snap, &plan.removals);
    }
    (removed, decisions, overdraws, slowest)
}

fn main() {
    let snap = ca_shape(NODES);
    let limited = ScaleDownOptions::default();
    let unlimited = ScaleDownOptions {
        max_nodes: u32::MAX,
        ..ScaleDownOptions::default()
    };
    let full_run = std::env::args().any(|a| a == "--fixpoint");
    for (label, opts) in [
        (
            "parallelism 100",
            ScaleDownOptions {
                max_nodes: 100,
                ..ScaleDownOptions::default()
            },
        ),
        ("unlimited", unlimited.clone()),
    ]
    .into_iter()
    .chain(full_run.then(|| ("parallelism 10", limited.clone())))
    {
        let (removed, decisions, overdraws, slowest) = iterate_to_fixpoint(snap.clone(), &opts);
        println!(
            "scaledown fixpoint ({label}): removed {removed} of {NODES} nodes (optimum 1200) in {decisions} decisions, {overdraws} PDB overdraws, slowest decision {slowest:.3}s"
        );
    }
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    c.bench_function("scaledown/2000x40/one decision, parallelism 10", |b| {
        b.iter(|| plan_scale_down(black_box(&snap), &limited))
    });
    c.bench_function("scaledown/2000x40/one decision, unlimited", |b| {
        b.iter(|| plan_scale_down(black_box(&snap), &unlimited))
    });
    c.final_summary();
}
