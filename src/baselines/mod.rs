//! Classical baselines the autoencoders are measured against: PCA, and the nonparametric
//! maps of §14.6 (Isomap, LLE, t-SNE) on an exact nearest-neighbour graph
//! ([`crate::neighbors`]).

pub mod isomap;
pub mod lle;
pub mod pca;
pub mod spectral;
pub mod tsne;

pub use isomap::Isomap;
pub use lle::Lle;
pub use pca::{principal_angles_degrees, Pca};
