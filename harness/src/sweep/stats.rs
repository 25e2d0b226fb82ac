//! Mean and 95% confidence interval of a metric over a point's seeds.
//!
//! The interval is the Student t interval `mean ± t(0.975, n-1) · s / √n`, with `s`
//! the sample standard deviation: right for independent runs (distinct seeds) of a
//! metric whose per-run values are roughly normal, and conservative otherwise for the
//! handful of seeds a sweep usually has.

use serde::Serialize;

/// The two-sided 95% quantiles `t(0.975, df)` of Student's t for df = 1..=30.
const T_975: [f64; 30] = [
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010,
    2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687,
    2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/// Larger degrees of freedom: (df, quantile). Between rows, and beyond the last, the
/// quantile of the row below is used (it is the larger), so the interval errs on the
/// wide side, by at most 1% (t(0.975, ∞) = 1.9600).
const T_975_LARGE: [(u64, f64); 3] = [(40, 2.0211), (60, 2.0003), (120, 1.9799)];

/// `t(0.975, df)`, the multiplier of the standard error in a 95% interval (df ≥ 1).
pub fn t_975(df: u64) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T_975[df as usize - 1],
        _ => T_975_LARGE
            .iter()
            .rev()
            .find(|(at, _)| *at <= df)
            .map_or(T_975[29], |(_, t)| *t),
    }
}

/// A metric over the runs of one point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricStats {
    /// Runs that reported the metric.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (0 for one run).
    pub std_dev: f64,
    /// Half-width of the 95% confidence interval of the mean; `None` for one run.
    pub ci95: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl MetricStats {
    /// The statistics of `values` (at least one).
    pub fn of(values: &[f64]) -> MetricStats {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        let std_dev = var.sqrt();
        MetricStats {
            n,
            mean,
            std_dev,
            ci95: (n > 1).then(|| t_975(n as u64 - 1) * std_dev / (n as f64).sqrt()),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Student's t CDF by quadrature: with x = √df·tan θ the density becomes
    /// proportional to cos^(df-1) θ on (-π/2, π/2).
    fn t_cdf(t: f64, df: u64) -> f64 {
        let f = |theta: f64| theta.cos().powi(df as i32 - 1);
        let simpson = |a: f64, b: f64| {
            let steps = 20_000;
            let h = (b - a) / steps as f64;
            let inner: f64 = (1..steps)
                .map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
                .sum();
            (f(a) + f(b) + inner) * h / 3.0
        };
        let half = std::f64::consts::FRAC_PI_2;
        simpson(-half, (t / (df as f64).sqrt()).atan()) / simpson(-half, half)
    }

    #[test]
    fn the_t_table_matches_the_distribution() {
        for df in (1..=30).chain([40, 60, 120]) {
            let p = t_cdf(t_975(df), df);
            assert!((p - 0.975).abs() < 2e-5, "df {df}: cdf {p}");
        }
        // Between rows the quantile of the lower row: a little wider than exact.
        assert!(t_cdf(t_975(50), 50) > 0.975);
        assert_eq!(t_975(1_000_000), 1.9799);
    }

    #[test]
    fn stats_of_known_samples() {
        let s = MetricStats::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!((s.n, s.mean, s.min, s.max), (5, 3.0, 1.0, 5.0));
        assert!((s.std_dev - 2.5f64.sqrt()).abs() < 1e-12);
        let ci = s.ci95.unwrap();
        assert!((ci - 2.7764 * 2.5f64.sqrt() / 5f64.sqrt()).abs() < 1e-12);
        let one = MetricStats::of(&[4.0]);
        assert_eq!((one.mean, one.std_dev, one.ci95), (4.0, 0.0, None));
    }
}
