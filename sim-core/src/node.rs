//! What a simulated node is: a sans-IO state machine driven by the kernel.

use crate::context::Ctx;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::hash::Hash;

/// A node's index in its simulation; stable for the whole run (nodes that leave keep it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index as a `usize`, for tables indexed by node.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A message type of a system: typed (usually an enum), sized for the network model, and
/// hashable so that its contents enter the run's fingerprint.
pub trait Message: Clone + Debug + Hash {
    /// Bytes on the wire, headers included (drives bandwidth, queues and MTU).
    fn size_bytes(&self) -> u32;
    /// A short name for the message kind, for traces, metrics and sequence charts.
    fn kind(&self) -> &'static str;
}

/// A timer payload of a system: what the node wants to be reminded of.
pub trait TimerTag: Clone + Debug + Hash {
    /// A short name for the timer kind, for traces.
    fn kind(&self) -> &'static str;
}

/// A simulated node: a state machine whose handlers run one event at a time.
///
/// Handlers never block and never touch I/O; they act through the [`Context`](crate::Context), which
/// sends messages, sets and cancels timers, reads the node's local clock, draws from the
/// node's own random stream, records metrics and annotates the trace.
///
/// Crash and restart: when a node crashes the kernel drops its pending timers and every
/// message that reaches it while it is down, then calls [`Node::on_crash`], which must
/// throw away the node's volatile state and keep only what the node persisted (its
/// "disk"). A restart calls [`Node::on_restart`] on that same value.
pub trait Node {
    /// The messages nodes of this system exchange.
    type Msg: Message;
    /// The timers nodes of this system set.
    type Timer: TimerTag;

    /// The node comes up (at its start time, or when it joins).
    fn on_start(&mut self, ctx: &mut impl Ctx<Self>);

    /// A message from `from` arrived.
    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: crate::NodeId, msg: Self::Msg);

    /// A timer this node set fired.
    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: Self::Timer);

    /// The node crashed: drop volatile state, keep what was persisted. The default keeps
    /// everything, which is right only for nodes without volatile state.
    fn on_crash(&mut self) {}

    /// The node comes back after a crash. The default runs [`Node::on_start`] again.
    fn on_restart(&mut self, ctx: &mut impl Ctx<Self>) {
        self.on_start(ctx);
    }

    /// The node leaves the system gracefully; it may still send goodbyes from here.
    /// Afterwards nothing is delivered to it.
    fn on_leave(&mut self, _ctx: &mut impl Ctx<Self>) {}
}

/// Where a node is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// Registered, waiting for its start time or a join.
    NotStarted,
    /// Running.
    Up,
    /// Stopped like a SIGSTOPped process: its events wait until it resumes.
    Paused,
    /// Crashed: events addressed to it are dropped until it restarts.
    Crashed,
    /// Left the system for good.
    Left,
}
