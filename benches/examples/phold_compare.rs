//! PHOLD side by side: dsim, simcore 0.1.0 and the bare-heap floor, same parameters,
//! same machine, one after the other.
//!
//! ```text
//! cargo run --release -p benches --example phold_compare -- \
//!     --lps 10000 --events-per-lp 1 --events 10000000 --runs 3
//! ```
//!
//! Options (defaults in brackets): `--lps` [10000], `--events-per-lp` [1], `--events`
//! [10000000], `--lookahead-ns` [100000], `--mean-ns` [1000000], `--remote` [0.9],
//! `--seed` [1], `--runs` [3], `--impls` [dsim,simcore,bare-heap,floor,floor-shared].
//!
//! Prints one JSON line per implementation and run, then one line per implementation
//! with the median over the runs (`"run":"median"`). Only the event loop is timed;
//! building the model and scheduling the initial events is reported as `setup_s`.
//! `events_per_s` is events over wall time; `cpu_s` is the loop's CPU time (Linux only,
//! else `null`), a steadier figure on a machine that is busy with other work.

#[path = "../benches/simcore_phold/mod.rs"]
mod simcore_phold;

use benches::bare_heap::BareHeap;
use benches::dsim_phold::DsimPhold;
use benches::heap_floor::{HeapFloor, Streams};
use benches::{PholdParams, PholdRun};
use sim_core::SimTime;
use simcore_phold::SimcorePhold;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Options {
    params: PholdParams,
    events: u64,
    seed: u64,
    runs: usize,
    impls: Vec<String>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        params: PholdParams {
            lps: 10_000,
            ..PholdParams::default()
        },
        events: 10_000_000,
        seed: 1,
        runs: 3,
        impls: ["dsim", "simcore", "bare-heap", "floor", "floor-shared"]
            .map(String::from)
            .to_vec(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--lps" => o.params.lps = value.parse().map_err(|e| bad(&e))?,
            "--events-per-lp" => o.params.events_per_lp = value.parse().map_err(|e| bad(&e))?,
            "--events" => o.events = value.parse().map_err(|e| bad(&e))?,
            "--lookahead-ns" => o.params.lookahead = SimTime(value.parse().map_err(|e| bad(&e))?),
            "--mean-ns" => o.params.mean = SimTime(value.parse().map_err(|e| bad(&e))?),
            "--remote" => o.params.remote = value.parse().map_err(|e| bad(&e))?,
            "--seed" => o.seed = value.parse().map_err(|e| bad(&e))?,
            "--runs" => o.runs = value.parse().map_err(|e| bad(&e))?,
            "--impls" => o.impls = value.split(',').map(String::from).collect(),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if o.params.lps == 0 || o.params.events_per_lp == 0 || o.runs == 0 {
        return Err("--lps, --events-per-lp and --runs must be at least 1".into());
    }
    if !(0.0..=1.0).contains(&o.params.remote) {
        return Err("--remote must be in [0, 1]".into());
    }
    Ok(o)
}

/// One timed run: set-up time, loop time and the outcome.
struct Sample {
    setup: Duration,
    wall: Duration,
    /// CPU time of the event loop, where the OS reports it.
    cpu: Option<Duration>,
    run: PholdRun,
}

/// Time this thread has spent on a CPU (Linux: `/proc/thread-self/schedstat`, in ns).
/// Unlike wall time it leaves out the time the thread waited for a core, which matters
/// on a busy machine; it does not leave out cache contention.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Build a model (timed as set-up), then run its event loop (timed as the run).
fn timed<M>(build: impl FnOnce() -> M, run: impl FnOnce(&mut M) -> PholdRun) -> Sample {
    let t0 = Instant::now();
    let mut model = build();
    let setup = t0.elapsed();
    let (t1, c1) = (Instant::now(), cpu_time());
    let run = run(&mut model);
    let wall = t1.elapsed();
    let cpu = cpu_time().zip(c1).map(|(c2, c1)| c2.saturating_sub(c1));
    drop(model);
    Sample {
        setup,
        wall,
        cpu,
        run,
    }
}

fn measure(name: &str, o: &Options) -> Result<Sample, String> {
    let (p, seed, events) = (&o.params, o.seed, o.events);
    Ok(match name {
        "dsim" => timed(|| DsimPhold::new(p, seed), |m| m.run(events)),
        "bare-heap" => timed(|| BareHeap::new(p, seed), |m| m.run(events)),
        "floor" => timed(
            || HeapFloor::new(p, seed, Streams::PerLp),
            |m| m.run(events),
        ),
        "floor-shared" => timed(
            || HeapFloor::new(p, seed, Streams::Shared),
            |m| m.run(events),
        ),
        "simcore" => timed(
            || SimcorePhold::build(p, seed),
            |m| {
                let r = m.run(events);
                PholdRun {
                    events: r.events,
                    end_time: SimTime((r.end_time_s * 1e9).round() as u64),
                }
            },
        ),
        other => return Err(format!("unknown implementation {other:?}")),
    })
}

fn line(name: &str, run: &str, o: &Options, s: &Sample) -> String {
    let wall = s.wall.as_secs_f64();
    let cpu = s
        .cpu
        .map_or_else(|| "null".to_owned(), |c| format!("{:.3}", c.as_secs_f64()));
    format!(
        "{{\"impl\":\"{name}\",\"run\":\"{run}\",\"lps\":{},\"events_per_lp\":{},\"events\":{},\
         \"setup_s\":{:.3},\"wall_s\":{wall:.3},\"cpu_s\":{cpu},\"events_per_s\":{:.0},\
         \"end_time_ns\":{}}}",
        o.params.lps,
        o.params.events_per_lp,
        s.run.events,
        s.setup.as_secs_f64(),
        s.run.events as f64 / wall,
        s.run.end_time.0,
    )
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("phold_compare: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut samples: Vec<Vec<Sample>> = o.impls.iter().map(|_| Vec::new()).collect();
    // Interleave the implementations, rotating who goes first, so drift in machine load
    // and allocator state hit all of them alike.
    let n = o.impls.len();
    for r in 0..o.runs {
        for k in 0..n {
            let i = (k + r) % n;
            let name = &o.impls[i];
            match measure(name, &o) {
                Ok(s) => {
                    if writeln!(out, "{}", line(name, &r.to_string(), &o, &s)).is_err() {
                        return ExitCode::SUCCESS; // stdout closed (piped into `head`)
                    }
                    samples[i].push(s);
                }
                Err(e) => {
                    eprintln!("phold_compare: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    for (name, mut runs) in o.impls.iter().zip(samples) {
        runs.sort_by_key(|s| s.wall);
        let median = runs.swap_remove(runs.len() / 2);
        if writeln!(out, "{}", line(name, "median", &o, &median)).is_err() {
            return ExitCode::SUCCESS;
        }
    }
    ExitCode::SUCCESS
}
