//! dsim's benchmarks: the generators of `dsim bench system` for the built-in systems,
//! and the engine benchmarks `dsim bench phold` (PHOLD with the fingerprint on) and
//! `dsim bench network` (forwarding through the network model).

use clap::Parser;
use dsim::System;
use dsim::harness::bench::{BenchOptions, BenchRequest, Generated, measure};
use dsim::scenario::memory;
use dsim::{LinkParams, LinkTable, NodeDecl, SimTime};
use protocols::cityos::{CityOs, CityParams};
use protocols::forward::{self, ForwardParams};
use protocols::image_cloud::{ImageCloud, ImageCloudParams};
use protocols::ott::{Ott, OttParams, WatchSpec};
use protocols::parking::{Parking, ParkingParams};
use protocols::phold::{Phold, PholdParams};
use protocols::ping_pong::{PingPong, PingPongParams};
use protocols::widest_path::{GraphSource, WidestPath, WidestPathParams};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::Instant;

/// A node declared to start at `start`.
fn decl(name: String, role: &str, start: SimTime) -> NodeDecl {
    NodeDecl {
        name,
        role: role.to_owned(),
        start: Some(start),
    }
}

/// PHOLD: `size` logical processes, one event each.
pub(crate) fn phold(size: u32, _: &BenchOptions) -> Result<Generated<Phold>, String> {
    let params = PholdParams {
        lps: size,
        ..PholdParams::default()
    };
    Ok(Generated::new(params, Vec::new()))
}

/// Ping-pong: `size` pingers, each with its own ponger, pinging for ever.
pub(crate) fn ping_pong(size: u32, _: &BenchOptions) -> Result<Generated<PingPong>, String> {
    let params = PingPongParams {
        count: protocols::ping_pong::PINGS_FOR_EVER,
        ..PingPongParams::default()
    };
    let nodes = (0..size)
        .flat_map(|i| {
            [
                decl(format!("pinger-{i}"), "pinger", SimTime::ZERO),
                decl(format!("ponger-{i}"), "ponger", SimTime::ZERO),
            ]
        })
        .collect();
    Ok(Generated::new(params, nodes))
}

/// CityOS: `size` edge nodes and `--with sensors=N` sensors (default 20 per edge node).
pub(crate) fn cityos(size: u32, options: &BenchOptions) -> Result<Generated<CityOs>, String> {
    let sensors = match options.get("sensors") {
        Some(n) => u32::try_from(n).map_err(|_| format!("--with sensors={n}: too many"))?,
        None => size.saturating_mul(20),
    };
    let (params, nodes) = city(size, sensors);
    let grid_side = params.grid_side;
    let mut generated = Generated::<CityOs>::new(params, nodes);
    generated.notes.insert("sensors".into(), json!(sensors));
    generated.notes.insert("grid_side".into(), json!(grid_side));
    Ok(generated)
}

/// Widest-path: a random connected graph of `size` peers with about 4 extra links per
/// peer, over FIFO links (GHS needs them).
pub(crate) fn widest_path(size: u32, _: &BenchOptions) -> Result<Generated<WidestPath>, String> {
    let params = WidestPathParams {
        graph: GraphSource::Random {
            peers: size,
            density: (4.0 / f64::from(size)).min(1.0),
            min_kbps: 1000,
            max_kbps: 10_000,
        },
        ..WidestPathParams::default()
    };
    let mut generated = Generated::new(params, Vec::new());
    generated.network = LinkTable {
        default: LinkParams {
            fifo: true,
            ..LinkParams::default()
        },
        ..LinkTable::default()
    };
    Ok(generated)
}

/// Parking: `size` entry gates and as many exit gates, the lock server and a display.
pub(crate) fn parking(size: u32, _: &BenchOptions) -> Result<Generated<Parking>, String> {
    let mut nodes = vec![
        decl("server".into(), "server", SimTime::ZERO),
        decl("display".into(), "display", SimTime::ZERO),
    ];
    for i in 0..size {
        nodes.push(decl(format!("gate-in-{i}"), "entry", SimTime::ZERO));
        nodes.push(decl(format!("gate-out-{i}"), "exit", SimTime::ZERO));
    }
    let params = ParkingParams {
        capacity: size.saturating_mul(20),
        ..ParkingParams::default()
    };
    Ok(Generated::new(params, nodes))
}

/// Image cloud: `size` clients (5 requests each), one server per 10 clients (at least 3).
pub(crate) fn image_cloud(size: u32, _: &BenchOptions) -> Result<Generated<ImageCloud>, String> {
    let servers = (size / 10).max(3);
    let mut nodes: Vec<_> = (0..servers)
        .map(|i| decl(format!("server-{i}"), "server", SimTime::ZERO))
        .collect();
    nodes.extend((0..size).map(|i| decl(format!("client-{i}"), "client", SimTime::ZERO)));
    Ok(Generated::new(ImageCloudParams::default(), nodes))
}

/// OTT: `size` relays in a binary tree (see [`ott_overlay`]).
pub(crate) fn ott(size: u32, _: &BenchOptions) -> Result<Generated<Ott>, String> {
    let (params, nodes) = ott_overlay(size);
    Ok(Generated::new(params, nodes))
}

/// A CityOS city of `edges` edge nodes and `sensors` sensors, with the cloud server and
/// an analyst: its parameters and nodes.
///
/// The report's 100 x 100 city holds a few dozen edge nodes at the minimum distance of
/// 20 (one per 200 cells at the densest), so the grid grows with the edge count: about
/// 800 cells per edge node, so that random cells are mostly accepted, and ids from a
/// range that rarely collides.
fn city(edges: u32, sensors: u32) -> (CityParams, Vec<NodeDecl>) {
    let decl = |name: String, role: &str, start: SimTime| NodeDecl {
        name,
        role: role.to_owned(),
        start: Some(start),
    };
    let mut nodes = vec![
        decl("cloud".into(), "server", SimTime::ZERO),
        decl("analyst".into(), "client", SimTime::ZERO),
    ];
    nodes.extend((0..edges).map(|i| decl(format!("edge-{i}"), "edge", SimTime::ZERO)));
    // Sensors start once the edge nodes have registered, as in the library's cityos
    // scenario.
    let start = SimTime::from_secs(3);
    nodes.extend((0..sensors).map(|i| decl(format!("sensor-{i}"), "sensor", start)));
    let side = (f64::from(edges) * 800.0).sqrt().ceil() as u32;
    let defaults = CityParams::default();
    let params = CityParams {
        grid_side: side.max(defaults.grid_side),
        id_range: i64::from(edges).saturating_mul(100).max(defaults.id_range),
        ..defaults
    };
    (params, nodes)
}

/// An OTT overlay of `relays` relays: the server `S1` (video 1) feeds relay `N0`, relay
/// `Ni`'s children are `N(2i+1)` and `N(2i+2)`; PoP `Pj` hangs off relays `N(4j)` and
/// `N(4j+1)`; client `Ck` watches video 1 from 1 s through PoPs `P(k)` and `P(k+1)`
/// (modulo their number).
fn ott_overlay(relays: u32) -> (OttParams, Vec<NodeDecl>) {
    let decl = |name: String, role: &str| decl(name, role, SimTime::ZERO);
    let pops = relays.div_ceil(4);
    let clients = relays.div_ceil(2);
    let relay = |i: u32| format!("N{i}");
    let pop = |j: u32| format!("P{}", j % pops);
    let mut links: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut link = |a: String, b: String| {
        links.entry(a.clone()).or_default().insert(b.clone());
        links.entry(b).or_default().insert(a);
    };
    link("S1".into(), relay(0));
    for i in 1..relays {
        link(relay((i - 1) / 2), relay(i));
    }
    for j in 0..pops {
        link(pop(j), relay(4 * j));
        link(pop(j), relay((4 * j + 1).min(relays - 1)));
    }
    let mut nodes = vec![
        decl("bootstrapper".into(), "bootstrapper"),
        decl("S1".into(), "server"),
    ];
    nodes.extend((0..relays).map(|i| decl(relay(i), "node")));
    nodes.extend((0..pops).map(|j| decl(pop(j), "pop")));
    nodes.extend((0..clients).map(|k| decl(format!("C{k}"), "client")));
    let params = OttParams {
        neighbours: links
            .into_iter()
            .map(|(n, set)| (n, set.into_iter().collect()))
            .collect(),
        videos: BTreeMap::from([("S1".to_owned(), vec![1])]),
        watches: (0..clients)
            .map(|k| WatchSpec {
                client: format!("C{k}"),
                video: 1,
                start: SimTime::from_secs(1),
                stop: None,
            })
            .collect(),
        client_pops: (0..clients)
            .map(|k| (format!("C{k}"), vec![pop(k), pop(k + 1)]))
            .collect(),
        ..OttParams::default()
    };
    (params, nodes)
}

/// `dsim bench phold`: PHOLD with the fingerprint on.
#[derive(Parser, Debug)]
#[command(name = "bench phold")]
struct PholdArgs {
    /// Logical processes.
    #[arg(long, default_value_t = 10_000)]
    lps: u32,
    /// Initial events per logical process.
    #[arg(long, default_value_t = 1)]
    events_per_lp: u32,
    /// Events to process.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Probability that an event goes to a random LP.
    #[arg(long, default_value_t = 0.9)]
    remote: f64,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Parse an engine benchmark's arguments as `P`; on an error or `--help`, clap's exit.
fn parse<P: Parser>(args: &[String]) -> P {
    let argv = std::iter::once("bench".to_owned()).chain(args.iter().cloned());
    P::try_parse_from(argv).unwrap_or_else(|e| e.exit())
}

/// A usage error of an engine benchmark: printed, exit 2.
fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// `dsim bench phold ARGS...`.
pub(crate) fn bench_phold(args: &[String]) -> ExitCode {
    let a: PholdArgs = parse(args);
    if a.lps == 0 || a.events_per_lp == 0 || !(0.0..=1.0).contains(&a.remote) {
        return usage(
            "bench phold: --lps and --events-per-lp must be positive and --remote in [0, 1]",
        );
    }
    if let Err(why) = memory::check_fits(u64::from(a.lps), Phold::BYTES_PER_NODE, "phold") {
        return usage(&format!("bench phold --lps {}: {why}", a.lps));
    }
    let params = PholdParams {
        lps: a.lps,
        events_per_lp: a.events_per_lp,
        remote: a.remote,
        ..PholdParams::default()
    };
    let mut sim = Phold::simulation(&params, a.seed);
    // Start-up (one start event per LP) is not part of the measured events.
    sim.run_events(u64::from(a.lps));
    let started = Instant::now();
    let ran = sim.run_events(a.events);
    let wall = started.elapsed().as_secs_f64();
    let report = json!({
        "lps": a.lps,
        "events": ran,
        "wall_s": wall,
        "events_per_s": ran as f64 / wall,
        "trace_hash": sim.fingerprint().to_string(),
    });
    if a.json {
        println!("{report}");
    } else {
        println!(
            "phold: {} LPs, {ran} events in {wall:.3} s = {:.0} events/s (fingerprint {})",
            a.lps,
            ran as f64 / wall,
            sim.fingerprint()
        );
    }
    ExitCode::SUCCESS
}

/// `dsim bench network`: message forwarding through the network model.
#[derive(Parser, Debug)]
#[command(name = "bench network")]
struct NetworkArgs {
    /// Nodes.
    #[arg(long, default_value_t = 10_000)]
    nodes: u32,
    /// Events to process after start-up.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Loss probability of every link.
    #[arg(long, default_value_t = 0.01)]
    loss: f64,
    /// Jitter of every link (latency is 1 ms).
    #[arg(long, default_value = "1ms", value_parser = |s: &str| s.parse::<SimTime>())]
    jitter: SimTime,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// `dsim bench network ARGS...`: prints JSON.
pub(crate) fn bench_network(args: &[String]) -> ExitCode {
    let a: NetworkArgs = parse(args);
    // 605 bytes per forwarder, measured at a million (benches/README.md).
    if let Err(why) = memory::check_fits(u64::from(a.nodes), 605, "forwarding") {
        return usage(&format!("bench network --nodes {}: {why}", a.nodes));
    }
    match network(a.nodes, a.events, a.loss, a.jitter, a.seed) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => usage(&e),
    }
}

/// Forwarding through links with `loss` and `jitter`, `events` events after start-up.
fn network(
    nodes: u32,
    events: u64,
    loss: f64,
    jitter: SimTime,
    seed: u64,
) -> Result<Value, String> {
    let defaults = ForwardParams::default();
    let params = ForwardParams {
        nodes,
        link: LinkParams {
            loss,
            jitter,
            ..defaults.link.clone()
        },
        ..defaults
    };
    let extra = serde_json::Map::from_iter([
        ("bench".into(), json!("network")),
        ("loss".into(), json!(loss)),
        ("jitter".into(), json!(jitter.to_string())),
        ("hops".into(), json!(params.hops)),
        ("interval".into(), json!(params.interval.to_string())),
    ]);
    measure(
        || forward::simulation(&params, seed),
        |sim| {
            sim.run_events(events);
        },
        |_, _| {},
        extra,
    )
}

/// `dsim bench system NAME --size SIZE` for a built-in system, for criterion: the JSON
/// report, as the command prints it.
pub fn system(
    name: &str,
    size: u32,
    until: SimTime,
    invariants: bool,
    seed: u64,
) -> Result<Value, String> {
    let request = BenchRequest {
        size,
        until,
        invariants,
        seed,
    };
    dsim::harness::bench::system(
        crate::registry().benches(),
        name,
        &request,
        &BenchOptions::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsim::{Role, Setup, System};
    use protocols::cityos::CloudServer;

    /// A generated city of 100 edge nodes is a real network: nearly every edge node
    /// finds a cell at the minimum distance and registers (on the report's 100 x 100
    /// grid at most a few dozen could).
    #[test]
    fn a_large_city_registers_its_edge_nodes() {
        let (params, nodes) = city(100, 0);
        assert!(params.grid_side > 250, "{}", params.grid_side);
        let setup = Setup {
            seed: 1,
            nodes: &nodes,
            links: &[],
            network: &LinkTable::default(),
            files: dsim::ScenarioFiles::none(),
        };
        let mut sim = dsim::simulation::<CityOs>(&params, &setup).unwrap();
        sim.run_until(SimTime::from_secs(5));
        let world = sim.world();
        let cloud = world
            .nodes()
            .find_map(|(_, _, n)| CloudServer::of(n))
            .map(|s| &s.cloud)
            .expect("the city has its server");
        assert!(
            cloud.nodes.len() >= 95,
            "{} of 100 registered",
            cloud.nodes.len()
        );
    }

    /// The generated OTT overlay is one the system accepts and streams over: with
    /// every invariant on, each client receives the server's video within 10 s.
    #[test]
    fn a_generated_ott_overlay_streams_to_every_client() {
        let (params, nodes) = ott_overlay(16);
        let setup = Setup {
            seed: 1,
            nodes: &nodes,
            links: &[],
            network: &LinkTable::default(),
            files: dsim::ScenarioFiles::none(),
        };
        let mut sim = dsim::simulation::<Ott>(&params, &setup).unwrap();
        for inv in Ott::invariants(&params) {
            sim.add_invariant(inv);
        }
        let outcome = sim.run_until(SimTime::from_secs(10));
        assert!(outcome.violation.is_none(), "{:?}", outcome.violation);
        let received = match sim.metrics().get("video_bits") {
            Some(sim_core::Metric::Tally(t)) => t.clone(),
            other => panic!("video_bits: {other:?}"),
        };
        assert_eq!(received.len(), 8, "clients with video: {received:?}");
        assert!(received.values().all(|&bits| bits > 8e6), "{received:?}");
    }
}
