//! Message forwarding through the network model, the workload of `dsim bench network`:
//! every node injects a message every `interval` (first at a random phase), and every
//! message is forwarded to a uniformly drawn other node until it has made `hops` hops.
//! All traffic goes through [`Context::send`](sim_core::Context::send), so the link model (latency, jitter, loss)
//! and the fingerprint are on the path of every message. Lost messages are not replaced:
//! the injections keep the load steady whatever the loss.

use rand::RngExt;
use sim_core::{Ctx, LinkParams, Message, Node, NodeId, SimConfig, SimTime, Simulation, TimerTag};
use std::rc::Rc;

/// Forwarding workload parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct ForwardParams {
    /// Number of nodes (at least 2).
    pub nodes: u32,
    /// Each node injects one message per interval.
    pub interval: SimTime,
    /// Hops a message makes before it is dropped by its last receiver.
    pub hops: u8,
    /// Wire size of a message.
    pub size_bytes: u32,
    /// Every link's parameters.
    pub link: LinkParams,
}

impl Default for ForwardParams {
    /// 1,000 nodes, one injection per 10 ms, 8 hops, 64-byte messages, links of
    /// 1 ms latency plus up to 1 ms jitter and 1 % loss.
    fn default() -> Self {
        ForwardParams {
            nodes: 1000,
            interval: SimTime::from_millis(10),
            hops: 8,
            size_bytes: 64,
            link: LinkParams {
                jitter: SimTime::from_millis(1),
                loss: 0.01,
                ..LinkParams::default()
            },
        }
    }
}

/// A forwarded message: how many more hops it makes.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Hop {
    /// Hops left after this delivery.
    pub left: u8,
    /// Wire size.
    pub size: u32,
}

impl Message for Hop {
    fn size_bytes(&self) -> u32 {
        self.size
    }
    fn kind(&self) -> &'static str {
        "hop"
    }
}

/// The one timer: inject a new message.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Inject;

impl TimerTag for Inject {
    fn kind(&self) -> &'static str {
        "inject"
    }
}

/// The constants every node reads, shared to keep a node small.
#[derive(Debug)]
struct Model {
    nodes: u32,
    interval: SimTime,
    hops: u8,
    size: u32,
}

/// One forwarding node.
#[derive(Clone, Debug)]
pub struct Forwarder {
    model: Rc<Model>,
    /// Messages this node injected.
    pub injected: u64,
    /// Messages this node received.
    pub received: u64,
    /// Messages whose last hop ended here.
    pub finished: u64,
}

impl Forwarder {
    /// Send `hop` on to a uniformly drawn node other than this one.
    fn forward(&self, ctx: &mut impl Ctx<Self>, hop: Hop) {
        let me = ctx.id().0;
        let mut to = ctx.rng().random_range(0..self.model.nodes - 1);
        if to >= me {
            to += 1;
        }
        ctx.send(NodeId(to), hop);
    }
}

impl Node for Forwarder {
    type Msg = Hop;
    type Timer = Inject;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        let phase = ctx.rng().random_range(0..self.model.interval.0.max(1));
        ctx.set_timer(SimTime(phase), Inject);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, _from: NodeId, hop: Hop) {
        self.received += 1;
        if hop.left == 0 {
            self.finished += 1;
        } else {
            self.forward(
                ctx,
                Hop {
                    left: hop.left - 1,
                    ..hop
                },
            );
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, _timer: Inject) {
        let hop = Hop {
            left: self.model.hops.saturating_sub(1),
            size: self.model.size,
        };
        self.injected += 1;
        self.forward(ctx, hop);
        ctx.set_timer(self.model.interval, Inject);
    }
}

/// A ready-to-run forwarding simulation (nodes `n-0` ...), or what is wrong with
/// `params`.
pub fn simulation(params: &ForwardParams, seed: u64) -> Result<Simulation<Forwarder>, String> {
    if params.nodes < 2 {
        return Err("forward: at least 2 nodes are needed".into());
    }
    if params.hops == 0 || params.interval == SimTime::ZERO {
        return Err("forward: hops and interval must be positive".into());
    }
    params.link.validate()?;
    let mut sim = Simulation::new(SimConfig {
        seed,
        default_link: params.link.clone(),
        keep_trace: false,
    });
    let model = Rc::new(Model {
        nodes: params.nodes,
        interval: params.interval,
        hops: params.hops,
        size: params.size_bytes,
    });
    for i in 0..params.nodes {
        let node = Forwarder {
            model: Rc::clone(&model),
            injected: 0,
            received: 0,
            finished: 0,
        };
        sim.add_node(&format!("n-{i}"), node);
    }
    Ok(sim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(sim: &Simulation<Forwarder>) -> (u64, u64, u64) {
        sim.world().nodes().fold((0, 0, 0), |(i, r, f), (_, _, n)| {
            (i + n.injected, r + n.received, f + n.finished)
        })
    }

    /// Without loss every message makes all its hops. A chain of 8 hops of 1 to 2 ms
    /// lasts at most 16 ms, so at the end each node has at most two of its chains still
    /// in flight (injected in the last 16 ms): the counts are exact up to those.
    #[test]
    fn lossless_messages_make_every_hop() {
        let p = ForwardParams {
            nodes: 20,
            link: LinkParams {
                loss: 0.0,
                ..ForwardParams::default().link
            },
            ..ForwardParams::default()
        };
        let mut sim = simulation(&p, 3).unwrap();
        sim.run_until(SimTime::from_secs(1));
        let (injected, received, finished) = totals(&sim);
        let nodes = u64::from(p.nodes);
        assert_eq!(injected, 100 * nodes, "one injection per 10 ms per node");
        let in_flight = 2 * nodes;
        assert!(received <= injected * 8 && received >= (injected - in_flight) * 8);
        assert!(
            finished <= injected && finished >= injected - in_flight,
            "{injected} {received} {finished}"
        );
    }

    /// With loss `p` per hop, a message survives all its hops with probability
    /// `(1 - p)^hops`.
    #[test]
    fn loss_per_hop_compounds() {
        let p = ForwardParams {
            nodes: 50,
            link: LinkParams {
                loss: 0.1,
                ..ForwardParams::default().link
            },
            ..ForwardParams::default()
        };
        let mut sim = simulation(&p, 5).unwrap();
        sim.run_until(SimTime::from_secs(10));
        let (injected, _, finished) = totals(&sim);
        let expected = 0.9f64.powi(8);
        let got = finished as f64 / injected as f64;
        // 50,000 injections: the standard error is about 0.0022.
        assert!((got - expected).abs() < 0.012, "{got} vs {expected}");
    }

    /// Two runs with the same seed have the same fingerprint; another seed differs.
    #[test]
    fn deterministic() {
        let p = ForwardParams {
            nodes: 50,
            ..ForwardParams::default()
        };
        let run = |seed| {
            let mut sim = simulation(&p, seed).unwrap();
            sim.run_events(20_000);
            sim.fingerprint()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }
}
