//! The `dsim` command line, for the systems of any [`Registry`]: dsim's own binary and
//! a user's binary call [`main`] with theirs.
//!
//! Exit status: 0 ran clean, 1 an invariant was violated (or `verify` found a
//! difference), 2 bad input or usage, with a one-paragraph error on stderr, 3 out of
//! memory (with [`ReportingAllocator`] installed).

mod alloc;

pub use alloc::{OUT_OF_MEMORY, ReportingAllocator};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use dsim_harness::Registry;
use dsim_harness::bench::{BenchOptions, BenchRequest};
use dsim_harness::explore;
use dsim_report::run as report;
use dsim_scenario::load_error::LoadError;
use dsim_scenario::loader::ron_options;
use dsim_scenario::memory;
use dsim_scenario::overrides::apply_override;
use dsim_scenario::runner::{LoadedScenario, RunOptions, RunReport};
use dsim_scenario::trace_file::{self, TraceHeader};
use dsim_system::ScenarioFiles;
use indicatif::{ProgressBar, ProgressStyle};
use reports::sequence::Window;
use sim_core::SimTime;
use sim_core::sim::EVENT_BUDGET;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// dsim: a deterministic discrete-event simulator for distributed and IoT systems.
#[derive(Parser, Debug)]
#[command(name = "dsim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario file (or a library scenario by name), or the whole library with --all.
    Run(RunArgs),
    /// Re-run the scenario a trace file carries and compare, record by record.
    Verify {
        /// A trace file written by `dsim run --trace`.
        trace: PathBuf,
    },
    /// Run a scenario many times under fault plans drawn from its budget; shrink the
    /// first violation to a small plan and write it as a scenario that `dsim run`
    /// reproduces. Exit 1 when a violation was found (the file's path is the last line).
    Explore(ExploreArgs),
    /// Run a scenario over the product of parameter values and seeds, in parallel, or
    /// one shard of it; write the runs and a manifest to --out (see docs/sweep.md).
    /// Exit 1 when a run violated an invariant.
    Sweep(SweepArgs),
    /// Merge the output directories of a sweep's shards: check no run is missing or
    /// duplicated, and print every metric's mean and 95% interval per point.
    SweepMerge(SweepMergeArgs),
    /// List the scenario library, the hosted systems and what `bench system` generates.
    List,
    /// Engine benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Draw the HTML report of a run directory written by `dsim run --report` (or of
    /// every trace file in a directory of `dsim run --trace` files).
    Report(ReportArgs),
    /// Run a scenario's nodes as real UDP endpoints on the wall clock, the scenario's
    /// network applied at the sender (see docs/live.md). Not deterministic. Exit 1 when
    /// an invariant was violated.
    Live(LiveArgs),
}

#[derive(clap::Args, Debug)]
struct LiveArgs {
    /// Scenario file, or the name of a library scenario (see `dsim list`).
    file: String,
    /// Run for this wall-clock time (e.g. "10s") instead of the scenario's duration.
    #[arg(long = "for", value_parser = parse_time, value_name = "DURATION")]
    duration: Option<SimTime>,
    /// Seed instead of the scenario's (it seeds the nodes' and links' random streams).
    #[arg(long)]
    seed: Option<u64>,
    /// Address file: one `NODE IP:PORT` line per node of the run, for nodes on several
    /// hosts. Without it every node binds 127.0.0.1 at a port the system picks.
    #[arg(long, value_name = "FILE")]
    addresses: Option<PathBuf>,
    /// The nodes this process hosts (repeatable, or comma-separated); the others run
    /// in other processes. Default: every node. Needs --addresses.
    #[arg(long = "host", value_name = "NODE", value_delimiter = ',')]
    host: Vec<String>,
    /// Override a field by dotted path with a RON value, as with `dsim run`.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Write the trace (header marked live, and records) to this file.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Write a report directory, as `dsim run --report` does.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Print exactly one JSON object.
    #[arg(long)]
    json: bool,
    /// The largest datagram sent or accepted, in bytes (larger ones are counted and
    /// dropped).
    #[arg(long, value_name = "BYTES", default_value_t = dsim_live::codec::MAX_DATAGRAM)]
    max_datagram: usize,
    /// Start the run (its time zero) at this Unix time in seconds, e.g.
    /// $(($(date +%s) + 5)): every process of a run across machines is given the same.
    #[arg(long, value_name = "UNIX_SECONDS", value_parser = parse_unix_time)]
    start_at: Option<std::time::SystemTime>,
}

fn parse_unix_time(s: &str) -> Result<std::time::SystemTime, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds since 1970"))?;
    if !(secs.is_finite() && secs >= 0.0) {
        return Err(format!("{s:?} is not a number of seconds since 1970"));
    }
    Ok(std::time::UNIX_EPOCH + Duration::from_secs_f64(secs))
}

#[derive(clap::Args, Debug)]
struct ReportArgs {
    /// A run directory (holding run.json), a directory of trace files (*.jsonl), or the
    /// directories of one sweep's shards (`dsim sweep --out`; the report is written
    /// into the first).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Open the sequence chart at the records of FROM..TO (e.g. 1s..1.5s) among those
    /// the directory kept.
    #[arg(long, value_parser = parse_window)]
    window: Option<Window>,
    /// A sweep's metric to chart against the parameters (repeatable); default: the
    /// system's key metrics and the messages sent.
    #[arg(long = "metric", value_name = "NAME")]
    metrics: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct ExploreArgs {
    /// Scenario file, or the name of a library scenario.
    file: String,
    /// How many runs.
    #[arg(long, default_value_t = 1000)]
    runs: u64,
    /// Seed of the exploration (every run's seed and plan derive from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fault kinds instead of the scenario's: all, network, process, clock, or a comma
    /// list of loss, duplication, reordering, delay, partition, one-way-partition,
    /// isolation, crash, pause, drift, jump.
    #[arg(long)]
    faults: Option<String>,
    /// Worker threads (default: the machine's cores). The result does not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Directory for the counterexample scenario.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Event budget of every run: a run that reaches it ran away, and is reported
    /// (default: 10 times the events of the scenario's clean run, at least 100,000).
    #[arg(long, value_name = "N")]
    max_events: Option<u64>,
    /// Override a field by dotted path, as with `dsim run`.
    #[arg(long)]
    set: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct SweepArgs {
    /// Scenario file, or the name of a library scenario.
    file: String,
    /// Seeds to run every point with: A..B, both included (1..5 is five seeds), or A.
    #[arg(long)]
    seeds: String,
    /// A swept field and its values (RON, comma separated): --set network.default.loss=0,0.1
    #[arg(long = "set", value_name = "PATH=V1,V2,...")]
    set: Vec<String>,
    /// Worker threads (default: the machine's cores). The output does not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Run only shard I of N (0 <= I < N): the runs whose index is I modulo N.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Output directory (sweep.json and runs-I-of-N.jsonl).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args, Debug)]
struct SweepMergeArgs {
    /// Directories written by `dsim sweep --out` (the shards of one sweep).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// Show only these metrics in the table (repeatable; default all).
    #[arg(long)]
    metric: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Scenario file, or the name of a library scenario (see `dsim list`).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    file: Option<String>,
    /// Run every library scenario (one line each; exit 1 if any violates an invariant).
    #[arg(long)]
    all: bool,
    /// With --all: run every `*.ron` file in DIR, in name order, instead of the library.
    #[arg(long, value_name = "DIR", requires = "all")]
    dir: Option<PathBuf>,
    /// Seed instead of the scenario's.
    #[arg(long)]
    seed: Option<u64>,
    /// Stop at this simulated time instead of the scenario's duration (e.g. "30s").
    #[arg(long, value_parser = parse_time)]
    until: Option<SimTime>,
    /// Override a field by dotted path with a RON value: --set network.default.loss=0.05
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Write the trace (header and records) to this file.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Print exactly one JSON object (one per line with --all).
    #[arg(long)]
    json: bool,
    /// Write a report directory: run.json, a self-contained report.html (summary,
    /// metrics, plots, message sequence chart) and the plots as PNG and SVG.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// The stretch of the run the sequence chart opens at, FROM..TO (e.g. 1s..1.5s):
    /// its records make one page (at most 5,000), and the chart pages through the run
    /// from there; default: the first 200 records.
    #[arg(long, value_parser = parse_window, requires = "report")]
    window: Option<Window>,
    /// Stop with a violation of `event_budget` after N events: how a runaway that
    /// `explore` found reproduces.
    #[arg(long, value_name = "N")]
    max_events: Option<u64>,
    /// Let every invariant look at every node after every event, not only at the node
    /// the event changed: slow; an incremental invariant must report the same
    /// violation at the same event.
    #[arg(long)]
    full_checks: bool,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// A hosted system generated at a given size (see `dsim list` for the systems and
    /// what their size counts), run for a simulated time. Prints JSON.
    System {
        /// The system.
        name: String,
        /// Its size (what it counts depends on the system).
        #[arg(long)]
        size: u32,
        /// A generator's option beyond the size (repeatable), e.g. `--with sensors=4000`
        /// for cityos.
        #[arg(long = "with", value_name = "NAME=N")]
        with: Vec<String>,
        /// Simulated time to run.
        #[arg(long, default_value = "10s", value_parser = parse_time)]
        until: SimTime,
        /// Measure without checking the system's invariants (by default they are
        /// checked after every event, as `dsim run` does).
        #[arg(long)]
        no_invariants: bool,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// An engine benchmark the binary registers (see the list below).
    #[command(external_subcommand)]
    Engine(Vec<String>),
}

fn parse_time(s: &str) -> Result<SimTime, String> {
    s.parse()
}

fn parse_window(s: &str) -> Result<Window, String> {
    s.parse()
}

/// A failure that ends the command with exit status 2.
struct UsageError(String);

impl From<LoadError> for UsageError {
    fn from(e: LoadError) -> Self {
        UsageError(e.to_string())
    }
}

impl From<String> for UsageError {
    fn from(e: String) -> Self {
        UsageError(format!("error: {e}"))
    }
}

/// Parse the arguments and run the command for the systems of `registry`; the process
/// exit code. A user's binary is `fn main() -> ExitCode { cli::main(&registry) }`.
pub fn main(registry: &Registry) -> ExitCode {
    quiet_on_closed_stdout();
    let engine: Vec<String> = registry
        .engine_benches()
        .iter()
        .map(|b| format!("  {:<10} {}", b.name, b.about))
        .collect();
    let name = std::env::args()
        .next()
        .and_then(|a| Some(Path::new(&a).file_name()?.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "dsim".into());
    let command = Cli::command().bin_name(name).mut_subcommand("bench", |b| {
        if engine.is_empty() {
            b
        } else {
            b.after_help(format!("Engine benchmarks:\n{}", engine.join("\n")))
        }
    });
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Run(args) if args.all => run_all(registry, &args),
        Command::Run(args) => run_one(registry, &args),
        Command::Verify { trace } => verify(registry, &trace),
        Command::Explore(args) => explore(registry, &args),
        Command::Sweep(args) => sweep(registry, &args),
        Command::SweepMerge(args) => sweep_merge(&args),
        Command::Report(args) => report_dir(registry, &args),
        Command::Live(args) => live(registry, &args),
        Command::List => Ok(list(registry)),
        Command::Bench(BenchCommand::System {
            name,
            size,
            with,
            until,
            no_invariants,
            seed,
        }) => BenchOptions::parse(&with)
            .and_then(|options| {
                let request = BenchRequest {
                    size,
                    until,
                    invariants: !no_invariants,
                    seed,
                };
                dsim_harness::bench::system(registry.benches(), &name, &request, &options)
            })
            .map_err(UsageError::from)
            .map(|report| {
                println!("{report}");
                ExitCode::SUCCESS
            }),
        Command::Bench(BenchCommand::Engine(args)) => engine_bench(registry, &args),
    };
    match result {
        Ok(code) => code,
        Err(UsageError(message)) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

/// When the reader of stdout goes away (`dsim list | head -1`), `println!` panics on the
/// broken pipe; end quietly with status 0 instead, as `cat` and `rg` do. Every other
/// panic is reported as usual.
fn quiet_on_closed_stdout() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info: &std::panic::PanicHookInfo<'_>| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info);
    }));
}

/// `dsim bench NAME ARGS...`: the engine benchmark the registry has by that name.
fn engine_bench(registry: &Registry, args: &[String]) -> Result<ExitCode, UsageError> {
    let name = args.first().map_or("", String::as_str);
    let Some(bench) = registry.engine_benches().iter().find(|b| b.name == name) else {
        let mut known: Vec<&str> = registry.engine_benches().iter().map(|b| b.name).collect();
        known.push("system");
        return Err(format!(
            "bench: unknown benchmark {name:?}; one of: {}",
            known.join(", ")
        )
        .into());
    };
    Ok((bench.run)(&args[1..]))
}

/// Read a scenario from a path, or from the library by name.
fn read_scenario(registry: &Registry, file: &str) -> Result<(String, String), UsageError> {
    let path = Path::new(file);
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::without_position(file, format!("cannot read: {e}")))?;
        return Ok((file.to_owned(), text));
    }
    match registry.find_scenario(file) {
        Some(s) => Ok((format!("<library>/{}", s.file), s.text.clone())),
        None => Err(LoadError::without_position(
            file,
            "no such file, and no library scenario by that name (see `dsim list`)",
        )
        .into()),
    }
}

/// Apply `--set PATH=VALUE` overrides to the scenario text.
fn apply_sets(file: &str, mut text: String, sets: &[String]) -> Result<String, UsageError> {
    for set in sets {
        let Some((path, value)) = set.split_once('=') else {
            return Err(format!(
                "--set {set:?}: expected PATH=VALUE, e.g. --set network.default.loss=0.05"
            )
            .into());
        };
        text = apply_override(&text, path.trim(), value.trim())
            .map_err(|e| UsageError(format!("error: {file}: {e}")))?;
    }
    Ok(text)
}

/// An error about scenario text that `--set` changed: the positions and the source line
/// it shows are those of the changed text, so say so and name the overrides.
fn changed_by_sets(e: UsageError, file: &str, sets: &[String]) -> UsageError {
    if sets.is_empty() {
        return e;
    }
    let sets: Vec<String> = sets.iter().map(|s| format!("--set {s}")).collect();
    UsageError(format!(
        "{}\nnote: the scenario is {file} as changed by {}",
        e.0,
        sets.join(" ")
    ))
}

/// Refuse `jobs` runs of `scenario` at once when they cannot fit in the machine's memory
/// together (each alone was checked at load time).
fn check_parallel_memory(scenario: &dyn LoadedScenario, jobs: usize) -> Result<(), UsageError> {
    let (nodes, bytes) = scenario.memory_per_run();
    memory::check_fits(nodes.saturating_mul(jobs as u64), bytes, scenario.name()).map_err(|why| {
        UsageError(format!(
            "error: --jobs {jobs} runs {jobs} copies of {} at once: {why}; or give fewer --jobs",
            scenario.name()
        ))
    })
}

/// A progress bar on stderr that appears only when stderr is a terminal and the run has
/// taken more than a second.
fn progress_reporter(label: String) -> impl FnMut(SimTime, SimTime) {
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    move |now, until| {
        if !terminal || started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let bar = bar.get_or_insert_with(|| {
            let b = ProgressBar::new(until.0.max(1));
            b.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:40}] {percent}% sim time, {elapsed} wall, eta {eta}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            b.set_message(label.clone());
            b
        });
        bar.set_position(now.0);
        if now >= until {
            bar.finish_and_clear();
        }
    }
}

fn load_and_run(
    registry: &Registry,
    file: &str,
    text: &str,
    files: Option<&ScenarioFiles>,
    options: &RunOptions,
) -> Result<(Box<dyn LoadedScenario>, RunReport), UsageError> {
    let scenario = match files {
        Some(files) => registry.load_carried(file, text, files)?,
        None => registry.load(file, text)?,
    };
    let mut progress = progress_reporter(scenario.name().to_owned());
    let report = scenario.run(options, &mut progress)?;
    Ok((scenario, report))
}

fn run_one(registry: &Registry, args: &RunArgs) -> Result<ExitCode, UsageError> {
    let file = args
        .file
        .as_deref()
        .expect("clap requires FILE without --all");
    let (file, text) = read_scenario(registry, file)?;
    let text = apply_sets(&file, text, &args.set)?;
    let options = RunOptions {
        seed: args.seed,
        until: args.until,
        keep_trace: args.trace.is_some() || args.report.is_some(),
        extra_faults: Vec::new(),
        timeline: args.report.is_some(),
        max_events: args.max_events,
        full_checks: args.full_checks,
    };
    let (scenario, report) = load_and_run(registry, &file, &text, None, &options)
        .map_err(|e| changed_by_sets(e, &file, &args.set))?;
    if let Some(path) = &args.trace {
        let until = options.until.unwrap_or(scenario.end_time(&[]));
        let header = TraceHeader {
            max_events: options.max_events,
            ..TraceHeader::of(&file, &text, &report, until, scenario.files())
        };
        trace_file::write(path, &header, &report.records)?;
    }
    if let Some(dir) = &args.report {
        let files = report::write_run_dir(dir, &file, &report, args.window)?;
        eprintln!("wrote {}", files.last().expect("a page").display());
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("reports serialize")
        );
    } else {
        print_human(&report);
    }
    Ok(exit_for(&report))
}

/// `dsim run --all [--dir DIR]`: every library scenario, or every `*.ron` file in DIR.
fn run_all(registry: &Registry, args: &RunArgs) -> Result<ExitCode, UsageError> {
    if args.trace.is_some() || args.report.is_some() {
        return Err(
            "--trace and --report write one run's files; use them with a single scenario, not --all"
                .to_owned()
                .into(),
        );
    }
    // Load every scenario first, so a bad --set fails before anything is printed.
    let sources: Vec<(String, String)> = match &args.dir {
        None => registry
            .library()
            .iter()
            .map(|s| (format!("<library>/{}", s.file), s.text.clone()))
            .collect(),
        Some(dir) => scenario_files_in(dir)?,
    };
    let mut loaded = Vec::new();
    for (file, text) in sources {
        let text = apply_sets(&file, text, &args.set)?;
        let scenario = registry
            .load(&file, &text)
            .map_err(|e| changed_by_sets(e.into(), &file, &args.set))?;
        loaded.push(scenario);
    }
    let options = RunOptions {
        seed: args.seed,
        until: args.until,
        keep_trace: false,
        extra_faults: Vec::new(),
        timeline: false,
        max_events: args.max_events,
        full_checks: args.full_checks,
    };
    let mut failed = false;
    for scenario in loaded {
        let mut progress = progress_reporter(scenario.name().to_owned());
        let report = scenario.run(&options, &mut progress)?;
        failed |= !report.violations.is_empty();
        if args.json {
            println!(
                "{}",
                serde_json::to_string(&report).expect("reports serialize")
            );
        } else {
            let status = if report.violations.is_empty() {
                "ok  "
            } else {
                "FAIL"
            };
            println!(
                "{status} {:<28} seed {:<6} {:>10} events  sim {:>8}  {}",
                report.scenario,
                report.seed,
                report.events,
                SimTime(report.sim_time_ns).to_string(),
                report.trace_hash
            );
            for v in &report.violations {
                println!(
                    "     violation of {} at {}: {}",
                    v.invariant,
                    SimTime(v.time_ns),
                    v.message
                );
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The `*.ron` files in `dir`, in name order, as (path, text).
fn scenario_files_in(dir: &Path) -> Result<Vec<(String, String)>, UsageError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read the scenario folder {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron") && p.is_file())
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!("{}: no *.ron scenario files in this folder", dir.display()).into());
    }
    paths
        .into_iter()
        .map(|p| {
            let file = p.display().to_string();
            let text = std::fs::read_to_string(&p)
                .map_err(|e| LoadError::without_position(&file, format!("cannot read: {e}")))?;
            Ok((file, text))
        })
        .collect()
}

fn exit_for(report: &RunReport) -> ExitCode {
    if report.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_human(report: &RunReport) {
    println!("scenario   {}", report.scenario);
    println!("seed       {}", report.seed);
    println!("sim time   {}", SimTime(report.sim_time_ns));
    println!("events     {}", report.events);
    println!("trace hash {}", report.trace_hash);
    if report.violations.is_empty() {
        println!("violations none");
    }
    for v in &report.violations {
        println!(
            "VIOLATION  {} at {}: {}",
            v.invariant,
            SimTime(v.time_ns),
            v.message
        );
    }
    println!("metrics");
    for (name, value) in &report.metrics {
        println!("  {name:<40} {value}");
    }
}

fn report_dir(registry: &Registry, args: &ReportArgs) -> Result<ExitCode, UsageError> {
    use dsim_report::sweep::{is_sweep_dir, report_sweep};
    let files = match args.dirs.as_slice() {
        [dir] if !is_sweep_dir(dir) => {
            if !args.metrics.is_empty() {
                return Err(UsageError(
                    "error: --metric applies to sweep directories (written by dsim sweep --out)"
                        .into(),
                ));
            }
            report::report_dir(registry, dir, args.window)?
        }
        dirs => {
            if let Some(dir) = dirs.iter().find(|d| !is_sweep_dir(d)) {
                return Err(UsageError(format!(
                    "error: {} is not a sweep directory (no sweep.json); several directories must be the shards of one sweep",
                    dir.display()
                )));
            }
            if args.window.is_some() {
                return Err(UsageError(
                    "error: --window applies to a run directory, not to a sweep".into(),
                ));
            }
            // Sweep errors carry their own "error: ".
            report_sweep(registry, dirs, &args.metrics).map_err(UsageError)?
        }
    };
    for file in files {
        println!("wrote {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `dsim live`: run a scenario's nodes on real sockets.
fn live(registry: &Registry, args: &LiveArgs) -> Result<ExitCode, UsageError> {
    use dsim_live::codec::{HEADER_BYTES, MAX_DATAGRAM};
    if !(HEADER_BYTES < args.max_datagram && args.max_datagram <= MAX_DATAGRAM) {
        return Err(format!(
            "--max-datagram {}: must be more than the {HEADER_BYTES}-byte header and at most {MAX_DATAGRAM}, the largest UDP datagram",
            args.max_datagram
        )
        .into());
    }
    let (file, text) = read_scenario(registry, &args.file)?;
    let text = apply_sets(&file, text, &args.set)?;
    let scenario = registry
        .load_live(&file, &text)
        .map_err(|e| changed_by_sets(e.into(), &file, &args.set))?;
    let addresses = match &args.addresses {
        Some(path) => {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read address file {name}: {e}"))?;
            Some((name, text))
        }
        None => None,
    };
    let options = dsim_live::LiveOptions {
        duration: args.duration,
        seed: args.seed,
        addresses,
        host: args.host.clone(),
        keep_trace: args.trace.is_some() || args.report.is_some(),
        // A live trace carries its timeline: `dsim report` cannot re-run to get one.
        timeline: args.trace.is_some() || args.report.is_some(),
        max_datagram: args.max_datagram,
        start_at: args.start_at,
    };
    let outcome = scenario.run_live(&text, &options)?;
    let report = &outcome.report;
    if let Some(path) = &args.trace {
        let files = scenario.loaded().files();
        let header = TraceHeader {
            live: Some(trace_file::LiveRun::of(report, outcome.hosted.clone())),
            ..TraceHeader::of(&file, &text, report, outcome.until, files)
        };
        trace_file::write(path, &header, &report.records)?;
    }
    if let Some(dir) = &args.report {
        let files = report::write_run_dir(dir, &file, report, None)?;
        eprintln!("wrote {}", files.last().expect("a page").display());
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string(report).expect("reports serialize")
        );
    } else {
        println!("live       {}", trace_file::LIVE_NOTE);
        println!("hosted     {}", outcome.hosted.join(", "));
        print_human(report);
    }
    Ok(exit_for(report))
}

fn verify(registry: &Registry, path: &Path) -> Result<ExitCode, UsageError> {
    let (header, expected) = trace_file::read(path)?;
    if header.live.is_some() {
        return Err(UsageError(format!(
            "error: {} is the trace of a live run (dsim live): a live run is not deterministic, so there is nothing to re-run and compare; `dsim report` draws it from its records",
            path.display()
        )));
    }
    let options = RunOptions {
        seed: Some(header.seed),
        until: Some(SimTime(header.until_ns)),
        keep_trace: true,
        extra_faults: Vec::new(),
        timeline: false,
        max_events: header.max_events,
        full_checks: false,
    };
    let (_, report) = load_and_run(
        registry,
        &header.scenario_file,
        &header.scenario_text,
        Some(&header.files),
        &options,
    )?;
    if let Some((i, want, got)) = sim_core::trace::first_divergence(&expected, &report.records) {
        let show = |r: Option<&sim_core::TraceRecord>| {
            r.map_or("(trace ended)".to_owned(), |r| r.to_string())
        };
        // Line 1 of the file is the header, so record i is on line i + 2.
        println!(
            "MISMATCH at record {i} (line {}) of {}",
            i + 2,
            path.display()
        );
        println!("  recorded: {}", show(want));
        println!("  re-run:   {}", show(got));
        return Ok(ExitCode::from(1));
    }
    if report.trace_hash != header.trace_hash {
        println!(
            "MISMATCH: fingerprint {} recorded, {} on re-run",
            header.trace_hash, report.trace_hash
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "ok: {} records and fingerprint {} reproduced ({})",
        expected.len(),
        report.trace_hash,
        header.scenario_file
    );
    Ok(ExitCode::SUCCESS)
}

fn explore(registry: &Registry, args: &ExploreArgs) -> Result<ExitCode, UsageError> {
    let (file, text) = read_scenario(registry, &args.file)?;
    let text = apply_sets(&file, text, &args.set)?;
    let scenario = registry
        .load(&file, &text)
        .map_err(|e| changed_by_sets(e.into(), &file, &args.set))?;
    let kinds = args
        .faults
        .as_deref()
        .map(explore::parse_profile)
        .transpose()?;
    if args.runs == 0 {
        return Err("--runs must be at least 1".to_owned().into());
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    if jobs == 0 {
        return Err("--jobs must be at least 1".to_owned().into());
    }
    check_parallel_memory(scenario.as_ref(), jobs)?;
    let config = explore::ExploreConfig {
        runs: args.runs,
        seed: args.seed,
        kinds,
        jobs,
        max_events: args.max_events,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(args.runs);
        b.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} runs, {per_sec}, eta {eta}")
                .expect("static template")
                .progress_chars("=> "),
        );
        b.set_message(format!("{}: 0 violations", scenario.name()));
        b
    });
    let started = Instant::now();
    let outcome = explore::explore(scenario.as_ref(), &config, &mut |done, violations| {
        if let Some(b) = &bar {
            b.set_position(done);
            b.set_message(format!("{}: {violations} violations", scenario.name()));
        }
    })?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    let Some(found) = outcome.found else {
        println!(
            "no violation in {} runs of {} ({:.0} runs/s)",
            outcome.runs,
            scenario.name(),
            outcome.runs as f64 / secs.max(1e-9)
        );
        return Ok(ExitCode::SUCCESS);
    };
    let v = &found.violation;
    println!(
        "violation of {} in run {} of {} (seed {}): {}",
        v.invariant, found.run, outcome.runs, found.seed, v.message
    );
    println!(
        "shrunk from {} to {} fault episodes in {} runs; ends at {}",
        found.drawn,
        found.plan.len(),
        found.shrink_runs,
        found.duration
    );
    for f in &found.faults {
        println!("  at {:>12}  {}", f.at.to_string(), fault_ron(&f.fault));
    }
    let replay = explore::replay(scenario.as_ref(), &found)?;
    println!("events before the violation:");
    for r in &replay.records[replay.records.len().saturating_sub(15)..] {
        println!("  {r}");
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let path = args
        .out
        .join(format!("{}-counterexample.ron", scenario.name()));
    let runaway = v.invariant == EVENT_BUDGET;
    let reproduce = if runaway {
        format!("dsim run --max-events {}", found.max_events)
    } else {
        "dsim run".to_owned()
    };
    let header = format!(
        "// Found by `dsim explore {} --runs {} --seed {}`: run {}, seed {}.\n// Violation of {} at {}: {}\n// `{reproduce}` on this file reproduces it.\n",
        args.file,
        args.runs,
        args.seed,
        found.run,
        found.seed,
        v.invariant,
        SimTime(v.time_ns),
        v.message
    );
    if runaway {
        println!(
            "a runaway: the run did not reach its end within {} events; `{reproduce} FILE` reproduces it",
            found.max_events
        );
    }
    std::fs::write(&path, header + &found.ron)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    write_files_beside(&args.out, scenario.files())?;
    let report_dir = args
        .out
        .join(format!("{}-counterexample.report", scenario.name()));
    let window = report::window_before(&replay.records, v.time_ns);
    let pages = report::write_run_dir(
        &report_dir,
        &path.display().to_string(),
        &replay,
        Some(window),
    )?;
    println!(
        "report, its sequence chart at the violation: {}",
        pages.last().expect("a page").display()
    );
    println!("{}", path.display());
    Ok(ExitCode::from(1))
}

/// Write the files a scenario names into `dir`, at the paths it names them by, so that a
/// scenario written there (a counterexample) loads them as the original did. A path that
/// would leave `dir` is refused.
fn write_files_beside(dir: &Path, files: &ScenarioFiles) -> Result<(), UsageError> {
    for (path, text) in files.iter() {
        let relative = Path::new(path);
        if relative.is_absolute()
            || relative
                .components()
                .any(|c| c == std::path::Component::ParentDir)
        {
            return Err(format!(
                "the scenario names the file {path:?} outside its folder; copy it beside the counterexample by hand"
            )
            .into());
        }
        let target = dir.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&target, text)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    }
    Ok(())
}

/// A fault as a scenario file writes it: `SetDefaultLink((loss: 0.22))`.
fn fault_ron(fault: &sim_core::Fault<String>) -> String {
    ron_options()
        .to_string(fault)
        .unwrap_or_else(|e| format!("{fault:?} (not as RON: {e})"))
}

fn list(registry: &Registry) -> ExitCode {
    println!("Scenario library:");
    for s in registry.library() {
        let file = format!("<library>/{}", s.file);
        match registry.load(&file, &s.text) {
            Ok(loaded) => println!(
                "  {:<32} {}",
                s.file.trim_end_matches(".ron"),
                describe(&s.text, loaded.as_ref())
            ),
            Err(e) => println!("  {:<32} (does not load: {})", s.file, e.message),
        }
    }
    println!("\nSystems:");
    for s in registry.systems() {
        println!("  {:<32} {}", s.name, s.description);
    }
    if !registry.benches().is_empty() {
        println!("\nbench system NAME --size N, where N counts:");
        for b in registry.benches() {
            println!("  {:<32} {}", b.name, b.description);
        }
    }
    ExitCode::SUCCESS
}

/// The scenario's description field, falling back to its name.
fn describe(text: &str, scenario: &dyn LoadedScenario) -> String {
    #[derive(serde::Deserialize)]
    #[serde(rename = "Scenario")]
    struct Description {
        #[serde(default)]
        description: String,
    }
    ron_options()
        .from_str::<Description>(text)
        .ok()
        .map(|d| d.description)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| scenario.name().to_owned())
}

fn sweep(registry: &Registry, args: &SweepArgs) -> Result<ExitCode, UsageError> {
    use dsim_harness::sweep::{Parameter, SeedRange, Shard, Sweep};
    let (file, text) = read_scenario(registry, &args.file)?;
    let seeds = SeedRange::parse(&args.seeds)?;
    let shard = args.shard.as_deref().map_or(Ok(Shard::ALL), Shard::parse)?;
    let parameters = args
        .set
        .iter()
        .map(|s| Parameter::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    if jobs == 0 {
        return Err("--jobs must be at least 1".to_owned().into());
    }
    let sweep = Sweep::new(registry, &file, &text, parameters, seeds).map_err(UsageError)?;
    for point in sweep.loaded_points() {
        check_parallel_memory(point, jobs)?;
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(sweep.shard_runs(shard).len() as u64);
        b.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} runs, {per_sec}, eta {eta}")
                .expect("static template")
                .progress_chars("=> "),
        );
        b.set_message(format!("{} shard {shard}", sweep.manifest().scenario));
        b
    });
    let (path, violated) = sweep
        .write(shard, jobs, &args.out, &mut |done, _| {
            if let Some(b) = &bar {
                b.set_position(done);
            }
        })
        .map_err(UsageError)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    println!("wrote {}", path.display());
    if shard == Shard::ALL {
        // The file just written alone: a stale shard of the same sweep may share the directory.
        let summary = dsim_harness::sweep::merge_files(sweep.manifest().clone(), &[path])
            .map_err(UsageError)?;
        print_sweep_summary(&summary, &[]);
    }
    if violated > 0 {
        println!("{violated} runs violated an invariant");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn sweep_merge(args: &SweepMergeArgs) -> Result<ExitCode, UsageError> {
    let summary = dsim_harness::sweep::merge(&args.dirs).map_err(UsageError)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&summary).expect("summaries serialize")
        );
    } else {
        print_sweep_summary(&summary, &args.metric);
    }
    Ok(ExitCode::SUCCESS)
}

/// Per point: its parameters, then one line per metric (all, or those in `only`).
fn print_sweep_summary(summary: &dsim_harness::sweep::SweepSummary, only: &[String]) {
    let m = &summary.manifest;
    println!(
        "{}: {} points x {} seeds ({}) = {} runs; mean and 95% CI over seeds",
        m.scenario,
        summary.points.len(),
        m.seeds.count(),
        m.seeds,
        m.runs
    );
    for p in &summary.points {
        println!(
            "point {} {}  ({} runs, {} violated)",
            p.point,
            dsim_harness::sweep::show_point(&p.params),
            p.runs,
            p.violations
        );
        for (name, s) in &p.metrics {
            if !only.is_empty() && !only.contains(name) {
                continue;
            }
            let ci = s.ci95.map_or("-".to_owned(), |h| format!("{h:.6}"));
            println!(
                "  {name:<40} {:>16.6} ± {ci:<14} [{:.6}, {:.6}] n={}",
                s.mean, s.min, s.max, s.n
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fault_ron;
    use sim_core::Fault;
    use sim_core::network::LinkPatch;

    /// A shrunk plan prints as a user writes it in a scenario file, and reads back.
    #[test]
    fn faults_print_as_scenario_ron() {
        let loss = Fault::SetDefaultLink(LinkPatch {
            loss: Some(0.22),
            ..LinkPatch::default()
        });
        let text = fault_ron(&loss);
        assert_eq!(text, "SetDefaultLink((loss:0.22))");
        let back: Fault<String> = super::ron_options().from_str(&text).unwrap();
        assert_eq!(back, loss);
        assert_eq!(
            fault_ron(&Fault::Crash("node-4".into())),
            "Crash(\"node-4\")"
        );
    }
}
