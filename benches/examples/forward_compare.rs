//! Message forwarding side by side: dsim (`protocols::forward`, the workload of
//! `dsim bench network`) and anysystem 0.3.0 (DSLab's message-passing layer), same
//! parameters, same machine, one after the other.
//!
//! ```text
//! cargo run --release -p benches --example forward_compare -- --nodes 100 --events 1000000
//! ```
//!
//! Options (defaults in brackets): `--nodes` [100], `--events` [1000000], `--loss`
//! [0.01], `--seed` [1], `--runs` [3], `--impls` [dsim,anysystem].
//!
//! The workload: every node injects a message every 10 ms (first at a random phase);
//! every message is forwarded to a uniformly drawn other node until it has made 8 hops.
//! Links take 1 ms plus a uniform jitter of up to 1 ms (anysystem: a uniform delay in
//! [1 ms, 2 ms]) and lose each message with probability `--loss`. dsim runs with its
//! fingerprint on; anysystem with its event log (its trace, kept in memory). Only the
//! event loop is timed (`--events` events: message deliveries and timer firings).
//! Prints one JSON line per implementation and run, then the medians.

#[path = "../benches/anysystem_forward/mod.rs"]
mod anysystem_forward;

use protocols::forward::{self, ForwardParams};
use sim_core::LinkParams;
use std::process::ExitCode;
use std::time::Instant;

struct Options {
    nodes: u32,
    events: u64,
    loss: f64,
    seed: u64,
    runs: usize,
    impls: Vec<String>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        nodes: 100,
        events: 1_000_000,
        loss: 0.01,
        seed: 1,
        runs: 3,
        impls: vec!["dsim".into(), "anysystem".into()],
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--nodes" => o.nodes = value.parse().map_err(|e| bad(&e))?,
            "--events" => o.events = value.parse().map_err(|e| bad(&e))?,
            "--loss" => o.loss = value.parse().map_err(|e| bad(&e))?,
            "--seed" => o.seed = value.parse().map_err(|e| bad(&e))?,
            "--runs" => o.runs = value.parse().map_err(|e| bad(&e))?,
            "--impls" => o.impls = value.split(',').map(String::from).collect(),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if o.nodes < 2 || o.runs == 0 {
        return Err("--nodes must be at least 2 and --runs at least 1".into());
    }
    Ok(o)
}

/// One timed run: (events processed, seconds).
fn run_dsim(o: &Options) -> Result<(u64, f64), String> {
    let defaults = ForwardParams::default();
    let params = ForwardParams {
        nodes: o.nodes,
        link: LinkParams {
            loss: o.loss,
            ..defaults.link.clone()
        },
        ..defaults
    };
    let mut sim = forward::simulation(&params, o.seed)?;
    sim.advance_to(sim_core::SimTime(0));
    let started = Instant::now();
    let events = sim.run_events(o.events);
    let wall = started.elapsed().as_secs_f64();
    std::hint::black_box(sim.fingerprint());
    Ok((events, wall))
}

fn run_anysystem(o: &Options) -> Result<(u64, f64), String> {
    let mut sys = anysystem_forward::build(o.nodes, o.loss, o.seed);
    let started = Instant::now();
    let events = anysystem_forward::run(&mut sys, o.events);
    let wall = started.elapsed().as_secs_f64();
    Ok((events, wall))
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("forward_compare: {e}");
            return ExitCode::from(2);
        }
    };
    let mut rates: Vec<(String, Vec<f64>)> = o.impls.iter().map(|i| (i.clone(), vec![])).collect();
    for run in 0..o.runs {
        // Take turns, and change who goes first from run to run.
        for k in 0..rates.len() {
            let idx = (k + run) % rates.len();
            let name = rates[idx].0.clone();
            let result = match name.as_str() {
                "dsim" => run_dsim(&o),
                "anysystem" => run_anysystem(&o),
                other => Err(format!("unknown implementation {other}")),
            };
            let (events, wall) = match result {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("forward_compare: {e}");
                    return ExitCode::from(2);
                }
            };
            let rate = events as f64 / wall;
            println!(
                "{{\"impl\":\"{name}\",\"run\":{run},\"nodes\":{},\"loss\":{},\"events\":{events},\"wall_s\":{wall:.3},\"events_per_s\":{rate:.0}}}",
                o.nodes, o.loss
            );
            rates[idx].1.push(rate);
        }
    }
    for (name, mut r) in rates {
        r.sort_by(f64::total_cmp);
        println!(
            "{{\"impl\":\"{name}\",\"run\":\"median\",\"nodes\":{},\"events_per_s\":{:.0}}}",
            o.nodes,
            r[r.len() / 2]
        );
    }
    ExitCode::SUCCESS
}
