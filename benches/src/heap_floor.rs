//! The floor: PHOLD as a bare loop over `std::collections::BinaryHeap`, with no kernel
//! around it, making exactly the random draws dsim's [`protocols::phold::Lp`] makes.
//!
//! Every LP owns the ChaCha8 stream dsim would give it (`node:lp-<i>` under the master
//! seed), draws in the same order with the same helpers, and ties are broken by the
//! same schedule-order sequence number; so for equal parameters and seed the floor
//! processes the same events at the same times as dsim, and only the bookkeeping
//! differs. A single-stream variant shows what per-LP streams cost on their own.

use crate::{PholdParams, PholdRun};
use protocols::phold::Destinations;
use sim_core::SimTime;
use sim_core::rng::{SimRng, component_rng, exponential};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Where the floor's random numbers come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streams {
    /// One ChaCha8 stream per LP, as dsim gives every node (the like-for-like floor).
    PerLp,
    /// One ChaCha8 stream for the whole run: the cheapest possible draws.
    Shared,
}

/// A PHOLD model as a heap of `(time, sequence, lp)` and the LPs' random streams.
pub struct HeapFloor {
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    rngs: Vec<SimRng>,
    streams: Streams,
    next_seq: u64,
    now: u64,
    lookahead: u64,
    mean_ns: f64,
    destinations: Destinations,
}

impl HeapFloor {
    /// Build the model and schedule the initial events, LP by LP as dsim's start-ups do.
    pub fn new(params: &PholdParams, seed: u64, streams: Streams) -> Self {
        let rngs = match streams {
            Streams::PerLp => (0..params.lps)
                .map(|i| component_rng(seed, &format!("node:lp-{i}")))
                .collect(),
            Streams::Shared => vec![component_rng(seed, "phold")],
        };
        let mut floor = HeapFloor {
            heap: BinaryHeap::with_capacity(params.lps as usize * params.events_per_lp as usize),
            rngs,
            streams,
            next_seq: 0,
            now: 0,
            lookahead: params.lookahead.0,
            mean_ns: params.mean.0 as f64,
            destinations: Destinations::new(params.lps, params.remote),
        };
        for lp in 0..params.lps {
            for _ in 0..params.events_per_lp {
                let at = floor.delay(lp);
                floor.push(at, lp);
            }
        }
        floor
    }

    #[inline]
    fn rng(&mut self, lp: u32) -> &mut SimRng {
        match self.streams {
            Streams::PerLp => &mut self.rngs[lp as usize],
            Streams::Shared => &mut self.rngs[0],
        }
    }

    #[inline]
    fn delay(&mut self, lp: u32) -> u64 {
        let mean = self.mean_ns;
        self.lookahead + exponential(self.rng(lp), mean) as u64
    }

    #[inline]
    fn push(&mut self, at: u64, lp: u32) {
        self.heap.push(Reverse((at, self.next_seq, lp)));
        self.next_seq += 1;
    }

    /// Process up to `events` events (fewer only if the heap empties, which PHOLD's
    /// constant population never lets happen).
    pub fn run(&mut self, events: u64) -> PholdRun {
        let mut done = 0;
        while done < events {
            let Some(Reverse((at, _, lp))) = self.heap.pop() else {
                break;
            };
            self.now = at;
            done += 1;
            let destinations = self.destinations;
            let (to, _) = destinations.draw(self.rng(lp), lp);
            let d = self.delay(lp);
            self.push(at + d, to);
        }
        PholdRun {
            events: done,
            end_time: SimTime(self.now),
        }
    }
}

/// Build and run the per-LP-stream floor: `events` PHOLD events under `params`.
pub fn run_heap_floor(params: &PholdParams, seed: u64, events: u64) -> PholdRun {
    HeapFloor::new(params, seed, Streams::PerLp).run(events)
}
