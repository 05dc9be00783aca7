//! The autoencoder model: its spec, its network, encode/decode/reconstruct, and persistence.

pub mod autoencoder;
pub mod layers;
pub mod likelihood_bounds;
mod parameter_penalties;
pub mod persist;
pub mod spec;
pub mod step;

pub use crate::layers::Tensor;
pub use autoencoder::{Autoencoder, Evaluation};
pub use layers::{CodeLayerView, Half, LayerView};
pub use likelihood_bounds::LikelihoodBounds;
pub use spec::AutoencoderSpec;
pub use step::Workspace;
