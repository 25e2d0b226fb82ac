//! What must hold: one lease holder at a time (safety), and a leader at the end (liveness).

use crate::replica::{Replica, Role};
use dsim::{Invariant, World};

/// Safety: at no moment do two live replicas (up, or paused: a paused leader still
/// believes, and acts on it when it resumes) both hold an unexpired lease, each judged
/// by its own clock against the deadline it set in its own time.
pub struct OneLeaderAtATime;

impl Invariant<Replica> for OneLeaderAtATime {
    fn name(&self) -> &str {
        "one_leader_at_a_time"
    }

    fn check(&mut self, world: &World<'_, Replica>) -> Result<(), String> {
        let holds = |(id, n): &(dsim::NodeId, &Replica)| n.holds_lease(world.local_time(*id));
        if world.live_nodes().filter(holds).count() < 2 {
            return Ok(());
        }
        let holders: Vec<String> = world
            .live_nodes()
            .filter(holds)
            .map(|(id, n)| match n.role() {
                Role::Leader {
                    ballot, deadline, ..
                } => format!(
                    "{} (ballot {ballot}, clock {}, lease until {deadline})",
                    world.name(id),
                    world.local_time(id)
                ),
                _ => world.name(id).to_owned(),
            })
            .collect();
        Err(format!("two leases at once: {}", holders.join(", ")))
    }
}

/// Liveness, at the end of the run (after the scenario's quiet period): when a majority
/// of replicas is up, one of them holds an unexpired lease.
pub struct LeaderElected;

impl Invariant<Replica> for LeaderElected {
    fn name(&self) -> &str {
        "leader_elected"
    }

    fn check_at_end(&mut self, world: &World<'_, Replica>) -> Result<(), String> {
        let replicas = world.nodes().count();
        let up = world.up_nodes().count();
        if up < replicas / 2 + 1 {
            return Ok(());
        }
        if world
            .up_nodes()
            .any(|(id, n)| n.holds_lease(world.local_time(id)))
        {
            return Ok(());
        }
        Err(format!(
            "{up} of {replicas} replicas are up and none holds a lease"
        ))
    }
}
