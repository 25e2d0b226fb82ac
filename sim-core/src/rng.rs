//! Per-component random streams.
//!
//! Every component draws from its own ChaCha8 stream, keyed by the master seed and the
//! component's stable name: each node (`node:NAME`), each node's network traffic
//! (`net:NAME`) and each link that keeps state (`link:A->B`). Adding a component
//! therefore never shifts the numbers any other component sees, and two runs with the
//! same seed draw the same numbers.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::convert::Infallible;
use xxhash_rust::xxh3::xxh3_64;

/// The random generator every component owns: ChaCha8, word for word the stream
/// `rand_chacha::ChaCha8Rng` gives for the same key and stream number, with a one-block
/// buffer.
///
/// It is written here rather than used from `rand_chacha` for its size: `ChaCha8Rng`
/// buffers four blocks (304 bytes a generator), this one a single block (128 bytes).
/// With a generator per node, the node streams of a 10,000-node run no longer overflow
/// the L2 cache, which made the PHOLD benchmark about a third slower. `rand_chacha`
/// still derives the key, and a test checks the two streams agree.
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct SimRng {
    /// Next unread word of the block (16: the block is used up).
    index: u32,
    /// Words 1 to 15 of the current block. With `index` they fill the first cache line,
    /// the only one most draws read.
    rest: [u32; 15],
    /// Word 0 of the current block. It is read right after the refill that writes it,
    /// so it shares the second line with the key, which only a refill reads: at 10,000
    /// PHOLD LPs a draw then reads a node's second line on one visit in four, not on
    /// every visit (the event loop still warms both lines; see `prefetch`).
    first: u32,
    /// Block counter.
    counter: u64,
    /// Stream number (ChaCha's nonce).
    stream: u64,
    /// The 256-bit key.
    key: [u32; 8],
}

/// One ChaCha quarter round.
#[inline(always)]
fn quarter_round(x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(16);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(12);
    x[a] = x[a].wrapping_add(x[b]);
    x[d] = (x[d] ^ x[a]).rotate_left(8);
    x[c] = x[c].wrapping_add(x[d]);
    x[b] = (x[b] ^ x[c]).rotate_left(7);
}

impl SimRng {
    /// The stream `stream` under the 32-byte `key`, at block 0.
    pub fn new(key: [u8; 32], stream: u64) -> Self {
        let mut words = [0u32; 8];
        for (w, bytes) in words.iter_mut().zip(key.chunks_exact(4)) {
            *w = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        SimRng {
            index: 16,
            rest: [0; 15],
            first: 0,
            counter: 0,
            stream,
            key: words,
        }
    }

    /// Compute the next block (8 rounds: 4 double rounds).
    #[inline(never)]
    fn refill(&mut self) {
        let k = &self.key;
        let input: [u32; 16] = [
            0x6170_7865,
            0x3320_646e,
            0x7962_2d32,
            0x6b20_6574,
            k[0],
            k[1],
            k[2],
            k[3],
            k[4],
            k[5],
            k[6],
            k[7],
            self.counter as u32,
            (self.counter >> 32) as u32,
            self.stream as u32,
            (self.stream >> 32) as u32,
        ];
        let mut x = input;
        for _ in 0..4 {
            quarter_round(&mut x, 0, 4, 8, 12);
            quarter_round(&mut x, 1, 5, 9, 13);
            quarter_round(&mut x, 2, 6, 10, 14);
            quarter_round(&mut x, 3, 7, 11, 15);
            quarter_round(&mut x, 0, 5, 10, 15);
            quarter_round(&mut x, 1, 6, 11, 12);
            quarter_round(&mut x, 2, 7, 8, 13);
            quarter_round(&mut x, 3, 4, 9, 14);
        }
        self.first = x[0].wrapping_add(input[0]);
        for (out, (mixed, orig)) in self.rest.iter_mut().zip(x[1..].iter().zip(&input[1..])) {
            *out = mixed.wrapping_add(*orig);
        }
        self.counter = self.counter.wrapping_add(1);
        self.index = 0;
    }

    #[inline(always)]
    fn word(&mut self) -> u32 {
        if self.index >= 16 {
            self.refill();
        }
        let i = self.index as usize;
        self.index += 1;
        match i.checked_sub(1) {
            None => self.first,
            Some(r) => self.rest[r],
        }
    }
}

impl rand::TryRng for SimRng {
    type Error = Infallible;

    #[inline(always)]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.word())
    }

    #[inline(always)]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        // Words 1 to 15 lie side by side in `rest`.
        if let Some(r) = (self.index as usize).checked_sub(1)
            && r < 14
        {
            self.index += 2;
            return Ok(u64::from(self.rest[r]) | (u64::from(self.rest[r + 1]) << 32));
        }
        let lo = self.word();
        let hi = self.word();
        Ok(u64::from(lo) | (u64::from(hi) << 32))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(4) {
            let w = self.word().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

/// The stream for the component called `name` under `master_seed`.
///
/// The seed picks the key (expanded as `rand_chacha` expands a `u64` seed); a 64-bit hash
/// of the name picks the ChaCha stream, so streams of different components never
/// overlap.
pub fn component_rng(master_seed: u64, name: &str) -> SimRng {
    let key = ChaCha8Rng::seed_from_u64(master_seed).get_seed();
    SimRng::new(key, xxh3_64(name.as_bytes()))
}

/// A uniform draw in [0, 1) with 53 bits of precision, identical on every platform.
#[inline]
pub fn unit_f64(rng: &mut SimRng) -> f64 {
    use rand::Rng;
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// True with probability `p` (exactly never for 0, always for 1).
#[inline]
pub fn chance(rng: &mut SimRng, p: f64) -> bool {
    p > 0.0 && (p >= 1.0 || unit_f64(rng) < p)
}

/// An exponential draw with the given mean (ziggurat, `rand_distr::Exp1`: no logarithm on
/// the common path; finite).
#[inline]
pub fn exponential(rng: &mut SimRng, mean: f64) -> f64 {
    use rand::RngExt;
    mean * rng.sample::<f64, _>(rand_distr::Exp1)
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

    /// Word for word the stream of `rand_chacha::ChaCha8Rng`, across block boundaries
    /// and with 32- and 64-bit draws mixed (so a u64 straddles blocks too).
    #[test]
    fn identical_to_rand_chacha() {
        for (seed, name) in [(42, "node:lp-0"), (42, "node:lp-77"), (7, "link:a->b")] {
            let mut reference = ChaCha8Rng::seed_from_u64(seed);
            reference.set_stream(xxh3_64(name.as_bytes()));
            let mut ours = component_rng(seed, name);
            for i in 0..10_000 {
                if i % 3 == 0 {
                    assert_eq!(reference.next_u32(), ours.next_u32(), "{name} draw {i}");
                } else {
                    assert_eq!(reference.next_u64(), ours.next_u64(), "{name} draw {i}");
                }
            }
        }
    }

    #[test]
    fn a_generator_fits_two_cache_lines() {
        assert_eq!(std::mem::size_of::<SimRng>(), 128);
    }

    /// A draw of words 1 to 15 reads the first line alone; the refill, which reads the
    /// key, writes word 0 in the second.
    #[test]
    fn most_draws_read_one_cache_line() {
        use std::mem::{offset_of, size_of};
        assert_eq!(std::mem::align_of::<SimRng>(), 64);
        assert!(offset_of!(SimRng, index) + size_of::<u32>() <= 64);
        assert!(offset_of!(SimRng, rest) + size_of::<[u32; 15]>() <= 64);
        assert!(offset_of!(SimRng, first) >= 64);
        assert!(offset_of!(SimRng, key) >= 64);
    }

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
