//! dsim-live: `dsim live`, the nodes of a scenario as real UDP endpoints.
//!
//! The same `Node` code that runs in the simulator runs here unchanged, on the wall
//! clock, each node behind its own UDP socket (on 127.0.0.1 unless an address file puts
//! the nodes on several hosts). The run is the scenario's simulation hosted live
//! ([`sim_core::Simulation::host_live`]): timers, random streams, metrics, the trace,
//! crashes, pauses, joins, leaves and partitions keep their simulated meaning, and the
//! scenario's network parameters act at the sender through the network model's own
//! code. The modules: address files ([`address`]), the wire format ([`codec`]) and the
//! runtime loop ([`runtime`]). docs/live.md says what each part of the context means
//! live and how to run one system across machines.

#![warn(missing_docs, unreachable_pub)]

pub mod address;
pub mod codec;
pub mod runtime;

use address::AddressBook;
use dsim_scenario::load_error::LoadError;
use dsim_scenario::loader::{FileSource, load};
use dsim_scenario::runner::{LoadedScenario, Prepared, RunReport, metrics_json};
use dsim_scenario::timeline::MESSAGES_SENT;
use dsim_system::System;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sim_core::{Fault, Node, NodeId, SimTime};

/// What a system's messages must be to travel live: encodable with serde. Every type
/// that derives `Serialize` and `Deserialize` is one.
pub trait Wire: Serialize + DeserializeOwned {}

impl<T: Serialize + DeserializeOwned> Wire for T {}

/// How to run a scenario live (the flags of `dsim live`).
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Wall-clock duration (`--for`); default: the scenario's end time.
    pub duration: Option<SimTime>,
    /// Override the scenario's seed (it seeds the nodes' and links' random streams).
    pub seed: Option<u64>,
    /// The address file (`--addresses`): its name and text. Without one, every node is
    /// on 127.0.0.1 at a port the system picks, all in this process.
    pub addresses: Option<(String, String)>,
    /// The nodes this process hosts (`--host`); default: all.
    pub host: Vec<String>,
    /// Keep trace records (for `--trace`).
    pub keep_trace: bool,
    /// Record the key metrics over time (for `--report`).
    pub timeline: bool,
    /// The largest datagram sent or accepted, in bytes.
    pub max_datagram: usize,
    /// When the run starts (`--start-at`), the same for every process of a run across
    /// machines; `None`: at once.
    pub start_at: Option<std::time::SystemTime>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            duration: None,
            seed: None,
            addresses: None,
            host: Vec::new(),
            keep_trace: false,
            timeline: false,
            max_datagram: codec::MAX_DATAGRAM,
            start_at: None,
        }
    }
}

/// How a live run ended.
pub struct LiveOutcome {
    /// The report, as a simulated run's, with the socket counters (`live.*`).
    pub report: RunReport,
    /// The nodes this process hosted.
    pub hosted: Vec<String>,
    /// The wall-clock duration the run was given.
    pub until: SimTime,
}

/// A scenario loaded to run live.
pub trait LiveScenario {
    /// The scenario as loaded (its name, files, end time).
    fn loaded(&self) -> &dyn LoadedScenario;
    /// Run it live; `text` is the scenario text as run (the processes of one run must
    /// agree on it: it tags their datagrams). An error (a fault with no live meaning, a
    /// bad address file, a port that cannot be bound) ends the command with exit 2.
    fn run_live(&self, text: &str, options: &LiveOptions) -> Result<LiveOutcome, String>;
}

/// Load scenario `text` (from `file`) of system `S` to run live: what the entry of `S`
/// in a `Registry` (dsim-harness) calls.
pub fn load_live<S: System>(
    file: &str,
    text: &str,
    files: &FileSource<'_>,
) -> Result<Box<dyn LiveScenario>, LoadError>
where
    <S::Node as Node>::Msg: Wire,
{
    Ok(Box::new(load::<S>(file, text, files)?))
}

/// Why a fault of the plan cannot run live, if it cannot.
pub fn no_live_meaning<N>(fault: &Fault<N>) -> Option<&'static str> {
    match fault {
        Fault::ClockDrift { .. } | Fault::ClockJump { .. } => {
            Some("a live node's clock is its host's clock, which dsim neither drifts nor steps")
        }
        _ => None,
    }
}

impl<S: System> LiveScenario for Prepared<S>
where
    <S::Node as Node>::Msg: Wire,
{
    fn loaded(&self) -> &dyn LoadedScenario {
        self
    }

    fn run_live(&self, text: &str, options: &LiveOptions) -> Result<LiveOutcome, String> {
        let scenario = self.scenario();
        let until = options.duration.unwrap_or_else(|| self.end_time(&[]));
        for (i, f) in scenario.faults.iter().enumerate() {
            if let Some(why) = no_live_meaning(&f.fault).filter(|_| f.at <= until) {
                return Err(format!(
                    "faults[{i}] ({} at {}) has no live meaning: {why}; remove it, or end the live run before it with --for",
                    f.fault.name(),
                    f.at
                ));
            }
        }
        let seed = options.seed.unwrap_or(scenario.seed);
        let mut sim = self
            .build(seed, options.keep_trace, &[])
            .map_err(|(_, m)| m)?;
        let names: Vec<String> = {
            let world = sim.world();
            world
                .nodes()
                .map(|(id, _, _)| world.name(id).to_owned())
                .collect()
        };
        let book = match &options.addresses {
            Some((file, text)) => AddressBook::parse(file, text, &names)?,
            None if !options.host.is_empty() => {
                return Err("--host picks this process's nodes among those of an address file: give --addresses too".into());
            }
            None => AddressBook::loopback(names.len()),
        };
        let hosted: Vec<NodeId> = if options.host.is_empty() {
            (0..names.len() as u32).map(NodeId).collect()
        } else {
            let mut ids = Vec::new();
            for name in &options.host {
                let id = sim
                    .lookup(name)
                    .ok_or_else(|| format!("--host {name}: no such node in the scenario"))?;
                ids.push(id);
            }
            ids.sort();
            ids.dedup();
            ids
        };
        let timeline = options.timeline.then(|| {
            let mut names = S::KEY_METRICS.to_vec();
            names.push(MESSAGES_SENT);
            names
        });
        let config = runtime::LiveConfig {
            until,
            tag: codec::run_tag(text, seed),
            max_datagram: options.max_datagram,
            hosted: hosted.clone(),
            names: names.clone(),
            book,
            timeline,
            start_at: options.start_at,
        };
        let (counters, timeline) = runtime::run(&mut sim, config)?;
        let outcome = sim.finish();
        let mut report = self.report(&sim, outcome, seed, options.keep_trace, timeline, &[]);
        counters.export(&mut report.raw_metrics);
        report.metrics = metrics_json(&report.raw_metrics);
        Ok(LiveOutcome {
            report,
            hosted: hosted.iter().map(|n| names[n.index()].clone()).collect(),
            until,
        })
    }
}
