//! Tools that read trained models and never train them: Jacobians, tangent planes and their
//! spectra, the denoising score, denoising sampling chains, AIS estimates of an RBM's partition
//! function, map quality, two-sample distances.

pub mod ais;
pub mod dae_chain;
pub mod embedding_quality;
pub mod jacobian;
pub mod score;
pub mod tangent;
pub mod two_sample;

pub use jacobian::{encoder_jacobian, mean_jacobian_norm};
