//! Run reports: PNG plots drawn on a small raster canvas (no font or plotting dependency).

pub mod canvas;
pub mod font;
pub mod plots;
pub mod run;

pub use canvas::Canvas;
