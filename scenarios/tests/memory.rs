//! A scenario too big for the machine is refused before anything is allocated, naming
//! the field; a run that still runs out of memory ends with an error and exit status 3,
//! never an abort with a backtrace.

mod common;

use common::dsim;
use std::process::Command;

/// `dsim ARGS` under an address-space limit of `kib` KiB (`ulimit -v`), with
/// `DSIM_MAX_MEMORY` set to `max` when given: (exit status, stderr).
fn dsim_limited(kib: u64, max: Option<&str>, args: &[&str]) -> (i32, String) {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_dsim"))
        .args(args)
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env_remove("DSIM_MAX_MEMORY")
        .env_remove("RUST_BACKTRACE");
    if let Some(max) = max {
        command.env("DSIM_MAX_MEMORY", max);
    }
    let out = command.output().expect("sh runs");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8");
    (out.status.code().expect("not killed by a signal"), stderr)
}

/// Every size field of a scenario: a count no machine holds is exit 2, naming the field
/// and the sizes, before the node names are expanded.
#[test]
fn every_size_field_too_big_for_the_machine_is_exit_2_naming_it() {
    let cases: [(&str, &str, &str); 3] = [
        (
            "ping-pong",
            "nodes.0.count=4000000000",
            "nodes[0].count: the scenario has 4,000,000,00",
        ),
        (
            "phold",
            "params.lps=4000000000",
            "params.lps: the scenario has 4,000,000,000 nodes",
        ),
        (
            "widest-path",
            "params.graph=Random(peers: 4000000000, density: 0.1, min_kbps: 1000, max_kbps: 5000)",
            "params.graph: the scenario has 4,000,000,0",
        ),
    ];
    for (scenario, set, phrase) in cases {
        dsim(&["run", scenario, "--set", set, "--until", "1s"]).expect_usage_error(&[
            phrase,
            "this machine has",
            "DSIM_MAX_MEMORY",
        ]);
    }
    // The benchmarks' sizes, before anything is generated.
    for (args, phrase) in [
        (
            &["bench", "phold", "--lps", "4000000000"][..],
            "bench phold --lps 4000000000: 4,000,000,000 nodes",
        ),
        (
            &["bench", "network", "--nodes", "4000000000"],
            "bench network --nodes 4000000000: 4,000,000,000 nodes",
        ),
        (
            &["bench", "system", "cityos", "--size", "4000000000"],
            "bench system cityos --size 4000000000: at least 4,000,000,000 nodes",
        ),
    ] {
        dsim(args).expect_usage_error(&[phrase, "this machine has"]);
    }
    // The same refusal through a sweep and an explore.
    dsim(&[
        "sweep",
        "phold",
        "--seeds",
        "1",
        "--set",
        "params.lps=4000000000",
        "--out",
        "x",
    ])
    .expect_usage_error(&["params.lps: the scenario has"]);
    dsim(&[
        "explore",
        "phold",
        "--runs",
        "1",
        "--set",
        "params.lps=4000000000",
    ])
    .expect_usage_error(&["params.lps: the scenario has"]);
}

/// Under a 4 GB address-space limit, 30 million nodes are refused by the limit's name.
#[test]
fn the_address_space_limit_is_what_the_machine_has() {
    let (code, stderr) = dsim_limited(
        4_000_000,
        None,
        &[
            "run",
            "ping-pong",
            "--set",
            "nodes.0.count=30000000",
            "--until",
            "1s",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("nodes[0].count"), "{stderr}");
    assert!(stderr.contains("(the address-space limit)"), "{stderr}");
}

/// With the check overridden, the allocation that fails ends the run with one line on
/// stderr and exit status 3: no panic, no backtrace.
#[test]
fn running_out_of_memory_is_exit_3_with_an_error() {
    let (code, stderr) = dsim_limited(
        1_000_000,
        Some("1T"),
        &[
            "run",
            "ping-pong",
            "--set",
            "nodes.0.count=30000000",
            "--until",
            "1s",
        ],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.starts_with("error: out of memory: a request for "),
        "{stderr}"
    );
    assert!(
        !stderr.contains("backtrace") && !stderr.contains("panicked"),
        "{stderr}"
    );
    // A bad override is a usage error.
    let (code, stderr) = dsim_limited(3_000_000, Some("lots"), &["run", "ping-pong"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("DSIM_MAX_MEMORY=\"lots\""), "{stderr}");
}

/// Runs in parallel multiply the memory: `--jobs` copies that cannot fit together are
/// refused, naming the flag.
#[test]
fn parallel_runs_that_cannot_fit_together_are_refused() {
    let (code, stderr) = dsim_limited(
        8_000_000,
        None,
        &[
            "explore",
            "ping-pong",
            "--set",
            "nodes.0.count=3000000",
            "--jobs",
            "4",
            "--runs",
            "1",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--jobs 4 runs 4 copies of ping-pong at once"),
        "{stderr}"
    );
}
