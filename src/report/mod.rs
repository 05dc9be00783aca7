//! Run reports: plots drawn by `plotters` (PNG or SVG) and image mosaics on a raster buffer.

pub mod canvas;
pub mod plots;
pub mod run;

pub use canvas::Canvas;
pub mod tensorboard;
