//! An overlay node (a relay, or a point of presence: the same program, reachable by
//! clients). It learns routes from floods and forwards them, asks its best parent for
//! the streams its children and clients want, forwards video down the tree, and heals
//! the tree when parents die.
//!
//! Failure handling, as the report describes it:
//! - no flood from a neighbour for `parent_timeout` (3 s): the neighbour is
//!   unresponsive; every stream it fed moves to the best other parent (simple death);
//! - no parent left for a stream (catastrophic death): send `NewNeighbour` to the
//!   grandparents known from the dead parents' `my_parents`, keep the stream pending,
//!   and request it from the first parent a flood brings;
//! - a control packet unacknowledged after `max_tries` (a child missing floods): the
//!   child is unresponsive and gets no more video;
//! - a flood from an unresponsive neighbour makes it responsive again; nothing is
//!   rerouted until needed (revival, and a late-starting neighbour joining);
//! - a stream missing for `video_timeout` (500 ms) is requested again from its parent;
//! - a PoP drops a client that has not pinged for `missed_pings` ping intervals.
//!
//! Video arriving from a node that is not the stream's parent (an old parent that has
//! not yet heard the stop, or one that lost track after a restart) is answered with a
//! `StopVideo`, at most once per `video_timeout`, so a child is fed by one parent.

use super::bootstrap::Bootstrap;
use super::flood::{Candidate, Route, choose};
use super::wire::{Control, Flood, VideoId, VideoPacket};
use super::{Host, OttMsg, OttRole, OttTimer, Timing};
use sim_core::{Ctx, Node, NodeId, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// Where a node gets one stream from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    /// The parent asked for it.
    pub parent: NodeId,
    /// When it was asked.
    pub since: SimTime,
    /// The last datagram from the parent.
    pub last_video: Option<SimTime>,
    /// The last time the request was sent.
    pub last_request: SimTime,
    /// The stream's path from the server to this node, once the parent announced its own.
    pub chain: Option<Vec<NodeId>>,
}

/// Counters of an overlay node (kept across crashes: the experiment's record).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OverlayStats {
    /// Floods received.
    pub floods_received: u64,
    /// Floods forwarded.
    pub floods_forwarded: u64,
    /// Streams moved to another parent after a parent died.
    pub parent_switches: u64,
    /// Streams left without any parent.
    pub catastrophic: u64,
    /// NewNeighbour packets sent.
    pub new_neighbours_sent: u64,
    /// Requests sent again after `video_timeout` without video.
    pub rerequests: u64,
    /// Video datagrams forwarded.
    pub video_forwarded: u64,
    /// Video datagrams from a node that is not the stream's parent.
    pub video_stray: u64,
    /// Clients dropped after missing pings.
    pub clients_dropped: u64,
    /// Parents dropped because they announced no path, or one through this node.
    pub parents_dropped: u64,
}

/// An overlay node's state.
pub struct Overlay {
    /// Its endpoint and counters.
    pub host: Host,
    /// This node.
    pub me: NodeId,
    /// Its side of the start-up exchange.
    pub bootstrap: Bootstrap,
    /// Overlay neighbours (from the bootstrapper, plus adoptions).
    pub neighbours: BTreeSet<NodeId>,
    /// Routes by (neighbour, server).
    pub routes: BTreeMap<(NodeId, NodeId), Route>,
    /// Neighbours that sent floods but none for `parent_timeout`.
    pub unresponsive: BTreeSet<NodeId>,
    /// Children and clients each stream goes to.
    pub subscribers: BTreeMap<VideoId, BTreeSet<NodeId>>,
    /// Where each stream comes from.
    pub upstream: BTreeMap<VideoId, Upstream>,
    /// Streams wanted but without a parent (waiting for a flood).
    pub pending: BTreeSet<VideoId>,
    /// Clients and their last ping.
    pub clients: BTreeMap<NodeId, SimTime>,
    /// Paths announced by neighbours (`Feeding`), by (neighbour, stream): the path and
    /// until when it is believed (`parent_timeout` after it came). A neighbour with no
    /// path, or one through this node, is no candidate for that stream meanwhile. A
    /// parent that never announced a path is recorded as having none, for two
    /// `video_timeout`s.
    chains: BTreeMap<(NodeId, VideoId), (Vec<NodeId>, SimTime)>,
    /// Per server, the creation time of the latest flood round forwarded (each round is
    /// forwarded once, the first copy to arrive).
    forwarded: BTreeMap<NodeId, SimTime>,
    /// Stops sent to non-parents sending video, by (sender, stream): when.
    stray_stops: BTreeMap<(NodeId, VideoId), SimTime>,
    /// The last NewNeighbour round (to repeat it while streams stay pending).
    last_adoption: Option<SimTime>,
    /// Neighbours the transport gave up on (a control packet to them went
    /// unacknowledged), and until when (`parent_timeout` later, or until one of them
    /// acknowledges a packet again) they are parent candidates only if no other
    /// neighbour can serve. Under a one-way cut their floods still arrive, but a
    /// request would not reach them.
    deaf: BTreeMap<NodeId, SimTime>,
    /// Neighbours this node asked to adopt it, and when it last asked. An adopter that
    /// restarts forgets the adoption (the bootstrapper does not know it), so while one
    /// sends no floods the request is repeated every `parent_timeout`.
    adopters: BTreeMap<NodeId, SimTime>,
    /// Counters.
    pub stats: OverlayStats,
}

impl Overlay {
    /// A node that will ask `bootstrapper` for its neighbours.
    pub fn new(host: Host, me: NodeId, bootstrapper: NodeId) -> Self {
        Overlay {
            host,
            me,
            bootstrap: Bootstrap::new(bootstrapper),
            neighbours: BTreeSet::new(),
            routes: BTreeMap::new(),
            unresponsive: BTreeSet::new(),
            subscribers: BTreeMap::new(),
            upstream: BTreeMap::new(),
            pending: BTreeSet::new(),
            clients: BTreeMap::new(),
            chains: BTreeMap::new(),
            forwarded: BTreeMap::new(),
            stray_stops: BTreeMap::new(),
            last_adoption: None,
            deaf: BTreeMap::new(),
            adopters: BTreeMap::new(),
            stats: OverlayStats::default(),
        }
    }

    fn usable<'a>(
        &'a self,
        now: SimTime,
        timing: &'a Timing,
    ) -> impl Iterator<Item = (NodeId, &'a Route)> + 'a {
        self.routes
            .iter()
            .filter(move |((via, _), r)| {
                !self.unresponsive.contains(via)
                    && now.saturating_sub(r.last_flood) <= timing.parent_timeout
            })
            .map(|((via, _), r)| (*via, r))
    }

    /// Videos this node can get (offered by a live route through a neighbour that
    /// acknowledges what it is sent): what a PoP lists. Floods still arriving from a
    /// neighbour that this node cannot reach (a one-way cut) do not make an offer.
    pub fn offered(&self, now: SimTime, timing: &Timing) -> BTreeSet<VideoId> {
        self.usable(now, timing)
            .filter(|(via, _)| !self.is_deaf(*via, now))
            .flat_map(|(_, r)| r.videos.iter().copied())
            .collect()
    }

    /// Neighbours this node currently receives floods from (its `my_parents`).
    pub fn parents(&self, now: SimTime, timing: &Timing) -> BTreeSet<NodeId> {
        self.usable(now, timing).map(|(via, _)| via).collect()
    }

    /// The candidates for providing `video`: live neighbours with a route offering it,
    /// except those this node sends the stream to (which would close a loop), and
    /// except deaf ones while another can serve.
    pub fn candidates(&self, video: VideoId, now: SimTime, timing: &Timing) -> Vec<Candidate> {
        let children = self.subscribers.get(&video);
        let mut best: BTreeMap<NodeId, (u32, f64)> = BTreeMap::new();
        let mut streams: BTreeMap<NodeId, BTreeSet<VideoId>> = BTreeMap::new();
        for (via, r) in self.usable(now, timing) {
            streams
                .entry(via)
                .or_default()
                .extend(r.videos.iter().copied());
            if !r.videos.contains(&video)
                || children.is_some_and(|c| c.contains(&via))
                || self.unusable(via, video, now)
            {
                continue;
            }
            let Some(mean) = r.delays.mean_ns() else {
                continue;
            };
            let e = best.entry(via).or_insert((r.hops, mean));
            if (r.hops, mean) < *e {
                *e = (r.hops, mean);
            }
        }
        let mut candidates: Vec<Candidate> = best
            .into_iter()
            .map(|(id, (hops, mean))| Candidate {
                id,
                mean_latency_ns: mean,
                hops,
                requested: self.upstream.values().filter(|u| u.parent == id).count(),
                streams: streams.get(&id).map_or(0, BTreeSet::len),
            })
            .collect();
        // A neighbour that did not acknowledge is asked only when no other can serve.
        if candidates.iter().any(|c| !self.is_deaf(c.id, now)) {
            candidates.retain(|c| !self.is_deaf(c.id, now));
        }
        candidates
    }

    /// Whether the transport recently gave up on a packet to `id` (see `deaf`).
    fn is_deaf(&self, id: NodeId, now: SimTime) -> bool {
        self.deaf.get(&id).is_some_and(|until| now <= *until)
    }

    /// Whether `via` recently announced that it has no path for `video`, or one that
    /// runs through this node.
    fn unusable(&self, via: NodeId, video: VideoId, now: SimTime) -> bool {
        self.chains
            .get(&(via, video))
            .is_some_and(|(chain, until)| {
                (chain.is_empty() || chain.contains(&self.me)) && now <= *until
            })
    }

    /// The stream's path from the server to this node, if known.
    fn my_chain(&self, video: VideoId) -> Option<Vec<NodeId>> {
        let mut chain = self.upstream.get(&video)?.chain.clone()?;
        chain.push(self.me);
        Some(chain)
    }

    /// Tell `to` (or every subscriber) the stream's path, if known; an empty path when
    /// the stream is pending (this node has no parent for it).
    fn announce(&mut self, now: SimTime, video: VideoId, to: Option<NodeId>) {
        let chain = if self.pending.contains(&video) {
            Vec::new()
        } else {
            let Some(chain) = self.my_chain(video) else {
                return;
            };
            chain
        };
        let feeding = Control::Feeding { video, chain };
        match to {
            Some(one) => self.host.send_control(now, one, &feeding),
            None => {
                for &to in self.subscribers.get(&video).into_iter().flatten() {
                    self.host.send_control(now, to, &feeding);
                }
            }
        }
    }

    /// A parent announced its path for `video`: adopt it, or, when it has none (its own
    /// parent died and it waits for a flood) or runs through this node (a loop formed
    /// from stale routes), drop that parent and choose again: a child must not wait on a
    /// parent that may only find the stream through that child.
    fn on_feeding(
        &mut self,
        ctx: &mut impl Ctx<Self>,
        now: SimTime,
        timing: &Timing,
        from: NodeId,
        video: VideoId,
        chain: Vec<NodeId>,
    ) {
        // A path through this node may stay in the routes until they age out (one
        // `parent_timeout`); a parent without a path finds one on its next flood, so
        // it is left alone only as long as a parent that never delivered.
        let shunned_for = if chain.is_empty() {
            timing.video_timeout + timing.video_timeout
        } else {
            timing.parent_timeout
        };
        self.chains
            .insert((from, video), (chain.clone(), now + shunned_for));
        let Some(up) = self.upstream.get_mut(&video) else {
            return;
        };
        if up.parent != from {
            return;
        }
        if chain.is_empty() || chain.contains(&self.me) {
            self.stats.parents_dropped += 1;
            let why = if chain.is_empty() {
                "has no path"
            } else {
                "runs through me"
            };
            ctx.annotate(&format!("video {video}: n{} {why}, dropping it", from.0));
            self.upstream.remove(&video);
            self.host
                .send_control(now, from, &Control::StopVideo { video });
            self.request(video, now, timing);
            return;
        }
        if up.chain.as_ref() != Some(&chain) {
            up.chain = Some(chain);
            self.announce(now, video, None);
        }
    }

    /// Ask the best parent for `video`; without one the stream waits (pending).
    fn request(&mut self, video: VideoId, now: SimTime, timing: &Timing) -> bool {
        let Some(parent) = choose(&self.candidates(video, now, timing), timing.tolerance) else {
            if self.pending.insert(video) {
                self.announce(now, video, None);
            }
            return false;
        };
        self.pending.remove(&video);
        self.upstream.insert(
            video,
            Upstream {
                parent,
                since: now,
                last_video: None,
                last_request: now,
                chain: None,
            },
        );
        self.host
            .send_control(now, parent, &Control::RequestVideo { video });
        true
    }

    fn subscribe(&mut self, who: NodeId, video: VideoId, now: SimTime, timing: &Timing) {
        self.subscribers.entry(video).or_default().insert(who);
        if self.upstream.get(&video).is_some_and(|u| u.parent == who) {
            // My parent now wants the stream from me: it lost its own way. Never feed
            // a stream back where it comes from; find another parent.
            self.upstream.remove(&video);
        }
        if !self.upstream.contains_key(&video) && !self.pending.contains(&video) {
            self.request(video, now, timing);
        }
        self.announce(now, video, Some(who));
    }

    fn unsubscribe(&mut self, now: SimTime, who: NodeId, video: VideoId) {
        let Some(s) = self.subscribers.get_mut(&video) else {
            return;
        };
        if !s.remove(&who) || !s.is_empty() {
            return;
        }
        self.subscribers.remove(&video);
        self.pending.remove(&video);
        if let Some(up) = self.upstream.remove(&video) {
            self.host
                .send_control(now, up.parent, &Control::StopVideo { video });
        }
    }

    fn unsubscribe_everywhere(&mut self, now: SimTime, who: NodeId) {
        let videos: Vec<VideoId> = self.subscribers.keys().copied().collect();
        for v in videos {
            self.unsubscribe(now, who, v);
        }
    }

    fn on_flood(
        &mut self,
        ctx: &mut impl Ctx<Self>,
        now: SimTime,
        timing: &Timing,
        from: NodeId,
        f: Flood,
    ) {
        self.stats.floods_received += 1;
        let Some(&server) = f.visited.first() else {
            return;
        };
        if f.visited.contains(&self.me) {
            return;
        }
        let hops = f.hops + 1;
        let route = self.routes.entry((from, server)).or_insert_with(|| Route {
            delays: Default::default(),
            hops,
            videos: Vec::new(),
            parents: Vec::new(),
            last_flood: SimTime::ZERO,
            round: SimTime::ZERO,
        });
        // Several copies of one round may come through the same neighbour: the first
        // (fastest) gives the delay sample, the shortest gives the hops.
        if f.created_at > route.round || route.delays.mean_ns().is_none() {
            route
                .delays
                .push(now.saturating_sub(f.created_at), timing.latency_window);
            route.hops = hops;
            route.round = f.created_at;
        } else {
            route.hops = route.hops.min(hops);
        }
        route.videos = f.videos.clone();
        route.parents = f.my_parents.clone();
        route.last_flood = now;
        if self.unresponsive.remove(&from) {
            ctx.annotate(&format!("n{} responsive again", from.0));
        }
        self.request_pending(ctx, now, timing);
        // Forward the first copy of each round only: later copies still taught the
        // route through their sender, and forwarding every copy would cost one packet
        // per simple path from the server.
        if self
            .forwarded
            .get(&server)
            .is_some_and(|&t| t >= f.created_at)
        {
            return;
        }
        self.forwarded.insert(server, f.created_at);
        let mut visited = f.visited.clone();
        visited.push(self.me);
        // A flood from a neighbour this node cannot reach (a one-way cut: its floods
        // arrive, requests to it do not) offers nothing through this node: forwarded
        // with its videos, it would draw children's requests to a dead end.
        let videos = if self.is_deaf(from, now) {
            Vec::new()
        } else {
            f.videos
        };
        let forward = Control::Flood(Flood {
            created_at: f.created_at,
            videos,
            visited,
            my_parents: self.parents(now, timing).into_iter().collect(),
            hops,
        });
        for &n in &self.neighbours {
            if n != from && !f.visited.contains(&n) {
                self.stats.floods_forwarded += 1;
                self.host.send_control(now, n, &forward);
            }
        }
    }

    /// A flood arrived: the pending streams may have a parent now.
    fn request_pending(&mut self, ctx: &mut impl Ctx<Self>, now: SimTime, timing: &Timing) {
        let pending: Vec<VideoId> = self.pending.iter().copied().collect();
        for v in pending {
            if self.request(v, now, timing) {
                ctx.annotate(&format!(
                    "pending video {v} now from n{}",
                    self.upstream[&v].parent.0
                ));
            }
        }
    }

    /// A video datagram: forward it down the tree if it comes from the stream's
    /// parent, else ask the sender to stop (at most once per `video_timeout`).
    fn on_video(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, packet: VideoPacket) {
        let (now, timing) = (ctx.monotonic(), &self.host.timing);
        let video = packet.video;
        match self.upstream.get_mut(&video) {
            Some(up) if up.parent == from => {
                up.last_video = Some(now);
                for &to in self.subscribers.get(&video).into_iter().flatten() {
                    self.stats.video_forwarded += 1;
                    self.host.send_video(ctx, to, packet.clone());
                }
            }
            _ => {
                self.stats.video_stray += 1;
                let last = self.stray_stops.get(&(from, video));
                if last.is_none_or(|&t| now.saturating_sub(t) >= timing.video_timeout) {
                    self.stray_stops.insert((from, video), now);
                    self.host
                        .send_control(now, from, &Control::StopVideo { video });
                }
            }
        }
    }

    fn on_tick(&mut self, ctx: &mut impl Ctx<Self>, now: SimTime, timing: &Timing) {
        // Parents: no flood for parent_timeout.
        let vias: BTreeSet<NodeId> = self.routes.keys().map(|(via, _)| *via).collect();
        let live = self.parents(now, timing);
        let mut orphaned = Vec::new();
        for via in vias {
            if live.contains(&via) || self.unresponsive.contains(&via) {
                continue;
            }
            self.unresponsive.insert(via);
            ctx.annotate(&format!("parent n{} unresponsive", via.0));
            orphaned.extend(
                self.upstream
                    .iter()
                    .filter(|(_, u)| u.parent == via)
                    .map(|(v, _)| *v),
            );
        }
        for v in orphaned {
            // Tell the old parent too: it may only be cut off from the floods, and must
            // not keep feeding this node once the stream flows again.
            if let Some(old) = self.upstream.remove(&v) {
                self.host
                    .send_control(now, old.parent, &Control::StopVideo { video: v });
            }
            if self.request(v, now, timing) {
                self.stats.parent_switches += 1;
                ctx.annotate(&format!(
                    "video {v} switched to n{}",
                    self.upstream[&v].parent.0
                ));
            } else {
                self.stats.catastrophic += 1;
                ctx.annotate(&format!("video {v} has no parent left"));
            }
        }
        // Streams without a parent: ask the grandparents to adopt this node, again
        // every parent_timeout while the streams stay pending.
        let waiting = self
            .pending
            .iter()
            .any(|v| self.subscribers.contains_key(v));
        if waiting
            && self
                .last_adoption
                .is_none_or(|t| now.saturating_sub(t) >= timing.parent_timeout)
        {
            self.adopt(ctx, now);
        }
        // Adopters that went silent may have restarted and forgotten this node: ask
        // again (a dead one just loses the packet).
        let flooding = self.parents(now, timing);
        let again: Vec<NodeId> = self
            .adopters
            .iter()
            .filter(|(g, t)| {
                !flooding.contains(g) && now.saturating_sub(**t) >= timing.parent_timeout
            })
            .map(|(g, _)| *g)
            .collect();
        for g in again {
            self.adopters.insert(g, now);
            self.stats.new_neighbours_sent += 1;
            ctx.annotate(&format!("NewNeighbour again to silent adopter n{}", g.0));
            self.host.send_control(now, g, &Control::NewNeighbour);
        }
        // Streams that stopped arriving: ask again. A parent that never announced a
        // path (it is itself still looking, the choice came from stale routes, or the
        // parents form a loop with no source) is treated as one that announced none:
        // dropped, and not chosen again for parent_timeout.
        let silent: Vec<(VideoId, bool)> = self
            .upstream
            .iter()
            .filter(|(_, up)| {
                let last = up.last_video.unwrap_or(up.since).max(up.last_request);
                now.saturating_sub(last) >= timing.video_timeout
            })
            .map(|(&v, up)| (v, up.chain.is_none()))
            .collect();
        for (video, unconfirmed) in silent {
            self.stats.rerequests += 1;
            let Some(up) = self.upstream.get_mut(&video) else {
                continue;
            };
            let old = up.parent;
            if unconfirmed {
                ctx.annotate(&format!(
                    "video {video}: n{} never delivered, choosing again",
                    old.0
                ));
                let until = now + timing.video_timeout + timing.video_timeout;
                self.chains.insert((old, video), (Vec::new(), until));
                self.upstream.remove(&video);
                self.host
                    .send_control(now, old, &Control::StopVideo { video });
                self.request(video, now, timing);
            } else {
                up.last_request = now;
                self.host
                    .send_control(now, old, &Control::RequestVideo { video });
            }
        }
        // Clients that stopped pinging.
        let silent: Vec<NodeId> = self
            .clients
            .iter()
            .filter(|(_, t)| now.saturating_sub(**t) > timing.client_timeout())
            .map(|(c, _)| *c)
            .collect();
        for c in silent {
            self.clients.remove(&c);
            self.stats.clients_dropped += 1;
            ctx.annotate(&format!("client n{} dropped", c.0));
            self.unsubscribe_everywhere(now, c);
        }
        self.stray_stops
            .retain(|_, t| now.saturating_sub(*t) < timing.video_timeout);
        self.chains.retain(|_, (_, until)| now <= *until);
        self.deaf.retain(|_, until| now <= *until);
        ctx.set_timer(timing.check_interval, OttTimer::Tick);
    }

    /// Catastrophic death: send NewNeighbour to the parents of the unresponsive
    /// parents (never to this node or to an unresponsive one).
    fn adopt(&mut self, ctx: &mut impl Ctx<Self>, now: SimTime) {
        self.last_adoption = Some(now);
        let grandparents: BTreeSet<NodeId> = self
            .routes
            .iter()
            .filter(|((via, _), _)| self.unresponsive.contains(via))
            .flat_map(|(_, r)| r.parents.iter().copied())
            .filter(|g| *g != self.me && !self.unresponsive.contains(g))
            .collect();
        for g in grandparents {
            self.stats.new_neighbours_sent += 1;
            self.neighbours.insert(g);
            self.adopters.insert(g, now);
            ctx.annotate(&format!("NewNeighbour to grandparent n{}", g.0));
            self.host.send_control(now, g, &Control::NewNeighbour);
        }
    }
}

impl OttRole for Overlay {
    fn host(&mut self) -> &mut Host {
        &mut self.host
    }

    /// Neighbours, floods, requests and stops from children, adoptions, client pings
    /// (answered with the videos it can get), paths announced by parents.
    fn on_control(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Control) {
        let (now, timing) = (ctx.monotonic(), self.host.timing);
        match msg {
            Control::Neighbours { neighbours, .. } => {
                self.bootstrap.answered();
                self.neighbours.extend(neighbours);
            }
            Control::Flood(f) => self.on_flood(ctx, now, &timing, from, f),
            Control::RequestVideo { video } => self.subscribe(from, video, now, &timing),
            Control::StopVideo { video } => self.unsubscribe(now, from, video),
            Control::NewNeighbour => {
                self.neighbours.insert(from);
                ctx.annotate(&format!("adopted n{} as neighbour", from.0));
            }
            Control::ClientPing { seq, requested } => {
                self.clients.insert(from, now);
                let wanted: BTreeSet<VideoId> = requested.into_iter().collect();
                let held: Vec<VideoId> = self
                    .subscribers
                    .iter()
                    .filter(|(_, s)| s.contains(&from))
                    .map(|(v, _)| *v)
                    .collect();
                for v in held.iter().filter(|v| !wanted.contains(v)) {
                    self.unsubscribe(now, from, *v);
                }
                for v in wanted.iter().filter(|v| !held.contains(v)) {
                    self.subscribe(from, *v, now, &timing);
                }
                let list = Control::VideoList {
                    seq,
                    videos: self.offered(now, &timing).into_iter().collect(),
                    created_at: now,
                };
                self.host.send_control(now, from, &list);
            }
            Control::Feeding { video, chain } => {
                self.on_feeding(ctx, now, &timing, from, video, chain)
            }
            Control::Hello | Control::VideoList { .. } => {}
        }
    }

    /// An acknowledgement ends deafness at once: after a cut heals, the floods this
    /// node forwards list the neighbour's videos again from the next round, instead of
    /// `parent_timeout` after the last packet the cut lost.
    fn on_acked(&mut self, to: NodeId) {
        self.deaf.remove(&to);
    }

    /// An unanswered `Hello` is sent again while the node has no neighbours; any other
    /// unacknowledged packet makes its peer unresponsive as a child or client.
    fn on_lost(&mut self, ctx: &mut impl Ctx<Self>, to: NodeId) {
        let now = ctx.monotonic();
        if self.bootstrap.on_lost(&mut self.host, now, to) {
            return;
        }
        self.clients.remove(&to);
        self.unsubscribe_everywhere(now, to);
        // Nor is it a parent for a while: the streams it was asked for go elsewhere.
        let timing = self.host.timing;
        self.deaf.insert(to, now + timing.parent_timeout);
        // Only where a neighbour that is not deaf can serve: with none, the stream
        // keeps its parent and path, and the flood timeout decides (then the
        // grandparents adopt).
        let fed: Vec<VideoId> = self
            .upstream
            .iter()
            .filter(|(v, u)| {
                u.parent == to
                    && self
                        .candidates(**v, now, &timing)
                        .iter()
                        .any(|c| !self.is_deaf(c.id, now))
            })
            .map(|(v, _)| *v)
            .collect();
        for v in fed {
            self.upstream.remove(&v);
            if self.request(v, now, &timing) {
                self.stats.parent_switches += 1;
                ctx.annotate(&format!(
                    "video {v}: n{} does not acknowledge, switched to n{}",
                    to.0, self.upstream[&v].parent.0
                ));
            }
        }
    }
}

impl Node for Overlay {
    type Msg = OttMsg;
    type Timer = OttTimer;

    /// Ask the bootstrapper for neighbours; start the timeout checks.
    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.bootstrap.ask(&mut self.host, ctx.monotonic());
        ctx.set_timer(self.host.timing.check_interval, OttTimer::Tick);
        self.host.flush(ctx);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: OttMsg) {
        match msg {
            OttMsg::Segment(segment) => self.on_segment(ctx, from, segment),
            OttMsg::Video(packet) => self.on_video(ctx, from, packet),
        }
        self.host.flush(ctx);
    }

    /// The endpoint's timers and the periodic timeout check.
    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: OttTimer) {
        match timer {
            OttTimer::Transport(token) => self.on_transport_timer(ctx, token),
            OttTimer::Tick => {
                let (now, timing) = (ctx.monotonic(), self.host.timing);
                self.on_tick(ctx, now, &timing);
            }
            _ => {}
        }
        self.host.flush(ctx);
    }

    /// Everything but the identity, the host and the counters is volatile.
    fn on_crash(&mut self) {
        self.host.endpoint.crash();
        let Overlay {
            host: _,
            me: _,
            bootstrap: _,
            stats: _,
            neighbours,
            routes,
            unresponsive,
            subscribers,
            upstream,
            pending,
            clients,
            chains,
            forwarded,
            stray_stops,
            last_adoption,
            deaf,
            adopters,
        } = self;
        neighbours.clear();
        routes.clear();
        unresponsive.clear();
        subscribers.clear();
        upstream.clear();
        pending.clear();
        clients.clear();
        chains.clear();
        forwarded.clear();
        stray_stops.clear();
        *last_adoption = None;
        deaf.clear();
        adopters.clear();
    }
}
