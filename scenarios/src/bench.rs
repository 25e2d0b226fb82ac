//! `dsim bench network` and `dsim bench system`: timed runs of generated workloads at a
//! chosen size, reported as one JSON object with events per second, wall time, peak
//! memory and memory per node.
//!
//! Memory comes from `/proc/self/status` (Linux): `VmHWM` is the process's peak
//! resident set, and bytes per node is the growth of `VmRSS` from before the
//! simulation was built to after every node has started, divided by the node count
//! (each node's state, kernel bookkeeping, random stream and its first pending events).

use protocols::cityos::{CityOs, CityParams};
use protocols::forward::{self, ForwardParams};
use protocols::image_cloud::{ImageCloud, ImageCloudParams};
use protocols::ott::{Ott, OttParams, WatchSpec};
use protocols::parking::{Parking, ParkingParams};
use protocols::phold::{Phold, PholdParams};
use protocols::ping_pong::{PingPong, PingPongParams};
use protocols::system::{LinkTable, NodeDecl, Setup, System};
use protocols::widest_path::{GraphSource, WidestPath, WidestPathParams};
use serde_json::{Value, json};
use sim_core::{LinkParams, Metrics, Node, SimConfig, SimTime, Simulation};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// The systems `dsim bench system` can generate, and what their size means.
pub const SYSTEMS: &[(&str, &str)] = &[
    ("phold", "logical processes (1 event each)"),
    ("ping-pong", "pingers, each with its own ponger"),
    (
        "cityos",
        "edge nodes, with --sensors sensors (default 20 per edge node), one server, one analyst, on a grid of about 800 cells per edge node (at least the report's 100 x 100)",
    ),
    (
        "widest-path",
        "peers of a random connected graph with about 4 extra links per peer",
    ),
    (
        "parking",
        "entry gates and as many exit gates, with the lock server and a display",
    ),
    (
        "image-cloud",
        "clients (5 requests each), one server per 10 clients (at least 3)",
    ),
    (
        "ott",
        "relays in a binary tree under one server, a PoP per 4 relays, a client per 2 relays watching the server's video",
    ),
];

/// A value from `/proc/self/status` in bytes (`None` off Linux).
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Current resident set, bytes.
fn rss() -> Option<u64> {
    proc_status_bytes("VmRSS:")
}

/// Build a simulation with `build`, start every node, run it with `run`, and measure;
/// `extra` fields join the report.
fn measure<N: Node>(
    build: impl FnOnce() -> Result<Simulation<N>, String>,
    run: impl FnOnce(&mut Simulation<N>),
    after: impl FnOnce(&mut Simulation<N>, &mut serde_json::Map<String, Value>),
    mut extra: serde_json::Map<String, Value>,
) -> Result<Value, String> {
    let before = rss();
    let built = Instant::now();
    let mut sim = build()?;
    // Start-ups (and everything else due at time zero) are set-up, not measured.
    sim.advance_to(SimTime(0));
    let setup_s = built.elapsed().as_secs_f64();
    let after_build = rss();
    let nodes = sim.world().nodes().count() as u64;
    let first = sim.events();
    let started = Instant::now();
    run(&mut sim);
    let wall = started.elapsed().as_secs_f64();
    let events = sim.events() - first;
    let per_node = match (before, after_build) {
        (Some(b), Some(a)) => json!(a.saturating_sub(b) as f64 / nodes as f64),
        _ => Value::Null,
    };
    extra.extend([
        ("nodes".into(), json!(nodes)),
        ("events".into(), json!(events)),
        ("sim_time_s".into(), json!(sim.now().0 as f64 / 1e9)),
        ("wall_s".into(), json!(wall)),
        ("setup_s".into(), json!(setup_s)),
        ("events_per_s".into(), json!(events as f64 / wall)),
        ("peak_rss_bytes".into(), json!(proc_status_bytes("VmHWM:"))),
        ("bytes_per_node".into(), per_node),
        ("trace_hash".into(), json!(sim.fingerprint().to_string())),
    ]);
    after(&mut sim, &mut extra);
    Ok(Value::Object(extra))
}

/// `dsim bench network`: forwarding through links with `loss` and `jitter`, `events`
/// events after start-up.
pub fn network(
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

/// `dsim bench system`: system `name` generated at `size` (see [`SYSTEMS`]), run to
/// `until` with its invariants on or off.
pub fn system(
    name: &str,
    size: u32,
    sensors: Option<u32>,
    until: SimTime,
    invariants: bool,
    seed: u64,
) -> Result<Value, String> {
    if size == 0 {
        return Err("bench system: --size must be positive".into());
    }
    let extra = serde_json::Map::from_iter([
        ("bench".into(), json!("system")),
        ("system".into(), json!(name)),
        ("size".into(), json!(size)),
        ("invariants".into(), json!(invariants)),
    ]);
    let decl = |name: String, role: &str, start: SimTime| NodeDecl {
        name,
        role: role.to_owned(),
        start: Some(start),
    };
    let lan = LinkTable::default();
    match name {
        "phold" => {
            let params = PholdParams {
                lps: size,
                ..PholdParams::default()
            };
            run_system::<Phold>(&params, &[], &lan, until, invariants, seed, extra)
        }
        "ping-pong" => {
            let params = PingPongParams {
                count: u32::MAX,
                ..PingPongParams::default()
            };
            let nodes: Vec<_> = (0..size)
                .flat_map(|i| {
                    [
                        decl(format!("pinger-{i}"), "pinger", SimTime::ZERO),
                        decl(format!("ponger-{i}"), "ponger", SimTime::ZERO),
                    ]
                })
                .collect();
            run_system::<PingPong>(&params, &nodes, &lan, until, invariants, seed, extra)
        }
        "cityos" => {
            let (params, nodes) = city(size, sensors.unwrap_or(size.saturating_mul(20)));
            let mut extra = extra;
            extra.insert("sensors".into(), json!(nodes.len() - 2 - size as usize));
            extra.insert("grid_side".into(), json!(params.grid_side));
            run_system::<CityOs>(&params, &nodes, &lan, until, invariants, seed, extra)
        }
        "widest-path" => {
            let params = WidestPathParams {
                graph: GraphSource::Random {
                    peers: size,
                    density: (4.0 / f64::from(size)).min(1.0),
                    min_kbps: 1000,
                    max_kbps: 10_000,
                },
                ..WidestPathParams::default()
            };
            // GHS needs FIFO links.
            let fifo = LinkTable {
                default: LinkParams {
                    fifo: true,
                    ..LinkParams::default()
                },
                ..LinkTable::default()
            };
            run_system::<WidestPath>(&params, &[], &fifo, until, invariants, seed, extra)
        }
        "parking" => {
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
            run_system::<Parking>(&params, &nodes, &lan, until, invariants, seed, extra)
        }
        "image-cloud" => {
            let servers = (size / 10).max(3);
            let mut nodes: Vec<_> = (0..servers)
                .map(|i| decl(format!("server-{i}"), "server", SimTime::ZERO))
                .collect();
            nodes.extend((0..size).map(|i| decl(format!("client-{i}"), "client", SimTime::ZERO)));
            let params = ImageCloudParams::default();
            run_system::<ImageCloud>(&params, &nodes, &lan, until, invariants, seed, extra)
        }
        "ott" => {
            let (params, nodes) = ott_overlay(size);
            run_system::<Ott>(&params, &nodes, &lan, until, invariants, seed, extra)
        }
        other => Err(format!(
            "bench system: unknown system {other:?}; one of: {}",
            SYSTEMS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
        )),
    }
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
    let decl = |name: String, role: &str| NodeDecl {
        name,
        role: role.to_owned(),
        start: Some(SimTime::ZERO),
    };
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

/// Build `S` from generated nodes, as the scenario runner does (with every invariant
/// when `invariants`), and time a run to `until`.
fn run_system<S: System>(
    params: &S::Params,
    nodes: &[NodeDecl],
    network: &LinkTable,
    until: SimTime,
    invariants: bool,
    seed: u64,
    extra: serde_json::Map<String, Value>,
) -> Result<Value, String> {
    let setup = Setup {
        seed,
        nodes,
        links: &[],
        network,
    };
    let build = || {
        if invariants {
            return protocols::system::simulation::<S>(params, &setup);
        }
        S::validate(params, &setup)?;
        let mut sim = Simulation::new(SimConfig {
            seed,
            default_link: network.default.clone(),
            keep_trace: false,
        });
        S::build(params, &setup, &mut sim);
        Ok(sim)
    };
    measure(
        build,
        |sim| {
            sim.advance_to(until);
        },
        |sim, out| {
            let outcome = sim.finish();
            let mut metrics = sim.metrics();
            S::report(params, sim, &mut metrics);
            out.insert("metrics".into(), key_metrics::<S>(&metrics));
            let violation = outcome
                .violation
                .map(|v| format!("{}: {}", v.invariant, v.message));
            out.insert("violation".into(), json!(violation));
        },
        extra,
    )
}

/// The system's key metrics after the run, with the reference values and bounds the
/// system reports beside them (`NAME.reference`, `NAME.bound`), so a benchmark shows
/// the run did its work, not only how fast it went.
fn key_metrics<S: System>(metrics: &Metrics) -> Value {
    let mut out = serde_json::Map::new();
    for name in S::KEY_METRICS {
        for full in [
            name.to_string(),
            format!("{name}.reference"),
            format!("{name}.bound"),
        ] {
            if metrics.get(&full).is_some() {
                out.insert(full.clone(), json!(metrics.value(&full)));
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let mut sim = protocols::system::simulation::<CityOs>(&params, &setup).unwrap();
        sim.run_until(SimTime::from_secs(5));
        let world = sim.world();
        let cloud = world
            .nodes()
            .find_map(|(_, _, n)| n.as_cloud())
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
        };
        let mut sim = protocols::system::simulation::<Ott>(&params, &setup).unwrap();
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
