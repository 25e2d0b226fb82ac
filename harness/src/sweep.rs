//! `dsim sweep`: run a scenario over the cartesian product of parameter values
//! (`--set PATH=V1,V2,...`) and seeds, in parallel on local threads, optionally only one
//! shard of it, and write the results so that shards run anywhere can be merged.
//!
//! Run `i` of a sweep is point `i / seeds` of the grid ([`grid::points`], the first
//! parameter varying slowest) with seed `first + i % seeds`; its result depends on
//! nothing else, so it is the same whatever `--jobs` and `--shard` are, and
//! `dsim run FILE --seed S --set PATH=V ...` reproduces it alone.
//!
//! Output in the directory `--out`:
//! - `sweep.json`: the [`SweepManifest`], what every shard of the sweep shares (the
//!   scenario text, the grid, the seeds), so shards may write into one shared directory;
//! - `runs-I-of-N.jsonl`: shard I of N's runs, one [`RunLine`] per line in run order,
//!   renamed into place only once the shard is complete.
//!
//! [`merge`] reads such directories back, checks they hold one whole sweep, and gives
//! per-point statistics over seeds ([`stats::MetricStats`]).

pub mod grid;
mod merge;
pub mod stats;

pub use grid::{Parameter, SeedRange, Shard};
pub use merge::{PointSummary, SweepSummary, merge, merge_files};

use crate::registry::Registry;
use dsim_scenario::overrides::apply_override;
use dsim_scenario::runner::{LoadedScenario, RunOptions};
use dsim_system::ScenarioFiles;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// The version tag of [`SweepManifest::format`].
pub const FORMAT: &str = "dsim-sweep/1";

/// The name of the manifest file in a sweep directory.
pub const MANIFEST_FILE: &str = "sweep.json";

/// What defines a sweep: everything every shard shares. Two directories hold parts of
/// the same sweep exactly when their manifests are equal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepManifest {
    /// [`FORMAT`].
    pub format: String,
    /// The scenario's name.
    pub scenario: String,
    /// Where the scenario came from (a path, or `<library>/NAME.ron`).
    pub scenario_file: String,
    /// The scenario text the parameters are applied to.
    pub scenario_text: String,
    /// The swept parameters, in flag order.
    pub parameters: Vec<Parameter>,
    /// The seeds every point is run with.
    pub seeds: SeedRange,
    /// Runs in the whole sweep: points × seeds.
    pub runs: u64,
    /// The files the scenario names (a GML topology, say), as the sweep read them, so
    /// that its shards and its report read the same wherever they run.
    #[serde(default, skip_serializing_if = "ScenarioFiles::is_empty")]
    pub files: ScenarioFiles,
}

impl SweepManifest {
    /// The points of the grid, in point order.
    pub fn points(&self) -> Vec<Vec<(String, String)>> {
        grid::points(&self.parameters)
    }

    /// Run `run`'s point index and seed.
    pub fn run_point_and_seed(&self, run: u64) -> (usize, u64) {
        let seeds = self.seeds.count();
        ((run / seeds) as usize, self.seeds.first + run % seeds)
    }
}

/// One run's result: one line of a `runs-I-of-N.jsonl` file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLine {
    /// The run's index in the sweep.
    pub run: u64,
    /// Its point's index in the grid.
    pub point: usize,
    /// The point's parameter values (RON text) by path.
    pub params: BTreeMap<String, String>,
    /// The seed.
    pub seed: u64,
    /// The run report, as `dsim run --json` prints it.
    pub report: Value,
}

impl RunLine {
    /// Whether the run violated an invariant.
    pub fn violated(&self) -> bool {
        self.report["violations"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    }
}

/// A sweep ready to run: the manifest and every point's scenario, loaded.
pub struct Sweep {
    manifest: SweepManifest,
    /// Each point's (path, value) pairs, in point order.
    grid: Vec<Vec<(String, String)>>,
    /// Each point's scenario, loaded.
    points: Vec<Box<dyn LoadedScenario>>,
}

impl Sweep {
    /// Check the sweep of `text` (the scenario from `file`, of a system `registry`
    /// hosts) over `parameters` and
    /// `seeds`: every point is patched and loaded now, so a bad path or value fails
    /// before anything runs, naming the point.
    pub fn new(
        registry: &Registry,
        file: &str,
        text: &str,
        parameters: Vec<Parameter>,
        seeds: SeedRange,
    ) -> Result<Sweep, String> {
        for (i, p) in parameters.iter().enumerate() {
            if parameters[..i].iter().any(|q| q.path == p.path) {
                return Err(format!(
                    "error: --set {} is given twice; list all its values in one --set",
                    p.path
                ));
            }
        }
        let grid = grid::points(&parameters);
        let runs = (grid.len() as u64)
            .checked_mul(seeds.count())
            .ok_or("error: the sweep has more than 2^64 runs")?;
        let mut points = Vec::with_capacity(grid.len());
        for point in &grid {
            let mut patched = text.to_owned();
            for (path, value) in point {
                patched = apply_override(&patched, path, value)
                    .map_err(|e| format!("error: {file}: {e}"))?;
            }
            let loaded = registry.load(file, &patched).map_err(|e| {
                format!(
                    "{e}\nnote: the scenario is {file} at the sweep point {}",
                    show_point(point)
                )
            })?;
            points.push(loaded);
        }
        let mut files = ScenarioFiles::default();
        for point in &points {
            for (path, text) in point.files().iter() {
                files.insert(path, text.to_owned());
            }
        }
        let manifest = SweepManifest {
            format: FORMAT.to_owned(),
            scenario: points[0].name().to_owned(),
            scenario_file: file.to_owned(),
            scenario_text: text.to_owned(),
            parameters,
            seeds,
            runs,
            files,
        };
        Ok(Sweep {
            manifest,
            grid,
            points,
        })
    }

    /// Each point's scenario, loaded, in point order.
    pub fn loaded_points(&self) -> impl Iterator<Item = &dyn LoadedScenario> {
        self.points.iter().map(|p| p.as_ref())
    }

    /// The manifest.
    pub fn manifest(&self) -> &SweepManifest {
        &self.manifest
    }

    /// The indices of `shard`'s runs, in run order.
    pub fn shard_runs(&self, shard: Shard) -> Vec<u64> {
        (0..self.manifest.runs).filter(|&r| shard.owns(r)).collect()
    }

    /// Make run `run`.
    fn execute(&self, run: u64) -> Result<RunLine, String> {
        let (point, seed) = self.manifest.run_point_and_seed(run);
        let options = RunOptions {
            seed: Some(seed),
            ..Default::default()
        };
        let report = self.points[point]
            .run(&options, &mut |_, _| {})
            .map_err(|e| {
                let at = show_point(&self.grid[point]);
                format!("error: run {run} ({at}, seed {seed}) could not run: {e}")
            })?;
        let params = self.grid[point].iter().cloned().collect();
        Ok(RunLine {
            run,
            point,
            params,
            seed,
            report: serde_json::to_value(&report).expect("reports serialize"),
        })
    }

    /// Make `shard`'s runs on `jobs` threads, handing each to `done` in run order
    /// (whatever order the threads finish them in). Stops at the first run that fails
    /// to run (not one that violates an invariant: that is a result).
    pub fn run(
        &self,
        shard: Shard,
        jobs: usize,
        done: &mut dyn FnMut(RunLine) -> Result<(), String>,
    ) -> Result<(), String> {
        let runs = self.shard_runs(shard);
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            for _ in 0..jobs.clamp(1, runs.len().max(1)) {
                let tx = tx.clone();
                let (runs, next, stop) = (&runs, &next, &stop);
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&run) = runs.get(k) else { break };
                        if tx.send((k, self.execute(run))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let mut pending = BTreeMap::new();
            let mut emitted = 0;
            let mut outcome = Ok(());
            for (k, line) in rx {
                pending.insert(k, line);
                while let Some(line) = pending.remove(&emitted) {
                    emitted += 1;
                    if outcome.is_ok() {
                        outcome = line.and_then(&mut *done);
                    }
                    if outcome.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
            outcome
        })
    }

    /// Run `shard` on `jobs` threads and write it to `dir` (see the module docs);
    /// `progress(done, total)` after every run. Returns the shard's runs file and how
    /// many of its runs violated an invariant.
    pub fn write(
        &self,
        shard: Shard,
        jobs: usize,
        dir: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(PathBuf, u64), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("error: cannot create {}: {e}", dir.display()))?;
        self.write_manifest(dir, shard)?;
        let path = dir.join(shard.file_name());
        let partial = dir.join(format!("{}.part", shard.file_name()));
        let io_error =
            |e: std::io::Error| format!("error: cannot write {}: {e}", partial.display());
        let mut out = std::io::BufWriter::new(std::fs::File::create(&partial).map_err(io_error)?);
        let total = self.shard_runs(shard).len() as u64;
        let (mut written, mut violated) = (0, 0);
        self.run(shard, jobs, &mut |line| {
            let json = serde_json::to_string(&line).expect("run lines serialize");
            writeln!(out, "{json}").map_err(io_error)?;
            written += 1;
            violated += u64::from(line.violated());
            progress(written, total);
            Ok(())
        })?;
        out.flush().map_err(io_error)?;
        drop(out);
        std::fs::rename(&partial, &path).map_err(io_error)?;
        Ok((path, violated))
    }

    /// Write `sweep.json`, or check that the one there is this sweep's.
    fn write_manifest(&self, dir: &Path, shard: Shard) -> Result<(), String> {
        let path = dir.join(MANIFEST_FILE);
        if path.exists() {
            let there = merge::read_manifest(&path)?;
            if there != self.manifest {
                return Err(format!(
                    "error: {} holds a different sweep ({} over {}, seeds {}); use another --out directory",
                    dir.display(),
                    there.scenario,
                    show_parameters(&there.parameters),
                    there.seeds
                ));
            }
            return Ok(());
        }
        // Shards sharing the directory write the same bytes; the rename makes it atomic.
        let temp = dir.join(format!(
            "{MANIFEST_FILE}.{}-of-{}.tmp",
            shard.index, shard.count
        ));
        let json = serde_json::to_string_pretty(&self.manifest).expect("manifests serialize");
        std::fs::write(&temp, json + "\n")
            .and_then(|()| std::fs::rename(&temp, &path))
            .map_err(|e| format!("error: cannot write {}: {e}", path.display()))
    }
}

/// `path=value path=value`, for messages and tables.
pub fn show_point(point: &[(String, String)]) -> String {
    if point.is_empty() {
        return "(no parameters)".to_owned();
    }
    let parts: Vec<String> = point.iter().map(|(p, v)| format!("{p}={v}")).collect();
    parts.join(" ")
}

/// `path=v1,v2 path=v3`, for messages.
fn show_parameters(parameters: &[Parameter]) -> String {
    if parameters.is_empty() {
        return "no parameters".to_owned();
    }
    let parts: Vec<String> = parameters
        .iter()
        .map(|p| format!("{}={}", p.path, p.values.join(",")))
        .collect();
    parts.join(" ")
}
