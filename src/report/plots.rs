//! The plots of a run report: loss curves, originals vs reconstructions, a 2-D map of codes,
//! first-layer filters.

use super::canvas::{Canvas, PALETTE};
use super::font::{draw_text, format_value, text_width};
use crate::error::Result;
use crate::linalg::Matrix;
use std::path::Path;

const MARGIN: i64 = 20;

/// Training (blue) and validation (orange) loss per epoch, with a title, a legend and the
/// axis ranges written on the axes.
pub fn loss_curves(train: &[f64], validation: &[f64], path: &Path) -> Result<()> {
    curves(
        "LOSS PER EPOCH",
        &[("TRAIN", train), ("VALIDATION", validation)],
        path,
    )
}

/// Named series of one value per epoch, in the palette's colours, on shared axes: a title, a
/// legend and the axis ranges written on the axes. Non-finite values break their line.
pub fn curves(title: &str, series: &[(&str, &[f64])], path: &Path) -> Result<()> {
    let (w, h) = (720i64, 440i64);
    let (left, right, top, bottom) = (70i64, 20i64, 56i64, 40i64);
    let mut c = Canvas::new(w as usize, h as usize);
    let all: Vec<f64> = series
        .iter()
        .flat_map(|(_, s)| s.iter())
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = series
        .iter()
        .map(|(_, s)| s.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let px = |i: usize| left + ((w - left - right) as f64 * i as f64 / (n - 1) as f64) as i64;
    let py = |v: f64| h - bottom - ((h - top - bottom) as f64 * (v - lo) / span) as i64;
    let black = [0, 0, 0];
    c.line(left, h - bottom, w - right, h - bottom, black, 1);
    c.line(left, top, left, h - bottom, black, 1);
    draw_text(&mut c, left, 8, &title.to_uppercase(), black, 3);
    draw_text(&mut c, 4, top - 2, &format_value(hi), black, 2);
    draw_text(&mut c, 4, h - bottom - 10, &format_value(lo), black, 2);
    draw_text(&mut c, left, h - bottom + 8, "1", black, 2);
    let last = format!("EPOCH {n}");
    draw_text(
        &mut c,
        w - right - text_width(&last, 2),
        h - bottom + 8,
        &last,
        black,
        2,
    );
    // the legend, right-aligned on its own row under the title
    let names: Vec<String> = series.iter().map(|(name, _)| name.to_uppercase()).collect();
    let legend_width: i64 = names.iter().map(|n| 40 + text_width(n, 2)).sum();
    let mut legend_x = (w - right - legend_width).max(left);
    let mut legend_y = 32;
    for (k, ((_, values), name)) in series.iter().zip(&names).enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        for i in (1..values.len()).filter(|&i| values[i - 1].is_finite() && values[i].is_finite()) {
            c.line(
                px(i - 1),
                py(values[i - 1]),
                px(i),
                py(values[i]),
                colour,
                2,
            );
        }
        if values.len() == 1 && values[0].is_finite() {
            c.fill_rect(px(0) - 2, py(values[0]) - 2, 5, 5, colour);
        }
        if !values.is_empty() {
            if legend_x + 40 + text_width(name, 2) > w {
                legend_x = left + 10;
                legend_y += 14;
            }
            c.fill_rect(legend_x, legend_y, 12, 10, colour);
            draw_text(&mut c, legend_x + 18, legend_y, name, black, 2);
            legend_x += 40 + text_width(name, 2);
        }
    }
    c.save_png(path)
}

/// Pairs of rows (original above, reconstruction below) of square images, `count` columns.
pub fn reconstruction_grid(
    originals: &Matrix,
    reconstructions: &Matrix,
    count: usize,
    path: &Path,
) -> Result<()> {
    let side = (originals.cols() as f64).sqrt() as usize;
    let count = count.min(originals.rows());
    let scale = 2i64;
    let tile = side as i64 * scale + 2;
    let mut c = Canvas::new((tile * count as i64 + 2) as usize, (tile * 2 + 4) as usize);
    for i in 0..count {
        c.gray_tile(2 + tile * i as i64, 2, originals.row(i), side, side, scale);
        c.gray_tile(
            2 + tile * i as i64,
            tile + 4,
            reconstructions.row(i),
            side,
            side,
            scale,
        );
    }
    c.save_png(path)
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
    let per_row = per_row.max(1);
    let rows = images.rows().div_ceil(per_row).max(1);
    let scale = 2i64;
    let tile = side as i64 * scale + 2;
    let mut c = Canvas::new(
        (tile * per_row as i64 + 2) as usize,
        (tile * rows as i64 + 2) as usize,
    );
    for i in 0..images.rows() {
        c.gray_tile(
            2 + tile * (i % per_row) as i64,
            2 + tile * (i / per_row) as i64,
            images.row(i),
            side,
            side,
            scale,
        );
    }
    c.save_png(path)
}

/// A scatter plot of 2-D points coloured by label (grey when unlabelled).
pub fn code_map(
    points: &[(f32, f32)],
    labels: Option<&[i64]>,
    title: &str,
    path: &Path,
) -> Result<()> {
    let size = 600i64;
    let mut c = Canvas::new(size as usize, size as usize);
    let (mut x0, mut x1, mut y0, mut y1) = (
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
    );
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let sx = if x1 > x0 { x1 - x0 } else { 1.0 };
    let sy = if y1 > y0 { y1 - y0 } else { 1.0 };
    draw_text(&mut c, 6, 6, title, [0, 0, 0], 2);
    if let Some(l) = labels {
        // legend: one coloured square per label present
        let mut present: Vec<i64> = l.to_vec();
        present.sort_unstable();
        present.dedup();
        for (k, label) in present.iter().take(20).enumerate() {
            let y = 6 + 14 * k as i64;
            c.fill_rect(size - 44, y, 10, 10, PALETTE[label.rem_euclid(10) as usize]);
            draw_text(&mut c, size - 30, y, &label.to_string(), [0, 0, 0], 2);
        }
    }
    for (i, &(x, y)) in points.iter().enumerate() {
        let colour = match labels {
            Some(l) => PALETTE[l[i].rem_euclid(10) as usize],
            None => [90, 90, 90],
        };
        let px = MARGIN + ((size - 2 * MARGIN) as f32 * (x - x0) / sx) as i64;
        let py = size - MARGIN - ((size - 2 * MARGIN) as f32 * (y - y0) / sy) as i64;
        c.fill_rect(px - 1, py - 1, 3, 3, colour);
    }
    c.save_png(path)
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
    let size = 640i64;
    let (left, top) = (MARGIN, 40i64);
    let side = size - left - MARGIN;
    let mut c = Canvas::new(size as usize, (side + top + MARGIN) as usize);
    draw_text(&mut c, 6, 8, title, [0, 0, 0], 2);
    let [x0, x1, y0, y1] = bounds;
    let px = |x: f64| left as f64 + side as f64 * (x - x0) / (x1 - x0);
    let py = |y: f64| (top + side) as f64 - side as f64 * (y - y0) / (y1 - y0);
    if let Some((values, n)) = shade {
        let cell = side as f64 / n as f64;
        for gy in 0..n {
            for gx in 0..n {
                let v = values[gy * n + gx].clamp(0.0, 1.0);
                let tone = |base: f64| (255.0 - (255.0 - base) * v) as u8;
                let (xa, xb) = ((gx as f64 * cell) as i64, ((gx + 1) as f64 * cell) as i64);
                let (ya, yb) = ((gy as f64 * cell) as i64, ((gy + 1) as f64 * cell) as i64);
                c.fill_rect(
                    left + xa,
                    top + side - yb,
                    (xb - xa).max(1),
                    (yb - ya).max(1),
                    [tone(120.0), tone(160.0), tone(220.0)],
                );
            }
        }
    }
    // frame
    for (a, b, d, e) in [
        (left, top, left + side, top),
        (left, top + side, left + side, top + side),
        (left, top, left, top + side),
        (left + side, top, left + side, top + side),
    ] {
        c.line(a, b, d, e, [0, 0, 0], 1);
    }
    let mut lengths: Vec<f64> = arrows
        .iter()
        .map(|(_, v)| (v[0] * v[0] + v[1] * v[1]).sqrt())
        .filter(|l| l.is_finite())
        .collect();
    lengths.sort_by(f64::total_cmp);
    let typical = lengths
        .get((lengths.len() * 9 / 10).min(lengths.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0);
    let cell = (x1 - x0).max(y1 - y0) / cells.max(1) as f64;
    let scale = if typical > 0.0 { cell / typical } else { 0.0 };
    for (p, v) in arrows {
        if !(v[0].is_finite() && v[1].is_finite()) {
            continue;
        }
        let length = (v[0] * v[0] + v[1] * v[1]).sqrt();
        let cap = if length * scale > 1.5 * cell {
            1.5 * cell / (length * scale)
        } else {
            1.0
        };
        let v = [v[0] * cap, v[1] * cap];
        let (ax, ay) = (px(p[0]), py(p[1]));
        let (bx, by) = (px(p[0] + scale * v[0]), py(p[1] + scale * v[1]));
        let colour = [150, 30, 30];
        c.line(ax as i64, ay as i64, bx as i64, by as i64, colour, 1);
        // arrow head: two short strokes back from the tip at ±25°
        let (dx, dy) = (bx - ax, by - ay);
        let len = (dx * dx + dy * dy).sqrt();
        if len >= 3.0 {
            let head = (0.35 * len).min(6.0);
            for angle in [0.44f64, -0.44] {
                let (s, co) = angle.sin_cos();
                let (ux, uy) = (-(dx * co - dy * s) / len, -(dx * s + dy * co) / len);
                c.line(
                    bx as i64,
                    by as i64,
                    (bx + head * ux) as i64,
                    (by + head * uy) as i64,
                    colour,
                    1,
                );
            }
        }
    }
    let label = format!(
        "X {} TO {}   Y {} TO {}",
        format_value(x0),
        format_value(x1),
        format_value(y0),
        format_value(y1)
    );
    draw_text(&mut c, left, top + side + 6, &label, [60, 60, 60], 1);
    c.save_png(path)
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
    let per_row = 10usize;
    let rows = count.div_ceil(per_row);
    let scale = 2i64;
    let tile = side as i64 * scale + 2;
    let mut c = Canvas::new(
        (tile * per_row as i64 + 2) as usize,
        (tile * rows as i64 + 2) as usize,
    );
    for u in 0..count {
        let w = &weight[u * pixels..(u + 1) * pixels];
        let (lo, hi) = w
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let span = if hi > lo { hi - lo } else { 1.0 };
        let norm: Vec<f32> = w.iter().map(|v| (v - lo) / span).collect();
        c.gray_tile(
            2 + tile * (u % per_row) as i64,
            2 + tile * (u / per_row) as i64,
            &norm,
            side,
            side,
            scale,
        );
    }
    c.save_png(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_write_decodable_pngs() {
        let dir = std::env::temp_dir().join(format!("ae-plots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        loss_curves(&[3.0, 2.0, 1.5], &[3.2, 2.5, 2.0], &dir.join("loss.png")).unwrap();
        // a diverged validation loss breaks the curve (drawn, it would run ~1e18 pixels off
        // the canvas and never finish)
        loss_curves(
            &[3.0, 2.0, 1.5],
            &[f64::NAN, f64::INFINITY, 2.0],
            &dir.join("loss-inf.png"),
        )
        .unwrap();
        let m = Matrix::from_vec(2, 4, vec![0.0, 1.0, 0.5, 0.2, 1.0, 0.0, 0.3, 0.9]);
        reconstruction_grid(&m, &m, 2, &dir.join("grid.png")).unwrap();
        code_map(
            &[(0.0, 0.0), (1.0, 2.0)],
            Some(&[0, 3]),
            "CODES, 2-D",
            &dir.join("map.png"),
        )
        .unwrap();
        filters(m.as_slice(), 2, 4, 2, &dir.join("filters.png")).unwrap();
        for f in ["loss.png", "grid.png", "map.png", "filters.png"] {
            let decoder = png::Decoder::new(std::io::BufReader::new(
                std::fs::File::open(dir.join(f)).unwrap(),
            ));
            let reader = decoder.read_info().unwrap();
            assert!(reader.info().width > 0, "{f}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
