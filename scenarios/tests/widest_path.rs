//! The report's test list for the widest-path system (System 3), each as a scenario:
//! create the network, add a peer, remove a peer, open and close a channel, add and
//! remove a peer while the tree is being computed, remove a peer during a communication,
//! request unavailable bandwidth; plus the library scenarios run twice (determinism) and
//! a scenario naming a topology dsim does not ship.
//!
//! Every scenario runs on the same small graph: a-b 10, b-c 5, a-c 3, c-d 8 (kbit/s),
//! whose maximum spanning tree is a-b, b-c, c-d. The end-of-run invariant
//! `one_session_one_tree` checks that every peer left is in the same session with its
//! trees computed and that the tree equals Kruskal's on the peers left.

use dsim::scenario::runner::{RunOptions, RunReport};
use serde_json::Value;

/// A scenario on the small graph with these joiners, actions and faults.
fn scenario(joiners: &str, ops: &str, faults: &str) -> String {
    format!(
        r#"Scenario(
    name: "widest-path-test",
    seed: 1,
    duration: "12s",
    system: "widest-path",
    params: (
        graph: Links([("a", "b", 10), ("b", "c", 5), ("a", "c", 3), ("c", "d", 8)]),
        joiners: {joiners},
        ops: {ops},
    ),
    network: (default: (latency: Constant("5ms"), jitter: "4ms", fifo: true)),
    faults: {faults},
)"#
    )
}

fn run(text: &str) -> RunReport {
    let loaded = scenarios::registry()
        .load("test.ron", text)
        .unwrap_or_else(|e| panic!("{e}"));
    loaded
        .run(&RunOptions::default(), &mut |_, _| {})
        .expect("runs")
}

/// Run and require no violation.
fn run_ok(text: &str) -> RunReport {
    let report = run(text);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    report
}

fn metric(report: &RunReport, name: &str) -> f64 {
    match report.metrics.get(name) {
        Some(Value::Number(n)) => n.as_f64().expect("a number"),
        None => 0.0,
        other => panic!("{name}: {other:?}"),
    }
}

/// The tree as `[a, b, kbps]` rows by peer index.
fn mst_edges(report: &RunReport) -> Vec<[u64; 3]> {
    let rows = report.metrics["mst_edges"].as_array().expect("a list");
    rows.iter()
        .map(|r| {
            let v: Vec<u64> = r
                .as_array()
                .expect("a row")
                .iter()
                .map(|x| x.as_f64().expect("a number") as u64)
                .collect();
            [v[0], v[1], v[2]]
        })
        .collect()
}

#[test]
fn creating_the_network() {
    let r = run_ok(&scenario("[]", "[]", "[]"));
    assert_eq!(mst_edges(&r), vec![[1, 2, 5], [2, 3, 8], [0, 1, 10]]);
    assert_eq!(metric(&r, "mst_weight"), 23.0);
    assert_eq!(metric(&r, "sessions"), 1.0);
    assert!(metric(&r, "ghs_messages") <= metric(&r, "ghs_messages.bound"));
}

#[test]
fn adding_a_peer() {
    let r = run_ok(&scenario(
        r#"[(name: "e", links: [("d", 7), ("a", 2)])]"#,
        "[]",
        r#"[(at: "3s", fault: Join("e"))]"#,
    ));
    assert_eq!(metric(&r, "sessions"), 2.0);
    assert_eq!(
        mst_edges(&r),
        vec![[1, 2, 5], [3, 4, 7], [2, 3, 8], [0, 1, 10]]
    );
}

#[test]
fn removing_a_peer() {
    let r = run_ok(&scenario("[]", "[]", r#"[(at: "3s", fault: Leave("b"))]"#));
    assert_eq!(mst_edges(&r), vec![[0, 2, 3], [2, 3, 8]]);
}

#[test]
fn opening_and_closing_a_channel() {
    let ops = r#"[
        (at: "1s", op: Open(from: "a", to: "d", kbps: 4)),
        (at: "2s", op: Send(from: "a", to: "d", bytes: 1000)),
        (at: "3s", op: Close(by: "d", other: "a")),
        (at: "4s", op: Send(from: "a", to: "d", bytes: 10)),
    ]"#;
    let r = run_ok(&scenario("[]", ops, "[]"));
    assert_eq!(metric(&r, "requests_ok"), 1.0);
    assert_eq!(metric(&r, "data_received"), 1.0);
    assert_eq!(metric(&r, "channels_closed"), 1.0);
    // After the close, a has no channel to d.
    assert_eq!(metric(&r, "data_no_connection"), 1.0);
    let setup = &r.metrics["channel_setup_ms"];
    assert_eq!(setup["count"], 1);
    // Three hops there and back on 5-9 ms links.
    let ms = setup["mean"].as_f64().expect("mean");
    assert!((30.0..=60.0).contains(&ms), "{ms}");
}

#[test]
fn adding_and_removing_peers_while_the_tree_is_computed() {
    // The first session's GHS runs during the first tens of milliseconds.
    let r = run_ok(&scenario(
        r#"[(name: "e", links: [("d", 7), ("a", 2)])]"#,
        "[]",
        r#"[(at: "4ms", fault: Join("e")), (at: "9ms", fault: Leave("b"))]"#,
    ));
    assert!(metric(&r, "sessions") >= 3.0);
    // Without b: a-c 3, c-d 8, d-e 7.
    assert_eq!(mst_edges(&r), vec![[0, 2, 3], [3, 4, 7], [2, 3, 8]]);
}

#[test]
fn removing_a_peer_during_a_communication() {
    let ops = r#"[
        (at: "1s", op: Open(from: "a", to: "d", kbps: 3)),
        (at: "10s", op: Send(from: "a", to: "d", bytes: 100)),
    ]"#;
    let r = run_ok(&scenario("[]", ops, r#"[(at: "3s", fault: Crash("b"))]"#));
    // The channel went a-b-c-d; it breaks and is set up again over a-c-d.
    assert_eq!(metric(&r, "channels_reestablished"), 1.0);
    assert_eq!(metric(&r, "requests_ok"), 2.0);
    assert_eq!(metric(&r, "data_received"), 1.0);
}

#[test]
fn requesting_unavailable_bandwidth() {
    let ops = r#"[
        (at: "1s", op: Open(from: "a", to: "d", kbps: 4)),
        (at: "2s", op: Open(from: "b", to: "d", kbps: 4)),
        (at: "3s", op: Open(from: "c", to: "a", kbps: 6)),
        (at: "5s", op: Close(by: "a", other: "d")),
    ]"#;
    let r = run_ok(&scenario("[]", ops, "[]"));
    // b-d finds no band while a-d holds b-c, waits, and is served after the close;
    // c-a asks above the widest path (5) and is rejected at once.
    assert_eq!(metric(&r, "requests_no_band"), 2.0);
    assert_eq!(metric(&r, "requests_queued"), 1.0);
    assert_eq!(metric(&r, "requests_rejected"), 1.0);
    assert_eq!(metric(&r, "requests_ok"), 2.0);
}

#[test]
fn library_scenarios_run_twice_give_the_same_fingerprint() {
    for name in ["widest-path", "widest-path-belnet"] {
        let registry = scenarios::registry();
        let s = registry.find_scenario(name).expect("in the library");
        let (file, text) = (&s.file, &s.text);
        let a = run(text);
        let b = run(text);
        assert!(a.violations.is_empty(), "{file}: {:?}", a.violations);
        assert_eq!(a.trace_hash, b.trace_hash, "{file}");
        assert!(
            metric(&a, "ghs_messages") <= metric(&a, "ghs_messages.bound"),
            "{file}"
        );
    }
}

#[test]
fn a_topology_that_is_not_shipped_is_a_clear_error() {
    let text = scenario("[]", "[]", "[]").replace(
        r#"Links([("a", "b", 10), ("b", "c", 5), ("a", "c", 3), ("c", "d", 8)])"#,
        r#"Gml(file: "topologies/Atlantis.gml")"#,
    );
    let err = scenarios::registry()
        .load("test.ron", &text)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("the scenario names the file \"topologies/Atlantis.gml\": no such file")
            && err.contains("shipped: topologies/Abilene.gml"),
        "{err}"
    );
}
