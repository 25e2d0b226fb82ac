//! The analyst client: every `query_period` it lists the nodes and asks the server for
//! the latest aggregates, the statistics of the latest n global averages, and, for one
//! node in turn, its latest local averages and their statistics. It keeps every
//! statistic it received with the collection size the server computed it over, so a
//! test can recompute each one from what was uploaded.

use super::http::HttpClient;
use super::rest::{Body, Request, Statistic};
use super::{CityMsg, CityParams, CityTimer};
use sim_core::{Ctx, Node, NodeId, SimTime};

/// A statistic the analyst received.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The node it was about (`None`: the global averages).
    pub node: Option<i64>,
    /// The n asked for.
    pub n: i64,
    /// How many values the collection held when the server answered.
    pub total: u64,
    /// The answer.
    pub statistic: Statistic,
}

/// The analyst client node.
#[derive(Clone, Debug)]
pub struct Analyst {
    server: NodeId,
    period: SimTime,
    timeout: SimTime,
    n: i64,
    http: HttpClient<Request>,
    /// Node ids from the latest `api/nodes`.
    nodes: Vec<i64>,
    /// Which node the next per-node query is about.
    turn: usize,
    /// Every statistic received, in order.
    pub observations: Vec<Observation>,
}

impl Analyst {
    /// An analyst that queries `server` as `params` say.
    pub fn new(server: NodeId, params: &CityParams) -> Analyst {
        Analyst {
            server,
            period: params.query_period,
            timeout: params.http_timeout,
            n: params.query_n,
            http: HttpClient::default(),
            nodes: Vec::new(),
            turn: 0,
            observations: Vec::new(),
        }
    }

    fn ask(&mut self, ctx: &mut impl Ctx<Self>, request: Request) {
        self.http
            .send(ctx, self.server, request.clone(), request, self.timeout);
    }
}

impl Node for Analyst {
    type Msg = CityMsg;
    type Timer = CityTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        ctx.set_timer(self.period, CityTimer::Query);
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: CityTimer) {
        match timer {
            CityTimer::Query => {
                ctx.set_timer(self.period, CityTimer::Query);
                let n = self.n;
                self.ask(ctx, Request::ListNodes);
                self.ask(ctx, Request::LatestAggregates(n));
                self.ask(ctx, Request::GlobalStats(n));
                if !self.nodes.is_empty() {
                    let node = self.nodes[self.turn % self.nodes.len()];
                    self.turn += 1;
                    self.ask(ctx, Request::LatestLocals { node, n });
                    self.ask(ctx, Request::NodeStats { node, n });
                }
            }
            CityTimer::HttpTimeout(req) => {
                self.http.expire(req);
                ctx.metrics().add("analyst_timeouts", 1.0);
            }
            // The analyst sets only the timers above.
            CityTimer::Retry
            | CityTimer::KeepAlive
            | CityTimer::KeepAliveTimeout
            | CityTimer::HelloDone
            | CityTimer::AnswerTimeout
            | CityTimer::CoordinatorTimeout
            | CityTimer::LocalAverage
            | CityTimer::GlobalAverage
            | CityTimer::Sample
            | CityTimer::Transport(_) => {}
        }
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, _from: NodeId, msg: CityMsg) {
        // Only the server talks to the analyst, and only with replies.
        let CityMsg::HttpReply { req, response } = msg else {
            return;
        };
        let Some(request) = self.http.complete(ctx, req) else {
            return;
        };
        match (request, response.body) {
            (Request::ListNodes, Body::Nodes(nodes)) => {
                self.nodes = nodes.iter().map(|n| n.id).collect();
            }
            (Request::GlobalStats(n), Body::Statistic(statistic)) => {
                self.observations.push(Observation {
                    node: None,
                    n,
                    total: response.total,
                    statistic,
                });
            }
            (Request::NodeStats { node, n }, Body::Statistic(statistic)) => {
                self.observations.push(Observation {
                    node: Some(node),
                    n,
                    total: response.total,
                    statistic,
                });
            }
            _ => {}
        }
    }

    fn on_crash(&mut self) {
        self.http.clear();
    }
}
