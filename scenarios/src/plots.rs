//! Built-in plots that compare a system against theory (`dsim plot ...`).

use crate::library;
use crate::overrides::apply_override;
use crate::registry;
use crate::runner::{RunOptions, RunReport};
use crate::schema::Scenario;
use protocols::ott::{Ott, Role};
use protocols::transport::analytic::{ModelLink, stop_and_wait_goodput, stop_and_wait_round_trip};
use protocols::transport_system::TransportParams;
use reports::bar::{Bars, bar_chart};
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

/// Run library scenario `file` (text `text`) with `path` set to `value`; a violation is
/// the error, since a plot of a broken run would mislead.
fn run_with(file: &str, text: &str, path: &str, value: &str) -> Result<RunReport, String> {
    let text = apply_override(text, path, value).map_err(|e| e.to_string())?;
    let loaded = registry::load(file, &text).map_err(|e| e.to_string())?;
    let report = loaded.run(&RunOptions::default(), &mut |_, _| {})?;
    match report.violations.first() {
        Some(v) => Err(format!(
            "{file} with {path} = {value}: {} violated: {}",
            v.invariant, v.message
        )),
        None => Ok(report),
    }
}

/// A numeric metric of `report` (0 when absent or not a number).
fn metric(report: &RunReport, name: &str) -> f64 {
    report
        .metrics
        .get(name)
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
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
        let report = run_with(file, text, "network.default.loss", &format!("{loss:?}"))?;
        let metric = |name: &str| metric(&report, name);
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

/// The library scenario `dsim plot image-cloud` sweeps.
pub const IMAGE_CLOUD_SCENARIO: &str = "image-cloud-experiment";

/// The image-sharing report's configurations: the `balancing` value that models each,
/// its name, and the failure rate the report measured (its section 7).
pub const IMAGE_CLOUD_CONFIGURATIONS: [(&str, &str, f64); 4] = [
    ("NoBalancing", "no load balancing", 0.42),
    ("Queues", "LB without FT", 0.295),
    ("QueuesFt", "LB with FT", 0.31),
    ("TokenRing", "round-robin token + FT", 0.17),
];

/// One configuration of the image-cloud experiment as run.
#[derive(Clone, Debug, PartialEq)]
pub struct FailurePoint {
    /// The `balancing` value.
    pub balancing: &'static str,
    /// The report's name for it.
    pub name: &'static str,
    /// The report's failure rate.
    pub reported: f64,
    /// Measured failure rate.
    pub failure_rate: f64,
    /// Requests accepted by two or more servers.
    pub duplicates: f64,
    /// Requests elected to a server with no free slot.
    pub dropped_full: f64,
    /// Requests elected to a server whose workers slept.
    pub dropped_offline: f64,
    /// Requests nobody answered (includes the two above).
    pub unanswered: f64,
    /// Requests answered but not done in time.
    pub late: f64,
}

/// Run the experiment scenario once per configuration of the report.
pub fn image_cloud_sweep() -> Result<Vec<FailurePoint>, String> {
    let (file, text) =
        library::find(IMAGE_CLOUD_SCENARIO).expect("the experiment is in the library");
    let mut points = Vec::new();
    for (balancing, name, reported) in IMAGE_CLOUD_CONFIGURATIONS {
        let report = run_with(file, text, "params.balancing", balancing)?;
        let metric = |name: &str| metric(&report, name);
        points.push(FailurePoint {
            balancing,
            name,
            reported,
            failure_rate: metric("failure_rate"),
            duplicates: metric("duplicate_handling"),
            dropped_full: metric("requests_dropped_full"),
            dropped_offline: metric("requests_dropped_offline"),
            unanswered: metric("requests_unanswered"),
            late: metric("requests_late"),
        });
    }
    Ok(points)
}

/// Draw the measured failure rates next to the report's as grouped bars in
/// `image-cloud-failure-rate.png` and `.svg` in `dir`; returns the files written.
pub fn image_cloud_chart(points: &[FailurePoint], dir: &Path) -> Result<Vec<PathBuf>, String> {
    let categories: Vec<String> = points.iter().map(|p| p.name.to_owned()).collect();
    let series = [
        Bars {
            label: "simulated (dsim)".into(),
            values: points.iter().map(|p| p.failure_rate * 100.0).collect(),
        },
        Bars {
            label: "report".into(),
            values: points.iter().map(|p| p.reported * 100.0).collect(),
        },
    ];
    let labels = ChartLabels {
        title: "Image cloud: failure rate, 200 clients x 5 requests".into(),
        x: "configuration".into(),
        y: "requests not handled (%)".into(),
    };
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        let f = dir.join(format!("image-cloud-failure-rate.{ext}"));
        bar_chart(&f, &labels, &categories, &series)?;
        written.push(f);
    }
    Ok(written)
}

/// The library scenario `dsim plot ott` runs.
pub const OTT_SCENARIO: &str = "ott-failures";

/// A client's received bit rate over one run of an OTT scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct BitrateTrace {
    /// The client.
    pub client: String,
    /// (time in s at the bin's start, Mb/s received in the bin), every bin of the run.
    pub points: Vec<(f64, f64)>,
    /// Scheduled faults: (time in s, what).
    pub faults: Vec<(f64, String)>,
}

/// Run the OTT failure scenario and return `client`'s received bit rate per
/// `bitrate_bin`, empty bins included.
pub fn ott_bitrate(client: &str) -> Result<BitrateTrace, String> {
    let (file, text) = library::find(OTT_SCENARIO).expect("the OTT scenario is in the library");
    let prepared = registry::load_system::<Ott>(file, text).map_err(|e| e.to_string())?;
    let scenario = prepared.scenario();
    let mut sim = prepared.simulation(scenario.seed);
    let out = sim.run_until(scenario.duration);
    if let Some(v) = out.violation {
        return Err(format!("{file}: {} violated: {}", v.invariant, v.message));
    }
    let id = sim
        .lookup(client)
        .ok_or_else(|| format!("{file} has no node {client:?}"))?;
    let Role::Client(c) = &sim.node(id).1.role else {
        return Err(format!("{client:?} is not a client in {file}"));
    };
    let bin = scenario.params.bitrate_bin;
    let bins = scenario.duration.0 / bin.0;
    let points = (0..bins)
        .map(|b| {
            let bytes = c.timeline.get(&b).copied().unwrap_or(0);
            (
                (b * bin.0) as f64 / 1e9,
                bytes as f64 * 8.0 / bin.as_secs_f64() / 1e6,
            )
        })
        .collect();
    let faults = scenario
        .faults
        .iter()
        .map(|f| {
            let what = format!("{:?}", f.fault);
            (f.at.as_secs_f64(), what)
        })
        .collect();
    Ok(BitrateTrace {
        client: client.to_owned(),
        points,
        faults,
    })
}

/// Draw the trace as `ott-bitrate.png` and `.svg` in `dir`; returns the files written.
pub fn ott_bitrate_chart(trace: &BitrateTrace, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let faults: Vec<String> = trace
        .faults
        .iter()
        .map(|(t, f)| format!("{} at {t:.0} s", f.replace('"', "")))
        .collect();
    let labels = ChartLabels {
        title: format!("{} received bit rate ({OTT_SCENARIO})", trace.client),
        x: format!("time (s); {}", faults.join(", ")),
        y: "received (Mb/s)".into(),
    };
    let series = [Series {
        label: format!("{} video", trace.client),
        points: trace.points.clone(),
        reference: false,
    }];
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        let f = dir.join(format!("ott-bitrate.{ext}"));
        line_chart(&f, &labels, &series)?;
        written.push(f);
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

    /// The report's four configurations come out in the report's order: without load
    /// balancing worst, the round-robin token best, and the two replicated-queue
    /// configurations between them and within 10 points of each other; only the
    /// replicated queues handle a request twice.
    #[test]
    fn image_cloud_sweep_reproduces_the_reports_order_and_draws() {
        let points = image_cloud_sweep().unwrap();
        for p in &points {
            println!(
                "{:24} {:6.1}% (report {:4.1}%)  duplicates {:4}  full {:4}  offline {:4}  late {:4}",
                p.name,
                p.failure_rate * 100.0,
                p.reported * 100.0,
                p.duplicates,
                p.dropped_full,
                p.dropped_offline,
                p.late
            );
        }
        let rate: Vec<f64> = points.iter().map(|p| p.failure_rate).collect();
        let (none, queues, queues_ft, token) = (rate[0], rate[1], rate[2], rate[3]);
        assert!(none > queues && none > queues_ft, "{rate:?}");
        assert!(
            token < queues && token < queues_ft && token > 0.0,
            "{rate:?}"
        );
        assert!((queues - queues_ft).abs() < 0.1, "{rate:?}");
        assert!(points[1].duplicates > 0.0 && points[2].duplicates > 0.0);
        assert_eq!(points[0].duplicates + points[3].duplicates, 0.0);
        let dir = std::env::temp_dir().join(format!("dsim-image-cloud-{}", std::process::id()));
        let files = image_cloud_chart(&points, &dir).unwrap();
        assert_eq!(files.len(), 2);
    }

    /// C1's bit rate in the failure scenario: the full rate before N3 dies, a dip to
    /// zero after each death, the full rate again within the delivery bound.
    #[test]
    fn ott_bitrate_dips_and_recovers() {
        let trace = ott_bitrate("C1").unwrap();
        let rate = |from: f64, to: f64| {
            let p: Vec<f64> = trace
                .points
                .iter()
                .filter(|(t, _)| (from..to).contains(t))
                .map(|(_, r)| *r)
                .collect();
            p.iter().sum::<f64>() / p.len() as f64
        };
        let full = rate(5.0, 19.0);
        // 8 Mb/s of TS payload plus the 16-byte datagram header.
        assert!((full - 8.0 * 1332.0 / 1316.0).abs() < 0.1, "{full}");
        assert!(rate(20.5, 21.5) < 0.01, "dip after the simple death");
        assert!((rate(24.0, 39.0) - full).abs() < 0.1);
        assert!(rate(40.5, 42.0) < 0.01, "dip after the catastrophic death");
        assert!((rate(45.0, 80.0) - full).abs() < 0.1);
        let dir = std::env::temp_dir().join(format!("dsim-ott-{}", std::process::id()));
        for f in ott_bitrate_chart(&trace, &dir).unwrap() {
            assert!(
                std::fs::metadata(&f).unwrap().len() > 1000,
                "{}",
                f.display()
            );
        }
        assert!(ott_bitrate("N1").is_err());
    }
}
