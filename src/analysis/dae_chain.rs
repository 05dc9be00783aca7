//! Sampling from a denoising autoencoder by its Markov chain (chapter 14.5; Bengio, Yao, Alain &
//! Vincent 2013, "Generalized denoising auto-encoders as generative models", Algorithm 1).
//!
//! A DAE learns `P(x | x̃)`, the reconstruction distribution given a corrupted input. The chain
//!
//! ```text
//! x̃_t ~ C(x̃ | x_t)          (the training corruption)
//! x_{t+1} ~ P(x | x̃_t)      (the decoder's output distribution at r(x̃_t))
//! ```
//!
//! has a stationary distribution that approximates the data distribution when `P(x | x̃)` is a
//! consistent estimator of the true conditional. The decoder's distribution is Bernoulli with
//! means `r(x̃)` for a Bernoulli output. A squared-error output learns only the mean; its spread
//! is taken as `N(r(x̃), σ²I)` for Gaussian corruption of level σ — the true `P(x | x̃)` for
//! small σ (`x | x̃ ≈ N(x̃ + σ²∇log p(x̃), σ²I)`), which makes the chain a Langevin step
//! `x ← x + σ²∇log p(x) + √2 σ ε` whose stationary law is `p` itself. Taking the mean only
//! (`mean = true`) halves that noise and samples a sharpened density (`∝ p²` in the small-σ
//! limit); with other corruptions a Gaussian output always steps to the mean.

use crate::error::{Error, Result};
use crate::linalg::{Matrix, Rng};
use crate::model::Autoencoder;
use crate::objective::{Corruption, Likelihood};

/// Runs `steps` steps of the chain (module header) from every row of `start` and returns each
/// chain's last state. `mean` steps to the decoder's mean instead of drawing from it.
pub fn dae_chain(
    model: &Autoencoder,
    corruption: Corruption,
    start: &Matrix,
    steps: usize,
    mean: bool,
    rng: &mut Rng,
) -> Result<Matrix> {
    if start.cols() != model.spec().input_size {
        return Err(Error::Shape(format!(
            "chain starts have {} columns, the model expects {}",
            start.cols(),
            model.spec().input_size
        )));
    }
    let output = model.spec().output;
    if output == Likelihood::Multinomial {
        return Err(Error::Invalid(
            "the denoising chain is for Bernoulli or Gaussian outputs; a multinomial (word-count) model has no per-feature draw".into(),
        ));
    }
    let mut x = start.clone();
    let mut corrupted = Matrix::zeros(x.rows(), x.cols());
    for _ in 0..steps {
        corruption.apply(x.as_slice(), corrupted.as_mut_slice(), rng);
        let r = model.reconstruct(&corrupted)?;
        x = r;
        if mean {
            continue;
        }
        match (output, corruption) {
            (Likelihood::Bernoulli, _) => {
                for v in x.as_mut_slice() {
                    *v = if rng.uniform() < *v { 1.0 } else { 0.0 };
                }
            }
            (Likelihood::Gaussian, Corruption::Gaussian { sigma }) => {
                for v in x.as_mut_slice() {
                    *v += sigma * rng.normal();
                }
            }
            (Likelihood::Gaussian, _) | (Likelihood::Multinomial, _) => {}
        }
    }
    Ok(x)
}
