//! Message forwarding on anysystem 0.3.0 (DSLab's message-passing layer): the workload
//! of `protocols::forward`, written the way an anysystem user would (one process per
//! node, string messages, the system's own random generator and network model).
//!
//! Every node injects a message every 10 ms (first at a random phase); every message is
//! forwarded to a uniformly drawn other node until it has made 8 hops. Delays are
//! uniform in [1 ms, 2 ms] (dsim's 1 ms plus up to 1 ms of jitter). The event log
//! stays on, as dsim's fingerprint does. This file is shared by the `network` bench and
//! the `forward_compare` example (anysystem is a dev-dependency, so it cannot live in
//! the library).

use anysystem::{Context, Message, Process, System};
use std::rc::Rc;

const INTERVAL_S: f64 = 0.010;
const HOPS: u32 = 8;

/// One forwarding process.
#[derive(Clone)]
struct Forwarder {
    peers: Rc<Vec<String>>,
    me: usize,
}

impl Forwarder {
    fn forward(&self, ctx: &mut Context, left: u32) {
        let n = self.peers.len();
        let mut to = ((ctx.rand() * (n - 1) as f64) as usize).min(n - 2);
        if to >= self.me {
            to += 1;
        }
        ctx.send(
            Message::new("hop".to_owned(), left.to_string()),
            self.peers[to].clone(),
        );
    }
}

impl Process for Forwarder {
    fn on_start(&mut self, ctx: &mut Context) -> Result<(), String> {
        let phase = ctx.rand() * INTERVAL_S;
        ctx.set_timer("inject", phase);
        Ok(())
    }

    fn on_message(&mut self, msg: Message, _from: String, ctx: &mut Context) -> Result<(), String> {
        let left: u32 = msg.data.parse().map_err(|e| format!("{e}"))?;
        if left > 0 {
            self.forward(ctx, left - 1);
        }
        Ok(())
    }

    fn on_local_message(&mut self, _msg: Message, _ctx: &mut Context) -> Result<(), String> {
        Ok(())
    }

    fn on_timer(&mut self, _timer: String, ctx: &mut Context) -> Result<(), String> {
        self.forward(ctx, HOPS - 1);
        ctx.set_timer("inject", INTERVAL_S);
        Ok(())
    }
}

/// The forwarding system: `nodes` processes, each on its own node, links losing a
/// message with probability `loss`.
pub fn build(nodes: u32, loss: f64, seed: u64) -> System {
    let mut sys = System::new(seed);
    sys.network().set_delays(0.001, 0.002);
    sys.network().set_drop_rate(loss);
    let peers: Rc<Vec<String>> = Rc::new((0..nodes).map(|i| format!("p{i}")).collect());
    for (i, name) in peers.iter().enumerate() {
        let node = format!("n{i}");
        sys.add_node(&node);
        let proc = Forwarder {
            peers: Rc::clone(&peers),
            me: i,
        };
        sys.add_process(name, Box::new(proc), &node);
    }
    sys
}

/// Step `sys` through at most `events` events; the number it processed.
pub fn run(sys: &mut System, events: u64) -> u64 {
    let mut done = 0;
    while done < events && sys.step() {
        done += 1;
    }
    done
}
