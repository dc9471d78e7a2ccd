//! The simulator's discrete-event core alone: scheduling and taking events in `(time,
//! sequence)` order with random delays from the seeded generator, the way the simulation uses
//! it (a queue holding thousands of future events). Target: at least 1,000,000 events/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vpsie_sim::des::{EventQueue, SimRng};

const EVENTS: u64 = 1_000_000;
const IN_FLIGHT: u64 = 10_000;

/// Keeps `IN_FLIGHT` events queued; every event taken schedules one more until `EVENTS` have
/// been processed. Returns a checksum so the work is not optimised away.
fn run_core(seed: u64) -> u64 {
    let mut q: EventQueue<u64> = EventQueue::new();
    let mut rng = SimRng::new(seed);
    for i in 0..IN_FLIGHT {
        q.schedule(rng.between(0, 60_000), i);
    }
    let mut scheduled = IN_FLIGHT;
    let mut checksum = 0u64;
    while let Some(e) = q.pop() {
        checksum = checksum.wrapping_add(e.event ^ e.at as u64);
        if scheduled < EVENTS {
            q.schedule_in(rng.between(1, 60_000), scheduled);
            scheduled += 1;
        }
    }
    checksum
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("des_core");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(10);
    group.bench_function("1M events, 10k queued, random delays", |b| {
        b.iter(|| run_core(std::hint::black_box(7)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
