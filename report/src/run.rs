//! `dsim run --report DIR` and `dsim report DIR`: a run directory and its HTML page.
//!
//! The run directory holds `run.json` (the run's summary, every metric with sample sets
//! whole, node names, and the trace records the page holds: all of the run's, or, of a
//! run with more than [`sequence::MAX_EMBEDDED`], that many around the page the sequence
//! chart opens at) and what is drawn from it: `report.html`, one self-contained page
//! whose chart pages through those records, and the plots as PNG and SVG files next to
//! it for papers. `dsim report DIR` redraws the page from `run.json` (opening the chart
//! at another window if asked), or, for a directory of trace files (`dsim run
//! --trace`), re-runs each trace's scenario, checks the fingerprint and writes a run
//! directory per trace.

use dsim_harness::registry::Registry;
use dsim_scenario::runner::{RunOptions, RunReport};
use dsim_scenario::timeline::{SeriesKind, TimeSeries};
use dsim_scenario::trace_file;
use reports::bar::{Bars, bar_chart};
use reports::html::{self, Figure, Page, Sequence, Table};
use reports::plot::{ChartLabels, Series, empirical_cdf, line_chart, time_chart};
use reports::sequence::{self, Chart, Fate, Pages, Window};
use serde::{Deserialize, Serialize};
use sim_core::{Metric, Metrics, SimTime, Summary, TraceRecord};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The run file of a run directory.
pub const RUN_FILE: &str = "run.json";
/// The page of a run directory.
pub const PAGE_FILE: &str = "report.html";
/// The format tag of `run.json`, bumped when its layout changes.
pub const FORMAT: &str = "dsim-report/3";
/// The system's counters and gauges shown in its bar chart: the largest this many.
const BARS: usize = 5;
/// A sample metric needs this many values to be preferred for the CDF plot.
const CDF_MIN_SAMPLES: usize = 10;
/// Points of a CDF plot at most.
const CDF_POINTS: usize = 400;
/// Labels of a tally drawn over time at most (the largest).
const TIMELINE_LABELS: usize = 8;

/// Every metric of a run by kind, sample sets whole: a serializable copy of [`Metrics`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSets {
    /// Running totals.
    pub counters: BTreeMap<String, f64>,
    /// Latest values.
    pub gauges: BTreeMap<String, f64>,
    /// Every observed value.
    pub samples: BTreeMap<String, Vec<f64>>,
    /// Totals by label.
    pub tallies: BTreeMap<String, BTreeMap<String, f64>>,
    /// Tables of numbers.
    pub rows: BTreeMap<String, Vec<Vec<f64>>>,
}

impl MetricSets {
    /// Sort `metrics` by kind.
    pub fn of(metrics: &Metrics) -> MetricSets {
        let mut sets = MetricSets::default();
        for (name, m) in metrics.iter() {
            let name = name.to_owned();
            match m {
                Metric::Counter(v) => {
                    sets.counters.insert(name, *v);
                }
                Metric::Gauge(v) => {
                    sets.gauges.insert(name, *v);
                }
                Metric::Samples(s) => {
                    sets.samples.insert(name, s.clone());
                }
                Metric::Tally(t) => {
                    sets.tallies.insert(name, t.clone());
                }
                Metric::Rows(r) => {
                    sets.rows.insert(name, r.clone());
                }
            }
        }
        sets
    }
}

/// `run.json`: what a report of one run is drawn from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// Always [`FORMAT`].
    pub format: String,
    /// The scenario file the run came from.
    pub scenario_file: String,
    /// Scenario name.
    pub scenario: String,
    /// Seed of the run.
    pub seed: u64,
    /// Simulated time at the end, in ns.
    pub sim_time_ns: u64,
    /// Events processed.
    pub events: u64,
    /// The run's fingerprint.
    pub trace_hash: String,
    /// Invariant violations, one line each.
    pub violations: Vec<String>,
    /// The metrics.
    pub metrics: MetricSets,
    /// Node names by node id.
    pub node_names: Vec<String>,
    /// The window the sequence chart opens at (`None`: the first records of the run).
    pub window: Option<Window>,
    /// How many trace records the run made.
    pub run_records: usize,
    /// The run's index of the first record kept.
    pub first_record: usize,
    /// The trace records kept: all of the run's, or [`sequence::MAX_EMBEDDED`] of them
    /// around the page the chart opens at ([`sequence::embedded`]).
    pub records: Vec<TraceRecord>,
    /// The system's key metrics over the run.
    pub timeline: Vec<TimeSeries>,
    /// The faults of the plan: (time in ns, what and whom).
    pub faults: Vec<(u64, String)>,
}

impl RunRecord {
    /// The record of `report` (a run that kept its trace) of `scenario_file`, its
    /// sequence chart opening at `window`.
    pub fn of(scenario_file: &str, report: &RunReport, window: Option<Window>) -> RunRecord {
        let page = sequence::opening_page(&report.records, window);
        let kept = sequence::embedded(report.records.len(), &page);
        RunRecord {
            format: FORMAT.to_owned(),
            scenario_file: scenario_file.to_owned(),
            scenario: report.scenario.clone(),
            seed: report.seed,
            sim_time_ns: report.sim_time_ns,
            events: report.events,
            trace_hash: report.trace_hash.clone(),
            violations: report
                .violations
                .iter()
                .map(|v| {
                    format!(
                        "{} violated at {}: {}",
                        v.invariant,
                        SimTime(v.time_ns),
                        v.message
                    )
                })
                .collect(),
            metrics: MetricSets::of(&report.raw_metrics),
            node_names: report.node_names.clone(),
            window,
            run_records: report.records.len(),
            first_record: kept.start,
            records: report.records[kept].to_vec(),
            timeline: report.timeline.clone(),
            faults: report
                .faults
                .iter()
                .map(|(t, f)| (t.0, f.clone()))
                .collect(),
        }
    }

    /// Write `run.json` into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        let path = dir.join(RUN_FILE);
        let fail = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        let text = serde_json::to_string_pretty(self).expect("run records serialize");
        std::fs::write(&path, text + "\n").map_err(|e| fail(&e))
    }

    /// Read `run.json` from `dir`; errors name the file.
    pub fn read(dir: &Path) -> Result<RunRecord, String> {
        let path = dir.join(RUN_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let run: RunRecord = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a dsim run file: {e}", path.display()))?;
        if run.format != FORMAT {
            return Err(format!(
                "{}: format {:?}, expected {FORMAT:?}",
                path.display(),
                run.format
            ));
        }
        Ok(run)
    }
}

/// `dsim run --report DIR`: write the run directory of `report` and draw its page; the
/// files written.
pub fn write_run_dir(
    dir: &Path,
    scenario_file: &str,
    report: &RunReport,
    window: Option<Window>,
) -> Result<Vec<PathBuf>, String> {
    let run = RunRecord::of(scenario_file, report, window);
    run.write(dir)?;
    let mut files = vec![dir.join(RUN_FILE)];
    files.extend(draw(dir, &run)?);
    Ok(files)
}

/// The window a counterexample's chart opens on: the last
/// [`sequence::DEFAULT_RECORDS`] records up to and including the instant `time_ns` of
/// its violation.
pub fn window_before(records: &[sim_core::TraceRecord], time_ns: u64) -> Window {
    let upto = records.partition_point(|r| r.time_ns <= time_ns);
    let first = upto.saturating_sub(sequence::DEFAULT_RECORDS);
    Window {
        from_ns: records.get(first).map_or(0, |r| r.time_ns),
        to_ns: time_ns + 1,
    }
}

/// `dsim report DIR`: redraw a run directory's page, its chart opening at `window`;
/// or, when `DIR` has no `run.json` but trace files (`*.jsonl`), re-run each, check its
/// fingerprint, and write a run directory per trace under `DIR` (the trace of a live
/// run is drawn from its records and the report its header carries). The files written.
pub fn report_dir(
    registry: &Registry,
    dir: &Path,
    window: Option<Window>,
) -> Result<Vec<PathBuf>, String> {
    if dir.join(RUN_FILE).exists() {
        let mut run = RunRecord::read(dir)?;
        run.window = window.or(run.window);
        return draw(dir, &run);
    }
    let mut traces: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read directory {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    traces.sort();
    if traces.is_empty() {
        return Err(format!(
            "{}: no {RUN_FILE} (written by `dsim run --report`) and no trace files (*.jsonl, written by `dsim run --trace`)",
            dir.display()
        ));
    }
    let mut files = Vec::new();
    for trace in traces {
        let stem = trace.file_stem().unwrap_or_default().to_string_lossy();
        let run_dir = dir.join(format!("{stem}.report"));
        let (scenario_file, report) = rerun(registry, &trace)?;
        files.extend(write_run_dir(&run_dir, &scenario_file, &report, window)?);
    }
    Ok(files)
}

/// Re-run the scenario a trace file carries (its seed and end time) and check that the
/// run reproduces the trace's fingerprint: the scenario's file name and the run. A live
/// run's trace is not re-run: the run is its records and the report in its header.
fn rerun(registry: &Registry, trace: &Path) -> Result<(String, RunReport), String> {
    let (header, records) = trace_file::read(trace)?;
    // A live run cannot be re-run: its trace carries its report.
    if let Some(live) = &header.live {
        return Ok((header.scenario_file.clone(), live.report(&header, records)));
    }
    let scenario = registry
        .load_carried(&header.scenario_file, &header.scenario_text, &header.files)
        .map_err(|e| e.to_string())?;
    let options = RunOptions {
        seed: Some(header.seed),
        until: Some(SimTime(header.until_ns)),
        keep_trace: true,
        extra_faults: Vec::new(),
        timeline: true,
        max_events: header.max_events,
        full_checks: false,
    };
    let report = scenario.run(&options, &mut |_, _| {})?;
    if report.trace_hash != header.trace_hash {
        return Err(format!(
            "{}: re-running the scenario gave fingerprint {}, the trace says {}: this build does not reproduce it (see `dsim verify`)",
            trace.display(),
            report.trace_hash,
            header.trace_hash
        ));
    }
    Ok((header.scenario_file, report))
}

/// Draw the plots and the page of `run` into `dir`; the files written.
fn draw(dir: &Path, run: &RunRecord) -> Result<Vec<PathBuf>, String> {
    let pages = Pages {
        chart: Chart::of(&run.records),
        first: run.first_record,
        total: run.run_records,
        opening: sequence::opening_page(&run.records, run.window),
    };
    let mut files = Vec::new();
    let mut figures = Vec::new();
    let mut plot = |name: &str,
                    caption: String,
                    draw_to: &dyn Fn(&Path) -> Result<(), String>|
     -> Result<(), String> {
        for ext in ["png", "svg"] {
            let path = dir.join(format!("{name}.{ext}"));
            draw_to(&path)?;
            files.push(path);
        }
        let svg_path = dir.join(format!("{name}.svg"));
        let svg = std::fs::read_to_string(&svg_path)
            .map_err(|e| format!("cannot read {}: {e}", svg_path.display()))?;
        figures.push(Figure { caption, svg });
        Ok(())
    };
    if let Some((what, values)) = cdf_source(run, &pages.chart) {
        let caption = format!("Empirical CDF of {what} ({} values)", values.len());
        let labels = ChartLabels {
            title: format!("CDF of {what}"),
            x: what.clone(),
            y: "fraction of values at or below".into(),
        };
        let series = [Series {
            label: what,
            points: empirical_cdf(&values, CDF_POINTS),
            reference: false,
            ci: Vec::new(),
        }];
        plot("cdf", caption, &|p| line_chart(p, &labels, &series))?;
    }
    let marks: Vec<(f64, String)> = run
        .faults
        .iter()
        .map(|(t, what)| (SimTime(*t).as_secs_f64(), what.clone()))
        .collect();
    for (k, group) in timeline_groups(&run.timeline).into_iter().enumerate() {
        let (labels, series, caption) = timeline_chart(&group);
        plot(&format!("timeline-{}", k + 1), caption, &|p| {
            time_chart(p, &labels, &series, &marks)
        })?;
    }
    for (name, title, bars) in bar_groups(&run.metrics) {
        let categories: Vec<String> = bars.iter().map(|(n, _)| n.clone()).collect();
        let series = [Bars {
            label: "value".into(),
            values: bars.iter().map(|(_, v)| *v).collect(),
            ci: Vec::new(),
        }];
        let labels = ChartLabels {
            title: title.clone(),
            x: String::new(),
            y: "value at the end of the run".into(),
        };
        plot(name, title, &|p| {
            bar_chart(p, &labels, &categories, &series)
        })?;
    }
    let seq_file = dir.join("sequence.svg");
    std::fs::write(&seq_file, standalone_sequence(&pages, &run.node_names))
        .map_err(|e| format!("cannot write {}: {e}", seq_file.display()))?;
    files.push(seq_file);
    let page = Page {
        title: format!("dsim report: {}", run.scenario),
        summary: summary(run),
        violations: run.violations.clone(),
        tables: tables(&run.metrics),
        figures,
        sequence: Some(Sequence {
            note: sequence_note(run, &pages),
            pages,
            names: run.node_names.clone(),
        }),
    };
    let page_file = dir.join(PAGE_FILE);
    std::fs::write(&page_file, html::render(&page))
        .map_err(|e| format!("cannot write {}: {e}", page_file.display()))?;
    files.push(page_file);
    Ok(files)
}

/// The series of `timeline` grouped by metric, in the timeline's order: one chart each.
fn timeline_groups(timeline: &[TimeSeries]) -> Vec<Vec<&TimeSeries>> {
    let mut groups: Vec<Vec<&TimeSeries>> = Vec::new();
    for s in timeline {
        match groups.last_mut() {
            Some(g) if g[0].metric == s.metric => g.push(s),
            _ => groups.push(vec![s]),
        }
    }
    groups
}

/// The labels, series and caption of the time chart of one metric's series: at most
/// [`TIMELINE_LABELS`] of a tally's labels, those with the largest totals.
fn timeline_chart(group: &[&TimeSeries]) -> (ChartLabels, Vec<Series>, String) {
    let metric = &group[0].metric;
    let (y, how) = match group[0].kind {
        SeriesKind::Rate => (format!("{metric} per second"), "rate per second"),
        SeriesKind::Level => (metric.clone(), "value"),
        SeriesKind::Mean => (format!("mean {metric}"), "mean of the values recorded"),
    };
    let total = |s: &TimeSeries| s.points.iter().map(|p| p.1).sum::<f64>();
    let mut shown: Vec<&TimeSeries> = group.to_vec();
    shown.sort_by(|a, b| total(b).total_cmp(&total(a)).then(a.label.cmp(&b.label)));
    shown.truncate(TIMELINE_LABELS);
    shown.sort_by(|a, b| a.label.cmp(&b.label));
    let series = shown
        .iter()
        .map(|s| Series {
            label: s.label.clone().unwrap_or_else(|| metric.clone()),
            points: s.points.clone(),
            reference: false,
            ci: Vec::new(),
        })
        .collect();
    let mut caption = format!("{metric} over the run: {how} in each slice of simulated time");
    if group.len() > shown.len() {
        caption += &format!(" ({} of {} labels, the largest)", shown.len(), group.len());
    }
    let labels = ChartLabels {
        title: format!("{metric} over time"),
        x: "simulated time (s); faults dashed".into(),
        y,
    };
    (labels, series, caption)
}

/// What the CDF plot shows: among sample metrics with at least [`CDF_MIN_SAMPLES`]
/// values, one whose name says latency, else the largest; failing that, the delays of the
/// messages delivered among the records held (ms); failing that, the largest sample set.
fn cdf_source(run: &RunRecord, chart: &Chart) -> Option<(String, Vec<f64>)> {
    let samples = &run.metrics.samples;
    let largest = |min: usize| {
        samples
            .iter()
            .filter(|(_, s)| s.len() >= min.max(1))
            .max_by_key(|(name, s)| (s.len(), std::cmp::Reverse(name.as_str())))
    };
    let latency = samples
        .iter()
        .find(|(name, s)| name.contains("latency") && s.len() >= CDF_MIN_SAMPLES);
    if let Some((name, values)) = latency.or(largest(CDF_MIN_SAMPLES)) {
        return Some((name.clone(), values.clone()));
    }
    let delays: Vec<f64> = chart
        .arrows
        .iter()
        .filter(|a| a.fate == Fate::Delivered)
        .map(|a| (chart.times[a.ended as usize] - chart.times[a.sent as usize]) as f64 / 1e6)
        .collect();
    if !delays.is_empty() {
        return Some((
            "message delay over the records held (ms)".to_owned(),
            delays,
        ));
    }
    largest(1).map(|(name, values)| (name.clone(), values.clone()))
}

/// One bar: a category name and its value.
type Bar = (String, f64);

/// The bar charts of a run: the network's message counts (sent, delivered, duplicated,
/// dropped by reason), and the system's largest counters and gauges; each as (file
/// name, title, bars), charts without bars left out.
fn bar_groups(m: &MetricSets) -> Vec<(&'static str, String, Vec<Bar>)> {
    let numbers = m.counters.iter().chain(&m.gauges);
    let network: Vec<Bar> = numbers
        .clone()
        .filter_map(|(k, v)| {
            let short = k.strip_prefix("net.")?;
            (!short.contains("bytes")).then(|| (short.replace("messages_", ""), *v))
        })
        .collect();
    let mut system: Vec<Bar> = numbers
        .filter(|(k, _)| !k.starts_with("net."))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    system.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    system.truncate(BARS);
    let title = format!("The system's {} largest counters and gauges", system.len());
    [
        ("network", "Messages in the network".to_owned(), network),
        ("counters", title, system),
    ]
    .into_iter()
    .filter(|(_, _, bars)| !bars.is_empty())
    .collect()
}

fn summary(run: &RunRecord) -> Vec<(String, String)> {
    vec![
        ("scenario".into(), run.scenario.clone()),
        ("file".into(), run.scenario_file.clone()),
        ("seed".into(), run.seed.to_string()),
        (
            "simulated time".into(),
            SimTime(run.sim_time_ns).to_string(),
        ),
        ("events".into(), run.events.to_string()),
        ("fingerprint".into(), run.trace_hash.clone()),
        ("violations".into(), run.violations.len().to_string()),
    ]
}

/// What the sequence chart holds and where it opens, as the page says it: how many
/// records the run made and which the page holds (when not all, how to chart others),
/// how many a page of the chart shows and which the chart opens at.
fn sequence_note(run: &RunRecord, pages: &Pages) -> String {
    let records = |rows: Range<usize>| {
        if rows.is_empty() {
            return "no records".to_owned();
        }
        format!(
            "records {}–{} ({} – {})",
            run.first_record + rows.start,
            run.first_record + rows.end,
            SimTime(run.records[rows.start].time_ns),
            SimTime(run.records[rows.end - 1].time_ns)
        )
    };
    let total = run.run_records;
    let held = run.records.len();
    let holds = if held == total {
        format!("The run made {total} trace records; this page holds all of them")
    } else {
        format!(
            "The run made {total} trace records; this page holds {held} of them, {}: at most {}, around the page the chart opens at. To chart another stretch, run the scenario again with `--report DIR --window FROM..TO`, or `dsim report` a directory of its trace (`dsim run --trace`) with `--window`",
            records(0..held),
            sequence::MAX_EMBEDDED
        )
    };
    let opening = &pages.opening;
    let which = match run.window {
        None => "the first records of the run".to_owned(),
        Some(w) => match sequence::window_rows(&run.records, w).len() {
            0 => format!("no record held is from {w}, so it opens where they would be"),
            n if n > opening.len() => format!(
                "the first {} of the {n} records from {w} (the next page goes on)",
                opening.len()
            ),
            _ => format!("the records from {w}"),
        },
    };
    format!(
        "{holds}. The chart shows {} at a time and opens at {}: {which}.",
        opening.len(),
        records(opening.clone())
    )
}

/// A number as a table shows it: integers whole, others to four decimals.
pub(crate) fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').to_owned()
    }
}

fn tables(m: &MetricSets) -> Vec<Table> {
    let mut tables = Vec::new();
    let mut table = |caption: &str, header: &[&str], rows: Vec<Vec<String>>| {
        if !rows.is_empty() {
            tables.push(Table {
                caption: caption.into(),
                header: header.iter().map(|h| (*h).to_owned()).collect(),
                rows,
            });
        }
    };
    let pairs = |map: &BTreeMap<String, f64>| {
        map.iter()
            .map(|(k, v)| vec![k.clone(), number(*v)])
            .collect::<Vec<_>>()
    };
    table("Counters", &["metric", "value"], pairs(&m.counters));
    table("Gauges", &["metric", "value"], pairs(&m.gauges));
    let samples = m
        .samples
        .iter()
        .map(|(k, s)| {
            let s = Summary::of(s);
            let mut row = vec![k.clone(), s.count.to_string()];
            row.extend([s.mean, s.min, s.p50, s.p90, s.p99, s.max].map(number));
            row
        })
        .collect();
    table(
        "Sample sets",
        &["metric", "count", "mean", "min", "p50", "p90", "p99", "max"],
        samples,
    );
    let tallies = m
        .tallies
        .iter()
        .flat_map(|(k, t)| {
            t.iter()
                .map(move |(l, v)| vec![k.clone(), l.clone(), number(*v)])
        })
        .collect();
    table("Tallies", &["metric", "label", "value"], tallies);
    let rows = m
        .rows
        .iter()
        .map(|(k, r)| vec![k.clone(), r.len().to_string()])
        .collect();
    table("Tables", &["metric", "rows"], rows);
    tables
}

/// The page the sequence chart opens at as a file of its own: the namespace and the
/// chart's styles added.
fn standalone_sequence(pages: &Pages, names: &[String]) -> String {
    let svg = pages.svg(names);
    let styles: String = html::STYLE
        .lines()
        .filter(|l| l.starts_with("#seq"))
        .collect::<Vec<_>>()
        .join("\n");
    let open_end = svg.find('>').expect("the chart starts with an svg element");
    format!(
        "{}><style>{styles}</style>{}\n",
        svg[..open_end].replacen("<svg", r#"<svg xmlns="http://www.w3.org/2000/svg""#, 1),
        &svg[open_end + 1..]
    )
}
