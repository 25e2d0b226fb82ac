//! Node-local clocks: true time seen through drift (in parts per billion) and jumps.
//!
//! A node reads its local clock and sets timers in local time; the kernel converts to
//! true time, so a node whose clock runs fast fires its timers early in true time. All of
//! it is integer arithmetic.

use crate::time::SimTime;

/// One node's clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalClock {
    /// True time of the last change of rate or offset.
    base_true: u64,
    /// Local reading at `base_true` (may be negative after a jump back).
    base_local: i128,
    /// Rate error in parts per billion.
    drift_ppb: i64,
    /// The sum of all jumps so far: the monotonic clock leaves them out.
    jumped: i128,
}

/// `ns` as a `SimTime`, clamped to its range.
fn saturating_time(ns: i128) -> SimTime {
    SimTime(ns.clamp(0, i128::from(u64::MAX)) as u64)
}

impl LocalClock {
    /// The local reading at true time `now`.
    pub fn read(&self, now: SimTime) -> i128 {
        let elapsed = i128::from(now.0 - self.base_true);
        // Rounded down (also for slow clocks), so that readings and `true_duration`
        // agree: a timer never fires before the clock shows its deadline.
        self.base_local + elapsed + (elapsed * i128::from(self.drift_ppb)).div_euclid(1_000_000_000)
    }

    /// The local reading as a `SimTime`, clamped at zero.
    pub fn now(&self, now: SimTime) -> SimTime {
        saturating_time(self.read(now))
    }

    /// The monotonic reading at true time `now`: the local clock without its jumps, so
    /// it runs at the drifting rate and never steps (what `CLOCK_MONOTONIC` gives a
    /// process while an operator or NTP steps the wall clock).
    pub fn monotonic(&self, now: SimTime) -> SimTime {
        saturating_time(self.read(now) - self.jumped)
    }

    /// From `now` on, run fast or slow by `ppm` parts per million.
    pub fn set_drift_ppm(&mut self, now: SimTime, ppm: f64) {
        self.rebase(now);
        self.drift_ppb = (ppm * 1000.0).round() as i64;
    }

    /// Step the reading by `by_ns` (negative steps back).
    pub fn jump(&mut self, now: SimTime, by_ns: i64) {
        self.rebase(now);
        self.base_local += i128::from(by_ns);
        self.jumped += i128::from(by_ns);
    }

    /// The true duration that elapses while this clock advances by `local`.
    pub fn true_duration(&self, local: SimTime) -> SimTime {
        let rate = (1_000_000_000i128 + i128::from(self.drift_ppb)).max(1);
        // Rounded up: the clock must have advanced at least `local` by then.
        let ns = (i128::from(local.0) * 1_000_000_000 + rate - 1).div_euclid(rate);
        saturating_time(ns)
    }

    fn rebase(&mut self, now: SimTime) {
        self.base_local = self.read(now);
        self.base_true = now.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_and_jump() {
        let mut c = LocalClock::default();
        assert_eq!(c.now(SimTime::from_secs(1)), SimTime::from_secs(1));
        c.set_drift_ppm(SimTime::from_secs(1), 100.0);
        // One true second later the clock has gained 100 us.
        assert_eq!(c.now(SimTime::from_secs(2)), SimTime(2_000_100_000));
        assert_eq!(c.monotonic(SimTime::from_secs(2)), SimTime(2_000_100_000));
        c.jump(SimTime::from_secs(2), -500_000_000);
        assert_eq!(c.now(SimTime::from_secs(2)), SimTime(1_500_100_000));
        // The monotonic clock leaves the step out and keeps the drift.
        assert_eq!(c.monotonic(SimTime::from_secs(2)), SimTime(2_000_100_000));
        c.jump(SimTime::from_secs(3), 2_000_000_000);
        assert_eq!(c.now(SimTime::from_secs(3)), SimTime(4_500_200_000));
        assert_eq!(c.monotonic(SimTime::from_secs(3)), SimTime(3_000_200_000));
        // A fast clock reaches a local 1 s in less than a true second.
        assert!(c.true_duration(SimTime::from_secs(1)) < SimTime::from_secs(1));
    }
}
