//! The OTT invariants: one parent per stream and no stream loops once the tree settled,
//! and every client gets a stream its PoP can reach within [`OttParams::delivery_bound`].
//!
//! The first two read the nodes' subscription state. After each event a digest of the
//! changed node's part of it (status, subscriptions, parents, which streams it has) is
//! compared with the last one (`Shape`); the whole state is read again only when some
//! digest moved or a violation is being timed, and at most once per millisecond of
//! simulated time. Video datagrams, the bulk of the events, move no digest, so the
//! cost per event does not grow with the number of nodes. The delivery bound reads
//! every client every `check_interval`.

use super::client::Client;
use super::overlay::Overlay;
use super::wire::VideoId;
use super::{OttNode, OttParams};
use sim_core::{Invariant, NodeId, Role, SimTime, World};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

const CHECK_EVERY: SimTime = SimTime::from_millis(1);

/// Digests of each node's part of the stream tree, to tell whether an event changed it.
#[derive(Default)]
struct Shape {
    digests: Vec<u64>,
    /// Whether a digest moved since the tree was last read.
    moved: bool,
}

impl Shape {
    /// Digest the changed nodes again: their status, subscriptions, parents, and the
    /// streams they have (received within `fresh` of their own clock).
    fn update(&mut self, world: &World<'_, OttNode>, fresh: SimTime) {
        self.digests.resize(world.node_count(), 0);
        for (id, status, n) in world.changed_nodes() {
            let mut h = DefaultHasher::new();
            status.hash(&mut h);
            match n {
                OttNode::Server(s) => (&s.subscribers, &s.videos).hash(&mut h),
                OttNode::Overlay(o) => {
                    o.subscribers.hash(&mut h);
                    let now = world.monotonic_time(id);
                    for (v, u) in &o.upstream {
                        let has = u.last_video.is_some_and(|t| now.saturating_sub(t) <= fresh);
                        (v, u.parent, has).hash(&mut h);
                    }
                }
                _ => continue,
            }
            let digest = h.finish();
            self.moved |= std::mem::replace(&mut self.digests[id.index()], digest) != digest;
        }
    }

    /// Whether the tree must be read again now: it moved, or a violation is being
    /// timed (`timing`), and it was not read in the last millisecond (`next`).
    fn due(&mut self, now: SimTime, next: &mut SimTime, timing: bool) -> bool {
        if now < *next || !(self.moved || timing) {
            return false;
        }
        *next = now + CHECK_EVERY;
        self.moved = false;
        true
    }
}

/// Every invariant of the system.
pub(super) fn all(params: &OttParams) -> Vec<Box<dyn Invariant<OttNode>>> {
    vec![
        Box::new(OneParentPerStream {
            settle: params.settle,
            fresh: params.video_timeout,
            since: BTreeMap::new(),
            next: SimTime::ZERO,
            shape: Shape::default(),
        }),
        Box::new(NoStreamLoops {
            settle: params.settle,
            fresh: params.video_timeout,
            since: BTreeMap::new(),
            next: SimTime::ZERO,
            shape: Shape::default(),
        }),
        Box::new(DeliveredWithinBound {
            bound: params.delivery_bound(),
            every: params.check_interval,
            reachable_since: BTreeMap::new(),
            next: SimTime::ZERO,
        }),
    ]
}

/// For every (receiver, stream), the nodes sending it that stream: those up (a paused
/// node sends nothing) that list it as a subscriber and have the stream themselves (a
/// server streaming it, or a node that received it within `fresh`). A subscription at a
/// node without the stream carries nothing; it is undone by the first datagram, which
/// the receiver answers with a stop (so is a paused parent's, once it resumes).
pub(super) fn feeders(
    world: &World<'_, OttNode>,
    fresh: SimTime,
) -> BTreeMap<(NodeId, VideoId), BTreeSet<NodeId>> {
    let live: BTreeSet<NodeId> = world.live_nodes().map(|(id, _)| id).collect();
    let mut out: BTreeMap<(NodeId, VideoId), BTreeSet<NodeId>> = BTreeMap::new();
    for (id, n) in world.up_nodes() {
        // A node stamps the video it receives with its own monotonic clock.
        let now = world.monotonic_time(id);
        let (subs, has): (_, &dyn Fn(VideoId) -> bool) = match n {
            OttNode::Server(s) => (&s.subscribers, &|v| s.videos.contains(&v)),
            OttNode::Overlay(o) => (&o.subscribers, &|v| {
                o.upstream
                    .get(&v)
                    .and_then(|u| u.last_video)
                    .is_some_and(|t| now.saturating_sub(t) <= fresh)
            }),
            _ => continue,
        };
        for (&v, set) in subs.iter().filter(|(v, _)| has(**v)) {
            for &x in set.iter().filter(|x| live.contains(x)) {
                out.entry((x, v)).or_default().insert(id);
            }
        }
    }
    out
}

/// The path a stream takes up from `node`: the parents asked, until a server (`Ok`
/// with the links counted), a node without a parent (`Err(None)`), or a node seen twice
/// (`Err(Some(node))`, a loop).
pub(super) fn path_to_server(
    world: &World<'_, OttNode>,
    node: NodeId,
    video: VideoId,
) -> Result<usize, Option<NodeId>> {
    let mut seen = BTreeSet::from([node]);
    let mut cur = node;
    loop {
        let (status, n) = world.node(cur);
        if status != sim_core::NodeStatus::Up {
            return Err(None);
        }
        let parent = match n {
            OttNode::Server(_) => return Ok(seen.len() - 1),
            OttNode::Overlay(o) => match o.upstream.get(&video) {
                Some(u) => u.parent,
                None => return Err(None),
            },
            _ => return Err(None),
        };
        if !seen.insert(parent) {
            return Err(Some(parent));
        }
        cur = parent;
    }
}

/// No node (or client) receives one stream from two parents at once for longer than
/// `settle` (a stop in flight may overlap a new parent briefly). Parents are counted
/// when they have the stream to send ([`feeders`]).
struct OneParentPerStream {
    settle: SimTime,
    fresh: SimTime,
    since: BTreeMap<(NodeId, VideoId), SimTime>,
    next: SimTime,
    shape: Shape,
}

impl Invariant<OttNode> for OneParentPerStream {
    fn name(&self) -> &str {
        "one_parent_per_stream"
    }
    fn check(&mut self, world: &World<'_, OttNode>) -> Result<(), String> {
        let now = world.now();
        self.shape.update(world, self.fresh);
        // A parent whose stream went stale ends a double feed without an event.
        if !self.shape.due(now, &mut self.next, !self.since.is_empty()) {
            return Ok(());
        }
        let dups: BTreeMap<(NodeId, VideoId), BTreeSet<NodeId>> = feeders(world, self.fresh)
            .into_iter()
            .filter(|(_, f)| f.len() > 1)
            .collect();
        self.since.retain(|k, _| dups.contains_key(k));
        for (key, parents) in dups {
            let since = *self.since.entry(key).or_insert(now);
            if now.saturating_sub(since) > self.settle {
                let names: Vec<&str> = parents.iter().map(|p| world.name(*p)).collect();
                return Err(format!(
                    "{} has received video {} from {names:?} since {:.3} s",
                    world.name(key.0),
                    key.1,
                    since.as_secs_f64()
                ));
            }
        }
        Ok(())
    }
}

/// Following the parents asked for a stream never comes back to where it started, for
/// longer than `settle`. Parents are chosen from flood routes that may be up to
/// `parent_timeout` old, so a loop can form for a moment after a death; the path
/// announcements (`Feeding`) break it within a few round trips.
struct NoStreamLoops {
    settle: SimTime,
    fresh: SimTime,
    since: BTreeMap<(NodeId, VideoId), SimTime>,
    next: SimTime,
    shape: Shape,
}

impl Invariant<OttNode> for NoStreamLoops {
    fn name(&self) -> &str {
        "no_stream_loops"
    }
    fn check(&mut self, world: &World<'_, OttNode>) -> Result<(), String> {
        let now = world.now();
        self.shape.update(world, self.fresh);
        if !self.shape.due(now, &mut self.next, !self.since.is_empty()) {
            return Ok(());
        }
        let mut looping = BTreeMap::new();
        for (id, n) in world.live_nodes() {
            let Some(o) = Overlay::of(n) else { continue };
            for &v in o.upstream.keys() {
                if let Err(Some(again)) = path_to_server(world, id, v) {
                    looping.insert((id, v), again);
                }
            }
        }
        self.since.retain(|k, _| looping.contains_key(k));
        for ((id, v), again) in looping {
            let since = *self.since.entry((id, v)).or_insert(now);
            if now.saturating_sub(since) > self.settle {
                return Err(format!(
                    "video {v} has looped since {:.3} s: from {} the parents come back to {}",
                    since.as_secs_f64(),
                    world.name(id),
                    world.name(again)
                ));
            }
        }
        Ok(())
    }
}

/// A client waiting for a stream that some live server offering it can reach through
/// working overlay links ([`reachable`]) to one of the client's up PoPs, over a link
/// the network carries both ways, gets it within `bound`.
struct DeliveredWithinBound {
    bound: SimTime,
    every: SimTime,
    reachable_since: BTreeMap<(NodeId, VideoId), SimTime>,
    next: SimTime,
}

/// The live nodes a live server offering `video` can stream it to through the overlay.
/// A stream flows from a node to a neighbour it knows (it floods it), so an edge counts
/// when its upstream end has the downstream one among its neighbours (a node that has
/// not yet had the bootstrapper's answer knows none), both ends are up, and the network
/// carries packets both ways (floods and video down, requests and acknowledgements up).
fn reachable(world: &World<'_, OttNode>, video: VideoId) -> BTreeSet<NodeId> {
    let mut downstream: BTreeMap<NodeId, &BTreeSet<NodeId>> = BTreeMap::new();
    let mut queue = VecDeque::new();
    for (id, n) in world.up_nodes() {
        let neighbours = match n {
            OttNode::Server(s) => {
                if s.videos.contains(&video) {
                    queue.push_back(id);
                }
                &s.neighbours
            }
            OttNode::Overlay(o) => &o.neighbours,
            _ => continue,
        };
        downstream.insert(id, neighbours);
    }
    let mut seen: BTreeSet<NodeId> = queue.iter().copied().collect();
    while let Some(n) = queue.pop_front() {
        for &m in downstream.get(&n).copied().into_iter().flatten() {
            if downstream.contains_key(&m)
                && world.can_send(n, m)
                && world.can_send(m, n)
                && seen.insert(m)
            {
                queue.push_back(m);
            }
        }
    }
    seen
}

impl DeliveredWithinBound {
    fn verify(&mut self, world: &World<'_, OttNode>) -> Result<(), String> {
        let now = world.now();
        let mut cache: BTreeMap<VideoId, BTreeSet<NodeId>> = BTreeMap::new();
        let mut waiting = BTreeSet::new();
        for (id, n) in world.up_nodes() {
            let Some(c) = Client::of(n) else { continue };
            for (&v, s) in &c.streams {
                let from = s.last_video.unwrap_or(s.asked_at);
                let reach = cache.entry(v).or_insert_with(|| reachable(world, v));
                let served = |p: &NodeId| {
                    reach.contains(p) && world.can_send(id, *p) && world.can_send(*p, id)
                };
                if !c.pops.iter().any(served) {
                    continue;
                }
                waiting.insert((id, v));
                let since = *self.reachable_since.entry((id, v)).or_insert(now);
                // The client times its wait on its own monotonic clock (`from` is read
                // from it: drift stretches it, a wall-clock jump does not move it), the
                // reachability on true time.
                let waited_locally = world.monotonic_time(id).saturating_sub(from);
                if waited_locally.min(now.saturating_sub(since)) > self.bound {
                    return Err(format!(
                        "{} has waited for video {v} since {:.3} s of its clock (reachable \
                         since {:.3} s), longer than the bound of {:.1} s",
                        world.name(id),
                        from.as_secs_f64(),
                        since.as_secs_f64(),
                        self.bound.as_secs_f64()
                    ));
                }
            }
        }
        self.reachable_since.retain(|k, _| waiting.contains(k));
        Ok(())
    }
}

impl Invariant<OttNode> for DeliveredWithinBound {
    fn name(&self) -> &str {
        "stream_within_bound"
    }
    fn check(&mut self, world: &World<'_, OttNode>) -> Result<(), String> {
        if world.now() < self.next {
            return Ok(());
        }
        self.next = world.now() + self.every;
        self.verify(world)
    }
    fn check_at_end(&mut self, world: &World<'_, OttNode>) -> Result<(), String> {
        self.verify(world)
    }
}
