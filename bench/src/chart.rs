//! The SVG chart: one panel per figure, a bar per contender at its median with a min – max
//! whisker, the ratio to the floor written above it. Logarithmic value axes: bash is two
//! orders of magnitude away from the rest. Text is left to the SVG viewer's `sans-serif`,
//! so drawing needs no font on this machine.

use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::report::size_label;
use crate::stats::{format, ratio, Figure, Summary, Unit};
use crate::Outcome;

struct Bar {
    label: &'static str,
    color: RGBColor,
    summary: Summary,
    ratio: String,
}

struct Panel {
    title: String,
    unit: Unit,
    bars: Vec<Bar>,
}

fn color(id: &str) -> RGBColor {
    match id {
        "ours" => RGBColor(31, 119, 180),
        "ours-min" => RGBColor(120, 180, 230),
        "floor" => RGBColor(120, 120, 120),
        "tencent_scf" => RGBColor(255, 127, 14),
        "bash" => RGBColor(44, 160, 44),
        _ => RGBColor(148, 103, 189),
    }
}

/// A panel of one figure over the samples of one server.
fn figure_panel(
    o: &Outcome,
    samples: &[Vec<crate::measure::Sample>],
    fig: Figure,
    title: String,
) -> Panel {
    let floor = o
        .contenders
        .iter()
        .position(|c| c.id == "floor")
        .and_then(|f| fig.summary(&samples[f]));
    let bars = o
        .contenders
        .iter()
        .zip(samples)
        .filter_map(|(c, s)| {
            let summary = fig.summary(s)?;
            Some(Bar {
                label: c.id,
                color: color(c.id),
                summary,
                ratio: floor
                    .map(|f| ratio(summary.median, f.median))
                    .unwrap_or_default(),
            })
        })
        .collect();
    Panel {
        title,
        unit: fig.unit(),
        bars,
    }
}

/// The deploy zip sizes as a panel (one value each).
fn zip_panel(o: &Outcome) -> Panel {
    let floor = o
        .contenders
        .iter()
        .find(|c| c.id == "floor")
        .and_then(|c| c.built())
        .map(|b| b.zip_size as f64);
    let bars = o
        .contenders
        .iter()
        .filter_map(|c| {
            let size = c.built()?.zip_size as f64;
            Some(Bar {
                label: c.id,
                color: color(c.id),
                summary: Summary {
                    median: size,
                    min: size,
                    max: size,
                    n: 1,
                },
                ratio: floor.map(|f| ratio(size, f)).unwrap_or_default(),
            })
        })
        .collect();
    Panel {
        title: "deploy zip size".into(),
        unit: Unit::Bytes,
        bars,
    }
}

/// Draws the chart of `o` to `path`.
pub fn draw(o: &Outcome, path: &Path) -> Result<(), String> {
    let s = size_label(o.config.small.len());
    let l = size_label(o.config.large.len());
    let h = &o.harness;
    let mut panels = vec![
        figure_panel(o, h, Figure::Ready, "exec → ready (lower is better)".into()),
        figure_panel(o, h, Figure::First, "exec → first response".into()),
        figure_panel(
            o,
            h,
            Figure::SmallCpu,
            format!("bootstrap CPU per {s} invocation"),
        ),
        figure_panel(
            o,
            h,
            Figure::SmallRate,
            format!("{s} invocations/s (higher is better)"),
        ),
        figure_panel(
            o,
            h,
            Figure::LargeCpu,
            format!("bootstrap CPU per {l} invocation"),
        ),
        figure_panel(
            o,
            h,
            Figure::LargeRate,
            format!("{l} invocations/s (higher is better)"),
        ),
        figure_panel(
            o,
            h,
            Figure::RssSmall,
            format!("peak RSS after the {s} window"),
        ),
        zip_panel(o),
    ];
    if let Ok(emu) = &o.emulator {
        panels.push(figure_panel(
            o,
            emu,
            Figure::First,
            "scf-local: cold invoke".into(),
        ));
        panels.push(figure_panel(
            o,
            emu,
            Figure::SmallRate,
            format!("scf-local: {s} invocations/s"),
        ));
    }
    let rows = panels.len().div_ceil(2);
    let root = SVGBackend::new(path, (1200, 60 + 300 * rows as u32)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("chart {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let title = format!(
        "SCF Custom Runtime bootstraps, {} ({} runs; medians, min–max whiskers, × floor)",
        o.date, o.config.runs
    );
    let root = root
        .titled(&title, ("sans-serif", 22))
        .map_err(|e| err(&e))?;
    let areas = root.split_evenly((rows, 2));
    for (area, panel) in areas.iter().zip(&panels) {
        draw_panel(area, panel).map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn draw_panel(area: &Area<'_>, p: &Panel) -> Result<(), Box<dyn std::error::Error>> {
    if p.bars.is_empty() {
        area.draw(&Text::new(
            format!("{}: not measured", p.title),
            (20, 20),
            ("sans-serif", 16),
        ))?;
        return Ok(());
    }
    let lo = p
        .bars
        .iter()
        .map(|b| b.summary.min)
        .fold(f64::INFINITY, f64::min)
        .max(f64::MIN_POSITIVE)
        / 2.0;
    let hi = p.bars.iter().map(|b| b.summary.max).fold(0.0, f64::max) * 4.0;
    let n = p.bars.len() as i32;
    let unit = p.unit;
    let labels: Vec<&str> = p.bars.iter().map(|b| b.label).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(24)
        .y_label_area_size(72)
        .build_cartesian_2d((0..n).into_segmented(), (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(p.bars.len() + 1)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).copied().unwrap_or("").into(),
            _ => String::new(),
        })
        .y_labels(6)
        .y_label_formatter(&|v| format(unit, *v))
        .draw()?;
    for (i, b) in p.bars.iter().enumerate() {
        let i = i as i32;
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), lo),
                (SegmentValue::Exact(i + 1), b.summary.median),
            ],
            b.color.filled(),
        );
        bar.set_margin(0, 0, 12, 12);
        chart.draw_series(std::iter::once(bar))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![
                (SegmentValue::CenterOf(i), b.summary.min),
                (SegmentValue::CenterOf(i), b.summary.max),
            ],
            BLACK.stroke_width(2),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{} {}", format(unit, b.summary.median), b.ratio),
            (SegmentValue::CenterOf(i), b.summary.max * 1.25),
            ("sans-serif", 12).into_font().color(&BLACK),
        )))?;
    }
    Ok(())
}
