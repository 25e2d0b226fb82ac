//! What a node learns from floods, and the report's rule for choosing whom to ask for a
//! stream (a pure function, shared by nodes choosing a parent and clients choosing a
//! point of presence).

use super::wire::VideoId;
use sim_core::{NodeId, SimTime};
use std::collections::VecDeque;

/// The last `capacity` latency samples towards one peer and their mean.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencyWindow {
    samples: VecDeque<SimTime>,
}

impl LatencyWindow {
    /// Record `sample`, keeping the last `capacity` samples.
    pub fn push(&mut self, sample: SimTime, capacity: usize) {
        self.samples.push_back(sample);
        while self.samples.len() > capacity.max(1) {
            self.samples.pop_front();
        }
    }

    /// The mean of the samples kept, in nanoseconds (`None` before the first).
    pub fn mean_ns(&self) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let sum: u128 = self.samples.iter().map(|s| u128::from(s.0)).sum();
        Some(sum as f64 / self.samples.len() as f64)
    }
}

/// What a node knows about the path to one server through one neighbour, from the
/// floods that neighbour forwarded.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Flood delays (server creation to arrival here) through this neighbour.
    pub delays: LatencyWindow,
    /// Hops from the server to this node along the route.
    pub hops: u32,
    /// Videos offered along it.
    pub videos: Vec<VideoId>,
    /// The neighbour's own parents (the grandparents, for catastrophic death).
    pub parents: Vec<NodeId>,
    /// When its last flood arrived (local time).
    pub last_flood: SimTime,
    /// Creation time of the latest flood round seen (tells a new round from another
    /// copy of the same round arriving over a longer path).
    pub round: SimTime,
}

/// One candidate for providing a stream, with the figures the rule compares.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Who.
    pub id: NodeId,
    /// Mean of the last latency samples (ns): the report's "mean of the last 10 RTTs".
    pub mean_latency_ns: f64,
    /// Hops to the server (0 for every candidate when clients choose a PoP).
    pub hops: u32,
    /// Videos the chooser currently requests from this candidate.
    pub requested: usize,
    /// Streams the candidate can send.
    pub streams: usize,
}

/// The report's choice: keep the candidates whose mean latency is within `tolerance`
/// (0.3) of the smallest mean; among them take the fewest hops, then the fewest videos
/// currently requested from it, then the fewest streams it offers; a remaining tie goes
/// to the lowest node id (the report leaves it open; this keeps runs deterministic).
pub fn choose(candidates: &[Candidate], tolerance: f64) -> Option<NodeId> {
    let best = candidates
        .iter()
        .map(|c| c.mean_latency_ns)
        .min_by(f64::total_cmp)?;
    candidates
        .iter()
        .filter(|c| c.mean_latency_ns <= best * (1.0 + tolerance))
        .min_by_key(|c| (c.hops, c.requested, c.streams, c.id))
        .map(|c| c.id)
}
