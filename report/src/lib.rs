//! dsim-report: the glue between runs and the `reports` crate's plots and pages: the
//! HTML report of a run, of a directory of traces (re-run from what they carry), and of
//! a sweep's shards (`dsim report`).
#![warn(missing_docs, unreachable_pub)]

pub mod run;
pub mod sweep;
