//! Per-component random streams.
//!
//! Every node and every link draws from its own ChaCha8 stream, keyed by the master seed
//! and the component's stable name. Adding a component therefore never shifts the numbers
//! any other component sees, and two runs with the same seed draw the same numbers.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use xxhash_rust::xxh3::xxh3_64;

/// The random generator every component owns (ChaCha8: fast, portable, reproducible).
pub type SimRng = ChaCha8Rng;

/// The stream for the component called `name` under `master_seed`.
///
/// The seed picks the key; a 64-bit hash of the name picks the ChaCha stream, so streams
/// of different components never overlap.
pub fn component_rng(master_seed: u64, name: &str) -> SimRng {
    let mut rng = ChaCha8Rng::seed_from_u64(master_seed);
    rng.set_stream(xxh3_64(name.as_bytes()));
    rng
}

/// A uniform draw in [0, 1) with 53 bits of precision, identical on every platform.
pub fn unit_f64(rng: &mut SimRng) -> f64 {
    use rand::Rng;
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// True with probability `p` (exactly never for 0, always for 1).
pub fn chance(rng: &mut SimRng, p: f64) -> bool {
    p > 0.0 && (p >= 1.0 || unit_f64(rng) < p)
}

/// An exponential draw with the given mean (inverse transform; never infinite).
pub fn exponential(rng: &mut SimRng, mean: f64) -> f64 {
    -mean * (1.0 - unit_f64(rng)).ln()
}

/// A gamma draw with the given shape `k > 0` and scale `theta` (Marsaglia and Tsang
/// 2000; shapes below 1 use the boost `G(k) = G(k + 1) * U^(1/k)`).
pub fn gamma(rng: &mut SimRng, shape: f64, scale: f64) -> f64 {
    if shape < 1.0 {
        let boost = (1.0 - unit_f64(rng)).powf(1.0 / shape);
        return gamma(rng, shape + 1.0, scale) * boost;
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = standard_normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = 1.0 - unit_f64(rng);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v * scale;
        }
    }
}

/// A standard normal draw (Box-Muller; one of the pair, so a draw costs two uniforms).
pub fn standard_normal(rng: &mut SimRng) -> f64 {
    let u1 = 1.0 - unit_f64(rng);
    let u2 = unit_f64(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_depend_on_seed_and_name_only() {
        let a1 = component_rng(7, "node:a").next_u64();
        let a2 = component_rng(7, "node:a").next_u64();
        let b = component_rng(7, "node:b").next_u64();
        let a_other_seed = component_rng(8, "node:a").next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, a_other_seed);
    }

    #[test]
    fn exponential_mean_matches() {
        let mut rng = component_rng(1, "exp");
        let n = 200_000;
        let mean: f64 = (0..n).map(|_| exponential(&mut rng, 3.0)).sum::<f64>() / n as f64;
        assert!((mean - 3.0).abs() < 0.03, "mean {mean}");
    }

    #[test]
    fn gamma_moments_match() {
        for (shape, scale) in [(2.5, 1.0), (0.5, 2.0)] {
            let mut rng = component_rng(1, "gamma");
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| gamma(&mut rng, shape, scale)).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            assert!((mean / (shape * scale) - 1.0).abs() < 0.01, "mean {mean}");
            assert!(
                (var / (shape * scale * scale) - 1.0).abs() < 0.03,
                "var {var}"
            );
        }
    }

    #[test]
    fn normal_moments_match() {
        let mut rng = component_rng(1, "normal");
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
    }
}
