//! Line charts as PNG and SVG, drawn with plotters and an embedded font, so a plot looks
//! the same on every machine (no system fonts are consulted).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::path::Path;
use std::sync::Once;

/// One named series of (x, y) points: a measured series is drawn as a thick line with
/// dots, a reference series (an analytic curve) as a thin line with crosses; a series
/// with confidence intervals gets a whisker of `y ± ci` at each point.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// The points, in x order.
    pub points: Vec<(f64, f64)>,
    /// Draw as a reference curve (thin, with markers) rather than a measured line.
    pub reference: bool,
    /// Half-widths of the confidence interval at each point (one per point), or empty
    /// for none; what a sweep's mean over seeds carries.
    pub ci: Vec<f64>,
}

/// Titles and axis labels of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartLabels {
    /// Chart title.
    pub title: String,
    /// Horizontal axis label.
    pub x: String,
    /// Vertical axis label.
    pub y: String,
}

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn register_embedded_font() {
    REGISTER.call_once(|| {
        // The font is compiled in; it parses or the build is broken.
        if register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            unreachable!("the embedded DejaVu Sans is a valid TrueType font");
        }
    });
}

/// Draw `series` as a line chart into `path`: PNG when it ends in `.png`, SVG when it
/// ends in `.svg`.
pub fn line_chart(path: &Path, labels: &ChartLabels, series: &[Series]) -> Result<(), String> {
    time_chart(path, labels, series, &[])
}

/// Draw `series` as a line chart over time into `path` (PNG or SVG by its extension),
/// with a dashed vertical line and a label at each of `marks` (x, what): the faults of
/// a run over its key metric, say.
pub fn time_chart(
    path: &Path,
    labels: &ChartLabels,
    series: &[Series],
    marks: &[(f64, String)],
) -> Result<(), String> {
    render(
        path,
        |root| draw(root, labels, series, marks),
        |root| draw(root, labels, series, marks),
    )
}

/// The empirical CDF of `samples` as (value, fraction at or below it) points: every
/// sample when there are at most `max_points`, else `max_points` evenly spaced ranks
/// (the smallest and largest always included), so a plot of a million samples stays small.
pub fn empirical_cdf(samples: &[f64], max_points: usize) -> Vec<(f64, f64)> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    let points = n.min(max_points.max(2));
    (0..points)
        .map(|i| {
            // Rank (1-based) of the i-th point, from 1 to n.
            let rank = if points == n {
                i + 1
            } else {
                1 + i * (n - 1) / (points - 1)
            };
            (sorted[rank - 1], rank as f64 / n as f64)
        })
        .collect()
}

/// Chart size in pixels.
const SIZE: (u32, u32) = (900, 560);

/// Create `path`'s folder and draw into it with `png` or `svg` by its extension (the
/// embedded font registered first). Shared by every chart kind.
pub(crate) fn render(
    path: &Path,
    png: impl FnOnce(DrawingArea<BitMapBackend<'_>, Shift>) -> DrawResult,
    svg: impl FnOnce(DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> Result<(), String> {
    register_embedded_font();
    let fail = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("png") => {
            png(BitMapBackend::new(path, SIZE).into_drawing_area()).map_err(|e| fail(&e))
        }
        Some("svg") => svg(SVGBackend::new(path, SIZE).into_drawing_area()).map_err(|e| fail(&e)),
        _ => Err(format!(
            "{}: a chart file must end in .png or .svg",
            path.display()
        )),
    }
}

/// An axis tick: at most three decimals, thousands and millions shortened
/// (`740k`, `8M`), so long numbers do not run into the axis title.
pub(crate) fn tick(v: f64) -> String {
    let (scaled, suffix) = match v.abs() {
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let text = format!("{scaled:.3}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{suffix}")
}

/// What a drawing function returns.
pub(crate) type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn bounds(series: &[Series]) -> ((f64, f64), (f64, f64)) {
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) =
        (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, f64::NEG_INFINITY);
    let whiskers = series.iter().flat_map(|s| s.points.iter().zip(&s.ci));
    for (&(x, y), ci) in pts.map(|p| (p, &0.0)).chain(whiskers) {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y - ci);
        y1 = y1.max(y + ci);
    }
    if !x0.is_finite() || x1 <= x0 {
        (x0, x1) = (0.0, 1.0);
    }
    if !y1.is_finite() || y1 <= y0 {
        y1 = y0 + 1.0;
    }
    ((x0, x1), (y0, y1 * 1.05))
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    labels: &ChartLabels,
    series: &[Series],
    marks: &[(f64, String)],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let ((x0, x1), (y0, y1)) = bounds(series);
    let mut chart = ChartBuilder::on(&root)
        .caption(&labels.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(&labels.x)
        .y_desc(&labels.y)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 14))
        .draw()?;
    let mark_style = ShapeStyle::from(&RED.mix(0.7)).stroke_width(1);
    let shown = marks.iter().filter(|(x, _)| (x0..=x1).contains(x));
    for (k, (x, what)) in shown.enumerate() {
        // Dashes: short segments down the whole height.
        let dashes = 40;
        let step = (y1 - y0) / f64::from(dashes);
        chart.draw_series((0..dashes).step_by(2).map(|d| {
            let from = y0 + step * f64::from(d);
            PathElement::new(vec![(*x, from), (*x, from + step)], mark_style)
        }))?;
        // Labels stagger down so that close marks stay readable.
        let at = y1 - (y1 - y0) * (0.04 + 0.05 * (k % 4) as f64);
        chart.draw_series(std::iter::once(Text::new(
            what.clone(),
            (*x, at),
            ("sans-serif", 13).into_font().color(&RED),
        )))?;
    }
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let width = if s.reference { 1 } else { 3 };
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(width),
            ))?
            .label(&s.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
            });
        if s.reference {
            chart.draw_series(
                s.points
                    .iter()
                    .map(|&p| Cross::new(p, 5, color.stroke_width(1))),
            )?;
        } else {
            chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
        chart.draw_series(s.points.iter().zip(&s.ci).map(|(&(x, y), &ci)| {
            ErrorBar::new_vertical(x, y - ci, y, y + ci, color.stroke_width(2), 10)
        }))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (ChartLabels, Vec<Series>) {
        let labels = ChartLabels {
            title: "t".into(),
            x: "x".into(),
            y: "y".into(),
        };
        let series = vec![
            Series {
                label: "measured".into(),
                points: vec![(0.0, 1.0), (1.0, 2.0)],
                reference: false,
                ci: vec![0.2, 0.5],
            },
            Series {
                label: "analytic".into(),
                points: vec![(0.0, 1.1), (1.0, 1.9)],
                reference: true,
                ci: Vec::new(),
            },
        ];
        (labels, series)
    }

    #[test]
    fn ticks_are_short() {
        let shown: Vec<String> = [0.0, 0.05, 2.5, 740_000.0, 8_000_000.0, 12_345.0, -2e9]
            .iter()
            .map(|&v| tick(v))
            .collect();
        assert_eq!(shown, ["0", "0.05", "2.5", "740k", "8M", "12.345k", "-2G"]);
    }

    #[test]
    fn cdf_is_monotone_ends_at_one_and_is_thinned() {
        let xs: Vec<f64> = (0..1000).rev().map(f64::from).collect();
        let all = empirical_cdf(&xs[..10], 100);
        assert_eq!(all.len(), 10);
        assert_eq!((all[0], all[9]), ((990.0, 0.1), (999.0, 1.0)));
        let thin = empirical_cdf(&xs, 11);
        assert_eq!(thin.len(), 11);
        assert_eq!((thin[0], thin[10]), ((0.0, 0.001), (999.0, 1.0)));
        assert!(thin.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1));
        assert!(empirical_cdf(&[], 10).is_empty());
    }

    #[test]
    fn png_and_svg_are_written_and_not_blank() {
        let dir = std::env::temp_dir().join(format!("dsim-plot-{}", std::process::id()));
        let (labels, series) = sample();
        let png = dir.join("c.png");
        line_chart(&png, &labels, &series).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(
            bytes.len() > 5_000,
            "a blank 900x560 PNG compresses far smaller"
        );
        let svg = dir.join("c.svg");
        line_chart(&svg, &labels, &series).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("<svg") && text.contains("measured") && text.contains("analytic"));
        assert!(line_chart(&dir.join("c.txt"), &labels, &series).is_err());
        let marks = [
            (0.5, "crash N3".to_owned()),
            (7.0, "off the chart".to_owned()),
        ];
        let timed = dir.join("t.svg");
        time_chart(&timed, &labels, &series, &marks).unwrap();
        let text = std::fs::read_to_string(&timed).unwrap();
        assert!(text.contains("crash N3") && !text.contains("off the chart"));
    }
}
