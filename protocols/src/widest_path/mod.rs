//! System 3: peer-to-peer streaming over widest paths, found on a maximum spanning tree
//! that the peers compute with distributed GHS.
//!
//! Peers are the nodes of a graph whose links have a bandwidth ([`graph`]: random, a
//! shipped Topology Zoo file, or explicit links). A peer asks for a channel to another
//! with a bandwidth; the channel follows the tree path, which on a maximum spanning tree
//! is a widest path ([`oracle`] checks it).
//!
//! - Sessions ([`session`]): each computation of the tree has a session id greater than
//!   every one its starter has seen (a counter, ties broken by the starter's id). The
//!   starter sends an echo wave; a peer that has heard from all its neighbours (or
//!   waited `echo_timeout`, dropping those it never heard from) starts GHS ([`ghs`]) with the rest,
//!   then echoes to its wave parent. Each session builds two maximum trees: one on the
//!   links' capacities (its paths give the widest path of the whole graph, used to
//!   reject at once a request that can never be served) and one on the residual
//!   capacities (capacity minus reservations; requests are routed on it). Both ends of a
//!   link use the residual the lower-id end announced in the wave, so GHS sees one
//!   weight per link. After GHS, subtree member lists flow to the root and every peer
//!   gets its parent and routing table. A join, a leave, a detected crash, and every
//!   change of reservations (a channel granted or closed) start a new session.
//! - Channels ([`channel`]): `request_to_communicate(A, C, B)` travels hop by hop
//!   along the residual tree, each hop acknowledging it and reserving B on its link;
//!   the reply is `ok`, `no_band(hop, width)`, `timeout(node)` or `noproc(node)`. After
//!   `no_band` the requester probes the capacity tree: if B is above the widest path of
//!   the whole graph the request is rejected, otherwise it waits in the requester's FIFO
//!   queue and is retried after the next session. Data and close messages follow the
//!   channel's recorded path; a peer that leaves waits until the channels through it
//!   end; a peer that loses a neighbour (heartbeats stop, or it says goodbye) tears down
//!   the channels over that link, starts a session, and the requester re-establishes
//!   them on the new tree.
//! - Links must be FIFO (GHS needs it); scenarios set `fifo: true`.

pub mod channel;
pub mod ghs;
pub mod graph;
pub mod invariants;
pub mod oracle;
pub mod session;
#[cfg(test)]
mod tests;
pub mod topologies;

use crate::system::{Setup, System, TopologyRule};
use channel::{ChanId, Channels, Outcome, Request};
use ghs::{GhsMsg, Objective};
use graph::PeerGraph;
use serde::{Deserialize, Serialize};
use session::{SessionId, Sessions, TreeKind};
use sim_core::{Context, Invariant, Message, Metrics, Node, NodeId, SimTime, Simulation, TimerId};
use std::collections::BTreeMap;

/// Where the peer graph comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GraphSource {
    /// A random connected graph drawn from the scenario seed (see
    /// [`PeerGraph::random`]); peers are named `p0`, `p1`, ...
    Random {
        /// Number of peers.
        peers: u32,
        /// Probability of each extra link beyond a random spanning tree.
        density: f64,
        /// Smallest link bandwidth, kbit/s.
        min_kbps: u64,
        /// Largest link bandwidth, kbit/s.
        max_kbps: u64,
    },
    /// A GML file shipped with dsim (see [`topologies::SHIPPED`]), named by its path
    /// relative to the scenario files, e.g. `"topologies/Eenet.gml"`.
    Gml {
        /// The file.
        file: String,
        /// Bandwidth of edges without `LinkSpeedRaw`, kbit/s; without it such an edge
        /// is an error.
        #[serde(default)]
        default_kbps: Option<u64>,
    },
    /// Explicit links `(a, b, kbps)`; peers are the names that appear, in order.
    Links(Vec<(String, String, u64)>),
}

impl Default for GraphSource {
    fn default() -> Self {
        GraphSource::Random {
            peers: 10,
            density: 0.3,
            min_kbps: 1000,
            max_kbps: 5000,
        }
    }
}

impl GraphSource {
    /// The graph, drawn or read; the error says what is wrong with the source.
    pub fn load(&self, seed: u64) -> Result<PeerGraph, String> {
        match self {
            GraphSource::Random {
                peers,
                density,
                min_kbps,
                max_kbps,
            } => {
                if *peers == 0 {
                    return Err("params.graph: Random needs at least one peer".into());
                }
                if !(0.0..=1.0).contains(density) {
                    return Err(format!(
                        "params.graph: Random density must be in [0, 1], got {density}"
                    ));
                }
                if *min_kbps == 0 || min_kbps > max_kbps {
                    return Err(format!(
                        "params.graph: Random needs 0 < min_kbps <= max_kbps, got {min_kbps} and {max_kbps}"
                    ));
                }
                let mut rng = sim_core::rng::component_rng(seed, "widest-path:graph");
                Ok(PeerGraph::random(
                    &mut rng, *peers, *density, *min_kbps, *max_kbps,
                ))
            }
            GraphSource::Gml { file, default_kbps } => {
                let text = topologies::shipped(file)?;
                PeerGraph::from_gml(text, *default_kbps)
                    .map_err(|e| format!("params.graph: {file}: {e}"))
            }
            GraphSource::Links(links) => {
                let mut names: Vec<String> = Vec::new();
                let index = |n: &String, names: &mut Vec<String>| {
                    names.iter().position(|m| m == n).unwrap_or_else(|| {
                        names.push(n.clone());
                        names.len() - 1
                    }) as u32
                };
                let mut edges = Vec::new();
                for (i, (a, b, kbps)) in links.iter().enumerate() {
                    if *kbps == 0 || a == b {
                        return Err(format!(
                            "params.graph: Links[{i}] ({a:?}, {b:?}) needs two peers and a positive bandwidth"
                        ));
                    }
                    edges.push((index(a, &mut names), index(b, &mut names), *kbps));
                }
                if names.is_empty() {
                    return Err("params.graph: Links is empty".into());
                }
                Ok(PeerGraph::new(names, edges))
            }
        }
    }
}

/// A peer that is not in the graph at the start and joins with a `Join` fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Joiner {
    /// Its name.
    pub name: String,
    /// The peers it links to, with the bandwidth of each link in kbit/s.
    pub links: Vec<(String, u64)>,
}

/// A user action at a peer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OpKind {
    /// `request_to_communicate(from, to, kbps)`.
    Open {
        /// Requester.
        from: String,
        /// The peer to reach.
        to: String,
        /// Bandwidth asked for, kbit/s.
        kbps: u64,
    },
    /// `send_data`: `bytes` bytes from `from` to `to` on their channel.
    Send {
        /// Sender (either end).
        from: String,
        /// The other end.
        to: String,
        /// Payload size.
        bytes: u32,
    },
    /// `close_connection`: `by` closes its channel with `other` (either end may).
    Close {
        /// The closing end.
        by: String,
        /// The other end.
        other: String,
    },
    /// The peer leaves once the channels through it have ended.
    Leave(String),
    /// The peer starts a new tree computation.
    StartMst(String),
}

impl OpKind {
    /// The peer that performs the action.
    pub fn actor(&self) -> &str {
        match self {
            OpKind::Open { from, .. } | OpKind::Send { from, .. } => from,
            OpKind::Close { by, .. } => by,
            OpKind::Leave(p) | OpKind::StartMst(p) => p,
        }
    }

    /// Every peer the action names.
    fn names(&self) -> Vec<&str> {
        match self {
            OpKind::Open { from, to, .. } | OpKind::Send { from, to, .. } => vec![from, to],
            OpKind::Close { by, other } => vec![by, other],
            OpKind::Leave(p) | OpKind::StartMst(p) => vec![p],
        }
    }
}

/// A user action and when it happens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    /// When.
    pub at: SimTime,
    /// What.
    pub op: OpKind,
}

/// Widest-path streaming parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WidestPathParams {
    /// The peer graph.
    pub graph: GraphSource,
    /// Peers that join later (with a `Join` fault).
    pub joiners: Vec<Joiner>,
    /// The peer that starts the first session at time 0 (default: the first peer).
    pub first_session_by: Option<String>,
    /// User actions.
    pub ops: Vec<Op>,
    /// Heartbeat period between neighbours.
    pub heartbeat: SimTime,
    /// A neighbour silent this long is taken as crashed.
    pub dead_after: SimTime,
    /// How long a peer waits for every neighbour in the echo wave.
    pub echo_timeout: SimTime,
    /// How long a hop waits for the next hop to acknowledge a request.
    pub hop_timeout: SimTime,
    /// Which tree GHS builds on residual capacities (Max: widest paths; Min only to
    /// exercise GHS).
    pub objective: Objective,
}

impl Default for WidestPathParams {
    fn default() -> Self {
        WidestPathParams {
            graph: GraphSource::default(),
            joiners: Vec::new(),
            first_session_by: None,
            ops: Vec::new(),
            heartbeat: SimTime::from_secs(1),
            dead_after: SimTime::from_millis(3500),
            echo_timeout: SimTime::from_secs(2),
            hop_timeout: SimTime::from_millis(500),
            objective: Objective::Max,
        }
    }
}

/// Messages between peers.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum WpMsg {
    /// A joining (or restarted) peer announces its link and its bandwidth.
    Hello {
        /// Link bandwidth, kbit/s.
        kbps: u64,
    },
    /// A neighbour answers a `Hello` with its current session (so the newcomer's
    /// session supersedes it).
    HelloAck {
        /// The neighbour's session.
        session: SessionId,
    },
    /// Liveness between neighbours.
    Heartbeat,
    /// The sender leaves the network.
    Bye,
    /// Echo wave, going out: a new session; the sender's residual on this link.
    Wake {
        /// The session.
        session: SessionId,
        /// The sender's view of the link's residual bandwidth.
        residual: u64,
    },
    /// Echo wave: the sender took the session from this peer (its wave parent) and will
    /// echo once its part of the wave is done; carries its residual on this link.
    Joined {
        /// The session.
        session: SessionId,
        /// The sender's view of the link's residual bandwidth.
        residual: u64,
    },
    /// Echo wave, coming back: the sender's part of the wave is done.
    Echo {
        /// The session.
        session: SessionId,
    },
    /// A GHS message of one of the session's two trees.
    Ghs {
        /// The session.
        session: SessionId,
        /// Which tree.
        tree: TreeKind,
        /// The GHS message.
        msg: GhsMsg,
    },
    /// Routing convergecast: the peers in the sender's subtree.
    Subtree {
        /// The session.
        session: SessionId,
        /// Which tree.
        tree: TreeKind,
        /// Peer ids in the subtree.
        members: Vec<u32>,
    },
    /// `request_to_communicate`, going towards the destination.
    Request(Request),
    /// The next hop got the request.
    RequestAck {
        /// The channel.
        chan: ChanId,
    },
    /// The answer to a request, going back along its path.
    Reply {
        /// The channel.
        chan: ChanId,
        /// The whole path (on success) or the part travelled.
        path: Vec<u32>,
        /// What happened.
        outcome: Outcome,
    },
    /// Width of the capacity-tree path, going towards the destination.
    Probe {
        /// The session whose tree routes it.
        session: SessionId,
        /// The request it is for.
        chan: ChanId,
        /// Peers so far.
        path: Vec<u32>,
        /// Narrowest capacity so far.
        width: u64,
    },
    /// The probe's answer, going back.
    ProbeReply {
        /// The request it is for.
        chan: ChanId,
        /// Path of the probe.
        path: Vec<u32>,
        /// Widest-path width over the whole graph (`None`: not reachable).
        width: Option<u64>,
    },
    /// Stream data along a channel.
    Data {
        /// The channel.
        chan: ChanId,
        /// Sequence number.
        seq: u64,
        /// Towards the channel's target (else towards the requester).
        forward: bool,
        /// The bytes.
        data: Vec<u8>,
    },
    /// `close_connection`, travelling along the channel.
    Close {
        /// The channel.
        chan: ChanId,
        /// Towards the target.
        forward: bool,
    },
    /// A link of the channel failed; travelling away from the failure.
    Broken {
        /// The channel.
        chan: ChanId,
        /// Towards the target.
        forward: bool,
    },
}

impl WpMsg {
    /// Whether the message belongs to the tree computation (wave, GHS, routing).
    fn is_session(&self) -> bool {
        matches!(
            self,
            WpMsg::Wake { .. }
                | WpMsg::Joined { .. }
                | WpMsg::Echo { .. }
                | WpMsg::Ghs { .. }
                | WpMsg::Subtree { .. }
        )
    }
}

impl Message for WpMsg {
    fn size_bytes(&self) -> u32 {
        match self {
            WpMsg::Data { data, .. } => 40 + data.len() as u32,
            WpMsg::Subtree { members, .. } => 40 + 4 * members.len() as u32,
            WpMsg::Request(Request { path, .. })
            | WpMsg::Reply { path, .. }
            | WpMsg::Probe { path, .. }
            | WpMsg::ProbeReply { path, .. } => 48 + 4 * path.len() as u32,
            _ => 40,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            WpMsg::Hello { .. } => "hello",
            WpMsg::HelloAck { .. } => "hello_ack",
            WpMsg::Heartbeat => "heartbeat",
            WpMsg::Bye => "bye",
            WpMsg::Wake { .. } => "wake",
            WpMsg::Joined { .. } => "joined",
            WpMsg::Echo { .. } => "echo",
            WpMsg::Ghs { .. } => "ghs",
            WpMsg::Subtree { .. } => "subtree",
            WpMsg::Request(_) => "request",
            WpMsg::RequestAck { .. } => "request_ack",
            WpMsg::Reply { .. } => "reply",
            WpMsg::Probe { .. } => "probe",
            WpMsg::ProbeReply { .. } => "probe_reply",
            WpMsg::Data { .. } => "data",
            WpMsg::Close { .. } => "close",
            WpMsg::Broken { .. } => "broken",
        }
    }
}

/// Timers of a peer.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum WpTimer {
    /// Send heartbeats and check for silent neighbours.
    Heartbeat,
    /// The echo wave of `session` waited long enough.
    EchoTimeout {
        /// The session.
        session: SessionId,
    },
    /// A joining peer waited long enough for `HelloAck`s.
    HelloTimeout,
    /// The next hop did not acknowledge the request of `chan`.
    HopTimeout {
        /// The channel.
        chan: ChanId,
    },
    /// Serve the request queue again after a `Retry` answer.
    RetryQueue,
    /// User action number `index` is due.
    Op {
        /// Index into the peer's actions.
        index: usize,
    },
}

impl sim_core::TimerTag for WpTimer {
    fn kind(&self) -> &'static str {
        match self {
            WpTimer::Heartbeat => "heartbeat",
            WpTimer::EchoTimeout { .. } => "echo_timeout",
            WpTimer::HelloTimeout => "hello_timeout",
            WpTimer::HopTimeout { .. } => "hop_timeout",
            WpTimer::RetryQueue => "retry_queue",
            WpTimer::Op { .. } => "op",
        }
    }
}

/// The timing parameters a peer uses.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// Heartbeat period.
    pub heartbeat: SimTime,
    /// Silence that means a crash.
    pub dead_after: SimTime,
    /// Echo wave patience.
    pub echo_timeout: SimTime,
    /// Request hop patience.
    pub hop_timeout: SimTime,
}

/// A user action resolved to peer ids.
#[derive(Clone, Debug, PartialEq)]
pub enum PeerOp {
    /// Ask for a channel to `to`.
    Open {
        /// Destination.
        to: u32,
        /// Bandwidth.
        kbps: u64,
    },
    /// Send bytes to `to`.
    Send {
        /// The other end.
        to: u32,
        /// Size.
        bytes: u32,
    },
    /// Close the channel with `other`.
    Close {
        /// The other end.
        other: u32,
    },
    /// Leave once no channel passes through.
    Leave,
    /// Start a session.
    StartMst,
}

/// Where a peer is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Life {
    /// Taking part.
    Active,
    /// Waiting for the channels through it to end before leaving.
    Leaving,
    /// Gone (left gracefully); ignores everything.
    Gone,
}

/// One peer: configuration, session state, channels.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Its id (the node index).
    pub me: u32,
    /// Configured links (neighbour, kbps): announced when joining or restarting.
    pub config: Vec<(u32, u64)>,
    /// Whether it starts the first session at time 0.
    pub starts_first_session: bool,
    /// Whether it joins later (announces itself with `Hello`).
    pub joins: bool,
    /// Timing.
    pub timing: Timing,
    /// Its user actions, in time order.
    pub ops: Vec<(SimTime, PeerOp)>,
    /// Current neighbours and their link capacities.
    pub links: BTreeMap<u32, u64>,
    /// When each neighbour was last heard from.
    pub last_heard: BTreeMap<u32, SimTime>,
    /// Tree computation.
    pub sessions: Sessions,
    /// Channels and reservations.
    pub channels: Channels,
    /// Where it is in its life.
    pub life: Life,
    /// `Hello`s not answered yet (joining).
    pub hello_waiting: Vec<u32>,
}

/// The effects a peer's handlers produce; the node adapter carries them out.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Send a message.
    Send(u32, WpMsg),
    /// Set a timer (a new hop timeout of a channel replaces the pending one).
    Timer(SimTime, WpTimer),
    /// Cancel the pending hop timeout of a channel.
    CancelHopTimeout(ChanId),
    /// Add to a counter metric.
    Count(&'static str),
    /// Record a sample.
    Sample(&'static str, f64),
    /// Note in the trace.
    Note(String),
}

/// The output buffer of a peer's handlers.
#[derive(Debug, Default)]
pub struct Out {
    /// Effects, in order.
    pub actions: Vec<Action>,
    /// Local time of the event.
    pub now: SimTime,
}

impl Out {
    /// Queue a message.
    pub fn send(&mut self, to: u32, msg: WpMsg) {
        self.actions.push(Action::Send(to, msg));
    }
    /// Count one occurrence of `what`.
    pub fn count(&mut self, what: &'static str) {
        self.actions.push(Action::Count(what));
    }
}

impl Peer {
    fn on_start(&mut self, out: &mut Out) {
        self.links.clear();
        self.last_heard.clear();
        out.actions
            .push(Action::Timer(self.timing.heartbeat, WpTimer::Heartbeat));
        for (i, (at, _)) in self.ops.iter().enumerate() {
            if *at >= out.now {
                out.actions
                    .push(Action::Timer(*at - out.now, WpTimer::Op { index: i }));
            }
        }
        if self.joins {
            // Announce the links; neighbours answer, then a session starts.
            self.hello_waiting = self.config.iter().map(|&(p, _)| p).collect();
            for &(p, kbps) in &self.config {
                out.send(p, WpMsg::Hello { kbps });
            }
            out.actions.push(Action::Timer(
                self.timing.echo_timeout,
                WpTimer::HelloTimeout,
            ));
        } else {
            for &(p, kbps) in &self.config {
                self.links.insert(p, kbps);
                self.last_heard.insert(p, out.now);
            }
            if self.starts_first_session {
                self.start_session(out);
            }
        }
    }

    fn on_message(&mut self, out: &mut Out, from: u32, msg: WpMsg) {
        if self.life == Life::Gone {
            return;
        }
        if self.links.contains_key(&from) {
            self.last_heard.insert(from, out.now);
        }
        match msg {
            WpMsg::Hello { kbps } => {
                // A new or restarted peer: nothing of an earlier incarnation survives.
                self.break_channels_over(out, from);
                self.links.insert(from, kbps);
                self.last_heard.insert(from, out.now);
                let session = self.sessions.current;
                out.send(from, WpMsg::HelloAck { session });
            }
            WpMsg::HelloAck { session } => {
                // Only raise the id seen: the newcomer takes part in no session yet.
                if session.counter > self.sessions.current.counter {
                    self.sessions.current.counter = session.counter;
                }
                self.hello_waiting.retain(|&p| p != from);
                if let Some(&(_, kbps)) = self.config.iter().find(|(p, _)| *p == from) {
                    self.links.insert(from, kbps);
                    self.last_heard.insert(from, out.now);
                }
                if self.hello_waiting.is_empty() && self.joins {
                    self.joins = false;
                    self.start_session(out);
                }
            }
            WpMsg::Heartbeat => {}
            WpMsg::Bye => self.link_down(out, from),
            m if m.is_session() => self.on_session_message(out, from, m),
            m => self.on_channel_message(out, from, m),
        }
    }

    fn on_timer(&mut self, out: &mut Out, timer: WpTimer) {
        if self.life == Life::Gone {
            return;
        }
        match timer {
            WpTimer::Heartbeat => {
                out.actions
                    .push(Action::Timer(self.timing.heartbeat, WpTimer::Heartbeat));
                let silent: Vec<u32> = self
                    .links
                    .keys()
                    .copied()
                    .filter(|p| {
                        let heard = self.last_heard.get(p).copied().unwrap_or(SimTime::ZERO);
                        out.now.saturating_sub(heard) > self.timing.dead_after
                    })
                    .collect();
                for p in silent {
                    out.actions
                        .push(Action::Note(format!("neighbour {p} silent")));
                    self.link_down(out, p);
                }
                for &p in self.links.keys() {
                    out.actions.push(Action::Send(p, WpMsg::Heartbeat));
                }
            }
            WpTimer::HelloTimeout => {
                if self.joins {
                    self.joins = false;
                    self.start_session(out);
                }
            }
            WpTimer::EchoTimeout { session } => self.on_echo_timeout(out, session),
            WpTimer::HopTimeout { chan } => self.on_hop_timeout(out, chan),
            WpTimer::RetryQueue => self.resume_queue(out),
            WpTimer::Op { index } => {
                let op = self.ops[index].1.clone();
                self.perform(out, op);
            }
        }
    }

    fn perform(&mut self, out: &mut Out, op: PeerOp) {
        match op {
            PeerOp::Open { to, kbps } => self.request(out, to, kbps),
            PeerOp::Send { to, bytes } => self.send_data(out, to, bytes),
            PeerOp::Close { other } => self.close(out, other),
            PeerOp::Leave => {
                self.life = Life::Leaving;
                self.close_own(out);
                self.leave_if_free(out);
            }
            PeerOp::StartMst => self.start_session(out),
        }
    }

    /// The link to `peer` is gone (crash detected, or goodbye): tear down the channels
    /// over it and start a new session.
    fn link_down(&mut self, out: &mut Out, peer: u32) {
        if self.links.remove(&peer).is_none() {
            return;
        }
        self.last_heard.remove(&peer);
        self.break_channels_over(out, peer);
        if self.life != Life::Gone {
            self.start_session(out);
        }
    }

    /// Leave for good once no channel passes through (graceful leave).
    fn leave_if_free(&mut self, out: &mut Out) {
        if self.life == Life::Leaving && self.channels.is_empty() {
            for &p in self.links.keys() {
                out.actions.push(Action::Send(p, WpMsg::Bye));
            }
            out.actions.push(Action::Note("left the network".into()));
            out.count("peers_left");
            self.life = Life::Gone;
        }
    }

    /// The current residual bandwidth of the link to `peer`.
    pub fn residual(&self, peer: u32) -> u64 {
        self.links
            .get(&peer)
            .map_or(0, |cap| cap.saturating_sub(self.channels.reserved_on(peer)))
    }
}

/// A node of the widest-path system: a peer, and the kernel handles of its pending hop
/// timeouts (adapter state, so that the peer itself stays sans-IO).
#[derive(Clone, Debug)]
pub struct PeerNode(pub Box<Peer>, BTreeMap<ChanId, TimerId>);

impl PeerNode {
    fn drive(&mut self, ctx: &mut Context<'_, Self>, f: impl FnOnce(&mut Peer, &mut Out)) {
        let mut out = Out {
            actions: Vec::new(),
            now: ctx.now(),
        };
        f(&mut self.0, &mut out);
        for action in out.actions {
            match action {
                Action::Send(to, msg) => {
                    if msg.is_session() {
                        ctx.metrics().add("session_messages", 1.0);
                    }
                    ctx.send(NodeId(to), msg);
                }
                Action::Timer(after, timer) => {
                    let id = ctx.set_timer(after, timer.clone());
                    if let WpTimer::HopTimeout { chan } = timer
                        && let Some(old) = self.1.insert(chan, id)
                    {
                        ctx.cancel_timer(old);
                    }
                }
                Action::CancelHopTimeout(chan) => {
                    if let Some(id) = self.1.remove(&chan) {
                        ctx.cancel_timer(id);
                    }
                }
                Action::Count(name) => ctx.metrics().add(name, 1.0),
                Action::Sample(name, v) => ctx.metrics().observe(name, v),
                Action::Note(text) => ctx.annotate(&text),
            }
        }
    }
}

impl Node for PeerNode {
    type Msg = WpMsg;
    type Timer = WpTimer;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.drive(ctx, |p, out| p.on_start(out));
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: WpMsg) {
        self.drive(ctx, |p, out| p.on_message(out, from.0, msg));
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: WpTimer) {
        if let WpTimer::HopTimeout { chan } = &timer {
            self.1.remove(chan);
        }
        self.drive(ctx, |p, out| p.on_timer(out, timer));
    }

    fn on_crash(&mut self) {
        // Everything but the configuration is volatile (the kernel drops the timers).
        self.1.clear();
        let p = &mut self.0;
        p.links.clear();
        p.last_heard.clear();
        p.sessions = Sessions::default();
        p.channels = Channels::default();
        p.life = Life::Active;
        p.joins = true;
    }

    fn on_leave(&mut self, ctx: &mut Context<'_, Self>) {
        // An abrupt leave: say goodbye; channels through this peer break.
        self.drive(ctx, |p, out| {
            for &n in p.links.keys() {
                out.send(n, WpMsg::Bye);
            }
            p.life = Life::Gone;
        });
    }
}

/// Build every peer's state from the parameters and the graph.
struct Plan {
    graph: PeerGraph,
    /// Joiners as (name, links by id).
    joiners: Vec<(String, Vec<(u32, u64)>)>,
}

impl Plan {
    fn new(params: &WidestPathParams, seed: u64) -> Result<Plan, String> {
        let graph = params.graph.load(seed)?;
        let mut names: Vec<String> = graph.names.clone();
        let mut joiners = Vec::new();
        for (i, j) in params.joiners.iter().enumerate() {
            if names.contains(&j.name) {
                return Err(format!(
                    "params.joiners[{i}]: peer {:?} already exists",
                    j.name
                ));
            }
            names.push(j.name.clone());
            let mut links = Vec::new();
            for (peer, kbps) in &j.links {
                let id = names
                    .iter()
                    .position(|n| n == peer)
                    .ok_or_else(|| format!("params.joiners[{i}] links to unknown peer {peer:?}"))?;
                if *kbps == 0 || id == names.len() - 1 {
                    return Err(format!(
                        "params.joiners[{i}]: link to {peer:?} needs another peer and a positive bandwidth"
                    ));
                }
                links.push((id as u32, *kbps));
            }
            joiners.push((j.name.clone(), links));
        }
        Ok(Plan { graph, joiners })
    }

    fn names(&self) -> Vec<&str> {
        self.graph
            .names
            .iter()
            .map(String::as_str)
            .chain(self.joiners.iter().map(|(n, _)| n.as_str()))
            .collect()
    }

    /// Every peer's configured links: its graph links, or a joiner's own links (the
    /// peers it links to learn them from its `Hello`).
    fn config(&self) -> Vec<Vec<(u32, u64)>> {
        let n = self.graph.peer_count();
        (0..n as u32)
            .map(|p| self.graph.neighbours(p))
            .chain(self.joiners.iter().map(|(_, links)| links.clone()))
            .collect()
    }
}

/// The widest-path streaming system.
pub struct WidestPath;

impl System for WidestPath {
    const NAME: &'static str = "widest-path";
    const DESCRIPTION: &'static str =
        "P2P streaming: channels on widest paths of a distributed GHS maximum spanning tree";
    const ROLES: &'static [&'static str] = &[];
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    type Params = WidestPathParams;
    type Node = PeerNode;

    fn validate(params: &WidestPathParams, setup: &Setup<'_>) -> Result<(), String> {
        let plan = Plan::new(params, setup.seed)?;
        let names = plan.names();
        for (i, op) in params.ops.iter().enumerate() {
            for n in op.op.names() {
                if !names.contains(&n) {
                    return Err(format!("params.ops[{i}] names unknown peer {n:?}"));
                }
            }
            if let OpKind::Open { from, to, kbps } = &op.op
                && (from == to || *kbps == 0)
            {
                return Err(format!(
                    "params.ops[{i}]: Open needs two different peers and a positive kbps"
                ));
            }
        }
        if let Some(first) = &params.first_session_by
            && !plan.graph.names.contains(first)
        {
            return Err(format!(
                "params.first_session_by names {first:?}, which is not a peer of the graph"
            ));
        }
        for (name, t) in [
            ("heartbeat", params.heartbeat),
            ("dead_after", params.dead_after),
            ("echo_timeout", params.echo_timeout),
            ("hop_timeout", params.hop_timeout),
        ] {
            if t == SimTime::ZERO {
                return Err(format!("params.{name} must be positive"));
            }
        }
        if params.dead_after <= params.heartbeat {
            return Err("params.dead_after must be longer than params.heartbeat".into());
        }
        for (from, to) in setup.network.overrides.keys() {
            if !names.contains(&from.as_str()) || !names.contains(&to.as_str()) {
                return Err(format!(
                    "network.links: ({from:?}, {to:?}) is not a pair of peers"
                ));
            }
        }
        Ok(())
    }

    fn build(params: &WidestPathParams, setup: &Setup<'_>, sim: &mut Simulation<PeerNode>) {
        let plan = Plan::new(params, setup.seed).expect("validated");
        let names = plan.names();
        let config = plan.config();
        let timing = Timing {
            heartbeat: params.heartbeat,
            dead_after: params.dead_after,
            echo_timeout: params.echo_timeout,
            hop_timeout: params.hop_timeout,
        };
        let first = params
            .first_session_by
            .as_deref()
            .unwrap_or(names[0])
            .to_owned();
        let id_of = |n: &str| names.iter().position(|m| *m == n).expect("validated") as u32;
        let n_graph = plan.graph.peer_count();
        for (i, name) in names.iter().enumerate() {
            let ops: Vec<(SimTime, PeerOp)> = params
                .ops
                .iter()
                .filter(|o| o.op.actor() == *name)
                .map(|o| {
                    let op = match &o.op {
                        OpKind::Open { to, kbps, .. } => PeerOp::Open {
                            to: id_of(to),
                            kbps: *kbps,
                        },
                        OpKind::Send { to, bytes, .. } => PeerOp::Send {
                            to: id_of(to),
                            bytes: *bytes,
                        },
                        OpKind::Close { other, .. } => PeerOp::Close {
                            other: id_of(other),
                        },
                        OpKind::Leave(_) => PeerOp::Leave,
                        OpKind::StartMst(_) => PeerOp::StartMst,
                    };
                    (o.at, op)
                })
                .collect();
            let peer = Peer {
                me: i as u32,
                config: config[i].clone(),
                starts_first_session: *name == first,
                joins: i >= n_graph,
                timing: timing.clone(),
                ops,
                links: BTreeMap::new(),
                last_heard: BTreeMap::new(),
                sessions: Sessions::new(params.objective),
                channels: Channels::default(),
                life: Life::Active,
                hello_waiting: Vec::new(),
            };
            let start = (i < n_graph).then_some(SimTime::ZERO);
            sim.add_node_at(name, PeerNode(Box::new(peer), BTreeMap::new()), start);
        }
        let mut pairs = Vec::new();
        for (a, links) in config.iter().enumerate() {
            for &(b, _) in links {
                pairs.extend([(NodeId(a as u32), NodeId(b)), (NodeId(b), NodeId(a as u32))]);
            }
        }
        sim.network_mut().set_topology(pairs);
    }

    fn invariants(_params: &WidestPathParams) -> Vec<Box<dyn Invariant<PeerNode>>> {
        vec![
            Box::new(invariants::ReservationsWithinCapacity),
            Box::new(invariants::OneSessionOneTree),
        ]
    }

    fn report(_params: &WidestPathParams, sim: &Simulation<PeerNode>, metrics: &mut Metrics) {
        let world = sim.world();
        let live: Vec<&Peer> = world
            .live_nodes()
            .map(|(_, n)| n.0.as_ref())
            .filter(|p| p.life != Life::Gone)
            .collect();
        let tree = invariants::tree_edges(&live, TreeKind::Capacity);
        metrics.set(
            "mst_weight",
            tree.iter().map(|k| k.weight as f64).sum::<f64>(),
        );
        metrics.set_rows(
            "mst_edges",
            tree.iter()
                .map(|k| vec![f64::from(k.lo), f64::from(k.hi), k.weight as f64])
                .collect(),
        );
        let messages = |kind| live.iter().map(|p| p.sessions.ghs_sent(kind)).sum::<u64>() as f64;
        metrics.set("ghs_messages", messages(TreeKind::Capacity));
        metrics.set("ghs_messages_residual", messages(TreeKind::Residual));
        let n = live.len() as f64;
        let edges = live.iter().map(|p| p.links.len()).sum::<usize>() as f64 / 2.0;
        metrics.set("ghs_bound", 5.0 * n * n.log2().max(0.0) + 2.0 * edges);
        let waiting: usize = live
            .iter()
            .map(|p| p.channels.queue.len() + usize::from(p.channels.in_flight.is_some()))
            .sum();
        metrics.set("requests_waiting", waiting as f64);
        for name in [
            "requests_ok",
            "requests_no_band",
            "requests_queued",
            "requests_rejected",
            "requests_timeout",
            "requests_noproc",
        ] {
            metrics.set(name, metrics.value(name));
        }
    }
}
