//! The cloud server's REST interface as messages: the report's resources, parameters,
//! bodies and status codes, one [`Request`] variant per resource and method.
//!
//! HTTP runs over TCP, so requests and responses travel as reliable messages; a client
//! that hears nothing within its timeout treats the server as offline. Every response
//! carries `total`, the size of the collection it was computed from when the server
//! answered (like an `X-Total-Count` header), so a reader can check a statistic against
//! exactly the values it was computed over.

use super::grid::Cell;
use serde::{Deserialize, Serialize};
use sim_core::{NodeId, SimTime};

/// A concentration in ug/m3. A newtype so messages can be hashed into the trace
/// fingerprint (by bit pattern) while the arithmetic stays `f64`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct Ugm3(pub f64);

impl std::hash::Hash for Ugm3 {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

impl Eq for Ugm3 {}

/// `EdgeNode` of the report: what the server knows of a node in the network. The
/// node's address (its node port and sensor port) is the simulated node itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EdgeInfo {
    /// Process id; the Bully election ranks nodes by it. Signed so that a malformed id
    /// can be sent and refused (400).
    pub id: i64,
    /// Position in the grid.
    pub cell: Cell,
    /// Where to send datagrams.
    pub addr: NodeId,
}

/// Identity of a local average: the node that computed it and the node's clock when it
/// did (the report's `Average` carries both). Unique, because a node computes at most
/// one average per clock instant and its clock never repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AverageId {
    /// Node (process) id.
    pub node: i64,
    /// The node's clock when it computed the average.
    pub at: SimTime,
}

/// `Average` of the report: a node's local average of its sensors' measurements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Average {
    /// Who computed it, and when.
    pub id: AverageId,
    /// The mean of the measurements.
    pub value: Ugm3,
    /// How many measurements it averages.
    pub measurements: u32,
}

/// `Aggregate` of the report: a global average and the local averages it was computed
/// from; a snapshot of the city.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Aggregate {
    /// Coordinator id and its clock when it computed the global average.
    pub id: AverageId,
    /// The mean of the local averages.
    pub global: Ugm3,
    /// The local averages it was computed from.
    pub locals: Vec<Average>,
}

/// `Statistic` of the report: mean and (population) standard deviation of the latest
/// n values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Statistic {
    /// Mean.
    pub mean: Ugm3,
    /// Population standard deviation (divides by the number of values).
    pub std_dev: Ugm3,
    /// How many values it was computed from (at most the n asked for).
    pub count: u32,
}

impl Statistic {
    /// Mean and population standard deviation of `values` (at least one), by Welford's
    /// update so that long windows stay accurate.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Statistic> {
        let (mut count, mut mean, mut m2) = (0u32, 0.0, 0.0);
        for x in values {
            count += 1;
            let delta = x - mean;
            mean += delta / f64::from(count);
            m2 += delta * (x - mean);
        }
        (count > 0).then(|| Statistic {
            mean: Ugm3(mean),
            std_dev: Ugm3((m2 / f64::from(count)).sqrt()),
            count,
        })
    }
}

/// One call of the REST interface (resource, method and parameters). Counts are signed
/// so that the "missing or out of bounds" cases (400) can be sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Request {
    /// `GET api/init`: the protocol token.
    Init,
    /// `GET api/nodes`: the nodes in the network.
    ListNodes,
    /// `POST api/nodes`: add a node.
    AddNode(EdgeInfo),
    /// `DELETE api/nodes`: remove the node with this id.
    RemoveNode(i64),
    /// `GET api/node/nearest?u&v`: the node nearest to a cell.
    Nearest(Cell),
    /// `GET api/measurements?n`: the latest n aggregates.
    LatestAggregates(i64),
    /// `POST api/measurements`: upload an aggregate.
    Upload(Aggregate),
    /// `GET api/measurements/{id}?n`: the latest n local averages of a node.
    LatestLocals {
        /// Node id.
        node: i64,
        /// How many.
        n: i64,
    },
    /// `GET api/measurements/stats?n`: mean and deviation of the latest n global averages.
    GlobalStats(i64),
    /// `GET api/measurements/stats/{id}?n`: the same over a node's local averages.
    NodeStats {
        /// Node id.
        node: i64,
        /// How many.
        n: i64,
    },
}

impl Request {
    /// The resource and method, for traces and status tallies.
    pub fn route(&self) -> &'static str {
        match self {
            Request::Init => "GET api/init",
            Request::ListNodes => "GET api/nodes",
            Request::AddNode(_) => "POST api/nodes",
            Request::RemoveNode(_) => "DELETE api/nodes",
            Request::Nearest(_) => "GET api/node/nearest",
            Request::LatestAggregates(_) => "GET api/measurements",
            Request::Upload(_) => "POST api/measurements",
            Request::LatestLocals { .. } => "GET api/measurements/{id}",
            Request::GlobalStats(_) => "GET api/measurements/stats",
            Request::NodeStats { .. } => "GET api/measurements/stats/{id}",
        }
    }

    /// Approximate JSON body size in bytes, for the network model.
    pub fn body_bytes(&self) -> u32 {
        match self {
            Request::AddNode(_) => 64,
            Request::Upload(a) => 64 + 48 * a.locals.len() as u32,
            _ => 0,
        }
    }
}

/// The body of a response.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Body {
    /// No content (204, and every error status).
    Empty,
    /// The protocol token (plain text `long`).
    Token(u64),
    /// `EdgeNode[]`.
    Nodes(Vec<EdgeInfo>),
    /// One `EdgeNode`.
    Node(EdgeInfo),
    /// `Aggregate[]`.
    Aggregates(Vec<Aggregate>),
    /// `Average[]`.
    Averages(Vec<Average>),
    /// `Statistic`.
    Statistic(Statistic),
}

/// An HTTP response: status code, body, and the size of the collection it was computed
/// from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Response {
    /// 200, 204, 400, 403, 404 or 409.
    pub status: u16,
    /// What came back.
    pub body: Body,
    /// Size of the queried collection when the server answered (0 where none applies).
    pub total: u64,
}

impl Response {
    /// A response without a body.
    pub fn status(status: u16) -> Response {
        Response {
            status,
            body: Body::Empty,
            total: 0,
        }
    }

    /// 200 with `body`.
    pub fn ok(body: Body) -> Response {
        Response {
            status: 200,
            body,
            total: 0,
        }
    }

    /// The same response with its `total`.
    pub fn with_total(self, total: usize) -> Response {
        Response {
            total: total as u64,
            ..self
        }
    }

    /// Approximate JSON body size in bytes, for the network model.
    pub fn body_bytes(&self) -> u32 {
        match &self.body {
            Body::Empty => 0,
            Body::Token(_) => 20,
            Body::Node(_) => 64,
            Body::Nodes(v) => 64 * v.len() as u32,
            Body::Aggregates(v) => v.iter().map(|a| 64 + 48 * a.locals.len() as u32).sum(),
            Body::Averages(v) => 48 * v.len() as u32,
            Body::Statistic(_) => 48,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistic_matches_the_two_pass_formula() {
        let xs = [35.2, 41.7, 38.9, 52.1, 29.4, 44.0];
        let s = Statistic::of(xs).unwrap();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!((s.mean.0 - mean).abs() < 1e-12);
        assert!((s.std_dev.0 - var.sqrt()).abs() < 1e-12);
        assert_eq!(s.count, 6);
        assert_eq!(Statistic::of([]), None);
    }
}
