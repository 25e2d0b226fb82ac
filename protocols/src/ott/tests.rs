//! Tests of the OTT overlay: the choice rule against a brute-force oracle, the codec
//! and the TOML table, and the report's failure walk-through step by step.

use super::bootstrap::parse_toml_table;
use super::client::{Client, Watch};
use super::flood::{Candidate, choose};
use super::invariants;
use super::overlay::{Overlay, Upstream};
use super::wire::{Control, Flood, VideoPacket};
use super::*;
use dsim_system::{LinkTable, NodeDecl};
use proptest::prelude::*;
use sim_core::{Fault, Latency, LinkParams, Node, Recorder, Role, ScheduledFault, SimConfig};

fn cand(id: u32, ms: f64, hops: u32, requested: usize, streams: usize) -> Candidate {
    Candidate {
        id: NodeId(id),
        mean_latency_ns: ms * 1e6,
        hops,
        requested,
        streams,
    }
}

/// The report's order: within 30% of the best mean, fewest hops, then fewest requested,
/// then fewest streams; outside the band never, however few hops.
#[test]
fn choice_follows_the_report_order() {
    assert_eq!(choose(&[], 0.3), None);
    // 12.9 ms is within 30% of 10 ms and has fewer hops: it wins.
    let c = [cand(1, 10.0, 3, 0, 1), cand(2, 12.9, 2, 0, 1)];
    assert_eq!(choose(&c, 0.3), Some(NodeId(2)));
    // 13.1 ms is outside the band: one hop does not help it.
    let c = [cand(1, 10.0, 3, 0, 1), cand(2, 13.1, 1, 0, 1)];
    assert_eq!(choose(&c, 0.3), Some(NodeId(1)));
    // Same hops: fewer videos requested from it.
    let c = [cand(1, 10.0, 2, 2, 1), cand(2, 11.0, 2, 1, 5)];
    assert_eq!(choose(&c, 0.3), Some(NodeId(2)));
    // Same requests: fewer streams offered.
    let c = [cand(1, 10.0, 2, 1, 4), cand(2, 11.0, 2, 1, 3)];
    assert_eq!(choose(&c, 0.3), Some(NodeId(2)));
    // Full tie: the lowest id.
    let c = [cand(7, 10.0, 2, 1, 3), cand(4, 10.0, 2, 1, 3)];
    assert_eq!(choose(&c, 0.3), Some(NodeId(4)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Against a brute-force oracle: the choice is within the band, and no candidate in
    /// the band beats it on (hops, requested, streams, id).
    #[test]
    fn choice_matches_an_oracle(raw in prop::collection::vec((1u32..100, 1u32..6, 0usize..4, 0usize..4), 1..8)) {
        let cands: Vec<Candidate> = raw
            .iter()
            .enumerate()
            .map(|(i, &(ms, h, r, s))| cand(i as u32, f64::from(ms), h, r, s))
            .collect();
        let chosen = choose(&cands, 0.3).expect("non-empty");
        let best = cands.iter().map(|c| c.mean_latency_ns).fold(f64::INFINITY, f64::min);
        let c = cands.iter().find(|c| c.id == chosen).unwrap();
        prop_assert!(c.mean_latency_ns <= best * 1.3);
        for o in cands.iter().filter(|o| o.mean_latency_ns <= best * 1.3) {
            prop_assert!((c.hops, c.requested, c.streams, c.id) <= (o.hops, o.requested, o.streams, o.id));
        }
    }

    /// Every packet decodes to itself; any prefix of it is refused, never a panic.
    #[test]
    fn codec_round_trips(videos in prop::collection::vec(any::<u64>(), 0..5),
                         visited in prop::collection::vec(0u32..1000, 0..6),
                         t in any::<u64>(), hops in any::<u32>()) {
        let nodes: Vec<NodeId> = visited.iter().map(|&v| NodeId(v)).collect();
        let packets = [
            Control::Hello,
            Control::NewNeighbour,
            Control::Neighbours { id: t, neighbours: nodes.clone() },
            Control::Flood(Flood { created_at: SimTime(t), videos: videos.clone(), visited: nodes.clone(), my_parents: nodes, hops }),
            Control::RequestVideo { video: t },
            Control::StopVideo { video: t },
            Control::ClientPing { seq: t, requested: videos.clone() },
            Control::VideoList { seq: t, videos, created_at: SimTime(t) },
            Control::Feeding { video: t, chain: visited.iter().map(|&v| NodeId(v)).collect() },
        ];
        for p in packets {
            let bytes = p.encode();
            prop_assert_eq!(Control::decode(&bytes), Ok(p.clone()));
            for cut in 0..bytes.len() {
                prop_assert!(Control::decode(&bytes[..cut]).is_err());
            }
        }
    }
}

/// A flood's size is what bincode would make of it: tag, time, three lists, hops.
#[test]
fn flood_size_is_bincode_like() {
    let f = Control::Flood(Flood {
        created_at: SimTime(1),
        videos: vec![1, 2],
        visited: vec![NodeId(1)],
        my_parents: vec![],
        hops: 1,
    });
    assert_eq!(f.encode().len(), 1 + 8 + (8 + 16) + (8 + 8) + 8 + 4);
    assert!(Control::decode(&[9]).is_err());
    assert!(Control::decode(&[2, 0, 0]).is_err());
}

/// The report's `neighbours.toml` parses; mistakes name their line.
#[test]
fn toml_table_parses_the_report_example() {
    let text = r#"
        # neighbours.toml
        "127.0.0.1" = [ "127.0.0.2", "127.0.0.3" ]
        "127.0.0.2" = [ "127.0.0.1", "127.0.0.4" ] # a comment
        "127.0.0.3" = [ "127.0.0.1", "127.0.0.4" ]
        "127.0.0.4" = [ "127.0.0.2", "127.0.0.3" ]
        "127.0.0.5" = []
    "#;
    let t = parse_toml_table(text).unwrap();
    assert_eq!(t.len(), 5);
    assert_eq!(t["127.0.0.2"], vec!["127.0.0.1", "127.0.0.4"]);
    assert!(t["127.0.0.5"].is_empty());
    let e = parse_toml_table("\"a\" = [ \"b\" ]\n\"a\" = [ b ]").unwrap_err();
    assert!(e.contains("line 2"), "{e}");
    let e = parse_toml_table("\"a\" = [ \"b\" ]\n\"a\" = [ \"c\" ]").unwrap_err();
    assert!(e.contains("twice"), "{e}");
    assert!(
        parse_toml_table("a = [ \"b\" ]")
            .unwrap_err()
            .contains("line 1")
    );
}

// ----- simulations -----

fn decls(nodes: &[(&str, &str)]) -> Vec<NodeDecl> {
    nodes
        .iter()
        .map(|(name, role)| NodeDecl {
            name: (*name).into(),
            role: (*role).into(),
            start: Some(SimTime::ZERO),
        })
        .collect()
}

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

fn secs(n: u64) -> SimTime {
    SimTime::from_secs(n)
}

fn link(latency: SimTime) -> LinkParams {
    LinkParams {
        latency: Latency::Constant(latency),
        bandwidth_bps: Some(100_000_000),
        ..LinkParams::default()
    }
}

/// The report's Figure 3: S1 - N1 - {N2, N3} - N4 (PoP) - C1, the N2 branch slower,
/// C1 watching video 1 from 2 s, at 1 Mb/s (to keep the test fast).
fn figure3() -> (OttParams, Vec<NodeDecl>, LinkTable) {
    let table = [
        ("S1", vec!["N1"]),
        ("N1", vec!["S1", "N2", "N3"]),
        ("N2", vec!["N1", "N4"]),
        ("N3", vec!["N1", "N4"]),
        ("N4", vec!["N2", "N3"]),
    ];
    let params = OttParams {
        neighbours: table
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect(),
        videos: BTreeMap::from([("S1".to_string(), vec![1])]),
        watches: vec![WatchSpec {
            client: "C1".into(),
            video: 1,
            start: secs(2),
            stop: None,
        }],
        bitrate_bps: 1_000_000,
        ..OttParams::default()
    };
    let nodes = decls(&[
        ("bootstrapper", "bootstrapper"),
        ("S1", "server"),
        ("N1", "node"),
        ("N2", "node"),
        ("N3", "node"),
        ("N4", "pop"),
        ("C1", "client"),
    ]);
    let mut network = LinkTable {
        default: link(ms(2)),
        ..LinkTable::default()
    };
    for (a, b) in [("N1", "N2"), ("N2", "N4")] {
        network.overrides.insert((a.into(), b.into()), link(ms(8)));
        network.overrides.insert((b.into(), a.into()), link(ms(8)));
    }
    (params, nodes, network)
}

/// A simulation ready to run, faults scheduled, invariants installed.
fn build(
    params: &OttParams,
    nodes: &[NodeDecl],
    network: &LinkTable,
    seed: u64,
    faults: &[(SimTime, Fault<&str>)],
) -> Simulation<OttNode> {
    let setup = Setup {
        seed,
        nodes,
        links: &[],
        network,
        files: dsim_system::ScenarioFiles::none(),
    };
    Ott::validate(params, &setup).expect("valid");
    let mut sim = Simulation::new(SimConfig {
        seed,
        default_link: network.default.clone(),
        keep_trace: false,
    });
    Ott::build(params, &setup, &mut sim);
    network.install(&mut sim).expect("links");
    for inv in Ott::invariants(params) {
        sim.add_invariant(inv);
    }
    for (at, f) in faults {
        let fault = f
            .clone()
            .map_nodes(&mut |n: &str| sim.lookup(n).ok_or(n))
            .expect("node");
        sim.schedule_fault(ScheduledFault { at: *at, fault });
    }
    sim
}

fn overlay<'a>(sim: &'a Simulation<OttNode>, name: &str) -> &'a Overlay {
    Overlay::of(sim.node(sim.lookup(name).unwrap()).1)
        .unwrap_or_else(|| panic!("{name} is not an overlay node"))
}

fn client<'a>(sim: &'a Simulation<OttNode>, name: &str) -> &'a Client {
    Client::of(sim.node(sim.lookup(name).unwrap()).1)
        .unwrap_or_else(|| panic!("{name} is not a client"))
}

fn parent(sim: &Simulation<OttNode>, name: &str, video: u64) -> Option<String> {
    overlay(sim, name)
        .upstream
        .get(&video)
        .map(|u| sim.world().name(u.parent).to_owned())
}

fn advance(sim: &mut Simulation<OttNode>, t: SimTime) {
    assert!(sim.advance_to(t), "{:?}", sim.violation());
}

/// The report's walk-through: the stream takes N4 -> N3 -> N1 -> S1; N3 dies and N4
/// switches to N2 once N3's floods have been missing for 3 s (simple death); N2 dies
/// and N4, with no parent left, sends NewNeighbour to N1 and gets the stream from N1
/// at N1's next flood (catastrophic death); N2 revives and nothing is rerouted.
#[test]
fn report_failure_walkthrough() {
    let (params, nodes, network) = figure3();
    let faults = [
        (secs(20), Fault::Crash("N3")),
        (secs(40), Fault::Crash("N2")),
        (secs(55), Fault::Restart("N2")),
    ];
    let mut sim = build(&params, &nodes, &network, 1, &faults);
    advance(&mut sim, secs(19));
    assert_eq!(parent(&sim, "N4", 1).as_deref(), Some("N3"));
    assert_eq!(parent(&sim, "N3", 1).as_deref(), Some("N1"));
    assert_eq!(parent(&sim, "N1", 1).as_deref(), Some("S1"));
    assert_eq!(
        parent(&sim, "N2", 1),
        None,
        "the slow branch carries nothing"
    );

    // Simple death: detected when the transport gives up on N4's flood to N3 (a few
    // retransmission timeouts after the crash), at the latest parent_timeout after
    // N3's last flood (19.0x s), at the next check.
    advance(&mut sim, ms(19_990));
    assert_eq!(
        parent(&sim, "N4", 1).as_deref(),
        Some("N3"),
        "N3 is still alive"
    );
    advance(&mut sim, ms(22_300));
    assert_eq!(parent(&sim, "N4", 1).as_deref(), Some("N2"));
    assert_eq!(parent(&sim, "N2", 1).as_deref(), Some("N1"));
    assert!(
        overlay(&sim, "N4")
            .unresponsive
            .contains(&sim.lookup("N3").unwrap())
    );

    // Catastrophic death.
    advance(&mut sim, ms(42_300));
    let n4 = overlay(&sim, "N4");
    assert_eq!(n4.upstream.get(&1), None);
    assert!(n4.pending.contains(&1), "the stream waits for a flood");
    let n1 = overlay(&sim, "N1");
    assert!(
        n1.neighbours.contains(&sim.lookup("N4").unwrap()),
        "N1 adopted N4"
    );
    advance(&mut sim, ms(43_200));
    assert_eq!(parent(&sim, "N4", 1).as_deref(), Some("N1"));
    assert!(overlay(&sim, "N4").pending.is_empty());

    // Revival: N2 is responsive again at N4, and the stream stays on N1.
    advance(&mut sim, secs(60));
    let n2 = sim.lookup("N2").unwrap();
    assert!(!overlay(&sim, "N4").unresponsive.contains(&n2));
    assert_eq!(parent(&sim, "N4", 1).as_deref(), Some("N1"));

    let out = sim.finish();
    assert_eq!(out.violation, None);
    let s = &client(&sim, "C1").sessions[0];
    let gaps: Vec<f64> = s
        .outages
        .iter()
        .map(|(a, b)| (*b - *a).as_secs_f64())
        .collect();
    println!("outages: {gaps:?}");
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    // Simple: the transport gives up on N4's flood to the dead N3 after its
    // retransmissions (about 0.5 s here), well before parent_timeout + check + a round
    // trip. Catastrophic (no other parent: the flood timeout decides): between
    // parent_timeout - flood_interval and one more flood interval.
    assert!((0.3..3.2).contains(&gaps[0]), "{gaps:?}");
    assert!((2.0..4.2).contains(&gaps[1]), "{gaps:?}");
    let mut m = Metrics::default();
    Ott::report(&params, &sim, &mut m);
    assert_eq!(m.value("tree_depth"), 3.0, "S1 -> N1 -> N4 -> C1");
    assert_eq!(m.value("duplicate_stream_links"), 0.0);
    assert_eq!(m.value("catastrophic_deaths"), 1.0);
    assert_eq!(m.value("parent_switches"), 1.0);
}

/// Runtime neighbour addition: N3 starts late; its first floods make it a parent
/// candidate at N4 without rerouting anything, and when N2 dies N4 switches to N3 (a
/// simple death, not a catastrophic one).
#[test]
fn late_node_joins_and_serves_after_a_death() {
    let (params, mut nodes, network) = figure3();
    nodes.iter_mut().find(|d| d.name == "N3").unwrap().start = None;
    let faults = [
        (secs(10), Fault::Join("N3")),
        (secs(20), Fault::Crash("N2")),
    ];
    let mut sim = build(&params, &nodes, &network, 8, &faults);
    advance(&mut sim, secs(9));
    assert_eq!(parent(&sim, "N4", 1).as_deref(), Some("N2"));
    advance(&mut sim, secs(15));
    let n3 = sim.lookup("N3").unwrap();
    assert!(
        overlay(&sim, "N4")
            .parents(sim.now(), &params.timing())
            .contains(&n3)
    );
    assert_eq!(
        parent(&sim, "N4", 1).as_deref(),
        Some("N2"),
        "nothing rerouted"
    );
    let out = sim.run_until(secs(26));
    assert_eq!(out.violation, None);
    assert_eq!(parent(&sim, "N4", 1).as_deref(), Some("N3"));
    assert_eq!(overlay(&sim, "N4").stats.catastrophic, 0);
}

/// A cut IP link heals through the overlay: with S1 -> N1 cut, N1 and everything
/// below it lose S1's floods; the nodes left without a parent ask their grandparents to
/// adopt them, S1 adopts a node other than N1 and the stream reaches C1 around the cut.
#[test]
fn cut_link_heals_by_adoption() {
    let (params, nodes, network) = figure3();
    let cut = Fault::CutLink {
        a: "S1",
        b: "N1",
        one_way: true,
    };
    let mut sim = build(&params, &nodes, &network, 9, &[(secs(10), cut)]);
    let out = sim.run_until(secs(20));
    assert_eq!(out.violation, None);
    let s1 = Server::of(sim.node(sim.lookup("S1").unwrap()).1).expect("a server");
    let n1 = sim.lookup("N1").unwrap();
    assert!(
        s1.neighbours.iter().any(|&n| n != n1),
        "S1 adopted a grandchild"
    );
    assert!(s1.subscribers[&1].iter().all(|&n| n != n1));
    let s = &client(&sim, "C1").sessions[0];
    assert_eq!(s.outages.len(), 1);
    let gap = (s.outages[0].1 - s.outages[0].0).as_secs_f64();
    assert!(gap < 4.2, "{gap}");
}

/// Without failures the client sees the whole stream after a startup of a few round
/// trips, and loses nothing on lossless links; the link carries the bit rate.
#[test]
fn steady_stream_has_no_loss_and_quick_startup() {
    let (params, nodes, network) = figure3();
    let mut sim = build(&params, &nodes, &network, 2, &[]);
    let out = sim.run_until(secs(12));
    assert_eq!(out.violation, None);
    let mut m = Metrics::default();
    Ott::report(&params, &sim, &mut m);
    assert_eq!(m.value("video_loss_ratio"), 0.0);
    assert_eq!(m.value("stall_ratio"), 0.0);
    let s = &client(&sim, "C1").sessions[0];
    let startup = (s.first_video.unwrap() - s.asked_at).as_millis_f64();
    // The client learns the PoP's list at its first ping (t = 0), so the request goes
    // out at once: C1 -> N4 -> N3 -> N1 -> S1, then the next datagram comes back down:
    // 4 + 4 hops of 2 ms plus at most one datagram interval (10.5 ms at 1 Mb/s).
    assert!((16.0..16.0 + 10.6).contains(&startup), "{startup} ms");
    // Received bit rate over a full second: the stream's.
    let t = params.timing();
    let bins_per_sec = SimTime::from_secs(1).0 / t.bitrate_bin.0;
    let second: u64 = (5 * bins_per_sec..6 * bins_per_sec)
        .map(|b| client(&sim, "C1").timeline.get(&b).copied().unwrap_or(0))
        .sum();
    let expected = 1e9 / t.datagram_interval.0 as f64 * (16.0 + 7.0 * 188.0);
    assert!(
        (second as f64 - expected).abs() <= 1332.0,
        "{second} vs {expected}"
    );
}

/// A parent that restarts within a second loses its subscriptions but is never
/// declared dead: the child's 500 ms watchdog asks again and the stream resumes well
/// before the parent timeout.
#[test]
fn watchdog_rerequests_after_a_quick_restart() {
    let (params, nodes, network) = figure3();
    let faults = [
        (secs(10), Fault::Crash("N3")),
        (ms(10_300), Fault::Restart("N3")),
    ];
    let mut sim = build(&params, &nodes, &network, 3, &faults);
    let out = sim.run_until(secs(16));
    assert_eq!(out.violation, None);
    assert_eq!(parent(&sim, "N4", 1).as_deref(), Some("N3"));
    assert!(overlay(&sim, "N4").stats.rerequests >= 1);
    let s = &client(&sim, "C1").sessions[0];
    assert_eq!(s.outages.len(), 1);
    let gap = (s.outages[0].1 - s.outages[0].0).as_secs_f64();
    // Back after N3 has restarted, bootstrapped and the next watchdog check fired:
    // at most 0.3 s down + video_timeout + check_interval + round trips.
    assert!(gap < 1.0, "{gap}");
}

/// A PoP drops a client whose pings stopped arriving after 3 ping intervals, and the
/// stop walks up the tree: nobody carries the stream any more. (The link from the
/// client is cut, so nothing else, such as an unacknowledged answer, gives it away.)
#[test]
fn pop_drops_a_silent_client_and_stops_upstream() {
    let (params, nodes, network) = figure3();
    let cut = Fault::CutLink {
        a: "C1",
        b: "N4",
        one_way: true,
    };
    let mut sim = build(&params, &nodes, &network, 4, &[(ms(9_500), cut)]);
    // The last ping arrived at 9.002 s: dropped at the first check after 12.002 s.
    advance(&mut sim, ms(11_990));
    assert_eq!(overlay(&sim, "N4").clients.len(), 1, "not yet: 3 pings");
    advance(&mut sim, ms(12_150));
    assert!(overlay(&sim, "N4").clients.is_empty());
    for n in ["N1", "N3", "N4"] {
        assert!(overlay(&sim, n).subscribers.is_empty(), "{n}");
        assert_eq!(parent(&sim, n, 1), None, "{n}");
    }
    let s1 = Server::of(sim.node(sim.lookup("S1").unwrap()).1).expect("a server");
    assert!(s1.subscribers.is_empty());
    assert_eq!(sim.finish().violation, None);
}

/// Two PoPs: the client's PoP dies and its stream moves to the other after 3 missed
/// pings; both die and the stream waits in the queue until one comes back.
#[test]
fn client_moves_streams_to_another_pop_or_queues_them() {
    let params = OttParams {
        neighbours: [
            ("S1", vec!["P1", "P2"]),
            ("P1", vec!["S1"]),
            ("P2", vec!["S1"]),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect(),
        videos: BTreeMap::from([("S1".to_string(), vec![7])]),
        watches: vec![WatchSpec {
            client: "C".into(),
            video: 7,
            // After the second ping round: at 1 s only P2 (further away, so it
            // answered after the flood reached it) lists the video.
            start: ms(1_500),
            stop: None,
        }],
        bitrate_bps: 500_000,
        ..OttParams::default()
    };
    let nodes = decls(&[
        ("bootstrapper", "bootstrapper"),
        ("S1", "server"),
        ("P1", "pop"),
        ("P2", "pop"),
        ("C", "client"),
    ]);
    // P1 is closer to the client: it is chosen first.
    let mut network = LinkTable {
        default: link(ms(2)),
        ..LinkTable::default()
    };
    network
        .overrides
        .insert(("C".into(), "P2".into()), link(ms(10)));
    network
        .overrides
        .insert(("P2".into(), "C".into()), link(ms(10)));
    let faults = [
        (secs(10), Fault::Crash("P1")),
        (secs(20), Fault::Crash("P2")),
        (secs(25), Fault::Restart("P1")),
    ];
    let mut sim = build(&params, &nodes, &network, 5, &faults);
    let (p1, p2) = (sim.lookup("P1").unwrap(), sim.lookup("P2").unwrap());
    advance(&mut sim, secs(9));
    assert_eq!(client(&sim, "C").streams[&7].pop, Some(p1));
    advance(&mut sim, ms(13_300));
    assert_eq!(client(&sim, "C").streams[&7].pop, Some(p2));
    advance(&mut sim, secs(24));
    assert_eq!(client(&sim, "C").streams[&7].pop, None, "queued");
    let out = sim.run_until(secs(30));
    assert_eq!(out.violation, None);
    let c = client(&sim, "C");
    assert_eq!(c.streams[&7].pop, Some(p1));
    assert_eq!(c.sessions[0].outages.len(), 2);
    assert!(c.moves >= 2);
}

/// A video added at runtime spreads with the floods; a client asking for it before it
/// exists waits in the queue and gets it within a flood and a ping of its addition.
#[test]
fn runtime_video_reaches_a_waiting_client() {
    let (mut params, nodes, network) = figure3();
    params.added_videos = vec![AddedVideo {
        at: secs(5),
        server: "S1".into(),
        video: 9,
    }];
    params.watches[0].video = 9;
    let mut sim = build(&params, &nodes, &network, 6, &[]);
    let out = sim.run_until(secs(10));
    assert_eq!(out.violation, None);
    let s = &client(&sim, "C1").sessions[0];
    let first = s.first_video.expect("video 9 arrived").as_secs_f64();
    let bound = 5.0 + params.flood_interval.as_secs_f64() + params.ping_interval.as_secs_f64();
    assert!((5.0..bound + 0.1).contains(&first), "{first}");
}

/// The invariants can fail: a second parent feeding a stream for longer than `settle`,
/// and parents pointing in a circle.
#[test]
fn invariants_catch_duplicates_and_loops() {
    let (params, nodes, network) = figure3();
    // Both corruptions are undone by the protocol within a round trip (the stray video
    // is stopped, the watchdog chooses again), so the checks are driven by hand: the
    // same corruption seen at 5 s and again 1.5 s later is a violation.
    let mut sim = build(&params, &nodes, &network, 7, &[]);
    advance(&mut sim, secs(5));
    let mut dups = invariants::all(&params).remove(0);
    let (n1, n4) = (sim.lookup("N1").unwrap(), sim.lookup("N4").unwrap());
    let feed_n4_too = |sim: &mut Simulation<OttNode>| {
        let o = Overlay::of_mut(sim.node_mut(n1)).expect("an overlay node");
        o.subscribers.entry(1).or_default().insert(n4);
    };
    feed_n4_too(&mut sim);
    assert_eq!(dups.check(&sim.world()), Ok(()));
    advance(&mut sim, ms(6_500));
    feed_n4_too(&mut sim);
    let e = dups.check(&sim.world()).unwrap_err();
    assert!(
        e.contains("N4 has received video 1") && e.contains("since 5.000 s"),
        "{e}"
    );

    let mut sim = build(&params, &nodes, &network, 7, &[]);
    advance(&mut sim, secs(5));
    let mut loops = invariants::all(&params).remove(1);
    let (n1, n3) = (sim.lookup("N1").unwrap(), sim.lookup("N3").unwrap());
    let corrupt = |sim: &mut Simulation<OttNode>| {
        for (node, parent) in [(n1, n3), (n3, n1)] {
            let o = Overlay::of_mut(sim.node_mut(node)).expect("an overlay node");
            o.upstream.insert(
                1,
                Upstream {
                    parent,
                    since: SimTime::ZERO,
                    last_video: None,
                    last_request: SimTime::ZERO,
                    chain: None,
                },
            );
        }
    };
    corrupt(&mut sim);
    assert_eq!(loops.check(&sim.world()), Ok(()));
    advance(&mut sim, ms(6_500));
    corrupt(&mut sim);
    let e = loops.check(&sim.world()).unwrap_err();
    assert!(e.contains("looped since 5.000 s"), "{e}");

    // A client starving while its PoP is reachable: C1's last frame set back to 1 s by
    // hand, seen at 10 s (the wait is then 9 s on C1's clock, but its PoP became
    // reachable only then) and again one bound later.
    let mut sim = build(&params, &nodes, &network, 7, &[]);
    advance(&mut sim, secs(10));
    let mut starve = invariants::all(&params).remove(2);
    let c1 = sim.lookup("C1").unwrap();
    let starve_c1 = |sim: &mut Simulation<OttNode>| {
        let c = Client::of_mut(sim.node_mut(c1)).expect("a client");
        let stream = c.streams.get_mut(&1).expect("C1 watches video 1");
        stream.last_video = Some(secs(1));
    };
    starve_c1(&mut sim);
    assert_eq!(starve.check(&sim.world()), Ok(()));
    let bound = params.delivery_bound();
    advance(&mut sim, secs(10) + bound);
    starve_c1(&mut sim);
    assert_eq!(starve.check(&sim.world()), Ok(()), "exactly the bound");
    advance(&mut sim, secs(10) + bound + params.check_interval);
    starve_c1(&mut sim);
    let e = starve.check(&sim.world()).unwrap_err();
    assert!(
        e.contains("C1 has waited for video 1 since 1.000 s") && e.contains("since 10.000 s"),
        "{e}"
    );
}

/// Same seed, same run: the fingerprints of two runs of the failure walk-through agree,
/// and another seed differs (the links lose packets at random).
#[test]
fn runs_are_deterministic() {
    let (params, nodes, mut network) = figure3();
    network.default.loss = 0.05;
    let faults = [(secs(8), Fault::Crash("N3"))];
    let run = |seed| {
        let mut sim = build(&params, &nodes, &network, seed, &faults);
        assert_eq!(sim.run_until(secs(15)).violation, None);
        sim.fingerprint()
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}

/// Bad parameters are refused with a message naming what is wrong.
#[test]
fn bad_params_are_named() {
    let (params, nodes, network) = figure3();
    let setup = Setup {
        seed: 0,
        nodes: &nodes,
        links: &[],
        network: &network,
        files: dsim_system::ScenarioFiles::none(),
    };
    let check = |p: OttParams, needle: &str| {
        let e = Ott::validate(&p, &setup).unwrap_err();
        assert!(e.contains(needle), "{e}");
    };
    let mut p = params.clone();
    p.neighbours.insert("N9".into(), vec![]);
    check(p, "\"N9\"");
    let mut p = params.clone();
    p.neighbours.remove("N2");
    check(p, "no entry for \"N2\"");
    check(
        OttParams {
            flood_interval: secs(3),
            ..params.clone()
        },
        "flood_interval",
    );
    check(
        OttParams {
            neighbours_toml: Some(String::new()),
            ..params.clone()
        },
        "not both",
    );
    let mut p = params.clone();
    p.watches[0].client = "N1".into();
    check(p, "params.watches[0]");
    let mut small = network.clone();
    small.default.mtu = Some(1500);
    let setup = Setup {
        network: &small,
        ..setup
    };
    assert_eq!(Ott::validate(&params, &setup), Ok(()), "1340 bytes fit");
    let e = Ott::validate(
        &OttParams {
            ts_per_datagram: 8,
            ..params.clone()
        },
        &setup,
    )
    .unwrap_err();
    assert!(e.contains("1528 bytes") && e.contains("MTU"), "{e}");
}

/// The topology of `scenarios/ott.ron` (two servers, four relays, two PoPs, four
/// clients), its table in the report's TOML format, at 250 kb/s.
fn two_servers() -> (OttParams, Vec<NodeDecl>, LinkTable) {
    let toml = r#"
        "S1" = [ "N1", "N2" ]
        "S2" = [ "N3" ]
        "N1" = [ "S1", "N2", "P1" ]
        "N2" = [ "S1", "N1", "N3", "P2" ]
        "N3" = [ "S2", "N2", "N4" ]
        "N4" = [ "N3", "P1", "P2" ]
        "P1" = [ "N1", "N4" ]
        "P2" = [ "N2", "N4" ]
    "#;
    let watch = |client: &str, video, start| WatchSpec {
        client: client.into(),
        video,
        start: secs(start),
        stop: None,
    };
    let params = OttParams {
        neighbours_toml: Some(toml.into()),
        videos: BTreeMap::from([("S1".into(), vec![1, 2]), ("S2".into(), vec![2, 3])]),
        watches: vec![
            watch("C1", 1, 1),
            watch("C2", 2, 2),
            watch("C3", 3, 3),
            watch("C4", 1, 4),
            watch("C4", 3, 5),
        ],
        bitrate_bps: 250_000,
        ..OttParams::default()
    };
    let nodes = decls(&[
        ("bootstrapper", "bootstrapper"),
        ("S1", "server"),
        ("S2", "server"),
        ("N1", "node"),
        ("N2", "node"),
        ("N3", "node"),
        ("N4", "node"),
        ("P1", "pop"),
        ("P2", "pop"),
        ("C1", "client"),
        ("C2", "client"),
        ("C3", "client"),
        ("C4", "client"),
    ]);
    let mut network = LinkTable {
        default: link(ms(3)),
        ..LinkTable::default()
    };
    network.default.latency = Latency::Normal {
        mean: ms(3),
        std_dev: SimTime::from_micros(500),
    };
    network.default.loss = 0.02;
    (params, nodes, network)
}

proptest! {
    // A fixed seed: with random ones, one run in a few drew seed 308 with failures
    // [(7, 15, 11), (2, 27, 9)], where C3 waits 17 s for video 3 (stream_within_bound);
    // that is issue 20's OTT finding, to be fixed with the protocol, not hidden here.
    #![proptest_config(ProptestConfig {
        rng_seed: proptest::test_runner::RngSeed::Fixed(1),
        ..ProptestConfig::with_cases(6)
    })]

    /// Random crashes and restarts of relays, PoPs and servers (each down 1 to 12 s),
    /// on lossy jittery links: no duplicate feed outlives `settle`, no loop forms, and every
    /// client gets every stream its PoPs can reach within the delivery bound.
    #[test]
    fn random_failures_keep_the_invariants(
        seed in 0u64..1000,
        failures in prop::collection::vec((0usize..8, 5u64..30, 1u64..12), 1..4),
    ) {
        let (params, nodes, network) = two_servers();
        let relays = ["N1", "N2", "N3", "N4", "P1", "P2", "S1", "S2"];
        let mut faults = Vec::new();
        for &(who, at, down) in &failures {
            faults.push((secs(at), Fault::Crash(relays[who])));
            faults.push((secs(at + down), Fault::Restart(relays[who])));
        }
        faults.sort_by_key(|(t, _)| *t);
        let mut sim = build(&params, &nodes, &network, seed, &faults);
        let out = sim.run_until(secs(50));
        prop_assert_eq!(out.violation, None, "{:?}", failures);
        let mut m = Metrics::default();
        Ott::report(&params, &sim, &mut m);
        prop_assert_eq!(m.value("sessions_never_started"), 0.0);
    }
}

/// The third criterion in the simulation: a PoP with two equivalent parents (same
/// latency and hops) asks for its second video from the parent it requests less from,
/// so the two streams take different branches.
#[test]
fn equivalent_parents_share_the_streams() {
    let table = [
        ("S1", vec!["A", "B"]),
        ("A", vec!["S1", "P"]),
        ("B", vec!["S1", "P"]),
        ("P", vec!["A", "B"]),
    ];
    let watch = |video, start| WatchSpec {
        client: "C".into(),
        video,
        start,
        stop: None,
    };
    let params = OttParams {
        neighbours: table
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect(),
        videos: BTreeMap::from([("S1".to_string(), vec![1, 2])]),
        watches: vec![watch(1, secs(3)), watch(2, secs(4))],
        bitrate_bps: 500_000,
        ..OttParams::default()
    };
    let nodes = decls(&[
        ("bootstrapper", "bootstrapper"),
        ("S1", "server"),
        ("A", "node"),
        ("B", "node"),
        ("P", "pop"),
        ("C", "client"),
    ]);
    let network = LinkTable {
        default: link(ms(2)),
        ..LinkTable::default()
    };
    let mut sim = build(&params, &nodes, &network, 12, &[]);
    assert_eq!(sim.run_until(secs(8)).violation, None);
    assert_eq!(parent(&sim, "P", 1).as_deref(), Some("A"), "tie: lowest id");
    assert_eq!(
        parent(&sim, "P", 2).as_deref(),
        Some("B"),
        "fewer requested"
    );
    let mut m = Metrics::default();
    Ott::report(&params, &sim, &mut m);
    assert_eq!(m.value("sessions_never_started"), 0.0);
    assert_eq!(m.value("video_loss_ratio"), 0.0);
}

// ----- roles alone, under a Recorder (no kernel) -----

/// The peers of a role driven alone: each sends its control packets through an endpoint
/// of its own, as it would in a run.
#[derive(Default)]
struct Peers(BTreeMap<NodeId, Endpoint>);

impl Peers {
    /// The segment `from`'s endpoint puts on the wire to send `msg` to `to` at `now`.
    fn control(&mut self, from: NodeId, to: NodeId, now: SimTime, msg: &Control) -> OttMsg {
        let endpoint = self
            .0
            .entry(from)
            .or_insert_with(|| Endpoint::new(TransportConfig::default()));
        endpoint.send_reliable(now, to, Payload::new(msg.encode()));
        loop {
            match endpoint.poll_output().expect("a segment to send") {
                Output::Send { segment, .. } => return OttMsg::Segment(segment),
                _ => continue,
            }
        }
    }
}

/// The control packets among `sent` (ACKs and video left out), decoded, with their
/// destinations, in the order sent.
fn controls(sent: &[(NodeId, OttMsg)]) -> Vec<(NodeId, Control)> {
    sent.iter()
        .filter_map(|(to, msg)| match msg {
            OttMsg::Segment(s) => match s.body() {
                crate::transport::SegmentBody::Datagram { payload, .. } => {
                    Some((*to, Control::decode(payload.as_bytes()).expect("decodes")))
                }
                _ => None,
            },
            OttMsg::Video(_) => None,
        })
        .collect()
}

/// The timers among `timers` that are not the endpoint's, in the order set.
fn role_timers(timers: &[(sim_core::TimerId, SimTime, OttTimer)]) -> Vec<(SimTime, OttTimer)> {
    timers
        .iter()
        .filter(|(_, _, t)| !matches!(t, OttTimer::Transport(_)))
        .map(|(_, after, t)| (*after, t.clone()))
        .collect()
}

fn host(params: &OttParams) -> Host {
    Host::new(params.transport.clone(), params.timing())
}

/// A client alone: it pings every PoP when it starts; a PoP's answer listing the video
/// makes it responsive; when the viewer presses play the client asks that PoP, not the
/// silent one; the video that comes back is counted and tallied as `video_bits`.
#[test]
fn a_client_alone_asks_the_pop_that_answered_when_it_starts_watching() {
    let params = OttParams::default();
    let timing = params.timing();
    let (p1, p2, me) = (NodeId(1), NodeId(2), NodeId(3));
    let watch = Watch {
        video: 7,
        start: secs(2),
        stop: None,
    };
    let mut c = Client::new(host(&params), me, vec![p1, p2], vec![watch]);
    let mut ctx = Recorder::new(&["boot", "P1", "P2", "C"], "C", 1);
    c.on_start(&mut ctx);
    let ping = |seq| Control::ClientPing {
        seq,
        requested: vec![],
    };
    assert_eq!(
        controls(&ctx.take_sent()),
        vec![(p1, ping(0)), (p2, ping(1))]
    );
    assert_eq!(
        role_timers(&ctx.timers),
        vec![
            (secs(2), OttTimer::WatchStart { index: 0 }),
            (timing.ping_interval, OttTimer::Ping),
            (timing.check_interval, OttTimer::Tick),
        ]
    );

    // P2 answers ping 1 after 10 ms; P1 stays silent.
    let mut peers = Peers::default();
    ctx.advance_to(ms(10));
    let list = Control::VideoList {
        seq: 1,
        videos: vec![7],
        created_at: ms(5),
    };
    c.on_message(&mut ctx, p2, peers.control(p2, me, ms(5), &list));
    assert!(c.views[&p2].responsive && !c.views.contains_key(&p1));
    assert_eq!(ctx.annotations, vec!["PoP n2 responsive".to_owned()]);
    assert_eq!(controls(&ctx.take_sent()), vec![], "only the ACK");

    ctx.advance_to(secs(2));
    c.on_timer(&mut ctx, OttTimer::WatchStart { index: 0 });
    assert_eq!(
        controls(&ctx.take_sent()),
        vec![(p2, Control::RequestVideo { video: 7 })]
    );
    assert_eq!(c.streams[&7].pop, Some(p2));

    ctx.advance_to(ms(2_020));
    let packet = VideoPacket {
        video: 7,
        seq: 3,
        ts_packets: timing.ts_per_datagram,
    };
    c.on_message(&mut ctx, p2, OttMsg::Video(packet.clone()));
    let bytes = u64::from(packet.payload_bytes());
    assert_eq!(c.video_bytes, bytes);
    assert_eq!(c.sessions[0].first_video, Some(ms(2_020)));
    assert_eq!(ctx.metrics.value("video_bits"), (bytes * 8) as f64);
}

/// An overlay node alone: it asks the bootstrapper for neighbours when it starts,
/// forwards the first copy of a flood round to its other neighbours (with itself in
/// `visited` and the sender as its parent) and not a later copy, takes a client's
/// request to the server the flood came from and answers its ping with the videos it
/// can get, forwards the parent's video to the client, and asks a non-parent sending
/// video to stop.
#[test]
fn an_overlay_node_alone_forwards_a_flood_round_once_and_feeds_a_client() {
    let params = OttParams::default();
    let timing = params.timing();
    let (boot, s, me, b, c) = (NodeId(0), NodeId(1), NodeId(2), NodeId(3), NodeId(4));
    let mut node = Overlay::new(host(&params), me, boot);
    let mut ctx = Recorder::new(&["boot", "S", "A", "B", "C"], "A", 1);
    let mut peers = Peers::default();
    node.on_start(&mut ctx);
    assert_eq!(controls(&ctx.take_sent()), vec![(boot, Control::Hello)]);
    assert_eq!(
        role_timers(&ctx.timers),
        vec![(timing.check_interval, OttTimer::Tick)]
    );

    ctx.advance_to(ms(2));
    let neighbours = Control::Neighbours {
        id: 2,
        neighbours: vec![s, b],
    };
    node.on_message(&mut ctx, boot, peers.control(boot, me, ms(1), &neighbours));
    ctx.take_sent();

    ctx.advance_to(ms(5));
    let flood = Flood {
        created_at: ms(3),
        videos: vec![7],
        visited: vec![s],
        my_parents: vec![],
        hops: 0,
    };
    node.on_message(
        &mut ctx,
        s,
        peers.control(s, me, ms(3), &Control::Flood(flood.clone())),
    );
    let forwarded = Flood {
        visited: vec![s, me],
        my_parents: vec![s],
        hops: 1,
        ..flood.clone()
    };
    assert_eq!(
        controls(&ctx.take_sent()),
        vec![(b, Control::Flood(forwarded))]
    );
    // The same round again, through B: a route learnt, nothing forwarded.
    let copy = Flood {
        visited: vec![s, b],
        hops: 1,
        ..flood
    };
    node.on_message(
        &mut ctx,
        b,
        peers.control(b, me, ms(4), &Control::Flood(copy)),
    );
    assert_eq!(controls(&ctx.take_sent()), vec![]);
    assert_eq!(node.stats.floods_forwarded, 1);

    ctx.advance_to(ms(10));
    let ping = Control::ClientPing {
        seq: 0,
        requested: vec![7],
    };
    node.on_message(&mut ctx, c, peers.control(c, me, ms(9), &ping));
    let list = Control::VideoList {
        seq: 0,
        videos: vec![7],
        created_at: ms(10),
    };
    assert_eq!(
        controls(&ctx.take_sent()),
        vec![(s, Control::RequestVideo { video: 7 }), (c, list)]
    );
    assert_eq!(node.upstream[&7].parent, s, "fewer hops than through B");

    ctx.advance_to(ms(20));
    let packet = VideoPacket {
        video: 7,
        seq: 0,
        ts_packets: timing.ts_per_datagram,
    };
    node.on_message(&mut ctx, s, OttMsg::Video(packet.clone()));
    let sent = ctx.take_sent();
    assert!(
        matches!(&sent[..], [(to, OttMsg::Video(p))] if *to == c && *p == packet),
        "{sent:?}"
    );
    assert_eq!(
        node.host.video_bytes_sent,
        u64::from(packet.payload_bytes()) + 8
    );
    node.on_message(&mut ctx, b, OttMsg::Video(packet));
    assert_eq!(
        controls(&ctx.take_sent()),
        vec![(b, Control::StopVideo { video: 7 })]
    );
}

/// Issue 20's OTT finding, drawn by `random_failures_keep_the_invariants` with a random
/// seed: S2 (the only other server of video 3) is down from 15 s to 26 s, N3 (S2's only
/// neighbour) from 27 s to 36 s; C3 then waited 17 s for video 3, reachable again since
/// 26 s, past the delivery bound.
#[test]
fn server_back_then_its_relay_dies_seed_308() {
    let (params, nodes, network) = two_servers();
    let relays = ["N1", "N2", "N3", "N4", "P1", "P2", "S1", "S2"];
    let mut faults = Vec::new();
    for &(who, at, down) in &[(7usize, 15u64, 11u64), (2, 27, 9)] {
        faults.push((secs(at), Fault::Crash(relays[who])));
        faults.push((secs(at + down), Fault::Restart(relays[who])));
    }
    faults.sort_by_key(|(t, _)| *t);
    let mut sim = build(&params, &nodes, &network, 308, &faults);
    let out = sim.run_until(secs(50));
    assert_eq!(out.violation, None);
    let mut m = Metrics::default();
    Ott::report(&params, &sim, &mut m);
    assert_eq!(m.value("sessions_never_started"), 0.0);
}
