//! The autoencoder model: its spec, its network, encode/decode/reconstruct, and persistence.

pub mod autoencoder;
pub mod layers;
pub mod likelihood_bounds;
pub mod persist;
pub mod spec;

pub use autoencoder::{Autoencoder, Evaluation, Tensor, Workspace};
pub use layers::{CodeLayerView, Half, LayerView};
pub use likelihood_bounds::LikelihoodBounds;
pub use spec::AutoencoderSpec;
