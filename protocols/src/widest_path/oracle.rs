//! Centralized oracles the distributed system is checked against: Kruskal's spanning
//! tree (over petgraph's union-find, with the same tie key as GHS) and the widest path
//! by a modified Dijkstra (maximize the bottleneck instead of minimizing the sum).

use super::ghs::{EdgeKey, Objective};
use petgraph::unionfind::UnionFind;
use std::collections::BinaryHeap;

/// The spanning forest Kruskal finds on `n` nodes and `links` `(a, b, weight)`, ranking
/// edges on the full key (weight, smaller id, larger id) as GHS does; sorted keys.
pub fn kruskal(n: usize, links: &[(u32, u32, u64)], objective: Objective) -> Vec<EdgeKey> {
    let mut keys: Vec<EdgeKey> = links
        .iter()
        .map(|&(a, b, w)| EdgeKey::new(a, b, w))
        .collect();
    keys.sort_by_key(|&k| objective.rank(k));
    let mut sets = UnionFind::<usize>::new(n);
    let mut tree: Vec<EdgeKey> = keys
        .into_iter()
        .filter(|k| sets.union(k.lo as usize, k.hi as usize))
        .collect();
    tree.sort();
    tree
}

/// The width (largest bottleneck) of the widest path from `from` to `to` over `links`
/// `(a, b, capacity)`; `None` when `to` cannot be reached, `u64::MAX` when `from == to`.
pub fn widest_path(n: usize, links: &[(u32, u32, u64)], from: u32, to: u32) -> Option<u64> {
    let mut adjacency = vec![Vec::new(); n];
    for &(a, b, w) in links {
        adjacency[a as usize].push((b, w));
        adjacency[b as usize].push((a, w));
    }
    let mut width = vec![0u64; n];
    let mut done = vec![false; n];
    width[from as usize] = u64::MAX;
    let mut heap = BinaryHeap::from([(u64::MAX, from)]);
    while let Some((w, p)) = heap.pop() {
        if done[p as usize] {
            continue;
        }
        done[p as usize] = true;
        if p == to {
            return Some(w);
        }
        for &(q, cap) in &adjacency[p as usize] {
            let through = w.min(cap);
            if cap > 0 && through > width[q as usize] {
                width[q as usize] = through;
                heap.push((through, q));
            }
        }
    }
    None
}
