//! The network model: directed links with latency distributions, jitter, bandwidth and a
//! byte-bounded FIFO queue, loss, duplication, reordering and MTU, plus the faults that
//! act on links (cuts and partitions).
//!
//! | knob | default | real-world behaviour it models |
//! | --- | --- | --- |
//! | `latency` | `Constant("1ms")` | propagation and processing delay; `Uniform`, `Normal`, `LogNormal` (long tail of Wi-Fi paths), `Exponential`, `ShiftedGamma` (the best published fit of Internet one-way delay) |
//! | `jitter` | `"0s"` | extra delay drawn uniformly in `[0, jitter]` per message |
//! | `bandwidth_bps` | `None` (infinite) | serialization delay `size * 8 / bandwidth`; messages wait in a FIFO queue while the link is busy |
//! | `queue_bytes` | `None` (unbounded) | the interface buffer: a message that does not fit is tail-dropped (`queue_full`); a large buffer shows bufferbloat |
//! | `loss` | `0.0` | independent loss per packet (per fragment when fragmenting) |
//! | `duplicate` | `0.0` | a retransmitting lower layer delivering a packet twice |
//! | `reorder` | `0.0` | probability that a packet takes a slower path and is held an extra `[0, reorder_delay]` |
//! | `reorder_delay` | `"0s"` | the largest extra hold of a reordered packet |
//! | `fifo` | `false` | a TCP-like channel: never delivers out of send order (incompatible with `reorder`) |
//! | `mtu` | `None` | the largest packet; larger messages are dropped (`exceeds_mtu`) or fragmented |
//! | `fragmentation` | `false` | split messages above the MTU; the message is lost if any fragment is |

use crate::node::NodeId;
use crate::rng::{SimRng, chance, exponential, gamma, standard_normal, unit_f64};
use crate::time::SimTime;
use crate::trace::DropReason;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, DefaultHasher};

/// How long a message takes to propagate once it has left the sender's interface.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Latency {
    /// Always the same delay.
    Constant(SimTime),
    /// Uniform in `[min, max]`.
    Uniform {
        /// Smallest delay.
        min: SimTime,
        /// Largest delay.
        max: SimTime,
    },
    /// Normal with the given mean and standard deviation, truncated at zero.
    Normal {
        /// Mean delay.
        mean: SimTime,
        /// Standard deviation.
        std_dev: SimTime,
    },
    /// Log-normal with the given median and shape `sigma` (the long tail of real paths).
    LogNormal {
        /// Median delay (`exp(mu)`).
        median: SimTime,
        /// Standard deviation of the underlying normal; 0 gives a constant.
        sigma: f64,
    },
    /// `shift` plus a gamma variable of the given shape and scale: the published fit of
    /// one-way Internet delay (shape 2.5, scale 1 ms, shift 7.5 ms domestic).
    ShiftedGamma {
        /// The floor: propagation along the path.
        shift: SimTime,
        /// Gamma shape `k > 0`.
        shape: f64,
        /// Gamma scale (mean of the variable part is `shape * scale`).
        scale: SimTime,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean delay.
        mean: SimTime,
    },
}

impl Latency {
    /// Draw one delay from `rng`.
    pub fn sample(&self, rng: &mut SimRng) -> SimTime {
        let ns = match *self {
            Latency::Constant(d) => return d,
            Latency::Uniform { min, max } => {
                let span = max.0 - min.0;
                return SimTime(
                    min.0 + (unit_f64(rng) * (span as f64 + 1.0)).min(span as f64) as u64,
                );
            }
            Latency::Normal { mean, std_dev } => {
                mean.0 as f64 + std_dev.0 as f64 * standard_normal(rng)
            }
            Latency::LogNormal { median, sigma } => {
                median.0 as f64 * (sigma * standard_normal(rng)).exp()
            }
            Latency::Exponential { mean } => exponential(rng, mean.0 as f64),
            Latency::ShiftedGamma {
                shift,
                shape,
                scale,
            } => shift.0 as f64 + gamma(rng, shape, scale.0 as f64),
        };
        SimTime(ns.max(0.0).round() as u64)
    }

    /// Whether every draw is the same (so the link needs no random stream for it).
    pub fn is_constant(&self) -> bool {
        matches!(self, Latency::Constant(_))
    }

    fn validate(&self) -> Result<(), String> {
        match *self {
            Latency::Uniform { min, max } if min > max => Err(format!(
                "latency: Uniform min ({min}) is larger than max ({max})"
            )),
            Latency::ShiftedGamma { shape, .. } if !(shape.is_finite() && shape > 0.0) => Err(
                format!("latency: ShiftedGamma shape must be a finite number > 0, got {shape}"),
            ),
            Latency::LogNormal { sigma, .. } if !(sigma.is_finite() && sigma >= 0.0) => Err(
                format!("latency: LogNormal sigma must be a finite number >= 0, got {sigma}"),
            ),
            _ => Ok(()),
        }
    }
}

/// The parameters of one directed link (or the network's default for every link).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkParams {
    /// Propagation delay distribution.
    pub latency: Latency,
    /// Extra delay, uniform in `[0, jitter]`.
    pub jitter: SimTime,
    /// Link rate in bits per second; `None` is infinitely fast.
    pub bandwidth_bps: Option<u64>,
    /// Capacity of the sender-side queue in bytes (tail drop); `None` is unbounded.
    pub queue_bytes: Option<u64>,
    /// Probability of losing a packet.
    pub loss: f64,
    /// Probability of delivering a packet twice.
    pub duplicate: f64,
    /// Probability of holding a packet an extra `[0, reorder_delay]`.
    pub reorder: f64,
    /// Largest extra hold of a reordered packet.
    pub reorder_delay: SimTime,
    /// Never deliver out of send order.
    pub fifo: bool,
    /// Largest packet in bytes; `None` is unlimited.
    pub mtu: Option<u32>,
    /// Split messages larger than `mtu` instead of dropping them.
    pub fragmentation: bool,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams {
            latency: Latency::Constant(SimTime::from_millis(1)),
            jitter: SimTime::ZERO,
            bandwidth_bps: None,
            queue_bytes: None,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: SimTime::ZERO,
            fifo: false,
            mtu: None,
            fragmentation: false,
        }
    }
}

impl LinkParams {
    /// Check every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), String> {
        self.latency.validate()?;
        for (name, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be a probability in [0, 1], got {p}"));
            }
        }
        if self.bandwidth_bps == Some(0) {
            return Err("bandwidth_bps must be positive (a zero-capacity link carries nothing); leave it out for an infinitely fast link".into());
        }
        if self.queue_bytes == Some(0) {
            return Err("queue_bytes must be positive (a zero-capacity queue drops everything); leave it out for an unbounded queue".into());
        }
        if self.mtu == Some(0) {
            return Err("mtu must be positive; leave it out for no limit".into());
        }
        if self.fifo && self.reorder > 0.0 {
            return Err(
                "a link cannot be both fifo and reordering: set reorder to 0 or fifo to false"
                    .into(),
            );
        }
        Ok(())
    }

    /// Whether the link keeps state between messages: an interface queue (bandwidth)
    /// or the FIFO watermark. Only such links get a [`LinkState`]; the random draws of
    /// every other link come from its sender's network stream.
    fn needs_link_state(&self) -> bool {
        self.bandwidth_bps.is_some() || self.fifo
    }
}

/// A partial change of link parameters: every field left out keeps its value from the
/// base it is applied to (the network default, a preset, or the link's current
/// parameters). Scenario overrides and the `SetLink` fault are patches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkPatch {
    /// A named preset (`"campus-wifi"`, ...) the other fields change. Presets live in
    /// `hardware-models`; whoever reads a patch expands it with
    /// [`LinkPatch::expand_preset`] before applying it (the scenario loader does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// See [`LinkParams::latency`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// See [`LinkParams::jitter`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<SimTime>,
    /// See [`LinkParams::bandwidth_bps`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth_bps: Option<u64>,
    /// See [`LinkParams::queue_bytes`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_bytes: Option<u64>,
    /// See [`LinkParams::loss`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// See [`LinkParams::duplicate`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
    /// See [`LinkParams::reorder`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder: Option<f64>,
    /// See [`LinkParams::reorder_delay`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reorder_delay: Option<SimTime>,
    /// See [`LinkParams::fifo`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fifo: Option<bool>,
    /// See [`LinkParams::mtu`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// See [`LinkParams::fragmentation`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fragmentation: Option<bool>,
}

impl LinkPatch {
    /// A patch that sets every field to `params`.
    pub fn from_params(params: &LinkParams) -> LinkPatch {
        LinkPatch {
            preset: None,
            latency: Some(params.latency.clone()),
            jitter: Some(params.jitter),
            bandwidth_bps: params.bandwidth_bps,
            queue_bytes: params.queue_bytes,
            loss: Some(params.loss),
            duplicate: Some(params.duplicate),
            reorder: Some(params.reorder),
            reorder_delay: Some(params.reorder_delay),
            fifo: Some(params.fifo),
            mtu: params.mtu,
            fragmentation: Some(params.fragmentation),
        }
    }

    /// Replace the preset name by the preset's parameters (the fields this patch sets
    /// still win); `lookup` maps a preset name to its parameters.
    pub fn expand_preset(
        &self,
        lookup: impl Fn(&str) -> Option<LinkParams>,
    ) -> Result<LinkPatch, String> {
        let Some(name) = &self.preset else {
            return Ok(self.clone());
        };
        let base = lookup(name).ok_or_else(|| format!("unknown link preset {name:?}"))?;
        let own = LinkPatch {
            preset: None,
            ..self.clone()
        };
        Ok(LinkPatch::from_params(&own.apply(&base)))
    }

    /// `base` with every field this patch sets replaced (a preset must have been
    /// expanded first).
    pub fn apply(&self, base: &LinkParams) -> LinkParams {
        debug_assert!(
            self.preset.is_none() || self.latency.is_some(),
            "link preset {:?} applied without expanding it",
            self.preset
        );
        let mut p = base.clone();
        if let Some(v) = &self.latency {
            p.latency = v.clone();
        }
        macro_rules! copy_fields {
            ($($field:ident),*) => {$(
                if let Some(v) = self.$field { p.$field = v.into(); }
            )*};
        }
        copy_fields!(
            jitter,
            loss,
            duplicate,
            reorder,
            reorder_delay,
            fifo,
            fragmentation
        );
        if self.bandwidth_bps.is_some() {
            p.bandwidth_bps = self.bandwidth_bps;
        }
        if self.queue_bytes.is_some() {
            p.queue_bytes = self.queue_bytes;
        }
        if self.mtu.is_some() {
            p.mtu = self.mtu;
        }
        p
    }
}

/// A partition in force.
#[derive(Clone, Debug, PartialEq)]
enum Partition {
    /// Nodes in different groups cannot talk; nodes in no group are unaffected.
    Groups(BTreeMap<NodeId, usize>),
    /// Messages from any node of `from` to any node of `to` are dropped.
    OneWay {
        from: BTreeSet<NodeId>,
        to: BTreeSet<NodeId>,
    },
    /// The node can neither send nor receive.
    Isolate(NodeId),
}

impl Partition {
    fn blocks(&self, from: NodeId, to: NodeId) -> bool {
        match self {
            Partition::Groups(group) => match (group.get(&from), group.get(&to)) {
                (Some(a), Some(b)) => a != b,
                _ => false,
            },
            Partition::OneWay { from: f, to: t } => f.contains(&from) && t.contains(&to),
            Partition::Isolate(n) => (from == *n) != (to == *n),
        }
    }
}

/// The dynamic state of one directed link with a bandwidth or FIFO ordering, created the
/// first time it carries a message.
struct LinkState {
    /// The link's own random stream (`link:<from>-><to>`).
    rng: SimRng,
    /// The interface queue and the FIFO watermark.
    flow: LinkFlow,
}

/// What a stateful link remembers between messages.
#[derive(Default)]
struct LinkFlow {
    /// When the interface finishes sending what is queued.
    busy_until: SimTime,
    /// (time the message leaves the interface, its size) for messages still queued.
    in_queue: VecDeque<(SimTime, u64)>,
    queued_bytes: u64,
    /// Latest delivery time handed out, for FIFO links.
    last_delivery: SimTime,
}

impl LinkFlow {
    /// Queue `bytes` sent at `now` behind what the interface is still sending, at `bps`
    /// bits per second; the time the message leaves the interface, or `QueueFull` when
    /// it does not fit in `cap` bytes.
    fn enqueue(
        &mut self,
        now: SimTime,
        bytes: u64,
        bps: u64,
        cap: Option<u64>,
    ) -> Result<SimTime, DropReason> {
        while let Some(&(done, queued)) = self.in_queue.front() {
            if done > now {
                break;
            }
            self.in_queue.pop_front();
            self.queued_bytes -= queued;
        }
        if let Some(cap) = cap
            && self.queued_bytes + bytes > cap
        {
            return Err(DropReason::QueueFull);
        }
        let serialization =
            SimTime(((u128::from(bytes) * 8 * 1_000_000_000).div_ceil(u128::from(bps))) as u64);
        let departure = self.busy_until.max(now) + serialization;
        self.busy_until = departure;
        self.in_queue.push_back((departure, bytes));
        self.queued_bytes += bytes;
        Ok(departure)
    }
}

/// The network's answer for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transmission {
    /// Deliver at `at`; when `duplicate_at` is set, a copy arrives then too.
    Deliver {
        /// Delivery time of the message.
        at: SimTime,
        /// Delivery time of a duplicate, if the link made one.
        duplicate_at: Option<SimTime>,
    },
    /// The message is gone.
    Drop(DropReason),
}

/// All links of a simulation: parameters, topology, faults in force, per-link state.
pub struct Network {
    seed: u64,
    default: LinkParams,
    overrides: BTreeMap<(NodeId, NodeId), LinkParams>,
    /// Directed adjacency when the scenario gives a topology; `None` means every node
    /// reaches every other.
    topology: Option<BTreeSet<(NodeId, NodeId)>>,
    cut: BTreeSet<(NodeId, NodeId)>,
    partitions: Vec<Partition>,
    /// Every node's network stream (`net:<name>`), by node index: the random draws
    /// (latency, jitter, loss, duplication, reordering) of the links without
    /// [`LinkState`] come from their sender's stream. A link then costs nothing to keep,
    /// however many of the N² links a run touches, and the network's draws stay apart
    /// from the nodes' own streams.
    senders: Vec<SimRng>,
    /// Per-link state of the links with a bandwidth or FIFO ordering, created on a
    /// link's first message. Only ever looked up by key, never iterated, so a hash map
    /// cannot change a run; its hasher has fixed keys so that even the memory layout is
    /// the same from run to run.
    links: HashMap<(NodeId, NodeId), LinkState, BuildHasherDefault<DefaultHasher>>,
    /// Whether any message has gone through [`Network::transmit`]. Until one has, the
    /// event loop's prefetch of the next sender's stream is skipped: in a model that
    /// never sends through the network (PHOLD) it only pushed node streams out of cache.
    carried: bool,
}

impl Network {
    /// A fully connected network where every link has `default` parameters.
    pub fn new(seed: u64, default: LinkParams) -> Self {
        Network {
            seed,
            default,
            overrides: BTreeMap::new(),
            topology: None,
            cut: BTreeSet::new(),
            partitions: Vec::new(),
            senders: Vec::new(),
            links: HashMap::default(),
            carried: false,
        }
    }

    /// Register the next node (ids are given in order: the first call is node 0) under
    /// its unique `name`, which keys its network stream. Every node that sends must be
    /// registered; [`Simulation`](crate::Simulation) does it when a node is added.
    pub fn add_node(&mut self, name: &str) -> NodeId {
        self.senders
            .push(crate::rng::component_rng(self.seed, &format!("net:{name}")));
        NodeId((self.senders.len() - 1) as u32)
    }

    /// Restrict connectivity to the given directed links.
    pub fn set_topology(&mut self, links: impl IntoIterator<Item = (NodeId, NodeId)>) {
        self.topology = Some(links.into_iter().collect());
    }

    /// Add one directed link to the topology (for nodes joining at run time); no-op on a
    /// fully connected network.
    pub fn add_topology_link(&mut self, from: NodeId, to: NodeId) {
        if let Some(t) = &mut self.topology {
            t.insert((from, to));
        }
    }

    /// The directed links of the topology, if it restricts connectivity.
    pub fn topology(&self) -> Option<&BTreeSet<(NodeId, NodeId)>> {
        self.topology.as_ref()
    }

    /// Replace the parameters every link without an override uses.
    pub fn set_default(&mut self, params: LinkParams) {
        self.default = params;
    }

    /// The parameters of links without their own.
    pub fn default_params(&self) -> &LinkParams {
        &self.default
    }

    /// Give the directed link `from -> to` its own parameters.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, params: LinkParams) {
        self.overrides.insert((from, to), params);
    }

    /// The parameters in force on `from -> to`.
    pub fn params(&self, from: NodeId, to: NodeId) -> &LinkParams {
        self.overrides.get(&(from, to)).unwrap_or(&self.default)
    }

    /// Cut (`up == false`) or restore the directed link.
    pub fn set_link_up(&mut self, from: NodeId, to: NodeId, up: bool) {
        if up {
            self.cut.remove(&(from, to));
        } else {
            self.cut.insert((from, to));
        }
    }

    /// Separate the groups from each other (nodes in no group are unaffected).
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        let map = groups
            .iter()
            .enumerate()
            .flat_map(|(i, g)| g.iter().map(move |n| (*n, i)))
            .collect();
        self.partitions.push(Partition::Groups(map));
    }

    /// Drop everything sent from a node of `from` to a node of `to` (not the reverse).
    pub fn partition_one_way(&mut self, from: &[NodeId], to: &[NodeId]) {
        self.partitions.push(Partition::OneWay {
            from: from.iter().copied().collect(),
            to: to.iter().copied().collect(),
        });
    }

    /// Cut a node off from everyone, both ways.
    pub fn isolate(&mut self, node: NodeId) {
        self.partitions.push(Partition::Isolate(node));
    }

    /// End every partition (link cuts stay until restored).
    pub fn heal(&mut self) {
        self.partitions.clear();
    }

    /// Why `from -> to` cannot carry a message now, if it cannot.
    pub fn blocked(&self, from: NodeId, to: NodeId) -> Option<DropReason> {
        if let Some(t) = &self.topology
            && from != to
            && !t.contains(&(from, to))
        {
            return Some(DropReason::NoRoute);
        }
        if !self.cut.is_empty() && self.cut.contains(&(from, to)) {
            return Some(DropReason::LinkDown);
        }
        if self.partitions.iter().any(|p| p.blocks(from, to)) {
            return Some(DropReason::Partitioned);
        }
        None
    }

    /// Prefetch `node`'s network stream: the event loop calls this for the node of the
    /// next event, which may send.
    #[inline(always)]
    pub(crate) fn warm_sender(&self, node: NodeId) {
        if self.carried
            && let Some(rng) = self.senders.get(node.index())
        {
            crate::prefetch::prefetch(rng);
        }
    }

    /// Decide what happens to a message of `size` bytes sent at `now` on `from -> to`.
    /// `link_name` names the random stream of a link with a bandwidth or FIFO ordering;
    /// it is called only the first time such a link carries a message.
    ///
    /// The kernel calls it for every send. It is public for crates above the kernel
    /// that sample a link model on a network of their own, outside any simulation
    /// (`hardware_models::stats` measures a preset's delivery statistics this way):
    /// those draws never reach a trace.
    ///
    /// # Panics
    /// If the link draws from its sender's stream and `from` was never registered with
    /// [`Network::add_node`].
    pub fn transmit(
        &mut self,
        now: SimTime,
        from: NodeId,
        to: NodeId,
        size: u32,
        link_name: impl FnOnce() -> String,
    ) -> Transmission {
        self.carried = true;
        if let Some(reason) = self.blocked(from, to) {
            return Transmission::Drop(reason);
        }
        let params = if self.overrides.is_empty() {
            &self.default
        } else {
            self.overrides.get(&(from, to)).unwrap_or(&self.default)
        };
        let fragments = match params.mtu {
            Some(mtu) if size > mtu => {
                if !params.fragmentation {
                    return Transmission::Drop(DropReason::ExceedsMtu);
                }
                size.div_ceil(mtu)
            }
            _ => 1,
        };
        let (rng, mut flow) = if params.needs_link_state() {
            let seed = self.seed;
            let state = self.links.entry((from, to)).or_insert_with(|| LinkState {
                rng: crate::rng::component_rng(seed, &link_name()),
                flow: LinkFlow::default(),
            });
            (&mut state.rng, Some(&mut state.flow))
        } else {
            let Some(rng) = self.senders.get_mut(from.index()) else {
                panic!("node {from:?} sends through a network it was never added to");
            };
            (rng, None)
        };
        let mut departure = now;
        if let (Some(bps), Some(flow)) = (params.bandwidth_bps, flow.as_deref_mut()) {
            match flow.enqueue(now, u64::from(size), bps, params.queue_bytes) {
                Ok(leaves) => departure = leaves,
                Err(reason) => return Transmission::Drop(reason),
            }
        }
        // Loss happens on the wire, after the interface: a lost packet has used its
        // share of the link. Every fragment must survive (a per-packet model).
        for _ in 0..fragments {
            if chance(rng, params.loss) {
                return Transmission::Drop(DropReason::Loss);
            }
        }
        let arrival = |rng: &mut SimRng, flow: Option<&mut LinkFlow>| {
            let mut at = departure + params.latency.sample(rng);
            if params.jitter > SimTime::ZERO {
                at += SimTime((unit_f64(rng) * params.jitter.0 as f64) as u64);
            }
            if chance(rng, params.reorder) {
                at += SimTime((unit_f64(rng) * params.reorder_delay.0 as f64) as u64);
            }
            if params.fifo
                && let Some(flow) = flow
            {
                at = at.max(flow.last_delivery);
                flow.last_delivery = at;
            }
            at
        };
        let at = arrival(rng, flow.as_deref_mut());
        let duplicate_at = chance(rng, params.duplicate).then(|| arrival(rng, flow));
        Transmission::Deliver { at, duplicate_at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A network of two registered nodes, 0 and 1.
    fn two_nodes(seed: u64, params: LinkParams) -> Network {
        let mut net = Network::new(seed, params);
        net.add_node("a");
        net.add_node("b");
        net
    }

    fn send_many(params: LinkParams, n: usize, gap: SimTime) -> Vec<Transmission> {
        let mut net = two_nodes(1, params);
        (0..n)
            .map(|i| {
                net.transmit(
                    SimTime(gap.0 * i as u64),
                    NodeId(0),
                    NodeId(1),
                    1000,
                    || "l".into(),
                )
            })
            .collect()
    }

    #[test]
    fn serialization_delay_and_fifo_queue() {
        // 1000 bytes at 8 Mb/s take 1 ms; sent back to back they leave 1 ms apart.
        let params = LinkParams {
            latency: Latency::Constant(SimTime::from_millis(10)),
            bandwidth_bps: Some(8_000_000),
            ..LinkParams::default()
        };
        let out = send_many(params, 3, SimTime::ZERO);
        let at: Vec<u64> = out
            .iter()
            .map(|t| match t {
                Transmission::Deliver { at, .. } => at.0,
                Transmission::Drop(r) => panic!("dropped {r:?}"),
            })
            .collect();
        assert_eq!(at, vec![11_000_000, 12_000_000, 13_000_000]);
    }

    #[test]
    fn a_lost_packet_still_uses_the_link() {
        // 1000 bytes at 8 Mb/s take 1 ms; two lost packets hold the interface 2 ms.
        let lossy = LinkParams {
            bandwidth_bps: Some(8_000_000),
            loss: 1.0,
            ..LinkParams::default()
        };
        let mut net = two_nodes(1, lossy.clone());
        let send = |net: &mut Network| {
            net.transmit(SimTime::ZERO, NodeId(0), NodeId(1), 1000, || "l".into())
        };
        assert_eq!(send(&mut net), Transmission::Drop(DropReason::Loss));
        assert_eq!(send(&mut net), Transmission::Drop(DropReason::Loss));
        net.set_link(NodeId(0), NodeId(1), LinkParams { loss: 0.0, ..lossy });
        assert_eq!(
            send(&mut net),
            Transmission::Deliver {
                at: SimTime::from_millis(4),
                duplicate_at: None
            }
        );
    }

    #[test]
    fn bounded_queue_tail_drops() {
        let params = LinkParams {
            bandwidth_bps: Some(8_000_000),
            queue_bytes: Some(2500),
            ..LinkParams::default()
        };
        let out = send_many(params, 4, SimTime::ZERO);
        assert!(matches!(out[1], Transmission::Deliver { .. }));
        assert_eq!(out[2], Transmission::Drop(DropReason::QueueFull));
        assert_eq!(out[3], Transmission::Drop(DropReason::QueueFull));
    }

    #[test]
    fn loss_rate_matches_parameter() {
        let params = LinkParams {
            loss: 0.2,
            ..LinkParams::default()
        };
        let out = send_many(params, 50_000, SimTime(1));
        let lost = out
            .iter()
            .filter(|t| matches!(t, Transmission::Drop(DropReason::Loss)))
            .count();
        let rate = lost as f64 / 50_000.0;
        assert!((rate - 0.2).abs() < 0.01, "loss rate {rate}");
    }

    #[test]
    fn fifo_link_never_reorders_despite_jitter() {
        let params = LinkParams {
            latency: Latency::Exponential {
                mean: SimTime::from_millis(5),
            },
            jitter: SimTime::from_millis(5),
            fifo: true,
            ..LinkParams::default()
        };
        let out = send_many(params, 1000, SimTime(1000));
        let mut last = SimTime::ZERO;
        for t in out {
            let Transmission::Deliver { at, .. } = t else {
                panic!()
            };
            assert!(at >= last);
            last = at;
        }
    }

    /// Lossy, jittery links without bandwidth or FIFO keep no state, however many of
    /// them carry messages; their draws come from the sender's stream, so a sender's
    /// outcomes depend on the order of its sends and not on which link each took.
    #[test]
    fn links_without_queue_or_fifo_keep_no_state() {
        let lossy = LinkParams {
            jitter: SimTime::from_millis(1),
            loss: 0.3,
            ..LinkParams::default()
        };
        let mut net = Network::new(3, lossy.clone());
        for name in ["a", "b", "c", "d"] {
            net.add_node(name);
        }
        let outcomes = |net: &mut Network, to: &dyn Fn(u32) -> u32| -> Vec<Transmission> {
            (0..200)
                .map(|i| net.transmit(SimTime::ZERO, NodeId(0), NodeId(to(i)), 10, || "l".into()))
                .collect()
        };
        let round_robin = outcomes(&mut net, &|i| 1 + i % 3);
        assert!(net.links.is_empty());
        let mut again = Network::new(3, lossy.clone());
        for name in ["a", "b", "c", "d"] {
            again.add_node(name);
        }
        assert_eq!(outcomes(&mut again, &|_| 1), round_robin);
        let lost = round_robin
            .iter()
            .filter(|t| **t == Transmission::Drop(DropReason::Loss))
            .count();
        assert!((30..90).contains(&lost), "{lost} of 200 lost");
        // A link with a bandwidth keeps its queue (and its own stream).
        net.set_link(
            NodeId(1),
            NodeId(2),
            LinkParams {
                bandwidth_bps: Some(1_000_000),
                ..lossy
            },
        );
        net.transmit(SimTime::ZERO, NodeId(1), NodeId(2), 10, || "l".into());
        assert_eq!(net.links.len(), 1);
    }

    #[test]
    fn partitions_block_the_right_directions() {
        let mut net = Network::new(0, LinkParams::default());
        let (a, b, c) = (NodeId(0), NodeId(1), NodeId(2));
        net.partition_one_way(&[a], &[b]);
        assert_eq!(net.blocked(a, b), Some(DropReason::Partitioned));
        assert_eq!(net.blocked(b, a), None);
        net.heal();
        net.partition(&[vec![a], vec![b, c]]);
        assert_eq!(net.blocked(a, c), Some(DropReason::Partitioned));
        assert_eq!(net.blocked(b, c), None);
        net.heal();
        net.isolate(c);
        assert_eq!(net.blocked(c, a), Some(DropReason::Partitioned));
        assert_eq!(net.blocked(a, b), None);
    }

    #[test]
    fn validation_names_the_field() {
        let bad = LinkParams {
            loss: 1.5,
            ..LinkParams::default()
        };
        assert!(bad.validate().unwrap_err().contains("loss"));
        let bad = LinkParams {
            bandwidth_bps: Some(0),
            ..LinkParams::default()
        };
        assert!(bad.validate().unwrap_err().contains("bandwidth_bps"));
        let bad = LinkParams {
            fifo: true,
            reorder: 0.1,
            ..LinkParams::default()
        };
        assert!(bad.validate().unwrap_err().contains("fifo"));
    }
}
