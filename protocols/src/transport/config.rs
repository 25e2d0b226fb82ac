//! The endpoint's configuration and its validation.

use crate::transport::rto::RtoBounds;
use serde::{Deserialize, Serialize};
use sim_core::{LinkParams, SimTime};

/// How a transfer paces its chunks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mode {
    /// One chunk in flight; wait for its ACK, retransmit after the fixed `timeout`.
    /// What the image-sharing report does; simple, and slow on long paths.
    #[default]
    StopAndWait,
    /// Up to `window` chunks in flight, each acknowledged individually, each
    /// retransmitted on its own timer; the timeout adapts to the measured round trip
    /// (RFC 6298) and backs off exponentially.
    SelectiveRepeat,
}

/// Everything an [`Endpoint`](crate::transport::Endpoint) needs to know; both ends of a
/// conversation should use the same values (the receiver's `window` is its reorder
/// buffer and is not advertised).
///
/// In scenario files it is written as a RON struct; every field has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransportConfig {
    /// How transfers pace their chunks.
    pub mode: Mode,
    /// Payload bytes per transfer chunk (60,508 in the image-sharing report).
    pub chunk_bytes: u32,
    /// Header bytes in front of every data segment, datagram and end marker (8 in the
    /// report: transfer and sequence number). IP and UDP headers are not counted; add
    /// them here to model them.
    pub header_bytes: u32,
    /// Bytes of an acknowledgement on the wire.
    pub ack_bytes: u32,
    /// Fixed retransmission timeout of reliable datagrams and stop-and-wait chunks
    /// (100 ms in the OTT report).
    pub timeout: SimTime,
    /// Transmissions of one packet before the sender gives up on it (5 in the OTT
    /// report); a transfer whose chunk gives up fails.
    pub max_tries: u32,
    /// Chunks in flight in selective-repeat mode (and the receiver's reorder buffer).
    pub window: u32,
    /// RTO before the first round-trip sample (RFC 6298: 1 s).
    pub initial_rto: SimTime,
    /// Floor of the adaptive RTO (RFC 6298 says 1 s; 200 ms is Linux's, and suits the
    /// LAN and Wi-Fi paths simulated here).
    pub min_rto: SimTime,
    /// Ceiling of the adaptive RTO, back-off included (RFC 6298: at least 60 s).
    pub max_rto: SimTime,
    /// Clock granularity `G` of RFC 6298: the RTO is at least `SRTT + G`.
    pub clock_granularity: SimTime,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            mode: Mode::StopAndWait,
            chunk_bytes: 60_508,
            header_bytes: 8,
            ack_bytes: 8,
            timeout: SimTime::from_millis(100),
            max_tries: 5,
            window: 32,
            initial_rto: SimTime::from_secs(1),
            min_rto: SimTime::from_millis(200),
            max_rto: SimTime::from_secs(60),
            clock_granularity: SimTime::from_millis(1),
        }
    }
}

/// Bytes an end-of-transmission marker carries after its header: the payload length
/// and its checksum, 8 bytes each.
pub const END_MARKER_BYTES: u32 = 16;

impl TransportConfig {
    /// Check the fields against each other; the error names the field (as written in a
    /// scenario) and what it must be.
    pub fn validate(&self) -> Result<(), String> {
        if self.window == 0 {
            return Err("window must be at least 1 (a window of 0 never sends anything)".into());
        }
        if self.timeout == SimTime::ZERO {
            return Err(
                "timeout must be positive (a zero timeout retransmits before any ACK can arrive)"
                    .into(),
            );
        }
        if self.max_tries == 0 {
            return Err("max_tries must be at least 1 (the first transmission is a try)".into());
        }
        if self.chunk_bytes == 0 {
            return Err("chunk_bytes must be at least 1".into());
        }
        if self
            .chunk_bytes
            .checked_add(self.header_bytes)
            .is_none_or(|n| n > 1 << 30)
        {
            return Err(format!(
                "chunk_bytes + header_bytes must be at most 1 GiB, got {} + {}",
                self.chunk_bytes, self.header_bytes
            ));
        }
        if self.ack_bytes == 0 {
            return Err("ack_bytes must be at least 1 (an ACK occupies the link)".into());
        }
        if self.min_rto == SimTime::ZERO {
            return Err("min_rto must be positive".into());
        }
        if self.max_rto < self.min_rto {
            return Err(format!(
                "max_rto ({}) must be at least min_rto ({})",
                self.max_rto, self.min_rto
            ));
        }
        if self.initial_rto < self.min_rto || self.initial_rto > self.max_rto {
            return Err(format!(
                "initial_rto ({}) must lie between min_rto ({}) and max_rto ({})",
                self.initial_rto, self.min_rto, self.max_rto
            ));
        }
        Ok(())
    }

    /// Check that the segments this configuration produces fit `link` (the link data
    /// travels on): a data segment (`header_bytes + chunk_bytes`) and an end marker
    /// larger than the link's MTU are refused unless the link fragments, since the
    /// network would drop every one of them (`exceeds_mtu`) and no transfer could
    /// finish. `extra` names another segment size the caller sends (datagrams), if any.
    pub fn check_link(&self, link: &LinkParams, extra: Option<(&str, u32)>) -> Result<(), String> {
        let Some(mtu) = link.mtu else { return Ok(()) };
        if link.fragmentation {
            return Ok(());
        }
        let data = self.header_bytes.saturating_add(self.chunk_bytes);
        if data > mtu {
            return Err(format!(
                "chunk_bytes ({}) + header_bytes ({}) = {data} bytes exceeds the link MTU of \
                 {mtu} bytes and the link does not fragment: every chunk would be dropped. \
                 Lower chunk_bytes to at most {}, or set fragmentation: true on the link",
                self.chunk_bytes,
                self.header_bytes,
                mtu.saturating_sub(self.header_bytes)
            ));
        }
        let end = self.header_bytes.saturating_add(END_MARKER_BYTES);
        if end > mtu {
            return Err(format!(
                "the end-of-transmission marker ({end} bytes: header_bytes + {END_MARKER_BYTES}) \
                 exceeds the link MTU of {mtu} bytes"
            ));
        }
        if let Some((what, bytes)) = extra {
            let size = self.header_bytes.saturating_add(bytes);
            if size > mtu {
                return Err(format!(
                    "{what} ({bytes}) + header_bytes ({}) = {size} bytes exceeds the link MTU \
                     of {mtu} bytes and the link does not fragment",
                    self.header_bytes
                ));
            }
        }
        Ok(())
    }

    /// Check that ACKs fit the reverse link (the one ACKs travel on).
    pub fn check_ack_link(&self, link: &LinkParams) -> Result<(), String> {
        match link.mtu {
            Some(mtu) if !link.fragmentation && self.ack_bytes > mtu => Err(format!(
                "ack_bytes ({}) exceeds the reverse link's MTU of {mtu} bytes",
                self.ack_bytes
            )),
            _ => Ok(()),
        }
    }

    /// The RTO estimator's bounds from this configuration.
    pub fn rto_bounds(&self) -> RtoBounds {
        RtoBounds {
            initial: self.initial_rto,
            min: self.min_rto,
            max: self.max_rto,
            granularity: self.clock_granularity,
        }
    }

    /// Wire size of a data segment carrying `len` payload bytes.
    pub fn data_size(&self, len: usize) -> u32 {
        self.header_bytes
            .saturating_add(u32::try_from(len).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_reports_figures_and_valid() {
        let c = TransportConfig::default();
        assert_eq!(c.chunk_bytes + c.header_bytes, 60_516);
        assert_eq!(c.timeout, SimTime::from_millis(100));
        assert_eq!(c.max_tries, 5);
        c.validate().unwrap();
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        let refuse = |c: TransportConfig, field: &str| {
            let e = c.validate().unwrap_err();
            assert!(e.starts_with(field), "{e}");
        };
        let d = TransportConfig::default;
        refuse(TransportConfig { window: 0, ..d() }, "window");
        refuse(
            TransportConfig {
                timeout: SimTime::ZERO,
                ..d()
            },
            "timeout",
        );
        refuse(
            TransportConfig {
                max_tries: 0,
                ..d()
            },
            "max_tries",
        );
        refuse(
            TransportConfig {
                chunk_bytes: 0,
                ..d()
            },
            "chunk_bytes",
        );
        refuse(
            TransportConfig {
                ack_bytes: 0,
                ..d()
            },
            "ack_bytes",
        );
        refuse(
            TransportConfig {
                min_rto: SimTime::ZERO,
                ..d()
            },
            "min_rto",
        );
        refuse(
            TransportConfig {
                max_rto: SimTime::from_millis(10),
                ..d()
            },
            "max_rto",
        );
        refuse(
            TransportConfig {
                initial_rto: SimTime::from_secs(100),
                ..d()
            },
            "initial_rto",
        );
    }

    #[test]
    fn chunk_larger_than_a_non_fragmenting_mtu_is_refused() {
        let c = TransportConfig::default();
        let ethernet = LinkParams {
            mtu: Some(1500),
            ..LinkParams::default()
        };
        let e = c.check_link(&ethernet, None).unwrap_err();
        assert!(
            e.contains("60516 bytes exceeds the link MTU of 1500"),
            "{e}"
        );
        assert!(e.contains("at most 1492"), "{e}");
        // IP fragmentation carries the report's 60 KB datagrams over Ethernet.
        let fragmenting = LinkParams {
            fragmentation: true,
            ..ethernet.clone()
        };
        c.check_link(&fragmenting, None).unwrap();
        let small = TransportConfig {
            chunk_bytes: 1472,
            ..c
        };
        small.check_link(&ethernet, None).unwrap();
        let e = small
            .check_link(&ethernet, Some(("datagram_bytes", 2000)))
            .unwrap_err();
        assert!(e.starts_with("datagram_bytes"), "{e}");
        small.check_link(&LinkParams::default(), None).unwrap();
    }
}
