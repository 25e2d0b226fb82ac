//! The three PHOLD implementations run the same model.

#[path = "../benches/simcore_phold/mod.rs"]
mod simcore_phold;

use benches::PholdParams;
use benches::dsim_phold::{DsimPhold, run_dsim_phold};
use benches::heap_floor::{HeapFloor, Streams, run_heap_floor};

fn params() -> PholdParams {
    PholdParams {
        lps: 200,
        events_per_lp: 3,
        ..PholdParams::default()
    }
}

/// The floor makes dsim's draws in dsim's order, so it must follow the same trajectory.
#[test]
fn floor_follows_dsim_exactly() {
    for seed in [1, 2, 3] {
        let dsim = run_dsim_phold(&params(), seed, 50_000);
        let floor = run_heap_floor(&params(), seed, 50_000);
        assert_eq!(dsim.events, 50_000);
        assert_eq!(dsim, floor, "seed {seed}");
    }
}

/// Same seed, same run; the fingerprint agrees too.
#[test]
fn dsim_is_deterministic() {
    let mut a = DsimPhold::new(&params(), 9);
    let mut b = DsimPhold::new(&params(), 9);
    assert_eq!(a.run(20_000), b.run(20_000));
    assert_eq!(a.phold_events(), 20_000);
    assert_eq!(a.fingerprint(), b.fingerprint());
}

/// simcore draws from another generator, so only the statistics agree: `n` events
/// with `lps * events_per_lp` pending advance time by about `n / pending` periods of
/// `lookahead + mean`.
#[test]
fn all_implementations_advance_time_alike() {
    let p = params();
    let n = 300_000;
    let pending = f64::from(p.lps * p.events_per_lp);
    let expected = n as f64 / pending * (p.lookahead.0 + p.mean.0) as f64;
    let mut sc = simcore_phold::SimcorePhold::build(&p, 5);
    let sc = sc.run(n);
    assert_eq!(sc.events, n);
    let shared = HeapFloor::new(&p, 5, Streams::Shared).run(n);
    let dsim = run_dsim_phold(&p, 5, n);
    for (name, end_ns) in [
        ("simcore", sc.end_time_s * 1e9),
        ("floor-shared", shared.end_time.0 as f64),
        ("dsim", dsim.end_time.0 as f64),
    ] {
        assert!(
            (end_ns / expected - 1.0).abs() < 0.02,
            "{name}: end {end_ns} ns, expected about {expected}"
        );
    }
}
