//! What peers send each other, and the timers they set.

use super::channel::{ChanId, Outcome, Request};
use super::ghs::GhsMsg;
use super::session::{SessionId, TreeKind};
use sim_core::Message;

/// Messages between peers.
#[derive(Clone, Debug, Hash, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WpMsg {
    /// A joining (or restarted) peer announces its link and its bandwidth.
    Hello {
        /// Link bandwidth, kbit/s.
        kbps: u64,
    },
    /// A neighbour answers a `Hello` with its current session (so the newcomer's
    /// session supersedes it).
    HelloAck {
        /// The neighbour's session.
        session: SessionId,
    },
    /// Liveness between neighbours.
    Heartbeat,
    /// The sender leaves the network.
    Bye,
    /// Echo wave, going out: a new session; the sender's residual on this link.
    Wake {
        /// The session.
        session: SessionId,
        /// The sender's view of the link's residual bandwidth.
        residual: u64,
    },
    /// Echo wave: the sender took the session from this peer (its wave parent) and will
    /// echo once its part of the wave is done; carries its residual on this link.
    Joined {
        /// The session.
        session: SessionId,
        /// The sender's view of the link's residual bandwidth.
        residual: u64,
    },
    /// Echo wave, coming back: the sender's part of the wave is done.
    Echo {
        /// The session.
        session: SessionId,
    },
    /// A GHS message of one of the session's two trees.
    Ghs {
        /// The session.
        session: SessionId,
        /// Which tree.
        tree: TreeKind,
        /// The GHS message.
        msg: GhsMsg,
    },
    /// Routing convergecast: the peers in the sender's subtree.
    Subtree {
        /// The session.
        session: SessionId,
        /// Which tree.
        tree: TreeKind,
        /// Peer ids in the subtree.
        members: Vec<u32>,
    },
    /// `request_to_communicate`, going towards the destination.
    Request(Request),
    /// The next hop got the request.
    RequestAck {
        /// The channel.
        chan: ChanId,
    },
    /// The answer to a request, going back along its path.
    Reply {
        /// The channel.
        chan: ChanId,
        /// The whole path (on success) or the part travelled.
        path: Vec<u32>,
        /// What happened.
        outcome: Outcome,
    },
    /// Width of the capacity-tree path, going towards the destination.
    Probe {
        /// The session whose tree routes it.
        session: SessionId,
        /// The request it is for.
        chan: ChanId,
        /// Peers so far.
        path: Vec<u32>,
        /// Narrowest capacity so far.
        width: u64,
    },
    /// The probe's answer, going back.
    ProbeReply {
        /// The request it is for.
        chan: ChanId,
        /// Path of the probe.
        path: Vec<u32>,
        /// Widest-path width over the whole graph (`None`: not reachable).
        width: Option<u64>,
    },
    /// Stream data along a channel.
    Data {
        /// The channel.
        chan: ChanId,
        /// Sequence number.
        seq: u64,
        /// Towards the channel's target (else towards the requester).
        forward: bool,
        /// The bytes.
        data: Vec<u8>,
    },
    /// `close_connection`, travelling along the channel.
    Close {
        /// The channel.
        chan: ChanId,
        /// Towards the target.
        forward: bool,
    },
    /// A link of the channel failed; travelling away from the failure.
    Broken {
        /// The channel.
        chan: ChanId,
        /// Towards the target.
        forward: bool,
    },
    /// A message on the reliable channel ([`super::link`]): numbered per neighbour.
    Seg {
        /// The sender's incarnation.
        inc: u32,
        /// The message's number on this sender-receiver stream.
        seq: u64,
        /// The sender's lowest unacknowledged number: the receiver skips what lies below.
        base: u64,
        /// The message.
        msg: Box<WpMsg>,
    },
    /// The reliable channel's acknowledgement: every message of the receiver's
    /// incarnation `inc` numbered below `upto` has arrived.
    Ack {
        /// The incarnation of the sender of the acknowledged messages.
        inc: u32,
        /// The cumulative point.
        upto: u64,
    },
}

impl WpMsg {
    /// Whether the message belongs to the tree computation (wave, GHS, routing).
    pub(super) fn is_session(&self) -> bool {
        matches!(
            self,
            WpMsg::Wake { .. }
                | WpMsg::Joined { .. }
                | WpMsg::Echo { .. }
                | WpMsg::Ghs { .. }
                | WpMsg::Subtree { .. }
        )
    }
}

impl Message for WpMsg {
    fn size_bytes(&self) -> u32 {
        match self {
            WpMsg::Data { data, .. } => 40 + data.len() as u32,
            WpMsg::Subtree { members, .. } => 40 + 4 * members.len() as u32,
            WpMsg::Request(Request { path, .. })
            | WpMsg::Reply { path, .. }
            | WpMsg::Probe { path, .. }
            | WpMsg::ProbeReply { path, .. } => 48 + 4 * path.len() as u32,
            // Incarnation, number and base in front of the message.
            WpMsg::Seg { msg, .. } => 20 + msg.size_bytes(),
            _ => 40,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            WpMsg::Hello { .. } => "hello",
            WpMsg::HelloAck { .. } => "hello_ack",
            WpMsg::Heartbeat => "heartbeat",
            WpMsg::Bye => "bye",
            WpMsg::Wake { .. } => "wake",
            WpMsg::Joined { .. } => "joined",
            WpMsg::Echo { .. } => "echo",
            WpMsg::Ghs { .. } => "ghs",
            WpMsg::Subtree { .. } => "subtree",
            WpMsg::Request(_) => "request",
            WpMsg::RequestAck { .. } => "request_ack",
            WpMsg::Reply { .. } => "reply",
            WpMsg::Probe { .. } => "probe",
            WpMsg::ProbeReply { .. } => "probe_reply",
            WpMsg::Data { .. } => "data",
            WpMsg::Close { .. } => "close",
            WpMsg::Broken { .. } => "broken",
            // A numbered message shows as what it carries.
            WpMsg::Seg { msg, .. } => msg.kind(),
            WpMsg::Ack { .. } => "link_ack",
        }
    }
}

/// Timers of a peer.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum WpTimer {
    /// Send heartbeats and check for silent neighbours.
    Heartbeat,
    /// The echo wave of `session` waited long enough.
    EchoTimeout {
        /// The session.
        session: SessionId,
    },
    /// A joining peer waited long enough for `HelloAck`s.
    HelloTimeout,
    /// The next hop did not acknowledge the request of `chan`.
    HopTimeout {
        /// The channel.
        chan: ChanId,
    },
    /// Serve the request queue again after a `Retry` answer.
    RetryQueue,
    /// User action number `index` is due.
    Op {
        /// Index into the peer's actions.
        index: usize,
    },
    // Added last: a variant's position enters the trace's fingerprint.
    /// Retransmit what the reliable channel to `to` has pending.
    Retransmit {
        /// The neighbour.
        to: u32,
    },
}

impl sim_core::TimerTag for WpTimer {
    fn kind(&self) -> &'static str {
        match self {
            WpTimer::Heartbeat => "heartbeat",
            WpTimer::EchoTimeout { .. } => "echo_timeout",
            WpTimer::HelloTimeout => "hello_timeout",
            WpTimer::HopTimeout { .. } => "hop_timeout",
            WpTimer::RetryQueue => "retry_queue",
            WpTimer::Retransmit { .. } => "retransmit",
            WpTimer::Op { .. } => "op",
        }
    }
}
