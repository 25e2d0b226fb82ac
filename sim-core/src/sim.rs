//! The simulation: nodes plus kernel, the event loop, fault application and invariants.

use crate::context::SimContext;
use crate::fault::{Fault, ScheduledFault};
use crate::kernel::{Kernel, LiveHost, NetCounters, NodeMeta, Payload};
use crate::metrics::Metrics;
use crate::network::{LinkParams, Network};
use crate::node::{Message, Node, NodeId, NodeStatus, TimerTag};
use crate::prefetch::prefetch;
use crate::queue::EventQueue;
use crate::rng::component_rng;
use crate::time::SimTime;
use crate::trace::{DropReason, Fingerprint, RecordKind, Trace, TraceRecord};
use std::collections::{BTreeMap, VecDeque};

/// A node's state in the simulation's table, aligned to 32 bytes so that no node
/// straddles more cache lines than its size needs: the allocator only promises 16, and
/// a 24-byte PHOLD process split across two lines in a quarter of the table (PHOLD at
/// 10,000 LPs: 13.7 M events/s unaligned, 14.5 aligned).
#[repr(align(32))]
struct NodeCell<N>(N);

/// A read-only view of the whole system, handed to invariants.
pub struct World<'a, N: Node> {
    nodes: &'a [NodeCell<N>],
    kernel: &'a Kernel<N>,
    changed: Changed,
}

/// What the event just processed may have changed: the state an invariant must look at
/// again. A handler changes only its own node (what it sends changes nothing until it
/// is delivered), and so does a fault aimed at one node (crash, restart, pause, resume,
/// join, leave, clock drift or jump). A fault on the network (partition, cut, isolation,
/// link change, heal), a node's start from outside an event, and the end-of-run checks
/// report [`Changed::Everything`]: reachability may have moved for every node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Changed {
    /// No node: a message left for a node hosted by another process (`dsim live`).
    Nothing,
    /// Only this node's state or status.
    Node(NodeId),
    /// Anything (the network, or an unknown change): check it all.
    Everything,
}

impl<'a, N: Node> World<'a, N> {
    /// True simulated time.
    pub fn now(&self) -> SimTime {
        self.kernel.now
    }
    /// Every registered node with its id and status.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, NodeStatus, &'a N)> + 'a {
        let statuses = &self.kernel.status;
        self.nodes
            .iter()
            .enumerate()
            .map(move |(i, n)| (NodeId(i as u32), statuses[i], &n.0))
    }
    /// Nodes that are alive: up, or paused. A paused node (a stalled process, a VM
    /// being migrated) keeps its state and its beliefs, such as "I hold the lease",
    /// while it handles nothing; a safety invariant must count it, because it acts on
    /// those beliefs the moment it resumes. For liveness ("someone is serving"), use
    /// [`World::up_nodes`].
    pub fn live_nodes(&self) -> impl Iterator<Item = (NodeId, &'a N)> + 'a {
        self.nodes()
            .filter(|(_, s, _)| matches!(s, NodeStatus::Up | NodeStatus::Paused))
            .map(|(id, _, n)| (id, n))
    }
    /// Nodes that are up and handling events right now (not paused, down or gone).
    pub fn up_nodes(&self) -> impl Iterator<Item = (NodeId, &'a N)> + 'a {
        self.nodes()
            .filter(|(_, s, _)| *s == NodeStatus::Up)
            .map(|(id, _, n)| (id, n))
    }
    /// Node `id`'s local clock now: true time seen through its drift and jumps, what
    /// [`Context::now`](crate::Context::now) returns in its handlers. Invariants about timeouts and leases
    /// compare it with the deadlines the node set in its own time.
    pub fn local_time(&self, id: NodeId) -> SimTime {
        self.kernel.nodes[id.index()].clock.now(self.kernel.now)
    }
    /// Node `id`'s monotonic clock now (its local clock without jumps), what
    /// [`Context::monotonic`](crate::Context::monotonic) returns in its handlers.
    pub fn monotonic_time(&self, id: NodeId) -> SimTime {
        self.kernel.nodes[id.index()]
            .clock
            .monotonic(self.kernel.now)
    }
    /// One node and its status.
    pub fn node(&self, id: NodeId) -> (NodeStatus, &'a N) {
        (self.kernel.status[id.index()], &self.nodes[id.index()].0)
    }
    /// A node's scenario name.
    pub fn name(&self, id: NodeId) -> &'a str {
        &self.kernel.nodes[id.index()].name
    }
    /// The metrics recorded so far.
    pub fn metrics(&self) -> &'a Metrics {
        &self.kernel.metrics
    }
    /// The number of registered nodes (ids run from 0 to this, exclusive).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    /// What the event just processed may have changed ([`Changed`]): an invariant whose
    /// cost must not grow with the number of nodes checks only that, and keeps its
    /// aggregates (holders of a lock, coordinators) up to date node by node.
    pub fn changed(&self) -> Changed {
        self.changed
    }
    /// The nodes the event may have changed, with their status: the one node it ran on
    /// or was aimed at, or every node after [`Changed::Everything`].
    pub fn changed_nodes(&self) -> impl Iterator<Item = (NodeId, NodeStatus, &'a N)> + 'a {
        let (from, to) = match self.changed {
            Changed::Nothing => (0, 0),
            Changed::Node(id) => (id.index(), id.index() + 1),
            Changed::Everything => (0, self.nodes.len()),
        };
        let statuses = &self.kernel.status;
        self.nodes[from..to]
            .iter()
            .zip(from..)
            .map(move |(n, i)| (NodeId(i as u32), statuses[i], &n.0))
    }
    /// Whether the network would carry a message from `from` to `to` now: no
    /// partition, cut link or missing route in the way (random loss is not counted).
    /// Liveness invariants use it to count only the time a path existed.
    pub fn can_send(&self, from: NodeId, to: NodeId) -> bool {
        self.kernel.network.blocked(from, to).is_none()
    }
}

/// A property of the system: safety checked after every event, liveness at the end.
pub trait Invariant<N: Node> {
    /// The name violations are reported under.
    fn name(&self) -> &str;
    /// Checked after every event; `Err` describes the violation.
    fn check(&mut self, _world: &World<'_, N>) -> Result<(), String> {
        Ok(())
    }
    /// Checked once when the run ends (liveness); `Err` describes the violation.
    fn check_at_end(&mut self, _world: &World<'_, N>) -> Result<(), String> {
        Ok(())
    }
}

/// The invariant of the [`Violation`] that stops a run that reached its event budget
/// ([`Simulation::set_event_budget`]): a runaway, such as an event storm.
pub const EVENT_BUDGET: &str = "event_budget";

/// The `event` of a [`Violation`] found by an end-of-run (liveness) check.
pub const END_OF_RUN: &str = "end of run";

/// An invariant that failed, when, and the event that made it fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name.
    pub invariant: String,
    /// True time of the violation.
    pub time: SimTime,
    /// What the invariant said.
    pub message: String,
    /// The event after which it failed (`"end of run"` for liveness).
    pub event: String,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// Simulated time when the run stopped.
    pub end_time: SimTime,
    /// Events processed.
    pub events: u64,
    /// The violation that stopped the run, if any.
    pub violation: Option<Violation>,
}

/// Settings fixed when a simulation is built.
#[derive(Clone, Debug, Default)]
pub struct SimConfig {
    /// The master seed every random stream derives from.
    pub seed: u64,
    /// Parameters of every link without its own.
    pub default_link: LinkParams,
    /// Keep trace records (the fingerprint is computed either way).
    pub keep_trace: bool,
}

/// A deterministic simulation of nodes of type `N`.
///
/// ```
/// use sim_core::{Ctx, Message, Node, NodeId, SimConfig, SimTime, Simulation, TimerTag};
///
/// #[derive(Clone, Debug, Hash)]
/// struct Ping;
/// impl Message for Ping {
///     fn size_bytes(&self) -> u32 { 64 }
///     fn kind(&self) -> &'static str { "ping" }
/// }
/// #[derive(Clone, Debug, Hash)]
/// struct NoTimer;
/// impl TimerTag for NoTimer {
///     fn kind(&self) -> &'static str { "none" }
/// }
/// struct Echo { got: u32 }
/// impl Node for Echo {
///     type Msg = Ping;
///     type Timer = NoTimer;
///     fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
///         if ctx.id() == NodeId(0) { ctx.send(NodeId(1), Ping); }
///     }
///     fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Ping) {
///         self.got += 1;
///         if self.got < 3 { ctx.send(from, msg); }
///     }
///     fn on_timer(&mut self, _: &mut impl Ctx<Self>, _: NoTimer) {}
/// }
///
/// let mut sim = Simulation::new(SimConfig { seed: 1, ..SimConfig::default() });
/// sim.add_node("a", Echo { got: 0 });
/// sim.add_node("b", Echo { got: 0 });
/// let out = sim.run_until(SimTime::from_secs(1));
/// assert_eq!(out.end_time, SimTime::from_millis(5)); // 5 hops of the default 1 ms
/// ```
pub struct Simulation<N: Node> {
    nodes: Vec<NodeCell<N>>,
    kernel: Kernel<N>,
    invariants: Vec<Box<dyn Invariant<N>>>,
    events: u64,
    violation: Option<Violation>,
    /// Whether invariants see every node after every event ([`Simulation::set_full_checks`]).
    full_checks: bool,
    /// The most events [`Simulation::advance_to`] may handle: a run that reaches it ran
    /// away ([`EVENT_BUDGET`]).
    event_budget: u64,
    /// Nodes just resumed: the events that waited for them are handled, in arrival
    /// order, before anything else.
    resumed: VecDeque<NodeId>,
}

impl<N: Node> Simulation<N> {
    /// An empty simulation.
    pub fn new(config: SimConfig) -> Self {
        Simulation {
            nodes: Vec::new(),
            kernel: Kernel {
                seed: config.seed,
                now: SimTime::ZERO,
                queue: EventQueue::new(),
                network: Network::new(config.seed, config.default_link),
                nodes: Vec::new(),
                by_name: BTreeMap::new(),
                trace: Trace::new(config.keep_trace),
                metrics: Metrics::default(),
                net: NetCounters::default(),
                status: Vec::new(),
                rngs: Vec::new(),
                live: None,
            },
            invariants: Vec::new(),
            events: 0,
            violation: None,
            full_checks: false,
            event_budget: u64::MAX,
            resumed: VecDeque::new(),
        }
    }

    /// Register a node that starts now (time zero before the run).
    ///
    /// # Panics
    /// If the name is already taken: names key the random streams and must be unique.
    pub fn add_node(&mut self, name: &str, node: N) -> NodeId {
        let now = self.kernel.now;
        self.add_node_at(name, node, Some(now))
    }

    /// Register a node that starts at `start`, or only on a [`Fault::Join`] when `None`.
    ///
    /// # Panics
    /// If the name is already taken.
    pub fn add_node_at(&mut self, name: &str, node: N, start: Option<SimTime>) -> NodeId {
        assert!(
            !self.kernel.by_name.contains_key(name),
            "node name {name:?} is used twice"
        );
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(NodeCell(node));
        self.kernel.nodes.push(NodeMeta {
            name: name.to_owned(),
            clock: Default::default(),
            incarnation: 0,
            backlog: VecDeque::new(),
        });
        self.kernel.status.push(NodeStatus::NotStarted);
        let rng = component_rng(self.kernel.seed, &format!("node:{name}"));
        self.kernel.rngs.push(rng);
        self.kernel.network.add_node(name);
        self.kernel.by_name.insert(name.to_owned(), id);
        if let Some(at) = start {
            self.kernel
                .queue
                .push(at.max(self.kernel.now), id.0, Payload::Start(id));
        }
        id
    }

    /// The id of the node called `name`.
    pub fn lookup(&self, name: &str) -> Option<NodeId> {
        self.kernel.lookup(name)
    }

    /// The network as it stands (its per-link parameters, for end-of-run reports).
    pub fn network(&self) -> &Network {
        &self.kernel.network
    }

    /// The network, to set the topology and per-link parameters before (or between)
    /// steps.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.kernel.network
    }

    /// Schedule a fault (one scheduled for a time already past takes effect now).
    pub fn schedule_fault(&mut self, fault: ScheduledFault) {
        let at = fault.at.max(self.kernel.now);
        self.kernel
            .queue
            .push(at, u32::MAX, Payload::Fault(Box::new(fault.fault)));
    }

    /// Check `invariant` after every event and at the end.
    pub fn add_invariant(&mut self, invariant: Box<dyn Invariant<N>>) {
        self.invariants.push(invariant);
    }

    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.kernel.now
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The fingerprint of everything that happened so far.
    pub fn fingerprint(&self) -> Fingerprint {
        self.kernel.trace.fingerprint()
    }

    /// The kept trace records (empty unless `keep_trace` was set).
    pub fn trace_records(&self) -> &[TraceRecord] {
        self.kernel.trace.records()
    }

    /// The run's metrics, with the network counters under `net.*`.
    pub fn metrics(&self) -> Metrics {
        let mut m = self.kernel.metrics.clone();
        self.kernel.export_net_metrics(&mut m);
        m
    }

    /// The network counters alone (`net.*`), without copying the system's metrics:
    /// what a report samples between slices of a run.
    pub fn network_counters(&self) -> Metrics {
        let mut m = Metrics::default();
        self.kernel.export_net_metrics(&mut m);
        m
    }

    /// A read-only view of every node, as invariants see it (after an unknown change:
    /// [`Changed::Everything`]).
    pub fn world(&self) -> World<'_, N> {
        World {
            nodes: &self.nodes,
            kernel: &self.kernel,
            changed: Changed::Everything,
        }
    }

    /// A node's state and status.
    pub fn node(&self, id: NodeId) -> (NodeStatus, &N) {
        (self.kernel.status[id.index()], &self.nodes[id.index()].0)
    }

    /// A node's state, to finish wiring it up before the run (ids of peers, say).
    pub fn node_mut(&mut self, id: NodeId) -> &mut N {
        &mut self.nodes[id.index()].0
    }

    /// Process at most `max_events` more events (or until the queue empties or an
    /// invariant fails); returns how many ran. Benchmarks stop on an event count.
    pub fn run_events(&mut self, max_events: u64) -> u64 {
        let start = self.events;
        while self.events - start < max_events && self.step() {}
        self.events - start
    }

    /// Host this run on real sockets (sans-IO: the caller does the I/O), with the nodes
    /// in `hosted` running here and every other node in another process. From now on a
    /// message does not reach its receiver in this simulation: at the time the network
    /// model gives for its arrival it departs ([`Simulation::take_departures`]), and the
    /// caller sends it; what arrives from a socket enters with
    /// [`Simulation::arrive`]. Nodes not hosted here never start here, and node faults
    /// naming them are ignored (their process applies them); network faults apply
    /// everywhere. The caller drives time: [`Simulation::advance_to`] the wall clock.
    /// Call it before the run starts (a message already on its way is delivered here).
    ///
    /// # Panics
    /// If a node of `hosted` is not a node of the simulation.
    pub fn host_live(&mut self, hosted: &[NodeId]) {
        let mut here = vec![false; self.nodes.len()];
        for n in hosted {
            here[n.index()] = true;
        }
        self.kernel.live = Some(Box::new(LiveHost {
            hosted: here,
            outbox: Vec::new(),
        }));
    }

    /// The messages that departed since the last call, in order: (from, to, message).
    /// Empty unless the run is hosted live.
    pub fn take_departures(&mut self) -> Vec<(NodeId, NodeId, N::Msg)> {
        self.kernel
            .live
            .as_mut()
            .map(|l| std::mem::take(&mut l.outbox))
            .unwrap_or_default()
    }

    /// A message from `from` to `to` arrived from outside at `at` (the simulation's
    /// time if that is later): it is delivered at the next [`Simulation::advance_to`]
    /// that reaches it, as the network model's deliveries are (dropped if `to` is down
    /// or absent, or a partition or cut separates the two; held while `to` is paused).
    pub fn arrive(&mut self, at: SimTime, from: NodeId, to: NodeId, msg: N::Msg) {
        let at = at.max(self.kernel.now);
        let payload = Payload::Deliver {
            from,
            to,
            msg,
            via_network: true,
        };
        self.kernel.queue.push(at, to.0, payload);
    }

    /// The violation that stopped the run, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// Time of the next live event.
    pub fn next_event_time(&mut self) -> Option<SimTime> {
        let nodes = &self.kernel.nodes;
        if self
            .resumed
            .iter()
            .any(|n| !nodes[n.index()].backlog.is_empty())
        {
            Some(self.kernel.now)
        } else {
            self.kernel.queue.peek_time()
        }
    }

    /// Run events up to and including time `until` (or until the queue empties or an
    /// invariant fails), then run the end-of-run checks. The clock ends at `until` when
    /// events remain beyond it, else at the last event.
    pub fn run_until(&mut self, until: SimTime) -> RunOutcome {
        self.advance_to(until);
        self.finish()
    }

    /// Stop [`Simulation::advance_to`] once `events` events have been handled, with a
    /// violation of [`EVENT_BUDGET`]: a run that would never reach its end (an event
    /// storm at one instant, say) becomes a finding instead of a hang. Counting events,
    /// not wall time, keeps the outcome the same on every machine.
    pub fn set_event_budget(&mut self, events: u64) {
        self.event_budget = events;
    }

    /// Run events up to and including time `until` without the end-of-run checks (for
    /// running in slices, e.g. behind a progress bar); false once a violation stopped
    /// the run.
    pub fn advance_to(&mut self, until: SimTime) -> bool {
        while self.violation.is_none() {
            match self.next_event_time() {
                Some(_) if self.events >= self.event_budget => {
                    self.violation = Some(Violation {
                        invariant: EVENT_BUDGET.into(),
                        time: self.kernel.now,
                        message: format!(
                            "the run reached its budget of {} events at {} without reaching its end: it ran away",
                            self.event_budget, self.kernel.now
                        ),
                        event: "the event budget".into(),
                    });
                }
                Some(t) if t <= until => {
                    self.step();
                }
                // Events remain beyond `until`: the clock stops there.
                Some(_) => {
                    self.kernel.now = self.kernel.now.max(until);
                    break;
                }
                // Nothing left: the clock rests at the last event.
                None => break,
            }
        }
        self.violation.is_none()
    }

    /// Make every invariant check see [`Changed::Everything`] (a full scan) instead of
    /// the node an event changed: the reference incremental invariants are tested
    /// against, which must report every violation at the same event.
    pub fn set_full_checks(&mut self, full: bool) {
        self.full_checks = full;
    }

    /// Run the end-of-run (liveness) checks and report how the run ended.
    pub fn finish(&mut self) -> RunOutcome {
        if self.violation.is_none() {
            let world = World {
                nodes: &self.nodes,
                kernel: &self.kernel,
                changed: Changed::Everything,
            };
            for inv in &mut self.invariants {
                if let Err(message) = inv.check_at_end(&world) {
                    self.violation = Some(Violation {
                        invariant: inv.name().to_owned(),
                        time: self.kernel.now,
                        message,
                        event: END_OF_RUN.into(),
                    });
                    break;
                }
            }
        }
        RunOutcome {
            end_time: self.kernel.now,
            events: self.events,
            violation: self.violation.clone(),
        }
    }

    /// Process the next event; returns false when the queue is empty or a violation
    /// has stopped the run.
    pub fn step(&mut self) -> bool {
        if self.violation.is_some() {
            return false;
        }
        // What waited for a node that has just resumed goes first: it arrived earlier
        // than anything still queued for this instant.
        let (seq, payload, arrived) = match self.next_waiting() {
            Some((seq, payload)) => (seq, payload, true),
            None => {
                let Some((time, seq, payload)) = self.kernel.queue.pop() else {
                    return false;
                };
                debug_assert!(time >= self.kernel.now, "time went backwards");
                self.kernel.now = time;
                self.warm_next_subject();
                (seq, payload, false)
            }
        };
        self.events += 1;
        let what = self.dispatch(payload, seq, arrived);
        if !self.invariants.is_empty() {
            self.check_invariants(what);
        }
        true
    }

    /// Prefetch the state of the node the next queued event is for, while the current
    /// event runs.
    #[inline(always)]
    fn warm_next_subject(&self) {
        if let Some(next) = self.kernel.queue.peek_subject()
            && let Some(rng) = self.kernel.rngs.get(next as usize)
        {
            prefetch(rng);
            prefetch(&self.nodes[next as usize]);
            self.kernel.network.warm_sender(NodeId(next));
        }
    }

    /// The next event that waited for a node that has since resumed.
    fn next_waiting(&mut self) -> Option<(u64, Payload<N>)> {
        while let Some(&n) = self.resumed.front() {
            if let Some(event) = self.kernel.nodes[n.index()].backlog.pop_front() {
                return Some(event);
            }
            self.resumed.pop_front();
        }
        None
    }

    /// Run one payload (`seq` is its queue sequence number); returns a short
    /// description of the event for violation reports. `arrived` marks an event that
    /// waited for its paused node: cuts and partitions were checked when it arrived.
    fn dispatch(&mut self, payload: Payload<N>, seq: u64, arrived: bool) -> EventLabel {
        match payload {
            Payload::Deliver {
                from,
                to,
                msg,
                via_network,
            } => {
                let label = EventLabel::Deliver(from, to, msg.kind());
                let status = self.kernel.status[to.index()];
                let reason = match status {
                    NodeStatus::Up | NodeStatus::Paused => None,
                    NodeStatus::Crashed => Some(DropReason::NodeDown),
                    NodeStatus::NotStarted | NodeStatus::Left => Some(DropReason::NodeAbsent),
                };
                // Cuts and partitions act on arrival, also at a paused receiver.
                let reason = reason.or_else(|| {
                    (via_network && !arrived)
                        .then(|| self.kernel.network.blocked(from, to))
                        .flatten()
                });
                if let Some(reason) = reason {
                    self.kernel.record_drop(from, to, &msg, reason);
                    return label;
                }
                if status == NodeStatus::Paused {
                    let payload = Payload::Deliver {
                        from,
                        to,
                        msg,
                        via_network,
                    };
                    self.kernel.nodes[to.index()]
                        .backlog
                        .push_back((seq, payload));
                    return label;
                }
                let k = &mut self.kernel;
                k.net.delivered += u64::from(via_network);
                k.trace.fold(k.now.0, RecordKind::Deliver, to.0, from.0, 0);
                if k.trace.keeps_records() {
                    let now = k.now.0;
                    k.trace.keep(|| TraceRecord {
                        time_ns: now,
                        kind: RecordKind::Deliver,
                        node: to.0,
                        peer: Some(from.0),
                        value: 0,
                        label: msg.kind().to_owned(),
                        detail: format!("{msg:?}"),
                    });
                }
                let mut ctx = SimContext {
                    kernel: &mut self.kernel,
                    id: to,
                };
                self.nodes[to.index()].0.on_message(&mut ctx, from, msg);
                label
            }
            Payload::Timer {
                node,
                incarnation,
                timer,
            } => {
                let label = EventLabel::Timer(node, timer.kind());
                let meta = &mut self.kernel.nodes[node.index()];
                if meta.incarnation != incarnation {
                    return label;
                }
                match self.kernel.status[node.index()] {
                    NodeStatus::Up => {}
                    NodeStatus::Paused => {
                        let payload = Payload::Timer {
                            node,
                            incarnation,
                            timer,
                        };
                        meta.backlog.push_back((seq, payload));
                        return label;
                    }
                    _ => return label,
                }
                let k = &mut self.kernel;
                k.trace
                    .fold(k.now.0, RecordKind::TimerFire, node.0, u32::MAX, 0);
                if k.trace.keeps_records() {
                    let now = k.now.0;
                    k.trace.keep(|| TraceRecord {
                        time_ns: now,
                        kind: RecordKind::TimerFire,
                        node: node.0,
                        peer: None,
                        value: 0,
                        label: timer.kind().to_owned(),
                        detail: format!("{timer:?}"),
                    });
                }
                let mut ctx = SimContext {
                    kernel: &mut self.kernel,
                    id: node,
                };
                self.nodes[node.index()].0.on_timer(&mut ctx, timer);
                label
            }
            Payload::Depart { from, to, msg } => {
                let label = EventLabel::Depart(from, to, msg.kind());
                if let Some(live) = &mut self.kernel.live {
                    live.outbox.push((from, to, msg));
                }
                label
            }
            Payload::Start(node) => {
                // A node that joined early (or has crashed since) does not start again;
                // a node another process hosts starts there.
                if self.kernel.status[node.index()] == NodeStatus::NotStarted
                    && self.kernel.hosts(node)
                {
                    self.start(node, false);
                }
                EventLabel::Start(node)
            }
            Payload::Fault(fault) => {
                let label = EventLabel::Fault(fault.name(), fault.node_state_only());
                self.apply_fault(*fault);
                label
            }
        }
    }

    fn start(&mut self, node: NodeId, restart: bool) {
        self.kernel.status[node.index()] = NodeStatus::Up;
        let label = if restart { "restart" } else { "start" };
        self.kernel
            .record_event(RecordKind::NodeStart, node.0, label, String::new);
        let mut ctx = SimContext {
            kernel: &mut self.kernel,
            id: node,
        };
        if restart {
            self.nodes[node.index()].0.on_restart(&mut ctx);
        } else {
            self.nodes[node.index()].0.on_start(&mut ctx);
        }
    }

    fn apply_fault(&mut self, fault: Fault) {
        let node_of = |f: &Fault| match f {
            Fault::Crash(n)
            | Fault::Restart(n)
            | Fault::Pause(n)
            | Fault::Resume(n)
            | Fault::Join(n)
            | Fault::Leave(n)
            | Fault::Isolate(n) => n.0,
            Fault::ClockDrift { node, .. } | Fault::ClockJump { node, .. } => node.0,
            _ => u32::MAX,
        };
        let subject = node_of(&fault);
        // A node fault acts where the node runs: in a run hosted live across
        // processes, the process that hosts it.
        let node_fault = matches!(
            fault,
            Fault::Crash(_)
                | Fault::Restart(_)
                | Fault::Pause(_)
                | Fault::Resume(_)
                | Fault::Join(_)
                | Fault::Leave(_)
        );
        if node_fault && !self.kernel.hosts(NodeId(subject)) {
            return;
        }
        self.kernel
            .record_event(RecordKind::Fault, subject, fault.name(), || {
                format!("{fault:?}")
            });
        let now = self.kernel.now;
        let net = &mut self.kernel.network;
        match fault {
            Fault::Crash(n) => {
                let status = &mut self.kernel.status[n.index()];
                if matches!(*status, NodeStatus::Up | NodeStatus::Paused) {
                    *status = NodeStatus::Crashed;
                    self.kernel.nodes[n.index()].incarnation += 1;
                    self.kernel.drop_backlog(n, DropReason::NodeDown);
                    self.nodes[n.index()].0.on_crash();
                }
            }
            Fault::Restart(n) => {
                if self.kernel.status[n.index()] == NodeStatus::Crashed {
                    self.start(n, true);
                }
            }
            Fault::Pause(n) => {
                let status = &mut self.kernel.status[n.index()];
                if *status == NodeStatus::Up {
                    *status = NodeStatus::Paused;
                }
            }
            Fault::Resume(n) => {
                let status = &mut self.kernel.status[n.index()];
                if *status == NodeStatus::Paused {
                    *status = NodeStatus::Up;
                    if !self.kernel.nodes[n.index()].backlog.is_empty() {
                        self.resumed.push_back(n);
                    }
                }
            }
            Fault::Join(n) => {
                if self.kernel.status[n.index()] == NodeStatus::NotStarted {
                    self.start(n, false);
                }
            }
            Fault::Leave(n) => {
                if matches!(
                    self.kernel.status[n.index()],
                    NodeStatus::Up | NodeStatus::Paused
                ) {
                    let mut ctx = SimContext {
                        kernel: &mut self.kernel,
                        id: n,
                    };
                    self.nodes[n.index()].0.on_leave(&mut ctx);
                    self.kernel.status[n.index()] = NodeStatus::Left;
                    self.kernel.nodes[n.index()].incarnation += 1;
                    self.kernel.drop_backlog(n, DropReason::NodeAbsent);
                }
            }
            Fault::CutLink { a, b, one_way } => {
                net.set_link_up(a, b, false);
                if !one_way {
                    net.set_link_up(b, a, false);
                }
            }
            Fault::RestoreLink { a, b, one_way } => {
                net.set_link_up(a, b, true);
                if !one_way {
                    net.set_link_up(b, a, true);
                }
            }
            Fault::Partition(groups) => net.partition(&groups),
            Fault::PartitionOneWay { from, to } => net.partition_one_way(&from, &to),
            Fault::Isolate(n) => net.isolate(n),
            Fault::Heal => net.heal(),
            Fault::SetLink { from, to, params } => {
                let new = params.apply(net.params(from, to));
                net.set_link(from, to, new);
            }
            Fault::SetDefaultLink(params) => {
                let new = params.apply(net.default_params());
                net.set_default(new);
            }
            Fault::ClockDrift { node, ppm } => self.kernel.nodes[node.index()]
                .clock
                .set_drift_ppm(now, ppm),
            Fault::ClockJump { node, by } => self.kernel.nodes[node.index()].clock.jump(now, by.0),
        }
    }

    fn check_invariants(&mut self, what: EventLabel) {
        let world = World {
            nodes: &self.nodes,
            kernel: &self.kernel,
            changed: if self.full_checks {
                Changed::Everything
            } else {
                what.changed()
            },
        };
        for inv in &mut self.invariants {
            if let Err(message) = inv.check(&world) {
                self.violation = Some(Violation {
                    invariant: inv.name().to_owned(),
                    time: self.kernel.now,
                    message,
                    event: what.describe(&self.kernel),
                });
                return;
            }
        }
    }
}

/// The event just processed, kept cheap to build (formatted only on a violation).
enum EventLabel {
    Deliver(NodeId, NodeId, &'static str),
    Depart(NodeId, NodeId, &'static str),
    Timer(NodeId, &'static str),
    Start(NodeId),
    /// A fault's name, and the node it is aimed at when it changes only that node.
    Fault(&'static str, Option<NodeId>),
}

impl EventLabel {
    /// What the event may have changed.
    fn changed(&self) -> Changed {
        match *self {
            EventLabel::Deliver(_, to, _) => Changed::Node(to),
            EventLabel::Depart(..) => Changed::Nothing,
            EventLabel::Timer(n, _) | EventLabel::Start(n) | EventLabel::Fault(_, Some(n)) => {
                Changed::Node(n)
            }
            EventLabel::Fault(_, None) => Changed::Everything,
        }
    }

    fn describe<N: Node>(&self, k: &Kernel<N>) -> String {
        let name = |n: &NodeId| k.nodes[n.index()].name.as_str();
        match self {
            EventLabel::Deliver(from, to, kind) => {
                format!("delivery of {kind} from {} to {}", name(from), name(to))
            }
            EventLabel::Depart(from, to, kind) => {
                format!("departure of {kind} from {} to {}", name(from), name(to))
            }
            EventLabel::Timer(n, kind) => format!("timer {kind} of {}", name(n)),
            EventLabel::Start(n) => format!("start of {}", name(n)),
            EventLabel::Fault(f, _) => format!("fault {f}"),
        }
    }
}
