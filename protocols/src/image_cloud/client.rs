//! A client (peer): sends its encryption requests, uploads each image to the server
//! elected for it, decodes what comes back and checks the bytes; logs in and out of the
//! directory; shares its first encrypted image with other clients (preview first),
//! changes their view rights, and opens images shared with it within its rights.

use super::envelope::{Envelope, Kind};
use super::rights::Rights;
use super::stego;
use super::{Action, Balancing, CloudMsg, CloudTimer, ImageCloudParams, Op, picture};
use crate::transport::{
    Endpoint, Output, PacketId, Payload, Segment, TimerToken, TransferId, TransportHost, forward,
};
use rand::RngExt;
use sim_core::{Ctx, Node, NodeId, SimTime};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One encryption request as the client sees it.
struct Request {
    sent_at: SimTime,
    image: Arc<[u8]>,
    /// The server it uploads to (the first that answered).
    server: Option<NodeId>,
    /// `Some(true)` handled, `Some(false)` failed.
    outcome: Option<bool>,
}

/// An action with the clients it names resolved to ids.
#[derive(Clone, Copy, Debug)]
enum Task {
    Share { receiver: NodeId, views: u32 },
    SetViews { receiver: NodeId, views: u32 },
    View { owner: NodeId },
    Logout,
    Login,
}

/// Something to send to a receiver once the directory says where it is.
#[derive(Clone, Copy, Debug)]
enum Outgoing {
    Share { views: u32 },
    Rights { version: u64, views: u32 },
}

/// An image of the client's and the cover image hiding it.
#[derive(Clone)]
struct Encrypted {
    original: Arc<[u8]>,
    image: Arc<[u8]>,
}

/// What another client shared with this one.
#[derive(Default)]
struct Inbox {
    preview: Option<Vec<u8>>,
    image: Option<Arc<[u8]>>,
}

/// What a client counts.
#[derive(Clone, Debug, Default)]
pub struct ClientStats {
    /// Requests sent.
    pub sent: u64,
    /// Requests whose encrypted image came back, decoded to the exact bytes, in time.
    pub handled: u64,
    /// Requests that did not.
    pub failed: u64,
    /// Failed: no server answered in time.
    pub unanswered: u64,
    /// Failed: the result came after `job_timeout` (or never).
    pub late: u64,
    /// Results that did not decode to the bytes sent (must stay 0).
    pub corrupt: u64,
    /// Views granted.
    pub views_granted: u64,
    /// Views refused (no rights left, or nothing shared).
    pub views_refused: u64,
    /// Views whose decoded image was not the owner's (must stay 0).
    pub views_corrupt: u64,
    /// Previews received.
    pub previews: u64,
    /// Shared images whose preview had arrived first.
    pub previews_before_image: u64,
    /// Shares and rights changes asked before the owner had an encrypted image.
    pub shares_skipped: u64,
    /// Shared items that reached this client while it was logged out (dropped).
    pub dropped_offline: u64,
}

/// A client.
pub struct Client {
    params: Arc<ImageCloudParams>,
    seed: u64,
    /// Every server (set by the system's build).
    pub(super) servers: Vec<NodeId>,
    /// The transport endpoint.
    pub endpoint: Endpoint,
    actions: Vec<Action>,
    tasks: Vec<Task>,
    next_seq: u32,
    requests: BTreeMap<u32, Request>,
    uploads: BTreeMap<TransferId, u32>,
    /// The first image the cloud encrypted for it.
    encrypted: Option<Encrypted>,
    /// Previews on their way, and the encrypted image and views to send after each.
    previews_out: BTreeMap<TransferId, (NodeId, Envelope)>,
    /// Sharing transfers (previews and images) under way, with their destination and
    /// bytes: one the transport gives up on is started again, until it gets through.
    shares_out: BTreeMap<TransferId, (NodeId, Arc<[u8]>)>,
    /// Logins and logouts after the start, numbered.
    presence_epoch: u64,
    /// Rights changes and logins/logouts to the directory under way: one declared lost
    /// is sent again, until acknowledged.
    rights_out: BTreeMap<PacketId, (NodeId, Arc<[u8]>)>,
    waiting_presence: BTreeMap<NodeId, Vec<Outgoing>>,
    /// The latest rights version sent to each receiver.
    pub versions: BTreeMap<NodeId, u64>,
    inbox: BTreeMap<NodeId, Inbox>,
    /// Whether it is logged in.
    pub online: bool,
    /// The view rights it holds.
    pub rights: Rights,
    /// Counters.
    pub stats: ClientStats,
}

impl Client {
    /// A client of a cloud with `params`; `actions` are the ones it performs.
    pub(super) fn new(params: Arc<ImageCloudParams>, seed: u64, actions: Vec<Action>) -> Self {
        Client {
            endpoint: Endpoint::new(params.transport.clone()),
            params,
            seed,
            servers: Vec::new(),
            actions,
            tasks: Vec::new(),
            next_seq: 0,
            requests: BTreeMap::new(),
            uploads: BTreeMap::new(),
            encrypted: None,
            previews_out: BTreeMap::new(),
            shares_out: BTreeMap::new(),
            rights_out: BTreeMap::new(),
            presence_epoch: 0,
            waiting_presence: BTreeMap::new(),
            versions: BTreeMap::new(),
            inbox: BTreeMap::new(),
            online: false,
            rights: Rights::default(),
            stats: ClientStats::default(),
        }
    }

    /// Turn the actions' client names into ids.
    pub(super) fn resolve(&mut self, ids: &BTreeMap<&str, NodeId>) {
        let id = |n: &String| ids[n.as_str()];
        self.tasks = self
            .actions
            .iter()
            .map(|a| match &a.op {
                Op::Share {
                    receiver, views, ..
                } => Task::Share {
                    receiver: id(receiver),
                    views: *views,
                },
                Op::SetViews {
                    receiver, views, ..
                } => Task::SetViews {
                    receiver: id(receiver),
                    views: *views,
                },
                Op::View { owner, .. } => Task::View { owner: id(owner) },
                Op::Logout(_) => Task::Logout,
                Op::Login(_) => Task::Login,
            })
            .collect();
    }

    /// The server that answers directory queries and caches for offline receivers.
    fn directory_server(&self) -> NodeId {
        self.servers[0]
    }
}

impl TransportHost for Client {
    fn wrap_segment(segment: Segment) -> CloudMsg {
        CloudMsg::Transport(segment)
    }
    fn wrap_timer(token: TimerToken) -> CloudTimer {
        CloudTimer::Transport(token)
    }
}

impl Node for Client {
    type Msg = CloudMsg;
    type Timer = CloudTimer;

    /// Log in, schedule the first request (within `start_spread`) and the actions.
    fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
        self.login(ctx);
        if self.params.requests > 0 {
            let spread = self.params.start_spread.as_nanos();
            let at = if spread > 0 {
                ctx.rng().random_range(0..spread)
            } else {
                0
            };
            ctx.set_timer(SimTime::from_nanos(at), CloudTimer::NextRequest);
        }
        let now = ctx.now();
        for (i, a) in self.actions.iter().enumerate() {
            ctx.set_timer(a.at.saturating_sub(now), CloudTimer::Action(i));
        }
    }

    /// Segments go to the endpoint; `Elected` starts an upload; `Presence` releases
    /// what waited for the directory's answer.
    fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, msg: CloudMsg) {
        match msg {
            CloudMsg::Transport(segment) => {
                self.endpoint.on_segment(ctx.monotonic(), from, segment);
                self.pump(ctx);
            }
            CloudMsg::Elected { seq } => self.on_elected(ctx, from, seq),
            CloudMsg::Presence { client, online } => {
                for out in self.waiting_presence.remove(&client).unwrap_or_default() {
                    self.send_to_receiver(ctx, client, online, out);
                }
                self.pump(ctx);
            }
            other => ctx.annotate(&format!("client: unexpected {other:?}")),
        }
    }

    /// Endpoint timers, the next request, request and job deadlines, actions.
    fn on_timer(&mut self, ctx: &mut impl Ctx<Self>, timer: CloudTimer) {
        match timer {
            CloudTimer::Transport(token) => {
                self.endpoint.on_timer(ctx.monotonic(), token);
                self.pump(ctx);
            }
            CloudTimer::NextRequest => self.send_request(ctx),
            CloudTimer::RequestTimeout(seq) => {
                if let Some(r) = self.requests.get(&seq)
                    && r.server.is_none()
                    && r.outcome.is_none()
                {
                    self.stats.unanswered += 1;
                    self.finish(ctx, seq, false);
                }
            }
            CloudTimer::JobTimeout(seq) => {
                if self.requests.get(&seq).is_some_and(|r| r.outcome.is_none()) {
                    self.stats.late += 1;
                    self.finish(ctx, seq, false);
                }
            }
            CloudTimer::Action(i) => self.act(ctx, i),
            CloudTimer::PresenceRetry(receiver) => {
                if self.waiting_presence.contains_key(&receiver) {
                    self.query_presence(ctx, receiver);
                }
            }
            other => ctx.annotate(&format!("client: unexpected timer {other:?}")),
        }
    }

    /// Volatile state is lost: the endpoint and everything in flight.
    fn on_crash(&mut self) {
        self.endpoint.crash();
        self.uploads.clear();
        self.previews_out.clear();
        self.shares_out.clear();
        self.rights_out.clear();
        self.waiting_presence.clear();
    }
}

impl Client {
    fn pump(&mut self, ctx: &mut impl Ctx<Self>) {
        for event in forward(&mut self.endpoint, ctx) {
            self.on_transport(ctx, event);
        }
    }

    fn login(&mut self, ctx: &mut impl Ctx<Self>) {
        self.online = true;
        for &s in &self.servers {
            ctx.send(s, CloudMsg::Login);
        }
    }

    /// A login or logout after the start: to the directory server as a numbered
    /// reliable datagram (sent again until acknowledged: the cache depends on it), to
    /// the other servers as a single datagram, as at the start.
    fn announce_presence(&mut self, ctx: &mut impl Ctx<Self>, online: bool) {
        self.presence_epoch += 1;
        let dir = self.directory_server();
        let env = Envelope {
            kind: Kind::Presence,
            owner: ctx.id(),
            receiver: dir,
            id: self.presence_epoch,
            views: u32::from(online),
            cache: false,
        };
        self.send_rights(ctx, dir, env.encode(&[]).into());
        let msg = if online {
            CloudMsg::Login
        } else {
            CloudMsg::Logout
        };
        for &s in &self.servers {
            if s != dir {
                ctx.send(s, msg.clone());
            }
        }
        self.pump(ctx);
    }

    // ----- encryption requests -----

    fn send_request(&mut self, ctx: &mut impl Ctx<Self>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if seq + 1 < self.params.requests {
            ctx.set_timer(self.params.request_interval, CloudTimer::NextRequest);
        }
        let key = picture::image_key(self.seed, ctx.name(), u64::from(seq));
        let image = picture::generate(key, self.params.image_bytes as usize).into();
        self.requests.insert(
            seq,
            Request {
                sent_at: ctx.sim_time(),
                image,
                server: None,
                outcome: None,
            },
        );
        self.stats.sent += 1;
        match self.params.balancing {
            Balancing::NoBalancing => ctx.send(self.servers[0], CloudMsg::Request { seq }),
            Balancing::RandomServer => {
                let i = ctx.rng().random_range(0..self.servers.len());
                ctx.send(self.servers[i], CloudMsg::Request { seq });
            }
            Balancing::Queues | Balancing::QueuesFt | Balancing::TokenRing => {
                for &s in &self.servers {
                    ctx.send(s, CloudMsg::Request { seq });
                }
            }
        }
        ctx.set_timer(self.params.request_timeout, CloudTimer::RequestTimeout(seq));
        ctx.set_timer(self.params.job_timeout, CloudTimer::JobTimeout(seq));
    }

    fn on_elected(&mut self, ctx: &mut impl Ctx<Self>, server: NodeId, seq: u32) {
        let Some(r) = self.requests.get_mut(&seq) else {
            return;
        };
        if r.server == Some(server) {
            // A duplicate of the answer already taken: the upload is under way.
            return;
        }
        if r.server.is_some() || r.outcome.is_some() {
            ctx.send(server, CloudMsg::Decline { seq });
            return;
        }
        r.server = Some(server);
        let env = Envelope {
            kind: Kind::Upload,
            owner: ctx.id(),
            receiver: server,
            id: u64::from(seq),
            views: 0,
            cache: false,
        };
        let data = env.encode(&r.image).into();
        let tid = self.endpoint.start_transfer(ctx.monotonic(), server, data);
        self.uploads.insert(tid, seq);
        self.pump(ctx);
    }

    fn finish(&mut self, ctx: &mut impl Ctx<Self>, seq: u32, handled: bool) {
        let Some(r) = self.requests.get_mut(&seq) else {
            return;
        };
        if r.outcome.is_some() {
            return;
        }
        r.outcome = Some(handled);
        if handled {
            self.stats.handled += 1;
            let took = ctx.sim_time() - r.sent_at;
            ctx.metrics().observe("job_time_ms", took.as_millis_f64());
        } else {
            self.stats.failed += 1;
        }
    }

    /// The encrypted image of request `seq` came back: extract and compare.
    fn on_encoded(&mut self, ctx: &mut impl Ctx<Self>, seq: u32, image: &[u8]) {
        let Some(r) = self.requests.get(&seq) else {
            return;
        };
        let original = Arc::clone(&r.image);
        let exact = stego::extract(image).is_ok_and(|b| *b == *original);
        if !exact {
            self.stats.corrupt += 1;
            ctx.metrics().add("jobs_corrupt", 1.0);
            ctx.annotate(&format!("request {seq}: decoded bytes differ"));
            self.finish(ctx, seq, false);
            return;
        }
        if r.outcome.is_none() && self.encrypted.is_none() {
            self.encrypted = Some(Encrypted {
                original,
                image: image.into(),
            });
        }
        self.finish(ctx, seq, true);
    }

    // ----- actions: sharing, rights, views, presence -----

    fn act(&mut self, ctx: &mut impl Ctx<Self>, i: usize) {
        let task = self.tasks[i];
        if matches!(task, Task::Share { .. } | Task::SetViews { .. }) && self.encrypted.is_none() {
            self.stats.shares_skipped += 1;
            ctx.annotate("nothing encrypted to share yet");
            return;
        }
        match task {
            Task::Share { receiver, views } => {
                self.versions.entry(receiver).or_insert(0);
                self.ask_presence(ctx, receiver, Outgoing::Share { views });
            }
            Task::SetViews { receiver, views } => {
                let version = self.versions.get(&receiver).map_or(1, |v| v + 1);
                self.versions.insert(receiver, version);
                self.ask_presence(ctx, receiver, Outgoing::Rights { version, views });
            }
            Task::View { owner } => self.view(ctx, owner),
            Task::Logout => {
                self.online = false;
                self.announce_presence(ctx, false);
            }
            Task::Login => {
                self.online = true;
                self.announce_presence(ctx, true);
            }
        }
    }

    /// Ask the directory where `receiver` is; `out` goes when the answer comes.
    fn ask_presence(&mut self, ctx: &mut impl Ctx<Self>, receiver: NodeId, out: Outgoing) {
        let asked = self.waiting_presence.contains_key(&receiver);
        self.waiting_presence.entry(receiver).or_default().push(out);
        if !asked {
            self.query_presence(ctx, receiver);
        }
    }

    /// Send "who is online" for `receiver`, and ask again if no answer came within
    /// `request_timeout` (the query and the answer are single datagrams).
    fn query_presence(&mut self, ctx: &mut impl Ctx<Self>, receiver: NodeId) {
        let dir = self.directory_server();
        ctx.send(dir, CloudMsg::WhoIsOnline { client: receiver });
        ctx.set_timer(
            self.params.request_timeout,
            CloudTimer::PresenceRetry(receiver),
        );
    }

    /// Start a sharing transfer of `data` to `to`, retried if the transport gives up.
    fn send_share(&mut self, ctx: &mut impl Ctx<Self>, to: NodeId, data: Arc<[u8]>) -> TransferId {
        let tid = self
            .endpoint
            .start_transfer(ctx.monotonic(), to, Arc::clone(&data));
        self.shares_out.insert(tid, (to, data));
        tid
    }

    /// Send a rights change reliably, again whenever it is declared lost.
    fn send_rights(&mut self, ctx: &mut impl Ctx<Self>, to: NodeId, bytes: Arc<[u8]>) {
        let id = self
            .endpoint
            .send_reliable(ctx.monotonic(), to, Payload::new(Arc::clone(&bytes)));
        self.rights_out.insert(id, (to, bytes));
    }

    /// Send `out` to `receiver` directly when online, else to the cloud to cache.
    fn send_to_receiver(
        &mut self,
        ctx: &mut impl Ctx<Self>,
        receiver: NodeId,
        online: bool,
        out: Outgoing,
    ) {
        let Some(Encrypted { original, .. }) = self.encrypted.clone() else {
            return;
        };
        let to = if online {
            receiver
        } else {
            self.directory_server()
        };
        let me = ctx.id();
        let env = |kind, id, views| Envelope {
            kind,
            owner: me,
            receiver,
            id,
            views,
            cache: !online,
        };
        match out {
            Outgoing::Share { views } => {
                let p = self.params.as_ref();
                let low =
                    picture::preview(&original, p.image_width as usize, p.preview_factor as usize);
                let preview = env(Kind::Preview, 0, 0);
                let tid = self.send_share(ctx, to, preview.encode(&low).into());
                self.previews_out
                    .insert(tid, (to, env(Kind::Shared, 0, views)));
            }
            Outgoing::Rights { version, views } => {
                let bytes = env(Kind::Rights, version, views).encode(&[]);
                self.send_rights(ctx, to, bytes.into());
            }
        }
    }

    /// Open `owner`'s image if rights are left, and check it is the owner's.
    fn view(&mut self, ctx: &mut impl Ctx<Self>, owner: NodeId) {
        let Some(image) = self.inbox.get(&owner).and_then(|i| i.image.clone()) else {
            self.stats.views_refused += 1;
            return;
        };
        if !self.rights.open(owner) {
            self.stats.views_refused += 1;
            return;
        }
        self.stats.views_granted += 1;
        if !stego::extract(&image).is_ok_and(|b| picture::is_genuine(&b)) {
            self.stats.views_corrupt += 1;
            ctx.metrics().add("views_corrupt", 1.0);
        }
    }

    // ----- transport events -----

    /// Act on what the endpoint delivered or finished.
    fn on_transport(&mut self, ctx: &mut impl Ctx<Self>, event: Output) {
        match event {
            Output::TransferReceived { data, intact, .. } => {
                let Some((env, body)) = Envelope::decode(&data).filter(|_| intact) else {
                    ctx.annotate("client: unreadable transfer");
                    return;
                };
                match env.kind {
                    Kind::Encoded => {
                        if let Ok(seq) = u32::try_from(env.id) {
                            self.on_encoded(ctx, seq, body);
                        }
                    }
                    Kind::Preview | Kind::Shared | Kind::Rights => self.on_shared(env, body),
                    Kind::Upload | Kind::Presence => ctx.annotate("client: unexpected transfer"),
                }
            }
            Output::Delivered { payload, .. } => {
                if let Some((env, body)) = Envelope::decode(payload.as_bytes()) {
                    self.on_shared(env, body);
                }
            }
            Output::TransferComplete {
                transfer, elapsed, ..
            } => {
                ctx.metrics()
                    .observe("transfer_time_ms", elapsed.as_millis_f64());
                self.uploads.remove(&transfer);
                self.shares_out.remove(&transfer);
                if let Some((to, env)) = self.previews_out.remove(&transfer)
                    && let Some(e) = &self.encrypted
                {
                    let data = env.encode(&e.image).into();
                    self.send_share(ctx, to, data);
                }
            }
            Output::TransferFailed {
                transfer, reason, ..
            } => {
                ctx.annotate(&format!("client: transfer failed: {reason}"));
                if let Some((to, data)) = self.shares_out.remove(&transfer) {
                    // Shared items are not given up: start the transfer again (a copy
                    // that did arrive is harmless, rights are versioned).
                    let tid = self.send_share(ctx, to, data);
                    if let Some(next) = self.previews_out.remove(&transfer) {
                        self.previews_out.insert(tid, next);
                    }
                }
                if let Some(seq) = self.uploads.remove(&transfer) {
                    self.finish(ctx, seq, false);
                }
            }
            Output::Acked { id, .. } => {
                self.rights_out.remove(&id);
            }
            Output::Lost { id, .. } => {
                if let Some((to, bytes)) = self.rights_out.remove(&id) {
                    self.send_rights(ctx, to, bytes);
                }
            }
            _ => {}
        }
    }

    /// A preview, shared image or rights change from `env.owner`.
    fn on_shared(&mut self, env: Envelope, body: &[u8]) {
        if !self.online {
            self.stats.dropped_offline += 1;
            return;
        }
        let inbox = self.inbox.entry(env.owner).or_default();
        match env.kind {
            Kind::Preview => {
                self.stats.previews += 1;
                inbox.preview = Some(body.to_vec());
            }
            Kind::Shared => {
                if inbox.preview.is_some() {
                    self.stats.previews_before_image += 1;
                }
                inbox.image = Some(body.into());
                self.rights.set(env.owner, 0, env.views);
            }
            Kind::Rights => {
                self.rights.set(env.owner, env.id, env.views);
            }
            Kind::Upload | Kind::Encoded | Kind::Presence => {}
        }
    }
}
