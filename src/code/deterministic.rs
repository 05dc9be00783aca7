//! The deterministic code `h = f(x)` (ch. 14.1–14.3): the encoder's last layer is the code,
//! and the objective is the mean of the likelihood over the batch.

use super::{CodeBuffers, CodeLayer};
use crate::linalg::{Matrix, Rng};

/// `h = f(x)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeterministicCode;

impl CodeLayer for DeterministicCode {
    fn encoder_outputs(&self, code_size: usize) -> usize {
        code_size
    }

    fn is_sampled(&self) -> bool {
        false
    }

    fn training_samples(&self, _importance_samples: usize) -> usize {
        1
    }

    fn buffers(&self, _rows: usize, _code_size: usize, _samples: usize) -> CodeBuffers {
        CodeBuffers::default()
    }

    fn encode(&self, stats: Matrix, _code_size: usize) -> Matrix {
        stats
    }

    fn forward(&self, _: &[f32], _: usize, _: usize, _: &mut CodeBuffers, _: &mut Rng) -> f64 {
        0.0
    }

    fn likelihood_scale(&self, rows: usize, _samples: usize) -> f32 {
        1.0 / rows as f32
    }

    fn objective(
        &self,
        row_loss: &[f32],
        rows: usize,
        _samples: usize,
        _beta: f32,
        _forward_term: f64,
        _buffers: &mut CodeBuffers,
    ) -> f64 {
        row_loss[..rows].iter().map(|v| *v as f64).sum::<f64>() / rows as f64
    }

    fn weights_rows(&self, _samples: usize) -> bool {
        false
    }

    /// The identity: the step goes on through the encoder's activation instead.
    fn backward(
        &self,
        _: &[f32],
        _: usize,
        _: usize,
        _: f32,
        code_grad: &[f32],
        _: &CodeBuffers,
        stats_grad: &mut [f32],
    ) {
        stats_grad[..code_grad.len()].copy_from_slice(code_grad);
    }
}
