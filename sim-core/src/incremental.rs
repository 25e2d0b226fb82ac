//! Aggregates over all nodes kept up to date from the nodes each event changed
//! ([`World::changed_nodes`]), so an invariant about the whole system (the occupancy of
//! a lot, the holders of a lock) costs the same per event at any number of nodes.

use crate::node::{Node, NodeId, NodeStatus};
use crate::sim::World;
use std::collections::BTreeSet;

/// A sum of one number per node (cars admitted minus cars gone, say).
#[derive(Debug, Default)]
pub struct Tally {
    shares: Vec<i64>,
    total: i64,
}

impl Tally {
    /// Refresh the shares of the nodes the event changed with `share` and return the sum.
    pub fn update<N: Node>(
        &mut self,
        world: &World<'_, N>,
        share: impl Fn(NodeId, NodeStatus, &N) -> i64,
    ) -> i64 {
        self.shares.resize(world.node_count(), 0);
        for (id, status, node) in world.changed_nodes() {
            let new = share(id, status, node);
            let old = std::mem::replace(&mut self.shares[id.index()], new);
            self.total += new - old;
        }
        self.total
    }
}

/// The nodes for which a property holds (gates holding the lock, coordinators).
#[derive(Debug, Default)]
pub struct Members {
    members: BTreeSet<NodeId>,
}

impl Members {
    /// Refresh the membership of the nodes the event changed with `holds` and return
    /// the members.
    pub fn update<N: Node>(
        &mut self,
        world: &World<'_, N>,
        holds: impl Fn(NodeId, NodeStatus, &N) -> bool,
    ) -> &BTreeSet<NodeId> {
        for (id, status, node) in world.changed_nodes() {
            if holds(id, status, node) {
                self.members.insert(id);
            } else {
                self.members.remove(&id);
            }
        }
        &self.members
    }
}
