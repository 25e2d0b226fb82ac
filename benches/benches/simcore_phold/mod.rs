//! PHOLD on simcore 0.1.0 (the DSLab kernel), written the way a simcore user would:
//! one component per logical process, an `Rc<RefCell<_>>` event handler holding its
//! [`SimulationContext`], `cast!` to match the payload, `ctx.emit` with a delay, and the
//! simulation's own random generator (`ctx.rand`, `ctx.gen_range`) for every draw.
//!
//! simcore keeps time as `f64` seconds, so the nanosecond parameters are converted once.
//! This file is shared by the `phold` bench and the `phold_compare` example (simcore is
//! a dev-dependency, so it cannot live in the library).

use serde::Serialize;
use simcore::{Event, EventHandler, Id, Simulation, SimulationContext, cast};
use std::cell::RefCell;
use std::rc::Rc;

/// The one PHOLD event: it carries nothing, its arrival is the work.
#[derive(Clone, Serialize)]
struct Token {}

/// One logical process.
struct Lp {
    ctx: SimulationContext,
    lps: Id,
    lookahead_s: f64,
    mean_s: f64,
    remote: f64,
}

impl Lp {
    /// Where and when the next event goes: remote with probability `remote` (to a
    /// uniformly drawn LP), else back to this one; delay `lookahead + Exp(mean)`.
    fn forward(&self) {
        let dst = if self.ctx.rand() < self.remote {
            self.ctx.gen_range(0..self.lps)
        } else {
            self.ctx.id()
        };
        let delay = self.lookahead_s - self.mean_s * (1.0 - self.ctx.rand()).ln();
        self.ctx.emit(Token {}, dst, delay);
    }
}

impl EventHandler for Lp {
    fn on(&mut self, event: Event) {
        cast!(match event.data {
            Token {} => {
                self.forward();
            }
        })
    }
}

/// The result of one simcore PHOLD run.
pub struct SimcoreRun {
    /// Events processed.
    pub events: u64,
    /// Simulated time of the last event, in seconds.
    pub end_time_s: f64,
}

/// A built simcore PHOLD model, ready to run.
pub struct SimcorePhold {
    sim: Simulation,
}

impl SimcorePhold {
    /// `p.lps` processes with `p.events_per_lp` initial events each, at `Exp(mean)`;
    /// the parameters are those of the other implementations, converted to seconds.
    pub fn build(p: &benches::PholdParams, seed: u64) -> Self {
        let (lps, events_per_lp, remote) = (p.lps, p.events_per_lp, p.remote);
        let (lookahead_ns, mean_ns) = (p.lookahead.0, p.mean.0);
        let mut sim = Simulation::new(seed);
        let lookahead_s = lookahead_ns as f64 * 1e-9;
        let mean_s = mean_ns as f64 * 1e-9;
        let mut handles = Vec::with_capacity(lps as usize);
        for i in 0..lps {
            let name = format!("lp{i}");
            let ctx = sim.create_context(&name);
            let lp = Rc::new(RefCell::new(Lp {
                ctx,
                lps,
                lookahead_s,
                mean_s,
                remote,
            }));
            sim.add_handler(&name, lp.clone());
            handles.push(lp);
        }
        for lp in &handles {
            let lp = lp.borrow();
            for _ in 0..events_per_lp {
                let at = -mean_s * (1.0 - lp.ctx.rand()).ln();
                lp.ctx.emit_self(Token {}, at);
            }
        }
        SimcorePhold { sim }
    }

    /// Process `events` events (fewer if the queue empties).
    pub fn run(&mut self, events: u64) -> SimcoreRun {
        let mut done = 0;
        while done < events && self.sim.step() {
            done += 1;
        }
        SimcoreRun {
            events: done,
            end_time_s: self.sim.time(),
        }
    }
}
