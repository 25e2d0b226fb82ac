//! PHOLD engine benchmark: dsim against simcore 0.1.0 (the DSLab kernel) and against a
//! bare `BinaryHeap` loop making the same random draws (the floor).
//!
//! `cargo bench -p benches --bench phold` runs 10 000 LPs with one event each and
//! times 1 000 000 events per iteration; building the model is not timed. For the full
//! 10 000 000-event comparison run the `phold_compare` example.

mod simcore_phold;

use benches::PholdParams;
use benches::dsim_phold::DsimPhold;
use benches::heap_floor::{HeapFloor, Streams};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use simcore_phold::SimcorePhold;
use std::hint::black_box;

const LPS: u32 = 10_000;
const EVENTS: u64 = 1_000_000;
const SEED: u64 = 1;

fn phold(c: &mut Criterion) {
    let p = PholdParams {
        lps: LPS,
        events_per_lp: 1,
        ..PholdParams::default()
    };
    let mut g = c.benchmark_group(format!("phold/{LPS}lps"));
    g.sample_size(10).throughput(Throughput::Elements(EVENTS));
    g.bench_function("dsim", |b| {
        b.iter_batched(
            || DsimPhold::new(&p, SEED),
            |mut m| black_box(m.run(EVENTS)),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("simcore", |b| {
        b.iter_batched(
            || SimcorePhold::build(&p, SEED),
            |mut m| {
                let r = m.run(EVENTS);
                black_box((r.events, r.end_time_s))
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("heap_floor", |b| {
        b.iter_batched(
            || HeapFloor::new(&p, SEED, Streams::PerLp),
            |mut m| black_box(m.run(EVENTS)),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("heap_floor_shared_rng", |b| {
        b.iter_batched(
            || HeapFloor::new(&p, SEED, Streams::Shared),
            |mut m| black_box(m.run(EVENTS)),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, phold);
criterion_main!(benches);
