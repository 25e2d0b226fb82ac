//! System 2, CityOS: a smart-city edge network. PM-10 sensors on a 100 x 100 grid
//! stream measurements to their nearest edge node; edge nodes elect a coordinator,
//! send it local averages, and the coordinator computes a global average every 5 s and
//! uploads both to a REST cloud server, which an analyst client queries.
//!
//! Roles: `edge` ([`edge`]), `sensor` ([`sensor`]), `server` (exactly one, [`cloud`]
//! holds its rules), `client` (the analyst, [`analyst`]). Messages between sensors and
//! nodes are datagrams carrying the token from `api/init`; calls to the server are
//! HTTP requests ([`rest`]) answered with the report's status codes.
//!
//! The edge node ([`edge`]) follows the report: keep-alive every 2 s, the hello
//! protocol on join, the Bully variant in which a joiner never overrides a coordinator
//! in charge, local averages on a stack until acknowledged and re-sent to a new
//! coordinator, the on-the-fly global average when the coordinator leaves, and, from
//! the report's future work, uploads buffered and retried while the server is offline.
//! Where this model decides what the report leaves open, the module that does it says
//! so. The invariants are in [`invariants`].
//!
//! Node configuration follows the report's command line (`ID NODEPORT SENSORPORT
//! HOSTNAME:PORT`): the node's address is the simulated node, the server address is
//! the `server` node, and `edges` in the parameters gives a node its id and cell; what
//! it omits is drawn at random (id in `1..=id_range`, a uniform cell), as `NodeApp`
//! does when started with the server address only.

pub mod analyst;
pub mod channel;
pub mod cloud;
pub mod edge;
pub mod grid;
pub mod http;
pub mod invariants;
pub mod rest;
pub mod sensor;
#[cfg(test)]
mod tests;

pub use analyst::Analyst;
pub use cloud::Cloud;
pub use edge::{EdgeNode, Phase};
pub use grid::{Cell, Grid};
pub use sensor::Sensor;

use crate::transport::{Segment, TimerToken, TransportConfig};
use dsim_system::{Setup, System, TopologyRule};
use hardware_models::pm10::{FieldConfig, Pm10Field, Pm10Process, Sds011};
use invariants::{AveragesReachTheCloud, JoinerNeverDisplaces, MinimumDistance, OneCoordinator};
use rest::{Average, AverageId, EdgeInfo, Request, Response, Ugm3};
use serde::{Deserialize, Serialize};
use sim_core::{
    Ctx, Invariant, Message, Metrics, Node, NodeId, Role, SimTime, Simulation, TimerTag,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the scenario fixes about one edge node (the report's `ID` argument and the
/// node's cell); what is left out is drawn at random.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EdgeConfig {
    /// Process id (Bully rank). Random in `1..=id_range` when omitted, and redrawn if
    /// the server answers 409.
    pub id: Option<i64>,
    /// Cell `(u, v)`. Random when omitted, and redrawn if the server answers 403.
    pub cell: Option<(i64, i64)>,
}

/// CityOS parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CityParams {
    /// Per edge node (by node name): its id and cell.
    pub edges: BTreeMap<String, EdgeConfig>,
    /// Random ids are drawn from `1..=id_range`.
    pub id_range: i64,
    /// The city is a `grid_side` x `grid_side` grid (100 in the report, which holds a
    /// few dozen edge nodes at the minimum distance of 20).
    pub grid_side: u32,
    /// Attempts to register with random ids or cells before a node gives up.
    pub join_attempts: u32,
    /// Keep-alive period, sensor to node and node to coordinator (2 s in the report).
    pub keepalive_period: SimTime,
    /// How long a sensor's keep-alive waits for its node's reply before the sensor
    /// looks for another node. (An edge node's keep-alive travels over the channel: the
    /// coordinator counts as gone when the channel gives up on it, or when it answers
    /// that it is no longer the coordinator.)
    pub keepalive_timeout: SimTime,
    /// A joining node greets again, every `hello_timeout`, the nodes that received its
    /// hello but have not answered (one that crashed after receiving it is then given
    /// up on by the channel).
    pub hello_timeout: SimTime,
    /// A Bully candidate asks again, every `answer_timeout`, the nodes that received its
    /// ELECTION but have not answered.
    pub answer_timeout: SimTime,
    /// How long a candidate that got an answer waits for the coordinator message. The
    /// higher node may first have to wait for the channel to give up on the dead nodes
    /// above it (`channel.max_tries * channel.timeout`), so this must be longer.
    pub coordinator_timeout: SimTime,
    /// How often a node averages what its sensors sent.
    pub local_period: SimTime,
    /// How often the coordinator computes the global average (5 s in the report).
    pub global_period: SimTime,
    /// How long an HTTP request waits before the server counts as offline.
    pub http_timeout: SimTime,
    /// Unacknowledged local averages older than this are sent again (covers lost
    /// datagrams; the report re-sends only to a new coordinator).
    pub resend_after: SimTime,
    /// The coordinator removes from the server a node it has not heard for this long.
    pub cleanup_after: SimTime,
    /// Assumed bound on the one-way delivery of a datagram over the channel (latency,
    /// delay spikes and a few retransmissions), used only to derive the settling bound
    /// of elections that the invariants check.
    pub max_delay: SimTime,
    /// The reliable channel between edge nodes ([`channel`]); it gives up on a peer
    /// (which then counts as down) after `max_tries * timeout`.
    pub channel: TransportConfig,
    /// How often the analyst queries the server.
    pub query_period: SimTime,
    /// How many values the analyst's queries ask for.
    pub query_n: i64,
    /// The city's PM-10 field.
    pub field: FieldConfig,
    /// The sensor model (SDS011).
    pub sensor: Sds011,
}

impl Default for CityParams {
    fn default() -> Self {
        CityParams {
            edges: BTreeMap::new(),
            id_range: 1000,
            grid_side: hardware_models::pm10::GRID,
            join_attempts: 20,
            keepalive_period: SimTime::from_secs(2),
            keepalive_timeout: SimTime::from_secs(1),
            hello_timeout: SimTime::from_secs(1),
            answer_timeout: SimTime::from_secs(1),
            coordinator_timeout: SimTime::from_secs(5),
            local_period: SimTime::from_secs(2),
            global_period: SimTime::from_secs(5),
            http_timeout: SimTime::from_secs(1),
            resend_after: SimTime::from_secs(30),
            cleanup_after: SimTime::from_secs(10),
            max_delay: SimTime::from_secs(1),
            channel: TransportConfig {
                max_tries: 30,
                ..TransportConfig::default()
            },
            query_period: SimTime::from_secs(10),
            query_n: 10,
            field: FieldConfig::default(),
            sensor: Sds011::default(),
        }
    }
}

impl CityParams {
    /// The city's grid.
    pub fn grid(&self) -> Grid {
        Grid::new(self.grid_side)
    }

    /// The timers every node runs with.
    pub fn timing(&self) -> Timing {
        Timing {
            keepalive_period: self.keepalive_period,
            keepalive_timeout: self.keepalive_timeout,
            hello_timeout: self.hello_timeout,
            answer_timeout: self.answer_timeout,
            coordinator_timeout: self.coordinator_timeout,
            local_period: self.local_period,
            global_period: self.global_period,
            http_timeout: self.http_timeout,
            resend_after: self.resend_after,
            cleanup_after: self.cleanup_after,
            max_delay: self.max_delay,
            give_up: self.channel.timeout * u64::from(self.channel.max_tries),
        }
    }
}

/// The protocol's timers, copied into every node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// See [`CityParams::keepalive_period`].
    pub keepalive_period: SimTime,
    /// See [`CityParams::keepalive_timeout`].
    pub keepalive_timeout: SimTime,
    /// See [`CityParams::hello_timeout`].
    pub hello_timeout: SimTime,
    /// See [`CityParams::answer_timeout`].
    pub answer_timeout: SimTime,
    /// See [`CityParams::coordinator_timeout`].
    pub coordinator_timeout: SimTime,
    /// See [`CityParams::local_period`].
    pub local_period: SimTime,
    /// See [`CityParams::global_period`].
    pub global_period: SimTime,
    /// See [`CityParams::http_timeout`].
    pub http_timeout: SimTime,
    /// See [`CityParams::resend_after`].
    pub resend_after: SimTime,
    /// See [`CityParams::cleanup_after`].
    pub cleanup_after: SimTime,
    /// See [`CityParams::max_delay`].
    pub max_delay: SimTime,
    /// How long the channel tries a datagram before it gives up on the peer
    /// (`channel.max_tries * channel.timeout`).
    pub give_up: SimTime,
}

impl Timing {
    /// How long after a disruption (a crash, leave or join) the network has one
    /// coordinator that every live node agrees on, if nothing else happens meanwhile.
    ///
    /// The slowest case is the coordinator failing: every node's next keep-alive
    /// (within a period) is given up on by the channel (`give_up`); the highest live
    /// node then sends ELECTION to the dead coordinator (and dead higher nodes), wins
    /// when the channel gives up on them, and announces. A lower node that got an
    /// ANSWER from a node that died meanwhile waits `coordinator_timeout` and runs
    /// again (one more `give_up`). A joiner adds its hello, which waits for the channel
    /// to give up on a dead node it greets. A node that received a hello or an ELECTION
    /// and crashed before answering is asked again after `hello_timeout` or
    /// `answer_timeout`. Each message step costs at most `max_delay`:
    ///
    /// `period + 4 * give_up + coordinator_timeout + hello_timeout + answer_timeout +
    ///  8 * max_delay`.
    pub fn settle_bound(&self) -> SimTime {
        self.keepalive_period
            + self.give_up * 4
            + self.coordinator_timeout
            + self.hello_timeout
            + self.answer_timeout
            + self.max_delay * 8
    }

    /// How long a local average computed by a node that stays alive may take to reach
    /// the cloud once the network has settled and the server is up: up to one global
    /// period in the coordinator's window, then an upload retried after each timeout
    /// (two are allowed), plus the re-send of the stack to a new coordinator.
    pub fn upload_bound(&self) -> SimTime {
        self.settle_bound() + self.local_period + self.global_period + self.http_timeout * 3
    }
}

/// Messages of CityOS: HTTP calls to the server, and datagrams between sensors and
/// nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CityMsg {
    /// An HTTP request to the cloud server.
    Http {
        /// Request number (per client), echoed in the reply.
        req: u64,
        /// The call.
        request: Request,
    },
    /// The server's reply.
    HttpReply {
        /// The request it answers.
        req: u64,
        /// Status and body.
        response: Response,
    },
    /// A segment of the reliable channel between edge nodes ([`channel`]); its
    /// datagrams carry the protocol token too.
    Segment(Segment),
    /// A UDP datagram between a sensor and its node, stamped with the protocol token; a
    /// wrong token is discarded.
    Udp {
        /// The token from `api/init`.
        token: u64,
        /// What it says.
        datagram: Datagram,
    },
}

/// The report's protocol messages between sensors and nodes and among nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Datagram {
    /// Sensor to node: one PM-10 reading.
    Measurement(Ugm3),
    /// Keep-alive request from a sensor to its node.
    SensorKeepAlive,
    /// Keep-alive request from a node (its id) to the coordinator; only a coordinator
    /// answers it.
    KeepAlive(i64),
    /// Keep-alive reply.
    KeepAliveReply,
    /// To a node's keep-alive or to a higher candidate's ELECTION, from a node that is
    /// not the coordinator: do not wait for this node (it is alive, and not in charge).
    /// Not in the report, whose nodes stay silent; over a channel that only gives up on
    /// dead nodes, silence would leave the asker waiting.
    NotCoordinator,
    /// Hello request from a joining node.
    Hello(EdgeInfo),
    /// Hello reply from a node that is not the coordinator (or is joining itself).
    HelloReply(EdgeInfo),
    /// Hello reply from the coordinator.
    HelloCoordinator(EdgeInfo),
    /// Bully ELECTION from a candidate.
    Election(EdgeInfo),
    /// Bully ANSWER: a higher node is alive.
    ElectionReply(EdgeInfo),
    /// Bully COORDINATOR: the sender is (or stays) the coordinator.
    Coordinator(EdgeInfo),
    /// To a candidate, from a node that works under a live coordinator: this is the
    /// coordinator (so a candidate that never heard of it stops electing).
    Leader(EdgeInfo),
    /// Node to coordinator: local averages (new, or re-sent from the stack).
    LocalAverages(Vec<Average>),
    /// Coordinator to node, at once: the latest global average and the id of the
    /// latest local average received from it.
    AverageReply {
        /// Latest global average, if any has been computed.
        global: Option<Ugm3>,
        /// The latest local average received.
        latest: AverageId,
    },
    /// Coordinator to node, once the server stored them: these averages are safe and
    /// may leave the node's stack.
    AverageAck(Vec<AverageId>),
}

impl Datagram {
    /// Whether the message belongs to the Bully election (for `election_messages`).
    pub fn is_election(&self) -> bool {
        matches!(
            self,
            Datagram::Election(_) | Datagram::ElectionReply(_) | Datagram::Coordinator(_)
        )
    }
}

/// UDP and IP headers, plus a small JSON envelope (Gson in the report).
const DATAGRAM_OVERHEAD: u32 = 28 + 40;
/// HTTP request or status line and headers over TCP/IP.
const HTTP_OVERHEAD: u32 = 40 + 150;

impl Message for CityMsg {
    fn size_bytes(&self) -> u32 {
        match self {
            CityMsg::Http { request, .. } => HTTP_OVERHEAD + request.body_bytes(),
            CityMsg::HttpReply { response, .. } => HTTP_OVERHEAD + response.body_bytes(),
            CityMsg::Segment(segment) => DATAGRAM_OVERHEAD + segment.size_bytes(),
            CityMsg::Udp { datagram, .. } => {
                DATAGRAM_OVERHEAD
                    + match datagram {
                        Datagram::Measurement(_) => 40,
                        Datagram::SensorKeepAlive
                        | Datagram::KeepAlive(_)
                        | Datagram::KeepAliveReply
                        | Datagram::NotCoordinator => 8,
                        Datagram::LocalAverages(v) => 48 * v.len() as u32,
                        Datagram::AverageAck(v) => 24 * v.len() as u32,
                        _ => 48,
                    }
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            CityMsg::Http { .. } => "http_request",
            CityMsg::HttpReply { .. } => "http_reply",
            CityMsg::Segment(segment) => segment.kind(),
            CityMsg::Udp { datagram, .. } => match datagram {
                Datagram::Measurement(_) => "measurement",
                Datagram::SensorKeepAlive => "sensor_keepalive",
                Datagram::KeepAlive(_) => "keepalive",
                Datagram::KeepAliveReply => "keepalive_reply",
                Datagram::NotCoordinator => "not_coordinator",
                Datagram::Hello(_) => "hello",
                Datagram::HelloReply(_) => "hello_reply",
                Datagram::HelloCoordinator(_) => "hello_coordinator",
                Datagram::Election(_) => "election",
                Datagram::ElectionReply(_) => "election_reply",
                Datagram::Coordinator(_) => "coordinator",
                Datagram::Leader(_) => "leader",
                Datagram::LocalAverages(_) => "local_averages",
                Datagram::AverageReply { .. } => "average_reply",
                Datagram::AverageAck(_) => "average_ack",
            },
        }
    }
}

/// Timers of CityOS nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CityTimer {
    /// An HTTP request got no reply in time.
    HttpTimeout(u64),
    /// Try again a step that failed (registering, asking for the nearest node).
    Retry,
    /// Send the next keep-alive.
    KeepAlive,
    /// A keep-alive got no reply in time.
    KeepAliveTimeout,
    /// The hello phase of a joining node is over.
    HelloDone,
    /// No ANSWER came to this node's ELECTION.
    AnswerTimeout,
    /// An ANSWER came but no COORDINATOR followed.
    CoordinatorTimeout,
    /// Compute the next local average.
    LocalAverage,
    /// Compute the next global average (coordinator).
    GlobalAverage,
    /// The sensor takes its next reading.
    Sample,
    /// The analyst runs its next round of queries.
    Query,
    /// A timer of an edge node's channel endpoint.
    Transport(TimerToken),
}

impl TimerTag for CityTimer {
    fn kind(&self) -> &'static str {
        match self {
            CityTimer::HttpTimeout(_) => "http_timeout",
            CityTimer::Retry => "retry",
            CityTimer::KeepAlive => "keepalive",
            CityTimer::KeepAliveTimeout => "keepalive_timeout",
            CityTimer::HelloDone => "hello_done",
            CityTimer::AnswerTimeout => "answer_timeout",
            CityTimer::CoordinatorTimeout => "coordinator_timeout",
            CityTimer::LocalAverage => "local_average",
            CityTimer::GlobalAverage => "global_average",
            CityTimer::Sample => "sample",
            CityTimer::Query => "query",
            CityTimer::Transport(_) => "transport",
        }
    }
}

/// The cloud server node: the REST rules of [`Cloud`] behind the network. Its store
/// is its database and survives a crash; requests in flight when it crashes are lost.
#[derive(Clone, Debug)]
pub struct CloudServer {
    /// The store and its rules.
    pub cloud: Cloud,
}

impl Node for CloudServer {
    type Msg = CityMsg;
    type Timer = CityTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.cloud.token == 0 {
            use rand::RngExt;
            self.cloud.token = ctx.rng().random_range(1..u64::MAX);
        }
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: CityMsg) {
        // The server answers HTTP requests; datagrams and replies are not for it.
        let CityMsg::Http { req, request } = msg else {
            return;
        };
        let (response, effects) = self.cloud.handle(&request);
        let m = ctx.metrics();
        m.add_to("http_status_counts", &response.status.to_string(), 1.0);
        m.add("duplicate_averages", effects.duplicates as f64);
        let now = ctx.now();
        for avg in &effects.stored {
            let delay = now.saturating_sub(avg.id.at);
            ctx.metrics()
                .observe("upload_delay_ms", delay.as_millis_f64());
        }
        ctx.send(from, CityMsg::HttpReply { req, response });
    }

    fn on_timer(&mut self, _ctx: &mut impl Ctx<Self>, _timer: CityTimer) {
        // The server sets no timers.
    }
}

sim_core::roles! {
    /// A CityOS node of any role.
    #[derive(Debug)]
    pub enum CityNode {
        /// An edge node.
        Edge(Box<EdgeNode>),
        /// A PM-10 sensor.
        Sensor(Box<Sensor>),
        /// The cloud server.
        Server(Box<CloudServer>),
        /// The analyst client.
        Analyst(Box<Analyst>),
    }
}

/// The CityOS system.
pub struct CityOs;

impl System for CityOs {
    const NAME: &'static str = "cityos";
    const DESCRIPTION: &'static str =
        "CityOS edge network: PM-10 sensors, edge nodes with Bully election, REST cloud";
    const ROLES: &'static [&'static str] = &["edge", "sensor", "server", "client"];
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    const KEY_METRICS: &'static [&'static str] =
        &["measurements_received", "upload_delay_ms", "elections"];
    /// Measured: 1,002 bytes per node, `dsim bench system cityos --size 1000 --until 1ms`
    /// (20 sensors per edge node; 903 on a field of a million sensors).
    const BYTES_PER_NODE: u64 = 1_002;
    type Params = CityParams;
    type Node = CityNode;

    fn validate(params: &CityParams, setup: &Setup<'_>) -> Result<(), String> {
        let servers = setup.nodes.iter().filter(|n| n.role == "server").count();
        if servers != 1 {
            return Err(format!(
                "nodes: CityOS needs exactly one node with role \"server\", found {servers}"
            ));
        }
        if let Some(n) = setup
            .nodes
            .iter()
            .find(|n| n.role == "server" && n.start.is_none())
        {
            return Err(format!(
                "nodes: the server {:?} must start with the run",
                n.name
            ));
        }
        if params.id_range < 1 {
            return Err("params.id_range: must be at least 1".into());
        }
        if params.grid_side < 1 {
            return Err("params.grid_side: must be at least 1".into());
        }
        if params.query_n < 1 {
            return Err("params.query_n: must be at least 1".into());
        }
        for (name, field) in [
            ("keepalive_period", params.keepalive_period),
            ("keepalive_timeout", params.keepalive_timeout),
            ("hello_timeout", params.hello_timeout),
            ("answer_timeout", params.answer_timeout),
            ("coordinator_timeout", params.coordinator_timeout),
            ("local_period", params.local_period),
            ("global_period", params.global_period),
            ("http_timeout", params.http_timeout),
            ("query_period", params.query_period),
        ] {
            if field == SimTime::ZERO {
                return Err(format!("params.{name}: must be longer than zero"));
            }
        }
        params
            .channel
            .validate()
            .map_err(|e| format!("params.channel.{e}"))?;
        if params.keepalive_timeout >= params.keepalive_period {
            return Err(format!(
                "params.keepalive_timeout: {} must be shorter than keepalive_period {}",
                params.keepalive_timeout, params.keepalive_period
            ));
        }
        // Duplicate ids and cells closer than 20 are allowed here on purpose: the server
        // refuses such a node at run time (409, 403), as the report's server does.
        for (name, cfg) in &params.edges {
            if !setup
                .nodes
                .iter()
                .any(|n| &n.name == name && n.role == "edge")
            {
                return Err(format!(
                    "params.edges: {name:?} is not an edge node of the scenario"
                ));
            }
            if let Some(id) = cfg.id.filter(|id| *id < 0) {
                return Err(format!("params.edges.{name}.id: {id} is negative"));
            }
            if let Some((u, v)) = cfg
                .cell
                .filter(|(u, v)| !params.grid().contains(Cell::new(*u, *v)))
            {
                let side = params.grid_side;
                return Err(format!(
                    "params.edges.{name}.cell: ({u}, {v}) is outside the {side} x {side} grid"
                ));
            }
        }
        Ok(())
    }

    fn build(params: &CityParams, setup: &Setup<'_>, sim: &mut Simulation<CityNode>) {
        let timing = params.timing();
        let server_decl = setup
            .nodes
            .iter()
            .find(|n| n.role == "server")
            .expect("validate checked the server");
        // The server is added first so every other node can be given its address.
        let server = sim.add_node_at(
            &server_decl.name,
            CloudServer {
                cloud: Cloud {
                    grid: params.grid(),
                    ..Cloud::default()
                },
            }
            .into(),
            server_decl.start,
        );
        let city = Arc::new(Pm10Process {
            field: Pm10Field::from_seed(setup.seed, &params.field),
            sensor: params.sensor.clone(),
        });
        for decl in setup.nodes.iter().filter(|n| n.role != "server") {
            let node = match decl.role.as_str() {
                "edge" => {
                    let cfg = params.edges.get(&decl.name).cloned().unwrap_or_default();
                    EdgeNode::new(cfg, params, server).into()
                }
                "sensor" => Sensor::new(server, timing, city.clone(), params.grid()).into(),
                _ => Analyst::new(server, params).into(),
            };
            sim.add_node_at(&decl.name, node, decl.start);
        }
    }

    fn invariants(params: &CityParams) -> Vec<Box<dyn Invariant<CityNode>>> {
        let timing = params.timing();
        vec![
            Box::new(OneCoordinator::new(timing.settle_bound())),
            Box::new(JoinerNeverDisplaces::default()),
            Box::new(AveragesReachTheCloud::new(timing.upload_bound())),
            Box::new(MinimumDistance::default()),
        ]
    }

    fn report(_params: &CityParams, sim: &Simulation<CityNode>, metrics: &mut Metrics) {
        let world = sim.world();
        let servers = world.nodes().filter_map(|(_, _, n)| CloudServer::of(n));
        let Some(cloud) = servers.map(|s| &s.cloud).next() else {
            return;
        };
        // Counters recorded as events happen; present (as zero) even when nothing happened.
        for name in [
            "elections",
            "election_messages",
            "coordinator_changes",
            "duplicate_averages",
            "duplicate_averages_at_coordinator",
            "upload_retries",
            "sensor_handovers",
            "nodes_refused",
        ] {
            metrics.add(name, 0.0);
        }
        let mut produced = 0usize;
        let mut pending = 0usize;
        let mut lost = 0usize;
        for (_, status, node) in world.nodes() {
            let Some(edge) = EdgeNode::of(node) else {
                continue;
            };
            produced += edge.produced.len();
            let live = status == sim_core::NodeStatus::Up;
            for id in &edge.produced {
                if cloud.stored.contains(id) {
                    continue;
                }
                if live && edge.is_stacked(id) {
                    pending += 1;
                } else {
                    lost += 1;
                }
            }
        }
        metrics.set("local_averages_produced", produced as f64);
        metrics.set("local_averages_uploaded", cloud.stored.len() as f64);
        metrics.set("local_averages_pending", pending as f64);
        metrics.set("local_averages_lost", lost as f64);
        metrics.set("aggregates_stored", cloud.aggregates.len() as f64);
        metrics.set(
            "measurements_lost",
            metrics.value("measurements_produced") - metrics.value("measurements_received"),
        );
        let coordinators: Vec<i64> = world
            .live_nodes()
            .filter_map(|(_, n)| EdgeNode::of(n))
            .filter(|e| e.phase() == Phase::Coordinator)
            .map(|e| e.id())
            .collect();
        metrics.set("coordinators_at_end", coordinators.len() as f64);
        metrics.set("nodes_registered_at_end", cloud.nodes.len() as f64);
    }
}
