//! Built-in plots that compare a system against theory (`dsim plot ...`).

use crate::library;
use crate::overrides::apply_override;
use crate::registry;
use crate::runner::RunOptions;
use crate::schema::Scenario;
use protocols::transport::analytic::{ModelLink, stop_and_wait_goodput, stop_and_wait_round_trip};
use protocols::transport_system::TransportParams;
use reports::plot::{ChartLabels, Series, line_chart};
use sim_core::Latency;
use std::path::{Path, PathBuf};

/// The library scenario `dsim plot arq` sweeps.
pub const ARQ_SCENARIO: &str = "arq-stop-and-wait";

/// One point of the ARQ sweep: the loss on both directions and what was measured and
/// predicted there.
#[derive(Clone, Debug, PartialEq)]
pub struct ArqPoint {
    /// Loss probability of data and of ACKs.
    pub loss: f64,
    /// Measured mean transmissions per packet.
    pub transmissions: f64,
    /// 1/(1-p)^2.
    pub transmissions_predicted: f64,
    /// Measured goodput, bits per second.
    pub goodput_bps: f64,
    /// The analytic model's goodput, bits per second.
    pub goodput_predicted_bps: f64,
}

/// Run the ARQ scenario at each loss in `losses` (on both directions) and compare with
/// the analytic stop-and-wait model.
pub fn arq_sweep(losses: &[f64]) -> Result<Vec<ArqPoint>, String> {
    let (file, text) = library::find(ARQ_SCENARIO).expect("the ARQ scenario is in the library");
    let scenario: Scenario<TransportParams> = registry::ron_options()
        .from_str(text)
        .map_err(|e| format!("{file}: {e}"))?;
    let link = scenario.network.default_params();
    let (Latency::Constant(one_way), Some(bandwidth_bps)) = (&link.latency, link.bandwidth_bps)
    else {
        return Err(format!(
            "{file}: the model needs a constant latency and a bandwidth"
        ));
    };
    let config = &scenario.params.transport;
    let clean = ModelLink {
        one_way: *one_way,
        bandwidth_bps,
        data_loss: 0.0,
        ack_loss: 0.0,
    };
    if stop_and_wait_round_trip(config, &clean) >= config.timeout.as_secs_f64() {
        return Err(format!(
            "{file}: the model needs a timeout longer than the round trip"
        ));
    }
    let mut points = Vec::new();
    for &loss in losses {
        if !(0.0..1.0).contains(&loss) {
            return Err(format!("loss {loss} is not in [0, 1)"));
        }
        let model = ModelLink {
            data_loss: loss,
            ack_loss: loss,
            ..clean
        };
        let text = apply_override(text, "network.default.loss", &format!("{loss:?}"))
            .map_err(|e| e.to_string())?;
        let loaded = registry::load(file, &text).map_err(|e| e.to_string())?;
        let report = loaded.run(&RunOptions::default(), &mut |_, _| {})?;
        if let Some(v) = report.violations.first() {
            return Err(format!(
                "{file} at loss {loss}: {} violated: {}",
                v.invariant, v.message
            ));
        }
        let metric = |name: &str| {
            report
                .metrics
                .get(name)
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0)
        };
        points.push(ArqPoint {
            loss,
            transmissions: metric("transmissions_per_packet"),
            transmissions_predicted: model.expected_transmissions(),
            goodput_bps: metric("goodput_bps"),
            goodput_predicted_bps: stop_and_wait_goodput(
                config,
                scenario.params.payload_bytes,
                &model,
            ),
        });
    }
    Ok(points)
}

/// Draw the sweep: goodput and transmissions per packet against loss, measured and
/// analytic, as PNG and SVG in `dir`; returns the files written.
pub fn arq_charts(points: &[ArqPoint], dir: &Path) -> Result<Vec<PathBuf>, String> {
    let series = |label: &str, reference: bool, f: &dyn Fn(&ArqPoint) -> f64| Series {
        label: label.to_owned(),
        points: points.iter().map(|p| (p.loss, f(p))).collect(),
        reference,
    };
    let goodput = [
        series("simulated", false, &|p| p.goodput_bps / 1e6),
        series("analytic", true, &|p| p.goodput_predicted_bps / 1e6),
    ];
    let tries = [
        series("simulated", false, &|p| p.transmissions),
        series("1/((1-p)(1-q))", true, &|p| p.transmissions_predicted),
    ];
    let goodput_labels = ChartLabels {
        title: "Stop-and-wait goodput over loss (p = q)".into(),
        x: "loss probability on data and ACKs".into(),
        y: "goodput (Mb/s)".into(),
    };
    let tries_labels = ChartLabels {
        title: "Transmissions per packet over loss (p = q)".into(),
        x: "loss probability on data and ACKs".into(),
        y: "mean transmissions per packet".into(),
    };
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        let g = dir.join(format!("arq-goodput.{ext}"));
        line_chart(&g, &goodput_labels, &goodput)?;
        let t = dir.join(format!("arq-transmissions.{ext}"));
        line_chart(&t, &tries_labels, &tries)?;
        written.extend([g, t]);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sweep agrees with theory (goodput within 3%, transmissions within 3%), and
    /// the charts are written as PNG and SVG.
    #[test]
    fn arq_sweep_matches_the_model_and_draws() {
        let points = arq_sweep(&[0.0, 0.1, 0.3]).unwrap();
        for p in &points {
            assert!(
                (p.goodput_bps / p.goodput_predicted_bps - 1.0).abs() < 0.03,
                "{p:?}"
            );
            assert!(
                (p.transmissions / p.transmissions_predicted - 1.0).abs() < 0.03,
                "{p:?}"
            );
        }
        let dir = std::env::temp_dir().join(format!("dsim-arq-{}", std::process::id()));
        let files = arq_charts(&points, &dir).unwrap();
        assert_eq!(files.len(), 4);
        for f in files {
            assert!(
                std::fs::metadata(&f).unwrap().len() > 1000,
                "{}",
                f.display()
            );
        }
        assert!(arq_sweep(&[1.0]).is_err());
    }
}
