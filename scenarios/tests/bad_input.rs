//! Bad scenario files: malformed, truncated, mistyped and out of range. Each must make
//! `dsim run` exit 2 with one error paragraph on stderr that names the file, the line
//! and the column, shows the line, and says what was expected; never a panic.
//!
//! The cases are edits of the fixtures `tests/fixtures/small-ping-pong.ron` and
//! `small-phold.ron`, written to a scratch folder; the expected position is computed
//! from the edited text, so the table says *where* in words, not in numbers.
//!
//! Not covered: `topology: Links([])` for a system that needs links. No shipped system
//! declares `TopologyRule::Connected` or `Tree` (ping-pong and phold accept any
//! topology), so there is no system to reject it yet.

mod common;

use common::{arg, dsim, fixture_text, scratch};

/// One bad file.
struct Case {
    /// File name stem in the scratch folder (also names the case in failures).
    name: &'static str,
    /// The fixture the case starts from.
    base: &'static str,
    /// How to break it.
    edit: Edit,
    /// Where the error must point: the start of occurrence `.1` (0-based) of `.0` in the
    /// edited text, plus `.2` characters.
    at: (&'static str, usize, usize),
    /// Phrases the message must contain.
    expect: &'static [&'static str],
}

enum Edit {
    /// Replace each `from` (which must occur exactly once) by `to`.
    Replace(&'static [(&'static str, &'static str)]),
    /// Keep the text before the first occurrence of this.
    CutBefore(&'static str),
    /// Replace the whole text.
    Text(&'static str),
}

const PP: &str = "small-ping-pong.ron";
const PHOLD: &str = "small-phold.ron";
const CITY: &str = "small-cityos.ron";

const fn replace(edits: &'static [(&'static str, &'static str)]) -> Edit {
    Edit::Replace(edits)
}

const CASES: &[Case] = &[
    // Syntax.
    Case {
        name: "missing-closing-paren",
        base: PP,
        edit: replace(&[(
            r#"(name: "alice", role: "pinger"),"#,
            r#"(name: "alice", role: "pinger","#,
        )]),
        at: (r#"(name: "bob""#, 0, 0),
        expect: &["expected a field or variant name"],
    },
    Case {
        name: "missing-comma",
        base: PP,
        edit: replace(&[("seed: 7,", "seed: 7")]),
        at: ("duration:", 0, 0),
        expect: &["expected `,` between entries"],
    },
    Case {
        name: "trailing-text",
        base: PP,
        edit: replace(&[("    ],\n)\n", "    ],\n))\n")]),
        at: ("],\n))", 0, 4),
        expect: &["unexpected text after the end of the scenario"],
    },
    Case {
        name: "wrong-struct-name",
        base: PP,
        edit: replace(&[("Scenario(", "Scenari(")]),
        at: ("Scenari(", 0, 0),
        expect: &["Scenario"],
    },
    Case {
        name: "empty-file",
        base: PP,
        edit: Edit::Text(""),
        at: ("", 0, 0),
        expect: &["expected `Scenario(...)` or `(...)`"],
    },
    // Truncated files.
    Case {
        name: "truncated-between-entries",
        base: PP,
        edit: Edit::CutBefore(r#"        (name: "echo""#),
        at: (r#"role: "pinger"),"#, 1, 16),
        expect: &["unexpected end of file", "closing bracket may be missing"],
    },
    Case {
        name: "truncated-in-a-string",
        base: PP,
        edit: Edit::CutBefore(" and an echo server"),
        at: (r#""two pingers"#, 0, 0),
        expect: &["unterminated string"],
    },
    // Unknown fields and variants.
    Case {
        name: "misspelt-field",
        base: PP,
        edit: replace(&[(r#"duration: "10s""#, r#"duraton: "10s""#)]),
        at: ("duraton", 0, 0),
        expect: &[
            "unknown field `duraton` in `Scenario`",
            "did you mean `duration`?",
        ],
    },
    Case {
        name: "misspelt-nested-field",
        base: PP,
        edit: replace(&[("loss: 0.1,", "los: 0.1,")]),
        at: ("los:", 0, 0),
        expect: &["unknown field `los` in `LinkPatch`", "did you mean `loss`?"],
    },
    Case {
        name: "misspelt-param",
        base: PP,
        edit: replace(&[("max_tries: 4", "max_retries: 4")]),
        at: ("max_retries", 0, 0),
        expect: &["unknown field `max_retries` in `PingPongParams`"],
    },
    Case {
        name: "misspelt-fault",
        base: PP,
        edit: replace(&[(r#"Crash("echo")"#, r#"Crsh("echo")"#)]),
        at: ("Crsh", 0, 0),
        expect: &["unknown variant `Crsh` in `Fault`", "did you mean `Crash`?"],
    },
    Case {
        name: "missing-system",
        base: PP,
        edit: replace(&[("    system: \"ping-pong\",\n", "")]),
        at: ("],\n)", 0, 3),
        expect: &["missing field `system` in `Scenario`"],
    },
    // Wrong types.
    Case {
        name: "duration-as-a-number",
        base: PP,
        edit: replace(&[(r#"duration: "10s""#, "duration: 5")]),
        at: ("duration: 5", 0, 10),
        expect: &[
            r#"expected a duration string such as "150ms""#,
            "found the number `5`",
        ],
    },
    Case {
        name: "count-as-a-string",
        base: PP,
        edit: replace(&[("count: 30", r#"count: "thirty""#)]),
        at: (r#""thirty""#, 0, 0),
        expect: &["expected a whole number"],
    },
    Case {
        name: "loss-as-a-string",
        base: PP,
        edit: replace(&[("loss: 0.1,", r#"loss: "high","#)]),
        at: (r#""high""#, 0, 0),
        expect: &["expected a number"],
    },
    Case {
        name: "node-name-as-a-number",
        base: PP,
        edit: replace(&[(r#"name: "bob""#, "name: 2")]),
        at: ("name: 2", 0, 6),
        expect: &["expected a string"],
    },
    // Durations.
    Case {
        name: "negative-duration",
        base: PP,
        edit: replace(&[(r#"duration: "10s""#, r#"duration: "-5s""#)]),
        at: ("-5s", 0, 0),
        expect: &[r#"a duration cannot be negative: "-5s""#],
    },
    Case {
        name: "duration-without-unit",
        base: PP,
        edit: replace(&[(r#"duration: "10s""#, r#"duration: "10""#)]),
        at: (r#"duration: "10""#, 0, 11),
        expect: &[r#"duration "10" needs a unit"#],
    },
    Case {
        name: "duration-with-unknown-unit",
        base: PP,
        edit: replace(&[(r#"timeout: "40ms""#, r#"timeout: "40 parsecs""#)]),
        at: (r#""40 parsecs""#, 0, 1),
        expect: &["unknown unit \"parsecs\""],
    },
    Case {
        name: "zero-duration",
        base: PP,
        edit: replace(&[(r#"duration: "10s""#, r#"duration: "0s""#)]),
        at: ("duration:", 0, 0),
        expect: &["duration must be positive"],
    },
    // Out of range.
    Case {
        name: "count-too-large",
        base: PP,
        edit: replace(&[("count: 30", "count: 5000000000")]),
        at: ("5000000000", 0, 0),
        expect: &["out of range"],
    },
    Case {
        name: "loss-above-one",
        base: PP,
        edit: replace(&[("loss: 0.1,", "loss: 1.5,")]),
        at: ("default:", 0, 0),
        expect: &["network.default: loss must be a probability in [0, 1], got 1.5"],
    },
    Case {
        name: "loss-below-zero",
        base: PP,
        edit: replace(&[("loss: 0.1,", "loss: -0.1,")]),
        at: ("default:", 0, 0),
        expect: &["network.default: loss must be a probability in [0, 1], got -0.1"],
    },
    Case {
        name: "link-loss-above-one",
        base: PP,
        edit: replace(&[("params: (loss: 0.2)", "params: (loss: 1.5)")]),
        at: (r#""bob", to:"#, 0, 0),
        expect: &["network.links[0]: loss must be a probability in [0, 1], got 1.5"],
    },
    Case {
        name: "zero-bandwidth",
        base: PP,
        edit: replace(&[("loss: 0.1,", "loss: 0.1,\n            bandwidth_bps: 0,")]),
        at: ("default:", 0, 0),
        expect: &["network.default: bandwidth_bps must be positive"],
    },
    Case {
        name: "zero-queue",
        base: PP,
        edit: replace(&[("loss: 0.1,", "loss: 0.1,\n            queue_bytes: 0,")]),
        at: ("default:", 0, 0),
        expect: &["network.default: queue_bytes must be positive"],
    },
    Case {
        name: "zero-bandwidth-on-a-link",
        base: PP,
        edit: replace(&[("params: (loss: 0.2)", "params: (bandwidth_bps: 0)")]),
        at: (r#""bob", to:"#, 0, 0),
        expect: &["network.links[0]: bandwidth_bps must be positive"],
    },
    Case {
        name: "fifo-with-reorder",
        base: PP,
        edit: replace(&[(
            "loss: 0.1,",
            "loss: 0.1,\n            fifo: true,\n            reorder: 0.2,",
        )]),
        at: ("default:", 0, 0),
        expect: &["a link cannot be both fifo and reordering"],
    },
    Case {
        name: "fault-after-the-end",
        base: PP,
        edit: replace(&[(
            r#"(at: "1300ms", fault: Heal)"#,
            r#"(at: "20s", fault: Heal)"#,
        )]),
        at: ("faults:", 0, 0),
        expect: &["faults[3] (heal): it is scheduled at 20s but the scenario ends at 10s"],
    },
    Case {
        name: "partition-with-one-group",
        base: PP,
        edit: replace(&[(
            r#"Partition([["alice"], ["echo", "bob"]])"#,
            r#"Partition([["alice", "echo", "bob"]])"#,
        )]),
        at: ("faults:", 0, 0),
        expect: &["faults[2] (partition): Partition needs at least two groups"],
    },
    Case {
        name: "ping-pong-zero-timeout",
        base: PP,
        edit: replace(&[(r#"timeout: "40ms""#, r#"timeout: "0s""#)]),
        at: ("params:", 0, 0),
        expect: &["params.timeout must be positive"],
    },
    Case {
        name: "phold-zero-lps",
        base: PHOLD,
        edit: replace(&[("lps: 10,", "lps: 0,")]),
        at: ("params:", 0, 0),
        expect: &["params.lps must be at least 1"],
    },
    Case {
        name: "cityos-cell-outside-the-grid",
        base: CITY,
        edit: replace(&[("cell: (50, 50)", "cell: (50, 100)")]),
        at: ("params:", 0, 0),
        expect: &["params.edges.edge-1.cell: (50, 100) is outside the 100 x 100 grid"],
    },
    Case {
        name: "cityos-timeout-not-below-period",
        base: CITY,
        edit: replace(&[(r#"keepalive_timeout: "1s""#, r#"keepalive_timeout: "2s""#)]),
        at: ("params:", 0, 0),
        expect: &["params.keepalive_timeout: 2s must be shorter than keepalive_period 2s"],
    },
    Case {
        name: "cityos-misspelt-edge-field",
        base: CITY,
        edit: replace(&[("(id: 3, cell:", "(id: 3, cel:")]),
        at: ("cel:", 0, 0),
        expect: &[
            "unknown field `cel` in `EdgeConfig`",
            "did you mean `cell`?",
        ],
    },
    // Names that refer to nothing, or clash.
    Case {
        name: "cityos-edges-names-unknown-node",
        base: CITY,
        edit: replace(&[(r#""edge-1": (cell"#, r#""edge-7": (cell"#)]),
        at: ("params:", 0, 0),
        expect: &[r#"params.edges: "edge-7" is not an edge node of the scenario"#],
    },
    Case {
        name: "unknown-system",
        base: PP,
        edit: replace(&[(r#"system: "ping-pong""#, r#"system: "pingpong""#)]),
        at: (r#""pingpong""#, 0, 0),
        expect: &[r#"unknown system "pingpong"; this binary hosts: ping-pong, phold"#],
    },
    Case {
        name: "unknown-node-in-a-fault",
        base: PP,
        edit: replace(&[(r#"Crash("echo")"#, r#"Crash("ecko")"#)]),
        at: (r#""ecko""#, 0, 0),
        expect: &[r#"unknown node "ecko""#],
    },
    Case {
        name: "unknown-node-in-a-partition",
        base: PP,
        edit: replace(&[(r#"["echo", "bob"]"#, r#"["echo", "rob"]"#)]),
        at: (r#""rob""#, 0, 0),
        expect: &[r#"unknown node "rob""#],
    },
    Case {
        name: "unknown-node-in-the-explore-budget",
        base: CITY,
        edit: replace(&[(
            "        keepalive_timeout: \"1s\",\n    ),",
            "        keepalive_timeout: \"1s\",\n    ),\n    explore: (nodes: [\"edge-9\"]),",
        )]),
        at: (r#""edge-9""#, 0, 0),
        expect: &[r#"explore.nodes names unknown node "edge-9""#],
    },
    Case {
        name: "explore-window-backwards",
        base: CITY,
        edit: replace(&[(
            "        keepalive_timeout: \"1s\",\n    ),",
            "        keepalive_timeout: \"1s\",\n    ),\n    explore: (from: \"20s\", until: \"10s\"),",
        )]),
        at: ("explore:", 0, 0),
        expect: &["explore.from 20s is after explore.until 10s"],
    },
    Case {
        name: "unknown-hub-in-topology",
        base: PP,
        edit: replace(&[(r#"Star("echo")"#, r#"Star("hub")"#)]),
        at: (r#""hub""#, 0, 0),
        expect: &[r#"topology names unknown node "hub""#],
    },
    Case {
        name: "unknown-node-in-topology-links",
        base: PP,
        edit: replace(&[(
            r#"Star("echo")"#,
            r#"Links([("alice", "echo"), ("bob", "eve")])"#,
        )]),
        at: (r#""eve""#, 0, 0),
        expect: &[r#"topology names unknown node "eve""#],
    },
    Case {
        name: "unknown-node-in-network-links",
        base: PP,
        edit: replace(&[(r#"to: "echo""#, r#"to: "ech0""#)]),
        at: (r#""ech0""#, 0, 0),
        expect: &[r#"network.links[0] names unknown node "ech0""#],
    },
    Case {
        name: "duplicate-node-name",
        base: PP,
        edit: replace(&[(
            r#"(name: "bob", role: "pinger")"#,
            r#"(name: "alice", role: "pinger")"#,
        )]),
        // The second declaration, not the first.
        at: (r#""alice""#, 1, 0),
        expect: &[r#"node name "alice" is declared twice"#],
    },
    Case {
        name: "duplicate-node-name-from-a-count",
        base: PP,
        edit: replace(&[(
            r#"(name: "bob", role: "pinger"),"#,
            r#"(name: "p{}", role: "pinger", count: 3),
        (name: "p1", role: "pinger"),"#,
        )]),
        at: (r#""p1""#, 0, 0),
        expect: &[r#"node name "p1" is declared twice"#],
    },
    Case {
        name: "unknown-role",
        base: PP,
        edit: replace(&[(r#"role: "ponger""#, r#"role: "pong""#)]),
        at: (r#""pong""#, 0, 0),
        expect: &[r#"node "echo" has unknown role "pong"; ping-pong roles are: pinger, ponger"#],
    },
    Case {
        name: "role-for-a-system-without-roles",
        base: PHOLD,
        edit: replace(&[(
            "    params: (",
            "    nodes: [(name: \"x\", role: \"lp\")],\n    params: (",
        )]),
        at: (r#""lp""#, 0, 0),
        expect: &[r#"unknown role "lp"; phold declares no node roles"#],
    },
    Case {
        name: "no-pinger",
        base: PP,
        edit: replace(&[
            (r#""alice", role: "pinger""#, r#""alice", role: "ponger""#),
            (r#""bob", role: "pinger""#, r#""bob", role: "ponger""#),
        ]),
        at: ("params:", 0, 0),
        expect: &[r#"at least one node with role "pinger""#],
    },
    Case {
        name: "unknown-invariant",
        base: PP,
        edit: replace(&[(
            "    nodes: [",
            "    invariants: [\"all_pings_resolvd\"],\n    nodes: [",
        )]),
        at: (r#""all_pings_resolvd""#, 0, 0),
        expect: &[
            r#"unknown invariant "all_pings_resolvd"; ping-pong has: ping_accounting, all_pings_resolved"#,
        ],
    },
];

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn edited(case: &Case) -> String {
    let base = fixture_text(case.base);
    match &case.edit {
        Edit::Replace(edits) => edits.iter().fold(base, |text, (from, to)| {
            common::replace_once(&text, from, to)
        }),
        Edit::CutBefore(marker) => {
            let end = base.find(marker).expect("the cut marker is in the fixture");
            base[..end].to_owned()
        }
        Edit::Text(text) => (*text).to_owned(),
    }
}

/// Where the case says the error is: (line, column, the line's text if there is one).
fn expected_position(case: &Case, text: &str) -> (usize, usize, Option<String>) {
    let (needle, nth, shift) = case.at;
    let start = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{}: occurrence {nth} of {needle:?} not found", case.name))
        .0;
    let at = text[start..]
        .char_indices()
        .nth(shift)
        .map_or(text.len(), |(i, _)| start + i);
    let (line, col) = line_col(text, at);
    let source = text.lines().nth(line - 1).map(str::to_owned);
    (line, col, source)
}

#[test]
fn every_bad_file_exits_2_with_file_line_column_and_expectation() {
    let dir = scratch("bad_input");
    let mut failures = Vec::new();
    for case in CASES {
        let text = edited(case);
        let path = dir.join(format!("{}.ron", case.name));
        std::fs::write(&path, &text).expect("write fixture");
        let file = arg(&path);
        let run = dsim(&["run", &file, "--json"]);
        let (line, col, source) = expected_position(case, &text);
        let mut wanted: Vec<String> = vec![format!("error: {file}:{line}:{col}: ")];
        wanted.extend(case.expect.iter().map(|s| (*s).to_owned()));
        // The offending line is shown under the message, with a caret under the column.
        if let Some(source) = source {
            wanted.push(format!("{line} | {}", source.trim_end()));
            let pad: String = source
                .chars()
                .take(col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            wanted.push(format!("| {pad}^"));
        }
        let err = run.stderr.trim_end();
        let missing: Vec<&String> = wanted.iter().filter(|w| !err.contains(*w)).collect();
        let one_paragraph = !err.contains("\n\n");
        if run.code != 2 || !missing.is_empty() || !one_paragraph || !run.stdout.is_empty() {
            failures.push(format!(
                "{}: exit {} (want 2), missing {missing:?}{}\n{err}\n--- stdout: {}",
                case.name,
                run.code,
                if one_paragraph {
                    ""
                } else {
                    ", not one paragraph"
                },
                run.stdout
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

#[test]
fn each_case_breaks_a_fixture_that_runs() {
    // The cases mean something only if the fixtures themselves are fine.
    dsim(&["run", &common::fixture(PP), "--json"]).expect_code(0);
    dsim(&["run", &common::fixture(PHOLD), "--json", "--until", "10ms"]).expect_code(0);
    dsim(&["run", &common::fixture(CITY), "--json"]).expect_code(0);
}

#[test]
fn files_that_cannot_be_read_exit_2_naming_the_file() {
    let dir = scratch("unreadable");

    let missing = arg(&dir.join("no-such-scenario.ron"));
    dsim(&["run", &missing]).expect_usage_error(&[
        &format!("error: {missing}: "),
        "no such file, and no library scenario by that name",
    ]);

    let folder = arg(&dir);
    dsim(&["run", &folder]).expect_usage_error(&[&format!("error: {folder}: "), "cannot read"]);

    let binary = dir.join("binary.ron");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x28]).expect("write");
    let binary = arg(&binary);
    dsim(&["run", &binary]).expect_usage_error(&[&format!("error: {binary}: "), "cannot read"]);
}

#[test]
fn verify_of_a_trace_whose_scenario_does_not_load_exits_2() {
    let dir = scratch("verify_bad_scenario");
    // A trace file whose embedded scenario does not load: verify reports it as bad input.
    let header = serde_json::json!({
        "format": "dsim-trace/1",
        "scenario_file": "broken.ron",
        "scenario_text": "Scenario(name: \"x\", duration: \"1s\", system: \"nope\")",
        "seed": 1,
        "until_ns": 1_000_000_000u64,
        "events": 0,
        "trace_hash": "00000000000000000000000000000000",
    });
    let trace = dir.join("broken.trace");
    std::fs::write(&trace, format!("{header}\n")).expect("write");
    dsim(&["verify", &arg(&trace)]).expect_usage_error(&["broken.ron:1:", "unknown system"]);
}
