//! Link presets in scenario files: `network.default`, a link's `params` and the patches of
//! `SetLink` / `SetDefaultLink` faults may name a preset from `hardware_models` and
//! override any of its fields. Each test writes a small ping-pong scenario to a scratch
//! folder under `CARGO_TARGET_TMPDIR`, runs the real `dsim` binary on it, and reads the
//! round-trip metric `pingpong.rtt_ms` (first transmissions only) from the JSON report.

mod common;

use common::{arg, check_run_report, dsim, metric, scratch};
use serde_json::Value;

/// The parts of the scenario a test changes.
struct Spec<'a> {
    default: &'a str,
    links: &'a str,
    faults: &'a str,
    count: u32,
    interval: &'a str,
    size_bytes: u32,
}

const BASE: Spec<'static> = Spec {
    default: "()",
    links: "[]",
    faults: "[]",
    count: 50,
    interval: "10ms",
    size_bytes: 64,
};

/// One pinger and one echo server; a ping unanswered for 1 s is sent once more, then
/// counted lost, so every ping resolves well within the two minutes.
fn scenario(spec: &Spec) -> String {
    let Spec {
        default,
        links,
        faults,
        count,
        interval,
        size_bytes,
    } = spec;
    format!(
        r#"// Link presets: written by scenarios/tests/presets.rs
Scenario(
    name: "presets",
    seed: 5,
    duration: "2m",
    system: "ping-pong",
    params: (
        count: {count},
        interval: "{interval}",
        timeout: "1s",
        max_tries: 2,
        size_bytes: {size_bytes},
    ),
    nodes: [
        (name: "alice", role: "pinger"),
        (name: "echo", role: "ponger"),
    ],
    network: (
        default: {default},
        links: {links},
    ),
    faults: {faults},
)
"#
    )
}

/// Write `text` to `name`.ron in the test's scratch folder; the file's path.
fn write(test: &str, name: &str, text: &str) -> String {
    let path = scratch(test).join(format!("{name}.ron"));
    std::fs::write(&path, text).expect("write the scenario");
    arg(&path)
}

/// Run `spec` (plus `extra` arguments) and return the checked JSON report.
fn run(test: &str, spec: &Spec, extra: &[&str]) -> Value {
    let file = write(test, "scenario", &scenario(spec));
    let mut args = vec!["run", file.as_str(), "--json"];
    args.extend_from_slice(extra);
    let run = dsim(&args);
    run.expect_code(0);
    let report = run.json();
    check_run_report(&report);
    assert_eq!(report["violations"], serde_json::json!([]));
    report
}

/// Field `field` (`p50`, `min`, `count`, ...) of the summary of `pingpong.rtt_ms`.
fn rtt(report: &Value, field: &str) -> f64 {
    report["metrics"]["pingpong.rtt_ms"][field]
        .as_f64()
        .unwrap_or_else(|| panic!("pingpong.rtt_ms.{field} missing in {report}"))
}

/// A metric that may be absent (counters appear only once counted): 0 when absent.
fn metric_or_zero(report: &Value, name: &str) -> f64 {
    report["metrics"][name].as_f64().unwrap_or(0.0)
}

#[test]
fn a_default_preset_is_accepted_and_sets_the_rtt() {
    // Without a preset every link is the 1 ms constant default: RTT exactly 2 ms.
    let plain = run("default_plain", &BASE, &[]);
    assert_eq!((rtt(&plain, "min"), rtt(&plain, "max")), (2.0, 2.0));
    // Each preset moves the median RTT to its sourced figure.
    for (preset, lo, hi) in [
        ("loopback", 0.006, 0.02),
        ("ethernet-lan", 0.1, 0.3),
        ("esp32-wifi", 4.0, 10.0),
        ("esp32-wifi-powersave", 12.5, 17.0),
        ("wan", 17.0, 23.0),
        ("wan-intercontinental", 215.0, 225.0),
    ] {
        let default = format!(r#"(preset: "{preset}")"#);
        let spec = Spec {
            default: &default,
            ..BASE
        };
        let report = run(&format!("default_{preset}"), &spec, &[]);
        let p50 = rtt(&report, "p50");
        assert!((lo..hi).contains(&p50), "{preset}: RTT p50 {p50} ms");
        assert_eq!(
            metric(&report, "pingpong.acked") + metric(&report, "pingpong.lost"),
            50.0
        );
    }
}

#[test]
fn fields_next_to_a_preset_override_it() {
    // "wan" has a shifted-gamma delay and 0.5 % loss; both are overridden here.
    let spec = Spec {
        default: r#"(preset: "wan", latency: Constant("50ms"), loss: 0.0)"#,
        ..BASE
    };
    let report = run("override_fields", &spec, &[]);
    assert_eq!((rtt(&report, "min"), rtt(&report, "max")), (100.0, 100.0));
    assert_eq!(rtt(&report, "count"), 50.0);
    assert_eq!(metric_or_zero(&report, "net.dropped.loss"), 0.0);

    // `--set` can name the preset too.
    let spec = Spec {
        default: "(loss: 0.0)",
        ..BASE
    };
    let report = run(
        "override_set",
        &spec,
        &["--set", r#"network.default.preset="wan-intercontinental""#],
    );
    let p50 = rtt(&report, "p50");
    assert!((215.0..225.0).contains(&p50), "RTT p50 {p50}");
    assert_eq!(metric_or_zero(&report, "net.dropped.loss"), 0.0);
}

#[test]
fn a_link_preset_replaces_the_default_for_that_link() {
    // 2000-byte pings do not fit the ESP32's 1472-byte MTU (fragmentation off) ...
    let esp = Spec {
        default: r#"(preset: "esp32-wifi")"#,
        count: 3,
        size_bytes: 2000,
        ..BASE
    };
    let dropped = run("link_control", &esp, &[]);
    assert_eq!(metric_or_zero(&dropped, "pingpong.acked"), 0.0);
    assert!(metric(&dropped, "net.dropped.exceeds_mtu") > 0.0);
    // ... but the alice <-> echo link names "loopback" (65 507-byte datagrams): the link
    // starts from the preset, so it takes neither the default's MTU nor its bandwidth.
    let spec = Spec {
        links: r#"[(from: "alice", to: "echo", params: (preset: "loopback"))]"#,
        count: 50,
        ..esp
    };
    let report = run("link_preset", &spec, &[]);
    assert_eq!(metric(&report, "pingpong.acked"), 50.0);
    assert_eq!(metric_or_zero(&report, "net.dropped.exceeds_mtu"), 0.0);
    assert!(rtt(&report, "max") < 0.1, "RTT max {}", rtt(&report, "max"));
    // Fields next to a link's preset override it too.
    let spec = Spec {
        links: r#"[(from: "alice", to: "echo", params: (preset: "loopback", latency: Constant("7ms")))]"#,
        ..spec
    };
    let report = run("link_preset_override", &spec, &[]);
    assert_eq!((rtt(&report, "min"), rtt(&report, "max")), (14.0, 14.0));
}

#[test]
fn set_link_and_set_default_link_faults_name_presets() {
    // Pings every 100 ms; at 2 s the whole network becomes intercontinental.
    let spec = Spec {
        faults: r#"[(at: "2s", fault: SetDefaultLink((preset: "wan-intercontinental", loss: 0.0)))]"#,
        interval: "100ms",
        ..BASE
    };
    let report = run("fault_default", &spec, &[]);
    assert_eq!(rtt(&report, "min"), 2.0);
    assert!(
        rtt(&report, "max") > 215.0,
        "RTT max {}",
        rtt(&report, "max")
    );
    // SetLink changes one direction: alice -> echo becomes "wan" (mean 10 ms), the way
    // back stays 1 ms.
    let spec = Spec {
        faults: r#"[(at: "2s", fault: SetLink(from: "alice", to: "echo", params: (preset: "wan", loss: 0.0)))]"#,
        interval: "100ms",
        ..BASE
    };
    let report = run("fault_link", &spec, &[]);
    assert_eq!(rtt(&report, "min"), 2.0);
    let max = rtt(&report, "max");
    assert!((8.5..25.0).contains(&max), "RTT max {max}");
}

/// An unknown preset stops the load with exit 2, pointing at the name (line and column of
/// its opening quote) and listing every known preset: in the default, in a link, and in
/// a fault.
#[test]
fn an_unknown_preset_is_a_load_error_listing_the_presets() {
    let known = format!(
        "known presets: {}",
        hardware_models::LINK_PRESETS.join(", ")
    );
    let cases = [
        (
            "in_default",
            Spec {
                default: r#"(preset: "campus-wfi", loss: 0.02)"#,
                ..BASE
            },
            "network.default: unknown link preset \"campus-wfi\"",
        ),
        (
            "in_link",
            Spec {
                default: r#"(preset: "wan")"#,
                links: r#"[(from: "alice", to: "echo", params: (preset: "lan"))]"#,
                ..BASE
            },
            "network.links[0]: unknown link preset \"lan\"",
        ),
        (
            "in_fault",
            Spec {
                faults: r#"[(at: "1s", fault: Crash("echo")), (at: "2s", fault: SetDefaultLink((preset: "wan-intercontinental"))), (at: "3s", fault: SetLink(from: "alice", to: "echo", params: (preset: "satellite")))]"#,
                ..BASE
            },
            "faults[2] (set_link): unknown link preset \"satellite\"",
        ),
    ];
    for (name, spec, message) in cases {
        let text = scenario(&spec);
        let file = write("unknown_preset", name, &text);
        let bad = message.rsplit(' ').next().expect("the quoted name");
        let offset = text.find(bad).expect("the name is in the text");
        let line = text[..offset].matches('\n').count() + 1;
        let col = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
        let position = format!("error: {file}:{line}:{col}: ");
        dsim(&["run", &file, "--json"]).expect_usage_error(&[&position, message, &known]);
    }
}
