//! Penalties on the code `h`: sparsity (chapter 14.2.1) and the map terms of parametric t-SNE
//! ([`super::parametric_tsne`]) and parametric UMAP ([`super::parametric_umap`], §14.6). Each adds its value to the batch loss and its gradient
//! at `h`; the loss is a mean over the batch, so per-example terms are divided by the batch size.

use super::regularizer::RunContext;
use crate::error::{Error, Result};
use crate::nn::Activation;
use serde::{Deserialize, Serialize};

/// A penalty on the code layer's activations.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CodePenalty {
    /// `λ Σ_j |h_j|` per example.
    L1 { weight: f32 },
    /// `β Σ_j KL(ρ ‖ ρ̂_j)` with `ρ̂_j` the mean of code unit j over the minibatch. Needs code
    /// activations in (0, 1) (a sigmoid code).
    KlSparsity { weight: f32, target: f32 },
    /// `λ KL(P‖Q)` between the batch's t-SNE affinities of the inputs and of the codes.
    Tsne { weight: f32, perplexity: f32 },
    /// `λ` × UMAP's fuzzy-set cross-entropy of a batch of graph edges and negative pairs
    /// ([`super::parametric_umap`]); the graph of `neighbors` is built once per fit, the curve
    /// `1/(1 + a d^{2b})` is fitted to `min_dist`.
    Umap {
        weight: f32,
        neighbors: usize,
        min_dist: f32,
        a: f32,
        b: f32,
        negatives: usize,
        epoch_edges: super::parametric_umap::EpochEdges,
    },
}

impl CodePenalty {
    /// Whether this term keeps neighbourhoods of the data (a map term, scored on the whole
    /// objective at validation).
    pub fn is_map(&self) -> bool {
        matches!(self, CodePenalty::Tsne { .. } | CodePenalty::Umap { .. })
    }

    /// Adds `∂Ω/∂h` to `grad` (both `rows × cols`, row-major) and returns Ω for the batch;
    /// `input` holds the batch's clean inputs, one row per code row (terms of `x` read it).
    pub fn value_and_grad(
        &self,
        code: &[f32],
        rows: usize,
        cols: usize,
        input: &[f32],
        grad: &mut [f32],
    ) -> f64 {
        let inv_rows = 1.0 / rows as f32;
        match *self {
            CodePenalty::L1 { weight } => {
                let mut total = 0.0f64;
                for (g, h) in grad.iter_mut().zip(code) {
                    total += h.abs() as f64;
                    *g += weight * inv_rows * sign(*h);
                }
                weight as f64 * total / rows as f64
            }
            CodePenalty::KlSparsity { weight, target } => {
                let rho_hat = mean_activation(code, rows, cols);
                let rho = target as f64;
                let mut value = 0.0f64;
                let mut unit_grad = vec![0.0f32; cols];
                for (j, &q) in rho_hat.iter().enumerate() {
                    let q = q.clamp(1e-6, 1.0 - 1e-6);
                    value += rho * (rho / q).ln() + (1.0 - rho) * ((1.0 - rho) / (1.0 - q)).ln();
                    unit_grad[j] =
                        (weight as f64 * (-rho / q + (1.0 - rho) / (1.0 - q))) as f32 * inv_rows;
                }
                for row in grad.chunks_exact_mut(cols) {
                    for (g, u) in row.iter_mut().zip(&unit_grad) {
                        *g += *u;
                    }
                }
                weight as f64 * value
            }
            CodePenalty::Tsne { weight, perplexity } => super::parametric_tsne::value_and_grad(
                weight, perplexity, input, code, rows, cols, grad,
            ),
            CodePenalty::Umap {
                weight,
                a,
                b,
                negatives,
                ..
            } => super::parametric_umap::value_and_grad(
                weight,
                (a, b),
                negatives,
                code,
                rows,
                cols,
                grad,
            ),
        }
    }
}

fn sign(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Mean of each column over the rows, in f64.
pub fn mean_activation(code: &[f32], rows: usize, cols: usize) -> Vec<f64> {
    let mut mean = vec![0.0f64; cols];
    for row in code.chunks_exact(cols) {
        for (m, h) in mean.iter_mut().zip(row) {
            *m += *h as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    mean
}

/// `[[regularizer]] kind = "l1"`: `λ Σ_j |h_j|`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L1Config {
    /// `λ`.
    pub weight: f32,
}

impl super::regularizer::RegularizerTerm for L1Config {
    fn weight(&self) -> f32 {
        self.weight
    }

    /// Adds the term.
    fn apply(&self, _key: &str, _run: &RunContext, objective: &mut super::Objective) -> Result<()> {
        objective.code_penalties.push(CodePenalty::L1 {
            weight: self.weight,
        });
        Ok(())
    }
}

/// `[[regularizer]] kind = "kl_sparsity"`: `β Σ_j KL(ρ ‖ ρ̂_j)`; needs a sigmoid code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KlSparsityConfig {
    /// `β`.
    pub weight: f32,
    /// `ρ`, the target mean activation, in (0, 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f32>,
}

impl super::regularizer::RegularizerTerm for KlSparsityConfig {
    fn weight(&self) -> f32 {
        self.weight
    }

    /// Checks `target` and the code activation; adds the term.
    fn apply(&self, key: &str, run: &RunContext, objective: &mut super::Objective) -> Result<()> {
        let target = self.target.ok_or_else(|| {
            Error::config(format!("{key}.target"), "kl_sparsity needs a target ρ")
        })?;
        if !(target > 0.0 && target < 1.0) {
            return Err(Error::config(format!("{key}.target"), "must be in (0, 1)"));
        }
        if run.code_activation != Activation::Sigmoid {
            return Err(Error::config(
                "model.code_activation",
                "kl_sparsity needs code activations in (0, 1): use code_activation = \"sigmoid\"",
            ));
        }
        objective.code_penalties.push(CodePenalty::KlSparsity {
            weight: self.weight,
            target,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_match_finite_differences() {
        let (rows, cols) = (3, 4);
        let code: Vec<f32> = (0..rows * cols).map(|i| 0.1 + 0.07 * i as f32).collect();
        for pen in [
            CodePenalty::L1 { weight: 0.3 },
            CodePenalty::KlSparsity {
                weight: 0.5,
                target: 0.05,
            },
        ] {
            let mut grad = vec![0.0f32; rows * cols];
            pen.value_and_grad(&code, rows, cols, &[], &mut grad);
            for i in 0..rows * cols {
                let h = 1e-3f32;
                let mut dummy = vec![0.0f32; rows * cols];
                let (mut up, mut down) = (code.clone(), code.clone());
                up[i] += h;
                down[i] -= h;
                let fd = (pen.value_and_grad(&up, rows, cols, &[], &mut dummy)
                    - pen.value_and_grad(&down, rows, cols, &[], &mut dummy))
                    / (2.0 * h as f64);
                assert!(
                    (fd - grad[i] as f64).abs() < 1e-3 * fd.abs().max(1.0),
                    "{pen:?} {i}: {fd} vs {}",
                    grad[i]
                );
            }
        }
    }

    #[test]
    fn kl_is_zero_at_target() {
        let code = vec![0.05f32; 12];
        let mut grad = vec![0.0f32; 12];
        let v = CodePenalty::KlSparsity {
            weight: 1.0,
            target: 0.05,
        }
        .value_and_grad(&code, 3, 4, &[], &mut grad);
        assert!(v.abs() < 1e-9);
        assert!(grad.iter().all(|g| g.abs() < 1e-5));
    }
}
