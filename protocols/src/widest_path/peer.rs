//! A peer: its configuration and life, and its handlers (start, messages, timers, user
//! actions), which act through the node's context (`ctx: &mut impl Ctx<PeerNode>`):
//! the simulator's, or a [`sim_core::Recorder`] in unit tests.

use super::channel::Channels;
use super::link::{Channel, Link, Wire};
use super::messages::{WpMsg, WpTimer};
use super::session::Sessions;
use sim_core::{Ctx, Node, NodeId, SimTime};
use std::collections::BTreeMap;

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
    /// How messages travel between neighbours.
    pub channel: Channel,
    /// Whether dropped neighbours are probed every heartbeat period (and come back).
    pub reconnect: bool,
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
    /// When each neighbour was last heard from, on this peer's monotonic clock.
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

impl Peer {
    /// The peer comes up (at time 0, on a join, or on a restart).
    fn on_start(&mut self, ctx: &mut impl Ctx<PeerNode>) {
        let now = ctx.now();
        self.links.clear();
        self.last_heard.clear();
        ctx.set_timer(self.timing.heartbeat, WpTimer::Heartbeat);
        for (i, (at, _)) in self.ops.iter().enumerate() {
            if *at >= now {
                ctx.set_timer(*at - now, WpTimer::Op { index: i });
            }
        }
        if self.joins {
            // Announce the links; neighbours answer, then a session starts.
            self.hello_waiting = self.config.iter().map(|&(p, _)| p).collect();
            for &(p, kbps) in &self.config {
                send(ctx, p, WpMsg::Hello { kbps });
            }
            ctx.set_timer(self.timing.echo_timeout, WpTimer::HelloTimeout);
        } else {
            let heard_at = ctx.monotonic();
            for &(p, kbps) in &self.config {
                self.links.insert(p, kbps);
                self.last_heard.insert(p, heard_at);
            }
            if self.starts_first_session {
                self.start_session(ctx);
            }
        }
    }

    /// A message from peer `from`.
    fn on_message(&mut self, ctx: &mut impl Ctx<PeerNode>, from: u32, msg: WpMsg) {
        if self.life == Life::Gone {
            return;
        }
        let now = ctx.monotonic();
        self.heard(from, now);
        match msg {
            WpMsg::Hello { kbps } => {
                // A new or restarted peer: nothing of an earlier incarnation survives.
                self.break_channels_over(ctx, from);
                let back = self.links.insert(from, kbps).is_none();
                self.last_heard.insert(from, now);
                // It is alive: a wave in progress must not drop it as silent. It knows
                // no session, and starts one of its own (above this one) once its
                // `Hello`s are answered.
                self.sessions.alive(from);
                let session = self.sessions.current;
                send(ctx, from, WpMsg::HelloAck { session });
                if self.timing.reconnect && back && !self.joins && self.life == Life::Active {
                    // A neighbour this peer had dropped probes it (both may have
                    // dropped the link, and both probe): the trees must include it.
                    self.neighbour_back(ctx, from);
                }
            }
            WpMsg::HelloAck { session } => {
                // Only raise the id seen: the newcomer takes part in no session yet.
                if session.counter > self.sessions.current.counter {
                    self.sessions.current.counter = session.counter;
                }
                self.hello_waiting.retain(|&p| p != from);
                let back = !self.links.contains_key(&from);
                if let Some(&(_, kbps)) = self.config.iter().find(|(p, _)| *p == from) {
                    self.links.insert(from, kbps);
                    self.last_heard.insert(from, now);
                }
                if self.joins {
                    if self.hello_waiting.is_empty() {
                        self.joins = false;
                        self.start_session(ctx);
                    }
                } else if self.timing.reconnect && back && self.links.contains_key(&from) {
                    // A dropped neighbour answered a probe.
                    self.neighbour_back(ctx, from);
                }
            }
            WpMsg::Heartbeat => {}
            WpMsg::Bye => self.link_down(ctx, from),
            m if m.is_session() => self.on_session_message(ctx, from, m),
            m => self.on_channel_message(ctx, from, m),
        }
    }

    /// A timer of this peer fired.
    fn on_timer(&mut self, ctx: &mut impl Ctx<PeerNode>, timer: WpTimer) {
        if let WpTimer::HopTimeout { chan } = &timer {
            // It fired: no longer pending (even if this peer has left meanwhile).
            self.channels.hop_timer_fired(*chan);
        }
        if self.life == Life::Gone {
            return;
        }
        match timer {
            WpTimer::Heartbeat => {
                ctx.set_timer(self.timing.heartbeat, WpTimer::Heartbeat);
                let now = ctx.monotonic();
                let silent: Vec<u32> = self
                    .links
                    .keys()
                    .copied()
                    .filter(|p| {
                        let heard = self.last_heard.get(p).copied().unwrap_or(SimTime::ZERO);
                        now.saturating_sub(heard) > self.timing.dead_after
                    })
                    .collect();
                for p in silent {
                    ctx.annotate(&format!("neighbour {p} silent"));
                    self.link_down(ctx, p);
                }
                for &p in self.links.keys() {
                    send(ctx, p, WpMsg::Heartbeat);
                }
                if self.timing.reconnect && self.life == Life::Active && !self.joins {
                    // Probe configured neighbours this peer dropped: one that is alive
                    // answers, and the link comes back.
                    let dropped: Vec<(u32, u64)> = self
                        .config
                        .iter()
                        .filter(|(p, _)| !self.links.contains_key(p))
                        .copied()
                        .collect();
                    for (p, kbps) in dropped {
                        send(ctx, p, WpMsg::Hello { kbps });
                    }
                }
            }
            WpTimer::HelloTimeout => {
                if self.joins {
                    self.joins = false;
                    self.start_session(ctx);
                }
            }
            WpTimer::EchoTimeout { session } => self.on_echo_timeout(ctx, session),
            WpTimer::HopTimeout { chan } => self.on_hop_timeout(ctx, chan),
            WpTimer::RetryQueue => self.resume_queue(ctx),
            // The node handles its channel's timers.
            WpTimer::Retransmit { .. } => {}
            WpTimer::Op { index } => {
                let op = self.ops[index].1.clone();
                self.perform(ctx, op);
            }
        }
    }

    /// Carry out user action `op`.
    pub(super) fn perform(&mut self, ctx: &mut impl Ctx<PeerNode>, op: PeerOp) {
        match op {
            PeerOp::Open { to, kbps } => self.request(ctx, to, kbps),
            PeerOp::Send { to, bytes } => self.send_data(ctx, to, bytes),
            PeerOp::Close { other } => self.close(ctx, other),
            PeerOp::Leave => {
                self.life = Life::Leaving;
                self.close_own(ctx);
                self.leave_if_free(ctx);
            }
            PeerOp::StartMst => self.start_session(ctx),
        }
    }

    /// The link to `peer` is gone (crash detected, or goodbye): tear down the channels
    /// over it and start a new session.
    pub(super) fn link_down(&mut self, ctx: &mut impl Ctx<PeerNode>, peer: u32) {
        if self.links.remove(&peer).is_none() {
            return;
        }
        self.last_heard.remove(&peer);
        self.break_channels_over(ctx, peer);
        if self.life != Life::Gone {
            self.start_session(ctx);
        }
    }

    /// A neighbour this peer had dropped is back (`reconnect`): start a session whose
    /// trees include it.
    fn neighbour_back(&mut self, ctx: &mut impl Ctx<PeerNode>, peer: u32) {
        ctx.annotate(&format!("neighbour {peer} is back"));
        self.start_session(ctx);
    }

    /// Leave for good once no channel passes through (graceful leave).
    pub(super) fn leave_if_free(&mut self, ctx: &mut impl Ctx<PeerNode>) {
        if self.life == Life::Leaving && self.channels.is_empty() {
            for &p in self.links.keys() {
                send(ctx, p, WpMsg::Bye);
            }
            ctx.annotate("left the network");
            ctx.metrics().add("peers_left", 1.0);
            self.life = Life::Gone;
        }
    }

    /// A sign of life from `from` at `now` (a message, or a segment of one).
    fn heard(&mut self, from: u32, now: SimTime) {
        if self.links.contains_key(&from) {
            self.last_heard.insert(from, now);
        }
    }

    /// Whether this peer still talks to `peer`: a neighbour, or one a joining peer's
    /// `Hello` has not heard back from. The reliable channel drops what is pending to
    /// any other peer.
    fn talks_to(&self, peer: u32) -> bool {
        self.links.contains_key(&peer) || (self.joins && self.hello_waiting.contains(&peer))
    }

    /// The current residual bandwidth of the link to `peer`.
    pub fn residual(&self, peer: u32) -> u64 {
        self.links
            .get(&peer)
            .map_or(0, |cap| cap.saturating_sub(self.channels.reserved_on(peer)))
    }
}

/// Send `msg` to peer `to`, counting session messages (wave, GHS, routing) in the
/// `session_messages` metric.
pub(super) fn send(ctx: &mut impl Ctx<PeerNode>, to: u32, msg: WpMsg) {
    if msg.is_session() {
        ctx.metrics().add("session_messages", 1.0);
    }
    ctx.send(NodeId(to), msg);
}

/// A node of the widest-path system: a peer, boxed so that the simulator's node slots
/// stay small, and its end of the channels to its neighbours, which every message the
/// peer sends or receives goes through.
#[derive(Clone, Debug)]
pub struct PeerNode(pub Box<Peer>, Box<Link>);

impl PeerNode {
    /// The node of `peer`, its channels in the mode its timing names.
    pub fn new(peer: Peer) -> PeerNode {
        let link = Link::new(peer.timing.channel);
        PeerNode(Box::new(peer), Box::new(link))
    }
}

impl Node for PeerNode {
    type Msg = WpMsg;
    type Timer = WpTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.0.on_start(&mut Wire::new(ctx, &mut self.1));
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: WpMsg) {
        let PeerNode(peer, link) = self;
        match msg {
            WpMsg::Seg {
                inc,
                seq,
                base,
                msg,
            } => {
                peer.heard(from.0, ctx.monotonic());
                for m in link.on_segment(ctx, from, inc, seq, base, *msg) {
                    peer.on_message(&mut Wire::new(ctx, link), from.0, m);
                }
            }
            WpMsg::Ack { inc, upto } => link.on_ack(from, inc, upto),
            msg => peer.on_message(&mut Wire::new(ctx, link), from.0, msg),
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: WpTimer) {
        let PeerNode(peer, link) = self;
        match timer {
            WpTimer::Retransmit { to } => link.on_retransmit(ctx, to, peer.talks_to(to)),
            timer => peer.on_timer(&mut Wire::new(ctx, link), timer),
        }
    }

    fn on_crash(&mut self) {
        // Everything but the configuration is volatile (the kernel drops the timers).
        let p = &mut self.0;
        p.links.clear();
        p.last_heard.clear();
        p.sessions = Sessions::default();
        p.channels = Channels::default();
        p.life = Life::Active;
        p.joins = true;
        self.1.crash();
    }

    fn on_leave(&mut self, ctx: &mut impl Ctx<Self>) {
        // An abrupt leave: say goodbye; channels through this peer break.
        let PeerNode(p, link) = self;
        let ctx = &mut Wire::new(ctx, link);
        for &n in p.links.keys() {
            send(ctx, n, WpMsg::Bye);
        }
        p.life = Life::Gone;
    }
}
