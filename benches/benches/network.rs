//! Message forwarding through the network model (1 ms latency plus up to 1 ms jitter,
//! 1 % loss, fingerprint on): dsim's `protocols::forward` against the same workload on
//! anysystem 0.3.0, at 100 and 10,000 nodes.
//!
//! `cargo bench -p benches --bench network --features anysystem` times 200,000 events
//! per iteration after start-up; building the model is not timed. Without the feature
//! only dsim runs (anysystem builds Python bindings, which need Python's headers). For
//! longer side-by-side runs use the `forward_compare` example.

#[cfg(feature = "anysystem")]
mod anysystem_forward;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use protocols::forward::{self, ForwardParams};
use sim_core::SimTime;
use std::hint::black_box;

const EVENTS: u64 = 200_000;
const SEED: u64 = 1;

fn forwarding(c: &mut Criterion) {
    for nodes in [100, 10_000] {
        let params = ForwardParams {
            nodes,
            ..ForwardParams::default()
        };
        let mut g = c.benchmark_group(format!("forward/{nodes}nodes"));
        g.sample_size(10).throughput(Throughput::Elements(EVENTS));
        g.bench_function("dsim", |b| {
            b.iter_batched(
                || {
                    let mut sim = forward::simulation(&params, SEED).expect("valid params");
                    sim.advance_to(SimTime(0));
                    sim
                },
                |mut sim| {
                    sim.run_events(EVENTS);
                    black_box(sim.fingerprint())
                },
                BatchSize::PerIteration,
            )
        });
        #[cfg(feature = "anysystem")]
        g.bench_function("anysystem", |b| {
            b.iter_batched(
                || anysystem_forward::build(nodes, params.link.loss, SEED),
                |mut sys| black_box(anysystem_forward::run(&mut sys, EVENTS)),
                BatchSize::PerIteration,
            )
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    // No plots: they need system fonts, which build machines often lack.
    config = Criterion::default().without_plots();
    targets = forwarding
}
criterion_main!(benches);
