//! Sans-IO protocol cores and the systems dsim hosts.
//!
//! Each system module implements [`dsim_system::System`]: its parameters, node roles, node
//! state machines, invariants and end-of-run metrics. Nothing here knows about RON
//! files or the command line.

#![warn(missing_docs)]

pub mod bully;
pub mod cityos;
pub mod forward;
pub mod image_cloud;
pub mod ott;
pub mod parking;
pub mod phold;
pub mod ping_pong;
pub mod transport;
pub mod transport_system;
pub mod widest_path;
