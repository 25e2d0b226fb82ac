//! A PM-10 sensor: reads the city's field once a second and streams the readings to
//! the nearest edge node, which it asks the server for; keep-alives every 2 s tell it
//! when its node has gone, and it then asks the server again. Readings taken while it
//! has no node are lost, as the report allows.

use super::grid::{Cell, Grid};
use super::http::HttpClient;
use super::rest::{Body, EdgeInfo, Request, Ugm3};
use super::{CityMsg, CityTimer, Datagram, Timing};
use hardware_models::pm10::Pm10Process;
use sim_core::{Ctx, Node, NodeId, TimerId};
use std::sync::Arc;

/// Why a sensor sent an HTTP request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Token,
    Nearest,
}

/// A sensor node.
#[derive(Clone, Debug)]
pub struct Sensor {
    server: NodeId,
    timing: Timing,
    city: Arc<Pm10Process>,
    grid: Grid,
    /// Where the sensor stands (drawn from its stream when it first starts).
    cell: Option<Cell>,
    token: Option<u64>,
    node: Option<EdgeInfo>,
    http: HttpClient<Call>,
    keepalive_timeout: Option<TimerId>,
    /// Readings sent to a node.
    pub sent: u64,
    /// Readings taken while the sensor had no node (lost at once).
    pub unsent: u64,
    /// How many times the sensor changed node after its node went silent.
    pub handovers: u64,
}

impl Sensor {
    /// A sensor of the `city` field, standing on `grid`, that asks `server` for its node.
    pub fn new(server: NodeId, timing: Timing, city: Arc<Pm10Process>, grid: Grid) -> Sensor {
        Sensor {
            server,
            timing,
            city,
            grid,
            cell: None,
            token: None,
            node: None,
            http: HttpClient::default(),
            keepalive_timeout: None,
            sent: 0,
            unsent: 0,
            handovers: 0,
        }
    }

    /// The node the sensor streams to.
    pub fn node(&self) -> Option<EdgeInfo> {
        self.node
    }

    /// The sensor's cell, once started.
    pub fn cell(&self) -> Option<Cell> {
        self.cell
    }

    fn ask(&mut self, ctx: &mut impl Ctx<Self>, request: Request, call: Call) {
        if !self.http.in_flight(&call) {
            let t = self.timing.http_timeout;
            self.http.send(ctx, self.server, request, call, t);
        }
    }

    fn ask_nearest(&mut self, ctx: &mut impl Ctx<Self>) {
        let cell = self.cell.expect("set at start");
        self.ask(ctx, Request::Nearest(cell), Call::Nearest);
    }

    fn send(&self, ctx: &mut impl Ctx<Self>, datagram: Datagram) {
        if let (Some(node), Some(token)) = (self.node, self.token) {
            ctx.send(node.addr, CityMsg::Udp { token, datagram });
        }
    }
}

impl Node for Sensor {
    type Msg = CityMsg;
    type Timer = CityTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.cell.is_none() {
            self.cell = Some(self.grid.random_cell(ctx.rng()));
        }
        self.ask(ctx, Request::Init, Call::Token);
        ctx.set_timer(self.city.sensor.period, CityTimer::Sample);
        ctx.set_timer(self.timing.keepalive_period, CityTimer::KeepAlive);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, _from: NodeId, msg: CityMsg) {
        match msg {
            CityMsg::HttpReply { req, response } => {
                match (self.http.complete(ctx, req), response.body) {
                    (Some(Call::Token), Body::Token(token)) => {
                        self.token = Some(token);
                        self.ask_nearest(ctx);
                    }
                    (Some(Call::Nearest), Body::Node(node)) => self.node = Some(node),
                    // 404: no node yet; the next keep-alive tick asks again.
                    _ => {}
                }
            }
            CityMsg::Udp {
                datagram: Datagram::KeepAliveReply,
                ..
            } => {
                if let Some(t) = self.keepalive_timeout.take() {
                    ctx.cancel_timer(t);
                }
            }
            // A sensor hears only replies from the server and keep-alive replies from
            // its node; nothing else is for it.
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: CityTimer) {
        match timer {
            CityTimer::Sample => {
                ctx.set_timer(self.city.sensor.period, CityTimer::Sample);
                let (u, v) = self
                    .cell
                    .and_then(|cell| self.grid.field_cell(cell))
                    .expect("cells are in the grid");
                let reading = self.city.measure(u, v, ctx.now(), ctx.rng());
                ctx.metrics().add("measurements_produced", 1.0);
                if self.node.is_some() && self.token.is_some() {
                    self.sent += 1;
                    self.send(ctx, Datagram::Measurement(Ugm3(reading.ug_m3())));
                } else {
                    self.unsent += 1;
                }
            }
            CityTimer::KeepAlive => {
                ctx.set_timer(self.timing.keepalive_period, CityTimer::KeepAlive);
                match (self.token, self.node) {
                    (None, _) => self.ask(ctx, Request::Init, Call::Token),
                    (Some(_), None) => self.ask_nearest(ctx),
                    (Some(_), Some(_)) => {
                        self.send(ctx, Datagram::SensorKeepAlive);
                        if self.keepalive_timeout.is_none() {
                            let t = ctx.set_timer(
                                self.timing.keepalive_timeout,
                                CityTimer::KeepAliveTimeout,
                            );
                            self.keepalive_timeout = Some(t);
                        }
                    }
                }
            }
            CityTimer::KeepAliveTimeout => {
                self.keepalive_timeout = None;
                if self.node.take().is_some() {
                    self.handovers += 1;
                    ctx.metrics().add("sensor_handovers", 1.0);
                    self.ask_nearest(ctx);
                }
            }
            CityTimer::HttpTimeout(req) => {
                // The server is offline: the next keep-alive tick asks again.
                self.http.expire(req);
            }
            // A sensor sets only the timers above.
            CityTimer::Retry
            | CityTimer::HelloDone
            | CityTimer::AnswerTimeout
            | CityTimer::CoordinatorTimeout
            | CityTimer::LocalAverage
            | CityTimer::GlobalAverage
            | CityTimer::Query
            | CityTimer::Transport(_) => {}
        }
    }

    fn on_crash(&mut self) {
        self.token = None;
        self.node = None;
        self.http.clear();
        self.keepalive_timeout = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cityos::CityParams;
    use crate::cityos::rest::Response;
    use sim_core::Recorder;

    /// One sensor alone, under a [`Recorder`]: it asks the server for the token, then
    /// for its nearest node; a reading taken before it has a node is lost, and once it
    /// has one, its sampling timer makes it send the reading to that node, stamped with
    /// the token.
    #[test]
    fn the_sample_timer_sends_a_reading_to_the_nearest_node() {
        let params = CityParams::default();
        let city = Arc::new(Pm10Process::from_seed(1));
        let period = city.sensor.period;
        let (cloud, edge) = (NodeId(0), NodeId(1));
        let mut ctx = Recorder::new(&["cloud", "edge-0", "sensor-0"], "sensor-0", 3);
        let mut sensor = Sensor::new(cloud, params.timing(), city, params.grid());
        sensor.on_start(&mut ctx);
        let init = CityMsg::Http {
            req: 1,
            request: Request::Init,
        };
        assert_eq!(ctx.take_sent(), vec![(cloud, init)]);
        let set: Vec<CityTimer> = ctx.timers.iter().map(|(_, _, t)| *t).collect();
        let expected = [
            CityTimer::HttpTimeout(1),
            CityTimer::Sample,
            CityTimer::KeepAlive,
        ];
        assert_eq!(set, expected);

        ctx.advance_to(period);
        sensor.on_timer(&mut ctx, CityTimer::Sample);
        assert!(ctx.sent.is_empty(), "no node yet: the reading is lost");
        assert_eq!((sensor.sent, sensor.unsent), (0, 1));

        let token = Response::ok(Body::Token(77));
        sensor.on_message(
            &mut ctx,
            cloud,
            CityMsg::HttpReply {
                req: 1,
                response: token,
            },
        );
        let cell = sensor.cell().expect("placed at start");
        let nearest = CityMsg::Http {
            req: 2,
            request: Request::Nearest(cell),
        };
        assert_eq!(ctx.take_sent(), vec![(cloud, nearest)]);
        let node = EdgeInfo {
            id: 5,
            cell,
            addr: edge,
        };
        let reply = Response::ok(Body::Node(node));
        sensor.on_message(
            &mut ctx,
            cloud,
            CityMsg::HttpReply {
                req: 2,
                response: reply,
            },
        );
        assert_eq!(sensor.node(), Some(node));
        assert_eq!(ctx.cancelled.len(), 2, "both HTTP timeouts cancelled");

        ctx.advance_to(period * 2);
        sensor.on_timer(&mut ctx, CityTimer::Sample);
        let sent = ctx.take_sent();
        assert!(
            matches!(
                sent[..],
                [(
                    to,
                    CityMsg::Udp {
                        token: 77,
                        datagram: Datagram::Measurement(_)
                    }
                )] if to == edge
            ),
            "{sent:?}"
        );
        assert_eq!((sensor.sent, sensor.unsent), (1, 1));
        assert_eq!(ctx.metrics.value("measurements_produced"), 2.0);
        assert_eq!(
            ctx.timers.last().map(|t| (t.1, t.2)),
            Some((period, CityTimer::Sample))
        );
    }
}
