//! The figures, drawn with `plotters` as SVG strings from plain data (no server types), so that any
//! front end, the page or a command, can draw the same figures.
//!
//! Text is written as SVG `<text>` elements and laid out by the browser, so no font is needed on the
//! server.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::RangedCoordi32;
use plotters::prelude::*;

/// A figure that could not be drawn.
pub type PlotResult = anyhow::Result<String>;

/// The font of every label.
const FONT: &str = "sans-serif";
/// Width of every figure (px).
const WIDTH: u32 = 760;

/// The colour of the `i`-th model (the recording is drawn in black).
pub fn model_color(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    COLORS[i % COLORS.len()]
}

/// One row of a raster.
#[derive(Clone, Debug)]
pub struct RasterRow {
    /// Shown left of the row.
    pub name: String,
    /// Spike times (ms) on the figure's time axis.
    pub times: Vec<f64>,
    /// Colour of the ticks.
    pub color: RGBColor,
}

/// A raster: one row of spike ticks per train, the first row on top, over the times `x` (ms).
pub fn raster(title: &str, rows: &[RasterRow], x_label: &str, x: Range<f64>) -> PlotResult {
    let n = rows.len().max(1);
    let height = (70 + 26 * n as u32).max(170);
    let x = if x.start.is_finite() && x.end.is_finite() && x.end > x.start {
        x
    } else {
        0.0..1.0
    };
    let span = x.end - x.start;
    draw(height, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(10)
            .margin_right(26)
            .x_label_area_size(40)
            .y_label_area_size(120)
            .build_cartesian_2d(x.clone(), rows_axis(n))?;
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .x_label_formatter(&|t| tick(*t, span))
            .y_labels(n)
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(i) => names
                    .get(n - 1 - *i as usize)
                    .map_or(String::new(), |s| s.to_string()),
                _ => String::new(),
            })
            .x_desc(x_label)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 14))
            .draw()?;
        let row_px = (f64::from(height) - 90.0) / n as f64;
        let half = (0.35 * row_px).clamp(3.0, 12.0) as i32;
        for (i, row) in rows.iter().enumerate() {
            let y = SegmentValue::CenterOf((n - 1 - i) as i32);
            let style = row.color.stroke_width(1);
            chart.draw_series(row.times.iter().filter(|t| x.contains(*t)).map(|&t| {
                EmptyElement::at((t, y.clone()))
                    + PathElement::new(vec![(0, -half), (0, half)], style)
            }))?;
        }
        Ok(())
    })
}

/// A Gaussian of (g_s, g_u): mean and sd of each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gaussian {
    /// Mean g_s.
    pub g_s: f64,
    /// Sd of g_s.
    pub sd_g_s: f64,
    /// Mean g_u.
    pub g_u: f64,
    /// Sd of g_u.
    pub sd_g_u: f64,
}

impl Gaussian {
    /// The ellipse `k` sd from the mean, as a closed polyline.
    fn ellipse(&self, k: f64) -> Vec<(f64, f64)> {
        (0..=96)
            .map(|i| {
                let a = std::f64::consts::TAU * f64::from(i) / 96.0;
                (
                    self.g_s + k * self.sd_g_s * a.cos(),
                    self.g_u + k * self.sd_g_u * a.sin(),
                )
            })
            .collect()
    }
}

/// The DIC plane: the population's (g_s, g_u), the prediction's 1- and 2-sd ellipses and mean, and the
/// refined distribution's 1-sd ellipse.
pub fn dic_plane(
    title: &str,
    population: &[(f64, f64)],
    predicted: Option<Gaussian>,
    refined: Option<Gaussian>,
) -> PlotResult {
    let mut xs: Vec<f64> = population.iter().map(|p| p.0).collect();
    let mut ys: Vec<f64> = population.iter().map(|p| p.1).collect();
    for g in predicted.iter().chain(&refined) {
        for (x, y) in g.ellipse(2.0) {
            xs.push(x);
            ys.push(y);
        }
    }
    let (x_range, y_range) = (padded(&xs), padded(&ys));
    let (x_span, y_span) = (x_range.end - x_range.start, y_range.end - y_range.start);
    let pred_color = RGBColor(31, 119, 180);
    let refined_color = RGBColor(214, 39, 40);
    let pop_color = RGBColor(44, 160, 44);
    draw(520, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(12)
            .margin_right(26)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d(x_range, y_range)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_label_formatter(&|x| tick(*x, x_span))
            .y_label_formatter(&|y| tick(*y, y_span))
            .x_desc("g_s (slow DIC)")
            .y_desc("g_u (ultraslow DIC)")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 14))
            .draw()?;
        if let Some(p) = predicted {
            chart
                .draw_series(LineSeries::new(p.ellipse(1.0), pred_color.stroke_width(2)))?
                .label("prediction: 1 and 2 sd")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], pred_color.stroke_width(2))
                });
            chart.draw_series(DashedLineSeries::new(
                p.ellipse(2.0),
                6,
                4,
                pred_color.stroke_width(1),
            ))?;
            chart.draw_series(std::iter::once(Cross::new(
                (p.g_s, p.g_u),
                6,
                pred_color.stroke_width(2),
            )))?;
        }
        if let Some(r) = refined {
            chart
                .draw_series(LineSeries::new(
                    r.ellipse(1.0),
                    refined_color.stroke_width(2),
                ))?
                .label("refined: 1 sd")
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], refined_color.stroke_width(2))
                });
        }
        chart
            .draw_series(
                population
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, pop_color.mix(0.7).filled())),
            )?
            .label(format!("population ({})", population.len()))
            .legend(move |(x, y)| Circle::new((x + 9, y), 3, pop_color.filled()));
        chart
            .configure_series_labels()
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        Ok(())
    })
}

/// The spread of each conductance over a population: per channel a box plot (quartiles, whiskers at 1.5
/// IQR) and the members as points, each channel divided by its population median so all share one axis.
/// `values[c]` holds channel `c`'s conductance in every member.
pub fn conductance_spread(title: &str, names: &[&str], values: &[Vec<f64>]) -> PlotResult {
    let n = names.len().max(1);
    let mut rows: Vec<(String, Vec<f32>)> = Vec::new();
    for (name, v) in names.iter().zip(values) {
        let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        let scale = median(&finite).filter(|m| *m > 0.0).unwrap_or(1.0);
        let label = match median(&finite) {
            Some(m) => format!("{name} (median {})", short(m)),
            None => name.to_string(),
        };
        rows.push((label, finite.iter().map(|x| (x / scale) as f32).collect()));
    }
    let x_max = rows
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(2.0_f32, f32::max)
        * 1.05;
    let height = (80 + 44 * n as u32).max(200);
    draw(height, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(10)
            .margin_right(26)
            .x_label_area_size(42)
            .y_label_area_size(170)
            .build_cartesian_2d(0.0_f32..x_max, rows_axis(n))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .y_labels(n)
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(i) => rows
                    .get(n - 1 - *i as usize)
                    .map_or(String::new(), |r| r.0.clone()),
                _ => String::new(),
            })
            .x_desc("conductance / population median")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 14))
            .draw()?;
        let row_px = (f64::from(height) - 95.0) / n as f64;
        for (i, (_, v)) in rows.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            let y = SegmentValue::CenterOf((n - 1 - i) as i32);
            let color = model_color(i);
            chart.draw_series(std::iter::once(
                Boxplot::new_horizontal(y.clone(), &Quartiles::new(v))
                    .width((0.55 * row_px) as u32)
                    .whisker_width(0.6)
                    .style(color.stroke_width(2)),
            ))?;
            let spread = (0.3 * row_px) as i32;
            chart.draw_series(v.iter().enumerate().map(|(k, &x)| {
                EmptyElement::at((x, y.clone()))
                    + Circle::new((0, jitter(k, spread)), 2, BLACK.mix(0.45).filled())
            }))?;
        }
        Ok(())
    })
}

/// One voltage trace, borrowed: a recording's traces can be minutes of samples, and are drawn decimated.
#[derive(Clone, Debug)]
pub struct TracePanel<'a> {
    /// Shown above the panel.
    pub name: String,
    /// Times (ms), increasing.
    pub t: &'a [f64],
    /// Membrane voltage (mV).
    pub v: &'a [f64],
    /// Spike times (ms) to mark on the trace (none for a model's trace).
    pub spikes: &'a [f64],
    /// A detection threshold (mV) to draw as a dashed line.
    pub threshold_mv: Option<f64>,
}

/// Voltage traces, one panel per model, stacked, on a shared time axis.
pub fn traces(title: &str, panels: &[TracePanel]) -> PlotResult {
    let n = panels.len().max(1);
    let height = 40 + 170 * n as u32;
    // The times increase, so each panel's first and last sample span it.
    let t_ends: Vec<f64> = panels
        .iter()
        .flat_map(|p| p.t.first().into_iter().chain(p.t.last()).copied())
        .collect();
    let t_range = padded_exact(&t_ends);
    draw(height, |root| {
        let root = root.titled(title, (FONT, 18))?;
        for (i, (panel, area)) in panels.iter().zip(root.split_evenly((n, 1))).enumerate() {
            let points = min_max_decimate(panel.t, panel.v, 1500);
            let mut v: Vec<f64> = points.iter().map(|p| p.1).collect();
            v.extend(panel.threshold_mv);
            let v_range = padded(&v);
            let mut chart = ChartBuilder::on(&area)
                .caption(&panel.name, (FONT, 15))
                .margin(6)
                .margin_right(26)
                .x_label_area_size(34)
                .y_label_area_size(56)
                .build_cartesian_2d(t_range.clone(), v_range.clone())?;
            chart
                .configure_mesh()
                .light_line_style(TRANSPARENT)
                .x_label_formatter(&|x| tick(*x, t_range.end - t_range.start))
                .y_label_formatter(&|v| tick(*v, 100.0))
                .x_desc("time (ms)")
                .y_desc("V (mV)")
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 13))
                .draw()?;
            chart.draw_series(LineSeries::new(points, model_color(i).stroke_width(1)))?;
            if let Some(th) = panel.threshold_mv {
                chart.draw_series(DashedLineSeries::new(
                    [(t_range.start, th), (t_range.end, th)],
                    6,
                    4,
                    BLACK.mix(0.6).stroke_width(1),
                ))?;
            }
            // Detected spikes: a red mark above the trace at each spike time.
            let top = v_range.end - 0.03 * (v_range.end - v_range.start);
            chart.draw_series(panel.spikes.iter().map(|&t| {
                EmptyElement::at((t, top)) + TriangleMarker::new((0, 0), 4, RED.filled())
            }))?;
        }
        Ok(())
    })
}

/// The row axis of a raster or strip plot: `n` segments, the first row on top.
fn rows_axis(n: usize) -> SegmentedCoord<RangedCoordi32> {
    (0..n as i32 - 1).into_segmented()
}

/// A tick label with as many decimals as an axis spanning `span` needs (none from a span of 10 up).
fn tick(x: f64, span: f64) -> String {
    let decimals = if span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else {
        2
    };
    let s = format!("{x:.decimals$}");
    // No "-0".
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// Draws a figure of [`WIDTH`] x `height` px on a white background and returns its SVG text.
fn draw(
    height: u32,
    body: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> anyhow::Result<()>,
) -> PlotResult {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        body(&root)?;
        root.present()?;
    }
    Ok(svg)
}

/// At most `2 * buckets` points that keep each bucket's lowest and highest sample, so spikes survive.
fn min_max_decimate(t: &[f64], v: &[f64], buckets: usize) -> Vec<(f64, f64)> {
    let n = t.len().min(v.len());
    if n <= 2 * buckets {
        return t.iter().copied().zip(v.iter().copied()).take(n).collect();
    }
    let size = n.div_ceil(buckets);
    let mut out = Vec::with_capacity(2 * buckets);
    for start in (0..n).step_by(size) {
        let end = (start + size).min(n);
        let (mut lo, mut hi) = (start, start);
        for i in start..end {
            if v[i] < v[lo] {
                lo = i;
            }
            if v[i] > v[hi] {
                hi = i;
            }
        }
        let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push((t[a], v[a]));
        if b != a {
            out.push((t[b], v[b]));
        }
    }
    out
}

/// A deterministic vertical offset in `-spread..=spread` px for the `k`-th point of a strip.
fn jitter(k: usize, spread: i32) -> i32 {
    if spread <= 0 {
        return 0;
    }
    // Golden-ratio sequence: evenly spread, no random generator needed.
    let u = (k as f64 * 0.618_033_988_749_895).fract();
    ((2.0 * u - 1.0) * f64::from(spread)).round() as i32
}

/// The range of the finite values, widened by 8% each side (and to a unit range when empty or flat).
fn padded(values: &[f64]) -> Range<f64> {
    let r = padded_exact(values);
    let pad = 0.08 * (r.end - r.start);
    r.start - pad..r.end + pad
}

/// The range of the finite values (a unit range when empty or flat).
fn padded_exact(values: &[f64]) -> Range<f64> {
    let (lo, hi) = values
        .iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    if !lo.is_finite() {
        0.0..1.0
    } else if hi - lo < 1e-9 {
        lo - 0.5..hi + 0.5
    } else {
        lo..hi
    }
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    })
}

/// A number with 3 significant digits.
fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    if x.abs() >= 1e5 || x.abs() < 1e-3 {
        format!("{x:.2e}")
    } else {
        format!("{x:.digits$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_svg_with_text() {
        let svg = raster(
            "recording 1",
            &[
                RasterRow {
                    name: "recording".into(),
                    times: vec![1.0, 50.0, 120.0],
                    color: BLACK,
                },
                RasterRow {
                    name: "model 0".into(),
                    times: vec![3.0, 80.0],
                    color: model_color(0),
                },
            ],
            "time (ms)",
            0.0..200.0,
        )
        .unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(">\nrecording\n</text>") && svg.contains(">\nmodel 0\n</text>"));
        let g = Gaussian {
            g_s: 1.0,
            sd_g_s: 0.5,
            g_u: 3.0,
            sd_g_u: 1.0,
        };
        let svg = dic_plane("DICs", &[(1.0, 3.0), (1.2, 2.5)], Some(g), None).unwrap();
        assert!(svg.contains("prediction: 1 and 2 sd") && svg.contains("population (2)"));
        let svg = conductance_spread(
            "spread",
            &["g_Na", "g_H"],
            &[vec![100.0, 200.0, 300.0], vec![0.0, 0.0, 0.0]],
        )
        .unwrap();
        assert!(svg.contains("g_Na (median 200)"));
        let t: Vec<f64> = (0..10_000).map(f64::from).collect();
        let v: Vec<f64> = t.iter().map(|x| (x / 100.0).sin()).collect();
        let svg = traces(
            "traces",
            &[TracePanel {
                name: "model 0".into(),
                t: &t,
                v: &v,
                spikes: &[],
                threshold_mv: None,
            }],
        )
        .unwrap();
        assert!(svg.contains("V (mV)"));
        let plain = svg.matches("<polygon").count();
        let marked = traces(
            "traces",
            &[TracePanel {
                name: "recording".into(),
                t: &t,
                v: &v,
                spikes: &[100.0, 200.0, 300.0],
                threshold_mv: Some(0.5),
            }],
        )
        .unwrap();
        // One triangle per spike, and the threshold's dashes.
        assert_eq!(marked.matches("<polygon").count(), plain + 3);
        assert!(marked.matches("<polyline").count() > svg.matches("<polyline").count());
    }

    #[test]
    fn empty_inputs_still_draw() {
        assert!(raster("none", &[], "time (ms)", 0.0..0.0).is_ok());
        assert!(dic_plane("none", &[], None, None).is_ok());
        assert!(conductance_spread("none", &[], &[]).is_ok());
        assert!(traces("none", &[]).is_ok());
    }

    #[test]
    fn decimation_keeps_extremes() {
        let t: Vec<f64> = (0..10_000).map(f64::from).collect();
        let mut v = vec![-60.0; 10_000];
        v[5_001] = 30.0;
        let d = min_max_decimate(&t, &v, 100);
        assert!(d.len() <= 200);
        assert!(d.contains(&(5001.0, 30.0)));
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(4948.9), "4949");
        assert_eq!(short(0.1388), "0.139");
        assert_eq!(short(12.345), "12.3");
        assert_eq!(short(0.0), "0");
    }
}
