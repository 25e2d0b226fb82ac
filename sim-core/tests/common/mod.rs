//! A small test system shared by sim-core's property tests: gossiping nodes that set,
//! fire and cancel timers, send to random peers with per-destination sequence numbers,
//! record metrics and annotations, and log everything they see; plus proptest strategies
//! for link parameters and random fault plans, and helpers that read kept traces.
//!
//! Every test file compiles this module on its own and uses a different part of it.
#![allow(dead_code)]

use proptest::prelude::*;
use rand::Rng;
use sim_core::network::LinkPatch;
use sim_core::{
    ClockOffset, Ctx, Fault, Latency, LinkParams, Message, Node, NodeId, RecordKind,
    ScheduledFault, SimConfig, SimTime, Simulation, TimerId, TimerTag, TraceRecord,
};
use std::collections::{BTreeMap, BTreeSet};

/// A gossip message (or its echo). `seq` counts per (sender, destination) pair, so a
/// receiver can check the order in which one sender's messages reach it.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Msg {
    /// The sender's node index.
    pub src: u32,
    /// The destination's node index.
    pub dst: u32,
    /// Sender-side sequence number for this destination: 0, 1, 2, ...
    pub seq: u64,
    /// 0 for a gossip, 1 for an echo of one.
    pub hops: u8,
    /// True send time (for delay measurements).
    pub sent_ns: u64,
    /// Extra payload bytes.
    pub pad: u32,
}

/// Header bytes of every [`Msg`].
pub const HEADER_BYTES: u32 = 40;

impl Message for Msg {
    fn size_bytes(&self) -> u32 {
        HEADER_BYTES + self.pad
    }
    fn kind(&self) -> &'static str {
        if self.hops == 0 { "gossip" } else { "echo" }
    }
}

/// A timer; `id` is unique per node over the whole run (across restarts), `epoch` is
/// the incarnation that set it.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Tick {
    /// Node-unique timer number.
    pub id: u64,
    /// The node's incarnation when it set the timer.
    pub epoch: u32,
}

impl TimerTag for Tick {
    fn kind(&self) -> &'static str {
        "tick"
    }
}

/// How a [`Gossip`] node behaves.
#[derive(Clone, Debug)]
pub struct GossipConfig {
    /// Whom it may send to (drawn at random).
    pub peers: Vec<NodeId>,
    /// Timers set on start and on every restart.
    pub initial_timers: u32,
    /// How many timer firings send (and re-arm); later firings do nothing.
    pub ticks: u32,
    /// Messages sent per firing.
    pub fanout: u32,
    /// Timer delay range in local nanoseconds, inclusive.
    pub period_ns: (u64, u64),
    /// Timer delays are `period_ns.0` plus a multiple of this (1 ms makes ties with
    /// whole-millisecond faults and latencies common).
    pub step_ns: u64,
    /// Chance (per mille) that a firing cancels one of the node's pending timers.
    pub cancel_per_mille: u64,
    /// Chance (per mille) that a gossip is echoed back to its sender.
    pub reply_per_mille: u64,
    /// Payload bytes on top of [`HEADER_BYTES`].
    pub pad: u32,
    /// How many of its random draws the node remembers.
    pub draws_kept: usize,
    /// Whether a firing sets a new timer.
    pub rearm: bool,
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            peers: Vec::new(),
            initial_timers: 3,
            ticks: 25,
            fanout: 2,
            period_ns: (1_000_000, 20_000_000),
            step_ns: 1,
            cancel_per_mille: 300,
            reply_per_mille: 400,
            pad: 24,
            draws_kept: usize::MAX,
            rearm: true,
        }
    }
}

impl GossipConfig {
    /// A node that never sets a timer and never sends.
    pub fn silent() -> Self {
        GossipConfig {
            initial_timers: 0,
            ticks: 0,
            fanout: 0,
            reply_per_mille: 0,
            ..GossipConfig::default()
        }
    }
}

/// What a node saw, in the order its handlers ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// `on_start`.
    Start,
    /// `on_restart` (the new epoch).
    Restart(u32),
    /// A message from `from`.
    Msg {
        /// Sender id as the kernel reported it.
        from: u32,
        /// The message.
        msg: Msg,
    },
    /// A timer fired; `deadline` is the local time it was set to fire at.
    Timer {
        /// The timer.
        tick: Tick,
        /// Local reading at set time plus the requested delay.
        deadline: Option<SimTime>,
    },
}

/// One handler call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// True time (`ctx.sim_time()`).
    pub t: SimTime,
    /// The node's local clock (`ctx.now()`).
    pub local: SimTime,
    /// What the handler was given.
    pub what: What,
}

/// The gossip node. Everything but `pending` is its "disk" and survives a crash (the
/// logs are instrumentation; the sequence counters keep FIFO checks meaningful across
/// restarts).
#[derive(Clone, Debug)]
pub struct Gossip {
    /// Behaviour.
    pub cfg: GossipConfig,
    /// Incarnation: 0 at start, +1 on every restart.
    pub epoch: u32,
    /// Next timer id.
    pub next_timer: u64,
    /// Next sequence number per destination.
    pub next_seq: BTreeMap<u32, u64>,
    /// Firings that may still send.
    pub ticks_left: u32,
    /// Every handler call.
    pub log: Vec<Entry>,
    /// The first `cfg.draws_kept` values drawn from `ctx.rng()`.
    pub draws: Vec<u64>,
    /// Timers this node cancelled successfully.
    pub cancelled: BTreeSet<u64>,
    /// Timers that fired.
    pub fired: BTreeSet<u64>,
    /// Things the node saw that must never happen.
    pub violations: Vec<String>,
    /// Timers the node believes pending in this incarnation: id -> (handle, local deadline).
    pending: BTreeMap<u64, (TimerId, SimTime)>,
}

impl Gossip {
    /// A fresh node.
    pub fn new(cfg: GossipConfig) -> Self {
        Gossip {
            ticks_left: cfg.ticks,
            cfg,
            epoch: 0,
            next_timer: 0,
            next_seq: BTreeMap::new(),
            log: Vec::new(),
            draws: Vec::new(),
            cancelled: BTreeSet::new(),
            fired: BTreeSet::new(),
            violations: Vec::new(),
            pending: BTreeMap::new(),
        }
    }

    fn draw(&mut self, ctx: &mut impl Ctx<Self>) -> u64 {
        let v = ctx.rng().next_u64();
        if self.draws.len() < self.cfg.draws_kept {
            self.draws.push(v);
        }
        v
    }

    fn chance(&mut self, ctx: &mut impl Ctx<Self>, per_mille: u64) -> bool {
        per_mille > 0 && self.draw(ctx) % 1000 < per_mille
    }

    fn entry(ctx: &impl Ctx<Self>, what: What) -> Entry {
        Entry {
            t: ctx.sim_time(),
            local: ctx.now(),
            what,
        }
    }

    fn arm(&mut self, ctx: &mut impl Ctx<Self>) {
        let (lo, hi) = self.cfg.period_ns;
        let delay = if hi > lo {
            let step = self.cfg.step_ns.max(1);
            lo + self.draw(ctx) % ((hi - lo) / step + 1) * step
        } else {
            lo
        };
        let id = self.next_timer;
        self.next_timer += 1;
        let deadline = ctx.now() + SimTime(delay);
        let handle = ctx.set_timer(
            SimTime(delay),
            Tick {
                id,
                epoch: self.epoch,
            },
        );
        self.pending.insert(id, (handle, deadline));
    }

    fn send(&mut self, ctx: &mut impl Ctx<Self>, to: NodeId, hops: u8) {
        let seq = self.next_seq.entry(to.0).or_insert(0);
        let msg = Msg {
            src: ctx.id().0,
            dst: to.0,
            seq: *seq,
            hops,
            sent_ns: ctx.sim_time().0,
            pad: self.cfg.pad,
        };
        *seq += 1;
        ctx.metrics().add("gossip.sent", 1.0);
        ctx.send(to, msg);
    }

    fn boot(&mut self, ctx: &mut impl Ctx<Self>) {
        for _ in 0..self.cfg.initial_timers {
            self.arm(ctx);
        }
    }

    /// The messages this node handled, in handling order.
    pub fn received(&self) -> impl Iterator<Item = (SimTime, &Msg)> {
        self.log.iter().filter_map(|e| match &e.what {
            What::Msg { msg, .. } => Some((e.t, msg)),
            _ => None,
        })
    }

    /// The timers that fired, with the entry that saw them.
    pub fn timer_entries(&self) -> impl Iterator<Item = (&Entry, &Tick, Option<SimTime>)> {
        self.log.iter().filter_map(|e| match &e.what {
            What::Timer { tick, deadline } => Some((e, tick, *deadline)),
            _ => None,
        })
    }
}

impl Node for Gossip {
    type Msg = Msg;
    type Timer = Tick;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        let e = Self::entry(ctx, What::Start);
        self.log.push(e);
        self.boot(ctx);
    }

    fn on_restart(&mut self, ctx: &mut impl Ctx<Self>) {
        self.epoch += 1;
        let e = Self::entry(ctx, What::Restart(self.epoch));
        self.log.push(e);
        ctx.annotate(&format!("restart epoch {}", self.epoch));
        self.boot(ctx);
    }

    fn on_crash(&mut self) {
        self.pending.clear();
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Msg) {
        if msg.dst != ctx.id().0 || msg.src != from.0 {
            self.violations
                .push(format!("{} got {msg:?} reported as from {from}", ctx.id()));
        }
        let e = Self::entry(
            ctx,
            What::Msg {
                from: from.0,
                msg: msg.clone(),
            },
        );
        self.log.push(e);
        ctx.metrics().add("gossip.received", 1.0);
        let delay_ms = ctx.sim_time().0.saturating_sub(msg.sent_ns) as f64 / 1e6;
        ctx.metrics().observe("gossip.delay_ms", delay_ms);
        if msg.hops == 0 && self.chance(ctx, self.cfg.reply_per_mille) {
            self.send(ctx, from, 1);
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, tick: Tick) {
        let me = ctx.id();
        if tick.epoch != self.epoch {
            self.violations.push(format!(
                "{me}: timer {} of epoch {} fired in epoch {} at {}",
                tick.id,
                tick.epoch,
                self.epoch,
                ctx.sim_time()
            ));
        }
        if self.cancelled.contains(&tick.id) {
            self.violations.push(format!(
                "{me}: cancelled timer {} fired at {}",
                tick.id,
                ctx.sim_time()
            ));
        }
        if !self.fired.insert(tick.id) {
            self.violations
                .push(format!("{me}: timer {} fired twice", tick.id));
        }
        let deadline = self.pending.remove(&tick.id).map(|(_, d)| d);
        if deadline.is_none() {
            self.violations
                .push(format!("{me}: timer {} fired but was not pending", tick.id));
        }
        let e = Self::entry(
            ctx,
            What::Timer {
                tick: tick.clone(),
                deadline,
            },
        );
        self.log.push(e);
        if self.ticks_left == 0 {
            return;
        }
        self.ticks_left -= 1;
        if !self.cfg.peers.is_empty() {
            for _ in 0..self.cfg.fanout {
                let i = (self.draw(ctx) % self.cfg.peers.len() as u64) as usize;
                let to = self.cfg.peers[i];
                self.send(ctx, to, 0);
            }
        }
        if self.cfg.rearm {
            self.arm(ctx);
        }
        if !self.pending.is_empty() && self.chance(ctx, self.cfg.cancel_per_mille) {
            let i = (self.draw(ctx) % self.pending.len() as u64) as usize;
            let (&id, &(handle, _)) = self.pending.iter().nth(i).expect("index in range");
            self.pending.remove(&id);
            if ctx.cancel_timer(handle) {
                self.cancelled.insert(id);
                ctx.metrics().add("gossip.cancelled", 1.0);
            } else {
                self.violations.push(format!(
                    "{me}: cancelling pending timer {id} at {} returned false",
                    ctx.sim_time()
                ));
            }
        }
        if tick.id.is_multiple_of(4) {
            ctx.annotate(&format!("tick {} left {}", tick.id, self.ticks_left));
        }
        ctx.metrics()
            .set("gossip.ticks_left", f64::from(self.ticks_left));
    }
}

/// `n0`, `n1`, ...
pub fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("n{i}")).collect()
}

/// The name of the unrelated node that [`Setup::extra_node`] adds.
pub const EXTRA: &str = "zz-extra";

/// Everything that defines a run of the gossip system.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Master seed.
    pub seed: u64,
    /// Number of gossip nodes (`n0..`).
    pub nodes: usize,
    /// Default link parameters.
    pub link: LinkParams,
    /// Behaviour of every gossip node (peers are filled in: every other gossip node).
    pub node: GossipConfig,
    /// Fault plan over the node names.
    pub plan: Vec<ScheduledFault<String>>,
    /// Keep trace records.
    pub keep_trace: bool,
    /// Register a silent node called [`EXTRA`] after all others.
    pub extra_node: bool,
}

impl Setup {
    /// `nodes` gossip nodes on default links, no faults.
    pub fn new(seed: u64, nodes: usize) -> Self {
        Setup {
            seed,
            nodes,
            link: LinkParams::default(),
            node: GossipConfig::default(),
            plan: Vec::new(),
            keep_trace: true,
            extra_node: false,
        }
    }

    /// Build the simulation (nothing has run yet).
    pub fn build(&self) -> Simulation<Gossip> {
        let mut sim = Simulation::new(SimConfig {
            seed: self.seed,
            default_link: self.link.clone(),
            keep_trace: self.keep_trace,
        });
        for (i, name) in names(self.nodes).iter().enumerate() {
            let peers = (0..self.nodes as u32)
                .filter(|&j| j as usize != i)
                .map(NodeId)
                .collect();
            let cfg = GossipConfig {
                peers,
                ..self.node.clone()
            };
            let id = sim.add_node(name, Gossip::new(cfg));
            assert_eq!(id, NodeId(i as u32));
        }
        if self.extra_node {
            sim.add_node(EXTRA, Gossip::new(GossipConfig::silent()));
        }
        let mut plan = self.plan.clone();
        plan.sort_by_key(|f| f.at);
        for f in plan {
            let fault = f
                .fault
                .map_nodes(&mut |n: String| sim.lookup(&n).ok_or(n))
                .expect("plan names known nodes");
            sim.schedule_fault(ScheduledFault { at: f.at, fault });
        }
        sim
    }

    /// Build and run until nothing is left to do.
    pub fn run(&self) -> Simulation<Gossip> {
        let mut sim = self.build();
        let out = sim.run_until(SimTime::MAX);
        assert!(out.violation.is_none());
        sim
    }
}

/// Every gossip node's violations, panicking with all of them if there are any.
pub fn assert_no_violations(sim: &Simulation<Gossip>) {
    let all: Vec<String> = sim
        .world()
        .nodes()
        .flat_map(|(_, _, n)| n.violations.iter().cloned())
        .collect();
    assert!(all.is_empty(), "node-level violations:\n{}", all.join("\n"));
}

/// The gossip nodes' states in id order.
pub fn node_states(sim: &Simulation<Gossip>) -> Vec<Gossip> {
    sim.world().nodes().map(|(_, _, n)| n.clone()).collect()
}

// ---------------------------------------------------------------- strategies

/// Any valid link parameters (FIFO and reordering never together).
pub fn arb_link_params() -> impl Strategy<Value = LinkParams> {
    let ms = |a: u64, b: u64| (a * 1_000_000..=b * 1_000_000).prop_map(SimTime);
    let latency = prop_oneof![
        ms(0, 20).prop_map(Latency::Constant),
        (ms(0, 5), ms(0, 20)).prop_map(|(a, b)| Latency::Uniform {
            min: a.min(b),
            max: a.max(b)
        }),
        (ms(1, 20), ms(0, 5)).prop_map(|(mean, std_dev)| Latency::Normal { mean, std_dev }),
        (ms(1, 20), 0.0..1.5f64).prop_map(|(median, sigma)| Latency::LogNormal { median, sigma }),
        ms(1, 20).prop_map(|mean| Latency::Exponential { mean }),
    ];
    (
        latency,
        ms(0, 5),
        prop::option::of(100_000u64..10_000_000),
        prop::option::of(200u64..20_000),
        prop_oneof![Just(0.0), 0.0..0.3f64],
        prop_oneof![Just(0.0), 0.0..0.2f64],
        prop_oneof![
            Just((true, 0.0)),
            Just((false, 0.0)),
            (Just(false), 0.0..0.5f64)
        ],
        ms(0, 30),
        prop::option::of((40u32..200, any::<bool>())),
    )
        .prop_map(
            |(
                latency,
                jitter,
                bandwidth_bps,
                queue_bytes,
                loss,
                duplicate,
                (fifo, reorder),
                reorder_delay,
                mtu,
            )| {
                let p = LinkParams {
                    latency,
                    jitter,
                    bandwidth_bps,
                    queue_bytes: bandwidth_bps.and(queue_bytes),
                    loss,
                    duplicate,
                    reorder,
                    reorder_delay,
                    fifo,
                    mtu: mtu.map(|m| m.0),
                    fragmentation: mtu.is_some_and(|m| m.1),
                };
                p.validate().expect("strategy makes valid params");
                p
            },
        )
}

/// Crash, restart, pause or resume of one node.
pub fn arb_node_fault(names: Vec<String>) -> BoxedStrategy<Fault<String>> {
    let pick = prop::sample::select(names);
    prop_oneof![
        pick.clone().prop_map(Fault::Crash),
        pick.clone().prop_map(Fault::Restart),
        pick.clone().prop_map(Fault::Pause),
        pick.prop_map(Fault::Resume),
    ]
    .boxed()
}

/// Crash or restart of one node.
pub fn arb_crash_restart(names: Vec<String>) -> BoxedStrategy<Fault<String>> {
    let pick = prop::sample::select(names);
    prop_oneof![
        pick.clone().prop_map(Fault::Crash),
        pick.prop_map(Fault::Restart),
    ]
    .boxed()
}

/// Pause or resume of one node.
pub fn arb_pause_resume(names: Vec<String>) -> BoxedStrategy<Fault<String>> {
    let pick = prop::sample::select(names);
    prop_oneof![
        pick.clone().prop_map(Fault::Pause),
        pick.prop_map(Fault::Resume)
    ]
    .boxed()
}

/// Cut, restore, partition (both kinds), isolate or heal: faults that change who can
/// talk to whom but not how links behave.
pub fn arb_topology_fault(names: Vec<String>) -> BoxedStrategy<Fault<String>> {
    let pick = prop::sample::select(names.clone());
    let pair = (pick.clone(), pick.clone(), any::<bool>());
    let n = names.len();
    let split = prop::collection::vec(any::<bool>(), n).prop_map(move |mask| {
        let mut groups = (Vec::new(), Vec::new());
        for (name, m) in names.iter().zip(mask) {
            if m { &mut groups.0 } else { &mut groups.1 }.push(name.clone());
        }
        groups
    });
    prop_oneof![
        pair.clone()
            .prop_map(|(a, b, one_way)| Fault::CutLink { a, b, one_way }),
        pair.prop_map(|(a, b, one_way)| Fault::RestoreLink { a, b, one_way }),
        split
            .clone()
            .prop_map(|(a, b)| Fault::Partition(vec![a, b])),
        split.prop_map(|(from, to)| Fault::PartitionOneWay { from, to }),
        pick.prop_map(Fault::Isolate),
        Just(Fault::Heal),
    ]
    .boxed()
}

/// Topology faults, or new parameters for one directed link.
pub fn arb_net_fault(names: Vec<String>) -> BoxedStrategy<Fault<String>> {
    let pick = prop::sample::select(names.clone());
    prop_oneof![
        3 => arb_topology_fault(names),
        1 => (pick.clone(), pick, arb_link_params()).prop_map(|(from, to, params)| {
            Fault::SetLink {
                from,
                to,
                params: LinkPatch::from_params(&params),
            }
        }),
    ]
    .boxed()
}

/// Clock drift (up to 2000 ppm either way) or a jump (up to 50 ms either way).
pub fn arb_clock_fault(names: Vec<String>) -> BoxedStrategy<Fault<String>> {
    let pick = prop::sample::select(names);
    prop_oneof![
        (pick.clone(), -2000i32..=2000).prop_map(|(node, ppm)| Fault::ClockDrift {
            node,
            ppm: f64::from(ppm)
        }),
        (pick, -50_000_000i64..=50_000_000).prop_map(|(node, by)| Fault::ClockJump {
            node,
            by: ClockOffset(by)
        }),
    ]
    .boxed()
}

/// Any fault of the kinds above.
pub fn arb_fault(names: Vec<String>) -> BoxedStrategy<Fault<String>> {
    prop_oneof![
        3 => arb_node_fault(names.clone()),
        3 => arb_net_fault(names.clone()),
        1 => arb_clock_fault(names),
    ]
    .boxed()
}

/// Up to `max` faults drawn from `faults`, at whole-microsecond times in
/// `[1 ms, horizon_ms]`, sorted by time (the order in which they are scheduled).
pub fn arb_plan(
    faults: BoxedStrategy<Fault<String>>,
    horizon_ms: u64,
    max: usize,
) -> impl Strategy<Value = Vec<ScheduledFault<String>>> {
    arb_plan_at(faults, horizon_ms, max, 1)
}

/// As [`arb_plan`], with times that are multiples of `step_us` microseconds.
pub fn arb_plan_at(
    faults: BoxedStrategy<Fault<String>>,
    horizon_ms: u64,
    max: usize,
    step_us: u64,
) -> impl Strategy<Value = Vec<ScheduledFault<String>>> {
    let steps = (1_000u64.div_ceil(step_us), horizon_ms * 1_000 / step_us);
    prop::collection::vec((steps.0..=steps.1, faults), 0..=max).prop_map(move |v| {
        let mut plan: Vec<_> = v
            .into_iter()
            .map(|(n, fault)| ScheduledFault {
                at: SimTime::from_micros(n * step_us),
                fault,
            })
            .collect();
        plan.sort_by_key(|f| f.at);
        plan
    })
}

/// `plan` followed, `after` its horizon, by faults that undo every node and topology
/// fault: heal, restore every link, resume and restart every node.
pub fn with_cleanup(
    mut plan: Vec<ScheduledFault<String>>,
    names: &[String],
    at: SimTime,
) -> Vec<ScheduledFault<String>> {
    let mut add = |fault| plan.push(ScheduledFault { at, fault });
    add(Fault::Heal);
    for a in names {
        for b in names {
            add(Fault::RestoreLink {
                a: a.clone(),
                b: b.clone(),
                one_way: true,
            });
        }
        add(Fault::Resume(a.clone()));
        add(Fault::Restart(a.clone()));
    }
    plan
}

// ---------------------------------------------------------------- plan and trace models

/// A node's life as the plan dictates it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Life {
    /// Running.
    Up,
    /// Paused.
    Paused,
    /// Crashed.
    Crashed,
}

/// The status of `name` over time, following the kernel's rules (crash acts on up or
/// paused nodes, restart on crashed ones, pause on up ones, resume on paused ones):
/// `(time, status from then on)`, starting with `(0, Up)`. Faults at the same time
/// apply in plan order.
pub fn life_of(plan: &[ScheduledFault<String>], name: &str) -> Vec<(SimTime, Life)> {
    let mut plan: Vec<&ScheduledFault<String>> = plan.iter().collect();
    plan.sort_by_key(|f| f.at);
    let mut out = vec![(SimTime::ZERO, Life::Up)];
    let mut now = Life::Up;
    for f in plan {
        let next = match &f.fault {
            Fault::Crash(n) if n == name && now != Life::Crashed => Life::Crashed,
            Fault::Restart(n) if n == name && now == Life::Crashed => Life::Up,
            Fault::Pause(n) if n == name && now == Life::Up => Life::Paused,
            Fault::Resume(n) if n == name && now == Life::Paused => Life::Up,
            _ => continue,
        };
        now = next;
        out.push((f.at, next));
    }
    out
}

/// The status at `t` once every fault at `t` has applied.
pub fn life_at(life: &[(SimTime, Life)], t: SimTime) -> Life {
    life.iter()
        .take_while(|(at, _)| *at <= t)
        .last()
        .map_or(Life::Up, |(_, l)| *l)
}

/// Whether a handler of the node may run at `t`: it is up once every fault at `t` has
/// applied, or it came up at `t` (a restart runs `on_restart`, and a resume hands over
/// what waited, at once, before any later fault of the same instant).
pub fn may_run_at(life: &[(SimTime, Life)], t: SimTime) -> bool {
    life_at(life, t) == Life::Up || life.iter().any(|&(at, l)| at == t && l == Life::Up)
}

/// The number after `name` (e.g. `"seq: "`) in a record's detail (`{:?}` of a
/// [`Msg`] or [`Tick`]).
pub fn field(detail: &str, name: &str) -> u64 {
    let start = detail
        .find(name)
        .unwrap_or_else(|| panic!("{name:?} in {detail:?}"))
        + name.len();
    let digits: String = detail[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect("a number")
}

/// Sender and sequence number of a message as printed in a trace record's detail.
pub fn parse_msg(detail: &str) -> (u32, u64) {
    (field(detail, "src: ") as u32, field(detail, "seq: "))
}

/// Timer id of a tick as printed in a trace record's detail.
pub fn parse_tick(detail: &str) -> u64 {
    field(detail, "id: ")
}

/// The messages addressed to `node` in arrival order: every scheduled delivery (a send
/// record with a delivery time) sorted by delivery time, ties in schedule order, as
/// `(sender, seq)`.
pub fn arrivals_to(records: &[TraceRecord], node: NodeId) -> Vec<(u32, u64)> {
    let mut v: Vec<(u64, usize, (u32, u64))> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.kind == RecordKind::Send && r.peer == Some(node.0) && r.value != u64::MAX
        })
        .map(|(i, r)| (r.value, i, parse_msg(&r.detail)))
        .collect();
    v.sort();
    v.into_iter().map(|x| x.2).collect()
}

/// Records that do not mention `node` (as actor or peer).
pub fn without_node(records: &[TraceRecord], node: NodeId) -> Vec<TraceRecord> {
    records
        .iter()
        .filter(|r| r.node != node.0 && r.peer != Some(node.0))
        .cloned()
        .collect()
}

/// Kept records of one kind.
pub fn of_kind(records: &[TraceRecord], kind: RecordKind) -> impl Iterator<Item = &TraceRecord> {
    records.iter().filter(move |r| r.kind == kind)
}
