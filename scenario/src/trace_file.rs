//! Trace files: a JSON header line (the scenario text itself and the files it names,
//! seed, end time, fingerprint) followed by one JSON line per trace record. A trace file is
//! self-contained: `dsim verify` re-runs the scenario it carries and compares.
//!
//! The trace of a live run (`dsim live --trace`) has the same layout, and its header
//! says so ([`TraceHeader::live`]): it carries the run's report, because a live run is
//! not deterministic and cannot be re-run.

use crate::runner::{RunReport, ViolationReport, metrics_json};
use crate::timeline::TimeSeries;
use dsim_system::ScenarioFiles;
use serde::{Deserialize, Serialize};
use sim_core::{Metrics, SimTime, TraceRecord};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// The format tag of the header, bumped when the layout changes.
pub const FORMAT: &str = "dsim-trace/1";

/// The first line of a trace file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// The scenario file the run came from (for messages).
    pub scenario_file: String,
    /// The scenario text exactly as run (with `--set` overrides applied).
    pub scenario_text: String,
    /// Seed of the run.
    pub seed: u64,
    /// Simulated time the run was asked to reach.
    pub until_ns: u64,
    /// Events processed.
    pub events: u64,
    /// Fingerprint of the run.
    pub trace_hash: String,
    /// The files the scenario names (a GML topology, say), as the run read them.
    #[serde(default, skip_serializing_if = "ScenarioFiles::is_empty")]
    pub files: ScenarioFiles,
    /// The event budget the run had (`dsim run --max-events`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events: Option<u64>,
    /// Set for the trace of a live run (`dsim live`), which is not deterministic:
    /// `dsim verify` refuses it and `dsim report` draws it from what it recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveRun>,
}

impl TraceHeader {
    /// The header of the trace of `report`, a run of `scenario_text` (from
    /// `scenario_file`, naming `files`) asked to reach `until`; no event budget, not
    /// live (set `max_events` and `live` on the result where they apply).
    pub fn of(
        scenario_file: &str,
        scenario_text: &str,
        report: &RunReport,
        until: SimTime,
        files: &ScenarioFiles,
    ) -> TraceHeader {
        TraceHeader {
            format: FORMAT.into(),
            scenario_file: scenario_file.to_owned(),
            scenario_text: scenario_text.to_owned(),
            seed: report.seed,
            until_ns: until.0,
            events: report.events,
            trace_hash: report.trace_hash.clone(),
            files: files.clone(),
            max_events: None,
            live: None,
        }
    }
}

/// What the trace of a live run records beside its records: the run's report, since
/// it cannot be re-run. Times are wall-clock time since the run began.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveRun {
    /// Says, for a person reading the file, that the run was live and not deterministic.
    pub note: String,
    /// The nodes this process hosted (the others ran in other processes).
    pub hosted: Vec<String>,
    /// Scenario name.
    pub scenario: String,
    /// Wall-clock time since the start when the run ended, in ns.
    pub end_ns: u64,
    /// The metrics as recorded, sample sets whole.
    pub metrics: Metrics,
    /// Violations: (invariant, time in ns, message).
    pub violations: Vec<(String, u64, String)>,
    /// Node names by node id.
    pub node_names: Vec<String>,
    /// The key metrics over time.
    pub timeline: Vec<TimeSeries>,
    /// The faults of the plan: (time in ns, what and whom).
    pub faults: Vec<(u64, String)>,
}

/// The note every live trace header carries.
pub const LIVE_NOTE: &str = "live run over real UDP sockets: not deterministic; dsim verify cannot re-run it, dsim report draws it from these records";

impl LiveRun {
    /// The record of a live run's `report`, for a trace whose process hosted `hosted`.
    pub fn of(report: &RunReport, hosted: Vec<String>) -> LiveRun {
        LiveRun {
            note: LIVE_NOTE.to_owned(),
            hosted,
            scenario: report.scenario.clone(),
            end_ns: report.sim_time_ns,
            metrics: report.raw_metrics.clone(),
            violations: report
                .violations
                .iter()
                .map(|v| (v.invariant.clone(), v.time_ns, v.message.clone()))
                .collect(),
            node_names: report.node_names.clone(),
            timeline: report.timeline.clone(),
            faults: report
                .faults
                .iter()
                .map(|(t, f)| (t.0, f.clone()))
                .collect(),
        }
    }

    /// The report of the run again, with its `records`: what `dsim report` draws.
    pub fn report(&self, header: &TraceHeader, records: Vec<TraceRecord>) -> RunReport {
        RunReport {
            scenario: self.scenario.clone(),
            seed: header.seed,
            sim_time_ns: self.end_ns,
            events: header.events,
            trace_hash: header.trace_hash.clone(),
            violations: self
                .violations
                .iter()
                .map(|(invariant, time_ns, message)| ViolationReport {
                    invariant: invariant.clone(),
                    time_ns: *time_ns,
                    message: message.clone(),
                    at_end: false,
                })
                .collect(),
            metrics: metrics_json(&self.metrics),
            records,
            raw_metrics: self.metrics.clone(),
            node_names: self.node_names.clone(),
            timeline: self.timeline.clone(),
            faults: self
                .faults
                .iter()
                .map(|(t, f)| (SimTime(*t), f.clone()))
                .collect(),
        }
    }
}

/// Write `header` and `records` to `path`.
pub fn write(path: &Path, header: &TraceHeader, records: &[TraceRecord]) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot write trace file {}: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut out = BufWriter::new(std::fs::File::create(path).map_err(fail)?);
    writeln!(out, "{}", json_line(header)).map_err(fail)?;
    for r in records {
        writeln!(out, "{}", json_line(r)).map_err(fail)?;
    }
    out.flush().map_err(fail)
}

/// Read a trace file; errors name the file and line.
pub fn read(path: &Path) -> Result<(TraceHeader, Vec<TraceRecord>), String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read trace file {}: {e}", path.display()))?;
    let mut lines = BufReader::new(file).lines().enumerate();
    let bad = |n: usize, e: &dyn std::fmt::Display| {
        format!("{}:{}: not a dsim trace: {e}", path.display(), n + 1)
    };
    let (n, first) = lines
        .next()
        .ok_or_else(|| format!("{}: empty file, not a dsim trace", path.display()))?;
    let first = first.map_err(|e| bad(n, &e))?;
    let header: TraceHeader = serde_json::from_str(&first).map_err(|e| bad(n, &e))?;
    if header.format != FORMAT {
        return Err(bad(
            n,
            &format!("format {:?}, expected {FORMAT:?}", header.format),
        ));
    }
    let mut records = Vec::new();
    for (n, line) in lines {
        let line = line.map_err(|e| bad(n, &e))?;
        records.push(serde_json::from_str(&line).map_err(|e| bad(n, &e))?);
    }
    Ok((header, records))
}

/// One value as one line of JSON.
fn json_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("headers and records always serialize")
}
