//! Reading sweep directories back: check that they hold exactly one whole sweep, and
//! summarise every point over its seeds.

use super::stats::MetricStats;
use super::{MANIFEST_FILE, RunLine, Shard, SweepManifest};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A merged sweep: the manifest, every run, and the per-point statistics.
#[derive(Clone, Debug, Serialize)]
pub struct SweepSummary {
    /// The sweep's manifest (the same in every directory merged).
    pub manifest: SweepManifest,
    /// One summary per grid point, in point order.
    pub points: Vec<PointSummary>,
    /// Every run, in run order (left out of the JSON: it is in the runs files).
    #[serde(skip)]
    pub runs: Vec<RunLine>,
}

/// One grid point over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointSummary {
    /// The point's index in the grid.
    pub point: usize,
    /// Its (path, value) pairs, in parameter order.
    pub params: Vec<(String, String)>,
    /// Runs at this point (the number of seeds).
    pub runs: usize,
    /// Of those, runs that violated an invariant.
    pub violations: usize,
    /// Every numeric metric: counters and gauges as they are, sample summaries by their
    /// per-run mean (runs with no samples do not count). Tables and tallies are left
    /// out. `n` can be below `runs` when some runs did not report the metric.
    pub metrics: BTreeMap<String, MetricStats>,
}

impl PointSummary {
    /// The value of parameter `path` at this point as a number, when it is one (to plot
    /// a metric against it); `None` for an unknown path or a non-numeric value.
    pub fn numeric(&self, path: &str) -> Option<f64> {
        self.params.iter().find(|(p, _)| p == path)?.1.parse().ok()
    }
}

/// Read the sweep output in `dirs` (each written by `dsim sweep --out`, holding
/// `sweep.json` and any number of `runs-I-of-N.jsonl` files) and summarise it.
///
/// Errors (as one message) when a directory has no manifest, the manifests differ, a
/// line is malformed or does not match the grid, a run appears twice, or a run is
/// missing.
pub fn merge(dirs: &[PathBuf]) -> Result<SweepSummary, String> {
    let Some(first) = dirs.first() else {
        return Err("error: no sweep directories to merge".to_owned());
    };
    let manifest = read_manifest(&first.join(MANIFEST_FILE))?;
    for dir in &dirs[1..] {
        if read_manifest(&dir.join(MANIFEST_FILE))? != manifest {
            return Err(format!(
                "error: {} and {} hold different sweeps (their {MANIFEST_FILE} differ); merge only the shards of one sweep",
                first.display(),
                dir.display()
            ));
        }
    }
    merge_files(manifest, &runs_files(dirs)?)
}

/// Summarise the runs in `files`, runs files of the sweep `manifest`, checked as
/// [`merge`] checks them (lines match the grid, no run twice, none missing).
pub fn merge_files(manifest: SweepManifest, files: &[PathBuf]) -> Result<SweepSummary, String> {
    let grid = manifest.points();
    // run -> (line, where it was read)
    let mut found: BTreeMap<u64, (RunLine, String)> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("error: cannot read {}: {e}", file.display()))?;
        for (i, json) in text.lines().enumerate() {
            let place = format!("{}:{}", file.display(), i + 1);
            let line: RunLine = serde_json::from_str(json)
                .map_err(|e| format!("error: {place}: not a sweep run line: {e}"))?;
            if line.run >= manifest.runs {
                return Err(format!(
                    "error: {place}: run {} is outside the sweep's {} runs",
                    line.run, manifest.runs
                ));
            }
            let (point, seed) = manifest.run_point_and_seed(line.run);
            let params: BTreeMap<String, String> = grid[point].iter().cloned().collect();
            if (line.point, line.seed, &line.params) != (point, seed, &params) {
                return Err(format!(
                    "error: {place}: run {} should be point {point} ({}) with seed {seed}, the line says point {} with seed {}",
                    line.run,
                    super::show_point(&grid[point]),
                    line.point,
                    line.seed
                ));
            }
            if let Some((_, before)) = found.get(&line.run) {
                return Err(format!(
                    "error: run {} appears twice, at {before} and at {place}; merge each shard once",
                    line.run
                ));
            }
            found.insert(line.run, (line, place));
        }
    }
    let missing: Vec<u64> = (0..manifest.runs)
        .filter(|r| !found.contains_key(r))
        .collect();
    if let Some(&run) = missing.first() {
        let (point, seed) = manifest.run_point_and_seed(run);
        return Err(format!(
            "error: {} of the sweep's {} runs are missing, the first run {run} (point {}, seed {seed}); did every shard finish, and are all their directories given?",
            missing.len(),
            manifest.runs,
            super::show_point(&grid[point])
        ));
    }
    let runs: Vec<RunLine> = found.into_values().map(|(line, _)| line).collect();
    let seeds = manifest.seeds.count() as usize;
    let points = grid
        .into_iter()
        .enumerate()
        .map(|(point, params)| summarise(point, params, &runs[point * seeds..(point + 1) * seeds]))
        .collect();
    Ok(SweepSummary {
        manifest,
        points,
        runs,
    })
}

/// Read and check a manifest file.
pub(super) fn read_manifest(path: &Path) -> Result<SweepManifest, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "error: cannot read {}: {e} (is it a directory written by dsim sweep --out?)",
            path.display()
        )
    })?;
    let manifest: SweepManifest = serde_json::from_str(&text)
        .map_err(|e| format!("error: {}: not a sweep manifest: {e}", path.display()))?;
    if manifest.format != super::FORMAT {
        return Err(format!(
            "error: {}: format {:?}, this dsim reads {:?}",
            path.display(),
            manifest.format,
            super::FORMAT
        ));
    }
    Ok(manifest)
}

/// The complete runs files in `dirs`, sorted within each directory.
fn runs_files(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for dir in dirs {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("error: cannot read {}: {e}", dir.display()))?;
        let mut here = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("error: cannot read {}: {e}", dir.display()))?;
            let name = entry.file_name();
            if name.to_str().and_then(Shard::from_file_name).is_some() {
                here.push(entry.path());
            }
        }
        here.sort();
        files.extend(here);
    }
    Ok(files)
}

/// The summary of one point from its runs (in seed order).
fn summarise(point: usize, params: Vec<(String, String)>, runs: &[RunLine]) -> PointSummary {
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for run in runs {
        let Some(metrics) = run.report["metrics"].as_object() else {
            continue;
        };
        for (name, value) in metrics {
            // A summary of no samples has no mean to average.
            let summary_mean = || {
                let count = value.get("count")?.as_u64()?;
                value.get("mean")?.as_f64().filter(|_| count > 0)
            };
            let number = value.as_f64().or_else(summary_mean);
            if let Some(x) = number {
                values.entry(name.clone()).or_default().push(x);
            }
        }
    }
    PointSummary {
        point,
        params,
        runs: runs.len(),
        violations: runs.iter().filter(|r| r.violated()).count(),
        metrics: values
            .into_iter()
            .map(|(name, xs)| (name, MetricStats::of(&xs)))
            .collect(),
    }
}
