//! Measures the controller's hot path at 1,000 nodes / 30,000 pods: the snapshot builder (time
//! per build), one step of the loop on the built snapshot, and memory (resident set with the
//! objects held as the reflectors would hold them, and the peak over the whole run).
//!
//! `cargo run --release -p vpsie-autoscaler --example snapshot_scale [NODES PODS]`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a measurement program over objects it generates itself"
)]

#[path = "../benches/synthetic/mod.rs"]
mod synthetic;

use std::time::{Duration, Instant};

use vpsie_autoscaler::snapshot::build;
use vpsie_engine::autoscaler::{AutoscalerConfig, LoopState, step};

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let nodes = args.first().copied().unwrap_or(1_000);
    let pods = args.get(1).copied().unwrap_or(30_000);
    let base = status_kb("VmRSS:");
    let objects = synthetic::objects(nodes, pods);
    let with_objects = status_kb("VmRSS:");
    let options = synthetic::options();

    let runs = 5;
    let mut builds = Vec::new();
    let cpu_before = cpu_time();
    let mut built = build(&objects, &options);
    for _ in 0..runs {
        let start = Instant::now();
        built = build(&objects, &options);
        builds.push(start.elapsed());
    }
    let build_cpu = (cpu_time() - cpu_before) / (runs as u32 + 1);
    let (b_med, b_min, b_max) = median(builds);
    println!(
        "nodes {nodes} pods {pods} (in snapshot {}, {} warnings): snapshot build median {b_med:?} min {b_min:?} max {b_max:?}, CPU {build_cpu:?} per build",
        built.snapshot.pods.len(),
        built.warnings.len()
    );

    let config = AutoscalerConfig::default();
    let mut steps = Vec::new();
    let mut actions = 0;
    let cpu_before = cpu_time();
    for _ in 0..3 {
        let start = Instant::now();
        let (_, out) = step(
            LoopState::new(),
            &built.snapshot,
            &[],
            synthetic::NOW_MS,
            &config,
        );
        steps.push(start.elapsed());
        actions = out.actions.len();
    }
    let step_cpu = (cpu_time() - cpu_before) / 3;
    let (s_med, s_min, s_max) = median(steps);
    println!(
        "loop step ({actions} actions): median {s_med:?} min {s_min:?} max {s_max:?}, CPU {step_cpu:?} per step"
    );
    let peak = status_kb("VmHWM:");
    println!(
        "memory: baseline {} MB, with k8s objects {} MB, peak {} MB (peak over objects: {} MB)",
        base / 1024,
        with_objects / 1024,
        peak / 1024,
        peak.saturating_sub(with_objects) / 1024
    );
}
