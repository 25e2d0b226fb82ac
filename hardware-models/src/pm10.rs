//! PM-10 over the CityOS 100x100 grid: a true concentration field that varies smoothly in
//! space and follows a daily cycle, and the SDS011 sensor that reads it with noise.
//!
//! - Space: an urban background plus a few Gaussian hot spots (roads, junctions). The
//!   background defaults to 35 ug/m3, inside Prague's monthly means of 26-60 (M6) and
//!   below Usti's annual 42-44 (M6); a hot spot's centre reaches 55-95 ug/m3, around the
//!   Hong Kong roadside level of 81 +- 38 (M7). Positions, peaks and radii are drawn from
//!   the field's own seed, so the same seed gives the same city.
//! - Time: a multiplicative daily cycle with a morning and an evening rush-hour peak
//!   (two peaks, M8, shown there for PM2.5; traffic pollution peaks at 06-09 h, M9). No
//!   PM10-specific peak hours or heights were extracted (M10 has hourly profiles), so the
//!   hours 08:00 and 18:00 and the peak heights are unsourced estimates. The cycle
//!   averages 1 over a day, so a cell's daily mean is its spatial level.
//! - The sensor: one reading per second (M1, M2); error bound the larger of +-15 % and
//!   +-10 ug/m3 (M1, V1.3; other versions state 10 % or 5 %, M2, M3), taken as two
//!   standard deviations of a normal error (unsourced estimate: the spec gives only the
//!   bound); readings quantised to the 0.3 ug/m3 resolution and clamped to the 0-999.9
//!   range (M1). Not modelled: the readings' unreliability above 70 % RH (M2), the
//!   response time of 1 s, under 10 s after a change (M1, M2).
//!
//! Limits for reports: WHO 2021 45 ug/m3 24-hour mean (M4); EU 50 ug/m3 daily, at most 35
//! exceedances a year (M5).
//!
//! Determinism: the field is a pure function of its seed and configuration; measurement
//! noise is drawn from the caller's [`SimRng`] (the sensor node's stream).

use serde::{Deserialize, Serialize};
use sim_core::rng::{component_rng, standard_normal, unit_f64};
use sim_core::{SimRng, SimTime};

/// Side of the CityOS grid: cells are `(u, v)` with `0 <= u, v < 100`.
pub const GRID: u32 = 100;

/// Largest reading of the SDS011: 999.9 ug/m3 (M1).
pub const MAX_READING_UG_M3: f64 = 999.9;

/// Resolution of the SDS011: 0.3 ug/m3 (M1).
pub const RESOLUTION_UG_M3: f64 = 0.3;

/// The SDS011 sends one frame a second (M1, M2).
pub const SAMPLE_PERIOD: SimTime = SimTime::from_secs(1);

/// WHO 2021 guideline: 45 ug/m3 as a 24-hour mean (M4).
pub const WHO_24H_GUIDELINE_UG_M3: f64 = 45.0;

/// EU 2008/50/EC daily limit: 50 ug/m3, at most 35 exceedances a year (M5).
pub const EU_DAILY_LIMIT_UG_M3: f64 = 50.0;

/// How the city's field is built from its seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldConfig {
    /// Urban background, ug/m3 (35: inside 26-60, M6).
    pub background: f64,
    /// Number of hot spots (unsourced estimate: 3).
    pub hot_spots: u32,
    /// Range of a hot spot's height above the background, ug/m3 (unsourced estimate:
    /// 20-60, so centres reach about the roadside level of M7).
    pub peak: (f64, f64),
    /// Range of a hot spot's radius (Gaussian standard deviation) in cells (unsourced
    /// estimate: 5-15).
    pub radius: (f64, f64),
    /// The daily cycle.
    pub daily: DailyCycle,
}

impl Default for FieldConfig {
    fn default() -> Self {
        FieldConfig {
            background: 35.0,
            hot_spots: 3,
            peak: (20.0, 60.0),
            radius: (5.0, 15.0),
            daily: DailyCycle::default(),
        }
    }
}

/// A multiplicative daily cycle: `base + morning bump + evening bump`, each bump a
/// Gaussian in the hour of day (wrapping at midnight) with height `gain` and width
/// `width_h`. `base` is chosen so that the cycle averages 1 over a day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DailyCycle {
    /// Hour of day at simulated time zero (default 0: runs start at midnight).
    pub start_hour: f64,
    /// Morning rush-hour peak (unsourced estimate 08:00, inside the 06-09 h of M9).
    pub morning_hour: f64,
    /// Height of the morning bump relative to the daily mean (unsourced estimate: 0.5).
    pub morning_gain: f64,
    /// Width of the morning bump, hours (unsourced estimate: 1.5).
    pub morning_width_h: f64,
    /// Evening rush-hour peak (unsourced estimate 18:00; M8 shows an evening peak).
    pub evening_hour: f64,
    /// Height of the evening bump (unsourced estimate: 0.4).
    pub evening_gain: f64,
    /// Width of the evening bump, hours (unsourced estimate: 2).
    pub evening_width_h: f64,
}

impl Default for DailyCycle {
    fn default() -> Self {
        DailyCycle {
            start_hour: 0.0,
            morning_hour: 8.0,
            morning_gain: 0.5,
            morning_width_h: 1.5,
            evening_hour: 18.0,
            evening_gain: 0.4,
            evening_width_h: 2.0,
        }
    }
}

impl DailyCycle {
    /// No daily variation (factor 1 at every hour).
    pub fn flat() -> DailyCycle {
        DailyCycle {
            morning_gain: 0.0,
            evening_gain: 0.0,
            ..DailyCycle::default()
        }
    }

    /// Hour of day (0 <= h < 24) at simulated time `t`.
    pub fn hour_of_day(&self, t: SimTime) -> f64 {
        (self.start_hour + t.as_secs_f64() / 3600.0).rem_euclid(24.0)
    }

    /// The factor at hour of day `hour`.
    pub fn factor_at_hour(&self, hour: f64) -> f64 {
        let bump = |centre: f64, width: f64| {
            if width <= 0.0 {
                return 0.0;
            }
            let d = (hour - centre).rem_euclid(24.0);
            let d = d.min(24.0 - d);
            (-d * d / (2.0 * width * width)).exp()
        };
        // Area of a bump over a day is gain * width * sqrt(2 pi) (tails past 12 h are
        // negligible for widths of a few hours); base makes the daily mean exactly 1.
        let area = |gain: f64, width: f64| gain * width.max(0.0) * (std::f64::consts::TAU).sqrt();
        let base = 1.0
            - (area(self.morning_gain, self.morning_width_h)
                + area(self.evening_gain, self.evening_width_h))
                / 24.0;
        base + self.morning_gain * bump(self.morning_hour, self.morning_width_h)
            + self.evening_gain * bump(self.evening_hour, self.evening_width_h)
    }

    /// The factor at simulated time `t`.
    pub fn factor(&self, t: SimTime) -> f64 {
        self.factor_at_hour(self.hour_of_day(t))
    }
}

/// One hot spot of the field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HotSpot {
    /// Centre, grid column.
    pub u: f64,
    /// Centre, grid row.
    pub v: f64,
    /// Height above the background at the centre, ug/m3.
    pub peak: f64,
    /// Gaussian standard deviation, cells.
    pub radius: f64,
}

/// The true PM-10 concentration over the grid and the day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pm10Field {
    /// Urban background, ug/m3.
    pub background: f64,
    /// The hot spots drawn from the seed.
    pub hot_spots: Vec<HotSpot>,
    /// The daily cycle.
    pub daily: DailyCycle,
}

impl Pm10Field {
    /// The field of the city with this `seed`: hot spots drawn from the stream
    /// `component_rng(seed, "pm10-field")`, so the same seed always gives the same field
    /// and no node's random numbers are touched.
    pub fn from_seed(seed: u64, config: &FieldConfig) -> Pm10Field {
        let mut rng = component_rng(seed, "pm10-field");
        let mut between = |(lo, hi): (f64, f64)| lo + (hi - lo) * unit_f64(&mut rng);
        let hot_spots = (0..config.hot_spots)
            .map(|_| HotSpot {
                u: between((0.0, f64::from(GRID))),
                v: between((0.0, f64::from(GRID))),
                peak: between(config.peak),
                radius: between(config.radius),
            })
            .collect();
        Pm10Field {
            background: config.background,
            hot_spots,
            daily: config.daily.clone(),
        }
    }

    /// The daily-mean level at cell `(u, v)`, ug/m3: background plus every hot spot.
    pub fn spatial(&self, u: u32, v: u32) -> f64 {
        let (u, v) = (f64::from(u), f64::from(v));
        self.background
            + self
                .hot_spots
                .iter()
                .map(|h| {
                    let d2 = (u - h.u).powi(2) + (v - h.v).powi(2);
                    h.peak * (-d2 / (2.0 * h.radius * h.radius)).exp()
                })
                .sum::<f64>()
    }

    /// The true concentration at cell `(u, v)` at simulated time `t`, ug/m3.
    pub fn true_value(&self, u: u32, v: u32, t: SimTime) -> f64 {
        self.spatial(u, v) * self.daily.factor(t)
    }
}

/// One SDS011 reading, as its UART frame carries it: tenths of ug/m3 (M1, M2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Reading {
    /// The value in tenths of ug/m3 (0..=9999), always a multiple of 3 (0.3 resolution).
    pub tenths: u16,
}

impl Reading {
    /// The value in ug/m3.
    pub fn ug_m3(self) -> f64 {
        f64::from(self.tenths) / 10.0
    }
}

/// The SDS011 laser PM sensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sds011 {
    /// Relative error bound: 15 % (M1).
    pub relative_error: f64,
    /// Absolute error bound: 10 ug/m3 (M1).
    pub absolute_error: f64,
    /// How many standard deviations the error bound spans (unsourced estimate: 2).
    pub bound_sigmas: f64,
    /// Time between readings: 1 s (M1, M2).
    pub period: SimTime,
}

impl Default for Sds011 {
    fn default() -> Self {
        Sds011 {
            relative_error: 0.15,
            absolute_error: 10.0,
            bound_sigmas: 2.0,
            period: SAMPLE_PERIOD,
        }
    }
}

impl Sds011 {
    /// A perfect sensor: no noise (still quantised and clamped).
    pub fn noiseless() -> Sds011 {
        Sds011 {
            relative_error: 0.0,
            absolute_error: 0.0,
            ..Sds011::default()
        }
    }

    /// Standard deviation of the error at concentration `true_value`:
    /// `max(relative_error * value, absolute_error) / bound_sigmas`.
    pub fn noise_sd(&self, true_value: f64) -> f64 {
        let bound = (self.relative_error * true_value.abs()).max(self.absolute_error);
        if self.bound_sigmas > 0.0 {
            bound / self.bound_sigmas
        } else {
            0.0
        }
    }

    /// Read `true_value` (ug/m3): add normal noise drawn from `rng`, quantise to 0.3
    /// ug/m3 and clamp to 0-999.9 (M1). Draws from `rng` whether or not the sensor is
    /// noiseless, so changing the noise never shifts later draws.
    pub fn read(&self, true_value: f64, rng: &mut SimRng) -> Reading {
        let noisy = true_value + self.noise_sd(true_value) * standard_normal(rng);
        Reading {
            tenths: quantise(noisy),
        }
    }
}

/// `value` ug/m3 as tenths, rounded to the 0.3 resolution and clamped to 0-999.9 (M1).
fn quantise(value: f64) -> u16 {
    let steps = (value / RESOLUTION_UG_M3).round();
    let max_steps = (MAX_READING_UG_M3 / RESOLUTION_UG_M3).round();
    let steps = if steps.is_nan() {
        0.0
    } else {
        steps.clamp(0.0, max_steps)
    };
    steps as u16 * 3
}

/// A field and the sensor that reads it: what a CityOS sensor node at `(u, v)` sees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pm10Process {
    /// The true concentration.
    pub field: Pm10Field,
    /// The sensor.
    pub sensor: Sds011,
}

impl Pm10Process {
    /// The city of `seed` with the default field configuration and sensor.
    pub fn from_seed(seed: u64) -> Pm10Process {
        Pm10Process {
            field: Pm10Field::from_seed(seed, &FieldConfig::default()),
            sensor: Sds011::default(),
        }
    }

    /// The reading of a sensor at `(u, v)` at time `t`, its noise drawn from `rng`.
    pub fn measure(&self, u: u32, v: u32, t: SimTime, rng: &mut SimRng) -> Reading {
        self.sensor.read(self.field.true_value(u, v, t), rng)
    }

    /// When the reading after the one at `t` is due: `t` plus the sensor's period (1 s,
    /// M1).
    pub fn next_sample(&self, t: SimTime) -> SimTime {
        t + self.sensor.period
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{mean, std_dev, within};

    #[test]
    fn same_seed_same_field_and_readings() {
        let a = Pm10Process::from_seed(11);
        let b = Pm10Process::from_seed(11);
        assert_eq!(a, b);
        let read = |p: &Pm10Process| {
            let mut rng = component_rng(5, "node:sensor-0");
            (0..100)
                .map(|i| {
                    p.measure(
                        i % GRID,
                        (3 * i) % GRID,
                        SimTime::from_secs(u64::from(i)),
                        &mut rng,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(read(&a), read(&b));
        let c = Pm10Process::from_seed(12);
        assert_ne!(a.field, c.field);
        assert_ne!(read(&a), read(&c));
    }

    #[test]
    fn field_is_smooth_with_background_and_hot_spots() {
        let f = Pm10Field::from_seed(1, &FieldConfig::default());
        assert_eq!(f.hot_spots.len(), 3);
        let mut lo = f64::MAX;
        let mut hi = f64::MIN;
        for u in 0..GRID {
            for v in 0..GRID {
                let x = f.spatial(u, v);
                lo = lo.min(x);
                hi = hi.max(x);
                // Neighbouring cells differ by little: no hot spot is narrower than 5 cells.
                if u + 1 < GRID {
                    assert!((f.spatial(u + 1, v) - x).abs() < 8.0);
                }
            }
        }
        assert!((35.0..40.0).contains(&lo), "lowest {lo}");
        assert!((55.0..35.0 + 3.0 * 60.0).contains(&hi), "highest {hi}");
    }

    #[test]
    fn daily_cycle_peaks_at_rush_hours_and_averages_one() {
        let d = DailyCycle::default();
        let minutes: Vec<(f64, f64)> = (0..24 * 60u32)
            .map(|m| {
                let h = f64::from(m) / 60.0;
                (h, d.factor(SimTime::from_secs(u64::from(m) * 60)))
            })
            .collect();
        let argmax = |from: f64, to: f64| {
            minutes
                .iter()
                .filter(|(h, _)| (from..to).contains(h))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap()
                .0
        };
        assert!((argmax(0.0, 12.0) - 8.0).abs() < 0.1);
        assert!((argmax(12.0, 24.0) - 18.0).abs() < 0.1);
        let at = |h: f64| d.factor_at_hour(h);
        assert!(at(8.0) > 1.2 && at(18.0) > 1.1);
        assert!(at(8.0) > at(13.0) && at(18.0) > at(13.0));
        assert!(at(8.0) > at(3.0) && at(18.0) > at(3.0));
        let daily_mean = mean(&minutes.iter().map(|m| m.1).collect::<Vec<_>>());
        assert!(within(daily_mean, 1.0, 0.01), "{daily_mean}");
        // A run starting at 07:00 reaches the morning peak one hour in.
        let seven = DailyCycle {
            start_hour: 7.0,
            ..DailyCycle::default()
        };
        assert_eq!(seven.factor(SimTime::from_secs(3600)), at(8.0));
        assert_eq!(DailyCycle::flat().factor_at_hour(8.0), 1.0);
    }

    #[test]
    fn readings_are_clamped_and_quantised() {
        let s = Sds011::default();
        let mut rng = component_rng(1, "clamp");
        for _ in 0..1000 {
            assert_eq!(s.read(5000.0, &mut rng).ug_m3(), 999.9);
            let low = s.read(0.0, &mut rng);
            assert!(low.ug_m3() >= 0.0);
            assert_eq!(low.tenths % 3, 0);
        }
        let zeros = (0..1000)
            .filter(|_| s.read(0.0, &mut rng).tenths == 0)
            .count();
        assert!(zeros > 400, "{zeros} zero readings of a clean-air sensor");
        let exact = Sds011::noiseless();
        assert_eq!(exact.read(30.0, &mut rng).tenths, 300);
        assert_eq!(exact.read(30.1, &mut rng).tenths, 300);
        assert_eq!(exact.read(30.2, &mut rng).tenths, 303);
        assert_eq!(exact.read(f64::NAN, &mut rng).tenths, 0);
    }

    /// Noise: at 100 ug/m3 the standard deviation is 7.5 (15 % / 2), at 20 ug/m3 it is 5
    /// (10 ug/m3 / 2); measured within 3 %, unbiased within 0.2 ug/m3.
    #[test]
    fn noise_level_matches_the_spec_bound() {
        let s = Sds011::default();
        let mut rng = component_rng(2, "noise");
        for (value, sd) in [(100.0, 7.5), (20.0, 5.0), (200.0, 15.0)] {
            assert_eq!(s.noise_sd(value), sd);
            let errors: Vec<f64> = (0..40_000)
                .map(|_| s.read(value, &mut rng).ug_m3() - value)
                .collect();
            assert!(
                within(std_dev(&errors), sd, 0.03),
                "{value}: sd {}",
                std_dev(&errors)
            );
            assert!(mean(&errors).abs() < 0.2, "{value}: bias {}", mean(&errors));
            // About 95 % within the spec bound (two standard deviations).
            let inside = errors.iter().filter(|e| e.abs() <= 2.0 * sd).count() as f64;
            assert!((0.94..0.965).contains(&(inside / errors.len() as f64)));
        }
    }
}
