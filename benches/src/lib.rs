//! dsim benchmark helpers shared by the criterion benches, the `phold_compare` example
//! and `dsim bench`.
//!
//! PHOLD is run three ways with the same parameters ([`PholdParams`]): on the dsim kernel
//! ([`dsim_phold`]), on a bare loop over `std::collections::BinaryHeap` that makes the
//! very same random draws ([`heap_floor`], the floor no kernel can beat), and, in the
//! benches and the example only, on simcore 0.1.0 (a dev-dependency).

pub mod dsim_phold;
pub mod heap_floor;

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
