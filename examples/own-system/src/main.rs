//! `own-sim`: the whole `dsim` command line (run, verify, explore, sweep, sweep-merge,
//! report, list, bench system) for the leader lease, from this crate's registry.

use dsim::bench::{BenchOptions, Generated};
use dsim::{NodeDecl, Registry, SimTime};
use own_system::{LeaderLease, LeaseParams};

/// `own-sim bench system leader-lease --size N`: N replicas with the default parameters.
fn replicas(size: u32, _: &BenchOptions) -> Result<Generated<LeaderLease>, String> {
    let nodes = (0..size)
        .map(|i| NodeDecl {
            name: format!("r{i}"),
            role: "replica".into(),
            start: Some(SimTime::ZERO),
        })
        .collect();
    Ok(Generated::new(LeaseParams::default(), nodes))
}

/// Running out of memory is an error with exit status 3, not an abort.
#[global_allocator]
static ALLOCATOR: dsim::cli::ReportingAllocator = dsim::cli::ReportingAllocator;

fn main() -> std::process::ExitCode {
    let registry = Registry::new()
        .system::<LeaderLease>()
        .scenario("lease.ron", include_str!("../scenarios/lease.ron"))
        .bench::<LeaderLease>("replicas", replicas);
    dsim::cli::main(&registry)
}
