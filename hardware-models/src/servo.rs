//! The SG90 micro servo that lifts a gate barrier: how long opening and closing take.
//!
//! A servo is rated by the time it needs to turn 60 degrees without load. The time for a
//! move is `|to - from| / 60 * seconds_per_60deg` (derived): 0.15 s for a 90-degree barrier
//! at the TowerPro rating of 0.10 s/60 deg (S1); a full 180-degree sweep takes 0.30-0.66 s
//! across the ratings (derived). A loaded barrier arm is slower than the no-load rating;
//! no source gives by how much, so use a clone's rating for a pessimistic gate.
//!
//! Not modelled: the servo only sees a new position at its next 20 ms PWM pulse (50 Hz,
//! S1, S2, S3, S6), which adds up to 20 ms before the move starts; the 5-7 us dead band
//! (S3, S4); stall torque (1.8 kgf cm at 4.8 V, S1, S3, S4).

use serde::{Deserialize, Serialize};
use sim_core::SimTime;

/// TowerPro's rating at 4.8 V: 0.10 s per 60 degrees (S1).
pub const TOWERPRO_S_PER_60: f64 = 0.10;

/// The rating of other listings at 4.8 V: 0.12 s per 60 degrees (S1, S3, S4, S5: one of
/// these keys; HARDWARE.md gives them for the row as a whole).
pub const LISTING_S_PER_60: f64 = 0.12;

/// Clones: 0.18-0.22 s per 60 degrees (S1, S3, S4, S5: as above).
pub const CLONE_S_PER_60: (f64, f64) = (0.18, 0.22);

/// The SG90's range of travel: 0-180 degrees (S2).
pub const RANGE_DEG: f64 = 180.0;

/// A barrier's travel between closed and open (unsourced estimate: a quarter turn, 90
/// degrees, as a boom barrier lifts).
pub const BARRIER_DEG: f64 = 90.0;

/// An SG90 with its rated speed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sg90 {
    /// Seconds to turn 60 degrees without load: 0.10 at 4.8 V (S1) by default; 0.12 in
    /// other listings, 0.18-0.22 for clones.
    pub seconds_per_60deg: f64,
}

impl Default for Sg90 {
    fn default() -> Self {
        Sg90 {
            seconds_per_60deg: TOWERPRO_S_PER_60,
        }
    }
}

impl Sg90 {
    /// A slow clone at the middle of the clone range, 0.20 s/60 deg (S1, S3, S4, S5).
    pub fn clone_part() -> Sg90 {
        Sg90 {
            seconds_per_60deg: (CLONE_S_PER_60.0 + CLONE_S_PER_60.1) / 2.0,
        }
    }

    /// The rating must be a finite positive number.
    pub fn validate(&self) -> Result<(), String> {
        let s = self.seconds_per_60deg;
        if !(s.is_finite() && s > 0.0) {
            return Err(format!(
                "servo seconds_per_60deg must be a positive number, got {s}"
            ));
        }
        Ok(())
    }

    /// Time to turn from `from` to `to` degrees (each clamped to the 0-180 degree range,
    /// S2), rounded to the nanosecond: `|to - from| / 60 * seconds_per_60deg`.
    pub fn move_time(&self, from: f64, to: f64) -> SimTime {
        let clamp = |a: f64| a.clamp(0.0, RANGE_DEG);
        let degrees = (clamp(to) - clamp(from)).abs();
        let seconds = degrees / 60.0 * self.seconds_per_60deg;
        SimTime((seconds * 1e9).round() as u64)
    }

    /// Time to turn through `degrees` from rest.
    pub fn travel_time(&self, degrees: f64) -> SimTime {
        self.move_time(0.0, degrees)
    }
}

/// A gate barrier driven by a servo, between its closed and open angles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Barrier {
    /// The servo.
    pub servo: Sg90,
    /// Angle when closed (default 0 degrees).
    pub closed_deg: f64,
    /// Angle when open (default 90 degrees, unsourced estimate).
    pub open_deg: f64,
}

impl Default for Barrier {
    fn default() -> Self {
        Barrier {
            servo: Sg90::default(),
            closed_deg: 0.0,
            open_deg: BARRIER_DEG,
        }
    }
}

impl Barrier {
    /// Time from the command to a fully open barrier.
    pub fn open_time(&self) -> SimTime {
        self.servo.move_time(self.closed_deg, self.open_deg)
    }

    /// Time from the command to a fully closed barrier.
    pub fn close_time(&self) -> SimTime {
        self.servo.move_time(self.open_deg, self.closed_deg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barrier_times_follow_the_rating() {
        let b = Barrier::default();
        assert_eq!(b.open_time(), SimTime::from_millis(150));
        assert_eq!(b.close_time(), SimTime::from_millis(150));
        let slow = Barrier {
            servo: Sg90::clone_part(),
            ..Barrier::default()
        };
        assert_eq!(slow.open_time(), SimTime::from_millis(300));
    }

    #[test]
    fn full_sweep_is_0_30_to_0_66_s() {
        // HARDWARE.md: 180-degree travel 0.30-0.66 s (derived).
        let fast = Sg90::default().travel_time(180.0);
        let slow = Sg90 {
            seconds_per_60deg: CLONE_S_PER_60.1,
        }
        .travel_time(180.0);
        assert_eq!(fast, SimTime::from_millis(300));
        assert_eq!(slow, SimTime::from_millis(660));
        // Angles beyond the range are clamped.
        assert_eq!(Sg90::default().move_time(-30.0, 200.0), fast);
        assert!(
            Sg90 {
                seconds_per_60deg: 0.0
            }
            .validate()
            .is_err()
        );
    }
}
