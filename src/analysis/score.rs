//! The score a denoising autoencoder has learned (chapter 14.5.1; Alain & Bengio 2014, "What
//! regularized auto-encoders learn from the data-generating distribution", Theorem 1).
//!
//! A DAE trained with squared error on Gaussian corruption `x̃ = x + σε` has reconstruction
//! `r(x)` with
//!
//! ```text
//! r(x) − x = σ² ∇ₓ log p(x) + o(σ²)        so        ŝ(x) = (r(x) − x) / σ²
//! ```
//!
//! estimates the score. (At finite σ the optimal `r` is Tweedie's `E[x | x̃] = x̃ + σ²∇log p_σ(x̃)`
//! with `p_σ = p ∗ N(0, σ²I)`: the estimate is of the smoothed density's score.)
//!
//! [`compare_scores`] measures an estimate against a true score: the mean cosine and the
//! relative magnitude error, over the points where the density is at least 10 % of its maximum.
//! Near a mode the true score vanishes and its direction is undefined, so points whose true
//! score is shorter than a tenth of the median true-score length (of the points kept) are left
//! out of the cosine and counted.

use crate::error::{Error, Result};
use crate::linalg::Matrix;
use crate::model::Autoencoder;
use crate::objective::{Corruption, Likelihood};
use serde::Serialize;

/// `(r(x) − x) / σ²` for each row of `x`, for a model trained with Gaussian corruption of level
/// `σ` and a Gaussian (squared-error) output; anything else is refused with the reason.
pub fn dae_score(
    model: &Autoencoder,
    corruption: Option<Corruption>,
    x: &Matrix,
) -> Result<Matrix> {
    let sigma = match corruption {
        Some(Corruption::Gaussian { sigma }) if sigma > 0.0 => sigma,
        Some(Corruption::Gaussian { .. }) => {
            return Err(Error::Invalid(
                "the model was trained with Gaussian corruption of level 0: (r(x) − x)/σ² needs σ > 0"
                    .into(),
            ))
        }
        Some(other) => {
            return Err(Error::Invalid(format!(
                "the model was trained with {other:?} corruption; the score estimate (r(x) − x)/σ² holds for Gaussian corruption (corruption.kind = \"gaussian\")"
            )))
        }
        None => {
            return Err(Error::Invalid(
                "the model was trained without corruption; the score estimate (r(x) − x)/σ² needs a denoising autoencoder with corruption.kind = \"gaussian\""
                    .into(),
            ))
        }
    };
    if model.spec().output != Likelihood::Gaussian {
        return Err(Error::Invalid(format!(
            "the model's output is {}; the score estimate holds for squared-error reconstruction (model.output = \"gaussian\")",
            model.spec().output.name()
        )));
    }
    let mut r = model.reconstruct(x)?;
    let scale = 1.0 / (sigma * sigma);
    for (v, x) in r.as_mut_slice().iter_mut().zip(x.as_slice()) {
        *v = (*v - x) * scale;
    }
    Ok(r)
}

/// How close an estimated score field is to the true one ([`compare_scores`]).
#[derive(Clone, Debug, Serialize)]
pub struct ScoreComparison {
    /// Points given.
    pub points: usize,
    /// Points left out because their density is below 10 % of the maximum.
    pub excluded_low_density: usize,
    /// Points left out of the cosine because their true score is shorter than a tenth of the
    /// median (near a mode, where the direction is undefined).
    pub excluded_near_mode: usize,
    /// Mean cosine between estimate and truth over the points kept.
    pub cosine_mean: f64,
    /// Median of `‖ŝ‖ / ‖s‖` over the points kept (1 = right length).
    pub magnitude_ratio_median: f64,
    /// Mean of `|‖ŝ‖ − ‖s‖| / ‖s‖` over the points kept.
    pub relative_magnitude_error: f64,
}

/// Compares `estimate` with `truth` (one score per row) at points with log densities
/// `log_density`, keeping those within `ln 10` of `max_log_density` (module header).
pub fn compare_scores(
    estimate: &Matrix,
    truth: &Matrix,
    log_density: &[f64],
    max_log_density: f64,
) -> Result<ScoreComparison> {
    if estimate.rows() != truth.rows()
        || estimate.cols() != truth.cols()
        || log_density.len() != truth.rows()
    {
        return Err(Error::Shape(format!(
            "score fields of shapes {}×{} and {}×{} with {} densities do not match",
            estimate.rows(),
            estimate.cols(),
            truth.rows(),
            truth.cols(),
            log_density.len()
        )));
    }
    let norm = |v: &[f32]| v.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
    let dense: Vec<usize> = (0..truth.rows())
        .filter(|&i| log_density[i] >= max_log_density - 10f64.ln())
        .collect();
    let mut lengths: Vec<f64> = dense.iter().map(|&i| norm(truth.row(i))).collect();
    lengths.sort_by(f64::total_cmp);
    let median = lengths.get(lengths.len() / 2).copied().unwrap_or(0.0);
    let kept: Vec<usize> = dense
        .iter()
        .copied()
        .filter(|&i| norm(truth.row(i)) >= 0.1 * median && norm(truth.row(i)) > 0.0)
        .collect();
    if kept.is_empty() {
        return Err(Error::Invalid(
            "no point has a density of at least 10 % of the maximum and a nonzero true score"
                .into(),
        ));
    }
    let mut cosine = 0.0;
    let mut ratios = Vec::with_capacity(kept.len());
    for &i in &kept {
        let (e, t) = (estimate.row(i), truth.row(i));
        let dot: f64 = e.iter().zip(t).map(|(a, b)| *a as f64 * *b as f64).sum();
        let (ne, nt) = (norm(e), norm(t));
        cosine += if ne > 0.0 { dot / (ne * nt) } else { 0.0 };
        ratios.push(ne / nt);
    }
    let relative = ratios.iter().map(|r| (r - 1.0).abs()).sum::<f64>() / kept.len() as f64;
    ratios.sort_by(f64::total_cmp);
    Ok(ScoreComparison {
        points: truth.rows(),
        excluded_low_density: truth.rows() - dense.len(),
        excluded_near_mode: dense.len() - kept.len(),
        cosine_mean: cosine / kept.len() as f64,
        magnitude_ratio_median: ratios[ratios.len() / 2],
        relative_magnitude_error: relative,
    })
}
