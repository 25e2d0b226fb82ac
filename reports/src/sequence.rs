//! Message sequence charts of a run's trace: one vertical lane per node, time (record
//! order) running down, an arrow per message from its send to its delivery, drops
//! crossed out with their reason, timers, faults and notes marked on the lanes.
//!
//! A report holds the records of a whole run (at most [`MAX_EMBEDDED`], around the page
//! it opens at) and charts them a page at a time. [`Chart::of`] pairs the messages of
//! all of them, [`Chart::page`] cuts out one page, and [`svg`] draws it as inline SVG
//! whose elements carry their rows and nodes as `data-` attributes. The page's script
//! ([`SCRIPT`]) draws the other pages from the whole chart, embedded as JSON
//! ([`Pages::data`]), and zooms, pans and filters the page shown by moving and hiding
//! elements. The page drawn here is the one the chart opens at, so the chart also reads
//! without the script.

use serde::{Deserialize, Serialize};
use sim_core::{RecordKind, SimTime, TraceRecord};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;
use std::ops::Range;
use std::str::FromStr;

/// Records a page of the chart holds when no window is given: the chart opens at the
/// first this many of the run.
pub const DEFAULT_RECORDS: usize = 200;
/// Records a page holds at most, so that a browser lays a page out quickly; a window
/// with more opens at its first this many and continues on the next page.
pub const MAX_RECORDS: usize = 5_000;
/// Records a report holds at most: every record of a run that has no more, else this
/// many around the page the chart opens at (the report says which).
pub const MAX_EMBEDDED: usize = 100_000;

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

/// The positions of the records of `window` in `records` (a trace, in time order).
pub fn window_rows(records: &[TraceRecord], window: Window) -> Range<usize> {
    let start = records.partition_point(|r| r.time_ns < window.from_ns);
    start..records.partition_point(|r| r.time_ns < window.to_ns)
}

/// The page a chart of `records` opens at: the records of `window`, at most
/// [`MAX_RECORDS`] of them, or the first [`DEFAULT_RECORDS`] without one. A window that
/// holds no record opens [`DEFAULT_RECORDS`] records where its records would be.
pub fn opening_page(records: &[TraceRecord], window: Option<Window>) -> Range<usize> {
    let rows = window.map_or(0..0, |w| window_rows(records, w));
    let len = match rows.len() {
        0 => DEFAULT_RECORDS,
        n => n.min(MAX_RECORDS),
    }
    .min(records.len());
    let start = rows.start.min(records.len() - len);
    start..start + len
}

/// The records a report of a run of `total` records holds: all of them when there are
/// at most [`MAX_EMBEDDED`], else that many with `page` in their middle, as near as the
/// run's ends allow.
pub fn embedded(total: usize, page: &Range<usize>) -> Range<usize> {
    if total <= MAX_EMBEDDED {
        return 0..total;
    }
    let start = page
        .start
        .saturating_sub((MAX_EMBEDDED - page.len()) / 2)
        .min(total - MAX_EMBEDDED);
    start..start + MAX_EMBEDDED
}

/// What became of a message, as far as the chart (or page) shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Delivered at the arrow's end row.
    Delivered,
    /// Dropped, for this reason (the drop record's label).
    Dropped(String),
    /// Still in flight when the chart (or page) ends.
    InFlight,
    /// Sent before the chart (or page) begins (only its arrival is in it).
    SentBefore,
}

/// The names of the fates, as the chart's classes and the page's script know them, in
/// the order of [`Fate::index`].
const FATES: [&str; 4] = ["delivered", "dropped", "inflight", "sentbefore"];

impl Fate {
    /// Its place in [`FATES`].
    fn index(&self) -> usize {
        match self {
            Fate::Delivered => 0,
            Fate::Dropped(_) => 1,
            Fate::InFlight => 2,
            Fate::SentBefore => 3,
        }
    }

    fn name(&self) -> &'static str {
        FATES[self.index()]
    }
}

/// One message of the chart: rows are record positions in the chart (`-1` before it,
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

impl Arrow {
    /// This arrow as the page of rows `start..start + len` shows it, or `None` when it
    /// neither starts nor ends there: rows counted from the page's first, a message sent
    /// before the page starts at row -1 (and, delivered, is [`Fate::SentBefore`]), one
    /// that ends after it runs to row `len` and is [`Fate::InFlight`]. The page's script
    /// cuts pages out the same way.
    fn on_page(&self, start: i64, len: i64) -> Option<Arrow> {
        let within = |row: i64| (start..start + len).contains(&row);
        let (sent_in, ended_in) = (within(self.sent), within(self.ended));
        if !sent_in && !ended_in {
            return None;
        }
        let fate = match &self.fate {
            _ if !ended_in => Fate::InFlight,
            Fate::Delivered if !sent_in => Fate::SentBefore,
            fate => fate.clone(),
        };
        Some(Arrow {
            sent: if sent_in { self.sent - start } else { -1 },
            ended: if ended_in { self.ended - start } else { len },
            fate,
            ..self.clone()
        })
    }

    /// Its tooltip: kind, sender and receiver by name, contents.
    fn title(&self, names: &[String]) -> String {
        format!(
            "{} {} → {}: {}",
            self.kind,
            lane_name(names, self.from),
            lane_name(names, self.to),
            self.detail
        )
    }
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
    /// Pair up the sends, deliveries and drops of `records` (a stretch of a trace) and
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

    /// The chart of the records at `rows` alone, as [`Chart::of`] draws a stretch of a
    /// trace, its messages paired across the whole chart: rows counted from the page's
    /// first, a message sent before the page starts at row -1 ([`Fate::SentBefore`] when
    /// delivered), one that ends after it runs to the row count ([`Fate::InFlight`]), one
    /// that neither starts nor ends in it is left out. Its lanes are the whole chart's, so
    /// that every page has them in the same place.
    pub fn page(&self, rows: Range<usize>) -> Chart {
        let (start, len) = (rows.start as i64, rows.len() as i64);
        Chart {
            lanes: self.lanes.clone(),
            times: self.times[rows].to_vec(),
            arrows: self
                .arrows
                .iter()
                .filter_map(|a| a.on_page(start, len))
                .collect(),
            marks: self
                .marks
                .iter()
                .filter(|m| (start..start + len).contains(&m.row))
                .map(|m| Mark {
                    row: m.row - start,
                    ..m.clone()
                })
                .collect(),
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

/// Where the chart's lanes, arrows and marks sit across it.
impl Chart {
    /// Where lane `id` runs across the chart.
    fn lane_x(&self, id: u32) -> f64 {
        let i = self.lanes.binary_search(&id).unwrap_or(0);
        LEFT + LANE * (i as f64 + 0.5)
    }

    /// Where arrow `a` leaves (its sender's lane) and where it arrives (its receiver's
    /// lane; right of the sender, for a message to itself).
    fn arrow_x(&self, a: &Arrow) -> (f64, f64) {
        let x1 = self.lane_x(a.from);
        let x2 = if a.from == a.to {
            x1 + LANE * 0.3
        } else {
            self.lane_x(a.to)
        };
        (x1, x2)
    }

    /// Where a mark on `node` sits (the left edge, for the environment).
    fn mark_x(&self, node: Option<u32>) -> f64 {
        node.map_or(LEFT, |n| self.lane_x(n))
    }
}

/// Where an arrow from `x1` to `x2` stops: at its receiver, or two thirds of the way
/// when dropped (the page's script stops it at the same place).
fn arrow_end(a: &Arrow, x1: f64, x2: f64) -> f64 {
    match a.fate {
        Fate::Dropped(_) if a.from != a.to => x1 + (x2 - x1) * 0.66,
        _ => x2,
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

/// Draw `chart` (a page, see [`Chart::page`]) as an SVG element (`id="seq"`), lanes
/// named from `names` (node id → name), `first` the run's index of its first record.
/// Positions are those of the whole page; the script re-lays them out.
pub fn svg(chart: &Chart, names: &[String], first: usize) -> String {
    let rows = chart.times.len().max(1);
    let height = plot_height(rows);
    let width = LEFT + LANE * chart.lanes.len().max(1) as f64 + 40.0;
    let pitch = height / rows as f64;
    let y = |row: i64| TOP + (row as f64 + 0.5) * pitch;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="seq" width="{width}" height="{h}" viewBox="0 0 {width} {h}" data-rows="{rows}" data-top="{TOP}" data-plot-height="{height}" data-page="{first}..{end}" data-view="0..{rows}" data-hidden="" data-visible-arrows="{n}" role="img" aria-label="message sequence chart">"#,
        h = TOP + height + 24.0,
        end = first + chart.times.len(),
        n = chart.arrows.len(),
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
        let x = chart.lane_x(id);
        let _ = write!(
            s,
            r#"<g class="lane" data-node="{id}" data-name="{name}"><text class="lane-name" x="{x}" y="{ty}">{name}</text><line x1="{x}" y1="{TOP}" x2="{x}" y2="{y2}"/></g>"#,
            ty = TOP - 14.0,
            name = escape(&lane_name(names, id)),
            y2 = TOP + height,
        );
    }
    // Time ticks: the script rewrites them for each view. The items are what the
    // script draws for every other page (sequence.js, `drawPage`).
    s.push_str(r#"<g id="ticks"></g><g id="items" clip-path="url(#plot-clip)">"#);
    for a in &chart.arrows {
        let (x1, x2) = chart.arrow_x(a);
        let end_x = arrow_end(a, x1, x2);
        let (y1, y2) = (y(a.sent), y(a.ended));
        // A drop is labelled with its reason.
        let (reason, label) = match &a.fate {
            Fate::Dropped(r) => (
                format!(r#" data-reason="{}""#, escape(r)),
                format!("{} ✕ {r}", a.kind),
            ),
            _ => (String::new(), a.kind.clone()),
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
            title = escape(&a.title(names)),
            tx = (x1 + end_x) / 2.0,
            ty = (y1 + y2) / 2.0 - 3.0,
            label = escape(&label),
        );
    }
    for m in &chart.marks {
        let x = chart.mark_x(m.node);
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

/// A chart to page through: the chart of every record a report holds and the page it
/// opens at.
#[derive(Clone, Debug, PartialEq)]
pub struct Pages {
    /// The chart of the records held.
    pub chart: Chart,
    /// The run's index of the first record held (the chart's row 0).
    pub first: usize,
    /// The records of the run, held or not.
    pub total: usize,
    /// The rows of the page the chart opens at. Every page holds as many rows (the
    /// script moves by this many; the last page ends at the last row).
    pub opening: Range<usize>,
}

/// One message as the page's script reads it: sender, receiver, kind (its place in
/// `kinds`), rows of the send and of the delivery or drop, fate (its place in
/// `fates`), drop reason (empty unless dropped), where it leaves and where it arrives
/// ([`Chart::arrow_x`]), and its tooltip.
type ArrowData<'a> = (u32, u32, usize, i64, i64, usize, &'a str, f64, f64, String);

/// One mark as the page's script reads it: node (-1 for the environment), row,
/// category (its place in `kinds`), where it sits, label and tooltip.
type MarkData<'a> = (i64, i64, usize, f64, &'a str, &'a str);

/// What the page's script draws its pages from ([`Pages::data`]).
#[derive(Serialize)]
struct Data<'a> {
    /// The run's index of row 0.
    first: usize,
    /// The records of the run.
    total: usize,
    /// The first row of the opening page.
    open: usize,
    /// Rows in a page.
    len: usize,
    /// The time of each row as its difference from the row before (from 0 for row 0).
    dt: Vec<u64>,
    /// Message kinds and mark categories ([`Chart::kinds`]).
    kinds: Vec<String>,
    /// The fates' names.
    fates: [&'static str; 4],
    /// The messages.
    arrows: Vec<ArrowData<'a>>,
    /// The marks.
    marks: Vec<MarkData<'a>>,
}

impl Pages {
    /// The page the chart opens at.
    pub fn opening_chart(&self) -> Chart {
        self.chart.page(self.opening.clone())
    }

    /// The page the chart opens at, drawn ([`svg`]).
    pub fn svg(&self, names: &[String]) -> String {
        svg(
            &self.opening_chart(),
            names,
            self.first + self.opening.start,
        )
    }

    /// The whole chart as JSON for the page's script (see [`SCRIPT`]), fit to sit inside
    /// a `<script>` element (no `<` in it). Compact: each message and mark one array,
    /// kinds by number, times as differences.
    pub fn data(&self, names: &[String]) -> String {
        let chart = &self.chart;
        let kinds = chart.kinds();
        let kind = |k: &str| kinds.iter().position(|x| x == k).unwrap_or(0);
        let arrows = chart
            .arrows
            .iter()
            .map(|a| {
                let (x1, x2) = chart.arrow_x(a);
                let reason = match &a.fate {
                    Fate::Dropped(r) => r.as_str(),
                    _ => "",
                };
                let title = a.title(names);
                (
                    a.from,
                    a.to,
                    kind(&a.kind),
                    a.sent,
                    a.ended,
                    a.fate.index(),
                    reason,
                    x1,
                    x2,
                    title,
                )
            })
            .collect();
        let marks = chart
            .marks
            .iter()
            .map(|m| {
                let node = m.node.map_or(-1, i64::from);
                let x = chart.mark_x(m.node);
                (
                    node,
                    m.row,
                    kind(m.category),
                    x,
                    m.label.as_str(),
                    m.detail.as_str(),
                )
            })
            .collect();
        let data = Data {
            first: self.first,
            total: self.total,
            open: self.opening.start,
            len: self.opening.len(),
            dt: chart
                .times
                .iter()
                .scan(0, |last, &t| Some(t - std::mem::replace(last, t)))
                .collect(),
            kinds,
            fates: FATES,
            arrows,
            marks,
        };
        serde_json::to_string(&data)
            .expect("chart data serializes")
            .replace('<', "\\u003c")
    }
}

/// The chart's controls (page, zoom and pan buttons, the time to go to, node and kind
/// checkboxes) as HTML.
pub fn controls(chart: &Chart, names: &[String]) -> String {
    let mut s = String::from(concat!(
        r#"<div class="controls"><button id="page-first" title="first page">first</button>"#,
        r#"<button id="page-prev" title="previous page">◀ page</button>"#,
        r#"<button id="page-next" title="next page">page ▶</button>"#,
        r#"<button id="page-last" title="last page">last</button> "#,
        r#"<input id="goto-time" size="9" placeholder="time: 1.5s" title="the page that starts at this simulated time (s, ms, us or ns)">"#,
        r#"<button id="goto" title="go to the page at that time">go</button> "#,
        r#"<button id="zoom-in" title="zoom in">+</button>"#,
        r#"<button id="zoom-out" title="zoom out">−</button>"#,
        r#"<button id="pan-up" title="earlier">▲</button>"#,
        r#"<button id="pan-down" title="later">▼</button>"#,
        r#"<button id="reset" title="back to the opening page, whole, nothing hidden">reset</button>"#,
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

/// The script that draws the chart's pages and lays the page shown out for the current
/// view and filters: the page buttons and the time box move between pages (drawn from
/// [`Pages::data`]), wheel zooms around the pointer, dragging pans, the other buttons and
/// checkboxes do the obvious, and the page's fragment
/// (`#page=1200&zoom=2&at=10&hide=node-pinger,kind-Ping`: the run's index of the page's
/// first record, zoom over the page, first row shown, nodes by name, each
/// percent-encoded) sets the state on load. After every layout the SVG's `data-page`,
/// `data-view`, `data-hidden` and `data-visible-arrows` attributes say what is shown.
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
        let svg = svg(&chart, &["a".into(), "b<".into()], 0);
        assert!(svg.contains(r#"data-reason="loss""#) && svg.contains("b&lt;"));
        assert!(svg.contains("node-2"), "unnamed nodes get an id name");
    }

    #[test]
    fn windows_parse_and_choose_the_opening_page() {
        let w: Window = "1s..1.5s".parse().unwrap();
        assert_eq!((w.from_ns, w.to_ns), (1_000_000_000, 1_500_000_000));
        assert_eq!(w.to_string(), "1s..1.5s");
        for bad in ["1s", "2s..1s", "1s..1s", "x..1s", "1s..", "..2s"] {
            assert!(bad.parse::<Window>().is_err(), "{bad} must be refused");
        }
        let records: Vec<TraceRecord> = (0..6_000)
            .map(|t| rec(t, RecordKind::TimerFire, 0, None, 0))
            .collect();
        let window = |w: &str| Some(w.parse::<Window>().unwrap());
        assert_eq!(opening_page(&records, None), 0..DEFAULT_RECORDS);
        assert_eq!(opening_page(&records, window("10ns..20ns")), 10..20);
        // A window with more than a page opens at its first page.
        assert_eq!(
            opening_page(&records, window("100ns..5800ns")),
            100..100 + MAX_RECORDS
        );
        // A window that holds no record opens where its records would be, within the
        // records.
        assert_eq!(opening_page(&records, window("9us..10us")), 5_800..6_000);
        assert_eq!(opening_page(&records[..50], None), 0..50);
        assert_eq!(opening_page(&[], window("1s..2s")), 0..0);
    }

    #[test]
    fn a_report_holds_every_record_up_to_its_limit_else_those_around_the_page() {
        assert_eq!(embedded(1_000, &(800..1_000)), 0..1_000);
        assert_eq!(embedded(MAX_EMBEDDED, &(0..200)), 0..MAX_EMBEDDED);
        let total = 10 * MAX_EMBEDDED;
        let middle = embedded(total, &(500_000..500_200));
        assert_eq!(middle.len(), MAX_EMBEDDED);
        let (before, after) = (500_000 - middle.start, middle.end - 500_200);
        assert!(
            before.abs_diff(after) <= 1,
            "the page in the middle: {middle:?}"
        );
        assert_eq!(embedded(total, &(0..200)), 0..MAX_EMBEDDED);
        assert_eq!(
            embedded(total, &(total - 10..total)),
            total - MAX_EMBEDDED..total
        );
    }

    /// A trace of 300 messages among four nodes (some to themselves), sent 1 µs apart
    /// and arriving up to 25 sends later, some lost on the way and some dropped at
    /// the send, with a timer set at every send: every send, delivery and drop pairs
    /// unambiguously.
    fn busy_trace() -> Vec<TraceRecord> {
        let mut events: Vec<TraceRecord> = Vec::new();
        for i in 0..300u64 {
            let (from, to) = ((i % 4) as u32, ((i * 7 + 1) % 4) as u32);
            let sent = 1_000 * i;
            let arrival = 1_000 * (i + 3 * (i % 9)) + 500 + i;
            let mut send = rec(sent, RecordKind::Send, from, Some(to), arrival);
            send.detail = format!("Ping {{ n: {i} }}");
            let end = match i % 10 {
                // Dropped at the send: the drop comes at the same instant.
                3 => {
                    send.value = u64::MAX;
                    rec(sent, RecordKind::Drop, to, Some(from), 0)
                }
                7 => rec(arrival, RecordKind::Drop, to, Some(from), 0),
                _ => rec(arrival, RecordKind::Deliver, to, Some(from), 0),
            };
            let end = TraceRecord {
                detail: send.detail.clone(),
                ..end
            };
            events.push(send);
            events.push(end);
            events.push(rec(sent, RecordKind::TimerSet, from, None, sent + 10));
        }
        // In time order, a send before its drop at the same instant.
        events.sort_by_key(|r| r.time_ns);
        events
    }

    /// Arrows in a canonical order, to compare charts drawn in different orders.
    fn sorted(mut arrows: Vec<Arrow>) -> Vec<Arrow> {
        arrows.sort_by_key(|a| (a.sent, a.ended, a.from, a.to, a.detail.clone()));
        arrows
    }

    #[test]
    fn a_page_of_the_whole_chart_is_the_chart_of_its_records() {
        let records = busy_trace();
        let whole = Chart::of(&records);
        assert!(
            whole.arrows.iter().all(|a| a.sent >= 0),
            "every send is in the trace"
        );
        let mut crossing = 0;
        for start in [0, 37, 200, 433, records.len() - 150] {
            let rows = start..start + 150;
            let page = whole.page(rows.clone());
            let alone = Chart::of(&records[rows]);
            assert_eq!(page.lanes, whole.lanes, "every page has every lane");
            assert_eq!(page.times, alone.times);
            assert_eq!(page.marks, alone.marks);
            assert_eq!(sorted(page.arrows.clone()), sorted(alone.arrows));
            crossing += page
                .arrows
                .iter()
                .filter(|a| matches!(a.fate, Fate::InFlight | Fate::SentBefore))
                .count();
        }
        assert!(crossing > 20, "pages cut messages ({crossing})");
        let kinds: BTreeSet<&str> = whole.arrows.iter().map(|a| a.fate.name()).collect();
        assert_eq!(kinds.len(), 2, "delivered and dropped: {kinds:?}");
    }

    #[test]
    fn the_script_reads_the_whole_chart_from_compact_json() {
        let mut records = busy_trace();
        records[5].detail = "</script><b>".into();
        let pages = Pages {
            chart: Chart::of(&records),
            first: 1_000,
            total: 5_000,
            opening: 100..300,
        };
        let text = pages.data(&["a".into()]);
        assert!(!text.contains('<'), "nothing closes the script element");
        let data: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (&data["first"], &data["total"], &data["open"], &data["len"]),
            (&1_000.into(), &5_000.into(), &100.into(), &200.into())
        );
        let mut time = 0;
        let times: Vec<u64> = data["dt"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                time += d.as_u64().unwrap();
                time
            })
            .collect();
        assert_eq!(times, pages.chart.times);
        let arrows = data["arrows"].as_array().unwrap();
        assert_eq!(arrows.len(), pages.chart.arrows.len());
        let dropped = arrows.iter().find(|a| a[6] != "").unwrap();
        assert_eq!((&dropped[5], &dropped[6]), (&1.into(), &"loss".into()));
        assert!(
            arrows[0][9]
                .as_str()
                .unwrap()
                .starts_with("Ping a → node-1: ")
        );
        assert_eq!(
            data["marks"].as_array().unwrap().len(),
            pages.chart.marks.len()
        );
        // The page drawn is the opening one, numbered as in the run.
        assert!(pages.svg(&[]).contains(r#"data-page="1100..1300""#));
    }
}
