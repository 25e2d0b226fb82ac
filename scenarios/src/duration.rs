//! Durations as scenario files write them: `"150ms"`, `"2s"`, `"1h 30m"`.
//!
//! Simulated time is an integer number of nanoseconds ([`SimTime`]); people write
//! durations with units. [`Duration`] is the bridge: it deserializes from such a string,
//! serializes back to the canonical form [`SimTime`]'s `Display` prints (`"1.5s"`), and
//! turns every mistake into a message that says what to write instead.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};
use sim_core::SimTime;
use std::fmt;
use std::str::FromStr;

/// A span of simulated time written as a human duration string in a scenario file.
///
/// Wraps [`SimTime`] so schema structs can say `timeout: Duration` and get parsing,
/// validation and error messages for free; convert with `SimTime::from(d)` or `d.0`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub SimTime);

/// The units [`Duration`] understands, as listed in error messages.
const UNITS: &str = "ns, us, ms, s, m, h";

/// What `Deserialize` tells the user it wanted when it got something that is not a string.
const EXPECTED: &str = "a duration string such as \"150ms\", \"2s\" or \"1h\"";

impl Duration {
    /// Parses a duration string: one or more `<number><unit>` parts, optionally separated
    /// by spaces (`"1h 30m"`), where the number may have a fraction (`"1.5s"`).
    ///
    /// Every unit of `humantime` is accepted (`ns`, `us`, `µs`, `ms`, `s`, `m`, `min`,
    /// `h`, `d`, ...), and so is a bare `"0"`. The error is a complete sentence for the
    /// user, quoting the input.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(format!(
                "a duration cannot be empty: {text:?}; write e.g. \"0s\" or \"150ms\""
            ));
        }
        if trimmed.starts_with('-') {
            return Err(format!("a duration cannot be negative: {text:?}"));
        }
        let mut total: u64 = 0;
        for part in parts(trimmed) {
            let span = humantime::parse_duration(part).map_err(|e| explain(text, part, e))?;
            total = u64::try_from(span.as_nanos())
                .ok()
                .and_then(|nanos| total.checked_add(nanos))
                .ok_or_else(|| too_large(text))?;
        }
        Ok(Duration(SimTime(total)))
    }
}

/// Splits `"1h 30m"` or `"1h30m"` into `["1h", "30m"]`: a new part starts at a digit that
/// follows a unit.
///
/// `humantime` could parse the whole string, but it panics (inside `std::time::Duration::new`)
/// on a few sums near `u64::MAX` seconds; one part at a time it cannot get there, and the
/// sum is checked here instead.
fn parts(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_unit = false;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() && in_unit {
            parts.push(text[start..i].trim());
            start = i;
            in_unit = false;
        } else if c.is_alphabetic() {
            in_unit = true;
        }
    }
    parts.push(text[start..].trim());
    parts
}

/// Turns a `humantime` error on `part` of the user's `text` into a sentence.
fn explain(text: &str, part: &str, error: humantime::DurationError) -> String {
    use humantime::DurationError as E;
    match error {
        E::UnknownUnit { unit, .. } if unit.is_empty() => {
            let number = part.trim_end();
            format!("duration {text:?} needs a unit ({UNITS}), e.g. \"{number}s\"")
        }
        E::UnknownUnit { unit, .. } => {
            format!("unknown unit {unit:?} in duration {text:?}; use one of {UNITS}")
        }
        E::InvalidCharacter(at) | E::NumberExpected(at) => match part[at..].chars().next() {
            Some(c) => format!(
                "unexpected {c:?} in duration {text:?}; write a number and a unit, e.g. \"150ms\""
            ),
            None => format!("duration {text:?} is incomplete; write e.g. \"1.5s\""),
        },
        E::NumberOverflow if part.contains('.') => format!(
            "duration {text:?} is too large or finer than a nanosecond, \
             the smallest step of simulated time"
        ),
        E::NumberOverflow => too_large(text),
        E::Empty => format!("duration {text:?} is incomplete; write e.g. \"1.5s\""),
    }
}

/// The message for a duration past [`SimTime::MAX`].
fn too_large(text: &str) -> String {
    format!(
        "duration {text:?} is too large; the longest is {} (about 584 years)",
        SimTime::MAX
    )
}

impl FromStr for Duration {
    type Err = String;

    /// Same as [`Duration::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse(s)
    }
}

impl fmt::Display for Duration {
    /// The canonical form, as [`SimTime`] prints it (`"150ms"`, `"1.5s"`); parses back
    /// to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<Duration> for SimTime {
    fn from(d: Duration) -> SimTime {
        d.0
    }
}

impl From<SimTime> for Duration {
    fn from(t: SimTime) -> Duration {
        Duration(t)
    }
}

impl Serialize for Duration {
    /// Writes the canonical string, so a saved scenario reads like a hand-written one.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    /// Reads a duration string. Uses `deserialize_any` so that a number in the file is
    /// reported as "expected a duration string such as ..., found the number 5" instead
    /// of a bare "expected string".
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// serde visitor behind `Duration`'s `Deserialize`: accepts strings only.
struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
        Duration::parse(s).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn parse(s: &str) -> Result<u64, String> {
        Duration::parse(s).map(|d| d.0.as_nanos())
    }

    #[test]
    fn parses_every_unit_and_combinations() {
        let cases: &[(&str, u64)] = &[
            ("10ns", 10),
            ("250us", 250_000),
            ("250µs", 250_000),
            ("150ms", 150_000_000),
            ("2s", 2_000_000_000),
            ("1m", 60_000_000_000),
            ("1h", 3_600_000_000_000),
            ("1h 30m", 5_400_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("1s 500ms", 1_500_000_000),
            ("0s", 0),
            ("0", 0),
            ("  2s  ", 2_000_000_000),
            ("1.5s", 1_500_000_000),
            ("1.000001ms", 1_000_001),
            ("0.5us", 500),
            ("18446744073.709551615s", u64::MAX),
            ("18446744073709551615ns", u64::MAX),
        ];
        for &(text, nanos) in cases {
            assert_eq!(parse(text), Ok(nanos), "{text}");
        }
    }

    #[test]
    fn errors_say_what_to_write() {
        let cases: &[(&str, &str)] = &[
            ("-5s", r#"a duration cannot be negative: "-5s""#),
            (
                "5",
                r#"duration "5" needs a unit (ns, us, ms, s, m, h), e.g. "5s""#,
            ),
            (
                "1.5",
                r#"duration "1.5" needs a unit (ns, us, ms, s, m, h), e.g. "1.5s""#,
            ),
            (
                "1h 30",
                r#"duration "1h 30" needs a unit (ns, us, ms, s, m, h), e.g. "30s""#,
            ),
            (
                "5 parsecs",
                r#"unknown unit "parsecs" in duration "5 parsecs"; use one of ns, us, ms, s, m, h"#,
            ),
            (
                "",
                r#"a duration cannot be empty: ""; write e.g. "0s" or "150ms""#,
            ),
            (
                "5s!",
                r#"unexpected '!' in duration "5s!"; write a number and a unit, e.g. "150ms""#,
            ),
            (
                "ms",
                r#"unexpected 'm' in duration "ms"; write a number and a unit, e.g. "150ms""#,
            ),
            (
                "18446744074s",
                r#"duration "18446744074s" is too large; the longest is 18446744073.709551615s (about 584 years)"#,
            ),
            (
                "18446744073s 1s",
                r#"duration "18446744073s 1s" is too large; the longest is 18446744073.709551615s (about 584 years)"#,
            ),
            (
                "0.5ns",
                r#"duration "0.5ns" is too large or finer than a nanosecond, the smallest step of simulated time"#,
            ),
        ];
        for &(text, message) in cases {
            assert_eq!(parse(text), Err(message.to_string()), "{text}");
        }
    }

    #[test]
    fn no_panic_where_humantime_alone_would() {
        // One string that made `humantime::parse_duration` panic: u64::MAX seconds plus
        // a carry of exactly one second from the sub-second part.
        let text = "18446744073709551615s 1000ms";
        assert!(parse(text).unwrap_err().contains("too large"));
    }

    /// splitmix64: a fixed sequence of well-spread test values, no dependencies.
    fn spread(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn display_round_trips_for_many_values() {
        let mut values = vec![0, 1, 999, 1_000, 1_001, u64::MAX, u64::MAX - 1];
        for shift in 0..64 {
            let p = 1u64 << shift;
            values.extend([p - 1, p, p + 1]);
        }
        for exp in 0..20 {
            let p = 10u64.pow(exp);
            values.extend([p - 1, p, p + 1, p.saturating_mul(15)]);
        }
        let mut seed = 7;
        for _ in 0..20_000 {
            let v = spread(&mut seed);
            // Spread over all magnitudes, not just the huge ones.
            values.push(v >> (v % 64));
        }
        for v in values {
            let d = Duration(SimTime(v));
            let text = d.to_string();
            assert_eq!(text.parse::<Duration>(), Ok(d), "{v} printed as {text}");
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Timer {
        after: Duration,
    }

    #[test]
    fn deserializes_from_ron_strings_only() {
        let timer: Timer = ron::from_str(r#"(after: "1h 30m")"#).unwrap();
        assert_eq!(timer.after, Duration(SimTime::from_secs(5400)));

        let err = ron::from_str::<Timer>("(after: 5)").unwrap_err();
        assert_eq!(
            err.code.to_string(),
            r#"Expected a duration string such as "150ms", "2s" or "1h" but found the unsigned integer `5` instead"#
        );
        let err = ron::from_str::<Timer>("(after: 1.5)").unwrap_err();
        assert!(err.code.to_string().contains("found the floating point number `1.5`"));

        let err = ron::from_str::<Timer>(r#"(after: "-5s")"#).unwrap_err();
        assert_eq!(err.code.to_string(), r#"a duration cannot be negative: "-5s""#);
    }

    #[test]
    fn serializes_to_the_canonical_string() {
        let d = Duration(SimTime::from_millis(1500));
        assert_eq!(ron::to_string(&d).unwrap(), r#""1.5s""#);
        let back: Duration = ron::from_str(&ron::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        assert_eq!(SimTime::from(d), SimTime::from_millis(1500));
    }
}
