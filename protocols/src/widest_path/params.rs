//! Parameters of the widest-path system: where the graph comes from, peers that join
//! later, user actions, and timing.

use super::ghs::Objective;
use super::graph::PeerGraph;
use super::link::Channel;
use dsim_system::ScenarioFiles;
use serde::{Deserialize, Serialize};
use sim_core::SimTime;

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
    /// A GML file, named by its path relative to the scenario file, or the path of a
    /// graph dsim ships (see [`super::topologies::SHIPPED`]), e.g. `"topologies/Eenet.gml"`.
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
    /// The GML file this source reads, if it reads one.
    pub fn file(&self) -> Option<&str> {
        match self {
            GraphSource::Gml { file, .. } => Some(file),
            _ => None,
        }
    }

    /// The graph, drawn or read from `files` (what the loader read for
    /// [`GraphSource::file`]); the error says what is wrong with the source.
    pub fn load(&self, seed: u64, files: &ScenarioFiles) -> Result<PeerGraph, String> {
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
                let text = files.get(file).map_err(|e| format!("params.graph: {e}"))?;
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
    pub(super) fn names(&self) -> Vec<&str> {
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
    /// How messages travel between neighbours: `Bare` datagrams on ideal FIFO links
    /// (the report's assumption), or `Reliable(retransmit: "100ms")` over real ones.
    pub channel: Channel,
    /// Probe dropped neighbours every `heartbeat` with a `Hello`, so that a link dropped
    /// while both ends were alive (a partition, a pause, a clock jump longer than
    /// `dead_after`) comes back once the fault ends. Off in the report, where a dropped
    /// link stays unused until one end restarts or joins.
    pub reconnect: bool,
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
            channel: Channel::Bare,
            reconnect: false,
        }
    }
}
