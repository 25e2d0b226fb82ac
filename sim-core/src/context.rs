//! The context a node's handlers act through: the [`Context`] trait, what a handler may
//! do wherever its node runs; [`SimContext`], the simulator's; and [`Recorder`], which
//! records what a node did, for unit tests without a kernel.
//!
//! A handler takes `ctx: &mut impl Ctx<Self>`, so the same node code runs in the
//! simulator, under a [`Recorder`] in a unit test, and under any other runtime that
//! implements [`Context`]. `dsim live` runs it over real sockets with [`SimContext`]
//! itself: it hosts the simulation live ([`Simulation::host_live`](crate::Simulation::host_live)). A role of a multi-role system is a
//! [`Node`] of its own with the system's message and timer types, so its code depends on
//! those types only, not on the system's node enum (see [`crate::roles!`]).

use crate::kernel::{Kernel, Payload};
use crate::metrics::Metrics;
use crate::network::LinkParams;
use crate::node::{Node, NodeId, NodeStatus, TimerTag};
use crate::queue::EventKey;
use crate::rng::SimRng;
use crate::rng::component_rng;
use crate::time::SimTime;
use crate::trace::{RecordKind, TraceRecord};
use std::hash::Hash;

/// A timer a node set; pass it to [`Context::cancel_timer`] to cancel it.
///
/// Holds the queue key and the sequence number of the timer's event (the number still
/// identifies it once it has expired into the backlog of a paused node).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub(crate) EventKey, pub(crate) u64);

impl TimerId {
    /// Handle number `n` of a context other than the simulator's (a [`Recorder`], a
    /// live runtime), which numbers its timers itself.
    pub fn external(n: u64) -> TimerId {
        TimerId(EventKey::EXTERNAL, n)
    }
}

/// Everything a handler may do, on behalf of the one node it was given to: send
/// messages (`M`), set and cancel timers (`T`), read the node's clock, draw from its
/// random stream, record metrics and annotate the trace.
///
/// Node code names it through [`Ctx`]: `ctx: &mut impl Ctx<Self>`.
pub trait Context<M, T> {
    /// This node's id.
    fn id(&self) -> NodeId;
    /// This node's name in the scenario.
    fn name(&self) -> &str;
    /// The name of any node (for logs and annotations).
    fn name_of(&self, node: NodeId) -> &str;
    /// The id of the node called `name`, if there is one.
    fn lookup(&self, name: &str) -> Option<NodeId>;
    /// How many nodes the system has registered (started or not).
    fn node_count(&self) -> usize;
    /// Whether `node` is up right now. Real nodes cannot know this; it is for
    /// environment-like nodes (traffic generators, oracles) and tests.
    fn is_up(&self, node: NodeId) -> bool;
    /// The node's local clock (true time seen through its drift and jumps).
    fn now(&self) -> SimTime;
    /// The node's monotonic clock: the local clock without its jumps (drift only), as
    /// `CLOCK_MONOTONIC` is for a real process. Measure timeouts with it: a wall-clock
    /// step then moves no deadline. (Required, so that a wrapping context delegates it
    /// rather than fall back on its own `now`.)
    fn monotonic(&self) -> SimTime;
    /// True time. Protocol logic should use [`Context::monotonic`] for timeouts and
    /// [`Context::now`] for wall-clock readings; this is for measurements (latencies in
    /// metrics) that an outside observer would take.
    fn sim_time(&self) -> SimTime;
    /// Send `msg` to `to` through the network.
    fn send(&mut self, to: NodeId, msg: M);
    /// Deliver `msg` to `to` exactly `delay` from now, bypassing the network model: for
    /// logical-process models (PHOLD) where the delay is part of the model itself.
    fn deliver_after(&mut self, to: NodeId, delay: SimTime, msg: M);
    /// Fire `timer` after `after` of this node's local time; returns a handle to cancel
    /// it.
    fn set_timer(&mut self, after: SimTime, timer: T) -> TimerId;
    /// Cancel a timer of this node; returns whether it was still pending.
    fn cancel_timer(&mut self, timer: TimerId) -> bool;
    /// This node's own random stream.
    fn rng(&mut self) -> &mut SimRng;
    /// The run's metrics, to record into.
    fn metrics(&mut self) -> &mut Metrics;
    /// Add `by` to this node's entry (labelled with its name) of the tally `name`: a
    /// per-node count, such as the bits each viewer received, that reports can draw
    /// node by node over time.
    fn tally_own(&mut self, name: &str, by: f64);
    /// Write a note into the trace (it enters the fingerprint).
    fn annotate(&mut self, text: &str);
    /// The network parameters in force on the link from this node to `to`.
    fn link_params(&self, to: NodeId) -> &LinkParams;
}

/// The [`Context`] of node type `N`: `Context<N::Msg, N::Timer>`, named by the node. Every
/// role of a system shares the system's message and timer types, so a context for the
/// system's node enum is a context for each of its roles.
pub trait Ctx<N: Node + ?Sized>: Context<N::Msg, N::Timer> {}

impl<N: Node + ?Sized, C: Context<N::Msg, N::Timer> + ?Sized> Ctx<N> for C {}

/// The simulator's context: a handler's actions go straight to the kernel (the queue,
/// the network model, the trace).
///
/// The context owns the node's id, so a node cannot send as, or cancel the timers of,
/// another node.
pub struct SimContext<'a, N: Node + ?Sized> {
    pub(crate) kernel: &'a mut Kernel<N>,
    pub(crate) id: NodeId,
}

impl<N: Node> Context<N::Msg, N::Timer> for SimContext<'_, N> {
    fn id(&self) -> NodeId {
        self.id
    }

    fn name(&self) -> &str {
        &self.kernel.nodes[self.id.index()].name
    }

    fn name_of(&self, node: NodeId) -> &str {
        &self.kernel.nodes[node.index()].name
    }

    fn lookup(&self, name: &str) -> Option<NodeId> {
        self.kernel.lookup(name)
    }

    fn node_count(&self) -> usize {
        self.kernel.nodes.len()
    }

    fn is_up(&self, node: NodeId) -> bool {
        self.kernel.status.get(node.index()) == Some(&NodeStatus::Up)
    }

    fn now(&self) -> SimTime {
        self.kernel.nodes[self.id.index()]
            .clock
            .now(self.kernel.now)
    }

    fn monotonic(&self) -> SimTime {
        self.kernel.nodes[self.id.index()]
            .clock
            .monotonic(self.kernel.now)
    }

    fn sim_time(&self) -> SimTime {
        self.kernel.now
    }

    fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.kernel.send(self.id, to, msg);
    }

    fn deliver_after(&mut self, to: NodeId, delay: SimTime, msg: N::Msg) {
        let at = self.kernel.now + delay;
        self.kernel.schedule_delivery(self.id, to, msg, at, false);
    }

    fn set_timer(&mut self, after: SimTime, timer: N::Timer) -> TimerId {
        let k = &mut *self.kernel;
        let meta = &k.nodes[self.id.index()];
        let at = k.now + meta.clock.true_duration(after);
        let incarnation = meta.incarnation;
        let fold = k
            .trace
            .fold(k.now.0, RecordKind::TimerSet, self.id.0, u32::MAX, at.0);
        timer.hash(fold);
        if k.trace.keeps_records() {
            let (now, id) = (k.now.0, self.id.0);
            let (label, detail) = (timer.kind().to_owned(), format!("{timer:?}"));
            k.trace.keep(|| TraceRecord {
                time_ns: now,
                kind: RecordKind::TimerSet,
                node: id,
                peer: None,
                value: at.0,
                label,
                detail,
            });
        }
        let (key, seq) = k.queue.push(
            at,
            self.id.0,
            Payload::Timer {
                node: self.id,
                incarnation,
                timer,
            },
        );
        TimerId(key, seq)
    }

    fn cancel_timer(&mut self, timer: TimerId) -> bool {
        let k = &mut *self.kernel;
        let tag = match k.queue.get(timer.0) {
            Some(Payload::Timer { node, .. }) if *node == self.id => {
                match k.queue.cancel(timer.0) {
                    Some(Payload::Timer { timer: tag, .. }) => tag,
                    _ => unreachable!("checked above"),
                }
            }
            _ => {
                // A timer that expired while the node was paused waits in its backlog
                // until the node handles it: until then it is still pending.
                let backlog = &mut k.nodes[self.id.index()].backlog;
                let Some(i) = backlog
                    .iter()
                    .position(|(seq, p)| *seq == timer.1 && matches!(p, Payload::Timer { .. }))
                else {
                    return false;
                };
                match backlog.remove(i) {
                    Some((_, Payload::Timer { timer: tag, .. })) => tag,
                    _ => unreachable!("found above"),
                }
            }
        };
        k.trace
            .fold(k.now.0, RecordKind::TimerCancel, self.id.0, u32::MAX, 0);
        let (now, id) = (k.now.0, self.id.0);
        k.trace.keep(|| TraceRecord {
            time_ns: now,
            kind: RecordKind::TimerCancel,
            node: id,
            peer: None,
            value: 0,
            label: tag.kind().to_owned(),
            detail: format!("{tag:?}"),
        });
        true
    }

    fn rng(&mut self) -> &mut SimRng {
        &mut self.kernel.rngs[self.id.index()]
    }

    fn metrics(&mut self) -> &mut Metrics {
        &mut self.kernel.metrics
    }

    fn tally_own(&mut self, name: &str, by: f64) {
        let kernel = &mut *self.kernel;
        let me = &kernel.nodes[self.id.index()].name;
        kernel.metrics.add_to(name, me, by);
    }

    fn annotate(&mut self, text: &str) {
        self.kernel.annotate(self.id, text);
    }

    fn link_params(&self, to: NodeId) -> &LinkParams {
        self.kernel.network.params(self.id, to)
    }
}

/// A context that records what a node did, for unit tests of node code without a
/// kernel: messages sent, timers set and cancelled, annotations; the clock is set by
/// the test, metrics and the random stream are the node's own.
///
/// ```
/// use sim_core::context::Recorder;
/// use sim_core::{Ctx, Message, Node, NodeId, SimTime, TimerTag};
///
/// #[derive(Clone, Debug, Hash, PartialEq)]
/// struct Ping;
/// impl Message for Ping {
///     fn size_bytes(&self) -> u32 { 8 }
///     fn kind(&self) -> &'static str { "ping" }
/// }
/// #[derive(Clone, Debug, Hash, PartialEq)]
/// struct Tick;
/// impl TimerTag for Tick {
///     fn kind(&self) -> &'static str { "tick" }
/// }
/// struct Pinger;
/// impl Node for Pinger {
///     type Msg = Ping;
///     type Timer = Tick;
///     fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
///         ctx.set_timer(SimTime::from_millis(10), Tick);
///     }
///     fn on_message(&mut self, _: &mut impl Ctx<Self>, _: NodeId, _: Ping) {}
///     fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, _: Tick) {
///         let peer = ctx.lookup("b").expect("b exists");
///         ctx.send(peer, Ping);
///     }
/// }
///
/// let mut ctx = Recorder::new(&["a", "b"], "a", 1);
/// let mut node = Pinger;
/// node.on_start(&mut ctx);
/// assert_eq!(ctx.timers[0].1, SimTime::from_millis(10));
/// node.on_timer(&mut ctx, Tick);
/// assert_eq!(ctx.sent, vec![(NodeId(1), Ping)]);
/// ```
pub struct Recorder<M, T> {
    /// The node's id: its index in the names given.
    pub id: NodeId,
    /// Every node's name, by id.
    pub names: Vec<String>,
    /// The node's local clock, set by the test.
    pub now: SimTime,
    /// True time, set by the test (defaults to following `now`: set both to differ).
    pub sim_time: SimTime,
    /// Which nodes [`Context::is_up`] says are up, by id (all, to begin with).
    pub up: Vec<bool>,
    /// Messages sent, in order: (to, message).
    pub sent: Vec<(NodeId, M)>,
    /// Messages delivered after a delay, in order: (to, delay, message).
    pub delivered: Vec<(NodeId, SimTime, M)>,
    /// Timers set, in order: (handle, after, timer).
    pub timers: Vec<(TimerId, SimTime, T)>,
    /// Timers cancelled, in order.
    pub cancelled: Vec<TimerId>,
    /// Trace annotations, in order.
    pub annotations: Vec<String>,
    /// What the node recorded.
    pub metrics: Metrics,
    /// The parameters [`Context::link_params`] returns for every link.
    pub link: LinkParams,
    rng: SimRng,
}

impl<M, T> Recorder<M, T> {
    /// The context of node `me` among `names`, its random stream the one the simulator
    /// would give it under master seed `seed`.
    ///
    /// # Panics
    /// If `me` is not among `names`.
    pub fn new(names: &[&str], me: &str, seed: u64) -> Self {
        let index = names
            .iter()
            .position(|n| *n == me)
            .unwrap_or_else(|| panic!("{me:?} is not among the names {names:?}"));
        Recorder {
            id: NodeId(index as u32),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            now: SimTime::ZERO,
            sim_time: SimTime::ZERO,
            up: vec![true; names.len()],
            sent: Vec::new(),
            delivered: Vec::new(),
            timers: Vec::new(),
            cancelled: Vec::new(),
            annotations: Vec::new(),
            metrics: Metrics::default(),
            link: LinkParams::default(),
            rng: component_rng(seed, &format!("node:{me}")),
        }
    }

    /// Move both clocks to `t`.
    pub fn advance_to(&mut self, t: SimTime) {
        self.now = t;
        self.sim_time = t;
    }

    /// The messages sent since the last call, taken out.
    pub fn take_sent(&mut self) -> Vec<(NodeId, M)> {
        std::mem::take(&mut self.sent)
    }

    /// Whether timer `id` was set and has not been cancelled.
    pub fn is_pending(&self, id: TimerId) -> bool {
        self.timers.iter().any(|(t, _, _)| *t == id) && !self.cancelled.contains(&id)
    }
}

impl<M, T> Context<M, T> for Recorder<M, T> {
    fn id(&self) -> NodeId {
        self.id
    }

    fn name(&self) -> &str {
        &self.names[self.id.index()]
    }

    fn name_of(&self, node: NodeId) -> &str {
        &self.names[node.index()]
    }

    fn lookup(&self, name: &str) -> Option<NodeId> {
        let i = self.names.iter().position(|n| n == name)?;
        Some(NodeId(i as u32))
    }

    fn node_count(&self) -> usize {
        self.names.len()
    }

    fn is_up(&self, node: NodeId) -> bool {
        self.up.get(node.index()).copied().unwrap_or(false)
    }

    fn now(&self) -> SimTime {
        self.now
    }

    /// A recorder has no clock faults: its monotonic clock is its clock.
    fn monotonic(&self) -> SimTime {
        self.now
    }

    fn sim_time(&self) -> SimTime {
        self.sim_time
    }

    fn send(&mut self, to: NodeId, msg: M) {
        self.sent.push((to, msg));
    }

    fn deliver_after(&mut self, to: NodeId, delay: SimTime, msg: M) {
        self.delivered.push((to, delay, msg));
    }

    fn set_timer(&mut self, after: SimTime, timer: T) -> TimerId {
        let id = TimerId::external(self.timers.len() as u64);
        self.timers.push((id, after, timer));
        id
    }

    fn cancel_timer(&mut self, timer: TimerId) -> bool {
        let pending = self.is_pending(timer);
        if pending {
            self.cancelled.push(timer);
        }
        pending
    }

    fn rng(&mut self) -> &mut SimRng {
        &mut self.rng
    }

    fn metrics(&mut self) -> &mut Metrics {
        &mut self.metrics
    }

    fn tally_own(&mut self, name: &str, by: f64) {
        let me = self.names[self.id.index()].clone();
        self.metrics.add_to(name, &me, by);
    }

    fn annotate(&mut self, text: &str) {
        self.annotations.push(text.to_owned());
    }

    fn link_params(&self, _to: NodeId) -> &LinkParams {
        &self.link
    }
}
