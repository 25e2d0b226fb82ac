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
//! - Messages between neighbours travel over a [`link`] channel: bare datagrams on
//!   ideal FIFO links (`fifo: true`, the report's assumption, kept by the measurement
//!   scenarios), or the reliable channel (acknowledged, retransmitted, deduplicated,
//!   FIFO per neighbour pair) that GHS needs over links that lose, duplicate, reorder
//!   and delay.
//! - A neighbour silent for `dead_after` (or, in a wave, for `echo_timeout`) is dropped;
//!   as in the report it stays dropped until one end restarts or joins, unless
//!   `reconnect` is on: then peers probe their dropped neighbours every heartbeat and a
//!   live one comes back (after a partition, a pause or a clock jump).

pub mod channel;
pub mod ghs;
pub mod graph;
pub mod invariants;
pub mod link;
pub mod messages;
pub mod oracle;
pub mod params;
pub mod peer;
pub mod session;
#[cfg(test)]
mod tests;
pub mod topologies;

pub use messages::{WpMsg, WpTimer};
pub use params::{GraphSource, Joiner, Op, OpKind, WidestPathParams};
pub use peer::{Life, Peer, PeerNode, PeerOp, Timing};

use channel::Channels;
use dsim_system::{Setup, System, TopologyRule};
use graph::PeerGraph;
use link::Channel;
use session::{Sessions, TreeKind};
use sim_core::{Invariant, Metrics, NodeId, SimTime, Simulation};
use std::collections::BTreeMap;

/// Build every peer's state from the parameters and the graph.
struct Plan {
    graph: PeerGraph,
    /// Joiners as (name, links by id).
    joiners: Vec<(String, Vec<(u32, u64)>)>,
}

impl Plan {
    fn new(params: &WidestPathParams, setup: &Setup<'_>) -> Result<Plan, String> {
        let graph = params.graph.load(setup.seed, setup.files)?;
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
    /// Measured: 1,817 bytes per peer,
    /// `dsim bench system widest-path --size 20000 --until 1ms`.
    const BYTES_PER_NODE: u64 = 1_817;
    const DESCRIPTION: &'static str =
        "P2P streaming: channels on widest paths of a distributed GHS maximum spanning tree";
    const ROLES: &'static [&'static str] = &[];
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    const KEY_METRICS: &'static [&'static str] = &["ghs_messages", "session_messages"];
    type Params = WidestPathParams;
    type Node = PeerNode;

    fn generated_nodes(params: &WidestPathParams) -> Option<(u64, &'static str)> {
        match params.graph {
            GraphSource::Random { peers, .. } => Some((u64::from(peers), "params.graph")),
            _ => None,
        }
    }

    fn files(params: &WidestPathParams) -> Vec<String> {
        params.graph.file().map(str::to_owned).into_iter().collect()
    }

    fn validate(params: &WidestPathParams, setup: &Setup<'_>) -> Result<(), String> {
        let plan = Plan::new(params, setup)?;
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
        ]
        .into_iter()
        .chain(match params.channel {
            Channel::Reliable { retransmit } => Some(("channel.retransmit", retransmit)),
            Channel::Bare => None,
        }) {
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
        let plan = Plan::new(params, setup).expect("validated");
        let names = plan.names();
        let config = plan.config();
        let timing = Timing {
            heartbeat: params.heartbeat,
            dead_after: params.dead_after,
            echo_timeout: params.echo_timeout,
            hop_timeout: params.hop_timeout,
            channel: params.channel,
            reconnect: params.reconnect,
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
            sim.add_node_at(name, PeerNode::new(peer), start);
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
            Box::new(invariants::NoLinkLost),
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
        metrics.set(
            "ghs_messages.bound",
            5.0 * n * n.log2().max(0.0) + 2.0 * edges,
        );
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
