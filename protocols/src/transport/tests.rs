//! Endpoint tests driven by hand: outputs are moved between two endpoints (or dropped)
//! explicitly, so every path (Karn's rule, back-off, stale tokens, duplicates,
//! reordering, incarnations) is exercised deterministically without a simulator.

use super::*;
use sim_core::{NodeId, SimTime};
use std::sync::Arc;

const A: NodeId = NodeId(0);
const B: NodeId = NodeId(1);

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

fn drain(ep: &mut Endpoint) -> Vec<Output> {
    std::iter::from_fn(|| ep.poll_output()).collect()
}

fn sends(outs: &[Output]) -> Vec<Segment> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send { segment, .. } => Some(segment.clone()),
            _ => None,
        })
        .collect()
}

fn timers(outs: &[Output]) -> Vec<(SimTime, TimerToken)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::SetTimer { after, token } => Some((*after, *token)),
            _ => None,
        })
        .collect()
}

fn seq_of(s: &Segment) -> u32 {
    match s.body() {
        SegmentBody::Data { seq, .. } | SegmentBody::End { seq, .. } => *seq,
        SegmentBody::Ack { seq: Some(seq), .. } => *seq,
        other => panic!("no sequence number in {other:?}"),
    }
}

fn sr(chunk: u32) -> TransportConfig {
    TransportConfig {
        mode: Mode::SelectiveRepeat,
        chunk_bytes: chunk,
        ..TransportConfig::default()
    }
}

#[test]
fn sizes_kinds_and_cheap_hash() {
    let mut a = Endpoint::new(sr(1000));
    let data: Arc<[u8]> = pseudo_random_bytes(1, 2500);
    a.start_transfer(SimTime::ZERO, B, data);
    let out = sends(&drain(&mut a));
    let sizes: Vec<u32> = out.iter().map(sim_core::Message::size_bytes).collect();
    assert_eq!(sizes, vec![1008, 1008, 508, 8 + END_MARKER_BYTES]);
    let kinds: Vec<&str> = out.iter().map(sim_core::Message::kind).collect();
    assert_eq!(kinds, vec!["data", "data", "data", "end"]);
}

#[test]
fn karn_rule_and_back_off_in_selective_repeat() {
    let mut a = Endpoint::new(sr(100));
    let mut b = Endpoint::new(sr(100));
    let data: Arc<[u8]> = pseudo_random_bytes(2, 100);
    a.start_transfer(SimTime::ZERO, B, Arc::clone(&data));
    let out = drain(&mut a);
    let segs = sends(&out);
    let tm = timers(&out);
    assert_eq!(
        segs.len(),
        2,
        "one chunk and the end marker, window permitting"
    );
    // Before any sample both wait the initial RTO of 1 s.
    assert_eq!(
        tm.iter().map(|t| t.0).collect::<Vec<_>>(),
        vec![ms(1000); 2]
    );
    // The chunk is lost; the end marker arrives and is held (out of order).
    b.on_segment(ms(5), A, segs[1].clone());
    let acks = sends(&drain(&mut b));
    assert_eq!(acks.len(), 1);
    // Its ACK (seq 1, cumulative 0) is a valid sample of 10 ms.
    a.on_segment(ms(10), B, acks[0].clone());
    let out = drain(&mut a);
    assert!(out.contains(&Output::RttSample {
        peer: B,
        rtt: ms(10),
        rto: ms(200)
    }));
    let est = a.rto_estimator(B).unwrap();
    assert_eq!(est.srtt(), Some(ms(10)));
    // The chunk's timer (1 s) fires: retransmit, and the next wait doubles the RTO.
    a.on_timer(ms(1000), tm[0].1);
    let out = drain(&mut a);
    let re = sends(&out);
    assert_eq!(re.len(), 1);
    assert_eq!(seq_of(&re[0]), 0);
    assert_eq!(timers(&out)[0].0, ms(400), "RTO 200 ms backed off once");
    assert_eq!(a.stats().retransmissions, 1);
    // The retransmission's ACK completes the transfer but gives no sample (Karn).
    b.on_segment(ms(1005), A, re[0].clone());
    let out_b = drain(&mut b);
    assert!(out_b.iter().any(|o| matches!(
        o,
        Output::TransferReceived { intact: true, data: d, .. } if *d == data
    )));
    a.on_segment(ms(1010), B, sends(&out_b)[0].clone());
    let out = drain(&mut a);
    assert!(!out.iter().any(|o| matches!(o, Output::RttSample { .. })));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::TransferComplete {
            packets: 2,
            transmissions: 3,
            ..
        }
    )));
    assert_eq!(a.rto_estimator(B).unwrap().srtt(), Some(ms(10)));
    assert_eq!(a.stats().rtt_samples, 1);
    // Every timer still pending is now stale: firing it does nothing.
    a.on_timer(ms(2000), tm[1].1);
    a.on_timer(ms(2000), timers(&out).first().map_or(tm[0].1, |t| t.1));
    assert!(drain(&mut a).is_empty());
    assert!(a.stats().stale_timers >= 1);
}

#[test]
fn stop_and_wait_keeps_one_segment_in_flight_with_a_fixed_timeout() {
    let cfg = TransportConfig {
        chunk_bytes: 10,
        timeout: ms(30),
        ..TransportConfig::default()
    };
    let mut a = Endpoint::new(cfg.clone());
    let mut b = Endpoint::new(cfg);
    let data: Arc<[u8]> = pseudo_random_bytes(3, 25);
    a.start_transfer(SimTime::ZERO, B, Arc::clone(&data));
    let mut now = SimTime::ZERO;
    let mut received = None;
    let mut complete = false;
    let mut in_flight = drain(&mut a);
    let mut tries = 0;
    while !complete {
        let segs = sends(&in_flight);
        assert_eq!(segs.len(), 1, "stop-and-wait sends one at a time");
        let tm = timers(&in_flight);
        assert_eq!(tm[0].0, ms(30), "fixed timeout, no back-off");
        tries += 1;
        // Every other first transmission is lost.
        if tries % 2 == 1 {
            now += ms(30);
            a.on_timer(now, tm[0].1);
            in_flight = drain(&mut a);
            continue;
        }
        now += ms(1);
        b.on_segment(now, A, segs[0].clone());
        let out_b = drain(&mut b);
        for o in &out_b {
            if let Output::TransferReceived { data, intact, .. } = o {
                received = Some((data.clone(), *intact));
            }
        }
        now += ms(1);
        a.on_segment(now, B, sends(&out_b)[0].clone());
        in_flight = drain(&mut a);
        complete = in_flight.iter().any(|o| {
            matches!(
                o,
                Output::TransferComplete {
                    packets: 4,
                    transmissions: 8,
                    ..
                }
            )
        });
    }
    assert_eq!(received, Some((data, true)));
}

#[test]
fn receiver_reassembles_reordered_and_duplicated_segments_once() {
    let mut a = Endpoint::new(sr(7));
    let mut b = Endpoint::new(sr(7));
    let data: Arc<[u8]> = pseudo_random_bytes(4, 100);
    a.start_transfer(SimTime::ZERO, B, Arc::clone(&data));
    let segs = sends(&drain(&mut a));
    assert_eq!(segs.len(), 16);
    let mut delivered = 0;
    for s in segs.iter().rev().chain(segs.iter()) {
        b.on_segment(ms(1), A, s.clone());
        for o in drain(&mut b) {
            if let Output::TransferReceived {
                data: d, intact, ..
            } = o
            {
                assert!(intact);
                assert_eq!(d, data);
                delivered += 1;
            }
        }
    }
    assert_eq!(delivered, 1);
    assert_eq!(b.stats().duplicates_suppressed, 16);
    assert_eq!(b.stats().acks_sent, 32, "every copy is acknowledged");
}

#[test]
fn receive_window_bounds_the_reorder_buffer() {
    let cfg = TransportConfig {
        window: 4,
        ..sr(10)
    };
    let mut a = Endpoint::new(TransportConfig {
        window: 8,
        ..cfg.clone()
    });
    let mut b = Endpoint::new(cfg);
    a.start_transfer(SimTime::ZERO, B, pseudo_random_bytes(5, 100));
    let segs = sends(&drain(&mut a));
    assert_eq!(segs.len(), 8);
    for s in &segs[1..] {
        b.on_segment(ms(1), A, s.clone());
    }
    // Segments 1..3 fit the window [0, 4) and are held; 4..7 are beyond it, not
    // taken, and answered with the cumulative point only.
    assert_eq!(b.stats().out_of_window, 4);
    let out = sends(&drain(&mut b));
    let acks: Vec<_> = out
        .iter()
        .map(|s| match s.body() {
            SegmentBody::Ack {
                seq, cumulative, ..
            } => (*seq, *cumulative),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        acks,
        vec![
            (Some(1), 0),
            (Some(2), 0),
            (Some(3), 0),
            (None, 0),
            (None, 0),
            (None, 0),
            (None, 0)
        ]
    );
    // The sender takes those for what they are: three acknowledged, nothing else.
    for s in out {
        a.on_segment(ms(2), B, s);
    }
    assert_eq!((a.stats().packets_acked, a.stats().stale_acks), (3, 4));
}

#[test]
fn reliable_datagrams_are_delivered_once_and_reported_lost_after_max_tries() {
    let cfg = TransportConfig::default();
    let mut a = Endpoint::new(cfg.clone());
    let mut b = Endpoint::new(cfg);
    // Delivered twice (a retransmission after a lost ACK): one delivery, two ACKs.
    let id = a.send_reliable(SimTime::ZERO, B, Payload::new(b"hello".to_vec()));
    let first = drain(&mut a);
    let seg = sends(&first)[0].clone();
    assert_eq!(timers(&first)[0].0, ms(100), "the OTT report's 100 ms");
    b.on_segment(ms(1), A, seg.clone());
    b.on_segment(ms(2), A, seg);
    let out = drain(&mut b);
    let delivered: Vec<&Output> = out
        .iter()
        .filter(|o| matches!(o, Output::Delivered { reliable: true, .. }))
        .collect();
    assert_eq!(delivered.len(), 1);
    let acks = sends(&out);
    assert_eq!(acks.len(), 2);
    a.on_segment(ms(3), B, acks[0].clone());
    a.on_segment(ms(4), B, acks[1].clone());
    let out = drain(&mut a);
    assert!(out.contains(&Output::Acked { to: B, id }));
    assert_eq!(a.stats().stale_acks, 1);
    // A datagram nobody answers: 5 transmissions, then Lost.
    let lost = a.send_reliable(ms(10), B, Payload::new(b"void".to_vec()));
    let mut out = drain(&mut a);
    let mut transmissions = 0;
    let mut now = ms(10);
    loop {
        transmissions += sends(&out).len();
        if out.contains(&Output::Lost { to: B, id: lost }) {
            break;
        }
        let (after, token) = timers(&out)[0];
        now += after;
        a.on_timer(now, token);
        out = drain(&mut a);
    }
    assert_eq!(transmissions, 5);
    assert_eq!(now, ms(510));
    // The receiver's duplicate filter forgets ids below the sender's floor.
    let third = a.send_reliable(ms(600), B, Payload::new(b"x".to_vec()));
    let seg = sends(&drain(&mut a))[0].clone();
    match seg.body() {
        SegmentBody::Datagram {
            reliable: Some(h), ..
        } => assert_eq!(h.floor, third),
        other => panic!("{other:?}"),
    }
    // Unreliable datagrams are delivered as they come, copies included.
    a.send_unreliable(B, Payload::new(b"video".to_vec()));
    let seg = sends(&drain(&mut a))[0].clone();
    assert_eq!(sim_core::Message::kind(&seg), "datagram");
    b.on_segment(ms(700), A, seg.clone());
    b.on_segment(ms(700), A, seg);
    let out = drain(&mut b);
    assert_eq!(sends(&out).len(), 0, "no ACK for unreliable datagrams");
    assert_eq!(out.len(), 2);
}

#[test]
fn incarnations_keep_crashes_apart() {
    let mut a = Endpoint::new(sr(10));
    let mut b = Endpoint::new(sr(10));
    a.start_transfer(SimTime::ZERO, B, pseudo_random_bytes(6, 30));
    let old = sends(&drain(&mut a));
    // B acknowledges the first chunk, then crashes and comes back.
    b.on_segment(ms(1), A, old[0].clone());
    let ack_before = sends(&drain(&mut b))[0].clone();
    a.on_segment(ms(2), B, ack_before);
    drain(&mut a);
    b.crash();
    b.on_segment(ms(3), A, old[1].clone());
    let ack_after = sends(&drain(&mut b))[0].clone();
    assert_eq!(ack_after.epoch(), 1);
    a.on_segment(ms(4), B, ack_after);
    let out = drain(&mut a);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::TransferFailed {
            reason: FailReason::PeerRestarted,
            ..
        }
    )));
    // A receiver that restarts and gets a segment beyond its (fresh) window answers
    // with its new incarnation: the sender gives up at once instead of retrying.
    let mut c = Endpoint::new(TransportConfig {
        window: 2,
        ..sr(10)
    });
    let mut d = Endpoint::new(TransportConfig {
        window: 2,
        ..sr(10)
    });
    c.start_transfer(SimTime::ZERO, B, pseudo_random_bytes(8, 100));
    for s in sends(&drain(&mut c)) {
        d.on_segment(ms(1), A, s);
    }
    for s in sends(&drain(&mut d)) {
        c.on_segment(ms(2), B, s);
    }
    let next = sends(&drain(&mut c));
    assert_eq!(next.iter().map(seq_of).collect::<Vec<_>>(), vec![2, 3]);
    d.crash();
    d.on_segment(ms(3), A, next[1].clone());
    assert_eq!(d.stats().out_of_window, 1);
    c.on_segment(ms(4), B, sends(&drain(&mut d))[0].clone());
    assert!(drain(&mut c).iter().any(|o| matches!(
        o,
        Output::TransferFailed {
            reason: FailReason::PeerRestarted,
            ..
        }
    )));
    // A crashes; its new segments reset B's state for it, and old ones are stale.
    a.crash();
    a.start_transfer(ms(10), B, pseudo_random_bytes(7, 5));
    let new = sends(&drain(&mut a));
    assert_eq!(new[0].epoch(), 1);
    b.on_segment(ms(11), A, new[0].clone());
    b.on_segment(ms(11), A, new[1].clone());
    assert!(
        drain(&mut b)
            .iter()
            .any(|o| matches!(o, Output::TransferReceived { intact: true, .. }))
    );
    b.on_segment(ms(12), A, old[2].clone());
    assert!(drain(&mut b).is_empty());
    assert_eq!(b.stats().stale_segments, 1);
}
