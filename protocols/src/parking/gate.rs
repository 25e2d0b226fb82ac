//! A gate controller (ESP32 + photo-interrupter + SG90 barrier) and its cars.
//!
//! Cars arrive as a Poisson process (exponential gaps of mean `arrival_mean`) or a daily
//! profile ([`super::Arrivals`]); each one asks for the lock (lock server, replicated
//! server) or joins the gate's queue for one Ricart-Agrawala request at a time. Inside
//! the critical section the gate reads the counter, admits or turns the car away, and
//! holds the lock for the barrier's servo time, the car's passage and the barrier
//! closing.
//!
//! The passage is sensed, not assumed: when the barrier is up the car drives through the
//! photo-interrupter beam, whose raw edges (with bounce, drawn from the gate's random
//! stream) arrive as [`ParkTimer::BeamEdge`] timers. The firmware feeds them to its
//! [`Debouncer`] and sets a [`ParkTimer::Debounce`] timer for each; the debounced break
//! and restore are counted, and the debounced restore ("car has passed") starts the
//! barrier closing. With `hold_mean` set the sensor is not used.

use super::{
    GrantCause, Mode, ParkMsg, ParkTimer, ParkingParams, Released, RicartAgrawala, resend, send,
};
use hardware_models::photo_interrupter::{Beam, Debouncer};
use sim_core::rng::exponential;
use sim_core::{Ctx, Message, Node, NodeId, SimTime};
use std::collections::BTreeMap;

/// Entry or exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateKind {
    /// Cars come in.
    Entry,
    /// Cars go out.
    Exit,
}

/// A gate controller.
#[derive(Clone, Debug)]
pub struct Gate {
    pub(super) params: ParkingParams,
    /// Entry or exit.
    pub kind: GateKind,
    pub(super) server: Option<NodeId>,
    /// Replicated mode: the term of the primary `server` (the highest COORDINATOR term
    /// heard; an older one is ignored).
    pub(super) term: u64,
    pub(super) display: Option<NodeId>,
    /// The other gates (Ricart-Agrawala), by participant index.
    pub(super) peers: Vec<NodeId>,
    pub(super) ra: RicartAgrawala,
    /// Counter view in Ricart-Agrawala mode: (version, occupied).
    pub(super) view: (u64, u32),
    pub(super) next_car: u64,
    /// Cars waiting for the lock, with their arrival time.
    pub waiting: BTreeMap<u64, SimTime>,
    /// The car in the critical section and its occupancy change.
    pub in_cs: Option<(u64, i32)>,
    /// Grants (critical-section entries) received.
    pub granted: u64,
    /// Cars admitted into the lot.
    pub admitted: u64,
    /// Cars that left the lot.
    pub left: u64,
    /// Cars turned away because the lot was full.
    pub turned_away: u64,
    /// Releases sent.
    pub releases: u64,
    /// Lock-server and replicated modes: the release of every car that left the
    /// critical section (sequence number, change), repeated when the server repeats
    /// that car's GRANT.
    pub released: BTreeMap<u64, (u64, i32)>,
    /// Running sum of the changes of releases 1..=k, at index k (index 0 is 0).
    pub delta_prefix: Vec<i64>,
    /// Whether the gate is open (the admin may close it).
    pub open: bool,
    /// Places in the lot as this gate knows them (Ricart-Agrawala mode).
    pub capacity: u32,
    /// Cars sent away because the gate was closed.
    pub closed_away: u64,
    /// The firmware's debouncer of the beam sensor.
    pub debouncer: Debouncer,
    /// When the barrier finished opening for the car passing now.
    pub barrier_opened: Option<SimTime>,
    /// Raw sensor edges seen (bounce included).
    pub raw_edges: u64,
    /// Debounced beam breaks (one per car that drove through).
    pub beam_breaks: u64,
    /// Debounced beam restores (one per car that drove through).
    pub beam_restores: u64,
    /// Barrier closings started less than the car's L / v after the barrier opened
    /// (should stay 0).
    pub closed_before_passage: u64,
}

impl Gate {
    /// A gate of kind `kind` in a lot of `params`, open, idle, its beam clear; the
    /// system gives it its server, display and peers once every node exists.
    pub(super) fn new(params: &ParkingParams, kind: GateKind) -> Gate {
        Gate {
            params: params.clone(),
            kind,
            server: None,
            term: 0,
            display: None,
            peers: Vec::new(),
            ra: RicartAgrawala::default(),
            view: (0, params.initial_occupied),
            next_car: 0,
            waiting: BTreeMap::new(),
            in_cs: None,
            granted: 0,
            admitted: 0,
            left: 0,
            turned_away: 0,
            releases: 0,
            released: BTreeMap::new(),
            delta_prefix: vec![0],
            open: true,
            capacity: params.capacity,
            closed_away: 0,
            debouncer: Debouncer::new(params.debounce, Beam::Clear),
            barrier_opened: None,
            raw_edges: 0,
            beam_breaks: 0,
            beam_restores: 0,
            closed_before_passage: 0,
        }
    }

    fn schedule_arrival(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.params.cars_per_gate > 0 && self.next_car >= self.params.cars_per_gate {
            return;
        }
        let (now, mean) = (ctx.sim_time(), self.params.arrival_mean);
        let gap = self.params.arrivals.next_gap(now, mean, ctx.rng());
        ctx.set_timer(gap, ParkTimer::CarArrives);
    }

    fn car_arrives(&mut self, ctx: &mut impl Ctx<Self>) {
        let car = self.next_car;
        self.next_car += 1;
        if !self.open {
            self.closed_away += 1;
            self.schedule_arrival(ctx);
            return;
        }
        self.waiting.insert(car, ctx.sim_time());
        match self.params.mode {
            Mode::LockServer | Mode::Replicated => {
                if let Some(server) = self.server {
                    send(ctx, server, ParkMsg::Request { car });
                    ctx.set_timer(self.params.retry, ParkTimer::RequestRetry { car });
                }
            }
            Mode::RicartAgrawala => self.ra_try(ctx),
        }
        self.schedule_arrival(ctx);
    }

    fn ra_try(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.waiting.is_empty() || self.ra.requesting() || self.ra.in_cs() {
            return;
        }
        if let Some(ts) = self.ra.request() {
            for &p in &self.peers.clone() {
                if p != ctx.id() {
                    send(ctx, p, ParkMsg::RaRequest { ts });
                }
            }
            if !self.ra.in_cs() {
                ctx.set_timer(self.params.retry, ParkTimer::RaRetry { ts });
            } else {
                let car = *self.waiting.keys().next().expect("checked");
                let (occ, cap) = (self.view.1, self.capacity);
                self.enter(ctx, car, occ, cap, None);
            }
        }
    }

    /// The lock is held for `car`; `chain` is the causal message chain (client delay
    /// when `Some((n, false))`, synchronization delay when `Some((n, true))`).
    fn enter(
        &mut self,
        ctx: &mut impl Ctx<Self>,
        car: u64,
        occupied: u32,
        capacity: u32,
        chain: Option<(u32, bool)>,
    ) {
        let Some(arrived) = self.waiting.remove(&car) else {
            ctx.metrics().add("grants_for_unknown_cars", 1.0);
            return;
        };
        self.granted += 1;
        ctx.metrics().add("entries", 1.0);
        match chain {
            Some((n, true)) => ctx.metrics().observe("sync_delay_messages", f64::from(n)),
            Some((n, false)) => ctx.metrics().observe("client_delay_messages", f64::from(n)),
            None => {}
        }
        let delta = match self.kind {
            GateKind::Entry if occupied < capacity => 1,
            GateKind::Entry => {
                self.turned_away += 1;
                0
            }
            GateKind::Exit if occupied > 0 => -1,
            GateKind::Exit => 0,
        };
        self.in_cs = Some((car, delta));
        if delta == 1 {
            self.admitted += 1;
        } else if delta == -1 {
            self.left += 1;
        }
        if delta != 0 {
            self.latency(ctx, arrived);
        }
        let hold = match self.params.hold_mean {
            Some(mean) => {
                let h = exponential(ctx.rng(), mean.as_secs_f64());
                SimTime::from_nanos((h * 1e9) as u64)
            }
            // The beam sensor ends the critical section: `barrier_open`, then `debounce`.
            None if delta != 0 => {
                let open = self.params.barrier.open_time();
                ctx.set_timer(open, ParkTimer::BarrierOpen { car });
                return;
            }
            None => SimTime::ZERO,
        };
        if hold == SimTime::ZERO {
            self.leave(ctx, car);
        } else {
            ctx.set_timer(hold, ParkTimer::Done { car });
        }
    }

    /// Car at the gate to barrier open.
    fn latency(&mut self, ctx: &mut impl Ctx<Self>, arrived: SimTime) {
        let open = self.params.barrier.open_time();
        let waited = ctx.sim_time() - arrived + open;
        ctx.metrics()
            .observe("entry_latency_ms", waited.as_millis_f64());
    }

    /// The barrier is up: car `car` drives through the beam, whose raw edges are drawn
    /// now and delivered as timers.
    fn barrier_open(&mut self, ctx: &mut impl Ctx<Self>, car: u64) {
        if self.in_cs.map(|(c, _)| c) != Some(car) {
            return;
        }
        let now = ctx.sim_time();
        self.barrier_opened = Some(now);
        let edges = self
            .params
            .sensor
            .car_edges(now, &self.params.car(), ctx.rng());
        for e in edges {
            ctx.set_timer(e.at - now, ParkTimer::BeamEdge { beam: e.beam });
        }
    }

    /// A raw edge of the sensor output reaches the firmware.
    fn beam_edge(&mut self, ctx: &mut impl Ctx<Self>, beam: Beam) {
        let now = ctx.sim_time();
        self.raw_edges += 1;
        let settle = self.debouncer.on_edge(now, beam);
        ctx.set_timer(settle - now, ParkTimer::Debounce);
    }

    /// A debounce window ran out: a debounced break is counted; a debounced restore means
    /// the car has passed, and the barrier closes (the critical section ends when it is
    /// down).
    fn debounce(&mut self, ctx: &mut impl Ctx<Self>) {
        let Some(edge) = self.debouncer.settle(ctx.sim_time()) else {
            return;
        };
        match edge.beam {
            Beam::Blocked => self.beam_breaks += 1,
            Beam::Clear => {
                self.beam_restores += 1;
                let opened = self.barrier_opened.take().unwrap_or(SimTime::ZERO);
                let passage = ctx.sim_time() - opened;
                if passage < self.params.passage_time() {
                    self.closed_before_passage += 1;
                }
                ctx.metrics()
                    .observe("gate_passage_ms", passage.as_millis_f64());
                if let Some((car, _)) = self.in_cs {
                    let close = self.params.barrier.close_time();
                    ctx.set_timer(close, ParkTimer::Done { car });
                }
            }
        }
    }

    fn leave(&mut self, ctx: &mut impl Ctx<Self>, car: u64) {
        let Some((c, delta)) = self.in_cs.take() else {
            return;
        };
        debug_assert_eq!(c, car);
        match self.params.mode {
            Mode::LockServer | Mode::Replicated => {
                self.releases += 1;
                let seq = self.releases;
                let last = *self.delta_prefix.last().unwrap_or(&0);
                self.delta_prefix.push(last + i64::from(delta));
                self.released.insert(car, (seq, delta));
                if let Some(server) = self.server {
                    send(ctx, server, ParkMsg::Release { car, delta, seq });
                }
            }
            Mode::RicartAgrawala => {
                if delta != 0 {
                    self.view.0 += 1;
                    self.view.1 = (i64::from(self.view.1) + i64::from(delta)) as u32;
                    if let Some(d) = self.display {
                        let free = self.capacity.saturating_sub(self.view.1);
                        send(ctx, d, ParkMsg::Show { free });
                    }
                }
                let (version, occupied) = self.view;
                for (i, ts) in self.ra.release() {
                    let to = self.peers[i];
                    let msg = ParkMsg::RaReply {
                        ts,
                        version,
                        occupied,
                        deferred: true,
                    };
                    send(ctx, to, msg);
                }
                self.ra_try(ctx);
            }
        }
    }
}

impl Node for Gate {
    type Msg = ParkMsg;
    type Timer = ParkTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.schedule_arrival(ctx);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: ParkMsg) {
        match msg {
            ParkMsg::Grant {
                car,
                occupied,
                capacity,
                cause,
            } => {
                if self.params.mode == Mode::Replicated && Some(from) != self.server {
                    // From a replica that is no longer this gate's primary.
                    return;
                }
                if !self.waiting.contains_key(&car) {
                    // A repeated or duplicated GRANT: if the car has left, its RELEASE
                    // went missing; if it is inside, there is nothing to do.
                    if let (Some(&(seq, delta)), Some(server)) =
                        (self.released.get(&car), self.server)
                    {
                        resend(ctx, server, ParkMsg::Release { car, delta, seq });
                    }
                    return;
                }
                let sync = cause == GrantCause::Release;
                self.enter(ctx, car, occupied, capacity, Some((2, sync)));
            }
            ParkMsg::RaRequest { ts } => {
                let Some(idx) = self.peers.iter().position(|&p| p == from) else {
                    return;
                };
                if self.ra.on_request(ts, idx) {
                    let (version, occupied) = self.view;
                    let msg = ParkMsg::RaReply {
                        ts,
                        version,
                        occupied,
                        deferred: false,
                    };
                    send(ctx, from, msg);
                }
            }
            ParkMsg::RaReply {
                ts,
                version,
                occupied,
                deferred,
            } => {
                if version > self.view.0 {
                    self.view = (version, occupied);
                }
                let Some(idx) = self.peers.iter().position(|&p| p == from) else {
                    return;
                };
                if self.ra.on_reply(idx, ts) {
                    let car = *self.waiting.keys().next().expect("requested for a car");
                    let chain = if deferred { (1, true) } else { (2, false) };
                    let (occ, cap) = (self.view.1, self.capacity);
                    self.enter(ctx, car, occ, cap, Some(chain));
                }
            }
            ParkMsg::SetPlaces { places } => self.capacity = places,
            ParkMsg::GateControl { open } => self.open = open,
            ParkMsg::Chat { answer: false } => {
                ctx.metrics().add("chat_messages", 1.0);
                send(ctx, from, ParkMsg::Chat { answer: true });
            }
            // An announcement of an older term comes from a deposed primary, or one that
            // won without hearing of a later term: tell it.
            ParkMsg::Coordinator { term } if term < self.term => {
                ctx.metrics().add("failover_messages", 1.0);
                send(ctx, from, ParkMsg::Superseded { term: self.term });
            }
            ParkMsg::Coordinator { term } => {
                // Answered every time: a repeated COORDINATOR means the RECOVER was lost.
                self.term = term;
                self.server = Some(from);
                let msg = ParkMsg::Recover {
                    term,
                    holding: self.in_cs.map(|(car, _)| car),
                    waiting: self.waiting.iter().map(|(c, t)| (*c, *t)).collect(),
                    released: Released {
                        seq: self.releases,
                        sum: *self.delta_prefix.last().unwrap_or(&0),
                    },
                };
                ctx.metrics().add("failover_messages", 1.0);
                send(ctx, from, msg);
            }
            other => ctx.annotate(&format!("gate: unexpected {}", other.kind())),
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: ParkTimer) {
        match timer {
            ParkTimer::CarArrives => self.car_arrives(ctx),
            ParkTimer::Done { car } => self.leave(ctx, car),
            ParkTimer::BarrierOpen { car } => self.barrier_open(ctx, car),
            ParkTimer::BeamEdge { beam } => self.beam_edge(ctx, beam),
            ParkTimer::Debounce => self.debounce(ctx),
            ParkTimer::RequestRetry { car } => {
                if self.waiting.contains_key(&car)
                    && let Some(server) = self.server
                {
                    resend(ctx, server, ParkMsg::Request { car });
                    ctx.set_timer(self.params.retry, ParkTimer::RequestRetry { car });
                }
            }
            ParkTimer::RaRetry { ts } => {
                if let Some((current, missing)) = self.ra.unanswered()
                    && current == ts
                {
                    for i in missing {
                        resend(ctx, self.peers[i], ParkMsg::RaRequest { ts });
                    }
                    ctx.set_timer(self.params.retry, ParkTimer::RaRetry { ts });
                }
            }
            // A gate sets only the timers above.
            ParkTimer::LcdWritten { .. }
            | ParkTimer::Heartbeat
            | ParkTimer::ElectionTimeout
            | ParkTimer::GrantRetry { .. }
            | ParkTimer::Admin { .. }
            | ParkTimer::Frame => {}
        }
    }
}
