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
//! - Terms, for lossy links: a winner takes the next term of its own (terms are unique
//!   per replica: term mod replicas = rank), and COORDINATOR, the state heartbeat and
//!   RECOVER carry it. A lost ELECTION or ANSWER can make a lower replica win beside a
//!   live primary; whoever hears a higher term steps down. Gates ignore GRANTs from
//!   anyone but their current primary, and answer a COORDINATOR of an older term with
//!   SUPERSEDED and theirs (a replica back from a crash can win with an old term), so
//!   its sender steps down and the next election picks a term above it. The primary repeats COORDINATOR every
//!   heartbeat to the gates that have not recovered (a RECOVER or COORDINATOR was
//!   lost), and repeats GRANTs as the single lock server does; gates repeat REQUESTs
//!   and RELEASEs, so a fault-free run sends what it sent before.
//! - A GRANT of an old term that arrives after its primary was deposed and elected
//!   again would be taken for a new one; an election takes at least three heartbeats
//!   of silence, so delays shorter than that (the 500 ms spikes of the fault model,
//!   against a 1 s heartbeat) cannot do it.
//! - A restarted replica does not take over (it would do so with stale state): it comes
//!   back as a backup and learns the state from the next heartbeat. This departs from
//!   textbook Bully, where the restarted highest rank bullies its way back. Until that
//!   heartbeat it is *stale*: it neither answers ELECTIONs nor runs, so a fresh replica
//!   wins even against a higher rank; only after ten heartbeats of silence (every fresh
//!   replica gone) may a stale one lead. `dsim explore parking-server-crash` found the
//!   stale primary this prevents (`scenarios/found/` kept the counterexample).
//! - A gate that hears COORDINATOR answers with RECOVER: the car it holds the lock for,
//!   the cars waiting, and its releases so far with the sum of their changes. The new
//!   primary grants nothing until every gate has answered, then rebuilds the lock
//!   (holder, queue) and counts any release it had not seen (the sum makes it exact
//!   however many it missed), so no admitted car is forgotten and no two gates hold the
//!   lock.

use super::{GrantCause, ParkMsg, ParkTimer, Released, Server, resend, send};
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
    /// The highest term heard (this replica's own while it is primary).
    pub term: u64,
    /// Per gate, the releases applied and the sum of their changes.
    pub applied: BTreeMap<NodeId, Released>,
    pending: Vec<(NodeId, u64)>,
    recovered: BTreeSet<NodeId>,
    /// When the primary was last heard from, on this replica's monotonic clock.
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
    /// A replica of a lot of `capacity` places with `occupied` taken; the system sets
    /// its rank, peers and gates.
    pub(super) fn new(capacity: u32, occupied: u32, retry: SimTime) -> Self {
        Replica {
            replicas: Vec::new(),
            gates: Vec::new(),
            rank: 0,
            heartbeat: SimTime::from_secs(1),
            election_timeout: SimTime::from_millis(500),
            primary: false,
            ready: false,
            server: Server::new(capacity, occupied, retry),
            term: 0,
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
            term: self.term,
            occupied: self.server.occupied,
            applied: self.applied.iter().map(|(g, r)| (g.0, *r)).collect(),
        }
    }

    /// Another replica leads in `term`: stop leading or electing, forget the lock.
    fn follow(&mut self, ctx: &mut impl Ctx<Self>, term: u64) {
        if let Some(t) = self.election_timer.take() {
            ctx.cancel_timer(t);
        }
        if self.primary {
            self.server.lock.clear();
            self.server.arrived.clear();
            self.server.done.clear();
            self.pending.clear();
        }
        self.term = term;
        self.electing = false;
        self.primary = false;
        self.ready = false;
        self.last_heard = ctx.monotonic();
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
            if !self.ready {
                // Some gate's COORDINATOR or RECOVER went missing: announce again.
                for &g in &self.gates {
                    if !self.recovered.contains(&g) {
                        resend(ctx, g, ParkMsg::Coordinator { term: self.term });
                    }
                }
            }
        } else if !self.electing
            && ctx.monotonic().saturating_sub(self.last_heard) > self.heartbeat * 3
            && self.may_lead(ctx.monotonic())
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
        // The next term that is this replica's own (term mod replicas = rank), so no
        // two replicas ever claim the same term.
        let n = self.replicas.len() as u64;
        self.term = (self.term / n + 1) * n + self.rank as u64;
        self.recovered.clear();
        ctx.metrics().add("elections_won", 1.0);
        ctx.annotate("elected primary");
        for &r in &self.replicas.clone() {
            if r != ctx.id() {
                ctx.metrics().add("election_messages", 1.0);
                send(ctx, r, ParkMsg::Coordinator { term: self.term });
            }
        }
        for &g in &self.gates.clone() {
            ctx.metrics().add("failover_messages", 1.0);
            send(ctx, g, ParkMsg::Coordinator { term: self.term });
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

    /// Count `gate`'s releases up to `released` (nothing if they are counted already).
    fn apply(&mut self, ctx: &mut impl Ctx<Self>, gate: NodeId, released: Released) {
        let counted = self.applied.entry(gate).or_default();
        if released.seq <= counted.seq {
            return;
        }
        let change = released.sum - counted.sum;
        *counted = released;
        self.server.change_occupancy(ctx, change as i32);
        self.broadcast_state(ctx);
    }
}

impl Node for Replica {
    type Msg = ParkMsg;
    type Timer = ParkTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.last_heard = ctx.monotonic();
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
            ParkMsg::State { term, .. } if term < self.term => {}
            ParkMsg::State {
                term,
                occupied,
                applied,
            } => {
                if self.primary && term == self.term {
                    return;
                }
                self.follow(ctx, term);
                self.stale = false;
                self.server.occupied = occupied;
                self.applied = applied.into_iter().map(|(g, r)| (NodeId(g), r)).collect();
            }
            // A stale replica stays out of the election (no ANSWER) so a fresh one wins.
            ParkMsg::Election if !self.may_lead(ctx.monotonic()) => {}
            ParkMsg::Election => {
                ctx.metrics().add("election_messages", 1.0);
                send(ctx, from, ParkMsg::Answer);
                if !self.electing && !self.primary {
                    self.start_election(ctx);
                } else if self.primary {
                    // Already primary: re-announce so the lower replica stops.
                    ctx.metrics().add("election_messages", 1.0);
                    send(ctx, from, ParkMsg::Coordinator { term: self.term });
                }
            }
            ParkMsg::Answer => {
                if self.electing && !self.got_answer {
                    self.got_answer = true;
                    let wait = SimTime::from_nanos(self.election_timeout.as_nanos() * 2);
                    self.set_election_timer(ctx, wait);
                }
            }
            ParkMsg::Superseded { term } => {
                if term > self.term {
                    self.follow(ctx, term);
                }
            }
            ParkMsg::SetPlaces { places } => self.server.capacity = places,
            ParkMsg::Coordinator { term } => {
                if term > self.term || (term == self.term && !self.primary) {
                    self.follow(ctx, term);
                }
            }
            ParkMsg::Request { car } => {
                if self.ready {
                    self.server.request(ctx, (from, car));
                } else if self.primary {
                    self.pending.push((from, car));
                }
            }
            ParkMsg::Release { car, delta, seq } => {
                if !self.ready || self.server.lock.holder() != Some(&(from, car)) {
                    return;
                }
                let counted = self.applied.get(&from).copied().unwrap_or_default();
                if seq == counted.seq + 1 {
                    let sum = counted.sum + i64::from(delta);
                    self.apply(ctx, from, Released { seq, sum });
                }
                self.server.done.insert((from, car));
                if let Some(g) = self.server.lock.release(&(from, car)) {
                    self.server.grant(ctx, g, GrantCause::Release);
                }
            }
            ParkMsg::Recover {
                term,
                holding,
                waiting,
                released,
            } => {
                if !self.primary || self.ready || term != self.term || !self.recovered.insert(from)
                {
                    return;
                }
                self.apply(ctx, from, released);
                if let Some(car) = holding {
                    // The gate is inside: it releases to us, or a GRANT repeated after
                    // `retry` gets its RELEASE repeated.
                    self.server.lock.request((from, car));
                    let retry = self.server.retry;
                    ctx.set_timer(retry, ParkTimer::GrantRetry { gate: from, car });
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
            ParkTimer::GrantRetry { gate, car } => {
                if self.ready && self.server.lock.holder() == Some(&(gate, car)) {
                    self.server.regrant(ctx, gate, car);
                }
            }
            // A replica sets only the three timers above.
            ParkTimer::CarArrives
            | ParkTimer::BarrierOpen { .. }
            | ParkTimer::BeamEdge { .. }
            | ParkTimer::Debounce
            | ParkTimer::Done { .. }
            | ParkTimer::LcdWritten { .. }
            | ParkTimer::RequestRetry { .. }
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
        self.server.done.clear();
        self.pending.clear();
        self.recovered.clear();
        self.electing = false;
        self.got_answer = false;
        self.election_timer = None;
        self.stale = true;
    }
}
