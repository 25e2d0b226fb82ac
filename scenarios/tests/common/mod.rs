//! Helpers shared by the command-line tests: run the real `dsim` binary, read its JSON,
//! and find fixtures and scratch directories.
//!
//! Every run checks the one promise all commands share: whatever the input, `dsim`
//! never panics (no "panicked", no hint to set RUST_BACKTRACE on stderr).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What one `dsim` invocation did.
#[derive(Debug)]
pub struct Run {
    /// Exit status.
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
    /// The arguments, for failure messages.
    pub args: Vec<String>,
}

impl Run {
    /// Panics with the whole invocation unless the exit status is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "dsim {:?} exited {} (expected {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Exit status 2 with an error on stderr that contains every one of `phrases`, is
    /// one paragraph (no blank line), and leaves stdout empty.
    pub fn expect_usage_error(&self, phrases: &[&str]) -> &Self {
        self.expect_code(2);
        let err = self.stderr.trim_end();
        assert!(
            !err.is_empty(),
            "dsim {:?}: exit 2 without a message",
            self.args
        );
        assert!(
            !err.contains("\n\n"),
            "dsim {:?}: the error is more than one paragraph:\n{err}",
            self.args
        );
        for phrase in phrases {
            assert!(
                err.contains(phrase),
                "dsim {:?}: stderr lacks {phrase:?}:\n{err}",
                self.args
            );
        }
        assert_eq!(
            self.stdout, "",
            "dsim {:?}: stdout should be empty on a usage error",
            self.args
        );
        self
    }

    /// stdout as exactly one JSON object on one line.
    pub fn json(&self) -> Value {
        let out = self.stdout.strip_suffix('\n').unwrap_or(&self.stdout);
        assert!(
            !out.is_empty() && !out.contains('\n'),
            "dsim {:?}: expected exactly one line of JSON on stdout, got:\n{}",
            self.args,
            self.stdout
        );
        let value: Value = serde_json::from_str(out)
            .unwrap_or_else(|e| panic!("dsim {:?}: stdout is not JSON ({e}):\n{out}", self.args));
        assert!(
            value.is_object(),
            "dsim {:?}: not an object: {out}",
            self.args
        );
        value
    }
}

/// Run `dsim` with `args` from a scratch working directory (so a library name such as
/// `ping-pong` is never mistaken for a file in the crate folder).
pub fn dsim<S: AsRef<str>>(args: &[S]) -> Run {
    let args: Vec<String> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args(&args)
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .expect("the dsim binary runs");
    let run = Run {
        code: out
            .status
            .code()
            .unwrap_or_else(|| panic!("dsim {args:?} was killed by a signal: {:?}", out.status)),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        args,
    };
    for sign in ["panicked", "RUST_BACKTRACE"] {
        assert!(
            !run.stderr.contains(sign),
            "dsim {:?} panicked:\n{}",
            run.args,
            run.stderr
        );
    }
    run
}

/// A file under `tests/fixtures/`, as a string argument.
pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_str()
        .expect("UTF-8 path")
        .to_owned()
}

/// The text of a file under `tests/fixtures/`.
pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture exists")
}

/// A fresh, empty directory for one test under Cargo's per-target scratch folder.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("dsim-cli-tests")
        .join(test);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear scratch directory");
    }
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// `path` as a string argument.
pub fn arg(path: &Path) -> String {
    path.to_str().expect("UTF-8 path").to_owned()
}

/// `text` with `from` replaced by `to`, checking `from` occurs exactly once.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} should occur once");
    text.replacen(from, to, 1)
}

/// Field `key` of a JSON object as a u64.
pub fn u64_of(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a u64 in {value}"))
}

/// Field `key` of a JSON object as a string.
pub fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {value}"))
}

/// Metric `name` of a run report as a number.
pub fn metric(report: &Value, name: &str) -> f64 {
    report["metrics"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("metric {name} is not a number in {report}"))
}

/// Check the shape of a `dsim run --json` report: exactly the contract's keys with the
/// contract's types.
pub fn check_run_report(report: &Value) {
    let object = report.as_object().expect("an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "events",
            "metrics",
            "scenario",
            "seed",
            "sim_time_ns",
            "trace_hash",
            "violations"
        ],
        "{report}"
    );
    str_of(report, "scenario");
    for key in ["seed", "sim_time_ns", "events"] {
        u64_of(report, key);
    }
    let hash = str_of(report, "trace_hash");
    assert!(
        hash.len() == 32 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "trace_hash should be 32 hex digits: {hash:?}"
    );
    for v in report["violations"]
        .as_array()
        .expect("violations is a list")
    {
        let mut keys: Vec<&str> = v
            .as_object()
            .expect("a violation is an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["invariant", "message", "time_ns"], "{v}");
        str_of(v, "invariant");
        str_of(v, "message");
        u64_of(v, "time_ns");
    }
    for (name, value) in report["metrics"].as_object().expect("metrics is an object") {
        // A table (`Metric::Rows`) is a list of lists of numbers.
        let is_table = value.as_array().is_some_and(|rows| {
            rows.iter().all(|r| {
                r.as_array()
                    .is_some_and(|r| r.iter().all(|x| x.is_number()))
            })
        });
        assert!(
            value.is_number() || value.is_object() || is_table,
            "metric {name} is neither a number, an object nor a table: {value}"
        );
    }
}
