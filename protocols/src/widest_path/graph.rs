//! The peer graph: peers and links with a bandwidth, drawn at random or read from a GML
//! file of the Internet Topology Zoo.
//!
//! GML rules (the Topology Zoo files break the simple-graph assumption in three ways):
//! - Parallel edges (with or without `multigraph 1`) are merged into one link whose
//!   bandwidth is the sum of theirs: parallel circuits between two PoPs add capacity.
//! - A link's bandwidth is its `LinkSpeedRaw` (bit/s); an edge without it takes the
//!   `default_kbps` given with the file, and without that the file is refused with the
//!   edge's line.
//! - Self-loops are dropped. A disconnected graph is refused, naming the nodes that
//!   cannot reach node 0 (a peer there could never be reached).
//!
//! Bandwidths are whole kbit/s everywhere.

use dsim_system::gml;
use rand::{Rng, RngExt};
use std::collections::BTreeMap;

/// An undirected graph of peers with a bandwidth on every link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerGraph {
    /// Peer names, indexed by peer number.
    pub names: Vec<String>,
    /// Links `(a, b, kbps)` with `a < b`, sorted, no duplicates.
    pub links: Vec<(u32, u32, u64)>,
}

impl PeerGraph {
    /// A graph from peers and links; parallel links are merged (bandwidths added) and
    /// self-loops dropped.
    pub fn new(names: Vec<String>, links: impl IntoIterator<Item = (u32, u32, u64)>) -> Self {
        let mut merged: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        for (a, b, w) in links {
            if a != b {
                *merged.entry((a.min(b), a.max(b))).or_default() += w;
            }
        }
        PeerGraph {
            names,
            links: merged.into_iter().map(|((a, b), w)| (a, b, w)).collect(),
        }
    }

    /// A random connected graph of `peers` peers: a random spanning tree (peer i links
    /// to a uniformly drawn earlier peer), then every other pair linked with probability
    /// `density`; bandwidths uniform in `[min_kbps, max_kbps]` (a narrow range gives
    /// many ties). Peers are named `p0`, `p1`, ...
    pub fn random<R: Rng>(
        rng: &mut R,
        peers: u32,
        density: f64,
        min_kbps: u64,
        max_kbps: u64,
    ) -> Self {
        let mut links = Vec::new();
        // `tree_parent[i]` is the earlier peer `i` hangs from in the spanning tree.
        let mut tree_parent = vec![u32::MAX; peers as usize];
        for i in 1..peers {
            let j = rng.random_range(0..i);
            tree_parent[i as usize] = j;
            links.push((j, i, rng.random_range(min_kbps..=max_kbps)));
        }
        for a in 0..peers {
            for b in a + 1..peers {
                let in_tree = tree_parent[b as usize] == a;
                if !in_tree && rng.random_bool(density) {
                    links.push((a, b, rng.random_range(min_kbps..=max_kbps)));
                }
            }
        }
        PeerGraph::new((0..peers).map(|i| format!("p{i}")).collect(), links)
    }

    /// Number of peers.
    pub fn peer_count(&self) -> usize {
        self.names.len()
    }

    /// The neighbours of `peer` with the link bandwidths.
    pub fn neighbours(&self, peer: u32) -> Vec<(u32, u64)> {
        self.links
            .iter()
            .filter_map(|&(a, b, w)| {
                if a == peer {
                    Some((b, w))
                } else if b == peer {
                    Some((a, w))
                } else {
                    None
                }
            })
            .collect()
    }

    /// The peers that cannot reach peer 0 (empty when connected).
    pub fn unreachable_from_first(&self) -> Vec<u32> {
        let n = self.peer_count();
        let mut seen = vec![false; n];
        let mut stack = vec![0u32];
        if n > 0 {
            seen[0] = true;
        }
        while let Some(p) = stack.pop() {
            for (q, _) in self.neighbours(p) {
                if !seen[q as usize] {
                    seen[q as usize] = true;
                    stack.push(q);
                }
            }
        }
        (0..n as u32).filter(|&p| !seen[p as usize]).collect()
    }

    /// Read a GML graph (see the module's rules). `default_kbps` is the bandwidth of
    /// edges without `LinkSpeedRaw`. Errors name the line.
    pub fn from_gml(text: &str, default_kbps: Option<u64>) -> Result<Self, String> {
        let read = gml::read_graph(text)?;
        let mut names: Vec<String> = Vec::with_capacity(read.nodes.len());
        for (id, label) in read.nodes {
            // Names must be unique (they key node names in the simulation).
            names.push(if names.contains(&label) {
                format!("{label} #{id}")
            } else {
                label
            });
        }
        let mut links = Vec::new();
        for (a, b, edge, line) in read.edges {
            let kbps = match gml::number(&edge, "LinkSpeedRaw") {
                Some(bps) if bps.is_finite() && bps >= 1000.0 => (bps / 1000.0).round() as u64,
                Some(bps) => {
                    return Err(format!(
                        "GML line {line}: LinkSpeedRaw {bps} is below 1 kbit/s"
                    ));
                }
                None => default_kbps.ok_or_else(|| {
                    format!(
                        "GML line {line}: edge {} - {} has no LinkSpeedRaw; give a default bandwidth (default_kbps) for such edges",
                        names[a], names[b]
                    )
                })?,
            };
            links.push((a as u32, b as u32, kbps));
        }
        let graph = PeerGraph::new(names, links);
        let cut_off = graph.unreachable_from_first();
        if !cut_off.is_empty() {
            let some: Vec<&str> = cut_off
                .iter()
                .take(5)
                .map(|&p| graph.names[p as usize].as_str())
                .collect();
            return Err(format!(
                "GML: the graph is disconnected: {} node(s) cannot reach {:?}, e.g. {}",
                cut_off.len(),
                graph.names[0],
                some.join(", ")
            ));
        }
        Ok(graph)
    }
}
