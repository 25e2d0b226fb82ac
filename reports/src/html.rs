//! The HTML report page: one self-contained file (inline CSS, script and SVG, nothing
//! fetched), so it can be mailed, archived or opened from a CI artifact as it is.

use crate::sequence::{self, Pages, escape};
use std::fmt::Write;

/// A table of the page: a caption, column names and rows of already formatted cells.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Caption shown above the table.
    pub caption: String,
    /// Column names.
    pub header: Vec<String>,
    /// Rows, one cell per column.
    pub rows: Vec<Vec<String>>,
}

/// A plot of the page: its caption and the SVG text plotters wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Caption under the plot.
    pub caption: String,
    /// The SVG document (inlined into the page).
    pub svg: String,
}

/// The sequence chart of the page: its pages, lane names by node id, and what it holds
/// and opens at.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    /// The chart and the page it opens at.
    pub pages: Pages,
    /// Node names by id.
    pub names: Vec<String>,
    /// Which records of the run the page holds and which the chart opens at.
    pub note: String,
}

/// Everything one report page shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// Page title and heading.
    pub title: String,
    /// The summary: (field, value) pairs.
    pub summary: Vec<(String, String)>,
    /// Invariant violations, one line each (none: the page says so).
    pub violations: Vec<String>,
    /// Metric tables.
    pub tables: Vec<Table>,
    /// Plots.
    pub figures: Vec<Figure>,
    /// The message sequence chart, when the run kept trace records.
    pub sequence: Option<Sequence>,
}

/// The page's style sheet (the `#seq` rules style the sequence chart).
pub const STYLE: &str = include_str!("report.css");

/// The SVG text of a plotters file, made fit to inline: no XML prolog and no namespace
/// attribute (HTML gives inline SVG its namespace), so the page names no URL at all.
pub fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    svg[start..]
        .replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1)
        .replacen(r#" xmlns:xlink="http://www.w3.org/1999/xlink""#, "", 1)
}

/// Render `page` as one HTML document.
pub fn render(page: &Page) -> String {
    let mut s = String::new();
    let title = escape(&page.title);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>\n"
    );
    s.push_str("<section id=\"summary\"><h2>Summary</h2><table class=\"summary\">");
    for (k, v) in &page.summary {
        let _ = write!(s, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
    }
    s.push_str("</table>");
    if page.violations.is_empty() {
        s.push_str("<p class=\"ok\">No invariant was violated.</p>");
    } else {
        s.push_str("<ul class=\"violations\">");
        for v in &page.violations {
            let _ = write!(s, "<li>{}</li>", escape(v));
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>\n<section id=\"plots\"><h2>Plots</h2>");
    for f in &page.figures {
        let _ = write!(
            s,
            "<figure class=\"plot\">{}<figcaption>{}</figcaption></figure>",
            inline_svg(&f.svg),
            escape(&f.caption)
        );
    }
    s.push_str("</section>\n");
    if let Some(seq) = &page.sequence {
        let pages = &seq.pages;
        let _ = writeln!(
            s,
            "<section id=\"sequence\"><h2>Message sequence</h2><p id=\"seq-note\">{}</p><p>Page buttons: the previous, next, first and last page; go: the page that starts at a time. Wheel: zoom; drag: pan; checkboxes: filter. Hover an arrow or mark for its contents.</p>{}<div class=\"chart\">{}</div><script type=\"application/json\" id=\"seq-data\">{}</script></section>",
            escape(&seq.note),
            sequence::controls(&pages.chart, &seq.names),
            pages.svg(&seq.names),
            pages.data(&seq.names)
        );
    }
    s.push_str("<section id=\"metrics\"><h2>Metrics</h2>");
    for t in &page.tables {
        let _ = write!(
            s,
            "<table class=\"metrics\"><caption>{}</caption><tr>",
            escape(&t.caption)
        );
        for h in &t.header {
            let _ = write!(s, "<th>{}</th>", escape(h));
        }
        s.push_str("</tr>");
        for row in &t.rows {
            s.push_str("<tr>");
            for cell in row {
                let _ = write!(s, "<td>{}</td>", escape(cell));
            }
            s.push_str("</tr>");
        }
        s.push_str("</table>");
    }
    s.push_str("</section>\n");
    if page.sequence.is_some() {
        let _ = write!(s, "<script>{}</script>", sequence::SCRIPT);
    }
    s.push_str("</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inlined_svg_names_no_url_and_text_is_escaped() {
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"1\" xmlns=\"http://www.w3.org/2000/svg\"><text>x</text></svg>";
        assert_eq!(inline_svg(svg), "<svg width=\"1\"><text>x</text></svg>");
        let page = Page {
            title: "a<b".into(),
            summary: vec![("seed".into(), "7".into())],
            violations: vec!["safety at 1s: two <owners>".into()],
            tables: vec![Table {
                caption: "counters".into(),
                header: vec!["metric".into(), "value".into()],
                rows: vec![vec!["net.sent".into(), "12".into()]],
            }],
            figures: vec![Figure {
                caption: "cdf".into(),
                svg: svg.into(),
            }],
            sequence: None,
        };
        let html = render(&page);
        assert!(html.contains("<h1>a&lt;b</h1>") && html.contains("two &lt;owners&gt;"));
        assert!(html.contains("<td>net.sent</td><td>12</td>"));
        assert!(!html.contains("http://") && !html.contains("<script"));
    }
}
