//! The bare heap loop of issue 21: PHOLD's event count with nothing but a
//! `BinaryHeap<Reverse<(time_ns, seq, lp)>>`, one shared `rand_chacha::ChaCha8Rng`, a
//! uniform destination (`random_range(0..n)`) and an exponential delay
//! (`rand_distr::Exp`, mean [`PholdParams::mean`]).
//!
//! Unlike [`crate::heap_floor`] it does not follow dsim's trajectory: no lookahead, no
//! remote/local coin, no per-LP streams, no fingerprint. It is the cheapest loop that
//! still makes one pop, two draws and one push per event, the bar a kernel must clear
//! to say its bookkeeping costs less than a textbook heap's.

use crate::{PholdParams, PholdRun};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};
use sim_core::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The loop's state: the heap, the shared generator and the delay distribution.
pub struct BareHeap {
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    rng: ChaCha8Rng,
    delay: Exp<f64>,
    next_seq: u64,
    lps: u32,
}

impl BareHeap {
    /// Seed the heap with `events_per_lp` events per LP, each an exponential delay
    /// after time zero.
    pub fn new(params: &PholdParams, seed: u64) -> Self {
        let delay = Exp::new(1.0 / params.mean.0 as f64).expect("the mean is positive");
        let mut bare = BareHeap {
            heap: BinaryHeap::with_capacity(params.lps as usize * params.events_per_lp as usize),
            rng: ChaCha8Rng::seed_from_u64(seed),
            delay,
            next_seq: 0,
            lps: params.lps,
        };
        for lp in 0..params.lps {
            for _ in 0..params.events_per_lp {
                let at = bare.delay.sample(&mut bare.rng) as u64;
                bare.push(at, lp);
            }
        }
        bare
    }

    #[inline]
    fn push(&mut self, at: u64, lp: u32) {
        self.heap.push(Reverse((at, self.next_seq, lp)));
        self.next_seq += 1;
    }

    /// Process `events` events: pop, draw a destination and a delay, push.
    pub fn run(&mut self, events: u64) -> PholdRun {
        let mut now = 0;
        let mut done = 0;
        while done < events {
            let Some(Reverse((at, _, _))) = self.heap.pop() else {
                break;
            };
            now = at;
            done += 1;
            let to = self.rng.random_range(0..self.lps);
            let d = self.delay.sample(&mut self.rng) as u64;
            self.push(at + d, to);
        }
        PholdRun {
            events: done,
            end_time: SimTime(now),
        }
    }
}
