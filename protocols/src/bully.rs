//! Textbook Bully election (Garcia-Molina, 1982) as a hosted system: the example that
//! `dsim explore` is taught on.
//!
//! Nodes are ranked by declaration order; the highest starts as coordinator and sends a
//! heartbeat to everyone every `heartbeat`. A node that hears none for three periods
//! holds an election: ELECTION to every higher rank; a higher node answers (ANSWER) and
//! holds its own; a candidate that hears no ANSWER within `answer_timeout` wins and
//! announces COORDINATOR to all; one that got an ANSWER but no COORDINATOR within
//! `coordinator_timeout` starts again. A node that hears COORDINATOR from a lower rank
//! bullies: it holds an election itself. A restarted node comes back as a follower and
//! waits for heartbeats (it does not bully its way back; that would briefly give two
//! coordinators by design).
//!
//! Bully is safe only if `answer_timeout` covers a round trip: with links whose
//! one-way delay is at most `d`, `answer_timeout >= 2d` (plus processing) means an
//! ANSWER is never late, so a lower candidate never wins while a higher one is alive.
//! `scenarios/teaching/bully-short-timeout.ron` sets it to the *mean* round trip,
//! and `dsim explore` finds two coordinators.

use dsim_system::{Setup, System, TopologyRule, add_declared};
use serde::{Deserialize, Serialize};
use sim_core::{
    Ctx, Invariant, Members, Message, Metrics, Node, NodeId, NodeStatus, SimTime, Simulation,
    TimerId, TimerTag, World,
};

/// Bully parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BullyParams {
    /// The coordinator's heartbeat period; three silent periods start an election.
    pub heartbeat: SimTime,
    /// How long a candidate waits for an ANSWER (must cover a round trip).
    pub answer_timeout: SimTime,
    /// How long a candidate that got an ANSWER waits for COORDINATOR.
    pub coordinator_timeout: SimTime,
}

impl Default for BullyParams {
    fn default() -> Self {
        BullyParams {
            heartbeat: SimTime::from_millis(500),
            answer_timeout: SimTime::from_millis(100),
            coordinator_timeout: SimTime::from_millis(500),
        }
    }
}

/// Bully messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BullyMsg {
    /// From the coordinator, every period.
    Heartbeat,
    /// A candidate asks higher ranks.
    Election,
    /// A higher rank is alive and takes over the election.
    Answer,
    /// The sender is the coordinator.
    Coordinator,
}

impl Message for BullyMsg {
    fn size_bytes(&self) -> u32 {
        64
    }
    fn kind(&self) -> &'static str {
        match self {
            BullyMsg::Heartbeat => "heartbeat",
            BullyMsg::Election => "election",
            BullyMsg::Answer => "answer",
            BullyMsg::Coordinator => "coordinator",
        }
    }
}

/// Bully timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BullyTimer {
    /// Send the next heartbeat (coordinator).
    Heartbeat,
    /// No heartbeat for three periods (follower).
    Silence,
    /// No ANSWER in time (candidate).
    AnswerTimeout,
    /// No COORDINATOR in time (candidate that was answered).
    CoordinatorTimeout,
}

impl TimerTag for BullyTimer {
    fn kind(&self) -> &'static str {
        match self {
            BullyTimer::Heartbeat => "heartbeat",
            BullyTimer::Silence => "silence",
            BullyTimer::AnswerTimeout => "answer_timeout",
            BullyTimer::CoordinatorTimeout => "coordinator_timeout",
        }
    }
}

/// What a node believes it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows `leader` (unknown right after a restart).
    Follower {
        /// The coordinator it follows.
        leader: Option<NodeId>,
    },
    /// Holds an election; `answered` once a higher rank replied.
    Candidate {
        /// Whether a higher rank answered.
        answered: bool,
    },
    /// The coordinator.
    Coordinator,
}

/// A Bully node.
#[derive(Clone, Debug)]
pub struct BullyNode {
    params: BullyParams,
    /// Every node, in rank order (lowest first).
    ranks: Vec<NodeId>,
    /// This node's role.
    pub role: Role,
    timer: Option<TimerId>,
}

impl BullyNode {
    fn rank(&self, node: NodeId) -> usize {
        self.ranks
            .iter()
            .position(|n| *n == node)
            .expect("a ranked node")
    }

    fn arm(&mut self, ctx: &mut impl Ctx<Self>, after: SimTime, timer: BullyTimer) {
        if let Some(t) = self.timer.replace(ctx.set_timer(after, timer)) {
            ctx.cancel_timer(t);
        }
    }

    fn follow(&mut self, ctx: &mut impl Ctx<Self>, leader: Option<NodeId>) {
        self.role = Role::Follower { leader };
        let silence = self.params.heartbeat * 3;
        self.arm(ctx, silence, BullyTimer::Silence);
    }

    fn lead(&mut self, ctx: &mut impl Ctx<Self>) {
        self.role = Role::Coordinator;
        ctx.metrics().add("coordinator_changes", 1.0);
        self.broadcast(ctx, BullyMsg::Coordinator);
        self.arm(ctx, self.params.heartbeat, BullyTimer::Heartbeat);
    }

    fn broadcast(&self, ctx: &mut impl Ctx<Self>, msg: BullyMsg) {
        let me = ctx.id();
        for &n in self.ranks.iter().filter(|n| **n != me) {
            ctx.send(n, msg);
        }
    }

    fn hold_election(&mut self, ctx: &mut impl Ctx<Self>) {
        ctx.metrics().add("elections", 1.0);
        let me = self.rank(ctx.id());
        let higher: Vec<NodeId> = self.ranks[me + 1..].to_vec();
        if higher.is_empty() {
            self.lead(ctx);
            return;
        }
        self.role = Role::Candidate { answered: false };
        for n in higher {
            ctx.send(n, BullyMsg::Election);
        }
        self.arm(ctx, self.params.answer_timeout, BullyTimer::AnswerTimeout);
    }
}

impl Node for BullyNode {
    type Msg = BullyMsg;
    type Timer = BullyTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.rank(ctx.id()) == self.ranks.len() - 1 {
            self.lead(ctx);
        } else {
            let top = self.ranks.last().copied();
            self.follow(ctx, top);
        }
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: BullyMsg) {
        let higher = self.rank(from) > self.rank(ctx.id());
        match msg {
            BullyMsg::Heartbeat => match self.role {
                Role::Follower { leader } if leader.is_none() || leader == Some(from) => {
                    self.follow(ctx, Some(from))
                }
                _ => {}
            },
            BullyMsg::Election if !higher => {
                ctx.send(from, BullyMsg::Answer);
                // A node back from a crash (no leader yet) answers, so lower candidates
                // wait, but runs only when its own silence timer says nobody leads: an
                // election it joined half way could crown it next to a winner that
                // never saw its ANSWER.
                let recovering = self.role == Role::Follower { leader: None };
                if !matches!(self.role, Role::Candidate { .. }) && !recovering {
                    self.hold_election(ctx);
                }
            }
            BullyMsg::Answer => {
                if let Role::Candidate { answered: false } = self.role {
                    self.role = Role::Candidate { answered: true };
                    self.arm(
                        ctx,
                        self.params.coordinator_timeout,
                        BullyTimer::CoordinatorTimeout,
                    );
                }
            }
            // A coordinator that hears a lower rank claim the lead re-asserts itself.
            BullyMsg::Coordinator if !higher && self.role == Role::Coordinator => {
                self.broadcast(ctx, BullyMsg::Coordinator)
            }
            // Anyone else follows the announcement, even from a lower rank: a node back
            // from a crash does not bully a working coordinator.
            BullyMsg::Coordinator => self.follow(ctx, Some(from)),
            BullyMsg::Election => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: BullyTimer) {
        self.timer = None;
        match (timer, self.role) {
            (BullyTimer::Heartbeat, Role::Coordinator) => {
                self.broadcast(ctx, BullyMsg::Heartbeat);
                self.arm(ctx, self.params.heartbeat, BullyTimer::Heartbeat);
            }
            (BullyTimer::Silence, Role::Follower { .. }) => self.hold_election(ctx),
            (BullyTimer::AnswerTimeout, Role::Candidate { answered: false }) => self.lead(ctx),
            (BullyTimer::CoordinatorTimeout, Role::Candidate { .. }) => self.hold_election(ctx),
            _ => {}
        }
    }

    fn on_crash(&mut self) {
        self.role = Role::Follower { leader: None };
        self.timer = None;
    }

    fn on_restart(&mut self, ctx: &mut impl Ctx<Self>) {
        self.follow(ctx, None);
    }
}

/// At no moment do two live nodes both believe they are the coordinator (the set of
/// coordinators is kept from the nodes each event changed).
#[derive(Default)]
pub struct AtMostOneCoordinator {
    leaders: Members,
}

impl Invariant<BullyNode> for AtMostOneCoordinator {
    fn name(&self) -> &str {
        "at_most_one_coordinator"
    }

    fn check(&mut self, world: &World<'_, BullyNode>) -> Result<(), String> {
        let leaders = self.leaders.update(world, |_, status, n| {
            matches!(status, NodeStatus::Up | NodeStatus::Paused) && n.role == Role::Coordinator
        });
        let leaders: Vec<&str> = leaders.iter().map(|&id| world.name(id)).collect();
        if leaders.len() > 1 {
            return Err(format!(
                "{} coordinators at once: {leaders:?}",
                leaders.len()
            ));
        }
        Ok(())
    }
}

/// Liveness, at the end of the run (after the scenario's quiet period): if any node is
/// up, exactly one is coordinator and every other live node follows it.
pub struct CoordinatorElected;

impl Invariant<BullyNode> for CoordinatorElected {
    fn name(&self) -> &str {
        "coordinator_elected"
    }

    fn check_at_end(&mut self, world: &World<'_, BullyNode>) -> Result<(), String> {
        let live: Vec<(NodeId, &BullyNode)> = world.live_nodes().collect();
        if live.is_empty() {
            return Ok(());
        }
        let leaders: Vec<NodeId> = live
            .iter()
            .filter(|(_, n)| n.role == Role::Coordinator)
            .map(|(id, _)| *id)
            .collect();
        let [leader] = leaders[..] else {
            return Err(format!(
                "{} coordinators among the live nodes",
                leaders.len()
            ));
        };
        for (id, n) in &live {
            if *id != leader
                && n.role
                    != (Role::Follower {
                        leader: Some(leader),
                    })
            {
                return Err(format!(
                    "{} is {:?}, not following {}",
                    world.name(*id),
                    n.role,
                    world.name(leader)
                ));
            }
        }
        Ok(())
    }
}

/// The Bully system.
pub struct Bully;

impl System for Bully {
    const NAME: &'static str = "bully";
    const DESCRIPTION: &'static str =
        "textbook Bully election with heartbeats (the explore example)";
    const ROLES: &'static [&'static str] = &["node"];
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    const KEY_METRICS: &'static [&'static str] = &["elections", "coordinator_changes"];
    type Params = BullyParams;
    type Node = BullyNode;

    fn validate(params: &BullyParams, setup: &Setup<'_>) -> Result<(), String> {
        if setup.nodes.is_empty() {
            return Err("nodes: Bully needs at least one node".into());
        }
        for (name, t) in [
            ("heartbeat", params.heartbeat),
            ("answer_timeout", params.answer_timeout),
            ("coordinator_timeout", params.coordinator_timeout),
        ] {
            if t == SimTime::ZERO {
                return Err(format!("params.{name} must be positive"));
            }
        }
        Ok(())
    }

    fn build(params: &BullyParams, setup: &Setup<'_>, sim: &mut Simulation<BullyNode>) {
        let ranks = add_declared(sim, setup.nodes, |_| BullyNode {
            params: params.clone(),
            ranks: Vec::new(),
            role: Role::Follower { leader: None },
            timer: None,
        });
        for &id in &ranks {
            sim.node_mut(id).ranks.clone_from(&ranks);
        }
    }

    fn invariants(_: &BullyParams) -> Vec<Box<dyn Invariant<BullyNode>>> {
        vec![
            Box::new(AtMostOneCoordinator::default()),
            Box::new(CoordinatorElected),
        ]
    }

    fn report(_: &BullyParams, sim: &Simulation<BullyNode>, metrics: &mut Metrics) {
        let world = sim.world();
        let leaders = world
            .live_nodes()
            .filter(|(_, n)| n.role == Role::Coordinator)
            .count();
        metrics.set("coordinators_at_end", leaders as f64);
        metrics.set(
            "nodes_down_at_end",
            world
                .nodes()
                .filter(|(_, s, _)| *s != NodeStatus::Up)
                .count() as f64,
        );
        metrics.add("elections", 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsim_system::{LinkTable, NodeDecl};
    use proptest::prelude::*;
    use sim_core::fault_plan::{FaultBudget, FaultKind, episodes, plan_faults};
    use sim_core::{Latency, LinkParams};

    /// Five nodes over 5-15 ms links with the given answer timeout, every invariant on.
    fn simulation(seed: u64, answer_timeout: SimTime) -> Simulation<BullyNode> {
        let link = LinkParams {
            latency: Latency::Uniform {
                min: SimTime::from_millis(5),
                max: SimTime::from_millis(15),
            },
            ..LinkParams::default()
        };
        let nodes: Vec<NodeDecl> = (0..5)
            .map(|i| NodeDecl {
                name: format!("node-{i}"),
                role: "node".into(),
                start: Some(SimTime::ZERO),
            })
            .collect();
        let network = LinkTable {
            default: link,
            ..LinkTable::default()
        };
        let params = BullyParams {
            answer_timeout,
            ..BullyParams::default()
        };
        let setup = Setup {
            seed,
            nodes: &nodes,
            links: &[],
            network: &network,
            files: dsim_system::ScenarioFiles::none(),
        };
        dsim_system::simulation::<Bully>(&params, &setup).expect("valid parameters")
    }

    fn budget() -> FaultBudget {
        FaultBudget {
            from: SimTime::from_secs(1),
            max_length: SimTime::from_secs(5),
            kinds: vec![FaultKind::CrashRestart],
            ..FaultBudget::default()
        }
    }

    /// Whether `plan` over `seed` breaks an invariant, with a quiet 10 s at the end.
    fn violated(
        seed: u64,
        answer_timeout: SimTime,
        plan: &[sim_core::fault_plan::Episode<NodeId>],
    ) -> bool {
        let mut sim = simulation(seed, answer_timeout);
        let all: Vec<NodeId> = (0..5).map(NodeId).collect();
        let faults = plan_faults(plan, &budget(), &all, &LinkParams::default());
        let end =
            faults.iter().map(|f| f.at).max().unwrap_or(SimTime::ZERO) + SimTime::from_secs(10);
        for f in faults {
            sim.schedule_fault(f);
        }
        sim.run_until(end).violation.is_some()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The fault plans `dsim explore` draws, as a proptest strategy: with the answer
        /// timeout above the longest round trip (30 ms), no crash-restart plan gives two
        /// coordinators or leaves the nodes without an agreed one.
        #[test]
        fn bully_is_safe_and_live_when_the_timeout_covers_a_round_trip(
            seed in 0u64..1000,
            plan in episodes(&budget(), SimTime::from_secs(20), (0..5).map(NodeId).collect()),
        ) {
            prop_assert!(!violated(seed, SimTime::from_millis(40), &plan));
        }
    }

    #[test]
    fn a_timeout_at_the_mean_round_trip_gives_two_coordinators() {
        // Crash the coordinator at 2 s: the survivors elect with a 20 ms answer
        // timeout over round trips of 10-30 ms. Some seed among the first 20 must
        // show the late-ANSWER race; the 40 ms timeout must show it for none.
        let plan = vec![sim_core::fault_plan::Episode {
            kind: FaultKind::CrashRestart,
            at: SimTime::from_secs(2),
            length: SimTime::from_secs(5),
            nodes: vec![NodeId(4)],
            strength: 1.0,
        }];
        assert!((0..20).any(|seed| violated(seed, SimTime::from_millis(20), &plan)));
        assert!((0..20).all(|seed| !violated(seed, SimTime::from_millis(40), &plan)));
    }
}
