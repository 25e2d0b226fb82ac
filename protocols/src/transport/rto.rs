//! The retransmission timeout estimator of RFC 6298, with Karn's rule and exponential
//! back-off, in integer nanoseconds.
//!
//! - First sample `R`: `SRTT = R`, `RTTVAR = R/2`.
//! - Later samples `R'`: `RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|` (with the old SRTT),
//!   then `SRTT = 7/8 SRTT + 1/8 R'` (alpha = 1/8, beta = 1/4).
//! - `RTO = SRTT + max(G, K * RTTVAR)` with `K = 4`, clamped to `[min, max]`; before any
//!   sample it is the initial RTO (1 s in the RFC).
//! - Karn's rule is the caller's half: only segments transmitted once give samples
//!   (an ACK of a retransmitted segment cannot say which transmission it answers).
//! - Back-off (RFC 6298 §5.5): each expiry doubles the timeout, up to `max`. RFC 6298
//!   keeps one timer per connection; selective repeat keeps one per segment, so the
//!   doubling is counted per segment (its n-th retransmission waits `RTO * 2^n`), and
//!   the estimator remembers the largest back-off since the last valid sample, so new
//!   segments also wait the backed-off time until a fresh sample shows the path is
//!   healthy again (the second half of Karn's algorithm). A burst of first-time losses
//!   in one window therefore doubles the timeout once, not once per lost segment.
//!
//! Integer arithmetic (truncating divisions) keeps the estimator exact and identical
//! on every platform; the truncation is below a nanosecond per step.

use serde::{Deserialize, Serialize};
use sim_core::SimTime;

/// The `K` of RFC 6298: how many RTT variations of margin the timeout keeps.
pub const K: u64 = 4;

/// Bounds of an [`RtoEstimator`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtoBounds {
    /// RTO before the first sample.
    pub initial: SimTime,
    /// Smallest RTO.
    pub min: SimTime,
    /// Largest RTO, back-off included.
    pub max: SimTime,
    /// Clock granularity `G`.
    pub granularity: SimTime,
}

/// RFC 6298 smoothed round-trip time, variation and retransmission timeout for one
/// peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtoEstimator {
    bounds: RtoBounds,
    srtt: Option<SimTime>,
    rttvar: SimTime,
    rto: SimTime,
    backoff: u32,
}

impl RtoEstimator {
    /// An estimator that has seen no sample yet.
    pub fn new(bounds: RtoBounds) -> Self {
        RtoEstimator {
            bounds,
            srtt: None,
            rttvar: SimTime::ZERO,
            rto: bounds.initial.max(bounds.min).min(bounds.max),
            backoff: 0,
        }
    }

    /// Fold in one round-trip measurement (of a segment sent once, per Karn's rule);
    /// clears any back-off.
    pub fn sample(&mut self, rtt: SimTime) {
        let r = rtt.0;
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = SimTime(r / 2);
            }
            Some(srtt) => {
                let s = srtt.0;
                self.rttvar = SimTime((3 * self.rttvar.0 + s.abs_diff(r)) / 4);
                self.srtt = Some(SimTime((7 * s + r) / 8));
            }
        }
        let srtt = self.srtt.expect("set above").0;
        let margin = self
            .bounds
            .granularity
            .0
            .max(K.saturating_mul(self.rttvar.0));
        self.rto = SimTime(srtt.saturating_add(margin)).clamp(self.bounds.min, self.bounds.max);
        self.backoff = 0;
    }

    /// A timer of a segment that had been retransmitted `retransmissions` times expired:
    /// remember the back-off so that later segments wait at least as long (until the
    /// next valid sample).
    pub fn on_expiry(&mut self, retransmissions: u32) {
        self.backoff = self.backoff.max(retransmissions.saturating_add(1));
    }

    /// How long to wait for the ACK of a segment retransmitted `retransmissions` times
    /// (0 for a first transmission): `RTO * 2^max(retransmissions, back-off)`, at most
    /// the maximum.
    pub fn timeout_for(&self, retransmissions: u32) -> SimTime {
        let exp = retransmissions.max(self.backoff).min(63);
        SimTime(self.rto.0.saturating_mul(1u64 << exp)).min(self.bounds.max)
    }

    /// The current RTO without back-off.
    pub fn rto(&self) -> SimTime {
        self.rto
    }

    /// The smoothed round-trip time, once there is a sample.
    pub fn srtt(&self) -> Option<SimTime> {
        self.srtt
    }

    /// The round-trip time variation.
    pub fn rttvar(&self) -> SimTime {
        self.rttvar
    }

    /// The back-off exponent in force (0 after a valid sample).
    pub fn backoff(&self) -> u32 {
        self.backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimTime {
        SimTime::from_millis(n)
    }

    fn bounds() -> RtoBounds {
        RtoBounds {
            initial: SimTime::from_secs(1),
            min: ms(200),
            max: SimTime::from_secs(60),
            granularity: ms(1),
        }
    }

    #[test]
    fn known_sequence_follows_rfc_6298() {
        let mut e = RtoEstimator::new(bounds());
        assert_eq!(e.rto(), SimTime::from_secs(1));
        assert_eq!(e.srtt(), None);
        // First sample: SRTT = R, RTTVAR = R/2, RTO = R + 4 R/2 = 3R.
        e.sample(ms(100));
        assert_eq!(
            (e.srtt(), e.rttvar(), e.rto()),
            (Some(ms(100)), ms(50), ms(300))
        );
        // R' = 200: RTTVAR = 3/4 * 50 + 1/4 * 100 = 62.5; SRTT = 7/8 * 100 + 1/8 * 200
        // = 112.5; RTO = 112.5 + 4 * 62.5 = 362.5 ms.
        e.sample(ms(200));
        assert_eq!(e.rttvar(), SimTime::from_micros(62_500));
        assert_eq!(e.srtt(), Some(SimTime::from_micros(112_500)));
        assert_eq!(e.rto(), SimTime::from_micros(362_500));
        // R' = 100: RTTVAR = 3/4 * 62.5 + 1/4 * 12.5 = 50; SRTT = 7/8 * 112.5 + 12.5
        // = 110.9375; RTO = 310.9375 ms.
        e.sample(ms(100));
        assert_eq!(e.rttvar(), ms(50));
        assert_eq!(e.srtt(), Some(SimTime::from_nanos(110_937_500)));
        assert_eq!(e.rto(), SimTime::from_nanos(310_937_500));
    }

    #[test]
    fn steady_rtt_converges_to_srtt_plus_granularity_above_the_floor() {
        let mut e = RtoEstimator::new(RtoBounds {
            min: ms(1),
            ..bounds()
        });
        for _ in 0..200 {
            e.sample(ms(50));
        }
        assert_eq!(e.srtt(), Some(ms(50)));
        // RTTVAR decays to 0; the margin is then G = 1 ms.
        assert_eq!(e.rttvar(), SimTime::ZERO);
        assert_eq!(e.rto(), ms(51));
        // With the default floor of 200 ms the floor wins.
        let mut f = RtoEstimator::new(bounds());
        for _ in 0..200 {
            f.sample(ms(50));
        }
        assert_eq!(f.rto(), ms(200));
    }

    #[test]
    fn back_off_doubles_per_retransmission_and_is_capped() {
        let mut e = RtoEstimator::new(bounds());
        e.sample(ms(100)); // RTO 300 ms
        assert_eq!(e.timeout_for(0), ms(300));
        assert_eq!(e.timeout_for(1), ms(600));
        assert_eq!(e.timeout_for(2), ms(1200));
        assert_eq!(e.timeout_for(7), ms(38_400));
        assert_eq!(e.timeout_for(8), SimTime::from_secs(60), "capped at max");
        assert_eq!(e.timeout_for(200), SimTime::from_secs(60), "no overflow");
        // A first transmission's timer expires: every segment now waits twice as long.
        e.on_expiry(0);
        assert_eq!((e.backoff(), e.timeout_for(0)), (1, ms(600)));
        // More first-time expiries in the same window do not double it again.
        e.on_expiry(0);
        assert_eq!(e.timeout_for(0), ms(600));
        e.on_expiry(2);
        assert_eq!(e.timeout_for(0), ms(2400));
        // A valid sample ends the back-off (Karn).
        e.sample(ms(100));
        assert_eq!(e.backoff(), 0);
        assert!(e.timeout_for(0) < ms(600));
    }

    #[test]
    fn initial_rto_is_clamped_to_the_bounds() {
        let e = RtoEstimator::new(RtoBounds {
            initial: ms(10),
            ..bounds()
        });
        assert_eq!(e.rto(), ms(200));
    }
}
