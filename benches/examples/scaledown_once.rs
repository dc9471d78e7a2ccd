//! Plans one scale-down decision on the Cluster Autoscaler shape (`nodes` × 40 pods at 40%)
//! `reps` times and prints the plan's summary, for profiling and for CPU-time measurement on a
//! busy machine (`perf stat -e task-clock`), where wall-clock numbers mostly measure the other
//! processes.
//!
//! `cargo run --release -p vpsie-benches --example scaledown_once -- 2000 unlimited 1`
//! (parallelism: `unlimited` or a number of nodes per decision).

use std::hint::black_box;

use vpsie_benches::scaledown_workloads::ca_shape;
use vpsie_engine::scaledown::{ScaleDownOptions, plan_scale_down};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let nodes: usize = arg(0, "2000").parse().unwrap_or(2000);
    let max_nodes = match arg(1, "unlimited").as_str() {
        "unlimited" => u32::MAX,
        n => n.parse().unwrap_or(u32::MAX),
    };
    let reps: usize = arg(2, "1").parse().unwrap_or(1);
    let snapshot = ca_shape(nodes);
    let opts = ScaleDownOptions {
        max_nodes,
        ..ScaleDownOptions::default()
    };
    let mut last = None;
    for _ in 0..reps {
        last = Some(black_box(plan_scale_down(&snapshot, &opts)));
    }
    if let Some(plan) = last {
        let evictions: usize = plan.removals.iter().map(|r| r.evictions.len()).sum();
        println!(
            "{} nodes: {} removals, {} evictions, {} kept, {} replacements",
            nodes,
            plan.removals.len(),
            evictions,
            plan.kept.len(),
            plan.replacements.len()
        );
    }
}
