//! `autoencoder`: every autoencoder of Goodfellow, Bengio & Courville, *Deep Learning*, ch. 14,
//! as parts of one objective `L(x, g(f(C(x)))) + Ω(h, x)`, on a small engine (faer + rayon).
//!
//! ```
//! use autoencoder::{Autoencoder, AutoencoderSpec, Likelihood, Matrix};
//! let spec = AutoencoderSpec::new(4, &[8], 2, Likelihood::Gaussian);
//! let model = Autoencoder::new(spec, 0).unwrap();
//! let x = Matrix::from_vec(1, 4, vec![0.1, 0.2, 0.3, 0.4]);
//! assert_eq!(model.encode(&x).unwrap().cols(), 2);
//! ```

pub mod analysis;
pub mod baselines;
pub mod classifier;
pub mod code;
pub mod config;
pub mod data;
pub mod defaults;
pub mod error;
pub mod export;
pub mod folder;
pub mod fsutil;
pub mod hashing;
pub mod layers;
pub mod limits;
pub mod linalg;
pub mod model;
pub mod neighbors;
pub mod nn;
pub mod objective;
pub mod pretrain;
pub mod psd;
pub mod rbm;
pub mod report;
pub mod run;
pub mod sparse_coding;
pub mod train;

pub use error::{Error, Result};
pub use linalg::Matrix;
pub use model::{Autoencoder, AutoencoderSpec, Evaluation};
pub use nn::{Activation, Init, OptimizerKind};
pub use objective::{CodePenalty, Corruption, Likelihood, Objective, ParameterPenalty};
pub use train::{fit, initial_state, TrainConfig};
