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
use vpsie_benches::scaledown_workloads::ca_shape;
use vpsie_engine::model::ClusterSnapshot;
use vpsie_engine::scaledown::pdb::disruptions_allowed;
use vpsie_engine::scaledown::{ScaleDownCache, ScaleDownOptions, apply_removals, plan_scale_down};

const NODES: usize = 2000;

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
    // A loop step's decision with the cache: the snapshot differs from the previous one in one
    // pod (a new stamp), as in a cluster where a pod arrived since the last step.
    let mut stamped = snap.clone();
    stamped.pod_revisions = (1..=stamped.pods.len() as u64).collect();
    let mut changed = stamped.clone();
    if let Some(last) = changed.pod_revisions.last_mut() {
        *last = u64::MAX;
    }
    let pair = [stamped, changed];
    let mut cache = ScaleDownCache::default();
    let mut turn = 0;
    c.bench_function(
        "scaledown/2000x40/one decision, unlimited, cached, one pod changed",
        |b| {
            b.iter(|| {
                turn ^= 1;
                cache.plan(black_box(&pair[turn]), &unlimited)
            })
        },
    );
    let stats = cache.stats();
    println!(
        "cache: {} updates, {} full builds, {} pods updated",
        stats.updates, stats.full_builds, stats.pods_updated
    );
    c.final_summary();
}
