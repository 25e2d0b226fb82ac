//! What travels on the wire: segments, their identifiers and sizes.

use crate::transport::payload::Payload;
use serde::{Deserialize, Serialize};
use sim_core::Message;

/// Identifies a reliable datagram among those one endpoint sent (per endpoint
/// incarnation, increasing from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PacketId(pub u64);

/// Identifies a transfer among those one endpoint started (per endpoint incarnation,
/// increasing from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TransferId(pub u32);

/// A timer the endpoint asked its host to set. Tokens are never reused; one that fires
/// after the thing it guarded was settled is ignored, so hosts never cancel timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerToken(pub u64);

/// The kinds of segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SegmentBody {
    /// A datagram; `reliable` is set when the sender expects a [`SegmentBody::DatagramAck`].
    Datagram {
        /// Identity and duplicate-suppression hint of a reliable datagram.
        reliable: Option<ReliableHeader>,
        /// The bytes.
        payload: Payload,
    },
    /// Acknowledges the reliable datagram `id`.
    DatagramAck {
        /// The datagram acknowledged.
        id: PacketId,
        /// The incarnation of the endpoint that sent the datagram (so that an ACK
        /// from before a crash cannot acknowledge a new datagram with a reused id).
        echo: u32,
    },
    /// Chunk `seq` of a transfer.
    Data {
        /// The transfer.
        transfer: TransferId,
        /// Chunk number, from 0.
        seq: u32,
        /// The chunk's bytes.
        payload: Payload,
    },
    /// The end-of-transmission marker: sequence number `seq` is one past the last
    /// chunk; it carries the payload's length and checksum for the receiver to verify.
    End {
        /// The transfer.
        transfer: TransferId,
        /// Number of chunks (the marker's own sequence number).
        seq: u32,
        /// Total payload bytes.
        total_len: u64,
        /// [`checksum`](crate::transport::payload::checksum) of the whole payload.
        digest: u64,
    },
    /// Acknowledges segment `seq` of a transfer, and every segment below `cumulative`.
    Ack {
        /// The transfer.
        transfer: TransferId,
        /// The segment whose arrival caused this ACK (an RTT sample when it was sent
        /// once); `None` for a segment the receiver could not take (beyond its
        /// window), answered with its cumulative point and incarnation only, so that a
        /// sender whose receiver restarted finds out at once.
        seq: Option<u32>,
        /// Every segment below this has been received in order.
        cumulative: u32,
        /// The incarnation of the endpoint that sent the acknowledged segment.
        echo: u32,
    },
}

/// The identity of a reliable datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ReliableHeader {
    /// The datagram's id.
    pub id: PacketId,
    /// The smallest id the sender may still retransmit: the receiver forgets ids below
    /// it, so its duplicate filter stays small.
    pub floor: PacketId,
}

/// One packet of the transport protocol: the sender's incarnation, the body, and the
/// size on the wire (fixed when the segment is made).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    epoch: u32,
    size: u32,
    body: SegmentBody,
}

impl Segment {
    /// A segment of `size` bytes on the wire, sent by incarnation `epoch`.
    pub fn new(epoch: u32, size: u32, body: SegmentBody) -> Self {
        Segment { epoch, size, body }
    }

    /// The incarnation of the endpoint that sent it (bumped on every crash).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// What it carries.
    pub fn body(&self) -> &SegmentBody {
        &self.body
    }

    /// Take the body out.
    pub fn into_body(self) -> SegmentBody {
        self.body
    }
}

impl Message for Segment {
    /// Header plus payload bytes (ACKs: the configured ACK size).
    fn size_bytes(&self) -> u32 {
        self.size
    }

    fn kind(&self) -> &'static str {
        match self.body {
            SegmentBody::Datagram { reliable: None, .. } => "datagram",
            SegmentBody::Datagram { .. } => "reliable_datagram",
            SegmentBody::DatagramAck { .. } => "datagram_ack",
            SegmentBody::Data { .. } => "data",
            SegmentBody::End { .. } => "end",
            SegmentBody::Ack { .. } => "ack",
        }
    }
}
