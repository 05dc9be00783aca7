//! An RGB raster canvas with the few primitives the plots need, saved as PNG atomically.

use crate::error::{Error, Result};
use std::path::Path;

/// An RGB image.
#[derive(Clone, Debug)]
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<[u8; 3]>,
}

/// Ten distinguishable colours (Tableau 10), for labels 0–9 and series.
pub const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

impl Canvas {
    /// A white canvas.
    pub fn new(width: usize, height: usize) -> Self {
        Canvas {
            width,
            height,
            pixels: vec![[255, 255, 255]; width * height],
        }
    }
    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }
    /// Sets one pixel (ignored outside the canvas).
    pub fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            self.pixels[y as usize * self.width + x as usize] = c;
        }
    }
    /// The pixel at (x, y).
    pub fn get(&self, x: usize, y: usize) -> [u8; 3] {
        self.pixels[y * self.width + x]
    }
    /// Fills a rectangle.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: [u8; 3]) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy, c);
            }
        }
    }
    /// A line, 1 px wide (Bresenham), thickened by `width`.
    pub fn line(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3], width: i64) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.fill_rect(x - width / 2, y - width / 2, width, width, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }
    /// Draws a grey-scale tile of `values` (row-major `w × h`, in [0, 1]) scaled by `scale`.
    pub fn gray_tile(&mut self, x: i64, y: i64, values: &[f32], w: usize, h: usize, scale: i64) {
        for r in 0..h {
            for c in 0..w {
                let v = (values[r * w + c].clamp(0.0, 1.0) * 255.0).round() as u8;
                self.fill_rect(
                    x + c as i64 * scale,
                    y + r as i64 * scale,
                    scale,
                    scale,
                    [v, v, v],
                );
            }
        }
    }
    /// Encodes as PNG and writes atomically.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        let mut bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut bytes, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc
                .write_header()
                .map_err(|e| Error::format(path, e.to_string()))?;
            let flat: Vec<u8> = self.pixels.iter().flatten().copied().collect();
            writer
                .write_image_data(&flat)
                .map_err(|e| Error::format(path, e.to_string()))?;
        }
        crate::fsutil::atomic_write(path, &bytes)
    }
}
