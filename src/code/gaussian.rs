//! A stochastic encoder (chapter 14.4): `p_encoder(h | x) = N(μ(x), diag σ²(x))`, sampled by
//! reparameterization `h = μ + σ ⊙ ε`, `ε ~ N(0, I)`.
//!
//! - One sample per example (Kingma & Welling 2014): the negative ELBO
//!   `−log p(x | h) + β·KL(N(μ, σ²) ‖ N(0, I))`, with the analytic
//!   `KL = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²)`.
//! - `k > 1` samples (Burda et al. 2016): the importance-weighted bound
//!   `−log (1/k Σ_s w_s)`, `w_s = p(x | h_s) p(h_s) / q(h_s | x)`, whose gradient weights each
//!   sample's by its normalized weight `w̃_s`.
//!
//! The encoder's last layer outputs `[μ, log σ²]` (2·code columns, linear).

use super::{CodeBuffers, CodeLayer};
use crate::linalg::{fastmath, Matrix, Rng};

/// `h ~ N(μ(x), diag σ²(x))`.
#[derive(Clone, Copy, Debug, Default)]
pub struct GaussianCode;

impl CodeLayer for GaussianCode {
    fn encoder_outputs(&self, code_size: usize) -> usize {
        2 * code_size
    }

    fn is_sampled(&self) -> bool {
        true
    }

    fn training_samples(&self, importance_samples: usize) -> usize {
        importance_samples.max(1)
    }

    fn buffers(&self, rows: usize, code_size: usize, samples: usize) -> CodeBuffers {
        let decoder_rows = rows * samples;
        CodeBuffers {
            code: vec![0.0; decoder_rows * code_size],
            noise: vec![0.0; decoder_rows * code_size],
            row_weights: vec![0.0; if samples > 1 { decoder_rows } else { 0 }],
        }
    }

    /// The mean `μ(x)`.
    fn encode(&self, stats: Matrix, code_size: usize) -> Matrix {
        let mut mean = Matrix::zeros(stats.rows(), code_size);
        for r in 0..stats.rows() {
            mean.row_mut(r).copy_from_slice(&stats.row(r)[..code_size]);
        }
        mean
    }

    fn forward(
        &self,
        stats: &[f32],
        code_size: usize,
        samples: usize,
        buffers: &mut CodeBuffers,
        rng: &mut Rng,
    ) -> f64 {
        let n = stats.len() / 2 * samples;
        let (code, noise) = (&mut buffers.code[..n], &mut buffers.noise[..n]);
        if samples > 1 {
            let log_ratio = &mut buffers.row_weights[..n / code_size];
            sample_forward_importance(stats, code_size, samples, code, noise, log_ratio, rng);
            0.0
        } else {
            sample_forward(stats, code_size, code, noise, rng)
        }
    }

    fn likelihood_scale(&self, rows: usize, samples: usize) -> f32 {
        if samples > 1 {
            1.0
        } else {
            1.0 / rows as f32
        }
    }

    fn objective(
        &self,
        row_loss: &[f32],
        rows: usize,
        samples: usize,
        beta: f32,
        forward_term: f64,
        buffers: &mut CodeBuffers,
    ) -> f64 {
        if samples > 1 {
            // −log (1/k Σ_s w_s) per example; each sample's gradient is weighted by w̃_s / rows
            let weights = &mut buffers.row_weights[..row_loss.len()];
            let bound = importance_weights(row_loss, weights, samples);
            let inv_rows = 1.0 / rows as f32;
            weights.iter_mut().for_each(|w| *w *= inv_rows);
            bound / rows as f64
        } else {
            row_loss[..rows].iter().map(|v| *v as f64).sum::<f64>() / rows as f64
                + beta as f64 * forward_term / rows as f64
        }
    }

    fn weights_rows(&self, samples: usize) -> bool {
        samples > 1
    }

    fn backward(
        &self,
        stats: &[f32],
        code_size: usize,
        samples: usize,
        beta: f32,
        code_grad: &[f32],
        buffers: &CodeBuffers,
        stats_grad: &mut [f32],
    ) {
        let n = code_grad.len();
        let rows = stats.len() / (2 * code_size);
        if samples > 1 {
            sample_backward_importance(
                stats,
                code_size,
                samples,
                &buffers.code[..n],
                code_grad,
                &buffers.noise[..n],
                &buffers.row_weights[..n / code_size],
                stats_grad,
            );
        } else {
            sample_backward(
                stats,
                code_size,
                code_grad,
                &buffers.noise[..n],
                beta,
                rows,
                stats_grad,
            );
        }
    }
}

/// Samples `code = μ + exp(½ log σ²) ⊙ ε` per row from `stats = [μ, log σ²]` (rows × 2k),
/// storing `ε` for the backward pass; returns Σ over rows of `KL(q ‖ N(0, I))`.
pub fn sample_forward(
    stats: &[f32],
    k: usize,
    code: &mut [f32],
    eps: &mut [f32],
    rng: &mut Rng,
) -> f64 {
    let mut kl = 0.0f64;
    rng.fill_normal(&mut eps[..stats.len() / 2]);
    for ((s, h), e) in stats
        .chunks_exact(2 * k)
        .zip(code.chunks_exact_mut(k))
        .zip(eps.chunks_exact_mut(k))
    {
        let (mu, log_var) = s.split_at(k);
        for j in 0..k {
            let sigma = fastmath::exp(0.5 * log_var[j]);
            h[j] = mu[j] + sigma * e[j];
            kl += 0.5
                * (mu[j] as f64 * mu[j] as f64 + (sigma as f64).powi(2) - 1.0 - log_var[j] as f64);
        }
    }
    kl
}

/// Backward through the sample and the KL term: from `∂L/∂h` (rows × k) writes
/// `∂/∂[μ, log σ²]` (rows × 2k), with the KL weighted by `beta / rows` (the loss is a mean).
pub fn sample_backward(
    stats: &[f32],
    k: usize,
    code_grad: &[f32],
    eps: &[f32],
    beta: f32,
    rows: usize,
    stats_grad: &mut [f32],
) {
    let w = beta / rows as f32;
    for (((s, dh), e), g) in stats
        .chunks_exact(2 * k)
        .zip(code_grad.chunks_exact(k))
        .zip(eps.chunks_exact(k))
        .zip(stats_grad.chunks_exact_mut(2 * k))
    {
        let (mu, log_var) = s.split_at(k);
        let (g_mu, g_lv) = g.split_at_mut(k);
        for j in 0..k {
            let sigma = fastmath::exp(0.5 * log_var[j]);
            let var = sigma * sigma;
            g_mu[j] = dh[j] + w * mu[j];
            g_lv[j] = 0.5 * dh[j] * e[j] * sigma + 0.5 * w * (var - 1.0);
        }
    }
}

/// Samples `samples` codes per row (rows × samples × k, sample-major within a row) and writes
/// each sample's `log p(h) − log q(h|x)` (the Gaussian constants cancel).
pub fn sample_forward_importance(
    stats: &[f32],
    k: usize,
    samples: usize,
    code: &mut [f32],
    eps: &mut [f32],
    log_ratio: &mut [f32],
    rng: &mut Rng,
) {
    rng.fill_normal(&mut eps[..stats.len() / 2 * samples]);
    let mut sigma = vec![0.0f32; k];
    let mut r = 0;
    for s in stats.chunks_exact(2 * k) {
        let (mu, log_var) = s.split_at(k);
        // once per example, not once per sample
        for (sd, lv) in sigma.iter_mut().zip(log_var) {
            *sd = fastmath::exp(0.5 * lv);
        }
        for _ in 0..samples {
            let (h, e) = (&mut code[r * k..(r + 1) * k], &mut eps[r * k..(r + 1) * k]);
            let mut ratio = 0.0f32;
            for j in 0..k {
                h[j] = mu[j] + sigma[j] * e[j];
                ratio += -0.5 * h[j] * h[j] + 0.5 * e[j] * e[j] + 0.5 * log_var[j];
            }
            log_ratio[r] = ratio;
            r += 1;
        }
    }
}

/// Turns per-sample `log p(h) − log q(h|x)` (in `weights`) and `−log p(x|h)` (`row_loss`) into
/// normalized importance weights `w̃_s` (in place) and returns Σ over examples of
/// `−log (1/k Σ_s w_s)`.
pub fn importance_weights(row_loss: &[f32], weights: &mut [f32], samples: usize) -> f64 {
    let mut total = 0.0f64;
    for (w, l) in weights
        .chunks_exact_mut(samples)
        .zip(row_loss.chunks_exact(samples))
    {
        let log_w = |s: usize| w[s] as f64 - l[s] as f64;
        let max = (0..samples).map(log_w).fold(f64::NEG_INFINITY, f64::max);
        let lse = max
            + (0..samples)
                .map(|s| (log_w(s) - max).exp())
                .sum::<f64>()
                .ln();
        total -= lse - (samples as f64).ln();
        for s in 0..samples {
            w[s] = (w[s] as f64 - l[s] as f64 - lse).exp() as f32;
        }
    }
    total
}

/// Backward of the IWAE bound through the samples: `code_grad` is `∂/∂h` of the weighted
/// decoder losses (weights already applied); `weights` are `w̃_s / rows`.
#[allow(clippy::too_many_arguments)]
pub fn sample_backward_importance(
    stats: &[f32],
    k: usize,
    samples: usize,
    code: &[f32],
    code_grad: &[f32],
    eps: &[f32],
    weights: &[f32],
    stats_grad: &mut [f32],
) {
    for (i, (s, g)) in stats
        .chunks_exact(2 * k)
        .zip(stats_grad.chunks_exact_mut(2 * k))
        .enumerate()
    {
        let log_var = &s[k..];
        let (g_mu, g_lv) = g.split_at_mut(k);
        g_mu.fill(0.0);
        g_lv.fill(0.0);
        for smp in 0..samples {
            let r = i * samples + smp;
            let w = weights[r];
            for j in 0..k {
                // −log p(h) = ½h² adds w·h at h; log q adds −½·w directly at log σ²
                let dh = code_grad[r * k + j] + w * code[r * k + j];
                let sigma = fastmath::exp(0.5 * log_var[j]);
                g_mu[j] += dh;
                g_lv[j] += 0.5 * dh * eps[r * k + j] * sigma - 0.5 * w;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytic_kl_matches_monte_carlo() {
        // KL(q‖p) = E_q[log q(h) − log p(h)], estimated from samples of q
        let (mu, log_var) = (0.7f32, -0.8f32);
        let stats = [mu, log_var];
        let mut rng = Rng::new(4);
        let (mut code, mut eps) = ([0.0f32], [0.0f32]);
        let analytic = sample_forward(&stats, 1, &mut code, &mut eps, &mut rng);
        let n = 200_000;
        let var = (log_var as f64).exp();
        let mut total = 0.0f64;
        for _ in 0..n {
            sample_forward(&stats, 1, &mut code, &mut eps, &mut rng);
            let h = code[0] as f64;
            let log_q = -0.5 * ((h - mu as f64).powi(2) / var + var.ln());
            let log_p = -0.5 * h * h;
            total += log_q - log_p;
        }
        let mc = total / n as f64;
        assert!(
            (mc - analytic).abs() < 0.01,
            "MC {mc} vs analytic {analytic}"
        );
    }
}
