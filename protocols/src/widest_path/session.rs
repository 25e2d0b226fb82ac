//! MST sessions: the echo wave that starts a computation, the two GHS runs (capacity
//! and residual trees), and the routing convergecast that gives every peer its parent
//! and routing table.

use super::ghs::{EdgeKey, Ghs, GhsMsg, Objective};
use super::peer::send;
use super::{Peer, PeerNode, WpMsg, WpTimer};
use serde::{Deserialize, Serialize};
use sim_core::Ctx;
use std::collections::{BTreeMap, BTreeSet};

/// A session id: a counter, ties broken by the starter's id. A starter picks one above
/// every id it has seen, so each session supersedes the ones before it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SessionId {
    /// Sessions so far, as the starter knew them, plus one.
    pub counter: u64,
    /// The starting peer.
    pub starter: u32,
}

/// The two trees of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TreeKind {
    /// Maximum tree on link capacities: its paths are the widest of the whole graph.
    Capacity,
    /// Tree on residual capacities (the objective's): requests are routed on it.
    Residual,
}

impl TreeKind {
    fn index(self) -> usize {
        match self {
            TreeKind::Capacity => 0,
            TreeKind::Residual => 1,
        }
    }
}

/// A peer's routing on one tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    /// The neighbour towards the root (`None` at the root).
    pub parent: Option<u32>,
    /// Destination to next hop, for the peers below this one.
    pub table: BTreeMap<u32, u32>,
    /// Children whose subtree lists have not come yet.
    waiting: BTreeSet<u32>,
    /// Whether GHS has finished here and the convergecast started.
    started: bool,
    /// Whether the table is complete.
    pub complete: bool,
}

/// The echo wave in progress at a peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wave {
    /// Who woke this peer (`None` at the starter).
    parent: Option<u32>,
    /// Neighbours whose wave message (`Wake`, or `Echo` from a child) has not come.
    waiting: BTreeSet<u32>,
    /// Neighbours known alive in this session (sent `Wake` or `Joined`): the echo
    /// timeout never drops them; a child's subtree may take longer than the timeout.
    heard: BTreeSet<u32>,
    /// Residual weights agreed per neighbour (the lower-id end's announcement).
    weights: BTreeMap<u32, u64>,
    /// GHS messages that came before this peer's GHS started.
    early: Vec<(u32, TreeKind, GhsMsg)>,
}

/// The trees being built (or built) in the current session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trees {
    /// GHS per tree kind.
    pub ghs: [Ghs; 2],
    /// Routing per tree kind.
    pub routes: [Route; 2],
}

/// Where a peer is in the current session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// No session yet.
    #[default]
    Idle,
    /// Echo wave.
    Wave(Wave),
    /// GHS and routing.
    Trees(Box<Trees>),
}

/// A peer's session state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sessions {
    /// Objective of the residual tree.
    pub objective: Objective,
    /// The current session.
    pub current: SessionId,
    /// Progress in it.
    pub phase: Phase,
}

impl Sessions {
    /// No session yet; the residual tree uses `objective`.
    pub fn new(objective: Objective) -> Sessions {
        Sessions {
            objective,
            ..Sessions::default()
        }
    }

    /// Whether both trees and routing tables are complete.
    pub fn computed(&self) -> bool {
        match &self.phase {
            Phase::Trees(t) => t.routes.iter().all(|r| r.complete),
            _ => false,
        }
    }

    /// The trees of the current session, once GHS runs.
    pub fn trees(&self) -> Option<&Trees> {
        match &self.phase {
            Phase::Trees(t) => Some(t),
            _ => None,
        }
    }

    /// GHS algorithm messages this peer sent for `tree` in the current session.
    pub fn ghs_sent(&self, tree: TreeKind) -> u64 {
        self.trees().map_or(0, |t| t.ghs[tree.index()].sent)
    }

    /// This peer's tree edges of `tree` (keys with the weights GHS used).
    pub fn branches(&self, tree: TreeKind) -> Vec<EdgeKey> {
        self.trees().map_or(Vec::new(), |t| {
            t.ghs[tree.index()].branches().map(|(_, k)| k).collect()
        })
    }

    /// The first GHS inconsistency met in this session, if any.
    pub fn ghs_error(&self) -> Option<&'static str> {
        self.trees()
            .and_then(|t| t.ghs.iter().find_map(|g| g.error))
    }

    /// `peer` is known alive: the echo wave in progress, if any, waits for it instead
    /// of dropping it at the echo timeout.
    pub(super) fn alive(&mut self, peer: u32) {
        if let Phase::Wave(w) = &mut self.phase {
            w.heard.insert(peer);
        }
    }

    /// The routing of `tree`, once GHS runs.
    pub fn route(&self, tree: TreeKind) -> Option<&Route> {
        self.trees().map(|t| &t.routes[tree.index()])
    }
}

impl Peer {
    /// The neighbour to send to for `dest` on `tree`: the child whose subtree holds it,
    /// else the parent; `None` at the root for an unknown peer, or before routing.
    pub fn next_hop(&self, tree: TreeKind, dest: u32) -> Option<u32> {
        let route = self.sessions.route(tree)?;
        if !route.complete || dest == self.me {
            return None;
        }
        route.table.get(&dest).copied().or(route.parent)
    }

    /// Start a new session with an id above every one seen.
    pub fn start_session(&mut self, ctx: &mut impl Ctx<PeerNode>) {
        let id = SessionId {
            counter: self.sessions.current.counter + 1,
            starter: self.me,
        };
        ctx.annotate(&format!("starts session {}", id.counter));
        ctx.metrics().add("sessions", 1.0);
        self.adopt(ctx, id, None);
    }

    /// Join session `id` (woken by `parent` with its residual announcement, or as its
    /// starter).
    fn adopt(&mut self, ctx: &mut impl Ctx<PeerNode>, id: SessionId, woken_by: Option<(u32, u64)>) {
        self.sessions.current = id;
        let parent = woken_by.map(|(p, _)| p);
        let mut wave = Wave {
            parent,
            ..Wave::default()
        };
        if let Some((p, residual)) = woken_by {
            wave.heard.insert(p);
            if p < self.me {
                wave.weights.insert(p, residual);
            }
            // Tell the parent at once that this peer is alive and takes part.
            let mine = self.residual(p);
            if self.me < p {
                wave.weights.insert(p, mine);
            }
            send(
                ctx,
                p,
                WpMsg::Joined {
                    session: id,
                    residual: mine,
                },
            );
        }
        for &n in self.links.keys() {
            if Some(n) == parent {
                continue;
            }
            let residual = self.residual(n);
            if self.me < n {
                wave.weights.insert(n, residual);
            }
            wave.waiting.insert(n);
            send(
                ctx,
                n,
                WpMsg::Wake {
                    session: id,
                    residual,
                },
            );
        }
        ctx.set_timer(
            self.timing.echo_timeout,
            WpTimer::EchoTimeout { session: id },
        );
        self.sessions.phase = Phase::Wave(wave);
        self.maybe_finish_wave(ctx);
    }

    /// Handle a wave, GHS or routing message.
    pub(super) fn on_session_message(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        from: u32,
        msg: WpMsg,
    ) {
        if !self.links.contains_key(&from) {
            return;
        }
        match msg {
            WpMsg::Wake { session, residual } if session > self.sessions.current => {
                self.adopt(ctx, session, Some((from, residual)));
            }
            WpMsg::Wake { session, residual } if session == self.sessions.current => {
                self.heard_in_wave(ctx, from, Some(residual), true);
            }
            WpMsg::Joined { session, residual } if session == self.sessions.current => {
                self.heard_in_wave(ctx, from, Some(residual), false);
            }
            WpMsg::Echo { session } if session == self.sessions.current => {
                self.heard_in_wave(ctx, from, None, true);
            }
            WpMsg::Ghs { session, tree, msg } if session == self.sessions.current => {
                match &mut self.sessions.phase {
                    Phase::Wave(w) => w.early.push((from, tree, msg)),
                    Phase::Trees(_) => self.feed_ghs(ctx, from, tree, msg),
                    Phase::Idle => {}
                }
            }
            WpMsg::Subtree {
                session,
                tree,
                members,
            } if session == self.sessions.current => self.on_subtree(ctx, from, tree, members),
            _ => {}
        }
    }

    /// A wave message from `from`: its residual announcement, if it carries one, and
    /// whether it is the message this peer waits for from `from`.
    fn heard_in_wave(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        from: u32,
        residual: Option<u64>,
        done: bool,
    ) {
        let me = self.me;
        if let Phase::Wave(w) = &mut self.sessions.phase {
            w.heard.insert(from);
            if let Some(r) = residual
                && from < me
            {
                w.weights.insert(from, r);
            }
            if done {
                w.waiting.remove(&from);
            }
        }
        self.maybe_finish_wave(ctx);
    }

    /// The echo wave waited long enough: neighbours not heard from at all are dropped;
    /// children known alive are waited for.
    pub(super) fn on_echo_timeout(&mut self, ctx: &mut impl Ctx<PeerNode>, session: SessionId) {
        if session != self.sessions.current {
            return;
        }
        let Phase::Wave(w) = &mut self.sessions.phase else {
            return;
        };
        let silent: Vec<u32> = w.waiting.difference(&w.heard).copied().collect();
        w.waiting.retain(|n| w.heard.contains(n));
        for p in silent {
            ctx.annotate(&format!("drops silent neighbour {p}"));
            ctx.metrics().add("neighbours_dropped", 1.0);
            self.links.remove(&p);
            self.last_heard.remove(&p);
            self.break_channels_over(ctx, p);
        }
        self.maybe_finish_wave(ctx);
    }

    /// Once every neighbour answered: echo to the wave parent and start GHS.
    fn maybe_finish_wave(&mut self, ctx: &mut impl Ctx<PeerNode>) {
        let Phase::Wave(w) = &self.sessions.phase else {
            return;
        };
        if !w.waiting.is_empty() {
            return;
        }
        let w = w.clone();
        let session = self.sessions.current;
        if let Some(p) = w.parent {
            send(ctx, p, WpMsg::Echo { session });
        }
        let capacity: Vec<(u32, u64)> = self
            .links
            .iter()
            .filter(|(n, _)| w.weights.contains_key(n))
            .map(|(&n, &c)| (n, c))
            .collect();
        let residual: Vec<(u32, u64)> = self
            .links
            .keys()
            .filter_map(|n| w.weights.get(n).map(|&r| (*n, r)))
            .collect();
        let mut trees = Trees {
            ghs: [
                Ghs::new(self.me, Objective::Max, &capacity),
                Ghs::new(self.me, self.sessions.objective, &residual),
            ],
            routes: [Route::default(), Route::default()],
        };
        for g in &mut trees.ghs {
            g.wake();
        }
        self.sessions.phase = Phase::Trees(Box::new(trees));
        self.flush_ghs(ctx);
        for (from, tree, msg) in w.early {
            self.feed_ghs(ctx, from, tree, msg);
        }
    }

    fn feed_ghs(&mut self, ctx: &mut impl Ctx<PeerNode>, from: u32, tree: TreeKind, msg: GhsMsg) {
        if let Phase::Trees(t) = &mut self.sessions.phase {
            t.ghs[tree.index()].on_message(from, msg);
        }
        self.flush_ghs(ctx);
    }

    /// Send what GHS produced and start the convergecast on finished trees.
    fn flush_ghs(&mut self, ctx: &mut impl Ctx<PeerNode>) {
        let session = self.sessions.current;
        let Phase::Trees(t) = &mut self.sessions.phase else {
            return;
        };
        let mut leaves = Vec::new();
        for kind in [TreeKind::Capacity, TreeKind::Residual] {
            let i = kind.index();
            for (to, msg) in t.ghs[i].take_outbox() {
                send(
                    ctx,
                    to,
                    WpMsg::Ghs {
                        session,
                        tree: kind,
                        msg,
                    },
                );
            }
            let route = &mut t.routes[i];
            if t.ghs[i].is_finished() && !route.started {
                route.started = true;
                route.parent = t.ghs[i].parent();
                route.waiting = t.ghs[i]
                    .branches()
                    .map(|(n, _)| n)
                    .filter(|&n| Some(n) != route.parent)
                    .collect();
                leaves.push(kind);
            }
        }
        for kind in leaves {
            self.maybe_complete_route(ctx, kind);
        }
    }

    fn on_subtree(
        &mut self,
        ctx: &mut impl Ctx<PeerNode>,
        from: u32,
        tree: TreeKind,
        members: Vec<u32>,
    ) {
        let Phase::Trees(t) = &mut self.sessions.phase else {
            return;
        };
        let route = &mut t.routes[tree.index()];
        if !route.waiting.remove(&from) {
            return;
        }
        for m in members {
            route.table.insert(m, from);
        }
        self.maybe_complete_route(ctx, tree);
    }

    /// Once every child reported: the table is complete; report to the parent.
    fn maybe_complete_route(&mut self, ctx: &mut impl Ctx<PeerNode>, tree: TreeKind) {
        let session = self.sessions.current;
        let me = self.me;
        let Phase::Trees(t) = &mut self.sessions.phase else {
            return;
        };
        let route = &mut t.routes[tree.index()];
        if route.complete || !route.started || !route.waiting.is_empty() {
            return;
        }
        route.complete = true;
        if let Some(p) = route.parent {
            let members = std::iter::once(me)
                .chain(route.table.keys().copied())
                .collect();
            send(
                ctx,
                p,
                WpMsg::Subtree {
                    session,
                    tree,
                    members,
                },
            );
        }
        if self.sessions.computed() {
            self.resume_queue(ctx);
        }
    }
}
