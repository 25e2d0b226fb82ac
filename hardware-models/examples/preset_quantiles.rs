//! Prints the sampled round-trip times of every link preset, to compare by eye with the
//! figures in `SOURCES.md` and the module docs:
//! `cargo run -p hardware-models --example preset_quantiles`.

use hardware_models::stats::{mean, quantile, sample_rtts, sorted_ms};
use hardware_models::{LINK_PRESETS, link_preset};

fn main() {
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "preset (RTT, ms)", "min", "p50", "p90", "p99", "p99.9", "mean", "lost"
    );
    let n = 200_000;
    for name in LINK_PRESETS {
        let params = link_preset(name).expect("listed presets resolve");
        let samples = sample_rtts(&params, 64, n, 1);
        let rtt = sorted_ms(&samples);
        println!(
            "{name:<22} {:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>10.4} {:>7.3}%",
            rtt[0],
            quantile(&rtt, 0.5),
            quantile(&rtt, 0.9),
            quantile(&rtt, 0.99),
            quantile(&rtt, 0.999),
            mean(&rtt),
            100.0 * (1.0 - samples.len() as f64 / n as f64)
        );
    }
}
