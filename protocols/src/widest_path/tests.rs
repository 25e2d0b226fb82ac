//! Tests of the widest-path system: GHS against Kruskal, graph sources, and the system
//! against the widest-path oracle.

use super::ghs::{EdgeKey, Ghs, Objective};
use super::graph::PeerGraph;
use super::oracle::{kruskal, widest_path};
use proptest::prelude::*;
use rand::RngExt;
use sim_core::rng::component_rng;
use std::collections::{BTreeMap, VecDeque};

/// How the GHS test harness delivers messages.
#[derive(Clone, Copy, PartialEq)]
enum Delivery {
    /// Per directed link in send order; links interleave at random.
    Fifo,
    /// Any message in flight may go next.
    Any,
}

/// The outcome of running GHS to quiescence on a graph.
struct GhsRun {
    /// Tree edges, sorted (from every node's branches; both ends must agree).
    tree: Vec<EdgeKey>,
    /// Whether every node learnt the tree is final.
    all_finished: bool,
    /// Algorithm messages (without `Done`).
    messages: u64,
    /// Parent of each node once finished.
    parents: Vec<Option<u32>>,
    /// The first inconsistency a node detected.
    error: Option<&'static str>,
}

/// Run GHS on `graph` with every node in `wake` woken at the start, delivering
/// messages as `delivery` says, picks drawn from `seed`.
fn run_ghs(
    graph: &PeerGraph,
    objective: Objective,
    wake: &[u32],
    seed: u64,
    delivery: Delivery,
) -> GhsRun {
    let n = graph.peer_count();
    let mut nodes: Vec<Ghs> = (0..n as u32)
        .map(|p| Ghs::new(p, objective, &graph.neighbours(p)))
        .collect();
    let mut rng = component_rng(seed, "test");
    let mut links: BTreeMap<(u32, u32), VecDeque<super::ghs::GhsMsg>> = BTreeMap::new();
    let post = |from: u32, node: &mut Ghs, links: &mut BTreeMap<_, VecDeque<_>>| {
        for (to, msg) in node.take_outbox() {
            links.entry((from, to)).or_default().push_back(msg);
        }
    };
    for &p in wake {
        nodes[p as usize].wake();
        post(p, &mut nodes[p as usize], &mut links);
    }
    loop {
        let busy: Vec<(u32, u32)> = links
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(&k, _)| k)
            .collect();
        if busy.is_empty() {
            break;
        }
        let (from, to) = busy[rng.random_range(0..busy.len())];
        let queue = links.get_mut(&(from, to)).expect("busy");
        let msg = match delivery {
            Delivery::Fifo => queue.pop_front(),
            Delivery::Any => {
                let i = rng.random_range(0..queue.len());
                queue.remove(i)
            }
        }
        .expect("non-empty");
        nodes[to as usize].on_message(from, msg);
        post(to, &mut nodes[to as usize], &mut links);
    }
    let mut tree: Vec<EdgeKey> = nodes
        .iter()
        .flat_map(|g| g.branches().map(|(_, k)| k).collect::<Vec<_>>())
        .collect();
    tree.sort();
    // Each tree edge is seen from both ends; keep those both ends agree on.
    let agreed: Vec<EdgeKey> = tree
        .chunk_by(|a, b| a == b)
        .filter(|c| c.len() == 2)
        .map(|c| c[0])
        .collect();
    let all_agree = agreed.len() * 2 == tree.len();
    GhsRun {
        tree: if all_agree { agreed } else { tree },
        all_finished: nodes.iter().all(|g| g.is_finished()),
        messages: nodes.iter().map(|g| g.sent).sum(),
        parents: nodes.iter().map(|g| g.parent()).collect(),
        error: nodes.iter().find_map(|g| g.error),
    }
}

/// The paper's bound on GHS messages: 5 N log2 N + 2 E.
fn bound(graph: &PeerGraph) -> f64 {
    let n = graph.peer_count() as f64;
    5.0 * n * n.log2().max(0.0) + 2.0 * graph.links.len() as f64
}

/// Following parents from any node reaches the single root without a cycle, and every
/// parent link is a tree edge.
fn parents_form_the_tree(run: &GhsRun) -> bool {
    let n = run.parents.len();
    let roots = run.parents.iter().filter(|p| p.is_none()).count();
    let is_edge = |a: u32, b: u32| {
        run.tree
            .iter()
            .any(|k| k.lo == a.min(b) && k.hi == a.max(b))
    };
    roots == 1
        && (0..n as u32).all(|start| {
            let (mut at, mut steps) = (start, 0);
            while let Some(p) = run.parents[at as usize] {
                if !is_edge(at, p) || steps > n {
                    return false;
                }
                at = p;
                steps += 1;
            }
            true
        })
}

fn graph_strategy() -> impl Strategy<Value = (PeerGraph, Vec<u32>, u64)> {
    (1u32..14, 0.0f64..0.6, 1u64..4, any::<u64>()).prop_map(|(peers, density, span, seed)| {
        let mut rng = component_rng(seed, "test");
        // Weights in a tiny range: heavy ties, decided by the endpoint ids.
        let graph = PeerGraph::random(&mut rng, peers, density, 1, span);
        let wake: Vec<u32> = (0..peers).filter(|_| rng.random_bool(0.4)).collect();
        let wake = if wake.is_empty() { vec![0] } else { wake };
        (graph, wake, seed)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// On FIFO links GHS builds exactly Kruskal's tree (same tie key), for the minimum
    /// and the maximum objective, every node learns it is final and where the root is,
    /// and the algorithm's messages stay within 5 N log2 N + 2 E.
    #[test]
    fn ghs_equals_kruskal_within_the_message_bound((graph, wake, seed) in graph_strategy()) {
        for objective in [Objective::Min, Objective::Max] {
            let run = run_ghs(&graph, objective, &wake, seed, Delivery::Fifo);
            let expected = kruskal(graph.peer_count(), &graph.links, objective);
            prop_assert_eq!(&run.tree, &expected);
            prop_assert!(run.all_finished);
            prop_assert_eq!(run.error, None);
            prop_assert!(parents_form_the_tree(&run));
            prop_assert!(run.messages as f64 <= bound(&graph),
                "{} messages > bound {}", run.messages, bound(&graph));
        }
    }
}

/// The maximum tree differs from the minimum one and ties go to the larger ids: on a
/// triangle of equal weights the maximum tree drops the edge with the smallest key
/// (0-1) and the minimum tree drops the one with the largest (1-2).
#[test]
fn ties_are_broken_on_the_endpoint_ids() {
    let graph = PeerGraph::new(
        vec!["a".into(), "b".into(), "c".into()],
        [(0, 1, 5), (0, 2, 5), (1, 2, 5)],
    );
    let max = run_ghs(&graph, Objective::Max, &[0, 1, 2], 1, Delivery::Fifo);
    assert_eq!(max.tree, vec![EdgeKey::new(0, 2, 5), EdgeKey::new(1, 2, 5)]);
    let min = run_ghs(&graph, Objective::Min, &[0, 1, 2], 1, Delivery::Fifo);
    assert_eq!(min.tree, vec![EdgeKey::new(0, 1, 5), EdgeKey::new(0, 2, 5)]);
}

/// Without FIFO links GHS breaks: over many random graphs and delivery orders, some runs
/// end with a tree other than Kruskal's, with nodes that never learn the tree is final,
/// or with an inconsistency the core detects (a Report overtaking the Initiate it
/// answers), while the same graphs with FIFO delivery always succeed.
#[test]
fn ghs_breaks_without_fifo_links() {
    let (mut broken, mut detected) = (0, 0);
    for seed in 0..200u64 {
        let mut rng = component_rng(seed, "test");
        let graph = PeerGraph::random(&mut rng, 10, 0.4, 1, 3);
        let expected = kruskal(10, &graph.links, Objective::Max);
        let all: Vec<u32> = (0..10).collect();
        let fifo = run_ghs(&graph, Objective::Max, &all, seed, Delivery::Fifo);
        assert!(
            fifo.all_finished && fifo.tree == expected,
            "seed {seed}: FIFO run failed"
        );
        let run = run_ghs(&graph, Objective::Max, &all, seed, Delivery::Any);
        if run.error.is_some() {
            detected += 1;
        }
        if run.error.is_some() || !run.all_finished || run.tree != expected {
            broken += 1;
        }
    }
    // Most orders break it; some breakages are caught by the core itself.
    assert!(broken > 100, "reordering broke only {broken} of 200 runs");
    assert!(detected > 0, "the core never detected an inconsistency");
}

/// Kruskal and the widest-path oracle agree with the theory: on the maximum spanning
/// tree the path between two peers is a widest path.
#[test]
fn tree_paths_are_widest_paths() {
    let mut rng = component_rng(7, "test");
    for _ in 0..20 {
        let graph = PeerGraph::random(&mut rng, 12, 0.3, 1, 100);
        let tree: Vec<(u32, u32, u64)> = kruskal(12, &graph.links, Objective::Max)
            .into_iter()
            .map(|k| (k.lo, k.hi, k.weight))
            .collect();
        for a in 0..12 {
            for b in 0..12 {
                assert_eq!(
                    widest_path(12, &tree, a, b),
                    widest_path(12, &graph.links, a, b)
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// The system over the simulated network.

use super::{GraphSource, Joiner, Op, OpKind, PeerNode, TreeKind, WidestPath, WidestPathParams};
use dsim_system::{LinkTable, Setup, System};
use sim_core::{Fault, Invariant, LinkParams, Metrics, SimTime, Simulation, World};
use std::cell::Cell;
use std::rc::Rc;

/// FIFO links with some jitter (so that FIFO matters).
fn fifo_link() -> LinkParams {
    LinkParams {
        latency: sim_core::Latency::Constant(SimTime::from_millis(5)),
        jitter: SimTime::from_millis(4),
        fifo: true,
        ..LinkParams::default()
    }
}

/// Build and run; returns the simulation, the metrics (report included) and the
/// violation, if any.
fn run_system(
    params: &WidestPathParams,
    link: LinkParams,
    seed: u64,
    until: SimTime,
    faults: &[(SimTime, Fault<String>)],
) -> (Simulation<PeerNode>, Metrics, Option<String>) {
    run_checked(params, link, seed, until, faults, Vec::new())
}

/// [`run_system`] with extra invariants.
fn run_checked(
    params: &WidestPathParams,
    link: LinkParams,
    seed: u64,
    until: SimTime,
    faults: &[(SimTime, Fault<String>)],
    extra: Vec<Box<dyn Invariant<PeerNode>>>,
) -> (Simulation<PeerNode>, Metrics, Option<String>) {
    let setup = Setup {
        seed,
        nodes: &[],
        links: &[],
        network: &LinkTable {
            default: link.clone(),
            ..LinkTable::default()
        },
        files: &shipped_files(),
    };
    let mut sim = dsim_system::simulation::<WidestPath>(params, &setup).expect("valid");
    for inv in extra {
        sim.add_invariant(inv);
    }
    dsim_system::schedule_named(&mut sim, faults).expect("known nodes");
    let out = sim.run_until(until);
    let mut m = sim.metrics();
    WidestPath::report(params, &sim, &mut m);
    let violation = out
        .violation
        .map(|v| format!("{}: {} ({})", v.invariant, v.message, v.event));
    (sim, m, violation)
}

fn random_params(peers: u32) -> WidestPathParams {
    WidestPathParams {
        graph: GraphSource::Random {
            peers,
            density: 0.3,
            min_kbps: 1,
            max_kbps: 4,
        },
        ..WidestPathParams::default()
    }
}

/// Creating the network: one session, every peer computed, the capacity tree equal to
/// Kruskal's (the end-of-run invariant checks it), GHS messages within the bound.
#[test]
fn create_the_network() {
    for seed in 0..5 {
        let (_, m, violation) = run_system(
            &random_params(12),
            fifo_link(),
            seed,
            SimTime::from_secs(5),
            &[],
        );
        assert_eq!(violation, None, "seed {seed}");
        assert!(m.value("ghs_messages") > 0.0);
        assert!(
            m.value("ghs_messages") <= m.value("ghs_messages.bound"),
            "seed {seed}"
        );
        assert_eq!(m.value("sessions"), 1.0);
        assert_eq!(m.value("mst_edges"), 11.0);
    }
}

/// The small graph of the channel tests: the maximum tree is a-b (10), c-d (8), b-c (5);
/// a-c (3) is left out.
fn diamond() -> GraphSource {
    let l = |a: &str, b: &str, kbps| (a.to_owned(), b.to_owned(), kbps);
    GraphSource::Links(vec![
        l("a", "b", 10),
        l("b", "c", 5),
        l("a", "c", 3),
        l("c", "d", 8),
    ])
}

fn op(at_ms: u64, op: OpKind) -> Op {
    Op {
        at: SimTime::from_millis(at_ms),
        op,
    }
}

fn open(from: &str, to: &str, kbps: u64) -> OpKind {
    OpKind::Open {
        from: from.into(),
        to: to.into(),
        kbps,
    }
}

fn close(by: &str, other: &str) -> OpKind {
    OpKind::Close {
        by: by.into(),
        other: other.into(),
    }
}

fn send(from: &str, to: &str, bytes: u32) -> OpKind {
    OpKind::Send {
        from: from.into(),
        to: to.into(),
        bytes,
    }
}

fn peer<'a>(sim: &'a Simulation<PeerNode>, name: &str) -> &'a super::Peer {
    &sim.node(sim.lookup(name).expect("peer")).1.0
}

fn diamond_params(ops: Vec<Op>) -> WidestPathParams {
    WidestPathParams {
        graph: diamond(),
        ops,
        ..WidestPathParams::default()
    }
}

/// Opening and closing a channel: the request follows the tree path a-b-c-d with width
/// 5; a second channel between the same peers is refused; data goes both ways intact;
/// closing from the far end releases every reservation.
#[test]
fn open_send_and_close_a_channel() {
    let params = diamond_params(vec![
        op(1000, open("a", "d", 4)),
        op(1500, open("d", "a", 1)),
        op(2000, send("a", "d", 1000)),
        op(2000, send("d", "a", 500)),
        op(3000, close("d", "a")),
        op(4000, send("a", "d", 10)),
    ]);
    let (sim, m, violation) = run_system(&params, fifo_link(), 1, SimTime::from_secs(3), &[]);
    assert_eq!(violation, None);
    let a = peer(&sim, "a");
    assert_eq!(a.channels.grants.len(), 1);
    let g = &a.channels.grants[0];
    assert_eq!((g.width, g.path.clone()), (5, vec![0, 1, 2, 3]));
    assert_eq!(m.value("data_received"), 2.0);
    assert_eq!(m.value("data_corrupted"), 0.0);
    assert_eq!(m.value("requests_duplicate"), 1.0);
    assert_eq!(peer(&sim, "b").channels.reserved_on(2), 4);
    let (sim, m, violation) = run_system(&params, fifo_link(), 1, SimTime::from_secs(5), &[]);
    assert_eq!(violation, None);
    for name in ["a", "b", "c", "d"] {
        assert!(
            peer(&sim, name).channels.is_empty(),
            "{name} keeps a channel"
        );
    }
    assert_eq!(m.value("data_no_connection"), 1.0);
    assert_eq!(m.value("requests_ok"), 1.0);
}

/// Residual routing, queueing and rejection: after a-d takes 4 of b-c, b-c goes over
/// a-c (the residual tree changed); b-d then finds no band now (width 1) but could be
/// served later (widest path 5 >= 4), so it waits and is granted once a-d closes; a
/// request above the widest path of the whole graph (6 > 5) is rejected at once.
#[test]
fn request_unavailable_bandwidth() {
    let params = diamond_params(vec![
        op(1000, open("a", "d", 4)),
        op(2000, open("b", "c", 3)),
        op(3000, open("b", "d", 4)),
        op(3000, open("c", "a", 6)),
        op(5000, close("a", "d")),
    ]);
    let (sim, m, violation) = run_system(&params, fifo_link(), 1, SimTime::from_secs(8), &[]);
    assert_eq!(violation, None);
    let b = peer(&sim, "b");
    let paths: Vec<Vec<u32>> = b.channels.grants.iter().map(|g| g.path.clone()).collect();
    assert_eq!(paths, vec![vec![1, 0, 2], vec![1, 2, 3]]);
    assert_eq!(m.value("requests_ok"), 3.0);
    assert_eq!(m.value("requests_queued"), 1.0);
    assert_eq!(peer(&sim, "c").channels.rejected, vec![(0, 6, Some(5))]);
    assert_eq!(m.value("requests_rejected"), 1.0);
}

/// Adding a peer: it announces its links, a new session starts, and at the end every
/// peer is in that session with the tree Kruskal finds on the grown graph (checked by
/// the end-of-run invariant).
#[test]
fn add_a_peer() {
    let params = WidestPathParams {
        joiners: vec![Joiner {
            name: "e".into(),
            links: vec![("d".into(), 7), ("a".into(), 2)],
        }],
        ..diamond_params(vec![])
    };
    let faults = [(SimTime::from_secs(2), Fault::Join("e".to_owned()))];
    let (sim, m, violation) = run_system(&params, fifo_link(), 1, SimTime::from_secs(5), &faults);
    assert_eq!(violation, None);
    assert!(m.value("sessions") >= 2.0);
    assert_eq!(m.value("mst_edges"), 4.0);
    // e hangs off d (7 beats a-e's 2) in the capacity tree.
    let e = peer(&sim, "e");
    assert_eq!(
        e.sessions
            .route(TreeKind::Capacity)
            .expect("computed")
            .parent,
        Some(3)
    );
}

/// Removing a peer (an abrupt leave): its neighbours drop it on its goodbye, a new
/// session builds the tree of the peers left.
#[test]
fn remove_a_peer() {
    let params = diamond_params(vec![]);
    let faults = [(SimTime::from_secs(2), Fault::Leave("b".to_owned()))];
    let (sim, m, violation) = run_system(&params, fifo_link(), 1, SimTime::from_secs(5), &faults);
    assert_eq!(violation, None);
    assert!(m.value("sessions") >= 2.0);
    // a-c (3) and c-d (8) are left.
    let a = peer(&sim, "a");
    assert_eq!(
        a.sessions
            .route(TreeKind::Capacity)
            .expect("computed")
            .parent,
        Some(2)
    );
    assert_eq!(m.value("mst_weight"), 11.0);
}

/// A graceful leave waits for the channels through the peer: b, on the path of a-d,
/// asks to leave at 2 s but stays until a closes the channel at 4 s.
#[test]
fn leave_waits_for_channels_through_the_peer() {
    let params = diamond_params(vec![
        op(1000, open("a", "d", 4)),
        op(2000, OpKind::Leave("b".into())),
        op(4000, close("a", "d")),
    ]);
    let (sim, _, violation) = run_system(&params, fifo_link(), 1, SimTime::from_secs(3), &[]);
    assert_eq!(violation, None);
    assert_eq!(peer(&sim, "b").life, super::Life::Leaving);
    let (sim, m, violation) = run_system(&params, fifo_link(), 1, SimTime::from_secs(7), &[]);
    assert_eq!(violation, None);
    assert_eq!(peer(&sim, "b").life, super::Life::Gone);
    assert_eq!(m.value("peers_left"), 1.0);
    assert_eq!(m.value("mst_weight"), 11.0);
}

/// Removing (crashing) a peer during a communication: a and c stop hearing b, tear
/// the channel down, a new session builds the tree without b, and a re-establishes the
/// channel over a-c-d (width 3).
#[test]
fn crash_during_a_communication_reestablishes_the_channel() {
    let params = diamond_params(vec![
        op(1000, open("a", "d", 3)),
        op(9000, send("a", "d", 100)),
    ]);
    let faults = [(SimTime::from_secs(2), Fault::Crash("b".to_owned()))];
    let (sim, m, violation) = run_system(&params, fifo_link(), 1, SimTime::from_secs(10), &faults);
    assert_eq!(violation, None);
    let a = peer(&sim, "a");
    let paths: Vec<Vec<u32>> = a.channels.grants.iter().map(|g| g.path.clone()).collect();
    assert_eq!(paths, vec![vec![0, 1, 2, 3], vec![0, 2, 3]]);
    assert_eq!(m.value("channels_reestablished"), 1.0);
    assert_eq!(m.value("data_received"), 1.0);
    assert_eq!(m.value("mst_weight"), 11.0);
}

/// Adding and removing peers while the tree is being computed: a peer joins 3 ms and
/// another leaves 6 ms into the first session; the sessions they start supersede it and
/// all peers still end in one session with Kruskal's tree.
#[test]
fn add_and_remove_peers_while_the_tree_is_computed() {
    let params = WidestPathParams {
        joiners: vec![Joiner {
            name: "late".into(),
            links: vec![("p3".into(), 4), ("p7".into(), 2)],
        }],
        ..random_params(12)
    };
    for seed in 0..4 {
        let faults = [
            (SimTime::from_millis(3), Fault::Join("late".to_owned())),
            (SimTime::from_millis(6), Fault::Leave("p5".to_owned())),
        ];
        let (sim, m, violation) =
            run_system(&params, fifo_link(), seed, SimTime::from_secs(6), &faults);
        assert_eq!(violation, None, "seed {seed}");
        assert!(m.value("sessions") >= 2.0);
        assert!(peer(&sim, "late").sessions.computed());
    }
}

/// Without FIFO links the system fails: with reordering links some runs end with peers
/// that never finish the trees, a tree other than Kruskal's, or a GHS inconsistency,
/// and the end-of-run invariant reports it; the same runs on FIFO links pass.
#[test]
fn the_system_needs_fifo_links() {
    let reordering = LinkParams {
        latency: sim_core::Latency::Constant(SimTime::from_millis(5)),
        reorder: 0.5,
        reorder_delay: SimTime::from_millis(30),
        ..LinkParams::default()
    };
    let mut failed = 0;
    for seed in 0..10 {
        let (_, _, fifo) = run_system(
            &random_params(12),
            fifo_link(),
            seed,
            SimTime::from_secs(5),
            &[],
        );
        assert_eq!(fifo, None, "seed {seed}");
        let (_, _, reordered) = run_system(
            &random_params(12),
            reordering.clone(),
            seed,
            SimTime::from_secs(5),
            &[],
        );
        if let Some(v) = reordered {
            assert!(v.starts_with("one_session_one_tree"), "{v}");
            failed += 1;
        }
    }
    assert!(failed >= 3, "only {failed} of 10 reordered runs failed");
}

/// Over the reliable channel, links that reorder, lose 20% and duplicate 20% of the
/// messages pass: every peer finishes the same session with Kruskal's tree, and no link
/// is dropped. The channel retransmits and suppresses copies to get there.
#[test]
fn the_reliable_channel_gives_ghs_what_it_needs() {
    let bad = LinkParams {
        latency: sim_core::Latency::Constant(SimTime::from_millis(5)),
        loss: 0.2,
        duplicate: 0.2,
        reorder: 0.5,
        reorder_delay: SimTime::from_millis(30),
        ..LinkParams::default()
    };
    let params = WidestPathParams {
        channel: Channel::Reliable {
            retransmit: SimTime::from_millis(100),
        },
        ..random_params(12)
    };
    for seed in 0..10 {
        let (_, m, violation) = run_system(&params, bad.clone(), seed, SimTime::from_secs(8), &[]);
        assert_eq!(violation, None, "seed {seed}");
        assert!(m.value("link_retransmissions") > 0.0, "seed {seed}");
        assert!(m.value("link_duplicates") > 0.0, "seed {seed}");
        assert_eq!(m.value("neighbours_dropped"), 0.0, "seed {seed}");
    }
}

/// The reliable channel delivers in send order, once, whatever order and how many
/// copies the segments arrive in; acknowledges cumulatively; retransmits what is
/// unacknowledged after the timeout; a restarted sender starts a new stream, and the
/// receiver drops what is left of the old one.
#[test]
fn the_reliable_channel_delivers_in_order_once() {
    let channel = Channel::Reliable {
        retransmit: SimTime::from_millis(100),
    };
    let (mut a, mut b) = (Link::new(channel), Link::new(channel));
    let mut ca = Recorder::<WpMsg, WpTimer>::new(&["a", "b"], "a", 1);
    let mut cb = Recorder::<WpMsg, WpTimer>::new(&["a", "b"], "b", 1);
    let echo = |counter| WpMsg::Echo {
        session: SessionId {
            counter,
            starter: 0,
        },
    };
    for i in 0..3 {
        a.send(&mut ca, NodeId(1), echo(i));
    }
    assert_eq!(ca.timers.len(), 1, "one retransmission timer per neighbour");
    let segments: Vec<WpMsg> = ca.sent.drain(..).map(|(_, m)| m).collect();
    let arrive = |b: &mut Link, cb: &mut Recorder<WpMsg, WpTimer>, seg: &WpMsg| {
        let WpMsg::Seg {
            inc,
            seq,
            base,
            msg,
        } = seg.clone()
        else {
            panic!("not a segment: {seg:?}")
        };
        b.on_segment(cb, NodeId(0), inc, seq, base, *msg)
    };
    let mut got = Vec::new();
    for i in [2, 0, 0, 2, 1] {
        got.extend(arrive(&mut b, &mut cb, &segments[i]));
    }
    assert_eq!(got, vec![echo(0), echo(1), echo(2)]);
    assert_eq!(cb.metrics.value("link_duplicates"), 2.0);
    let acks: Vec<u64> = cb
        .sent
        .iter()
        .map(|(_, m)| match m {
            WpMsg::Ack { upto, .. } => *upto,
            m => panic!("not an ack: {m:?}"),
        })
        .collect();
    assert_eq!(acks, vec![0, 1, 1, 1, 3]);
    // Only the first is acknowledged: 100 ms later the other two go again.
    a.on_ack(NodeId(1), 0, 1);
    ca.now = SimTime::from_millis(100);
    a.on_retransmit(&mut ca, 1, true);
    let again: Vec<u64> = ca
        .sent
        .drain(..)
        .map(|(_, m)| match m {
            WpMsg::Seg { seq, base, .. } => {
                assert_eq!(base, 1);
                seq
            }
            m => panic!("not a segment: {m:?}"),
        })
        .collect();
    assert_eq!(again, vec![1, 2]);
    // A restarted sender numbers from 0 again in a new incarnation; the receiver takes
    // it as a new stream, and drops a late copy from the old one.
    a.crash();
    a.send(&mut ca, NodeId(1), echo(7));
    let fresh = ca.sent.pop().expect("sent").1;
    assert_eq!(arrive(&mut b, &mut cb, &fresh), vec![echo(7)]);
    assert_eq!(arrive(&mut b, &mut cb, &segments[2]), vec![]);
    assert_eq!(cb.metrics.value("link_stale"), 1.0);
}

/// The same scenario twice gives the same fingerprint.
#[test]
fn runs_are_deterministic() {
    let params = WidestPathParams {
        ops: vec![
            op(1000, open("p0", "p5", 2)),
            op(2000, send("p0", "p5", 64)),
        ],
        ..random_params(10)
    };
    let faults = [(SimTime::from_secs(3), Fault::Crash("p2".to_owned()))];
    let a = run_system(&params, fifo_link(), 9, SimTime::from_secs(8), &faults);
    let b = run_system(&params, fifo_link(), 9, SimTime::from_secs(8), &faults);
    assert_eq!(a.0.fingerprint(), b.0.fingerprint());
    let c = run_system(&params, fifo_link(), 10, SimTime::from_secs(8), &faults);
    assert_ne!(a.0.fingerprint(), c.0.fingerprint());
}

/// Checks every grant and rejection against the centralized oracle when it happens:
/// a granted width equals the widest path on the residual capacities just before the
/// grant's reservation; a rejected request asks more than the widest path of the whole
/// graph.
struct Oracle {
    grants_seen: BTreeMap<u32, usize>,
    rejections_seen: BTreeMap<u32, usize>,
    checked: Rc<Cell<(u32, u32)>>,
}

impl Invariant<PeerNode> for Oracle {
    fn name(&self) -> &str {
        "oracle"
    }
    fn check(&mut self, world: &World<'_, PeerNode>) -> Result<(), String> {
        let n = world.nodes().count();
        let mut residual: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        let mut capacity = Vec::new();
        for (_, node) in world.live_nodes() {
            let p = &node.0;
            if p.life == super::Life::Gone {
                continue;
            }
            for (&q, &cap) in &p.links {
                if p.me < q {
                    residual.insert((p.me, q), cap - p.channels.reserved_on(q));
                    capacity.push((p.me, q, cap));
                }
            }
        }
        for (_, node) in world.live_nodes() {
            let p = &node.0;
            let seen = self.grants_seen.entry(p.me).or_default();
            for g in &p.channels.grants[*seen..] {
                let mut before = residual.clone();
                for hop in g.path.windows(2) {
                    let key = (hop[0].min(hop[1]), hop[0].max(hop[1]));
                    *before.get_mut(&key).ok_or("a grant over a missing link")? += g.kbps;
                }
                let links: Vec<(u32, u32, u64)> =
                    before.iter().map(|(&(a, b), &w)| (a, b, w)).collect();
                let widest = widest_path(n, &links, g.chan.from, g.chan.to);
                if widest != Some(g.width) {
                    return Err(format!(
                        "grant {g:?}: the widest residual path is {widest:?}"
                    ));
                }
                let (grants, rejections) = self.checked.get();
                self.checked.set((grants + 1, rejections));
            }
            *seen = p.channels.grants.len();
            let seen = self.rejections_seen.entry(p.me).or_default();
            for &(to, kbps, _) in &p.channels.rejected[*seen..] {
                let widest = widest_path(n, &capacity, p.me, to);
                if widest.is_some_and(|w| w >= kbps) {
                    return Err(format!(
                        "{} rejected {kbps} kbps to {to}, but the widest path is {widest:?}",
                        p.me
                    ));
                }
                let (grants, rejections) = self.checked.get();
                self.checked.set((grants, rejections + 1));
            }
            *seen = p.channels.rejected.len();
        }
        Ok(())
    }
}

/// Random requests and closes on random graphs, spaced so each session ends before the
/// next request: every grant's width is the widest residual path (so the residual tree
/// is a maximum spanning tree of the residual graph), every rejection is really
/// unsatisfiable, and no reservation ever exceeds a capacity (system invariant).
#[test]
fn grants_and_rejections_match_the_oracle() {
    let mut totals = (0, 0);
    for seed in 0..6u64 {
        let mut rng = component_rng(seed, "ops");
        let peers = 9;
        let mut ops = Vec::new();
        for k in 0..14u64 {
            let a = rng.random_range(0..peers);
            let b = (a + rng.random_range(1..peers)) % peers;
            let at = 1000 + 1500 * k;
            ops.push(op(
                at,
                open(&format!("p{a}"), &format!("p{b}"), rng.random_range(1..=12)),
            ));
            if rng.random_bool(0.4) {
                ops.push(op(at + 750, close(&format!("p{a}"), &format!("p{b}"))));
            }
        }
        let params = WidestPathParams {
            graph: GraphSource::Random {
                peers,
                density: 0.35,
                min_kbps: 2,
                max_kbps: 10,
            },
            ops,
            ..WidestPathParams::default()
        };
        let checked = Rc::new(Cell::new((0, 0)));
        let oracle = Oracle {
            grants_seen: BTreeMap::new(),
            rejections_seen: BTreeMap::new(),
            checked: checked.clone(),
        };
        let (_, m, violation) = run_checked(
            &params,
            fifo_link(),
            seed,
            SimTime::from_secs(30),
            &[],
            vec![Box::new(oracle)],
        );
        assert_eq!(violation, None, "seed {seed}");
        let (grants, rejections) = checked.get();
        assert_eq!(f64::from(grants), m.value("requests_ok"));
        assert_eq!(f64::from(rejections), m.value("requests_rejected"));
        totals.0 += grants;
        totals.1 += rejections;
    }
    // The mix exercised both outcomes.
    assert!(totals.0 >= 30 && totals.1 >= 10, "{totals:?}");
}

/// The GML rules: parallel edges merge with their bandwidths added, self-loops go,
/// `LinkSpeedRaw` (bit/s) becomes kbit/s, labels name the peers.
#[test]
fn gml_parallel_edges_merge_and_self_loops_go() {
    let text = r#"graph [
      multigraph 1
      node [ id 0 label "A" ]
      node [ id 7 label "B" ]
      node [ id 3 label "C" ]
      edge [ source 0 target 7 LinkSpeedRaw 1000000.0 ]
      edge [ source 7 target 0 LinkSpeedRaw 2000000.0 ]
      edge [ source 7 target 3 LinkSpeedRaw 155000000.0 ]
      edge [ source 3 target 3 LinkSpeedRaw 1000000.0 ]
    ]"#;
    let g = PeerGraph::from_gml(text, None).expect("valid");
    assert_eq!(g.names, vec!["A", "B", "C"]);
    assert_eq!(g.links, vec![(0, 1, 3000), (1, 2, 155_000)]);
}

/// Bad GML is refused with the line and what is wrong.
#[test]
fn bad_gml_gives_clear_errors() {
    let cases = [
        (
            "graph [\n node [ id 0 ]\n node [ id 1 ]\n edge [ source 0 target 1 ]\n]",
            None,
            "GML line 4: edge node0 - node1 has no LinkSpeedRaw; give a default bandwidth (default_kbps) for such edges",
        ),
        (
            "graph [\n node [ id 0 ]\n node [ id 1 ]\n node [ id 2 ]\n edge [ source 0 target 1 ]\n]",
            Some(5),
            "GML: the graph is disconnected: 1 node(s) cannot reach \"node0\", e.g. node2",
        ),
        (
            "graph [\n node [ id 0 ]\n edge [ source 0 target 9 ]\n]",
            Some(5),
            "GML line 3: edge target 9 is not a node id",
        ),
        (
            "graph [\n node [ id 0 \n",
            Some(5),
            "GML line 2: `node [` is never closed with `]`",
        ),
        (
            "graph [\n label \"x\n]",
            Some(5),
            "GML line 2: unterminated string",
        ),
        (
            "graph [\n node [ id 0 ]\n node [ id 0 ]\n]",
            None,
            "GML line 3: node id 0 is used twice",
        ),
        (
            "graph [\n 12 [ ]\n]",
            None,
            "GML line 2: expected a key, found Number(12.0)",
        ),
        ("node [ id 0 ]", None, "GML: no `graph [ ... ]` block"),
    ];
    for (text, default, expected) in cases {
        assert_eq!(PeerGraph::from_gml(text, default), Err(expected.to_owned()));
    }
}

/// The shipped Topology Zoo graphs: GHS over the simulated network builds Kruskal's
/// tree (end-of-run invariant) within the message bound. Abilene has no link speeds
/// and runs with a default of 10 Gbit/s.
#[test]
fn shipped_topologies_give_kruskals_tree_within_the_bound() {
    for (file, _) in super::topologies::SHIPPED {
        let params = WidestPathParams {
            graph: GraphSource::Gml {
                file: (*file).to_owned(),
                default_kbps: Some(10_000_000),
            },
            ..WidestPathParams::default()
        };
        let (_, m, violation) = run_system(&params, fifo_link(), 1, SimTime::from_secs(5), &[]);
        assert_eq!(violation, None, "{file}");
        assert!(
            m.value("ghs_messages") <= m.value("ghs_messages.bound"),
            "{file}"
        );
    }
}

/// The shipped graphs as the loader hands them to a scenario that names them.
fn shipped_files() -> dsim_system::ScenarioFiles {
    let mut files = dsim_system::ScenarioFiles::default();
    for (path, text) in super::topologies::SHIPPED {
        files.insert(path, (*text).to_owned());
    }
    files
}

/// Parameter errors name the parameter.
#[test]
fn bad_params_are_refused() {
    let setup = Setup {
        seed: 1,
        nodes: &[],
        links: &[],
        network: &LinkTable::default(),
        files: &shipped_files(),
    };
    let check = |params: WidestPathParams| WidestPath::validate(&params, &setup).unwrap_err();
    assert_eq!(
        check(WidestPathParams {
            graph: GraphSource::Gml {
                file: "topologies/Nowhere.gml".into(),
                default_kbps: None
            },
            ..WidestPathParams::default()
        }),
        "params.graph: \"topologies/Nowhere.gml\" was not read with the scenario (System::files did not name it)"
    );
    assert!(
        check(WidestPathParams {
            graph: GraphSource::Gml {
                file: "topologies/Abilene.gml".into(),
                default_kbps: None
            },
            ..WidestPathParams::default()
        })
        .starts_with("params.graph: topologies/Abilene.gml: GML line ")
    );
    assert_eq!(
        check(diamond_params(vec![op(1, open("a", "zz", 1))])),
        "params.ops[0] names unknown peer \"zz\""
    );
    assert_eq!(
        check(WidestPathParams {
            dead_after: SimTime::from_millis(500),
            ..diamond_params(vec![])
        }),
        "params.dead_after must be longer than params.heartbeat"
    );
}

/// A crashed peer that restarts announces itself again: its neighbours drop what they
/// had through its earlier incarnation, a new session takes it back into the tree, and
/// a channel broken by the crash, re-established around it meanwhile, stays up.
#[test]
fn a_restarted_peer_rejoins_the_tree() {
    let params = diamond_params(vec![
        op(1000, open("a", "d", 3)),
        op(12_000, send("d", "a", 64)),
    ]);
    let faults = [
        (SimTime::from_secs(2), Fault::Crash("b".to_owned())),
        (SimTime::from_secs(8), Fault::Restart("b".to_owned())),
    ];
    let (sim, m, violation) = run_system(&params, fifo_link(), 2, SimTime::from_secs(13), &faults);
    assert_eq!(violation, None);
    assert_eq!(m.value("mst_weight"), 23.0);
    assert!(peer(&sim, "b").sessions.computed());
    assert_eq!(m.value("channels_reestablished"), 1.0);
    assert_eq!(m.value("data_received"), 1.0);
}

/// A crash that cuts the graph (c is d's only neighbour) leaves two parts, each with its
/// own session and tree: a-b in one, d alone in the other. A request from a to d then
/// finds no route (`noproc`).
#[test]
fn a_crash_that_cuts_the_graph_leaves_one_tree_per_part() {
    let params = diamond_params(vec![op(8000, open("a", "d", 1))]);
    let faults = [(SimTime::from_secs(2), Fault::Crash("c".to_owned()))];
    let (sim, m, violation) = run_system(&params, fifo_link(), 1, SimTime::from_secs(10), &faults);
    assert_eq!(violation, None);
    assert_eq!(m.value("mst_weight"), 10.0);
    assert_ne!(
        peer(&sim, "a").sessions.current,
        peer(&sim, "d").sessions.current
    );
    assert!(peer(&sim, "d").sessions.computed());
    assert_eq!(m.value("requests_noproc"), 1.0);
}

/// A neighbour is dropped only if nothing at all came from it in the wave: with bare
/// datagrams and a's messages to b lost for the first second, b drops a (and a drops b
/// once b's heartbeats stop), but no one drops a child whose subtree is merely slow, so
/// only the link a-b is lost and the tree is a-c, b-c, c-d. Both peers are alive, so
/// `no_link_lost` reports it. Over the reliable channel a's messages go again once the
/// partition heals, and nothing is dropped.
#[test]
fn only_silent_neighbours_are_dropped_from_the_wave() {
    let faults = [
        (
            SimTime::ZERO,
            Fault::PartitionOneWay {
                from: vec!["a".to_owned()],
                to: vec!["b".to_owned()],
            },
        ),
        (SimTime::from_secs(1), Fault::Heal),
    ];
    let ten = SimTime::from_secs(10);
    let (sim, m, violation) = run_system(&diamond_params(vec![]), fifo_link(), 1, ten, &faults);
    let violation = violation.expect("a live link is lost");
    assert!(violation.starts_with("no_link_lost"), "{violation}");
    assert_eq!(m.value("neighbours_dropped"), 1.0);
    assert!(!peer(&sim, "a").links.contains_key(&1));
    assert!(!peer(&sim, "b").links.contains_key(&0));
    assert_eq!(m.value("mst_weight"), 16.0);
    let reliable = WidestPathParams {
        channel: Channel::Reliable {
            retransmit: SimTime::from_millis(100),
        },
        ..diamond_params(vec![])
    };
    let (_, m, violation) = run_system(&reliable, fifo_link(), 1, ten, &faults);
    assert_eq!(violation, None);
    assert_eq!(m.value("neighbours_dropped"), 0.0);
}

/// A partition longer than `dead_after` makes both sides drop the links across it. By
/// the report's rule they stay dropped (`no_link_lost`); with `reconnect` the peers probe
/// their dropped neighbours, and once the partition heals the links come back and one
/// session builds Kruskal's tree over the whole graph.
#[test]
fn reconnect_brings_back_the_links_a_partition_dropped() {
    let faults = [
        (
            SimTime::from_secs(1),
            Fault::Partition(vec![
                vec!["a".to_owned()],
                vec!["b".to_owned(), "c".to_owned(), "d".to_owned()],
            ]),
        ),
        (SimTime::from_secs(7), Fault::Heal),
    ];
    let reliable = |reconnect| WidestPathParams {
        channel: Channel::Reliable {
            retransmit: SimTime::from_millis(100),
        },
        reconnect,
        ..diamond_params(vec![])
    };
    let until = SimTime::from_secs(15);
    let (_, _, violation) = run_system(&reliable(false), fifo_link(), 1, until, &faults);
    let violation = violation.expect("the links stay dropped");
    assert!(violation.starts_with("no_link_lost"), "{violation}");
    let (sim, _, violation) = run_system(&reliable(true), fifo_link(), 1, until, &faults);
    assert_eq!(violation, None);
    assert_eq!(peer(&sim, "a").links.len(), peer(&sim, "a").config.len());
}

/// The shipped files read as documented: parallel circuits merged (BELNET 44 edges to 41
/// links, EEnet 16 to 13), every peer named, Abilene refused without a default speed.
#[test]
fn shipped_topologies_read_as_documented() {
    let read =
        |file, default| PeerGraph::from_gml(shipped_files().get(file).expect("shipped"), default);
    let belnet = read("topologies/Belnet2006.gml", None).expect("valid");
    assert_eq!((belnet.peer_count(), belnet.links.len()), (23, 41));
    let eenet = read("topologies/Eenet.gml", None).expect("valid");
    assert_eq!((eenet.peer_count(), eenet.links.len()), (13, 13));
    assert!(eenet.names.contains(&"Tallinn".to_owned()));
    let abilene = read("topologies/Abilene.gml", Some(10_000_000)).expect("valid");
    assert_eq!((abilene.peer_count(), abilene.links.len()), (11, 14));
    let err = read("topologies/Abilene.gml", None).unwrap_err();
    assert!(err.contains("has no LinkSpeedRaw"), "{err}");
}

/// Churn: random requests, data and closes among 20 peers while peers crash, restart
/// and leave (abruptly and gracefully). No reservation ever exceeds a capacity, and at
/// the end every part of the network agrees on one session and Kruskal's tree.
#[test]
fn churn_keeps_reservations_and_trees_consistent() {
    let mut granted = 0.0;
    for seed in 0..4u64 {
        let mut rng = component_rng(seed, "churn");
        let name = |i: u32| format!("p{i}");
        let mut ops = Vec::new();
        for k in 0..30u64 {
            let a = rng.random_range(0..20);
            let b = (a + rng.random_range(1..20)) % 20;
            let at = 500 + 700 * k;
            let kind = match rng.random_range(0..4) {
                0 | 1 => open(&name(a), &name(b), rng.random_range(500..6000)),
                2 => close(&name(a), &name(b)),
                _ => send(&name(a), &name(b), 300),
            };
            ops.push(op(at, kind));
        }
        ops.push(op(16_000, OpKind::Leave(name(15))));
        let params = WidestPathParams {
            graph: GraphSource::Random {
                peers: 20,
                density: 0.2,
                min_kbps: 1000,
                max_kbps: 8000,
            },
            ops,
            ..WidestPathParams::default()
        };
        let s = |secs| SimTime::from_secs(secs);
        let faults = [
            (s(5), Fault::Crash(name(3))),
            (s(9), Fault::Restart(name(3))),
            (s(12), Fault::Crash(name(8))),
            (s(14), Fault::Leave(name(10))),
            (s(15), Fault::Crash(name(12))),
            (s(17), Fault::Restart(name(12))),
        ];
        let (_, m, violation) = run_system(&params, fifo_link(), seed, s(45), &faults);
        assert_eq!(violation, None, "seed {seed}");
        assert_eq!(m.value("data_corrupted"), 0.0);
        granted += m.value("requests_ok");
    }
    assert!(granted >= 20.0, "{granted}");
}

// ---------------------------------------------------------------------------------
// Peers under a `Recorder`: handlers checked without a kernel.

use super::channel::{ChanId, Outcome, Request};
use super::link::{Channel, Link};
use super::session::{SessionId, Sessions};
use super::{Life, Peer, PeerOp, Timing, WpMsg, WpTimer};
use sim_core::{Node, NodeId, Recorder};

/// Peer `me` with links `config`, no session yet, and user actions `ops`.
fn lone_peer(me: u32, config: Vec<(u32, u64)>, starts: bool, ops: Vec<(SimTime, PeerOp)>) -> Peer {
    Peer {
        me,
        config,
        starts_first_session: starts,
        joins: false,
        timing: Timing {
            heartbeat: SimTime::from_secs(1),
            dead_after: SimTime::from_secs(3),
            echo_timeout: SimTime::from_secs(2),
            hop_timeout: SimTime::from_millis(500),
            channel: Channel::Bare,
            reconnect: false,
        },
        ops,
        links: BTreeMap::new(),
        last_heard: BTreeMap::new(),
        sessions: Sessions::new(Objective::Max),
        channels: super::channel::Channels::default(),
        life: Life::Active,
        hello_waiting: Vec::new(),
    }
}

/// The peer that starts the first session sets its heartbeat and user-action timers,
/// then opens session 1: it wakes every neighbour with its residual on their link (the
/// link's capacity: nothing is reserved yet), in neighbour order, counts them as
/// session messages, and waits `echo_timeout` for the echoes.
#[test]
fn a_starting_peer_wakes_every_neighbour_with_its_residual() {
    let ops = vec![(SimTime::from_secs(4), PeerOp::StartMst)];
    let mut node = PeerNode::new(lone_peer(1, vec![(2, 5), (0, 10)], true, ops));
    let mut ctx = Recorder::new(&["a", "b", "c"], "b", 1);
    node.on_start(&mut ctx);
    let session = SessionId {
        counter: 1,
        starter: 1,
    };
    let wake = |residual| WpMsg::Wake { session, residual };
    assert_eq!(ctx.sent, vec![(NodeId(0), wake(10)), (NodeId(2), wake(5))]);
    let timers: Vec<(SimTime, WpTimer)> = ctx
        .timers
        .iter()
        .map(|(_, after, t)| (*after, t.clone()))
        .collect();
    assert_eq!(
        timers,
        vec![
            (SimTime::from_secs(1), WpTimer::Heartbeat),
            (SimTime::from_secs(4), WpTimer::Op { index: 0 }),
            (SimTime::from_secs(2), WpTimer::EchoTimeout { session }),
        ]
    );
    assert_eq!(ctx.annotations, vec!["starts session 1".to_owned()]);
    assert_eq!(ctx.metrics.value("sessions"), 1.0);
    assert_eq!(ctx.metrics.value("session_messages"), 2.0);
    assert!(ctx.cancelled.is_empty());
}

/// Peers under recorders, with messages delivered in send order (so every link is
/// FIFO); timers fire only when a test fires them.
struct RecordedPeers {
    nodes: Vec<PeerNode>,
    ctxs: Vec<Recorder<WpMsg, WpTimer>>,
    in_flight: VecDeque<(u32, NodeId, WpMsg)>,
}

impl RecordedPeers {
    fn new(names: &[&str], peers: Vec<Peer>) -> RecordedPeers {
        let ctxs = names.iter().map(|n| Recorder::new(names, n, 1)).collect();
        let nodes = peers.into_iter().map(PeerNode::new).collect();
        RecordedPeers {
            nodes,
            ctxs,
            in_flight: VecDeque::new(),
        }
    }

    /// Run `f` on peer `i` and its context, then put what it sent in flight.
    fn act(&mut self, i: u32, f: impl FnOnce(&mut PeerNode, &mut Recorder<WpMsg, WpTimer>)) {
        let ctx = &mut self.ctxs[i as usize];
        f(&mut self.nodes[i as usize], ctx);
        for (to, msg) in ctx.take_sent() {
            self.in_flight.push_back((i, to, msg));
        }
    }

    /// Deliver messages until none is in flight.
    fn settle(&mut self) {
        while let Some((from, to, msg)) = self.in_flight.pop_front() {
            self.act(to.0, |node, ctx| node.on_message(ctx, NodeId(from), msg));
        }
    }

    fn peer(&self, i: u32) -> &Peer {
        &self.nodes[i as usize].0
    }

    /// The hop timeouts peer `i` set for `chan`.
    fn hop_timeouts(&self, i: u32, chan: ChanId) -> Vec<sim_core::TimerId> {
        self.ctxs[i as usize]
            .timers
            .iter()
            .filter(|(_, _, t)| *t == WpTimer::HopTimeout { chan })
            .map(|(id, _, _)| *id)
            .collect()
    }
}

/// A channel request on the line a -10- b -5- c, handler by handler: a sends the
/// request to b and sets a hop timeout; b acknowledges at once (which cancels a's
/// timeout), reserves, forwards to c with a timeout of its own; c grants it with the
/// path's width, and the reply travels back. No hop timeout is left pending.
#[test]
fn a_hop_acknowledges_a_request_and_the_ack_cancels_the_hop_timeout() {
    let open_at = SimTime::from_secs(1);
    let ops = vec![(open_at, PeerOp::Open { to: 2, kbps: 4 })];
    let mut net = RecordedPeers::new(
        &["a", "b", "c"],
        vec![
            lone_peer(0, vec![(1, 10)], true, ops),
            lone_peer(1, vec![(0, 10), (2, 5)], false, vec![]),
            lone_peer(2, vec![(1, 5)], false, vec![]),
        ],
    );
    for i in 0..3 {
        net.act(i, |node, ctx| node.on_start(ctx));
    }
    net.settle();
    for i in 0..3 {
        assert!(net.peer(i).sessions.computed(), "peer {i}");
    }
    let session = net.peer(0).sessions.current;
    for ctx in &mut net.ctxs {
        ctx.advance_to(open_at);
    }

    let chan = ChanId {
        from: 0,
        to: 2,
        n: 0,
    };
    net.act(0, |node, ctx| node.on_timer(ctx, WpTimer::Op { index: 0 }));
    let request = Request {
        session,
        chan,
        kbps: 4,
        path: vec![0],
        width: 10,
    };
    assert_eq!(
        net.in_flight,
        VecDeque::from([(0, NodeId(1), WpMsg::Request(request))])
    );
    let a_timeout = net.hop_timeouts(0, chan);
    assert_eq!(a_timeout.len(), 1);
    assert!(net.ctxs[0].is_pending(a_timeout[0]));

    // b: the ack first, then the request onwards over b-c.
    let (from, to, msg) = net.in_flight.pop_front().expect("the request");
    net.act(to.0, |node, ctx| node.on_message(ctx, NodeId(from), msg));
    let sent: Vec<(u32, NodeId, WpMsg)> = net.in_flight.iter().cloned().collect();
    assert_eq!(sent[0], (1, NodeId(0), WpMsg::RequestAck { chan }));
    assert!(matches!(
        &sent[1],
        (1, NodeId(2), WpMsg::Request(r)) if r.path == vec![0, 1] && r.width == 5
    ));
    assert_eq!(net.peer(1).channels.reserved_on(0), 4);
    assert_eq!(net.peer(1).channels.reserved_on(2), 4);
    let b_timeout = net.hop_timeouts(1, chan);
    assert_eq!(b_timeout.len(), 1);

    // The ack reaches a: its hop timeout is cancelled.
    let (from, to, msg) = net.in_flight.pop_front().expect("the ack");
    net.act(to.0, |node, ctx| node.on_message(ctx, NodeId(from), msg));
    assert_eq!(net.ctxs[0].cancelled, a_timeout);

    net.settle();
    let grants = &net.peer(0).channels.grants;
    assert_eq!(grants.len(), 1);
    assert_eq!(
        (grants[0].width, grants[0].path.clone()),
        (5, vec![0, 1, 2])
    );
    assert!(!net.ctxs[1].is_pending(b_timeout[0]));
    assert_eq!(net.ctxs[0].metrics.value("requests_ok"), 1.0);
    assert!(net.ctxs[0].annotations.contains(&format!(
        "request to 2 (4 kbps): {:?}",
        Outcome::Ok { width: 5 }
    )));
}

/// Peers time silences on their monotonic clock: a wall-clock step of 5 s on b, either
/// way, once the tree is built, drops no neighbour, where on the wall clock a step
/// forward made b take all its neighbours for dead at its next heartbeat.
#[test]
fn a_clock_step_drops_no_neighbour() {
    let params = diamond_params(vec![op(6000, open("a", "d", 1))]);
    let b = || "b".to_owned();
    for by in [-5_000_000_000, 5_000_000_000] {
        let faults = [(
            SimTime::from_secs(3),
            Fault::ClockJump {
                node: b(),
                by: sim_core::ClockOffset(by),
            },
        )];
        let (_, m, violation) =
            run_system(&params, fifo_link(), 1, SimTime::from_secs(10), &faults);
        assert_eq!(violation, None, "step of {by} ns");
        assert_eq!(m.value("neighbours_dropped"), 0.0, "step of {by} ns");
        assert_eq!(m.value("requests_ok"), 1.0, "step of {by} ns");
    }
}
