//! How a run's cost grows with its size: a least-squares fit of `log(wall) = a + b
//! log(n)` over measured points, so that `wall ~ n^b`, and the log-log chart of
//! wall time against size (`examples/scaling.rs` draws it from `dsim bench system`
//! output).

/// The fitted power law `wall = c * n^exponent`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerLaw {
    /// The exponent `b`: 1 is linear, 2 quadratic.
    pub exponent: f64,
    /// The constant `c` (seconds at `n = 1`).
    pub coefficient: f64,
}

impl PowerLaw {
    /// Predicted wall time at size `n`.
    pub fn predict(&self, n: f64) -> f64 {
        self.coefficient * n.powf(self.exponent)
    }
}

/// Least squares on `(ln n, ln wall)`; `None` with fewer than two distinct sizes or a
/// non-positive value.
pub fn fit(points: &[(f64, f64)]) -> Option<PowerLaw> {
    if points.iter().any(|&(n, w)| n <= 0.0 || w <= 0.0) {
        return None;
    }
    let logs: Vec<(f64, f64)> = points.iter().map(|&(n, w)| (n.ln(), w.ln())).collect();
    let k = logs.len() as f64;
    let mx = logs.iter().map(|p| p.0).sum::<f64>() / k;
    let my = logs.iter().map(|p| p.1).sum::<f64>() / k;
    let sxx: f64 = logs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = logs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let exponent = sxy / sxx;
    Some(PowerLaw {
        exponent,
        coefficient: (my - exponent * mx).exp(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_power_law() {
        let points: Vec<_> = [10.0, 100.0, 1000.0, 1e4]
            .map(|n: f64| (n, 3e-6 * n.powf(1.3)))
            .to_vec();
        let law = fit(&points).unwrap();
        assert!((law.exponent - 1.3).abs() < 1e-9);
        assert!((law.coefficient - 3e-6).abs() < 1e-15);
        assert!((law.predict(1e5) - 3e-6 * 1e5f64.powf(1.3)).abs() < 1e-9);
    }

    #[test]
    fn refuses_degenerate_input() {
        assert_eq!(fit(&[(10.0, 1.0), (10.0, 2.0)]), None);
        assert_eq!(fit(&[(10.0, 0.0), (100.0, 2.0)]), None);
    }
}
