//! The report's lock server as a node: the sans-IO [`LockServer`] core plus the counter,
//! the display updates and the lock-wait measurement.

use super::{GrantCause, LockServer, ParkMsg, ParkTimer, resend, send};
use sim_core::{Ctx, Message, Node, NodeId, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// The lock server (lock-server mode); every replica of the replicated mode embeds one
/// for the same lock, counter and display.
#[derive(Clone, Debug)]
pub struct Server {
    pub(super) lock: LockServer<(NodeId, u64)>,
    pub(super) arrived: BTreeMap<(NodeId, u64), SimTime>,
    pub(super) display: Option<NodeId>,
    /// Occupied places.
    pub occupied: u32,
    /// Places in the lot.
    pub capacity: u32,
    /// Repeat a GRANT after this long while its car holds the lock (the GRANT or the
    /// RELEASE may have been lost).
    pub(super) retry: SimTime,
    /// Cars whose RELEASE was applied: a late or repeated REQUEST of theirs is ignored.
    pub(super) done: BTreeSet<(NodeId, u64)>,
}

impl Server {
    /// A server for a lot of `capacity` places with `occupied` taken, repeating an
    /// unanswered GRANT every `retry`.
    pub(super) fn new(capacity: u32, occupied: u32, retry: SimTime) -> Self {
        Server {
            lock: LockServer::default(),
            arrived: BTreeMap::new(),
            display: None,
            occupied,
            capacity,
            retry,
            done: BTreeSet::new(),
        }
    }

    /// Send the number of free places to the display, if there is one.
    pub(super) fn show(&self, ctx: &mut impl Ctx<Self>) {
        if let Some(d) = self.display {
            let free = self.capacity.saturating_sub(self.occupied);
            send(ctx, d, ParkMsg::Show { free });
        }
    }

    /// Apply a released car's change of occupancy (+1 entry, -1 exit, 0 turned away)
    /// and update the display.
    pub(super) fn change_occupancy(&mut self, ctx: &mut impl Ctx<Self>, delta: i32) {
        if delta != 0 {
            self.occupied = (i64::from(self.occupied) + i64::from(delta)) as u32;
            self.show(ctx);
        }
    }

    pub(super) fn grant(
        &mut self,
        ctx: &mut impl Ctx<Self>,
        (gate, car): (NodeId, u64),
        cause: GrantCause,
    ) {
        if let Some(at) = self.arrived.remove(&(gate, car)) {
            let wait = ctx.sim_time() - at;
            ctx.metrics().observe("lock_wait_ms", wait.as_millis_f64());
        }
        let msg = ParkMsg::Grant {
            car,
            occupied: self.occupied,
            capacity: self.capacity,
            cause,
        };
        send(ctx, gate, msg);
        ctx.set_timer(self.retry, ParkTimer::GrantRetry { gate, car });
    }

    /// A REQUEST from `who`: queue it (granting at once if the lock is free), answer a
    /// repeated one from the holder with its GRANT again, ignore one already queued or
    /// released (a duplicate or a late copy).
    pub(super) fn request(&mut self, ctx: &mut impl Ctx<Self>, who: (NodeId, u64)) {
        if self.lock.holder() == Some(&who) {
            // A repeated request: the GRANT went missing.
            self.regrant(ctx, who.0, who.1);
            return;
        }
        if self.done.contains(&who) || self.lock.is_queued(&who) {
            return;
        }
        self.arrived.insert(who, ctx.sim_time());
        if let Some(g) = self.lock.request(who) {
            self.grant(ctx, g, GrantCause::Request);
        }
    }

    /// The GRANT of a car that still holds the lock, again.
    pub(super) fn regrant(&mut self, ctx: &mut impl Ctx<Self>, gate: NodeId, car: u64) {
        let msg = ParkMsg::Grant {
            car,
            occupied: self.occupied,
            capacity: self.capacity,
            cause: GrantCause::Request,
        };
        resend(ctx, gate, msg);
        ctx.set_timer(self.retry, ParkTimer::GrantRetry { gate, car });
    }
}

impl Node for Server {
    type Msg = ParkMsg;
    type Timer = ParkTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.show(ctx);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: ParkMsg) {
        match msg {
            ParkMsg::Request { car } => self.request(ctx, (from, car)),
            ParkMsg::SetPlaces { places } => self.capacity = places,
            ParkMsg::Release { car, delta, .. } => {
                if self.lock.holder() != Some(&(from, car)) {
                    return;
                }
                self.change_occupancy(ctx, delta);
                self.done.insert((from, car));
                if let Some(g) = self.lock.release(&(from, car)) {
                    self.grant(ctx, g, GrantCause::Release);
                }
            }
            other => ctx.annotate(&format!("server: unexpected {}", other.kind())),
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: ParkTimer) {
        // `GrantRetry` is the only timer the lock server sets.
        if let ParkTimer::GrantRetry { gate, car } = timer
            && self.lock.holder() == Some(&(gate, car))
        {
            self.regrant(ctx, gate, car);
        }
    }

    fn on_crash(&mut self) {
        // The server keeps no stable storage: lock state and waiting requests are lost
        // (the counter is kept, as if written to flash).
        self.lock.clear();
        self.arrived.clear();
        self.done.clear();
    }
}
