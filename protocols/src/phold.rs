//! PHOLD, the classic engine benchmark (Fujimoto 1990): `lps` logical processes start
//! with `events_per_lp` events each; processing an event schedules one new event at
//! `now + lookahead + Exp(mean)`, to a uniformly random LP with probability `remote`,
//! else to the same LP. The population of pending events stays constant, so the run
//! measures the kernel: queue, dispatch, random draws and fingerprint.
//!
//! Events are direct deliveries ([`Context::deliver_after`](sim_core::Context::deliver_after)): PHOLD's delay is part of
//! the model, not a network.

use dsim_system::{LinkTable, Setup, System, TopologyRule};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use sim_core::rng::{chance, exponential};
use sim_core::{Ctx, Invariant, Message, Metrics, Node, NodeId, SimTime, Simulation, TimerTag};
use std::rc::Rc;

/// PHOLD parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PholdParams {
    /// Number of logical processes.
    pub lps: u32,
    /// Events each LP starts with.
    pub events_per_lp: u32,
    /// Fixed part of every event's delay.
    pub lookahead: SimTime,
    /// Mean of the exponential part of every event's delay.
    pub mean: SimTime,
    /// Probability that an event goes to a random LP rather than the same one.
    pub remote: f64,
}

impl Default for PholdParams {
    fn default() -> Self {
        PholdParams {
            lps: 1000,
            events_per_lp: 1,
            lookahead: SimTime::from_micros(100),
            mean: SimTime::from_millis(1),
            remote: 0.9,
        }
    }
}

/// A PHOLD event (carries nothing; its arrival is the event).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PholdEvent;

impl Message for PholdEvent {
    fn size_bytes(&self) -> u32 {
        8
    }
    fn kind(&self) -> &'static str {
        "phold"
    }
}

/// PHOLD sets no timers.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum NoTimer {}

impl TimerTag for NoTimer {
    fn kind(&self) -> &'static str {
        match *self {}
    }
}

/// The model constants every LP reads, shared so that an LP's own state stays small
/// (a PHOLD run's speed is bound by how many LPs fit in cache).
#[derive(Clone, Debug)]
struct Model {
    lps: u32,
    initial: u32,
    lookahead: SimTime,
    mean_ns: f64,
    remote: f64,
}

/// One logical process.
#[derive(Clone, Debug)]
pub struct Lp {
    model: Rc<Model>,
    /// Events this LP has processed.
    pub processed: u64,
    /// Events this LP sent to another LP.
    pub sent_remote: u64,
}

impl Lp {
    /// The LPs of a PHOLD run with `params`, sharing one copy of the model constants.
    pub fn all(params: &PholdParams) -> impl Iterator<Item = Lp> {
        let model = Rc::new(Model {
            lps: params.lps,
            initial: params.events_per_lp,
            lookahead: params.lookahead,
            mean_ns: params.mean.0 as f64,
            remote: params.remote,
        });
        (0..params.lps).map(move |_| Lp {
            model: Rc::clone(&model),
            processed: 0,
            sent_remote: 0,
        })
    }

    fn delay(&self, ctx: &mut impl Ctx<Self>) -> SimTime {
        self.model.lookahead + SimTime(exponential(ctx.rng(), self.model.mean_ns) as u64)
    }
}

impl Node for Lp {
    type Msg = PholdEvent;
    type Timer = NoTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        for _ in 0..self.model.initial {
            let d = self.delay(ctx);
            ctx.deliver_after(ctx.id(), d, PholdEvent);
        }
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, _from: NodeId, msg: PholdEvent) {
        self.processed += 1;
        let to = if chance(ctx.rng(), self.model.remote) {
            self.sent_remote += 1;
            NodeId(ctx.rng().random_range(0..self.model.lps))
        } else {
            ctx.id()
        };
        let d = self.delay(ctx);
        ctx.deliver_after(to, d, msg);
    }

    fn on_timer(&mut self, _ctx: &mut impl Ctx<Self>, timer: NoTimer) {
        match timer {}
    }
}

/// The PHOLD system for scenario files: it generates its own LPs (`lp-0` ...).
pub struct Phold;

impl Phold {
    /// A ready-to-run PHOLD simulation (used by `dsim bench phold` and the benches).
    pub fn simulation(params: &PholdParams, seed: u64) -> Simulation<Lp> {
        let mut sim = Simulation::new(sim_core::SimConfig {
            seed,
            ..Default::default()
        });
        Self::build(
            params,
            &Setup {
                seed,
                nodes: &[],
                links: &[],
                network: &LinkTable::default(),
                files: dsim_system::ScenarioFiles::none(),
            },
            &mut sim,
        );
        sim
    }
}

impl System for Phold {
    const NAME: &'static str = "phold";
    const DESCRIPTION: &'static str =
        "PHOLD engine benchmark: logical processes exchanging timestamped events";
    const ROLES: &'static [&'static str] = &[];
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    const KEY_METRICS: &'static [&'static str] = &["phold.events_processed"];
    /// Measured: 582 bytes per LP, `dsim bench system phold --size 200000 --until 1ms`
    /// (573 at a million LPs, benches/README.md).
    const BYTES_PER_NODE: u64 = 582;
    type Params = PholdParams;
    type Node = Lp;

    fn generated_nodes(params: &PholdParams) -> Option<(u64, &'static str)> {
        Some((u64::from(params.lps), "params.lps"))
    }

    fn validate(params: &PholdParams, setup: &Setup<'_>) -> Result<(), String> {
        if params.lps == 0 {
            return Err("params.lps must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&params.remote) {
            return Err(format!(
                "params.remote must be a probability in [0, 1], got {}",
                params.remote
            ));
        }
        if !setup.nodes.is_empty() {
            return Err("phold generates its own logical processes: leave `nodes` empty".into());
        }
        Ok(())
    }

    fn build(params: &PholdParams, _setup: &Setup<'_>, sim: &mut Simulation<Lp>) {
        for (i, lp) in Lp::all(params).enumerate() {
            sim.add_node(&format!("lp-{i}"), lp);
        }
    }

    fn invariants(_params: &PholdParams) -> Vec<Box<dyn Invariant<Lp>>> {
        Vec::new()
    }

    fn report(params: &PholdParams, sim: &Simulation<Lp>, metrics: &mut Metrics) {
        let world = sim.world();
        let processed: u64 = world.nodes().map(|(_, _, lp)| lp.processed).sum();
        let remote: u64 = world.nodes().map(|(_, _, lp)| lp.sent_remote).sum();
        metrics.set("phold.events_processed", processed as f64);
        metrics.set(
            "phold.remote_fraction",
            remote as f64 / processed.max(1) as f64,
        );
        metrics.set(
            "phold.pending_events",
            f64::from(params.lps) * f64::from(params.events_per_lp),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_fraction_and_event_rate_match_the_model() {
        let params = PholdParams {
            lps: 100,
            events_per_lp: 2,
            ..PholdParams::default()
        };
        let mut sim = Phold::simulation(&params, 3);
        let until = SimTime::from_secs(2);
        let out = sim.run_until(until);
        let mut m = Metrics::default();
        Phold::report(&params, &sim, &mut m);
        // Each of the 200 pending events recurs every lookahead + mean on average.
        let period = (params.lookahead.0 + params.mean.0) as f64;
        let expected = 200.0 * until.0 as f64 / period;
        let processed = m.value("phold.events_processed");
        assert!(
            (processed / expected - 1.0).abs() < 0.02,
            "{processed} vs {expected}"
        );
        assert!((m.value("phold.remote_fraction") - 0.9).abs() < 0.01);
        // Starts (100 LPs) plus processed events.
        assert_eq!(out.events, processed as u64 + 100);
    }
}
