//! The RON scenario schema.
//!
//! ```ron
//! Scenario(
//!     name: "ping-pong",
//!     seed: 42,
//!     duration: "60s",
//!     system: "ping-pong",
//!     params: (count: 200, timeout: "50ms"),
//!     nodes: [(name: "a", role: "pinger"), (name: "b", role: "ponger")],
//!     topology: FullMesh,
//!     network: (
//!         default: (latency: Uniform(min: "2ms", max: "8ms"), loss: 0.05),
//!         links: [(from: "a", to: "b", params: (preset: "wan", loss: 0.2))],
//!     ),
//!     faults: [(at: "10s", fault: Crash("b")), (at: "12s", fault: Restart("b"))],
//!     invariants: None,
//!     quiet: "20s",
//!     explore: (max_faults: 4, kinds: [CrashRestart, Partition]),
//! )
//! ```
//!
//! Every struct refuses unknown fields, so a misspelt field is an error, never ignored.
//! `params` belongs to the system named in `system` (see `dsim list`).

use serde::{Deserialize, Serialize};
use sim_core::fault_plan::FaultBudget;
use sim_core::network::LinkPatch;
use sim_core::{LinkParams, ScheduledFault, SimTime};

/// A whole scenario, generic over the system's parameter type `P`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename = "Scenario")]
#[serde(bound(deserialize = "P: Deserialize<'de> + Default"))]
pub struct Scenario<P> {
    /// Short name, printed in results.
    pub name: String,
    /// What the scenario shows, for `dsim list`.
    #[serde(default)]
    pub description: String,
    /// Master seed (the `--seed` flag overrides it).
    #[serde(default)]
    pub seed: u64,
    /// How much simulated time to run.
    pub duration: SimTime,
    /// Which system to host (a name from `dsim list`).
    pub system: String,
    /// The system's parameters; omitted fields take the system's defaults.
    #[serde(default)]
    pub params: P,
    /// Declared nodes, in order.
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
    /// Who is linked to whom.
    #[serde(default)]
    pub topology: Topology,
    /// Link parameters.
    #[serde(default)]
    pub network: NetworkSpec,
    /// The fault plan.
    #[serde(default)]
    pub faults: Vec<ScheduledFault<String>>,
    /// Invariants to check by name; `None` checks all of the system's.
    #[serde(default)]
    pub invariants: Option<Vec<String>>,
    /// Quiet period: the run lasts at least this long after the last fault, so the
    /// end-of-run (liveness) checks judge a system that had time to recover.
    #[serde(default)]
    pub quiet: Option<SimTime>,
    /// The fault budget `dsim explore` draws plans from (`None`: the default budget).
    #[serde(default)]
    pub explore: Option<FaultBudget>,
}

/// The part of a scenario read before the system is known.
#[derive(Deserialize)]
#[serde(rename = "Scenario")]
pub struct SystemName {
    /// The `system` field.
    pub system: String,
}

/// One declared node, or `count` of them when `name` contains `{}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Unique name; with `count`, a pattern where `{}` becomes 0, 1, ...
    pub name: String,
    /// The node's role in the system.
    pub role: String,
    /// Start time; `None` waits for a `Join` fault. Default: `Some("0s")`.
    #[serde(default = "start_at_zero")]
    pub start: Option<SimTime>,
    /// Declare this many nodes from the pattern in `name`.
    #[serde(default)]
    pub count: Option<u32>,
}

fn start_at_zero() -> Option<SimTime> {
    Some(SimTime::ZERO)
}

/// Who is linked to whom. Links are undirected (both directions get a link).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Topology {
    /// Every node reaches every other (an IP network).
    #[default]
    FullMesh,
    /// Exactly these links.
    Links(Vec<(String, String)>),
    /// The declared nodes in a ring, in declaration order.
    Ring,
    /// The declared nodes in a line, in declaration order.
    Line,
    /// Every declared node linked to the named hub.
    Star(String),
    /// The edges of a GML graph file (the Topology Zoo's format), named by its path
    /// relative to the scenario file or by the path of a file the binary ships; each
    /// GML node's `label` is a declared node's name.
    Gml(String),
}

/// Network parameters: a default for every link and per-link changes.
///
/// Both are [`LinkPatch`]es: `default` applies to `LinkParams::default()`, a link's
/// `params` to the network default. Either may name a link preset from
/// `hardware_models::LINK_PRESETS` and change any of its fields:
/// `default: (preset: "campus-wifi", loss: 0.02)`. The loader expands preset names (and
/// those in `SetLink` / `SetDefaultLink` faults), so the kernel never sees one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    /// Parameters of every link without an override: a patch over
    /// `LinkParams::default()`, possibly naming a preset.
    pub default: LinkPatch,
    /// Per-link changes to the default.
    pub links: Vec<LinkOverride>,
}

impl NetworkSpec {
    /// The parameters of every link without an override (`default` applied to
    /// `LinkParams::default()`; its preset must have been expanded).
    pub fn default_params(&self) -> LinkParams {
        self.default.apply(&LinkParams::default())
    }
}

/// Changes to the default parameters on one link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverride {
    /// One end (the sender when not `both_ways`).
    pub from: String,
    /// The other end.
    pub to: String,
    /// Apply to both directions (default true).
    #[serde(default = "yes")]
    pub both_ways: bool,
    /// The fields that differ from the default.
    pub params: LinkPatch,
}

fn yes() -> bool {
    true
}
