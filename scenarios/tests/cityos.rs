//! CityOS: every edge case of the report as a library scenario that runs clean and
//! shows the behaviour it is named after, and the analyst's statistics checked
//! against a direct computation over what was uploaded.

use protocols::cityos::analyst::Observation;
use protocols::cityos::rest::AverageId;
use protocols::cityos::{Analyst, CityNode, CityOs, Cloud, CloudServer, EdgeNode, Phase};
use sim_core::{Metrics, NodeStatus, Role, SimTime, Simulation};

/// The library scenario `name`, built for its own seed.
fn simulation(name: &str) -> (Simulation<CityNode>, SimTime) {
    let registry = scenarios::registry();
    let s = registry.find_scenario(name).expect("a library scenario");
    let prepared = registry
        .load_typed::<CityOs>(&s.file, &s.text)
        .expect("the library scenario loads");
    let duration = prepared.scenario().duration;
    (prepared.simulation(prepared.scenario().seed), duration)
}

/// Run `name` to its end with every invariant on; the final simulation and metrics.
fn run_clean(name: &str) -> (Simulation<CityNode>, Metrics) {
    let (mut sim, duration) = simulation(name);
    let outcome = sim.run_until(duration);
    assert_eq!(outcome.violation, None, "{name}");
    let mut metrics = sim.metrics();
    <CityOs as dsim_system::System>::report(&Default::default(), &sim, &mut metrics);
    (sim, metrics)
}

fn edge<'a>(sim: &'a Simulation<CityNode>, name: &str) -> (NodeStatus, &'a EdgeNode) {
    let (status, node) = sim.node(sim.lookup(name).expect("node"));
    (status, EdgeNode::of(node).expect("an edge node"))
}

fn cloud(sim: &Simulation<CityNode>) -> &Cloud {
    let server = CloudServer::of(sim.node(sim.lookup("cloud").unwrap()).1);
    &server.expect("the server").cloud
}

/// Live nodes in the network agree on exactly this coordinator id.
fn agreed_coordinator(sim: &Simulation<CityNode>) -> i64 {
    let world = sim.world();
    let live: Vec<&EdgeNode> = world
        .live_nodes()
        .filter_map(|(_, n)| EdgeNode::of(n))
        .filter(|e| e.in_network())
        .collect();
    let coordinators: Vec<i64> = live
        .iter()
        .filter(|e| e.phase() == Phase::Coordinator)
        .map(|e| e.id())
        .collect();
    assert_eq!(coordinators.len(), 1, "coordinators {coordinators:?}");
    for e in &live {
        assert_eq!(e.coordinator(), Some(coordinators[0]), "node {}", e.id());
    }
    coordinators[0]
}

/// Step `sim` until `until`, calling `look` after every event.
fn step_until(
    sim: &mut Simulation<CityNode>,
    until: SimTime,
    mut look: impl FnMut(&Simulation<CityNode>),
) {
    while sim.next_event_time().is_some_and(|t| t <= until) {
        sim.step();
        assert_eq!(sim.violation(), None);
        look(sim);
    }
}

fn phases(sim: &Simulation<CityNode>) -> Vec<(i64, Phase)> {
    sim.world()
        .live_nodes()
        .filter_map(|(_, n)| EdgeNode::of(n))
        .map(|e| (e.id(), e.phase()))
        .collect()
}

#[test]
fn steady_state_uploads_every_average_once_and_the_analyst_reads_them_right() {
    let (sim, m) = run_clean("cityos");
    // The first node to register elected itself; every later one joined under it.
    agreed_coordinator(&sim);
    assert_eq!(m.value("coordinator_changes"), 1.0);
    assert_eq!(m.value("nodes_registered_at_end"), 10.0);
    assert_eq!(m.value("elections"), 1.0);
    assert_eq!(m.value("local_averages_lost"), 0.0);
    assert_eq!(
        m.value("local_averages_uploaded") + m.value("local_averages_pending"),
        m.value("local_averages_produced")
    );
    // Only the readings still in flight at the end are lost: one per sensor at most.
    assert!(
        m.value("measurements_lost") <= 200.0,
        "{}",
        m.value("measurements_lost")
    );
    // A local average waits at most a global period in the coordinator's window plus
    // the upload round trip.
    let Some(sim_core::Metric::Samples(delays)) = m.get("upload_delay_ms") else {
        panic!("no upload delays")
    };
    assert!(
        delays.iter().all(|d| *d <= 5_000.0 + 50.0),
        "{:?}",
        delays.iter().cloned().fold(0.0, f64::max)
    );
    analyst_statistics_equal_a_direct_computation(&sim);
}

/// Every statistic the analyst got equals mean and deviation computed directly over
/// the values the server held when it answered.
fn analyst_statistics_equal_a_direct_computation(sim: &Simulation<CityNode>) {
    let store = cloud(sim);
    let analyst = sim
        .world()
        .nodes()
        .find_map(|(_, _, n)| Analyst::of(n))
        .map(|a| a.observations.clone())
        .unwrap();
    assert!(analyst.len() > 60, "{} statistics", analyst.len());
    assert!(analyst.iter().any(|o| o.node.is_some()));
    for Observation {
        node,
        n,
        total,
        statistic,
    } in analyst
    {
        // The store only grows, so the first `total` values are what the server had.
        let values: Vec<f64> = match node {
            None => store.aggregates[..total as usize]
                .iter()
                .map(|a| a.global.0)
                .collect(),
            Some(id) => store.locals[&id][..total as usize]
                .iter()
                .map(|a| a.value.0)
                .collect(),
        };
        let window = &values[values.len().saturating_sub(n as usize)..];
        let mean = window.iter().sum::<f64>() / window.len() as f64;
        let sd =
            (window.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / window.len() as f64).sqrt();
        assert_eq!(statistic.count as usize, window.len());
        assert!(
            (statistic.mean.0 - mean).abs() < 1e-9,
            "{node:?}: {} vs {mean}",
            statistic.mean.0
        );
        assert!(
            (statistic.std_dev.0 - sd).abs() < 1e-9,
            "{node:?}: {} vs {sd}",
            statistic.std_dev.0
        );
    }
}

#[test]
fn two_nodes_join_concurrently_under_the_coordinator() {
    let (mut sim, duration) = simulation("cityos-join-concurrent");
    let mut both_greeting = false;
    step_until(&mut sim, SimTime::from_secs(62), |sim| {
        let p = phases(sim);
        both_greeting |= [90, 35].iter().all(|id| p.contains(&(*id, Phase::Hello)));
    });
    assert!(
        both_greeting,
        "the two joiners were never in their hello phase together"
    );
    sim.run_until(duration);
    assert_eq!(sim.violation(), None);
    assert_eq!(agreed_coordinator(&sim), 10, "edge-90 must not take over");
    assert!(edge(&sim, "edge-90").1.knows(35) && edge(&sim, "edge-35").1.knows(90));
    assert_eq!(sim.metrics().value("elections"), 1.0);
}

#[test]
fn a_node_joining_while_another_leaves_drops_it() {
    let (sim, _) = run_clean("cityos-join-while-leave");
    assert_eq!(agreed_coordinator(&sim), 10);
    let (_, joiner) = edge(&sim, "edge-90");
    assert_eq!(joiner.phase(), Phase::Active);
    assert!(
        !joiner.knows(30),
        "the hello protocol should have dropped the leaver"
    );
    assert!(!cloud(&sim).nodes.contains_key(&30));
}

#[test]
fn a_node_joining_during_an_election_may_win_it() {
    let (mut sim, duration) = simulation("cityos-join-during-election");
    let mut seen_join = None;
    step_until(&mut sim, SimTime::from_millis(64_600), |sim| {
        let p = phases(sim);
        if seen_join.is_none() && p.contains(&(90, Phase::Hello)) {
            seen_join = Some(p);
        }
    });
    let at_join = seen_join.expect("edge-90 joined");
    assert!(
        at_join.iter().any(|(_, p)| *p == Phase::Electing),
        "{at_join:?}"
    );
    assert!(
        at_join.iter().all(|(_, p)| *p != Phase::Coordinator),
        "{at_join:?}"
    );
    sim.run_until(duration);
    assert_eq!(sim.violation(), None);
    // No coordinator was in charge when it joined, so it may take over (the report).
    assert_eq!(agreed_coordinator(&sim), 90);
}

#[test]
fn the_winner_leaving_during_an_election_makes_the_next_one_win() {
    let (mut sim, duration) = simulation("cityos-leave-during-election");
    sim.run_until(SimTime::from_millis(64_499));
    assert!(phases(&sim).iter().any(|(_, p)| *p == Phase::Electing));
    sim.run_until(duration);
    assert_eq!(sim.violation(), None);
    assert_eq!(agreed_coordinator(&sim), 40);
}

#[test]
fn sensors_of_an_offline_node_move_and_lose_little() {
    let (sim, m) = run_clean("cityos-offline-node");
    let handovers = m.value("sensor_handovers");
    assert!(handovers >= 1.0);
    // A handover costs at most the readings of one keep-alive period plus its timeout
    // (3 s, 3 readings) and one more for a trip back to the stale entry; plus one
    // reading in flight per sensor at the end.
    let bound = handovers * 4.0 + 40.0;
    assert!(
        m.value("measurements_lost") <= bound,
        "{} > {bound}",
        m.value("measurements_lost")
    );
    // The restarted node registers again: its stale entry is exactly what it asks for
    // (same id, cell and address), which the server answers like a first request.
    assert!(edge(&sim, "edge-20").1.crashed);
    assert_eq!(edge(&sim, "edge-20").1.phase(), Phase::Active);
    assert!(cloud(&sim).nodes.contains_key(&20));
}

#[test]
fn averages_sent_to_an_offline_coordinator_reach_the_cloud() {
    let (sim, m) = run_clean("cityos-offline-coordinator");
    assert_eq!(agreed_coordinator(&sim), 50);
    // All four survivors notice the crash at the same keep-alive. With n = 5 nodes, the
    // node of rank k (0 = lowest survivor) sends ELECTION to the n - 2 - k live nodes
    // above it and to the dead coordinator, each live receiver ANSWERs, and the winner
    // announces to its n - 1 members: sum(n - 1 - k) + sum(n - 2 - k) + (n - 1)
    // = n(n-1)/2 + (n-1)(n-2)/2 + (n-1) = n(n-1) = 20 messages.
    assert_eq!(m.value("election_messages"), 20.0);
    // Only the crashed coordinator's own unacknowledged averages are lost.
    let (_, old) = edge(&sim, "edge-10");
    let stored = &cloud(&sim).stored;
    let lost_of_10 = old.produced.iter().filter(|a| !stored.contains(a)).count();
    assert_eq!(m.value("local_averages_lost"), lost_of_10 as f64);
    for name in ["edge-20", "edge-30", "edge-40", "edge-50"] {
        let (_, e) = edge(&sim, name);
        let cutoff = SimTime::from_secs(170);
        assert!(
            e.produced
                .iter()
                .filter(|a| a.at < cutoff)
                .all(|a| stored.contains(a)),
            "{name}"
        );
    }
}

#[test]
fn a_leaving_coordinator_uploads_a_global_average_on_the_fly() {
    let (sim, m) = run_clean("cityos-coordinator-leaves");
    let leave = SimTime::from_millis(62_500);
    let on_the_fly = cloud(&sim).aggregates.iter().any(|a| {
        a.id == AverageId {
            node: 10,
            at: leave,
        }
    });
    assert!(on_the_fly, "no aggregate computed by edge-10 when it left");
    assert_eq!(m.value("local_averages_lost"), 0.0);
    assert_eq!(agreed_coordinator(&sim), 50);
}

#[test]
fn uploads_wait_for_the_server_and_nothing_is_lost() {
    let (sim, m) = run_clean("cityos-server-offline");
    // One retry per timeout plus back-off (1 s + 1 s) over the minute offline.
    assert!(
        m.value("upload_retries") >= 29.0,
        "{}",
        m.value("upload_retries")
    );
    assert_eq!(m.value("local_averages_lost"), 0.0);
    let Some(sim_core::Metric::Samples(delays)) = m.get("upload_delay_ms") else {
        panic!()
    };
    assert!(delays.iter().cloned().fold(0.0, f64::max) > 55_000.0);
    // The backlog went up in the order it was computed.
    let times: Vec<SimTime> = cloud(&sim).aggregates.iter().map(|a| a.id.at).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn runs_are_deterministic() {
    let fingerprint = |seed| {
        let registry = scenarios::registry();
        let s = registry
            .find_scenario("cityos-offline-coordinator")
            .unwrap();
        let prepared = registry.load_typed::<CityOs>(&s.file, &s.text).unwrap();
        let mut sim = prepared.simulation(seed);
        sim.run_until(prepared.scenario().duration);
        sim.fingerprint()
    };
    assert_eq!(fingerprint(11), fingerprint(11));
    assert_ne!(fingerprint(11), fingerprint(12));
}
