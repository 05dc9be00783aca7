//! The plots of a run report and of the analysis commands: curves per epoch, 2-D maps of codes,
//! vector fields, and mosaics of images and filters.
//!
//! Curves, maps and fields are drawn by `plotters` with axes, tick marks, axis labels and
//! legends (log scale where a curve spans decades); text is set in DejaVu Sans, shipped in
//! `assets/fonts` and embedded, so no system font is looked up. A path ending in `.svg` is
//! written as SVG, anything else as PNG (drawn into a buffer and encoded here, atomically).
//! Mosaics are raster by nature and always PNG, with a title in the same font.

use super::canvas::{Canvas, PALETTE};
use crate::error::{Error, Result};
use crate::linalg::Matrix;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/LICENSE`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // the embedded file is a valid font; a failure would only cost the text
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

fn colour(k: usize) -> RGBColor {
    let [r, g, b] = PALETTE[k % PALETTE.len()];
    RGBColor(r, g, b)
}

/// The error of a failed drawing, naming the file.
fn drawing<E: std::fmt::Debug>(path: &Path) -> impl Fn(E) -> Error + '_ {
    move |e| Error::format(path, format!("cannot draw the plot: {e:?}"))
}

/// Whether `path` asks for SVG.
pub fn is_svg(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
}

/// A figure that any `plotters` backend can draw.
trait Figure {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

/// Draws `figure` at `size` into `path`: SVG for `.svg`, else PNG; written atomically.
fn save(figure: &impl Figure, size: (u32, u32), path: &Path) -> Result<()> {
    register_font();
    if is_svg(path) {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE).map_err(drawing(path))?;
            figure.draw(&root).map_err(drawing(path))?;
            root.present().map_err(drawing(path))?;
        }
        return crate::fsutil::atomic_write(path, svg.as_bytes());
    }
    let mut canvas = Canvas::new(size.0 as usize, size.1 as usize);
    {
        let root = BitMapBackend::with_buffer(canvas.rgb_mut(), size).into_drawing_area();
        figure.draw(&root).map_err(drawing(path))?;
        root.present().map_err(drawing(path))?;
    }
    canvas.save_png(path)
}

/// Axis titles of a curve plot.
#[derive(Clone, Copy, Debug)]
pub struct Axes<'a> {
    /// Under the x axis (the x values are 1, 2, … n).
    pub x: &'a str,
    /// Beside the y axis.
    pub y: &'a str,
}

/// Training and validation loss per epoch (log scale when they span decades).
pub fn loss_curves(train: &[f64], validation: &[f64], path: &Path) -> Result<()> {
    curves_on(
        "Loss per epoch",
        Axes {
            x: "epoch",
            y: "loss",
        },
        &[("train", train), ("validation", validation)],
        path,
    )
}

/// Named series of one value per epoch on shared axes; see [`curves_on`].
pub fn curves(title: &str, series: &[(&str, &[f64])], path: &Path) -> Result<()> {
    curves_on(title, Axes { x: "epoch", y: "" }, series, path)
}

/// Named series, value `i` at x = i + 1, in the palette's colours, with a legend. Non-finite
/// values break their line; when every finite value is positive and they span more than a
/// factor of 30, the y axis is logarithmic.
pub fn curves_on(
    title: &str,
    axes: Axes<'_>,
    series: &[(&str, &[f64])],
    path: &Path,
) -> Result<()> {
    let finite: Vec<f64> = series
        .iter()
        .flat_map(|(_, s)| s.iter())
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let n = series
        .iter()
        .map(|(_, s)| s.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let figure = CurveFigure {
        title,
        axes,
        series,
        n,
        range: (lo, hi),
        log: lo > 0.0 && hi / lo > 30.0,
    };
    save(&figure, (800, 480), path)
}

struct CurveFigure<'a> {
    title: &'a str,
    axes: Axes<'a>,
    series: &'a [(&'a str, &'a [f64])],
    n: usize,
    range: (f64, f64),
    log: bool,
}

impl CurveFigure<'_> {
    /// Runs of consecutive finite values of series `k`, as (x, y) points.
    fn runs(&self, k: usize) -> Vec<Vec<(f64, f64)>> {
        let mut runs = vec![Vec::new()];
        for (i, v) in self.series[k].1.iter().enumerate() {
            if v.is_finite() {
                runs.last_mut().expect("one run").push(((i + 1) as f64, *v));
            } else if !runs.last().expect("one run").is_empty() {
                runs.push(Vec::new());
            }
        }
        runs.retain(|r| !r.is_empty());
        runs
    }
}

impl Figure for CurveFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        // a log axis is drawn as log10 of the values on a linear axis, labelled 10^v
        let y = |v: f64| if self.log { v.log10() } else { v };
        let (lo, hi) = (y(self.range.0), y(self.range.1));
        let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, (FAMILY, 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0.5..self.n as f64 + 0.5, lo - pad..hi + pad)?;
        let y_desc = if self.log && !self.axes.y.is_empty() {
            format!("{} (log scale)", self.axes.y)
        } else if self.log {
            "log scale".to_string()
        } else {
            self.axes.y.to_string()
        };
        let log = self.log;
        let y_label = move |v: &f64| {
            let v = if log { 10f64.powf(*v) } else { *v };
            tick(v)
        };
        chart
            .configure_mesh()
            .x_desc(self.axes.x)
            .y_desc(y_desc)
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&|v| format!("{}", v.round() as i64))
            .y_label_formatter(&y_label)
            .light_line_style(RGBColor(235, 235, 235))
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 15))
            .draw()?;
        for k in 0..self.series.len() {
            let c = colour(k);
            let mut labelled = false;
            for run in self.runs(k) {
                let run: Vec<(f64, f64)> = run.into_iter().map(|(x, v)| (x, y(v))).collect();
                let drawn = if run.len() == 1 {
                    chart.draw_series(std::iter::once(Circle::new(run[0], 3, c.filled())))?
                } else {
                    chart.draw_series(LineSeries::new(run, c.stroke_width(2)))?
                };
                if !labelled {
                    drawn.label(self.series[k].0).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3))
                    });
                    labelled = true;
                }
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FAMILY, 14))
            .draw()
    }
}

/// A tick label: up to four significant digits, scientific beyond 1e5 or under 1e-3.
fn tick(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.to_string()
        }
    }
}

/// Pairs of rows (originals above, reconstructions below) of square images, `count` columns.
pub fn reconstruction_grid(
    originals: &Matrix,
    reconstructions: &Matrix,
    count: usize,
    path: &Path,
) -> Result<()> {
    let side = (originals.cols() as f64).sqrt() as usize;
    let count = count.min(originals.rows());
    let mut tiles = Vec::with_capacity(2 * count);
    for m in [originals, reconstructions] {
        for i in 0..count {
            tiles.push(m.row(i).to_vec());
        }
    }
    mosaic(
        "Originals (top) and reconstructions (bottom)",
        &tiles,
        side,
        count.max(1),
        path,
    )
}

/// Originals and reconstructions of images of `channels × height × width` (1 = grey, 3 = RGB
/// in colour), one pair a column.
pub fn reconstruction_grid_images(
    originals: &Matrix,
    reconstructions: &Matrix,
    count: usize,
    (channels, height, width): (usize, usize, usize),
    path: &Path,
) -> Result<()> {
    if !matches!(channels, 1 | 3) || channels * height * width != originals.cols() {
        return Err(crate::Error::Invalid(format!(
            "{}: images of {channels}×{height}×{width} need 1 or 3 channels and {} values a row",
            path.display(),
            originals.cols()
        )));
    }
    let count = count.min(originals.rows());
    let mut tiles = Vec::with_capacity(2 * count);
    for m in [originals, reconstructions] {
        for i in 0..count {
            tiles.push(m.row(i).to_vec());
        }
    }
    mosaic_of(
        "Originals (top) and reconstructions (bottom)",
        &tiles,
        (channels, height, width),
        count.max(1),
        path,
    )
}

/// Square images in a grid with `per_row` columns (samples, interpolations).
pub fn image_grid(images: &Matrix, per_row: usize, path: &Path) -> Result<()> {
    let side = (images.cols() as f64).sqrt() as usize;
    if side * side != images.cols() {
        return Err(crate::Error::Invalid(format!(
            "{}: a grid needs square images, rows have {} values",
            path.display(),
            images.cols()
        )));
    }
    let tiles: Vec<Vec<f32>> = (0..images.rows()).map(|i| images.row(i).to_vec()).collect();
    mosaic("", &tiles, side, per_row.max(1), path)
}

/// `w` rescaled to its own min–max, [0, 1] (a constant slice goes to 0): filters, kernels and
/// sprite tiles, each drawn on its own scale.
pub fn own_range(w: &[f32]) -> Vec<f32> {
    let (lo, hi) = w
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    w.iter().map(|v| (v - lo) / span).collect()
}

/// The first `count` rows of a weight matrix (`[units, pixels]`) as square tiles, each
/// rescaled to its own min–max.
pub fn filters(
    weight: &[f32],
    units: usize,
    pixels: usize,
    count: usize,
    path: &Path,
) -> Result<()> {
    let side = (pixels as f64).sqrt() as usize;
    let count = count.min(units);
    let tiles: Vec<Vec<f32>> = (0..count)
        .map(|u| own_range(&weight[u * pixels..(u + 1) * pixels]))
        .collect();
    let title = format!("First {count} filters (each scaled to its own range)");
    mosaic(&title, &tiles, side, 10, path)
}

/// The first `count` kernels of a first conv layer's weight `[filters, channels, h, w]` (1 or
/// 3 channels: grey or colour), each rescaled to its own min–max.
pub fn kernels(
    weight: &[f32],
    filters: usize,
    (channels, height, width): (usize, usize, usize),
    count: usize,
    path: &Path,
) -> Result<()> {
    let len = channels * height * width;
    let count = count.min(filters);
    let tiles: Vec<Vec<f32>> = weight
        .chunks_exact(len)
        .take(count)
        .map(own_range)
        .collect();
    mosaic_of("", &tiles, (channels, height, width), 16, path)
}

/// Grey tiles (`side × side`, values in [0, 1]) at scale 2 in a grid of `per_row` columns,
/// under an optional title; always PNG (an `.svg` path is refused).
fn mosaic(title: &str, tiles: &[Vec<f32>], side: usize, per_row: usize, path: &Path) -> Result<()> {
    mosaic_of(title, tiles, (1, side, side), per_row, path)
}

/// Tiles of `channels × height × width` values in [0, 1] (1 channel grey, 3 in colour) at
/// scale 2, `per_row` a row, below `head` blank pixels, at least `min_width` wide.
pub fn tiles_canvas(
    tiles: &[Vec<f32>],
    (channels, height, width): (usize, usize, usize),
    per_row: usize,
    head: usize,
    min_width: usize,
) -> Canvas {
    let scale = 2usize;
    let per_row = per_row.max(1);
    let (tile_w, tile_h) = (width * scale + 2, height * scale + 2);
    let rows = tiles.len().div_ceil(per_row).max(1);
    let mut canvas = Canvas::new(
        (tile_w * per_row + 2).max(min_width),
        tile_h * rows + 2 + head,
    );
    for (i, values) in tiles.iter().enumerate() {
        let (x, y) = (
            (2 + tile_w * (i % per_row)) as i64,
            (head + 2 + tile_h * (i / per_row)) as i64,
        );
        if channels == 3 {
            canvas.rgb_tile(x, y, values, width, height, scale as i64);
        } else {
            canvas.gray_tile(x, y, values, width, height, scale as i64);
        }
    }
    canvas
}

/// [`mosaic`] of `channels × height × width` tiles (1 channel grey, 3 in colour).
fn mosaic_of(
    title: &str,
    tiles: &[Vec<f32>],
    (channels, height, width): (usize, usize, usize),
    per_row: usize,
    path: &Path,
) -> Result<()> {
    if is_svg(path) {
        return Err(Error::format(
            path,
            "image mosaics are raster images: write them as .png",
        ));
    }
    let (head, min_width) = if title.is_empty() { (0, 0) } else { (30, 420) };
    let mut canvas = tiles_canvas(tiles, (channels, height, width), per_row, head, min_width);
    if !title.is_empty() {
        register_font();
        let size = (canvas.width() as u32, canvas.height() as u32);
        let root = BitMapBackend::with_buffer(canvas.rgb_mut(), size).into_drawing_area();
        root.draw_text(title, &(FAMILY, 16).into_text_style(&root), (6, 7))
            .map_err(drawing(path))?;
        root.present().map_err(drawing(path))?;
    }
    canvas.save_png(path)
}

/// A scatter plot of 2-D points coloured by label (grey when unlabelled), with axes and a
/// legend of the labels present.
pub fn code_map(
    points: &[(f32, f32)],
    labels: Option<&[i64]>,
    title: &str,
    path: &Path,
) -> Result<()> {
    save(
        &MapFigure {
            points,
            labels,
            title,
            legend: true,
        },
        (760, 680),
        path,
    )
}

/// Several 2-D maps of the same points side by side (up to three per row), each under its
/// title, coloured by the shared `labels`; the legend is on the first panel.
pub fn code_maps(
    panels: &[(&str, &[(f32, f32)])],
    labels: Option<&[i64]>,
    path: &Path,
) -> Result<()> {
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols).max(1);
    let figure = Panels {
        maps: panels
            .iter()
            .enumerate()
            .map(|(i, (title, points))| MapFigure {
                points,
                labels,
                title,
                legend: i == 0,
            })
            .collect(),
        grid: (rows, cols),
    };
    save(&figure, (560 * cols as u32, 520 * rows as u32), path)
}

struct Panels<'a> {
    maps: Vec<MapFigure<'a>>,
    grid: (usize, usize),
}

impl Figure for Panels<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        for (map, area) in self.maps.iter().zip(root.split_evenly(self.grid)) {
            map.draw(&area)?;
        }
        Ok(())
    }
}

struct MapFigure<'a> {
    points: &'a [(f32, f32)],
    labels: Option<&'a [i64]>,
    title: &'a str,
    /// Whether to draw the legend of labels.
    legend: bool,
}

/// A chart over `f64 × f64` axes.
type Plane<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A titled plane over `xs × ys` with ticks on both axes and no grid (maps and fields).
fn plane<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    xs: std::ops::Range<f64>,
    ys: std::ops::Range<f64>,
) -> std::result::Result<Plane<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(xs, ys)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(8)
        .y_labels(8)
        .label_style((FAMILY, 13))
        .draw()?;
    Ok(chart)
}

/// `[lo, hi]` of `values` with 3 % of the span on each side (a unit box when empty or flat).
fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = if hi > lo { 0.03 * (hi - lo) } else { 0.5 };
    lo - pad..hi + pad
}

impl Figure for MapFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let xs = padded_range(self.points.iter().map(|p| p.0 as f64));
        let ys = padded_range(self.points.iter().map(|p| p.1 as f64));
        let mut chart = plane(root, self.title, xs, ys)?;
        let finite = |p: &(f32, f32)| p.0.is_finite() && p.1.is_finite();
        // dots that stay visible in a small map and do not merge in a large one
        let r = if self.points.len() <= 5000 { 2 } else { 1 };
        match self.labels {
            None => {
                chart.draw_series(self.points.iter().filter(|p| finite(p)).map(|p| {
                    Circle::new((p.0 as f64, p.1 as f64), r, RGBColor(90, 90, 90).filled())
                }))?;
            }
            Some(labels) => {
                let mut present: Vec<i64> = labels.to_vec();
                present.sort_unstable();
                present.dedup();
                for label in present.iter().copied() {
                    let c = colour(label.rem_euclid(10) as usize);
                    let drawn = chart.draw_series(
                        self.points
                            .iter()
                            .zip(labels)
                            .filter(|(p, l)| **l == label && finite(p))
                            .map(|(p, _)| Circle::new((p.0 as f64, p.1 as f64), r, c.filled())),
                    )?;
                    if self.legend && present.len() <= 20 {
                        drawn
                            .label(label.to_string())
                            .legend(move |(x, y)| Circle::new((x + 6, y), 4, c.filled()));
                    }
                }
                if self.legend {
                    chart
                        .configure_series_labels()
                        .position(SeriesLabelPosition::UpperRight)
                        .background_style(WHITE.mix(0.85))
                        .border_style(RGBColor(180, 180, 180))
                        .label_font((FAMILY, 13))
                        .draw()?;
                }
            }
        }
        Ok(())
    }
}

/// A vector field (a quiver plot) over the box `bounds = [x0, x1, y0, y1]`: one arrow per
/// `(point, vector)`, lengths scaled together so the 90th-percentile length spans one grid cell
/// of a `cells × cells` lattice (longer ones capped at 1.5 cells: far from the data a field can
/// be huge), over an optional background `shade` (`cells_bg × cells_bg` values in
/// [0, 1], row 0 at the bottom; darker = larger), e.g. the true density.
pub fn vector_field(
    title: &str,
    bounds: [f64; 4],
    shade: Option<(&[f64], usize)>,
    arrows: &[([f64; 2], [f64; 2])],
    cells: usize,
    path: &Path,
) -> Result<()> {
    save(
        &FieldFigure {
            title,
            bounds,
            shade,
            arrows,
            cells,
        },
        (700, 700),
        path,
    )
}

struct FieldFigure<'a> {
    title: &'a str,
    bounds: [f64; 4],
    shade: Option<(&'a [f64], usize)>,
    arrows: &'a [([f64; 2], [f64; 2])],
    cells: usize,
}

impl Figure for FieldFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let [x0, x1, y0, y1] = self.bounds;
        let mut chart = plane(root, self.title, x0..x1, y0..y1)?;
        if let Some((values, n)) = self.shade {
            let (cw, ch) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
            chart.draw_series((0..n * n).map(|k| {
                let (gx, gy) = (k % n, k / n);
                let v = values[gy * n + gx].clamp(0.0, 1.0);
                let tone = |base: f64| (255.0 - (255.0 - base) * v) as u8;
                let a = (x0 + gx as f64 * cw, y0 + gy as f64 * ch);
                let b = (a.0 + cw, a.1 + ch);
                Rectangle::new(
                    [a, b],
                    RGBColor(tone(120.0), tone(160.0), tone(220.0)).filled(),
                )
            }))?;
        }
        let mut lengths: Vec<f64> = self
            .arrows
            .iter()
            .map(|(_, v)| (v[0] * v[0] + v[1] * v[1]).sqrt())
            .filter(|l| l.is_finite())
            .collect();
        lengths.sort_by(f64::total_cmp);
        let typical = lengths
            .get((lengths.len() * 9 / 10).min(lengths.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0);
        let cell = (x1 - x0).max(y1 - y0) / self.cells.max(1) as f64;
        let scale = if typical > 0.0 { cell / typical } else { 0.0 };
        let red = RGBColor(150, 30, 30);
        let mut strokes: Vec<Vec<(f64, f64)>> = Vec::new();
        for (p, v) in self.arrows {
            if !(v[0].is_finite() && v[1].is_finite()) {
                continue;
            }
            let length = (v[0] * v[0] + v[1] * v[1]).sqrt();
            let cap = if length * scale > 1.5 * cell {
                1.5 * cell / (length * scale)
            } else {
                1.0
            };
            let (dx, dy) = (scale * v[0] * cap, scale * v[1] * cap);
            let tip = (p[0] + dx, p[1] + dy);
            strokes.push(vec![(p[0], p[1]), tip]);
            // arrow head: two short strokes back from the tip at ±25°
            let len = (dx * dx + dy * dy).sqrt();
            if len > 0.1 * cell {
                let head = (0.35 * len).min(0.3 * cell);
                for angle in [0.44f64, -0.44] {
                    let (s, co) = angle.sin_cos();
                    let (ux, uy) = (-(dx * co - dy * s) / len, -(dx * s + dy * co) / len);
                    strokes.push(vec![tip, (tip.0 + head * ux, tip.1 + head * uy)]);
                }
            }
        }
        chart.draw_series(
            strokes
                .into_iter()
                .map(|s| PathElement::new(s, red.stroke_width(1))),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_size(path: &Path) -> (u32, u32) {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let reader = decoder.read_info().unwrap();
        (reader.info().width, reader.info().height)
    }

    /// Pixels of `path` that are neither white nor grey: the coloured marks of the plot.
    fn coloured_pixels(path: &Path) -> usize {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0u8; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf[..info.buffer_size()]
            .chunks(3)
            .filter(|p| {
                let (lo, hi) = (p.iter().min().unwrap(), p.iter().max().unwrap());
                hi - lo > 40
            })
            .count()
    }

    #[test]
    fn plots_write_decodable_pngs_and_svgs() {
        let dir = std::env::temp_dir().join(format!("ae-plots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        loss_curves(&[3.0, 2.0, 1.5], &[3.2, 2.5, 2.0], &dir.join("loss.png")).unwrap();
        // a diverged validation loss breaks the curve instead of failing the plot
        loss_curves(
            &[3.0, 2.0, 1.5],
            &[f64::NAN, f64::INFINITY, 2.0],
            &dir.join("loss-inf.png"),
        )
        .unwrap();
        // decades apart: a log axis
        loss_curves(&[1000.0, 10.0, 0.1], &[], &dir.join("loss-log.png")).unwrap();
        let m = Matrix::from_vec(2, 4, vec![0.0, 1.0, 0.5, 0.2, 1.0, 0.0, 0.3, 0.9]);
        reconstruction_grid(&m, &m, 2, &dir.join("grid.png")).unwrap();
        code_map(
            &[(0.0, 0.0), (1.0, 2.0)],
            Some(&[0, 3]),
            "codes, 2-D",
            &dir.join("map.png"),
        )
        .unwrap();
        filters(m.as_slice(), 2, 4, 2, &dir.join("filters.png")).unwrap();
        vector_field(
            "field",
            [-1.0, 1.0, -1.0, 1.0],
            Some((&[0.0, 0.5, 0.5, 1.0], 2)),
            &[([0.0, 0.0], [1.0, 0.0]), ([0.5, 0.5], [0.0, -1.0])],
            10,
            &dir.join("field.png"),
        )
        .unwrap();
        for f in [
            "loss.png",
            "loss-inf.png",
            "loss-log.png",
            "grid.png",
            "map.png",
            "filters.png",
            "field.png",
        ] {
            let (w, h) = png_size(&dir.join(f));
            assert!(w > 0 && h > 0, "{f}");
        }
        // the curves and the map are drawn in colour (blank canvases would pass the decode)
        assert!(coloured_pixels(&dir.join("loss.png")) > 200);
        assert!(coloured_pixels(&dir.join("map.png")) > 10);
        // .svg: the same figure as text, with its title and axis labels as text elements
        loss_curves(&[3.0, 2.0, 1.5], &[3.2, 2.5, 2.0], &dir.join("loss.svg")).unwrap();
        let svg = std::fs::read_to_string(dir.join("loss.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("Loss per epoch") && svg.contains("epoch"));
        code_map(
            &[(0.0, 0.0), (1.0, 2.0)],
            Some(&[0, 3]),
            "codes",
            &dir.join("map.svg"),
        )
        .unwrap();
        assert!(std::fs::read_to_string(dir.join("map.svg"))
            .unwrap()
            .contains("<circle"));
        let (a, b) = (
            [(0.0f32, 0.0f32), (1.0, 2.0)],
            [(2.0f32, 1.0f32), (0.0, 0.5)],
        );
        code_maps(
            &[("a", &a), ("b", &b)],
            Some(&[0, 3]),
            &dir.join("maps.png"),
        )
        .unwrap();
        let (w, h) = png_size(&dir.join("maps.png"));
        assert!(w > h, "two panels side by side: {w} × {h}");
        // mosaics stay raster
        let err = filters(m.as_slice(), 2, 4, 2, &dir.join("filters.svg")).unwrap_err();
        assert!(err.to_string().contains(".png"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
