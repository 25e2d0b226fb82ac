//! The `dsim` command line, run as a real process: the JSON contract of `run` and
//! `bench phold`, exit statuses, `--seed`, `--until`, `--set`, `--trace` and `verify`,
//! `list`, and usage errors.
//!
//! Exit status: 0 ran clean, 1 an invariant was violated (or `verify` found a
//! difference), 2 bad input or usage.

mod common;

use common::{arg, check_run_report, dsim, fixture, metric, replace_once, scratch, str_of, u64_of};
use serde_json::Value;

const SECOND: u64 = 1_000_000_000;

/// `dsim run FIXTURE --json EXTRA...`, expecting exit `code`; the checked report.
fn run_json(file: &str, extra: &[&str], code: i32) -> Value {
    let mut args = vec!["run", file, "--json"];
    args.extend_from_slice(extra);
    let run = dsim(&args);
    run.expect_code(code);
    let report = run.json();
    check_run_report(&report);
    report
}

#[test]
fn run_json_prints_one_object_with_the_contract_fields() {
    let report = run_json(&fixture("small-ping-pong.ron"), &[], 0);
    assert_eq!(str_of(&report, "scenario"), "small-ping-pong");
    assert_eq!(u64_of(&report, "seed"), 7);
    assert_eq!(report["violations"], serde_json::json!([]));
    assert!(u64_of(&report, "events") > 0);
    assert!(u64_of(&report, "sim_time_ns") <= 10 * SECOND);
    // Two pingers, 30 pings each, all resolved (answered or given up).
    assert_eq!(metric(&report, "pingpong.pings"), 60.0);
    assert_eq!(
        metric(&report, "pingpong.acked") + metric(&report, "pingpong.lost"),
        60.0
    );
    // Sample sets are reported as summaries (objects).
    assert!(report["metrics"]["pingpong.completion_ms"].is_object());
}

#[test]
fn human_output_shows_the_same_run() {
    let file = fixture("small-ping-pong.ron");
    let report = run_json(&file, &[], 0);
    let run = dsim(&["run", &file]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains(&format!("trace hash {}", str_of(&report, "trace_hash"))),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("violations none"), "{}", run.stdout);
}

#[test]
fn same_seed_gives_identical_json() {
    let file = fixture("small-ping-pong.ron");
    let first = dsim(&["run", &file, "--json", "--seed", "11"]);
    let second = dsim(&["run", &file, "--json", "--seed", "11"]);
    first.expect_code(0);
    second.expect_code(0);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(u64_of(&first.json(), "seed"), 11);
}

#[test]
fn seed_changes_the_fingerprint() {
    let file = fixture("small-ping-pong.ron");
    let hashes: Vec<String> = [None, Some("1"), Some("2")]
        .iter()
        .map(|seed| {
            let extra: Vec<&str> = seed.iter().flat_map(|s| ["--seed", *s]).collect();
            str_of(&run_json(&file, &extra, 0), "trace_hash").to_owned()
        })
        .collect();
    assert_ne!(hashes[0], hashes[1]);
    assert_ne!(hashes[0], hashes[2]);
    assert_ne!(hashes[1], hashes[2]);
}

#[test]
fn set_seed_is_the_same_as_the_seed_flag() {
    let file = fixture("small-ping-pong.ron");
    let by_set = dsim(&["run", &file, "--json", "--set", "seed=9"]);
    let by_flag = dsim(&["run", &file, "--json", "--seed", "9"]);
    by_set.expect_code(0);
    assert_eq!(by_set.stdout, by_flag.stdout);
    assert_ne!(
        str_of(&by_set.json(), "trace_hash"),
        str_of(&run_json(&file, &[], 0), "trace_hash")
    );
}

#[test]
fn set_changes_the_result() {
    let file = fixture("small-ping-pong.ron");
    let base = run_json(&file, &[], 0);
    let hash = |r: &Value| str_of(r, "trace_hash").to_owned();

    // A value in a nested struct.
    let lossy = run_json(&file, &["--set", "network.default.loss=0.4"], 0);
    assert_ne!(hash(&lossy), hash(&base));
    assert!(metric(&lossy, "net.dropped.loss") > metric(&base, "net.dropped.loss"));

    // A system parameter.
    let few = run_json(&file, &["--set", "params.count=3"], 0);
    assert_ne!(hash(&few), hash(&base));
    assert_eq!(metric(&few, "pingpong.pings"), 6.0);

    // A field the file leaves at its default is added.
    let dup = run_json(&file, &["--set", "network.default.duplicate=0.5"], 0);
    assert_eq!(metric(&base, "net.messages_duplicated"), 0.0);
    assert!(metric(&dup, "net.messages_duplicated") > 0.0);

    // Inside a list, and several at once.
    let both = run_json(
        &file,
        &[
            "--set",
            "network.links.0.params.loss=0.0",
            "--set",
            "faults.0.at=\"100ms\"",
        ],
        0,
    );
    assert_ne!(hash(&both), hash(&base));
}

#[test]
fn set_with_a_bad_path_names_the_path() {
    let file = fixture("small-ping-pong.ron");
    let cases: &[(&str, &[&str])] = &[
        (
            "nodes.9.name=\"x\"",
            &["--set nodes.9", "past the end of `nodes`"],
        ),
        ("seed.x=1", &["--set seed.x", "no fields or elements"]),
        (
            "nodes.name=\"x\"",
            &["--set nodes.name", "must be an index"],
        ),
        (
            "network.default.los=0.3",
            &[
                "unknown field `los`",
                "did you mean `loss`?",
                "--set network.default.los=0.3",
            ],
        ),
        ("a..b=1", &["--set a..b", "empty segment"]),
        ("=1", &["the path is empty"]),
        ("params.count", &["--set \"params.count\"", "PATH=VALUE"]),
    ];
    for (set, phrases) in cases {
        dsim(&["run", &file, "--json", "--set", set]).expect_usage_error(phrases);
    }
}

#[test]
fn set_with_a_bad_value_names_the_path() {
    let file = fixture("small-ping-pong.ron");
    let cases: &[(&str, &[&str])] = &[
        (
            "params.count=\"many\"",
            &["expected a whole number", "--set params.count=\"many\""],
        ),
        (
            "network.default.loss=1.5",
            &[
                "loss must be a probability in [0, 1], got 1.5",
                "--set network.default.loss=1.5",
            ],
        ),
        (
            "duration=5",
            &["expected a duration string", "--set duration=5"],
        ),
        (
            "params.count=(",
            &["--set params.count", "the value `(` is not valid RON"],
        ),
        (
            "params.timeout=\"0s\"",
            &[
                "params.timeout must be positive",
                "--set params.timeout=\"0s\"",
            ],
        ),
    ];
    for (set, phrases) in cases {
        let run = dsim(&["run", &file, "--json", "--set", set]);
        run.expect_usage_error(phrases);
        assert!(run.stderr.contains(&file), "{}", run.stderr);
    }
}

#[test]
fn until_stops_the_clock_at_the_given_time() {
    // PHOLD's events never run out, so the clock stops exactly at --until.
    let file = fixture("small-phold.ron");
    let five = run_json(&file, &["--until", "5s"], 0);
    assert_eq!(u64_of(&five, "sim_time_ns"), 5 * SECOND);
    let two = run_json(&file, &["--until", "2s"], 0);
    assert_eq!(u64_of(&two, "sim_time_ns"), 2 * SECOND);
    assert!(u64_of(&two, "events") < u64_of(&five, "events"));
    assert_ne!(str_of(&two, "trace_hash"), str_of(&five, "trace_hash"));
}

/// The library ping-pong has cancelled retransmission timers in its queue; `--until`
/// must still process no event after the stop time.
#[test]
fn until_never_runs_an_event_past_the_stop_time() {
    let dir = scratch("until_never_runs_an_event_past_the_stop_time");
    let trace = arg(&dir.join("pp.trace"));
    let run = dsim(&[
        "run",
        "ping-pong",
        "--json",
        "--until",
        "5s",
        "--trace",
        &trace,
    ]);
    // The pings cannot all be resolved in 5 s of a 2 min scenario.
    run.expect_code(1);
    let report = run.json();
    check_run_report(&report);
    let text = std::fs::read_to_string(&trace).expect("trace written");
    let late: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|line| {
            let record: Value = serde_json::from_str(line).expect("a JSON record");
            u64_of(&record, "time_ns") > 5 * SECOND
        })
        .collect();
    assert!(
        late.is_empty(),
        "records after --until 5s:\n{}",
        late.join("\n")
    );
    assert_eq!(u64_of(&report, "sim_time_ns"), 5 * SECOND);
}

#[test]
fn a_violated_invariant_exits_1_with_the_violation_in_json() {
    let report = run_json(&fixture("too-short.ron"), &[], 1);
    let violations = report["violations"].as_array().expect("a list");
    assert_eq!(violations.len(), 1, "{report}");
    let v = &violations[0];
    assert_eq!(str_of(v, "invariant"), "all_pings_resolved");
    assert_eq!(u64_of(v, "time_ns"), u64_of(&report, "sim_time_ns"));
    assert!(
        str_of(v, "message").contains("resolved only"),
        "{}",
        str_of(v, "message")
    );

    // Choosing only the other invariant makes the same run clean.
    let text = common::fixture_text("too-short.ron");
    let dir = scratch("a_violated_invariant_exits_1_with_the_violation_in_json");
    let only_accounting = dir.join("only-accounting.ron");
    std::fs::write(
        &only_accounting,
        replace_once(
            &text,
            "    nodes:",
            "    invariants: [\"ping_accounting\"],\n    nodes:",
        ),
    )
    .expect("write fixture");
    let clean = run_json(&arg(&only_accounting), &[], 0);
    assert_eq!(clean["trace_hash"], report["trace_hash"]);
}

#[test]
fn trace_then_verify_reproduces_the_run() {
    let dir = scratch("trace_then_verify_reproduces_the_run");
    let trace = arg(&dir.join("out/small.trace"));
    let file = fixture("small-ping-pong.ron");
    // Overrides and flags are part of what the trace file carries.
    let report = run_json(
        &file,
        &["--trace", &trace, "--seed", "5", "--set", "params.count=10"],
        0,
    );
    let run = dsim(&["verify", &trace]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("ok"), "{}", run.stdout);
    assert!(
        run.stdout.contains(str_of(&report, "trace_hash")),
        "{}",
        run.stdout
    );
    let records = std::fs::read_to_string(&trace)
        .expect("trace written")
        .lines()
        .count()
        - 1;
    assert!(
        run.stdout.contains(&format!("{records} records")),
        "{}",
        run.stdout
    );
}

/// Writes a trace of the small scenario to `dir` and returns (its path, its lines).
fn small_trace(dir: &std::path::Path) -> (String, Vec<String>) {
    let trace = arg(&dir.join("small.trace"));
    run_json(&fixture("small-ping-pong.ron"), &["--trace", &trace], 0);
    let lines = std::fs::read_to_string(&trace)
        .expect("trace written")
        .lines()
        .map(str::to_owned)
        .collect();
    (trace, lines)
}

#[test]
fn verify_names_the_first_divergent_record() {
    let dir = scratch("verify_names_the_first_divergent_record");
    let (trace, lines) = small_trace(&dir);
    assert!(lines.len() > 40, "a trace with some records");
    // Line 0 is the header; record i is line i + 1.
    for index in [0, 17, lines.len() - 2] {
        let mut record: Value = serde_json::from_str(&lines[index + 1]).expect("JSON");
        let time = u64_of(&record, "time_ns");
        record["time_ns"] = (time + 1).into();
        let mut tampered = lines.clone();
        tampered[index + 1] = record.to_string();
        let path = dir.join(format!("tampered-{index}.trace"));
        std::fs::write(&path, tampered.join("\n") + "\n").expect("write trace");
        let run = dsim(&["verify", &arg(&path)]);
        run.expect_code(1);
        assert!(
            run.stdout.contains(&format!("record {index} ")),
            "record {index}:\n{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&format!("recorded: t={}ns", time + 1)),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&format!("re-run:   t={time}ns")),
            "{}",
            run.stdout
        );
    }
    // The untouched file still verifies.
    dsim(&["verify", &trace]).expect_code(0);
}

#[test]
fn verify_reports_a_trace_that_ends_early() {
    let dir = scratch("verify_reports_a_trace_that_ends_early");
    let (_, lines) = small_trace(&dir);
    let path = dir.join("short.trace");
    std::fs::write(&path, lines[..lines.len() - 1].join("\n") + "\n").expect("write trace");
    let run = dsim(&["verify", &arg(&path)]);
    run.expect_code(1);
    let index = lines.len() - 2;
    assert!(
        run.stdout.contains(&format!("record {index} ")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("(trace ended)"), "{}", run.stdout);
}

#[test]
fn verify_rejects_what_is_not_a_trace() {
    let dir = scratch("verify_rejects_what_is_not_a_trace");
    let (_, lines) = small_trace(&dir);

    let scenario = fixture("small-ping-pong.ron");
    dsim(&["verify", &scenario]).expect_usage_error(&[&scenario, ":1:", "not a dsim trace"]);

    let empty = arg(&dir.join("empty.trace"));
    std::fs::write(&empty, "").expect("write");
    dsim(&["verify", &empty]).expect_usage_error(&[&empty, "empty file"]);

    let missing = arg(&dir.join("missing.trace"));
    dsim(&["verify", &missing]).expect_usage_error(&[&missing, "cannot read"]);

    // A broken record line is named by its line number.
    let mut broken = lines.clone();
    broken[5] = "{\"time_ns\": 12".into();
    let broken_path = arg(&dir.join("broken.trace"));
    std::fs::write(&broken_path, broken.join("\n")).expect("write");
    dsim(&["verify", &broken_path])
        .expect_usage_error(&[&format!("{broken_path}:6:"), "not a dsim trace"]);

    // Another format tag.
    let mut header: Value = serde_json::from_str(&lines[0]).expect("JSON header");
    header["format"] = "dsim-trace/999".into();
    let mut other = lines.clone();
    other[0] = header.to_string();
    let other_path = arg(&dir.join("other.trace"));
    std::fs::write(&other_path, other.join("\n")).expect("write");
    dsim(&["verify", &other_path]).expect_usage_error(&["dsim-trace/999", "dsim-trace/1"]);
}

#[test]
fn bench_phold_prints_the_contract_fields() {
    let args = [
        "bench",
        "phold",
        "--lps",
        "50",
        "--events-per-lp",
        "2",
        "--events",
        "5000",
        "--json",
    ];
    let run = dsim(&args);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(u64_of(&report, "lps"), 50);
    assert_eq!(u64_of(&report, "events"), 5000);
    let wall = report["wall_s"].as_f64().expect("wall_s is a number");
    let rate = report["events_per_s"]
        .as_f64()
        .expect("events_per_s is a number");
    assert!(wall > 0.0 && rate > 0.0, "{report}");
    // The work is deterministic even though the timing is not.
    let again = dsim(&args).json();
    assert_eq!(report["trace_hash"], again["trace_hash"]);
}

/// `bench system` reports what the run achieved beside how fast it went: widest-path's
/// GHS message count with its proven bound, and no invariant violated.
#[test]
fn bench_system_reports_key_metrics_with_their_bounds() {
    let args = [
        "bench",
        "system",
        "widest-path",
        "--size",
        "40",
        "--until",
        "20s",
    ];
    let run = dsim(&args);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["violation"], Value::Null, "{report}");
    let metrics = &report["metrics"];
    let sent = metrics["ghs_messages"].as_f64().expect("ghs_messages");
    let bound = metrics["ghs_messages.bound"].as_f64().expect("bound");
    assert!(sent > 0.0 && sent <= bound, "{metrics}");
    assert_eq!(report["trace_hash"], dsim(&args).json()["trace_hash"]);
}

#[test]
fn bench_phold_rejects_bad_arguments() {
    dsim(&["bench", "phold", "--lps", "0", "--json"]).expect_usage_error(&["--lps"]);
    dsim(&["bench", "phold", "--remote", "1.5"]).expect_usage_error(&["--remote"]);
}

#[test]
fn list_names_every_library_scenario_and_system() {
    let run = dsim(&["list"]);
    run.expect_code(0);
    let dir = env!("CARGO_MANIFEST_DIR");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("crate folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".ron").map(str::to_owned))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    let listed: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Scenario library"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, names, "{}", run.stdout);
    assert!(!run.stdout.contains("does not load"), "{}", run.stdout);
    for system in ["ping-pong", "phold"] {
        assert!(
            run.stdout
                .lines()
                .skip_while(|l| !l.starts_with("Systems"))
                .any(|l| l.split_whitespace().next() == Some(system)),
            "{system} not listed:\n{}",
            run.stdout
        );
    }
}

#[test]
fn a_library_scenario_runs_by_name() {
    let by_name = run_json("ping-pong", &["--until", "1s"], 1);
    let with_ext = run_json("ping-pong.ron", &["--until", "1s"], 1);
    assert_eq!(by_name, with_ext);
    assert_eq!(str_of(&by_name, "scenario"), "ping-pong");
}

/// Argument errors come from clap: exit 2, the problem on stderr, then clap's usage
/// line and hint (three short paragraphs, clap's standard layout).
#[test]
fn argument_errors_exit_2() {
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &["Usage"]),
        (&["frobnicate"], &["frobnicate"]),
        (&["run"], &["<FILE>"]),
        (
            &["run", "ping-pong", "--until", "5x"],
            &["5x", "unknown unit"],
        ),
        (&["run", "ping-pong", "--until=-5s"], &["-5s", "negative"]),
        (
            &["run", "ping-pong", "--seed", "seven"],
            &["seven", "--seed"],
        ),
        (&["run", "ping-pong", "--bogus"], &["--bogus"]),
        (&["run", "--all", "ping-pong"], &["--all"]),
        (&["verify"], &["<TRACE>"]),
        (&["bench", "phold", "--lps", "many"], &["many", "--lps"]),
    ];
    for (args, phrases) in cases {
        let run = dsim(args);
        run.expect_code(2);
        assert_eq!(run.stdout, "", "dsim {args:?}");
        for phrase in *phrases {
            assert!(run.stderr.contains(phrase), "dsim {args:?}: {}", run.stderr);
        }
    }
    // Our own usage errors are one paragraph.
    dsim(&["run", "--all", "--trace", "x.trace"])
        .expect_usage_error(&["--trace", "single scenario"]);
}

#[test]
fn help_and_version_exit_0() {
    let help = dsim(&["--help"]);
    help.expect_code(0);
    for command in ["run", "verify", "list", "bench"] {
        assert!(help.stdout.contains(command), "{}", help.stdout);
    }
    dsim(&["run", "--help"]).expect_code(0);
    let version = dsim(&["--version"]);
    version.expect_code(0);
    assert!(version.stdout.starts_with("dsim "), "{}", version.stdout);
}

/// The transport layer's bad parameters are refused at load time with exit 2: a chunk
/// larger than the scenario network's MTU when the link does not fragment, a window of
/// 0 and a timeout of 0.
#[test]
fn transport_refuses_bad_parameters_at_load_time() {
    dsim(&[
        "run",
        "transport",
        "--set",
        "network.default.fragmentation=false",
    ])
    .expect_usage_error(&[
        "the link client-0 -> server",
        "exceeds the link MTU of 1500",
    ]);
    dsim(&["run", "transport", "--set", "params.transport.window=0"])
        .expect_usage_error(&["params.transport.window must be at least 1"]);
    dsim(&[
        "run",
        "transport",
        "--set",
        "params.transport.timeout=\"0s\"",
    ])
    .expect_usage_error(&["params.transport.timeout must be positive"]);
}

/// OTT: a neighbour table naming an unknown node, or a TOML table line that is not a
/// list, is refused with the name or the line.
#[test]
fn ott_bad_tables_and_clients_are_named() {
    dsim(&[
        "run",
        "ott-failures",
        "--set",
        r#"params.neighbours={"S1":["N9"],"N1":[],"N2":[],"N3":[],"N4":[]}"#,
    ])
    .expect_usage_error(&["\"N9\"", "not a server, node or pop"]);
    dsim(&[
        "run",
        "ott",
        "--set",
        r#"params.neighbours_toml="\"S1\" = N1""#,
    ])
    .expect_usage_error(&["params.neighbours_toml line 1", "[ ... ] list"]);
}

/// A reader that stops early (`dsim list | head -1`) ends dsim quietly with status 0,
/// not with a panic on the broken pipe.
#[test]
fn a_closed_stdout_ends_quietly() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_dsim"))
        .arg("list")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before dsim has written anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
