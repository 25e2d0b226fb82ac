//! Determinism properties of the kernel: a run is a pure function of (nodes, links, fault
//! plan, seed); random streams are per component; simulations share no hidden state.

mod common;

use common::*;
use proptest::prelude::*;
use sim_core::{NodeId, SimTime, Simulation};

/// A random gossip setup: 2 to 5 nodes, random default link, random fault plan of every
/// kind over the node names.
fn arb_setup() -> impl Strategy<Value = Setup> {
    (2usize..=5).prop_flat_map(|n| {
        (
            any::<u64>(),
            arb_link_params(),
            arb_plan(arb_fault(names(n)), 250, 12),
            1u32..=4,
            0u64..=600,
        )
            .prop_map(move |(seed, link, plan, initial_timers, cancel)| Setup {
                link,
                plan,
                node: GossipConfig {
                    initial_timers,
                    cancel_per_mille: cancel,
                    ..GossipConfig::default()
                },
                ..Setup::new(seed, n)
            })
    })
}

/// Run `sims` to completion by stepping them round-robin, one event each in turn.
fn step_alternately(sims: &mut [Simulation<Gossip>]) {
    loop {
        let mut any = false;
        for sim in sims.iter_mut() {
            any |= sim.step();
        }
        if !any {
            break;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Same config, seed and fault plan give the same fingerprint, the same kept trace
    /// records, the same metrics and the same node states; keeping records does not
    /// change the fingerprint; and flipping one bit of the seed changes the fingerprint.
    /// This is the simulator's central promise: a run is a pure function of its inputs,
    /// so any failure can be replayed from (scenario, seed).
    #[test]
    fn same_inputs_same_run(setup in arb_setup()) {
        let a = setup.run();
        let b = setup.run();
        prop_assert!(a.events() > 0);
        prop_assert_eq!(a.fingerprint(), b.fingerprint());
        prop_assert_eq!(a.trace_records(), b.trace_records());
        prop_assert_eq!(a.trace_records().len() as u64 > 0, true);
        prop_assert_eq!(a.metrics(), b.metrics());
        let (sa, sb) = (node_states(&a), node_states(&b));
        for (x, y) in sa.iter().zip(&sb) {
            prop_assert_eq!(&x.log, &y.log);
            prop_assert_eq!(&x.draws, &y.draws);
        }

        let unkept = Setup { keep_trace: false, ..setup.clone() }.run();
        prop_assert_eq!(unkept.fingerprint(), a.fingerprint());
        prop_assert!(unkept.trace_records().is_empty());

        let other = Setup { seed: setup.seed ^ 1, ..setup.clone() }.run();
        prop_assert_ne!(other.fingerprint(), a.fingerprint());
    }

    /// Registering one more node (last, silent: it never sends, receives or sets timers)
    /// changes nothing any other node sees: each original node draws the very same
    /// random numbers, handles the same events at the same times, and the trace records
    /// that do not mention the new node are identical. This is what "one ChaCha stream
    /// per component, keyed by name" is for: growing a scenario must not reshuffle the
    /// randomness of the parts that did not change.
    #[test]
    fn an_unrelated_node_changes_no_other_stream(setup in arb_setup()) {
        let base = setup.run();
        let grown = Setup { extra_node: true, ..setup.clone() }.run();
        let extra = grown.lookup(EXTRA).expect("extra node registered");
        prop_assert_eq!(extra, NodeId(setup.nodes as u32));
        let (sa, sb) = (node_states(&base), node_states(&grown));
        prop_assert_eq!(sb.len(), sa.len() + 1);
        for (i, (x, y)) in sa.iter().zip(&sb).enumerate() {
            prop_assert!(!x.draws.is_empty(), "n{} drew nothing", i);
            prop_assert_eq!(&x.draws, &y.draws, "n{} draws differ", i);
            prop_assert_eq!(&x.log, &y.log, "n{} saw different events", i);
        }
        let filtered = without_node(grown.trace_records(), extra);
        prop_assert_eq!(base.trace_records(), filtered.as_slice());
        prop_assert_eq!(base.metrics(), grown.metrics());
        // The fingerprint does see the new node (its start is a decision of the run).
        prop_assert_ne!(base.fingerprint(), grown.fingerprint());
    }

    /// Two simulations built in the same process and stepped alternately, one event
    /// each in turn, end with the same fingerprints and traces as when each runs alone:
    /// no state is shared between simulations (no globals, no thread-locals), which a
    /// parallel `dsim sweep` relies on.
    #[test]
    fn interleaved_simulations_do_not_interact(a in arb_setup(), b in arb_setup()) {
        let alone_a = a.run();
        let alone_b = b.run();
        let mut sims = [a.build(), b.build(), a.build()];
        step_alternately(&mut sims);
        prop_assert_eq!(sims[0].fingerprint(), alone_a.fingerprint());
        prop_assert_eq!(sims[1].fingerprint(), alone_b.fingerprint());
        prop_assert_eq!(sims[2].fingerprint(), alone_a.fingerprint());
        prop_assert_eq!(sims[0].trace_records(), alone_a.trace_records());
        prop_assert_eq!(sims[1].trace_records(), alone_b.trace_records());
        prop_assert_eq!(sims[0].events(), alone_a.events());
    }
}

/// Different seeds give different runs (checked on a handful of seeds): the seed really
/// reaches the node and link streams, so a sweep over seeds explores different
/// interleavings instead of repeating one.
#[test]
fn different_seeds_differ() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in [0, 1, 2, 3, 42, u64::MAX] {
        let setup = Setup {
            link: sim_core::LinkParams {
                jitter: SimTime::from_millis(3),
                loss: 0.05,
                ..sim_core::LinkParams::default()
            },
            ..Setup::new(seed, 4)
        };
        let sim = setup.run();
        assert!(
            seen.insert(sim.fingerprint()),
            "seed {seed} repeats a fingerprint"
        );
    }
}

/// Stepping one event at a time and `run_until` in several slices give the same run as
/// one `run_until`: how a caller drives the loop is not an input of the run.
#[test]
fn slicing_the_run_does_not_change_it() {
    let setup = Setup {
        link: sim_core::LinkParams {
            jitter: SimTime::from_millis(2),
            ..sim_core::LinkParams::default()
        },
        ..Setup::new(7, 4)
    };
    let whole = setup.run();
    let mut sliced = setup.build();
    for ms in (0..400).step_by(7) {
        sliced.run_until(SimTime::from_millis(ms));
    }
    sliced.run_until(SimTime::MAX);
    let mut stepped = setup.build();
    while stepped.step() {}
    assert_eq!(sliced.fingerprint(), whole.fingerprint());
    assert_eq!(stepped.fingerprint(), whole.fingerprint());
    assert_eq!(sliced.trace_records(), whole.trace_records());
}
