//! Faults as data: what can go wrong, when, to whom.
//!
//! A fault plan is a list of [`ScheduledFault`]s. Scenario files write node names
//! (`Fault<String>`); the kernel works on ids (`Fault<NodeId>`); [`Fault::map_nodes`]
//! turns one into the other, so the two never drift apart.

use crate::network::{LinkParams, LinkPatch};
use crate::node::NodeId;
use crate::time::SimTime;
use serde::{Deserialize, Serialize};

/// One thing that goes wrong (or is repaired) at a given moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Fault<N = NodeId> {
    /// The node stops; volatile state and pending timers are lost; messages to it drop.
    Crash(N),
    /// A crashed node comes back with what it persisted.
    Restart(N),
    /// The node stops handling events; they wait until it resumes (a GC pause, SIGSTOP).
    Pause(N),
    /// A paused node handles what waited, in order.
    Resume(N),
    /// A registered node joins the running system.
    Join(N),
    /// The node leaves gracefully.
    Leave(N),
    /// The link between `a` and `b` goes down (both directions unless `one_way`).
    CutLink {
        /// One end (the sender, when one way).
        a: N,
        /// The other end.
        b: N,
        /// Only `a -> b` goes down.
        #[serde(default)]
        one_way: bool,
    },
    /// The link between `a` and `b` comes back (both directions unless `one_way`).
    RestoreLink {
        /// One end (the sender, when one way).
        a: N,
        /// The other end.
        b: N,
        /// Only `a -> b` comes back.
        #[serde(default)]
        one_way: bool,
    },
    /// Symmetric partition: nodes in different groups cannot talk.
    Partition(Vec<Vec<N>>),
    /// Asymmetric partition: messages from `from` to `to` are dropped, not the reverse.
    PartitionOneWay {
        /// Senders cut off.
        from: Vec<N>,
        /// Receivers they cannot reach.
        to: Vec<N>,
    },
    /// The node can neither send nor receive (a one-node partition).
    Isolate(N),
    /// Every partition ends (cut links stay cut until restored).
    Heal,
    /// The directed link `from -> to` changes the parameters the patch names.
    SetLink {
        /// Sender end.
        from: N,
        /// Receiver end.
        to: N,
        /// The changes, applied to the link's current parameters.
        params: LinkPatch,
    },
    /// Every link without its own parameters changes the ones the patch names.
    SetDefaultLink(LinkPatch),
    /// The node's clock runs fast (positive) or slow (negative) by `ppm` parts per million.
    ClockDrift {
        /// Whose clock.
        node: N,
        /// Rate error in parts per million.
        ppm: f64,
    },
    /// The node's clock jumps by `by` (negative values jump back), as after an NTP step.
    ClockJump {
        /// Whose clock.
        node: N,
        /// Signed jump.
        by: crate::time::ClockOffset,
    },
}

impl<N: Copy> Fault<N> {
    /// The node whose state or status alone this fault changes (crash, restart, pause,
    /// resume, join, leave, clock drift or jump); `None` for a fault on the network,
    /// which may change what every node can reach.
    pub fn node_state_only(&self) -> Option<N> {
        match self {
            Fault::Crash(n)
            | Fault::Restart(n)
            | Fault::Pause(n)
            | Fault::Resume(n)
            | Fault::Join(n)
            | Fault::Leave(n) => Some(*n),
            Fault::ClockDrift { node, .. } | Fault::ClockJump { node, .. } => Some(*node),
            _ => None,
        }
    }
}

impl<N> Fault<N> {
    /// The same fault with every node reference mapped through `f` (name to id, say);
    /// the first error stops the mapping.
    pub fn map_nodes<M, E>(self, f: &mut impl FnMut(N) -> Result<M, E>) -> Result<Fault<M>, E> {
        let all = |v: Vec<N>, f: &mut dyn FnMut(N) -> Result<M, E>| -> Result<Vec<M>, E> {
            v.into_iter().map(f).collect()
        };
        Ok(match self {
            Fault::Crash(n) => Fault::Crash(f(n)?),
            Fault::Restart(n) => Fault::Restart(f(n)?),
            Fault::Pause(n) => Fault::Pause(f(n)?),
            Fault::Resume(n) => Fault::Resume(f(n)?),
            Fault::Join(n) => Fault::Join(f(n)?),
            Fault::Leave(n) => Fault::Leave(f(n)?),
            Fault::CutLink { a, b, one_way } => Fault::CutLink {
                a: f(a)?,
                b: f(b)?,
                one_way,
            },
            Fault::RestoreLink { a, b, one_way } => Fault::RestoreLink {
                a: f(a)?,
                b: f(b)?,
                one_way,
            },
            Fault::Partition(groups) => Fault::Partition(
                groups
                    .into_iter()
                    .map(|g| all(g, f))
                    .collect::<Result<_, _>>()?,
            ),
            Fault::PartitionOneWay { from, to } => Fault::PartitionOneWay {
                from: all(from, f)?,
                to: all(to, f)?,
            },
            Fault::Isolate(n) => Fault::Isolate(f(n)?),
            Fault::Heal => Fault::Heal,
            Fault::SetLink { from, to, params } => Fault::SetLink {
                from: f(from)?,
                to: f(to)?,
                params,
            },
            Fault::SetDefaultLink(p) => Fault::SetDefaultLink(p),
            Fault::ClockDrift { node, ppm } => Fault::ClockDrift {
                node: f(node)?,
                ppm,
            },
            Fault::ClockJump { node, by } => Fault::ClockJump { node: f(node)?, by },
        })
    }

    /// The variant's name, for traces and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Crash(_) => "crash",
            Fault::Restart(_) => "restart",
            Fault::Pause(_) => "pause",
            Fault::Resume(_) => "resume",
            Fault::Join(_) => "join",
            Fault::Leave(_) => "leave",
            Fault::CutLink { .. } => "cut_link",
            Fault::RestoreLink { .. } => "restore_link",
            Fault::Partition(_) => "partition",
            Fault::PartitionOneWay { .. } => "partition_one_way",
            Fault::Isolate(_) => "isolate",
            Fault::Heal => "heal",
            Fault::SetLink { .. } => "set_link",
            Fault::SetDefaultLink(_) => "set_default_link",
            Fault::ClockDrift { .. } => "clock_drift",
            Fault::ClockJump { .. } => "clock_jump",
        }
    }

    /// Check the parameters that are wrong whatever the nodes are.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Fault::SetLink { params, .. } | Fault::SetDefaultLink(params) => {
                params.apply(&LinkParams::default()).validate()
            }
            Fault::ClockDrift { ppm, .. } if !(ppm.is_finite() && ppm.abs() < 1e6) => Err(format!(
                "ClockDrift ppm must be finite and between -1000000 and 1000000, got {ppm}"
            )),
            Fault::Partition(groups) if groups.len() < 2 => {
                Err("Partition needs at least two groups".into())
            }
            _ => Ok(()),
        }
    }
}

/// A fault and the moment it takes effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledFault<N = NodeId> {
    /// When (true simulated time).
    pub at: SimTime,
    /// What.
    pub fault: Fault<N>,
}
