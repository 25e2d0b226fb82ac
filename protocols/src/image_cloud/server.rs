//! A cloud server: takes encryption requests by the configured [`Balancing`], encodes
//! uploaded images into its cover image with a limited number of workers, sends the
//! results back, keeps the directory of service and the cache for offline clients, and
//! plays its part in the working token and the offline token.

use super::directory::{Cached, Directory};
use super::envelope::{Envelope, Kind};
use super::picture;
use super::queues::QueueView;
use super::stego;
use super::token::{Ring, WorkingToken};
use super::{Balancing, CloudMsg, CloudTimer, ImageCloudParams, RequestId};
use crate::transport::{
    Endpoint, Output, PacketId, Payload, Segment, TimerToken, TransferId, TransportHost, forward,
};
use sim_core::{Ctx, Node, NodeId, SimTime};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// Where an accepted request stands.
enum Job {
    /// Elected; waiting for the client's upload.
    AwaitUpload,
    /// Uploaded; waiting for a worker.
    Ready(Arc<[u8]>),
    /// A worker is hiding it; the result, available when the CPU time has passed.
    Encoding(Result<Vec<u8>, stego::StegoError>),
    /// The encoded image is on its way back.
    Returning,
}

/// What a server counts.
#[derive(Clone, Debug, Default)]
pub struct ServerStats {
    /// Requests it would have taken but had no free slot for.
    pub dropped_full: u64,
    /// Requests it was elected for while its workers were offline.
    pub dropped_offline: u64,
    /// Images encoded.
    pub encoded: u64,
    /// Cached items delivered to clients that came back.
    pub cached_deliveries: u64,
}

/// A cloud server.
pub struct Server {
    index: usize,
    /// Every server, in ring order (set by the system's build).
    pub(super) servers: Vec<NodeId>,
    params: Arc<ImageCloudParams>,
    /// The transport endpoint.
    pub endpoint: Endpoint,
    cover: Arc<[u8]>,
    ring: Ring,
    token: Option<WorkingToken>,
    /// The newest generation of the working token this server held (`None`: none yet);
    /// an older or equal one arriving is a duplicate or a late copy, ignored.
    token_seen: Option<u64>,
    /// Every request id heard: a duplicated request is handled once.
    requests_seen: BTreeSet<RequestId>,
    /// The number of offline/online announcements this server made.
    announcements: u32,
    /// The newest announcement heard from each server (by index): an older one
    /// arriving late, or a duplicate, is ignored.
    announcement_seen: BTreeMap<usize, u32>,
    /// The round of the offline token this server last held (`None`: never).
    offline_round: Option<u64>,
    /// Round-robin mode: requests heard and not known to be taken, in arrival order.
    heard: Vec<(RequestId, SimTime)>,
    view: QueueView,
    /// The directory of service and the cache for offline clients.
    pub directory: Directory,
    /// Whether the workers are offline (holding the offline token).
    pub asleep: bool,
    jobs: BTreeMap<RequestId, Job>,
    ready: VecDeque<RequestId>,
    busy: u32,
    frozen: Vec<RequestId>,
    returning: BTreeMap<TransferId, RequestId>,
    /// Cached items being delivered (transfers and rights datagrams): one the transport
    /// gives up on goes back through the directory (delivered again, or cached).
    delivering: BTreeMap<TransferId, (NodeId, Cached)>,
    delivering_rights: BTreeMap<PacketId, (NodeId, Cached)>,
    /// The newest numbered login or logout applied per client (a late one is ignored).
    presence_seen: BTreeMap<NodeId, u64>,
    /// Every request this server accepted, in order.
    pub accepted: Vec<RequestId>,
    /// Counters.
    pub stats: ServerStats,
}

impl Server {
    /// Server number `index` (in declaration order) of a cloud with `params`; its cover
    /// image is drawn from the run's seed and its name.
    pub(super) fn new(index: usize, params: Arc<ImageCloudParams>, seed: u64, name: &str) -> Self {
        let cover = picture::generate(
            picture::image_key(seed, name, u64::MAX),
            params.cover_bytes as usize,
        );
        Server {
            index,
            servers: Vec::new(),
            endpoint: Endpoint::new(params.transport.clone()),
            params,
            cover: cover.into(),
            ring: Ring::default(),
            token: None,
            token_seen: None,
            requests_seen: BTreeSet::new(),
            announcements: 0,
            announcement_seen: BTreeMap::new(),
            offline_round: None,
            heard: Vec::new(),
            view: QueueView::default(),
            directory: Directory::default(),
            asleep: false,
            jobs: BTreeMap::new(),
            ready: VecDeque::new(),
            busy: 0,
            frozen: Vec::new(),
            returning: BTreeMap::new(),
            delivering: BTreeMap::new(),
            delivering_rights: BTreeMap::new(),
            presence_seen: BTreeMap::new(),
            accepted: Vec::new(),
            stats: ServerStats::default(),
        }
    }

    /// Jobs accepted and not finished (uploads awaited, queued, encoding, returning).
    pub fn load(&self) -> usize {
        self.jobs.len()
    }

    fn slots(&self) -> usize {
        (self.params.workers + self.params.queue_limit) as usize
    }
}

impl TransportHost for Server {
    fn wrap_segment(segment: Segment) -> CloudMsg {
        CloudMsg::Transport(segment)
    }
    fn wrap_timer(token: TimerToken) -> CloudTimer {
        CloudTimer::Transport(token)
    }
}

impl Node for Server {
    type Msg = CloudMsg;
    type Timer = CloudTimer;

    /// Set up the ring and the queue copy; server 0 starts with the working token (in
    /// round-robin mode) and receives the offline token at its start time.
    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        let n = self.servers.len();
        self.ring = Ring::new(self.index, n);
        self.view = QueueView::new(n);
        if self.params.balancing == Balancing::TokenRing && self.index == 0 {
            let token = WorkingToken::default();
            self.token_seen = Some(token.generation());
            self.token = Some(token);
            ctx.set_timer(self.params.token_hold, CloudTimer::TokenPass);
        }
        if let Some(t) = &self.params.offline_token
            && self.index == 0
        {
            ctx.set_timer(t.start, CloudTimer::OfflineTokenStart);
        }
    }

    /// Segments, requests, declines, tokens, announcements and directory messages.
    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: CloudMsg) {
        match msg {
            CloudMsg::Transport(segment) => {
                self.endpoint.on_segment(ctx.monotonic(), from, segment);
                self.pump(ctx);
            }
            CloudMsg::Request { seq } => self.on_request(ctx, RequestId { client: from, seq }),
            CloudMsg::Decline { seq } => {
                let id = RequestId { client: from, seq };
                if matches!(self.jobs.get(&id), Some(Job::AwaitUpload)) {
                    self.jobs.remove(&id);
                }
            }
            CloudMsg::Token(token) => self.on_token(ctx, token),
            CloudMsg::OfflineToken { round } => {
                if self.offline_round.is_some_and(|r| round <= r) {
                    ctx.annotate("server: stale offline token ignored");
                    return;
                }
                self.go_offline(ctx, round);
            }
            CloudMsg::Offline { n } | CloudMsg::Online { n } => {
                let offline = matches!(msg, CloudMsg::Offline { .. });
                let Some(i) = self.servers.iter().position(|&s| s == from) else {
                    return;
                };
                if self
                    .announcement_seen
                    .get(&i)
                    .is_some_and(|&seen| n <= seen)
                {
                    ctx.annotate("server: stale announcement ignored");
                    return;
                }
                self.announcement_seen.insert(i, n);
                self.ring.set_offline(i, offline);
                if offline {
                    self.view.remove(i);
                } else {
                    self.view.enqueue(i);
                }
            }
            CloudMsg::Login => self.login(ctx, from),
            CloudMsg::Logout => self.directory.logout(from),
            CloudMsg::WhoIsOnline { client } => {
                let online = self.directory.is_online(client);
                ctx.send(from, CloudMsg::Presence { client, online });
            }
            other => ctx.annotate(&format!("server: unexpected {other:?}")),
        }
    }

    /// Endpoint timers, encodings done, expired jobs, token passing, sleep and wake.
    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: CloudTimer) {
        match timer {
            CloudTimer::Transport(token) => {
                self.endpoint.on_timer(ctx.monotonic(), token);
                self.pump(ctx);
            }
            CloudTimer::EncodeDone(id) => {
                if self.asleep {
                    self.frozen.push(id);
                } else {
                    self.finish_encoding(ctx, id);
                }
            }
            CloudTimer::JobExpire(id) => {
                if matches!(self.jobs.get(&id), Some(Job::AwaitUpload | Job::Ready(_))) {
                    self.jobs.remove(&id);
                    self.ready.retain(|r| *r != id);
                }
            }
            CloudTimer::TokenPass => self.pass_token(ctx),
            CloudTimer::OfflineTokenStart => self.go_offline(ctx, 0),
            CloudTimer::Wake => self.wake(ctx),
            CloudTimer::OfflineTokenPass => {
                let next = self.servers[(self.index + 1) % self.servers.len()];
                let round = self.offline_round.map_or(0, |r| r + 1);
                if next == ctx.id() {
                    self.go_offline(ctx, round);
                } else {
                    ctx.send(next, CloudMsg::OfflineToken { round });
                }
            }
            other => ctx.annotate(&format!("server: unexpected timer {other:?}")),
        }
    }

    /// Volatile state is lost: the endpoint, jobs, heard requests, the token.
    fn on_crash(&mut self) {
        self.endpoint.crash();
        self.token = None;
        self.heard.clear();
        self.jobs.clear();
        self.ready.clear();
        self.frozen.clear();
        self.returning.clear();
        self.delivering.clear();
        self.delivering_rights.clear();
        self.busy = 0;
        self.asleep = false;
    }
}

impl Server {
    /// `client` logged in: hand it what was cached for it.
    fn login(&mut self, ctx: &mut impl Ctx<Self>, client: NodeId) {
        for item in self.directory.login(client) {
            self.stats.cached_deliveries += 1;
            self.deliver(ctx, client, item);
        }
        self.pump(ctx);
    }

    fn pump(&mut self, ctx: &mut impl Ctx<Self>) {
        for event in forward(&mut self.endpoint, ctx) {
            self.on_transport(ctx, event);
        }
    }

    fn multicast_servers(&self, ctx: &mut impl Ctx<Self>, msg: CloudMsg) {
        for &s in &self.servers {
            if s != ctx.id() {
                ctx.send(s, msg.clone());
            }
        }
    }

    // ----- taking requests -----

    /// A request arrived: take it by the configured balancing (once: a duplicate of a
    /// request already heard is ignored).
    fn on_request(&mut self, ctx: &mut impl Ctx<Self>, id: RequestId) {
        if !self.requests_seen.insert(id) {
            ctx.annotate("server: duplicate request ignored");
            return;
        }
        match self.params.balancing {
            Balancing::NoBalancing | Balancing::RandomServer => self.try_accept(ctx, id),
            Balancing::Queues | Balancing::QueuesFt => {
                if self.view.elect() == Some(self.index) {
                    self.try_accept(ctx, id);
                }
            }
            Balancing::TokenRing => {
                self.heard.push((id, ctx.now()));
                if self.token.is_some() {
                    self.take_heard(ctx);
                }
            }
        }
    }

    /// Accept `id` if the workers are online and a slot is free: answer `Elected`.
    fn try_accept(&mut self, ctx: &mut impl Ctx<Self>, id: RequestId) {
        if self.asleep {
            self.stats.dropped_offline += 1;
            return;
        }
        if self.load() >= self.slots() {
            self.stats.dropped_full += 1;
            return;
        }
        self.jobs.insert(id, Job::AwaitUpload);
        self.accepted.push(id);
        ctx.send(id.client, CloudMsg::Elected { seq: id.seq });
        ctx.set_timer(self.params.job_timeout, CloudTimer::JobExpire(id));
    }

    /// Holding the working token: take the requests heard, oldest first, while slots
    /// are free; drop those already taken or too old to be answered in time.
    fn take_heard(&mut self, ctx: &mut impl Ctx<Self>) {
        if self.asleep {
            return;
        }
        let Some(mut token) = self.token.take() else {
            return;
        };
        let now = ctx.now();
        let timeout = self.params.request_timeout;
        let heard = std::mem::take(&mut self.heard);
        let mut rest = Vec::new();
        for (id, at) in heard {
            if token.is_taken(&id) || now.saturating_sub(at) >= timeout {
                continue;
            }
            if self.load() < self.slots() {
                token.take(id, now);
                self.try_accept(ctx, id);
            } else {
                rest.push((id, at));
            }
        }
        self.heard = rest;
        self.token = Some(token);
    }

    /// The working token arrived: take what waits, or pass it on while offline. A copy
    /// no newer than the last token held (a duplicate, or a late one) is ignored.
    fn on_token(&mut self, ctx: &mut impl Ctx<Self>, mut token: WorkingToken) {
        if !token.is_newer_than(self.token_seen) {
            ctx.annotate("server: stale token ignored");
            return;
        }
        self.token_seen = Some(token.generation());
        token.forget_before(ctx.now(), self.params.job_timeout);
        self.heard.retain(|(id, _)| !token.is_taken(id));
        self.token = Some(token);
        if self.asleep {
            // Offline: pass it straight on (failure transparency).
            self.pass_token(ctx);
        } else {
            self.take_heard(ctx);
            ctx.set_timer(self.params.token_hold, CloudTimer::TokenPass);
        }
    }

    /// Hand the working token to the next server (or the one after); keep it when
    /// both are offline.
    fn pass_token(&mut self, ctx: &mut impl Ctx<Self>) {
        match (self.token.take(), self.ring.successor()) {
            (Some(token), Some(next)) => {
                ctx.send(self.servers[next], CloudMsg::Token(token.passed()));
            }
            (Some(token), None) => {
                // Everyone it knows of is offline: keep working with it.
                self.token = Some(token);
                self.take_heard(ctx);
                ctx.set_timer(self.params.token_hold, CloudTimer::TokenPass);
            }
            (None, _) => {}
        }
    }

    // ----- the offline token -----

    /// The offline token arrived: the workers sleep (announced with fault tolerance).
    fn go_offline(&mut self, ctx: &mut impl Ctx<Self>, round: u64) {
        let Some(t) = self.params.offline_token.clone() else {
            return;
        };
        self.offline_round = Some(round);
        self.asleep = true;
        ctx.metrics().add("offline_periods", 1.0);
        if self.params.balancing.fault_tolerant() {
            self.view.remove(self.index);
            self.announcements += 1;
            let n = self.announcements;
            self.multicast_servers(ctx, CloudMsg::Offline { n });
            if self.token.is_some() {
                self.pass_token(ctx);
            }
        }
        ctx.set_timer(t.sleep, CloudTimer::Wake);
    }

    /// The workers wake: finish frozen encodings, announce the return, and pass the
    /// offline token on after `awake`.
    fn wake(&mut self, ctx: &mut impl Ctx<Self>) {
        let Some(t) = self.params.offline_token.clone() else {
            return;
        };
        self.asleep = false;
        if self.params.balancing.fault_tolerant() {
            self.view.enqueue(self.index);
            self.announcements += 1;
            let n = self.announcements;
            self.multicast_servers(ctx, CloudMsg::Online { n });
        }
        for id in std::mem::take(&mut self.frozen) {
            self.finish_encoding(ctx, id);
        }
        self.start_work(ctx);
        ctx.set_timer(t.awake, CloudTimer::OfflineTokenPass);
    }

    // ----- encoding -----

    /// Give uploaded jobs to free workers; the result is computed now and released
    /// after its CPU time.
    fn start_work(&mut self, ctx: &mut impl Ctx<Self>) {
        while !self.asleep && self.busy < self.params.workers {
            let Some(id) = self.ready.pop_front() else {
                return;
            };
            let Some(job) = self.jobs.get_mut(&id) else {
                continue;
            };
            let Job::Ready(secret) = job else { continue };
            let cpu = self.params.stego.time(secret.len());
            *job = Job::Encoding(stego::embed(&self.cover, secret));
            self.busy += 1;
            ctx.set_timer(cpu, CloudTimer::EncodeDone(id));
        }
    }

    /// An encoding's CPU time is over: send the result back.
    fn finish_encoding(&mut self, ctx: &mut impl Ctx<Self>, id: RequestId) {
        self.busy = self.busy.saturating_sub(1);
        match self.jobs.remove(&id) {
            Some(Job::Encoding(Ok(image))) => {
                self.stats.encoded += 1;
                let env = Envelope {
                    kind: Kind::Encoded,
                    owner: id.client,
                    receiver: id.client,
                    id: u64::from(id.seq),
                    views: 0,
                    cache: false,
                };
                let tid = self.endpoint.start_transfer(
                    ctx.monotonic(),
                    id.client,
                    env.encode(&image).into(),
                );
                self.returning.insert(tid, id);
                self.jobs.insert(id, Job::Returning);
            }
            Some(Job::Encoding(Err(e))) => ctx.annotate(&format!("cannot encode: {e}")),
            _ => {}
        }
        self.start_work(ctx);
        self.pump(ctx);
    }

    // ----- transport events -----

    /// Uploads, items to cache, and the end of transfers.
    fn on_transport(&mut self, ctx: &mut impl Ctx<Self>, event: Output) {
        match event {
            Output::TransferReceived {
                from, data, intact, ..
            } => {
                let Some((env, body)) = Envelope::decode(&data).filter(|_| intact) else {
                    ctx.annotate("server: unreadable transfer");
                    return;
                };
                match env.kind {
                    Kind::Upload => self.on_upload(ctx, from, env, body),
                    Kind::Preview | Kind::Shared if env.cache => {
                        let item = Envelope {
                            cache: false,
                            ..env
                        }
                        .encode(body);
                        self.hold(ctx, env.receiver, Cached::Transfer(item.into()));
                    }
                    _ => ctx.annotate("server: unexpected transfer"),
                }
            }
            Output::Delivered { payload, .. } => match Envelope::decode(payload.as_bytes()) {
                Some((env, body)) if env.kind == Kind::Rights && env.cache => {
                    let item = Envelope {
                        cache: false,
                        ..env
                    }
                    .encode(body);
                    self.hold(ctx, env.receiver, Cached::Datagram(item.into()));
                }
                Some((env, _)) if env.kind == Kind::Presence => {
                    let client = env.owner;
                    if self
                        .presence_seen
                        .get(&client)
                        .is_some_and(|&e| env.id <= e)
                    {
                        return;
                    }
                    self.presence_seen.insert(client, env.id);
                    if env.views > 0 {
                        self.login(ctx, client);
                    } else {
                        self.directory.logout(client);
                    }
                }
                _ => ctx.annotate("server: unexpected datagram"),
            },
            Output::TransferComplete {
                transfer, elapsed, ..
            } => {
                ctx.metrics()
                    .observe("transfer_time_ms", elapsed.as_millis_f64());
                if let Some(id) = self.returning.remove(&transfer) {
                    self.jobs.remove(&id);
                }
                self.delivering.remove(&transfer);
            }
            Output::TransferFailed {
                transfer, reason, ..
            } => {
                ctx.annotate(&format!("server: transfer failed: {reason}"));
                if let Some(id) = self.returning.remove(&transfer) {
                    self.jobs.remove(&id);
                }
                if let Some((to, item)) = self.delivering.remove(&transfer) {
                    self.hold(ctx, to, item);
                }
            }
            Output::Acked { id, .. } => {
                self.delivering_rights.remove(&id);
            }
            Output::Lost { id, .. } => {
                if let Some((to, item)) = self.delivering_rights.remove(&id) {
                    self.hold(ctx, to, item);
                }
            }
            _ => {}
        }
    }

    /// The image of an accepted request arrived: queue it for a worker.
    fn on_upload(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, env: Envelope, body: &[u8]) {
        let Ok(seq) = u32::try_from(env.id) else {
            return;
        };
        let id = RequestId { client: from, seq };
        if let Some(job @ Job::AwaitUpload) = self.jobs.get_mut(&id) {
            *job = Job::Ready(body.into());
            self.ready.push_back(id);
            self.start_work(ctx);
        }
    }

    /// Cache `item` for `client`, or deliver it now if the client is online.
    fn hold(&mut self, ctx: &mut impl Ctx<Self>, client: NodeId, item: Cached) {
        if let Some(item) = self.directory.hold(client, item) {
            self.deliver(ctx, client, item);
            self.pump(ctx);
        }
    }

    /// Send a cached item to a client that came back; if the transport gives up, the
    /// item goes back through the directory (sent again, or cached if the client left).
    fn deliver(&mut self, ctx: &mut impl Ctx<Self>, to: NodeId, item: Cached) {
        match &item {
            Cached::Transfer(bytes) => {
                let tid = self
                    .endpoint
                    .start_transfer(ctx.monotonic(), to, Arc::clone(bytes));
                self.delivering.insert(tid, (to, item));
            }
            Cached::Datagram(bytes) => {
                let id = self.endpoint.send_reliable(
                    ctx.monotonic(),
                    to,
                    Payload::new(Arc::clone(bytes)),
                );
                self.delivering_rights.insert(id, (to, item));
            }
        }
    }
}
