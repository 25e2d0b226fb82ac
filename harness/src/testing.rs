//! The harness for a user's own tests: load a scenario file with `--set`-style
//! overrides, run it at a seed, compare its trace with a golden file (re-recorded with
//! `DSIM_BLESS=1`), explore it, and check one fault plan against its invariants, each in
//! one call.
//!
//! ```no_run
//! use dsim_harness::testing::TestScenario;
//! # fn registry() -> dsim_harness::Registry { dsim_harness::Registry::new() }
//! let registry = registry();
//! let scenario = TestScenario::load(&registry, "scenarios/lease.ron")
//!     .set("params.lease", "\"3s\"");
//! scenario.run(7).assert_clean();
//! scenario.assert_golden(7, "tests/golden/lease.trace.jsonl");
//! assert!(scenario.explore(200).found.is_none());
//! ```
//!
//! Failures panic with the message `dsim` would print, as assertions do.

use crate::explore::{self, ExploreConfig, Outcome};
use crate::registry::Registry;
use dsim_scenario::overrides::apply_override;
use dsim_scenario::runner::{LoadedScenario, RunOptions, RunReport};
use dsim_scenario::trace_file::{self, TraceHeader};
use sim_core::fault_plan::Episode;
use std::cell::OnceCell;
use std::path::Path;

/// A scenario loaded for a test: the file, its text with the overrides applied, and the
/// loaded scenario.
pub struct TestScenario<'r> {
    registry: &'r Registry,
    file: String,
    text: String,
    loaded: Box<dyn LoadedScenario>,
    /// The event budget of runs under fault plans, found on first use.
    event_budget: OnceCell<u64>,
}

/// The environment variable that makes [`TestScenario::assert_golden`] re-record its
/// golden file instead of comparing: the convention of dsim's own golden tests.
pub const BLESS: &str = "DSIM_BLESS";

impl<'r> TestScenario<'r> {
    /// Load the scenario file at `path` (files it names are read beside it).
    ///
    /// # Panics
    /// If the file cannot be read or does not load: the loader's error, with file,
    /// line and column.
    pub fn load(registry: &'r Registry, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read scenario {file}: {e}"));
        Self::from_text(registry, &file, &text)
    }

    /// Load scenario `text` as if read from `file`.
    ///
    /// # Panics
    /// If it does not load.
    pub fn from_text(registry: &'r Registry, file: &str, text: &str) -> Self {
        let loaded = registry.load(file, text).unwrap_or_else(|e| panic!("{e}"));
        TestScenario {
            registry,
            file: file.to_owned(),
            text: text.to_owned(),
            loaded,
            event_budget: OnceCell::new(),
        }
    }

    /// The scenario with one field overridden by dotted path and RON value, as
    /// `dsim run --set PATH=VALUE` does.
    ///
    /// # Panics
    /// If the path or the value is wrong, or the changed scenario does not load.
    pub fn set(self, path: &str, value: &str) -> Self {
        let text = apply_override(&self.text, path, value)
            .unwrap_or_else(|e| panic!("{}: --set {path}={value}: {e}", self.file));
        Self::from_text(self.registry, &self.file, &text)
    }

    /// The loaded scenario, for the rest of the harness.
    pub fn loaded(&self) -> &dyn LoadedScenario {
        self.loaded.as_ref()
    }

    /// Run it at `seed`, every selected invariant on: the report `dsim run --json`
    /// prints (a violation is in the report, not a panic).
    pub fn run(&self, seed: u64) -> RunReport {
        self.run_with(seed, false)
    }

    fn run_with(&self, seed: u64, keep_trace: bool) -> RunReport {
        let options = RunOptions {
            seed: Some(seed),
            keep_trace,
            ..RunOptions::default()
        };
        self.loaded
            .run(&options, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{}: {e}", self.file))
    }

    /// Run at `seed` and compare the whole trace with the golden file `golden`, record
    /// by record; with `DSIM_BLESS` set, write it instead. The file is a trace file
    /// `dsim verify` and `dsim report` read.
    ///
    /// # Panics
    /// At the first record that differs (both shown), on a different fingerprint, or
    /// when the golden file is missing and `DSIM_BLESS` is not set.
    pub fn assert_golden(&self, seed: u64, golden: impl AsRef<Path>) {
        let golden = golden.as_ref();
        let report = self.run_with(seed, true);
        if std::env::var_os(BLESS).is_some() {
            let until = self.loaded.end_time(&[]);
            let header =
                TraceHeader::of(&self.file, &self.text, &report, until, self.loaded.files());
            trace_file::write(golden, &header, &report.records).unwrap_or_else(|e| panic!("{e}"));
            return;
        }
        let (header, expected) = trace_file::read(golden).unwrap_or_else(|e| {
            panic!("{e} (record it with {BLESS}=1 and check the diff before committing)")
        });
        if let Some((i, want, got)) = sim_core::trace::first_divergence(&expected, &report.records)
        {
            let show = |r: Option<&sim_core::TraceRecord>| {
                r.map_or("(trace ended)".to_owned(), |r| r.to_string())
            };
            panic!(
                "{}: the run differs from the golden trace {} at record {i}\n  recorded: {}\n  now:      {}\n(if the change is meant, re-record with {BLESS}=1 and say why in the commit)",
                self.file,
                golden.display(),
                show(want),
                show(got)
            );
        }
        assert_eq!(
            report.trace_hash,
            header.trace_hash,
            "{}: fingerprint differs from the golden trace {}",
            self.file,
            golden.display()
        );
    }

    /// `dsim explore` for `runs` runs from exploration seed 0, on one thread, with the
    /// scenario's fault budget: what it found, shrunk.
    ///
    /// # Panics
    /// If a run cannot run (not if it violates an invariant: that is the outcome).
    pub fn explore(&self, runs: u64) -> Outcome {
        let config = ExploreConfig {
            runs,
            seed: 0,
            kinds: None,
            jobs: 1,
            max_events: None,
        };
        explore::explore(self.loaded.as_ref(), &config, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{}: {e}", self.file))
    }

    /// The scenario's fault plans as a proptest strategy, each with a run seed: feed
    /// them to [`TestScenario::check_plan`] in a `proptest!` block.
    pub fn fault_plans(
        &self,
    ) -> impl proptest::strategy::Strategy<Value = (u64, Vec<Episode<String>>)> + use<> {
        explore::fault_plans(self.loaded.as_ref())
    }

    /// Property test: `cases` fault plans drawn by proptest from the scenario's budget
    /// (from a fixed seed, so the test is the same every time), each run with every
    /// invariant on; a failing plan is shrunk by proptest.
    ///
    /// # Panics
    /// With the smallest failing plan, its run seed and the violation.
    pub fn check_fault_plans(&self, cases: u32) {
        use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
        let config = Config {
            cases,
            rng_seed: RngSeed::Fixed(0),
            failure_persistence: None,
            ..Config::default()
        };
        let result = TestRunner::new(config).run(&self.fault_plans(), |(seed, plan)| {
            self.check_plan(seed, &plan)
                .map(drop)
                .map_err(TestCaseError::fail)
        });
        if let Err(e) = result {
            panic!("{}: a fault plan breaks an invariant: {e}", self.file);
        }
    }

    /// Run at `seed` with the fault episodes of `plan` added, every invariant on: `Err`
    /// names the violated invariant, when, and what happened.
    pub fn check_plan(&self, seed: u64, plan: &[Episode<String>]) -> Result<RunReport, String> {
        let budget = *self.event_budget.get_or_init(|| {
            explore::event_budget(self.loaded.as_ref())
                .unwrap_or_else(|e| panic!("{}: {e}", self.file))
        });
        let report = explore::run_plan(self.loaded.as_ref(), seed, plan, budget, false)
            .unwrap_or_else(|e| panic!("{}: {e}", self.file));
        match report.violations.first() {
            None => Ok(report),
            Some(v) => Err(format!(
                "{} violated {} at {}: {}",
                self.file,
                v.invariant,
                sim_core::SimTime(v.time_ns),
                v.message
            )),
        }
    }
}
