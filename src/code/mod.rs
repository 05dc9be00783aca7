//! Code layers (ch. 14.4): how the encoder's last layer becomes the code `h` — as it is
//! (deterministic), or as a sample of `p_encoder(h | x)` (Gaussian, the VAE's) — and how the
//! decoder's per-sample likelihoods combine into the objective. One file per code layer; a
//! new one is one more file, one [`CodeDistribution`] variant and its arm in
//! [`CodeDistribution::layer`].

pub mod binary;
pub mod deterministic;
pub mod gaussian;

pub use binary::{BinaryCode, BinaryKind};
pub use deterministic::DeterministicCode;
pub use gaussian::GaussianCode;

use crate::linalg::{Matrix, Rng};
use serde::{Deserialize, Serialize};

/// Which code layer a model has (`model.code_distribution` in configs, `spec.json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeDistribution {
    /// `h = f(x)`.
    #[default]
    Deterministic,
    /// `h ~ N(μ(x), diag σ²(x))`, reparameterized: one sample per example and step (the ELBO)
    /// or `k` (the importance-weighted bound).
    Gaussian,
    /// `p = σ(a)`, pushed to {0, 1} in training (semantic hashing; [`BinaryCode`]).
    Binary,
}

impl CodeDistribution {
    /// The code layer's implementation (a binary code with its default settings; a model's
    /// own is [`CodeDistribution::with_binary`]).
    pub fn layer(self) -> &'static dyn CodeLayer {
        match self {
            CodeDistribution::Deterministic => &DeterministicCode,
            CodeDistribution::Gaussian => &GaussianCode,
            CodeDistribution::Binary => &BinaryCode::DEFAULT,
        }
    }

    /// The code layer, with a binary code's settings when it is one.
    pub fn with_binary(self, binary: Option<BinaryCode>) -> AnyCode {
        match self {
            CodeDistribution::Deterministic => AnyCode::Deterministic(DeterministicCode),
            CodeDistribution::Gaussian => AnyCode::Gaussian(GaussianCode),
            CodeDistribution::Binary => AnyCode::Binary(binary.unwrap_or_default()),
        }
    }
}

/// A code layer by value (no borrow of the model it came from); derefs to [`CodeLayer`].
#[derive(Clone, Copy, Debug)]
pub enum AnyCode {
    /// See [`DeterministicCode`].
    Deterministic(DeterministicCode),
    /// See [`GaussianCode`].
    Gaussian(GaussianCode),
    /// See [`BinaryCode`].
    Binary(BinaryCode),
}

impl std::ops::Deref for AnyCode {
    type Target = dyn CodeLayer;
    fn deref(&self) -> &(dyn CodeLayer + 'static) {
        match self {
            AnyCode::Deterministic(c) => c,
            AnyCode::Gaussian(c) => c,
            AnyCode::Binary(c) => c,
        }
    }
}

/// A code layer's buffers for one batch shape, made once per workspace.
#[derive(Clone, Debug, Default)]
pub struct CodeBuffers {
    /// The sampled code, `(rows · samples) × code` (sampled layers only).
    pub code: Vec<f32>,
    /// The noise each sample was drawn with, same shape.
    pub noise: Vec<f32>,
    /// One value per decoder row: the importance weight of each sample (importance-weighted
    /// layers only).
    pub row_weights: Vec<f32>,
}

/// How a code is made from the encoder's output, and its terms of the objective.
///
/// Shapes: `stats` is the encoder's last layer's output, `rows × encoder_outputs(code)`; the
/// decoder runs on `rows · samples` codes, sample-major within an example.
pub trait CodeLayer: Send + Sync {
    /// Columns the encoder's last layer outputs for a code of `code_size`.
    fn encoder_outputs(&self, code_size: usize) -> usize;

    /// Whether training draws `h` into [`CodeBuffers::code`]; if not, `h` is the encoder's
    /// output itself, read in place, and the backward pass goes on through the encoder's
    /// activation as for any hidden layer.
    fn is_sampled(&self) -> bool;

    /// Decoder rows per example in training when `importance_samples` are asked for.
    fn training_samples(&self, importance_samples: usize) -> usize;

    /// Buffers for batches of up to `rows` examples with `samples` samples each.
    fn buffers(&self, rows: usize, code_size: usize, samples: usize) -> CodeBuffers;

    /// The code of inference (`encode`): the encoder's output, or the distribution's mean.
    fn encode(&self, stats: Matrix, code_size: usize) -> Matrix;

    /// Training forward: draws the codes from `stats` into `buffers`; returns the layer's own
    /// term of the objective summed over rows (the KL of the ELBO), 0 if it has none.
    fn forward(
        &self,
        stats: &[f32],
        code_size: usize,
        samples: usize,
        buffers: &mut CodeBuffers,
        rng: &mut Rng,
    ) -> f64;

    /// The factor the likelihood's gradient of each decoder row is scaled by.
    fn likelihood_scale(&self, rows: usize, samples: usize) -> f32;

    /// The batch objective from the decoder rows' `−log p(x | h)` (`row_loss`, `rows ·
    /// samples`) and [`CodeLayer::forward`]'s term (weighted by `beta`). May leave per-row
    /// gradient weights in `buffers.row_weights` (see [`CodeLayer::weights_rows`]).
    fn objective(
        &self,
        row_loss: &[f32],
        rows: usize,
        samples: usize,
        beta: f32,
        forward_term: f64,
        buffers: &mut CodeBuffers,
    ) -> f64;

    /// Whether each decoder row's output gradient is to be multiplied by
    /// `buffers.row_weights` after [`CodeLayer::objective`].
    fn weights_rows(&self, samples: usize) -> bool;

    /// Training backward (sampled layers): from `∂/∂h` (`code_grad`, `(rows · samples) ×
    /// code`) writes `∂/∂stats` (`rows × encoder_outputs`), through the sample and the
    /// layer's own term.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        stats: &[f32],
        code_size: usize,
        samples: usize,
        beta: f32,
        code_grad: &[f32],
        buffers: &CodeBuffers,
        stats_grad: &mut [f32],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The code layer's contract, end to end, against finite differences: with a stand-in
    /// decoder loss `ℓ(h) = Σ_j c_j h_j²` per decoder row, the gradient the step assembles
    /// (likelihood scale, row weights, then `backward`) is the derivative of `objective`, the
    /// noise held fixed by reseeding.
    #[test]
    fn sampled_code_gradients_match_finite_differences() {
        let (rows, k) = (3, 2);
        let c = [0.7f32, -0.4];
        for samples in [1, 4] {
            let layer = CodeDistribution::Gaussian.layer();
            let width = layer.encoder_outputs(k);
            let stats: Vec<f32> = (0..rows * width)
                .map(|i| ((i * 7 % 5) as f32 - 2.0) * 0.3)
                .collect();
            let beta = 0.8;
            let run = |stats: &[f32], bufs: &mut CodeBuffers| -> f64 {
                let term = layer.forward(stats, k, samples, bufs, &mut Rng::new(11));
                let row_loss: Vec<f32> = bufs.code[..rows * samples * k]
                    .chunks_exact(k)
                    .map(|h| h.iter().zip(&c).map(|(h, c)| c * h * h).sum())
                    .collect();
                layer.objective(&row_loss, rows, samples, beta, term, bufs)
            };
            let mut bufs = layer.buffers(rows, k, samples);
            run(&stats, &mut bufs);
            let scale = layer.likelihood_scale(rows, samples);
            let code_grad: Vec<f32> = bufs.code[..rows * samples * k]
                .chunks_exact(k)
                .enumerate()
                .flat_map(|(r, h)| {
                    let w = if layer.weights_rows(samples) {
                        bufs.row_weights[r]
                    } else {
                        1.0
                    };
                    h.iter()
                        .zip(&c)
                        .map(move |(h, c)| 2.0 * c * h * scale * w)
                        .collect::<Vec<_>>()
                })
                .collect();
            let mut grad = vec![0.0f32; stats.len()];
            layer.backward(&stats, k, samples, beta, &code_grad, &bufs, &mut grad);
            for i in 0..stats.len() {
                let h = 1e-3f32;
                let mut up = stats.clone();
                up[i] += h;
                let mut down = stats.clone();
                down[i] -= h;
                let numeric = (run(&up, &mut bufs.clone()) - run(&down, &mut bufs.clone()))
                    / (2.0 * h as f64);
                assert!(
                    (numeric - grad[i] as f64).abs() < 2e-3 * (1.0 + numeric.abs()),
                    "samples {samples}, stats[{i}]: numeric {numeric} vs {}",
                    grad[i]
                );
            }
        }
    }

    #[test]
    fn a_deterministic_code_is_the_encoder_output() {
        let layer = CodeDistribution::Deterministic.layer();
        assert!(!layer.is_sampled());
        let x = Matrix::from_vec(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(layer.encode(x.clone(), 3), x);
        let mut bufs = layer.buffers(2, 3, 1);
        assert_eq!(layer.objective(&[1.0, 3.0], 2, 1, 1.0, 0.0, &mut bufs), 2.0);
        assert_eq!(layer.likelihood_scale(4, 1), 0.25);
    }
}
