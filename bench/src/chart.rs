//! The SVG chart: one panel per figure, a bar per contender at its median with a min – max
//! whisker, the ratio to the floor of the contender's runtime API (`floor` or `floor-aws`)
//! written above it. Logarithmic value axes: bash is two
//! orders of magnitude away from the rest. Text is left to the SVG viewer's `sans-serif`,
//! so drawing needs no font on this machine.

use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::contenders::floor_id;
use crate::report::{floor_of, size_label};
use crate::stats::{format, ratio, Figure, Summary, Unit};
use crate::RunResults;

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
        "ours-aws" => RGBColor(23, 190, 207),
        "floor-aws" => RGBColor(70, 70, 70),
        "lambda_runtime" => RGBColor(148, 103, 189),
        _ => RGBColor(197, 176, 213),
    }
}

/// A panel of one figure over the samples of one server.
fn figure_panel(
    o: &RunResults,
    samples: &[Vec<crate::measure::Sample>],
    fig: Figure,
    title: String,
) -> Panel {
    let bars = o
        .contenders
        .iter()
        .zip(samples)
        .enumerate()
        .filter_map(|(i, (c, s))| {
            let summary = fig.summary(s)?;
            let floor = floor_of(o, i).and_then(|f| fig.summary(&samples[f]));
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
fn zip_panel(o: &RunResults) -> Panel {
    let floor_zip = |id: &str| {
        o.contenders
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.built())
            .map(|b| b.zip_size as f64)
    };
    let bars = o
        .contenders
        .iter()
        .filter_map(|c| {
            let size = c.built()?.zip_size as f64;
            let floor = floor_zip(floor_id(c.dialect));
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
pub fn draw(o: &RunResults, path: &Path) -> Result<(), String> {
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
    // Wide enough for nine bars a panel with their labels side by side.
    let root = SVGBackend::new(path, (1800, 60 + 320 * rows as u32)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("chart {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let title = format!(
        "SCF Custom Runtime bootstraps, {} ({} runs; medians, min–max whiskers, × the floor of the same runtime API)",
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
    // Room above the highest whisker for the two lines of text.
    let hi = p.bars.iter().map(|b| b.summary.max).fold(0.0, f64::max) * 8.0;
    let n = p.bars.len() as i32;
    let unit = p.unit;
    let labels: Vec<&str> = p.bars.iter().map(|b| b.label).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(24)
        .y_label_area_size(72)
        // `a..b` segments every integer from a to b inclusive: one segment per bar.
        .build_cartesian_2d((0..(n - 1).max(1)).into_segmented(), (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(p.bars.len() + 1)
        .x_label_style(("sans-serif", 11))
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
        // The median and the ratio on two lines above the whisker, centred on the bar.
        let style = ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series(std::iter::once(
            EmptyElement::at((SegmentValue::CenterOf(i), b.summary.max))
                + Text::new(format(unit, b.summary.median), (0, -18), style.clone())
                + Text::new(b.ratio.clone(), (0, -4), style),
        ))?;
    }
    Ok(())
}
