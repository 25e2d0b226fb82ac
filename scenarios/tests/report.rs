//! `dsim run --report` and `dsim report` without a browser: the page is self-contained
//! and deterministic, `dsim report` redraws it and reopens its chart at another window,
//! a report of a long run holds the records around its opening page and says so,
//! `dsim report` reports a directory of trace files, draws the system's key metric over
//! time (the OTT bit rate across failures), and refuses bad windows and empty
//! directories.

mod common;

use common::{arg, dsim, scratch};
use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file a run directory holds, by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_page_is_self_contained_and_the_same_for_the_same_run() {
    let root = scratch("report-determinism");
    let (a, b) = (root.join("a"), root.join("b"));
    for dir in [&a, &b] {
        dsim(&["run", "ping-pong", "--report", &arg(dir)]).expect_code(0);
    }
    let names: Vec<String> = files(&a).into_iter().map(|(n, _)| n).collect();
    for want in [
        "report.html",
        "run.json",
        "sequence.svg",
        "cdf.png",
        "cdf.svg",
        "network.png",
        "counters.svg",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} written: {names:?}");
    }
    assert_eq!(files(&a), files(&b), "same run, same bytes in every file");
    let html = read(&a.join("report.html"));
    for url in [
        "http://", "https://", "src=", "href=", "@import", "url(http",
    ] {
        assert!(
            !html.contains(url),
            "the page must fetch nothing: found {url}"
        );
    }
    assert!(html.contains("<script>") && html.contains("<style>"));
    // The summary names the run's fingerprint as `dsim run` prints it.
    let json = dsim(&["run", "ping-pong", "--json"]).json();
    let hash = json["trace_hash"].as_str().unwrap();
    assert!(html.contains(&format!("<td>{hash}</td>")));
    // Plots are inline SVG, one figure each, and the chart names every node.
    assert!(html.matches("<figure class=\"plot\"><svg").count() >= 3);
    for node in ["client-0", "client-1", "client-2", "echo"] {
        assert!(html.contains(&format!("> {node}</label>")), "{node} filter");
    }
}

#[test]
fn report_redraws_the_same_page_and_reopens_the_chart_at_a_window() {
    let root = scratch("report-redraw");
    let dir = root.join("run");
    dsim(&[
        "run",
        "ping-pong",
        "--report",
        &arg(&dir),
        "--window",
        "0s..2s",
    ])
    .expect_code(0);
    let first = read(&dir.join("report.html"));
    let kept = first.matches("<g class=\"msg ").count();
    assert!(kept > 50, "the first 2 s hold many messages ({kept})");
    let out = dsim(&["report", &arg(&dir)]);
    out.expect_code(0);
    assert!(out.stdout.contains("report.html"));
    assert_eq!(read(&dir.join("report.html")), first, "redrawn identically");
    dsim(&["report", &arg(&dir), "--window", "0s..500ms"]).expect_code(0);
    let narrow = read(&dir.join("report.html"));
    let shown = narrow.matches("<g class=\"msg ").count();
    assert!(0 < shown && shown < kept, "{shown} of {kept} messages");
    assert!(narrow.contains("the records from 0ns..500ms"));
    // The page still holds the whole run, to page through.
    assert!(narrow.contains("this page holds all of them"));
}

/// The value of attribute `name` of the sequence chart's `<svg>` in `html`.
fn chart_attr<'a>(html: &'a str, name: &str) -> &'a str {
    let svg = &html[html.find("<svg id=\"seq\"").expect("a chart")..];
    let value = &svg[svg.find(&format!(" {name}=\"")).expect("the attribute") + name.len() + 3..];
    &value[..value.find('"').unwrap()]
}

/// A run with more records than a report holds (PHOLD makes some 560,000 in 30 ms): the
/// report holds `MAX_EMBEDDED` of them, with the page the chart opens at in their
/// middle, and says how many the run made, which it holds and how to chart others; a
/// window with more records than a page opens at its first page and says so.
#[test]
fn a_long_run_holds_the_records_around_its_opening_page_and_says_so() {
    use reports::sequence::{MAX_EMBEDDED, MAX_RECORDS};
    let dir = scratch("report-long-run");
    dsim(&[
        "run",
        "phold",
        "--until",
        "30ms",
        "--report",
        &arg(&dir),
        "--window",
        "10ms..12ms",
    ])
    .expect_code(0);
    let run: serde_json::Value = serde_json::from_str(&read(&dir.join("run.json"))).unwrap();
    let total = run["run_records"].as_u64().unwrap() as usize;
    let first = run["first_record"].as_u64().unwrap() as usize;
    let records = run["records"].as_array().unwrap();
    assert!(total > 2 * MAX_EMBEDDED, "{total} records");
    assert_eq!(records.len(), MAX_EMBEDDED);
    let html = read(&dir.join("report.html"));
    let (from, to) = chart_attr(&html, "data-page").split_once("..").unwrap();
    let (from, to): (usize, usize) = (from.parse().unwrap(), to.parse().unwrap());
    assert_eq!(to - from, MAX_RECORDS, "a page of the window");
    let (before, after) = (from - first, first + MAX_EMBEDDED - to);
    assert!(
        before.abs_diff(after) <= 1,
        "{before} held before, {after} after"
    );
    let time = |i: usize| records[i - first]["time_ns"].as_u64().unwrap();
    assert!(time(from) >= 10_000_000 && time(from - 1) < 10_000_000);
    let note = &html[html.find("<p id=\"seq-note\">").unwrap()..];
    let note = &note[..note.find("</p>").unwrap()];
    for phrase in [
        format!("The run made {total} trace records"),
        format!(
            "this page holds {MAX_EMBEDDED} of them, records {first}–{}",
            first + MAX_EMBEDDED
        ),
        "--window FROM..TO".to_owned(),
        format!("The chart shows {MAX_RECORDS} at a time and opens at records {from}–{to}"),
        format!("the first {MAX_RECORDS} of the"),
        "records from 10ms..12ms (the next page goes on)".to_owned(),
    ] {
        assert!(note.contains(&phrase), "{phrase:?} in {note}");
    }
    assert!(html.contains(&format!(r#""first":{first},"total":{total},"#)));
}

#[test]
fn report_of_a_directory_of_trace_files_reruns_each() {
    let root = scratch("report-traces");
    let traces = root.join("traces");
    for name in ["bully", "ping-pong"] {
        let file = traces.join(format!("{name}.jsonl"));
        dsim(&["run", name, "--trace", &arg(&file)]).expect_code(0);
    }
    let out = dsim(&["report", &arg(&traces)]);
    out.expect_code(0);
    for name in ["bully", "ping-pong"] {
        let html = read(&traces.join(format!("{name}.report/report.html")));
        assert!(html.contains(&format!("dsim report: {name}")));
    }
    // The same run reported through --report gives the same page.
    let direct = root.join("direct");
    dsim(&["run", "bully", "--report", &arg(&direct)]).expect_code(0);
    assert_eq!(
        read(&traces.join("bully.report/report.html")),
        read(&direct.join("report.html"))
    );
}

#[test]
fn bad_windows_and_directories_exit_2() {
    let root = scratch("report-bad");
    let dir = arg(&root.join("run"));
    for (window, phrase) in [
        ("2s..1s", "must come before"),
        ("1s", "expected FROM..TO"),
        ("1s..soon", "bad end time"),
    ] {
        let out = dsim(&["run", "bully", "--report", &dir, "--window", window]);
        assert_eq!(out.code, 2, "--window {window}: {}", out.stderr);
        assert!(out.stderr.contains(phrase), "{window}: {}", out.stderr);
    }
    assert!(!root.join("run").exists(), "nothing written on bad input");
    let out = dsim(&["run", "bully", "--window", "0s..1s"]);
    assert_eq!(out.code, 2, "--window needs --report: {}", out.stderr);
    dsim(&["run", "--all", "--report", &dir]).expect_usage_error(&["--report", "single scenario"]);
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    dsim(&["report", &arg(&empty)]).expect_usage_error(&["no run.json", "trace files"]);
    dsim(&["report", &arg(&root.join("missing"))]).expect_usage_error(&["cannot read"]);
}

/// The bit rate across failures, the plot issue 8 asked for, comes out of
/// `dsim run --report`: C1's received video rate over `ott-failures` is the full rate
/// before N3 dies, zero right after each death, and the full rate again within the
/// delivery bound; the chart marks the faults, and the fingerprint is that of a run
/// without a report (sampling the timeline changes nothing).
#[test]
fn the_ott_bit_rate_dips_at_each_death_and_recovers() {
    let dir = scratch("report-ott-timeline");
    let run = dsim(&["run", "ott-failures", "--report", &arg(&dir), "--json"]);
    run.expect_code(0);
    let plain = dsim(&["run", "ott-failures", "--json"]);
    assert_eq!(run.json()["trace_hash"], plain.json()["trace_hash"]);
    let record: serde_json::Value = serde_json::from_str(&read(&dir.join("run.json"))).unwrap();
    let c1 = record["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metric"] == "video_bits" && s["label"] == "C1")
        .expect("C1's video_bits over time");
    assert_eq!(c1["kind"], "rate");
    let points: Vec<(f64, f64)> = c1["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap() / 1e6))
        .collect();
    let rate = |from: f64, to: f64| {
        let shown: Vec<f64> = points
            .iter()
            .filter(|(t, _)| (from..to).contains(t))
            .map(|p| p.1)
            .collect();
        assert!(!shown.is_empty(), "slices in {from}..{to}");
        shown.iter().sum::<f64>() / shown.len() as f64
    };
    // 8 Mb/s of MPEG-TS payload plus the 16-byte datagram header.
    let full = 8.0 * 1332.0 / 1316.0;
    assert!((rate(5.0, 19.0) - full).abs() < 0.1, "{}", rate(5.0, 19.0));
    // The simple death: N4's flood to N3 goes unacknowledged and the stream moves to N2
    // at 20.56 s, so the slice from 20.0 s holds only the datagrams in flight when N3
    // died (points are labelled by the start of their slice).
    assert!(rate(19.9, 20.1) < 0.2, "dip after the simple death");
    assert!((rate(24.0, 39.0) - full).abs() < 0.1);
    assert!(rate(40.4, 42.0) < 0.01, "dip after the catastrophic death");
    assert!((rate(45.0, 79.0) - full).abs() < 0.1);
    assert_eq!(
        record["faults"][0],
        serde_json::json!([20_000_000_000u64, "crash N3"])
    );
    let chart = read(&dir.join("timeline-1.svg"));
    assert!(chart.contains("video_bits over time") && chart.contains("crash N2"));
}
