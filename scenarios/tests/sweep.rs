//! `dsim sweep` and `dsim sweep-merge`, run as real processes: the grid is the product
//! of the `--set` values and the seeds, a sweep run as three shards merges to exactly
//! the single-machine sweep, the output does not depend on `--jobs`, each run is
//! reproduced alone by `dsim run`, and bad flags or bad merges exit 2.

mod common;

use common::{arg, dsim, scratch};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// The small stop-and-wait transfer: 2 losses x 2 timeouts x 3 seeds = 12 runs.
const SWEEP: [&str; 8] = [
    "arq-stop-and-wait",
    "--set",
    "params.payload_bytes=100000",
    "--set",
    "network.default.loss=0.0,0.2",
    "--set",
    r#"params.transport.timeout="30ms", "60ms""#,
    "--seeds=4..6",
];

/// `dsim sweep SWEEP... EXTRA... --out DIR`, expecting exit 0.
fn sweep(dir: &Path, extra: &[&str]) {
    let mut args: Vec<String> = SWEEP.iter().map(|s| s.to_string()).collect();
    args.insert(0, "sweep".into());
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--out".into(), arg(dir)]);
    dsim(&args).expect_code(0);
}

/// The run lines of every runs file in `dir`.
fn run_lines(dir: &Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// (run, trace fingerprint) of every run line.
fn fingerprints(lines: &[Value]) -> BTreeSet<(u64, String)> {
    lines
        .iter()
        .map(|l| {
            let hash = l["report"]["trace_hash"].as_str().unwrap().to_owned();
            (l["run"].as_u64().unwrap(), hash)
        })
        .collect()
}

/// `dsim sweep-merge DIRS --json`, expecting success: the summary.
fn merged(dirs: &[&Path]) -> Value {
    let mut args = vec!["sweep-merge".to_owned(), "--json".to_owned()];
    args.extend(dirs.iter().map(|d| arg(d)));
    let run = dsim(&args);
    run.expect_code(0);
    run.json()
}

#[test]
fn the_grid_is_the_product_of_values_and_seeds() {
    let dir = scratch("sweep-grid");
    sweep(&dir, &["--jobs", "2"]);
    let lines = run_lines(&dir);
    assert_eq!(lines.len(), 2 * 2 * 3);
    let runs: Vec<u64> = lines.iter().map(|l| l["run"].as_u64().unwrap()).collect();
    assert_eq!(runs, (0..12).collect::<Vec<_>>(), "one file, in run order");
    let combos: BTreeSet<String> = lines
        .iter()
        .map(|l| {
            let p = &l["params"];
            format!(
                "{} {} {} {}",
                p["params.payload_bytes"],
                p["network.default.loss"],
                p["params.transport.timeout"],
                l["seed"]
            )
        })
        .collect();
    assert_eq!(combos.len(), 12, "{combos:?}");
    // The first parameter varies slowest, the seed fastest.
    assert_eq!(lines[0]["params"]["network.default.loss"], "0.0");
    assert_eq!(lines[0]["params"]["params.transport.timeout"], r#""30ms""#);
    assert_eq!(lines[3]["params"]["params.transport.timeout"], r#""60ms""#);
    assert_eq!(lines[6]["params"]["network.default.loss"], "0.2");
    let seeds: Vec<u64> = lines[..3]
        .iter()
        .map(|l| l["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(seeds, [4, 5, 6]);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(manifest["runs"], 12);
    assert_eq!(
        manifest["seeds"],
        serde_json::json!({"first": 4, "last": 6})
    );
    // Loss changes the runs: at 0.2 every run retransmits, at 0.0 none does.
    for l in &lines {
        let retransmissions = l["report"]["metrics"]["retransmissions"].as_f64().unwrap();
        let lossy = l["params"]["network.default.loss"] == "0.2";
        assert_eq!(retransmissions > 0.0, lossy, "{l}");
    }
}

#[test]
fn three_shards_merge_to_the_single_machine_sweep() {
    let whole = scratch("sweep-whole");
    sweep(&whole, &["--jobs", "2"]);
    // Shards 0 and 1 share a directory, shard 2 has its own: both layouts merge.
    let shared = scratch("sweep-shards-shared");
    let alone = scratch("sweep-shards-alone");
    sweep(&shared, &["--shard", "0/3", "--jobs", "1"]);
    sweep(&shared, &["--shard", "1/3", "--jobs", "3"]);
    sweep(&alone, &["--shard", "2/3"]);
    let shard_lines = [run_lines(&shared), run_lines(&alone)].concat();
    assert_eq!(shard_lines.len(), 12);
    for l in &run_lines(&alone) {
        assert_eq!(
            l["run"].as_u64().unwrap() % 3,
            2,
            "shard 2 owns runs 2, 5, 8, 11"
        );
    }
    assert_eq!(fingerprints(&shard_lines), fingerprints(&run_lines(&whole)));

    let single = merged(&[&whole]);
    assert_eq!(merged(&[&shared, &alone]), single);
    assert_eq!(
        merged(&[&alone, &shared]),
        single,
        "directory order does not matter"
    );

    // The merged statistics are those of the runs: goodput at each point over seeds.
    let lines = run_lines(&whole);
    for (i, point) in single["points"].as_array().unwrap().iter().enumerate() {
        let goodputs: Vec<f64> = lines[i * 3..i * 3 + 3]
            .iter()
            .map(|l| l["report"]["metrics"]["goodput_bps"].as_f64().unwrap())
            .collect();
        let mean = goodputs.iter().sum::<f64>() / 3.0;
        let sd = (goodputs.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        let stats = &point["metrics"]["goodput_bps"];
        assert!(
            (stats["mean"].as_f64().unwrap() - mean).abs() <= 1e-9 * mean,
            "{stats}"
        );
        let ci = stats["ci95"].as_f64().unwrap();
        assert!(
            (ci - 4.3027 * sd / 3f64.sqrt()).abs() <= 1e-9 * mean.max(1.0),
            "{stats}"
        );
        assert_eq!(point["runs"], 3);
    }
    // `dsim report` of the shards draws exactly the page of the single-machine sweep,
    // written into the first directory given.
    dsim(&["report", &arg(&whole)]).expect_code(0);
    dsim(&["report", &arg(&alone), &arg(&shared)]).expect_code(0);
    let page = std::fs::read_to_string(whole.join("report.html")).unwrap();
    assert_eq!(
        std::fs::read_to_string(alone.join("report.html")).unwrap(),
        page
    );
    assert_eq!(
        std::fs::read(alone.join("summary.json")).unwrap(),
        std::fs::read(whole.join("summary.json")).unwrap()
    );
    // Loss is the axis; each timeout is a series of its own.
    let chart = std::fs::read_to_string(whole.join("sweep-1.svg")).unwrap();
    assert!(chart.contains("network.default.loss"), "the axis is named");
    for series in [r#"timeout="30ms""#, r#"timeout="60ms""#] {
        let escaped = series.replace('"', "&quot;");
        assert!(
            chart.contains(series) || chart.contains(&escaped),
            "series {series} in the legend"
        );
    }
    // A summary metric enters by its per-run mean: RTTs at loss 0.2, timeout 60ms.
    let rtt = &single["points"][3]["metrics"]["rtt_ms"];
    let means: Vec<f64> = lines[9..12]
        .iter()
        .map(|l| l["report"]["metrics"]["rtt_ms"]["mean"].as_f64().unwrap())
        .collect();
    let want = means.iter().sum::<f64>() / 3.0;
    assert!(
        (rtt["mean"].as_f64().unwrap() - want).abs() < 1e-9,
        "{rtt} vs {means:?}"
    );
}

#[test]
fn the_library_merge_gives_points_to_plot() {
    let dir = scratch("sweep-library-merge");
    sweep(&dir, &["--shard", "0/1"]);
    let summary = dsim::harness::sweep::merge(&[dir]).expect("a whole sweep");
    assert_eq!(summary.runs.len(), 12);
    assert_eq!(summary.points.len(), 4);
    let losses: Vec<Option<f64>> = summary
        .points
        .iter()
        .map(|p| p.numeric("network.default.loss"))
        .collect();
    assert_eq!(losses, [Some(0.0), Some(0.0), Some(0.2), Some(0.2)]);
    assert_eq!(summary.points[0].numeric("params.transport.timeout"), None);
    // Goodput falls with loss at either timeout.
    let goodput = |i: usize| summary.points[i].metrics["goodput_bps"].mean;
    assert!(goodput(2) < goodput(0) && goodput(3) < goodput(1));
}

#[test]
fn the_output_does_not_depend_on_jobs() {
    let one = scratch("sweep-jobs-1");
    let four = scratch("sweep-jobs-4");
    sweep(&one, &["--jobs", "1"]);
    sweep(&four, &["--jobs", "4"]);
    for file in ["runs-0-of-1.jsonl", "sweep.json"] {
        assert_eq!(
            std::fs::read(one.join(file)).unwrap(),
            std::fs::read(four.join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn each_run_is_reproduced_alone_by_dsim_run() {
    let dir = scratch("sweep-reproduce");
    sweep(&dir, &["--shard", "0/4"]);
    let lines = run_lines(&dir);
    let line = lines.last().unwrap();
    let mut args = vec!["run".to_owned(), SWEEP[0].to_owned(), "--json".to_owned()];
    args.extend(["--seed".to_owned(), line["seed"].to_string()]);
    for (path, value) in line["params"].as_object().unwrap() {
        args.extend([
            "--set".to_owned(),
            format!("{path}={}", value.as_str().unwrap()),
        ]);
    }
    let run = dsim(&args);
    run.expect_code(0);
    assert_eq!(run.json(), line["report"]);
}

#[test]
fn merging_a_partial_or_doubled_sweep_is_an_error() {
    let whole = scratch("sweep-merge-whole");
    sweep(&whole, &[]);
    let part = scratch("sweep-merge-part");
    sweep(&part, &["--shard", "1/2"]);
    let bad = |dirs: &[&Path], phrases: &[&str]| {
        let mut args = vec!["sweep-merge".to_owned()];
        args.extend(dirs.iter().map(|d| arg(d)));
        dsim(&args).expect_usage_error(phrases);
    };
    bad(&[&part], &["6 of the sweep's 12 runs are missing", "run 0"]);
    bad(&[&whole, &part], &["run 1 appears twice"]);
    // The whole sweep written next to a stale shard of itself: the table it prints is
    // of the file it wrote, but merging the directory finds every odd run twice.
    sweep(&part, &[]);
    bad(&[&part], &["run 1 appears twice"]);
    let other = scratch("sweep-merge-other");
    dsim(&["sweep", "ping-pong", "--seeds", "1", "--out", &arg(&other)]).expect_code(0);
    bad(&[&whole, &other], &["hold different sweeps"]);
    // Writing another sweep into a sweep's directory is refused too.
    dsim(&["sweep", "ping-pong", "--seeds", "1", "--out", &arg(&whole)])
        .expect_usage_error(&["holds a different sweep"]);
    bad(&[&scratch("sweep-merge-empty")], &["sweep.json"]);
}

#[test]
fn bad_flags_exit_2_with_a_clear_message() {
    let out = scratch("sweep-bad-flags");
    let out = arg(&out);
    let cases: [(&[&str], &[&str]); 8] = [
        (&["--seeds", "5..1"], &["--seeds", "5..1"]),
        (&["--seeds", "one..3"], &["--seeds", "not a seed"]),
        (
            &["--seeds", "1..3", "--shard", "3/2"],
            &["--shard", "below the shard count"],
        ),
        (&["--seeds", "1..3", "--shard", "1-2"], &["--shard", "I/N"]),
        (
            &["--seeds", "1..3", "--set", "network.default.los=0,0.1"],
            &["unknown field `los`", "sweep point"],
        ),
        (
            &["--seeds", "1..3", "--set", "network.default.loss=0,,0.1"],
            &["value 2 is empty"],
        ),
        (
            &[
                "--seeds",
                "1..3",
                "--set",
                "network.default.loss=0",
                "--set",
                "network.default.loss=1",
            ],
            &["given twice"],
        ),
        (&["--seeds", "1..3", "--jobs", "0"], &["--jobs"]),
    ];
    for (flags, phrases) in cases {
        let mut args = vec!["sweep", "ping-pong", "--out", &out];
        args.extend_from_slice(flags);
        dsim(&args).expect_usage_error(phrases);
    }
}

/// `dsim sweep DIR` then `dsim report DIR`: the points of `summary.json`.
fn sweep_and_report(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["sweep"];
    all.extend(args);
    let out = arg(dir);
    all.extend(["--out", &out]);
    dsim(&all).expect_code(0);
    dsim(&["report", &out]).expect_code(0);
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let summary: Value = serde_json::from_str(&text).unwrap();
    summary["points"].as_array().unwrap().clone()
}

/// The mean of `metric` at `point` of a sweep summary.
fn mean(point: &Value, metric: &str) -> f64 {
    point["metrics"][metric]["mean"]
        .as_f64()
        .unwrap_or_else(|| panic!("{metric} at {point}"))
}

/// Goodput against loss, the plot issue 4 asked for, comes out of `dsim report` of a
/// sweep: the measured goodput and transmissions per packet stay within 3% of the
/// analytic stop-and-wait model the runs report as `.reference`, and the page draws
/// both.
#[test]
fn arq_goodput_against_loss_follows_the_model_in_the_sweep_report() {
    let dir = scratch("sweep-report-arq");
    let points = sweep_and_report(
        &dir,
        &[
            "arq-stop-and-wait",
            "--seeds",
            "1..2",
            "--set",
            "network.default.loss=0,0.1,0.3",
        ],
    );
    assert_eq!(points.len(), 3);
    for p in &points {
        for metric in ["goodput_bps", "transmissions_per_packet"] {
            let (got, want) = (mean(p, metric), mean(p, &format!("{metric}.reference")));
            assert!(
                (got / want - 1.0).abs() < 0.03,
                "{metric}: {got} vs {want} at {p}"
            );
        }
    }
    assert!(mean(&points[2], "goodput_bps") < mean(&points[0], "goodput_bps") / 2.0);
    let chart = std::fs::read_to_string(dir.join("sweep-1.svg")).unwrap();
    assert!(chart.contains("goodput_bps.reference") && chart.contains("network.default.loss"));
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(
        page.matches("<svg").count(),
        4,
        "goodput, transmissions, RTT, messages"
    );
    assert!(!page.contains("http://") && !page.contains("https://"));
}

/// The failure rate per configuration, the plot issue 7 asked for: the report's four
/// configurations come out in the report's order (without load balancing worst, the
/// round-robin token best, the two replicated-queue configurations between them and
/// within 10 points of each other; only the replicated queues handle a request twice),
/// drawn as bars next to the published rates.
#[test]
fn image_cloud_failure_rates_come_out_in_the_reports_order() {
    let dir = scratch("sweep-report-image-cloud");
    let points = sweep_and_report(
        &dir,
        &[
            "image-cloud-experiment",
            "--seeds",
            "1..1",
            "--set",
            "params.balancing=NoBalancing,Queues,QueuesFt,TokenRing",
        ],
    );
    let rate: Vec<f64> = points.iter().map(|p| mean(p, "failure_rate")).collect();
    let (none, queues, queues_ft, token) = (rate[0], rate[1], rate[2], rate[3]);
    assert!(none > queues && none > queues_ft, "{rate:?}");
    assert!(
        token < queues && token < queues_ft && token > 0.0,
        "{rate:?}"
    );
    assert!((queues - queues_ft).abs() < 0.1, "{rate:?}");
    let twice: Vec<f64> = points
        .iter()
        .map(|p| mean(p, "duplicate_handling"))
        .collect();
    assert!(
        twice[1] > 0.0 && twice[2] > 0.0 && twice[0] + twice[3] == 0.0,
        "{twice:?}"
    );
    let published: Vec<f64> = points
        .iter()
        .map(|p| mean(p, "failure_rate.reference"))
        .collect();
    assert_eq!(published, [0.42, 0.295, 0.31, 0.17]);
    let chart = std::fs::read_to_string(dir.join("sweep-1.svg")).unwrap();
    for name in [
        "NoBalancing",
        "QueuesFt",
        "TokenRing",
        "failure_rate.reference",
    ] {
        assert!(chart.contains(name), "{name} drawn");
    }
}

/// A run that violates an invariant is written with its violation, the sweep exits 1,
/// and the report lists the run with the command that reproduces it.
#[test]
fn a_violating_run_makes_the_sweep_exit_1_and_is_listed() {
    let dir = scratch("sweep-violation");
    let out = arg(&dir);
    dsim(&[
        "sweep",
        "arq-stop-and-wait",
        "--seeds",
        "1..1",
        "--set",
        "params.payload_bytes=20000",
        "--set",
        "network.default.loss=0,0.99",
        "--out",
        &out,
    ])
    .expect_code(1);
    let lines = run_lines(&dir);
    let violated: Vec<bool> = lines
        .iter()
        .map(|l| !l["report"]["violations"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(violated, [false, true]);
    dsim(&["report", &out]).expect_code(0);
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        page.contains("client completed 0 of 1 transfers"),
        "the violation"
    );
    assert!(
        page.contains("--seed 1 --set &#39;network.default.loss=0.99&#39;"),
        "the command that reproduces the run"
    );
}

/// Bad `dsim report` arguments for sweeps exit 2 naming what is wrong.
#[test]
fn bad_sweep_report_arguments_exit_2() {
    let dir = scratch("sweep-report-bad");
    sweep(&dir, &["--shard", "0/1"]);
    let out = arg(&dir);
    dsim(&["report", &out, "--metric", "no_such_metric"])
        .expect_usage_error(&["\"no_such_metric\"", "goodput_bps"]);
    dsim(&["report", &out, "--window", "1s..2s"]).expect_usage_error(&["--window"]);
    let plain = scratch("sweep-report-not-a-sweep");
    std::fs::create_dir_all(&plain).unwrap();
    dsim(&["report", &out, &arg(&plain)]).expect_usage_error(&["not a sweep directory"]);
}

/// Messages against N: a sweep over the size of the widest-path graph. The GHS
/// messages stay within the bound 5 N log2 N + 2E the system reports beside them as
/// `ghs_messages.bound`, grow with N, and the chart draws both against the size.
#[test]
fn ghs_messages_against_n_stay_within_the_bound() {
    let dir = scratch("sweep-report-ghs");
    let points = sweep_and_report(
        &dir,
        &[
            "widest-path",
            "--seeds",
            "1..1",
            "--set",
            "params.graph.peers=16,24,32",
        ],
    );
    let messages: Vec<f64> = points.iter().map(|p| mean(p, "ghs_messages")).collect();
    for p in &points {
        assert!(
            mean(p, "ghs_messages") <= mean(p, "ghs_messages.bound"),
            "{p}"
        );
    }
    assert!(
        messages[0] < messages[1] && messages[1] < messages[2],
        "{messages:?}"
    );
    let chart = std::fs::read_to_string(dir.join("sweep-1.svg")).unwrap();
    assert!(chart.contains("ghs_messages.bound") && chart.contains("params.graph.peers"));
}

/// A report of a sweep asked for a metric no run has: exit 2, one "error:", the metrics
/// there are.
#[test]
fn a_sweep_report_of_an_unknown_metric_is_one_clear_error() {
    let dir = scratch("sweep-unknown-metric");
    dsim(&[
        "sweep",
        "arq-stop-and-wait",
        "--seeds",
        "1",
        "--out",
        &arg(&dir),
    ])
    .expect_code(0);
    let run = dsim(&["report", &arg(&dir), "--metric", "nope"]);
    run.expect_usage_error(&[
        "no run of the sweep reported a numeric metric \"nope\"",
        "goodput_bps",
    ]);
    assert!(run.stderr.starts_with("error: no run"), "{}", run.stderr);
}
