//! The kernel: the state a simulation keeps apart from its nodes (clock, queue, network,
//! per-node bookkeeping, trace, metrics), and the one place events are scheduled.
//!
//! Nodes live outside the kernel so that a handler can borrow its node mutably and the
//! kernel mutably (through its [`Context`](crate::Context)) at the same time.

use crate::clock::LocalClock;
use crate::fault::Fault;
use crate::metrics::Metrics;
use crate::network::{Network, Transmission};
use crate::node::{Message, Node, NodeId, NodeStatus};

use crate::queue::EventQueue;
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::trace::{DropReason, RecordKind, Trace, TraceRecord};
use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;

/// What a queued event does when it runs.
pub(crate) enum Payload<N: Node + ?Sized> {
    /// A message arrives. `via_network` says whether cuts and partitions apply on arrival.
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: N::Msg,
        via_network: bool,
    },
    /// A timer fires, if the node has not crashed since it was set.
    Timer {
        node: NodeId,
        incarnation: u32,
        timer: N::Timer,
    },
    /// A message leaves the kernel for a real socket, in a run hosted live
    /// ([`Simulation::host_live`](crate::Simulation::host_live)): the network model has
    /// decided its fate, and its arrival time is now.
    Depart {
        from: NodeId,
        to: NodeId,
        msg: N::Msg,
    },
    /// A node starts.
    Start(NodeId),
    /// A fault from the plan takes effect (boxed: faults are rare and large, and every
    /// payload is as big as the largest variant).
    Fault(Box<Fault>),
}

/// The kernel's bookkeeping for one node.
pub(crate) struct NodeMeta<N: Node + ?Sized> {
    pub(crate) name: String,
    pub(crate) clock: LocalClock,
    /// Bumped on every crash, so timers set before it never fire.
    pub(crate) incarnation: u32,
    /// Events that arrived while the node was paused, in arrival order, with their
    /// queue sequence numbers (a timer's identifies it to `cancel_timer`).
    pub(crate) backlog: VecDeque<(u64, Payload<N>)>,
}

/// Network counters, kept as plain fields because they change on every message.
#[derive(Default)]
pub(crate) struct NetCounters {
    pub(crate) sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) delivered: u64,
    pub(crate) duplicated: u64,
    pub(crate) dropped: [u64; DropReason::ALL.len()],
}

/// What a run hosted on real sockets keeps
/// ([`Simulation::host_live`](crate::Simulation::host_live)).
pub(crate) struct LiveHost<M> {
    /// Which nodes this process runs, by node index; the others run elsewhere.
    pub(crate) hosted: Vec<bool>,
    /// Messages due to leave, in departure order: (from, to, message).
    pub(crate) outbox: Vec<(NodeId, NodeId, M)>,
}

/// Everything but the nodes.
pub(crate) struct Kernel<N: Node + ?Sized> {
    pub(crate) seed: u64,
    pub(crate) now: SimTime,
    pub(crate) queue: EventQueue<Payload<N>>,
    pub(crate) network: Network,
    pub(crate) nodes: Vec<NodeMeta<N>>,
    pub(crate) by_name: BTreeMap<String, NodeId>,
    pub(crate) trace: Trace,
    pub(crate) metrics: Metrics,
    pub(crate) net: NetCounters,
    /// Every node's status, by node index. Kept apart from `nodes` (structure of
    /// arrays) because every delivery reads it: a dense array keeps it in cache.
    pub(crate) status: Vec<NodeStatus>,
    /// Every node's random stream, by node index, dense for the same reason.
    pub(crate) rngs: Vec<SimRng>,
    /// Set when the run is hosted on real sockets: deliveries depart instead.
    pub(crate) live: Option<Box<LiveHost<N::Msg>>>,
}

impl<N: Node> Kernel<N> {
    pub(crate) fn lookup(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    /// Whether `node` runs here: always, unless the run is hosted live across
    /// processes and another one runs it.
    pub(crate) fn hosts(&self, node: NodeId) -> bool {
        self.live
            .as_ref()
            .is_none_or(|l| l.hosted.get(node.index()) == Some(&true))
    }

    /// Hand a message to the network at the current time.
    pub(crate) fn send(&mut self, from: NodeId, to: NodeId, msg: N::Msg) {
        let size = msg.size_bytes();
        self.net.sent += 1;
        self.net.bytes_sent += u64::from(size);
        if to.index() >= self.nodes.len() {
            self.record_drop(from, to, &msg, DropReason::NodeAbsent);
            return;
        }
        let names = &self.nodes;
        let outcome = self.network.transmit(self.now, from, to, size, || {
            format!(
                "link:{}->{}",
                names[from.index()].name,
                names[to.index()].name
            )
        });
        match outcome {
            Transmission::Drop(reason) => {
                self.record_send(from, to, &msg, u64::MAX);
                self.record_drop(from, to, &msg, reason);
            }
            Transmission::Deliver { at, duplicate_at } => {
                if let Some(dup) = duplicate_at {
                    self.net.duplicated += 1;
                    self.trace
                        .fold(self.now.0, RecordKind::Duplicate, from.0, to.0, dup.0);
                    let now = self.now.0;
                    self.trace.keep(|| TraceRecord {
                        time_ns: now,
                        kind: RecordKind::Duplicate,
                        node: from.0,
                        peer: Some(to.0),
                        value: dup.0,
                        label: msg.kind().to_owned(),
                        detail: format!("{msg:?}"),
                    });
                    self.schedule_delivery(from, to, msg.clone(), dup, true);
                }
                self.schedule_delivery(from, to, msg, at, true);
            }
        }
    }

    /// Put a delivery on the queue and trace the send.
    pub(crate) fn schedule_delivery(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: N::Msg,
        at: SimTime,
        via_network: bool,
    ) {
        self.record_send(from, to, &msg, at.0);
        let payload = if self.live.is_some() {
            Payload::Depart { from, to, msg }
        } else {
            Payload::Deliver {
                from,
                to,
                msg,
                via_network,
            }
        };
        self.queue.push(at, to.0, payload);
    }

    fn record_send(&mut self, from: NodeId, to: NodeId, msg: &N::Msg, at: u64) {
        let fold = self
            .trace
            .fold(self.now.0, RecordKind::Send, from.0, to.0, at);
        msg.hash(fold);
        if self.trace.keeps_records() {
            let now = self.now.0;
            self.trace.keep(|| TraceRecord {
                time_ns: now,
                kind: RecordKind::Send,
                node: from.0,
                peer: Some(to.0),
                value: at,
                label: msg.kind().to_owned(),
                detail: format!("{msg:?}"),
            });
        }
    }

    /// Trace and count a dropped message; `node` is where the drop was decided.
    pub(crate) fn record_drop(
        &mut self,
        from: NodeId,
        to: NodeId,
        msg: &N::Msg,
        reason: DropReason,
    ) {
        self.net.dropped[reason as usize] += 1;
        self.trace
            .fold(self.now.0, RecordKind::Drop, to.0, from.0, reason as u64);
        let now = self.now.0;
        self.trace.keep(|| TraceRecord {
            time_ns: now,
            kind: RecordKind::Drop,
            node: to.0,
            peer: Some(from.0),
            value: reason as u64,
            label: reason.name().to_owned(),
            detail: format!("{} {msg:?}", msg.kind()),
        });
    }

    /// Drop the messages that waited for a paused node that crashes or leaves (its
    /// timers simply never fire).
    pub(crate) fn drop_backlog(&mut self, node: NodeId, reason: DropReason) {
        for (_, p) in std::mem::take(&mut self.nodes[node.index()].backlog) {
            if let Payload::Deliver { from, to, msg, .. } = p {
                self.record_drop(from, to, &msg, reason);
            }
        }
    }

    pub(crate) fn annotate(&mut self, node: NodeId, text: &str) {
        self.trace
            .fold(self.now.0, RecordKind::Annotation, node.0, u32::MAX, 0);
        self.trace.fold_str(text);
        let now = self.now.0;
        self.trace.keep(|| TraceRecord {
            time_ns: now,
            kind: RecordKind::Annotation,
            node: node.0,
            peer: None,
            value: 0,
            label: "note".to_owned(),
            detail: text.to_owned(),
        });
    }

    /// Record a non-message event (fault, start) with a label and detail.
    pub(crate) fn record_event(
        &mut self,
        kind: RecordKind,
        node: u32,
        label: &str,
        detail: impl FnOnce() -> String,
    ) {
        self.trace.fold(self.now.0, kind, node, u32::MAX, 0);
        self.trace.fold_str(label);
        let now = self.now.0;
        self.trace.keep(|| TraceRecord {
            time_ns: now,
            kind,
            node,
            peer: None,
            value: 0,
            label: label.to_owned(),
            detail: detail(),
        });
    }

    /// Add the network counters to `into` (which holds none of them yet) as counters
    /// under `net.*`, so reports read them as running totals.
    pub(crate) fn export_net_metrics(&self, into: &mut Metrics) {
        into.add("net.messages_sent", self.net.sent as f64);
        into.add("net.bytes_sent", self.net.bytes_sent as f64);
        into.add("net.messages_delivered", self.net.delivered as f64);
        into.add("net.messages_duplicated", self.net.duplicated as f64);
        for reason in DropReason::ALL {
            let n = self.net.dropped[reason as usize];
            if n > 0 {
                into.add(&format!("net.dropped.{}", reason.name()), n as f64);
            }
        }
    }
}
