//! The controller's hot path at 1,000 nodes / 30,000 pods: building the engine snapshot from the
//! reflectors' objects, and one loop step on it. Memory is measured by the `snapshot_scale`
//! example (peak resident set); see docs/operations.md, "Sizing".

mod synthetic;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use vpsie_autoscaler::snapshot::build;
use vpsie_engine::autoscaler::{AutoscalerConfig, LoopState, step};

const NODES: usize = 1_000;
const PODS: usize = 30_000;

fn bench(c: &mut Criterion) {
    let objects = synthetic::objects(NODES, PODS);
    let options = synthetic::options();
    let mut group = c.benchmark_group("runtime");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("snapshot_build_1000_nodes_30000_pods", |b| {
        b.iter(|| build(black_box(&objects), black_box(&options)))
    });
    let built = build(&objects, &options);
    let config = AutoscalerConfig::default();
    group.bench_function("loop_step_1000_nodes_30000_pods", |b| {
        b.iter(|| {
            step(
                LoopState::new(),
                black_box(&built.snapshot),
                &[],
                synthetic::NOW_MS,
                &config,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
