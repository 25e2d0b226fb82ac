//! Five replicas built with `dsim::simulation` and run with `dsim::run_to`, as a user
//! would test their own system.

use super::*;
use dsim::{Fault, LinkTable, NodeDecl, NodeId, ScenarioFiles, ScheduledFault, Setup};

const FIVE: usize = 5;

fn replicas(n: usize) -> Vec<NodeDecl> {
    (0..n)
        .map(|i| NodeDecl {
            name: format!("r{i}"),
            role: "replica".into(),
            start: Some(SimTime::ZERO),
        })
        .collect()
}

/// Five replicas of system `S` over default links (1 ms, lossless), invariants on.
fn build<S: System<Node = Replica, Params = LeaseParams>>(
    seed: u64,
    params: &LeaseParams,
) -> Simulation<Replica> {
    let nodes = replicas(FIVE);
    let network = LinkTable::default();
    let setup = Setup {
        seed,
        nodes: &nodes,
        links: &[],
        network: &network,
        files: ScenarioFiles::none(),
    };
    dsim::simulation::<S>(params, &setup).expect("valid parameters")
}

/// The replicas holding a lease right now, by their own clocks.
fn leaders(sim: &Simulation<Replica>) -> Vec<NodeId> {
    let world = sim.world();
    world
        .live_nodes()
        .filter(|(id, n)| n.holds_lease(world.local_time(*id)))
        .map(|(id, _)| id)
        .collect()
}

/// Run in 1 ms steps until some replica other than `not` leads; the time it took.
fn until_led(sim: &mut Simulation<Replica>, not: Option<NodeId>, limit: SimTime) -> SimTime {
    let from = sim.now();
    while sim.now() < from + limit {
        assert!(sim.advance_to(sim.now() + SimTime::from_millis(1)));
        if leaders(sim).iter().any(|l| Some(*l) != not) {
            return sim.now() - from;
        }
    }
    panic!("no leader within {limit}");
}

fn at(sim: &mut Simulation<Replica>, after: SimTime, fault: Fault) {
    let at = sim.now() + after;
    sim.schedule_fault(ScheduledFault { at, fault });
}

#[test]
fn a_leader_is_elected_within_one_election_round_or_two() {
    // The first election timeout fires by 300 ms; a round lasts at most 100 ms, and a
    // split round is followed by a fresh timeout: 700 ms covers two rounds.
    let p = LeaseParams::default();
    let bound = p.election_timeout_max * 2 + p.request_timeout;
    for seed in 0..32 {
        let mut sim = build::<LeaderLease>(seed, &p);
        let took = until_led(&mut sim, None, bound);
        assert!(took >= p.election_timeout_min, "seed {seed}: {took}");
    }
}

#[test]
fn a_crashed_leader_is_replaced_within_lease_guard_and_election_timeout() {
    // Promises to the old leader run out at most `lease + guard` after its crash; then
    // a follower stands within `election_timeout_max` and wins within a round.
    let p = LeaseParams::default();
    let bound = p.promised_for() + p.election_timeout_max + p.request_timeout;
    for seed in 0..16 {
        let mut sim = build::<LeaderLease>(seed, &p);
        assert!(sim.advance_to(SimTime::from_secs(5)));
        let [old] = leaders(&sim)[..] else {
            panic!("seed {seed}: one leader expected at 5 s")
        };
        at(&mut sim, SimTime::ZERO, Fault::Crash(old));
        let took = until_led(&mut sim, Some(old), bound);
        // Nobody may lead before the old lease could have run out.
        assert!(took > p.held_for() - p.renew_every, "seed {seed}: {took}");
        at(&mut sim, SimTime::from_secs(1), Fault::Restart(old));
        assert_eq!(sim.run_until(SimTime::from_secs(15)).violation, None);
    }
}

#[test]
fn crashes_restarts_and_loss_keep_one_leader_and_elect_one() {
    let nodes = replicas(FIVE);
    let mut network = LinkTable::default();
    network.default.loss = 0.05;
    let setup = Setup {
        seed: 7,
        nodes: &nodes,
        links: &[],
        network: &network,
        files: ScenarioFiles::none(),
    };
    let mut faults = Vec::new();
    for (k, name) in ["r0", "r1", "r2", "r3", "r4", "r0", "r1"]
        .iter()
        .enumerate()
    {
        let t = SimTime::from_secs(2 + 3 * k as u64);
        faults.push((t, Fault::Crash(name.to_string())));
        faults.push((
            t + SimTime::from_millis(1500),
            Fault::Restart(name.to_string()),
        ));
    }
    let p = LeaseParams::default();
    let run = dsim::run_to::<LeaderLease>(&p, &setup, SimTime::from_secs(40), &faults).unwrap();
    assert_eq!(run.violation, None);
    assert!(run.metrics.value("leader_changes") >= 2.0);
    assert!(run.metrics.value("lease_renewals") > 20.0);
    assert_eq!(run.metrics.value("leaders_at_end"), 1.0);
    let leaderless = run.metrics.value("leaderless_s");
    assert!(leaderless > 0.0 && leaderless < 20.0, "{leaderless}");
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let p = LeaseParams::default();
    let run = |seed| {
        let mut sim = build::<LeaderLease>(seed, &p);
        at(&mut sim, SimTime::from_secs(3), Fault::Crash(NodeId(2)));
        at(&mut sim, SimTime::from_secs(4), Fault::Restart(NodeId(2)));
        sim.run_until(SimTime::from_secs(10));
        sim.fingerprint()
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

/// A partition cuts the leader off; three of the others crash and restart at once.
fn cut_off_and_reboot_three(sim: &mut Simulation<Replica>) -> NodeId {
    assert!(sim.advance_to(SimTime::from_secs(3)));
    let [leader] = leaders(sim)[..] else {
        panic!("one leader expected at 3 s")
    };
    let others: Vec<NodeId> = (0..FIVE as u32)
        .map(NodeId)
        .filter(|n| *n != leader)
        .collect();
    at(
        sim,
        SimTime::ZERO,
        Fault::Partition(vec![vec![leader], others.clone()]),
    );
    for &n in &others[..3] {
        at(sim, SimTime::from_millis(1), Fault::Crash(n));
        at(sim, SimTime::from_millis(2), Fault::Restart(n));
    }
    leader
}

/// The broken variant: replicas whose promises a crash wipes.
struct Amnesiac;

impl System for Amnesiac {
    const NAME: &'static str = "amnesiac-lease";
    const DESCRIPTION: &'static str = "leader lease whose replicas forget promises on a crash";
    const ROLES: &'static [&'static str] = LeaderLease::ROLES;
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    type Params = LeaseParams;
    type Node = Replica;

    fn validate(params: &LeaseParams, setup: &Setup<'_>) -> Result<(), String> {
        LeaderLease::validate(params, setup)
    }
    fn build(params: &LeaseParams, setup: &Setup<'_>, sim: &mut Simulation<Replica>) {
        let ids = add_declared(sim, setup.nodes, |_| {
            Replica::new(params.clone()).amnesiac()
        });
        for &id in &ids {
            sim.node_mut(id).set_peers(&ids);
        }
    }
    fn invariants(params: &LeaseParams) -> Vec<Box<dyn Invariant<Replica>>> {
        LeaderLease::invariants(params)
    }
    fn report(_: &LeaseParams, _: &Simulation<Replica>, _: &mut Metrics) {}
}

#[test]
fn forgetting_promises_in_a_crash_gives_two_leaders() {
    let p = LeaseParams::default();
    for seed in 0..8 {
        let mut sim = build::<Amnesiac>(seed, &p);
        cut_off_and_reboot_three(&mut sim);
        let v = sim.run_until(SimTime::from_secs(8)).violation;
        assert_eq!(
            v.map(|v| v.invariant),
            Some("one_leader_at_a_time".to_owned()),
            "seed {seed}"
        );
    }
}

#[test]
fn persisted_promises_survive_the_same_crashes() {
    let p = LeaseParams::default();
    for seed in 0..8 {
        let mut sim = build::<LeaderLease>(seed, &p);
        let old = cut_off_and_reboot_three(&mut sim);
        assert_eq!(sim.run_until(SimTime::from_secs(8)).violation, None);
        assert!(!leaders(&sim).contains(&old), "seed {seed}");
    }
}

/// The leader's clock runs at `leader_ppm`, everyone else's at `others_ppm`; then the
/// leader is cut off and the others elect a new one when their promises run out.
fn drift_then_partition(p: &LeaseParams, leader_ppm: f64, others_ppm: f64) -> Option<String> {
    let mut sim = build::<LeaderLease>(3, p);
    assert!(sim.advance_to(SimTime::from_secs(3)));
    let [leader] = leaders(&sim)[..] else {
        panic!("one leader expected at 3 s")
    };
    for n in (0..FIVE as u32).map(NodeId) {
        let ppm = if n == leader { leader_ppm } else { others_ppm };
        at(&mut sim, SimTime::ZERO, Fault::ClockDrift { node: n, ppm });
    }
    let others = (0..FIVE as u32)
        .map(NodeId)
        .filter(|n| *n != leader)
        .collect();
    at(
        &mut sim,
        SimTime::from_secs(1),
        Fault::Partition(vec![vec![leader], others]),
    );
    let out = sim.run_until(SimTime::from_secs(10));
    out.violation.map(|v| v.invariant)
}

#[test]
fn leases_hold_within_the_tolerated_drift() {
    let p = LeaseParams::default();
    assert!(p.tolerated_drift_ppm() > 40_000.0);
    assert_eq!(drift_then_partition(&p, -40_000.0, 40_000.0), None);
}

#[test]
fn without_guard_and_margin_a_slow_leader_overlaps_its_successor() {
    let p = LeaseParams {
        guard: SimTime::ZERO,
        drift_margin: SimTime::ZERO,
        ..LeaseParams::default()
    };
    assert_eq!(drift_then_partition(&p, 0.0, 0.0), None);
    assert_eq!(
        drift_then_partition(&p, -200_000.0, 0.0).as_deref(),
        Some("one_leader_at_a_time")
    );
}

#[test]
fn parameters_are_checked() {
    let nodes = replicas(3);
    let network = LinkTable::default();
    let setup = Setup {
        seed: 0,
        nodes: &nodes,
        links: &[],
        network: &network,
        files: ScenarioFiles::none(),
    };
    let bad = LeaseParams {
        renew_every: SimTime::from_secs(2),
        ..LeaseParams::default()
    };
    let err = LeaderLease::validate(&bad, &setup).unwrap_err();
    assert!(err.contains("renew_every"), "{err}");
    assert!(LeaderLease::validate(&LeaseParams::default(), &setup).is_ok());
}
