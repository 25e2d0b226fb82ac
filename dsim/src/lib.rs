//! dsim for protocol authors: the one crate a user's own system depends on.
//!
//! It re-exports the kernel ([`Node`], [`Context`], [`Simulation`], faults, metrics),
//! the system interface ([`System`], [`Setup`], [`NodeDecl`], [`LinkTable`]), the
//! random-number traits that [`Context::rng`] needs ([`Rng`], [`RngExt`]), and the
//! harness: the scenario registry, the `dsim` command line and the test helpers.
//! A guide from an empty crate to run, explore, sweep, report and verify is in
//! `docs/your-own-system.md`; `examples/own-system/` is a complete user crate.
//!
//! # A system in one page
//!
//! Two roles, a node unit-tested without a kernel, an invariant, the system, a scenario
//! run through the harness, and the command line (`cli::main`) that a binary's `main`
//! would call:
//!
//! ```
//! use dsim::{
//!     add_declared, Ctx, Invariant, Message, Metrics, Node, NodeId, Recorder, Registry, Role,
//!     Setup, SimTime, Simulation, System, TimerTag, TopologyRule, World,
//! };
//! use serde::{Deserialize, Serialize};
//!
//! // Messages derive serde's traits, so that `dsim live` can put them on real sockets.
//! #[derive(Clone, Debug, Hash, PartialEq, Serialize, Deserialize)]
//! pub enum Msg { Ask(u64), Answer(u64) }
//! impl Message for Msg {
//!     fn size_bytes(&self) -> u32 { 16 }
//!     fn kind(&self) -> &'static str {
//!         match self { Msg::Ask(_) => "ask", Msg::Answer(_) => "answer" }
//!     }
//! }
//! #[derive(Clone, Debug, Hash, PartialEq)]
//! pub struct Retry;
//! impl TimerTag for Retry {
//!     fn kind(&self) -> &'static str { "retry" }
//! }
//!
//! /// Asks the server every `period` until `count` answers came back.
//! pub struct Client { count: u64, answered: u64, period: SimTime }
//! impl Node for Client {
//!     type Msg = Msg;
//!     type Timer = Retry;
//!     fn on_start(&mut self, ctx: &mut impl Ctx<Self>) { self.ask(ctx) }
//!     fn on_message(&mut self, ctx: &mut impl Ctx<Self>, _: NodeId, msg: Msg) {
//!         if msg == Msg::Answer(self.answered) {
//!             self.answered += 1;
//!             ctx.metrics().add("answers", 1.0);
//!         }
//!     }
//!     fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, _: Retry) { self.ask(ctx) }
//! }
//! impl Client {
//!     fn ask(&mut self, ctx: &mut impl Ctx<Self>) {
//!         if self.answered < self.count {
//!             let server = ctx.lookup("server").expect("a server");
//!             ctx.send(server, Msg::Ask(self.answered));
//!             ctx.set_timer(self.period, Retry);
//!         }
//!     }
//! }
//!
//! /// Answers every question.
//! pub struct Server;
//! impl Node for Server {
//!     type Msg = Msg;
//!     type Timer = Retry;
//!     fn on_start(&mut self, _: &mut impl Ctx<Self>) {}
//!     fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: Msg) {
//!         if let Msg::Ask(n) = msg { ctx.send(from, Msg::Answer(n)) }
//!     }
//!     fn on_timer(&mut self, _: &mut impl Ctx<Self>, _: Retry) {}
//! }
//!
//! dsim::roles! {
//!     /// A node of the ask system.
//!     pub enum AskNode {
//!         /// Asks.
//!         Client(Client),
//!         /// Answers.
//!         Server(Server),
//!     }
//! }
//!
//! // A role alone, without a kernel: what did it do?
//! let mut ctx = Recorder::new(&["server", "client"], "client", 1);
//! let mut client = Client { count: 3, answered: 0, period: SimTime::from_millis(50) };
//! client.on_start(&mut ctx);
//! assert_eq!(ctx.sent, vec![(NodeId(0), Msg::Ask(0))]);
//! assert_eq!(ctx.timers[0].1, SimTime::from_millis(50));
//!
//! /// Safety: no client has more answers than it asked for.
//! pub struct NoExtraAnswers;
//! impl Invariant<AskNode> for NoExtraAnswers {
//!     fn name(&self) -> &str { "no_extra_answers" }
//!     fn check(&mut self, world: &World<'_, AskNode>) -> Result<(), String> {
//!         match world.live_nodes().filter_map(|(_, n)| Client::of(n)).find(|c| c.answered > c.count) {
//!             Some(c) => Err(format!("{} answers of {}", c.answered, c.count)),
//!             None => Ok(()),
//!         }
//!     }
//! }
//!
//! #[derive(Clone, Default, Deserialize, Serialize)]
//! #[serde(deny_unknown_fields, default)]
//! pub struct AskParams { count: u64 }
//!
//! pub struct Ask;
//! impl System for Ask {
//!     const NAME: &'static str = "ask";
//!     const DESCRIPTION: &'static str = "clients ask a server until answered";
//!     const ROLES: &'static [&'static str] = &["client", "server"];
//!     const TOPOLOGY: TopologyRule = TopologyRule::Any;
//!     type Params = AskParams;
//!     type Node = AskNode;
//!     fn validate(_: &AskParams, _: &Setup<'_>) -> Result<(), String> { Ok(()) }
//!     fn build(params: &AskParams, setup: &Setup<'_>, sim: &mut Simulation<AskNode>) {
//!         add_declared(sim, setup.nodes, |decl| match decl.role.as_str() {
//!             "server" => Server.into(),
//!             _ => Client { count: params.count, answered: 0, period: SimTime::from_millis(50) }.into(),
//!         });
//!     }
//!     fn invariants(_: &AskParams) -> Vec<Box<dyn Invariant<AskNode>>> {
//!         vec![Box::new(NoExtraAnswers)]
//!     }
//!     fn report(_: &AskParams, _: &Simulation<AskNode>, _: &mut Metrics) {}
//! }
//!
//! let registry = Registry::new().system::<Ask>();
//! let scenario = dsim::testing::TestScenario::from_text(&registry, "ask.ron", r#"Scenario(
//!     name: "ask", seed: 1, duration: "10s", system: "ask", params: (count: 5),
//!     nodes: [(name: "server", role: "server"), (name: "c{}", role: "client", count: 3)],
//!     network: (default: (loss: 0.2)),
//! )"#);
//! let report = scenario.run(1);
//! report.assert_clean();
//! assert_eq!(report.metric("answers"), Some(15.0)); // every client, despite 20% loss
//! assert_eq!(scenario.run(1).trace_hash, report.trace_hash); // the same run, bit for bit
//! // A binary's main: `fn main() -> std::process::ExitCode { dsim::cli::main(&registry) }`
//! ```
#![warn(missing_docs, unreachable_pub)]

/// The command line for the systems of a [`Registry`]: `dsim::cli::main(&registry)`.
pub use dsim_cli as cli;
/// The harness of many runs: the registry, explore, sweeps, benchmarks, test helpers.
pub use dsim_harness as harness;
pub use dsim_harness::{Registry, bench, testing};
pub use dsim_live as live;
/// One scenario: the schema, the loader, the runner, trace files.
pub use dsim_scenario as scenario;
pub use dsim_system::{
    Finished, LinkTable, NodeDecl, ScenarioFiles, Setup, System, TopologyRule, add_declared,
    round_robin_pairs, run_to, schedule_named, simulation,
};
pub use rand::{Rng, RngExt};
/// Fault plans drawn from a budget, and their proptest strategy.
pub use sim_core::fault_plan;
/// Draws from a node's random stream: uniform, Bernoulli, exponential, normal, gamma.
pub use sim_core::rng;
/// The node enum of a system of several roles, with its dispatch: see [`roles!`].
pub use sim_core::roles;
pub use sim_core::{
    ClockOffset, Context, Ctx, DropReason, Fault, Fingerprint, Invariant, Latency, LinkParams,
    Message, Metric, Metrics, Network, Node, NodeId, NodeStatus, RecordKind, Recorder, Role,
    RunOutcome, ScheduledFault, SimConfig, SimRng, SimTime, Simulation, Summary, TimerId, TimerTag,
    TraceRecord, Violation, World,
};
