//! dsim-scenario: a scenario file, from text to a run. The RON schema (`schema`), the
//! loader with errors that name the file, line and column (`loader`, `load_error`),
//! the memory a run may use (`memory`), `--set` overrides (`overrides`), the runner of one scenario (`runner`), the key
//! metrics over time it records (`timeline`) and trace files (`trace_file`). It knows
//! no system: a registry hands it one (`loader::load::<S>`).
#![warn(missing_docs, unreachable_pub)]

pub mod load_error;
pub mod loader;
pub mod memory;
pub mod overrides;
pub mod runner;
pub mod schema;
pub mod timeline;
pub mod trace_file;
