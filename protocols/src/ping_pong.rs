//! Ping-pong over lossy links with retransmission: the smallest system that exercises
//! the network model, timers, cancellation, metrics and invariants.
//!
//! Every `pinger` sends `count` pings, one at a time, to a `ponger` (pinger k pings
//! ponger k mod the number of pongers). A ping unanswered after `timeout` is sent again,
//! up to `max_tries` transmissions, then counted lost. After an answer or a loss the
//! pinger waits `interval` and sends the next ping.

use dsim_system::{Setup, System, TopologyRule, add_declared, round_robin_pairs};
use serde::{Deserialize, Serialize};
use sim_core::{
    Ctx, Invariant, Message, Metrics, Node, NodeId, Role, SimTime, Simulation, TimerId, TimerTag,
    World,
};

/// Ping-pong parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PingPongParams {
    /// Pings each pinger sends.
    pub count: u32,
    /// Wait between the end of one ping and the next.
    pub interval: SimTime,
    /// Retransmission timeout.
    pub timeout: SimTime,
    /// Transmissions of one ping before it is counted lost.
    pub max_tries: u32,
    /// Bytes of a ping or pong on the wire.
    pub size_bytes: u32,
}

impl Default for PingPongParams {
    fn default() -> Self {
        PingPongParams {
            count: 100,
            interval: SimTime::from_millis(100),
            timeout: SimTime::from_millis(50),
            max_tries: 5,
            size_bytes: 64,
        }
    }
}

/// Messages of the ping-pong system.
#[derive(Clone, Debug, Hash, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PingMsg {
    /// Ping number `seq`, transmission `attempt` (1-based).
    Ping {
        /// Ping number.
        seq: u32,
        /// Transmission number of this ping.
        attempt: u32,
        /// Wire size.
        size: u32,
    },
    /// The answer to a ping transmission.
    Pong {
        /// Ping number answered.
        seq: u32,
        /// Transmission answered.
        attempt: u32,
        /// Wire size.
        size: u32,
    },
}

impl Message for PingMsg {
    fn size_bytes(&self) -> u32 {
        match self {
            PingMsg::Ping { size, .. } | PingMsg::Pong { size, .. } => *size,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            PingMsg::Ping { .. } => "ping",
            PingMsg::Pong { .. } => "pong",
        }
    }
}

/// Timers of the ping-pong system.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum PingTimer {
    /// Time to send the next ping.
    Next,
    /// Ping `seq` was not answered in time.
    Timeout {
        /// The ping waited for.
        seq: u32,
    },
}

impl TimerTag for PingTimer {
    fn kind(&self) -> &'static str {
        match self {
            PingTimer::Next => "next",
            PingTimer::Timeout { .. } => "timeout",
        }
    }
}

/// The state of a pinger.
#[derive(Clone, Debug, Default)]
pub struct Pinger {
    params: PingPongParams,
    target: Option<NodeId>,
    /// The ping waiting for an answer: (seq, transmissions so far, first send time,
    /// timeout timer).
    outstanding: Option<(u32, u32, SimTime, TimerId)>,
    /// Next ping number.
    pub next_seq: u32,
    /// Pings answered.
    pub acked: u32,
    /// Pings given up after `max_tries`.
    pub lost: u32,
    /// Pings in flight when the pinger crashed: the crash forgot them (the ping in
    /// flight is volatile), so they are neither answered nor lost.
    pub abandoned: u32,
    /// Crashes of this pinger (each abandons at most the one ping in flight).
    pub crashes: u32,
    /// Transmissions (first sends and retransmissions).
    pub transmissions: u64,
    /// Transmissions of pings that were answered (for the ARQ formula).
    pub transmissions_of_acked: u64,
}

/// The state of a ponger.
#[derive(Clone, Debug, Default)]
pub struct Ponger {
    /// Pongs sent.
    pub answered: u64,
}

impl Pinger {
    fn send_current(&mut self, ctx: &mut impl Ctx<Self>, seq: u32, attempt: u32, first: SimTime) {
        let Some(target) = self.target else { return };
        self.transmissions += 1;
        let size = self.params.size_bytes;
        ctx.send(target, PingMsg::Ping { seq, attempt, size });
        let timer = ctx.set_timer(self.params.timeout, PingTimer::Timeout { seq });
        self.outstanding = Some((seq, attempt, first, timer));
    }

    fn next_ping(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.next_seq >= self.params.count {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let now = ctx.sim_time();
        self.send_current(ctx, seq, 1, now);
    }

    fn on_pong(&mut self, ctx: &mut impl Ctx<Self>, seq: u32, attempt: u32) {
        let Some((current, tries, first, timer)) = self.outstanding else {
            ctx.metrics().add("pingpong.late_pongs", 1.0);
            return;
        };
        if seq != current {
            ctx.metrics().add("pingpong.late_pongs", 1.0);
            return;
        }
        ctx.cancel_timer(timer);
        self.outstanding = None;
        self.acked += 1;
        self.transmissions_of_acked += u64::from(tries);
        let now = ctx.sim_time();
        ctx.metrics()
            .observe("pingpong.completion_ms", (now - first).as_millis_f64());
        if attempt == 1 && tries == 1 {
            ctx.metrics()
                .observe("pingpong.rtt_ms", (now - first).as_millis_f64());
        }
        ctx.set_timer(self.params.interval, PingTimer::Next);
    }

    fn on_timeout(&mut self, ctx: &mut impl Ctx<Self>, seq: u32) {
        let Some((current, tries, first, _)) = self.outstanding else {
            return;
        };
        if current != seq {
            return;
        }
        if tries < self.params.max_tries {
            ctx.metrics().add("pingpong.retransmissions", 1.0);
            self.send_current(ctx, seq, tries + 1, first);
        } else {
            self.outstanding = None;
            self.lost += 1;
            ctx.annotate(&format!("ping {seq} lost after {tries} tries"));
            ctx.set_timer(self.params.interval, PingTimer::Next);
        }
    }
}

impl Node for Pinger {
    type Msg = PingMsg;
    type Timer = PingTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.next_ping(ctx);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: PingMsg) {
        match msg {
            PingMsg::Pong { seq, attempt, .. } => self.on_pong(ctx, seq, attempt),
            other => ctx.annotate(&format!("unexpected {} from {from}", other.kind())),
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: PingTimer) {
        match timer {
            PingTimer::Next => self.next_ping(ctx),
            PingTimer::Timeout { seq } => self.on_timeout(ctx, seq),
        }
    }

    fn on_crash(&mut self) {
        // A pinger forgets the ping in flight; its counters are the experiment's record
        // (its disk), and record the forgotten ping as abandoned by this incarnation.
        self.crashes += 1;
        if self.outstanding.take().is_some() {
            self.abandoned += 1;
        }
    }
}

impl Node for Ponger {
    type Msg = PingMsg;
    type Timer = PingTimer;

    fn on_start(&mut self, _ctx: &mut impl Ctx<Self>) {}

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: PingMsg) {
        match msg {
            PingMsg::Ping { seq, attempt, size } => {
                self.answered += 1;
                ctx.send(from, PingMsg::Pong { seq, attempt, size });
            }
            other => ctx.annotate(&format!("unexpected {} from {from}", other.kind())),
        }
    }

    fn on_timer(&mut self, _ctx: &mut impl Ctx<Self>, _timer: PingTimer) {
        // A ponger only answers; it sets no timers.
    }
}

sim_core::roles! {
    /// A node of the ping-pong system.
    #[derive(Clone, Debug)]
    pub enum PingPongNode {
        /// Sends pings.
        Pinger(Pinger),
        /// Answers them.
        Ponger(Ponger),
    }
}

/// Every ping is answered, lost, abandoned by a crash, or the one in flight: nothing is
/// counted twice, and a crash abandons at most the one ping it interrupted.
struct Accounting;

impl Invariant<PingPongNode> for Accounting {
    fn name(&self) -> &str {
        "ping_accounting"
    }
    /// A pinger's counts change only in its own events: it alone is checked.
    fn check(&mut self, world: &World<'_, PingPongNode>) -> Result<(), String> {
        for (id, _, node) in world.changed_nodes() {
            if let Some(p) = Pinger::of(node) {
                let in_flight = u32::from(p.outstanding.is_some());
                if p.acked + p.lost + p.abandoned + in_flight > p.next_seq {
                    return Err(format!(
                        "{}: {} acked + {} lost + {} abandoned + {in_flight} in flight exceeds {} pings sent",
                        world.name(id),
                        p.acked,
                        p.lost,
                        p.abandoned,
                        p.next_seq
                    ));
                }
                if p.abandoned > p.crashes {
                    return Err(format!(
                        "{}: {} pings abandoned by only {} crashes",
                        world.name(id),
                        p.abandoned,
                        p.crashes
                    ));
                }
            }
        }
        Ok(())
    }
}

/// At the end every pinger that is up has resolved all its pings: answered, lost after
/// `max_tries`, or abandoned by a crash (at most one per crash, checked by
/// `ping_accounting`). The end comes at least the scenario's `quiet` period after the
/// last fault, and a pinger resolves a ping at least every `interval + max_tries x
/// timeout` whatever the network does, so the liveness is judged after the recovery
/// time (the scenario's duration must also be long enough for `count` rounds). A
/// pinger whose count is [`PINGS_FOR_EVER`] (the benchmark's) is never done.
struct AllResolved;

impl Invariant<PingPongNode> for AllResolved {
    fn name(&self) -> &str {
        "all_pings_resolved"
    }
    fn check_at_end(&mut self, world: &World<'_, PingPongNode>) -> Result<(), String> {
        for (id, node) in world.live_nodes() {
            if let Some(p) = Pinger::of(node)
                && p.params.count != PINGS_FOR_EVER
                && p.acked + p.lost + p.abandoned < p.params.count
            {
                return Err(format!(
                    "{} resolved only {} of {} pings ({} acked, {} lost, {} abandoned by {} crashes)",
                    world.name(id),
                    p.acked + p.lost + p.abandoned,
                    p.params.count,
                    p.acked,
                    p.lost,
                    p.abandoned,
                    p.crashes
                ));
            }
        }
        Ok(())
    }
}

/// A `count` that means "ping until the run ends" (`dsim bench system ping-pong`):
/// such a pinger has no pings left to resolve at the end.
pub const PINGS_FOR_EVER: u32 = u32::MAX;

/// The ping-pong system.
pub struct PingPong;

impl System for PingPong {
    const NAME: &'static str = "ping-pong";
    const DESCRIPTION: &'static str = "pings over lossy links with timeout and retransmission";
    /// Measured: 737 bytes per node, `dsim bench system ping-pong --size 20000 --until 1ms`.
    const BYTES_PER_NODE: u64 = 737;
    const ROLES: &'static [&'static str] = &["pinger", "ponger"];
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    const KEY_METRICS: &'static [&'static str] = &["pingpong.rtt_ms", "pingpong.retransmissions"];
    type Params = PingPongParams;
    type Node = PingPongNode;

    fn validate(params: &PingPongParams, setup: &Setup<'_>) -> Result<(), String> {
        if params.timeout == SimTime::ZERO {
            return Err("params.timeout must be positive".into());
        }
        if params.max_tries == 0 {
            return Err("params.max_tries must be at least 1".into());
        }
        let count = |role: &str| setup.nodes.iter().filter(|n| n.role == role).count();
        if count("pinger") == 0 || count("ponger") == 0 {
            return Err("ping-pong needs at least one node with role \"pinger\" and one with role \"ponger\"".into());
        }
        Ok(())
    }

    fn build(params: &PingPongParams, setup: &Setup<'_>, sim: &mut Simulation<PingPongNode>) {
        add_declared(sim, setup.nodes, |d| match d.role.as_str() {
            "pinger" => Pinger {
                params: params.clone(),
                ..Pinger::default()
            }
            .into(),
            _ => Ponger::default().into(),
        });
        for (pinger, ponger) in round_robin_pairs(setup.nodes, "pinger", "ponger") {
            let target = sim.lookup(&ponger.name);
            if let Some(id) = sim.lookup(&pinger.name)
                && let Some(p) = Pinger::of_mut(sim.node_mut(id))
            {
                p.target = target;
            }
        }
    }

    fn invariants(_params: &PingPongParams) -> Vec<Box<dyn Invariant<PingPongNode>>> {
        vec![Box::new(Accounting), Box::new(AllResolved)]
    }

    fn report(_params: &PingPongParams, sim: &Simulation<PingPongNode>, metrics: &mut Metrics) {
        let (mut sent, mut acked, mut lost, mut tx, mut tx_acked) = (0u64, 0u64, 0u64, 0u64, 0u64);
        for (_, _, node) in sim.world().nodes() {
            if let Some(p) = Pinger::of(node) {
                sent += u64::from(p.next_seq);
                acked += u64::from(p.acked);
                lost += u64::from(p.lost);
                tx += p.transmissions;
                tx_acked += p.transmissions_of_acked;
            }
        }
        metrics.set("pingpong.pings", sent as f64);
        metrics.set("pingpong.acked", acked as f64);
        metrics.set("pingpong.lost", lost as f64);
        metrics.set("pingpong.transmissions", tx as f64);
        metrics.set(
            "pingpong.transmissions_per_acked_ping",
            tx_acked as f64 / acked.max(1) as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsim_system::{LinkTable, NodeDecl};
    use sim_core::{LinkParams, Recorder, SimConfig};

    /// A pinger alone, under a [`Recorder`]: it pings its ponger, sends the ping again
    /// when the timeout fires, and on the pong cancels the timeout and waits `interval`
    /// for the next ping; a ping sent to it is not answered but noted.
    #[test]
    fn a_pinger_retransmits_until_the_pong() {
        let params = PingPongParams::default();
        let mut ctx = Recorder::new(&["a", "b"], "a", 1);
        let ponger = NodeId(1);
        let mut pinger = Pinger {
            params: params.clone(),
            target: Some(ponger),
            ..Pinger::default()
        };
        pinger.on_start(&mut ctx);
        let ping = |attempt| PingMsg::Ping {
            seq: 0,
            attempt,
            size: params.size_bytes,
        };
        assert_eq!(ctx.take_sent(), vec![(ponger, ping(1))]);
        assert_eq!(ctx.timers[0].1, params.timeout);
        assert_eq!(ctx.timers[0].2, PingTimer::Timeout { seq: 0 });

        ctx.advance_to(params.timeout);
        pinger.on_timer(&mut ctx, PingTimer::Timeout { seq: 0 });
        assert_eq!(ctx.take_sent(), vec![(ponger, ping(2))]);
        assert_eq!(ctx.metrics.value("pingpong.retransmissions"), 1.0);
        let retry = ctx.timers[1].0;

        let pong = PingMsg::Pong {
            seq: 0,
            attempt: 2,
            size: params.size_bytes,
        };
        pinger.on_message(&mut ctx, ponger, pong);
        assert_eq!(
            ctx.cancelled,
            vec![retry],
            "the pong cancels the live timeout"
        );
        assert_eq!(ctx.timers[2].1, params.interval);
        assert_eq!(ctx.timers[2].2, PingTimer::Next);
        assert_eq!((pinger.acked, pinger.transmissions_of_acked), (1, 2));

        pinger.on_message(&mut ctx, ponger, ping(1));
        assert!(ctx.sent.is_empty());
        assert_eq!(ctx.annotations, vec!["unexpected ping from n1"]);
    }

    /// A ponger alone: it answers each ping with the matching pong.
    #[test]
    fn a_ponger_answers_each_ping() {
        let mut ctx = Recorder::new(&["a", "b"], "b", 1);
        let mut ponger = Ponger::default();
        let ping = PingMsg::Ping {
            seq: 4,
            attempt: 3,
            size: 80,
        };
        ponger.on_message(&mut ctx, NodeId(0), ping);
        let pong = PingMsg::Pong {
            seq: 4,
            attempt: 3,
            size: 80,
        };
        assert_eq!(ctx.sent, vec![(NodeId(0), pong)]);
        assert_eq!(ponger.answered, 1);
    }

    /// Pinger "a" and ponger "b", both starting at time zero.
    fn pinger_and_ponger() -> Vec<NodeDecl> {
        [("a", "pinger"), ("b", "ponger")]
            .map(|(name, role)| NodeDecl {
                name: name.into(),
                role: role.into(),
                start: Some(SimTime::ZERO),
            })
            .to_vec()
    }

    fn run(loss: f64, seed: u64) -> Metrics {
        let params = PingPongParams {
            count: 4000,
            interval: SimTime::from_millis(1),
            max_tries: 1000,
            ..Default::default()
        };
        let nodes = pinger_and_ponger();
        let setup = Setup {
            seed,
            nodes: &nodes,
            links: &[],
            network: &LinkTable::default(),
            files: dsim_system::ScenarioFiles::none(),
        };
        let mut sim = Simulation::new(SimConfig {
            seed,
            default_link: LinkParams {
                loss,
                ..LinkParams::default()
            },
            keep_trace: false,
        });
        PingPong::build(&params, &setup, &mut sim);
        for inv in PingPong::invariants(&params) {
            sim.add_invariant(inv);
        }
        let out = sim.run_until(SimTime::from_secs(3600));
        assert_eq!(out.violation, None);
        let mut m = sim.metrics();
        PingPong::report(&params, &sim, &mut m);
        m
    }

    /// With loss p on each direction, a ping needs 1/(1-p)^2 transmissions on average
    /// (geometric number of tries); max_tries is high enough not to truncate it.
    #[test]
    fn retransmissions_follow_the_arq_formula() {
        for p in [0.0, 0.1, 0.3] {
            let m = run(p, 11);
            let expected = 1.0 / ((1.0 - p) * (1.0 - p));
            let got = m.value("pingpong.transmissions_per_acked_ping");
            assert!(
                (got / expected - 1.0).abs() < 0.04,
                "p={p}: {got} vs {expected}"
            );
            assert_eq!(m.value("pingpong.acked"), 4000.0);
        }
    }

    #[test]
    fn same_seed_same_fingerprint() {
        let fp = |seed| {
            let nodes = pinger_and_ponger();
            let mut sim = Simulation::new(SimConfig {
                seed,
                default_link: LinkParams {
                    loss: 0.2,
                    ..LinkParams::default()
                },
                keep_trace: false,
            });
            let params = PingPongParams::default();
            PingPong::build(
                &params,
                &Setup {
                    seed,
                    nodes: &nodes,
                    links: &[],
                    network: &LinkTable::default(),
                    files: dsim_system::ScenarioFiles::none(),
                },
                &mut sim,
            );
            sim.run_until(SimTime::from_secs(60));
            sim.fingerprint()
        };
        assert_eq!(fp(1), fp(1));
        assert_ne!(fp(1), fp(2));
    }

    /// Pinger "a" and ponger "b" over 10% loss, 50 pings, with `faults` (at ms, crash
    /// or restart of "a"), the pinger `plant`ed with a bug first; the violation, if any.
    fn run_faults(
        faults: &[(u64, bool)],
        plant: impl FnOnce(&mut Pinger),
    ) -> Option<sim_core::Violation> {
        use sim_core::{Fault, ScheduledFault};
        let params = PingPongParams {
            count: 50,
            ..Default::default()
        };
        let nodes = pinger_and_ponger();
        let setup = Setup {
            seed: 9,
            nodes: &nodes,
            links: &[],
            network: &LinkTable::default(),
            files: dsim_system::ScenarioFiles::none(),
        };
        let mut sim = Simulation::new(SimConfig {
            seed: 9,
            default_link: LinkParams {
                loss: 0.1,
                ..LinkParams::default()
            },
            keep_trace: false,
        });
        PingPong::build(&params, &setup, &mut sim);
        let a = sim.lookup("a").unwrap();
        plant(Pinger::of_mut(sim.node_mut(a)).unwrap());
        for &(at, crash) in faults {
            let fault = if crash {
                Fault::Crash(a)
            } else {
                Fault::Restart(a)
            };
            sim.schedule_fault(ScheduledFault {
                at: SimTime::from_millis(at),
                fault,
            });
        }
        for inv in PingPong::invariants(&params) {
            sim.add_invariant(inv);
        }
        sim.run_until(SimTime::from_secs(120)).violation
    }

    /// What `dsim explore` found: the pinger crashes with a ping in flight and restarts
    /// a millisecond later. The crash forgot that ping; it is counted abandoned, not
    /// held against the pinger, and the remaining pings all resolve.
    #[test]
    fn a_ping_forgotten_by_a_crash_is_abandoned_not_unresolved() {
        assert_eq!(run_faults(&[], |_| {}), None);
        // 1 ms after a send: the ping is in flight at the crash.
        let v = run_faults(
            &[(1, true), (2, false), (3005, true), (3006, false)],
            |_| {},
        );
        assert_eq!(v, None);
    }

    /// The invariants still catch a pinger that loses a ping for good: one that skips a
    /// ping number (all_pings_resolved), and one that calls a ping abandoned without a
    /// crash to excuse it (ping_accounting).
    #[test]
    fn the_invariants_catch_a_ping_lost_for_good() {
        let v = run_faults(&[], |p| p.next_seq = 1).expect("a skipped ping");
        assert_eq!(v.invariant, "all_pings_resolved");
        assert!(
            v.message.contains("resolved only 49 of 50"),
            "{}",
            v.message
        );
        let v = run_faults(&[], |p| {
            p.next_seq = 1;
            p.abandoned = 1;
        })
        .expect("an excuse without a crash");
        assert_eq!(v.invariant, "ping_accounting");
        assert!(
            v.message.contains("1 pings abandoned by only 0 crashes"),
            "{}",
            v.message
        );
    }
}
