//! The HTML report of every library scenario, opened in a real browser: headless Chromium
//! loads each page, the test reads the DOM as the page's script left it (default view,
//! zoomed through the URL fragment, filtered through it) and checks element by element
//! that zoom and filters show exactly what they should, then takes a screenshot and
//! checks that the plots and the sequence chart were painted. A second test pages
//! through a whole run with the chart's buttons and checks that every page the script
//! draws is the page `reports` draws for those records.
//!
//! The browser is `$DSIM_CHROMIUM`, else the first of chromium-headless-shell, chromium,
//! chromium-browser, google-chrome on the PATH (`.ci/run` installs Debian's
//! chromium-headless-shell when none is there).

mod common;

use common::{arg, dsim, scratch};
use reports::sequence::{Chart, Pages, Window, opening_page};
use sim_core::{SimTime, TraceRecord};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Browsers run at once (each scenario's pages are opened by one worker).
const WORKERS: usize = 3;

fn browser() -> PathBuf {
    if let Some(path) = std::env::var_os("DSIM_CHROMIUM") {
        return PathBuf::from(path);
    }
    let names = [
        "chromium-headless-shell",
        "chromium",
        "chromium-browser",
        "google-chrome",
    ];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "no headless Chromium found: install Debian's chromium-headless-shell \
         (apt-get install -y chromium-headless-shell, as .ci/run does) or chromium, \
         or set DSIM_CHROMIUM to a Chromium or Chrome binary"
    );
}

/// Run the browser on `url` with `args`; its stdout.
fn chromium(profile: &Path, args: &[&str], url: &str) -> String {
    let out = Command::new(browser())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("the browser starts");
    assert!(
        out.status.success(),
        "{args:?} {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the DOM is UTF-8")
}

/// The opening tags in `dom` that start with `start`.
fn tags<'a>(dom: &'a str, start: &str) -> Vec<&'a str> {
    dom.match_indices(start)
        .map(|(i, _)| &dom[i..i + dom[i..].find('>').expect("tags close")])
        .collect()
}

/// The value of attribute `name` of `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=\"");
    let i = tag
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {tag}"))
        + key.len();
    &tag[i..i + tag[i..].find('"').expect("attribute closes")]
}

fn shown(tag: &str) -> bool {
    !tag.contains("display: none")
}

/// `text` with the entities the page and the browser write decoded.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// An arrow or mark of the chart: its attributes (but the style the layout sets) and
/// its tooltip, decoded.
#[derive(Debug, PartialEq)]
struct Item {
    attrs: BTreeMap<String, String>,
    title: String,
}

impl Item {
    /// Whether it is drawn at (starts or ends on) `row` of the page.
    fn at(&self, row: usize) -> bool {
        let row = row.to_string();
        ["data-r0", "data-r1"]
            .iter()
            .any(|k| self.attrs.get(*k) == Some(&row))
    }
}

/// The chart's arrows and marks in `dom` (the page as written, as the browser left it,
/// or a chart `reports` drew), in order.
fn items(dom: &str) -> Vec<Item> {
    let start = dom.find("<g id=\"items\"").expect("the chart's items");
    let body = &dom[start..start + dom[start..].find("</svg>").expect("the chart ends")];
    body.match_indices("<g class=\"")
        .map(|(i, _)| {
            let tag = &body[i + 2..i + body[i..].find('>').expect("tags close")];
            let mut attrs = BTreeMap::new();
            let mut rest = tag.split_once(' ').map_or("", |p| p.1);
            while let Some((name, after)) = rest.split_once("=\"") {
                let (value, after) = after.split_once('"').expect("attribute closes");
                attrs.insert(name.trim().to_owned(), unescape(value));
                rest = after;
            }
            attrs.remove("style");
            let title = &body[i..];
            let title = &title[title.find("<title>").expect("a tooltip") + 7..];
            Item {
                attrs,
                title: unescape(&title[..title.find("</title>").expect("tooltip closes")]),
            }
        })
        .collect()
}

/// A message arrow as the page holds it.
struct Arrow {
    from: String,
    to: String,
    kind: String,
    first: f64,
    last: f64,
    shown: bool,
}

/// The chart's state after the script ran: (view from, view to, arrows, visible count).
fn chart_state(dom: &str) -> (f64, f64, Vec<Arrow>, usize) {
    let svg = tags(dom, "<svg id=\"seq\"");
    assert_eq!(svg.len(), 1, "one sequence chart");
    let svg = svg[0];
    assert_eq!(attr(svg, "data-script"), "ran", "the chart's script ran");
    let (a, b) = attr(svg, "data-view").split_once("..").expect("a view");
    let arrows = tags(dom, "<g class=\"msg ")
        .into_iter()
        .map(|t| {
            let (r0, r1): (f64, f64) = (
                attr(t, "data-r0").parse().unwrap(),
                attr(t, "data-r1").parse().unwrap(),
            );
            Arrow {
                from: attr(t, "data-from").to_owned(),
                to: attr(t, "data-to").to_owned(),
                kind: attr(t, "data-kind").to_owned(),
                first: r0.min(r1),
                last: r0.max(r1),
                shown: shown(t),
            }
        })
        .collect();
    (
        a.parse().unwrap(),
        b.parse().unwrap(),
        arrows,
        attr(svg, "data-visible-arrows").parse().unwrap(),
    )
}

/// Open one scenario's report in the browser and check it; a line for the summary.
fn check_scenario(name: &str, root: &Path, worker: usize) -> String {
    let registry = scenarios::registry();
    let text = &registry
        .find_scenario(name)
        .expect("a library scenario")
        .text;
    let scenario = registry.load(name, text).expect("library scenarios load");
    // A twentieth of the run (at most some 50,000 events in the library): enough for a
    // chart of the first records, and quick in a debug build.
    let until = SimTime(scenario.duration().0 / 20);
    let dir = root.join(name);
    let run = dsim(&[
        "run",
        name,
        "--report",
        &arg(&dir),
        "--until",
        &format!("{}ns", until.0),
        "--json",
    ]);
    assert!(run.code <= 1, "dsim run {name} --report: {}", run.stderr);
    let page = dir.join("report.html");
    let html = std::fs::read_to_string(&page).expect("the page was written");
    assert!(!html.contains("http://") && !html.contains("https://"));
    let url = format!("file://{}", page.display());
    let profile = root.join(format!("profile-{worker}"));
    let dump = |fragment: &str| chromium(&profile, &["--dump-dom"], &format!("{url}{fragment}"));

    // The page as written: plots, and the chart at its default view (the whole window).
    assert!(
        tags(&html, "<figure class=\"plot\"><svg").len() >= 2,
        "{name}: plots"
    );
    let svg = tags(&html, "<svg id=\"seq\"")[0];
    let rows: f64 = attr(svg, "data-rows").parse().unwrap();
    let visible: usize = attr(svg, "data-visible-arrows").parse().unwrap();
    assert_eq!(attr(svg, "data-view"), format!("0..{rows}"));
    assert!(visible > 0, "{name}: the chart has messages");
    let arrows: Vec<Arrow> = tags(&html, "<g class=\"msg ")
        .into_iter()
        .map(|t| Arrow {
            from: attr(t, "data-from").to_owned(),
            to: attr(t, "data-to").to_owned(),
            kind: attr(t, "data-kind").to_owned(),
            first: 0.0,
            last: 0.0,
            shown: true,
        })
        .collect();
    assert_eq!(visible, arrows.len());

    // Zoomed in 4x: the first quarter of the rows, exactly the arrows that cross it.
    // The script drew the page from the chart's data: the page the report drew.
    let zoomed_dom = dump("#zoom=4");
    assert_eq!(
        items(&zoomed_dom),
        items(&html),
        "{name}: the script draws the opening page as sequence.rs drew it"
    );
    let (z0, z1, zoomed, zoomed_visible) = chart_state(&zoomed_dom);
    assert_eq!(z0, 0.0);
    assert!((z1 - rows / 4.0).abs() < 0.01, "{name}: view {z0}..{z1}");
    for a in &zoomed {
        let in_view = a.last >= z0 - 0.5 && a.first < z1 - 0.5;
        assert_eq!(
            a.shown, in_view,
            "{name}: zoomed arrow {}..{}",
            a.first, a.last
        );
    }
    assert_eq!(zoomed_visible, zoomed.iter().filter(|a| a.shown).count());
    assert!(
        zoomed_visible < visible,
        "{name}: zooming in hides arrows ({zoomed_visible} of {visible})"
    );

    // Filtered: one node and one message kind hidden.
    let node = arrows[0].from.clone();
    let others: Vec<&Arrow> = arrows
        .iter()
        .filter(|a| a.from != node && a.to != node)
        .collect();
    let kind = others
        .first()
        .map_or("none", |a| a.kind.as_str())
        .to_owned();
    // Node filters name the node as the scenario does (the lane's data-name).
    let lane = tags(&html, &format!("<g class=\"lane\" data-node=\"{node}\""));
    let node_name = attr(lane[0], "data-name");
    assert!(
        !node_name.is_empty()
            && node_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{name}: lane name {node_name:?}"
    );
    let dom = dump(&format!("#hide=node-{node_name},kind-{kind}"));
    let lane = tags(&dom, &format!("<g class=\"lane\" data-node=\"{node}\""));
    assert!(!shown(lane[0]), "{name}: the hidden node's lane is hidden");
    let (_, _, filtered, filtered_visible) = chart_state(&dom);
    for a in &filtered {
        let expect = a.from != node && a.to != node && a.kind != kind;
        assert_eq!(
            a.shown, expect,
            "{name}: filtered arrow {}->{} {}",
            a.from, a.to, a.kind
        );
    }
    assert!(
        filtered_visible < visible,
        "{name}: the node filter hides arrows"
    );
    if !others.is_empty() {
        assert!(
            filtered_visible < others.len(),
            "{name}: the kind filter hides arrows"
        );
    }

    // A screenshot: the plots' bars and lines and the chart's arrows were painted.
    let shot = root.join(format!("{name}.png"));
    chromium(
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2300",
        ],
        &url,
    );
    let image = image::open(&shot).expect("a PNG").to_rgb8();
    // The plots' first colour is crimson (230, 25, 75), the arrows are blue (42, 110,
    // 187); antialiased edges only lean that way.
    let (mut plot_red, mut arrow_blue, mut white) = (0, 0, 0);
    for p in image.pixels() {
        let [r, g, b] = p.0.map(i32::from);
        plot_red += usize::from(r > g + 100 && r > b + 60);
        arrow_blue += usize::from(b > r + 60 && b > g + 30);
        white += usize::from(r + g + b == 765);
    }
    let total = (image.width() * image.height()) as usize;
    assert!(
        plot_red > 2_000,
        "{name}: plot colour painted ({plot_red} px)"
    );
    assert!(arrow_blue > 200, "{name}: arrows painted ({arrow_blue} px)");
    assert!(white < total, "{name}: not one colour");
    format!(
        "{name}: {} arrows, {zoomed_visible} after zoom 4x, {filtered_visible} with node-{node} and {kind} hidden; screenshot {} KB",
        arrows.len(),
        std::fs::metadata(&shot).unwrap().len() / 1024
    )
}

#[test]
fn every_library_report_renders_zooms_and_filters_in_chromium() {
    let root = scratch("report-browser");
    let registry = scenarios::registry();
    let names: Vec<&str> = registry
        .library()
        .iter()
        .map(|s| s.file.trim_end_matches(".ron"))
        .collect();
    let next = AtomicUsize::new(0);
    let lines = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for worker in 0..WORKERS {
            let (next, lines, names, root) = (&next, &lines, &names, &root);
            s.spawn(move || {
                while let Some(name) = names.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let line = check_scenario(name, root, worker);
                    lines.lock().unwrap().push(line);
                }
            });
        }
    });
    let mut lines = lines.into_inner().unwrap();
    lines.sort();
    assert_eq!(lines.len(), names.len());
    println!("{}", lines.join("\n"));
}

/// What `run.json` holds of the chart: the records, the node names, and the run's
/// number of records.
fn held_records(dir: &Path) -> (Vec<TraceRecord>, Vec<String>, usize) {
    let text = std::fs::read_to_string(dir.join("run.json")).expect("run.json");
    let run: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let records = serde_json::from_value(run["records"].clone()).expect("trace records");
    let names = serde_json::from_value(run["node_names"].clone()).expect("names");
    (
        records,
        names,
        run["run_records"].as_u64().unwrap() as usize,
    )
}

/// Paging in the browser. The report of ping-pong's first 10 s (some 1,700 records)
/// opens at the records of 4s..5s, one page; the test presses the page buttons through
/// an added script (the DOM is dumped when it has run) and reads where they took the
/// chart from the `data-page` of the chart after each press, and checks that every
/// page the script drew holds the elements `reports` draws for those records
/// (`Pages::svg`), attribute for attribute: the last page after pressing "next" until it
/// is disabled, the one before it after "previous", the page at a time after "go",
/// the opening page again after "reset", and a page the URL fragment names.
#[test]
fn the_chart_pages_through_the_whole_run_in_chromium() {
    let root = scratch("report-browser-pages");
    let dir = root.join("run");
    let run = dsim(&[
        "run",
        "ping-pong",
        "--until",
        "10s",
        "--report",
        &arg(&dir),
        "--window",
        "4s..5s",
    ]);
    assert!(run.code <= 1, "dsim run ping-pong --report: {}", run.stderr);
    let (records, names, total) = held_records(&dir);
    assert_eq!(records.len(), total, "the report holds the whole run");
    let window: Window = "4s..5s".parse().unwrap();
    let open = opening_page(&records, Some(window));
    let len = open.len();
    assert!(
        open.start > len && open.end + 2 * len < total,
        "the chart opens mid-run, with pages before and after: {open:?} of {total}"
    );
    let chart = Chart::of(&records);
    let expected = |rows: Range<usize>| {
        let pages = Pages {
            chart: chart.clone(),
            first: 0,
            total,
            opening: rows,
        };
        items(&pages.svg(&names))
    };
    let range = |rows: &Range<usize>| format!("{}..{}", rows.start, rows.end);

    // The page as written opens at the window.
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let svg = tags(&html, "<svg id=\"seq\"")[0];
    assert_eq!(attr(svg, "data-page"), range(&open));
    assert_eq!(items(&html), expected(open.clone()));

    // `script` runs after the page's own; it records the chart's page after each press
    // in the body's `data-trail`.
    let profile = root.join("profile");
    let press = |name: &str, script: &str, fragment: &str| {
        let page = dir.join(format!("{name}.html"));
        let script = format!(
            r#"<script>(function () {{
  const seq = document.getElementById("seq");
  const trail = [seq.dataset.page];
  const press = (id) => {{ document.getElementById(id).click(); trail.push(seq.dataset.page); }};
  const disabled = (id) => document.getElementById(id).disabled;
  const time = (text) => {{ document.getElementById("goto-time").value = text; press("goto"); }};
  {script}
  document.body.dataset.trail = trail.join(" ");
}})();</script></body>"#
        );
        std::fs::write(&page, html.replacen("</body>", &script, 1)).unwrap();
        let url = format!("file://{}{fragment}", page.display());
        let dom = chromium(&profile, &["--dump-dom"], &url);
        let body = tags(&dom, "<body")[0];
        let trail: Vec<String> = attr(body, "data-trail")
            .split(' ')
            .map(str::to_owned)
            .collect();
        (dom, trail)
    };
    let page_at = |start: usize| start..start + len;
    let last = page_at(total - len);

    // "next" until it is disabled: a page at a time, to the last page, which shows the
    // run's last record.
    let (dom, trail) = press(
        "to-the-end",
        r#"while (!disabled("page-next") && trail.length < 1000) press("page-next");"#,
        "",
    );
    let mut want: Vec<String> = (open.start..total - len)
        .step_by(len)
        .map(|s| range(&page_at(s)))
        .collect();
    want.push(range(&last));
    assert_eq!(trail, want, "next moves one page at a time to the last");
    let shown = items(&dom);
    assert_eq!(
        shown,
        expected(last.clone()),
        "the last page as reports draws it"
    );
    let end = records.last().unwrap();
    assert!(
        shown
            .iter()
            .any(|i| i.at(len - 1) && i.title.contains(&end.detail)),
        "the run's last record ({end}) is on the last page"
    );
    let label = dom.split("<span id=\"view-label\">").nth(1).unwrap();
    assert!(
        label.starts_with(&format!("records {}–{total} of {total}, ", total - len)),
        "{label}"
    );

    // Then "previous": the page before the last.
    let (dom, trail) = press(
        "back",
        r#"while (!disabled("page-next") && trail.length < 1000) press("page-next");
  press("page-prev");"#,
        "",
    );
    let before = page_at(total - 2 * len);
    assert_eq!(trail.last().unwrap(), &range(&before));
    assert_eq!(
        items(&dom),
        expected(before),
        "previous draws the page before"
    );

    // "first", a time that is none (nothing moves), "go" to 7 s, then "reset": back at
    // the opening page, drawn again by the script.
    let (dom, trail) = press(
        "go",
        r#"press("page-first"); time("soon"); time("7s"); press("reset");"#,
        "",
    );
    let at_7s = records.partition_point(|r| r.time_ns < 7_000_000_000);
    assert_eq!(
        trail,
        [&open, &page_at(0), &page_at(0), &page_at(at_7s), &open].map(range),
        "first, a bad time, go to 7s, reset"
    );
    assert_eq!(items(&dom), expected(open.clone()));

    // A page the fragment names, off the grid of pages from the opening one, zoomed.
    let start = open.end + len / 2;
    let (dom, _) = press("fragment", "", &format!("#page={start}&zoom=2"));
    let svg = tags(&dom, "<svg id=\"seq\"")[0];
    assert_eq!(attr(svg, "data-page"), range(&page_at(start)));
    assert_eq!(attr(svg, "data-view"), format!("0..{}", len as f64 / 2.0));
    assert_eq!(items(&dom), expected(page_at(start)));
    println!(
        "ping-pong to 10 s: {total} records, pages of {len}, opening at {open:?}; {} pages to the end",
        want.len()
    );
}
