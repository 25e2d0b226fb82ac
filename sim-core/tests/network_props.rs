//! Properties of the network model seen end to end through nodes: per-link FIFO, that
//! reordering really happens without it, and bandwidth with a bounded queue.

mod common;

use common::*;
use proptest::prelude::*;
use sim_core::{Latency, LinkParams, NodeId, RecordKind, SimConfig, SimTime, Simulation};
use std::collections::BTreeMap;

/// FIFO links with every source of delay variation but reordering: random latency
/// distributions, jitter, loss and sometimes a finite bandwidth.
fn arb_fifo_link(duplicate: bool) -> impl Strategy<Value = LinkParams> {
    let ms = |a: u64, b: u64| (a * 1_000_000..=b * 1_000_000).prop_map(SimTime);
    let latency = prop_oneof![
        ms(1, 20).prop_map(|mean| Latency::Exponential { mean }),
        (ms(1, 20), 0.2..1.5f64).prop_map(|(median, sigma)| Latency::LogNormal { median, sigma }),
        (ms(1, 20), ms(1, 10)).prop_map(|(mean, std_dev)| Latency::Normal { mean, std_dev }),
        ms(0, 20).prop_map(|max| Latency::Uniform {
            min: SimTime::ZERO,
            max
        }),
    ];
    (
        latency,
        ms(0, 15),
        prop_oneof![Just(0.0), 0.0..0.2f64],
        prop::option::of(200_000u64..5_000_000),
        if duplicate {
            (0.1..0.5f64).boxed()
        } else {
            Just(0.0).boxed()
        },
    )
        .prop_map(
            |(latency, jitter, loss, bandwidth_bps, duplicate)| LinkParams {
                latency,
                jitter,
                loss,
                bandwidth_bps,
                duplicate,
                fifo: true,
                ..LinkParams::default()
            },
        )
}

/// A gossip setup on the given links with crash, restart, pause, resume and topology
/// faults (never `SetLink`, which could turn FIFO off).
fn arb_fifo_setup(duplicate: bool) -> impl Strategy<Value = Setup> {
    (2usize..=5).prop_flat_map(move |n| {
        let faults = prop_oneof![arb_node_fault(names(n)), arb_topology_fault(names(n)),].boxed();
        (
            any::<u64>(),
            arb_fifo_link(duplicate),
            arb_plan(faults, 250, 10),
        )
            .prop_map(move |(seed, link, plan)| Setup {
                link,
                plan,
                node: GossipConfig {
                    fanout: 3,
                    ticks: 15,
                    period_ns: (100_000, 5_000_000),
                    ..GossipConfig::default()
                },
                ..Setup::new(seed, n)
            })
    })
}

/// Per receiver and sender, the sequence numbers in the order they were handled.
fn seqs_by_link(sim: &Simulation<Gossip>) -> BTreeMap<(u32, u32), Vec<u64>> {
    let mut out: BTreeMap<(u32, u32), Vec<u64>> = BTreeMap::new();
    for (id, _, node) in sim.world().nodes() {
        for (_, msg) in node.received() {
            out.entry((msg.src, id.0)).or_default().push(msg.seq);
        }
    }
    out
}

/// How many messages were handled after one with a higher sequence number on the same
/// link.
fn inversions(sim: &Simulation<Gossip>) -> usize {
    seqs_by_link(sim)
        .values()
        .map(|seqs| {
            let mut max = None;
            seqs.iter()
                .filter(|&&s| {
                    let late = max.is_some_and(|m| s < m);
                    max = max.max(Some(s));
                    late
                })
                .count()
        })
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// On `fifo: true` links every receiver handles each sender's messages in send
    /// order (sequence numbers strictly increase; gaps are losses), whatever the
    /// latency distribution, jitter, loss and bandwidth, and through crashes, restarts,
    /// pauses and partitions. Protocols written for TCP-like channels rely on this.
    #[test]
    fn fifo_links_deliver_in_send_order(setup in arb_fifo_setup(false)) {
        let sim = setup.run();
        for ((from, to), seqs) in seqs_by_link(&sim) {
            prop_assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "n{} -> n{} handled out of order: {:?}", from, to, seqs
            );
        }
        assert_no_violations(&sim);
    }

    /// With duplication on, a FIFO link still never goes backwards: a copy arrives
    /// right after its original or later, so sequence numbers never decrease and each
    /// appears at most twice.
    #[test]
    fn fifo_links_with_duplicates_never_go_backwards(setup in arb_fifo_setup(true)) {
        let sim = setup.run();
        for ((from, to), seqs) in seqs_by_link(&sim) {
            prop_assert!(
                seqs.windows(2).all(|w| w[0] <= w[1]),
                "n{} -> n{} went backwards: {:?}", from, to, seqs
            );
            prop_assert!(
                seqs.windows(3).all(|w| w[0] != w[2]),
                "n{} -> n{}: a message arrived three times: {:?}", from, to, seqs
            );
        }
    }
}

/// The counterpart that makes the FIFO properties meaningful: the same kind of traffic
/// on links without FIFO and with `reorder > 0` (or just jitter) does get reordered, on
/// every seed tried. Otherwise the FIFO tests above could pass on a network that never
/// reorders anything.
#[test]
fn without_fifo_links_reorder() {
    for seed in 0..4 {
        for link in [
            LinkParams {
                reorder: 0.5,
                reorder_delay: SimTime::from_millis(20),
                ..LinkParams::default()
            },
            LinkParams {
                latency: Latency::Exponential {
                    mean: SimTime::from_millis(5),
                },
                jitter: SimTime::from_millis(10),
                ..LinkParams::default()
            },
        ] {
            let setup = Setup {
                link: link.clone(),
                node: GossipConfig {
                    fanout: 3,
                    ticks: 15,
                    period_ns: (100_000, 5_000_000),
                    ..GossipConfig::default()
                },
                ..Setup::new(seed, 3)
            };
            let sim = setup.run();
            let n = inversions(&sim);
            assert!(n > 0, "seed {seed}, {link:?}: no message was reordered");
            // The same traffic with FIFO switched on is never reordered.
            let fifo = Setup {
                link: LinkParams {
                    fifo: true,
                    reorder: 0.0,
                    ..link
                },
                ..setup
            };
            assert_eq!(inversions(&fifo.run()), 0);
        }
    }
}

/// One sender `n0` offering `load` times the rate of its link to a silent sink `n1`.
#[derive(Debug)]
struct Bloat {
    bandwidth_bps: u64,
    queue_bytes: u64,
    size: u32,
    latency: SimTime,
    period: u64,
    ticks: u32,
}

impl Bloat {
    /// Serialization time of one message, as the link computes it (rounded up).
    fn ser_ns(&self) -> u64 {
        (u64::from(self.size) * 8 * 1_000_000_000).div_ceil(self.bandwidth_bps)
    }

    fn run(&self) -> Simulation<Gossip> {
        let mut sim = Simulation::new(SimConfig {
            seed: 5,
            keep_trace: true,
            ..SimConfig::default()
        });
        let sender = GossipConfig {
            peers: vec![NodeId(1)],
            initial_timers: 1,
            ticks: self.ticks,
            fanout: 1,
            period_ns: (self.period, self.period),
            cancel_per_mille: 0,
            reply_per_mille: 0,
            pad: self.size - HEADER_BYTES,
            ..GossipConfig::default()
        };
        sim.add_node("n0", Gossip::new(sender));
        sim.add_node("n1", Gossip::new(GossipConfig::silent()));
        sim.network_mut().set_link(
            NodeId(0),
            NodeId(1),
            LinkParams {
                latency: Latency::Constant(self.latency),
                bandwidth_bps: Some(self.bandwidth_bps),
                queue_bytes: Some(self.queue_bytes),
                ..LinkParams::default()
            },
        );
        sim.run_until(SimTime::MAX);
        sim
    }
}

fn arb_bloat() -> impl Strategy<Value = Bloat> {
    (
        500_000u64..=20_000_000,
        200u32..=1500,
        20u64..=60,
        0.0..1.0f64,
        0u64..=20,
        1.5..4.0f64,
    )
        .prop_map(|(bandwidth_bps, size, msgs, extra, latency_ms, load)| {
            let queue_bytes = msgs * u64::from(size) + (extra * f64::from(size)) as u64;
            let mut b = Bloat {
                bandwidth_bps,
                queue_bytes,
                size,
                latency: SimTime::from_millis(latency_ms),
                period: 0,
                ticks: 0,
            };
            b.period = ((b.ser_ns() as f64 / load) as u64).max(1);
            let fill = msgs as f64 * load / (load - 1.0);
            b.ticks = (4.0 * fill) as u32 + 40;
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Offering more than a link's rate into a bounded queue tail-drops the excess
    /// (`net.dropped.queue_full` > 0, and it accounts for every message not delivered)
    /// and, once the queue is full, every message waits about `queue_bytes * 8 /
    /// bandwidth` before it arrives (bufferbloat): exactly between `(k - 1)` and `k`
    /// serialization times plus the latency, `k = queue_bytes / size`, and within 10%
    /// of the formula. The link never idles, so arrivals are exactly one
    /// serialization time apart.
    #[test]
    fn overload_fills_the_queue_and_delay_matches_its_size(b in arb_bloat()) {
        let sim = b.run();
        let m = sim.metrics();
        let sent = m.value("net.messages_sent");
        let delivered = m.value("net.messages_delivered");
        let dropped = m.value("net.dropped.queue_full");
        prop_assert_eq!(sent, f64::from(b.ticks));
        prop_assert!(dropped > 0.0, "no queue_full drops: {:?}", m);
        prop_assert_eq!(dropped + delivered, sent);

        let ser = b.ser_ns();
        let lat = b.latency.0;
        let k = b.queue_bytes / u64::from(b.size);
        let (_, sink) = sim.node(NodeId(1));
        let arrivals: Vec<(u64, u64, u64)> = sink
            .received()
            .map(|(t, msg)| (msg.seq, t.0, t.0 - msg.sent_ns))
            .collect();
        prop_assert_eq!(arrivals.len() as f64, delivered);
        for w in arrivals.windows(2) {
            prop_assert_eq!(w[1].1 - w[0].1, ser, "link idled or overlapped: {:?}", w);
        }
        // Nothing ever waits longer than a full queue.
        for &(seq, _, delay) in &arrivals {
            prop_assert!(delay >= ser + lat && delay <= k * ser + lat, "seq {} delay {}", seq, delay);
        }
        // After the first tail drop the queue stays full.
        let first_drop = sim
            .trace_records()
            .iter()
            .find(|r| r.kind == RecordKind::Drop && r.label == "queue_full")
            .map(|r| parse_msg(&r.detail).1)
            .expect("a queue_full record");
        let steady: Vec<u64> = arrivals
            .iter()
            .filter(|a| a.0 > first_drop)
            .map(|a| a.2)
            .collect();
        prop_assert!(steady.len() >= k as usize / 2, "only {} steady-state arrivals", steady.len());
        for &delay in &steady {
            prop_assert!(
                delay >= (k - 1) * ser + lat && delay <= k * ser + lat,
                "steady-state delay {} outside [{}, {}]", delay, (k - 1) * ser + lat, k * ser + lat
            );
        }
        let mean = steady.iter().sum::<u64>() as f64 / steady.len() as f64;
        let formula = b.queue_bytes as f64 * 8.0 * 1e9 / b.bandwidth_bps as f64;
        let queueing = mean - lat as f64;
        prop_assert!(
            (queueing - formula).abs() <= 0.1 * formula,
            "mean queueing delay {} ns vs queue_bytes*8/bandwidth = {} ns", queueing, formula
        );
    }
}
