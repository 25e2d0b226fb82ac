//! Message sequence charts of a stretch of a run's trace: one vertical lane per node,
//! time (record order) running down, an arrow per message from its send to its delivery,
//! drops crossed out with their reason, timers, faults and notes marked on the lanes.
//!
//! The chart is inline SVG whose elements carry their rows and nodes as `data-`
//! attributes, so the page's script ([`SCRIPT`]) can zoom, pan and filter it by moving
//! and hiding elements; the positions written here are those of the whole window, so the
//! chart also reads without the script.

use serde::{Deserialize, Serialize};
use sim_core::{RecordKind, SimTime, TraceRecord};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;
use std::str::FromStr;

/// Records shown when no window is given: the first this many of the run.
pub const DEFAULT_RECORDS: usize = 200;
/// At most this many records are drawn from any window (the rest are cut off, and the
/// page says so), so a report stays small enough for a browser.
pub const MAX_RECORDS: usize = 5_000;

/// A half-open stretch of simulated time `[from, to)`, written `FROM..TO` ("1s..1.5s").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// First instant shown, in ns.
    pub from_ns: u64,
    /// First instant not shown, in ns.
    pub to_ns: u64,
}

impl FromStr for Window {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let Some((from, to)) = text.split_once("..") else {
            return Err(format!(
                "window {text:?}: expected FROM..TO with two times, e.g. 1s..1.5s"
            ));
        };
        let time = |s: &str, side: &str| {
            s.parse::<SimTime>()
                .map_err(|e| format!("window {text:?}: bad {side} time: {e}"))
        };
        let (from, to) = (time(from, "start")?, time(to, "end")?);
        if from >= to {
            return Err(format!(
                "window {text:?}: the start ({from}) must come before the end ({to})"
            ));
        }
        Ok(Window {
            from_ns: from.0,
            to_ns: to.0,
        })
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", SimTime(self.from_ns), SimTime(self.to_ns))
    }
}

/// The records a chart of `window` shows (the first [`DEFAULT_RECORDS`] without one),
/// at most [`MAX_RECORDS`] of them, and whether some were cut off.
pub fn select(records: &[TraceRecord], window: Option<Window>) -> (Vec<TraceRecord>, bool) {
    let (in_window, limit): (Vec<&TraceRecord>, usize) = match window {
        Some(w) => (
            records
                .iter()
                .filter(|r| (w.from_ns..w.to_ns).contains(&r.time_ns))
                .collect(),
            MAX_RECORDS,
        ),
        None => (records.iter().collect(), DEFAULT_RECORDS),
    };
    let cut = in_window.len() > limit;
    (in_window.into_iter().take(limit).cloned().collect(), cut)
}

/// What became of a message, as far as the window shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Delivered at the arrow's end row.
    Delivered,
    /// Dropped, for this reason (the drop record's label).
    Dropped(String),
    /// Still in flight when the window ends.
    InFlight,
    /// Sent before the window began (only its arrival is in the window).
    SentBefore,
}

impl Fate {
    fn name(&self) -> &'static str {
        match self {
            Fate::Delivered => "delivered",
            Fate::Dropped(_) => "dropped",
            Fate::InFlight => "inflight",
            Fate::SentBefore => "sentbefore",
        }
    }
}

/// One message of the chart: rows are record positions in the window (`-1` before it,
/// the row count after it).
#[derive(Clone, Debug, PartialEq)]
pub struct Arrow {
    /// Sender.
    pub from: u32,
    /// Receiver.
    pub to: u32,
    /// Message kind.
    pub kind: String,
    /// Row of the send.
    pub sent: i64,
    /// Row of the delivery or drop.
    pub ended: i64,
    /// What became of it.
    pub fate: Fate,
    /// The message's contents, for its tooltip.
    pub detail: String,
}

/// A mark on a lane (or across all lanes, for faults of the whole network).
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// The node, or `None` for the environment.
    pub node: Option<u32>,
    /// Row of the record.
    pub row: i64,
    /// `timer`, `fault`, `note`, `start` or `dup`: the filter category and style.
    pub category: &'static str,
    /// Timer tag, fault name or note text.
    pub label: String,
    /// Full text for the tooltip.
    pub detail: String,
}

/// A sequence chart: lanes, arrows and marks, ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Node ids with a lane, ascending.
    pub lanes: Vec<u32>,
    /// The simulated time of each row.
    pub times: Vec<u64>,
    /// Messages.
    pub arrows: Vec<Arrow>,
    /// Timers, faults, notes, starts and duplications.
    pub marks: Vec<Mark>,
}

/// Key pairing a send with its delivery or drop: receiver, sender, time of arrival (or
/// of the drop at the send), message kind.
type Pairing = (u32, u32, u64, String);

impl Chart {
    /// Pair up the sends, deliveries and drops of `records` (a window of a trace) and
    /// collect the other records as marks.
    pub fn of(records: &[TraceRecord]) -> Chart {
        let mut lanes = BTreeSet::new();
        let mut arrows: Vec<Arrow> = Vec::new();
        let mut marks = Vec::new();
        let mut waiting: BTreeMap<Pairing, VecDeque<usize>> = BTreeMap::new();
        for (row, r) in records.iter().enumerate() {
            let row = row as i64;
            if r.node != u32::MAX {
                lanes.insert(r.node);
            }
            lanes.extend(r.peer.filter(|&p| p != u32::MAX));
            let peer = r.peer.unwrap_or(u32::MAX);
            match r.kind {
                RecordKind::Send => {
                    let arrival = if r.value == u64::MAX {
                        r.time_ns
                    } else {
                        r.value
                    };
                    let key = (peer, r.node, arrival, r.label.clone());
                    waiting.entry(key).or_default().push_back(arrows.len());
                    arrows.push(Arrow {
                        from: r.node,
                        to: peer,
                        kind: r.label.clone(),
                        sent: row,
                        ended: records.len() as i64,
                        fate: Fate::InFlight,
                        detail: r.detail.clone(),
                    });
                }
                RecordKind::Deliver | RecordKind::Drop => {
                    let (kind, fate) = match r.kind {
                        RecordKind::Deliver => (r.label.clone(), Fate::Delivered),
                        _ => {
                            let kind = r.detail.split(' ').next().unwrap_or_default();
                            (kind.to_owned(), Fate::Dropped(r.label.clone()))
                        }
                    };
                    let key = (r.node, peer, r.time_ns, kind.clone());
                    match waiting.get_mut(&key).and_then(VecDeque::pop_front) {
                        Some(i) => {
                            arrows[i].ended = row;
                            arrows[i].fate = fate;
                        }
                        None => arrows.push(Arrow {
                            from: peer,
                            to: r.node,
                            kind,
                            sent: -1,
                            ended: row,
                            fate: match fate {
                                Fate::Delivered => Fate::SentBefore,
                                dropped => dropped,
                            },
                            detail: r.detail.clone(),
                        }),
                    }
                }
                RecordKind::TimerSet | RecordKind::TimerFire | RecordKind::TimerCancel => {
                    let what = match r.kind {
                        RecordKind::TimerSet => "set",
                        RecordKind::TimerFire => "fired",
                        _ => "cancelled",
                    };
                    marks.push(Mark {
                        node: Some(r.node),
                        row,
                        category: "timer",
                        label: format!("{} {what}", r.label),
                        detail: r.to_string(),
                    });
                }
                RecordKind::Fault | RecordKind::NodeStart | RecordKind::Annotation => {
                    let category = match r.kind {
                        RecordKind::Fault => "fault",
                        RecordKind::NodeStart => "start",
                        _ => "note",
                    };
                    let label = match r.kind {
                        RecordKind::Annotation => r.detail.clone(),
                        _ => r.label.clone(),
                    };
                    marks.push(Mark {
                        node: (r.node != u32::MAX).then_some(r.node),
                        row,
                        category,
                        label,
                        detail: r.to_string(),
                    });
                }
                RecordKind::Duplicate => marks.push(Mark {
                    node: Some(r.node),
                    row,
                    category: "dup",
                    label: format!("{} duplicated", r.label),
                    detail: r.to_string(),
                }),
            }
        }
        Chart {
            lanes: lanes.into_iter().collect(),
            times: records.iter().map(|r| r.time_ns).collect(),
            arrows,
            marks,
        }
    }

    /// The filterable kinds: message kinds, then the mark categories present.
    pub fn kinds(&self) -> Vec<String> {
        let messages: BTreeSet<&str> = self.arrows.iter().map(|a| a.kind.as_str()).collect();
        let marks: BTreeSet<&str> = self.marks.iter().map(|m| m.category).collect();
        messages
            .into_iter()
            .chain(marks)
            .map(str::to_owned)
            .collect()
    }
}

/// Geometry shared with the script: left margin (time axis), top margin (lane names),
/// lane pitch, and the height of the plotting area.
const LEFT: f64 = 110.0;
const TOP: f64 = 46.0;
const LANE: f64 = 130.0;

/// Height of the plotting area for `rows` rows: 16 px a row, between 240 and 720 px.
fn plot_height(rows: usize) -> f64 {
    (rows as f64 * 16.0).clamp(240.0, 720.0)
}

/// Escape text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The lane name of node `id` (`node-ID` when `names` does not have it).
fn lane_name(names: &[String], id: u32) -> String {
    names
        .get(id as usize)
        .cloned()
        .unwrap_or_else(|| format!("node-{id}"))
}

/// Draw `chart` as an SVG element (`id="seq"`), lanes named from `names` (node id →
/// name). Positions are those of the whole window; the script re-lays them out.
pub fn svg(chart: &Chart, names: &[String]) -> String {
    let rows = chart.times.len().max(1);
    let height = plot_height(rows);
    let width = LEFT + LANE * chart.lanes.len().max(1) as f64 + 40.0;
    let pitch = height / rows as f64;
    let y = |row: i64| TOP + (row as f64 + 0.5) * pitch;
    let lane_x = |id: u32| {
        let i = chart.lanes.binary_search(&id).unwrap_or(0);
        LEFT + LANE * (i as f64 + 0.5)
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="seq" width="{width}" height="{h}" viewBox="0 0 {width} {h}" data-rows="{rows}" data-top="{TOP}" data-plot-height="{height}" data-times="{times}" data-view="0..{rows}" data-hidden="" data-visible-arrows="{n}" role="img" aria-label="message sequence chart">"#,
        h = TOP + height + 24.0,
        n = chart.arrows.len(),
        times = chart
            .times
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(","),
    );
    let _ = write!(
        s,
        r#"<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="context-stroke"/></marker><clipPath id="plot-clip"><rect x="0" y="{TOP}" width="{width}" height="{height}"/></clipPath></defs>"#
    );
    let _ = write!(
        s,
        r#"<rect class="plot-bg" x="{LEFT}" y="{TOP}" width="{w}" height="{height}"/>"#,
        w = width - LEFT - 20.0
    );
    // Lanes.
    for &id in &chart.lanes {
        let x = lane_x(id);
        let _ = write!(
            s,
            r#"<g class="lane" data-node="{id}" data-name="{name}"><text class="lane-name" x="{x}" y="{ty}">{name}</text><line x1="{x}" y1="{TOP}" x2="{x}" y2="{y2}"/></g>"#,
            ty = TOP - 14.0,
            name = escape(&lane_name(names, id)),
            y2 = TOP + height,
        );
    }
    // Time ticks: the script rewrites them for each view.
    s.push_str(r#"<g id="ticks"></g><g id="items" clip-path="url(#plot-clip)">"#);
    for a in &chart.arrows {
        let (x1, x2) = (lane_x(a.from), lane_x(a.to));
        let (y1, y2) = (y(a.sent), y(a.ended));
        // A drop ends two thirds of the way, crossed out; a message to oneself leans
        // right.
        let end_x = match a.fate {
            _ if a.from == a.to => x1 + LANE * 0.3,
            Fate::Dropped(_) => x1 + (x2 - x1) * 0.66,
            _ => x2,
        };
        let reason = match &a.fate {
            Fate::Dropped(r) => format!(r#" data-reason="{}""#, escape(r)),
            _ => String::new(),
        };
        let label = match &a.fate {
            Fate::Dropped(r) => format!("{} ✕ {r}", a.kind),
            _ => a.kind.clone(),
        };
        let _ = write!(
            s,
            r#"<g class="msg {fate}" data-kind="{kind}" data-from="{from}" data-to="{to}" data-r0="{r0}" data-r1="{r1}" data-x1="{x1}" data-x2="{end_x}"{reason}><title>{title}</title><line x1="{x1}" y1="{y1}" x2="{end_x}" y2="{y2}" marker-end="url(#head)"/><text x="{tx}" y="{ty}">{label}</text></g>"#,
            fate = a.fate.name(),
            kind = escape(&a.kind),
            from = a.from,
            to = a.to,
            r0 = a.sent,
            r1 = a.ended,
            title = escape(&format!(
                "{} {} → {}: {}",
                a.kind,
                lane_name(names, a.from),
                lane_name(names, a.to),
                a.detail
            )),
            tx = (x1 + end_x) / 2.0,
            ty = (y1 + y2) / 2.0 - 3.0,
            label = escape(&label),
        );
    }
    for m in &chart.marks {
        let x = m.node.map_or(LEFT, lane_x);
        let node = m.node.map_or("env".to_owned(), |n| n.to_string());
        let _ = write!(
            s,
            r#"<g class="mark {cat}" data-kind="{cat}" data-node="{node}" data-r0="{row}" data-x="{x}"><title>{title}</title><circle cx="{x}" cy="{cy}" r="4"/><text x="{tx}" y="{ty}">{label}</text></g>"#,
            cat = m.category,
            row = m.row,
            title = escape(&m.detail),
            cy = y(m.row),
            tx = x + 7.0,
            ty = y(m.row) + 4.0,
            label = escape(&m.label),
        );
    }
    s.push_str("</g></svg>");
    s
}

/// The chart's controls (zoom and pan buttons, node and kind checkboxes) as HTML.
pub fn controls(chart: &Chart, names: &[String]) -> String {
    let mut s = String::from(concat!(
        r#"<div class="controls"><button id="zoom-in" title="zoom in">+</button>"#,
        r#"<button id="zoom-out" title="zoom out">−</button>"#,
        r#"<button id="pan-up" title="earlier">▲</button>"#,
        r#"<button id="pan-down" title="later">▼</button>"#,
        r#"<button id="reset" title="show the whole window">reset</button>"#,
        r#"<span id="view-label"></span></div><div class="filters"><fieldset><legend>nodes</legend>"#
    ));
    for &id in &chart.lanes {
        let _ = write!(
            s,
            r#"<label><input type="checkbox" class="filter" data-filter="node-{name}" checked> {name}</label> "#,
            name = escape(&lane_name(names, id))
        );
    }
    s.push_str("</fieldset><fieldset><legend>kinds</legend>");
    for kind in chart.kinds() {
        let _ = write!(
            s,
            r#"<label><input type="checkbox" class="filter" data-filter="kind-{k}" checked> {k}</label> "#,
            k = escape(&kind)
        );
    }
    s.push_str("</fieldset></div>");
    s
}

/// The script that lays the chart out for the current view and filters: wheel zooms
/// around the pointer, dragging pans, the buttons and checkboxes do the obvious, and the
/// page's fragment (`#zoom=2&at=10&hide=node-pinger,kind-Ping`: nodes by name, each
/// percent-encoded) sets the state on load.
/// After every layout the SVG's `data-view`, `data-hidden` and `data-visible-arrows`
/// attributes say what is shown.
pub const SCRIPT: &str = include_str!("sequence.js");

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        time_ns: u64,
        kind: RecordKind,
        node: u32,
        peer: Option<u32>,
        value: u64,
    ) -> TraceRecord {
        let label = match kind {
            RecordKind::Drop => "loss".to_owned(),
            _ => "Ping".to_owned(),
        };
        TraceRecord {
            time_ns,
            kind,
            node,
            peer,
            value,
            label,
            detail: "Ping { n: 1 }".into(),
        }
    }

    #[test]
    fn sends_pair_with_their_delivery_or_drop() {
        let records = vec![
            rec(0, RecordKind::Send, 0, Some(1), 10),
            rec(5, RecordKind::Send, 0, Some(2), u64::MAX),
            rec(5, RecordKind::Drop, 2, Some(0), 0),
            rec(10, RecordKind::Deliver, 1, Some(0), 0),
            rec(12, RecordKind::Send, 1, Some(0), 40),
            rec(13, RecordKind::Deliver, 2, Some(1), 0),
            rec(14, RecordKind::TimerSet, 1, None, 99),
        ];
        let chart = Chart::of(&records);
        assert_eq!(chart.lanes, vec![0, 1, 2]);
        let a = &chart.arrows;
        assert_eq!(
            (a[0].sent, a[0].ended, &a[0].fate),
            (0, 3, &Fate::Delivered)
        );
        assert_eq!(
            (a[1].sent, a[1].ended, &a[1].fate),
            (1, 2, &Fate::Dropped("loss".into()))
        );
        assert_eq!((a[2].sent, a[2].ended, &a[2].fate), (4, 7, &Fate::InFlight));
        assert_eq!(
            (a[3].from, a[3].sent, &a[3].fate),
            (1, -1, &Fate::SentBefore)
        );
        assert_eq!(chart.marks.len(), 1);
        assert_eq!(chart.kinds(), vec!["Ping".to_owned(), "timer".to_owned()]);
        let svg = svg(&chart, &["a".into(), "b<".into()]);
        assert!(svg.contains(r#"data-reason="loss""#) && svg.contains("b&lt;"));
        assert!(svg.contains("node-2"), "unnamed nodes get an id name");
    }

    #[test]
    fn windows_parse_and_select() {
        let w: Window = "1s..1.5s".parse().unwrap();
        assert_eq!((w.from_ns, w.to_ns), (1_000_000_000, 1_500_000_000));
        assert_eq!(w.to_string(), "1s..1.5s");
        for bad in ["1s", "2s..1s", "1s..1s", "x..1s", "1s..", "..2s"] {
            assert!(bad.parse::<Window>().is_err(), "{bad} must be refused");
        }
        let records: Vec<TraceRecord> = (0..300)
            .map(|t| rec(t, RecordKind::TimerFire, 0, None, 0))
            .collect();
        let (first, cut) = select(&records, None);
        assert_eq!((first.len(), cut), (DEFAULT_RECORDS, true));
        let (some, cut) = select(&records, Some("10ns..20ns".parse().unwrap()));
        assert_eq!((some.len(), some[0].time_ns, cut), (10, 10, false));
    }
}
