//! The scenario files load with dsim's schema, run clean, and say what their comments say.

use dsim::testing::TestScenario;
use dsim::{NodeId, Registry, SimTime};
use own_system::{LeaderLease, Replica};

const LEASE: &str = "scenarios/lease.ron";
const PARTITION: &str = "scenarios/lease-partition.ron";
const RING: &str = "scenarios/lease-ring.ron";

fn registry() -> Registry {
    Registry::new().system::<LeaderLease>()
}

/// The replica holding the lease at `t` in `file` at its own seed.
fn leader_at(file: &str, t: SimTime) -> Option<String> {
    let text = std::fs::read_to_string(file).expect("scenario file");
    let prepared = registry()
        .load_typed::<LeaderLease>(file, &text)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sim = prepared.simulation(prepared.scenario().seed);
    assert!(sim.advance_to(t));
    let world = sim.world();
    let holders: Vec<(NodeId, &Replica)> = world
        .live_nodes()
        .filter(|(id, n)| n.holds_lease(world.local_time(*id)))
        .collect();
    holders.first().map(|(id, _)| world.name(*id).to_owned())
}

#[test]
fn the_faults_hit_the_leader() {
    assert_eq!(
        leader_at(LEASE, SimTime::from_millis(19_900)).as_deref(),
        Some("r1")
    );
    assert_eq!(
        leader_at(PARTITION, SimTime::from_millis(14_900)).as_deref(),
        Some("r1")
    );
}

#[test]
fn the_scenarios_run_clean_and_elect_again() {
    let registry = registry();
    for file in [LEASE, PARTITION] {
        let scenario = TestScenario::load(&registry, file);
        for seed in 1..=4 {
            let report = scenario.run(seed);
            report.assert_clean();
            assert!(
                report.metric("leader_changes").unwrap() >= 1.0,
                "{file} {seed}"
            );
            assert_eq!(report.metric("leaders_at_end"), Some(1.0), "{file} {seed}");
        }
        // At seed 1 the crash or partition of the leader forces a second election.
        assert!(
            scenario.run(1).metric("leader_changes").unwrap() >= 2.0,
            "{file}"
        );
    }
}

#[test]
fn explore_finds_no_violation() {
    let registry = registry();
    for file in [LEASE, PARTITION] {
        let outcome = TestScenario::load(&registry, file).explore(24);
        assert!(outcome.found.is_none(), "{file}: {:?}", outcome.found);
    }
}

#[test]
fn explore_finds_two_leaders_without_guard_and_margin() {
    // The same scenario with no allowance for drift: a leader whose clock runs slow and
    // that is cut off outlives the promises made to it.
    let registry = registry();
    let outcome = TestScenario::load(&registry, LEASE)
        .set("params.guard", "\"0s\"")
        .set("params.drift_margin", "\"0s\"")
        .set("explore.max_ppm", "500000.0")
        .set("explore.max_length", "\"15s\"")
        .set("explore.kinds", "[ClockDrift, Isolation]")
        .explore(1000);
    let found = outcome.found.expect("a counterexample");
    assert_eq!(found.violation.invariant, "one_leader_at_a_time");
}

/// The first 10 s of `lease-ring.ron`, without its faults: the golden run.
fn golden_run(registry: &Registry) -> TestScenario<'_> {
    TestScenario::load(registry, RING)
        .set("faults", "[]")
        .set("duration", "\"10s\"")
}

/// The golden run's whole trace at seed 1, record for record, against the golden file
/// (re-recorded with `DSIM_BLESS=1 cargo test` when a change is meant to alter it).
#[test]
fn lease_matches_its_golden_trace() {
    let registry = registry();
    golden_run(&registry).assert_golden(1, "tests/golden/lease-ring.trace.jsonl");
}

/// A changed parameter changes the trace, and the golden check says where.
#[test]
fn a_changed_lease_fails_the_golden_trace() {
    let registry = registry();
    let changed = golden_run(&registry).set("params.renew_every", "\"400ms\"");
    let failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        changed.assert_golden(1, "tests/golden/lease-ring.trace.jsonl")
    }))
    .expect_err("a different renewal period must change the trace");
    let message = failure
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(
        message.contains("differs from the golden trace"),
        "{message}"
    );
}

/// Fault plans drawn by proptest from the ring scenario's budget keep every invariant.
#[test]
fn fault_plans_keep_the_invariants() {
    let registry = registry();
    TestScenario::load(&registry, RING).check_fault_plans(16);
}
