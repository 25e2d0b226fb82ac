//! A replica: it grants leases to everyone, and stands for and holds the lease itself.

use crate::msg::{Ballot, LeaseMsg, LeaseTimer};
use crate::params::LeaseParams;
use dsim::{Ctx, Node, NodeId, RngExt, SimTime, TimerId};
use std::collections::BTreeSet;

/// A replica's promise: no lease for anyone but `holder` until `until` of its own clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Promise {
    /// Whom the replica promised.
    pub holder: NodeId,
    /// The ballot it granted last.
    pub ballot: Ballot,
    /// The round of that ballot it granted last.
    pub attempt: u64,
    /// Local time until which the promise stands (last grant + `lease + guard`).
    pub until: SimTime,
}

/// What a replica keeps across a crash: its disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disk {
    /// The promise in force, if any.
    pub promise: Option<Promise>,
    /// The highest ballot seen; a new candidacy goes above it.
    pub highest: Ballot,
    /// The last round number this replica used for its own requests.
    pub attempt: u64,
}

/// One round of requests of a candidate or leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round {
    /// The round's number.
    pub attempt: u64,
    /// Local time the requests went out: the lease is counted from here.
    pub start: SimTime,
    /// Who granted (the requester included, if it granted itself).
    pub granted: BTreeSet<NodeId>,
    /// Who refused.
    pub refused: BTreeSet<NodeId>,
}

/// What a replica believes it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Grants leases and waits for silence to stand.
    Follower,
    /// Asks for a lease under `ballot`.
    Candidate {
        /// The candidacy.
        ballot: Ballot,
        /// Its round of requests.
        round: Round,
    },
    /// Holds the lease of `ballot` until `deadline` of its own clock.
    Leader {
        /// The leadership.
        ballot: Ballot,
        /// Local time the lease runs out unless renewed.
        deadline: SimTime,
        /// The renewal under way, if any.
        round: Option<Round>,
    },
}

/// A lease replica (role `"replica"`).
#[derive(Clone, Debug)]
pub struct Replica {
    params: LeaseParams,
    /// Every replica, this one included.
    peers: Vec<NodeId>,
    /// Whether the disk survives a crash (false only in the tests' broken variant).
    durable: bool,
    disk: Disk,
    role: Role,
    election: Option<TimerId>,
    /// True time up to which this leader's lease time went into `leader_time_s`.
    pub(crate) held_mark: SimTime,
}

impl Replica {
    /// A replica with an empty disk; [`crate::LeaderLease`] tells it its peers.
    pub fn new(params: LeaseParams) -> Self {
        Replica {
            params,
            peers: Vec::new(),
            durable: true,
            disk: Disk {
                promise: None,
                highest: Ballot::ZERO,
                attempt: 0,
            },
            role: Role::Follower,
            election: None,
            held_mark: SimTime::ZERO,
        }
    }

    /// The same replica, but one whose disk a crash wipes (unsafe: for tests).
    #[cfg(test)]
    pub(crate) fn amnesiac(mut self) -> Self {
        self.durable = false;
        self
    }

    pub(crate) fn set_peers(&mut self, peers: &[NodeId]) {
        self.peers = peers.to_vec();
    }

    /// What the replica believes it is.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// What it keeps across crashes.
    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    /// Whether it believes it holds the lease when its clock reads `local_now`.
    pub fn holds_lease(&self, local_now: SimTime) -> bool {
        matches!(self.role, Role::Leader { deadline, .. } if local_now < deadline)
    }

    fn majority(&self) -> usize {
        self.peers.len() / 2 + 1
    }

    /// Whether a request of `from` under `ballot` may be granted at local time `now`:
    /// not while a promise to someone else may still be valid, nor below the ballot
    /// granted last.
    fn may_grant(&self, from: NodeId, ballot: Ballot, now: SimTime) -> bool {
        match self.disk.promise {
            Some(p) if p.holder != from && now < p.until => false,
            Some(p) => ballot >= p.ballot,
            None => true,
        }
    }

    fn grant(&mut self, from: NodeId, ballot: Ballot, attempt: u64, now: SimTime) {
        let mut until = now + self.params.promised_for();
        if let Some(p) = self.disk.promise.filter(|p| p.holder == from) {
            until = until.max(p.until);
        }
        self.disk.promise = Some(Promise {
            holder: from,
            ballot,
            attempt,
            until,
        });
    }

    /// Wait for the promise to someone else to run out, plus a random election timeout.
    fn arm_election(&mut self, ctx: &mut impl Ctx<Self>) {
        let now = ctx.now();
        let blocked = match self.disk.promise {
            Some(p) if p.holder != ctx.id() => p.until - now,
            _ => SimTime::ZERO,
        };
        let (lo, hi) = (
            self.params.election_timeout_min.as_nanos(),
            self.params.election_timeout_max.as_nanos(),
        );
        let wait = blocked + SimTime::from_nanos(ctx.rng().random_range(lo..=hi));
        let timer = ctx.set_timer(wait, LeaseTimer::Election);
        if let Some(old) = self.election.replace(timer) {
            ctx.cancel_timer(old);
        }
    }

    /// Send a new round of requests under `ballot`, granting itself first if it may.
    fn open_round(&mut self, ctx: &mut impl Ctx<Self>, ballot: Ballot) -> Round {
        self.disk.attempt += 1;
        let (me, now, attempt) = (ctx.id(), ctx.now(), self.disk.attempt);
        let mut round = Round {
            attempt,
            start: now,
            granted: BTreeSet::new(),
            refused: BTreeSet::new(),
        };
        if self.may_grant(me, ballot, now) {
            self.grant(me, ballot, attempt, now);
            round.granted.insert(me);
        } else {
            round.refused.insert(me);
        }
        for &peer in self.peers.iter().filter(|p| **p != me) {
            ctx.send(peer, LeaseMsg::Request { ballot, attempt });
        }
        ctx.set_timer(
            self.params.request_timeout,
            LeaseTimer::RequestTimeout { attempt },
        );
        round
    }

    fn stand(&mut self, ctx: &mut impl Ctx<Self>) {
        let above = self.disk.promise.map_or(0, |p| p.ballot.round);
        let ballot = Ballot {
            round: self.disk.highest.round.max(above) + 1,
            node: ctx.id(),
        };
        self.disk.highest = ballot;
        ctx.metrics().add("elections", 1.0);
        let round = self.open_round(ctx, ballot);
        self.role = Role::Candidate { ballot, round };
        self.tally(ctx);
    }

    /// Act on the current round's answers: win, renew, or give up.
    fn tally(&mut self, ctx: &mut impl Ctx<Self>) {
        let (majority, n, now) = (self.majority(), self.peers.len(), ctx.now());
        let held_for = self.params.held_for();
        match &mut self.role {
            Role::Candidate { ballot, round } if round.granted.len() >= majority => {
                let (ballot, start) = (*ballot, round.start);
                if now < start + held_for {
                    self.lead(ctx, ballot, start);
                } else {
                    self.give_up(ctx);
                }
            }
            Role::Candidate { round, .. } if round.refused.len() > n - majority => {
                self.give_up(ctx)
            }
            Role::Leader {
                deadline, round, ..
            } if round.as_ref().is_some_and(|r| r.granted.len() >= majority) => {
                let start = round.take().map_or(now, |r| r.start);
                *deadline = (*deadline).max(start + held_for);
                ctx.metrics().add("lease_renewals", 1.0);
                let since = ctx.sim_time() - self.held_mark;
                ctx.metrics().add("leader_time_s", since.as_secs_f64());
                self.held_mark = ctx.sim_time();
            }
            _ => {}
        }
    }

    fn lead(&mut self, ctx: &mut impl Ctx<Self>, ballot: Ballot, start: SimTime) {
        let now = ctx.now();
        let deadline = start + self.params.held_for();
        self.role = Role::Leader {
            ballot,
            deadline,
            round: None,
        };
        if let Some(t) = self.election.take() {
            ctx.cancel_timer(t);
        }
        self.held_mark = ctx.sim_time();
        ctx.metrics().add("leader_changes", 1.0);
        ctx.metrics()
            .observe("election_ms", (now - start).as_millis_f64());
        ctx.annotate(&format!("leader under ballot {ballot}"));
        ctx.set_timer(self.params.renew_every, LeaseTimer::Renew { ballot });
        ctx.set_timer(deadline - now, LeaseTimer::Expiry { ballot });
    }

    /// A candidate without a majority releases what it was granted and waits again.
    fn give_up(&mut self, ctx: &mut impl Ctx<Self>) {
        if let Role::Candidate { ballot, round } = std::mem::replace(&mut self.role, Role::Follower)
        {
            self.release(ctx, ballot, round.attempt);
        }
        self.arm_election(ctx);
    }

    /// A leader whose lease ran out by its own clock steps down and releases it.
    fn step_down(&mut self, ctx: &mut impl Ctx<Self>) {
        if let Role::Leader {
            ballot, deadline, ..
        } = std::mem::replace(&mut self.role, Role::Follower)
        {
            // The lease ended at `deadline`, which may be a little before this event.
            let end = ctx.sim_time() - (ctx.now() - deadline);
            let held = end - self.held_mark;
            ctx.metrics().add("leader_time_s", held.as_secs_f64());
            ctx.annotate(&format!("lease {ballot} ran out"));
            self.release(ctx, ballot, self.disk.attempt);
        }
        self.arm_election(ctx);
    }

    /// Tell everyone (and itself) to forget promises to this node for `ballot` up to
    /// round `attempt`. Only sent by a node that holds no lease from them.
    fn release(&mut self, ctx: &mut impl Ctx<Self>, ballot: Ballot, attempt: u64) {
        let me = ctx.id();
        self.forget(me, ballot, attempt);
        for &peer in self.peers.iter().filter(|p| **p != me) {
            ctx.send(peer, LeaseMsg::Release { ballot, attempt });
        }
    }

    fn forget(&mut self, holder: NodeId, ballot: Ballot, attempt: u64) -> bool {
        let matches =
            |p: &Promise| p.holder == holder && p.ballot == ballot && p.attempt <= attempt;
        let hit = self.disk.promise.as_ref().is_some_and(matches);
        if hit {
            self.disk.promise = None;
        }
        hit
    }

    fn answer(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, ballot: Ballot, attempt: u64) {
        let now = ctx.now();
        self.disk.highest = self.disk.highest.max(ballot);
        if self.may_grant(from, ballot, now) {
            self.grant(from, ballot, attempt, now);
            ctx.send(from, LeaseMsg::Grant { ballot, attempt });
            if self.role == Role::Follower {
                self.arm_election(ctx);
            }
        } else {
            let promised = self.disk.promise.map_or(Ballot::ZERO, |p| p.ballot);
            ctx.send(
                from,
                LeaseMsg::Refuse {
                    ballot,
                    attempt,
                    promised,
                },
            );
        }
    }

    /// Count an answer if it is for the round under way.
    fn count(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: LeaseMsg) {
        let (ballot, attempt, granted) = match msg {
            LeaseMsg::Grant { ballot, attempt } => (ballot, attempt, true),
            LeaseMsg::Refuse {
                ballot,
                attempt,
                promised,
            } => {
                self.disk.highest = self.disk.highest.max(promised);
                (ballot, attempt, false)
            }
            _ => return,
        };
        let round = match &mut self.role {
            Role::Candidate { ballot: b, round } if *b == ballot => round,
            Role::Leader {
                ballot: b,
                round: Some(round),
                ..
            } if *b == ballot => round,
            _ => return,
        };
        if round.attempt != attempt {
            return;
        }
        if granted {
            round.granted.insert(from);
        } else {
            round.refused.insert(from);
        }
        self.tally(ctx);
    }
}

impl Node for Replica {
    type Msg = LeaseMsg;
    type Timer = LeaseTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.role = Role::Follower;
        self.arm_election(ctx);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: LeaseMsg) {
        match msg {
            LeaseMsg::Request { ballot, attempt } => self.answer(ctx, from, ballot, attempt),
            LeaseMsg::Grant { .. } | LeaseMsg::Refuse { .. } => self.count(ctx, from, msg),
            LeaseMsg::Release { ballot, attempt } => {
                if self.forget(from, ballot, attempt) && self.role == Role::Follower {
                    self.arm_election(ctx);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: LeaseTimer) {
        let now = ctx.now();
        match (timer, &mut self.role) {
            (LeaseTimer::Election, Role::Follower) => {
                self.election = None;
                let me = ctx.id();
                match self.disk.promise {
                    Some(p) if p.holder != me && now < p.until => self.arm_election(ctx),
                    _ => self.stand(ctx),
                }
            }
            (LeaseTimer::RequestTimeout { attempt }, Role::Candidate { round, .. })
                if round.attempt == attempt =>
            {
                self.give_up(ctx)
            }
            (LeaseTimer::RequestTimeout { attempt }, Role::Leader { round, .. })
                if round.as_ref().is_some_and(|r| r.attempt == attempt) =>
            {
                // The renewal failed; the lease stands until its deadline.
                *round = None;
                ctx.metrics().add("renewal_failures", 1.0);
            }
            (LeaseTimer::Renew { ballot }, Role::Leader { ballot: b, .. }) if *b == ballot => {
                let round = self.open_round(ctx, ballot);
                if let Role::Leader { round: r, .. } = &mut self.role {
                    *r = Some(round);
                }
                ctx.set_timer(self.params.renew_every, LeaseTimer::Renew { ballot });
                self.tally(ctx);
            }
            (
                LeaseTimer::Expiry { ballot },
                Role::Leader {
                    ballot: b,
                    deadline,
                    ..
                },
            ) if *b == ballot => {
                if now >= *deadline {
                    self.step_down(ctx);
                } else {
                    let left = *deadline - now;
                    ctx.set_timer(left, LeaseTimer::Expiry { ballot });
                }
            }
            _ => {}
        }
    }

    /// Role, round and timers are volatile; the disk (promise, highest ballot, round
    /// counter) is kept, unless the replica is the tests' amnesiac variant.
    fn on_crash(&mut self) {
        self.role = Role::Follower;
        self.election = None;
        if !self.durable {
            self.disk.promise = None;
        }
    }
}
