//! dsim-harness: everything dsim does with many runs of a system, for any system a
//! [`Registry`] hosts: the registry itself (`registry`), fault exploration and shrinking
//! (`explore`), parameter sweeps with shards and their merge (`sweep`), `bench system`
//! and the timing every benchmark shares (`bench`), and the helpers of a user's own
//! tests (`testing`).
#![warn(missing_docs, unreachable_pub)]

pub mod bench;
pub mod explore;
pub mod registry;
pub mod sweep;
pub mod testing;

pub use registry::Registry;
