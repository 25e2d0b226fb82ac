//! Gallager-Humblet-Spira (1983): the distributed minimum (or maximum) spanning tree, as
//! a sans-IO state machine.
//!
//! One [`Ghs`] runs at each node. It takes the node's incident edges, is woken with
//! [`Ghs::wake`], is fed every GHS message with [`Ghs::on_message`], and leaves the
//! messages to send in its outbox ([`Ghs::take_outbox`]). Messages that cannot be
//! handled yet (the paper's "place received message on end of queue") wait in a
//! per-node queue and are retried after every change of state. The algorithm needs FIFO
//! links; `tests.rs` shows what goes wrong without them.
//!
//! Edges are ranked on the full key (weight, smaller endpoint id, larger endpoint id),
//! so all ranks differ, the tree is unique, and the core edge's key names a fragment.
//! For a maximum tree the order is reversed: the heavier edge (then the larger ids)
//! ranks first, as the report's tie rule says.
//!
//! Termination: the two core nodes of the last fragment both learn that no outgoing
//! edge is left; each sends [`GhsMsg::Done`] down its branches, so every node learns
//! that the tree is final and which branch leads to the root (the core node with the
//! larger id). `Done` messages are counted apart from the algorithm's own messages,
//! which the paper bounds by 5 N log2 N + 2 E.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The key of an undirected edge: its weight and its endpoints, smaller id first.
/// Ordered lexicographically; all keys of a simple graph differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EdgeKey {
    /// The edge's weight (a link's bandwidth here).
    pub weight: u64,
    /// The smaller endpoint id.
    pub lo: u32,
    /// The larger endpoint id.
    pub hi: u32,
}

impl EdgeKey {
    /// The key of the edge between `a` and `b` with weight `weight`.
    pub fn new(a: u32, b: u32, weight: u64) -> EdgeKey {
        EdgeKey {
            weight,
            lo: a.min(b),
            hi: a.max(b),
        }
    }
}

/// Which spanning tree to build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Objective {
    /// The minimum spanning tree (the paper's algorithm).
    Min,
    /// The maximum spanning tree (the report's variant: its paths are widest paths).
    #[default]
    Max,
}

impl Objective {
    /// The rank of `key`: smaller ranks are better (chosen first).
    pub fn rank(self, key: EdgeKey) -> Rank {
        match self {
            Objective::Min => Rank(key.weight, key.lo, key.hi),
            Objective::Max => Rank(u64::MAX - key.weight, u32::MAX - key.lo, u32::MAX - key.hi),
        }
    }
}

/// An edge's rank under an [`Objective`]: smaller is better. A bijection of the key, so
/// ranks are as distinct as keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rank(u64, u32, u32);

/// `a` is strictly better than `b`, `None` being the paper's infinity (no edge).
fn better(a: Option<Rank>, b: Option<Rank>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x < y,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// Whether a node is looking for its fragment's best outgoing edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeState {
    /// Not woken yet.
    Sleeping,
    /// Searching for the best outgoing edge.
    Find,
    /// Search done (reported).
    Found,
}

/// What a node knows about one incident edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EdgeState {
    /// Not classified yet.
    Basic,
    /// In the tree.
    Branch,
    /// Known to lead inside the node's own fragment.
    Rejected,
}

/// GHS messages (the paper's seven, plus the termination broadcast).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GhsMsg {
    /// A fragment of this level asks to join over this edge.
    Connect {
        /// The sender's level.
        level: u32,
    },
    /// The fragment's new identity and level, and whether to search.
    Initiate {
        /// Level.
        level: u32,
        /// Core edge key (the fragment's identity).
        fragment: EdgeKey,
        /// `Find` to start a search.
        state: NodeState,
    },
    /// Is the receiver in another fragment?
    Test {
        /// The sender's level.
        level: u32,
        /// The sender's fragment.
        fragment: EdgeKey,
    },
    /// Yes, another fragment.
    Accept,
    /// No, the same fragment.
    Reject,
    /// The best outgoing edge of the sender's subtree (`None`: none).
    Report {
        /// Its key.
        best: Option<EdgeKey>,
    },
    /// Move the root towards the best outgoing edge.
    ChangeRoot,
    /// The tree is final (sent from the core down every branch).
    Done,
}

/// One incident edge.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Edge {
    peer: u32,
    key: EdgeKey,
    state: EdgeState,
}

/// The GHS state of one node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ghs {
    me: u32,
    objective: Objective,
    edges: Vec<Edge>,
    state: NodeState,
    level: u32,
    fragment: Option<EdgeKey>,
    best_edge: Option<usize>,
    best: Option<EdgeKey>,
    test_edge: Option<usize>,
    in_branch: Option<usize>,
    find_count: usize,
    deferred: VecDeque<(usize, GhsMsg)>,
    outbox: Vec<(u32, GhsMsg)>,
    /// The tree is final here: the edge towards the root (`None` at the root), if known.
    finished: Option<Option<u32>>,
    /// Algorithm messages sent (not counting `Done`).
    pub sent: u64,
    /// The first inconsistency met (a message the algorithm cannot explain: it happens
    /// when links reorder messages); the message was dropped.
    pub error: Option<&'static str>,
}

impl Ghs {
    /// A sleeping node `me` with incident edges `(neighbour, weight)`. Neighbours must
    /// be distinct (merge parallel links first).
    pub fn new(me: u32, objective: Objective, neighbours: &[(u32, u64)]) -> Ghs {
        let mut edges: Vec<Edge> = neighbours
            .iter()
            .map(|&(peer, w)| Edge {
                peer,
                key: EdgeKey::new(me, peer, w),
                state: EdgeState::Basic,
            })
            .collect();
        edges.sort_by_key(|e| objective.rank(e.key));
        Ghs {
            me,
            objective,
            edges,
            state: NodeState::Sleeping,
            level: 0,
            fragment: None,
            best_edge: None,
            best: None,
            test_edge: None,
            in_branch: None,
            find_count: 0,
            deferred: VecDeque::new(),
            outbox: Vec::new(),
            finished: None,
            sent: 0,
            error: None,
        }
    }

    /// Wake the node up spontaneously (does nothing if it is awake).
    pub fn wake(&mut self) {
        if self.state == NodeState::Sleeping {
            self.wakeup();
            self.retry_deferred();
        }
    }

    /// Handle a GHS message from neighbour `from`; messages from nodes that are not
    /// neighbours are ignored.
    pub fn on_message(&mut self, from: u32, msg: GhsMsg) {
        let Some(j) = self.edges.iter().position(|e| e.peer == from) else {
            return;
        };
        if self.handle(j, msg) {
            self.retry_deferred();
        } else {
            self.deferred.push_back((j, msg));
        }
    }

    /// The messages to send, `(to, message)`, in order; empties the outbox.
    pub fn take_outbox(&mut self) -> Vec<(u32, GhsMsg)> {
        std::mem::take(&mut self.outbox)
    }

    /// Whether this node knows the tree is final.
    pub fn is_finished(&self) -> bool {
        self.finished.is_some()
    }

    /// Once finished: the neighbour towards the root, `None` at the root.
    pub fn parent(&self) -> Option<u32> {
        self.finished.flatten()
    }

    /// The neighbours across tree edges (final once [`Ghs::is_finished`]).
    pub fn branches(&self) -> impl Iterator<Item = (u32, EdgeKey)> + '_ {
        self.edges
            .iter()
            .filter(|e| e.state == EdgeState::Branch)
            .map(|e| (e.peer, e.key))
    }

    /// Messages waiting in the deferred queue.
    pub fn deferred_len(&self) -> usize {
        self.deferred.len()
    }

    /// Retry every deferred message, in order, until a whole pass changes nothing.
    fn retry_deferred(&mut self) {
        loop {
            let mut progressed = false;
            for _ in 0..self.deferred.len() {
                let (j, msg) = self.deferred.pop_front().expect("counted");
                if self.handle(j, msg) {
                    progressed = true;
                } else {
                    self.deferred.push_back((j, msg));
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn send(&mut self, j: usize, msg: GhsMsg) {
        if msg != GhsMsg::Done {
            self.sent += 1;
        }
        self.outbox.push((self.edges[j].peer, msg));
    }

    fn rank(&self, key: Option<EdgeKey>) -> Option<Rank> {
        key.map(|k| self.objective.rank(k))
    }

    fn wakeup(&mut self) {
        // Edges are sorted best first.
        self.level = 0;
        self.state = NodeState::Found;
        self.find_count = 0;
        if self.edges.is_empty() {
            // A lone node is a finished tree of its own.
            self.finished = Some(None);
            return;
        }
        self.edges[0].state = EdgeState::Branch;
        self.send(0, GhsMsg::Connect { level: 0 });
    }

    /// Handle one message on edge `j`; false means "defer it".
    fn handle(&mut self, j: usize, msg: GhsMsg) -> bool {
        if self.state == NodeState::Sleeping && msg != GhsMsg::Done {
            self.wakeup();
        }
        match msg {
            GhsMsg::Connect { level } => self.on_connect(j, level),
            GhsMsg::Initiate {
                level,
                fragment,
                state,
            } => {
                self.on_initiate(j, level, fragment, state);
                true
            }
            GhsMsg::Test { level, fragment } => self.on_test(j, level, fragment),
            GhsMsg::Accept => {
                self.test_edge = None;
                let key = Some(self.edges[j].key);
                if better(self.rank(key), self.rank(self.best)) {
                    self.best_edge = Some(j);
                    self.best = key;
                }
                self.report();
                true
            }
            GhsMsg::Reject => {
                if self.edges[j].state == EdgeState::Basic {
                    self.edges[j].state = EdgeState::Rejected;
                }
                self.test();
                true
            }
            GhsMsg::Report { best } => self.on_report(j, best),
            GhsMsg::ChangeRoot => {
                self.change_root();
                true
            }
            GhsMsg::Done => {
                self.finish(Some(j));
                true
            }
        }
    }

    fn on_connect(&mut self, j: usize, level: u32) -> bool {
        if level < self.level {
            // Absorb the smaller fragment.
            self.edges[j].state = EdgeState::Branch;
            let Some(fragment) = self.fragment else {
                return self.broken("Connect from a lower level reached a level-0 node");
            };
            self.send(
                j,
                GhsMsg::Initiate {
                    level: self.level,
                    fragment,
                    state: self.state,
                },
            );
            if self.state == NodeState::Find {
                self.find_count += 1;
            }
            true
        } else if self.edges[j].state == EdgeState::Basic {
            false
        } else {
            // Both fragments chose this edge: merge into a new core.
            let fragment = self.edges[j].key;
            self.send(
                j,
                GhsMsg::Initiate {
                    level: self.level + 1,
                    fragment,
                    state: NodeState::Find,
                },
            );
            true
        }
    }

    fn on_initiate(&mut self, j: usize, level: u32, fragment: EdgeKey, state: NodeState) {
        self.level = level;
        self.fragment = Some(fragment);
        self.state = state;
        self.in_branch = Some(j);
        self.best_edge = None;
        self.best = None;
        for i in 0..self.edges.len() {
            if i != j && self.edges[i].state == EdgeState::Branch {
                self.send(
                    i,
                    GhsMsg::Initiate {
                        level,
                        fragment,
                        state,
                    },
                );
                if state == NodeState::Find {
                    self.find_count += 1;
                }
            }
        }
        if state == NodeState::Find {
            self.test();
        }
    }

    fn test(&mut self) {
        // The best basic edge (edges are sorted best first).
        if let Some(i) = self.edges.iter().position(|e| e.state == EdgeState::Basic) {
            self.test_edge = Some(i);
            let Some(fragment) = self.fragment else {
                self.broken("a node without a fragment searched");
                return;
            };
            self.send(
                i,
                GhsMsg::Test {
                    level: self.level,
                    fragment,
                },
            );
        } else {
            self.test_edge = None;
            self.report();
        }
    }

    fn on_test(&mut self, j: usize, level: u32, fragment: EdgeKey) -> bool {
        if level > self.level {
            return false;
        }
        if Some(fragment) != self.fragment {
            self.send(j, GhsMsg::Accept);
        } else {
            if self.edges[j].state == EdgeState::Basic {
                self.edges[j].state = EdgeState::Rejected;
            }
            if self.test_edge != Some(j) {
                self.send(j, GhsMsg::Reject);
            } else {
                self.test();
            }
        }
        true
    }

    fn report(&mut self) {
        if self.find_count == 0 && self.test_edge.is_none() {
            self.state = NodeState::Found;
            let Some(in_branch) = self.in_branch else {
                self.broken("a node without an in-branch reported");
                return;
            };
            self.send(in_branch, GhsMsg::Report { best: self.best });
        }
    }

    fn on_report(&mut self, j: usize, best: Option<EdgeKey>) -> bool {
        if Some(j) != self.in_branch {
            let Some(left) = self.find_count.checked_sub(1) else {
                return self.broken("a Report came that no Initiate asked for");
            };
            self.find_count = left;
            if better(self.rank(best), self.rank(self.best)) {
                self.best = best;
                self.best_edge = Some(j);
            }
            self.report();
            true
        } else if self.state == NodeState::Find {
            false
        } else {
            if better(self.rank(self.best), self.rank(best)) {
                self.change_root();
            } else if best.is_none() && self.best.is_none() {
                // No outgoing edge on either side of the core: the tree is complete.
                self.finish(None);
            }
            true
        }
    }

    fn change_root(&mut self) {
        let Some(b) = self.best_edge else {
            self.broken("ChangeRoot reached a node without a best edge");
            return;
        };
        if self.edges[b].state == EdgeState::Branch {
            self.send(b, GhsMsg::ChangeRoot);
        } else {
            self.send(b, GhsMsg::Connect { level: self.level });
            self.edges[b].state = EdgeState::Branch;
        }
    }

    /// Record the first inconsistency; the message that caused it counts as handled.
    fn broken(&mut self, what: &'static str) -> bool {
        self.error.get_or_insert(what);
        true
    }

    /// The tree is final: `from` is the edge `Done` came on (`None` at a core node).
    fn finish(&mut self, from: Option<usize>) {
        if self.finished.is_some() {
            return;
        }
        let parent = match from {
            Some(j) => Some(self.edges[j].peer),
            None => {
                // Core node: the core endpoint with the larger id is the root.
                let Some(core) = self.in_branch.map(|j| self.edges[j].peer) else {
                    self.broken("a node without a core edge halted");
                    return;
                };
                (core > self.me).then_some(core)
            }
        };
        self.finished = Some(parent);
        let skip = from.or(self.in_branch);
        for i in 0..self.edges.len() {
            if Some(i) != skip && self.edges[i].state == EdgeState::Branch {
                self.send(i, GhsMsg::Done);
            }
        }
    }
}
