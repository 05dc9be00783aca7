//! Classical baselines the autoencoders are measured against.

pub mod pca;

pub use pca::{principal_angles_degrees, Pca};
