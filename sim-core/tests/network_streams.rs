//! The network draws from its own streams (one per sender, `net:<name>`), never from the
//! nodes' streams: what a protocol draws does not change which messages the network
//! loses or when it delivers them, and the network's draws do not change the protocol's.

use rand::Rng;
use sim_core::{Ctx, LinkParams, Message, Node, NodeId, SimConfig, SimTime, Simulation, TimerTag};

/// A numbered message.
#[derive(Clone, Debug, Hash)]
struct Numbered(u64);

impl Message for Numbered {
    fn size_bytes(&self) -> u32 {
        100
    }
    fn kind(&self) -> &'static str {
        "numbered"
    }
}

/// The one timer: send the next message.
#[derive(Clone, Debug, Hash)]
struct Send;

impl TimerTag for Send {
    fn kind(&self) -> &'static str {
        "send"
    }
}

/// Sends a numbered message every millisecond to the other nodes in turn, drawing
/// `draws_per_send` numbers of its own stream each time; records what it draws and
/// what it receives.
struct Sender {
    peers: u32,
    draws_per_send: usize,
    next: u64,
    drawn: Vec<u64>,
    received: Vec<(SimTime, u64)>,
}

impl Node for Sender {
    type Msg = Numbered;
    type Timer = Send;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        ctx.set_timer(SimTime::from_millis(1), Send);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, _from: NodeId, msg: Numbered) {
        self.received.push((ctx.now(), msg.0));
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, _timer: Send) {
        for _ in 0..self.draws_per_send {
            let x = ctx.rng().next_u64();
            self.drawn.push(x);
        }
        let me = ctx.id().0;
        let to = (me + 1 + (self.next % u64::from(self.peers - 1)) as u32) % self.peers;
        ctx.send(NodeId(to), Numbered(self.next));
        self.next += 1;
        ctx.set_timer(SimTime::from_millis(1), Send);
    }
}

/// What one node drew from its stream and what it received (time, number).
struct Seen {
    drawn: Vec<u64>,
    received: Vec<(SimTime, u64)>,
}

/// Four senders for 2 s on links with the given loss and 5 ms of jitter; what each saw.
fn run(loss: f64, draws_per_send: usize) -> Vec<Seen> {
    let mut sim = Simulation::new(SimConfig {
        seed: 11,
        default_link: LinkParams {
            loss,
            jitter: SimTime::from_millis(5),
            ..LinkParams::default()
        },
        keep_trace: false,
    });
    for i in 0..4 {
        let node = Sender {
            peers: 4,
            draws_per_send,
            next: 0,
            drawn: vec![],
            received: vec![],
        };
        sim.add_node(&format!("s-{i}"), node);
    }
    sim.run_until(SimTime::from_secs(2));
    sim.world()
        .nodes()
        .map(|(_, _, n)| Seen {
            drawn: n.drawn.clone(),
            received: n.received.clone(),
        })
        .collect()
}

#[test]
fn protocol_draws_do_not_move_the_networks_draws() {
    let quiet = run(0.3, 0);
    let busy = run(0.3, 3);
    let receptions = |r: &[Seen]| -> Vec<_> { r.iter().map(|s| s.received.clone()).collect() };
    // Same losses, same delivery times, whatever the nodes draw.
    assert_eq!(receptions(&quiet), receptions(&busy));
    // And the network did lose some and jitter the rest (so the check means something).
    let got: usize = quiet.iter().map(|s| s.received.len()).sum();
    let sent = 4 * 2000;
    assert!(got > sent / 2 && got < sent * 8 / 10, "{got} of {sent}");
    assert!(quiet[0].received.iter().any(|(t, _)| t.0 % 1_000_000 != 0));
}

#[test]
fn network_draws_do_not_move_the_protocols_draws() {
    let lossless = run(0.0, 3);
    let lossy = run(0.5, 3);
    for (a, b) in lossless.iter().zip(&lossy) {
        assert_eq!(a.drawn, b.drawn);
        assert!(!a.drawn.is_empty());
    }
}
