//! Tests of the image cloud: the encryption job end to end, the four balancing modes
//! against what their mechanisms predict, the offline token, sharing through the cache,
//! determinism, and the report's experiment.

use super::*;
use crate::system::{LinkTable, NodeDecl};
use sim_core::{Fault, Latency, LinkParams, ScheduledFault, SimConfig};

fn decls(servers: usize, clients: usize) -> Vec<NodeDecl> {
    let node = |name: String, role: &str| NodeDecl {
        name,
        role: role.into(),
        start: Some(SimTime::ZERO),
    };
    (0..servers)
        .map(|i| node(format!("server-{i}"), "server"))
        .chain((0..clients).map(|i| node(format!("client-{i}"), "client")))
        .collect()
}

/// A LAN: latency uniform in [min, max] microseconds, 100 Mb/s, loss `loss`.
fn lan(min_us: u64, max_us: u64, loss: f64) -> LinkParams {
    LinkParams {
        latency: Latency::Uniform {
            min: SimTime::from_micros(min_us),
            max: SimTime::from_micros(max_us),
        },
        bandwidth_bps: Some(100_000_000),
        loss,
        ..LinkParams::default()
    }
}

struct Run {
    sim: Simulation<CloudNode>,
    metrics: Metrics,
    violation: Option<String>,
}

fn run(
    params: &ImageCloudParams,
    nodes: &[NodeDecl],
    link: LinkParams,
    seed: u64,
    until: SimTime,
    faults: &[(SimTime, Fault<String>)],
) -> Run {
    let network = LinkTable {
        default: link.clone(),
        ..LinkTable::default()
    };
    let setup = Setup {
        seed,
        nodes,
        links: &[],
        network: &network,
    };
    ImageCloud::validate(params, &setup).expect("valid parameters");
    let mut sim = Simulation::new(SimConfig {
        seed,
        default_link: link,
        keep_trace: false,
    });
    ImageCloud::build(params, &setup, &mut sim);
    for inv in ImageCloud::invariants(params) {
        sim.add_invariant(inv);
    }
    for (at, f) in faults {
        let fault = f
            .clone()
            .map_nodes(&mut |n: String| sim.lookup(&n).ok_or(n))
            .expect("node");
        sim.schedule_fault(ScheduledFault { at: *at, fault });
    }
    let out = sim.run_until(until);
    let mut metrics = sim.metrics();
    ImageCloud::report(params, &sim, &mut metrics);
    let violation = out
        .violation
        .map(|v| format!("{}: {}", v.invariant, v.message));
    Run {
        sim,
        metrics,
        violation,
    }
}

/// The report's experiment: 200 clients x 5 requests 100 ms apart on three servers.
fn experiment(balancing: Balancing, seed: u64) -> Run {
    let params = ImageCloudParams {
        balancing,
        ..experiment_params()
    };
    run(
        &params,
        &decls(3, 200),
        experiment_link(),
        seed,
        SimTime::from_secs(6),
        &[],
    )
}

fn experiment_params() -> ImageCloudParams {
    ImageCloudParams {
        requests: 5,
        request_interval: SimTime::from_millis(100),
        start_spread: SimTime::from_millis(20),
        image_bytes: 1024,
        cover_bytes: 8232,
        workers: 2,
        queue_limit: 6,
        request_timeout: SimTime::from_millis(300),
        job_timeout: SimTime::from_millis(1000),
        offline_token: Some(OfflineToken {
            start: SimTime::from_millis(50),
            sleep: SimTime::from_millis(150),
            awake: SimTime::from_millis(50),
        }),
        ..ImageCloudParams::default()
    }
}

fn experiment_link() -> LinkParams {
    lan(1000, 3000, 0.0)
}

#[test]
fn explore() {
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let params = ImageCloudParams {
        workers: env("W", 3) as u32,
        queue_limit: env("Q", 37) as u32,
        start_spread: SimTime::from_millis(env("SPREAD", 20)),
        request_timeout: SimTime::from_millis(env("RT", 300)),
        job_timeout: SimTime::from_millis(env("JT", 1000)),
        token_hold: SimTime::from_micros(env("HOLD", 2000)),
        offline_token: Some(OfflineToken {
            start: SimTime::from_millis(50),
            sleep: SimTime::from_millis(env("SLEEP", 100)),
            awake: SimTime::from_millis(env("AWAKE", 200)),
        }),
        ..experiment_params()
    };
    let link = lan(env("LMIN", 1000), env("LMAX", 3000), 0.0);
    for b in [
        Balancing::NoBalancing,
        Balancing::RandomServer,
        Balancing::Queues,
        Balancing::QueuesFt,
        Balancing::TokenRing,
    ] {
        let p = ImageCloudParams { balancing: b, ..params.clone() };
        let r = run(&p, &decls(3, 200), link.clone(), env("SEED", 1), SimTime::from_secs(6), &[]);
        let m = &r.metrics;
        println!(
            "{b:?}: fail {:.3} dup {} full {} offline {} unanswered {} late {} viol {:?}",
            m.value("failure_rate"),
            m.value("duplicate_handling"),
            m.value("requests_dropped_full"),
            m.value("requests_dropped_offline"),
            m.value("requests_unanswered"),
            m.value("requests_late"),
            r.violation
        );
    }
}
