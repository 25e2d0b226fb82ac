//! PHOLD on the dsim kernel: [`protocols::phold::Phold`] as `dsim bench phold` runs it
//! (start-ups first and untimed, then `Simulation::run_events`).

use crate::{PholdParams, PholdRun};
use protocols::phold::{Lp, Phold};
use sim_core::{Fingerprint, Simulation};

/// A dsim PHOLD simulation whose LPs have started (their initial events are queued).
pub struct DsimPhold {
    sim: Simulation<Lp>,
    startup_events: u64,
}

impl DsimPhold {
    /// Build the simulation and process the LPs' start-ups, which schedule the initial
    /// events; afterwards every event the simulation processes is a PHOLD event.
    pub fn new(params: &PholdParams, seed: u64) -> Self {
        let mut sim = Phold::simulation(params, seed);
        // Start-ups are queued at time zero before any PHOLD event (those come at least
        // a lookahead later, or later in schedule order), so they are the first pops.
        let startup_events = sim.run_events(u64::from(params.lps));
        DsimPhold {
            sim,
            startup_events,
        }
    }

    /// Process up to `events` PHOLD events (the loop `dsim bench phold` times).
    pub fn run(&mut self, events: u64) -> PholdRun {
        let events = self.sim.run_events(events);
        PholdRun {
            events,
            end_time: self.sim.now(),
        }
    }

    /// PHOLD events processed so far (start-ups excluded).
    pub fn phold_events(&self) -> u64 {
        self.sim.events() - self.startup_events
    }

    /// The run's fingerprint so far.
    pub fn fingerprint(&self) -> Fingerprint {
        self.sim.fingerprint()
    }

    /// The simulation, for inspection.
    pub fn simulation(&self) -> &Simulation<Lp> {
        &self.sim
    }
}

/// Build and run dsim PHOLD: `events` PHOLD events under `params`.
pub fn run_dsim_phold(params: &PholdParams, seed: u64, events: u64) -> PholdRun {
    DsimPhold::new(params, seed).run(events)
}
