//! CityOS invariants: one agreed coordinator once elections settle, a joiner never
//! displaces a live coordinator, no local average of a node that stays alive is lost or
//! stored twice, and no two registered nodes closer than 20 units.

use super::edge::Phase;
use super::grid::MIN_NODE_DISTANCE;
use super::rest::AverageId;
use super::{CityNode, Cloud, CloudServer, EdgeNode};
use sim_core::{Invariant, NodeId, NodeStatus, Role, SimTime, World};
use std::collections::{BTreeMap, BTreeSet};

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

/// Where an edge node stands in the agreement on a coordinator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Stance {
    /// Not up, or not in the network.
    #[default]
    Out,
    /// The coordinator, with its id.
    Coordinator(i64),
    /// Active under this coordinator (or none known).
    Follows(Option<i64>),
    /// In the network, but greeting or electing.
    Unsettled,
}

impl Stance {
    fn of(world: &World<'_, CityNode>, id: NodeId) -> Stance {
        match phase(world, id) {
            (_, Some(e)) if !e.in_network() => Stance::Out,
            (Phase::Coordinator, Some(e)) => Stance::Coordinator(e.id()),
            (Phase::Active, Some(e)) => Stance::Follows(e.coordinator()),
            (_, Some(_)) => Stance::Unsettled,
            (_, None) => Stance::Out,
        }
    }
}

/// After an election settles there is exactly one coordinator and every live node in
/// the network agrees on it. "Settles" is made checkable with the bound
/// [`super::Timing::settle_bound`]: after the last disruption (an edge node crashing,
/// restarting, joining or leaving) the network may disagree (while nodes join, elect or
/// have not yet noticed the failure) for at most that long.
///
/// Each node's stance is kept up to date from the node the event changed, and the
/// stances are counted, so agreement is decided in constant time; only a violation's
/// message looks at every node.
pub struct OneCoordinator {
    bound: SimTime,
    stances: Vec<Stance>,
    /// How many nodes take each stance (`Out` not counted).
    counts: BTreeMap<Stance, usize>,
    /// Which nodes were up after the previous event.
    up: Vec<bool>,
    disagreeing_since: Option<SimTime>,
}

impl OneCoordinator {
    /// Disagreement may last at most `bound`.
    pub fn new(bound: SimTime) -> OneCoordinator {
        OneCoordinator {
            bound,
            stances: Vec::new(),
            counts: BTreeMap::new(),
            up: Vec::new(),
            disagreeing_since: None,
        }
    }

    /// Refresh the changed nodes' stances; whether an edge node went up or down.
    fn update(&mut self, world: &World<'_, CityNode>) -> bool {
        self.stances.resize(world.node_count(), Stance::Out);
        self.up.resize(world.node_count(), false);
        let mut disrupted = false;
        for (id, status, node) in world.changed_nodes() {
            if EdgeNode::of(node).is_none() {
                continue;
            }
            let up = status == NodeStatus::Up;
            disrupted |= std::mem::replace(&mut self.up[id.index()], up) != up;
            let new = Stance::of(world, id);
            let old = std::mem::replace(&mut self.stances[id.index()], new);
            if old != new {
                self.uncount(old);
                if new != Stance::Out {
                    *self.counts.entry(new).or_default() += 1;
                }
            }
        }
        disrupted
    }

    fn uncount(&mut self, stance: Stance) {
        if let Some(n) = self.counts.get_mut(&stance) {
            *n -= 1;
            if *n == 0 {
                self.counts.remove(&stance);
            }
        }
    }

    /// Whether the nodes in the network agree: none, or one coordinator followed by
    /// every other.
    fn agreed(&self) -> bool {
        let mut stances = self.counts.iter();
        match (stances.next(), stances.next(), stances.next()) {
            (None, _, _) => true,
            (Some((Stance::Coordinator(_), 1)), None, _) => true,
            (Some((Stance::Coordinator(c), 1)), Some((Stance::Follows(Some(f)), _)), None) => {
                c == f
            }
            _ => false,
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
        let disrupted = self.update(world);
        if self.agreed() {
            self.disagreeing_since = None;
            return Ok(());
        }
        let since = self.disagreeing_since.get_or_insert(world.now());
        if disrupted {
            *since = world.now();
        }
        if world.now() - *since > self.bound {
            let edges: Vec<NodeId> = world
                .nodes()
                .filter(|(_, _, n)| EdgeNode::of(n).is_some())
                .map(|(id, _, _)| id)
                .collect();
            let what = agreement(world, &edges).err().unwrap_or_default();
            return Err(format!(
                "no agreed coordinator since {} (longer than the settling bound {}): {what}",
                since, self.bound
            ));
        }
        Ok(())
    }
}

/// A node that joined while a coordinator was in charge never becomes coordinator
/// while that coordinator is alive and still in charge.
///
/// Kept from the node each event changed: the coordinators in charge, each with the
/// number of the term it is in (a coordinator that lost its charge and took it again
/// is in a new term, and no longer protects a node that joined in its old one).
#[derive(Default)]
pub struct JoinerNeverDisplaces {
    previous: BTreeMap<NodeId, Phase>,
    /// Coordinators in charge, with their current term.
    in_charge: BTreeMap<NodeId, u64>,
    /// Terms started so far, by node.
    terms: BTreeMap<NodeId, u64>,
    /// For each joiner, the coordinators (and their terms) in charge when it joined.
    joined_under: BTreeMap<NodeId, Vec<(NodeId, u64)>>,
}

impl Invariant<CityNode> for JoinerNeverDisplaces {
    fn name(&self) -> &str {
        "joiner_never_displaces_coordinator"
    }

    fn check(&mut self, world: &World<'_, CityNode>) -> Result<(), String> {
        for (id, _, node) in world.changed_nodes() {
            if EdgeNode::of(node).is_none() {
                continue;
            }
            let now = phase(world, id).0;
            let before = self.previous.insert(id, now).unwrap_or(Phase::Down);
            if now == Phase::Coordinator && before != Phase::Coordinator {
                let term = self.terms.entry(id).or_default();
                *term += 1;
                let term = *term;
                if let Some(under) = self.joined_under.get(&id)
                    && let Some((c, _)) = under
                        .iter()
                        .find(|(c, t)| *c != id && self.in_charge.get(c) == Some(t))
                {
                    return Err(format!(
                        "{} joined while {} was coordinator and took over while it still is",
                        world.name(id),
                        world.name(*c)
                    ));
                }
                self.in_charge.insert(id, term);
            } else if now != Phase::Coordinator {
                self.in_charge.remove(&id);
            }
            if now == Phase::Hello && before != Phase::Hello {
                let under = self
                    .in_charge
                    .iter()
                    .filter(|(c, _)| **c != id)
                    .map(|(c, t)| (*c, *t))
                    .collect();
                self.joined_under.insert(id, under);
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
///
/// Checked after the server's own events only (its store changes nowhere else), when
/// the number of registered nodes changed (the server handles one request, one
/// registration or removal, per event): each node registered since is compared with
/// every other, so a run pays for each registration once, not for every pair at every
/// event.
#[derive(Default)]
pub struct MinimumDistance {
    server: Option<NodeId>,
    /// The ids registered at the last check.
    registered: BTreeSet<i64>,
}

impl Invariant<CityNode> for MinimumDistance {
    fn name(&self) -> &str {
        "registered_nodes_keep_their_distance"
    }

    fn check(&mut self, world: &World<'_, CityNode>) -> Result<(), String> {
        let Some(cloud) = cloud(&mut self.server, world) else {
            return Ok(());
        };
        let server_changed = world
            .changed_nodes()
            .any(|(_, _, n)| CloudServer::of(n).is_some());
        // One request per event registers or removes one node: a store of the same
        // size is the same store.
        if !server_changed || cloud.nodes.len() == self.registered.len() {
            return Ok(());
        }
        let new: Vec<_> = cloud
            .nodes
            .values()
            .filter(|a| !self.registered.contains(&a.id))
            .collect();
        self.registered = cloud.nodes.keys().copied().collect();
        for a in new {
            if let Some(b) = cloud
                .nodes
                .values()
                .find(|b| b.id != a.id && a.cell.distance(b.cell) < MIN_NODE_DISTANCE)
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
