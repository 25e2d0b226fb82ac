//! `dsim explore`: run a scenario many times, each with its own seed and a fault plan
//! drawn swarm style from the scenario's budget ([`sim_core::fault_plan`]), every
//! invariant on; on the first violation, shrink the plan while the same invariant still
//! fails, and hand back the smallest plan as a scenario `dsim run` reproduces exactly.
//!
//! Determinism: run `i` draws its seed and plan from `(--seed, i)` alone, so a run is
//! the same whatever `--jobs` is, and the violation reported is that of the lowest run
//! index that fails (runs go in batches; a batch finishes before the next starts).

use dsim_scenario::runner::{LoadedScenario, RunOptions, RunReport, ViolationReport};
use rand::RngExt;
use sim_core::fault_plan::{Episode, FaultBudget, FaultKind, draw_plan, plan_faults};
use sim_core::rng::component_rng;
use sim_core::{LinkParams, ScheduledFault, SimTime};

/// How to explore.
#[derive(Clone, Debug)]
pub struct ExploreConfig {
    /// How many runs.
    pub runs: u64,
    /// The seed every run's seed and plan derive from.
    pub seed: u64,
    /// Replace the budget's fault kinds (the `--faults` profile).
    pub kinds: Option<Vec<FaultKind>>,
    /// Worker threads.
    pub jobs: usize,
    /// The event budget of every run: one that reaches it ran away and is a finding.
    /// `None`: [`RUNAWAY_FACTOR`] times the events of the scenario's clean run.
    pub max_events: Option<u64>,
}

/// How many times the events of the clean run (the scenario at its seed with its own
/// faults only) a run under a fault plan may take before it counts as a runaway. Faults
/// cost work (retransmissions, elections, recovery), but not ten times the whole run.
pub const RUNAWAY_FACTOR: u64 = 10;

/// The smallest default event budget, for scenarios whose clean run is tiny.
pub const MIN_EVENT_BUDGET: u64 = 100_000;

/// The invariant a runaway is reported under.
pub const EVENT_BUDGET_NAME: &str = sim_core::sim::EVENT_BUDGET;

/// A failing run, shrunk.
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// The run that failed first.
    pub run: u64,
    /// Its seed.
    pub seed: u64,
    /// Episodes in the plan as drawn.
    pub drawn: usize,
    /// The shrunk plan.
    pub plan: Vec<Episode<String>>,
    /// Its faults, cut at the violation.
    pub faults: Vec<ScheduledFault<String>>,
    /// The violation the shrunk plan gives.
    pub violation: ViolationReport,
    /// When the counterexample scenario ends.
    pub duration: SimTime,
    /// The counterexample as a scenario file.
    pub ron: String,
    /// The event budget the runs had: a violation of `event_budget` (a runaway)
    /// reproduces with `dsim run --max-events` this.
    pub max_events: u64,
    /// Runs spent shrinking.
    pub shrink_runs: u64,
}

/// What an exploration found.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Runs made before stopping (all of them when nothing failed).
    pub runs: u64,
    /// The first violation, shrunk.
    pub found: Option<Counterexample>,
}

/// The named fault profiles of `--faults`, or a comma list of kinds.
pub fn parse_profile(text: &str) -> Result<Vec<FaultKind>, String> {
    use FaultKind::*;
    let mut kinds = Vec::new();
    for word in text.split(',').map(str::trim) {
        let more: &[FaultKind] = match word {
            "all" => &FaultKind::ALL,
            "network" => &[
                Loss,
                Duplication,
                Reordering,
                DelaySpike,
                Partition,
                OneWayPartition,
                Isolation,
            ],
            "process" => &[CrashRestart, Pause],
            "clock" => &[ClockDrift, ClockJump],
            "loss" => &[Loss],
            "duplication" => &[Duplication],
            "reordering" => &[Reordering],
            "delay" => &[DelaySpike],
            "partition" => &[Partition],
            "one-way-partition" => &[OneWayPartition],
            "isolation" => &[Isolation],
            "crash" => &[CrashRestart],
            "pause" => &[Pause],
            "drift" => &[ClockDrift],
            "jump" => &[ClockJump],
            other => {
                return Err(format!(
                    "--faults: unknown profile or kind {other:?}; use all, network, process, clock, or a comma list of loss, duplication, reordering, delay, partition, one-way-partition, isolation, crash, pause, drift, jump"
                ));
            }
        };
        for k in more {
            if !kinds.contains(k) {
                kinds.push(*k);
            }
        }
    }
    Ok(kinds)
}

/// The context every run of one exploration shares.
struct Explorer<'a> {
    scenario: &'a dyn LoadedScenario,
    budget: FaultBudget,
    nodes: Vec<String>,
    targets: Vec<String>,
    base: LinkParams,
    max_events: Option<u64>,
    /// Invariants see every node after every event ([`RunOptions::full_checks`]).
    full_checks: bool,
}

impl<'a> Explorer<'a> {
    /// The explorer of `scenario` under its budget, with `kinds` instead of the
    /// budget's fault kinds when given.
    fn new(scenario: &'a dyn LoadedScenario, kinds: Option<&[FaultKind]>) -> Self {
        let mut budget = scenario.budget();
        if let Some(kinds) = kinds {
            budget.kinds = kinds.to_vec();
        }
        let nodes = scenario.node_names();
        let targets = if budget.nodes.is_empty() {
            nodes.clone()
        } else {
            budget.nodes.clone()
        };
        Explorer {
            scenario,
            budget,
            nodes,
            targets,
            base: scenario.default_link(),
            max_events: None,
            full_checks: false,
        }
    }

    fn faults(&self, plan: &[Episode<String>]) -> Vec<ScheduledFault<String>> {
        plan_faults(plan, &self.budget, &self.nodes, &self.base)
    }

    /// Run `seed` with `plan`: its report.
    fn run(
        &self,
        seed: u64,
        faults: Vec<ScheduledFault<String>>,
        keep_trace: bool,
    ) -> Result<RunReport, String> {
        let options = RunOptions {
            seed: Some(seed),
            until: None,
            keep_trace,
            extra_faults: faults,
            timeline: false,
            max_events: self.max_events,
            full_checks: self.full_checks,
        };
        self.scenario.run(&options, &mut |_, _| {})
    }

    /// The violation of `seed` with `plan`, if any.
    fn violation(
        &self,
        seed: u64,
        plan: &[Episode<String>],
    ) -> Result<Option<ViolationReport>, String> {
        Ok(self
            .run(seed, self.faults(plan), false)?
            .violations
            .into_iter()
            .next())
    }

    /// Run `i`'s seed and plan.
    fn draw(&self, base_seed: u64, i: u64) -> (u64, Vec<Episode<String>>) {
        let mut rng = component_rng(base_seed, &format!("explore-run-{i}"));
        let seed = rng.random::<u64>();
        let plan = draw_plan(
            &self.budget,
            self.scenario.duration(),
            &self.targets,
            &mut rng,
        );
        (seed, plan)
    }

    /// Shrink `plan` while `seed` still violates `invariant`: drop episodes, then
    /// shorten and weaken them, until nothing more helps. Returns the plan, its
    /// violation and the number of runs spent.
    fn shrink(
        &self,
        seed: u64,
        mut plan: Vec<Episode<String>>,
        mut violation: ViolationReport,
    ) -> Result<(Vec<Episode<String>>, ViolationReport, u64), String> {
        const MAX_RUNS: u64 = 400;
        let mut runs = 0;
        let invariant = violation.invariant.clone();
        let attempt = |candidate: &[Episode<String>],
                       runs: &mut u64|
         -> Result<Option<ViolationReport>, String> {
            *runs += 1;
            Ok(self
                .violation(seed, candidate)?
                .filter(|v| v.invariant == invariant))
        };
        let mut changed = true;
        while changed && runs < MAX_RUNS {
            changed = false;
            for i in (0..plan.len()).rev() {
                let mut candidate = plan.clone();
                candidate.remove(i);
                if let Some(v) = attempt(&candidate, &mut runs)? {
                    (plan, violation, changed) = (candidate, v, true);
                }
            }
            for i in 0..plan.len() {
                let e = &plan[i];
                let mut shorter = plan.clone();
                shorter[i].length = SimTime::from_nanos(e.length.as_nanos() / 2);
                let mut weaker = plan.clone();
                weaker[i].strength = e.strength / 2.0;
                let mut earlier = plan.clone();
                let from = self.budget.from.min(e.at);
                earlier[i].at = from + SimTime::from_nanos((e.at - from).as_nanos() / 2);
                for (worth, candidate) in [
                    (e.length > SimTime::from_millis(1), shorter),
                    (
                        e.strength.abs() > 1.0 / 64.0 && !e.kind.targets_nodes(),
                        weaker,
                    ),
                    (e.at > self.budget.from + SimTime::from_millis(1), earlier),
                ] {
                    if worth
                        && runs < MAX_RUNS
                        && let Some(v) = attempt(&candidate, &mut runs)?
                    {
                        (plan, violation, changed) = (candidate, v, true);
                        break;
                    }
                }
            }
        }
        Ok((plan, violation, runs))
    }
}

/// Explore `scenario` as `config` says; `progress(done, violations)` is called after
/// each batch of runs.
pub fn explore(
    scenario: &dyn LoadedScenario,
    config: &ExploreConfig,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Outcome, String> {
    let mut explorer = Explorer::new(scenario, config.kinds.as_deref());
    explorer.max_events = Some(match config.max_events {
        Some(n) => n,
        None => event_budget(scenario)?,
    });
    let jobs = config.jobs.max(1) as u64;
    let batch = jobs * 4;
    let mut done = 0;
    while done < config.runs {
        let end = (done + batch).min(config.runs);
        let results = run_batch(&explorer, config.seed, done..end, jobs)?;
        if let Some((i, seed, plan, violation)) = results.into_iter().flatten().next() {
            progress(i + 1, 1);
            let found = counterexample(&explorer, i, seed, plan, violation)?;
            return Ok(Outcome {
                runs: i + 1,
                found: Some(found),
            });
        }
        done = end;
        progress(done, 0);
    }
    Ok(Outcome {
        runs: done,
        found: None,
    })
}

/// The default event budget of runs of `scenario` under fault plans:
/// [`RUNAWAY_FACTOR`] times the events of its clean run, at least [`MIN_EVENT_BUDGET`].
pub fn event_budget(scenario: &dyn LoadedScenario) -> Result<u64, String> {
    let clean = Explorer::new(scenario, None).run(scenario.seed(), Vec::new(), false)?;
    Ok(clean
        .events
        .saturating_mul(RUNAWAY_FACTOR)
        .max(MIN_EVENT_BUDGET))
}

/// Run `scenario` at `seed` with the fault episodes of `plan` added to its own faults,
/// every invariant on (looking at every node after every event with `full_checks`),
/// stopped as a runaway after `max_events`: the report. For property tests of a plan
/// drawn by [`fault_plans`].
pub fn run_plan(
    scenario: &dyn LoadedScenario,
    seed: u64,
    plan: &[Episode<String>],
    max_events: u64,
    full_checks: bool,
) -> Result<RunReport, String> {
    let mut explorer = Explorer::new(scenario, None);
    explorer.max_events = Some(max_events);
    explorer.full_checks = full_checks;
    explorer.run(seed, explorer.faults(plan), false)
}

/// The fault plans of `scenario`'s budget as a proptest strategy, over the nodes the
/// budget may hit, with a seed for each run.
pub fn fault_plans(
    scenario: &dyn LoadedScenario,
) -> impl proptest::strategy::Strategy<Value = (u64, Vec<Episode<String>>)> + use<> {
    use proptest::strategy::Strategy;
    let Explorer {
        budget, targets, ..
    } = Explorer::new(scenario, None);
    let episodes = sim_core::fault_plan::episodes(&budget, scenario.duration(), targets);
    (proptest::num::u64::ANY, episodes).prop_map(|(seed, plan)| (seed, plan))
}

type Failure = (u64, u64, Vec<Episode<String>>, ViolationReport);

/// Runs `range` on `jobs` threads: per run, its failure if it failed, in run order.
fn run_batch(
    explorer: &Explorer<'_>,
    base_seed: u64,
    range: std::ops::Range<u64>,
    jobs: u64,
) -> Result<Vec<Option<Failure>>, String> {
    let indices: Vec<u64> = range.collect();
    let chunk = indices.len().div_ceil(jobs as usize).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = indices
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|&i| {
                            let (seed, plan) = explorer.draw(base_seed, i);
                            let found = explorer.violation(seed, &plan)?;
                            Ok(found.map(|v| (i, seed, plan, v)))
                        })
                        .collect::<Result<Vec<_>, String>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().expect("an exploration run panicked")?);
        }
        Ok(all)
    })
}

/// Shrink the failure of run `i`, cut its plan at the violation, and check that the
/// scenario file written for it reproduces the same violation.
fn counterexample(
    explorer: &Explorer<'_>,
    run: u64,
    seed: u64,
    plan: Vec<Episode<String>>,
    violation: ViolationReport,
) -> Result<Counterexample, String> {
    let drawn = plan.len();
    let (plan, violation, shrink_runs) = explorer.shrink(seed, plan, violation)?;
    let mut faults = explorer.faults(&plan);
    let duration = if violation.at_end {
        explorer.scenario.end_time(&faults)
    } else {
        // An earlier end: nothing after the violation matters.
        let at = SimTime(violation.time_ns);
        faults.retain(|f| f.at <= at);
        at
    };
    let ron = explorer.scenario.to_ron(seed, &faults, duration);
    Ok(Counterexample {
        run,
        seed,
        drawn,
        plan,
        faults,
        violation,
        duration,
        ron,
        shrink_runs,
        max_events: explorer.max_events.unwrap_or(u64::MAX),
    })
}

/// The run of `example` again, its trace kept and its key metrics recorded over time:
/// what the events before the violation and the counterexample's report are drawn
/// from.
pub fn replay(
    scenario: &dyn LoadedScenario,
    example: &Counterexample,
) -> Result<RunReport, String> {
    let options = RunOptions {
        seed: Some(example.seed),
        until: Some(example.duration),
        keep_trace: true,
        extra_faults: example.faults.clone(),
        timeline: true,
        max_events: Some(example.max_events),
        full_checks: false,
    };
    scenario.run(&options, &mut |_, _| {})
}
