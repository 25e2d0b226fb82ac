//! sim-core: the deterministic discrete-event kernel of dsim.
//!
//! One thread, one virtual clock, one event queue ordered by `(time, sequence)`. Nodes
//! are sans-IO state machines ([`Node`]) acting through a [`Context`]; links are modelled
//! by [`network`]; faults are data ([`Fault`]); every decision enters a 128-bit
//! [`Fingerprint`] and, on request, a trace of [`TraceRecord`]s. Given the same nodes,
//! faults and seed, a run is a pure function of its inputs.

#![warn(missing_docs)]

pub mod clock;
pub mod context;
pub mod fault;
pub mod fault_plan;
pub mod incremental;
mod kernel;
pub mod metrics;
pub mod network;
pub mod node;
mod prefetch;
mod queue;
pub mod rng;
pub mod roles;
pub mod sim;
pub mod time;
pub mod trace;

pub use context::{Context, Ctx, Recorder, SimContext, TimerId};
pub use fault::{Fault, ScheduledFault};
pub use incremental::{Members, Tally};
pub use metrics::{Metric, Metrics, Summary};
pub use network::{Latency, LinkParams, Network};
pub use node::{Message, Node, NodeId, NodeStatus, TimerTag};
pub use rng::SimRng;
pub use roles::Role;
pub use sim::{Changed, Invariant, RunOutcome, SimConfig, Simulation, Violation, World};
pub use time::{ClockOffset, SimTime};
pub use trace::{DropReason, Fingerprint, RecordKind, TraceRecord};
