//! dsim benchmark helpers shared by the criterion benches and the `phold_compare`
//! example.
//!
//! PHOLD is run three ways with the same parameters ([`PholdParams`]): on the dsim kernel
//! ([`dsim_phold`], the same loop `dsim bench phold` times), on a bare loop over
//! `std::collections::BinaryHeap` that makes the very same random draws ([`heap_floor`]:
//! what the work costs with no kernel around it), and, in the benches, tests and the
//! example only, on simcore 0.1.0 (a dev-dependency).

#![warn(missing_docs)]

pub mod bare_heap;
pub mod dsim_phold;
pub mod heap_floor;
pub mod scaling;

pub use protocols::phold::PholdParams;
use sim_core::SimTime;

/// How a PHOLD run ended, whatever ran it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PholdRun {
    /// PHOLD events processed (node start-ups and other bookkeeping events excluded).
    pub events: u64,
    /// Simulated time of the last processed event.
    pub end_time: SimTime,
}
