//! The bin packing engine alone: first-fit-decreasing versus the improved packing on 1-D
//! uniform and triplet instances (OR-Library shapes, generated with a fixed seed), 3-D
//! triplets, 50,000 identical pods, and 20,000 pods of 25 classes.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vpsie_engine::scaleup::packing::{ItemClass, PackOptions, PackProblem, ffd, pack};

fn problem(capacity: Vec<i64>, items: Vec<Vec<i64>>) -> PackProblem {
    PackProblem {
        capacity,
        classes: items
            .into_iter()
            .enumerate()
            .map(|(i, s)| ItemClass::new(i as u32, s, 1))
            .collect(),
    }
}

/// OR-Library "u" shape: sizes uniform in [20, 100], bins of 150.
fn uniform(n: usize, seed: u64) -> PackProblem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let items = (0..n).map(|_| vec![rng.random_range(20..=100)]).collect();
    problem(vec![150], items)
}

/// Triplets: every bin of `capacity` is filled exactly by three items in each dimension.
fn triplets(bins: usize, dims: usize, seed: u64) -> PackProblem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let c = 1000i64;
    let mut items = Vec::new();
    for _ in 0..bins {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut z = Vec::new();
        for _ in 0..dims {
            let x = rng.random_range(380..=490);
            let y = rng.random_range(250..=(c - x - 250).min(500));
            a.push(x);
            b.push(y);
            z.push(c - x - y);
        }
        items.extend([a, b, z]);
    }
    // Interleave so the file order does not give the answer away.
    let n = items.len();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
    problem(vec![c; dims], items)
}

/// Pods of 25 request shapes onto 8-core, 32 GiB, 110-pod nodes.
fn mixed_pods(pods: u32) -> PackProblem {
    let cpus = [100i64, 250, 500, 1000, 1500];
    let mems = [100i64 << 20, 512 << 20, 1 << 30, 2 << 30, 4 << 30];
    let mut classes = Vec::new();
    for (i, cpu) in cpus.iter().enumerate() {
        for (j, mem) in mems.iter().enumerate() {
            let id = (i * mems.len() + j) as u32;
            classes.push(ItemClass::new(id, vec![*cpu, *mem, 1], pods / 25));
        }
    }
    PackProblem {
        capacity: vec![8000, 32 << 30, 110],
        classes,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("packing");
    group.sample_size(10);
    let cases: Vec<(&str, PackProblem)> = vec![
        ("uniform_1000", uniform(1000, 1)),
        ("triplet_501", triplets(167, 1, 2)),
        ("triplet3d_501", triplets(167, 3, 3)),
        (
            "identical_50000",
            PackProblem {
                capacity: vec![8000, 32 << 30, 110],
                classes: vec![ItemClass::new(0, vec![300, 600 << 20, 1], 50_000)],
            },
        ),
        ("mixed_20000", mixed_pods(20_000)),
    ];
    for (name, p) in &cases {
        let items: u64 = p.classes.iter().map(|c| u64::from(c.count)).sum();
        group.throughput(Throughput::Elements(items));
        group.bench_with_input(BenchmarkId::new("ffd", name), p, |b, p| {
            b.iter(|| ffd(std::hint::black_box(p)).map(|r| r.bin_count()))
        });
        group.bench_with_input(BenchmarkId::new("pack", name), p, |b, p| {
            b.iter(|| pack(std::hint::black_box(p), &PackOptions::default()).map(|r| r.bin_count()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
