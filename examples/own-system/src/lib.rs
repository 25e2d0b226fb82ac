//! A leader lease among replicas: a user's own protocol, built on dsim as a framework.
//!
//! The crate depends on `dsim` alone. It defines nodes ([`Replica`]), their messages and
//! timers ([`LeaseMsg`], [`LeaseTimer`]), its invariants and a [`dsim::System`]
//! ([`LeaderLease`]) that dsim's runner, explorer and sweeps can host.
//!
//! # The protocol
//! Every replica grants leases, and any may stand for one. A follower that has granted
//! nothing for a while (its promise ran out, plus a random election timeout drawn from
//! its own stream) stands: it takes a ballot above every one it has seen, grants itself,
//! and asks every replica. A replica grants unless it promised someone else a lease that
//! may still be valid by its own clock, or the ballot is below the one it granted last.
//! A grant is remembered for `lease + guard` of the replica's clock from the moment it
//! was given. On a majority of grants the candidate leads until `start + lease -
//! drift_margin` of its own clock, where `start` is when it *sent* the requests, so no
//! message delay lengthens a lease. The leader renews every `renew_every` the same way;
//! renewals are its heartbeat, and every replica that grants one puts off its own
//! candidacy until the promise runs out. A leader that cannot renew steps down at its
//! deadline; a candidate without a majority (timeout, or a majority of refusals) gives
//! up. Both then send `Release`, so replicas drop promises nobody holds a lease from.
//!
//! Any two majorities share a replica, which granted the later lease only after its
//! promise for the earlier ran out; the earlier lease ended before that as long as the
//! clocks stay within [`LeaseParams::tolerated_drift_ppm`] of true rate.
//!
//! # Crash and restart
//! Promises are persisted: a replica's [`Disk`] (its promise, the highest ballot it has
//! seen and its round counter) survives a crash, and its clock keeps running, so a
//! restarted replica refuses others exactly as long as before the crash, and needs no
//! waiting period. The role, the rounds under way and the timers are volatile: a
//! crashed leader comes back as a follower that believes it holds nothing. The tests
//! show that a replica that forgets its promises breaks safety.
#![warn(missing_docs)]

mod invariants;
mod msg;
mod params;
mod replica;
#[cfg(test)]
mod tests;

pub use invariants::{LeaderElected, OneLeaderAtATime};
pub use msg::{Ballot, LeaseMsg, LeaseTimer};
pub use params::LeaseParams;
pub use replica::{Disk, Promise, Replica, Role, Round};

use dsim::{Invariant, Metrics, Setup, SimTime, Simulation, System, TopologyRule, add_declared};

/// The leader-lease system: `system: "leader-lease"` in a scenario, role `"replica"`.
pub struct LeaderLease;

impl System for LeaderLease {
    const NAME: &'static str = "leader-lease";
    const DESCRIPTION: &'static str =
        "leader lease among replicas: majority grants, guarded promises, persisted on disk";
    const ROLES: &'static [&'static str] = &["replica"];
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    const KEY_METRICS: &'static [&'static str] = &["leader_changes", "leaderless_s"];
    type Params = LeaseParams;
    type Node = Replica;

    fn validate(params: &LeaseParams, setup: &Setup<'_>) -> Result<(), String> {
        if setup.nodes.is_empty() {
            return Err("nodes: a leader lease needs at least one replica".into());
        }
        if let Some(n) = setup.nodes.iter().find(|n| n.role != "replica") {
            return Err(format!("node {:?}: unknown role {:?}", n.name, n.role));
        }
        params.check()
    }

    fn build(params: &LeaseParams, setup: &Setup<'_>, sim: &mut Simulation<Replica>) {
        let ids = add_declared(sim, setup.nodes, |_| Replica::new(params.clone()));
        for &id in &ids {
            sim.node_mut(id).set_peers(&ids);
        }
    }

    fn invariants(_: &LeaseParams) -> Vec<Box<dyn Invariant<Replica>>> {
        vec![Box::new(OneLeaderAtATime), Box::new(LeaderElected)]
    }

    /// `leader_time_s` gets the leases still held; `leaderless_s` is the rest of the
    /// run (a leader's time since its last renewal is lost when it crashes).
    fn report(_: &LeaseParams, sim: &Simulation<Replica>, metrics: &mut Metrics) {
        let world = sim.world();
        let mut held = SimTime::ZERO;
        let mut leaders = 0;
        for (id, n) in world.live_nodes() {
            if let Role::Leader { deadline, .. } = n.role() {
                let local = world.local_time(id);
                held += (world.now() - (local - *deadline)) - n.held_mark;
                leaders += usize::from(local < *deadline);
            }
        }
        metrics.add("leader_time_s", held.as_secs_f64());
        let leaderless = world.now().as_secs_f64() - metrics.value("leader_time_s");
        metrics.set("leaderless_s", leaderless.max(0.0));
        metrics.set("leaders_at_end", leaders as f64);
        for counter in ["elections", "leader_changes", "lease_renewals"] {
            metrics.add(counter, 0.0);
        }
    }
}
