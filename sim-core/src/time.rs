//! Simulated time: integer nanoseconds, so no floating point ever decides event order.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::str::FromStr;

/// A point on the simulated clock (or a span of it), in nanoseconds since the run began.
///
/// One type serves for instants and durations, as in most simulators: both are plain
/// nanosecond counts and the arithmetic saturates instead of wrapping.
///
/// In scenario files it is written for humans: `"150ms"`, `"2s"`, `"1h 30m"`, `"1.5s"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// Later than any event; used as "run to completion".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// `n` nanoseconds.
    pub const fn from_nanos(n: u64) -> Self {
        SimTime(n)
    }
    /// `n` microseconds.
    pub const fn from_micros(n: u64) -> Self {
        SimTime(n.saturating_mul(1_000))
    }
    /// `n` milliseconds.
    pub const fn from_millis(n: u64) -> Self {
        SimTime(n.saturating_mul(1_000_000))
    }
    /// `n` seconds.
    pub const fn from_secs(n: u64) -> Self {
        SimTime(n.saturating_mul(1_000_000_000))
    }
    /// Nanoseconds as an integer.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds as a float, for reports only (never for ordering).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Milliseconds as a float, for reports only (never for ordering).
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_sub(self, earlier: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(earlier.0))
    }
}

impl Add for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl std::ops::Mul<u64> for SimTime {
    type Output = SimTime;
    /// `k` times the duration (saturating), for bounds such as "three timeouts".
    fn mul(self, k: u64) -> SimTime {
        SimTime(self.0.saturating_mul(k))
    }
}

impl AddAssign for SimTime {
    fn add_assign(&mut self, rhs: SimTime) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    fn sub(self, rhs: SimTime) -> SimTime {
        self.saturating_sub(rhs)
    }
}

impl From<std::time::Duration> for SimTime {
    fn from(d: std::time::Duration) -> Self {
        SimTime(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for SimTime {
    /// Human form with the largest unit that keeps the value exact: `1.5s`, `150ms`, `7ns`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let units = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")];
        for (scale, unit) in units {
            if n >= scale {
                let whole = n / scale;
                let frac = n % scale;
                if frac == 0 {
                    return write!(f, "{whole}{unit}");
                }
                let digits = scale.ilog10() as usize;
                let s = format!("{frac:0digits$}");
                return write!(f, "{whole}.{}{unit}", s.trim_end_matches('0'));
            }
        }
        write!(f, "{n}ns")
    }
}

/// Nanoseconds per unit suffix accepted in duration strings.
const UNITS: [(&str, u64); 9] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("min", 60_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

impl FromStr for SimTime {
    type Err = String;

    /// Parse `"150ms"`, `"2s"`, `"1.5s"`, `"1h 30m"`: one or more numbers, each with a
    /// unit (ns, us, ms, s, m or min, h, d), exact to the nanosecond.
    fn from_str(text: &str) -> Result<Self, String> {
        let s = text.trim();
        if s.starts_with('-') {
            return Err(format!("a duration cannot be negative: {text:?}"));
        }
        if s.is_empty() {
            return Err("empty duration; write e.g. \"150ms\", \"2s\" or \"1h\"".into());
        }
        let mut total: u64 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (num, tail) = rest.split_at(num_len);
            if num.is_empty() {
                return Err(format!(
                    "bad duration {text:?}: expected a number at {rest:?}"
                ));
            }
            let tail = tail.trim_start();
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
                .unwrap_or(tail.len());
            let (unit, after) = tail.split_at(unit_len);
            if unit.is_empty() {
                return Err(format!(
                    "duration {text:?} needs a unit (ns, us, ms, s, m, h, d), e.g. \"{num}s\""
                ));
            }
            let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
                return Err(format!(
                    "bad duration {text:?}: unknown unit {unit:?} (use ns, us, ms, s, m, h or d)"
                ));
            };
            let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
            let overflow = || format!("duration {text:?} is too long (at most about 584 years)");
            let bad = || format!("bad duration {text:?}: {num:?} is not a number");
            let whole: u64 = if whole.is_empty() {
                0
            } else {
                whole.parse().map_err(|_| bad())?
            };
            let mut ns = whole.checked_mul(scale).ok_or_else(overflow)?;
            if !frac.is_empty() {
                if !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                // Exact decimal fraction of the unit; digits beyond 1 ns must be zero.
                let mut place = scale;
                for d in frac.bytes().map(|b| u64::from(b - b'0')) {
                    if place % 10 != 0 {
                        if d != 0 {
                            return Err(format!("duration {text:?} is finer than a nanosecond"));
                        }
                        continue;
                    }
                    place /= 10;
                    ns += d * place;
                }
            }
            total = total.checked_add(ns).ok_or_else(overflow)?;
            rest = after.trim_start();
        }
        Ok(SimTime(total))
    }
}

/// Human-readable formats (RON, JSON) write a duration string; compact binary formats
/// (a live run's datagrams) the nanosecond count.
impl Serialize for SimTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            s.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for SimTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Reads a duration string; in a binary format (`.0`), a nanosecond count.
        struct Visitor(bool);
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SimTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"150ms\", \"2s\" or \"1h\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimTime, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SimTime, E> {
                if self.0 {
                    Ok(SimTime(v))
                } else {
                    Err(E::invalid_type(serde::de::Unexpected::Unsigned(v), &self))
                }
            }
        }
        if d.is_human_readable() {
            d.deserialize_any(Visitor(false))
        } else {
            d.deserialize_u64(Visitor(true))
        }
    }
}

/// A signed span of time (a clock step back or forward), written `"-2s"` or `"500ms"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockOffset(pub i64);

impl FromStr for ClockOffset {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (neg, body) = match t.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, t),
        };
        let magnitude = i64::try_from(body.parse::<SimTime>()?.0)
            .map_err(|_| format!("clock offset {text:?} is too large"))?;
        Ok(ClockOffset(if neg { -magnitude } else { magnitude }))
    }
}

impl fmt::Display for ClockOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{}", SimTime(self.0.unsigned_abs()))
    }
}

impl Serialize for ClockOffset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ClockOffset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_exact_and_short() {
        assert_eq!(SimTime::from_millis(150).to_string(), "150ms");
        assert_eq!(SimTime::from_millis(1500).to_string(), "1.5s");
        assert_eq!(SimTime(7).to_string(), "7ns");
        assert_eq!(SimTime(1_000_001).to_string(), "1.000001ms");
    }

    #[test]
    fn parses_human_durations() {
        let p = |s: &str| s.parse::<SimTime>();
        assert_eq!(p("150ms"), Ok(SimTime::from_millis(150)));
        assert_eq!(p("2s"), Ok(SimTime::from_secs(2)));
        assert_eq!(p("1h 30m"), Ok(SimTime::from_secs(5400)));
        assert_eq!(p("1.5s"), Ok(SimTime::from_millis(1500)));
        assert_eq!(p("0s"), Ok(SimTime::ZERO));
        assert!(p("-5s").unwrap_err().contains("negative"));
        assert!(p("5").unwrap_err().contains("needs a unit"));
        assert!(p("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(p("1.0000000001s").unwrap_err().contains("nanosecond"));
        assert_eq!(
            "-2s".parse::<ClockOffset>(),
            Ok(ClockOffset(-2_000_000_000))
        );
    }

    #[test]
    fn display_round_trips_through_parse() {
        for n in [
            0,
            1,
            999,
            1_000,
            1_500,
            1_000_001,
            123_456_789_012,
            u64::MAX / 2,
        ] {
            let t = SimTime(n);
            assert_eq!(t.to_string().parse::<SimTime>(), Ok(t), "{t}");
        }
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime::MAX + SimTime(1), SimTime::MAX);
        assert_eq!(SimTime(1) - SimTime(5), SimTime::ZERO);
    }
}
