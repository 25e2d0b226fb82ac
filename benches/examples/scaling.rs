//! Wall time against size for each system, from `dsim bench system` JSON lines on
//! standard input: a markdown table with the fitted exponent per system, and a log-log
//! chart (PNG and SVG) at the path given as the first argument.
//!
//! ```text
//! for n in 100 1000 10000; do dsim bench system phold --size $n --until 1s; done \
//!     | cargo run --release -p benches --example scaling -- docs/img/scaling.png
//! ```

use benches::scaling::fit;
use reports::plot::{ChartLabels, Series, line_chart};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("scaling: give the chart's path (.png or .svg)");
        return ExitCode::from(2);
    };
    // (system, nodes, wall, events/s, bytes per node), by system in input order.
    let mut by_system: BTreeMap<String, Vec<(f64, f64, f64, f64)>> = BTreeMap::new();
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let Ok(line) = line else { break };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            eprintln!("scaling: line {} is not JSON, skipped", i + 1);
            continue;
        };
        let num = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        let name = v["system"].as_str().unwrap_or("?").to_owned();
        by_system.entry(name).or_default().push((
            num("nodes"),
            num("wall_s"),
            num("events_per_s"),
            num("bytes_per_node"),
        ));
    }
    println!("| system | nodes | wall s | events/s | bytes/node | fitted exponent |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut series = Vec::new();
    for (name, rows) in &by_system {
        let points: Vec<_> = rows.iter().map(|r| (r.0, r.1)).collect();
        let exponent = fit(&points).map_or("-".to_owned(), |l| format!("{:.2}", l.exponent));
        for r in rows {
            println!(
                "| {name} | {} | {:.3} | {:.0} | {:.0} | {exponent} |",
                r.0, r.1, r.2, r.3
            );
        }
        series.push(Series {
            label: format!("{name} (exponent {exponent})"),
            points: points
                .iter()
                .map(|&(n, w)| (n.log10(), w.log10()))
                .collect(),
            reference: false,
            ci: Vec::new(),
        });
    }
    let labels = ChartLabels {
        title: "Wall time against size (dsim bench system)".into(),
        x: "log10 nodes".into(),
        y: "log10 wall time (s)".into(),
    };
    if let Err(e) = line_chart(&out, &labels, &series) {
        eprintln!("scaling: {e}");
        return ExitCode::from(1);
    }
    eprintln!("wrote {}", out.display());
    ExitCode::SUCCESS
}
