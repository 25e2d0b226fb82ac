//! The hosted systems at two sizes each, generated as `dsim bench system` generates them
//! (`scenarios::bench`, through the registry), invariants off: build, start and run to a fixed simulated time.
//!
//! `cargo bench -p benches --bench systems`. Each iteration builds the system and runs
//! it (the build is part of the measurement: it is short beside the run). For the
//! figures of one long run, with memory, use `dsim bench system`.

use criterion::{Criterion, criterion_group, criterion_main};
use sim_core::SimTime;
use std::hint::black_box;

const SEED: u64 = 1;

/// (system, its two sizes, simulated time to run).
const CASES: &[(&str, [u32; 2], SimTime)] = &[
    ("cityos", [10, 100], SimTime::from_secs(10)),
    ("widest-path", [50, 200], SimTime::from_secs(5)),
    ("parking", [2, 20], SimTime::from_secs(600)),
    ("image-cloud", [20, 200], SimTime::from_secs(5)),
    ("ott", [16, 64], SimTime::from_secs(2)),
];

fn systems(c: &mut Criterion) {
    for &(name, sizes, until) in CASES {
        let mut g = c.benchmark_group(format!("system/{name}"));
        g.sample_size(10);
        for size in sizes {
            g.bench_function(format!("size-{size}"), |b| {
                b.iter(|| {
                    let report = scenarios::bench::system(name, size, until, false, SEED)
                        .expect("bench system runs");
                    black_box(report)
                })
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    // No plots: they need system fonts, which build machines often lack.
    config = Criterion::default().without_plots();
    targets = systems
}
criterion_main!(benches);
