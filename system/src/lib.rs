//! dsim-system: the interface every hosted system implements, so the scenario runner can build and
//! run it without knowing anything about it.
//!
//! A system declares its parameter type (deserialized from the scenario file), the node
//! roles it understands, how it populates a [`Simulation`] from a [`Setup`], its named
//! invariants, and the metrics it reports at the end of a run.

#![warn(missing_docs, unreachable_pub)]

pub mod gml;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sim_core::{
    Fault, Invariant, LinkParams, Metrics, Node, NodeId, ScheduledFault, SimConfig, SimTime,
    Simulation, Violation,
};
use std::collections::BTreeMap;

/// What the scenario file says about a node, independent of the system.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeDecl {
    /// Unique name (keys the node's random stream).
    pub name: String,
    /// Role within the system (`"pinger"`, `"gate"`, ...), checked by the system.
    pub role: String,
    /// When the node starts; `None` means it waits for a `Join` fault.
    pub start: Option<SimTime>,
}

/// Which topologies a system can run on; the loader checks it before building.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopologyRule {
    /// The system ignores the topology (logical processes, or everyone reaches everyone).
    Any,
    /// At least one link, and the graph of declared nodes is connected.
    Connected,
    /// Connected and without cycles.
    Tree,
}

/// The link parameters a scenario gives, presets expanded: the default, and the
/// directed links that differ from it. Systems read it to check, at load time, that
/// their messages fit the links they will run over (an MTU, say).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkTable {
    /// Parameters of every link without an override.
    pub default: LinkParams,
    /// Directed links `(from, to)` by node name, with their own parameters.
    pub overrides: BTreeMap<(String, String), LinkParams>,
}

impl LinkTable {
    /// The parameters of the directed link `from -> to`.
    pub fn params(&self, from: &str, to: &str) -> &LinkParams {
        self.overrides
            .get(&(from.to_owned(), to.to_owned()))
            .unwrap_or(&self.default)
    }

    /// Give `sim`'s links these parameters (the default is set when the simulation is
    /// created; this installs the overrides). An override naming a node `sim` does not
    /// have is returned as the error.
    pub fn install<N: Node>(&self, sim: &mut Simulation<N>) -> Result<(), String> {
        for ((from, to), params) in &self.overrides {
            let id = |name: &String| sim.lookup(name).ok_or_else(|| name.clone());
            let (from, to) = (id(from)?, id(to)?);
            sim.network_mut().set_link(from, to, params.clone());
        }
        Ok(())
    }
}

/// The files a scenario names (a GML topology, say), read once by the loader: each path
/// as the scenario writes it, with the file's text. Systems read them from here, never
/// from the disk, so that a trace, a sweep manifest or a counterexample that carries
/// them reproduces the run in another folder or on another machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScenarioFiles(BTreeMap<String, String>);

/// The files of a scenario that names none.
static NO_FILES: ScenarioFiles = ScenarioFiles(BTreeMap::new());

impl ScenarioFiles {
    /// No files: for systems built without a scenario file.
    pub fn none() -> &'static ScenarioFiles {
        &NO_FILES
    }

    /// Add (or replace) the file `path` with its `text`.
    pub fn insert(&mut self, path: &str, text: String) {
        self.0.insert(path.to_owned(), text);
    }

    /// The text of the file `path`; the error, for a path [`System::files`] did not
    /// name, says so.
    pub fn get(&self, path: &str) -> Result<&str, String> {
        self.0.get(path).map(String::as_str).ok_or_else(|| {
            format!("{path:?} was not read with the scenario (System::files did not name it)")
        })
    }

    /// Every file, by path, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(p, t)| (p.as_str(), t.as_str()))
    }

    /// Whether the scenario named no files.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Everything a system needs to populate a simulation.
#[derive(Clone, Debug)]
pub struct Setup<'a> {
    /// The master seed (already given to the simulation; systems that draw their own
    /// layout, such as random graphs, derive it from here).
    pub seed: u64,
    /// The nodes the scenario declares, in file order.
    pub nodes: &'a [NodeDecl],
    /// Undirected links of the topology by node name (empty when fully connected).
    pub links: &'a [(String, String)],
    /// The link parameters the simulation will run with (the runner installs them).
    pub network: &'a LinkTable,
    /// The files the parameters name ([`System::files`]), read by the loader.
    pub files: &'a ScenarioFiles,
}

/// A system the runner can host.
pub trait System: 'static {
    /// The name scenario files use in `system: "..."`.
    const NAME: &'static str;
    /// One line for `dsim list`.
    const DESCRIPTION: &'static str;
    /// The roles the system accepts in `nodes`.
    const ROLES: &'static [&'static str];
    /// Which topologies make sense for it.
    const TOPOLOGY: TopologyRule;
    /// The metrics that say how the system is doing, most telling first: reports draw
    /// those recorded during the run over time, and sweep reports chart each against
    /// the swept parameters (with `NAME.reference`, a theoretical or published value,
    /// and `NAME.bound`, a proven bound, when the system writes them).
    const KEY_METRICS: &'static [&'static str] = &[];
    /// Bytes of memory one node takes in a run (its state, the kernel's bookkeeping, its
    /// random streams, its first pending events), as `dsim bench system` measures it.
    /// The loader refuses a scenario whose nodes cannot fit in the machine's memory
    /// before it allocates them.
    const BYTES_PER_NODE: u64 = 1024;
    /// The system's parameters (`params: (...)` in the scenario file).
    type Params: DeserializeOwned + Serialize + Default + Clone + Send + Sync;
    /// The system's node type.
    type Node: Node + 'static;

    /// The files the parameters name (a topology, say), as the scenario writes their
    /// paths: relative to the scenario file, or the path of a file the registry ships.
    /// The loader reads them before [`System::validate`] and hands them over in
    /// [`Setup::files`]. The default names none.
    fn files(_params: &Self::Params) -> Vec<String> {
        Vec::new()
    }

    /// The nodes the system builds from its parameters beyond the declared ones
    /// (PHOLD's logical processes, a random graph's peers) and the parameter that sets
    /// their number, so that the loader can refuse a count the machine cannot hold before
    /// anything is built. The default builds none.
    fn generated_nodes(_params: &Self::Params) -> Option<(u64, &'static str)> {
        None
    }

    /// Check parameters against each other and the declared nodes; the error names the
    /// parameter.
    fn validate(params: &Self::Params, setup: &Setup<'_>) -> Result<(), String>;

    /// Add the system's nodes to `sim` (declared ones, and any it generates).
    fn build(params: &Self::Params, setup: &Setup<'_>, sim: &mut Simulation<Self::Node>);

    /// The system's named invariants.
    fn invariants(params: &Self::Params) -> Vec<Box<dyn Invariant<Self::Node>>>;

    /// Write end-of-run metrics computed from the nodes' final state.
    fn report(params: &Self::Params, sim: &Simulation<Self::Node>, metrics: &mut Metrics);
}

/// Add every declared node with the state `make(decl)` returns, honouring start times.
pub fn add_declared<N: Node>(
    sim: &mut Simulation<N>,
    nodes: &[NodeDecl],
    mut make: impl FnMut(&NodeDecl) -> N,
) -> Vec<NodeId> {
    nodes
        .iter()
        .map(|d| sim.add_node_at(&d.name, make(d), d.start))
        .collect()
}

/// Each node of role `from` paired with a node of role `to`, round robin: the k-th
/// `from` node gets the (k mod n)-th of the n `to` nodes, in declaration order.
pub fn round_robin_pairs<'a>(
    nodes: &'a [NodeDecl],
    from: &str,
    to: &str,
) -> Vec<(&'a NodeDecl, &'a NodeDecl)> {
    let targets: Vec<&NodeDecl> = nodes.iter().filter(|n| n.role == to).collect();
    if targets.is_empty() {
        return Vec::new();
    }
    nodes
        .iter()
        .filter(|n| n.role == from)
        .enumerate()
        .map(|(k, n)| (n, targets[k % targets.len()]))
        .collect()
}

/// System `S` built without a scenario file, as the scenario runner builds it: the
/// parameters validated against `setup`, the nodes added, the topology and link table
/// installed, every invariant on. For tests and programs that embed a system.
pub fn simulation<S: System>(
    params: &S::Params,
    setup: &Setup<'_>,
) -> Result<Simulation<S::Node>, String> {
    S::validate(params, setup)?;
    let mut sim = Simulation::new(SimConfig {
        seed: setup.seed,
        default_link: setup.network.default.clone(),
        keep_trace: false,
    });
    S::build(params, setup, &mut sim);
    if !setup.links.is_empty() {
        let mut pairs = Vec::new();
        for (a, b) in setup.links {
            let id = |n: &String| sim.lookup(n).ok_or_else(|| format!("unknown node {n:?}"));
            let (a, b) = (id(a)?, id(b)?);
            pairs.extend([(a, b), (b, a)]);
        }
        sim.network_mut().set_topology(pairs);
    }
    setup
        .network
        .install(&mut sim)
        .map_err(|n| format!("the link table names unknown node {n:?}"))?;
    for invariant in S::invariants(params) {
        sim.add_invariant(invariant);
    }
    Ok(sim)
}

/// Schedule `faults`, whose nodes are named, on `sim`; an unknown name is the error.
pub fn schedule_named<N: Node>(
    sim: &mut Simulation<N>,
    faults: &[(SimTime, Fault<String>)],
) -> Result<(), String> {
    for (at, fault) in faults {
        let fault = fault
            .clone()
            .map_nodes(&mut |n: String| sim.lookup(&n).ok_or(n))
            .map_err(|n| format!("a fault names unknown node {n:?}"))?;
        sim.schedule_fault(ScheduledFault { at: *at, fault });
    }
    Ok(())
}

/// A finished run: the simulation, its metrics with the system's report, and the
/// violation that stopped it, if any.
pub struct Finished<N: Node> {
    /// The simulation at the end.
    pub sim: Simulation<N>,
    /// Kernel and node metrics plus [`System::report`].
    pub metrics: Metrics,
    /// The violation, if one stopped the run.
    pub violation: Option<Violation>,
}

/// Build `S` as [`simulation`] does, schedule `faults` and run to `until`.
pub fn run_to<S: System>(
    params: &S::Params,
    setup: &Setup<'_>,
    until: SimTime,
    faults: &[(SimTime, Fault<String>)],
) -> Result<Finished<S::Node>, String> {
    let mut sim = simulation::<S>(params, setup)?;
    schedule_named(&mut sim, faults)?;
    let violation = sim.run_until(until).violation;
    let mut metrics = sim.metrics();
    S::report(params, &sim, &mut metrics);
    Ok(Finished {
        sim,
        metrics,
        violation,
    })
}
