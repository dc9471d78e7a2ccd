//! Scale-up planning throughput: Karpenter's scheduling benchmark shape ("diverse" and generic
//! pods, 100 to 20,000, seed 42) against the VPSie catalogue in 3 zones and a synthetic
//! 400-size catalogue, and Cluster Autoscaler's RunOnce shape (1,000 existing nodes, 50,000
//! identical pending pods, one group). Targets: 20,000 pods/s for 5,000 diverse pods and
//! 100,000 pods/s for generic pods on one thread; RunOnce under one second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vpsie_benches::scaleup_workloads::{
    Mix, karpenter_snapshot, pods, run_once_snapshot, synthetic_catalogue, vpsie_catalogue,
};
use vpsie_engine::scaleup::{ScaleUpOptions, plan_scale_up};

fn karpenter(c: &mut Criterion) {
    let opts = ScaleUpOptions::default();
    for (catalogue_name, catalogue, counts) in [
        (
            "vpsie",
            vpsie_catalogue(),
            &[100usize, 1_000, 5_000, 20_000][..],
        ),
        (
            "synthetic400",
            synthetic_catalogue(),
            &[100usize, 1_000, 5_000][..],
        ),
    ] {
        for mix in [Mix::Generic, Mix::Diverse] {
            let mut group =
                c.benchmark_group(format!("scaleup/{catalogue_name}/{mix:?}").to_lowercase());
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(5));
            for &n in counts {
                let snapshot = karpenter_snapshot(pods(n, mix), catalogue.clone());
                group.throughput(Throughput::Elements(n as u64));
                group.bench_with_input(BenchmarkId::from_parameter(n), &snapshot, |b, s| {
                    b.iter(|| black_box(plan_scale_up(s, &opts)))
                });
            }
            group.finish();
        }
    }
}

fn run_once(c: &mut Criterion) {
    let snapshot = run_once_snapshot(1_000, 50_000);
    let opts = ScaleUpOptions::default();
    let mut group = c.benchmark_group("scaleup/run_once");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(50_000));
    group.bench_function("1000_nodes_50000_pods", |b| {
        b.iter(|| black_box(plan_scale_up(&snapshot, &opts)))
    });
    group.finish();
}

criterion_group!(benches, karpenter, run_once);
criterion_main!(benches);
