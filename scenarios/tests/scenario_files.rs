//! Files a scenario names (a GML topology beside it): read at load time relative to the
//! scenario file, errors with the path (and the GML line), and carried by traces,
//! sweep manifests and counterexamples so that they reproduce elsewhere.

mod common;

use common::{arg, dsim, scratch};
use std::path::Path;

/// Bully among five nodes on a graph read from `graphs/net.gml` beside the scenario,
/// links of 5 to 15 ms: the library's bully with a topology file.
const RING_SCENARIO: &str = r#"Scenario(
    name: "bully-ring",
    seed: 1,
    duration: "30s",
    system: "bully",
    params: (heartbeat: "500ms", answer_timeout: "40ms", coordinator_timeout: "200ms"),
    nodes: [(name: "node-{}", role: "node", count: 5)],
    topology: Gml("graphs/net.gml"),
    network: (default: (latency: Uniform(min: "5ms", max: "15ms"))),
    faults: [(at: "10s", fault: Crash("node-4")), (at: "20s", fault: Restart("node-4"))],
    quiet: "10s",
)
"#;

/// A GML graph over `node-0` .. `node-4` linking every pair but those in `missing`,
/// one item per line: the nodes on lines 2 to 6, then the edges.
fn net_gml(missing: &[(u32, u32)]) -> String {
    let nodes: String = (0..5)
        .map(|i| format!("  node [ id {i} label \"node-{i}\" ]\n"))
        .collect();
    let edges: String = (0..5)
        .flat_map(|a| (a + 1..5).map(move |b| (a, b)))
        .filter(|pair| !missing.contains(pair))
        .map(|(a, b)| format!("  edge [ source {a} target {b} ]\n"))
        .collect();
    format!("graph [\n{nodes}{edges}]\n")
}

/// The 1-based line of `text` that holds `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("present")
        + 1
}

/// A folder holding the scenario and, under `graphs/`, its GML file (when given).
fn folder(test: &str, gml: Option<&str>) -> std::path::PathBuf {
    let dir = scratch(test);
    std::fs::write(dir.join("bully-ring.ron"), RING_SCENARIO).unwrap();
    if let Some(text) = gml {
        std::fs::create_dir_all(dir.join("graphs")).unwrap();
        std::fs::write(dir.join("graphs/net.gml"), text).unwrap();
    }
    dir
}

#[test]
fn a_topology_file_beside_the_scenario_loads_and_gives_its_links() {
    // Every pair linked: the run is the full mesh's, event for event.
    let dir = folder("gml-ok", Some(&net_gml(&[])));
    let file = arg(&dir.join("bully-ring.ron"));
    let complete = dsim(&["run", &file, "--json"]).expect_code(0).json();
    let mesh_text = RING_SCENARIO.replace("    topology: Gml(\"graphs/net.gml\"),\n", "");
    std::fs::write(dir.join("mesh.ron"), mesh_text).unwrap();
    let mesh = dsim(&["run", &arg(&dir.join("mesh.ron")), "--json"])
        .expect_code(0)
        .json();
    assert_eq!(complete["trace_hash"], mesh["trace_hash"]);
    assert_eq!(complete["metrics"]["net.dropped.no_route"].as_f64(), None);
    // One pair unlinked in the file: its messages find no route (textbook Bully, which
    // assumes every pair linked, may then fail its liveness: that is its fault model).
    std::fs::write(dir.join("graphs/net.gml"), net_gml(&[(1, 4)])).unwrap();
    let cut = dsim(&["run", &file, "--json"]);
    let cut = cut.json();
    assert!(
        cut["metrics"]["net.dropped.no_route"].as_f64().unwrap() > 0.0,
        "{cut}"
    );
}

#[test]
fn a_missing_topology_file_is_exit_2_with_its_path() {
    let dir = folder("gml-missing", None);
    let run = dsim(&["run", &arg(&dir.join("bully-ring.ron"))]);
    run.expect_usage_error(&[
        "bully-ring.ron:8:",
        "the scenario names the file \"graphs/net.gml\"",
        "no such file",
        &arg(&dir.join("graphs/net.gml")),
    ]);
}

#[test]
fn a_broken_topology_file_is_exit_2_with_its_path_and_line() {
    let broken = net_gml(&[]).replace("source 0 target 2", "source 0 target 9");
    let line = line_of(&broken, "target 9");
    let dir = folder("gml-broken", Some(&broken));
    dsim(&["run", &arg(&dir.join("bully-ring.ron"))]).expect_usage_error(&[
        "bully-ring.ron:8:",
        &format!("topology graphs/net.gml: GML line {line}: edge target 9 is not a node id"),
    ]);
    let unterminated = net_gml(&[]).replacen("\"node-4\"", "\"node-4", 1);
    let line = line_of(&unterminated, "\"node-4");
    let dir = folder("gml-unterminated", Some(&unterminated));
    dsim(&["run", &arg(&dir.join("bully-ring.ron"))]).expect_usage_error(&[&format!(
        "topology graphs/net.gml: GML line {line}: unterminated string"
    )]);
    let stranger = net_gml(&[]).replace("\"node-4\"", "\"node-9\"");
    let dir = folder("gml-stranger", Some(&stranger));
    dsim(&["run", &arg(&dir.join("bully-ring.ron"))])
        .expect_usage_error(&["GML line", "node \"node-9\" is not a declared node"]);
}

#[test]
fn traces_and_sweeps_carry_the_file_and_reproduce_without_it() {
    let dir = folder("gml-carried", Some(&net_gml(&[])));
    let file = arg(&dir.join("bully-ring.ron"));
    let trace = dir.join("run.trace.jsonl");
    dsim(&["run", &file, "--trace", &arg(&trace)]).expect_code(0);
    let sweep = dir.join("sweep");
    dsim(&["sweep", &file, "--seeds", "1..2", "--out", &arg(&sweep)]).expect_code(0);
    // The file is gone: the trace and the sweep still reproduce from what they carry.
    std::fs::remove_dir_all(dir.join("graphs")).unwrap();
    dsim(&["run", &file]).expect_code(2);
    let verified = dsim(&["verify", &arg(&trace)]);
    verified.expect_code(0);
    assert!(verified.stdout.starts_with("ok: "), "{}", verified.stdout);
    dsim(&["report", &arg(&trace.with_extension(""))]).expect_code(2);
    let reports = dir.join("traces");
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::rename(&trace, reports.join("run.trace.jsonl")).unwrap();
    dsim(&["report", &arg(&reports)]).expect_code(0);
    dsim(&["report", &arg(&sweep)]).expect_code(0);
    assert!(Path::new(&sweep).join("report.html").exists());
}

/// `dsim explore` writes the files a scenario names beside its counterexample, so the
/// counterexample runs from its own folder; and a violation before the scenario's own
/// later faults gives a file `dsim run` accepts (issue 20: it was refused with exit 2).
#[test]
fn counterexamples_reproduce_with_their_files_before_later_faults() {
    let dir = folder("gml-counterexample", Some(&net_gml(&[])));
    // The answer timeout below the longest round trip: two coordinators under crashes.
    let text = RING_SCENARIO
        .replace("answer_timeout: \"40ms\"", "answer_timeout: \"21ms\"")
        .replace(
            "    quiet: \"10s\",\n",
            "    quiet: \"10s\",\n    explore: (max_faults: 6, from: \"1s\", until: \"25s\", max_length: \"5s\", kinds: [CrashRestart]),\n",
        );
    std::fs::write(dir.join("bully-ring.ron"), text).unwrap();
    let out = dir.join("found");
    let explored = dsim(&[
        "explore",
        &arg(&dir.join("bully-ring.ron")),
        "--runs",
        "2000",
        "--out",
        &arg(&out),
    ]);
    explored.expect_code(1);
    let written = explored.stdout.lines().last().unwrap().to_owned();
    assert!(
        out.join("graphs/net.gml").exists(),
        "the GML file beside it"
    );
    let reproduced = dsim(&["run", &written]);
    reproduced.expect_code(1);
    assert!(
        reproduced.stdout.contains("VIOLATION"),
        "{}",
        reproduced.stdout
    );
    // Beside it, its report: the whole run, the sequence chart opened on the records
    // that lead up to the violation (not on the first records of the run).
    let report = out.join("bully-ring-counterexample.report");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("run.json")).unwrap()).unwrap();
    // The run stops at the violation.
    let violation_ns = run["sim_time_ns"].as_u64().unwrap();
    assert_eq!(run["window"]["to_ns"].as_u64(), Some(violation_ns + 1));
    let records = run["records"].as_array().unwrap();
    assert_eq!(run["run_records"].as_u64(), Some(records.len() as u64));
    assert_eq!(
        records.last().unwrap()["time_ns"].as_u64(),
        Some(violation_ns)
    );
    // The page the chart opens at: the last 200 records before the violation, and any
    // more at the first one's instant; the chart pages back from there.
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    let page = html.split(r#" data-page=""#).nth(1).unwrap();
    let (from, to) = page[..page.find('"').unwrap()].split_once("..").unwrap();
    let (from, to): (usize, usize) = (from.parse().unwrap(), to.parse().unwrap());
    assert_eq!(to, records.len(), "the page ends at the violation");
    assert!((200..300).contains(&(to - from)), "{from}..{to}");
    assert!(from > 0, "not the first records of the run");
}
