//! An RGB raster buffer: the pixels `plotters` draws into for PNG plots, and the tiles of image
//! mosaics; saved as PNG atomically.

use crate::error::{Error, Result};
use std::path::Path;

/// An RGB image.
#[derive(Clone, Debug)]
pub struct Canvas {
    width: usize,
    height: usize,
    /// Row-major RGB bytes, 3 per pixel.
    pixels: Vec<u8>,
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
            pixels: vec![255; width * height * 3],
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
    /// The RGB bytes, for a drawing backend.
    pub fn rgb_mut(&mut self) -> &mut [u8] {
        &mut self.pixels
    }
    /// Sets one pixel (ignored outside the canvas).
    pub fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let at = 3 * (y as usize * self.width + x as usize);
            self.pixels[at..at + 3].copy_from_slice(&c);
        }
    }
    /// The pixel at (x, y).
    pub fn get(&self, x: usize, y: usize) -> [u8; 3] {
        let at = 3 * (y * self.width + x);
        [self.pixels[at], self.pixels[at + 1], self.pixels[at + 2]]
    }
    /// Fills a rectangle.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: [u8; 3]) {
        for yy in y..y + h {
            for xx in x..x + w {
                self.set(xx, yy, c);
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
    /// An RGB image tile: `values` holds three `h × w` planes (red, green, blue; CHW), each
    /// value in [0, 1].
    #[allow(clippy::too_many_arguments)]
    pub fn rgb_tile(&mut self, x: i64, y: i64, values: &[f32], w: usize, h: usize, scale: i64) {
        let plane = w * h;
        let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        for r in 0..h {
            for c in 0..w {
                let i = r * w + c;
                self.fill_rect(
                    x + c as i64 * scale,
                    y + r as i64 * scale,
                    scale,
                    scale,
                    [
                        byte(values[i]),
                        byte(values[plane + i]),
                        byte(values[2 * plane + i]),
                    ],
                );
            }
        }
    }
    /// The image encoded as PNG.
    pub fn png_bytes(&self) -> std::result::Result<Vec<u8>, png::EncodingError> {
        let mut bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut bytes, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.write_header()?.write_image_data(&self.pixels)?;
        }
        Ok(bytes)
    }
    /// Encodes as PNG and writes atomically.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        let bytes = self
            .png_bytes()
            .map_err(|e| Error::format(path, e.to_string()))?;
        crate::fsutil::atomic_write(path, &bytes)
    }
}
