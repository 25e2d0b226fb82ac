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
        let items = gml::parse(text)?;
        let graph = items
            .iter()
            .find_map(|(k, v, _)| match (k.as_str(), v) {
                ("graph", gml::Value::List(l)) => Some(l),
                _ => None,
            })
            .ok_or("GML: no `graph [ ... ]` block")?;
        let mut ids: BTreeMap<i64, u32> = BTreeMap::new();
        let mut names = Vec::new();
        for (key, value, line) in graph {
            if key != "node" {
                continue;
            }
            let gml::Value::List(node) = value else {
                return Err(format!("GML line {line}: `node` must be a list [ ... ]"));
            };
            let id = gml::int(node, "id")
                .ok_or_else(|| format!("GML line {line}: node without an integer `id`"))?;
            let label = gml::string(node, "label").unwrap_or_else(|| format!("node{id}"));
            let peer = names.len() as u32;
            if ids.insert(id, peer).is_some() {
                return Err(format!("GML line {line}: node id {id} is used twice"));
            }
            // Names must be unique (they key node names in the simulation).
            let name = if names.contains(&label) {
                format!("{label} #{id}")
            } else {
                label
            };
            names.push(name);
        }
        let mut links = Vec::new();
        for (key, value, line) in graph {
            if key != "edge" {
                continue;
            }
            let gml::Value::List(edge) = value else {
                return Err(format!("GML line {line}: `edge` must be a list [ ... ]"));
            };
            let end = |field: &str| -> Result<u32, String> {
                let id = gml::int(edge, field)
                    .ok_or_else(|| format!("GML line {line}: edge without an integer `{field}`"))?;
                ids.get(&id)
                    .copied()
                    .ok_or_else(|| format!("GML line {line}: edge {field} {id} is not a node id"))
            };
            let (a, b) = (end("source")?, end("target")?);
            let kbps = match gml::number(edge, "LinkSpeedRaw") {
                Some(bps) if bps.is_finite() && bps >= 1000.0 => (bps / 1000.0).round() as u64,
                Some(bps) => {
                    return Err(format!(
                        "GML line {line}: LinkSpeedRaw {bps} is below 1 kbit/s"
                    ));
                }
                None => default_kbps.ok_or_else(|| {
                    format!(
                        "GML line {line}: edge {} - {} has no LinkSpeedRaw; give a default bandwidth (default_kbps) for such edges",
                        names[a as usize], names[b as usize]
                    )
                })?,
            };
            links.push((a, b, kbps));
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

/// A minimal GML reader: `key value` pairs where a value is a number, a quoted string
/// or a list `[ ... ]` of pairs.
mod gml {
    /// A GML value.
    #[derive(Debug)]
    pub(super) enum Value {
        Number(f64),
        Text(String),
        List(Vec<(String, Value, usize)>),
    }

    /// Parse a whole file into its top-level `(key, value, line)` items.
    pub(super) fn parse(text: &str) -> Result<Vec<(String, Value, usize)>, String> {
        let tokens = tokenize(text)?;
        let mut pos = 0;
        let items = list(&tokens, &mut pos)?;
        if let Some((t, line)) = tokens.get(pos) {
            return Err(format!("GML line {line}: unexpected {t:?}"));
        }
        Ok(items)
    }

    pub(super) fn number(list: &[(String, Value, usize)], key: &str) -> Option<f64> {
        list.iter().find_map(|(k, v, _)| match v {
            Value::Number(x) if k == key => Some(*x),
            _ => None,
        })
    }

    pub(super) fn int(list: &[(String, Value, usize)], key: &str) -> Option<i64> {
        number(list, key)
            .filter(|x| x.fract() == 0.0)
            .map(|x| x as i64)
    }

    pub(super) fn string(list: &[(String, Value, usize)], key: &str) -> Option<String> {
        list.iter().find_map(|(k, v, _)| match v {
            Value::Text(s) if k == key => Some(s.clone()),
            Value::Number(x) if k == key => Some(x.to_string()),
            _ => None,
        })
    }

    #[derive(Debug, PartialEq)]
    enum Token {
        Word(String),
        Number(f64),
        Text(String),
        Open,
        Close,
    }

    fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, String> {
        let mut out = Vec::new();
        let mut chars = text.chars().peekable();
        let mut line = 1;
        while let Some(&c) = chars.peek() {
            match c {
                '\n' => {
                    line += 1;
                    chars.next();
                }
                c if c.is_whitespace() => {
                    chars.next();
                }
                '#' => while chars.next_if(|&c| c != '\n').is_some() {},
                '[' | ']' => {
                    chars.next();
                    out.push((if c == '[' { Token::Open } else { Token::Close }, line));
                }
                '"' => {
                    chars.next();
                    let start = line;
                    let mut s = String::new();
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some(ch) => {
                                if ch == '\n' {
                                    line += 1;
                                }
                                s.push(ch);
                            }
                            None => {
                                return Err(format!("GML line {start}: unterminated string"));
                            }
                        }
                    }
                    out.push((Token::Text(s), start));
                }
                _ => {
                    let mut word = String::new();
                    while let Some(ch) =
                        chars.next_if(|&ch| !ch.is_whitespace() && !matches!(ch, '[' | ']' | '"'))
                    {
                        word.push(ch);
                    }
                    let token =
                        if word.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_') {
                            Token::Word(word)
                        } else {
                            Token::Number(word.parse().map_err(|_| {
                                format!("GML line {line}: {word:?} is neither a key nor a number")
                            })?)
                        };
                    out.push((token, line));
                }
            }
        }
        Ok(out)
    }

    fn list(
        tokens: &[(Token, usize)],
        pos: &mut usize,
    ) -> Result<Vec<(String, Value, usize)>, String> {
        let mut items = Vec::new();
        while let Some((token, line)) = tokens.get(*pos) {
            let key = match token {
                Token::Close => return Ok(items),
                Token::Word(w) => w.clone(),
                other => return Err(format!("GML line {line}: expected a key, found {other:?}")),
            };
            *pos += 1;
            let value = match tokens.get(*pos) {
                Some((Token::Number(x), _)) => Value::Number(*x),
                Some((Token::Text(s), _)) => Value::Text(s.clone()),
                Some((Token::Open, open_line)) => {
                    *pos += 1;
                    let inner = list(tokens, pos)?;
                    if tokens.get(*pos).map(|(t, _)| t) != Some(&Token::Close) {
                        return Err(format!(
                            "GML line {open_line}: `{key} [` is never closed with `]`"
                        ));
                    }
                    Value::List(inner)
                }
                Some((other, l)) => {
                    return Err(format!(
                        "GML line {l}: `{key}` has no value (found {other:?})"
                    ));
                }
                None => return Err(format!("GML line {line}: `{key}` has no value")),
            };
            *pos += 1;
            items.push((key, value, *line));
        }
        Ok(items)
    }
}
