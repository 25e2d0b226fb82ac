//! Sampling what a link does to messages, so presets can be checked against the figures
//! they were fitted to (and so other crates' tests can do the same).
//!
//! The samples come from the real network model ([`sim_core::Network::transmit`]), not
//! from the latency distribution alone, so jitter, serialization delay and loss are
//! included exactly as a simulation would apply them.

use sim_core::network::Transmission;
use sim_core::{LinkParams, Network, SimTime};

/// Round-trip times of `n` request/reply exchanges of `size` bytes each way over a link
/// whose two directions both have `params` (the reply leaves the moment the request
/// arrives). Exchanges that lose either message are left out, so the result may hold
/// fewer than `n` values. Exchanges are 1000 s apart, so no exchange queues behind
/// another. The same `seed` gives the same samples.
pub fn sample_rtts(params: &LinkParams, size: u32, n: usize, seed: u64) -> Vec<SimTime> {
    sample_rtts_asymmetric(params, params, size, n, seed)
}

/// [`sample_rtts`] with different parameters for the request direction (`there`) and the
/// reply direction (`back`), as for a PC pinging a sleeping ESP32.
pub fn sample_rtts_asymmetric(
    there: &LinkParams,
    back: &LinkParams,
    size: u32,
    n: usize,
    seed: u64,
) -> Vec<SimTime> {
    let mut net = Network::new(seed, there.clone());
    let (a, b) = (net.add_node("a"), net.add_node("b"));
    net.set_link(b, a, back.clone());
    let gap = SimTime::from_secs(1000);
    let mut out = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let sent = SimTime(gap.0 * i);
        let Transmission::Deliver { at, .. } = net.transmit(sent, a, b, size, || "there".into())
        else {
            continue;
        };
        let Transmission::Deliver { at: back_at, .. } =
            net.transmit(at, b, a, size, || "back".into())
        else {
            continue;
        };
        out.push(back_at - sent);
    }
    out
}

/// One-way delays of `n` messages of `size` bytes over a link with `params`, 1000 s apart;
/// lost messages are left out.
pub fn sample_one_way(params: &LinkParams, size: u32, n: usize, seed: u64) -> Vec<SimTime> {
    let mut net = Network::new(seed, params.clone());
    let (a, b) = (net.add_node("a"), net.add_node("b"));
    let gap = SimTime::from_secs(1000);
    (0..n as u64)
        .filter_map(|i| {
            let sent = SimTime(gap.0 * i);
            match net.transmit(sent, a, b, size, || "one-way".into()) {
                Transmission::Deliver { at, .. } => Some(at - sent),
                Transmission::Drop(_) => None,
            }
        })
        .collect()
}

/// The times in milliseconds, sorted ascending (ready for [`quantile`]).
pub fn sorted_ms(times: &[SimTime]) -> Vec<f64> {
    let mut v: Vec<f64> = times.iter().map(|t| t.as_millis_f64()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The `q`-quantile (0 <= q <= 1) of ascending `sorted` values, by linear interpolation
/// between the two nearest ranks; NaN for an empty slice.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Population standard deviation; NaN for an empty slice.
pub fn std_dev(values: &[f64]) -> f64 {
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
}

/// Whether `actual` is within the relative `tolerance` of `expected` (0.05 = 5 %).
pub fn within(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance * expected.abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Latency;

    #[test]
    fn quantile_interpolates() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.875), 4.5);
        assert_eq!(quantile(&v, 1.0), 5.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn constant_link_round_trip_is_twice_the_delay() {
        let params = LinkParams {
            latency: Latency::Constant(SimTime::from_millis(3)),
            ..LinkParams::default()
        };
        let rtts = sample_rtts(&params, 64, 10, 1);
        assert_eq!(rtts, vec![SimTime::from_millis(6); 10]);
    }
}
