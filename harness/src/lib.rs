//! dsim-harness: everything dsim does with a system, for any system a [`Registry`]
//! hosts: the RON scenario schema and the loader with precise errors, the runner,
//! trace files, fault exploration, sweeps, HTML reports, benchmarks, the test helpers
//! ([`testing`]) and the `dsim` command line ([`cli::main`]).
#![warn(missing_docs, unreachable_pub)]

pub mod bench;
pub mod cli;
pub mod explore;
pub mod load_error;
pub mod overrides;
pub mod registry;
pub mod report;
pub mod runner;
pub mod schema;
pub mod sweep;
pub mod testing;
pub mod timeline;
pub mod trace_file;

pub use registry::Registry;
