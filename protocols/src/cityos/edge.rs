//! The edge node: registration with the server, the hello protocol, keep-alives to the
//! coordinator, the Bully variant, local averages on a stack, and, as coordinator, the
//! global average and its upload.
//!
//! Life of a node ([`Phase`]): `Registering` (`api/init`, then `POST api/nodes`) ->
//! `Hello` (greets every node the server listed; only hello messages are handled, the
//! report's "joining" role) -> `Active` under a coordinator, or `Electing` when no
//! coordinator answered the hello -> `Coordinator` if it wins.
//!
//! Datagrams between edge nodes travel over the reliable channel of [`super::channel`]:
//! acknowledged, retransmitted, deduplicated, and given up on only when the peer is
//! down. Every wait of the protocol ends on an answer or on the channel giving up,
//! never on a timeout alone, so delay and loss slow it down but do not mislead it:
//! - Hello: a joining node waits until every node it greeted has answered or been given
//!   up on (offline, as in the report); one that received the hello but is silent is
//!   greeted again every `hello_timeout`.
//! - Keep-alive: a node suspects its coordinator when the channel gives up on a
//!   keep-alive, or when the node it keeps alive answers NOT_COORDINATOR (it restarted
//!   or stepped down).
//!
//! The election is Bully with the report's exception, made precise here:
//! - A candidate sends ELECTION to every higher node and to the coordinator it suspects,
//!   and wins once each has answered NOT_COORDINATOR or been given up on by the channel
//!   (is down), if no higher node answered; one that received the ELECTION but is silent
//!   (still greeting) is asked again every `answer_timeout`. A coordinator in charge
//!   answers an ELECTION with COORDINATOR, so a live coordinator is never replaced by a
//!   suspicious node, however slow the network.
//! - A node that is `Active` under a coordinator answers a lower candidate but does not
//!   run itself until its own keep-alive fails; that is why a node that joined under a
//!   coordinator (even with a higher id) never takes over while it lives. It also tells
//!   the candidate who its coordinator is (LEADER), so a candidate that never heard of
//!   that coordinator adopts it instead of electing for ever (`dsim explore` found that
//!   livelock); unless it names the coordinator the candidate itself found dead.
//! - Two coordinators that meet (after a partition, or a joiner that arrived during an
//!   election and found none) settle by Bully: the higher id re-asserts, the lower
//!   steps down.
//!
//! Averages (the report's acknowledgement scheme, strengthened so that a coordinator
//! crash loses nothing): every local average stays on the node's stack until the
//! coordinator confirms that the server stored it (`AverageAck`, sent after the upload's
//! 204), not merely that the coordinator received it; the coordinator's immediate
//! reply carries the latest global average and the id of the latest average received,
//! as in the report. The whole stack goes to every new coordinator, and entries older
//! than `resend_after` go again with the next keep-alive. Re-sent averages are caught
//! twice: by the coordinator (ids it holds) and by the server (ids it stored).
//!
//! The coordinator removes from the server nodes it has not heard for `cleanup_after`
//! (crashed nodes would otherwise stay listed and sensors would keep being sent to
//! them); a node restarted with a fixed id that finds a stale entry of its id with
//! another cell (409) deletes it and registers again (an entry exactly like its request
//! is answered 200).

use super::channel::{Asked, Channel, Event};
use super::grid::{Cell, Grid};
use super::http::HttpClient;
use super::rest::{Aggregate, Average, AverageId, Body, EdgeInfo, Request, Response, Ugm3};
use super::{CityMsg, CityParams, CityTimer, Datagram, EdgeConfig, Timing};
use crate::transport::{Segment, TimerToken, TransportConfig, TransportHost, forward};
use rand::RngExt;
use sim_core::{Ctx, Node, NodeId, SimTime, TimerId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Where an edge node is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Not started, crashed, or waiting for its join.
    Down,
    /// Getting the token and registering with the server.
    Registering,
    /// Registered, greeting the other nodes (the report's "joining").
    Hello,
    /// Working under a coordinator.
    Active,
    /// Running a Bully election.
    Electing,
    /// The coordinator.
    Coordinator,
    /// The server refused it (400, or 403/409 it cannot get around); it stays out.
    Refused,
    /// Left the network.
    Gone,
}

/// Why an HTTP request was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Token,
    Register,
    RemoveStale,
    Upload,
    Members,
    Cleanup,
}

/// Where a Bully candidate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Waiting for an ANSWER from a higher node.
    Answers,
    /// Answered; waiting for COORDINATOR.
    Coordinator,
}

/// What only the coordinator holds.
#[derive(Clone, Debug, Default)]
struct CoordinatorState {
    /// Local averages received since the last global average.
    window: Vec<Average>,
    /// Ids of averages held (in the window or in a queued aggregate), to catch re-sends.
    held: BTreeSet<AverageId>,
    /// Aggregates computed and not yet stored by the server, oldest first.
    queue: VecDeque<Aggregate>,
    /// Whether the front of the queue is being uploaded.
    uploading: bool,
    /// The latest global average.
    latest_global: Option<Ugm3>,
    /// When each member was last heard (keep-alive, averages, hello), on this node's
    /// monotonic clock.
    last_seen: BTreeMap<i64, SimTime>,
    /// The global-average timer.
    timer: Option<TimerId>,
}

/// What an edge node is started with (the report's command line); kept across crashes.
#[derive(Clone, Debug)]
struct Settings {
    config: EdgeConfig,
    channel: TransportConfig,
    timing: Timing,
    id_range: i64,
    join_attempts: u32,
    grid: Grid,
    server: NodeId,
}

/// An edge node.
#[derive(Debug)]
pub struct EdgeNode {
    settings: Settings,
    timing: Timing,
    server: NodeId,
    /// The channel to the other edge nodes; a crash starts a new incarnation of it.
    channel: Channel,
    // Volatile state, lost in a crash.
    phase: Phase,
    me: EdgeInfo,
    attempts: u32,
    token: Option<u64>,
    http: HttpClient<Call>,
    members: BTreeMap<i64, NodeId>,
    /// Greeted nodes that have not answered the hello, and whether the channel
    /// delivered it to them.
    hello_waiting: BTreeMap<NodeId, bool>,
    hello_coordinator: Option<EdgeInfo>,
    hello_timer: Option<TimerId>,
    coordinator: Option<EdgeInfo>,
    suspected: Option<EdgeInfo>,
    stage: Option<(Stage, TimerId)>,
    /// While waiting for answers: the nodes sent ELECTION that have neither answered
    /// nor been given up on by the channel, and whether it delivered it to them.
    ballot: BTreeMap<NodeId, bool>,
    timer: Option<TimerId>,
    keepalive: Option<TimerId>,
    window: Vec<f64>,
    /// Averages not yet acknowledged by the coordinator, with when each was last sent
    /// (monotonic clock).
    stack: BTreeMap<AverageId, (Average, SimTime)>,
    coord: Option<CoordinatorState>,
    latest_global: Option<Ugm3>,
    /// Whether the node crashed since it last registered (its old entry may still be
    /// on the server).
    restarted: bool,
    /// Observer record (not node state; survives crashes): every local average this
    /// node computed, in order.
    pub produced: Vec<AverageId>,
    /// Observer record: the node crashed at least once.
    pub crashed: bool,
}

impl EdgeNode {
    /// A node configured by `config` (id and cell, when fixed) that registers with
    /// `server`.
    pub fn new(config: EdgeConfig, params: &CityParams, server: NodeId) -> EdgeNode {
        EdgeNode::with(Settings {
            config,
            channel: params.channel.clone(),
            timing: params.timing(),
            id_range: params.id_range,
            join_attempts: params.join_attempts,
            grid: params.grid(),
            server,
        })
    }

    fn with(settings: Settings) -> EdgeNode {
        EdgeNode {
            timing: settings.timing,
            server: settings.server,
            channel: Channel::new(settings.channel.clone()),
            settings,
            phase: Phase::Down,
            me: EdgeInfo {
                id: 0,
                cell: Cell::new(0, 0),
                addr: NodeId(0),
            },
            attempts: 0,
            token: None,
            http: HttpClient::default(),
            members: BTreeMap::new(),
            hello_waiting: BTreeMap::new(),
            hello_coordinator: None,
            hello_timer: None,
            coordinator: None,
            suspected: None,
            stage: None,
            ballot: BTreeMap::new(),
            timer: None,
            keepalive: None,
            window: Vec::new(),
            stack: BTreeMap::new(),
            coord: None,
            latest_global: None,
            restarted: false,
            produced: Vec::new(),
            crashed: false,
        }
    }

    /// Where the node is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The node's process id (valid once registering).
    pub fn id(&self) -> i64 {
        self.me.id
    }

    /// The node's cell.
    pub fn cell(&self) -> Cell {
        self.me.cell
    }

    /// The coordinator the node works under (itself when it is the coordinator).
    pub fn coordinator(&self) -> Option<i64> {
        self.coordinator.map(|c| c.id)
    }

    /// Whether the average `id` is on the node's stack, waiting for its acknowledgement.
    pub fn is_stacked(&self, id: &AverageId) -> bool {
        self.stack.contains_key(id)
    }

    /// Whether the node counts `id` among the other nodes of the network.
    pub fn knows(&self, id: i64) -> bool {
        self.members.contains_key(&id)
    }

    /// Local averages waiting for acknowledgement.
    pub fn stacked(&self) -> usize {
        self.stack.len()
    }

    /// The latest global average the node has heard of.
    pub fn latest_global(&self) -> Option<Ugm3> {
        self.latest_global
    }

    /// Whether the node is part of the network (registered, not refused or gone).
    pub fn in_network(&self) -> bool {
        matches!(
            self.phase,
            Phase::Hello | Phase::Active | Phase::Electing | Phase::Coordinator
        )
    }

    fn request_token(&mut self, ctx: &mut impl Ctx<Self>) {
        let t = self.timing.http_timeout;
        self.http
            .send(ctx, self.server, Request::Init, Call::Token, t);
    }

    fn register(&mut self, ctx: &mut impl Ctx<Self>) {
        let t = self.timing.http_timeout;
        let req = Request::AddNode(self.me);
        self.http.send(ctx, self.server, req, Call::Register, t);
    }

    fn refuse(&mut self, ctx: &mut impl Ctx<Self>, status: u16) {
        self.phase = Phase::Refused;
        ctx.metrics().add("nodes_refused", 1.0);
        ctx.annotate(&format!(
            "node {} at {} refused by the server ({status})",
            self.me.id, self.me.cell
        ));
    }

    /// Send `datagram` to the edge node `to` over the channel.
    fn send(&mut self, ctx: &mut impl Ctx<Self>, to: NodeId, datagram: Datagram) {
        let token = self.token.unwrap_or_default();
        self.send_stamped(ctx, to, token, datagram);
    }

    /// Send `datagram`, stamped with `token`, to the edge node `to` over the channel.
    fn send_stamped(
        &mut self,
        ctx: &mut impl Ctx<Self>,
        to: NodeId,
        token: u64,
        datagram: Datagram,
    ) {
        if datagram.is_election() {
            ctx.metrics().add("election_messages", 1.0);
        }
        self.channel.send(ctx.monotonic(), to, token, &datagram);
        let events = forward::<Self>(&mut self.channel.endpoint, ctx);
        debug_assert!(events.is_empty(), "sending produced {events:?}");
    }

    /// Send `datagram` to the sensor `to`, as a bare UDP datagram.
    fn send_udp(&self, ctx: &mut impl Ctx<Self>, to: NodeId, datagram: Datagram) {
        let token = self.token.unwrap_or_default();
        ctx.send(to, CityMsg::Udp { token, datagram });
    }

    /// Act on what the channel's endpoint delivered, or gave up on.
    fn on_channel(&mut self, ctx: &mut impl Ctx<Self>) {
        let outputs = forward::<Self>(&mut self.channel.endpoint, ctx);
        for event in self.channel.events(outputs) {
            match event {
                Event::Delivered {
                    from,
                    token,
                    datagram,
                } => self.on_stamped(ctx, from, token, datagram),
                Event::Acked { to, asked } => self.on_acked(to, asked),
                Event::Lost { to, asked } => self.on_lost(ctx, to, asked),
            }
        }
    }

    fn on_stamped(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, token: u64, d: Datagram) {
        if self.token.is_none() && matches!(d, Datagram::KeepAlive(_) | Datagram::Election(_)) {
            // Restarted and not registered yet (the server may be offline): the node
            // cannot check the token, and can only say that it is not the coordinator,
            // stamped as asked; silence would hold the asker, which the channel keeps
            // acknowledging, for as long as the server is down (`dsim explore` found it).
            self.send_stamped(ctx, from, token, Datagram::NotCoordinator);
            return;
        }
        if Some(token) != self.token {
            ctx.metrics().add("datagrams_bad_token", 1.0);
            return;
        }
        self.on_datagram(ctx, from, d);
    }

    /// The channel delivered a request to `to`: its answer is on its way, unless `to`
    /// crashes first (then the request is sent again, and given up on).
    fn on_acked(&mut self, to: NodeId, asked: Asked) {
        let waiting = match asked {
            Asked::Hello => &mut self.hello_waiting,
            Asked::Election => &mut self.ballot,
            Asked::KeepAlive => return,
        };
        if let Some(delivered) = waiting.get_mut(&to) {
            *delivered = true;
        }
    }

    /// The channel gave up on `to`: it is down (crashed or left).
    fn on_lost(&mut self, ctx: &mut impl Ctx<Self>, to: NodeId, asked: Asked) {
        match asked {
            // The report: a node that does not answer the hello is offline.
            Asked::Hello if self.phase == Phase::Hello && self.hello_waiting.contains_key(&to) => {
                self.hello_waiting.remove(&to);
                self.members.retain(|_, addr| *addr != to);
                if self.hello_waiting.is_empty() {
                    self.finish_hello(ctx);
                }
            }
            Asked::Election if self.phase == Phase::Electing && self.ballot.contains_key(&to) => {
                self.ballot.remove(&to);
                self.tally(ctx);
            }
            Asked::KeepAlive
                if self.phase == Phase::Active && self.coordinator.map(|c| c.addr) == Some(to) =>
            {
                ctx.annotate("the channel gave up on the coordinator's keep-alive");
                self.suspected = self.coordinator;
                self.start_election(ctx);
            }
            _ => {}
        }
    }

    fn learn(&mut self, ctx: &impl Ctx<Self>, info: EdgeInfo) {
        // Itself, under its id or under an old one (a node that crashed and drew a new
        // id may find its old entry in the server's list: `dsim explore` found such a
        // node greeting itself for ever).
        if info.id == self.me.id || info.addr == self.me.addr {
            return;
        }
        // One id per address: a node that registered again under a new id (its old
        // entry may linger on the server) is known by the id it now gives.
        self.members
            .retain(|id, addr| *addr != info.addr || *id == info.id);
        self.members.insert(info.id, info.addr);
        // Heard from while greeting: alive, whether or not it answers our hello (it may
        // have been down when we sent it and greet us itself).
        self.hello_waiting.remove(&info.addr);
        if let Some(coord) = &mut self.coord {
            coord.last_seen.insert(info.id, ctx.monotonic());
        }
    }

    fn on_reply(&mut self, ctx: &mut impl Ctx<Self>, call: Call, response: Response) {
        match (call, response.status, response.body) {
            (Call::Token, 200, Body::Token(token)) => {
                self.token = Some(token);
                self.register(ctx);
            }
            (Call::Register, 200, Body::Nodes(nodes)) if self.phase == Phase::Registering => {
                for node in nodes {
                    self.learn(ctx, node);
                }
                self.timer = Some(ctx.set_timer(self.timing.local_period, CityTimer::LocalAverage));
                self.start_hello(ctx);
            }
            (Call::Register, 403, _)
                if self.settings.config.cell.is_none()
                    && self.attempts < self.settings.join_attempts =>
            {
                self.attempts += 1;
                self.me.cell = self.settings.grid.random_cell(ctx.rng());
                self.register(ctx);
            }
            (Call::Register, 409, _)
                if self.settings.config.id.is_none()
                    && self.attempts < self.settings.join_attempts =>
            {
                self.attempts += 1;
                self.me.id = ctx.rng().random_range(1..=self.settings.id_range);
                self.register(ctx);
            }
            (Call::Register, 409, _) if self.restarted => {
                // Our own entry from before the crash: remove it and register again.
                self.restarted = false;
                let t = self.timing.http_timeout;
                let req = Request::RemoveNode(self.me.id);
                self.http.send(ctx, self.server, req, Call::RemoveStale, t);
            }
            (Call::Register, status, _) if self.phase == Phase::Registering => {
                self.refuse(ctx, status)
            }
            (Call::RemoveStale, _, _) => self.register(ctx),
            (Call::Members, 200, Body::Nodes(nodes)) => {
                if let Some(coord) = &mut self.coord {
                    for node in nodes.iter().filter(|n| n.id != self.me.id) {
                        coord.last_seen.entry(node.id).or_insert(ctx.monotonic());
                    }
                }
            }
            (Call::Upload, 204, _) => self.uploaded(ctx),
            (Call::Upload, _, _) => self.upload_failed(ctx),
            _ => {}
        }
    }

    fn on_datagram(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, datagram: Datagram) {
        let joining = self.phase == Phase::Hello;
        match datagram {
            Datagram::Measurement(value) if self.in_network() => {
                self.window.push(value.0);
                ctx.metrics().add("measurements_received", 1.0);
            }
            Datagram::SensorKeepAlive if self.in_network() => {
                self.send_udp(ctx, from, Datagram::KeepAliveReply);
            }
            // Only the coordinator answers a keep-alive as such; any other node says it is
            // not the coordinator (a restarted or deposed one), so the asker elects.
            Datagram::KeepAlive(id) => {
                if self.phase == Phase::Coordinator {
                    self.heard(ctx, id);
                    self.send(ctx, from, Datagram::KeepAliveReply);
                } else {
                    self.send(ctx, from, Datagram::NotCoordinator);
                }
            }
            // A node still registering answers too: a joiner that registered just after
            // it must not take it for offline (nor be missed by it).
            Datagram::Hello(info) if self.in_network() || self.phase == Phase::Registering => {
                self.learn(ctx, info);
                let reply = if self.phase == Phase::Coordinator {
                    Datagram::HelloCoordinator(self.me)
                } else {
                    Datagram::HelloReply(self.me)
                };
                self.send(ctx, from, reply);
                // A joiner that was waiting only for this greeter is done (`dsim
                // explore` found a joiner greeting for ever).
                if joining && self.hello_waiting.is_empty() {
                    self.finish_hello(ctx);
                }
            }
            Datagram::HelloReply(info) | Datagram::HelloCoordinator(info) if self.in_network() => {
                self.learn(ctx, info);
                if joining {
                    if matches!(datagram, Datagram::HelloCoordinator(_)) {
                        self.hello_coordinator = Some(info);
                    }
                    if self.hello_waiting.is_empty() {
                        self.finish_hello(ctx);
                    }
                }
            }
            // A joining node handles only hello messages (the report): the rest is dropped.
            _ if joining => ctx.metrics().add("datagrams_dropped_while_joining", 1.0),
            Datagram::NotCoordinator => self.on_not_coordinator(ctx, from),
            Datagram::Election(info) => self.on_election(ctx, from, info),
            Datagram::ElectionReply(info) if self.phase == Phase::Electing => {
                self.learn(ctx, info);
                if let Some((Stage::Answers, t)) = self.stage {
                    self.ballot.clear();
                    ctx.cancel_timer(t);
                    let t = ctx.set_timer(
                        self.timing.coordinator_timeout,
                        CityTimer::CoordinatorTimeout,
                    );
                    self.stage = Some((Stage::Coordinator, t));
                }
            }
            Datagram::Coordinator(info) if self.in_network() => self.on_coordinator(ctx, info),
            // Not the coordinator this candidate found dead: a node that has not noticed
            // yet vouches for it, and the candidate waits for the election instead.
            Datagram::Leader(info)
                if self.phase == Phase::Electing && self.suspected.is_none_or(|s| s != info) =>
            {
                self.learn(ctx, info);
                self.adopt(ctx, info);
            }
            Datagram::LocalAverages(averages) if self.phase == Phase::Coordinator => {
                self.receive_averages(ctx, from, averages)
            }
            Datagram::AverageReply {
                global: Some(global),
                ..
            } => self.latest_global = Some(global),
            Datagram::AverageAck(ids) => {
                for id in ids {
                    self.stack.remove(&id);
                }
            }
            _ => {}
        }
    }

    /// `from` answered a keep-alive or an ELECTION: it is not the coordinator.
    fn on_not_coordinator(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId) {
        if self.suspected.is_some_and(|s| s.addr == from) {
            self.suspected = None;
        }
        match self.phase {
            Phase::Electing if self.ballot.remove(&from).is_some() => self.tally(ctx),
            Phase::Active if self.coordinator.is_some_and(|c| c.addr == from) => {
                ctx.annotate("the coordinator says it is no longer in charge");
                self.start_election(ctx);
            }
            _ => {}
        }
    }

    fn heard(&mut self, ctx: &impl Ctx<Self>, id: i64) {
        if let Some(coord) = &mut self.coord {
            coord.last_seen.insert(id, ctx.monotonic());
        }
    }

    // --- Hello ---

    fn start_hello(&mut self, ctx: &mut impl Ctx<Self>) {
        self.phase = Phase::Hello;
        self.hello_coordinator = None;
        self.hello_waiting = self.members.values().map(|addr| (*addr, false)).collect();
        if self.hello_waiting.is_empty() {
            self.finish_hello(ctx);
            return;
        }
        for addr in self.hello_waiting.keys().copied().collect::<Vec<_>>() {
            self.send(ctx, addr, Datagram::Hello(self.me));
        }
        let t = ctx.set_timer(self.timing.hello_timeout, CityTimer::HelloDone);
        self.hello_timer = Some(t);
    }

    /// Greet again the nodes that received the hello but have not answered: one that
    /// crashed since is then given up on by the channel.
    fn greet_again(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.phase != Phase::Hello {
            return;
        }
        // Every greeted node was heard from otherwise (its own hello, say).
        if self.hello_waiting.is_empty() {
            self.finish_hello(ctx);
            return;
        }
        let again: Vec<NodeId> = self
            .hello_waiting
            .iter_mut()
            .filter_map(|(addr, delivered)| std::mem::take(delivered).then_some(*addr))
            .collect();
        for addr in again {
            self.send(ctx, addr, Datagram::Hello(self.me));
        }
        let t = ctx.set_timer(self.timing.hello_timeout, CityTimer::HelloDone);
        self.hello_timer = Some(t);
    }

    /// Every greeted node answered or is down: join under the coordinator that
    /// answered, or elect.
    fn finish_hello(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.phase != Phase::Hello {
            return;
        }
        if let Some(t) = self.hello_timer.take() {
            ctx.cancel_timer(t);
        }
        match self.hello_coordinator.take() {
            Some(coordinator) => self.adopt(ctx, coordinator),
            None => self.start_election(ctx),
        }
    }

    // --- Election ---

    fn stage_timer(&mut self, ctx: &mut impl Ctx<Self>, next: Option<(Stage, TimerId)>) {
        if let Some((_, t)) = std::mem::replace(&mut self.stage, next) {
            ctx.cancel_timer(t);
        }
    }

    fn stop_keepalive(&mut self, ctx: &mut impl Ctx<Self>) {
        if let Some(t) = self.keepalive.take() {
            ctx.cancel_timer(t);
        }
    }

    fn start_election(&mut self, ctx: &mut impl Ctx<Self>) {
        ctx.metrics().add("elections", 1.0);
        self.phase = Phase::Electing;
        self.coordinator = None;
        self.stop_keepalive(ctx);
        self.stage_timer(ctx, None);
        self.ballot = self
            .members
            .range(self.me.id + 1..)
            .map(|(_, addr)| (*addr, false))
            .chain(self.suspected.map(|s| (s.addr, false)))
            .collect();
        if self.ballot.is_empty() {
            self.become_coordinator(ctx);
            return;
        }
        for addr in self.ballot.keys().copied().collect::<Vec<_>>() {
            self.send(ctx, addr, Datagram::Election(self.me));
        }
        let t = ctx.set_timer(self.timing.answer_timeout, CityTimer::AnswerTimeout);
        self.stage = Some((Stage::Answers, t));
    }

    /// Bully over the channel: a candidate wins once every node it asked has answered
    /// that it is not the coordinator or been given up on by the channel (is down),
    /// and no higher node answered. Waiting for the channel, not for a timeout, is
    /// what keeps a slow but live coordinator from being displaced.
    fn tally(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.phase == Phase::Electing
            && matches!(self.stage, Some((Stage::Answers, _)))
            && self.ballot.is_empty()
        {
            self.stage_timer(ctx, None);
            self.become_coordinator(ctx);
        }
    }

    /// Ask again the nodes that received this candidate's ELECTION but have not
    /// answered (a node still greeting drops it; one that crashed since is then given
    /// up on by the channel).
    fn ask_again(&mut self, ctx: &mut impl Ctx<Self>) {
        let again: Vec<NodeId> = self
            .ballot
            .iter_mut()
            .filter_map(|(addr, delivered)| std::mem::take(delivered).then_some(*addr))
            .collect();
        for addr in again {
            self.send(ctx, addr, Datagram::Election(self.me));
        }
        let t = ctx.set_timer(self.timing.answer_timeout, CityTimer::AnswerTimeout);
        self.stage = Some((Stage::Answers, t));
    }

    fn on_election(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, candidate: EdgeInfo) {
        self.learn(ctx, candidate);
        match self.phase {
            // The coordinator in charge keeps its authority.
            Phase::Coordinator => self.send(ctx, from, Datagram::Coordinator(self.me)),
            // Bully: a higher node answers. A node under a live coordinator does not run;
            // it tells the candidate who leads instead, or a candidate that never heard of
            // that coordinator would keep getting answers and never a COORDINATOR.
            Phase::Active if self.me.id > candidate.id => {
                self.send(ctx, from, Datagram::ElectionReply(self.me));
                if let Some(c) = self.coordinator {
                    self.send(ctx, from, Datagram::Leader(c));
                }
            }
            Phase::Electing if self.me.id > candidate.id => {
                self.send(ctx, from, Datagram::ElectionReply(self.me));
            }
            // A lower node (the suspected coordinator, deposed or restarted) tells the
            // candidate not to wait for it.
            _ => self.send(ctx, from, Datagram::NotCoordinator),
        }
    }

    fn on_coordinator(&mut self, ctx: &mut impl Ctx<Self>, info: EdgeInfo) {
        self.learn(ctx, info);
        if self.phase == Phase::Coordinator {
            if self.me.id > info.id {
                self.send(ctx, info.addr, Datagram::Coordinator(self.me));
                return;
            }
            ctx.annotate(&format!(
                "coordinator {} steps down for {}",
                self.me.id, info.id
            ));
            self.step_down(ctx);
        }
        self.adopt(ctx, info);
    }

    fn become_coordinator(&mut self, ctx: &mut impl Ctx<Self>) {
        self.ballot.clear();
        self.phase = Phase::Coordinator;
        self.coordinator = Some(self.me);
        self.suspected = None;
        self.stop_keepalive(ctx);
        ctx.metrics().add("coordinator_changes", 1.0);
        ctx.annotate(&format!("node {} is the coordinator", self.me.id));
        let now = ctx.monotonic();
        let mut coord = CoordinatorState {
            last_seen: self.members.keys().map(|id| (*id, now)).collect(),
            timer: Some(ctx.set_timer(self.timing.global_period, CityTimer::GlobalAverage)),
            latest_global: self.latest_global,
            ..CoordinatorState::default()
        };
        for (avg, _) in self.stack.values() {
            coord.held.insert(avg.id);
            coord.window.push(*avg);
        }
        self.coord = Some(coord);
        for addr in self.members.values().copied().collect::<Vec<_>>() {
            self.send(ctx, addr, Datagram::Coordinator(self.me));
        }
    }

    fn step_down(&mut self, ctx: &mut impl Ctx<Self>) {
        if let Some(t) = self.coord.take().and_then(|c| c.timer) {
            ctx.cancel_timer(t);
        }
    }

    fn adopt(&mut self, ctx: &mut impl Ctx<Self>, coordinator: EdgeInfo) {
        self.stage_timer(ctx, None);
        self.ballot.clear();
        self.stop_keepalive(ctx);
        self.phase = Phase::Active;
        self.coordinator = Some(coordinator);
        self.suspected = None;
        self.keepalive = Some(ctx.set_timer(self.timing.keepalive_period, CityTimer::KeepAlive));
        // The report: after a coordinator is elected, every stacked average goes to it.
        self.send_stack(ctx, SimTime::MAX);
    }

    /// Send the stacked averages last sent at least `age` ago to the coordinator.
    fn send_stack(&mut self, ctx: &mut impl Ctx<Self>, age: SimTime) {
        let Some(c) = self.coordinator else { return };
        let now = ctx.monotonic();
        let due = |sent: SimTime| age == SimTime::MAX || now.saturating_sub(sent) >= age;
        let averages: Vec<Average> = self
            .stack
            .values_mut()
            .filter(|(_, sent)| due(*sent))
            .map(|(avg, sent)| {
                *sent = now;
                *avg
            })
            .collect();
        if !averages.is_empty() {
            self.send(ctx, c.addr, Datagram::LocalAverages(averages));
        }
    }

    fn keepalive_tick(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.phase != Phase::Active {
            return;
        }
        let Some(c) = self.coordinator else { return };
        self.keepalive = Some(ctx.set_timer(self.timing.keepalive_period, CityTimer::KeepAlive));
        self.send(ctx, c.addr, Datagram::KeepAlive(self.me.id));
        self.send_stack(ctx, self.timing.resend_after);
    }

    // --- Averages ---

    fn produce_local(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.window.is_empty() {
            return;
        }
        let n = self.window.len();
        let mean = self.window.drain(..).sum::<f64>() / n as f64;
        let avg = Average {
            id: AverageId {
                node: self.me.id,
                at: ctx.now(),
            },
            value: Ugm3(mean),
            measurements: n as u32,
        };
        self.produced.push(avg.id);
        self.stack.insert(avg.id, (avg, ctx.monotonic()));
        match (self.phase, self.coordinator) {
            (Phase::Coordinator, _) => {
                if let Some(coord) = &mut self.coord {
                    coord.held.insert(avg.id);
                    coord.window.push(avg);
                }
            }
            (Phase::Active, Some(c)) => self.send(ctx, c.addr, Datagram::LocalAverages(vec![avg])),
            _ => {}
        }
    }

    fn receive_averages(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, averages: Vec<Average>) {
        let Some(coord) = &mut self.coord else { return };
        let Some(latest) = averages.last().map(|a| a.id) else {
            return;
        };
        coord.last_seen.insert(latest.node, ctx.monotonic());
        let mut duplicates = 0.0;
        for avg in averages {
            if coord.held.insert(avg.id) {
                coord.window.push(avg);
            } else {
                duplicates += 1.0;
            }
        }
        let global = coord.latest_global;
        ctx.metrics()
            .add("duplicate_averages_at_coordinator", duplicates);
        self.send(ctx, from, Datagram::AverageReply { global, latest });
    }

    /// Compute the global average of the window into the upload queue.
    fn compute_global(&mut self, ctx: &mut impl Ctx<Self>) {
        let Some(coord) = &mut self.coord else { return };
        if coord.window.is_empty() {
            return;
        }
        let locals = std::mem::take(&mut coord.window);
        let global = Ugm3(locals.iter().map(|a| a.value.0).sum::<f64>() / locals.len() as f64);
        coord.latest_global = Some(global);
        self.latest_global = Some(global);
        coord.queue.push_back(Aggregate {
            id: AverageId {
                node: self.me.id,
                at: ctx.now(),
            },
            global,
            locals,
        });
        ctx.metrics().add("global_averages", 1.0);
    }

    fn try_upload(&mut self, ctx: &mut impl Ctx<Self>) {
        let Some(coord) = &mut self.coord else { return };
        if coord.uploading {
            return;
        }
        let Some(front) = coord.queue.front() else {
            return;
        };
        coord.uploading = true;
        let req = Request::Upload(front.clone());
        let t = self.timing.http_timeout;
        self.http.send(ctx, self.server, req, Call::Upload, t);
    }

    /// The server stored the front aggregate: acknowledge its averages to their nodes.
    fn uploaded(&mut self, ctx: &mut impl Ctx<Self>) {
        let Some(coord) = &mut self.coord else { return };
        coord.uploading = false;
        let Some(done) = coord.queue.pop_front() else {
            return;
        };
        let mut acks: BTreeMap<i64, Vec<AverageId>> = BTreeMap::new();
        for avg in &done.locals {
            coord.held.remove(&avg.id);
            acks.entry(avg.id.node).or_default().push(avg.id);
        }
        for (node, ids) in acks {
            if node == self.me.id {
                ids.iter().for_each(|id| {
                    self.stack.remove(id);
                });
            } else if let Some(addr) = self.members.get(&node).copied() {
                self.send(ctx, addr, Datagram::AverageAck(ids));
            }
        }
        self.try_upload(ctx);
    }

    /// No 204: the server is offline (or lost the request). Keep the aggregate, retry.
    fn upload_failed(&mut self, ctx: &mut impl Ctx<Self>) {
        let Some(coord) = &mut self.coord else { return };
        coord.uploading = false;
        ctx.metrics().add("upload_retries", 1.0);
        ctx.set_timer(self.timing.http_timeout, CityTimer::Retry);
    }

    /// Remove from the server (and forget) nodes silent for `cleanup_after`, and ask the
    /// server for its list so that nodes this coordinator never heard of (a crashed
    /// node that the hello protocol already dropped) are watched too.
    fn remove_silent_members(&mut self, ctx: &mut impl Ctx<Self>) {
        let t = self.timing.http_timeout;
        self.http
            .send(ctx, self.server, Request::ListNodes, Call::Members, t);
        let Some(coord) = &mut self.coord else { return };
        let now = ctx.monotonic();
        let limit = self.timing.cleanup_after;
        let silent: Vec<i64> = coord
            .last_seen
            .iter()
            .filter(|(_, seen)| now.saturating_sub(**seen) > limit)
            .map(|(id, _)| *id)
            .collect();
        for id in silent {
            coord.last_seen.remove(&id);
            self.members.remove(&id);
            ctx.metrics().add("nodes_removed_by_coordinator", 1.0);
            let t = self.timing.http_timeout;
            self.http
                .send(ctx, self.server, Request::RemoveNode(id), Call::Cleanup, t);
        }
    }
}

impl Node for EdgeNode {
    type Msg = CityMsg;
    type Timer = CityTimer;

    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.phase = Phase::Registering;
        self.attempts = 0;
        let id = match self.settings.config.id {
            Some(id) => id,
            None => ctx.rng().random_range(1..=self.settings.id_range),
        };
        let cell = match self.settings.config.cell {
            Some((u, v)) => Cell::new(u, v),
            None => self.settings.grid.random_cell(ctx.rng()),
        };
        self.me = EdgeInfo {
            id,
            cell,
            addr: ctx.id(),
        };
        self.request_token(ctx);
    }

    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: CityMsg) {
        match msg {
            CityMsg::HttpReply { req, response } => {
                if let Some(call) = self.http.complete(ctx, req) {
                    self.on_reply(ctx, call, response);
                }
            }
            CityMsg::Udp { token, datagram } => self.on_stamped(ctx, from, token, datagram),
            CityMsg::Segment(segment) => {
                self.channel
                    .endpoint
                    .on_segment(ctx.monotonic(), from, segment);
                self.on_channel(ctx);
            }
            // Requests go to the server only.
            CityMsg::Http { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: CityTimer) {
        match timer {
            CityTimer::HttpTimeout(req) => match self.http.expire(req) {
                Some(Call::Token | Call::Register | Call::RemoveStale) => {
                    ctx.set_timer(self.timing.keepalive_period, CityTimer::Retry);
                }
                Some(Call::Upload) => self.upload_failed(ctx),
                Some(Call::Members | Call::Cleanup) | None => {}
            },
            CityTimer::Retry => match self.phase {
                Phase::Registering if self.token.is_none() => self.request_token(ctx),
                Phase::Registering => self.register(ctx),
                Phase::Coordinator => self.try_upload(ctx),
                _ => {}
            },
            CityTimer::HelloDone => self.greet_again(ctx),
            CityTimer::AnswerTimeout => {
                if self.phase == Phase::Electing {
                    self.ask_again(ctx);
                }
            }
            CityTimer::CoordinatorTimeout => {
                if self.phase == Phase::Electing {
                    self.stage = None;
                    self.start_election(ctx);
                }
            }
            CityTimer::KeepAlive => self.keepalive_tick(ctx),
            CityTimer::Transport(token) => {
                self.channel.endpoint.on_timer(ctx.monotonic(), token);
                self.on_channel(ctx);
            }
            CityTimer::LocalAverage => {
                if self.in_network() {
                    self.timer =
                        Some(ctx.set_timer(self.timing.local_period, CityTimer::LocalAverage));
                    self.produce_local(ctx);
                }
            }
            CityTimer::GlobalAverage => {
                if self.phase == Phase::Coordinator {
                    let next = ctx.set_timer(self.timing.global_period, CityTimer::GlobalAverage);
                    if let Some(coord) = &mut self.coord {
                        coord.timer = Some(next);
                    }
                    self.compute_global(ctx);
                    self.try_upload(ctx);
                    self.remove_silent_members(ctx);
                }
            }
            // Sensors and the analyst set these; an edge node never does.
            CityTimer::Sample | CityTimer::Query | CityTimer::KeepAliveTimeout => {}
        }
    }

    fn on_crash(&mut self) {
        let mut channel = std::mem::replace(
            &mut self.channel,
            Channel::new(self.settings.channel.clone()),
        );
        channel.crash();
        *self = EdgeNode {
            channel,
            restarted: true,
            produced: std::mem::take(&mut self.produced),
            crashed: true,
            ..EdgeNode::with(self.settings.clone())
        };
    }

    fn on_leave(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.in_network() {
            self.produce_local(ctx);
            match self.phase {
                // The report: a leaving coordinator computes the global average on the
                // fly and uploads it (and whatever is still queued).
                Phase::Coordinator => {
                    self.compute_global(ctx);
                    if let Some(coord) = &self.coord {
                        for aggregate in &coord.queue {
                            let request = Request::Upload(aggregate.clone());
                            ctx.send(self.server, CityMsg::Http { req: 0, request });
                        }
                    }
                }
                Phase::Active => self.send_stack(ctx, SimTime::MAX),
                _ => {}
            }
            let request = Request::RemoveNode(self.me.id);
            ctx.send(self.server, CityMsg::Http { req: 0, request });
        }
        self.phase = Phase::Gone;
    }
}

impl TransportHost for EdgeNode {
    fn wrap_segment(segment: Segment) -> CityMsg {
        CityMsg::Segment(segment)
    }

    fn wrap_timer(token: TimerToken) -> CityTimer {
        CityTimer::Transport(token)
    }
}
