//! Tools that read trained models and never train them: Jacobians, AIS estimates of an RBM's
//! partition function; tangent planes, the
//! denoising score and sampling chains as the chapter's §14.5–14.7 arrive.

pub mod ais;
pub mod embedding_quality;
pub mod jacobian;

pub use jacobian::{encoder_jacobian, mean_jacobian_norm};
