//! Output likelihoods `−log p_decoder(x | h)`, each fused with its gradient with respect to the
//! output layer's pre-activation `z` (logits for Bernoulli, means for Gaussian).

use crate::linalg::fastmath::{self, simd_dispatch};
use crate::nn::Activation;
use serde::{Deserialize, Serialize};

/// The decoder's output distribution; it fixes the loss and the output nonlinearity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    /// Independent Bernoulli pixels: cross-entropy from logits, sigmoid mean. For data in [0, 1].
    #[default]
    Bernoulli,
    /// Unit-variance Gaussian: `½‖x − z‖²` (the NLL up to a constant), linear mean.
    Gaussian,
    /// Word counts as `N = Σ_j x_j` draws from `softmax(z)` (Salakhutdinov & Hinton's
    /// constrained Poisson / replicated softmax input model): `N·logΣe^z − Σ_j x_j z_j`, the
    /// NLL up to the multinomial coefficient; the mean is the word distribution `softmax(z)`
    /// (times `N` for expected counts). For nonnegative data (counts, or TF-IDF weights).
    Multinomial,
}

impl Likelihood {
    /// Parses a config name.
    pub fn parse(name: &str) -> Option<Likelihood> {
        match name {
            "bernoulli" => Some(Likelihood::Bernoulli),
            "gaussian" => Some(Likelihood::Gaussian),
            "multinomial" => Some(Likelihood::Multinomial),
            _ => None,
        }
    }
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Likelihood::Bernoulli => "bernoulli",
            Likelihood::Gaussian => "gaussian",
            Likelihood::Multinomial => "multinomial",
        }
    }
    /// The elementwise map from pre-activation to the reconstruction (the distribution's
    /// mean); the multinomial's is a row softmax, applied after it by [`Self::apply_mean`].
    pub fn mean_activation(self) -> Activation {
        match self {
            Likelihood::Bernoulli => Activation::Sigmoid,
            Likelihood::Gaussian | Likelihood::Multinomial => Activation::Linear,
        }
    }

    /// Pre-activations to means in place, rows `width` wide: the elementwise activation, or
    /// the row softmax (word probabilities) of the multinomial.
    pub fn apply_mean(self, z: &mut [f32], width: usize) {
        match self {
            Likelihood::Multinomial => {
                for row in z.chunks_exact_mut(width.max(1)) {
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0.0f64;
                    for v in row.iter_mut() {
                        *v = fastmath::exp(*v - max);
                        sum += *v as f64;
                    }
                    let inv = (1.0 / sum) as f32;
                    row.iter_mut().for_each(|v| *v *= inv);
                }
            }
            other => {
                let act = other.mean_activation();
                z.iter_mut().for_each(|v| *v = act.apply(*v));
            }
        }
    }

    /// One row: writes `scale · ∂ℓ/∂z` into `grad` and returns the row's summed loss
    /// `ℓ = Σ_j −log p(x_j | z_j)`. `z`, `x` and `grad` have the same length.
    pub fn loss_and_grad(self, z: &[f32], x: &[f32], scale: f32, grad: &mut [f32]) -> f32 {
        match self {
            Likelihood::Bernoulli => bernoulli_loss_grad(z, x, grad, scale),
            Likelihood::Gaussian => gaussian_loss_grad(z, x, grad, scale),
            Likelihood::Multinomial => multinomial_loss_grad(z, x, grad, scale),
        }
    }

    /// For each row, the summed loss `Σ_j −log p(x_j | z_j)` (no gradient).
    pub fn row_losses(self, z: &[f32], x: &[f32], row_loss: &mut [f32]) {
        let cols = x.len() / row_loss.len().max(1);
        for ((z, x), loss) in z.chunks_exact(cols).zip(x.chunks_exact(cols)).zip(row_loss) {
            *loss = self.row_loss(z, x);
        }
    }

    /// The summed loss `Σ_j −log p(x_j | z_j)` of one row (no gradient).
    pub fn row_loss(self, z: &[f32], x: &[f32]) -> f32 {
        match self {
            Likelihood::Bernoulli => bernoulli_loss(z, x),
            Likelihood::Gaussian => gaussian_loss(z, x),
            Likelihood::Multinomial => multinomial_loss(z, x),
        }
    }
}

/// `log Σ_j e^{z_j}` and `N = Σ_j x_j` (in f64: a 10,000-word row sums many terms).
fn log_sum_exp_and_total(z: &[f32], x: &[f32]) -> (f64, f64) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = z.iter().map(|v| fastmath::exp(v - max) as f64).sum();
    let total: f64 = x.iter().map(|v| *v as f64).sum();
    (max as f64 + sum.ln(), total)
}

/// `N·lse(z) − Σ x_j z_j`; writes `scale·(N·softmax(z) − x)` into `grad`.
fn multinomial_loss_grad(z: &[f32], x: &[f32], grad: &mut [f32], scale: f32) -> f32 {
    let (lse, total) = log_sum_exp_and_total(z, x);
    let mut dot = 0.0f64;
    let lse32 = lse as f32;
    let n = total as f32;
    for ((g, zi), xi) in grad.iter_mut().zip(z).zip(x) {
        dot += (*xi as f64) * (*zi as f64);
        *g = scale * (n * fastmath::exp(zi - lse32) - xi);
    }
    (total * lse - dot) as f32
}

/// `N·lse(z) − Σ x_j z_j`.
fn multinomial_loss(z: &[f32], x: &[f32]) -> f32 {
    let (lse, total) = log_sum_exp_and_total(z, x);
    let dot: f64 = z.iter().zip(x).map(|(a, b)| *a as f64 * *b as f64).sum();
    (total * lse - dot) as f32
}

/// Lanes of the partial sums: a reduction into independent accumulators lets LLVM vectorize
/// the loop without reassociating floating-point adds (so results stay reproducible). 16 fills
/// one AVX-512 vector; with 8 the AVX-512 copy ran 256 bits wide.
const LANES: usize = 16;

macro_rules! lane_sum_kernel {
    ($(#[$m:meta])* fn $name:ident(z: &[f32], x: &[f32], grad: &mut [f32], $scale:ident: f32) |$zi:ident, $xi:ident, $gi:ident| $term:block) => {
        simd_dispatch! {
            $(#[$m])*
            fn $name(z: &[f32], x: &[f32], grad: &mut [f32], $scale: f32) -> f32 {
                let mut acc = [0.0f32; LANES];
                let mut z_chunks = z.chunks_exact(LANES);
                let mut x_chunks = x.chunks_exact(LANES);
                let mut g_chunks = grad.chunks_exact_mut(LANES);
                for ((zc, xc), gc) in (&mut z_chunks).zip(&mut x_chunks).zip(&mut g_chunks) {
                    for k in 0..LANES {
                        let ($zi, $xi, $gi) = (zc[k], xc[k], &mut gc[k]);
                        acc[k] += $term;
                    }
                }
                for (($zi, $xi), $gi) in z_chunks
                    .remainder()
                    .iter()
                    .zip(x_chunks.remainder())
                    .zip(g_chunks.into_remainder())
                {
                    let ($zi, $xi) = (*$zi, *$xi);
                    acc[0] += $term;
                }
                acc.iter().sum()
            }
        }
    };
}

lane_sum_kernel! {
    /// `Σ softplus(z) − x·z`; writes `scale·(σ(z) − x)` into `grad`.
    fn bernoulli_loss_grad(z: &[f32], x: &[f32], grad: &mut [f32], scale: f32) |zi, xi, gi| {
        let e = fastmath::exp(-zi.abs());
        let inv = 1.0 / (1.0 + e);
        let p = if zi >= 0.0 { inv } else { e * inv };
        *gi = scale * (p - xi);
        zi.max(0.0) - xi * zi + fastmath::ln(1.0 + e)
    }
}

lane_sum_kernel! {
    /// `Σ ½(z − x)²`; writes `scale·(z − x)` into `grad`.
    fn gaussian_loss_grad(z: &[f32], x: &[f32], grad: &mut [f32], scale: f32) |zi, xi, gi| {
        let d = zi - xi;
        *gi = scale * d;
        0.5 * d * d
    }
}

macro_rules! lane_sum_loss {
    ($(#[$m:meta])* fn $name:ident(z: &[f32], x: &[f32]) |$zi:ident, $xi:ident| $term:block) => {
        simd_dispatch! {
            $(#[$m])*
            fn $name(z: &[f32], x: &[f32]) -> f32 {
                let mut acc = [0.0f32; LANES];
                let mut z_chunks = z.chunks_exact(LANES);
                let mut x_chunks = x.chunks_exact(LANES);
                for (zc, xc) in (&mut z_chunks).zip(&mut x_chunks) {
                    for k in 0..LANES {
                        let ($zi, $xi) = (zc[k], xc[k]);
                        acc[k] += $term;
                    }
                }
                for ($zi, $xi) in z_chunks.remainder().iter().zip(x_chunks.remainder()) {
                    let ($zi, $xi) = (*$zi, *$xi);
                    acc[0] += $term;
                }
                acc.iter().sum()
            }
        }
    };
}

lane_sum_loss! {
    /// `Σ softplus(z) − x·z`.
    fn bernoulli_loss(z: &[f32], x: &[f32]) |zi, xi| {
        zi.max(0.0) - xi * zi + fastmath::ln(1.0 + fastmath::exp(-zi.abs()))
    }
}

lane_sum_loss! {
    /// `Σ ½(z − x)²`.
    fn gaussian_loss(z: &[f32], x: &[f32]) |zi, xi| {
        let d = zi - xi;
        0.5 * d * d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences_and_loss_matches_reference() {
        let x = [0.0f32, 1.0, 0.3, 0.9, 0.5];
        let z0 = [-2.0f32, 1.5, 0.1, -0.7, 3.0];
        for lik in [
            Likelihood::Bernoulli,
            Likelihood::Gaussian,
            Likelihood::Multinomial,
        ] {
            let mut g = [0.0f32; 5];
            let loss = [lik.loss_and_grad(&z0, &x, 1.0, &mut g)];
            let f = |z: &[f64]| -> f64 {
                z.iter()
                    .zip(&x)
                    .map(|(z, x)| {
                        let x = *x as f64;
                        match lik {
                            Likelihood::Bernoulli => {
                                let p = 1.0 / (1.0 + (-z).exp());
                                -(x * p.ln() + (1.0 - x) * (1.0 - p).ln())
                            }
                            Likelihood::Gaussian => 0.5 * (z - x).powi(2),
                            Likelihood::Multinomial => 0.0,
                        }
                    })
                    .sum::<f64>()
                    + if lik == Likelihood::Multinomial {
                        // −Σ x_j log softmax(z)_j, by definition
                        let lse = z.iter().map(|v| v.exp()).sum::<f64>().ln();
                        z.iter()
                            .zip(&x)
                            .map(|(z, x)| -(*x as f64) * (z - lse))
                            .sum()
                    } else {
                        0.0
                    }
            };
            let zd: Vec<f64> = z0.iter().map(|v| *v as f64).collect();
            assert!((loss[0] as f64 - f(&zd)).abs() < 1e-5, "{lik:?} loss");
            let mut plain = [0.0f32];
            lik.row_losses(&z0, &x, &mut plain);
            assert!((plain[0] - loss[0]).abs() < 1e-6);
            for i in 0..x.len() {
                let (mut up, mut down) = (zd.clone(), zd.clone());
                up[i] += 1e-5;
                down[i] -= 1e-5;
                let fd = (f(&up) - f(&down)) / 2e-5;
                assert!(
                    (fd - g[i] as f64).abs() < 1e-4,
                    "{lik:?} grad {i}: {fd} vs {}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn multinomial_mean_is_a_distribution_and_the_loss_shift_invariant() {
        let z = [1.0f32, -2.0, 0.5, 3.0];
        let x = [2.0f32, 0.0, 1.0, 4.0];
        let mut p = z;
        Likelihood::Multinomial.apply_mean(&mut p, 4);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let shifted: Vec<f32> = z.iter().map(|v| v + 50.0).collect();
        let (a, b) = (
            Likelihood::Multinomial.row_loss(&z, &x),
            Likelihood::Multinomial.row_loss(&shifted, &x),
        );
        assert!((a - b).abs() < 1e-3 * a.abs(), "{a} vs {b}");
        // the NLL of counts is smallest when softmax(z) equals the counts' proportions
        let best: Vec<f32> = x.iter().map(|v| (v + 1e-6).ln()).collect();
        assert!(Likelihood::Multinomial.row_loss(&best, &x) < a);
    }

    #[test]
    fn bernoulli_is_stable_for_huge_logits() {
        let z = [500.0f32, -500.0];
        let x = [1.0f32, 0.0];
        let mut grad = [1.0f32; 2];
        let loss = Likelihood::Bernoulli.loss_and_grad(&z, &x, 1.0, &mut grad);
        assert!(loss.is_finite() && loss.abs() < 1e-6);
        assert!(grad.iter().all(|g| g.abs() < 1e-30), "{grad:?}");
    }
}
