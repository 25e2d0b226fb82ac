//! The car sensor of a parking gate: a light beam that a passing car interrupts, the raw
//! edges it produces (with bounce), and the debouncer the gate's firmware runs.
//!
//! A 5 mm slotted photo-interrupter such as the ITR-9608 (P1) or a KY-010 module (P4)
//! cannot span a car, so a real gate uses a through-beam sensor; the electrical behaviour
//! modelled here (fast edges, glitches at the edges, a debounce in firmware) is the same.
//! The beam is interrupted for `t = L / v`: 1.57-3.14 s for the EU average car of 4.36 m
//! (P8) at 5-10 km/h (P9), derived. A beam at wheel height may also see gaps between the
//! axles (unsourced estimate); that is not modelled: a car is one interruption.
//!
//! Bounce: the bare ITR-9608 has no Schmitt trigger and glitches shorter than 100 ns are
//! seen at its edges; a 5 ms debounce is the suggested starting point (P5-P7). How many
//! glitches an edge has, how long they last and over what window they spread are not
//! sourced; the defaults of [`Bounce`] are unsourced estimates that keep the window well
//! inside the 5 ms debounce, so a correct debouncer turns every car into exactly one
//! break and one restore.

use serde::{Deserialize, Serialize};
use sim_core::rng::unit_f64;
use sim_core::{SimRng, SimTime};

/// Average length of a new car in the EU, 2022: 4.36 m (P8).
pub const EU_AVERAGE_CAR_LENGTH_M: f64 = 4.36;

/// Speed of a car through a gate, slowest and fastest: 5-10 km/h (P9, a weak source).
pub const GATE_SPEED_KMH: (f64, f64) = (5.0, 10.0);

/// Rise and fall time of the ITR-9608: 15 us typical (P1). Other parts: ITR8102 15 us
/// (P2), KTIR0921DS 90 us rise / 80 us fall typical (P3).
pub const ITR9608_RESPONSE: SimTime = SimTime::from_micros(15);

/// Default debounce: 5 ms, the suggested starting point (P5-P7).
pub const DEFAULT_DEBOUNCE: SimTime = SimTime::from_millis(5);

/// The state of the beam, as the sensor output reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Beam {
    /// Light reaches the receiver: no car.
    Clear,
    /// A car blocks the light.
    Blocked,
}

impl Beam {
    /// The other state.
    pub fn flipped(self) -> Beam {
        match self {
            Beam::Clear => Beam::Blocked,
            Beam::Blocked => Beam::Clear,
        }
    }
}

/// A change of the sensor output: from `at` on, the output reads `beam`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Edge {
    /// When the output changes.
    pub at: SimTime,
    /// The output from then on.
    pub beam: Beam,
}

/// A car driving through the gate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Car {
    /// Bumper to bumper, metres (EU average 4.36 m, P8).
    pub length_m: f64,
    /// Speed through the beam, km/h (5-10 km/h at gates, P9).
    pub speed_kmh: f64,
}

impl Car {
    /// The EU average car (4.36 m, P8) at the given speed.
    pub fn eu_average(speed_kmh: f64) -> Car {
        Car {
            length_m: EU_AVERAGE_CAR_LENGTH_M,
            speed_kmh,
        }
    }

    /// How long the car blocks the beam: `t = L / v` (derived), rounded to the
    /// nanosecond. 4.36 m at 5 km/h is 3.139 s; at 10 km/h, 1.570 s.
    pub fn interruption(&self) -> SimTime {
        let seconds = self.length_m / (self.speed_kmh / 3.6);
        SimTime((seconds * 1e9).round() as u64)
    }

    /// Length and speed must be finite and positive.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [("length_m", self.length_m), ("speed_kmh", self.speed_kmh)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("car {name} must be a positive number, got {v}"));
            }
        }
        Ok(())
    }
}

/// Glitches at each edge of the raw sensor output: after the edge, up to `max_glitches`
/// short pulses back to the old state, each between `min_pulse` and `max_pulse` long, all
/// inside `window`. The count per edge is uniform in `0..=max_glitches`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bounce {
    /// Most glitches after one edge (unsourced estimate: 3).
    pub max_glitches: u32,
    /// Time after the edge within which every glitch has ended (unsourced estimate: 2 ms,
    /// inside the 5 ms debounce of P5-P7).
    pub window: SimTime,
    /// Shortest glitch: 50 ns (glitches under 100 ns are seen at the edges, P5-P7).
    pub min_pulse: SimTime,
    /// Longest glitch (unsourced estimate: 500 us, a car's ragged outline rather than
    /// electrical noise).
    pub max_pulse: SimTime,
}

impl Default for Bounce {
    fn default() -> Self {
        Bounce {
            max_glitches: 3,
            window: SimTime::from_millis(2),
            min_pulse: SimTime::from_nanos(50),
            max_pulse: SimTime::from_micros(500),
        }
    }
}

impl Bounce {
    /// No glitches at all (a sensor with a Schmitt trigger and a clean target).
    pub fn none() -> Bounce {
        Bounce {
            max_glitches: 0,
            ..Bounce::default()
        }
    }
}

/// A beam sensor: the delay of its output edges and their bounce.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhotoInterrupter {
    /// Delay from the beam changing to the output edge: the 15 us rise / fall time of the
    /// ITR-9608 (P1).
    pub response: SimTime,
    /// Glitches at each edge.
    pub bounce: Bounce,
}

impl Default for PhotoInterrupter {
    fn default() -> Self {
        PhotoInterrupter {
            response: ITR9608_RESPONSE,
            bounce: Bounce::default(),
        }
    }
}

impl PhotoInterrupter {
    /// The raw output edges of `car`, whose front reaches the beam at `arrival`: a break
    /// at `arrival + response`, a restore `car.interruption()` later, each followed by its
    /// glitches (drawn from `rng`), in time order. The output is [`Beam::Clear`] before
    /// and after.
    pub fn car_edges(&self, arrival: SimTime, car: &Car, rng: &mut SimRng) -> Vec<Edge> {
        let broken = arrival + self.response;
        let mut edges = self.edge_with_bounce(broken, Beam::Blocked, rng);
        edges.extend(self.edge_with_bounce(broken + car.interruption(), Beam::Clear, rng));
        edges.sort();
        edges
    }

    /// One edge to `beam` at `at` and the glitches after it. The window is cut into one
    /// slot per glitch; each glitch starts in the second quarter of its slot and ends
    /// before the slot's middle, so glitches never overlap and all end inside the window.
    fn edge_with_bounce(&self, at: SimTime, beam: Beam, rng: &mut SimRng) -> Vec<Edge> {
        let b = &self.bounce;
        let mut edges = vec![Edge { at, beam }];
        if b.max_glitches == 0 {
            return edges;
        }
        let n = (unit_f64(rng) * f64::from(b.max_glitches + 1)) as u64;
        let n = n.min(u64::from(b.max_glitches));
        if n == 0 {
            return edges;
        }
        let slot = b.window.0 / n;
        for j in 0..n {
            let slot_start = at.0 + j * slot;
            let start = slot_start + slot / 4 + (unit_f64(rng) * (slot / 4) as f64) as u64;
            let longest = b.max_pulse.0.min(slot_start + slot / 2 - start).max(1);
            let shortest = b.min_pulse.0.clamp(1, longest);
            let width = shortest + (unit_f64(rng) * (longest - shortest) as f64).round() as u64;
            edges.push(Edge {
                at: SimTime(start),
                beam: beam.flipped(),
            });
            edges.push(Edge {
                at: SimTime(start + width.max(1)),
                beam,
            });
        }
        edges
    }
}

/// The firmware's debouncer: a change of the input is accepted once the input has kept
/// its new state for `window` (5 ms by default, P5-P7).
///
/// It is sans-IO. On every raw edge call [`Debouncer::on_edge`], which returns the time at
/// which to call [`Debouncer::settle`] (set a timer for it); `settle` returns the accepted
/// edge, if any, stamped with the moment it was confirmed (last raw edge + window). Timers
/// left over from earlier edges are harmless: `settle` before the deadline returns `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Debouncer {
    window: SimTime,
    stable: Beam,
    /// The latest raw edge not yet confirmed.
    pending: Option<Edge>,
}

impl Debouncer {
    /// A debouncer with the given window whose input starts in state `initial`.
    pub fn new(window: SimTime, initial: Beam) -> Self {
        Debouncer {
            window,
            stable: initial,
            pending: None,
        }
    }

    /// The state accepted so far.
    pub fn state(&self) -> Beam {
        self.stable
    }

    /// A raw edge; returns when to call [`Debouncer::settle`] for it.
    pub fn on_edge(&mut self, at: SimTime, beam: Beam) -> SimTime {
        self.pending = Some(Edge { at, beam });
        at + self.window
    }

    /// At `now`: the accepted change, if the latest raw edge is at least `window` old and
    /// changed the accepted state.
    pub fn settle(&mut self, now: SimTime) -> Option<Edge> {
        let edge = self.pending?;
        let confirmed = edge.at + self.window;
        if now < confirmed {
            return None;
        }
        self.pending = None;
        if edge.beam == self.stable {
            return None;
        }
        self.stable = edge.beam;
        Some(Edge {
            at: confirmed,
            beam: edge.beam,
        })
    }

    /// Debounce a whole time-ordered list of raw edges at once (the same result as feeding
    /// them one by one and settling every timer).
    pub fn filter(&mut self, raw: &[Edge]) -> Vec<Edge> {
        let mut out = Vec::new();
        for e in raw {
            out.extend(self.settle(e.at));
            self.on_edge(e.at, e.beam);
        }
        out.extend(self.settle(SimTime::MAX));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::rng::component_rng;

    #[test]
    fn interruption_is_length_over_speed() {
        // 4.36 m at 5 and 10 km/h: 3.139 s and 1.570 s (HARDWARE.md, derived).
        assert_eq!(Car::eu_average(5.0).interruption(), SimTime(3_139_200_000));
        assert_eq!(Car::eu_average(10.0).interruption(), SimTime(1_569_600_000));
        let five = Car {
            length_m: 5.0,
            speed_kmh: 5.0,
        };
        assert_eq!(five.interruption(), SimTime::from_millis(3600));
        assert!(
            Car {
                length_m: 4.0,
                speed_kmh: 0.0
            }
            .validate()
            .is_err()
        );
    }

    /// 200 cars at random speeds in 5-10 km/h: the raw output bounces, the debounced output
    /// has exactly one break and one restore per car, and the debounced interruption is L/v
    /// to within the bounce window.
    #[test]
    fn debounced_edges_give_one_break_and_one_restore_per_car() {
        let sensor = PhotoInterrupter::default();
        let mut rng = component_rng(3, "gate-0");
        let mut raw = Vec::new();
        let mut cars = Vec::new();
        let mut arrival = SimTime::from_secs(1);
        for _ in 0..200 {
            let (lo, hi) = GATE_SPEED_KMH;
            let car = Car::eu_average(lo + (hi - lo) * unit_f64(&mut rng));
            raw.extend(sensor.car_edges(arrival, &car, &mut rng));
            cars.push((arrival, car));
            arrival = arrival + car.interruption() + SimTime::from_secs(2);
        }
        // Bounce is there: far more than two raw edges per car, and several breaks in a row.
        assert!(raw.len() > 2 * cars.len() + 200, "{} raw edges", raw.len());
        assert!(raw.windows(2).all(|w| w[0].at < w[1].at));

        let mut debouncer = Debouncer::new(DEFAULT_DEBOUNCE, Beam::Clear);
        let clean = debouncer.filter(&raw);
        assert_eq!(clean.len(), 2 * cars.len());
        for (pair, (arrival, car)) in clean.chunks(2).zip(&cars) {
            assert_eq!(pair[0].beam, Beam::Blocked);
            assert_eq!(pair[1].beam, Beam::Clear);
            // Confirmed one debounce window (plus at most the bounce) after the beam broke.
            let lag = pair[0].at - (*arrival + sensor.response);
            assert!(lag >= DEFAULT_DEBOUNCE && lag <= DEFAULT_DEBOUNCE + sensor.bounce.window);
            let measured = (pair[1].at - pair[0].at).0 as i64;
            let expected = car.interruption().0 as i64;
            assert!(
                (measured - expected).abs() <= sensor.bounce.window.0 as i64,
                "interruption {measured} ns, L/v {expected} ns"
            );
        }
    }

    /// Without a debouncer (window 0) the firmware would count the glitches as cars.
    #[test]
    fn no_debounce_sees_the_glitches() {
        let sensor = PhotoInterrupter::default();
        let mut rng = component_rng(4, "gate-1");
        let mut raw = Vec::new();
        for i in 0..50 {
            raw.extend(sensor.car_edges(
                SimTime::from_secs(10 * i),
                &Car::eu_average(7.0),
                &mut rng,
            ));
        }
        let breaks = Debouncer::new(SimTime::ZERO, Beam::Clear)
            .filter(&raw)
            .iter()
            .filter(|e| e.beam == Beam::Blocked)
            .count();
        assert!(breaks > 50, "{breaks} breaks for 50 cars");
    }

    #[test]
    fn streaming_use_matches_filter_and_ignores_stale_timers() {
        let mut d = Debouncer::new(SimTime::from_millis(5), Beam::Clear);
        let t = SimTime::from_millis;
        let first = d.on_edge(t(10), Beam::Blocked);
        assert_eq!(first, t(15));
        d.on_edge(t(11), Beam::Clear);
        d.on_edge(t(12), Beam::Blocked);
        assert_eq!(
            d.settle(first),
            None,
            "the timer of the first edge is stale"
        );
        assert_eq!(
            d.settle(t(17)),
            Some(Edge {
                at: t(17),
                beam: Beam::Blocked
            })
        );
        assert_eq!(d.state(), Beam::Blocked);
        assert_eq!(d.settle(t(30)), None);
    }

    #[test]
    fn same_seed_same_edges() {
        let sensor = PhotoInterrupter::default();
        let car = Car::eu_average(8.0);
        let a = sensor.car_edges(SimTime::ZERO, &car, &mut component_rng(9, "g"));
        let b = sensor.car_edges(SimTime::ZERO, &car, &mut component_rng(9, "g"));
        assert_eq!(a, b);
        let clean = PhotoInterrupter {
            bounce: Bounce::none(),
            ..PhotoInterrupter::default()
        };
        assert_eq!(
            clean
                .car_edges(SimTime::ZERO, &car, &mut component_rng(9, "g"))
                .len(),
            2
        );
    }
}
