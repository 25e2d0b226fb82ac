//! System 5, the OTT live-streaming overlay with self-healing distribution trees (the
//! ESR TP2 report, in Portuguese; summarised in SYSTEMS.md section 5).
//!
//! Roles: a `bootstrapper` holding the neighbour table ([`bootstrap`]), `server`s that
//! flood the overlay and source the videos ([`server`]), overlay `node`s and points of
//! presence (`pop`, the same program reachable by clients, [`overlay`]), and `client`s
//! watching one or more streams ([`client`]). Floods and the parent-choice rule are in
//! [`flood`], the packets in [`wire`], the invariants in [`invariants`]. Every role is a
//! [`Node`] of its own over a [`Host`] (the endpoint of its control packets and its
//! counters); [`OttNode`] is their enum, made by [`sim_core::roles!`].
//!
//! Choices the report leaves open, as modelled here:
//! - Control packets are reliable datagrams of the [`transport`](crate::transport)
//!   layer (ACK within `transport.timeout`, 100 ms, up to `max_tries`, 5, then the
//!   sender is told the packet is lost), encoded as bincode-like bytes ([`wire`]). The
//!   bootstrapper's TCP exchange is modelled as one reliable datagram each way, asked
//!   and answered again until it goes through, as a TCP client reconnects
//!   ([`bootstrap::Bootstrap`]).
//! - Video travels as unreliable datagrams of `ts_per_datagram` (7) MPEG-TS packets of
//!   188 bytes, 1316 bytes as in IPTV, plus a 16-byte stream id and sequence number
//!   and the transport's 8-byte header; they go straight to the network as
//!   [`OttMsg::Video`] (what `send_unreliable` would send, without hashing 1316 bytes
//!   of payload into the fingerprint per datagram). At 8 Mb/s of TS payload that is one
//!   datagram every 1.316 ms.
//! - Servers flood every `flood_interval` (1 s; the report does not give it, and it must
//!   be well under the 3 s parent timeout).
//! - The latency the choice rule compares is the flood's delay from the server through
//!   each neighbour (mean of the last 10), not a neighbour RTT: a child never sends
//!   packets to its parent in steady state (floods are not sent back to nodes they
//!   visited), so it has no RTT to measure; the flood's `created_at` is what the report
//!   carries for this purpose. Clients use the ping RTT, as the report does.
//! - Timeouts are checked every `check_interval` (100 ms), which adds at most that much
//!   to every detection time.
//! - A node forwards the first copy of each flood round it receives (to every
//!   neighbour that is not the sender and not in `visited`, as the report says); later
//!   copies only update the route through their sender. Forwarding every copy costs one
//!   packet per simple path from the server, which explodes once adoptions
//!   (`NewNeighbour`) densify the overlay.
//! - Additions the report does not have, needed to keep the trees loop-free and live
//!   when parents are chosen from routes up to `parent_timeout` old: a parent tells its
//!   children the stream's path from the server (`Feeding`, an empty path while it has
//!   no parent itself); a child whose parent's path runs through itself, or is empty,
//!   drops that parent and chooses again, passing it over for one `parent_timeout`
//!   (the stale routes that made the loop age out by then) or, for an empty path, two
//!   `video_timeout`s (that parent finds a path on its next flood). A parent that has neither delivered nor
//!   announced a path within `video_timeout` is dropped the same way (and not chosen
//!   again for two `video_timeout`s); a parent that did announce one is simply asked
//!   again (the report's watchdog). A node leaving a parent sends it a stop.
//! - Overlay links are logical: the IP network under them is the scenario's topology
//!   (a full mesh by default), which is what lets a node adopt its grandparent.

pub mod bootstrap;
pub mod client;
pub mod flood;
pub mod invariants;
pub mod overlay;
mod report;
pub mod server;
#[cfg(test)]
mod tests;
pub mod wire;

use crate::transport::{
    Endpoint, Output, Payload, Segment, TimerToken, TransportConfig, TransportHost, forward,
};
use bootstrap::{Bootstrapper, parse_toml_table};
use client::{Client, Watch};
use dsim_system::{Setup, System, TopologyRule, add_declared};
use overlay::Overlay;
use serde::{Deserialize, Serialize};
use server::Server;
use sim_core::{Context, Ctx, Invariant, Message, Metrics, Node, NodeId, SimTime, Simulation};
use std::collections::{BTreeMap, BTreeSet};
use wire::{Control, TS_PACKET_BYTES, VideoId, VideoPacket};

/// Bytes of the transport header in front of a video datagram.
pub const VIDEO_TRANSPORT_HEADER_BYTES: u32 = 8;

/// A video a server starts streaming at runtime (it spreads with the next flood).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddedVideo {
    /// When.
    pub at: SimTime,
    /// Which server.
    pub server: String,
    /// The video id.
    pub video: VideoId,
}

/// A client watching a video.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchSpec {
    /// The client.
    pub client: String,
    /// The video id.
    pub video: VideoId,
    /// When the viewer presses play.
    pub start: SimTime,
    /// When the viewer presses stop (never when absent).
    #[serde(default)]
    pub stop: Option<SimTime>,
}

/// OTT parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OttParams {
    /// The bootstrapper's table: each server, node and PoP with its neighbours.
    pub neighbours: BTreeMap<String, Vec<String>>,
    /// The same table in the report's TOML format (`"n1" = [ "s1", "n2" ]` per line);
    /// give this or `neighbours`, not both.
    pub neighbours_toml: Option<String>,
    /// The videos each server streams from the start.
    pub videos: BTreeMap<String, Vec<VideoId>>,
    /// Videos added at runtime.
    pub added_videos: Vec<AddedVideo>,
    /// What the clients watch.
    pub watches: Vec<WatchSpec>,
    /// The PoPs each client may use (clients not listed use every PoP).
    pub client_pops: BTreeMap<String, Vec<String>>,
    /// Bit rate of every stream's MPEG-TS payload (8 Mb/s in the report).
    pub bitrate_bps: u64,
    /// TS packets per video datagram (7: 1316 bytes).
    pub ts_per_datagram: u32,
    /// Period of the servers' floods.
    pub flood_interval: SimTime,
    /// No flood from a neighbour for this long: unresponsive (3 s).
    pub parent_timeout: SimTime,
    /// No video of a stream for this long: request it again (500 ms).
    pub video_timeout: SimTime,
    /// Client ping period (1 s).
    pub ping_interval: SimTime,
    /// Pings missed before a PoP drops a client, and a client a PoP (3).
    pub missed_pings: u32,
    /// Period of the timeout checks.
    pub check_interval: SimTime,
    /// Latency samples averaged by the choice rule (10).
    pub latency_window: usize,
    /// Candidates within this fraction of the best mean latency are equivalent (0.3).
    pub tolerance: f64,
    /// The player's buffer: a gap between datagrams longer than this is a stall.
    pub stall_after: SimTime,
    /// Width of the bins of the clients' received bit rate over time.
    pub bitrate_bin: SimTime,
    /// How long a second parent of a stream may linger (a stop in flight) before it
    /// counts as a duplicate feed.
    pub settle: SimTime,
    /// The reliable datagram layer under the control packets.
    pub transport: TransportConfig,
}

impl Default for OttParams {
    fn default() -> Self {
        OttParams {
            neighbours: BTreeMap::new(),
            neighbours_toml: None,
            videos: BTreeMap::new(),
            added_videos: Vec::new(),
            watches: Vec::new(),
            client_pops: BTreeMap::new(),
            bitrate_bps: 8_000_000,
            ts_per_datagram: 7,
            flood_interval: SimTime::from_secs(1),
            parent_timeout: SimTime::from_secs(3),
            video_timeout: SimTime::from_millis(500),
            ping_interval: SimTime::from_secs(1),
            missed_pings: 3,
            check_interval: SimTime::from_millis(100),
            latency_window: 10,
            tolerance: 0.3,
            stall_after: SimTime::from_millis(200),
            bitrate_bin: SimTime::from_millis(250),
            settle: SimTime::from_secs(1),
            transport: TransportConfig::default(),
        }
    }
}

impl OttParams {
    /// The timing every core uses.
    pub fn timing(&self) -> Timing {
        let bits = u128::from(self.ts_per_datagram) * u128::from(TS_PACKET_BYTES) * 8;
        let interval = bits * 1_000_000_000 / u128::from(self.bitrate_bps.max(1));
        Timing {
            flood_interval: self.flood_interval,
            parent_timeout: self.parent_timeout,
            video_timeout: self.video_timeout,
            ping_interval: self.ping_interval,
            missed_pings: self.missed_pings,
            check_interval: self.check_interval,
            latency_window: self.latency_window,
            tolerance: self.tolerance,
            stall_after: self.stall_after,
            bitrate_bin: self.bitrate_bin,
            ts_per_datagram: self.ts_per_datagram,
            datagram_interval: SimTime(u64::try_from(interval).unwrap_or(u64::MAX).max(1)),
        }
    }

    /// The neighbour table by name, from `neighbours` or `neighbours_toml`.
    pub fn table(&self) -> Result<BTreeMap<String, Vec<String>>, String> {
        match &self.neighbours_toml {
            Some(_) if !self.neighbours.is_empty() => {
                Err("give params.neighbours or params.neighbours_toml, not both".into())
            }
            Some(text) => parse_toml_table(text).map_err(|e| format!("params.{e}")),
            None => Ok(self.neighbours.clone()),
        }
    }

    /// How long a client may wait for a stream its PoP can reach, from the moment it
    /// asked, its stream stopped, or the stream became reachable:
    /// detection of a dead parent or PoP (`max(parent_timeout, missed_pings x
    /// ping_interval)`) + one `check_interval` + one `flood_interval` (a stream pending
    /// after a catastrophic death waits for the next flood) + one `ping_interval` (a
    /// client learns a PoP's videos from its next ping answer) + one `video_timeout` (a
    /// request that found no parent is sent again by the watchdog) + `max_tries x
    /// timeout` (a control packet's retransmissions). Path delays (milliseconds) are
    /// covered by the slack of the sums (every term is at least 100 ms).
    pub fn delivery_bound(&self) -> SimTime {
        let t = self.timing();
        let tries = SimTime(self.transport.timeout.0 * u64::from(self.transport.max_tries));
        self.parent_timeout.max(t.client_timeout())
            + self.check_interval
            + self.flood_interval
            + self.ping_interval
            + self.video_timeout
            + tries
    }
}

/// The timing and choice settings every core reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Flood period.
    pub flood_interval: SimTime,
    /// Parent silence before it is unresponsive.
    pub parent_timeout: SimTime,
    /// Video silence before a re-request.
    pub video_timeout: SimTime,
    /// Client ping period.
    pub ping_interval: SimTime,
    /// Pings missed before a client or PoP is dropped.
    pub missed_pings: u32,
    /// Timeout check period.
    pub check_interval: SimTime,
    /// Latency samples averaged.
    pub latency_window: usize,
    /// Equivalence band of the choice rule.
    pub tolerance: f64,
    /// Player buffer.
    pub stall_after: SimTime,
    /// Bit-rate bin width.
    pub bitrate_bin: SimTime,
    /// TS packets per datagram.
    pub ts_per_datagram: u32,
    /// Time between two datagrams of a stream.
    pub datagram_interval: SimTime,
}

impl Timing {
    /// Silence after which a PoP drops a client and a client a PoP.
    pub fn client_timeout(&self) -> SimTime {
        SimTime(self.ping_interval.0 * u64::from(self.missed_pings))
    }
}

/// Messages of the OTT system.
#[derive(Clone, Debug, Hash, serde::Serialize, serde::Deserialize)]
pub enum OttMsg {
    /// A transport segment (control packets and their ACKs).
    Segment(Segment),
    /// A video datagram.
    Video(VideoPacket),
}

impl Message for OttMsg {
    fn size_bytes(&self) -> u32 {
        match self {
            OttMsg::Segment(s) => s.size_bytes(),
            OttMsg::Video(p) => p.payload_bytes() + VIDEO_TRANSPORT_HEADER_BYTES,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            OttMsg::Segment(s) => s.kind(),
            OttMsg::Video(_) => "video",
        }
    }
}

/// Timers of the OTT system.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum OttTimer {
    /// A transport timer.
    Transport(TimerToken),
    /// The periodic timeout check.
    Tick,
    /// A server's flood period.
    Flood,
    /// A client's ping period.
    Ping,
    /// A server's next datagram of `video`.
    VideoDatagram {
        /// The stream.
        video: VideoId,
    },
    /// A server starts streaming `video`.
    AddVideo {
        /// The video.
        video: VideoId,
    },
    /// A client starts watch `index`.
    WatchStart {
        /// Index into the client's watches.
        index: usize,
    },
    /// A client stops watch `index`.
    WatchStop {
        /// Index into the client's watches.
        index: usize,
    },
}

impl sim_core::TimerTag for OttTimer {
    fn kind(&self) -> &'static str {
        match self {
            OttTimer::Transport(_) => "transport",
            OttTimer::Tick => "tick",
            OttTimer::Flood => "flood",
            OttTimer::Ping => "ping",
            OttTimer::VideoDatagram { .. } => "video_datagram",
            OttTimer::AddVideo { .. } => "add_video",
            OttTimer::WatchStart { .. } => "watch_start",
            OttTimer::WatchStop { .. } => "watch_stop",
        }
    }
}

sim_core::roles! {
    /// A node of the OTT system: the role it plays.
    pub enum OttNode {
        /// The bootstrapper.
        Bootstrapper(Bootstrapper),
        /// A streaming server.
        Server(Server),
        /// An overlay node or PoP.
        Overlay(Overlay),
        /// A client.
        Client(Client),
    }
}

impl OttNode {
    /// The host of the role it plays: its endpoint and counters.
    pub fn host(&self) -> &Host {
        match self {
            OttNode::Bootstrapper(b) => &b.host,
            OttNode::Server(s) => &s.host,
            OttNode::Overlay(o) => &o.host,
            OttNode::Client(c) => &c.host,
        }
    }
}

impl TransportHost for OttNode {
    fn wrap_segment(segment: Segment) -> OttMsg {
        OttMsg::Segment(segment)
    }
    fn wrap_timer(token: TimerToken) -> OttTimer {
        OttTimer::Transport(token)
    }
}

/// What every OTT role runs on: the reliable datagram endpoint of its control packets,
/// the system's timing, and the node's traffic counters.
///
/// A handler sends video and sets timers through its context at once, and queues its
/// control packets on the endpoint, whose segments (and retransmission timers) leave,
/// in the order sent, when the handler ends ([`Host::flush`]).
pub struct Host {
    /// The reliable datagram endpoint of the control packets.
    pub endpoint: Endpoint,
    /// The timing every role reads.
    pub timing: Timing,
    /// Video bytes this node put on the network.
    pub video_bytes_sent: u64,
    /// Control packets that did not decode (dropped).
    pub undecodable: u64,
}

impl Host {
    /// A host with a new endpoint of `transport`.
    pub fn new(transport: TransportConfig, timing: Timing) -> Self {
        Host {
            endpoint: Endpoint::new(transport),
            timing,
            video_bytes_sent: 0,
            undecodable: 0,
        }
    }

    /// Queue the control packet `msg` to `to` as a reliable datagram; it leaves when
    /// the handler ends ([`Host::flush`]).
    pub fn send_control(&mut self, now: SimTime, to: NodeId, msg: &Control) {
        self.endpoint
            .send_reliable(now, to, Payload::new(msg.encode()));
    }

    /// Send a video datagram to `to`, straight to the network.
    pub fn send_video(
        &mut self,
        ctx: &mut impl Context<OttMsg, OttTimer>,
        to: NodeId,
        packet: VideoPacket,
    ) {
        let msg = OttMsg::Video(packet);
        self.video_bytes_sent += u64::from(msg.size_bytes());
        ctx.send(to, msg);
    }

    /// Put the control packets queued on the network (their segments, and the
    /// endpoint's timers): the last thing every handler does.
    pub fn flush(&mut self, ctx: &mut impl Context<OttMsg, OttTimer>) {
        // Sends only produce network and timer outputs, which `forward` performs.
        let events = forward::<OttNode>(&mut self.endpoint, ctx);
        debug_assert!(events.is_empty(), "sending produced {events:?}");
    }
}

/// The control side of an OTT role: what it does with the control packets its
/// [`Host`]'s endpoint delivers, and with those it could not deliver. The provided
/// methods feed it the endpoint's inputs (the role's handlers flush afterwards).
trait OttRole: Node<Msg = OttMsg, Timer = OttTimer> {
    /// The role's host.
    fn host(&mut self) -> &mut Host;

    /// A control packet from `from` arrived.
    fn on_control(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Control);

    /// A control packet to `to` went unacknowledged `max_tries` times.
    fn on_lost(&mut self, _ctx: &mut impl Ctx<Self>, _to: NodeId) {}

    /// `to` acknowledged a control packet: it hears this node.
    fn on_acked(&mut self, _to: NodeId) {}

    /// A transport segment arrived from `from`.
    fn on_segment(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, segment: Segment) {
        self.host()
            .endpoint
            .on_segment(ctx.monotonic(), from, segment);
        self.on_endpoint_events(ctx);
    }

    /// One of the endpoint's timers fired.
    fn on_transport_timer(&mut self, ctx: &mut impl Ctx<Self>, token: TimerToken) {
        self.host().endpoint.on_timer(ctx.monotonic(), token);
        self.on_endpoint_events(ctx);
    }

    /// Act on what the endpoint delivered (control packets, in order) or gave up on.
    fn on_endpoint_events(&mut self, ctx: &mut impl Ctx<Self>) {
        for event in forward::<OttNode>(&mut self.host().endpoint, ctx) {
            match event {
                Output::Delivered { from, payload, .. } => {
                    match Control::decode(payload.as_bytes()) {
                        Ok(msg) => self.on_control(ctx, from, msg),
                        Err(_) => self.host().undecodable += 1,
                    }
                }
                Output::Lost { to, .. } => self.on_lost(ctx, to),
                Output::Acked { to, .. } => self.on_acked(to),
                _ => {}
            }
        }
    }
}

/// The OTT streaming system.
pub struct Ott;

const ROLES: &[&str] = &["bootstrapper", "server", "node", "pop", "client"];

fn names_of<'a>(setup: &'a Setup<'_>, role: &str) -> BTreeSet<&'a str> {
    setup
        .nodes
        .iter()
        .filter(|n| n.role == role)
        .map(|n| n.name.as_str())
        .collect()
}

impl System for Ott {
    const NAME: &'static str = "ott";
    /// Measured: 6,335 bytes per node,
    /// `dsim bench system ott --size 4096 --until 1ms`.
    const BYTES_PER_NODE: u64 = 6_335;
    const DESCRIPTION: &'static str =
        "OTT live streaming: flooded overlay, self-healing distribution trees, PoPs and clients";
    const ROLES: &'static [&'static str] = ROLES;
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    const KEY_METRICS: &'static [&'static str] = &["video_bits", "recovery_time_ms", "stall_ratio"];
    type Params = OttParams;
    type Node = OttNode;

    fn validate(params: &OttParams, setup: &Setup<'_>) -> Result<(), String> {
        let servers = names_of(setup, "server");
        let clients = names_of(setup, "client");
        let pops = names_of(setup, "pop");
        let relays: BTreeSet<&str> = servers
            .iter()
            .chain(&names_of(setup, "node"))
            .chain(&pops)
            .copied()
            .collect();
        if names_of(setup, "bootstrapper").len() != 1 {
            return Err("ott needs exactly one node with role \"bootstrapper\"".into());
        }
        if servers.is_empty() {
            return Err("ott needs at least one node with role \"server\"".into());
        }
        let table = params.table()?;
        for (node, neighbours) in &table {
            for name in std::iter::once(node).chain(neighbours) {
                if !relays.contains(name.as_str()) {
                    return Err(format!(
                        "the neighbour table (entry {node:?}) names {name:?}, which is not a server, node or pop"
                    ));
                }
            }
        }
        if let Some(missing) = relays.iter().find(|n| !table.contains_key(**n)) {
            return Err(format!("the neighbour table has no entry for {missing:?}"));
        }
        for server in params.videos.keys() {
            if !servers.contains(server.as_str()) {
                return Err(format!(
                    "params.videos names {server:?}, which is not a server"
                ));
            }
        }
        for (i, a) in params.added_videos.iter().enumerate() {
            if !servers.contains(a.server.as_str()) {
                return Err(format!(
                    "params.added_videos[{i}] names {:?}, which is not a server",
                    a.server
                ));
            }
        }
        for (i, w) in params.watches.iter().enumerate() {
            if !clients.contains(w.client.as_str()) {
                return Err(format!(
                    "params.watches[{i}] names {:?}, which is not a client",
                    w.client
                ));
            }
            if w.stop.is_some_and(|s| s <= w.start) {
                return Err(format!("params.watches[{i}]: stop must come after start"));
            }
        }
        for (client, list) in &params.client_pops {
            if !clients.contains(client.as_str()) {
                return Err(format!(
                    "params.client_pops names {client:?}, which is not a client"
                ));
            }
            if let Some(p) = list.iter().find(|p| !pops.contains(p.as_str())) {
                return Err(format!(
                    "params.client_pops[{client:?}] names {p:?}, which is not a pop"
                ));
            }
            if list.is_empty() {
                return Err(format!("params.client_pops[{client:?}] is empty"));
            }
        }
        if !clients.is_empty() && pops.is_empty() {
            return Err("clients need at least one node with role \"pop\"".into());
        }
        if params.bitrate_bps == 0 || params.ts_per_datagram == 0 {
            return Err("params.bitrate_bps and params.ts_per_datagram must be positive".into());
        }
        for (name, t) in [
            ("flood_interval", params.flood_interval),
            ("parent_timeout", params.parent_timeout),
            ("video_timeout", params.video_timeout),
            ("ping_interval", params.ping_interval),
            ("check_interval", params.check_interval),
            ("bitrate_bin", params.bitrate_bin),
        ] {
            if t == SimTime::ZERO {
                return Err(format!("params.{name} must be positive"));
            }
        }
        if params.flood_interval >= params.parent_timeout {
            return Err(
                "params.flood_interval must be shorter than params.parent_timeout, or parents flap"
                    .into(),
            );
        }
        if params.missed_pings == 0 || params.latency_window == 0 {
            return Err("params.missed_pings and params.latency_window must be positive".into());
        }
        if !(params.tolerance >= 0.0 && params.tolerance.is_finite()) {
            return Err("params.tolerance must be a non-negative number".into());
        }
        let video = VideoPacket {
            video: 0,
            seq: 0,
            ts_packets: params.ts_per_datagram,
        };
        let size = OttMsg::Video(video).size_bytes();
        let links = std::iter::once(("the default link".to_owned(), &setup.network.default)).chain(
            setup
                .network
                .overrides
                .iter()
                .map(|((a, b), l)| (format!("the link {a} -> {b}"), l)),
        );
        for (name, link) in links {
            if let Some(mtu) = link.mtu
                && !link.fragmentation
                && size > mtu
            {
                return Err(format!(
                    "a video datagram of params.ts_per_datagram = {} TS packets is {size} bytes, \
                     more than the MTU of {name} ({mtu} bytes), which does not fragment",
                    params.ts_per_datagram
                ));
            }
        }
        params
            .transport
            .validate()
            .map_err(|e| format!("params.transport: {e}"))
    }

    fn build(params: &OttParams, setup: &Setup<'_>, sim: &mut Simulation<OttNode>) {
        let timing = params.timing();
        let host = || Host::new(params.transport.clone(), timing);
        // Every node needs the others' ids: a placeholder first, its role once all exist.
        let ids = add_declared(sim, setup.nodes, |_| {
            Bootstrapper::new(host(), BTreeMap::new()).into()
        });
        let id: BTreeMap<&str, NodeId> = setup
            .nodes
            .iter()
            .zip(&ids)
            .map(|(d, &i)| (d.name.as_str(), i))
            .collect();
        let ids_of = |names: &[String]| -> Vec<NodeId> {
            names
                .iter()
                .filter_map(|n| id.get(n.as_str()).copied())
                .collect()
        };
        let boot = setup
            .nodes
            .iter()
            .find(|d| d.role == "bootstrapper")
            .map_or(NodeId(0), |d| id[d.name.as_str()]);
        let all_pops: Vec<NodeId> = setup
            .nodes
            .iter()
            .filter(|d| d.role == "pop")
            .map(|d| id[d.name.as_str()])
            .collect();
        let table = params.table().unwrap_or_default();
        for (d, &me) in setup.nodes.iter().zip(&ids) {
            let node: OttNode = match d.role.as_str() {
                "bootstrapper" => Bootstrapper::new(
                    host(),
                    table
                        .iter()
                        .filter_map(|(n, list)| Some((*id.get(n.as_str())?, ids_of(list))))
                        .collect(),
                )
                .into(),
                "server" => Server::new(
                    host(),
                    me,
                    boot,
                    params
                        .videos
                        .get(&d.name)
                        .into_iter()
                        .flatten()
                        .copied()
                        .collect(),
                    params
                        .added_videos
                        .iter()
                        .filter(|a| a.server == d.name)
                        .map(|a| (a.at, a.video))
                        .collect(),
                )
                .into(),
                "client" => Client::new(
                    host(),
                    me,
                    params
                        .client_pops
                        .get(&d.name)
                        .map_or_else(|| all_pops.clone(), |l| ids_of(l)),
                    params
                        .watches
                        .iter()
                        .filter(|w| w.client == d.name)
                        .map(|w| Watch {
                            video: w.video,
                            start: w.start,
                            stop: w.stop,
                        })
                        .collect(),
                )
                .into(),
                _ => Overlay::new(host(), me, boot).into(),
            };
            *sim.node_mut(me) = node;
        }
    }

    fn invariants(params: &OttParams) -> Vec<Box<dyn Invariant<OttNode>>> {
        invariants::all(params)
    }

    fn report(params: &OttParams, sim: &Simulation<OttNode>, metrics: &mut Metrics) {
        report::report(params, &sim.world(), metrics);
    }
}
