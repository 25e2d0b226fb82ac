//! scenarios: dsim's own systems registered for the `dsim` binary, exactly as a user
//! registers theirs: the nine hosted systems, the scenario library (the `.ron` files
//! beside this crate's manifest), the shipped Topology Zoo graphs, the generators of
//! `dsim bench system` and the engine benchmarks.
#![warn(missing_docs, unreachable_pub)]

pub mod bench;
mod library;

use dsim::Registry;
use protocols::{
    bully::Bully, cityos::CityOs, image_cloud::ImageCloud, ott::Ott, parking::Parking,
    phold::Phold, ping_pong::PingPong, transport_system::Transport, widest_path::WidestPath,
};

/// What of bench system's size counts, per system.
const SIZES: [&str; 7] = [
    "logical processes (1 event each)",
    "pingers, each with its own ponger",
    "edge nodes, with --with sensors=N sensors (default 20 per edge node), one server, one analyst, on a grid of about 800 cells per edge node (at least the report's 100 x 100)",
    "peers of a random connected graph with about 4 extra links per peer",
    "entry gates and as many exit gates, with the lock server and a display",
    "clients (5 requests each), one server per 10 clients (at least 3)",
    "relays in a binary tree under one server, a PoP per 4 relays, a client per 2 relays watching the server's video",
];

/// The registry of the `dsim` binary: every built-in system, the library, the shipped
/// topologies and the benchmarks.
pub fn registry() -> Registry {
    let mut registry = Registry::new()
        .system::<PingPong>()
        .system::<Phold>()
        .system::<Transport>()
        .system::<Parking>()
        .system::<CityOs>()
        .system::<Bully>()
        .system::<ImageCloud>()
        .system::<WidestPath>()
        .system::<Ott>();
    for (file, text) in library::LIBRARY {
        registry = registry.scenario(file, text);
    }
    for (path, text) in protocols::widest_path::topologies::SHIPPED {
        registry = registry.shipped_file(path, text);
    }
    registry
        .bench::<Phold>(SIZES[0], bench::phold)
        .bench::<PingPong>(SIZES[1], bench::ping_pong)
        .bench::<CityOs>(SIZES[2], bench::cityos)
        .bench::<WidestPath>(SIZES[3], bench::widest_path)
        .bench::<Parking>(SIZES[4], bench::parking)
        .bench::<ImageCloud>(SIZES[5], bench::image_cloud)
        .bench::<Ott>(SIZES[6], bench::ott)
        .engine_bench(
            "phold",
            "PHOLD with the fingerprint on: N logical processes, M events each, E events in all",
            bench::bench_phold,
        )
        .engine_bench(
            "network",
            "message forwarding through the network model (loss and jitter on, fingerprint on); JSON",
            bench::bench_network,
        )
}
