//! The sans-IO endpoint: one per node, driven by its host with the current time and
//! inputs, answering with [`Output`]s the host drains.

use crate::transport::config::{END_MARKER_BYTES, Mode, TransportConfig};
use crate::transport::payload::{Payload, checksum};
use crate::transport::rto::RtoEstimator;
use crate::transport::segment::{
    PacketId, ReliableHeader, Segment, SegmentBody, TimerToken, TransferId,
};
use sim_core::{NodeId, SimTime};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;

/// What the endpoint asks of its host, or tells it.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Put `segment` on the network towards `to`.
    Send {
        /// Destination.
        to: NodeId,
        /// What to send.
        segment: Segment,
    },
    /// Call [`Endpoint::on_timer`] with `token` after `after` (local time). Never
    /// needs cancelling: a token whose purpose was settled is ignored when it fires.
    SetTimer {
        /// Delay from now.
        after: SimTime,
        /// What to hand back.
        token: TimerToken,
    },
    /// A datagram arrived. Reliable datagrams are delivered at most once per sender
    /// incarnation (duplicates suppressed), in arrival order: each is retransmitted
    /// on its own, so a later one may overtake an earlier one.
    Delivered {
        /// Sender.
        from: NodeId,
        /// The bytes.
        payload: Payload,
        /// Whether it was sent reliably.
        reliable: bool,
    },
    /// A reliable datagram was acknowledged.
    Acked {
        /// Where it went.
        to: NodeId,
        /// Which one.
        id: PacketId,
    },
    /// A reliable datagram went unacknowledged `max_tries` times: the sender gives up
    /// (it may still have arrived, if only the ACKs were lost).
    Lost {
        /// Where it went.
        to: NodeId,
        /// Which one.
        id: PacketId,
    },
    /// Every chunk and the end marker of a transfer were acknowledged: the receiver
    /// has the whole payload.
    TransferComplete {
        /// Receiver.
        to: NodeId,
        /// Which transfer.
        transfer: TransferId,
        /// Payload bytes.
        bytes: u64,
        /// Segments it took (chunks plus the end marker).
        packets: u32,
        /// Transmissions of those segments, retransmissions included.
        transmissions: u64,
        /// From [`Endpoint::start_transfer`] to the last ACK (local time).
        elapsed: SimTime,
    },
    /// A transfer was abandoned.
    TransferFailed {
        /// Receiver.
        to: NodeId,
        /// Which transfer.
        transfer: TransferId,
        /// Why.
        reason: FailReason,
    },
    /// A whole transfer arrived, reassembled in order.
    TransferReceived {
        /// Sender.
        from: NodeId,
        /// The sender's id for it.
        transfer: TransferId,
        /// The payload.
        data: Arc<[u8]>,
        /// Whether length and checksum match what the end marker announced.
        intact: bool,
    },
    /// A valid round-trip sample (from a segment sent once, per Karn's rule) and the
    /// RTO it leads to.
    RttSample {
        /// The peer measured.
        peer: NodeId,
        /// The round trip.
        rtt: SimTime,
        /// The estimator's RTO after the sample.
        rto: SimTime,
    },
}

impl Output {
    /// Whether the host's network or timer service handles it (`Send`, `SetTimer`),
    /// rather than the application.
    pub fn is_io(&self) -> bool {
        matches!(self, Output::Send { .. } | Output::SetTimer { .. })
    }
}

/// Why a transfer failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// A segment went unacknowledged `tries` times.
    SegmentLost {
        /// The segment (the end marker's is the chunk count).
        seq: u32,
        /// Transmissions made.
        tries: u32,
    },
    /// The receiver restarted in the middle (its ACKs changed incarnation): what it
    /// had acknowledged is gone.
    PeerRestarted,
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::SegmentLost { seq, tries } => {
                write!(f, "segment {seq} unacknowledged after {tries} tries")
            }
            FailReason::PeerRestarted => write!(f, "the receiver restarted mid-transfer"),
        }
    }
}

/// Counters an endpoint keeps (they survive [`Endpoint::crash`]: they are the
/// experiment's record, not the protocol's state).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Segments handed to the network (all kinds).
    pub segments_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Unreliable datagrams sent.
    pub unreliable_sent: u64,
    /// Reliable datagrams sent (first transmissions).
    pub reliable_sent: u64,
    /// Reliable datagrams acknowledged.
    pub datagrams_acked: u64,
    /// Reliable datagrams given up.
    pub datagrams_lost: u64,
    /// Datagrams delivered to the application (reliable and unreliable).
    pub datagrams_delivered: u64,
    /// Reliable datagrams and transfer segments that arrived again and were not
    /// delivered again.
    pub duplicates_suppressed: u64,
    /// Transfers started.
    pub transfers_started: u64,
    /// Transfers completed (all acknowledged).
    pub transfers_completed: u64,
    /// Transfers abandoned.
    pub transfers_failed: u64,
    /// Transfers received and reassembled.
    pub transfers_received: u64,
    /// Received transfers whose length or checksum did not match.
    pub transfers_corrupt: u64,
    /// Transmissions of transfer segments (chunks and end markers), retransmissions
    /// included.
    pub transfer_transmissions: u64,
    /// Retransmissions (transfer segments and reliable datagrams).
    pub retransmissions: u64,
    /// Reliable packets (transfer segments and reliable datagrams) acknowledged.
    pub packets_acked: u64,
    /// Transmissions those acknowledged packets took.
    pub transmissions_of_acked: u64,
    /// Of those, transmissions of acknowledged reliable datagrams (the rest are
    /// transfer segments').
    pub datagram_transmissions_of_acked: u64,
    /// Transfer segments given up (each fails its transfer).
    pub segments_lost: u64,
    /// ACKs sent.
    pub acks_sent: u64,
    /// ACKs for nothing outstanding (duplicates, late, or from another incarnation).
    pub stale_acks: u64,
    /// Segments from an older incarnation of their sender, dropped.
    pub stale_segments: u64,
    /// Timers that fired after their purpose was settled.
    pub stale_timers: u64,
    /// Transfer segments beyond the receive window, dropped unacknowledged.
    pub out_of_window: u64,
    /// Valid round-trip samples taken.
    pub rtt_samples: u64,
}

/// What a timer token guards.
#[derive(Clone, Copy, Debug)]
enum TimerPurpose {
    Datagram { to: NodeId, id: PacketId },
    Segment { transfer: TransferId, seq: u32 },
}

/// A reliable datagram waiting for its ACK.
struct PendingDatagram {
    segment: Segment,
    tries: u32,
    sent_at: SimTime,
    token: u64,
}

/// One segment of an outgoing transfer, inside the window.
struct Slot {
    segment: Segment,
    tries: u32,
    sent_at: SimTime,
    token: u64,
    acked: bool,
}

/// An outgoing transfer.
struct TxTransfer {
    to: NodeId,
    data: Arc<[u8]>,
    digest: u64,
    /// Number of chunks: the end marker's sequence number.
    end_seq: u32,
    /// Lowest unacknowledged sequence number.
    base: u32,
    /// Next sequence number never sent.
    next: u32,
    /// Segments `base..next`.
    slots: VecDeque<Slot>,
    window: u32,
    adaptive: bool,
    started: SimTime,
    transmissions: u64,
    /// The receiver's incarnation, from its first ACK.
    peer_epoch: Option<u32>,
}

/// An item a receiver holds until the ones before it arrive.
enum Held {
    Chunk(Payload),
    End { total_len: u64, digest: u64 },
}

/// An incoming transfer.
enum RxTransfer {
    Open {
        next: u32,
        held: BTreeMap<u32, Held>,
        assembled: Vec<u8>,
    },
    /// Delivered; remembered so retransmitted segments are acknowledged again.
    Done { cumulative: u32 },
}

/// What a receiver keeps about one incarnation of one peer.
struct PeerRx {
    epoch: u32,
    floor: PacketId,
    seen: BTreeSet<PacketId>,
    transfers: BTreeMap<TransferId, RxTransfer>,
}

/// Everything about one peer.
struct Peer {
    rto: RtoEstimator,
    next_datagram: u64,
    pending: BTreeMap<PacketId, PendingDatagram>,
    rx: Option<PeerRx>,
}

/// A reliable-datagram and bulk-transfer endpoint that never touches the simulator.
///
/// Inputs carry the current (local) time; outputs queue up until the host drains them
/// with [`Endpoint::poll_output`] (or [`forward`](crate::transport::forward) does it
/// for a [`sim_core::Node`]). The same value could sit behind a real UDP socket.
pub struct Endpoint {
    config: TransportConfig,
    epoch: u32,
    outputs: VecDeque<Output>,
    next_token: u64,
    timers: BTreeMap<u64, TimerPurpose>,
    next_transfer: u32,
    transfers: BTreeMap<TransferId, TxTransfer>,
    peers: BTreeMap<NodeId, Peer>,
    stats: Stats,
}

impl Endpoint {
    /// An endpoint with `config`, which the caller has validated
    /// ([`TransportConfig::validate`]).
    ///
    /// # Panics
    /// In debug builds, if the configuration is invalid.
    pub fn new(config: TransportConfig) -> Self {
        debug_assert_eq!(config.validate(), Ok(()), "invalid transport config");
        Endpoint {
            config,
            epoch: 0,
            outputs: VecDeque::new(),
            next_token: 0,
            timers: BTreeMap::new(),
            next_transfer: 0,
            transfers: BTreeMap::new(),
            peers: BTreeMap::new(),
            stats: Stats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// This endpoint's incarnation (0, then one more per crash); every segment carries it.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The RTT estimator for `peer`, once the endpoint has sent to it.
    pub fn rto_estimator(&self, peer: NodeId) -> Option<&RtoEstimator> {
        self.peers.get(&peer).map(|p| &p.rto)
    }

    /// Transfers this endpoint is still sending.
    pub fn transfers_in_flight(&self) -> usize {
        self.transfers.len()
    }

    /// The next output, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The node crashed: forget every transfer, datagram and duplicate filter, and
    /// start a new incarnation (peers recognise it and drop what they kept about the
    /// old one). Counters and id sequences survive.
    pub fn crash(&mut self) {
        self.epoch += 1;
        self.outputs.clear();
        self.timers.clear();
        self.transfers.clear();
        for peer in self.peers.values_mut() {
            peer.pending.clear();
            peer.rx = None;
            peer.rto = RtoEstimator::new(self.config.rto_bounds());
        }
    }

    /// Send `payload` once, without acknowledgement.
    pub fn send_unreliable(&mut self, to: NodeId, payload: Payload) {
        self.stats.unreliable_sent += 1;
        let size = self.config.data_size(payload.len());
        let body = SegmentBody::Datagram {
            reliable: None,
            payload,
        };
        self.send(to, Segment::new(self.epoch, size, body));
    }

    /// Send `payload` reliably: retransmitted every `timeout` until acknowledged
    /// ([`Output::Acked`]) or `max_tries` transmissions went unanswered
    /// ([`Output::Lost`]).
    pub fn send_reliable(&mut self, now: SimTime, to: NodeId, payload: Payload) -> PacketId {
        self.stats.reliable_sent += 1;
        let size = self.config.data_size(payload.len());
        let bounds = self.config.rto_bounds();
        let peer = self.peers.entry(to).or_insert_with(|| Peer::new(bounds));
        let id = PacketId(peer.next_datagram);
        peer.next_datagram += 1;
        let floor = peer.pending.keys().next().copied().unwrap_or(id);
        let body = SegmentBody::Datagram {
            reliable: Some(ReliableHeader { id, floor }),
            payload,
        };
        let segment = Segment::new(self.epoch, size, body);
        let token = self.set_timer(self.config.timeout, TimerPurpose::Datagram { to, id });
        let peer = self.peers.get_mut(&to).expect("inserted above");
        peer.pending.insert(
            id,
            PendingDatagram {
                segment: segment.clone(),
                tries: 1,
                sent_at: now,
                token,
            },
        );
        self.send(to, segment);
        id
    }

    /// Start sending `data` to `to` in chunks of `chunk_bytes`, followed by an end
    /// marker, paced by the configured [`Mode`]. Ends with
    /// [`Output::TransferComplete`] or [`Output::TransferFailed`]; the receiver gets
    /// [`Output::TransferReceived`].
    pub fn start_transfer(&mut self, now: SimTime, to: NodeId, data: Arc<[u8]>) -> TransferId {
        let id = TransferId(self.next_transfer);
        self.next_transfer += 1;
        self.stats.transfers_started += 1;
        let chunk = self.config.chunk_bytes as usize;
        let end_seq = u32::try_from(data.len().div_ceil(chunk)).expect("fewer than 2^32 chunks");
        let (window, adaptive) = match self.config.mode {
            Mode::StopAndWait => (1, false),
            Mode::SelectiveRepeat => (self.config.window, true),
        };
        let bounds = self.config.rto_bounds();
        self.peers.entry(to).or_insert_with(|| Peer::new(bounds));
        let digest = checksum(&data);
        self.transfers.insert(
            id,
            TxTransfer {
                to,
                data,
                digest,
                end_seq,
                base: 0,
                next: 0,
                slots: VecDeque::new(),
                window,
                adaptive,
                started: now,
                transmissions: 0,
                peer_epoch: None,
            },
        );
        self.fill_window(now, id);
        id
    }

    /// A segment from `from` arrived.
    pub fn on_segment(&mut self, now: SimTime, from: NodeId, segment: Segment) {
        let epoch = segment.epoch();
        match segment.into_body() {
            SegmentBody::DatagramAck { id, echo } => self.on_datagram_ack(now, from, id, echo),
            SegmentBody::Ack {
                transfer,
                seq,
                cumulative,
                echo,
            } => self.on_transfer_ack(now, from, epoch, transfer, seq, cumulative, echo),
            SegmentBody::Datagram { reliable, payload } => {
                if self.rx_for(from, epoch).is_none() {
                    return;
                }
                self.on_datagram(from, epoch, reliable, payload);
            }
            body @ (SegmentBody::Data { .. } | SegmentBody::End { .. }) => {
                if self.rx_for(from, epoch).is_none() {
                    return;
                }
                self.on_transfer_segment(from, epoch, body);
            }
        }
    }

    /// A timer set through [`Output::SetTimer`] fired.
    pub fn on_timer(&mut self, now: SimTime, token: TimerToken) {
        let Some(purpose) = self.timers.remove(&token.0) else {
            self.stats.stale_timers += 1;
            return;
        };
        match purpose {
            TimerPurpose::Datagram { to, id } => self.on_datagram_timeout(now, to, id),
            TimerPurpose::Segment { transfer, seq } => self.on_segment_timeout(now, transfer, seq),
        }
    }

    // ----- plumbing -----

    fn send(&mut self, to: NodeId, segment: Segment) {
        self.stats.segments_sent += 1;
        self.stats.bytes_sent += u64::from(sim_core::Message::size_bytes(&segment));
        self.outputs.push_back(Output::Send { to, segment });
    }

    fn set_timer(&mut self, after: SimTime, purpose: TimerPurpose) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        self.timers.insert(token, purpose);
        self.outputs.push_back(Output::SetTimer {
            after,
            token: TimerToken(token),
        });
        token
    }

    fn rtt_sample(&mut self, peer: NodeId, rtt: SimTime) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.rto.sample(rtt);
        self.stats.rtt_samples += 1;
        let rto = p.rto.rto();
        self.outputs.push_back(Output::RttSample { peer, rtt, rto });
    }

    /// The receive state for `from`'s incarnation `epoch`, refreshed when the peer has
    /// restarted; `None` (and the segment is dropped) when it is from an older one.
    fn rx_for(&mut self, from: NodeId, epoch: u32) -> Option<&mut PeerRx> {
        let bounds = self.config.rto_bounds();
        let peer = self.peers.entry(from).or_insert_with(|| Peer::new(bounds));
        match &peer.rx {
            Some(rx) if rx.epoch > epoch => {
                self.stats.stale_segments += 1;
                return None;
            }
            Some(rx) if rx.epoch == epoch => {}
            _ => {
                peer.rx = Some(PeerRx {
                    epoch,
                    floor: PacketId(0),
                    seen: BTreeSet::new(),
                    transfers: BTreeMap::new(),
                });
            }
        }
        peer.rx.as_mut()
    }

    fn send_ack(&mut self, to: NodeId, body: SegmentBody) {
        self.stats.acks_sent += 1;
        let segment = Segment::new(self.epoch, self.config.ack_bytes, body);
        self.send(to, segment);
    }

    // ----- datagrams -----

    fn on_datagram(
        &mut self,
        from: NodeId,
        epoch: u32,
        reliable: Option<ReliableHeader>,
        payload: Payload,
    ) {
        let Some(ReliableHeader { id, floor }) = reliable else {
            self.stats.datagrams_delivered += 1;
            self.outputs.push_back(Output::Delivered {
                from,
                payload,
                reliable: false,
            });
            return;
        };
        self.send_ack(from, SegmentBody::DatagramAck { id, echo: epoch });
        let rx = self.rx_for(from, epoch).expect("checked by the caller");
        if floor > rx.floor {
            rx.floor = floor;
            rx.seen = rx.seen.split_off(&floor);
        }
        let fresh = id >= rx.floor && rx.seen.insert(id);
        if fresh {
            self.stats.datagrams_delivered += 1;
            self.outputs.push_back(Output::Delivered {
                from,
                payload,
                reliable: true,
            });
        } else {
            self.stats.duplicates_suppressed += 1;
        }
    }

    fn on_datagram_ack(&mut self, now: SimTime, from: NodeId, id: PacketId, echo: u32) {
        let pending = (echo == self.epoch)
            .then(|| self.peers.get_mut(&from)?.pending.remove(&id))
            .flatten();
        let Some(p) = pending else {
            self.stats.stale_acks += 1;
            return;
        };
        self.timers.remove(&p.token);
        self.stats.datagrams_acked += 1;
        self.stats.packets_acked += 1;
        self.stats.transmissions_of_acked += u64::from(p.tries);
        self.stats.datagram_transmissions_of_acked += u64::from(p.tries);
        if p.tries == 1 {
            self.rtt_sample(from, now - p.sent_at);
        }
        self.outputs.push_back(Output::Acked { to: from, id });
    }

    fn on_datagram_timeout(&mut self, now: SimTime, to: NodeId, id: PacketId) {
        let max_tries = self.config.max_tries;
        let Some(peer) = self.peers.get_mut(&to) else {
            return;
        };
        let Some(p) = peer.pending.get_mut(&id) else {
            return;
        };
        if p.tries >= max_tries {
            peer.pending.remove(&id);
            self.stats.datagrams_lost += 1;
            self.outputs.push_back(Output::Lost { to, id });
            return;
        }
        p.tries += 1;
        p.sent_at = now;
        let segment = p.segment.clone();
        self.stats.retransmissions += 1;
        let token = self.set_timer(self.config.timeout, TimerPurpose::Datagram { to, id });
        if let Some(p) = self
            .peers
            .get_mut(&to)
            .and_then(|peer| peer.pending.get_mut(&id))
        {
            p.token = token;
        }
        self.send(to, segment);
    }

    // ----- transfers, sending side -----

    /// Send new segments while the window allows.
    fn fill_window(&mut self, now: SimTime, id: TransferId) {
        loop {
            let Some(tr) = self.transfers.get_mut(&id) else {
                return;
            };
            if tr.next > tr.end_seq || tr.next >= tr.base.saturating_add(tr.window) {
                return;
            }
            let seq = tr.next;
            tr.next += 1;
            let segment = if seq < tr.end_seq {
                let chunk = self.config.chunk_bytes as usize;
                let start = seq as usize * chunk;
                let end = (start + chunk).min(tr.data.len());
                let payload = Payload::slice_of(&tr.data, start..end);
                let size = self.config.data_size(payload.len());
                let body = SegmentBody::Data {
                    transfer: id,
                    seq,
                    payload,
                };
                Segment::new(self.epoch, size, body)
            } else {
                let size = self.config.header_bytes + END_MARKER_BYTES;
                let body = SegmentBody::End {
                    transfer: id,
                    seq,
                    total_len: tr.data.len() as u64,
                    digest: tr.digest,
                };
                Segment::new(self.epoch, size, body)
            };
            tr.slots.push_back(Slot {
                segment,
                tries: 0,
                sent_at: now,
                token: 0,
                acked: false,
            });
            self.transmit(now, id, seq);
        }
    }

    /// (Re)transmit segment `seq` of transfer `id` and arm its timer.
    fn transmit(&mut self, now: SimTime, id: TransferId, seq: u32) {
        let Some(tr) = self.transfers.get_mut(&id) else {
            return;
        };
        let to = tr.to;
        let slot = &mut tr.slots[(seq - tr.base) as usize];
        let retransmissions = slot.tries;
        slot.tries += 1;
        slot.sent_at = now;
        let segment = slot.segment.clone();
        tr.transmissions += 1;
        let timeout = if tr.adaptive {
            self.peers[&to].rto.timeout_for(retransmissions)
        } else {
            self.config.timeout
        };
        self.stats.transfer_transmissions += 1;
        if retransmissions > 0 {
            self.stats.retransmissions += 1;
        }
        let token = self.set_timer(timeout, TimerPurpose::Segment { transfer: id, seq });
        let tr = self.transfers.get_mut(&id).expect("looked up above");
        let base = tr.base;
        tr.slots[(seq - base) as usize].token = token;
        self.send(to, segment);
    }

    fn on_segment_timeout(&mut self, now: SimTime, id: TransferId, seq: u32) {
        let max_tries = self.config.max_tries;
        let Some(tr) = self.transfers.get_mut(&id) else {
            return;
        };
        if seq < tr.base || seq >= tr.next {
            return;
        }
        let slot = &tr.slots[(seq - tr.base) as usize];
        if slot.acked {
            return;
        }
        let tries = slot.tries;
        if tries >= max_tries {
            self.stats.segments_lost += 1;
            self.fail(id, FailReason::SegmentLost { seq, tries });
            return;
        }
        if tr.adaptive {
            let to = tr.to;
            if let Some(p) = self.peers.get_mut(&to) {
                p.rto.on_expiry(tries - 1);
            }
        }
        self.transmit(now, id, seq);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_transfer_ack(
        &mut self,
        now: SimTime,
        from: NodeId,
        peer_epoch: u32,
        id: TransferId,
        seq: Option<u32>,
        cumulative: u32,
        echo: u32,
    ) {
        let tr = match self.transfers.get_mut(&id) {
            Some(tr) if tr.to == from && echo == self.epoch => tr,
            _ => {
                self.stats.stale_acks += 1;
                return;
            }
        };
        match tr.peer_epoch {
            None => tr.peer_epoch = Some(peer_epoch),
            Some(e) if e == peer_epoch => {}
            Some(e) if e > peer_epoch => {
                // An ACK from before the receiver restarted, still in flight.
                self.stats.stale_acks += 1;
                return;
            }
            Some(_) => {
                self.fail(id, FailReason::PeerRestarted);
                return;
            }
        }
        let mut newly_acked = 0u64;
        let mut sample = None;
        let (base, next) = (tr.base, tr.next);
        let mut ack_one =
            |tr: &mut TxTransfer, s: u32, timers: &mut BTreeMap<u64, TimerPurpose>| {
                let slot = &mut tr.slots[(s - base) as usize];
                if slot.acked {
                    return None;
                }
                slot.acked = true;
                timers.remove(&slot.token);
                newly_acked += 1;
                Some((slot.tries, slot.sent_at))
            };
        if let Some(seq) = seq.filter(|s| (base..next).contains(s))
            && let Some((tries, sent_at)) = ack_one(tr, seq, &mut self.timers)
        {
            self.stats.transmissions_of_acked += u64::from(tries);
            if tries == 1 {
                sample = Some(now - sent_at);
            }
        }
        for s in base..cumulative.min(next) {
            if let Some((tries, _)) = ack_one(tr, s, &mut self.timers) {
                self.stats.transmissions_of_acked += u64::from(tries);
            }
        }
        if newly_acked == 0 {
            self.stats.stale_acks += 1;
            return;
        }
        self.stats.packets_acked += newly_acked;
        while tr.slots.front().is_some_and(|s| s.acked) {
            tr.slots.pop_front();
            tr.base += 1;
        }
        let done = tr.base > tr.end_seq;
        if let Some(rtt) = sample {
            self.rtt_sample(from, rtt);
        }
        if done {
            let tr = self.transfers.remove(&id).expect("present");
            self.stats.transfers_completed += 1;
            self.outputs.push_back(Output::TransferComplete {
                to: tr.to,
                transfer: id,
                bytes: tr.data.len() as u64,
                packets: tr.end_seq + 1,
                transmissions: tr.transmissions,
                elapsed: now - tr.started,
            });
        } else {
            self.fill_window(now, id);
        }
    }

    fn fail(&mut self, id: TransferId, reason: FailReason) {
        let Some(tr) = self.transfers.remove(&id) else {
            return;
        };
        for slot in &tr.slots {
            self.timers.remove(&slot.token);
        }
        self.stats.transfers_failed += 1;
        self.outputs.push_back(Output::TransferFailed {
            to: tr.to,
            transfer: id,
            reason,
        });
    }

    // ----- transfers, receiving side -----

    fn on_transfer_segment(&mut self, from: NodeId, epoch: u32, body: SegmentBody) {
        let (id, seq, item) = match body {
            SegmentBody::Data {
                transfer,
                seq,
                payload,
            } => (transfer, seq, Held::Chunk(payload)),
            SegmentBody::End {
                transfer,
                seq,
                total_len,
                digest,
            } => (transfer, seq, Held::End { total_len, digest }),
            _ => unreachable!("only data and end markers come here"),
        };
        let window = self.config.window;
        let rx = self.rx_for(from, epoch).expect("checked by the caller");
        let state = rx.transfers.entry(id).or_insert_with(|| RxTransfer::Open {
            next: 0,
            held: BTreeMap::new(),
            assembled: Vec::new(),
        });
        let mut finished = None;
        let mut duplicate = false;
        let mut acked = Some(seq);
        let cumulative = match state {
            RxTransfer::Done { cumulative } => {
                duplicate = true;
                *cumulative
            }
            RxTransfer::Open {
                next,
                held,
                assembled,
            } => {
                if seq < *next || held.contains_key(&seq) {
                    duplicate = true;
                } else if seq >= next.saturating_add(window) {
                    // Not taken: answer with where the receiver stands (a sender
                    // whose receiver restarted learns it from the incarnation).
                    acked = None;
                } else {
                    held.insert(seq, item);
                    while let Some(item) = held.remove(next) {
                        *next += 1;
                        match item {
                            Held::Chunk(p) => assembled.extend_from_slice(p.as_bytes()),
                            Held::End { total_len, digest } => {
                                finished = Some((total_len, digest, std::mem::take(assembled)));
                                break;
                            }
                        }
                    }
                }
                *next
            }
        };
        if let Some((total_len, digest, data)) = finished {
            *state = RxTransfer::Done { cumulative };
            let intact = data.len() as u64 == total_len && checksum(&data) == digest;
            self.stats.transfers_received += 1;
            if !intact {
                self.stats.transfers_corrupt += 1;
            }
            self.outputs.push_back(Output::TransferReceived {
                from,
                transfer: id,
                data: data.into(),
                intact,
            });
        }
        if duplicate {
            self.stats.duplicates_suppressed += 1;
        }
        if acked.is_none() {
            self.stats.out_of_window += 1;
        }
        self.send_ack(
            from,
            SegmentBody::Ack {
                transfer: id,
                seq: acked,
                cumulative,
                echo: epoch,
            },
        );
    }
}

impl Peer {
    fn new(bounds: crate::transport::rto::RtoBounds) -> Self {
        Peer {
            rto: RtoEstimator::new(bounds),
            next_datagram: 0,
            pending: BTreeMap::new(),
            rx: None,
        }
    }
}
