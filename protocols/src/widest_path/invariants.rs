//! Invariants of the widest-path system.

use super::ghs::{EdgeKey, Objective};
use super::oracle::kruskal;
use super::session::TreeKind;
use super::{Life, Peer, PeerNode};
use petgraph::unionfind::UnionFind;
use sim_core::{Invariant, NodeStatus, World};
use std::collections::BTreeMap;

/// No peer ever has more bandwidth reserved on a link than the link's capacity.
pub struct ReservationsWithinCapacity;

impl Invariant<PeerNode> for ReservationsWithinCapacity {
    fn name(&self) -> &str {
        "reservations_within_capacity"
    }
    /// A peer's reservations change only in its own events: it alone is checked.
    fn check(&mut self, world: &World<'_, PeerNode>) -> Result<(), String> {
        let live = |s: NodeStatus| matches!(s, NodeStatus::Up | NodeStatus::Paused);
        for (id, _, node) in world.changed_nodes().filter(|(_, s, _)| live(*s)) {
            let p = &node.0;
            for (&n, &cap) in &p.links {
                let reserved = p.channels.reserved_on(n);
                if reserved > cap {
                    return Err(format!(
                        "{} reserved {reserved} kbps on its link to {} of capacity {cap}",
                        world.name(id),
                        world.name(sim_core::NodeId(n))
                    ));
                }
            }
        }
        Ok(())
    }
}

/// At the end every link of the graph between two peers still in the network (up, not
/// gone) is in use at both ends: no fault made a peer drop a neighbour that is alive,
/// so the tree [`OneSessionOneTree`] compares with Kruskal's spans the whole graph that
/// is left. (A pair counts when each end has the other among its configured links: a
/// restarted peer announces only its graph links, not a joiner's.)
pub struct NoLinkLost;

impl Invariant<PeerNode> for NoLinkLost {
    fn name(&self) -> &str {
        "no_link_lost"
    }
    fn check_at_end(&mut self, world: &World<'_, PeerNode>) -> Result<(), String> {
        let peers: BTreeMap<u32, (sim_core::NodeId, &Peer)> = world
            .up_nodes()
            .map(|(id, n)| (n.0.me, (id, n.0.as_ref())))
            .filter(|(_, (_, p))| p.life != Life::Gone)
            .collect();
        for (id, p) in peers.values() {
            for &(n, _) in &p.config {
                let Some((nid, q)) = peers.get(&n) else {
                    continue;
                };
                if q.config.iter().any(|&(m, _)| m == p.me) && !p.links.contains_key(&n) {
                    return Err(format!(
                        "{} dropped its link to {}, though both are up",
                        world.name(*id),
                        world.name(*nid)
                    ));
                }
            }
        }
        Ok(())
    }
}

/// At the end every peer still in the network is in the same session as the peers it
/// is connected to, with its trees computed; the tree edges both ends report agree; and
/// the capacity tree (a forest if a crash cut the graph) is the one Kruskal finds on the
/// links between those peers (same tie key).
pub struct OneSessionOneTree;

/// The tree edges of `tree` as the peers report them (each edge once).
pub fn tree_edges(peers: &[&Peer], tree: TreeKind) -> Vec<EdgeKey> {
    let mut keys: Vec<EdgeKey> = peers
        .iter()
        .flat_map(|p| p.sessions.branches(tree))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

impl Invariant<PeerNode> for OneSessionOneTree {
    fn name(&self) -> &str {
        "one_session_one_tree"
    }
    fn check_at_end(&mut self, world: &World<'_, PeerNode>) -> Result<(), String> {
        let peers: Vec<(&str, &Peer)> = world
            .live_nodes()
            .map(|(id, n)| (world.name(id), n.0.as_ref()))
            .filter(|(_, p)| p.life != Life::Gone)
            .collect();
        // Peers cut apart (a crash can split the graph) compute separate trees: compare
        // sessions within each connected part of the links both ends still have.
        let mut parts = UnionFind::<usize>::new(peers.len());
        let position: BTreeMap<u32, usize> = peers
            .iter()
            .enumerate()
            .map(|(i, (_, p))| (p.me, i))
            .collect();
        for (i, (_, p)) in peers.iter().enumerate() {
            for n in p.links.keys() {
                if let Some(&j) = position.get(n)
                    && peers[j].1.links.contains_key(&p.me)
                {
                    parts.union(i, j);
                }
            }
        }
        let mut session_of_part = BTreeMap::new();
        for (i, (name, p)) in peers.iter().enumerate() {
            let (other, session) = *session_of_part
                .entry(parts.find(i))
                .or_insert((*name, p.sessions.current));
            if p.sessions.current != session {
                return Err(format!(
                    "{name} is in session {:?}, {other} (connected to it) in {session:?}",
                    p.sessions.current
                ));
            }
            if let Some(e) = p.sessions.ghs_error() {
                return Err(format!("{name}: GHS inconsistency: {e}"));
            }
            if !p.sessions.computed() {
                return Err(format!("{name} has not finished computing the trees"));
            }
        }
        let list: Vec<&Peer> = peers.iter().map(|(_, p)| *p).collect();
        // Both ends must report each edge: count the reports.
        let mut reports: BTreeMap<EdgeKey, u32> = BTreeMap::new();
        for p in &list {
            for k in p.sessions.branches(TreeKind::Capacity) {
                *reports.entry(k).or_default() += 1;
            }
        }
        if let Some((k, _)) = reports.iter().find(|(_, c)| **c != 2) {
            return Err(format!("only one end reports tree edge {k:?}"));
        }
        // Kruskal on the links among the peers still here (known at both ends), by index.
        let index: BTreeMap<u32, u32> = list
            .iter()
            .enumerate()
            .map(|(i, p)| (p.me, i as u32))
            .collect();
        let mut links = Vec::new();
        for p in &list {
            for (&n, &cap) in &p.links {
                if p.me < n
                    && let Some(&j) = index.get(&n)
                    && list[j as usize].links.contains_key(&p.me)
                {
                    links.push((index[&p.me], j, cap));
                }
            }
        }
        let expected: Vec<EdgeKey> = kruskal(list.len(), &links, Objective::Max)
            .into_iter()
            .map(|k| EdgeKey::new(list[k.lo as usize].me, list[k.hi as usize].me, k.weight))
            .collect();
        let mut expected = expected;
        expected.sort();
        let got = tree_edges(&list, TreeKind::Capacity);
        if got != expected {
            return Err(format!(
                "capacity tree {got:?} differs from Kruskal's {expected:?}"
            ));
        }
        Ok(())
    }
}
