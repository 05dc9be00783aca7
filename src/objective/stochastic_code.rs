//! A stochastic encoder (chapter 14.4): `p_encoder(h | x) = N(μ(x), diag σ²(x))`, sampled by
//! reparameterization `h = μ + σ ⊙ ε`, with the analytic `KL(N(μ, σ²) ‖ N(0, I))` as the
//! regularizer — the variational autoencoder's ELBO when the likelihood is the decoder's.
//!
//! The encoder's last layer outputs `[μ, log σ²]` (2·code columns, linear).

use crate::linalg::{fastmath, Rng};
use serde::{Deserialize, Serialize};

/// How the code layer turns encoder outputs into `h`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeDistribution {
    /// `h = f(x)`.
    #[default]
    Deterministic,
    /// `h ~ N(μ(x), diag σ²(x))`, one reparameterized sample per example and step.
    Gaussian,
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
    for ((s, h), e) in stats
        .chunks_exact(2 * k)
        .zip(code.chunks_exact_mut(k))
        .zip(eps.chunks_exact_mut(k))
    {
        let (mu, log_var) = s.split_at(k);
        for j in 0..k {
            let sigma = fastmath::exp(0.5 * log_var[j]);
            e[j] = rng.normal();
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
            let var = fastmath::exp(log_var[j]);
            let sigma = fastmath::exp(0.5 * log_var[j]);
            g_mu[j] = dh[j] + w * mu[j];
            g_lv[j] = 0.5 * dh[j] * e[j] * sigma + 0.5 * w * (var - 1.0);
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
