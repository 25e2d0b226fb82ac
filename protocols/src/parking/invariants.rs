//! The parking lot's invariants, checked after every event (liveness at the end).
//!
//! Each looks only at the node the event changed ([`World::changed_nodes`]) and keeps
//! its sums and sets node by node, so its cost per event does not grow with the lot.
//! One full scan stays: `no_admitted_car_forgotten` reads every gate's releases, after
//! an event on a ready primary replica only (the replicated variant's few replicas).

use super::{Gate, ParkingNode, Replica};
use sim_core::{Invariant, Members, NodeId, Role, SimTime, Tally, World};
use std::collections::BTreeMap;

/// Occupancy (initial + admitted - left, over all gates) stays within [0, capacity].
pub(super) struct Occupancy {
    pub(super) initial: i64,
    pub(super) capacity: i64,
    /// Admitted minus left, by gate.
    pub(super) through: Tally,
}

impl Invariant<ParkingNode> for Occupancy {
    fn name(&self) -> &str {
        "occupancy_within_capacity"
    }
    fn check(&mut self, world: &World<'_, ParkingNode>) -> Result<(), String> {
        let occ = self.initial
            + self.through.update(world, |_, _, n| {
                Gate::of(n).map_or(0, |g| g.admitted as i64 - g.left as i64)
            });
        if occ < 0 || occ > self.capacity {
            return Err(format!("occupancy {occ} outside [0, {}]", self.capacity));
        }
        Ok(())
    }
}

/// At most one gate is in the critical section.
#[derive(Default)]
pub(super) struct MutualExclusion {
    /// The gates in the critical section.
    holders: Members,
}

impl Invariant<ParkingNode> for MutualExclusion {
    fn name(&self) -> &str {
        "at_most_one_lock_holder"
    }
    fn check(&mut self, world: &World<'_, ParkingNode>) -> Result<(), String> {
        let holders = self.holders.update(world, |_, _, n| {
            Gate::of(n).is_some_and(|g| g.in_cs.is_some())
        });
        let holders: Vec<&str> = holders.iter().map(|&id| world.name(id)).collect();
        if holders.len() > 1 {
            return Err(format!(
                "{} gates hold the lock: {holders:?}",
                holders.len()
            ));
        }
        Ok(())
    }
}

/// Every admitted (or departing) car went through a grant.
pub(super) struct AdmittedWereGranted;

impl Invariant<ParkingNode> for AdmittedWereGranted {
    fn name(&self) -> &str {
        "admitted_cars_granted"
    }
    fn check(&mut self, world: &World<'_, ParkingNode>) -> Result<(), String> {
        for (id, _, n) in world.changed_nodes() {
            if let Some(g) = Gate::of(n)
                && g.admitted + g.left + g.turned_away > g.granted
            {
                return Err(format!(
                    "{}: {} cars through but only {} grants",
                    world.name(id),
                    g.admitted + g.left,
                    g.granted
                ));
            }
        }
        Ok(())
    }
}

/// Liveness at the end: no car has waited for the lock longer than `stuck_after`.
pub(super) struct LockLiveness {
    pub(super) stuck_after: SimTime,
}

impl Invariant<ParkingNode> for LockLiveness {
    fn name(&self) -> &str {
        "lock_liveness"
    }
    fn check_at_end(&mut self, world: &World<'_, ParkingNode>) -> Result<(), String> {
        let now = world.now();
        for (id, _, n) in world.nodes() {
            if let Some(g) = Gate::of(n)
                && let Some((car, at)) = g.waiting.iter().next()
                && now.saturating_sub(*at) > self.stuck_after
            {
                return Err(format!(
                    "{}: car {car} waiting for the lock since {:.1} s ({} cars waiting)",
                    world.name(id),
                    at.as_secs_f64(),
                    g.waiting.len()
                ));
            }
        }
        Ok(())
    }
}

/// With replication, no admitted car is forgotten: the lot's primary (the ready one of
/// the highest term) has applied every release any earlier primary applied, and its
/// occupancy is exactly what those releases add up to.
pub(super) struct NoForgottenCar {
    pub(super) initial: i64,
    pub(super) seen: BTreeMap<NodeId, u64>,
}

impl Invariant<ParkingNode> for NoForgottenCar {
    fn name(&self) -> &str {
        "no_admitted_car_forgotten"
    }
    fn check(&mut self, world: &World<'_, ParkingNode>) -> Result<(), String> {
        // Only a primary's own event changes what it applied (gates only append).
        let primary_changed = world
            .changed_nodes()
            .any(|(_, _, n)| Replica::of(n).is_some_and(|r| r.primary && r.ready));
        if !primary_changed {
            return Ok(());
        }
        let gates: BTreeMap<NodeId, &Gate> = world
            .nodes()
            .filter_map(|(id, _, n)| Gate::of(n).map(|g| (id, g)))
            .collect();
        // The lot's primary is the ready one of the highest term: a deposed primary
        // that has not heard of its successor (its messages lost) may still think
        // itself ready, but no gate follows it any more.
        let current = world
            .live_nodes()
            .filter_map(|(id, n)| Replica::of(n).map(|r| (id, r)))
            .filter(|(_, r)| r.primary && r.ready)
            .max_by_key(|(_, r)| r.term);
        if let Some((id, r)) = current {
            let mut occ = self.initial;
            for (gid, g) in &gates {
                let applied = r.applied.get(gid).map_or(0, |r| r.seq);
                let seen = self.seen.entry(*gid).or_insert(0);
                if applied < *seen {
                    return Err(format!(
                        "primary {} applied {applied} releases of {}, {} were applied before",
                        world.name(id),
                        world.name(*gid),
                        seen
                    ));
                }
                *seen = applied;
                occ += g.delta_prefix.get(applied as usize).copied().unwrap_or(0);
            }
            if occ != i64::from(r.server.occupied) {
                return Err(format!(
                    "primary {} counts {} occupied, its applied releases make {occ}",
                    world.name(id),
                    r.server.occupied
                ));
            }
        }
        Ok(())
    }
}
