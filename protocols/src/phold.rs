//! PHOLD, the classic engine benchmark (Fujimoto 1990): `lps` logical processes start
//! with `events_per_lp` events each; processing an event schedules one new event at
//! `now + lookahead + Exp(mean)`, to a uniformly random LP with probability `remote`,
//! else to the same LP. The population of pending events stays constant, so the run
//! measures the kernel: queue, dispatch, random draws and fingerprint.
//!
//! Events are direct deliveries ([`Context::deliver_after`](sim_core::Context::deliver_after)): PHOLD's delay is part of
//! the model, not a network.

use dsim_system::{LinkTable, Setup, System, TopologyRule};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sim_core::rng::{SimRng, exponential};
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

/// Where a processed event goes next: to a uniformly random LP with probability
/// `remote`, else back to the same LP.
///
/// The coin and the destination come from one 64-bit draw: its high half against
/// `remote` in 2^-32 steps, its low half mapped onto the LPs by Lemire's multiply-shift,
/// with his rejection step so every LP is exactly equally likely (a second draw is
/// needed with probability below `lps / 2^32`). One draw instead of a 53-bit coin plus
/// a range draw leaves PHOLD four random words per event instead of five, so a ChaCha8
/// block lasts four events instead of 3.2.
#[derive(Clone, Copy, Debug)]
pub struct Destinations {
    lps: u32,
    /// `remote` scaled to 2^32: the coin is heads when the high half is below it (0
    /// never, 2^32 always).
    remote_below: u64,
}

impl Destinations {
    /// Destinations among `lps` LPs (at least 1), remote with probability `remote`.
    pub fn new(lps: u32, remote: f64) -> Self {
        Destinations {
            lps,
            remote_below: (remote.clamp(0.0, 1.0) * 4_294_967_296.0).round() as u64,
        }
    }

    /// The LP the next event of LP `me` goes to, and whether it was drawn (remote).
    #[inline]
    pub fn draw(&self, rng: &mut SimRng, me: u32) -> (u32, bool) {
        let word = rng.next_u64();
        if (word >> 32) >= self.remote_below {
            return (me, false);
        }
        let n = u64::from(self.lps);
        let mut product = (word & 0xFFFF_FFFF) * n;
        if (product as u32) < self.lps {
            let threshold = self.lps.wrapping_neg() % self.lps;
            while (product as u32) < threshold {
                product = u64::from(rng.next_u32()) * n;
            }
        }
        ((product >> 32) as u32, true)
    }
}

/// The model constants every LP reads, shared so that an LP's own state stays small
/// (a PHOLD run's speed is bound by how many LPs fit in cache).
#[derive(Clone, Debug)]
struct Model {
    initial: u32,
    lookahead: SimTime,
    mean_ns: f64,
    destinations: Destinations,
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
            initial: params.events_per_lp,
            lookahead: params.lookahead,
            mean_ns: params.mean.0 as f64,
            destinations: Destinations::new(params.lps, params.remote),
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
        let me = ctx.id().0;
        let (to, remote) = self.model.destinations.draw(ctx.rng(), me);
        self.sent_remote += u64::from(remote);
        let d = self.delay(ctx);
        ctx.deliver_after(NodeId(to), d, msg);
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

    /// Counts of `draws` destinations drawn by LP 0 among `lps` LPs (always remote).
    fn destination_counts(lps: u32, draws: usize, bins: impl Fn(u32) -> usize) -> Vec<u64> {
        let destinations = Destinations::new(lps, 1.0);
        let mut rng = sim_core::rng::component_rng(9, "destinations");
        let mut counts = Vec::new();
        for _ in 0..draws {
            let (to, remote) = destinations.draw(&mut rng, 0);
            assert!(remote && to < lps);
            let bin = bins(to);
            if counts.len() <= bin {
                counts.resize(bin + 1, 0);
            }
            counts[bin] += 1;
        }
        counts
    }

    /// Pearson's chi-square statistic of `counts` against equal expectations.
    fn chi_square(counts: &[u64]) -> f64 {
        let total: u64 = counts.iter().sum();
        let expected = total as f64 / counts.len() as f64;
        counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum()
    }

    #[test]
    fn destinations_are_uniform_over_the_lps() {
        // 9 degrees of freedom: the 0.1% critical value is 27.88.
        let counts = destination_counts(10, 200_000, |to| to as usize);
        assert_eq!(counts.len(), 10);
        assert!(chi_square(&counts) < 27.88, "{counts:?}");
    }

    /// With 3 x 2^30 LPs, multiply-shift alone maps two words to every value divisible
    /// by 3 and one to the others (half the draws would land on a third of the LPs);
    /// the rejection step makes the three residues equally likely.
    #[test]
    fn the_rejection_step_keeps_a_large_range_exact() {
        let counts = destination_counts(3 << 30, 300_000, |to| (to % 3) as usize);
        // 2 degrees of freedom: the 0.1% critical value is 13.82.
        assert!(chi_square(&counts) < 13.82, "{counts:?}");
    }

    #[test]
    fn the_remote_coin_is_exact_at_its_ends_and_fair_between() {
        let mut rng = sim_core::rng::component_rng(9, "coin");
        let count = |p: f64, rng: &mut sim_core::rng::SimRng| {
            let d = Destinations::new(1000, p);
            (0..100_000).filter(|_| d.draw(rng, 7).1).count()
        };
        assert_eq!(count(0.0, &mut rng), 0);
        assert_eq!(count(1.0, &mut rng), 100_000);
        // 0.25 of 100,000: standard deviation 137, so 5 sigma is 685.
        assert!(count(0.25, &mut rng).abs_diff(25_000) < 685);
        // A local event stays with its LP.
        let local = Destinations::new(1000, 0.0);
        assert_eq!(local.draw(&mut rng, 7), (7, false));
    }
}
