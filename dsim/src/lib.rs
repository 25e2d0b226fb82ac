//! dsim for protocol authors: the one crate a user's own system depends on.
//!
//! It re-exports the kernel ([`Node`], [`Context`], [`Simulation`], faults, metrics),
//! the system interface ([`System`], [`Setup`], [`NodeDecl`], [`LinkTable`]), the
//! random-number traits that [`Context::rng`] needs ([`Rng`], [`RngExt`]), and the
//! harness: the scenario registry, the `dsim` command line and the test helpers.
//! A guide from an empty crate to run, explore, sweep, report and verify is in
//! `docs/your-own-system.md`; `examples/own-system/` is a complete user crate.
#![warn(missing_docs, unreachable_pub)]

/// The command line for the systems of a [`Registry`]: `dsim::cli::main(&registry)`.
pub use dsim_cli as cli;
/// The harness of many runs: the registry, explore, sweeps, benchmarks, test helpers.
pub use dsim_harness as harness;
pub use dsim_harness::{Registry, bench, testing};
/// One scenario: the schema, the loader, the runner, trace files.
pub use dsim_scenario as scenario;
pub use dsim_system::{
    Finished, LinkTable, NodeDecl, ScenarioFiles, Setup, System, TopologyRule, add_declared,
    round_robin_pairs, run_to, schedule_named, simulation,
};
pub use rand::{Rng, RngExt};
/// Fault plans drawn from a budget, and their proptest strategy.
pub use sim_core::fault_plan;
/// Draws from a node's random stream: uniform, Bernoulli, exponential, normal, gamma.
pub use sim_core::rng;
/// The node enum of a system of several roles, with its dispatch: see [`roles!`].
pub use sim_core::roles;
pub use sim_core::{
    ClockOffset, Context, Ctx, DropReason, Fault, Fingerprint, Invariant, Latency, LinkParams,
    Message, Metric, Metrics, Network, Node, NodeId, NodeStatus, RecordKind, Recorder, Role,
    RunOutcome, ScheduledFault, SimConfig, SimRng, SimTime, Simulation, Summary, TimerId, TimerTag,
    TraceRecord, Violation, World,
};
