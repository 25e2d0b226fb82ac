//! Grouped bar charts as PNG and SVG: one group of bars per category (a configuration,
//! say), one bar per series in each group (simulated and published figures side by
//! side), each bar labelled with its value.

use crate::plot::{ChartLabels, DrawResult, render, tick};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One named series: a value per category, in category order.
#[derive(Clone, Debug, PartialEq)]
pub struct Bars {
    /// Legend label.
    pub label: String,
    /// One value per category.
    pub values: Vec<f64>,
    /// Half-widths of the confidence interval per category (a whisker on each bar), or
    /// empty for none.
    pub ci: Vec<f64>,
}

/// Draw `series` as groups of bars over `categories` into `path` (PNG or SVG by its
/// extension). Every series must have one value per category.
pub fn bar_chart(
    path: &Path,
    labels: &ChartLabels,
    categories: &[String],
    series: &[Bars],
) -> Result<(), String> {
    if let Some(s) = series.iter().find(|s| {
        s.values.len() != categories.len() || !(s.ci.is_empty() || s.ci.len() == s.values.len())
    }) {
        return Err(format!(
            "series {:?} has {} values and {} intervals for {} categories",
            s.label,
            s.values.len(),
            s.ci.len(),
            categories.len()
        ));
    }
    render(
        path,
        |root| draw(root, labels, categories, series),
        |root| draw(root, labels, categories, series),
    )
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    labels: &ChartLabels,
    categories: &[String],
    series: &[Bars],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let n = categories.len();
    let top = series
        .iter()
        .flat_map(|s| {
            let ci = s.ci.iter().chain(std::iter::repeat(&0.0));
            s.values.iter().zip(ci).map(|(v, ci)| v + ci)
        })
        .fold(0.0f64, f64::max);
    let y1 = if top > 0.0 { top * 1.15 } else { 1.0 };
    // Category i is centred on x = i.
    let mut chart = ChartBuilder::on(&root)
        .caption(&labels.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..y1)?;
    let name_at = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
            categories[i as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.max(1))
        .x_label_formatter(&name_at)
        .x_desc(&labels.x)
        .y_desc(&labels.y)
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 14))
        .draw()?;
    let width = 0.8 / series.len().max(1) as f64;
    for (k, s) in series.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let left = |i: usize| i as f64 - 0.4 + k as f64 * width;
        chart
            .draw_series(s.values.iter().enumerate().map(|(i, &v)| {
                Rectangle::new([(left(i), 0.0), (left(i) + width, v)], color.filled())
            }))?
            .label(&s.label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
        chart.draw_series(
            s.values
                .iter()
                .zip(&s.ci)
                .enumerate()
                .map(|(i, (&v, &ci))| {
                    let x = left(i) + width / 2.0;
                    ErrorBar::new_vertical(x, v - ci, v, v + ci, BLACK.stroke_width(2), 8)
                }),
        )?;
        chart.draw_series(s.values.iter().enumerate().map(|(i, &v)| {
            let above = v + s.ci.get(i).copied().unwrap_or(0.0);
            Text::new(
                tick(v),
                (left(i) + width * 0.15, above + y1 * 0.045),
                ("sans-serif", 13).into_font().color(&BLACK),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
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

    #[test]
    fn draws_png_and_svg_and_refuses_ragged_series() {
        let dir = std::env::temp_dir().join(format!("dsim-bar-{}", std::process::id()));
        let labels = ChartLabels {
            title: "t".into(),
            x: "x".into(),
            y: "y".into(),
        };
        let cats = vec!["a".to_owned(), "b".to_owned()];
        let series = [
            Bars {
                label: "one".into(),
                values: vec![1.0, 2.0],
                ci: vec![0.1, 0.3],
            },
            Bars {
                label: "two".into(),
                values: vec![0.5, 3.0],
                ci: Vec::new(),
            },
        ];
        for ext in ["png", "svg"] {
            let f = dir.join(format!("bars.{ext}"));
            bar_chart(&f, &labels, &cats, &series).unwrap();
            assert!(std::fs::metadata(&f).unwrap().len() > 1000);
        }
        let svg: String = std::fs::read_to_string(dir.join("bars.svg"))
            .unwrap()
            .split_whitespace()
            .collect();
        assert!(
            svg.contains(">3<") && svg.contains(">a<"),
            "values and names drawn"
        );
        let ragged = [Bars {
            label: "r".into(),
            values: vec![1.0],
            ci: Vec::new(),
        }];
        let e = bar_chart(&dir.join("r.png"), &labels, &cats, &ragged).unwrap_err();
        assert!(
            e.contains("1 values and 0 intervals for 2 categories"),
            "{e}"
        );
        assert!(bar_chart(&dir.join("r.txt"), &labels, &cats, &series).is_err());
    }
}
