//! Running a loaded scenario: build the simulation, apply the fault plan, run with the
//! selected invariants, and gather the report that `dsim run --json` prints.

use crate::schema::Scenario;
use crate::timeline::{MESSAGES_SENT, TimeSeries, TimelineRecorder};
use dsim_system::{LinkTable, NodeDecl, ScenarioFiles, Setup, System};
use serde::Serialize;
use serde_json::{Map, Value};
use sim_core::fault_plan::FaultBudget;
use sim_core::{
    LinkParams, Metric, Metrics, RunOutcome, ScheduledFault, SimConfig, SimTime, Simulation,
    Summary, TraceRecord,
};
use std::collections::BTreeMap;

/// How to run a scenario (flags of `dsim run`).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Override the scenario's seed.
    pub seed: Option<u64>,
    /// Stop at this time instead of the scenario's duration.
    pub until: Option<SimTime>,
    /// Keep trace records (for `--trace` and `verify`).
    pub keep_trace: bool,
    /// Faults added to the scenario's own plan (what `dsim explore` draws).
    pub extra_faults: Vec<ScheduledFault<String>>,
    /// Record the system's key metrics over time (for `--report`).
    pub timeline: bool,
    /// Stop with a violation of `event_budget` after this many events: a runaway
    /// (`dsim explore` sets it from the clean run; `dsim run --max-events`).
    pub max_events: Option<u64>,
    /// Let every invariant see every node after every event (a full scan) instead of
    /// the node the event changed: slow, the reference an incremental invariant must
    /// agree with (`dsim run --full-checks`).
    pub full_checks: bool,
}

/// One invariant violation, as printed in JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ViolationReport {
    /// Invariant name.
    pub invariant: String,
    /// Simulated time of the violation.
    pub time_ns: u64,
    /// What went wrong, and after which event.
    pub message: String,
    /// Whether an end-of-run (liveness) check failed, rather than one after an event.
    #[serde(skip)]
    pub at_end: bool,
}

/// The result of one run: the JSON contract of `dsim run --json`.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Scenario name.
    pub scenario: String,
    /// Seed used.
    pub seed: u64,
    /// Simulated time at the end.
    pub sim_time_ns: u64,
    /// Events processed.
    pub events: u64,
    /// The run's 128-bit fingerprint in hex.
    pub trace_hash: String,
    /// Violations (at most one: a violation stops the run).
    pub violations: Vec<ViolationReport>,
    /// Metrics by name: numbers, or summaries of sample sets.
    pub metrics: Map<String, Value>,
    /// Trace records, when kept (not part of the JSON).
    #[serde(skip)]
    pub records: Vec<TraceRecord>,
    /// The metrics as recorded, sample sets whole (for reports; not part of the JSON).
    #[serde(skip)]
    pub raw_metrics: Metrics,
    /// Node names by node id (for reports; not part of the JSON).
    #[serde(skip)]
    pub node_names: Vec<String>,
    /// The key metrics over time, when asked for (for reports; not part of the JSON).
    #[serde(skip)]
    pub timeline: Vec<TimeSeries>,
    /// The faults of the plan, as (time, what and whom), in time order (for reports; not
    /// part of the JSON).
    #[serde(skip)]
    pub faults: Vec<(SimTime, String)>,
}

impl RunReport {
    /// Panic unless the run violated nothing; the message names the violation.
    pub fn assert_clean(&self) {
        if let Some(v) = self.violations.first() {
            panic!(
                "{} (seed {}) violated {} at {}: {}",
                self.scenario,
                self.seed,
                v.invariant,
                SimTime(v.time_ns),
                v.message
            );
        }
    }

    /// The numeric value of metric `name` (a counter or gauge, or the mean of a sample
    /// set), if the run reported it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let value = self.metrics.get(name)?;
        value.as_f64().or_else(|| value.get("mean")?.as_f64())
    }
}

/// A scenario parsed, checked and ready to run any number of times.
pub trait LoadedScenario: Sync {
    /// The scenario's name.
    fn name(&self) -> &str;
    /// The scenario's own seed.
    fn seed(&self) -> u64;
    /// The scenario's duration.
    fn duration(&self) -> SimTime;
    /// Node names (what fault plans may target): the declared nodes in declaration
    /// order, or, when the scenario declares none, the nodes the system built from its
    /// parameters, by node id.
    fn node_names(&self) -> Vec<String>;
    /// The default link parameters (what network fault episodes restore).
    fn default_link(&self) -> LinkParams;
    /// The files the scenario names, as read at load time: traces, sweep manifests and
    /// counterexamples carry them, so that a re-run reads the same.
    fn files(&self) -> &ScenarioFiles;
    /// The scenario's fault budget for `dsim explore`.
    fn budget(&self) -> FaultBudget;
    /// How many nodes a run of it holds and the bytes each takes
    /// ([`System::BYTES_PER_NODE`]): what runs in parallel multiply.
    fn memory_per_run(&self) -> (u64, u64);
    /// The system's key metrics ([`System::KEY_METRICS`]), what reports chart.
    fn key_metrics(&self) -> &'static [&'static str];
    /// When a run with `extra` faults ends: the duration, or, with a quiet period, at
    /// least that long after the last fault.
    fn end_time(&self, extra: &[ScheduledFault<String>]) -> SimTime;
    /// The scenario as RON with `extra` faults added to its plan, its seed set to
    /// `seed` and its duration to `duration` (its own faults after that dropped): a
    /// file `dsim run` reproduces exactly.
    fn to_ron(&self, seed: u64, extra: &[ScheduledFault<String>], duration: SimTime) -> String;
    /// Run it; `progress(now, until)` is called between slices of simulated time.
    fn run(
        &self,
        options: &RunOptions,
        progress: &mut dyn FnMut(SimTime, SimTime),
    ) -> Result<RunReport, String>;
}

/// A scenario of system `S`, checked, with its nodes expanded and topology resolved.
pub struct Prepared<S: System> {
    pub(crate) scenario: Scenario<S::Params>,
    pub(crate) nodes: Vec<NodeDecl>,
    pub(crate) links: Vec<(String, String)>,
    /// The scenario's link parameters, presets resolved.
    pub(crate) network: LinkTable,
    /// The files the scenario names, as read at load time.
    pub(crate) files: ScenarioFiles,
    /// The names of the nodes the system built at load time (the declared ones, or
    /// those a system that builds its own nodes made), by node id.
    pub(crate) built_names: Vec<String>,
}

impl<S: System> Prepared<S> {
    /// The scenario as loaded.
    pub fn scenario(&self) -> &Scenario<S::Params> {
        &self.scenario
    }

    /// The simulation for `seed`, built with the fault plan and invariants, not yet run.
    pub fn simulation(&self, seed: u64) -> Simulation<S::Node> {
        self.build(seed, false, &[])
            .expect("loading built this scenario once already")
    }

    /// Build the simulation for `seed`, keeping trace records if `keep_trace`, with the
    /// scenario's faults and `extra_faults`; an error names a node the fault plan or the
    /// network refers to but the system does not have: (the name, the message).
    pub fn build(
        &self,
        seed: u64,
        keep_trace: bool,
        extra_faults: &[ScheduledFault<String>],
    ) -> Result<Simulation<S::Node>, (String, String)> {
        let s = &self.scenario;
        let mut sim = Simulation::new(SimConfig {
            seed,
            default_link: self.network.default.clone(),
            keep_trace,
        });
        let setup = Setup {
            seed,
            nodes: &self.nodes,
            links: &self.links,
            network: &self.network,
            files: &self.files,
        };
        S::build(&s.params, &setup, &mut sim);
        let id = |sim: &Simulation<S::Node>, name: &str| {
            sim.lookup(name)
                .ok_or_else(|| (name.to_owned(), format!("unknown node {name:?}")))
        };
        if !self.links.is_empty() {
            let mut pairs = Vec::new();
            for (a, b) in &self.links {
                let (a, b) = (id(&sim, a)?, id(&sim, b)?);
                pairs.extend([(a, b), (b, a)]);
            }
            sim.network_mut().set_topology(pairs);
        }
        self.network.install(&mut sim).map_err(|name| {
            (
                name.clone(),
                format!("network.links names unknown node {name:?}"),
            )
        })?;
        for (i, f) in s.faults.iter().chain(extra_faults).enumerate() {
            let fault = f
                .fault
                .clone()
                .map_nodes(&mut |n: String| id(&sim, &n))
                .map_err(|(name, _)| {
                    let message = format!(
                        "faults[{i}] ({}) names unknown node {name:?}; nodes are: {}",
                        f.fault.name(),
                        some_names(&sim)
                    );
                    (name, message)
                })?;
            sim.schedule_fault(ScheduledFault { at: f.at, fault });
        }
        for inv in S::invariants(&s.params) {
            let selected = s
                .invariants
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n == inv.name()));
            if selected {
                sim.add_invariant(inv);
            }
        }
        Ok(sim)
    }
}

impl<S: System> LoadedScenario for Prepared<S> {
    fn name(&self) -> &str {
        &self.scenario.name
    }

    fn seed(&self) -> u64 {
        self.scenario.seed
    }

    fn duration(&self) -> SimTime {
        self.scenario.duration
    }

    fn node_names(&self) -> Vec<String> {
        if self.nodes.is_empty() {
            self.built_names.clone()
        } else {
            self.nodes.iter().map(|n| n.name.clone()).collect()
        }
    }

    fn default_link(&self) -> LinkParams {
        self.network.default.clone()
    }

    fn files(&self) -> &ScenarioFiles {
        &self.files
    }

    fn memory_per_run(&self) -> (u64, u64) {
        let generated = S::generated_nodes(&self.scenario.params).map_or(0, |(n, _)| n);
        (self.nodes.len() as u64 + generated, S::BYTES_PER_NODE)
    }

    fn budget(&self) -> FaultBudget {
        self.scenario.explore.clone().unwrap_or_default()
    }

    fn key_metrics(&self) -> &'static [&'static str] {
        S::KEY_METRICS
    }

    fn end_time(&self, extra: &[ScheduledFault<String>]) -> SimTime {
        let s = &self.scenario;
        let last = s.faults.iter().chain(extra).map(|f| f.at).max();
        match (s.quiet, last) {
            (Some(quiet), Some(last)) => s.duration.max(last + quiet),
            _ => s.duration,
        }
    }

    fn to_ron(&self, seed: u64, extra: &[ScheduledFault<String>], duration: SimTime) -> String {
        let mut scenario = self.scenario.clone();
        // The budget keeps its window in the scenario's own time: a budget without an
        // end ended with the scenario.
        if let Some(budget) = &mut scenario.explore {
            budget.until.get_or_insert(scenario.duration);
        }
        scenario.seed = seed;
        scenario.duration = duration;
        // The scenario's own faults after the new end could not fire: drop them.
        scenario.faults.retain(|f| f.at <= duration);
        scenario.faults.extend(extra.iter().cloned());
        scenario.faults.sort_by_key(|f| f.at);
        let config = ron::ser::PrettyConfig::default().struct_names(true);
        ron::ser::to_string_pretty(&scenario, config).expect("scenarios serialize")
    }

    fn run(
        &self,
        options: &RunOptions,
        progress: &mut dyn FnMut(SimTime, SimTime),
    ) -> Result<RunReport, String> {
        let seed = options.seed.unwrap_or(self.scenario.seed);
        let extra = &options.extra_faults;
        let mut sim = self
            .build(seed, options.keep_trace, extra)
            .map_err(|(_, m)| m)?;
        if let Some(budget) = options.max_events {
            sim.set_event_budget(budget);
        }
        sim.set_full_checks(options.full_checks);
        let until = options.until.unwrap_or_else(|| self.end_time(extra));
        let mut timeline = options.timeline.then(|| {
            let mut names = S::KEY_METRICS.to_vec();
            names.push(MESSAGES_SENT);
            TimelineRecorder::new(&names)
        });
        // Slices of simulated time: progress is reported, and the timeline sampled,
        // between them.
        let slices: u64 = if timeline.is_some() { 200 } else { 100 };
        for i in 1..=slices {
            let t = SimTime((u128::from(until.0) * u128::from(i) / u128::from(slices)) as u64);
            let more = sim.advance_to(t);
            if let Some(recorder) = &mut timeline {
                let now = if more { t } else { sim.world().now() };
                recorder.sample(now, &[sim.world().metrics(), &sim.network_counters()]);
            }
            if !more {
                break;
            }
            progress(t, until);
        }
        let outcome = sim.finish();
        let timeline = timeline.map(TimelineRecorder::finish).unwrap_or_default();
        Ok(self.report(&sim, outcome, seed, options.keep_trace, timeline, extra))
    }
}

impl<S: System> Prepared<S> {
    /// The report of a run of this scenario that ended with `outcome`: `sim`'s metrics
    /// with the system's own ([`System::report`]), its trace records if `keep_trace`, the
    /// key metrics over time and the faults of the plan (the scenario's and `extra`).
    /// Simulated and live runs (`dsim live`) report through it alike.
    pub fn report(
        &self,
        sim: &Simulation<S::Node>,
        outcome: RunOutcome,
        seed: u64,
        keep_trace: bool,
        timeline: Vec<TimeSeries>,
        extra: &[ScheduledFault<String>],
    ) -> RunReport {
        let mut metrics = sim.metrics();
        S::report(&self.scenario.params, sim, &mut metrics);
        let mut records = Vec::new();
        if keep_trace {
            records = sim.trace_records().to_vec();
        }
        RunReport {
            scenario: self.scenario.name.clone(),
            seed,
            sim_time_ns: outcome.end_time.0,
            events: outcome.events,
            trace_hash: sim.fingerprint().to_string(),
            violations: outcome
                .violation
                .into_iter()
                .map(|v| ViolationReport {
                    invariant: v.invariant,
                    time_ns: v.time.0,
                    at_end: v.event == sim_core::sim::END_OF_RUN,
                    message: format!("{} (after {})", v.message, v.event),
                })
                .collect(),
            metrics: metrics_json(&metrics),
            records,
            raw_metrics: metrics,
            node_names: {
                let world = sim.world();
                world
                    .nodes()
                    .map(|(id, _, _)| world.name(id).to_owned())
                    .collect()
            },
            timeline,
            faults: fault_marks(&self.scenario.faults, extra),
        }
    }
}

/// The faults of a plan as (time, "crash N3" and the like), in time order.
fn fault_marks(
    plan: &[ScheduledFault<String>],
    extra: &[ScheduledFault<String>],
) -> Vec<(SimTime, String)> {
    let mut marks: Vec<(SimTime, String)> = plan
        .iter()
        .chain(extra)
        .map(|f| {
            let mut nodes = Vec::new();
            let _ = f.fault.clone().map_nodes(&mut |n: String| {
                nodes.push(n);
                Ok::<(), ()>(())
            });
            let what = std::iter::once(f.fault.name().to_owned()).chain(nodes);
            (f.at, what.collect::<Vec<_>>().join(" "))
        })
        .collect();
    marks.sort();
    marks
}

/// The first few node names of `sim`, for error messages.
fn some_names<N: sim_core::Node>(sim: &Simulation<N>) -> String {
    const SHOWN: usize = 8;
    let world = sim.world();
    let names: Vec<&str> = world
        .nodes()
        .take(SHOWN)
        .map(|(id, _, _)| world.name(id))
        .collect();
    let total = world.nodes().count();
    if total > SHOWN {
        format!("{}, ... ({total} in all)", names.join(", "))
    } else {
        names.join(", ")
    }
}

/// Metrics as JSON: counters and gauges as numbers, sample sets as summaries, tables as
/// lists of lists.
pub fn metrics_json(metrics: &Metrics) -> Map<String, Value> {
    let mut out = BTreeMap::new();
    for (name, m) in metrics.iter() {
        let v = match m {
            Metric::Counter(x) | Metric::Gauge(x) => serde_json::json!(x),
            Metric::Samples(s) => {
                serde_json::to_value(Summary::of(s)).expect("summaries serialize")
            }
            Metric::Tally(t) => serde_json::json!(t),
            Metric::Rows(r) => serde_json::json!(r),
        };
        out.insert(name.to_owned(), v);
    }
    out.into_iter().collect()
}
