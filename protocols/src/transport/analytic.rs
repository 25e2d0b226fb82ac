//! The analytic model of a stop-and-wait transfer, as the simulation realises it: the
//! figure the theory tests and `dsim plot arq` compare measurements against.
//!
//! Each packet (every full chunk, the last shorter chunk, and the end marker) is sent
//! until one copy and its ACK both survive. With data loss p and ACK loss q the number of
//! transmissions N is geometric with success (1-p)(1-q), so E\[N\] = 1/((1-p)(1-q)). Every
//! failed try costs the timeout T (the timer starts when the segment is handed to the
//! network); the successful one costs L/R + d + A/R + d (serialization of the packet of
//! L bytes at rate R, one-way delay d, the ACK of A bytes back). The model needs T to
//! exceed that round trip, else retransmissions are spurious.

use super::config::{END_MARKER_BYTES, TransportConfig};
use sim_core::SimTime;

/// A link as the model sees it: constant one-way delay and rate, independent losses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelLink {
    /// One-way propagation delay.
    pub one_way: SimTime,
    /// Link rate in bits per second.
    pub bandwidth_bps: u64,
    /// Loss probability of a data packet.
    pub data_loss: f64,
    /// Loss probability of an ACK.
    pub ack_loss: f64,
}

impl ModelLink {
    /// Expected transmissions per packet, 1/((1-p)(1-q)).
    pub fn expected_transmissions(&self) -> f64 {
        1.0 / ((1.0 - self.data_loss) * (1.0 - self.ack_loss))
    }

    /// Seconds to serialize `bytes`.
    fn serialize(&self, bytes: u32) -> f64 {
        f64::from(bytes) * 8.0 / self.bandwidth_bps as f64
    }
}

/// Expected seconds to transfer `payload` bytes by stop-and-wait with `config` over
/// `link`.
pub fn stop_and_wait_time(config: &TransportConfig, payload: u64, link: &ModelLink) -> f64 {
    let per_packet = |bytes: u32| {
        (link.expected_transmissions() - 1.0) * config.timeout.as_secs_f64()
            + link.serialize(bytes)
            + link.serialize(config.ack_bytes)
            + 2.0 * link.one_way.as_secs_f64()
    };
    let chunk = u64::from(config.chunk_bytes);
    let (full, rest) = (payload / chunk, (payload % chunk) as u32);
    let last = if rest > 0 {
        per_packet(config.header_bytes + rest)
    } else {
        0.0
    };
    full as f64 * per_packet(config.header_bytes + config.chunk_bytes)
        + last
        + per_packet(config.header_bytes + END_MARKER_BYTES)
}

/// Expected goodput in bits per second of a stop-and-wait transfer of `payload` bytes.
pub fn stop_and_wait_goodput(config: &TransportConfig, payload: u64, link: &ModelLink) -> f64 {
    payload as f64 * 8.0 / stop_and_wait_time(config, payload, link)
}

/// The round trip of one full chunk and its ACK, which the timeout must exceed.
pub fn stop_and_wait_round_trip(config: &TransportConfig, link: &ModelLink) -> f64 {
    link.serialize(config.header_bytes + config.chunk_bytes)
        + link.serialize(config.ack_bytes)
        + 2.0 * link.one_way.as_secs_f64()
}
