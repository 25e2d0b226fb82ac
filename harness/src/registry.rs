//! The registry: the systems a binary hosts, its scenario library, the files its
//! scenarios may name by a shipped path, and the generators of `bench system`. dsim's
//! own binary and a user's binary build a [`Registry`] the same way and hand it to
//! `dsim_cli::main`:
//!
//! ```no_run
//! use dsim_harness::Registry;
//! let registry = Registry::new()
//!     // .system::<MySystem>()   one line per system
//!     .scenario("my-scenario.ron", include_str!("../../scenarios/bully.ron"));
//! # let _ = registry;
//! ```

use crate::bench::{BenchEntry, EngineBench, Generator};
use dsim_live::{LiveScenario, Wire};
use dsim_scenario::load_error::LoadError;
use dsim_scenario::loader::{self, FileSource, list_or_none, locate, ron_options};
use dsim_scenario::runner::{LoadedScenario, Prepared};
use dsim_scenario::schema::SystemName;
use dsim_system::{ScenarioFiles, System};
use sim_core::Node;
use std::process::ExitCode;

/// One hosted system: its name, its description and how to load its scenarios, to
/// simulate or to run live.
pub struct SystemEntry {
    /// The name scenario files use.
    pub name: &'static str,
    /// One line for `dsim list`.
    pub description: &'static str,
    load: Loader,
    live: LiveLoader,
}

/// Loads scenario text (file name, text, where its files come from) as one system's
/// scenario.
type Loader = fn(&str, &str, &FileSource<'_>) -> Result<Box<dyn LoadedScenario>, LoadError>;

/// Loads scenario text as one system's scenario, to run live (`dsim live`).
type LiveLoader = fn(&str, &str, &FileSource<'_>) -> Result<Box<dyn LiveScenario>, LoadError>;

/// A scenario of the library: `dsim run NAME`, `dsim run --all` and `dsim list` know it.
#[derive(Clone, Debug)]
pub struct LibraryScenario {
    /// The file name (`NAME.ron`).
    pub file: String,
    /// The scenario text.
    pub text: String,
}

/// The systems, scenarios, shipped files and benchmarks a `dsim` binary knows.
#[derive(Default)]
pub struct Registry {
    systems: Vec<SystemEntry>,
    library: Vec<LibraryScenario>,
    shipped: ScenarioFiles,
    benches: Vec<BenchEntry>,
    engine_benches: Vec<EngineBench>,
}

impl Registry {
    /// An empty registry: no systems, no library.
    pub fn new() -> Self {
        Self::default()
    }

    /// Host system `S`: scenario files with `system: "S::NAME"` load as `S`, to
    /// simulate or to run live (`dsim live`, for which its messages derive serde's
    /// `Serialize` and `Deserialize`).
    ///
    /// # Panics
    /// If a system of the same name is already registered (a programming error).
    pub fn system<S: System>(mut self) -> Self
    where
        <S::Node as Node>::Msg: Wire,
    {
        assert!(
            self.systems.iter().all(|e| e.name != S::NAME),
            "system {:?} registered twice",
            S::NAME
        );
        self.systems.push(SystemEntry {
            name: S::NAME,
            description: S::DESCRIPTION,
            load: loader::load_boxed::<S>,
            live: dsim_live::load_live::<S>,
        });
        self
    }

    /// Add the scenario `file` (`NAME.ron`) with its `text` to the library.
    pub fn scenario(mut self, file: &str, text: &str) -> Self {
        self.library.push(LibraryScenario {
            file: file.to_owned(),
            text: text.to_owned(),
        });
        self
    }

    /// Ship the file `path` with its `text`: any scenario may name it by that path (a
    /// file of the same path beside the scenario file wins).
    pub fn shipped_file(mut self, path: &str, text: &str) -> Self {
        self.shipped.insert(path, text.to_owned());
        self
    }

    /// Let `dsim bench system NAME --size N` generate system `S` with `generate`;
    /// `description` says what the size counts.
    pub fn bench<S: System>(mut self, description: &'static str, generate: Generator<S>) -> Self {
        self.benches
            .push(BenchEntry::new::<S>(description, generate));
        self
    }

    /// Add `dsim bench NAME ARGS...`, an engine benchmark with its own arguments:
    /// `run` gets them after the name and returns the exit code.
    pub fn engine_bench(
        mut self,
        name: &'static str,
        about: &'static str,
        run: fn(&[String]) -> ExitCode,
    ) -> Self {
        self.engine_benches.push(EngineBench { name, about, run });
        self
    }

    /// The hosted systems, in registration order.
    pub fn systems(&self) -> &[SystemEntry] {
        &self.systems
    }

    /// The scenario library, in registration order.
    pub fn library(&self) -> &[LibraryScenario] {
        &self.library
    }

    /// The library scenario called `name` (with or without `.ron`).
    pub fn find_scenario(&self, name: &str) -> Option<&LibraryScenario> {
        let name = name.strip_suffix(".ron").unwrap_or(name);
        self.library
            .iter()
            .find(|s| s.file.strip_suffix(".ron") == Some(name))
    }

    /// The shipped files.
    pub fn shipped_files(&self) -> &ScenarioFiles {
        &self.shipped
    }

    /// The generators of `dsim bench system`.
    pub fn benches(&self) -> &[BenchEntry] {
        &self.benches
    }

    /// The engine benchmarks (`dsim bench NAME`).
    pub fn engine_benches(&self) -> &[EngineBench] {
        &self.engine_benches
    }

    /// Load the scenario in `text` (the contents of `file`): parse, read the files it
    /// names (beside `file`, or shipped), check every field, and build it once to check
    /// node references.
    pub fn load(&self, file: &str, text: &str) -> Result<Box<dyn LoadedScenario>, LoadError> {
        self.load_from(file, text, &FileSource::Disk(&self.shipped))
    }

    /// [`Registry::load`] with the files a trace, manifest or counterexample carries.
    pub fn load_carried(
        &self,
        file: &str,
        text: &str,
        files: &ScenarioFiles,
    ) -> Result<Box<dyn LoadedScenario>, LoadError> {
        self.load_from(file, text, &FileSource::Carried(files))
    }

    /// Load a scenario of system `S`, typed: for tests and programs that drive the
    /// simulation themselves (step it, look at node state) instead of `dsim run`.
    pub fn load_typed<S: System>(&self, file: &str, text: &str) -> Result<Prepared<S>, LoadError> {
        loader::load::<S>(file, text, &FileSource::Disk(&self.shipped))
    }

    /// Load the scenario in `text` (the contents of `file`) to run live, as
    /// [`Registry::load`] loads it to simulate.
    pub fn load_live(&self, file: &str, text: &str) -> Result<Box<dyn LiveScenario>, LoadError> {
        let entry = self.entry_for(file, text)?;
        (entry.live)(file, text, &FileSource::Disk(&self.shipped))
    }

    fn load_from(
        &self,
        file: &str,
        text: &str,
        files: &FileSource<'_>,
    ) -> Result<Box<dyn LoadedScenario>, LoadError> {
        (self.entry_for(file, text)?.load)(file, text, files)
    }

    /// The entry of the system scenario `text` names.
    fn entry_for(&self, file: &str, text: &str) -> Result<&SystemEntry, LoadError> {
        let head: SystemName = ron_options()
            .from_str(text)
            .map_err(|e| LoadError::from_ron(file, text, &e))?;
        let Some(entry) = self.systems.iter().find(|s| s.name == head.system) else {
            let known: Vec<&str> = self.systems.iter().map(|s| s.name).collect();
            let (line, col) = locate(text, &["system"], Some(&head.system));
            return Err(LoadError::at(
                file,
                text,
                line,
                col,
                format!(
                    "unknown system {:?}; this binary hosts: {} (a system of your own must be registered in your binary's Registry; see docs/your-own-system.md)",
                    head.system,
                    list_or_none(&known.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                ),
            ));
        };
        Ok(entry)
    }
}
