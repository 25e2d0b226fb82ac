//! Properties of node lifecycles, timers and clocks: crashes, pauses, cancellation,
//! the monotonic true clock, drifting local clocks, and the accounting of every message.

mod common;

use common::*;
use proptest::prelude::*;
use sim_core::{
    Ctx, Fault, LinkParams, Node, NodeId, RecordKind, ScheduledFault, SimConfig, SimTime,
    Simulation, TimerId, TraceRecord,
};
use std::collections::{BTreeMap, BTreeSet};

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

/// A random gossip setup whose fault plan is drawn from `faults(names)`.
fn arb_setup_with(
    faults: fn(Vec<String>) -> BoxedStrategy<Fault<String>>,
    max_faults: usize,
) -> impl Strategy<Value = Setup> {
    (2usize..=5).prop_flat_map(move |n| {
        (
            any::<u64>(),
            arb_link_params(),
            arb_plan(faults(names(n)), 250, max_faults),
            0u64..=700,
        )
            .prop_map(move |(seed, link, plan, cancel)| Setup {
                link,
                plan,
                node: GossipConfig {
                    cancel_per_mille: cancel,
                    ..GossipConfig::default()
                },
                ..Setup::new(seed, n)
            })
    })
}

fn crash_or_topology(names: Vec<String>) -> BoxedStrategy<Fault<String>> {
    prop_oneof![
        2 => arb_crash_restart(names.clone()),
        1 => arb_topology_fault(names),
    ]
    .boxed()
}

/// Every kind of fault, node faults (crash, restart, pause, resume) most often, so that
/// crashes of paused nodes with messages waiting are common.
fn node_heavy(names: Vec<String>) -> BoxedStrategy<Fault<String>> {
    prop_oneof![
        4 => arb_node_fault(names.clone()),
        1 => arb_net_fault(names.clone()),
        1 => arb_clock_fault(names),
    ]
    .boxed()
}

/// Kept records of `kind` by `node`.
fn by_node(records: &[TraceRecord], kind: RecordKind, node: u32) -> Vec<&TraceRecord> {
    of_kind(records, kind).filter(|r| r.node == node).collect()
}

/// Drop records of `reason` at receiver `node`.
fn drops(records: &[TraceRecord], node: u32, reason: &str) -> usize {
    by_node(records, RecordKind::Drop, node)
        .iter()
        .filter(|r| r.label == reason)
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Nothing reaches a crashed node: no handler of a node runs while the fault plan
    /// has it crashed (faults at time t act before anything else at t); every message
    /// that arrives while its receiver is down is dropped as `node_down`, exactly those,
    /// and `net.dropped.node_down` counts them; and no timer set before a crash fires
    /// after it (checked by the node through its epoch and by the trace). Crash
    /// recovery protocols are only tested if the crash is real.
    #[test]
    fn nothing_reaches_a_crashed_node(setup in arb_setup_with(crash_or_topology, 14)) {
        let sim = setup.run();
        assert_no_violations(&sim);
        let records = sim.trace_records();
        let mut total_down = 0;
        for (i, name) in names(setup.nodes).iter().enumerate() {
            let life = life_of(&setup.plan, name);
            let (_, node) = sim.node(NodeId(i as u32));
            for e in &node.log {
                prop_assert!(
                    e.what == What::Start || may_run_at(&life, e.t),
                    "{} handled {:?} at {} while {:?}", name, e.what, e.t, life_at(&life, e.t)
                );
            }
            let restarts = life.windows(2)
                .filter(|w| w[0].1 == Life::Crashed && w[1].1 == Life::Up)
                .count();
            prop_assert_eq!(node.epoch as usize, restarts);
            let expected_down = of_kind(records, RecordKind::Send)
                .filter(|r| r.peer == Some(i as u32) && r.value != u64::MAX)
                .filter(|r| life_at(&life, SimTime(r.value)) == Life::Crashed)
                .count();
            let actual_down = drops(records, i as u32, "node_down");
            prop_assert_eq!(actual_down, expected_down, "node_down drops at {}", name);
            total_down += actual_down;
            // Timers pending across an effective crash never fire.
            let crashes: Vec<SimTime> = life.iter()
                .filter(|(_, l)| *l == Life::Crashed)
                .map(|(t, _)| *t)
                .collect();
            let fired: BTreeSet<u64> = by_node(records, RecordKind::TimerFire, i as u32)
                .iter()
                .map(|r| parse_tick(&r.detail))
                .collect();
            for set in by_node(records, RecordKind::TimerSet, i as u32) {
                let spans_crash = crashes.iter().any(|c| c.0 > set.time_ns && c.0 <= set.value);
                prop_assert!(
                    !(spans_crash && fired.contains(&parse_tick(&set.detail))),
                    "{}: timer {} set at {} fired after a crash", name, set.detail, set.time_ns
                );
            }
        }
        prop_assert_eq!(sim.metrics().value("net.dropped.node_down"), total_down as f64);
    }

    /// True time never goes backwards: every node sees `ctx.sim_time()` non-decreasing
    /// across its handler calls, kept trace records are in non-decreasing `time_ns`,
    /// and nothing is scheduled in the past (deliveries and timer firings are at or
    /// after the decision that scheduled them) — under every kind of fault, including
    /// clock jumps back, which move local clocks only.
    #[test]
    fn true_time_never_goes_backwards(setup in arb_setup_with(arb_fault, 16)) {
        let sim = setup.run();
        for (id, _, node) in sim.world().nodes() {
            for w in node.log.windows(2) {
                prop_assert!(w[0].t <= w[1].t, "{}: {:?} then {:?}", id, w[0], w[1]);
            }
        }
        let records = sim.trace_records();
        for w in records.windows(2) {
            prop_assert!(w[0].time_ns <= w[1].time_ns, "trace goes back: {} then {}", w[0], w[1]);
        }
        for r in records {
            if matches!(r.kind, RecordKind::Send | RecordKind::TimerSet | RecordKind::Duplicate)
                && r.value != u64::MAX
            {
                prop_assert!(r.value >= r.time_ns, "scheduled in the past: {}", r);
            }
        }
        prop_assert!(sim.now().0 >= records.last().map_or(0, |r| r.time_ns));
    }

    /// A cancelled timer never fires: each node remembers the timers it cancelled
    /// successfully and flags any of them reaching `on_timer` (and flags a cancel of a
    /// timer it believes pending that returns false); independently, the trace never
    /// shows a fire of a cancelled timer, and every cancel record matches a cancel the
    /// node saw succeed. Protocols cancel retransmission and election timers all the
    /// time; a stray fire is a phantom timeout.
    #[test]
    fn cancelled_timers_never_fire(setup in arb_setup_with(arb_fault, 12)) {
        let setup = Setup {
            node: GossipConfig { cancel_per_mille: 600, ..setup.node.clone() },
            ..setup
        };
        let sim = setup.run();
        assert_no_violations(&sim);
        let records = sim.trace_records();
        for (id, _, node) in sim.world().nodes() {
            let cancelled: BTreeSet<u64> = by_node(records, RecordKind::TimerCancel, id.0)
                .iter()
                .map(|r| parse_tick(&r.detail))
                .collect();
            prop_assert_eq!(&cancelled, &node.cancelled, "{}", id);
            for fire in by_node(records, RecordKind::TimerFire, id.0) {
                prop_assert!(!cancelled.contains(&parse_tick(&fire.detail)), "{}: {}", id, fire);
            }
        }
    }

    /// Every message handed to the network ends exactly once, as a delivery or a drop
    /// with a reason, under every kind of fault (the plan ends by healing, resuming and
    /// restarting everything, and the run goes on until no event is left). Also the
    /// `net.*` counters agree with the records. Otherwise message loss in a protocol
    /// could be an accounting artifact of the simulator.
    #[test]
    fn every_message_is_delivered_or_dropped(setup in arb_setup_with(node_heavy, 20)) {
        let setup = Setup {
            plan: with_cleanup(setup.plan.clone(), &names(setup.nodes), ms(300)),
            ..setup
        };
        let sim = setup.run();
        let r = sim.trace_records();
        let count = |kind| of_kind(r, kind).count() as f64;
        let sends_dropped_at_once = of_kind(r, RecordKind::Send).filter(|s| s.value == u64::MAX).count() as f64;
        let scheduled = count(RecordKind::Send) - sends_dropped_at_once;
        let dropped_later = count(RecordKind::Drop) - sends_dropped_at_once;
        prop_assert_eq!(scheduled, count(RecordKind::Deliver) + dropped_later,
            "scheduled deliveries {} != delivered {} + dropped on arrival {}",
            scheduled, count(RecordKind::Deliver), dropped_later);
        let m = sim.metrics();
        prop_assert_eq!(m.value("net.messages_delivered"), count(RecordKind::Deliver));
        prop_assert_eq!(m.value("net.messages_duplicated"), count(RecordKind::Duplicate));
        prop_assert_eq!(m.value("net.messages_sent"), count(RecordKind::Send) - count(RecordKind::Duplicate));
        let mut by_reason: BTreeMap<&str, f64> = BTreeMap::new();
        for d in of_kind(r, RecordKind::Drop) {
            *by_reason.entry(d.label.as_str()).or_default() += 1.0;
        }
        for (reason, n) in by_reason {
            prop_assert_eq!(m.value(&format!("net.dropped.{reason}")), n, "{}", reason);
        }
        prop_assert_eq!(m.value("gossip.received"), count(RecordKind::Deliver));
    }
}

/// Pause/resume plans at whole milliseconds over nodes whose timers and links are in
/// whole milliseconds too, so that arrivals often coincide with a resume.
fn arb_pause_setup() -> impl Strategy<Value = Setup> {
    (2usize..=4).prop_flat_map(|n| {
        (
            any::<u64>(),
            prop_oneof![
                (0u64..=5).prop_map(|l| LinkParams {
                    latency: sim_core::Latency::Constant(ms(l)),
                    fifo: true,
                    ..LinkParams::default()
                }),
                arb_link_params(),
            ],
            arb_plan_at(arb_pause_resume(names(n)), 200, 12, 1_000),
        )
            .prop_map(move |(seed, link, plan)| {
                let plan = with_cleanup(plan, &names(n), ms(250));
                Setup {
                    link,
                    plan,
                    node: GossipConfig {
                        step_ns: 1_000_000,
                        period_ns: (1_000_000, 10_000_000),
                        ..GossipConfig::default()
                    },
                    ..Setup::new(seed, n)
                }
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A paused node handles nothing while paused, and after it resumes it handles
    /// every message that waited, in arrival order (delivery time, then schedule
    /// order), before anything that arrives later: its handling order is exactly the
    /// arrival order, none lost. Its timers are not lost either: every timer set is
    /// fired or cancelled. A pause (GC, SIGSTOP) delays a process; it must not reorder
    /// or lose its input.
    #[test]
    fn paused_nodes_handle_what_waited_in_arrival_order(setup in arb_pause_setup()) {
        let sim = setup.run();
        assert_no_violations(&sim);
        let records = sim.trace_records();
        for (i, name) in names(setup.nodes).iter().enumerate() {
            let id = NodeId(i as u32);
            let life = life_of(&setup.plan, name);
            let (_, node) = sim.node(id);
            for e in &node.log {
                prop_assert!(
                    e.what == What::Start || may_run_at(&life, e.t),
                    "{} handled {:?} at {} while {:?}", name, e.what, e.t, life_at(&life, e.t)
                );
            }
            let handled: Vec<(u32, u64)> = node.received().map(|(_, m)| (m.src, m.seq)).collect();
            prop_assert_eq!(handled, arrivals_to(records, id), "{} handling order", name);
            let set = by_node(records, RecordKind::TimerSet, id.0).len();
            let fired = by_node(records, RecordKind::TimerFire, id.0).len();
            let cancelled = by_node(records, RecordKind::TimerCancel, id.0).len();
            prop_assert_eq!(set, fired + cancelled, "{} lost timers", name);
        }
    }
}

/// Two nodes: `n0` sends one message to `n1` every `period` (from `period` on, `ticks`
/// times), `n1` only listens.
fn sender_and_sink(seed: u64, link: LinkParams, period: SimTime, ticks: u32) -> Simulation<Gossip> {
    let mut sim = Simulation::new(SimConfig {
        seed,
        default_link: link,
        keep_trace: true,
    });
    let sender = GossipConfig {
        peers: vec![NodeId(1)],
        initial_timers: 1,
        ticks,
        fanout: 1,
        period_ns: (period.0, period.0),
        cancel_per_mille: 0,
        reply_per_mille: 0,
        ..GossipConfig::default()
    };
    sim.add_node("n0", Gossip::new(sender));
    sim.add_node("n1", Gossip::new(GossipConfig::silent()));
    sim
}

fn at(t: SimTime, fault: Fault) -> ScheduledFault {
    ScheduledFault { at: t, fault }
}

/// A message arriving at the very instant its receiver resumes must be handled after
/// the messages that waited during the pause: they arrived earlier. On a FIFO link
/// anything else is a FIFO violation. (Here `n0` sends every 1 ms over a 1 ms FIFO
/// link; `n1` is paused from 2.5 ms to 10 ms, when message 8 arrives.)
#[test]
fn resume_handles_the_backlog_before_simultaneous_arrivals() {
    let link = LinkParams {
        fifo: true,
        ..LinkParams::default()
    };
    let mut sim = sender_and_sink(1, link, ms(1), 15);
    sim.schedule_fault(at(SimTime::from_micros(2_500), Fault::Pause(NodeId(1))));
    sim.schedule_fault(at(ms(10), Fault::Resume(NodeId(1))));
    sim.run_until(SimTime::MAX);
    let (_, sink) = sim.node(NodeId(1));
    let got: Vec<(u64, SimTime)> = sink.received().map(|(t, m)| (m.seq, t)).collect();
    let seqs: Vec<u64> = got.iter().map(|g| g.0).collect();
    assert_eq!(seqs, (0..15).collect::<Vec<_>>(), "handled {got:?}");
    // The backlog (messages 1..=7) and message 8 are handled at the resume.
    assert!(got[1..=8].iter().all(|g| g.1 == ms(10)), "{got:?}");
}

/// Sets two timers at start (ids 0 and 1, due at 5 and 6 ms); when timer 0 fires
/// it cancels timer 1.
#[derive(Default)]
struct Canceller {
    handles: Vec<TimerId>,
    cancelled: Option<bool>,
    fired: Vec<(u64, SimTime)>,
}

impl Node for Canceller {
    type Msg = Msg;
    type Timer = Tick;
    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        for (id, due) in [(0, 5), (1, 6)] {
            self.handles
                .push(ctx.set_timer(ms(due), Tick { id, epoch: 0 }));
        }
    }
    fn on_message(&mut self, _: &mut impl Ctx<Self>, _: NodeId, _: Msg) {}
    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, tick: Tick) {
        self.fired.push((tick.id, ctx.sim_time()));
        if tick.id == 0 {
            self.cancelled = Some(ctx.cancel_timer(self.handles[1]));
        }
    }
}

/// A timer that expired while its node was paused has not reached the node yet, so it
/// is still pending: cancelling it (here from the handler of another timer that
/// waited with it) succeeds and it never fires. Otherwise a node that cancels, say,
/// its election timeout on a heartbeat it finds after a pause gets a phantom timeout.
#[test]
fn a_timer_that_expired_during_a_pause_can_still_be_cancelled() {
    let mut sim = Simulation::new(SimConfig::default());
    let n = sim.add_node("n0", Canceller::default());
    sim.schedule_fault(at(ms(1), Fault::Pause(n)));
    sim.schedule_fault(at(ms(10), Fault::Resume(n)));
    sim.run_until(SimTime::MAX);
    let (_, node) = sim.node(n);
    assert_eq!(node.cancelled, Some(true));
    assert_eq!(node.fired, vec![(0, ms(10))]);

    // Without the pause, timer 1 is still pending at 5 ms and the cancel succeeds too;
    // cancelling a timer that already fired fails.
    let mut sim = Simulation::new(SimConfig::default());
    let n = sim.add_node("n0", Canceller::default());
    sim.run_until(SimTime::MAX);
    assert_eq!(sim.node(n).1.cancelled, Some(true));
    assert_eq!(sim.node(n).1.fired, vec![(0, ms(5))]);
}

/// Cuts and partitions act on a message when it arrives, also when its receiver is
/// paused: a message that arrived before a partition is handled at the resume even
/// if the partition is still in force then, and a message that arrived during a
/// partition is dropped even if the partition has healed by the resume.
#[test]
fn partitions_act_on_arrival_even_for_paused_receivers() {
    let (a, b) = (NodeId(0), NodeId(1));
    let split = || Fault::Partition(vec![vec![a], vec![b]]);
    let us = SimTime::from_micros;
    // 1 ms links: n0 sends message k at (k+1) ms, it arrives at (k+2) ms. Pause at
    // 2.5 ms, partition at 6.5 ms, resume at 10 ms (still partitioned), heal at 12 ms.
    let mut sim = sender_and_sink(1, LinkParams::default(), ms(1), 15);
    sim.schedule_fault(at(us(2_500), Fault::Pause(b)));
    sim.schedule_fault(at(us(6_500), split()));
    sim.schedule_fault(at(ms(10), Fault::Resume(b)));
    sim.schedule_fault(at(ms(12), Fault::Heal));
    sim.run_until(SimTime::MAX);
    let seqs: Vec<u64> = sim.node(b).1.received().map(|(_, m)| m.seq).collect();
    // 0 before the pause; 1..=4 arrived (3..=6 ms) before the partition and waited;
    // 5 arrives during it; 6..=10 are sent during it; 11.. after the heal.
    assert_eq!(seqs, vec![0, 1, 2, 3, 4, 11, 12, 13, 14]);
    assert_eq!(drops(sim.trace_records(), 1, "partitioned"), 6);

    // 5 ms links: message k arrives at (k+6) ms. Pause at 1.5 ms, partition at 3.5 ms,
    // heal at 6.5 ms, resume at 10 ms.
    let slow = LinkParams {
        latency: sim_core::Latency::Constant(ms(5)),
        ..LinkParams::default()
    };
    let mut sim = sender_and_sink(1, slow, ms(1), 15);
    sim.schedule_fault(at(us(1_500), Fault::Pause(b)));
    sim.schedule_fault(at(us(3_500), split()));
    sim.schedule_fault(at(us(6_500), Fault::Heal));
    sim.schedule_fault(at(ms(10), Fault::Resume(b)));
    sim.run_until(SimTime::MAX);
    let seqs: Vec<u64> = sim.node(b).1.received().map(|(_, m)| m.seq).collect();
    // 0 arrives at 6 ms, during the partition: lost although healed by the resume;
    // 1 and 2 arrive at 7 and 8 ms and wait; 3..=5 are sent during the partition.
    assert_eq!(seqs, vec![1, 2, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    assert_eq!(drops(sim.trace_records(), 1, "partitioned"), 4);
}

/// A node that crashes while paused loses the messages that waited for it, and each
/// is accounted for as a `node_down` drop (not silently discarded), like any message
/// that reaches a crashed node.
#[test]
fn crashing_while_paused_drops_what_waited() {
    let b = NodeId(1);
    let mut sim = sender_and_sink(1, LinkParams::default(), ms(1), 10);
    sim.schedule_fault(at(SimTime::from_micros(2_500), Fault::Pause(b)));
    sim.schedule_fault(at(SimTime::from_micros(6_500), Fault::Crash(b)));
    sim.schedule_fault(at(ms(20), Fault::Restart(b)));
    sim.run_until(SimTime::MAX);
    let seqs: Vec<u64> = sim.node(b).1.received().map(|(_, m)| m.seq).collect();
    assert_eq!(seqs, vec![0]);
    // 1..=4 waited (arrived 3..=6 ms), 5..=9 arrive at the crashed node.
    assert_eq!(drops(sim.trace_records(), 1, "node_down"), 9);
    assert_eq!(sim.metrics().value("net.dropped.node_down"), 9.0);
}

/// A crash while messages are in flight drops them as `node_down` (and the metric
/// says so), and the timers the node had pending when it crashed never fire, even
/// after it restarts. Also shows the property test above is not vacuous.
#[test]
fn crash_drops_in_flight_messages_and_pending_timers() {
    let link = LinkParams {
        latency: sim_core::Latency::Constant(ms(10)),
        ..LinkParams::default()
    };
    let mut setup = Setup {
        link,
        ..Setup::new(3, 2)
    };
    setup.plan = vec![
        ScheduledFault {
            at: ms(25),
            fault: Fault::Crash("n1".into()),
        },
        ScheduledFault {
            at: ms(60),
            fault: Fault::Restart("n1".into()),
        },
    ];
    let sim = setup.run();
    assert_no_violations(&sim);
    let records = sim.trace_records();
    assert!(sim.metrics().value("net.dropped.node_down") > 0.0);
    assert_eq!(
        sim.metrics().value("net.dropped.node_down"),
        drops(records, 1, "node_down") as f64
    );
    let (_, n1) = sim.node(NodeId(1));
    assert!(n1.log.iter().all(|e| e.t < ms(25) || e.t >= ms(60)));
    assert_eq!(n1.epoch, 1);
    let pending_at_crash: Vec<u64> = by_node(records, RecordKind::TimerSet, 1)
        .iter()
        .filter(|r| r.time_ns < ms(25).0 && r.value >= ms(25).0)
        .map(|r| parse_tick(&r.detail))
        .collect();
    assert!(
        !pending_at_crash.is_empty(),
        "no timer was pending at the crash"
    );
    for id in pending_at_crash {
        assert!(!n1.fired.contains(&id), "timer {id} survived the crash");
    }
}

/// A node whose clock runs `ppm` fast or slow from time zero, with a periodic timer of
/// `period` local time.
fn drifting(ppm: i32, period: SimTime, ticks: u32) -> Simulation<Gossip> {
    let mut sim = Simulation::new(SimConfig::default());
    // Scheduled before the node is added, so the drift is in force when it starts.
    sim.schedule_fault(at(
        SimTime::ZERO,
        Fault::ClockDrift {
            node: NodeId(0),
            ppm: f64::from(ppm),
        },
    ));
    let cfg = GossipConfig {
        initial_timers: 1,
        ticks,
        fanout: 0,
        period_ns: (period.0, period.0),
        cancel_per_mille: 0,
        ..GossipConfig::default()
    };
    sim.add_node("n0", Gossip::new(cfg));
    sim
}

/// Checks every firing of a drifting node's periodic timer: it is never early by the
/// node's own clock and at most 2 ns late (the first true nanosecond at which the
/// clock has reached the deadline, give or take the clock's sub-nanosecond phase), and
/// consecutive firings are equally spaced in true time. Returns the firings.
fn check_firings(sim: &Simulation<Gossip>) -> Vec<(SimTime, SimTime)> {
    let (_, node) = sim.node(NodeId(0));
    assert_no_violations(sim);
    let fires: Vec<(SimTime, SimTime)> = node
        .timer_entries()
        .map(|(e, _, deadline)| {
            let d = deadline.expect("pending timer");
            assert!(
                e.local >= d && e.local.0 <= d.0 + 2,
                "timer due at local {d} fired at local {} (true {})",
                e.local,
                e.t
            );
            (e.t, e.local)
        })
        .collect();
    for w in fires.windows(3) {
        assert_eq!(w[1].0 - w[0].0, w[2].0 - w[1].0, "uneven periods {w:?}");
    }
    fires
}

/// Clock drift, with exact integer checks: a node 1000 ppm fast with a periodic 1 s
/// timer has seen its clock advance 999.999 s after 999 true seconds, so its timer has
/// fired 999 times; the 1000th firing comes when its clock reaches 1000 s, at true
/// 999.001 s (1000 / 1.001 rounded up to the nanosecond period). Each firing is at a
/// local time at or just after its deadline, never before.
#[test]
fn drifting_clock_fires_periodic_timer_on_local_time() {
    let mut sim = drifting(1000, SimTime::from_secs(1), 2000);
    sim.run_until(SimTime::from_secs(999));
    assert_eq!(check_firings(&sim).len(), 999);
    sim.run_until(SimTime::from_millis(999_000) + SimTime::from_micros(999));
    assert_eq!(check_firings(&sim).len(), 999);
    sim.run_until(SimTime::from_millis(999_001));
    let fires = check_firings(&sim);
    assert_eq!(fires.len(), 1000);
    let (true_1000, local_1000) = fires[999];
    assert!(true_1000 <= SimTime::from_millis(999_001));
    assert!(local_1000 >= SimTime::from_secs(1000));
    // The true period is 1 s / 1.001, to the nanosecond.
    let period = fires[0].0;
    assert!(period.0.abs_diff(999_000_999) <= 1, "true period {period}");
    // A slow clock (-1000 ppm) fires later: its 999th second ends at true 1000 s.
    let mut slow = drifting(-1000, SimTime::from_secs(1), 2000);
    slow.run_until(SimTime::from_secs(999));
    assert_eq!(check_firings(&slow).len(), 998);
    slow.run_until(SimTime::from_secs(1000) + ms(1));
    assert_eq!(check_firings(&slow).len(), 999);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// For any drift between -5000 and +5000 ppm and any period, a periodic timer set
    /// in local time fires at (or 1-2 ns after) each local deadline, never before, at
    /// equal true intervals of `period / (1 + ppm/1e6)`. Timeouts computed on a node's
    /// clock must behave like the node's clock, not like true time.
    #[test]
    fn drifting_timers_fire_on_local_deadlines(
        ppm in -5000i32..=5000,
        period in 1_000u64..=2_000_000_000,
    ) {
        let mut sim = drifting(ppm, SimTime(period), 40);
        sim.run_until(SimTime::MAX);
        let fires = check_firings(&sim);
        // One initial timer, re-armed by each of the first 40 firings.
        prop_assert_eq!(fires.len(), 41);
    }
}

/// A node registered with a start time that also gets a `Join` before then starts
/// once, not twice: the start must not run `on_start` on a node already up (or
/// crashed in between).
#[test]
fn a_joined_node_does_not_start_again() {
    let mut sim: Simulation<Gossip> = Simulation::new(SimConfig {
        keep_trace: true,
        ..SimConfig::default()
    });
    sim.add_node("n0", Gossip::new(GossipConfig::silent()));
    let late = sim.add_node_at("late", Gossip::new(GossipConfig::silent()), Some(ms(10)));
    sim.schedule_fault(at(ms(5), Fault::Join(late)));
    sim.schedule_fault(at(ms(7), Fault::Crash(late)));
    sim.run_until(SimTime::MAX);
    let (status, node) = sim.node(late);
    let starts: Vec<SimTime> = node.log.iter().map(|e| e.t).collect();
    assert_eq!(starts, vec![ms(5)], "on_start ran at {starts:?}");
    assert_eq!(status, sim_core::NodeStatus::Crashed);
}

/// Driving a simulation from outside never moves its clock backwards: a horizon
/// earlier than now leaves the clock where it is, and a fault scheduled for a time
/// already past takes effect now.
#[test]
fn the_clock_stays_put_when_driven_backwards() {
    let mut sim = Setup::new(2, 3).build();
    sim.run_until(ms(40));
    assert_eq!(sim.now(), ms(40));
    sim.run_until(ms(10));
    assert_eq!(sim.now(), ms(40));
    sim.schedule_fault(at(ms(5), Fault::Crash(NodeId(0))));
    sim.run_until(SimTime::MAX);
    let records = sim.trace_records();
    for w in records.windows(2) {
        assert!(w[0].time_ns <= w[1].time_ns, "{} then {}", w[0], w[1]);
    }
    let crash = records
        .iter()
        .find(|r| r.kind == RecordKind::Fault && r.label == "crash")
        .expect("the crash happened");
    assert!(crash.time_ns >= ms(40).0);
}
