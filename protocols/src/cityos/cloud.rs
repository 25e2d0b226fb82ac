//! The cloud server's rules: what each REST call does to the store and which status it
//! answers, as a pure function of the store and the request ([`Cloud::handle`]). The
//! server node only moves requests and responses between it and the network.
//!
//! Rules the report leaves open, as decided here:
//! - `POST api/nodes` checks, in order: a malformed node (negative id, cell outside the
//!   grid) is 400; an id already registered is 409; a cell closer than
//!   [`MIN_NODE_DISTANCE`] to a registered node is 403. A request for exactly the
//!   entry held (same id, cell and address) is a repeat, answered 200 like the first:
//!   over a lossy network a node retries a registration whose answer it never got, and
//!   must not be refused (or redraw its id, leaving a ghost entry) because of itself.
//! - "No nodes with such id" (404 of the per-node measurement calls) means the id never
//!   registered: a node that left keeps its averages readable.
//! - `POST api/measurements` is idempotent: a local average already stored (same
//!   [`AverageId`]) is counted as a duplicate and not stored again, and an aggregate
//!   whose every local average is a duplicate is not stored at all. This is what lets
//!   edge nodes re-send unacknowledged averages without ever double counting.
//! - Lists are returned oldest first; "latest n" are the last n uploaded.

use super::grid::{Cell, Grid, MIN_NODE_DISTANCE};
use super::rest::{Aggregate, Average, AverageId, Body, EdgeInfo, Request, Response, Statistic};
use std::collections::{BTreeMap, BTreeSet};

/// The server's store (its database): registered nodes and uploaded measurements.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cloud {
    /// The protocol token handed out by `api/init`.
    pub token: u64,
    /// Nodes in the network, by id.
    pub nodes: BTreeMap<i64, EdgeInfo>,
    /// Every id that ever registered.
    pub known_ids: BTreeSet<i64>,
    /// Stored aggregates, in upload order.
    pub aggregates: Vec<Aggregate>,
    /// Stored local averages per node id, in upload order.
    pub locals: BTreeMap<i64, Vec<Average>>,
    /// Ids of every stored local average (for duplicate detection).
    pub stored: BTreeSet<AverageId>,
    /// Local averages uploaded again and not stored.
    pub duplicates: u64,
    /// The city's grid, where registered cells must lie.
    pub grid: Grid,
}

/// What a request did besides its response, for the node to record as metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Effects {
    /// Local averages stored by this request.
    pub stored: Vec<Average>,
    /// Local averages refused as duplicates by this request.
    pub duplicates: u64,
}

impl Cloud {
    /// A store that hands out `token`.
    pub fn new(token: u64) -> Cloud {
        Cloud {
            token,
            ..Cloud::default()
        }
    }

    /// Serve `request`: the response, and what it stored.
    pub fn handle(&mut self, request: &Request) -> (Response, Effects) {
        let mut effects = Effects::default();
        let response = match request {
            Request::Init => Response::ok(Body::Token(self.token)),
            Request::ListNodes => self.list_nodes(),
            Request::AddNode(info) => self.add_node(*info),
            Request::RemoveNode(id) => match self.nodes.remove(id) {
                Some(_) => Response::status(204),
                None => Response::status(404),
            },
            Request::Nearest(cell) => self.nearest(*cell),
            Request::LatestAggregates(n) => match latest(&self.aggregates, *n) {
                Err(status) => Response::status(status),
                Ok(list) => Response::ok(Body::Aggregates(list.to_vec())),
            }
            .with_total(self.aggregates.len()),
            Request::Upload(aggregate) => {
                effects = self.upload(aggregate);
                Response::status(204).with_total(self.aggregates.len())
            }
            Request::LatestLocals { node, n } => self.node_query(*node, *n, |list| {
                Response::ok(Body::Averages(list.to_vec()))
            }),
            Request::GlobalStats(n) => match latest(&self.aggregates, *n) {
                Err(status) => Response::status(status),
                Ok(list) => stat_response(list.iter().map(|a| a.global.0)),
            }
            .with_total(self.aggregates.len()),
            Request::NodeStats { node, n } => self.node_query(*node, *n, |list| {
                stat_response(list.iter().map(|a| a.value.0))
            }),
        };
        (response, effects)
    }

    fn list_nodes(&self) -> Response {
        if self.nodes.is_empty() {
            return Response::status(404);
        }
        Response::ok(Body::Nodes(self.nodes.values().copied().collect()))
    }

    fn add_node(&mut self, info: EdgeInfo) -> Response {
        if info.id < 0 || !self.grid.contains(info.cell) {
            return Response::status(400);
        }
        match self.nodes.get(&info.id) {
            Some(held) if *held == info => return self.list_nodes(),
            Some(_) => return Response::status(409),
            None => {}
        }
        if self.too_close(info.cell).is_some() {
            return Response::status(403);
        }
        self.nodes.insert(info.id, info);
        self.known_ids.insert(info.id);
        self.list_nodes()
    }

    /// A registered node closer than the minimum distance to `cell`, if any.
    pub fn too_close(&self, cell: Cell) -> Option<&EdgeInfo> {
        self.nodes
            .values()
            .find(|n| n.cell.distance(cell) < MIN_NODE_DISTANCE)
    }

    fn nearest(&self, cell: Cell) -> Response {
        if !self.grid.contains(cell) {
            return Response::status(400);
        }
        // Ties go to the lower id (the map is in id order and `min_by_key` keeps the first).
        match self.nodes.values().min_by_key(|n| n.cell.distance(cell)) {
            Some(node) => Response::ok(Body::Node(*node)),
            None => Response::status(404),
        }
    }

    fn upload(&mut self, aggregate: &Aggregate) -> Effects {
        let mut effects = Effects::default();
        let mut fresh = Vec::new();
        for avg in &aggregate.locals {
            if self.stored.insert(avg.id) {
                fresh.push(*avg);
                self.locals.entry(avg.id.node).or_default().push(*avg);
            } else {
                effects.duplicates += 1;
            }
        }
        self.duplicates += effects.duplicates;
        if !fresh.is_empty() {
            effects.stored.clone_from(&fresh);
            self.aggregates.push(Aggregate {
                locals: fresh,
                ..aggregate.clone()
            });
        }
        effects
    }

    /// The per-node calls: 400 on a bad id or count, 404 for an id that never
    /// registered, 204 when it has no averages yet, else `answer` over the latest n.
    fn node_query(&self, node: i64, n: i64, answer: impl Fn(&[Average]) -> Response) -> Response {
        if node < 0 || n <= 0 {
            return Response::status(400);
        }
        if !self.known_ids.contains(&node) {
            return Response::status(404);
        }
        let list = self.locals.get(&node).map_or(&[][..], Vec::as_slice);
        match latest(list, n) {
            Err(status) => Response::status(status),
            Ok(window) => answer(window),
        }
        .with_total(list.len())
    }
}

/// The last `n` items: 400 when `n` is not positive, 204 when there are none.
fn latest<T>(items: &[T], n: i64) -> Result<&[T], u16> {
    if n <= 0 {
        return Err(400);
    }
    if items.is_empty() {
        return Err(204);
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX).min(items.len());
    Ok(&items[items.len() - n..])
}

fn stat_response(values: impl IntoIterator<Item = f64>) -> Response {
    match Statistic::of(values) {
        Some(s) => Response::ok(Body::Statistic(s)),
        None => Response::status(204),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cityos::rest::Ugm3;
    use sim_core::{NodeId, SimTime};

    fn node(id: i64, u: i64, v: i64) -> EdgeInfo {
        EdgeInfo {
            id,
            cell: Cell::new(u, v),
            addr: NodeId(id as u32),
        }
    }

    fn avg(node: i64, secs: u64, value: f64) -> Average {
        Average {
            id: AverageId {
                node,
                at: SimTime::from_secs(secs),
            },
            value: Ugm3(value),
            measurements: 4,
        }
    }

    fn status(cloud: &mut Cloud, r: Request) -> u16 {
        cloud.handle(&r).0.status
    }

    #[test]
    fn node_registration_codes() {
        let mut c = Cloud::new(7);
        assert_eq!(c.handle(&Request::Init).0.body, Body::Token(7));
        assert_eq!(status(&mut c, Request::ListNodes), 404);
        assert_eq!(status(&mut c, Request::AddNode(node(-1, 0, 0))), 400);
        assert_eq!(status(&mut c, Request::AddNode(node(1, 100, 0))), 400);
        let (r, _) = c.handle(&Request::AddNode(node(5, 10, 10)));
        assert_eq!(
            (r.status, r.body),
            (200, Body::Nodes(vec![node(5, 10, 10)]))
        );
        assert_eq!(status(&mut c, Request::AddNode(node(5, 80, 80))), 409);
        // The same entry again is a retried request: answered like the first.
        let (again, _) = c.handle(&Request::AddNode(node(5, 10, 10)));
        assert_eq!(again.status, 200);
        assert_eq!(c.nodes.len(), 1);
        // Distance 19 is too close, 20 is allowed.
        assert_eq!(status(&mut c, Request::AddNode(node(6, 20, 19))), 403);
        assert_eq!(status(&mut c, Request::AddNode(node(6, 20, 20))), 200);
        assert_eq!(status(&mut c, Request::ListNodes), 200);
        assert_eq!(status(&mut c, Request::RemoveNode(5)), 204);
        assert_eq!(status(&mut c, Request::RemoveNode(5)), 404);
        // After the removal the cells near (10, 10) are free again.
        assert_eq!(status(&mut c, Request::AddNode(node(7, 3, 3))), 200);
    }

    #[test]
    fn nearest_node_codes_and_ties() {
        let mut c = Cloud::new(0);
        assert_eq!(status(&mut c, Request::Nearest(Cell::new(3, 3))), 404);
        assert_eq!(status(&mut c, Request::Nearest(Cell::new(3, 100))), 400);
        c.handle(&Request::AddNode(node(9, 0, 0)));
        c.handle(&Request::AddNode(node(4, 40, 0)));
        let nearest =
            |c: &mut Cloud, u, v| match c.handle(&Request::Nearest(Cell::new(u, v))).0.body {
                Body::Node(n) => n.id,
                other => panic!("{other:?}"),
            };
        assert_eq!(nearest(&mut c, 5, 5), 9);
        assert_eq!(nearest(&mut c, 39, 0), 4);
        // (20, 0) is 20 from both: the lower id wins.
        assert_eq!(nearest(&mut c, 20, 0), 4);
    }

    #[test]
    fn uploads_are_idempotent_and_queries_follow_the_codes() {
        let mut c = Cloud::new(0);
        assert_eq!(status(&mut c, Request::LatestAggregates(3)), 204);
        assert_eq!(status(&mut c, Request::LatestAggregates(0)), 400);
        assert_eq!(status(&mut c, Request::GlobalStats(-2)), 400);
        assert_eq!(status(&mut c, Request::GlobalStats(2)), 204);
        c.handle(&Request::AddNode(node(1, 0, 0)));
        assert_eq!(status(&mut c, Request::NodeStats { node: 1, n: 2 }), 204);
        assert_eq!(status(&mut c, Request::NodeStats { node: 2, n: 2 }), 404);
        assert_eq!(status(&mut c, Request::LatestLocals { node: 1, n: 0 }), 400);
        let agg = |t, locals: Vec<Average>| Aggregate {
            id: AverageId {
                node: 1,
                at: SimTime::from_secs(t),
            },
            global: Ugm3(locals.iter().map(|a| a.value.0).sum::<f64>() / locals.len() as f64),
            locals,
        };
        let (r, e) = c.handle(&Request::Upload(agg(
            5,
            vec![avg(1, 2, 30.0), avg(1, 4, 40.0)],
        )));
        assert_eq!((r.status, e.stored.len(), e.duplicates), (204, 2, 0));
        // A re-sent average is a duplicate; the new one is stored.
        let (r, e) = c.handle(&Request::Upload(agg(
            10,
            vec![avg(1, 4, 40.0), avg(1, 6, 50.0)],
        )));
        assert_eq!((r.status, e.stored.len(), e.duplicates), (204, 1, 1));
        assert_eq!(c.aggregates[1].locals, vec![avg(1, 6, 50.0)]);
        // All duplicates: nothing stored.
        let (_, e) = c.handle(&Request::Upload(agg(15, vec![avg(1, 2, 30.0)])));
        assert_eq!(
            (e.stored.len(), e.duplicates, c.aggregates.len()),
            (0, 1, 2)
        );
        let (r, _) = c.handle(&Request::NodeStats { node: 1, n: 2 });
        let Body::Statistic(s) = r.body else { panic!() };
        assert_eq!(
            (s.mean, s.std_dev, s.count, r.total),
            (Ugm3(45.0), Ugm3(5.0), 2, 3)
        );
        let (r, _) = c.handle(&Request::LatestLocals { node: 1, n: 10 });
        assert_eq!(
            r.body,
            Body::Averages(vec![avg(1, 2, 30.0), avg(1, 4, 40.0), avg(1, 6, 50.0)])
        );
        let (r, _) = c.handle(&Request::LatestAggregates(1));
        assert_eq!((r.status, r.total), (200, 2));
    }
}
