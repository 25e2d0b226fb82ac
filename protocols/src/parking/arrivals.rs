//! Cars arriving at a gate: a homogeneous Poisson process (the default) or a daily
//! profile, a non-homogeneous Poisson process with one rate per hour of the day.
//!
//! The sampler is sans-IO: [`Arrivals::next_gap`] takes the current time and the gate's
//! own random stream and returns the gap to the next car. The daily profile is drawn by
//! thinning (Lewis and Shedler 1979): candidate cars come at the profile's peak rate and
//! each is kept with probability `rate(t) / peak`, where `t` is the candidate's time of
//! day. The hour of the day is the simulated time modulo 24 h (the run starts at
//! midnight).

use serde::{Deserialize, Serialize};
use sim_core::rng::{exponential, unit_f64};
use sim_core::{SimRng, SimTime};

/// Nanoseconds in an hour.
const HOUR_NS: u64 = 3_600_000_000_000;

/// How cars arrive at each gate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum Arrivals {
    /// A Poisson process with exponential gaps of mean `params.arrival_mean` (the
    /// default; the draws are those of earlier versions, so fingerprints are kept).
    #[default]
    Poisson,
    /// A non-homogeneous Poisson process: `hourly_rates[h]` cars per hour at each gate
    /// during hour `h` of the day (24 values, hour 0 starting at midnight = time 0).
    /// `params.arrival_mean` is not used.
    DailyProfile {
        /// Cars per hour at each gate, for hours 0 to 23.
        hourly_rates: Vec<f64>,
    },
}

impl Arrivals {
    /// The rates must be 24 finite non-negative numbers, not all zero.
    pub fn validate(&self) -> Result<(), String> {
        let Arrivals::DailyProfile { hourly_rates } = self else {
            return Ok(());
        };
        if hourly_rates.len() != 24 {
            return Err(format!(
                "params.arrivals DailyProfile needs 24 hourly_rates, got {}",
                hourly_rates.len()
            ));
        }
        if let Some(r) = hourly_rates.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
            return Err(format!(
                "params.arrivals hourly_rates must be finite and non-negative, got {r}"
            ));
        }
        if hourly_rates.iter().all(|r| *r == 0.0) {
            return Err("params.arrivals hourly_rates are all zero".into());
        }
        Ok(())
    }

    /// The arrival rate in cars per hour at time `t` (`mean` is the Poisson mean gap).
    pub fn rate_per_hour(&self, t: SimTime, mean: SimTime) -> f64 {
        match self {
            Arrivals::Poisson => 3600.0 / mean.as_secs_f64(),
            Arrivals::DailyProfile { hourly_rates } => {
                hourly_rates[((t.0 / HOUR_NS) % 24) as usize]
            }
        }
    }

    /// The gap from `now` to the next car. `mean` is `params.arrival_mean` (used by
    /// [`Arrivals::Poisson`] only). Draws come from `rng` only, so a gate's arrivals are
    /// fixed by the seed.
    pub fn next_gap(&self, now: SimTime, mean: SimTime, rng: &mut SimRng) -> SimTime {
        match self {
            Arrivals::Poisson => {
                let gap = exponential(rng, mean.as_secs_f64());
                SimTime::from_nanos((gap * 1e9) as u64)
            }
            Arrivals::DailyProfile { hourly_rates } => {
                let peak = hourly_rates.iter().copied().fold(0.0, f64::max);
                assert!(peak > 0.0, "validated: some hourly rate is positive");
                let mean_ns = HOUR_NS as f64 / peak;
                let mut t = now;
                loop {
                    t += SimTime::from_nanos(exponential(rng, mean_ns).max(1.0) as u64);
                    let rate = hourly_rates[((t.0 / HOUR_NS) % 24) as usize];
                    if unit_f64(rng) * peak < rate {
                        return t - now;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::rng::component_rng;

    /// A commuter profile: quiet nights, a morning and an evening peak.
    pub(crate) fn commuter() -> Vec<f64> {
        vec![
            1.0, 0.5, 0.0, 0.0, 0.5, 2.0, 8.0, 30.0, 40.0, 20.0, 10.0, 10.0, 15.0, 12.0, 10.0,
            10.0, 15.0, 25.0, 35.0, 15.0, 8.0, 5.0, 3.0, 2.0,
        ]
    }

    /// Over 400 simulated days the cars counted in each hour of the day match the profile:
    /// the count in hour h over D days is Poisson of mean D * rate(h), so it lies within
    /// 4 standard errors (4 sqrt(mean)) of it; hours of rate 0 see no car at all.
    #[test]
    fn daily_profile_counts_per_hour_match_the_rates() {
        let rates = commuter();
        let arrivals = Arrivals::DailyProfile {
            hourly_rates: rates.clone(),
        };
        arrivals.validate().expect("valid");
        let days = 400u64;
        let end = SimTime(days * 24 * HOUR_NS);
        let mut rng = component_rng(7, "gate-in-0");
        let mut counts = [0u64; 24];
        let mut t = SimTime::ZERO;
        loop {
            t += arrivals.next_gap(t, SimTime::ZERO, &mut rng);
            if t >= end {
                break;
            }
            counts[((t.0 / HOUR_NS) % 24) as usize] += 1;
        }
        for (h, (&n, &r)) in counts.iter().zip(&rates).enumerate() {
            let expected = r * days as f64;
            let margin = 4.0 * expected.sqrt();
            assert!(
                (n as f64 - expected).abs() <= margin,
                "hour {h}: {n} cars, expected {expected} +- {margin}"
            );
            if r == 0.0 {
                assert_eq!(n, 0, "hour {h} has rate 0");
            }
        }
    }

    /// The default draws one exponential of the mean, as before the profile existed.
    #[test]
    fn poisson_default_draws_as_before() {
        let mean = SimTime::from_secs(20);
        let mut a = component_rng(1, "g");
        let mut b = component_rng(1, "g");
        for _ in 0..100 {
            let gap = Arrivals::Poisson.next_gap(SimTime::ZERO, mean, &mut a);
            let old = SimTime::from_nanos((exponential(&mut b, 20.0) * 1e9) as u64);
            assert_eq!(gap, old);
        }
        assert_eq!(Arrivals::Poisson.rate_per_hour(SimTime::ZERO, mean), 180.0);
    }

    #[test]
    fn bad_profiles_are_rejected() {
        let bad = |v: Vec<f64>| Arrivals::DailyProfile { hourly_rates: v }.validate();
        assert!(bad(vec![1.0; 23]).is_err());
        assert!(bad(vec![0.0; 24]).is_err());
        let mut neg = vec![1.0; 24];
        neg[3] = -1.0;
        assert!(bad(neg).is_err());
        assert!(bad(vec![1.0; 24]).is_ok());
    }
}
