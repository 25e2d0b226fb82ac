//! A simulation hosted live (`Simulation::host_live`), driven as the live runtime drives
//! it: messages depart at the time the network model gives for their arrival, arrivals
//! enter from outside, nodes hosted elsewhere never start here and node faults naming
//! them are left to their own process.

use sim_core::{
    Ctx, Fault, Latency, LinkParams, Message, Node, NodeId, NodeStatus, ScheduledFault, SimConfig,
    SimTime, Simulation, TimerTag,
};

#[derive(Clone, Debug, Hash, PartialEq)]
struct Hello(u32);
impl Message for Hello {
    fn size_bytes(&self) -> u32 {
        10
    }
    fn kind(&self) -> &'static str {
        "hello"
    }
}

#[derive(Clone, Debug, Hash)]
struct Tick;
impl TimerTag for Tick {
    fn kind(&self) -> &'static str {
        "tick"
    }
}

/// Node 0 greets node 1 at start; everyone counts what it got and answers once.
#[derive(Default)]
struct Greeter {
    got: Vec<u32>,
}

impl Node for Greeter {
    type Msg = Hello;
    type Timer = Tick;
    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        if ctx.id() == NodeId(0) {
            ctx.send(NodeId(1), Hello(1));
        }
    }
    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Hello) {
        self.got.push(msg.0);
        if msg.0 == 1 {
            ctx.send(from, Hello(2));
        }
    }
    fn on_timer(&mut self, _: &mut impl Ctx<Self>, _: Tick) {}
}

fn sim() -> Simulation<Greeter> {
    let mut sim = Simulation::new(SimConfig {
        seed: 1,
        default_link: LinkParams {
            latency: Latency::Constant(SimTime::from_millis(5)),
            ..LinkParams::default()
        },
        keep_trace: true,
    });
    sim.add_node("a", Greeter::default());
    sim.add_node("b", Greeter::default());
    sim
}

#[test]
fn messages_depart_at_their_modelled_arrival_and_arrivals_are_delivered() {
    let mut sim = sim();
    sim.host_live(&[NodeId(0), NodeId(1)]);
    sim.advance_to(SimTime::from_millis(4));
    assert!(
        sim.take_departures().is_empty(),
        "still on the modelled wire"
    );
    sim.advance_to(SimTime::from_millis(5));
    let departed = sim.take_departures();
    assert_eq!(departed, vec![(NodeId(0), NodeId(1), Hello(1))]);
    assert!(
        sim.node(NodeId(1)).1.got.is_empty(),
        "nothing reached b here"
    );
    // The datagram comes back in from a socket 1 ms later.
    let (from, to, msg) = departed.into_iter().next().unwrap();
    sim.arrive(SimTime::from_millis(6), from, to, msg);
    sim.advance_to(SimTime::from_millis(6));
    assert_eq!(sim.node(NodeId(1)).1.got, vec![1]);
    let m = sim.metrics();
    assert_eq!(m.value("net.messages_delivered"), 1.0);
    sim.advance_to(SimTime::from_millis(11));
    assert_eq!(
        sim.take_departures(),
        vec![(NodeId(1), NodeId(0), Hello(2))]
    );
}

#[test]
fn nodes_hosted_elsewhere_never_start_and_their_faults_act_there() {
    let mut sim = sim();
    sim.schedule_fault(ScheduledFault {
        at: SimTime::from_millis(1),
        fault: Fault::Crash(NodeId(1)),
    });
    sim.schedule_fault(ScheduledFault {
        at: SimTime::from_millis(2),
        fault: Fault::Crash(NodeId(0)),
    });
    sim.host_live(&[NodeId(0)]);
    sim.advance_to(SimTime::from_millis(3));
    assert_eq!(sim.node(NodeId(1)).0, NodeStatus::NotStarted);
    assert_eq!(sim.node(NodeId(0)).0, NodeStatus::Crashed);
    // A message for the crashed node is dropped on arrival, as in a simulation.
    sim.arrive(SimTime::from_millis(3), NodeId(1), NodeId(0), Hello(9));
    sim.advance_to(SimTime::from_millis(3));
    assert!(sim.node(NodeId(0)).1.got.is_empty());
    let m = sim.metrics();
    assert_eq!(m.value("net.dropped.node_down"), 1.0);
}
