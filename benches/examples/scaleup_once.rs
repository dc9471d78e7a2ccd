//! Plans one benchmark workload `REPS` times and prints the plan's summary, for profiling and
//! for CPU-time measurement on a busy machine (`perf stat -e task-clock`), where criterion's
//! wall-clock numbers mostly measure the other processes.
//!
//! `cargo run --release -p vpsie-benches --example scaleup_once -- diverse vpsie 5000 10`
//! (mix: generic|diverse|runonce; catalogue: vpsie|synthetic400).

use std::hint::black_box;

use vpsie_benches::scaleup_workloads::{
    Mix, karpenter_snapshot, pods, run_once_snapshot, synthetic_catalogue, vpsie_catalogue,
};
use vpsie_engine::scaleup::{ScaleUpOptions, plan_scale_up};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let mix = arg(0, "diverse");
    let count: usize = arg(2, "5000").parse().unwrap_or(5000);
    let reps: usize = arg(3, "1").parse().unwrap_or(1);
    let snapshot = if mix == "runonce" {
        run_once_snapshot(1_000, count)
    } else {
        let catalogue = if arg(1, "vpsie") == "synthetic400" {
            synthetic_catalogue()
        } else {
            vpsie_catalogue()
        };
        let m = if mix == "generic" {
            Mix::Generic
        } else {
            Mix::Diverse
        };
        karpenter_snapshot(pods(count, m), catalogue)
    };
    let opts = ScaleUpOptions::default();
    let mut last = None;
    for _ in 0..reps {
        last = Some(black_box(plan_scale_up(&snapshot, &opts)));
    }
    if let Some(plan) = last {
        let text = plan.render_text();
        for line in text.lines().take(2) {
            println!("{line}");
        }
        for inc in &plan.increases {
            println!("  {} {} x{}", inc.group, inc.size, inc.count);
        }
    }
}
