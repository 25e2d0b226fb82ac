//! `dsim report` of a sweep: the shards merged, and each charted metric drawn against
//! the swept parameter with its mean and 95% confidence interval per point.
//!
//! The horizontal axis is the first parameter given more than one value; every
//! combination of the other swept parameters is a series of its own. A numeric axis
//! (losses, sizes) gives a line chart, any other (configurations) grouped bars. A metric
//! `NAME.reference` (a theoretical or published value the system reports next to
//! `NAME`) or `NAME.bound` (a proven bound) is drawn beside it as a reference series.

use crate::run::number;
use dsim_harness::registry::Registry;
use dsim_harness::sweep::stats::MetricStats;
use dsim_harness::sweep::{SweepSummary, merge};
use dsim_scenario::timeline::MESSAGES_SENT;
use reports::bar::{Bars, bar_chart};
use reports::html::{self, Figure, Page, Table};
use reports::plot::{ChartLabels, Series, line_chart};
use std::path::{Path, PathBuf};

/// The merged summary a sweep report writes next to its page.
pub const SUMMARY_FILE: &str = "summary.json";
/// Violating runs listed on the page at most.
const VIOLATIONS_LISTED: usize = 20;
/// The suffixes of the values drawn beside a metric `NAME`: `NAME.reference`, a
/// theoretical or published value, and `NAME.bound`, a proven bound.
pub const REFERENCE_SUFFIXES: [&str; 2] = [".reference", ".bound"];

/// Merge the sweep in `dirs` and write its report into the first: `summary.json`,
/// `report.html` and a chart per metric (`sweep-K.png`, `.svg`). `metrics` are the
/// metrics to chart; empty means the system's key metrics and the messages sent. The
/// files written.
pub fn report_sweep(
    registry: &Registry,
    dirs: &[PathBuf],
    metrics: &[String],
) -> Result<Vec<PathBuf>, String> {
    let summary = merge(dirs)?;
    let out = &dirs[0];
    let charted = charted_metrics(registry, &summary, metrics)?;
    let mut files = Vec::new();
    let summary_file = out.join(SUMMARY_FILE);
    let json = serde_json::to_string_pretty(&summary).expect("summaries serialize");
    std::fs::write(&summary_file, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", summary_file.display()))?;
    files.push(summary_file);
    let axes = Axes::of(&summary);
    let mut figures = Vec::new();
    for (k, metric) in charted.iter().enumerate() {
        let name = format!("sweep-{}", k + 1);
        files.extend(draw_metric(out, &name, &summary, &axes, metric)?);
        let svg_path = out.join(format!("{name}.svg"));
        let svg = std::fs::read_to_string(&svg_path)
            .map_err(|e| format!("cannot read {}: {e}", svg_path.display()))?;
        figures.push(Figure {
            caption: format!(
                "{metric} against {}: mean over {} seeds, 95% confidence interval",
                axes.x_name(),
                summary.manifest.seeds.count()
            ),
            svg,
        });
    }
    let page = Page {
        title: format!("dsim sweep report: {}", summary.manifest.scenario),
        summary: overview(&summary),
        violations: violations(&summary),
        tables: vec![points_table(&summary, &charted), metrics_table(&summary)],
        figures,
        sequence: None,
    };
    let page_file = out.join(crate::run::PAGE_FILE);
    std::fs::write(&page_file, html::render(&page))
        .map_err(|e| format!("cannot write {}: {e}", page_file.display()))?;
    files.push(page_file);
    Ok(files)
}

/// Whether `dir` holds a sweep (its manifest).
pub fn is_sweep_dir(dir: &Path) -> bool {
    dir.join(dsim_harness::sweep::MANIFEST_FILE).exists()
}

/// The metrics to chart: `asked`, each of which some point must have; or, when none
/// are asked for, the system's key metrics and the messages sent that some point has.
fn charted_metrics(
    registry: &Registry,
    summary: &SweepSummary,
    asked: &[String],
) -> Result<Vec<String>, String> {
    let present = |m: &str| summary.points.iter().any(|p| p.metrics.contains_key(m));
    if !asked.is_empty() {
        if let Some(m) = asked.iter().find(|m| !present(m)) {
            let known: Vec<&String> = summary.points[0].metrics.keys().collect();
            return Err(format!(
                "error: no run of the sweep reported a numeric metric {m:?}; the metrics are: {}",
                known
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        return Ok(asked.to_vec());
    }
    let m = &summary.manifest;
    let scenario = registry
        .load_carried(&m.scenario_file, &m.scenario_text, &m.files)
        .map_err(|e| {
        format!(
            "error: the sweep's scenario no longer loads in this dsim: {e} (name metrics with --metric)"
        )
    })?;
    let mut names: Vec<&str> = scenario.key_metrics().to_vec();
    names.push(MESSAGES_SENT);
    Ok(names
        .into_iter()
        .filter(|n| present(n))
        .map(str::to_owned)
        .collect())
}

/// How points map onto a chart: which parameter is the horizontal axis, and which
/// series each point belongs to.
struct Axes {
    /// The axis parameter's name (or what stands for it).
    x_label: String,
    /// Its values, in the order given.
    x_values: Vec<String>,
    /// Whether every value is a number.
    numeric: bool,
    /// Per point: (its series' name, its position on the axis).
    place: Vec<(String, usize)>,
    /// Series names in order of first appearance.
    series: Vec<String>,
}

impl Axes {
    fn of(summary: &SweepSummary) -> Axes {
        let params = &summary.manifest.parameters;
        let x = params.iter().position(|p| p.values.len() > 1);
        let (x_label, x_values) = match x {
            Some(i) => (params[i].path.clone(), params[i].values.clone()),
            None => ("all runs".to_owned(), vec!["all runs".to_owned()]),
        };
        let numeric = x.is_some() && x_values.iter().all(|v| v.parse::<f64>().is_ok());
        let mut series: Vec<String> = Vec::new();
        let place = summary
            .points
            .iter()
            .map(|p| {
                let others: Vec<String> = p
                    .params
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != x && params[*i].values.len() > 1)
                    .map(|(_, (path, v))| format!("{path}={v}"))
                    .collect();
                let name = others.join(" ");
                if !series.contains(&name) {
                    series.push(name.clone());
                }
                let at = x.map_or(0, |i| {
                    params[i]
                        .values
                        .iter()
                        .position(|v| *v == p.params[i].1)
                        .expect("a point's value is one of its parameter's")
                });
                (name, at)
            })
            .collect();
        Axes {
            x_label,
            x_values,
            numeric,
            place,
            series,
        }
    }

    fn x_name(&self) -> &str {
        &self.x_label
    }

    /// The stats of `metric` per axis position, for series `name` (`None` where that
    /// point lacks the metric).
    fn column<'a>(
        &self,
        summary: &'a SweepSummary,
        name: &str,
        metric: &str,
    ) -> Vec<Option<&'a MetricStats>> {
        let mut column = vec![None; self.x_values.len()];
        for (p, (series, at)) in summary.points.iter().zip(&self.place) {
            if series == name {
                column[*at] = p.metrics.get(metric);
            }
        }
        column
    }
}

/// One series of a sweep chart: a metric's (mean, CI half-width) at each axis position
/// (`None` where the point lacks it), for one combination of the other parameters.
struct Column {
    label: String,
    /// A reference or bound, drawn thin and without whiskers.
    reference: bool,
    values: Vec<Option<(f64, f64)>>,
}

/// Draw `metric` against the axis into `dir/NAME.png` and `.svg`; the files written.
fn draw_metric(
    dir: &Path,
    name: &str,
    summary: &SweepSummary,
    axes: &Axes,
    metric: &str,
) -> Result<Vec<PathBuf>, String> {
    let label = |series: &str, what: &str| match (series.is_empty(), what.is_empty()) {
        (true, true) => "mean over seeds".to_owned(),
        (true, false) => what.to_owned(),
        (false, true) => series.to_owned(),
        (false, false) => format!("{series} {what}"),
    };
    let mut columns: Vec<Column> = Vec::new();
    for series in &axes.series {
        let stats = |m: &str| -> Vec<Option<(f64, f64)>> {
            axes.column(summary, series, m)
                .into_iter()
                .map(|s| s.map(|s| (s.mean, s.ci95.unwrap_or(0.0))))
                .collect()
        };
        columns.push(Column {
            label: label(series, ""),
            reference: false,
            values: stats(metric),
        });
        for suffix in REFERENCE_SUFFIXES {
            let reference = format!("{metric}{suffix}");
            let refs = stats(&reference);
            if refs.iter().any(Option::is_some) {
                columns.push(Column {
                    label: label(series, &reference),
                    reference: true,
                    values: refs,
                });
            }
        }
    }
    let labels = ChartLabels {
        title: format!("{metric} ({})", summary.manifest.scenario),
        x: axes.x_label.clone(),
        y: metric.to_owned(),
    };
    let mut files = Vec::new();
    for ext in ["png", "svg"] {
        let path = dir.join(format!("{name}.{ext}"));
        if axes.numeric {
            let series: Vec<Series> = columns
                .iter()
                .map(|c| {
                    let (points, ci) = axes
                        .x_values
                        .iter()
                        .zip(&c.values)
                        .filter_map(|(x, v)| {
                            let (mean, ci) = (*v)?;
                            let x: f64 = x.parse().ok()?;
                            Some(((x, mean), ci))
                        })
                        .unzip();
                    Series {
                        label: c.label.clone(),
                        points,
                        reference: c.reference,
                        ci: if c.reference { Vec::new() } else { ci },
                    }
                })
                .collect();
            line_chart(&path, &labels, &series)?;
        } else {
            let bars: Vec<Bars> = columns
                .iter()
                .map(|c| {
                    let (values, ci): (Vec<f64>, Vec<f64>) =
                        c.values.iter().map(|v| v.unwrap_or((0.0, 0.0))).unzip();
                    Bars {
                        label: c.label.clone(),
                        values,
                        ci: if c.reference { Vec::new() } else { ci },
                    }
                })
                .collect();
            bar_chart(&path, &labels, &axes.x_values, &bars)?;
        }
        files.push(path);
    }
    Ok(files)
}

/// The summary rows: what was swept and how many runs it took.
fn overview(summary: &SweepSummary) -> Vec<(String, String)> {
    let m = &summary.manifest;
    let violated = summary.points.iter().map(|p| p.violations).sum::<usize>();
    let mut rows = vec![
        ("scenario".to_owned(), m.scenario.clone()),
        ("file".to_owned(), m.scenario_file.clone()),
        (
            "seeds".to_owned(),
            format!("{}..{} ({})", m.seeds.first, m.seeds.last, m.seeds.count()),
        ),
        ("points".to_owned(), summary.points.len().to_string()),
        ("runs".to_owned(), m.runs.to_string()),
        (
            "runs that violated an invariant".to_owned(),
            violated.to_string(),
        ),
    ];
    for p in &m.parameters {
        rows.push((p.path.clone(), p.values.join(", ")));
    }
    rows
}

/// The violating runs, each with the command that reproduces it (at most
/// [`VIOLATIONS_LISTED`], then how many more).
fn violations(summary: &SweepSummary) -> Vec<String> {
    let bad: Vec<_> = summary.runs.iter().filter(|r| r.violated()).collect();
    let mut lines: Vec<String> = bad
        .iter()
        .take(VIOLATIONS_LISTED)
        .map(|r| {
            let sets: String = r
                .params
                .iter()
                .map(|(p, v)| format!(" --set '{p}={v}'"))
                .collect();
            let what = r.report["violations"][0]["message"]
                .as_str()
                .unwrap_or("(no message)");
            format!(
                "run {}: {what} (reproduce: dsim run {} --seed {}{sets})",
                r.run, summary.manifest.scenario_file, r.seed
            )
        })
        .collect();
    if bad.len() > VIOLATIONS_LISTED {
        lines.push(format!("... and {} more", bad.len() - VIOLATIONS_LISTED));
    }
    lines
}

/// `mean ± ci` of a metric (just the mean for one run; `-` when absent).
fn mean_ci(stats: Option<&MetricStats>) -> String {
    match stats {
        None => "-".to_owned(),
        Some(s) => match s.ci95 {
            Some(ci) => format!("{} ± {}", number(s.mean), number(ci)),
            None => number(s.mean),
        },
    }
}

/// One row per point: its parameters, runs, violations and the charted metrics.
fn points_table(summary: &SweepSummary, charted: &[String]) -> Table {
    let params = &summary.manifest.parameters;
    let mut header: Vec<String> = params.iter().map(|p| p.path.clone()).collect();
    header.extend(["runs".to_owned(), "violations".to_owned()]);
    header.extend(charted.iter().cloned());
    let rows = summary
        .points
        .iter()
        .map(|p| {
            let mut row: Vec<String> = p.params.iter().map(|(_, v)| v.clone()).collect();
            row.extend([p.runs.to_string(), p.violations.to_string()]);
            row.extend(charted.iter().map(|m| mean_ci(p.metrics.get(m))));
            row
        })
        .collect();
    Table {
        caption: "Charted metrics per point: mean ± half-width of the 95% confidence interval"
            .to_owned(),
        header,
        rows,
    }
}

/// Every numeric metric (rows) at every point (columns).
fn metrics_table(summary: &SweepSummary) -> Table {
    let mut names: Vec<&String> = summary
        .points
        .iter()
        .flat_map(|p| p.metrics.keys())
        .collect();
    names.sort();
    names.dedup();
    let mut header = vec!["metric".to_owned()];
    header.extend(summary.points.iter().map(|p| {
        let point: Vec<&str> = p.params.iter().map(|(_, v)| v.as_str()).collect();
        if point.is_empty() {
            "all runs".to_owned()
        } else {
            point.join(", ")
        }
    }));
    let rows = names
        .into_iter()
        .map(|name| {
            let mut row = vec![name.clone()];
            row.extend(summary.points.iter().map(|p| mean_ci(p.metrics.get(name))));
            row
        })
        .collect();
    Table {
        caption: "Every numeric metric per point (sample sets by their per-run mean): mean ± 95% interval"
            .to_owned(),
        header,
        rows,
    }
}
