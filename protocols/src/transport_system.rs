//! The `transport` system: senders transfer generated payloads to receivers through
//! [`crate::transport`], and exchange reliable and unreliable datagrams, so that a
//! scenario (and the theory tests below) can measure the layer: transmissions per
//! packet, goodput, delivered bytes, lost packets, retransmissions, RTT and RTO.
//!
//! Sender k sends to receiver k mod the number of receivers: `transfers` transfers of
//! `payload_bytes` one after the other (`gap` apart), and meanwhile `datagrams`
//! reliable and `unreliable_datagrams` unreliable datagrams of `datagram_bytes`, one of
//! each every `datagram_interval`.
//!
//! Payloads are generated from the seed: the first 8 bytes are a key derived from the
//! seed, the sender's name and the transfer's number, the rest is a pseudo-random
//! stream of that key. The receiver reads the key and regenerates the bytes, so it
//! checks every byte against what was sent (on top of the endpoint's own length and
//! checksum check).
//!
//! # Metrics
//! - `transmissions_per_packet`: transmissions of acknowledged transfer segments
//!   (chunks and end markers) per segment: the ARQ figure, `1/((1-p)(1-q))` for
//!   stop-and-wait over losses p and q. `datagram_transmissions_per_packet` is the same
//!   for reliable datagrams.
//! - `goodput_bps`: payload bits of completed transfers over the sum of their
//!   durations (start to last ACK, at the sender).
//! - `delivered_bytes`: payload bytes of transfers the receivers verified byte for byte.
//! - `lost_packets`: reliable datagrams reported lost plus transfer segments given up.
//! - `retransmissions`, `duplicates_suppressed`, `segments_acked`, `transfers_*`,
//!   `datagrams_acked`, `datagrams_delivered`, `unreliable_delivered`; sample sets
//!   `rtt_ms` and `rto_ms` (every valid RTT sample and the RTO after it),
//!   `transfer_time_ms`, `transfer_transmissions_per_packet`.
//! - `transmissions_per_packet.reference` and `goodput_bps.reference`: what the
//!   analytic stop-and-wait model predicts for this run, when it applies (one sender in
//!   stop-and-wait mode over a link of constant latency and rate, the timeout longer
//!   than the round trip); reports draw them next to the measured values.
//!
//! # Invariants
//! `payload_intact` (every delivered transfer and datagram matches what was sent),
//! `at_most_once` (no reliable datagram delivered twice by one receiver incarnation), `transfers_complete` (at the
//! end, every live sender completed all its transfers; a failure is reported with its
//! reason). A sender tries a failed transfer again, after `gap`, until it completes:
//! its record of which transfers completed survives its crashes. Liveness is judged at
//! the end, which a scenario's `quiet` period puts after the recovery time.
//!
//! # Link parameters and MTU
//! The links come from the scenario's `network` section. `validate` reads them from
//! the setup's [`LinkTable`](dsim_system::LinkTable) and refuses, at load time, a
//! chunk (or end marker, or datagram) that does not fit the MTU of a sender's link to
//! its receiver when that link does not fragment, and an ACK that does not fit the way
//! back. A `SetLink` fault can still shrink an MTU during a run: a sender checks its
//! link again when it starts a transfer, starts none if the chunks cannot pass, and the
//! `transfers_complete` invariant reports why.

use crate::transport::analytic::{ModelLink, stop_and_wait_goodput, stop_and_wait_round_trip};
use crate::transport::{
    Endpoint, Mode, Output, Payload, Segment, TimerToken, TransportConfig, TransportHost,
    fill_pseudo_random, forward,
};
use dsim_system::{Setup, System, TopologyRule, add_declared, round_robin_pairs};
use serde::{Deserialize, Serialize};
use sim_core::{
    Context, Ctx, Invariant, Latency, Metrics, Node, NodeId, Role, SimTime, Simulation, TimerTag,
    World,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Parameters of the transport system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransportParams {
    /// Bytes of each transferred payload (at least 8: the key that identifies it).
    pub payload_bytes: u64,
    /// Transfers each sender makes, one after the other.
    pub transfers: u32,
    /// Wait between the end of one transfer and the start of the next.
    pub gap: SimTime,
    /// Reliable datagrams each sender sends.
    pub datagrams: u32,
    /// Unreliable datagrams each sender sends.
    pub unreliable_datagrams: u32,
    /// Payload bytes of a datagram (at least 8: its number).
    pub datagram_bytes: u32,
    /// Time between datagrams.
    pub datagram_interval: SimTime,
    /// The endpoints' configuration (mode, chunk, header, timeout, tries, window, RTO).
    pub transport: TransportConfig,
}

impl Default for TransportParams {
    fn default() -> Self {
        TransportParams {
            payload_bytes: 1_000_000,
            transfers: 1,
            gap: SimTime::ZERO,
            datagrams: 0,
            unreliable_datagrams: 0,
            datagram_bytes: 64,
            datagram_interval: SimTime::from_millis(10),
            transport: TransportConfig::default(),
        }
    }
}

/// Largest payload the system generates (it lives in memory three times).
const MAX_PAYLOAD: u64 = 1 << 30;

/// Timers of a transport node.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum TransportTimer {
    /// The endpoint's timer.
    Transport(TimerToken),
    /// Start the next transfer.
    NextTransfer,
    /// Send the next datagrams.
    NextDatagram,
}

impl TimerTag for TransportTimer {
    fn kind(&self) -> &'static str {
        match self {
            TransportTimer::Transport(_) => "transport",
            TransportTimer::NextTransfer => "next_transfer",
            TransportTimer::NextDatagram => "next_datagram",
        }
    }
}

/// What a sender has done.
#[derive(Clone, Debug, Default)]
pub struct SenderState {
    target: Option<NodeId>,
    /// Transfers started (a transfer tried again counts once per try).
    pub started: u32,
    /// Transfers completed.
    pub completed: u32,
    /// Transfers failed (or never started because the link cannot carry them). The
    /// sender tries a failed transfer again, `gap` later: the list of transfers to make
    /// and which of them completed is the sender's record (its disk), and survives a
    /// crash, so a transfer failed by a crash is tried again after the restart.
    pub failed: u32,
    /// Why transfers failed, in order.
    pub failures: Vec<String>,
    /// Payload bytes of completed transfers.
    pub bytes_completed: u64,
    /// Sum of completed transfers' durations.
    pub elapsed_total: SimTime,
    /// Reliable datagrams sent.
    pub datagrams_sent: u32,
    /// Unreliable datagrams sent.
    pub unreliable_sent: u32,
    /// Reliable datagrams acknowledged.
    pub datagrams_acked: u32,
    /// Reliable datagrams reported lost.
    pub datagrams_lost: u32,
    /// Why the link cannot carry this sender's segments, if it cannot.
    pub refused: Option<String>,
}

/// What a receiver has seen.
#[derive(Clone, Debug, Default)]
pub struct ReceiverState {
    /// Transfers delivered by the endpoint.
    pub received: u32,
    /// Transfers whose every byte matched the generated payload.
    pub verified: u32,
    /// Transfers that did not match (or failed the endpoint's check).
    pub corrupt: u32,
    /// Payload bytes of verified transfers.
    pub delivered_bytes: u64,
    /// Reliable datagrams delivered.
    pub datagrams: u64,
    /// Unreliable datagrams delivered.
    pub unreliable: u64,
    /// Datagrams whose bytes did not match.
    pub corrupt_datagrams: u64,
    /// Reliable datagrams delivered a second time (must stay 0).
    pub duplicate_deliveries: u64,
    /// Payload keys of the transfers verified: what the application received, which
    /// survives a crash of the receiver (it was handed over).
    pub verified_keys: BTreeSet<u64>,
    seen: BTreeSet<(NodeId, u64)>,
}

/// A sender: its transport endpoint, and what it has done.
pub struct Sender {
    /// The node's transport endpoint.
    pub endpoint: Endpoint,
    /// Transfers and datagrams sent, and how they ended.
    pub state: SenderState,
    seed: u64,
    params: Arc<TransportParams>,
}

/// A receiver: its transport endpoint, and what it has seen.
pub struct Receiver {
    /// The node's transport endpoint.
    pub endpoint: Endpoint,
    /// Transfers and datagrams received, and how they checked.
    pub state: ReceiverState,
    params: Arc<TransportParams>,
}

sim_core::roles! {
    /// A node of the transport system: a sender or a receiver.
    pub enum TransportNode {
        /// Sends transfers and datagrams.
        Sender(Sender),
        /// Receives and checks them.
        Receiver(Receiver),
    }
}

impl TransportNode {
    /// The node's transport endpoint, whichever its role.
    pub fn endpoint(&self) -> &Endpoint {
        match self {
            TransportNode::Sender(s) => &s.endpoint,
            TransportNode::Receiver(r) => &r.endpoint,
        }
    }
}

impl TransportHost for Sender {
    fn wrap_segment(segment: Segment) -> Self::Msg {
        segment
    }
    fn wrap_timer(token: TimerToken) -> TransportTimer {
        TransportTimer::Transport(token)
    }
}

impl TransportHost for Receiver {
    fn wrap_segment(segment: Segment) -> Self::Msg {
        segment
    }
    fn wrap_timer(token: TimerToken) -> TransportTimer {
        TransportTimer::Transport(token)
    }
}

/// FNV-1a of a name, to key payloads by sender.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// The payload of `len` bytes identified by `key`: the key, then its pseudo-random
/// stream.
fn keyed_bytes(key: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    let k = key.to_le_bytes();
    let head = len.min(8);
    v[..head].copy_from_slice(&k[..head]);
    if len > 8 {
        fill_pseudo_random(key, &mut v[8..]);
    }
    v
}

/// The key a sender's transfer or datagram payload starts with.
fn payload_key(seed: u64, sender: &str, kind: u64, index: u64) -> u64 {
    let mut h = seed ^ name_hash(sender).rotate_left(17) ^ (kind << 62);
    h = (h ^ index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^ (h >> 29)
}

/// Record a round-trip sample and the RTO after it (senders and receivers alike).
fn observe_rtt(ctx: &mut impl Context<Segment, TransportTimer>, rtt: SimTime, rto: SimTime) {
    let m = ctx.metrics();
    m.observe("rtt_ms", rtt.as_millis_f64());
    m.observe("rto_ms", rto.as_millis_f64());
}

impl Sender {
    /// Drain the endpoint and act on its events.
    fn pump(&mut self, ctx: &mut impl Ctx<Self>) {
        for event in forward(&mut self.endpoint, ctx) {
            self.on_event(ctx, event);
        }
    }

    fn on_event(&mut self, ctx: &mut impl Ctx<Self>, event: Output) {
        let (s, params) = (&mut self.state, &self.params);
        match event {
            Output::TransferComplete {
                bytes,
                elapsed,
                transmissions,
                packets,
                ..
            } => {
                s.completed += 1;
                s.bytes_completed += bytes;
                s.elapsed_total += elapsed;
                let m = ctx.metrics();
                m.observe("transfer_time_ms", elapsed.as_millis_f64());
                m.observe(
                    "transfer_transmissions_per_packet",
                    transmissions as f64 / f64::from(packets),
                );
                if s.completed < params.transfers {
                    ctx.set_timer(params.gap, TransportTimer::NextTransfer);
                }
            }
            Output::TransferFailed {
                transfer, reason, ..
            } => {
                s.failed += 1;
                let why = format!("transfer {} failed: {reason}", transfer.0);
                ctx.annotate(&why);
                s.failures.push(why);
                // The application handles a transfer declared failed: it tries the same
                // payload again.
                ctx.set_timer(params.gap, TransportTimer::NextTransfer);
            }
            Output::Acked { .. } => s.datagrams_acked += 1,
            Output::Lost { id, .. } => {
                s.datagrams_lost += 1;
                ctx.annotate(&format!("datagram {} lost", id.0));
            }
            Output::RttSample { rtt, rto, .. } => observe_rtt(ctx, rtt, rto),
            // Receivers send a sender acknowledgements only, so nothing is delivered to
            // it; `forward` handles sends and timers.
            Output::Delivered { .. }
            | Output::TransferReceived { .. }
            | Output::Send { .. }
            | Output::SetTimer { .. } => {}
        }
    }

    fn start_next_transfer(&mut self, ctx: &mut impl Ctx<Self>) {
        let (seed, len, total) = (self.seed, self.params.payload_bytes, self.params.transfers);
        let s = &mut self.state;
        let Some(target) = s.target else { return };
        // Transfers go one after the other: the one to make is the first not completed.
        if s.refused.is_some() || s.completed >= total {
            return;
        }
        let index = s.completed;
        s.started += 1;
        let key = payload_key(seed, ctx.name(), 0, u64::from(index));
        let data: Arc<[u8]> = keyed_bytes(key, len as usize).into();
        self.endpoint.start_transfer(ctx.monotonic(), target, data);
        self.pump(ctx);
    }

    fn send_datagrams(&mut self, ctx: &mut impl Ctx<Self>) {
        let params = Arc::clone(&self.params);
        let seed = self.seed;
        let s = &mut self.state;
        let Some(target) = s.target else { return };
        if s.refused.is_some() {
            return;
        }
        let size = params.datagram_bytes as usize;
        let reliable = (s.datagrams_sent < params.datagrams).then(|| {
            s.datagrams_sent += 1;
            u64::from(s.datagrams_sent - 1)
        });
        let unreliable = (s.unreliable_sent < params.unreliable_datagrams).then(|| {
            s.unreliable_sent += 1;
            u64::from(s.unreliable_sent - 1)
        });
        let more =
            s.datagrams_sent < params.datagrams || s.unreliable_sent < params.unreliable_datagrams;
        let name = ctx.name().to_owned();
        if let Some(i) = reliable {
            let key = payload_key(seed, &name, 1, i);
            let payload = Payload::new(keyed_bytes(key, size));
            self.endpoint
                .send_reliable(ctx.monotonic(), target, payload);
        }
        if let Some(i) = unreliable {
            let key = payload_key(seed, &name, 2, i);
            self.endpoint
                .send_unreliable(target, Payload::new(keyed_bytes(key, size)));
        }
        if more {
            ctx.set_timer(params.datagram_interval, TransportTimer::NextDatagram);
        }
        self.pump(ctx);
    }
}

impl Node for Sender {
    type Msg = Segment;
    type Timer = TransportTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        let params = &self.params;
        let s = &mut self.state;
        let Some(target) = s.target else { return };
        if s.refused.is_some() {
            return;
        }
        let extra = (params.datagrams + params.unreliable_datagrams > 0)
            .then_some(("datagram_bytes", params.datagram_bytes));
        if let Err(e) = params.transport.check_link(ctx.link_params(target), extra) {
            let why = format!("link to {} refused: {e}", ctx.name_of(target));
            ctx.annotate(&why);
            s.failed += params.transfers - s.completed;
            s.failures.push(why.clone());
            s.refused = Some(why);
            return;
        }
        self.start_next_transfer(ctx);
        self.send_datagrams(ctx);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Segment) {
        self.endpoint.on_segment(ctx.monotonic(), from, msg);
        self.pump(ctx);
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: TransportTimer) {
        match timer {
            TransportTimer::Transport(token) => {
                self.endpoint.on_timer(ctx.monotonic(), token);
                self.pump(ctx);
            }
            TransportTimer::NextTransfer => self.start_next_transfer(ctx),
            TransportTimer::NextDatagram => self.send_datagrams(ctx),
        }
    }

    fn on_crash(&mut self) {
        self.endpoint.crash();
        let s = &mut self.state;
        let in_flight = s.started.saturating_sub(s.completed + s.failed);
        if in_flight > 0 {
            s.failed += in_flight;
            s.failures.push("the sender crashed mid-transfer".into());
        }
    }
}

impl Receiver {
    /// Drain the endpoint and act on its events.
    fn pump(&mut self, ctx: &mut impl Ctx<Self>) {
        for event in forward(&mut self.endpoint, ctx) {
            self.on_event(ctx, event);
        }
    }

    fn on_event(&mut self, ctx: &mut impl Ctx<Self>, event: Output) {
        let r = &mut self.state;
        match event {
            Output::RttSample { rtt, rto, .. } => observe_rtt(ctx, rtt, rto),
            Output::Delivered {
                from,
                payload,
                reliable,
            } => {
                let bytes = payload.as_bytes();
                let index = bytes.get(..8).map_or(u64::MAX, |b| {
                    u64::from_le_bytes(b.try_into().expect("8 bytes"))
                });
                if reliable {
                    r.datagrams += 1;
                    if !r.seen.insert((from, index)) {
                        r.duplicate_deliveries += 1;
                    }
                } else {
                    r.unreliable += 1;
                }
                if keyed_bytes(index, bytes.len()) != bytes {
                    r.corrupt_datagrams += 1;
                }
            }
            Output::TransferReceived {
                from,
                transfer,
                data,
                intact,
            } => {
                r.received += 1;
                let key = data
                    .get(..8)
                    .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
                let matches = intact
                    && data.len() as u64 == self.params.payload_bytes
                    && key.is_some_and(|k| keyed_bytes(k, data.len()) == *data);
                if matches {
                    r.verified += 1;
                    r.verified_keys.extend(key);
                    r.delivered_bytes += data.len() as u64;
                } else {
                    r.corrupt += 1;
                    ctx.annotate(&format!(
                        "transfer {} from {} arrived corrupt",
                        transfer.0,
                        ctx.name_of(from)
                    ));
                }
            }
            // A receiver sends acknowledgements only, which are not themselves
            // acknowledged: none of its sends completes, fails or is lost. `forward`
            // handles sends and timers.
            Output::TransferComplete { .. }
            | Output::TransferFailed { .. }
            | Output::Acked { .. }
            | Output::Lost { .. }
            | Output::Send { .. }
            | Output::SetTimer { .. } => {}
        }
    }
}

impl Node for Receiver {
    type Msg = Segment;
    type Timer = TransportTimer;

    fn on_start(&mut self, _ctx: &mut impl Ctx<Self>) {}

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Segment) {
        self.endpoint.on_segment(ctx.monotonic(), from, msg);
        self.pump(ctx);
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: TransportTimer) {
        match timer {
            TransportTimer::Transport(token) => {
                self.endpoint.on_timer(ctx.monotonic(), token);
                self.pump(ctx);
            }
            // Only a sender sets these.
            TransportTimer::NextTransfer | TransportTimer::NextDatagram => {}
        }
    }

    fn on_crash(&mut self) {
        self.endpoint.crash();
        // The endpoint's duplicate filter was volatile, so at-most-once holds per
        // receiver incarnation: the record of what was seen restarts with it.
        self.state.seen.clear();
    }
}

/// Every transfer a receiver delivered matched, byte for byte, what was sent (checked
/// on the receiver an event changed: its counts change only in its own events).
struct PayloadIntact;

impl Invariant<TransportNode> for PayloadIntact {
    fn name(&self) -> &str {
        "payload_intact"
    }
    fn check(&mut self, world: &World<'_, TransportNode>) -> Result<(), String> {
        for (id, _, node) in world.changed_nodes() {
            if let Some(Receiver { state: r, .. }) = Receiver::of(node)
                && (r.corrupt > 0 || r.corrupt_datagrams > 0)
            {
                return Err(format!(
                    "{} received {} corrupt transfer(s) and {} corrupt datagram(s)",
                    world.name(id),
                    r.corrupt,
                    r.corrupt_datagrams
                ));
            }
        }
        Ok(())
    }
}

/// No reliable datagram is delivered twice by one incarnation of a receiver (a
/// receiver that restarts has lost its duplicate filter, and may deliver once more
/// what it delivered before the crash). Checked on the receiver an event changed.
struct AtMostOnce;

impl Invariant<TransportNode> for AtMostOnce {
    fn name(&self) -> &str {
        "at_most_once"
    }
    fn check(&mut self, world: &World<'_, TransportNode>) -> Result<(), String> {
        for (id, _, node) in world.changed_nodes() {
            if let Some(Receiver { state: r, .. }) = Receiver::of(node)
                && r.duplicate_deliveries > 0
            {
                return Err(format!(
                    "{} delivered {} reliable datagram(s) twice",
                    world.name(id),
                    r.duplicate_deliveries
                ));
            }
        }
        Ok(())
    }
}

/// At the end every live sender has completed all its transfers; a failure is reported
/// with its latest reason.
///
/// This is liveness judged after the recovery time: the run ends at least the
/// scenario's `quiet` period after its last fault, and a sender tries a failed transfer
/// again (one given up after `max_tries`, or cut by its own crash or its receiver's),
/// so once the faults stop every transfer completes within the time it takes on a
/// clean network plus one backed-off RTO. A transfer that can never complete (a link
/// that refuses its chunks, a sender that skips one) still fails it.
struct TransfersComplete;

impl Invariant<TransportNode> for TransfersComplete {
    fn name(&self) -> &str {
        "transfers_complete"
    }
    fn check_at_end(&mut self, world: &World<'_, TransportNode>) -> Result<(), String> {
        for (id, node) in world.live_nodes() {
            let Some(Sender {
                state: s,
                params,
                seed,
                ..
            }) = Sender::of(node)
            else {
                continue;
            };
            if s.completed < params.transfers {
                let why = s
                    .failures
                    .last()
                    .map_or("the run ended first".to_owned(), Clone::clone);
                return Err(format!(
                    "{} completed {} of {} transfers ({} failed): {why}",
                    world.name(id),
                    s.completed,
                    params.transfers,
                    s.failed
                ));
            }
            // Completed at the sender means verified at its receiver.
            let verified = s.target.map(|t| world.node(t).1).and_then(Receiver::of);
            let name = world.name(id);
            for i in 0..params.transfers {
                let key = payload_key(*seed, name, 0, u64::from(i));
                if !verified.is_some_and(|r| r.state.verified_keys.contains(&key)) {
                    return Err(format!(
                        "{name} completed {} of {} transfers, but transfer {i} was never delivered intact",
                        s.completed, params.transfers
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The transport system.
pub struct Transport;

impl System for Transport {
    const NAME: &'static str = "transport";
    const DESCRIPTION: &'static str = "reliable datagrams and chunked transfers (stop-and-wait or selective repeat) over lossy links";
    const ROLES: &'static [&'static str] = &["sender", "receiver"];
    const KEY_METRICS: &'static [&'static str] =
        &["goodput_bps", "transmissions_per_packet", "rtt_ms"];
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    type Params = TransportParams;
    type Node = TransportNode;

    fn validate(params: &TransportParams, setup: &Setup<'_>) -> Result<(), String> {
        params
            .transport
            .validate()
            .map_err(|e| format!("params.transport.{e}"))?;
        if params.transfers > 0 && !(8..=MAX_PAYLOAD).contains(&params.payload_bytes) {
            return Err(format!(
                "params.payload_bytes must be between 8 and {MAX_PAYLOAD}, got {}",
                params.payload_bytes
            ));
        }
        let datagrams = params.datagrams + params.unreliable_datagrams > 0;
        if datagrams && params.datagram_bytes < 8 {
            return Err(format!(
                "params.datagram_bytes must be at least 8 (a datagram carries its number), got {}",
                params.datagram_bytes
            ));
        }
        let extra = datagrams.then_some(("datagram_bytes", params.datagram_bytes));
        for (sender, receiver) in round_robin_pairs(setup.nodes, "sender", "receiver") {
            let (s, r) = (sender.name.as_str(), receiver.name.as_str());
            params
                .transport
                .check_link(setup.network.params(s, r), extra)
                .map_err(|e| format!("the link {s} -> {r}: {e}"))?;
            params
                .transport
                .check_ack_link(setup.network.params(r, s))
                .map_err(|e| format!("the link {r} -> {s}: {e}"))?;
        }
        let count = |role: &str| setup.nodes.iter().filter(|n| n.role == role).count();
        if count("sender") == 0 || count("receiver") == 0 {
            return Err(
                "transport needs at least one node with role \"sender\" and one with role \"receiver\""
                    .into(),
            );
        }
        Ok(())
    }

    fn build(params: &TransportParams, setup: &Setup<'_>, sim: &mut Simulation<TransportNode>) {
        let shared = Arc::new(params.clone());
        add_declared(sim, setup.nodes, |d| {
            let endpoint = Endpoint::new(params.transport.clone());
            let params = Arc::clone(&shared);
            if d.role == "sender" {
                Sender {
                    endpoint,
                    state: SenderState::default(),
                    seed: setup.seed,
                    params,
                }
                .into()
            } else {
                Receiver {
                    endpoint,
                    state: ReceiverState::default(),
                    params,
                }
                .into()
            }
        });
        for (sender, receiver) in round_robin_pairs(setup.nodes, "sender", "receiver") {
            let (s, r) = (sim.lookup(&sender.name), sim.lookup(&receiver.name));
            if let (Some(s), Some(target)) = (s, r)
                && let Some(sender) = Sender::of_mut(sim.node_mut(s))
            {
                sender.state.target = Some(target);
            }
        }
    }

    fn invariants(_params: &TransportParams) -> Vec<Box<dyn Invariant<TransportNode>>> {
        vec![
            Box::new(PayloadIntact),
            Box::new(AtMostOnce),
            Box::new(TransfersComplete),
        ]
    }

    fn report(params: &TransportParams, sim: &Simulation<TransportNode>, metrics: &mut Metrics) {
        let (mut tx_acked, mut acked) = (0u64, 0u64);
        let (mut dg_tx_acked, mut dg_acked_packets) = (0u64, 0u64);
        let mut lost = 0u64;
        let mut retransmissions = 0u64;
        let mut duplicates = 0u64;
        let mut bits = 0.0;
        let mut secs = 0.0;
        let (mut completed, mut failed) = (0u64, 0u64);
        let (mut verified, mut corrupt, mut delivered) = (0u64, 0u64, 0u64);
        let (mut dg_acked, mut dg_delivered, mut unreliable) = (0u64, 0u64, 0u64);
        for (_, _, node) in sim.world().nodes() {
            let st = node.endpoint().stats();
            tx_acked += st.transmissions_of_acked - st.datagram_transmissions_of_acked;
            acked += st.packets_acked - st.datagrams_acked;
            dg_tx_acked += st.datagram_transmissions_of_acked;
            dg_acked_packets += st.datagrams_acked;
            lost += st.datagrams_lost + st.segments_lost;
            retransmissions += st.retransmissions;
            duplicates += st.duplicates_suppressed;
            match node {
                TransportNode::Sender(Sender { state: s, .. }) => {
                    bits += s.bytes_completed as f64 * 8.0;
                    secs += s.elapsed_total.as_secs_f64();
                    completed += u64::from(s.completed);
                    failed += u64::from(s.failed);
                    dg_acked += u64::from(s.datagrams_acked);
                }
                TransportNode::Receiver(Receiver { state: r, .. }) => {
                    verified += u64::from(r.verified);
                    corrupt += u64::from(r.corrupt);
                    delivered += r.delivered_bytes;
                    dg_delivered += r.datagrams;
                    unreliable += r.unreliable;
                }
            }
        }
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        metrics.set(
            "transmissions_per_packet",
            ratio(tx_acked as f64, acked as f64),
        );
        metrics.set(
            "datagram_transmissions_per_packet",
            ratio(dg_tx_acked as f64, dg_acked_packets as f64),
        );
        metrics.set("goodput_bps", ratio(bits, secs));
        metrics.set("delivered_bytes", delivered as f64);
        metrics.set("lost_packets", lost as f64);
        metrics.set("retransmissions", retransmissions as f64);
        metrics.set("duplicates_suppressed", duplicates as f64);
        metrics.set("segments_acked", acked as f64);
        metrics.set("transfers_completed", completed as f64);
        metrics.set("transfers_failed", failed as f64);
        metrics.set("transfers_verified", verified as f64);
        metrics.set("transfers_corrupt", corrupt as f64);
        metrics.set("datagrams_acked", dg_acked as f64);
        metrics.set("datagrams_delivered", dg_delivered as f64);
        metrics.set("unreliable_delivered", unreliable as f64);
        if let Some((tries, goodput)) = stop_and_wait_prediction(params, sim) {
            metrics.set("transmissions_per_packet.reference", tries);
            metrics.set("goodput_bps.reference", goodput);
        }
    }
}

/// What the analytic stop-and-wait model predicts for this run, (transmissions per
/// packet, goodput in b/s): when there is one sender in stop-and-wait mode, both
/// directions of its link have the same constant latency and rate, and the timeout
/// outlasts the round trip (see [`crate::transport::analytic`]); `None` otherwise.
fn stop_and_wait_prediction(
    params: &TransportParams,
    sim: &Simulation<TransportNode>,
) -> Option<(f64, f64)> {
    let config = &params.transport;
    if config.mode != Mode::StopAndWait {
        return None;
    }
    let world = sim.world();
    let mut senders = world
        .nodes()
        .filter_map(|(id, _, n)| Sender::of(n).map(|s| (id, s.state.target)));
    let (Some((sender, Some(receiver))), None) = (senders.next(), senders.next()) else {
        return None;
    };
    let (data, ack) = (
        sim.network().params(sender, receiver),
        sim.network().params(receiver, sender),
    );
    let (Latency::Constant(one_way), Some(bandwidth_bps)) = (&data.latency, data.bandwidth_bps)
    else {
        return None;
    };
    if (&ack.latency, ack.bandwidth_bps) != (&data.latency, data.bandwidth_bps) {
        return None;
    }
    let model = ModelLink {
        one_way: *one_way,
        bandwidth_bps,
        data_loss: data.loss,
        ack_loss: ack.loss,
    };
    if stop_and_wait_round_trip(config, &model) >= config.timeout.as_secs_f64() {
        return None;
    }
    Some((
        model.expected_transmissions(),
        stop_and_wait_goodput(config, params.payload_bytes, &model),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Mode;
    use crate::transport::analytic::{ModelLink, stop_and_wait_goodput, stop_and_wait_round_trip};
    use dsim_system::{LinkTable, NodeDecl};
    use sim_core::{Latency, LinkParams, Recorder, SimConfig};

    /// A sender alone, under a [`Recorder`]: on start it puts its transfer's first
    /// segment on the link to its receiver and sets the endpoint's retransmission timer;
    /// over a link whose MTU its chunks do not fit it sends nothing and records why.
    #[test]
    fn a_sender_starts_its_transfer_or_refuses_the_link() {
        let params = Arc::new(TransportParams {
            payload_bytes: 10_000,
            ..TransportParams::default()
        });
        let rx = NodeId(1);
        let sender = || Sender {
            endpoint: Endpoint::new(params.transport.clone()),
            state: SenderState {
                target: Some(rx),
                ..SenderState::default()
            },
            seed: 1,
            params: Arc::clone(&params),
        };
        let mut ctx = Recorder::new(&["tx", "rx"], "tx", 1);
        let mut tx = sender();
        tx.on_start(&mut ctx);
        assert!(!ctx.sent.is_empty());
        assert!(ctx.sent.iter().all(|(to, _)| *to == rx));
        let endpoint_timer = |t: &TransportTimer| matches!(t, TransportTimer::Transport(_));
        assert!(ctx.timers.iter().any(|(_, _, t)| endpoint_timer(t)));
        assert_eq!((tx.state.started, tx.state.failed), (1, 0));

        let mut ctx = Recorder::new(&["tx", "rx"], "tx", 1);
        ctx.link = LinkParams {
            mtu: Some(64),
            fragmentation: false,
            ..LinkParams::default()
        };
        let mut tx = sender();
        tx.on_start(&mut ctx);
        assert!(ctx.sent.is_empty() && ctx.timers.is_empty());
        assert_eq!((tx.state.started, tx.state.failed), (0, 1));
        assert!(
            ctx.annotations[0].starts_with("link to rx refused: "),
            "{:?}",
            ctx.annotations
        );
        assert_eq!(tx.state.refused.as_ref(), Some(&ctx.annotations[0]));
    }

    /// `data` on tx -> rx and `ack` on rx -> tx.
    fn pair_links(data: LinkParams, ack: LinkParams) -> LinkTable {
        let mut t = LinkTable::default();
        t.overrides.insert(("tx".into(), "rx".into()), data);
        t.overrides.insert(("rx".into(), "tx".into()), ack);
        t
    }

    fn decl(name: &str, role: &str) -> NodeDecl {
        NodeDecl {
            name: name.into(),
            role: role.into(),
            start: Some(SimTime::ZERO),
        }
    }

    fn nodes() -> Vec<NodeDecl> {
        vec![decl("tx", "sender"), decl("rx", "receiver")]
    }

    /// A sender and a receiver with `data` on tx -> rx and `ack` on rx -> tx, run until
    /// nothing is left to do; returns the metrics and the fingerprint.
    fn run_pair(
        params: &TransportParams,
        seed: u64,
        data: LinkParams,
        ack: LinkParams,
    ) -> (Metrics, sim_core::Fingerprint) {
        run_pair_with_faults(params, seed, data, ack, &[])
    }

    /// [`run_pair`] with `faults` injected (node 0 is tx, node 1 rx).
    fn run_pair_with_faults(
        params: &TransportParams,
        seed: u64,
        data: LinkParams,
        ack: LinkParams,
        faults: &[sim_core::ScheduledFault],
    ) -> (Metrics, sim_core::Fingerprint) {
        let nodes = nodes();
        let network = pair_links(data, ack);
        let setup = Setup {
            seed,
            nodes: &nodes,
            links: &[],
            network: &network,
            files: dsim_system::ScenarioFiles::none(),
        };
        Transport::validate(params, &setup).expect("valid parameters");
        let mut sim = Simulation::new(SimConfig {
            seed,
            ..SimConfig::default()
        });
        Transport::build(params, &setup, &mut sim);
        network.install(&mut sim).unwrap();
        for inv in Transport::invariants(params) {
            sim.add_invariant(inv);
        }
        for fault in faults {
            sim.schedule_fault(fault.clone());
        }
        let out = sim.run_until(SimTime::MAX);
        assert_eq!(out.violation, None);
        let mut m = sim.metrics();
        Transport::report(params, &sim, &mut m);
        assert_eq!(m.value("transfers_completed"), f64::from(params.transfers));
        assert_eq!(
            m.value("delivered_bytes"),
            params.payload_bytes as f64 * f64::from(params.transfers)
        );
        (m, sim.fingerprint())
    }

    fn link(one_way: SimTime, bps: u64, loss: f64) -> LinkParams {
        LinkParams {
            latency: Latency::Constant(one_way),
            bandwidth_bps: Some(bps),
            loss,
            ..LinkParams::default()
        }
    }

    /// Stop-and-wait over data loss p and ACK loss q: transmissions per packet within
    /// 2% of 1/((1-p)(1-q)) and goodput within 3% of the analytic figure, for all 16
    /// combinations of p, q in {0, 0.01, 0.1, 0.3}.
    ///
    /// N is geometric with success s = (1-p)(1-q): the relative standard error of its
    /// mean over n packets is sqrt((1-s)/n). n is chosen so that 2% is at least 4.5
    /// standard errors (n >= 50,625 (1-s)); the goodput's error is smaller still, as
    /// the fixed part of each packet's time dilutes the variation.
    #[test]
    fn stop_and_wait_matches_the_arq_formula_and_analytic_goodput() {
        let (d, bps) = (SimTime::from_millis(2), 1_000_000);
        let cfg = TransportConfig {
            mode: Mode::StopAndWait,
            chunk_bytes: 200,
            timeout: SimTime::from_millis(10),
            max_tries: 10_000,
            ..TransportConfig::default()
        };
        let clean = ModelLink {
            one_way: d,
            bandwidth_bps: bps,
            data_loss: 0.0,
            ack_loss: 0.0,
        };
        let rtt = stop_and_wait_round_trip(&cfg, &clean);
        assert!(cfg.timeout.as_secs_f64() > rtt, "the model needs T > RTT");
        let losses: [f64; 4] = [0.0, 0.01, 0.1, 0.3];
        println!(
            "   p     q   packets   E[N] pred  E[N] meas   err    goodput pred  goodput meas   err"
        );
        for (i, &p) in losses.iter().enumerate() {
            for (j, &q) in losses.iter().enumerate() {
                let s = (1.0 - p) * (1.0 - q);
                let chunks = ((50_625.0 * (1.0 - s)).ceil() as u64).max(1_000);
                let packets = chunks + 1;
                assert!(4.5 * ((1.0 - s) / packets as f64).sqrt() <= 0.02);
                let params = TransportParams {
                    payload_bytes: chunks * u64::from(cfg.chunk_bytes),
                    transport: cfg.clone(),
                    ..TransportParams::default()
                };
                let seed = 100 + (i * 4 + j) as u64;
                let (m, _) = run_pair(&params, seed, link(d, bps, p), link(d, bps, q));
                let model = ModelLink {
                    data_loss: p,
                    ack_loss: q,
                    ..clean
                };
                let tries = model.expected_transmissions();
                let measured = m.value("transmissions_per_packet");
                let err_n = measured / tries - 1.0;
                let goodput = stop_and_wait_goodput(&cfg, params.payload_bytes, &model);
                let got = m.value("goodput_bps");
                let err_g = got / goodput - 1.0;
                println!(
                    "{p:5} {q:5} {packets:8} {tries:10.4} {measured:10.4} {:+6.2}% {goodput:13.0} {got:13.0} {:+6.2}%",
                    err_n * 100.0,
                    err_g * 100.0
                );
                assert!(
                    err_n.abs() < 0.02,
                    "p={p} q={q}: E[N] {measured} vs {tries}"
                );
                assert!(
                    err_g.abs() < 0.03,
                    "p={p} q={q}: goodput {got} vs {goodput}"
                );
                if p == 0.0 && q == 0.0 {
                    // No randomness left: the model is exact up to nanosecond rounding.
                    assert!(err_g.abs() < 1e-6, "lossless goodput {got} vs {goodput}");
                }
            }
        }
    }

    /// On a clean long-fat link (100 Mb/s, 50 ms each way) stop-and-wait reaches its
    /// analytic L/(RTT + L/R), and selective repeat with a window above the
    /// bandwidth-delay product reaches at least 90% of the link's capacity.
    #[test]
    fn selective_repeat_fills_a_long_fat_pipe_where_stop_and_wait_cannot() {
        let (d, bps) = (SimTime::from_millis(50), 100_000_000);
        let clean = link(d, bps, 0.0);
        let payload_bytes = 30_000_000;
        let sw = TransportConfig::default();
        let params = |transport: TransportConfig| TransportParams {
            payload_bytes,
            transport,
            ..TransportParams::default()
        };
        let (m, _) = run_pair(&params(sw.clone()), 1, clean.clone(), clean.clone());
        let sw_goodput = m.value("goodput_bps");
        // Textbook: one packet of L bits per RTT + L/R.
        let l_bits = f64::from(sw.header_bytes + sw.chunk_bytes) * 8.0;
        let textbook = l_bits / (2.0 * d.as_secs_f64() + l_bits / bps as f64);
        let model = ModelLink {
            one_way: d,
            bandwidth_bps: bps,
            data_loss: 0.0,
            ack_loss: 0.0,
        };
        let exact = stop_and_wait_goodput(&sw, payload_bytes, &model);
        println!(
            "stop-and-wait: measured {sw_goodput:.0} b/s, L/(RTT+L/R) {textbook:.0} b/s ({:+.2}%), \
             exact model {exact:.0} b/s ({:+.3}%)",
            (sw_goodput / textbook - 1.0) * 100.0,
            (sw_goodput / exact - 1.0) * 100.0
        );
        assert!((sw_goodput / textbook - 1.0).abs() < 0.03);
        assert!((sw_goodput / exact - 1.0).abs() < 1e-6);

        let sr = TransportConfig {
            mode: Mode::SelectiveRepeat,
            window: 32,
            ..TransportConfig::default()
        };
        // The window must cover the bandwidth-delay product for the pipe to fill.
        assert!(
            f64::from(sr.window) * l_bits / bps as f64
                > 2.0 * d.as_secs_f64() + l_bits / bps as f64
        );
        let (m, _) = run_pair(&params(sr), 1, clean.clone(), clean);
        let sr_goodput = m.value("goodput_bps");
        println!(
            "selective repeat: {sr_goodput:.0} b/s = {:.1}% of {bps} b/s, {:.1}x stop-and-wait; \
             retransmissions {}",
            sr_goodput / bps as f64 * 100.0,
            sr_goodput / sw_goodput,
            m.value("retransmissions")
        );
        assert!(sr_goodput >= 0.9 * bps as f64, "{sr_goodput}");
        assert_eq!(m.value("retransmissions"), 0.0, "no spurious timeouts");
    }

    /// The endpoints run on their node's monotonic clock: a clock step on the sender in
    /// the middle of its transfers, forward or back, changes none of its timeouts, its
    /// round-trip estimates or its measured transfer times. On the wall clock a step
    /// back made a transfer's time negative and a step forward counted in its goodput.
    #[test]
    fn a_clock_step_changes_no_transfer_timing() {
        let lossy = LinkParams {
            latency: Latency::Constant(SimTime::from_millis(10)),
            bandwidth_bps: Some(2_000_000),
            loss: 0.1,
            ..LinkParams::default()
        };
        let params = TransportParams {
            payload_bytes: 200_000,
            transfers: 3,
            transport: TransportConfig {
                mode: Mode::SelectiveRepeat,
                chunk_bytes: 1000,
                window: 8,
                ..TransportConfig::default()
            },
            ..TransportParams::default()
        };
        let (calm, _) = run_pair(&params, 3, lossy.clone(), lossy.clone());
        assert!(
            calm.value("retransmissions") > 0.0,
            "the timeouts are exercised"
        );
        for by in [-5_000_000_000, 5_000_000_000] {
            let step = sim_core::ScheduledFault {
                at: SimTime::from_millis(500),
                fault: sim_core::Fault::ClockJump {
                    node: NodeId(0),
                    by: sim_core::ClockOffset(by),
                },
            };
            let (stepped, _) =
                run_pair_with_faults(&params, 3, lossy.clone(), lossy.clone(), &[step]);
            assert_eq!(stepped, calm, "a step of {by} ns moved the transfers");
        }
    }

    /// Selective repeat over a lossy, jittery, duplicating, reordering link delivers
    /// every byte, and a run is a function of its seed.
    #[test]
    fn lossy_selective_repeat_is_correct_and_deterministic() {
        let rough = LinkParams {
            latency: Latency::Uniform {
                min: SimTime::from_millis(5),
                max: SimTime::from_millis(15),
            },
            jitter: SimTime::from_millis(2),
            bandwidth_bps: Some(20_000_000),
            loss: 0.05,
            duplicate: 0.02,
            reorder: 0.05,
            reorder_delay: SimTime::from_millis(10),
            ..LinkParams::default()
        };
        let params = TransportParams {
            payload_bytes: 400_000,
            transfers: 2,
            datagrams: 30,
            unreliable_datagrams: 30,
            transport: TransportConfig {
                mode: Mode::SelectiveRepeat,
                chunk_bytes: 1400,
                window: 16,
                max_tries: 20,
                ..TransportConfig::default()
            },
            ..TransportParams::default()
        };
        let (m1, f1) = run_pair(&params, 9, rough.clone(), rough.clone());
        let (m2, f2) = run_pair(&params, 9, rough.clone(), rough.clone());
        let (_, f3) = run_pair(&params, 10, rough.clone(), rough);
        assert_eq!(f1, f2, "same seed, same fingerprint");
        assert_eq!(m1, m2);
        assert_ne!(f1, f3, "another seed, another run");
        assert!(m1.value("retransmissions") > 0.0);
        assert!(m1.value("duplicates_suppressed") > 0.0);
        assert_eq!(m1.value("transfers_verified"), 2.0);
        assert_eq!(
            m1.value("datagrams_acked") + m1.value("lost_packets"),
            30.0,
            "every reliable datagram is acknowledged or reported lost"
        );
        assert!(m1.value("datagrams_delivered") >= m1.value("datagrams_acked"));
    }

    /// `params` validated and built on `setup` at its seed, its link table installed,
    /// without invariants: for tests that plant state or faults before running.
    fn built(params: &TransportParams, setup: &Setup<'_>) -> Simulation<TransportNode> {
        Transport::validate(params, setup).unwrap();
        let mut sim = Simulation::new(SimConfig {
            seed: setup.seed,
            ..SimConfig::default()
        });
        Transport::build(params, setup, &mut sim);
        setup.network.install(&mut sim).unwrap();
        sim
    }

    /// A receiver that crashes mid-transfer and restarts: the sender learns it from the
    /// next ACK's incarnation and fails that transfer at once (rather than after its
    /// whole back-off), tries it again, both transfers complete intact, and no datagram
    /// is delivered twice by the same incarnation.
    #[test]
    fn a_receiver_restart_fails_the_transfer_in_flight_and_the_next_one_completes() {
        use sim_core::{Fault, ScheduledFault};
        let nodes = nodes();
        let clean = link(SimTime::from_millis(10), 20_000_000, 0.0);
        let network = pair_links(clean.clone(), clean);
        let setup = Setup {
            seed: 3,
            nodes: &nodes,
            links: &[],
            network: &network,
            files: dsim_system::ScenarioFiles::none(),
        };
        let params = TransportParams {
            payload_bytes: 2_000_000,
            transfers: 2,
            datagrams: 50,
            transport: TransportConfig {
                mode: Mode::SelectiveRepeat,
                window: 4,
                ..TransportConfig::default()
            },
            ..TransportParams::default()
        };
        let mut sim = built(&params, &setup);
        let rx = sim.lookup("rx").unwrap();
        for (at, fault) in [(300, Fault::Crash(rx)), (400, Fault::Restart(rx))] {
            sim.schedule_fault(ScheduledFault {
                at: SimTime::from_millis(at),
                fault,
            });
        }
        for inv in Transport::invariants(&params) {
            sim.add_invariant(inv);
        }
        let out = sim.run_until(SimTime::from_secs(60));
        assert_eq!(out.violation, None);
        let (_, tx) = sim.node(sim.lookup("tx").unwrap());
        let s = &Sender::of(tx).expect("tx is the sender").state;
        assert_eq!((s.completed, s.failed, s.started), (2, 1, 3));
        assert!(s.failures[0].contains("restarted"), "{:?}", s.failures);
        let mut m = sim.metrics();
        Transport::report(&params, &sim, &mut m);
        assert_eq!(m.value("transfers_verified"), 2.0);
        assert_eq!(m.value("datagrams_acked") + m.value("lost_packets"), 50.0);
        // Failed fast: the second transfer was done within a couple of seconds.
        assert!(m.value("transfer_time_ms") < 2000.0);
        assert!(out.end_time < SimTime::from_secs(5), "{}", out.end_time);
    }

    fn refused_on(params: TransportParams, network: &LinkTable) -> String {
        let nodes = nodes();
        let setup = Setup {
            seed: 0,
            nodes: &nodes,
            links: &[],
            network,
            files: dsim_system::ScenarioFiles::none(),
        };
        Transport::validate(&params, &setup).expect_err("must be refused")
    }

    fn refused(params: TransportParams) -> String {
        refused_on(params, &LinkTable::default())
    }

    #[test]
    fn bad_parameters_are_refused_at_load_time() {
        let with = |transport: TransportConfig| TransportParams {
            transport,
            ..TransportParams::default()
        };
        let d = TransportConfig::default;
        let e = refused(with(TransportConfig { window: 0, ..d() }));
        assert!(
            e.starts_with("params.transport.window must be at least 1"),
            "{e}"
        );
        let e = refused(with(TransportConfig {
            timeout: SimTime::ZERO,
            ..d()
        }));
        assert!(
            e.starts_with("params.transport.timeout must be positive"),
            "{e}"
        );
        let e = refused(with(TransportConfig {
            max_tries: 0,
            ..d()
        }));
        assert!(e.starts_with("params.transport.max_tries"), "{e}");
        // The report's 60,516-byte packets over Ethernet without IP fragmentation.
        let ethernet = LinkParams {
            mtu: Some(1500),
            ..LinkParams::default()
        };
        let on_ethernet = pair_links(ethernet.clone(), ethernet.clone());
        let e = refused_on(TransportParams::default(), &on_ethernet);
        assert!(
            e.starts_with("the link tx -> rx: chunk_bytes (60508)"),
            "{e}"
        );
        assert!(e.contains("exceeds the link MTU of 1500"), "{e}");
        let fragmenting = LinkParams {
            fragmentation: true,
            ..ethernet.clone()
        };
        let nodes = nodes();
        let network = pair_links(fragmenting, ethernet);
        let setup = Setup {
            seed: 0,
            nodes: &nodes,
            links: &[],
            network: &network,
            files: dsim_system::ScenarioFiles::none(),
        };
        Transport::validate(&TransportParams::default(), &setup).unwrap();
        let e = refused(TransportParams {
            payload_bytes: 3,
            ..TransportParams::default()
        });
        assert!(e.starts_with("params.payload_bytes"), "{e}");
        let only_senders = [decl("a", "sender")];
        let e = Transport::validate(
            &TransportParams::default(),
            &Setup {
                seed: 0,
                nodes: &only_senders,
                links: &[],
                network: &LinkTable::default(),
                files: dsim_system::ScenarioFiles::none(),
            },
        )
        .unwrap_err();
        assert!(e.contains("\"receiver\""), "{e}");
    }

    /// A link whose MTU shrank after loading (a `SetLink` fault, say): a sender whose
    /// link cannot carry its chunks says so when it starts, and the liveness invariant
    /// reports it.
    #[test]
    fn an_mtu_shrunk_after_loading_is_caught_at_start() {
        let nodes = nodes();
        let setup = Setup {
            seed: 0,
            nodes: &nodes,
            links: &[],
            network: &LinkTable::default(),
            files: dsim_system::ScenarioFiles::none(),
        };
        let params = TransportParams::default();
        Transport::validate(&params, &setup).unwrap();
        let mut sim = Simulation::new(SimConfig {
            default_link: LinkParams {
                mtu: Some(1500),
                ..LinkParams::default()
            },
            ..SimConfig::default()
        });
        Transport::build(&params, &setup, &mut sim);
        for inv in Transport::invariants(&params) {
            sim.add_invariant(inv);
        }
        let v = sim
            .run_until(SimTime::from_secs(1))
            .violation
            .expect("reported");
        assert_eq!(v.invariant, "transfers_complete");
        assert!(
            v.message.contains("exceeds the link MTU of 1500"),
            "{}",
            v.message
        );
        assert_eq!(sim.metrics().value("net.messages_sent"), 0.0);
    }

    /// Sender "tx" and receiver "rx" over clean 10 ms links, 4 transfers of 200 kB in
    /// stop-and-wait, with `faults`; the sender's record is `plant`ed with a bug first.
    /// Returns the violation, if any.
    /// A fault at a time in ms, made for the named node.
    type TimedFault<'a> = (u64, fn(NodeId) -> sim_core::Fault<NodeId>, &'a str);

    fn run_with(
        faults: &[TimedFault<'_>],
        plant: impl FnOnce(&mut SenderState),
    ) -> Option<sim_core::Violation> {
        use sim_core::ScheduledFault;
        let nodes = nodes();
        let clean = link(SimTime::from_millis(10), 20_000_000, 0.0);
        let network = pair_links(clean.clone(), clean);
        let setup = Setup {
            seed: 5,
            nodes: &nodes,
            links: &[],
            network: &network,
            files: dsim_system::ScenarioFiles::none(),
        };
        let params = TransportParams {
            payload_bytes: 200_000,
            transfers: 4,
            gap: SimTime::from_millis(100),
            transport: TransportConfig {
                chunk_bytes: 10_000,
                ..TransportConfig::default()
            },
            ..TransportParams::default()
        };
        let mut sim = built(&params, &setup);
        let tx = sim.lookup("tx").unwrap();
        plant(&mut Sender::of_mut(sim.node_mut(tx)).unwrap().state);
        for &(at, fault, target) in faults {
            let id = sim.lookup(target).unwrap();
            sim.schedule_fault(ScheduledFault {
                at: SimTime::from_millis(at),
                fault: fault(id),
            });
        }
        for inv in Transport::invariants(&params) {
            sim.add_invariant(inv);
        }
        sim.run_until(SimTime::from_secs(120)).violation
    }

    /// The sender crashes mid-transfer and restarts 1 ms later (what `dsim explore`
    /// found): the crash failed the transfer in flight, the restarted sender makes it
    /// again, and `transfers_complete` holds. The receiver crashing is also survived.
    #[test]
    fn a_transfer_cut_by_a_crash_is_made_again() {
        let crash: fn(NodeId) -> sim_core::Fault<NodeId> = sim_core::Fault::Crash;
        let restart: fn(NodeId) -> sim_core::Fault<NodeId> = sim_core::Fault::Restart;
        for who in ["tx", "rx"] {
            let v = run_with(&[(150, crash, who), (151, restart, who)], |_| {});
            assert_eq!(v, None, "{who} crashed");
        }
    }

    /// `transfers_complete` still catches a transfer lost for good: chunks dropped for
    /// ever (the link to the receiver cut and never restored), and a sender that skips
    /// a transfer (its record claims transfer 0 done before it was made), which only
    /// the receiver's record of what it verified shows.
    #[test]
    fn transfers_complete_catches_a_transfer_lost_for_good() {
        assert_eq!(run_with(&[], |_| {}), None, "the clean run holds");
        let cut: fn(NodeId) -> sim_core::Fault<NodeId> = |rx| sim_core::Fault::CutLink {
            a: NodeId(0),
            b: rx,
            one_way: true,
        };
        let v = run_with(&[(150, cut, "rx")], |_| {}).expect("chunks dropped for ever");
        assert_eq!(v.invariant, "transfers_complete");
        assert!(v.message.contains("completed 0 of 4"), "{}", v.message);
        let v = run_with(&[], |s| s.completed = 1).expect("a skipped transfer");
        assert_eq!(v.invariant, "transfers_complete");
        assert!(
            v.message.contains("transfer 0 was never delivered"),
            "{}",
            v.message
        );
    }
}
