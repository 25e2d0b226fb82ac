//! Property test: random join, leave, crash and restart plans against every invariant,
//! with the settling bound derived from the timeouts ([`Timing::settle_bound`]).

use super::invariants::agreement;
use super::*;
use dsim_system::{LinkTable, NodeDecl};
use proptest::prelude::*;
use sim_core::{Fault, NodeStatus, ScheduledFault};

/// What can happen to an edge node.
#[derive(Clone, Copy, Debug)]
enum Action {
    Crash,
    Restart,
    Leave,
    Join,
}

const EDGES: usize = 6;
/// Edge nodes that start with the run; the others wait for a join.
const STARTED: usize = 4;

fn decls() -> Vec<NodeDecl> {
    let decl = |name: String, role: &str, start: Option<SimTime>| NodeDecl {
        name,
        role: role.into(),
        start,
    };
    let mut nodes = vec![decl("cloud".into(), "server", Some(SimTime::ZERO))];
    for i in 0..EDGES {
        let start = (i < STARTED).then(|| SimTime::from_secs(i as u64));
        nodes.push(decl(format!("edge-{i}"), "edge", start));
    }
    for i in 0..24 {
        nodes.push(decl(
            format!("sensor-{i}"),
            "sensor",
            Some(SimTime::from_secs(6)),
        ));
    }
    nodes
}

/// The simulation of `decls` with every invariant; edge ids are random (drawn by the
/// nodes), cells fixed 30 apart so that every node can register.
fn simulation(seed: u64, params: &CityParams) -> Simulation<CityNode> {
    let network = LinkTable {
        default: hardware_models::link_preset("ethernet-lan").expect("preset"),
        ..LinkTable::default()
    };
    let nodes = decls();
    let setup = Setup {
        seed,
        nodes: &nodes,
        links: &[],
        network: &network,
        files: dsim_system::ScenarioFiles::none(),
    };
    dsim_system::simulation::<CityOs>(params, &setup).expect("valid parameters")
}

fn params() -> CityParams {
    let mut params = CityParams::default();
    for i in 0..EDGES {
        let cell = (10 + 30 * (i as i64 % 3), 10 + 40 * (i as i64 / 3));
        params.edges.insert(
            format!("edge-{i}"),
            EdgeConfig {
                id: None,
                cell: Some(cell),
            },
        );
    }
    params
}

/// Turn drawn `(gap, action, node)` triples into a valid fault plan (an action that
/// does not fit the node's state at that point is skipped); returns the plan and the
/// time of its last fault.
fn plan(steps: &[(u64, Action, usize)], start: SimTime) -> (Vec<ScheduledFault>, SimTime) {
    let mut status: Vec<NodeStatus> = (0..EDGES)
        .map(|i| {
            if i < STARTED {
                NodeStatus::Up
            } else {
                NodeStatus::NotStarted
            }
        })
        .collect();
    let mut at = start;
    let mut faults = Vec::new();
    for &(gap_ms, action, i) in steps {
        at += SimTime::from_millis(gap_ms);
        let node = NodeId(1 + i as u32);
        let (fault, next) = match (action, status[i]) {
            (Action::Crash, NodeStatus::Up) => (Fault::Crash(node), NodeStatus::Crashed),
            (Action::Restart, NodeStatus::Crashed) => (Fault::Restart(node), NodeStatus::Up),
            (Action::Leave, NodeStatus::Up) => (Fault::Leave(node), NodeStatus::Left),
            (Action::Join, NodeStatus::NotStarted) => (Fault::Join(node), NodeStatus::Up),
            _ => continue,
        };
        status[i] = next;
        faults.push(ScheduledFault { at, fault });
    }
    (faults, at)
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Crash),
        Just(Action::Restart),
        Just(Action::Leave),
        Just(Action::Join)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// For any plan: no invariant breaks (one agreed coordinator within the settling
    /// bound after each disruption, no joiner takes over a live coordinator, every
    /// average of a node that stays up reaches the cloud exactly once, 20 units between
    /// registered nodes), and after the last fault a coordinator is agreed within the
    /// bound.
    #[test]
    fn invariants_hold_and_a_coordinator_is_elected_in_time(
        seed in 0u64..1_000,
        steps in prop::collection::vec((0u64..12_000, action(), 0..EDGES), 1..8),
    ) {
        let params = params();
        let timing = params.timing();
        let mut sim = simulation(seed, &params);
        let (faults, last) = plan(&steps, SimTime::from_secs(30));
        for fault in faults {
            sim.schedule_fault(fault);
        }
        // Liveness: the bound after the last fault, then long enough for the averages.
        let settled = last + timing.settle_bound();
        prop_assert!(sim.advance_to(settled), "{:?}", sim.violation());
        let edges: Vec<NodeId> = (1..=EDGES as u32).map(NodeId).collect();
        prop_assert_eq!(agreement(&sim.world(), &edges), Ok(()));
        let outcome = sim.run_until(settled + timing.upload_bound() + SimTime::from_secs(10));
        prop_assert_eq!(outcome.violation, None);
    }
}

#[test]
fn the_settling_bound_adds_up_the_timeouts() {
    // 2 s keep-alive + 4 x 3 s channel give-up (30 x 100 ms) + 5 s coordinator + 1 s
    // hello + 1 s answer + 8 x 1 s.
    assert_eq!(
        CityParams::default().timing().settle_bound(),
        SimTime::from_secs(29)
    );
}

#[test]
fn the_server_refuses_a_taken_id_and_a_cell_too_close() {
    let mut params = params();
    // edge-1 takes edge-0's id; edge-2 stands 19 units from edge-0 (both fixed, so
    // neither can draw again).
    params.edges.insert(
        "edge-1".into(),
        EdgeConfig {
            id: Some(7),
            cell: Some((70, 70)),
        },
    );
    params.edges.insert(
        "edge-0".into(),
        EdgeConfig {
            id: Some(7),
            cell: Some((10, 10)),
        },
    );
    params.edges.insert(
        "edge-2".into(),
        EdgeConfig {
            id: Some(9),
            cell: Some((19, 20)),
        },
    );
    let mut sim = simulation(3, &params);
    let outcome = sim.run_until(SimTime::from_secs(60));
    assert_eq!(outcome.violation, None);
    let phase = |i: u32| EdgeNode::of(sim.node(NodeId(1 + i)).1).unwrap().phase();
    assert_eq!(phase(0), Phase::Coordinator);
    assert_eq!(phase(1), Phase::Refused);
    assert_eq!(phase(2), Phase::Refused);
    let m = sim.metrics();
    let Some(sim_core::Metric::Tally(codes)) = m.get("http_status_counts") else {
        panic!("no status tally")
    };
    assert_eq!(
        (codes.get("409"), codes.get("403")),
        (Some(&1.0), Some(&1.0))
    );
}

/// Edge nodes time their members' silence and their unacknowledged averages on their
/// monotonic clock: a 25 s wall-clock step on every running edge node, either way,
/// changes nothing the coordinator decides (no member cleaned up, no extra election,
/// the same global averages) against the run without it.
#[test]
fn a_clock_step_changes_no_coordinator_decision() {
    let params = params();
    let outcome = |by: Option<i64>| {
        let mut sim = simulation(3, &params);
        for i in 1..=STARTED as u32 {
            if let Some(by) = by {
                sim.schedule_fault(ScheduledFault {
                    at: SimTime::from_secs(40),
                    fault: Fault::ClockJump {
                        node: NodeId(i),
                        by: sim_core::ClockOffset(by),
                    },
                });
            }
        }
        let run = sim.run_until(SimTime::from_secs(90));
        assert_eq!(run.violation, None, "step {by:?}");
        let m = sim.metrics();
        [
            "nodes_removed_by_coordinator",
            "coordinator_changes",
            "elections",
            "global_averages",
        ]
        .map(|name| m.value(name))
    };
    let calm = outcome(None);
    assert!(calm[3] > 0.0, "the coordinator publishes averages");
    for by in [-25_000_000_000, 25_000_000_000] {
        assert_eq!(outcome(Some(by)), calm, "step of {by} ns");
    }
}
