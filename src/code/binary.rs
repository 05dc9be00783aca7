//! Binary codes for semantic hashing (chapter 14.9): the encoder's last layer gives logits
//! `a`, the code is pushed to {0, 1} during training, and `encode` gives `p = σ(a)`, which
//! `hash` thresholds into a memory address. Three ways to push:
//!
//! - `noise` (Salakhutdinov & Hinton 2009, "Semantic hashing"): `h = σ(a + ε)`, `ε ~ N(0, s²)`
//!   drawn fresh each step; to carry information through the noise the encoder must make `|a|`
//!   large, so `p` ends near 0 or 1. Gradient `∂a = ∂h · h(1 − h)`.
//! - `straight_through` (stochastic binary neurons, NASH: Shen et al. 2018): `h = 1[u < p]`,
//!   `u ~ U(0, 1)`, with the straight-through estimator `∂h/∂p := 1`, so `∂a = ∂h · p(1 − p)`.
//! - `bernoulli` (variational hashing, VDSH/NASH): the same sample and estimator, plus
//!   `β · KL(Bern(p) ‖ Bern(½)) = β Σ_j [p log 2p + (1 − p) log 2(1 − p)]`, whose derivative in
//!   `a` is `a · p(1 − p)` (since `∂KL/∂p = log(p / (1 − p)) = a`).

use super::{CodeBuffers, CodeLayer};
use crate::linalg::{fastmath, Matrix, Rng};
use serde::{Deserialize, Serialize};

/// How training pushes the code to {0, 1} (`model.binary`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryKind {
    /// `σ(a + ε)` with Gaussian noise `ε` of standard deviation `noise`.
    #[default]
    Noise,
    /// Bernoulli samples with a straight-through gradient.
    StraightThrough,
    /// Bernoulli samples, straight-through, and a KL term to the uniform Bernoulli prior.
    Bernoulli,
}

/// A binary code layer: its kind and the noise level of `noise`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryCode {
    /// How codes are pushed to {0, 1}.
    pub kind: BinaryKind,
    /// Standard deviation of the noise before the sigmoid (`noise` only).
    pub noise: f32,
}

impl BinaryCode {
    /// S&H's setting: noise of variance 16.
    pub const DEFAULT: BinaryCode = BinaryCode {
        kind: BinaryKind::Noise,
        noise: 4.0,
    };
}

impl Default for BinaryCode {
    fn default() -> Self {
        BinaryCode::DEFAULT
    }
}

impl CodeLayer for BinaryCode {
    fn encoder_outputs(&self, code_size: usize) -> usize {
        code_size
    }

    fn is_sampled(&self) -> bool {
        true
    }

    fn training_samples(&self, _importance_samples: usize) -> usize {
        1
    }

    fn buffers(&self, rows: usize, code_size: usize, _samples: usize) -> CodeBuffers {
        CodeBuffers {
            code: vec![0.0; rows * code_size],
            noise: vec![0.0; rows * code_size],
            row_weights: Vec::new(),
        }
    }

    /// `p = σ(a)`, the probability of each bit.
    fn encode(&self, mut stats: Matrix, _code_size: usize) -> Matrix {
        stats
            .as_mut_slice()
            .iter_mut()
            .for_each(|a| *a = fastmath::sigmoid(*a));
        stats
    }

    fn forward(
        &self,
        stats: &[f32],
        _code_size: usize,
        _samples: usize,
        buffers: &mut CodeBuffers,
        rng: &mut Rng,
    ) -> f64 {
        let n = stats.len();
        let (code, noise) = (&mut buffers.code[..n], &mut buffers.noise[..n]);
        match self.kind {
            BinaryKind::Noise => {
                rng.fill_normal(noise);
                for ((h, e), a) in code.iter_mut().zip(noise.iter_mut()).zip(stats) {
                    *e *= self.noise;
                    *h = fastmath::sigmoid(a + *e);
                }
                0.0
            }
            BinaryKind::StraightThrough | BinaryKind::Bernoulli => {
                let mut kl = 0.0f64;
                for ((h, u), a) in code.iter_mut().zip(noise.iter_mut()).zip(stats) {
                    *u = rng.uniform();
                    let p = fastmath::sigmoid(*a);
                    *h = (*u < p) as u8 as f32;
                    if self.kind == BinaryKind::Bernoulli {
                        kl += bernoulli_kl_to_half(*a);
                    }
                }
                kl
            }
        }
    }

    fn likelihood_scale(&self, rows: usize, _samples: usize) -> f32 {
        1.0 / rows as f32
    }

    fn objective(
        &self,
        row_loss: &[f32],
        rows: usize,
        _samples: usize,
        beta: f32,
        forward_term: f64,
        _buffers: &mut CodeBuffers,
    ) -> f64 {
        let mean = row_loss[..rows].iter().map(|v| *v as f64).sum::<f64>() / rows as f64;
        mean + beta as f64 * forward_term / rows as f64
    }

    fn weights_rows(&self, _samples: usize) -> bool {
        false
    }

    fn backward(
        &self,
        stats: &[f32],
        code_size: usize,
        _samples: usize,
        beta: f32,
        code_grad: &[f32],
        buffers: &CodeBuffers,
        stats_grad: &mut [f32],
    ) {
        let n = code_grad.len();
        match self.kind {
            BinaryKind::Noise => {
                for ((g, dh), h) in stats_grad[..n].iter_mut().zip(code_grad).zip(&buffers.code) {
                    *g = dh * h * (1.0 - h);
                }
            }
            BinaryKind::StraightThrough | BinaryKind::Bernoulli => {
                let rows = stats.len() / code_size.max(1);
                let w = if self.kind == BinaryKind::Bernoulli {
                    beta / rows.max(1) as f32
                } else {
                    0.0
                };
                for ((g, dh), a) in stats_grad[..n].iter_mut().zip(code_grad).zip(stats) {
                    let p = fastmath::sigmoid(*a);
                    *g = (dh + w * a) * p * (1.0 - p);
                }
            }
        }
    }
}

/// `KL(Bern(σ(a)) ‖ Bern(½)) = log 2 + p log p + (1 − p) log(1 − p)`, computed from the logit
/// so it stays finite for saturated bits: `p log p + (1 − p) log(1 − p) = p·a − softplus(a)`.
fn bernoulli_kl_to_half(a: f32) -> f64 {
    let a = a as f64;
    let p = 1.0 / (1.0 + (-a).exp());
    let softplus = a.max(0.0) + (-a.abs()).exp().ln_1p();
    std::f64::consts::LN_2 + p * a - softplus
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats() -> Vec<f32> {
        (0..12).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.4).collect()
    }

    /// `noise`: with the noise held fixed (same seed) the objective is smooth in `a`; the
    /// backward pass equals its finite differences, for a stand-in decoder loss `Σ c_j h_j²`.
    #[test]
    fn noise_code_gradient_matches_finite_differences() {
        let layer = BinaryCode {
            kind: BinaryKind::Noise,
            noise: 2.0,
        };
        let (rows, k) = (3, 4);
        let c = [0.7f32, -0.4, 1.1, 0.3];
        let run = |stats: &[f32], bufs: &mut CodeBuffers| -> f64 {
            let term = layer.forward(stats, k, 1, bufs, &mut Rng::new(5));
            let loss: Vec<f32> = bufs.code[..rows * k]
                .chunks_exact(k)
                .map(|h| h.iter().zip(&c).map(|(h, c)| c * h * h).sum())
                .collect();
            layer.objective(&loss, rows, 1, 1.0, term, bufs)
        };
        let s = stats();
        let mut bufs = layer.buffers(rows, k, 1);
        run(&s, &mut bufs);
        let scale = layer.likelihood_scale(rows, 1);
        let dh: Vec<f32> = bufs.code[..rows * k]
            .iter()
            .enumerate()
            .map(|(i, h)| 2.0 * c[i % k] * h * scale)
            .collect();
        let mut grad = vec![0.0f32; s.len()];
        layer.backward(&s, k, 1, 1.0, &dh, &bufs, &mut grad);
        for i in 0..s.len() {
            let (mut up, mut down) = (s.clone(), s.clone());
            up[i] += 1e-3;
            down[i] -= 1e-3;
            let fd = (run(&up, &mut bufs.clone()) - run(&down, &mut bufs.clone())) / 2e-3;
            assert!(
                (fd - grad[i] as f64).abs() < 1e-3 * (1.0 + fd.abs()),
                "{i}: {fd} vs {}",
                grad[i]
            );
        }
    }

    /// Straight-through: the code is 0/1, a Bernoulli draw of `σ(a)`, and the gradient passes
    /// to `p` as through the identity: `∂a = ∂h · p(1 − p)`.
    #[test]
    fn straight_through_passes_the_gradient_as_the_identity_at_the_code() {
        let layer = BinaryCode {
            kind: BinaryKind::StraightThrough,
            noise: 0.0,
        };
        let s = stats();
        let mut bufs = layer.buffers(3, 4, 1);
        assert_eq!(layer.forward(&s, 4, 1, &mut bufs, &mut Rng::new(1)), 0.0);
        assert!(bufs.code.iter().all(|h| *h == 0.0 || *h == 1.0));
        let dh: Vec<f32> = (0..12).map(|i| i as f32 * 0.1 - 0.5).collect();
        let mut grad = vec![0.0; 12];
        layer.backward(&s, 4, 1, 1.0, &dh, &bufs, &mut grad);
        for i in 0..12 {
            let p = 1.0 / (1.0 + (-s[i] as f64).exp());
            let want = dh[i] as f64 * p * (1.0 - p);
            assert!((grad[i] as f64 - want).abs() < 1e-6, "{i}");
        }
        // the draws follow σ(a): a bit of logit 2 is on about 88 % of the time
        let a = vec![2.0f32; 20_000];
        let mut big = layer.buffers(20_000, 1, 1);
        layer.forward(&a, 1, 1, &mut big, &mut Rng::new(2));
        let on = big.code.iter().sum::<f32>() / 20_000.0;
        assert!((on - 0.8808).abs() < 0.01, "{on}");
    }

    /// Bernoulli: the KL term's value is the closed form and its gradient its finite
    /// differences (with no decoder gradient, only the KL moves `a`).
    #[test]
    fn bernoulli_kl_value_and_gradient() {
        let layer = BinaryCode {
            kind: BinaryKind::Bernoulli,
            noise: 0.0,
        };
        let s = stats();
        let (rows, k, beta) = (3, 4, 0.7f32);
        let total = |s: &[f32]| -> f64 {
            let mut bufs = layer.buffers(rows, k, 1);
            let term = layer.forward(s, k, 1, &mut bufs, &mut Rng::new(3));
            layer.objective(&[0.0; 3], rows, 1, beta, term, &mut bufs)
        };
        let closed: f64 = s
            .iter()
            .map(|&a| {
                let p = 1.0 / (1.0 + (-a as f64).exp());
                p * (2.0 * p).ln() + (1.0 - p) * (2.0 * (1.0 - p)).ln()
            })
            .sum::<f64>()
            * beta as f64
            / rows as f64;
        assert!((total(&s) - closed).abs() < 1e-6);
        let bufs = layer.buffers(rows, k, 1);
        let mut grad = vec![0.0; 12];
        layer.backward(&s, k, 1, beta, &[0.0; 12], &bufs, &mut grad);
        for i in 0..12 {
            let (mut up, mut down) = (s.clone(), s.clone());
            up[i] += 1e-3;
            down[i] -= 1e-3;
            let fd = (total(&up) - total(&down)) / 2e-3;
            assert!(
                (fd - grad[i] as f64).abs() < 1e-4,
                "{i}: {fd} vs {}",
                grad[i]
            );
        }
        assert!(bernoulli_kl_to_half(80.0).is_finite() && bernoulli_kl_to_half(-80.0) > 0.69);
    }
}
