//! Key metrics over simulated time: what `dsim run --report` draws as time series.
//!
//! The runner already runs a scenario in slices of simulated time (for its progress
//! bar); when a report is asked for, a [`TimelineRecorder`] looks at the system's key
//! metrics ([`dsim_system::System::KEY_METRICS`]) and the network's message
//! count at the end of every slice. Reading metrics between slices changes nothing in
//! the run: the fingerprint is the same with and without a timeline.

use serde::{Deserialize, Serialize};
use sim_core::{Metric, Metrics, SimTime};
use std::collections::BTreeMap;

/// The network counter every timeline includes, whatever the system.
pub const MESSAGES_SENT: &str = "net.messages_sent";

/// How a series' values are read from its metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    /// A counter, or one label of a tally: its increase per second of simulated time
    /// over each slice.
    Rate,
    /// A gauge: its value at the end of each slice.
    Level,
    /// A sample set: the mean of the values recorded during each slice (a slice that
    /// recorded none has no point).
    Mean,
}

/// One metric, or one label of a tally, over the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeSeries {
    /// The metric's name.
    pub metric: String,
    /// The tally's label (a node's name, say), for a tally.
    pub label: Option<String>,
    /// How the values are read.
    pub kind: SeriesKind,
    /// (start of the slice in seconds, value over the slice), in time order.
    pub points: Vec<(f64, f64)>,
}

/// Where one series stands: what it was at the end of the last slice, and its points.
struct Tracked {
    /// The counter's value, or the sample set's length, at the last sample.
    last: f64,
    series: TimeSeries,
}

/// Samples named metrics at the ends of slices and turns them into [`TimeSeries`].
pub struct TimelineRecorder {
    names: Vec<String>,
    slice_start: SimTime,
    tracked: BTreeMap<(String, Option<String>), Tracked>,
}

impl TimelineRecorder {
    /// A recorder of the metrics called `names` (those that never appear during the
    /// run, such as metrics a system computes only at the end, give no series).
    pub fn new(names: &[&str]) -> TimelineRecorder {
        TimelineRecorder {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            slice_start: SimTime::ZERO,
            tracked: BTreeMap::new(),
        }
    }

    /// Record the slice that ends at `now`, reading each name from the first of
    /// `sources` that has it.
    pub fn sample(&mut self, now: SimTime, sources: &[&Metrics]) {
        let seconds = (now - self.slice_start).as_secs_f64();
        if seconds <= 0.0 {
            return;
        }
        let at = self.slice_start.as_secs_f64();
        for name in &self.names {
            let Some(metric) = sources.iter().find_map(|m| m.get(name)) else {
                continue;
            };
            let tracked = &mut self.tracked;
            let mut rate = |label: Option<&str>, total: f64| {
                let t = track(tracked, name, label, SeriesKind::Rate);
                t.series.points.push((at, (total - t.last) / seconds));
                t.last = total;
            };
            match metric {
                Metric::Counter(x) => rate(None, *x),
                Metric::Tally(tally) => {
                    for (label, x) in tally {
                        rate(Some(label), *x);
                    }
                }
                Metric::Gauge(x) => {
                    let t = track(tracked, name, None, SeriesKind::Level);
                    t.series.points.push((at, *x));
                }
                Metric::Samples(values) => {
                    let t = track(tracked, name, None, SeriesKind::Mean);
                    let new = &values[(t.last as usize).min(values.len())..];
                    if !new.is_empty() {
                        let mean = new.iter().sum::<f64>() / new.len() as f64;
                        t.series.points.push((at, mean));
                    }
                    t.last = values.len() as f64;
                }
                Metric::Rows(_) => {}
            }
        }
        self.slice_start = now;
    }

    /// The series, by metric name (in the order the names were given) and label.
    pub fn finish(self) -> Vec<TimeSeries> {
        let mut series: Vec<TimeSeries> = self.tracked.into_values().map(|t| t.series).collect();
        let rank = |s: &TimeSeries| self.names.iter().position(|n| *n == s.metric);
        series.sort_by_key(|s| (rank(s), s.label.clone()));
        series
    }
}

/// The tracked series of `name` (and `label`), created empty on first sight.
fn track<'a>(
    tracked: &'a mut BTreeMap<(String, Option<String>), Tracked>,
    name: &str,
    label: Option<&str>,
    kind: SeriesKind,
) -> &'a mut Tracked {
    let key = (name.to_owned(), label.map(str::to_owned));
    tracked.entry(key).or_insert_with(|| Tracked {
        last: 0.0,
        series: TimeSeries {
            metric: name.to_owned(),
            label: label.map(str::to_owned),
            kind,
            points: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counters become rates per second, tally labels each their own rate, gauges
    /// levels, sample sets the mean of each slice's new values; names never seen give
    /// no series.
    #[test]
    fn slices_become_rates_levels_and_means() {
        let mut rec = TimelineRecorder::new(&["sent", "bits", "queue", "delay", "absent"]);
        let mut m = Metrics::default();
        let ms = SimTime::from_millis;
        m.add("sent", 10.0);
        m.add_to("bits", "C1", 100.0);
        m.set("queue", 3.0);
        m.observe("delay", 2.0);
        m.observe("delay", 4.0);
        rec.sample(ms(500), &[&m]);
        m.add("sent", 5.0);
        m.add_to("bits", "C2", 50.0);
        m.set("queue", 1.0);
        rec.sample(ms(1000), &[&m]);
        m.observe("delay", 9.0);
        rec.sample(ms(1500), &[&m]);
        let s = rec.finish();
        let find = |metric: &str, label: Option<&str>| {
            s.iter()
                .find(|x| x.metric == metric && x.label.as_deref() == label)
                .unwrap_or_else(|| panic!("{metric} {label:?}"))
        };
        assert_eq!(
            find("sent", None).points,
            [(0.0, 20.0), (0.5, 10.0), (1.0, 0.0)]
        );
        assert_eq!(
            find("bits", Some("C1")).points,
            [(0.0, 200.0), (0.5, 0.0), (1.0, 0.0)]
        );
        assert_eq!(find("bits", Some("C2")).points, [(0.5, 100.0), (1.0, 0.0)]);
        assert_eq!(find("queue", None).kind, SeriesKind::Level);
        assert_eq!(
            find("queue", None).points,
            [(0.0, 3.0), (0.5, 1.0), (1.0, 1.0)]
        );
        assert_eq!(find("delay", None).points, [(0.0, 3.0), (1.0, 9.0)]);
        assert!(s.iter().all(|x| x.metric != "absent"));
        let order: Vec<&str> = s.iter().map(|x| x.metric.as_str()).collect();
        assert_eq!(order, ["sent", "bits", "bits", "queue", "delay"]);
    }
}
