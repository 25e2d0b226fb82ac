//! The channel between two neighbouring peers: what GHS assumes of its links.
//!
//! GHS (and the wave and channel messages around it) assume that every message sent to
//! a neighbour arrives, once, and in the order sent. [`Channel::Bare`] sends each
//! message as one datagram and leaves that to the network (the report's assumption:
//! ideal links with `fifo: true`). [`Channel::Reliable`] gives it over links that lose,
//! duplicate, reorder and delay, with the reliable-datagram scheme of
//! [`transport`](crate::transport) (an incarnation number that survives a crash, the
//! sender's lowest pending id as the receiver's floor, an ACK for every copy, a fixed
//! retransmission timeout) plus a sequence number per neighbour for FIFO delivery:
//! - The sender numbers its messages to each neighbour (0, 1, ...), keeps them until
//!   acknowledged, and retransmits every pending one every `retransmit`. Each segment
//!   carries the sender's incarnation and `base`, its lowest pending number.
//! - The receiver holds segments until the ones before them arrived, delivers in
//!   order, drops copies, and answers every segment with the cumulative point (all
//!   numbers below it received). A segment of a newer incarnation of its sender starts
//!   a new stream; one of an older incarnation is dropped. A receiver with no record
//!   of a stream (it restarted) starts it at `base`.
//! - The channel never gives up on a neighbour the peer still talks to. It drops what
//!   is pending to a neighbour only once the peer has dropped the neighbour (silence
//!   for `dead_after`, a goodbye, the echo timeout, or a `Hello` that went unanswered):
//!   the protocol already handles that loss (channels over the link break, a new
//!   session starts). The next segment's `base` then tells the receiver to skip them.
//!
//! Acknowledgements do not count as signs of life: a peer that dropped a neighbour
//! still acknowledges its segments, and the neighbour must notice the silence.
//!
//! [`Wire`] is the context the peer's handlers act through: every `ctx.send` of the
//! peer goes through its [`Link`], so the protocol code is the same in both modes.

use super::messages::{WpMsg, WpTimer};
use serde::{Deserialize, Serialize};
use sim_core::{Context, LinkParams, Metrics, NodeId, SimRng, SimTime, TimerId};
use std::collections::BTreeMap;

/// How peers' messages travel between neighbours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    /// One datagram per message: the links must be lossless and FIFO (`fifo: true`),
    /// as the report assumes. The measurement scenarios use it.
    #[default]
    Bare,
    /// Acknowledged, retransmitted, deduplicated and FIFO per neighbour pair.
    Reliable {
        /// Retransmission timeout of a pending message (fixed, as for the transport's
        /// reliable datagrams).
        retransmit: SimTime,
    },
}

/// What a peer has sent to one neighbour.
#[derive(Clone, Debug, Default)]
struct Tx {
    /// The number of the next message.
    next: u64,
    /// Messages not acknowledged yet, by number, with when each was last sent (on the
    /// node's monotonic clock).
    pending: BTreeMap<u64, (SimTime, WpMsg)>,
    /// Whether a retransmission timer is set.
    armed: bool,
}

impl Tx {
    /// The receiver may skip everything below this.
    fn base(&self) -> u64 {
        self.pending.keys().next().copied().unwrap_or(self.next)
    }
}

/// What a peer has received from one neighbour's incarnation.
#[derive(Clone, Debug)]
struct Rx {
    /// The sender's incarnation.
    inc: u32,
    /// Every message below this number was delivered.
    next: u64,
    /// Messages that came before their predecessors.
    held: BTreeMap<u64, WpMsg>,
}

/// A peer's end of the channels to its neighbours.
#[derive(Clone, Debug)]
pub struct Link {
    /// The mode.
    channel: Channel,
    /// This peer's incarnation: one more after every crash (it survives crashes, as
    /// the transport endpoint's does).
    inc: u32,
    /// Per neighbour, what was sent.
    tx: BTreeMap<u32, Tx>,
    /// Per neighbour, what was received.
    rx: BTreeMap<u32, Rx>,
}

impl Link {
    /// A peer's channels in mode `channel`.
    pub fn new(channel: Channel) -> Link {
        Link {
            channel,
            inc: 0,
            tx: BTreeMap::new(),
            rx: BTreeMap::new(),
        }
    }

    /// The peer crashed: every stream is gone; the next incarnation starts new ones.
    pub fn crash(&mut self) {
        self.inc += 1;
        self.tx.clear();
        self.rx.clear();
    }

    /// Send `msg` to `to`: as it is (bare), or numbered and kept until acknowledged.
    pub fn send(&mut self, ctx: &mut impl Context<WpMsg, WpTimer>, to: NodeId, msg: WpMsg) {
        let Channel::Reliable { retransmit } = self.channel else {
            return ctx.send(to, msg);
        };
        let tx = self.tx.entry(to.0).or_default();
        let seq = tx.next;
        tx.next += 1;
        tx.pending.insert(seq, (ctx.monotonic(), msg.clone()));
        let base = tx.base();
        if !tx.armed {
            tx.armed = true;
            ctx.set_timer(retransmit, WpTimer::Retransmit { to: to.0 });
        }
        let inc = self.inc;
        ctx.send(to, segment(inc, seq, base, msg));
    }

    /// A segment from `from` arrived: acknowledge it and return the messages now
    /// deliverable, in order.
    pub fn on_segment(
        &mut self,
        ctx: &mut impl Context<WpMsg, WpTimer>,
        from: NodeId,
        inc: u32,
        seq: u64,
        base: u64,
        msg: WpMsg,
    ) -> Vec<WpMsg> {
        let rx = self.rx.entry(from.0).or_insert(Rx {
            inc,
            next: base,
            held: BTreeMap::new(),
        });
        if inc < rx.inc {
            // From an incarnation of the sender that has crashed since.
            ctx.metrics().add("link_stale", 1.0);
            return Vec::new();
        }
        if inc > rx.inc {
            *rx = Rx {
                inc,
                next: base,
                held: BTreeMap::new(),
            };
        }
        if base > rx.next {
            // The sender gave up on what lies below (it had dropped this peer).
            rx.next = base;
            rx.held = rx.held.split_off(&base);
        }
        if seq < rx.next || rx.held.contains_key(&seq) {
            ctx.metrics().add("link_duplicates", 1.0);
        } else {
            rx.held.insert(seq, msg);
        }
        let mut ready = Vec::new();
        while let Some(m) = rx.held.remove(&rx.next) {
            ready.push(m);
            rx.next += 1;
        }
        let upto = rx.next;
        ctx.send(from, WpMsg::Ack { inc, upto });
        ready
    }

    /// `from` acknowledged every message below `upto` of incarnation `inc`.
    pub fn on_ack(&mut self, from: NodeId, inc: u32, upto: u64) {
        if inc != self.inc {
            return;
        }
        if let Some(tx) = self.tx.get_mut(&from.0) {
            tx.pending = tx.pending.split_off(&upto);
        }
    }

    /// The retransmission timer for `to` fired: send again what has waited
    /// `retransmit` since it was last sent, or drop everything pending if the peer no
    /// longer talks to `to` (`keep` false).
    pub fn on_retransmit(&mut self, ctx: &mut impl Context<WpMsg, WpTimer>, to: u32, keep: bool) {
        let Channel::Reliable { retransmit } = self.channel else {
            return;
        };
        let inc = self.inc;
        let Some(tx) = self.tx.get_mut(&to) else {
            return;
        };
        tx.armed = false;
        if !keep {
            tx.pending.clear();
        }
        let now = ctx.monotonic();
        let base = tx.base();
        let mut oldest = None;
        for (&seq, (sent, msg)) in &mut tx.pending {
            if now.saturating_sub(*sent) >= retransmit {
                ctx.metrics().add("link_retransmissions", 1.0);
                ctx.send(NodeId(to), segment(inc, seq, base, msg.clone()));
                *sent = now;
            }
            oldest = Some(oldest.map_or(*sent, |o: SimTime| o.min(*sent)));
        }
        if let Some(oldest) = oldest {
            tx.armed = true;
            let due = (oldest + retransmit).saturating_sub(now);
            ctx.set_timer(due, WpTimer::Retransmit { to });
        }
    }
}

fn segment(inc: u32, seq: u64, base: u64, msg: WpMsg) -> WpMsg {
    WpMsg::Seg {
        inc,
        seq,
        base,
        msg: Box::new(msg),
    }
}

/// The context a peer's handlers act through: the node's own, with every send going
/// through the peer's [`Link`].
pub struct Wire<'a, C> {
    ctx: &'a mut C,
    link: &'a mut Link,
}

impl<'a, C: Context<WpMsg, WpTimer>> Wire<'a, C> {
    /// `ctx` with sends through `link`.
    pub fn new(ctx: &'a mut C, link: &'a mut Link) -> Self {
        Wire { ctx, link }
    }
}

impl<C: Context<WpMsg, WpTimer>> Context<WpMsg, WpTimer> for Wire<'_, C> {
    fn id(&self) -> NodeId {
        self.ctx.id()
    }
    fn name(&self) -> &str {
        self.ctx.name()
    }
    fn name_of(&self, node: NodeId) -> &str {
        self.ctx.name_of(node)
    }
    fn lookup(&self, name: &str) -> Option<NodeId> {
        self.ctx.lookup(name)
    }
    fn node_count(&self) -> usize {
        self.ctx.node_count()
    }
    fn is_up(&self, node: NodeId) -> bool {
        self.ctx.is_up(node)
    }
    fn now(&self) -> SimTime {
        self.ctx.now()
    }
    fn monotonic(&self) -> SimTime {
        self.ctx.monotonic()
    }
    fn sim_time(&self) -> SimTime {
        self.ctx.sim_time()
    }
    fn send(&mut self, to: NodeId, msg: WpMsg) {
        self.link.send(self.ctx, to, msg);
    }
    fn deliver_after(&mut self, to: NodeId, delay: SimTime, msg: WpMsg) {
        self.ctx.deliver_after(to, delay, msg);
    }
    fn set_timer(&mut self, after: SimTime, timer: WpTimer) -> TimerId {
        self.ctx.set_timer(after, timer)
    }
    fn cancel_timer(&mut self, timer: TimerId) -> bool {
        self.ctx.cancel_timer(timer)
    }
    fn rng(&mut self) -> &mut SimRng {
        self.ctx.rng()
    }
    fn metrics(&mut self) -> &mut Metrics {
        self.ctx.metrics()
    }
    fn tally_own(&mut self, name: &str, by: f64) {
        self.ctx.tally_own(name, by);
    }
    fn annotate(&mut self, text: &str) {
        self.ctx.annotate(text);
    }
    fn link_params(&self, to: NodeId) -> &LinkParams {
        self.ctx.link_params(to)
    }
}
