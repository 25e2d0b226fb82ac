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
    let summary = scenarios::sweep::merge(&[dir]).expect("a whole sweep");
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
