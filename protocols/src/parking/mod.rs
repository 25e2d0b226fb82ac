//! System 1, the parking lot (D.I.P.S.): gates that admit cars into a lot of limited
//! capacity under mutual exclusion over the free-places counter.
//!
//! Nodes (roles): `entry` and `exit` gates (ESP32 + photo-interrupter + SG90 barrier,
//! [`gate`]), a `server` holding the counter ([`server`], or several `server` replicas
//! in replicated mode, [`replicated`]), a `display` (ESP32 + 16x2 LCD: shows the count
//! after the I2C write time), an `admin` console and `camera` streams ([`admin`]).
//! Mutual exclusion is selected by [`Mode`]: the report's lock server
//! ([`lock_server`]), Ricart-Agrawala between the gates ([`ricart_agrawala`]), or the
//! replicated server with Bully election. The invariants are in [`invariants`].
//!
//! Choices the report leaves open, as modelled here:
//! - Cars arrive at each gate as a Poisson process (`arrival_mean` between cars), or,
//!   with `arrivals: DailyProfile(hourly_rates: [..])`, as a non-homogeneous Poisson
//!   process with one rate per hour of the day, drawn by thinning ([`arrivals`]); a car
//!   at an exit gate finding the lot empty is ignored. Every car asks for the lock on
//!   its own (a gate may have several requests queued at the server), so the server sees
//!   the superposition of the gates' Poisson streams, which is what the M/G/1 test uses.
//! - The counter is read and written inside the critical section: a grant carries the
//!   occupancy, the release carries the change (+1 admitted, -1 left, 0 turned away).
//! - The critical section of an admitted car lasts barrier open (servo time) + car
//!   passage + barrier close, unless `hold_mean` is set, in which case it is exponential
//!   with that mean (for the queueing test). A turned-away car releases at once. The
//!   passage is seen by the gate's photo-interrupter (`sensor`): once the barrier is up
//!   the car breaks the beam for length / speed, the raw output bounces at both edges
//!   (drawn from the gate's random stream), and the firmware's [`Debouncer`](hardware_models::photo_interrupter::Debouncer) (`debounce`
//!   window) turns it into one break and one restore; the debounced restore is "car has
//!   passed", and the barrier closes after it. The passage therefore lasts L / v plus the
//!   sensor response, the bounce and the debounce window (about 7 ms more).
//! - Links may lose, duplicate and reorder messages (ESP32 Wi-Fi is UDP-like). The
//!   report assumed reliable links; here the mutual exclusion recovers by timeouts that
//!   only fire when a message went missing, so a fault-free run sends exactly the
//!   report's messages. Lock server: a gate repeats a car's REQUEST every `retry` until
//!   granted; the server, every `retry` while a car holds the lock, repeats its GRANT; a
//!   gate answers a GRANT for a car it already released by repeating that RELEASE. The
//!   server keys everything by (gate, car), answers a repeated REQUEST of the holder with
//!   its GRANT, ignores one already queued or released, and applies a RELEASE only from
//!   the holder, so duplicates and late copies change nothing. Ricart-Agrawala: see
//!   [`ricart_agrawala`]; a gate repeats its REQUEST every `retry` to the peers whose
//!   REPLY is missing. Repeated messages are counted in `retransmissions`, apart from
//!   `mutex_messages`. The replicated mode repeats the same way and adds terms to its
//!   election: see [`replicated`].
//! - In Ricart-Agrawala mode the counter travels on the replies: each reply carries the
//!   sender's (version, occupancy), and the entering gate keeps the highest version. Every
//!   earlier critical section's reply reaches the next entrant after that section ended,
//!   so no extra messages are needed.
//! - Message counts (`messages_per_entry`) count mutual-exclusion messages only
//!   (REQUEST/GRANT/RELEASE, or REQUEST/REPLY); display updates are counted apart.
//! - Client and synchronization delays are measured as the length of the causal chain
//!   of messages that led to the entry, carried on the messages themselves.
//! - Liveness: at the end, a car that has waited longer than `stuck_after` for the lock
//!   is a violation of `lock_liveness`; this is how a crashed lock server shows.

pub mod admin;
pub mod arrivals;
pub mod gate;
pub mod invariants;
pub mod lock_server;
pub mod replicated;
pub mod ricart_agrawala;
pub mod server;
#[cfg(test)]
mod tests;

pub use admin::{Admin, AdminAction, AdminOp, Camera};
pub use arrivals::Arrivals;
pub use gate::{Gate, GateKind};
pub use lock_server::{GrantCause, LockServer};
pub use replicated::Replica;
pub use ricart_agrawala::RicartAgrawala;
pub use server::Server;

use dsim_system::{Setup, System, TopologyRule, add_declared};
use hardware_models::lcd::Lcd1602;
use hardware_models::photo_interrupter::{Beam, Car, DEFAULT_DEBOUNCE, PhotoInterrupter};
use hardware_models::servo::Barrier;
use invariants::{AdmittedWereGranted, LockLiveness, MutualExclusion, NoForgottenCar, Occupancy};
use serde::{Deserialize, Serialize};
use sim_core::{
    Context, Ctx, Invariant, Message, Metrics, Node, NodeId, Role, SimTime, Simulation, Tally,
};
use std::collections::BTreeMap;

/// Which mutual exclusion protects the counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// The report's central lock server.
    #[default]
    LockServer,
    /// Ricart-Agrawala between the gates, no server.
    RicartAgrawala,
    /// Replicated lock server with Bully election (see the `replicated` module).
    Replicated,
}

/// Parking-lot parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParkingParams {
    /// Mutual exclusion in use.
    pub mode: Mode,
    /// Places in the lot.
    pub capacity: u32,
    /// Cars parked at the start.
    pub initial_occupied: u32,
    /// Mean time between cars at each gate (Poisson arrivals).
    pub arrival_mean: SimTime,
    /// How cars arrive: `Poisson` (the default, gaps of mean `arrival_mean`) or
    /// `DailyProfile(hourly_rates: [..24 cars per hour..])`.
    pub arrivals: Arrivals,
    /// Cars each gate sees before its arrivals stop (0: no limit).
    pub cars_per_gate: u64,
    /// If set, the critical section lasts an exponential time of this mean instead of
    /// the hardware times.
    pub hold_mean: Option<SimTime>,
    /// The barrier (SG90 servo) of every gate.
    pub barrier: Barrier,
    /// The display's LCD.
    pub lcd: Lcd1602,
    /// Car length in metres (passage time is length / speed).
    pub car_length_m: f64,
    /// Car speed through the gate in km/h.
    pub car_speed_kmh: f64,
    /// The car sensor of every gate (beam edges with contact bounce).
    pub sensor: PhotoInterrupter,
    /// The gate firmware's debounce window for the sensor (5 ms by default).
    pub debounce: SimTime,
    /// A car waiting longer than this at the end of the run is a liveness violation.
    pub stuck_after: SimTime,
    /// Lock server and Ricart-Agrawala: how long a gate waits for a GRANT (or the
    /// missing REPLYs) before repeating its REQUEST, and the server waits for a RELEASE
    /// before repeating its GRANT. Longer than a fault-free wait, so that a run without
    /// faults repeats nothing.
    pub retry: SimTime,
    /// Replicated mode: the primary's heartbeat period (silence for 3 periods starts an
    /// election).
    pub heartbeat: SimTime,
    /// Replicated mode: how long a Bully candidate waits for an ANSWER.
    pub election_timeout: SimTime,
    /// Admin operations, performed by the `admin` node at their times.
    pub admin: Vec<AdminAction>,
    /// The MJPEG stream of every `camera` node (sent to the `admin` node).
    pub camera: hardware_models::camera::MjpegStream,
}

impl Default for ParkingParams {
    fn default() -> Self {
        ParkingParams {
            mode: Mode::LockServer,
            capacity: 40,
            initial_occupied: 0,
            arrival_mean: SimTime::from_secs(20),
            arrivals: Arrivals::Poisson,
            cars_per_gate: 0,
            hold_mean: None,
            barrier: Barrier::default(),
            lcd: Lcd1602::default(),
            car_length_m: hardware_models::photo_interrupter::EU_AVERAGE_CAR_LENGTH_M,
            car_speed_kmh: 7.5,
            sensor: PhotoInterrupter::default(),
            debounce: DEFAULT_DEBOUNCE,
            stuck_after: SimTime::from_secs(30),
            retry: SimTime::from_secs(20),
            heartbeat: SimTime::from_secs(1),
            election_timeout: SimTime::from_millis(500),
            admin: Vec::new(),
            camera: hardware_models::camera::MjpegStream::default(),
        }
    }
}

impl ParkingParams {
    /// Time a car takes to pass the photo-interrupter beam (length / speed).
    pub fn passage_time(&self) -> SimTime {
        self.car().interruption()
    }

    /// The car driving through every gate.
    pub fn car(&self) -> Car {
        Car {
            length_m: self.car_length_m,
            speed_kmh: self.car_speed_kmh,
        }
    }
}

/// A gate's releases as the replicated server counts them: how many (the sequence
/// number of the last) and the sum of their changes to the occupancy. The sum makes a
/// new primary exact even when it missed several of a gate's releases.
#[derive(
    Clone, Copy, Debug, Default, Hash, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
pub struct Released {
    /// Releases so far (the last one's sequence number).
    pub seq: u64,
    /// Sum of their occupancy changes.
    pub sum: i64,
}

/// Messages of the parking lot.
#[derive(Clone, Debug, Hash, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ParkMsg {
    /// Gate to server: car `car` wants the lock.
    Request {
        /// Car id (gate-local).
        car: u64,
    },
    /// Server to gate: car `car` holds the lock; the counter as it stands.
    Grant {
        /// Car id.
        car: u64,
        /// Occupied places.
        occupied: u32,
        /// Places in the lot.
        capacity: u32,
        /// What triggered the grant.
        cause: GrantCause,
    },
    /// Gate to server: car `car` is done; the change to the occupancy.
    Release {
        /// Car id.
        car: u64,
        /// +1 admitted, -1 left, 0 nothing.
        delta: i32,
        /// The gate's release number (1, 2, ...), so a new primary applies it once.
        seq: u64,
    },
    /// Ricart-Agrawala request with its Lamport timestamp.
    RaRequest {
        /// Timestamp.
        ts: u64,
    },
    /// Ricart-Agrawala reply carrying the sender's view of the counter.
    RaReply {
        /// Timestamp of the request answered.
        ts: u64,
        /// Counter version (critical sections that changed it).
        version: u64,
        /// Occupied places at that version.
        occupied: u32,
        /// Whether the reply had been deferred (sent at the sender's exit).
        deferred: bool,
    },
    /// Free places to show on the LCD.
    Show {
        /// Free places.
        free: u32,
    },
    /// Primary to backups: the replicated state (also the heartbeat).
    State {
        /// The primary's term.
        term: u64,
        /// Occupied places.
        occupied: u32,
        /// Per gate (node index): its releases applied and the sum of their changes.
        applied: Vec<(u32, Released)>,
    },
    /// Bully: a lower replica starts an election.
    Election,
    /// Bully: a higher replica is alive and takes over the election.
    Answer,
    /// Bully: the sender is the new primary (to replicas and gates), for `term`.
    Coordinator {
        /// The new primary's term: a message of an older term is ignored.
        term: u64,
    },
    /// Admin: the lot now has `places` places.
    SetPlaces {
        /// Places.
        places: u32,
    },
    /// Admin to a gate: open or close it.
    GateControl {
        /// Open (true) or closed.
        open: bool,
    },
    /// Support chat between the admin and the user at a gate.
    Chat {
        /// The user's answer (true) or the admin's message.
        answer: bool,
    },
    /// One TCP segment of a camera frame.
    Video {
        /// Segment bytes.
        bytes: u32,
    },
    /// Gate to a new primary: what the gate holds and waits for.
    Recover {
        /// The term of the COORDINATOR answered.
        term: u64,
        /// Car holding the lock at this gate.
        holding: Option<u64>,
        /// Cars waiting, with their arrival times.
        waiting: Vec<(u64, SimTime)>,
        /// The gate's releases so far and the sum of their changes.
        released: Released,
    },
    /// Gate to a replica that announced an older term: the term the gate follows, so
    /// the replica stops waiting for a RECOVER that will never come.
    Superseded {
        /// The gate's term.
        term: u64,
    },
}

impl ParkMsg {
    fn is_mutex(&self) -> bool {
        matches!(
            self,
            ParkMsg::Request { .. }
                | ParkMsg::Grant { .. }
                | ParkMsg::Release { .. }
                | ParkMsg::RaRequest { .. }
                | ParkMsg::RaReply { .. }
        )
    }
}

impl Message for ParkMsg {
    fn size_bytes(&self) -> u32 {
        match self {
            ParkMsg::Video { bytes } => *bytes + 20,
            _ => 64,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            ParkMsg::Request { .. } => "request",
            ParkMsg::Grant { .. } => "grant",
            ParkMsg::Release { .. } => "release",
            ParkMsg::RaRequest { .. } => "ra_request",
            ParkMsg::RaReply { .. } => "ra_reply",
            ParkMsg::Show { .. } => "show",
            ParkMsg::State { .. } => "state",
            ParkMsg::Election => "election",
            ParkMsg::Answer => "answer",
            ParkMsg::Coordinator { .. } => "coordinator",
            ParkMsg::Superseded { .. } => "superseded",
            ParkMsg::Recover { .. } => "recover",
            ParkMsg::SetPlaces { .. } => "set_places",
            ParkMsg::GateControl { .. } => "gate_control",
            ParkMsg::Chat { .. } => "chat",
            ParkMsg::Video { .. } => "video",
        }
    }
}

/// Timers of the parking lot.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum ParkTimer {
    /// The next car arrives at this gate.
    CarArrives,
    /// The barrier is open (car `car` starts through).
    BarrierOpen {
        /// Car id.
        car: u64,
    },
    /// A raw edge of the gate's beam sensor: the output reads `beam` from now on.
    BeamEdge {
        /// The sensor output.
        beam: Beam,
    },
    /// The debounce window of the latest raw edge may have run out.
    Debounce,
    /// The critical section of car `car` ends.
    Done {
        /// Car id.
        car: u64,
    },
    /// A gate's car `car` is still waiting for its GRANT: repeat the REQUEST.
    RequestRetry {
        /// Car id.
        car: u64,
    },
    /// The server's GRANT to (`gate`, `car`) may be lost, or the RELEASE: repeat the
    /// GRANT if that car still holds the lock.
    GrantRetry {
        /// The gate.
        gate: NodeId,
        /// Car id.
        car: u64,
    },
    /// Ricart-Agrawala: the request of timestamp `ts` still misses replies.
    RaRetry {
        /// Timestamp.
        ts: u64,
    },
    /// The LCD finished writing `free`.
    LcdWritten {
        /// Free places shown.
        free: u32,
    },
    /// Replica heartbeat period.
    Heartbeat,
    /// Bully: waiting for an ANSWER or COORDINATOR ran out.
    ElectionTimeout,
    /// Admin operation number `index` is due.
    Admin {
        /// Index into `admin`.
        index: usize,
    },
    /// The camera's next frame.
    Frame,
}

impl sim_core::TimerTag for ParkTimer {
    fn kind(&self) -> &'static str {
        match self {
            ParkTimer::CarArrives => "car_arrives",
            ParkTimer::BarrierOpen { .. } => "barrier_open",
            ParkTimer::BeamEdge { .. } => "beam_edge",
            ParkTimer::Debounce => "debounce",
            ParkTimer::Done { .. } => "done",
            ParkTimer::LcdWritten { .. } => "lcd_written",
            ParkTimer::RequestRetry { .. } => "request_retry",
            ParkTimer::GrantRetry { .. } => "grant_retry",
            ParkTimer::RaRetry { .. } => "ra_retry",
            ParkTimer::Heartbeat => "heartbeat",
            ParkTimer::ElectionTimeout => "election_timeout",
            ParkTimer::Admin { .. } => "admin",
            ParkTimer::Frame => "frame",
        }
    }
}

/// The display node (ESP32 + 16x2 LCD): shows the free places after the LCD's write
/// time.
#[derive(Clone, Debug)]
pub struct Display {
    lcd: Lcd1602,
    /// Free places currently shown.
    pub shown: Option<u32>,
}

impl Node for Display {
    type Msg = ParkMsg;
    type Timer = ParkTimer;

    fn on_start(&mut self, _ctx: &mut impl Ctx<Self>) {}

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, _from: NodeId, msg: ParkMsg) {
        // Only `Show` is sent to the display; anything else is not for it.
        if let ParkMsg::Show { free } = msg {
            let t = self.lcd.full_rewrite();
            ctx.set_timer(t, ParkTimer::LcdWritten { free });
        }
    }

    fn on_timer(&mut self, _ctx: &mut impl Ctx<Self>, timer: ParkTimer) {
        // `LcdWritten` is the only timer the display sets.
        if let ParkTimer::LcdWritten { free } = timer {
            self.shown = Some(free);
        }
    }
}

sim_core::roles! {
    /// A node of the parking lot.
    #[derive(Clone, Debug)]
    pub enum ParkingNode {
        /// Entry or exit gate.
        Gate(Box<Gate>),
        /// The lock server.
        Server(Server),
        /// The LCD node.
        Display(Display),
        /// A replica of the replicated lock server.
        Replica(Box<Replica>),
        /// The admin console.
        Admin(Admin),
        /// An ESP32-CAM supervision stream.
        Camera(Camera),
    }
}

/// Send `msg`, counted as a mutual-exclusion message or a display message.
fn send(ctx: &mut impl Context<ParkMsg, ParkTimer>, to: NodeId, msg: ParkMsg) {
    if msg.is_mutex() {
        ctx.metrics().add("mutex_messages", 1.0);
    } else {
        ctx.metrics().add("display_messages", 1.0);
    }
    ctx.send(to, msg);
}

/// Send `msg` again after a timeout: counted in `retransmissions`, not in the
/// report's message counts.
fn resend(ctx: &mut impl Context<ParkMsg, ParkTimer>, to: NodeId, msg: ParkMsg) {
    ctx.metrics().add("retransmissions", 1.0);
    ctx.send(to, msg);
}

/// The parking-lot system.
pub struct Parking;

impl System for Parking {
    const NAME: &'static str = "parking";
    /// Measured: 81,425 bytes per node,
    /// `dsim bench system parking --size 10000 --until 1ms` (the gates' sensor and
    /// display models).
    const BYTES_PER_NODE: u64 = 81_425;
    const DESCRIPTION: &'static str =
        "parking lot: gates admit cars under a lock server or Ricart-Agrawala";
    const ROLES: &'static [&'static str] =
        &["entry", "exit", "server", "display", "admin", "camera"];
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    const KEY_METRICS: &'static [&'static str] =
        &["entries", "entry_latency_ms", "messages_per_entry"];
    type Params = ParkingParams;
    type Node = ParkingNode;

    fn validate(params: &ParkingParams, setup: &Setup<'_>) -> Result<(), String> {
        let count = |role: &str| setup.nodes.iter().filter(|n| n.role == role).count();
        if params.initial_occupied > params.capacity {
            return Err("params.initial_occupied exceeds params.capacity".into());
        }
        if params.arrival_mean == SimTime::ZERO {
            return Err("params.arrival_mean must be positive".into());
        }
        if params.car_speed_kmh <= 0.0 || params.car_length_m <= 0.0 {
            return Err("params.car_speed_kmh and params.car_length_m must be positive".into());
        }
        params.arrivals.validate()?;
        params.barrier.servo.validate()?;
        params.lcd.validate()?;
        if count("entry") + count("exit") == 0 {
            return Err("parking needs at least one node with role \"entry\" or \"exit\"".into());
        }
        if params.mode == Mode::LockServer && count("server") != 1 {
            return Err(
                "params.mode LockServer needs exactly one node with role \"server\"".into(),
            );
        }
        if params.mode == Mode::Replicated && count("server") < 2 {
            return Err(
                "params.mode Replicated needs two or more nodes with role \"server\"".into(),
            );
        }
        if params.mode == Mode::RicartAgrawala && count("server") != 0 {
            return Err("params.mode RicartAgrawala takes no node with role \"server\"".into());
        }
        if params.retry == SimTime::ZERO {
            return Err("params.retry must be positive".into());
        }
        if params.heartbeat == SimTime::ZERO || params.election_timeout == SimTime::ZERO {
            return Err("params.heartbeat and params.election_timeout must be positive".into());
        }
        if count("admin") > 1 {
            return Err("parking takes at most one node with role \"admin\"".into());
        }
        if (!params.admin.is_empty() || count("camera") > 0) && count("admin") == 0 {
            return Err("params.admin and camera nodes need a node with role \"admin\"".into());
        }
        params.camera.validate()?;
        for a in &params.admin {
            if let AdminOp::Close(g) | AdminOp::Open(g) | AdminOp::Chat(g) = &a.op
                && !setup
                    .nodes
                    .iter()
                    .any(|n| &n.name == g && (n.role == "entry" || n.role == "exit"))
            {
                return Err(format!("params.admin names {g:?}, which is not a gate"));
            }
        }
        if count("display") > 1 {
            return Err("parking takes at most one node with role \"display\"".into());
        }
        Ok(())
    }

    fn build(params: &ParkingParams, setup: &Setup<'_>, sim: &mut Simulation<ParkingNode>) {
        let ids = add_declared(sim, setup.nodes, |d| match d.role.as_str() {
            "entry" => Gate::new(params, GateKind::Entry).into(),
            "exit" => Gate::new(params, GateKind::Exit).into(),
            "admin" => Admin {
                actions: params.admin.clone(),
                ..Admin::default()
            }
            .into(),
            "camera" => Camera {
                stream: params.camera.clone(),
                admin: None,
                frames: 0,
            }
            .into(),
            "server" if params.mode == Mode::Replicated => {
                Replica::new(params.capacity, params.initial_occupied, params.retry).into()
            }
            "server" => Server::new(params.capacity, params.initial_occupied, params.retry).into(),
            _ => Display {
                lcd: params.lcd.clone(),
                shown: None,
            }
            .into(),
        });
        let find = |role: &str| {
            setup
                .nodes
                .iter()
                .zip(&ids)
                .find(|(d, _)| d.role == role)
                .map(|(_, &id)| id)
        };
        let display = find("display");
        let replicas: Vec<NodeId> = setup
            .nodes
            .iter()
            .zip(&ids)
            .filter(|(d, _)| d.role == "server")
            .map(|(_, &id)| id)
            .collect();
        // The initial primary is the highest-ranked replica (the only server otherwise).
        let server = replicas.last().copied();
        let gates: Vec<NodeId> = setup
            .nodes
            .iter()
            .zip(&ids)
            .filter(|(d, _)| d.role == "entry" || d.role == "exit")
            .map(|(_, &id)| id)
            .collect();
        for &id in &ids {
            match sim.node_mut(id) {
                ParkingNode::Gate(g) => {
                    g.server = server;
                    g.display = display;
                    let me = gates.iter().position(|&x| x == id).expect("a gate");
                    g.ra = RicartAgrawala::new(me, gates.len());
                    g.peers = gates.clone();
                }
                ParkingNode::Server(s) => {
                    s.display = display;
                }
                ParkingNode::Display(_) => {}
                ParkingNode::Admin(a) => {
                    a.place_targets = match params.mode {
                        Mode::RicartAgrawala => gates.clone(),
                        _ => replicas.clone(),
                    };
                }
                ParkingNode::Camera(c) => c.admin = find("admin"),
                ParkingNode::Replica(r) => {
                    r.replicas = replicas.clone();
                    r.rank = replicas.iter().position(|&x| x == id).expect("a replica");
                    r.gates = gates.clone();
                    r.server.display = display;
                    r.heartbeat = params.heartbeat;
                    r.election_timeout = params.election_timeout;
                }
            }
        }
    }

    fn invariants(params: &ParkingParams) -> Vec<Box<dyn Invariant<ParkingNode>>> {
        vec![
            Box::new(Occupancy {
                initial: i64::from(params.initial_occupied),
                capacity: params
                    .admin
                    .iter()
                    .filter_map(|a| match a.op {
                        AdminOp::SetPlaces(p) => Some(i64::from(p)),
                        _ => None,
                    })
                    .chain([i64::from(params.capacity)])
                    .max()
                    .unwrap_or(0),
                through: Tally::default(),
            }),
            Box::new(MutualExclusion::default()),
            Box::new(AdmittedWereGranted),
            Box::new(LockLiveness {
                stuck_after: params.stuck_after,
            }),
            Box::new(NoForgottenCar {
                initial: i64::from(params.initial_occupied),
                seen: BTreeMap::new(),
            }),
        ]
    }

    fn report(_params: &ParkingParams, sim: &Simulation<ParkingNode>, metrics: &mut Metrics) {
        let (mut admitted, mut away, mut left) = (0u64, 0u64, 0u64);
        for (_, _, n) in sim.world().nodes() {
            if let Some(g) = Gate::of(n) {
                admitted += g.admitted;
                away += g.turned_away;
                left += g.left;
            }
        }
        let entries = metrics.value("entries");
        let per_entry = metrics.value("mutex_messages") / entries.max(1.0);
        metrics.set("messages_per_entry", per_entry);
        metrics.set("cars_admitted", admitted as f64);
        metrics.set("cars_turned_away", away as f64);
        metrics.set("cars_left", left as f64);
        let closed: u64 = sim
            .world()
            .nodes()
            .filter_map(|(_, _, n)| Gate::of(n))
            .map(|g| g.closed_away)
            .sum();
        metrics.set("cars_at_closed_gate", closed as f64);
        let elections = metrics.value("election_messages");
        metrics.set("election_messages", elections);
    }
}
