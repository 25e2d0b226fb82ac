//! scenarios: the RON scenario schema, the loader with precise errors, the registry of
//! hosted systems, the runner, trace files and the `dsim` command line.

pub mod bench;
pub mod cli;
pub mod explore;
pub mod library;
pub mod load_error;
pub mod overrides;
pub mod registry;
pub mod report;
pub mod runner;
pub mod schema;
pub mod sweep;
pub mod timeline;
pub mod trace_file;
