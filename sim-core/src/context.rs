//! The context a node's handlers act through.

use crate::kernel::{Kernel, Payload};
use crate::metrics::Metrics;
use crate::node::{Node, NodeId, NodeStatus, TimerTag};
use crate::queue::EventKey;
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::trace::{RecordKind, TraceRecord};
use std::hash::Hash;

/// A timer a node set; pass it to [`Context::cancel_timer`] to cancel it.
///
/// Holds the queue key and the sequence number of the timer's event (the number still
/// identifies it once it has expired into the backlog of a paused node).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub(crate) EventKey, pub(crate) u64);

/// Everything a handler may do, on behalf of the one node it was given to.
///
/// The context owns the node's id, so a node cannot send as, or cancel the timers of,
/// another node.
pub struct Context<'a, N: Node + ?Sized> {
    pub(crate) kernel: &'a mut Kernel<N>,
    pub(crate) id: NodeId,
}

impl<N: Node> Context<'_, N> {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// This node's name in the scenario.
    pub fn name(&self) -> &str {
        &self.kernel.nodes[self.id.index()].name
    }

    /// The name of any node (for logs and annotations).
    pub fn name_of(&self, node: NodeId) -> &str {
        &self.kernel.nodes[node.index()].name
    }

    /// The id of the node called `name`, if there is one.
    pub fn lookup(&self, name: &str) -> Option<NodeId> {
        self.kernel.lookup(name)
    }

    /// How many nodes the simulation has registered (started or not).
    pub fn node_count(&self) -> usize {
        self.kernel.nodes.len()
    }

    /// Whether `node` is up right now. Real nodes cannot know this; it is for
    /// environment-like nodes (traffic generators, oracles) and tests.
    pub fn is_up(&self, node: NodeId) -> bool {
        self.kernel.status.get(node.index()) == Some(&NodeStatus::Up)
    }

    /// The node's local clock (true time seen through its drift and jumps).
    pub fn now(&self) -> SimTime {
        self.kernel.nodes[self.id.index()]
            .clock
            .now(self.kernel.now)
    }

    /// True simulated time. Protocol logic should use [`Context::now`]; this is for
    /// measurements (latencies in metrics) that an outside observer would take.
    pub fn sim_time(&self) -> SimTime {
        self.kernel.now
    }

    /// Send `msg` to `to` through the network model.
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.kernel.send(self.id, to, msg);
    }

    /// Deliver `msg` to `to` exactly `delay` from now, bypassing the network model: for
    /// logical-process models (PHOLD) where the delay is part of the model itself.
    pub fn deliver_after(&mut self, to: NodeId, delay: SimTime, msg: N::Msg) {
        let at = self.kernel.now + delay;
        self.kernel.schedule_delivery(self.id, to, msg, at, false);
    }

    /// Fire `timer` after `after` of this node's local time; returns a handle to cancel it.
    pub fn set_timer(&mut self, after: SimTime, timer: N::Timer) -> TimerId {
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

    /// Cancel a timer of this node; returns whether it was still pending.
    pub fn cancel_timer(&mut self, timer: TimerId) -> bool {
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

    /// This node's own random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.kernel.rngs[self.id.index()]
    }

    /// The run's metrics, to record into.
    pub fn metrics(&mut self) -> &mut Metrics {
        &mut self.kernel.metrics
    }

    /// Add `by` to this node's entry (labelled with its name) of the tally `name`: a
    /// per-node count, such as the bits each viewer received, that reports can draw
    /// node by node over time.
    pub fn tally_own(&mut self, name: &str, by: f64) {
        let kernel = &mut *self.kernel;
        let me = &kernel.nodes[self.id.index()].name;
        kernel.metrics.add_to(name, me, by);
    }

    /// Write a note into the trace (it enters the fingerprint).
    pub fn annotate(&mut self, text: &str) {
        self.kernel.annotate(self.id, text);
    }

    /// The network parameters in force on the link from this node to `to`.
    pub fn link_params(&self, to: NodeId) -> &crate::network::LinkParams {
        self.kernel.network.params(self.id, to)
    }
}
