//! Golden fingerprints: every library scenario, run with its own seed and duration,
//! must give the trace hash recorded in `tests/golden_fingerprints.txt`.
//!
//! CI runs this test in debug (`cargo test --workspace`) and again in release
//! (`cargo test --release -p scenarios --test golden`); both compare against the same
//! file, which shows that debug and release builds give the same fingerprint.
//!
//! The scenarios whose trace is small enough to keep ([`TRACED`]) also have their whole
//! trace recorded in `tests/golden/NAME.trace.jsonl`; `dsim verify` re-runs each and
//! names the first record that differs, with both values.
//!
//! Both are regenerated only when a change is meant to alter behaviour:
//! `DSIM_BLESS=1 cargo test --release -p scenarios --test golden` rewrites them from the
//! binary's output (keeping the comment lines); review the diff and commit it with the
//! change that explains it.

mod common;

use common::{arg, check_run_report, dsim, str_of, u64_of};
use std::path::PathBuf;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden_fingerprints.txt")
}

/// Library scenarios whose whole trace is kept (each under 1 MB of JSON lines).
const TRACED: &[&str] = &["bully", "transport"];

fn trace_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.trace.jsonl"))
}

#[test]
fn golden_traces_reproduce_record_for_record() {
    for name in TRACED {
        let path = trace_path(name);
        if std::env::var_os("DSIM_BLESS").is_some() {
            dsim(&["run", name, "--trace", &arg(&path)]).expect_code(0);
            continue;
        }
        let run = dsim(&["verify", &arg(&path)]);
        run.expect_code(0);
        assert!(run.stdout.starts_with("ok: "), "{name}: {}", run.stdout);
    }
}

#[test]
fn a_changed_timing_constant_fails_its_own_golden_with_the_first_difference() {
    // Bully's answer timeout, 40 ms in the recorded run, becomes 45 ms: the re-run
    // differs from the recorded trace, and verify shows where and both records.
    let text = std::fs::read_to_string(trace_path("bully")).expect("the bully golden trace");
    let changed = text.replacen(
        r#"answer_timeout: \"40ms\""#,
        r#"answer_timeout: \"45ms\""#,
        1,
    );
    assert_ne!(
        changed, text,
        "the recorded scenario text names the answer timeout"
    );
    let dir = common::scratch("golden-changed");
    let path = dir.join("bully-changed.trace.jsonl");
    std::fs::write(&path, changed).unwrap();
    let run = dsim(&["verify", &arg(&path)]);
    run.expect_code(1);
    assert!(
        run.stdout.starts_with("MISMATCH at record "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  recorded: t=") && run.stdout.contains("  re-run:   t="),
        "{}",
        run.stdout
    );
    // The other protocols' goldens are untouched by it.
    dsim(&["verify", &arg(&trace_path("transport"))]).expect_code(0);
}

/// The library scenario names, in `dsim list` order (the order `run --all` runs them).
fn library_names() -> Vec<String> {
    let run = dsim(&["list"]);
    run.expect_code(0);
    run.stdout
        .lines()
        .skip_while(|l| !l.starts_with("Scenario library"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// `NAME SEED TRACE_HASH` lines from the golden file, without comments.
fn golden_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn library_fingerprints_match_the_golden_file() {
    let names = library_names();
    assert!(!names.is_empty(), "the library lists no scenarios");

    // One process runs the whole library: `dsim run --all` must exit 0 and print one
    // report per scenario, in library order.
    let run = dsim(&["run", "--all", "--json"]);
    run.expect_code(0);
    let reports: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON report per line"))
        .collect();
    assert_eq!(
        reports.len(),
        names.len(),
        "`run --all` printed {} reports for {} library scenarios:\n{}",
        reports.len(),
        names.len(),
        run.stdout
    );
    let actual: Vec<String> = names
        .iter()
        .zip(&reports)
        .map(|(name, report)| {
            check_run_report(report);
            assert_eq!(report["violations"], serde_json::json!([]), "{name}");
            format!(
                "{name} {} {}",
                u64_of(report, "seed"),
                str_of(report, "trace_hash")
            )
        })
        .collect();

    let text = std::fs::read_to_string(golden_path()).unwrap_or_default();
    if std::env::var_os("DSIM_BLESS").is_some() {
        let comments: String = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let body: String = actual.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(golden_path(), comments + &body).expect("write the golden file");
        return;
    }

    let expected = golden_lines(&text);
    let missing: Vec<&String> = actual.iter().filter(|l| !expected.contains(l)).collect();
    let stale: Vec<&String> = expected.iter().filter(|l| !actual.contains(l)).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "fingerprints differ from {} ({} build)\n  now:      {missing:?}\n  recorded: {stale:?}\n\
         If the change is meant to alter behaviour, regenerate with\n  \
         DSIM_BLESS=1 cargo test --release -p scenarios --test golden",
        golden_path().display(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );
}

#[test]
fn golden_file_lines_are_well_formed() {
    let text = std::fs::read_to_string(golden_path()).expect("the golden file exists");
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.starts_with('#') && l.contains("NAME SEED TRACE_HASH")),
        "the golden file starts with a comment naming its columns"
    );
    assert!(
        text.contains("DSIM_BLESS=1"),
        "the file says how to regenerate it"
    );
    let mut names = Vec::new();
    for line in golden_lines(&text) {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "NAME SEED TRACE_HASH: {line:?}");
        fields[1]
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("seed is not a u64: {line:?}"));
        assert!(
            fields[2].len() == 32 && fields[2].chars().all(|c| c.is_ascii_hexdigit()),
            "trace hash is not 32 hex digits: {line:?}"
        );
        names.push(fields[0].to_owned());
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "a scenario is listed twice");
}
