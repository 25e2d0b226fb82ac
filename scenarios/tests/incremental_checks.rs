//! Invariants that look only at the node an event changed report every violation at
//! the same event as a full scan: every library scenario, and deliberately wrong
//! variants that do violate (the short-timeout Bully, OTT allowed 1 ms to settle), under
//! fault plans drawn from its own budget, run both ways (`run_plan` with and without
//! `full_checks`) with the same report, violation and its event included.

use dsim::harness::explore::{event_budget, fault_plans, run_plan};
use dsim::scenario::overrides::apply_override;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use std::path::PathBuf;

/// Fault plans per library scenario.
const PLANS: usize = 2;
/// A scenario file, a `--set` override making it wrong (if any), and its plans.
type Case = (PathBuf, Option<(&'static str, &'static str)>, usize);

/// Fault plans per wrong variant.
const WRONG_PLANS: usize = 12;

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "minutes unoptimised: scripts/test.sh runs it in release"
)]
fn incremental_checks_agree_with_full_scans() {
    let registry = scenarios::registry();
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    let mut cases: Vec<Case> = files.into_iter().map(|f| (f, None, PLANS)).collect();
    cases.push((
        format!("{dir}/teaching/bully-short-timeout.ron").into(),
        None,
        WRONG_PLANS,
    ));
    cases.push((
        format!("{dir}/ott.ron").into(),
        Some(("params.settle", "\"1ms\"")),
        WRONG_PLANS,
    ));
    let mut violated = 0;
    for (file, set, plans_per_case) in &cases {
        let mut text = std::fs::read_to_string(file).unwrap();
        if let Some((path, value)) = set {
            text = apply_override(&text, path, value).unwrap();
        }
        let name = file.display().to_string();
        let scenario = registry.load(&name, &text).unwrap();
        let scenario = scenario.as_ref();
        let budget = event_budget(scenario).unwrap();
        let plans = fault_plans(scenario);
        let mut runner = TestRunner::deterministic();
        for _ in 0..*plans_per_case {
            let (seed, plan) = plans.new_tree(&mut runner).unwrap().current();
            let run = |full| run_plan(scenario, seed, &plan, budget, full).unwrap();
            let (incremental, full) = (run(false), run(true));
            assert_eq!(
                (&incremental.violations, &incremental.trace_hash),
                (&full.violations, &full.trace_hash),
                "{name}: seed {seed}, plan {plan:?}"
            );
            violated += usize::from(!full.violations.is_empty());
        }
    }
    // The comparison means something only if some plans break an invariant.
    assert!(violated > 0, "no plan violated an invariant");
}
