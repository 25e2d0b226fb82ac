//! `dsim bench system` and the timing every benchmark shares: a system generated at a
//! chosen size, run and reported as one JSON object with events per second, wall time,
//! peak memory and memory per node.
//!
//! A registry says how to generate each system it benchmarks ([`Generator`]); engine
//! benchmarks with arguments of their own (dsim's `bench phold`, `bench network`) are
//! registered as [`EngineBench`]es and share [`measure`].
//!
//! Memory comes from `/proc/self/status` (Linux): `VmHWM` is the process's peak
//! resident set, and bytes per node is the growth of `VmRSS` from before the
//! simulation was built to after every node has started, divided by the node count
//! (each node's state, kernel bookkeeping, random stream and its first pending events).

use dsim_scenario::memory;
use dsim_system::{LinkTable, NodeDecl, ScenarioFiles, Setup, System};
use serde_json::{Value, json};
use sim_core::{Metrics, Node, SimConfig, SimTime, Simulation};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::Instant;

/// A system generated at a size: what [`System::build`] gets, and notes for the report
/// (the size of a part the generator chose, say).
pub struct Generated<S: System> {
    /// The system's parameters.
    pub params: S::Params,
    /// The declared nodes.
    pub nodes: Vec<NodeDecl>,
    /// The links' parameters.
    pub network: LinkTable,
    /// Fields added to the report.
    pub notes: serde_json::Map<String, Value>,
}

impl<S: System> Generated<S> {
    /// `params` and `nodes` over default links, without notes.
    pub fn new(params: S::Params, nodes: Vec<NodeDecl>) -> Self {
        Generated {
            params,
            nodes,
            network: LinkTable::default(),
            notes: serde_json::Map::new(),
        }
    }
}

/// The options of `dsim bench system` beyond the size (`--with NAME=N`). A generator
/// reads those it understands; one given but never read is an error.
#[derive(Debug, Default)]
pub struct BenchOptions {
    given: BTreeMap<String, u64>,
    read: RefCell<BTreeSet<String>>,
}

impl BenchOptions {
    /// Options from `NAME=N` strings; the error names the bad one.
    pub fn parse(items: &[String]) -> Result<Self, String> {
        let mut given = BTreeMap::new();
        for item in items {
            let parsed = item
                .split_once('=')
                .and_then(|(k, v)| Some((k.trim(), v.trim().parse::<u64>().ok()?)));
            let Some((name, value)) = parsed else {
                return Err(format!(
                    "--with {item:?}: expected NAME=N with a whole number N"
                ));
            };
            if given.insert(name.to_owned(), value).is_some() {
                return Err(format!("--with {name} is given twice"));
            }
        }
        Ok(BenchOptions {
            given,
            read: RefCell::default(),
        })
    }

    /// The value of option `name`, if given.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.read.borrow_mut().insert(name.to_owned());
        self.given.get(name).copied()
    }

    /// Options given that the generator never read.
    fn unread(&self) -> Vec<&str> {
        let read = self.read.borrow();
        self.given
            .keys()
            .filter(|k| !read.contains(*k))
            .map(String::as_str)
            .collect()
    }
}

/// Makes system `S` at `size` (what the size counts is the generator's to say).
pub type Generator<S> = fn(size: u32, options: &BenchOptions) -> Result<Generated<S>, String>;

/// What `dsim bench system` was asked.
#[derive(Clone, Copy, Debug)]
pub struct BenchRequest {
    /// The size handed to the generator.
    pub size: u32,
    /// Simulated time to run.
    pub until: SimTime,
    /// Whether the system's invariants are checked after every event.
    pub invariants: bool,
    /// The master seed.
    pub seed: u64,
}

/// Generates a system at the requested size and times its run: the JSON report.
type BenchRun = Box<dyn Fn(&BenchRequest, &BenchOptions) -> Result<Value, String> + Send + Sync>;

/// One system `dsim bench system` can generate.
pub struct BenchEntry {
    /// The system's name.
    pub name: &'static str,
    /// What the size counts.
    pub description: &'static str,
    run: BenchRun,
}

impl BenchEntry {
    /// The entry of system `S`, made by `generate`.
    pub(crate) fn new<S: System>(description: &'static str, generate: Generator<S>) -> Self {
        BenchEntry {
            name: S::NAME,
            description,
            run: Box::new(move |request, options| {
                // Every unit of size is at least one node: refuse before generating.
                memory::check_fits(u64::from(request.size), S::BYTES_PER_NODE, S::NAME).map_err(
                    |why| {
                        format!(
                            "bench system {} --size {}: at least {why}",
                            S::NAME,
                            request.size
                        )
                    },
                )?;
                let generated = generate(request.size, options)?;
                if let Some(unread) = options.unread().first() {
                    return Err(format!(
                        "bench system {}: unknown option --with {unread}",
                        S::NAME
                    ));
                }
                run_system::<S>(&generated, request)
            }),
        }
    }
}

/// An engine benchmark with arguments of its own: `dsim bench NAME ARGS...`.
pub struct EngineBench {
    /// The subcommand's name.
    pub name: &'static str,
    /// One line for `dsim bench --help`.
    pub about: &'static str,
    /// Runs it on the arguments after the name; the exit code.
    pub run: fn(&[String]) -> ExitCode,
}

/// `dsim bench system`: the system `name` of `benches`, generated at `request.size`,
/// run to `request.until` with its invariants on or off.
pub fn system(
    benches: &[BenchEntry],
    name: &str,
    request: &BenchRequest,
    options: &BenchOptions,
) -> Result<Value, String> {
    if request.size == 0 {
        return Err("bench system: --size must be positive".into());
    }
    let Some(entry) = benches.iter().find(|b| b.name == name) else {
        let known: Vec<&str> = benches.iter().map(|b| b.name).collect();
        return Err(format!(
            "bench system: unknown system {name:?}; one of: {}",
            known.join(", ")
        ));
    };
    (entry.run)(request, options)
}

/// A value from `/proc/self/status` in bytes (`None` off Linux).
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Current resident set, bytes.
fn rss() -> Option<u64> {
    proc_status_bytes("VmRSS:")
}

/// Build a simulation with `build`, start every node, run it with `run`, and measure;
/// `after` adds what it reads from the finished run, and `extra` fields join the report.
pub fn measure<N: Node>(
    build: impl FnOnce() -> Result<Simulation<N>, String>,
    run: impl FnOnce(&mut Simulation<N>),
    after: impl FnOnce(&mut Simulation<N>, &mut serde_json::Map<String, Value>),
    mut extra: serde_json::Map<String, Value>,
) -> Result<Value, String> {
    let before = rss();
    let built = Instant::now();
    let mut sim = build()?;
    // Start-ups (and everything else due at time zero) are set-up, not measured.
    sim.advance_to(SimTime(0));
    let setup_s = built.elapsed().as_secs_f64();
    let after_build = rss();
    let nodes = sim.world().nodes().count() as u64;
    let first = sim.events();
    let started = Instant::now();
    run(&mut sim);
    let wall = started.elapsed().as_secs_f64();
    let events = sim.events() - first;
    let per_node = match (before, after_build) {
        (Some(b), Some(a)) => json!(a.saturating_sub(b) as f64 / nodes as f64),
        _ => Value::Null,
    };
    extra.extend([
        ("nodes".into(), json!(nodes)),
        ("events".into(), json!(events)),
        ("sim_time_s".into(), json!(sim.now().0 as f64 / 1e9)),
        ("wall_s".into(), json!(wall)),
        ("setup_s".into(), json!(setup_s)),
        ("events_per_s".into(), json!(events as f64 / wall)),
        ("peak_rss_bytes".into(), json!(proc_status_bytes("VmHWM:"))),
        ("bytes_per_node".into(), per_node),
        ("trace_hash".into(), json!(sim.fingerprint().to_string())),
    ]);
    after(&mut sim, &mut extra);
    Ok(Value::Object(extra))
}

/// Build `S` as generated, as the scenario runner does (with every invariant when the
/// request says so), and time a run to the requested time.
fn run_system<S: System>(
    generated: &Generated<S>,
    request: &BenchRequest,
) -> Result<Value, String> {
    let BenchRequest {
        size,
        until,
        invariants,
        seed,
    } = *request;
    let Generated {
        params,
        nodes,
        network,
        notes,
    } = generated;
    let mut extra = serde_json::Map::from_iter([
        ("bench".into(), json!("system")),
        ("system".into(), json!(S::NAME)),
        ("size".into(), json!(size)),
        ("invariants".into(), json!(invariants)),
    ]);
    extra.extend(notes.clone());
    let setup = Setup {
        seed,
        nodes,
        links: &[],
        network,
        files: ScenarioFiles::none(),
    };
    let build = || {
        if invariants {
            return dsim_system::simulation::<S>(params, &setup);
        }
        S::validate(params, &setup)?;
        let mut sim = Simulation::new(SimConfig {
            seed,
            default_link: network.default.clone(),
            keep_trace: false,
        });
        S::build(params, &setup, &mut sim);
        Ok(sim)
    };
    measure(
        build,
        |sim| {
            sim.advance_to(until);
        },
        |sim, out| {
            let outcome = sim.finish();
            let mut metrics = sim.metrics();
            S::report(params, sim, &mut metrics);
            out.insert("metrics".into(), key_metrics::<S>(&metrics));
            let violation = outcome
                .violation
                .map(|v| format!("{}: {}", v.invariant, v.message));
            out.insert("violation".into(), json!(violation));
        },
        extra,
    )
}

/// The system's key metrics after the run, with the reference values and bounds the
/// system reports beside them (`NAME.reference`, `NAME.bound`), so a benchmark shows
/// the run did its work, not only how fast it went.
fn key_metrics<S: System>(metrics: &Metrics) -> Value {
    let mut out = serde_json::Map::new();
    for name in S::KEY_METRICS {
        for full in [
            name.to_string(),
            format!("{name}.reference"),
            format!("{name}.bound"),
        ] {
            if metrics.get(&full).is_some() {
                out.insert(full.clone(), json!(metrics.value(&full)));
            }
        }
    }
    Value::Object(out)
}
