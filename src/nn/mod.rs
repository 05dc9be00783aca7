//! Neural-network parts: activations, initializations and optimizers. Each
//! file keeps a part's forward and backward side by side.

pub mod activation;
pub mod cg;
pub mod dropout;
pub mod init;
pub mod optimizer;
pub mod softmax;
pub mod weight_average;

pub use activation::Activation;
pub use init::Init;
pub use optimizer::{Optimizer, OptimizerKind};
