//! The image-cloud library scenarios through the `dsim` binary: the JSON report carries
//! the metrics the issue asks for, the showcase holds every invariant, a bad parameter
//! is refused with the field's name, and a run is a function of its seed.

mod common;

use common::{check_run_report, dsim, metric, str_of};

#[test]
fn the_showcase_reports_its_metrics_and_runs_the_same_twice() {
    let first = dsim(&["run", "image-cloud", "--json"]);
    first.expect_code(0);
    let report = first.json();
    check_run_report(&report);
    assert_eq!(report["violations"], serde_json::json!([]));
    for name in [
        "requests_total",
        "requests_handled",
        "requests_failed",
        "failure_rate",
        "duplicate_handling",
        "retransmissions",
        "cached_deliveries",
    ] {
        metric(&report, name);
    }
    for q in ["p50", "p99"] {
        assert!(report["metrics"]["transfer_time_ms"][q].as_f64().unwrap() > 0.0);
    }
    assert_eq!(metric(&report, "requests_total"), 100.0);
    assert_eq!(metric(&report, "cached_deliveries"), 3.0);
    assert!(metric(&report, "retransmissions") > 0.0);
    assert_eq!(metric(&report, "views_refused"), 2.0);

    let second = dsim(&["run", "image-cloud", "--json"]);
    second.expect_code(0);
    assert_eq!(
        str_of(&report, "trace_hash"),
        str_of(&second.json(), "trace_hash")
    );
    let other = dsim(&["run", "image-cloud", "--json", "--seed", "12"]);
    other.expect_code(0);
    assert_ne!(
        str_of(&report, "trace_hash"),
        str_of(&other.json(), "trace_hash")
    );
}

#[test]
fn a_cover_too_small_is_refused_naming_the_field() {
    let run = dsim(&["run", "image-cloud", "--set", "params.cover_bytes=1000"]);
    run.expect_usage_error(&["params.cover_bytes (1000)", "131104"]);
}
