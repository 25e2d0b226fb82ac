//! CityOS invariants: one agreed coordinator once elections settle, a joiner never
//! displaces a live coordinator, no local average of a node that stays alive is lost or
//! stored twice, and no two registered nodes closer than 20 units.

use super::edge::Phase;
use super::grid::MIN_NODE_DISTANCE;
use super::rest::AverageId;
use super::{CityNode, Cloud, CloudServer, EdgeNode};
use sim_core::{Invariant, NodeId, NodeStatus, Role, SimTime, World};
use std::collections::BTreeMap;

/// The edge nodes of the world, found once (nodes are all added before the run).
fn edge_ids(cache: &mut Option<Vec<NodeId>>, world: &World<'_, CityNode>) -> Vec<NodeId> {
    cache
        .get_or_insert_with(|| {
            world
                .nodes()
                .filter(|(_, _, n)| EdgeNode::of(n).is_some())
                .map(|(id, _, _)| id)
                .collect()
        })
        .clone()
}

/// The server's store.
fn cloud<'a>(cache: &mut Option<NodeId>, world: &World<'a, CityNode>) -> Option<&'a Cloud> {
    let id = match cache {
        Some(id) => *id,
        None => *cache.insert(
            world
                .nodes()
                .find(|(_, _, n)| CloudServer::of(n).is_some())?
                .0,
        ),
    };
    CloudServer::of(world.node(id).1).map(|s| &s.cloud)
}

/// An edge node's phase as the world sees it (a node that is not up is `Down`).
fn phase<'a>(world: &World<'a, CityNode>, id: NodeId) -> (Phase, Option<&'a EdgeNode>) {
    let (status, node) = world.node(id);
    match EdgeNode::of(node) {
        Some(e) if status == NodeStatus::Up => (e.phase(), Some(e)),
        _ => (Phase::Down, None),
    }
}

/// After an election settles there is exactly one coordinator and every live node in
/// the network agrees on it. "Settles" is made checkable with the bound
/// [`super::Timing::settle_bound`]: after the last disruption (an edge node crashing,
/// restarting, joining or leaving) the network may disagree (while nodes join, elect or
/// have not yet noticed the failure) for at most that long.
pub struct OneCoordinator {
    bound: SimTime,
    edges: Option<Vec<NodeId>>,
    /// Which edge nodes were up after the previous event.
    up: Vec<bool>,
    disagreeing_since: Option<SimTime>,
}

impl OneCoordinator {
    /// Disagreement may last at most `bound`.
    pub fn new(bound: SimTime) -> OneCoordinator {
        OneCoordinator {
            bound,
            edges: None,
            up: Vec::new(),
            disagreeing_since: None,
        }
    }
}

/// `Ok` when the live nodes in the network agree on exactly one coordinator (or there
/// are none), else what is wrong.
pub fn agreement(world: &World<'_, CityNode>, edges: &[NodeId]) -> Result<(), String> {
    let nodes: Vec<&EdgeNode> = edges
        .iter()
        .filter_map(|id| phase(world, *id).1)
        .filter(|e| e.in_network())
        .collect();
    let coordinators: Vec<i64> = nodes
        .iter()
        .filter(|e| e.phase() == Phase::Coordinator)
        .map(|e| e.id())
        .collect();
    if nodes.is_empty() {
        return Ok(());
    }
    let [c] = coordinators[..] else {
        return Err(format!("coordinators {coordinators:?}"));
    };
    match nodes.iter().find(|e| {
        e.phase() != Phase::Coordinator
            && (e.phase() != Phase::Active || e.coordinator() != Some(c))
    }) {
        Some(e) => Err(format!(
            "coordinator {c}, but node {} is {:?} under {:?}",
            e.id(),
            e.phase(),
            e.coordinator()
        )),
        None => Ok(()),
    }
}

impl Invariant<CityNode> for OneCoordinator {
    fn name(&self) -> &str {
        "one_agreed_coordinator"
    }

    fn check(&mut self, world: &World<'_, CityNode>) -> Result<(), String> {
        let edges = edge_ids(&mut self.edges, world);
        let up: Vec<bool> = edges
            .iter()
            .map(|id| world.node(*id).0 == NodeStatus::Up)
            .collect();
        let disrupted = up != self.up;
        self.up = up;
        match agreement(world, &edges) {
            Ok(()) => self.disagreeing_since = None,
            Err(what) => {
                let since = self.disagreeing_since.get_or_insert(world.now());
                if disrupted {
                    *since = world.now();
                }
                if world.now() - *since > self.bound {
                    return Err(format!(
                        "no agreed coordinator since {} (longer than the settling bound {}): {what}",
                        since, self.bound
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A node that joined while a coordinator was in charge never becomes coordinator
/// while that coordinator is alive and still in charge.
#[derive(Default)]
pub struct JoinerNeverDisplaces {
    edges: Option<Vec<NodeId>>,
    previous: BTreeMap<NodeId, Phase>,
    joined_under: BTreeMap<NodeId, Vec<NodeId>>,
}

impl Invariant<CityNode> for JoinerNeverDisplaces {
    fn name(&self) -> &str {
        "joiner_never_displaces_coordinator"
    }

    fn check(&mut self, world: &World<'_, CityNode>) -> Result<(), String> {
        let edges = edge_ids(&mut self.edges, world);
        let in_charge = |id: NodeId| phase(world, id).0 == Phase::Coordinator;
        for &id in &edges {
            let now = phase(world, id).0;
            let before = self.previous.insert(id, now).unwrap_or(Phase::Down);
            if now == Phase::Hello && before != Phase::Hello {
                let under = edges
                    .iter()
                    .copied()
                    .filter(|c| *c != id && in_charge(*c))
                    .collect();
                self.joined_under.insert(id, under);
            }
            // A coordinator that lost its charge no longer protects against this joiner.
            if let Some(under) = self.joined_under.get_mut(&id) {
                under.retain(|c| in_charge(*c));
                if now == Phase::Coordinator && before != Phase::Coordinator && !under.is_empty() {
                    return Err(format!(
                        "{} joined while {} was coordinator and took over while it still is",
                        world.name(id),
                        world.name(under[0])
                    ));
                }
            }
        }
        Ok(())
    }
}

/// At the end: every local average computed by a node that never crashed or left, at
/// least `bound` before the end, is stored by the server, and no average is stored
/// twice.
pub struct AveragesReachTheCloud {
    bound: SimTime,
    server: Option<NodeId>,
}

impl AveragesReachTheCloud {
    /// Averages computed more than `bound` before the end must have arrived.
    pub fn new(bound: SimTime) -> AveragesReachTheCloud {
        AveragesReachTheCloud {
            bound,
            server: None,
        }
    }
}

impl Invariant<CityNode> for AveragesReachTheCloud {
    fn name(&self) -> &str {
        "local_averages_reach_the_cloud_once"
    }

    fn check_at_end(&mut self, world: &World<'_, CityNode>) -> Result<(), String> {
        let Some(cloud) = cloud(&mut self.server, world) else {
            return Ok(());
        };
        let mut copies: BTreeMap<AverageId, u32> = BTreeMap::new();
        for avg in cloud.aggregates.iter().flat_map(|a| &a.locals) {
            *copies.entry(avg.id).or_default() += 1;
        }
        if let Some((id, n)) = copies.iter().find(|(_, n)| **n > 1) {
            return Err(format!("average {id:?} stored {n} times"));
        }
        let cutoff = world.now().saturating_sub(self.bound);
        for (id, status, node) in world.nodes() {
            let Some(e) = EdgeNode::of(node) else {
                continue;
            };
            if status != NodeStatus::Up || e.crashed {
                continue;
            }
            let missing: Vec<&AverageId> = e
                .produced
                .iter()
                .filter(|a| a.at < cutoff && !copies.contains_key(a))
                .collect();
            if let Some(first) = missing.first() {
                return Err(format!(
                    "{} computed {} averages more than {} before the end that never reached the cloud (first at {})",
                    world.name(id),
                    missing.len(),
                    self.bound,
                    first.at
                ));
            }
        }
        Ok(())
    }
}

/// The server never holds two nodes closer than the minimum distance.
#[derive(Default)]
pub struct MinimumDistance {
    server: Option<NodeId>,
}

impl Invariant<CityNode> for MinimumDistance {
    fn name(&self) -> &str {
        "registered_nodes_keep_their_distance"
    }

    fn check(&mut self, world: &World<'_, CityNode>) -> Result<(), String> {
        let Some(cloud) = cloud(&mut self.server, world) else {
            return Ok(());
        };
        let nodes: Vec<_> = cloud.nodes.values().collect();
        for (i, a) in nodes.iter().enumerate() {
            if let Some(b) = nodes[i + 1..]
                .iter()
                .find(|b| a.cell.distance(b.cell) < MIN_NODE_DISTANCE)
            {
                return Err(format!(
                    "nodes {} at {} and {} at {} are {} apart",
                    a.id,
                    a.cell,
                    b.id,
                    b.cell,
                    a.cell.distance(b.cell)
                ));
            }
        }
        Ok(())
    }
}
