//! The replicated lock server: several `server` replicas, the counter replicated by the
//! primary's heartbeats, Bully election of a new primary when the primary falls silent,
//! and gates that find the new primary from its announcement.
//!
//! Choices:
//! - Replica rank is declaration order among the `server` nodes; the highest rank starts
//!   as primary.
//! - The primary applies a release and at once sends the new state (occupancy and, per
//!   gate, the sequence number of the last release applied) to every backup; it also
//!   sends it as a heartbeat every `heartbeat`. A backup that hears nothing for
//!   `3 x heartbeat` starts a Bully election.
//! - Bully: ELECTION to every higher rank, ANSWER from live higher ranks, COORDINATOR
//!   from the winner to every other replica (and, counted apart, to every gate). A
//!   replica that sent ELECTION and got no ANSWER within `election_timeout` wins; one
//!   that got an ANSWER but no COORDINATOR within twice that starts again.
//! - A restarted replica does not take over (it would do so with stale state): it comes
//!   back as a backup and learns the state from the next heartbeat. This departs from
//!   textbook Bully, where the restarted highest rank bullies its way back. Until that
//!   heartbeat it is *stale*: it neither answers ELECTIONs nor runs, so a fresh replica
//!   wins even against a higher rank; only after ten heartbeats of silence (every fresh
//!   replica gone) may a stale one lead. `dsim explore parking-server-crash` found the
//!   stale primary this prevents (`scenarios/found/` kept the counterexample).
//! - A gate that hears COORDINATOR answers with RECOVER: the car it holds the lock for,
//!   the cars waiting, and its last release. The new primary grants nothing until every
//!   gate has answered, then rebuilds the lock (holder, queue) and applies any release it
//!   had not seen, so no admitted car is forgotten and no two gates hold the lock.

use super::{GrantCause, ParkMsg, ParkTimer, Server, send};
use sim_core::{Ctx, Message, Node, NodeId, SimTime, TimerId};
use std::collections::{BTreeMap, BTreeSet};

/// A server replica.
#[derive(Clone, Debug)]
pub struct Replica {
    /// The replicas in rank order (this one included).
    pub(super) replicas: Vec<NodeId>,
    /// The gates.
    pub(super) gates: Vec<NodeId>,
    pub(super) rank: usize,
    pub(super) heartbeat: SimTime,
    pub(super) election_timeout: SimTime,
    /// Whether this replica is the primary.
    pub primary: bool,
    /// Primary that has heard RECOVER from every gate (and may grant).
    pub ready: bool,
    /// The lock, counter and display, as the single lock server keeps them.
    pub server: Server,
    /// Per gate, the sequence number of the last release applied.
    pub applied: BTreeMap<NodeId, u64>,
    pending: Vec<(NodeId, u64)>,
    recovered: BTreeSet<NodeId>,
    last_heard: SimTime,
    electing: bool,
    got_answer: bool,
    election_timer: Option<TimerId>,
    started: bool,
    /// Back from a crash and not yet refreshed by a primary's state: its counter and
    /// applied releases may be old, so it must not lead while a fresh replica can.
    stale: bool,
}

impl Replica {
    /// Replica `rank` of `replicas`.
    pub(super) fn new(capacity: u32, occupied: u32) -> Self {
        Replica {
            replicas: Vec::new(),
            gates: Vec::new(),
            rank: 0,
            heartbeat: SimTime::from_secs(1),
            election_timeout: SimTime::from_millis(500),
            primary: false,
            ready: false,
            server: Server::new(capacity, occupied),
            applied: BTreeMap::new(),
            pending: Vec::new(),
            recovered: BTreeSet::new(),
            last_heard: SimTime::ZERO,
            electing: false,
            got_answer: false,
            election_timer: None,
            started: false,
            stale: false,
        }
    }

    /// Silence after which a stale replica may lead after all: every fresh replica is
    /// gone too, and a lot with a stale count beats a lot that never opens.
    fn stale_wait(&self) -> SimTime {
        self.heartbeat * 10
    }

    /// Whether this replica may answer ELECTIONs and run: a fresh one may; a stale one
    /// only after `stale_wait` of silence.
    fn may_lead(&self, now: SimTime) -> bool {
        !self.stale || now.saturating_sub(self.last_heard) > self.stale_wait()
    }

    fn state_msg(&self) -> ParkMsg {
        ParkMsg::State {
            occupied: self.server.occupied,
            applied: self.applied.iter().map(|(g, s)| (g.0, *s)).collect(),
        }
    }

    fn broadcast_state(&self, ctx: &mut impl Ctx<Self>) {
        for &r in &self.replicas {
            if r != ctx.id() {
                send(ctx, r, self.state_msg());
            }
        }
    }

    fn set_election_timer(&mut self, ctx: &mut impl Ctx<Self>, after: SimTime) {
        if let Some(t) = self.election_timer.take() {
            ctx.cancel_timer(t);
        }
        self.election_timer = Some(ctx.set_timer(after, ParkTimer::ElectionTimeout));
    }

    fn on_heartbeat_timer(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.primary {
            self.broadcast_state(ctx);
        } else if !self.electing
            && ctx.sim_time().saturating_sub(self.last_heard) > self.heartbeat * 3
            && self.may_lead(ctx.sim_time())
        {
            self.start_election(ctx);
        }
        ctx.set_timer(self.heartbeat, ParkTimer::Heartbeat);
    }

    fn start_election(&mut self, ctx: &mut impl Ctx<Self>) {
        self.electing = true;
        self.got_answer = false;
        let higher: Vec<NodeId> = self.replicas[self.rank + 1..].to_vec();
        if higher.is_empty() {
            self.win(ctx);
            return;
        }
        for r in higher {
            ctx.metrics().add("election_messages", 1.0);
            send(ctx, r, ParkMsg::Election);
        }
        self.set_election_timer(ctx, self.election_timeout);
    }

    fn win(&mut self, ctx: &mut impl Ctx<Self>) {
        self.electing = false;
        self.primary = true;
        self.ready = false;
        self.recovered.clear();
        ctx.metrics().add("elections_won", 1.0);
        ctx.annotate("elected primary");
        for &r in &self.replicas.clone() {
            if r != ctx.id() {
                ctx.metrics().add("election_messages", 1.0);
                send(ctx, r, ParkMsg::Coordinator);
            }
        }
        for &g in &self.gates.clone() {
            ctx.metrics().add("failover_messages", 1.0);
            send(ctx, g, ParkMsg::Coordinator);
        }
        if self.gates.is_empty() {
            self.ready = true;
        }
    }

    fn on_election_timeout(&mut self, ctx: &mut impl Ctx<Self>) {
        self.election_timer = None;
        if !self.electing {
            return;
        }
        if self.got_answer {
            // Someone higher answered but never announced itself: try again.
            self.start_election(ctx);
        } else {
            self.win(ctx);
        }
    }

    fn request(&mut self, ctx: &mut impl Ctx<Self>, who: (NodeId, u64)) {
        if self.server.arrived.contains_key(&who) || self.server.lock.holder() == Some(&who) {
            return;
        }
        self.server.arrived.entry(who).or_insert(ctx.sim_time());
        if let Some(g) = self.server.lock.request(who) {
            self.server.grant(ctx, g, GrantCause::Request);
        }
    }

    fn apply(&mut self, ctx: &mut impl Ctx<Self>, gate: NodeId, seq: u64, delta: i32) {
        let last = self.applied.entry(gate).or_insert(0);
        if seq <= *last {
            return;
        }
        *last = seq;
        self.server.change_occupancy(ctx, delta);
        self.broadcast_state(ctx);
    }
}

impl Node for Replica {
    type Msg = ParkMsg;
    type Timer = ParkTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.last_heard = ctx.sim_time();
        let first = !std::mem::replace(&mut self.started, true);
        if first && self.rank + 1 == self.replicas.len() {
            // The initial primary: every gate starts idle, nothing to recover.
            self.primary = true;
            self.ready = true;
            self.server.show(ctx);
        }
        ctx.set_timer(self.heartbeat, ParkTimer::Heartbeat);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: ParkMsg) {
        match msg {
            ParkMsg::State { occupied, applied } => {
                self.last_heard = ctx.sim_time();
                self.stale = false;
                if !self.primary {
                    self.server.occupied = occupied;
                    self.applied = applied.into_iter().map(|(g, s)| (NodeId(g), s)).collect();
                }
            }
            // A stale replica stays out of the election (no ANSWER) so a fresh one wins.
            ParkMsg::Election if !self.may_lead(ctx.sim_time()) => {}
            ParkMsg::Election => {
                ctx.metrics().add("election_messages", 1.0);
                send(ctx, from, ParkMsg::Answer);
                if !self.electing && !self.primary {
                    self.start_election(ctx);
                } else if self.primary {
                    // Already primary: re-announce so the lower replica stops.
                    ctx.metrics().add("election_messages", 1.0);
                    send(ctx, from, ParkMsg::Coordinator);
                }
            }
            ParkMsg::Answer => {
                if self.electing && !self.got_answer {
                    self.got_answer = true;
                    let wait = SimTime::from_nanos(self.election_timeout.as_nanos() * 2);
                    self.set_election_timer(ctx, wait);
                }
            }
            ParkMsg::SetPlaces { places } => self.server.capacity = places,
            ParkMsg::Coordinator => {
                if let Some(t) = self.election_timer.take() {
                    ctx.cancel_timer(t);
                }
                self.electing = false;
                self.primary = false;
                self.ready = false;
                self.last_heard = ctx.sim_time();
            }
            ParkMsg::Request { car } => {
                if self.ready {
                    self.request(ctx, (from, car));
                } else if self.primary {
                    self.pending.push((from, car));
                }
            }
            ParkMsg::Release { car, delta, seq } => {
                if !self.ready || self.server.lock.holder() != Some(&(from, car)) {
                    return;
                }
                self.apply(ctx, from, seq, delta);
                if let Some(g) = self.server.lock.release(&(from, car)) {
                    self.server.grant(ctx, g, GrantCause::Release);
                }
            }
            ParkMsg::Recover {
                holding,
                waiting,
                last_release,
            } => {
                if !self.primary || self.ready || !self.recovered.insert(from) {
                    return;
                }
                if let Some((seq, delta)) = last_release {
                    self.apply(ctx, from, seq, delta);
                }
                if let Some(car) = holding {
                    self.server.lock.request((from, car));
                }
                for (car, at) in waiting {
                    self.server.arrived.insert((from, car), at);
                    self.pending.push((from, car));
                }
                if self.recovered.len() == self.gates.len() {
                    self.ready = true;
                    let mut seen = BTreeSet::new();
                    for who in std::mem::take(&mut self.pending) {
                        if !seen.insert(who) || self.server.lock.holder() == Some(&who) {
                            continue;
                        }
                        let at = self.server.arrived.remove(&who).unwrap_or(ctx.sim_time());
                        self.server.arrived.insert(who, at);
                        if let Some(g) = self.server.lock.request(who) {
                            self.server.grant(ctx, g, GrantCause::Request);
                        }
                    }
                }
            }
            other => ctx.annotate(&format!("replica: unexpected {}", other.kind())),
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: ParkTimer) {
        match timer {
            ParkTimer::Heartbeat => self.on_heartbeat_timer(ctx),
            ParkTimer::ElectionTimeout => self.on_election_timeout(ctx),
            // A replica sets only the two timers above.
            ParkTimer::CarArrives
            | ParkTimer::BarrierOpen { .. }
            | ParkTimer::BeamEdge { .. }
            | ParkTimer::Debounce
            | ParkTimer::Done { .. }
            | ParkTimer::LcdWritten { .. }
            | ParkTimer::RequestRetry { .. }
            | ParkTimer::GrantRetry { .. }
            | ParkTimer::RaRetry { .. }
            | ParkTimer::Admin { .. }
            | ParkTimer::Frame => {}
        }
    }

    fn on_crash(&mut self) {
        // Lock and election state are volatile; occupancy and applied releases are
        // replicated anyway and get refreshed from the next heartbeat.
        self.primary = false;
        self.ready = false;
        self.server.lock.clear();
        self.server.arrived.clear();
        self.pending.clear();
        self.recovered.clear();
        self.electing = false;
        self.got_answer = false;
        self.election_timer = None;
        self.stale = true;
    }
}
