//! System 3: peer-to-peer widest-path streaming on a distributed maximum spanning tree.

pub mod ghs;
pub mod graph;
pub mod oracle;
#[cfg(test)]
mod tests;
