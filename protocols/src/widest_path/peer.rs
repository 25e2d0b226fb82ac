//! A peer: its configuration and life, its handlers (start, messages, timers, user
//! actions), and the node adapter that carries out the actions they produce.

use super::channel::{ChanId, Channels};
use super::messages::{WpMsg, WpTimer};
use super::session::Sessions;
use sim_core::{Ctx, Node, NodeId, SimTime, TimerId};
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
    pub(super) fn on_start(&mut self, out: &mut Out) {
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

    pub(super) fn on_message(&mut self, out: &mut Out, from: u32, msg: WpMsg) {
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

    pub(super) fn on_timer(&mut self, out: &mut Out, timer: WpTimer) {
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

    pub(super) fn perform(&mut self, out: &mut Out, op: PeerOp) {
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
    pub(super) fn link_down(&mut self, out: &mut Out, peer: u32) {
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
    pub(super) fn leave_if_free(&mut self, out: &mut Out) {
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
    /// The node of `peer`.
    pub fn new(peer: Peer) -> PeerNode {
        PeerNode(Box::new(peer), BTreeMap::new())
    }

    fn drive(&mut self, ctx: &mut impl Ctx<Self>, f: impl FnOnce(&mut Peer, &mut Out)) {
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

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.drive(ctx, |p, out| p.on_start(out));
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: WpMsg) {
        self.drive(ctx, |p, out| p.on_message(out, from.0, msg));
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: WpTimer) {
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

    fn on_leave(&mut self, ctx: &mut impl Ctx<Self>) {
        // An abrupt leave: say goodbye; channels through this peer break.
        self.drive(ctx, |p, out| {
            for &n in p.links.keys() {
                out.send(n, WpMsg::Bye);
            }
            p.life = Life::Gone;
        });
    }
}
