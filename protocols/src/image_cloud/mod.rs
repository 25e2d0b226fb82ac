//! System 4, cloud-encrypted peer-to-peer image sharing: cloud servers hide clients'
//! images inside cover images by LSB steganography, and clients share the encrypted
//! images with view rights the owner can change.
//!
//! Nodes (roles): `server`s ([`Server`]) and `client`s ([`Client`]), each a
//! [`sim_core::Node`] of its own with a [`crate::transport::Endpoint`] ([`CloudNode`] is
//! their enum, made by [`sim_core::roles!`]); images, previews and cached items travel as
//! stop-and-wait transfers of 60,508-byte chunks behind an 8-byte header, rights changes
//! as reliable datagrams, everything else (requests, elections, tokens, directory
//! queries) as single UDP messages without retransmission, as in the report.
//!
//! # The encryption job
//! A client sends `Request` (to every server, or to one random server without load
//! balancing). The server that takes it answers `Elected` if it has a free slot
//! (`workers` encoding at once plus `queue_limit` waiting); the client uploads the image
//! to it, the server hides it in its cover image ([`stego`], CPU time from
//! [`stego::StegoCost`]) once a worker is free, and transfers the result back; the
//! client extracts the image and compares it with what it sent. A request is handled
//! when that comparison succeeds within `job_timeout` of the request; it fails when no
//! server answered within `request_timeout`, a transfer failed, or the result came too
//! late. A client that hears `Elected` from a second server declines it.
//!
//! # Load balancing ([`Balancing`], the report's four configurations)
//! - `NoBalancing`: every client sends every request to the first server of its list
//!   (the servers do not elect): that server is overwhelmed while the others idle.
//! - `RandomServer` (not in the report, for comparison): each request goes to one
//!   server drawn at random; nobody knows the others' load or whether one is offline.
//! - `Queues`: replicated queues ([`queues`]): every server elects by its own copy of
//!   the server queue and rotates it per request; copies drift apart when requests
//!   arrive in different orders, giving duplicate and dropped requests. No fault
//!   tolerance: an offline server stays in the queues and drops what it is elected for.
//! - `QueuesFt`: the same, and an offline server announces it; the others take it out
//!   of their queue and put it back at the bottom when it announces its return.
//! - `TokenRing`: the working token ([`token`]) with fault tolerance: the holder takes
//!   waiting requests up to its free capacity, then passes the token to the next
//!   server, or the one after when the next has announced it is offline.
//!
//! # Faults: the offline token
//! With `offline_token` set, server 0 receives the report's offline token at `start`:
//! its encryption workers sleep for `sleep` (work in progress is frozen, requests it is
//! elected for are dropped), then it wakes, waits `awake`, and passes the token to the
//! next server. Its network threads (directory, cache, token forwarding, transfers)
//! keep running, as the report's threads do.
//!
//! # Directory of service and peer-to-peer sharing
//! Clients log in and out with every server ([`directory`]). An owner shares its first
//! encrypted image (`Share` action): it asks server 0 whether the receiver is online,
//! then transfers a low-resolution preview ([`picture::preview`]) and, once that is
//! through, the encrypted image with a number of views; to an offline receiver both go
//! to the server, which caches them and delivers them when the receiver logs in.
//! `SetViews` changes the views left (versioned, [`rights`]), also through the cache
//! when needed. A receiver's `View` extracts the image and checks its bytes; a view
//! beyond its rights is refused.
//!
//! # Metrics
//! `requests_total`, `requests_handled`, `requests_failed`, `failure_rate`,
//! `duplicate_handling` (requests two or more servers accepted), `transfer_time_ms`
//! (every completed transfer, both directions), `retransmissions`,
//! `cached_deliveries`, and details: `cache_pending` (items still cached at the end),
//! `images_encoded`, `requests_dropped_full`,
//! `requests_dropped_offline`, `requests_unanswered`, `requests_late`, `job_time_ms`,
//! `views_granted`, `views_refused`, `previews_received`, `previews_before_image`,
//! `shares_skipped` (shares and rights changes asked before the owner had an encrypted
//! image), `shared_items_dropped_offline` (sent directly to a client that had logged
//! out in the meantime). `failure_rate.reference`: the published rate of the run's
//! configuration, when `published_failure_rates` gives one.
//!
//! # Invariants
//! `no_request_handled_twice` (round-robin mode only), `jobs_return_exact_bytes`,
//! `views_within_rights` (the rights gate replayed against an oracle, and every view
//! shows the owner's exact image), `rights_changes_delivered` (at the end, every online
//! receiver holds the owner's latest rights).

pub mod client;
pub mod directory;
pub mod envelope;
pub mod invariants;
pub mod picture;
pub mod queues;
pub mod rights;
pub mod server;
pub mod stego;
#[cfg(test)]
mod tests;
pub mod token;

pub use client::Client;
pub use server::Server;

use crate::transport::{Segment, TimerToken, TransportConfig};
use dsim_system::{Setup, System, TopologyRule, add_declared};
use serde::{Deserialize, Serialize};
use sim_core::{Invariant, Message, Metrics, NodeId, SimTime, Simulation, TimerTag};
use std::collections::BTreeMap;
use std::sync::Arc;
use stego::StegoCost;
use token::WorkingToken;

/// How requests are spread over the servers: the report's four configurations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Balancing {
    /// Every request to the first server (no election: the others idle).
    NoBalancing,
    /// Each request to one server drawn at random (no election, no coordination).
    RandomServer,
    /// Replicated queues ("well-organized bully"), no fault tolerance.
    Queues,
    /// Replicated queues with offline announcements.
    QueuesFt,
    /// The round-robin working token with offline announcements.
    #[default]
    TokenRing,
}

impl Balancing {
    /// Whether offline servers announce it (fault tolerance).
    pub fn fault_tolerant(self) -> bool {
        matches!(self, Balancing::QueuesFt | Balancing::TokenRing)
    }
}

/// The report's offline token: one server at a time sleeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineToken {
    /// When server 0 receives it.
    pub start: SimTime,
    /// How long a holder's workers sleep.
    pub sleep: SimTime,
    /// How long a holder stays awake before passing it on.
    pub awake: SimTime,
}

/// Something a client does at a given time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Op {
    /// `owner` shares its first encrypted image with `receiver`, viewable `views` times.
    Share {
        /// The client sharing.
        owner: String,
        /// The client receiving.
        receiver: String,
        /// Views granted.
        views: u32,
    },
    /// `owner` sets the views `receiver` has left to `views`.
    SetViews {
        /// The client who shared.
        owner: String,
        /// The client whose rights change.
        receiver: String,
        /// Views left from now on.
        views: u32,
    },
    /// `receiver` opens the image `owner` shared with it.
    View {
        /// The client opening.
        receiver: String,
        /// Whose image.
        owner: String,
    },
    /// The client logs out (goes offline).
    Logout(String),
    /// The client logs in again.
    Login(String),
}

impl Op {
    /// The client that performs it.
    pub fn actor(&self) -> &str {
        match self {
            Op::Share { owner, .. } | Op::SetViews { owner, .. } => owner,
            Op::View { receiver, .. } => receiver,
            Op::Logout(c) | Op::Login(c) => c,
        }
    }

    /// Every client it names.
    fn names(&self) -> Vec<&str> {
        match self {
            Op::Share {
                owner, receiver, ..
            }
            | Op::SetViews {
                owner, receiver, ..
            }
            | Op::View { receiver, owner } => vec![owner, receiver],
            Op::Logout(c) | Op::Login(c) => vec![c],
        }
    }
}

/// An [`Op`] and its time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// When.
    pub at: SimTime,
    /// What.
    pub op: Op,
}

/// Parameters of the image cloud.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImageCloudParams {
    /// How requests are spread over the servers.
    pub balancing: Balancing,
    /// Encryption requests per client.
    pub requests: u32,
    /// Time between a client's requests.
    pub request_interval: SimTime,
    /// Each client's first request comes at a uniform time in `[0, start_spread)`.
    pub start_spread: SimTime,
    /// Bytes of each image a client encrypts (at least 8: its key).
    pub image_bytes: u32,
    /// Width of the images in pixels (one byte per pixel), for the preview.
    pub image_width: u32,
    /// A preview pixel is the mean of `preview_factor` x `preview_factor` pixels.
    pub preview_factor: u32,
    /// Bytes of each server's cover image (at least `(image_bytes + 4) * 8`).
    pub cover_bytes: u32,
    /// Images a server encodes at once (its worker threads).
    pub workers: u32,
    /// Accepted requests a server holds beyond its workers; a server with
    /// `workers + queue_limit` jobs takes no more.
    pub queue_limit: u32,
    /// A client gives up on a request no server answered within this time.
    pub request_timeout: SimTime,
    /// A request whose encrypted image is not back within this time failed.
    pub job_timeout: SimTime,
    /// Round-robin mode: how long a server holds the working token.
    pub token_hold: SimTime,
    /// CPU time of hiding an image.
    pub stego: StegoCost,
    /// The report's offline token, if servers are to go offline in turn.
    pub offline_token: Option<OfflineToken>,
    /// Sharing, rights changes, views, logins and logouts.
    pub actions: Vec<Action>,
    /// The endpoints' configuration (stop-and-wait, 60,508-byte chunks by default).
    pub transport: TransportConfig,
    /// Failure rates published for this experiment, by configuration (the report's
    /// section 7, say): the run reports the one of its `balancing` as
    /// `failure_rate.reference`, which reports draw next to the measured rate.
    pub published_failure_rates: BTreeMap<Balancing, f64>,
}

impl Default for ImageCloudParams {
    fn default() -> Self {
        ImageCloudParams {
            balancing: Balancing::TokenRing,
            requests: 5,
            request_interval: SimTime::from_millis(100),
            start_spread: SimTime::from_millis(10),
            image_bytes: 4096,
            image_width: 64,
            preview_factor: 8,
            cover_bytes: 40_000,
            workers: 2,
            queue_limit: 8,
            request_timeout: SimTime::from_millis(500),
            job_timeout: SimTime::from_secs(2),
            token_hold: SimTime::from_millis(2),
            stego: StegoCost::default(),
            offline_token: None,
            actions: Vec::new(),
            transport: TransportConfig::default(),
            published_failure_rates: BTreeMap::new(),
        }
    }
}

/// A request: the client and its request number.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct RequestId {
    /// The client.
    pub client: NodeId,
    /// Its request number, from 0.
    pub seq: u32,
}

/// Messages of the image cloud.
#[derive(Clone, Debug, Hash, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CloudMsg {
    /// A transport segment (chunks, end markers, ACKs, datagrams).
    Transport(Segment),
    /// Client to server(s): please encrypt an image.
    Request {
        /// Request number.
        seq: u32,
    },
    /// Server to client: I take request `seq`.
    Elected {
        /// Request number.
        seq: u32,
    },
    /// Client to server: another server has request `seq` (or it is too late).
    Decline {
        /// Request number.
        seq: u32,
    },
    /// The working token.
    Token(WorkingToken),
    /// The offline token (fault simulation), in its `round`-th holder's hands (each
    /// pass numbers it one higher, so a duplicate or late copy is recognized).
    OfflineToken {
        /// Passes since server 0 received it.
        round: u64,
    },
    /// Server to servers: my workers are offline.
    Offline {
        /// The sender's announcement number (a late or duplicated one is ignored).
        n: u32,
    },
    /// Server to servers: I am back.
    Online {
        /// The sender's announcement number.
        n: u32,
    },
    /// Client to servers: I am online.
    Login,
    /// Client to servers: I am going offline.
    Logout,
    /// Client to server: is `client` online?
    WhoIsOnline {
        /// The client asked about.
        client: NodeId,
    },
    /// Server to client: whether `client` is online.
    Presence {
        /// The client asked about.
        client: NodeId,
        /// Whether it is.
        online: bool,
    },
}

/// Bytes of a control message on the wire (UDP payload: kind and a few ids).
const CONTROL_BYTES: u32 = 16;

impl Message for CloudMsg {
    fn size_bytes(&self) -> u32 {
        match self {
            CloudMsg::Transport(s) => s.size_bytes(),
            CloudMsg::Token(t) => t.size_bytes(),
            _ => CONTROL_BYTES,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            CloudMsg::Transport(s) => s.kind(),
            CloudMsg::Request { .. } => "request",
            CloudMsg::Elected { .. } => "elected",
            CloudMsg::Decline { .. } => "decline",
            CloudMsg::Token(_) => "token",
            CloudMsg::OfflineToken { .. } => "offline_token",
            CloudMsg::Offline { .. } => "offline",
            CloudMsg::Online { .. } => "online",
            CloudMsg::Login => "login",
            CloudMsg::Logout => "logout",
            CloudMsg::WhoIsOnline { .. } => "who_is_online",
            CloudMsg::Presence { .. } => "presence",
        }
    }
}

/// Timers of the image cloud.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum CloudTimer {
    /// The endpoint's timer.
    Transport(TimerToken),
    /// Client: send the next request.
    NextRequest,
    /// Client: no server answered request `seq` in time?
    RequestTimeout(u32),
    /// Client: request `seq`'s image is not back in time?
    JobTimeout(u32),
    /// Client: perform action `index` of its list.
    Action(usize),
    /// Client: the directory has not answered where this receiver is: ask again.
    PresenceRetry(NodeId),
    /// Server: the encoding of a request is done.
    EncodeDone(RequestId),
    /// Server: an accepted request whose upload never came is given up.
    JobExpire(RequestId),
    /// Server: pass the working token on.
    TokenPass,
    /// Server: the offline token arrives (server 0, at the start time).
    OfflineTokenStart,
    /// Server: the workers wake up.
    Wake,
    /// Server: pass the offline token on.
    OfflineTokenPass,
}

impl TimerTag for CloudTimer {
    fn kind(&self) -> &'static str {
        match self {
            CloudTimer::Transport(_) => "transport",
            CloudTimer::NextRequest => "next_request",
            CloudTimer::RequestTimeout(_) => "request_timeout",
            CloudTimer::JobTimeout(_) => "job_timeout",
            CloudTimer::Action(_) => "action",
            CloudTimer::PresenceRetry(_) => "presence_retry",
            CloudTimer::EncodeDone(_) => "encode_done",
            CloudTimer::JobExpire(_) => "job_expire",
            CloudTimer::TokenPass => "token_pass",
            CloudTimer::OfflineTokenStart => "offline_token_start",
            CloudTimer::Wake => "wake",
            CloudTimer::OfflineTokenPass => "offline_token_pass",
        }
    }
}

sim_core::roles! {
    /// A node of the image cloud.
    pub enum CloudNode {
        /// A cloud server.
        Server(Server),
        /// A client (peer).
        Client(Client),
    }
}

/// The image-cloud system.
pub struct ImageCloud;

/// Names of the nodes with `role`, in declaration order.
fn names_with<'a>(setup: &'a Setup<'_>, role: &str) -> Vec<&'a str> {
    setup
        .nodes
        .iter()
        .filter(|n| n.role == role)
        .map(|n| n.name.as_str())
        .collect()
}

impl System for ImageCloud {
    const NAME: &'static str = "image-cloud";
    /// Measured: 76,427 bytes per node,
    /// `dsim bench system image-cloud --size 5000 --until 1ms` (the clients' images).
    const BYTES_PER_NODE: u64 = 76_427;
    const DESCRIPTION: &'static str = "cloud servers hide images by LSB steganography; load balancing by token or queues; P2P sharing with view rights";
    const ROLES: &'static [&'static str] = &["server", "client"];
    const TOPOLOGY: TopologyRule = TopologyRule::Any;
    const KEY_METRICS: &'static [&'static str] =
        &["failure_rate", "job_time_ms", "duplicate_handling"];
    type Params = ImageCloudParams;
    type Node = CloudNode;

    fn validate(p: &ImageCloudParams, setup: &Setup<'_>) -> Result<(), String> {
        p.transport
            .validate()
            .map_err(|e| format!("params.transport.{e}"))?;
        let (servers, clients) = (names_with(setup, "server"), names_with(setup, "client"));
        if servers.is_empty() || clients.is_empty() {
            return Err(
                "image-cloud needs at least one node with role \"server\" and one with role \"client\""
                    .into(),
            );
        }
        if let Some((config, rate)) = p
            .published_failure_rates
            .iter()
            .find(|(_, r)| !(0.0..=1.0).contains(*r))
        {
            return Err(format!(
                "params.published_failure_rates: {config:?} is {rate}, a failure rate is between 0 and 1"
            ));
        }
        if p.image_bytes < 8 {
            return Err(format!(
                "params.image_bytes must be at least 8 (an image starts with its key), got {}",
                p.image_bytes
            ));
        }
        let needed = stego::cover_needed(p.image_bytes as usize);
        if (p.cover_bytes as usize) < needed {
            return Err(format!(
                "params.cover_bytes ({}) cannot hide an image of {} bytes: LSB steganography \
                 needs at least (image_bytes + 4) * 8 = {needed}",
                p.cover_bytes, p.image_bytes
            ));
        }
        for (field, v) in [
            ("image_width", p.image_width),
            ("preview_factor", p.preview_factor),
            ("workers", p.workers),
        ] {
            if v == 0 {
                return Err(format!("params.{field} must be at least 1"));
            }
        }
        for (field, t) in [
            ("request_interval", p.request_interval),
            ("request_timeout", p.request_timeout),
            ("token_hold", p.token_hold),
        ] {
            if t == SimTime::ZERO {
                return Err(format!("params.{field} must be positive"));
            }
        }
        if p.job_timeout < p.request_timeout {
            return Err(format!(
                "params.job_timeout ({}) must be at least params.request_timeout ({})",
                p.job_timeout, p.request_timeout
            ));
        }
        if let Some(t) = &p.offline_token
            && t.sleep == SimTime::ZERO
        {
            return Err("params.offline_token.sleep must be positive".into());
        }
        for (i, a) in p.actions.iter().enumerate() {
            for name in a.op.names() {
                if !clients.contains(&name) {
                    return Err(format!(
                        "params.actions[{i}] names {name:?}, which is not a node with role \"client\""
                    ));
                }
            }
            if let Op::Share {
                owner, receiver, ..
            }
            | Op::SetViews {
                owner, receiver, ..
            } = &a.op
                && owner == receiver
            {
                return Err(format!(
                    "params.actions[{i}]: {owner:?} cannot share with itself"
                ));
            }
        }
        for s in &servers {
            for c in &clients {
                for (a, b) in [(s, c), (c, s)] {
                    p.transport
                        .check_link(setup.network.params(a, b), None)
                        .map_err(|e| format!("the link {a} -> {b}: {e}"))?;
                }
            }
        }
        Ok(())
    }

    fn build(p: &ImageCloudParams, setup: &Setup<'_>, sim: &mut Simulation<CloudNode>) {
        let shared = Arc::new(p.clone());
        let server_names = names_with(setup, "server");
        let ids = add_declared(sim, setup.nodes, |d| {
            if d.role == "server" {
                let index = server_names
                    .iter()
                    .position(|n| *n == d.name)
                    .expect("a server");
                Server::new(index, Arc::clone(&shared), setup.seed, &d.name).into()
            } else {
                let actions = p
                    .actions
                    .iter()
                    .filter(|a| a.op.actor() == d.name)
                    .cloned()
                    .collect();
                Client::new(Arc::clone(&shared), setup.seed, actions).into()
            }
        });
        let servers: Vec<NodeId> = setup
            .nodes
            .iter()
            .zip(&ids)
            .filter(|(d, _)| d.role == "server")
            .map(|(_, &id)| id)
            .collect();
        let by_name: BTreeMap<&str, NodeId> = setup
            .nodes
            .iter()
            .zip(&ids)
            .map(|(d, &id)| (d.name.as_str(), id))
            .collect();
        for &id in &ids {
            match sim.node_mut(id) {
                CloudNode::Server(s) => s.servers = servers.clone(),
                CloudNode::Client(c) => {
                    c.servers = servers.clone();
                    c.resolve(&by_name);
                }
            }
        }
    }

    fn invariants(p: &ImageCloudParams) -> Vec<Box<dyn Invariant<CloudNode>>> {
        let mut v: Vec<Box<dyn Invariant<CloudNode>>> = vec![
            Box::new(invariants::JobsReturnExactBytes),
            Box::new(invariants::ViewsWithinRights),
            Box::new(invariants::RightsChangesDelivered),
        ];
        if p.balancing == Balancing::TokenRing {
            v.insert(0, Box::new(invariants::NoRequestHandledTwice::default()));
        }
        v
    }

    fn report(p: &ImageCloudParams, sim: &Simulation<CloudNode>, metrics: &mut Metrics) {
        let mut accepted_by: BTreeMap<RequestId, u32> = BTreeMap::new();
        let (mut retransmissions, mut cached, mut pending, mut encoded) = (0u64, 0u64, 0u64, 0u64);
        let (mut full, mut asleep) = (0u64, 0u64);
        let (mut total, mut handled, mut failed) = (0u64, 0u64, 0u64);
        let (mut unanswered, mut late) = (0u64, 0u64);
        let (mut granted, mut refused, mut previews, mut first) = (0u64, 0u64, 0u64, 0u64);
        let (mut skipped, mut lost_offline) = (0u64, 0u64);
        for (_, _, node) in sim.world().nodes() {
            match node {
                CloudNode::Server(s) => {
                    retransmissions += s.endpoint.stats().retransmissions;
                    cached += s.stats.cached_deliveries;
                    pending += s.directory.cached() as u64;
                    encoded += s.stats.encoded;
                    full += s.stats.dropped_full;
                    asleep += s.stats.dropped_offline;
                    for id in &s.accepted {
                        *accepted_by.entry(*id).or_default() += 1;
                    }
                }
                CloudNode::Client(c) => {
                    retransmissions += c.endpoint.stats().retransmissions;
                    let st = &c.stats;
                    total += st.sent;
                    handled += st.handled;
                    failed += st.failed;
                    unanswered += st.unanswered;
                    late += st.late;
                    granted += st.views_granted;
                    refused += st.views_refused;
                    previews += st.previews;
                    first += st.previews_before_image;
                    skipped += st.shares_skipped;
                    lost_offline += st.dropped_offline;
                }
            }
        }
        let twice = accepted_by.values().filter(|&&n| n > 1).count();
        let rate = if total > 0 {
            failed as f64 / total as f64
        } else {
            0.0
        };
        for (name, v) in [
            ("requests_total", total as f64),
            ("requests_handled", handled as f64),
            ("requests_failed", failed as f64),
            ("failure_rate", rate),
            ("duplicate_handling", twice as f64),
            ("retransmissions", retransmissions as f64),
            ("cached_deliveries", cached as f64),
            ("cache_pending", pending as f64),
            ("images_encoded", encoded as f64),
            ("requests_dropped_full", full as f64),
            ("requests_dropped_offline", asleep as f64),
            ("requests_unanswered", unanswered as f64),
            ("requests_late", late as f64),
            ("views_granted", granted as f64),
            ("views_refused", refused as f64),
            ("previews_received", previews as f64),
            ("previews_before_image", first as f64),
            ("shares_skipped", skipped as f64),
            ("shared_items_dropped_offline", lost_offline as f64),
        ] {
            metrics.set(name, v);
        }
        if let Some(&published) = p.published_failure_rates.get(&p.balancing) {
            metrics.set("failure_rate.reference", published);
        }
    }
}
