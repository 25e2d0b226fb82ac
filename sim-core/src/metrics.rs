//! Metrics a run records: counters, gauges and samples, summarised for JSON output.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One named metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Metric {
    /// A running total.
    Counter(f64),
    /// The latest value of something.
    Gauge(f64),
    /// Every observed value, summarised at the end (latencies, sizes).
    Samples(Vec<f64>),
    /// Running totals by label (responses by status code, drops by reason), shown as
    /// one JSON object.
    Tally(BTreeMap<String, f64>),
    /// A table of numbers written out whole (a tree's edges as `[a, b, weight]`).
    Rows(Vec<Vec<f64>>),
}

/// The summary of a sample set, as it appears in JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Number of samples.
    pub count: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Smallest sample.
    pub min: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
}

impl Summary {
    /// Summarise `samples` (an empty set gives zeros and count 0).
    pub fn of(samples: &[f64]) -> Summary {
        if samples.is_empty() {
            return Summary {
                count: 0,
                mean: 0.0,
                min: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                max: 0.0,
            };
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let rank = |q: f64| s[((q * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1];
        Summary {
            count: s.len(),
            mean: s.iter().sum::<f64>() / s.len() as f64,
            min: s[0],
            p50: rank(0.5),
            p90: rank(0.9),
            p99: rank(0.99),
            max: s[s.len() - 1],
        }
    }
}

/// All metrics of a run, by name (sorted, so output order is stable).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Metrics {
    values: BTreeMap<String, Metric>,
}

impl Metrics {
    /// Add `by` to the counter `name` (created at zero).
    pub fn add(&mut self, name: &str, by: f64) {
        match self.values.get_mut(name) {
            Some(Metric::Counter(v)) => *v += by,
            _ => {
                self.values.insert(name.to_owned(), Metric::Counter(by));
            }
        }
    }

    /// Set the gauge `name`.
    pub fn set(&mut self, name: &str, value: f64) {
        match self.values.get_mut(name) {
            Some(Metric::Gauge(v)) => *v = value,
            _ => {
                self.values.insert(name.to_owned(), Metric::Gauge(value));
            }
        }
    }

    /// Record one sample of `name`.
    pub fn observe(&mut self, name: &str, value: f64) {
        match self.values.get_mut(name) {
            Some(Metric::Samples(v)) => v.push(value),
            _ => {
                self.values
                    .insert(name.to_owned(), Metric::Samples(vec![value]));
            }
        }
    }

    /// Add `by` to the `label` entry of the tally `name` (both created at zero).
    pub fn add_to(&mut self, name: &str, label: &str, by: f64) {
        match self.values.get_mut(name) {
            Some(Metric::Tally(t)) => match t.get_mut(label) {
                Some(count) => *count += by,
                None => {
                    t.insert(label.to_owned(), by);
                }
            },
            _ => {
                let tally = BTreeMap::from([(label.to_owned(), by)]);
                self.values.insert(name.to_owned(), Metric::Tally(tally));
            }
        }
    }

    /// Set the table `name` (replacing any earlier one).
    pub fn set_rows(&mut self, name: &str, rows: Vec<Vec<f64>>) {
        self.values.insert(name.to_owned(), Metric::Rows(rows));
    }

    /// The metric called `name`.
    pub fn get(&self, name: &str) -> Option<&Metric> {
        self.values.get(name)
    }

    /// A counter's or gauge's value (0 when absent; a sample set gives its mean, a tally
    /// its total, a table its number of rows).
    pub fn value(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(Metric::Counter(v) | Metric::Gauge(v)) => *v,
            Some(Metric::Samples(s)) => Summary::of(s).mean,
            Some(Metric::Tally(t)) => t.values().sum(),
            Some(Metric::Rows(r)) => r.len() as f64,
            None => 0.0,
        }
    }

    /// Every metric in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Metric)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Merge `other` into `self` (counters and tallies add, gauges and tables from
    /// `other` win, samples append).
    pub fn merge(&mut self, other: &Metrics) {
        for (name, m) in other.iter() {
            match m {
                Metric::Counter(v) => self.add(name, *v),
                Metric::Gauge(v) => self.set(name, *v),
                Metric::Samples(s) => s.iter().for_each(|x| self.observe(name, *x)),
                Metric::Tally(t) => t.iter().for_each(|(l, v)| self.add_to(name, l, *v)),
                Metric::Rows(r) => self.set_rows(name, r.clone()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_count_by_label_and_merge_by_adding() {
        let mut a = Metrics::default();
        a.add_to("status", "200", 2.0);
        a.add_to("status", "404", 1.0);
        let mut b = Metrics::default();
        b.add_to("status", "200", 1.0);
        a.merge(&b);
        let Some(Metric::Tally(t)) = a.get("status") else {
            panic!("not a tally")
        };
        assert_eq!(t.get("200"), Some(&3.0));
        assert_eq!(t.get("404"), Some(&1.0));
        assert_eq!(a.value("status"), 4.0);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = Summary::of(&xs);
        assert_eq!((s.p50, s.p90, s.p99, s.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(s.mean, 50.5);
    }
}
