//! A sans-IO reliable datagram layer usable by any node: unreliable and reliable
//! datagrams, and bulk transfers by stop-and-wait or selective repeat.
//!
//! # Shape
//! One [`Endpoint`] per node. It never touches the simulator: every method takes the
//! current time (the node's local clock) and an input, and pushes [`Output`]s that the
//! host drains: `Send { to, segment }`, `SetTimer { after, token }`, and the
//! application events `Delivered`, `Acked`, `Lost`, `TransferComplete`,
//! `TransferFailed`, `TransferReceived`, `RttSample`. Timer tokens are never reused and
//! a token whose purpose was settled is ignored when it fires, so a host never cancels
//! timers. A [`sim_core::Node`] embeds an endpoint by implementing [`TransportHost`]
//! (how its message and timer types wrap [`Segment`] and [`TimerToken`]) and calling
//! [`forward`] after every input. The same endpoint could drive a real UDP socket.
//!
//! # Protocol
//! - **Unreliable datagrams** ([`Endpoint::send_unreliable`]): one segment, no ACK
//!   (the OTT report's video packets).
//! - **Reliable datagrams** ([`Endpoint::send_reliable`]): the receiver ACKs every copy;
//!   the sender retransmits every `timeout` (100 ms) up to `max_tries` (5)
//!   transmissions, then reports [`Output::Lost`] (the OTT report's control packets).
//!   Each carries an id and the sender's lowest id still pending; the receiver keeps
//!   the ids it has seen above that floor, so it delivers each datagram at most once
//!   and its filter stays small. Datagrams are independent: delivery is in arrival
//!   order.
//! - **Transfers** ([`Endpoint::start_transfer`]): the payload is cut into chunks of
//!   `chunk_bytes` (60,508) behind a `header_bytes` (8) header with the transfer id and
//!   sequence number, as in the image-sharing report; after the last chunk comes an
//!   end-of-transmission marker (sequence number = chunk count) carrying the length
//!   and checksum of the whole payload. The receiver ACKs every segment with its
//!   sequence number and the cumulative point (everything below received), holds
//!   out-of-order segments within its `window`, suppresses duplicates, reassembles in
//!   order, and on the marker checks length and checksum and delivers
//!   [`Output::TransferReceived`]. A segment unacknowledged after `max_tries`
//!   transmissions fails the transfer.
//!   - [`Mode::StopAndWait`]: one segment in flight, fixed `timeout` (the report).
//!   - [`Mode::SelectiveRepeat`]: up to `window` segments in flight, each with its own
//!     timer; the timeout comes from the RFC 6298 estimator of [`rto`] (SRTT, RTTVAR,
//!     alpha 1/8, beta 1/4, K = 4, `min_rto`, `max_rto`), samples follow Karn's rule
//!     (only segments sent once), and timeouts back off exponentially. Stop-and-wait is
//!     selective repeat with a window of 1 and a fixed timeout; one code path serves
//!     both.
//! - **Bytes really travel**: a [`Payload`] is a range of an `Arc<[u8]>` with a
//!   checksum computed once, so the network may duplicate segments without copying
//!   megabytes, and a segment's `Hash` (which enters the run's fingerprint) covers
//!   length and checksum, not 60 KB.
//! - **Crashes**: [`Endpoint::crash`] drops all protocol state and starts a new
//!   incarnation; every segment carries its sender's incarnation and every ACK echoes
//!   the one it answers, so nothing from before a crash is mistaken for something
//!   after it. A sender whose receiver restarts mid-transfer fails the transfer
//!   ([`FailReason::PeerRestarted`]) instead of trusting acknowledgements the
//!   receiver no longer backs. A receiver that restarts may deliver a reliable
//!   datagram it had delivered before the crash once more (its filter was volatile).
//!
//! # Analytic model of stop-and-wait
//! One-way delay `d` each way, link rate `R` both ways, data segment `L` bytes on the
//! wire (`header_bytes + chunk_bytes`), ACK `A` bytes, fixed timeout `T`, independent
//! loss `p` of data segments and `q` of ACKs. A transmission succeeds when the data
//! and its ACK both arrive, with probability `(1-p)(1-q)`; tries are independent, so
//! the number of transmissions per packet `N` is geometric with
//! `E[N] = 1/((1-p)(1-q))` (when `max_tries` does not truncate it).
//!
//! Time per packet: the sender hands a segment to the network and arms its timer at
//! the same instant. A failed try costs exactly `T` (the timer fires; nothing else
//! can happen first because `T > RTT`), and the successful try costs
//! `L/R + d + A/R + d`: serialization of the data on the sender's FIFO interface
//! (idle, since the previous segment left `T > L/R` ago), propagation, the receiver
//! answers at once, serialization and propagation of the ACK, and the sender sends the
//! next segment in the same instant. So
//!
//! `E[time per packet] = (E[N] - 1) T + L/R + A/R + 2d`
//!
//! and goodput = payload bits / sum of the packets' expected times, the end marker
//! (`header_bytes + 16` bytes) counting as one more packet. With no loss this is the
//! textbook `L/(RTT + L/R)`. The engine matches these assumptions: loss is drawn when
//! the segment is handed to the network (a lost segment does not occupy the
//! interface, which cannot matter here since every retransmission starts on an idle
//! link), and serialization uses the link's FIFO queue (`bandwidth_bps`). The
//! selective-repeat mode keeps `window` segments in flight and fills the pipe when
//! `window * L/R >= RTT + L/R`.

pub mod analytic;
mod config;
mod endpoint;
mod host;
mod payload;
pub mod rto;
mod segment;
#[cfg(test)]
mod tests;

pub use config::{END_MARKER_BYTES, Mode, TransportConfig};
pub use endpoint::{Endpoint, FailReason, Output, Stats};
pub use host::{TransportHost, forward};
pub use payload::{Payload, checksum, fill_pseudo_random, pseudo_random_bytes};
pub use rto::{RtoBounds, RtoEstimator};
pub use segment::{PacketId, ReliableHeader, Segment, SegmentBody, TimerToken, TransferId};
