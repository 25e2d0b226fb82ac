//! Trace files: a JSON header line (the scenario text itself and the files it names,
//! seed, end time, fingerprint) followed by one JSON line per trace record. A trace file is
//! self-contained: `dsim verify` re-runs the scenario it carries and compares.

use dsim_system::ScenarioFiles;
use serde::{Deserialize, Serialize};
use sim_core::TraceRecord;
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
