//! Parametric t-SNE (van der Maaten 2009, "Learning a parametric embedding by preserving local
//! structure") as a code term `Ω(h, x)`: the encoder is trained so that its codes of a minibatch
//! keep the batch's t-SNE neighbourhoods, and it then maps unseen points by a forward pass.
//!
//! ```text
//! P (per batch, from the clean inputs x):  p_{j|i} ∝ exp(−βᵢ‖xᵢ − xⱼ‖²), βᵢ to the perplexity,
//!                                          p_ij = (p_{j|i} + p_{i|j}) / (2B)
//! Q (from the codes h):                    q_ij = w_ij / Σ_{k≠l} w_kl,  w_ij = (1 + ‖hᵢ − hⱼ‖²)⁻¹
//! Ω = λ KL(P‖Q),   ∂Ω/∂hᵢ = 4λ Σⱼ (p_ij − q_ij) w_ij (hᵢ − hⱼ)
//! ```
//!
//! One Student-t degree of freedom (the paper's α = d − 1 for a 2-D map). A batch smaller than
//! three times the perplexity uses perplexity (B − 1)/3, so that every row can reach it.

use crate::baselines::tsne::{conditional_probabilities, exact_gradient};
use crate::linalg::gemm::{gemm, View};
use rayon::prelude::*;

/// The batch's joint probabilities `p_ij` (`rows × rows`, zero diagonal, summing to one).
pub fn affinities(input: &[f32], rows: usize, perplexity: f32) -> Vec<f64> {
    let d = input.len() / rows.max(1);
    let perplexity = (perplexity as f64)
        .min((rows.saturating_sub(1)) as f64 / 3.0)
        .max(1.0);
    // squared distances: ‖a‖² + ‖b‖² − 2 a·b from one GEMM
    let mut dots = vec![0.0f32; rows * rows];
    let v = View::new(input, rows, d);
    gemm(&mut dots, false, v, false, v, true, 1.0, 0);
    let norms: Vec<f64> = (0..rows).map(|i| dots[i * rows + i] as f64).collect();
    let mut p = vec![0.0f64; rows * rows];
    // rows are independent bisections: the batch's costliest part, spread over the pool
    p.par_chunks_mut(rows).enumerate().for_each(|(i, row)| {
        let others: Vec<usize> = (0..rows).filter(|j| *j != i).collect();
        let squared: Vec<f64> = others
            .iter()
            .map(|&j| (norms[i] + norms[j] - 2.0 * dots[i * rows + j] as f64).max(0.0))
            .collect();
        for (j, pj) in others
            .iter()
            .zip(conditional_probabilities(&squared, perplexity))
        {
            row[*j] = pj;
        }
    });
    let scale = 1.0 / (2.0 * rows as f64);
    for i in 0..rows {
        for j in 0..i {
            let s = (p[i * rows + j] + p[j * rows + i]) * scale;
            p[i * rows + j] = s;
            p[j * rows + i] = s;
        }
    }
    p
}

/// Adds `λ ∂KL(P‖Q)/∂h` to `grad` (`rows × cols`) and returns `λ KL(P‖Q)`: t-SNE's exact
/// objective and gradient ([`crate::baselines::tsne`]) at the codes.
pub fn kl_value_and_grad(
    p: &[f64],
    code: &[f32],
    rows: usize,
    cols: usize,
    weight: f32,
    grad: &mut [f32],
) -> f64 {
    let h: Vec<f64> = code[..rows * cols].iter().map(|v| *v as f64).collect();
    let mut g = vec![0.0f64; rows * cols];
    let kl = exact_gradient(&h, cols, p, 1.0, &mut g);
    let lambda = weight as f64;
    for (dst, gc) in grad.iter_mut().zip(g) {
        *dst += (lambda * gc) as f32;
    }
    lambda * kl
}

/// `Ω(h, x)` of one batch: affinities of the clean inputs `input` (`rows × d`), KL of the codes.
pub fn value_and_grad(
    weight: f32,
    perplexity: f32,
    input: &[f32],
    code: &[f32],
    rows: usize,
    cols: usize,
    grad: &mut [f32],
) -> f64 {
    if rows < 2 {
        return 0.0;
    }
    let p = affinities(input, rows, perplexity);
    kl_value_and_grad(&p, code, rows, cols, weight, grad)
}

/// `[[regularizer]] kind = "tsne"`: `λ KL(P‖Q)` of the batch's input and code affinities.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsneConfig {
    /// `λ`.
    pub weight: f32,
    /// The perplexity of the batch affinities (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perplexity: Option<f32>,
}

impl super::regularizer::RegularizerTerm for TsneConfig {
    fn weight(&self) -> f32 {
        self.weight
    }

    /// Checks the perplexity against the batch and the code; adds the term.
    fn apply(
        &self,
        key: &str,
        run: &super::regularizer::RunContext,
        objective: &mut super::Objective,
    ) -> crate::Result<()> {
        let perplexity = self.perplexity.unwrap_or(30.0);
        if !(perplexity >= 1.0 && perplexity.is_finite()) {
            return Err(crate::Error::config(
                format!("{key}.perplexity"),
                "must be ≥ 1",
            ));
        }
        if 3.0 * perplexity >= run.batch_size as f32 {
            return Err(crate::Error::config(
                format!("{key}.perplexity"),
                format!(
                    "the batch's affinities need train.batch_size > 3 × perplexity; batch_size is {}",
                    run.batch_size
                ),
            ));
        }
        run.need_deterministic_code(&format!("{key}.kind"), "tsne")?;
        objective.code_penalties.push(super::CodePenalty::Tsne {
            weight: self.weight,
            perplexity,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    #[test]
    fn affinities_are_a_symmetric_distribution() {
        let mut rng = Rng::new(1);
        let x: Vec<f32> = (0..40 * 7).map(|_| rng.normal()).collect();
        let p = affinities(&x, 40, 10.0);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        for i in 0..40 {
            assert_eq!(p[i * 40 + i], 0.0);
            for j in 0..40 {
                assert_eq!(p[i * 40 + j], p[j * 40 + i]);
            }
        }
        // a tiny batch lowers the perplexity instead of failing
        let small = affinities(&x[..4 * 7], 4, 30.0);
        assert!((small.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut rng = Rng::new(2);
        let (rows, d, cols) = (12, 5, 2);
        let x: Vec<f32> = (0..rows * d).map(|_| rng.normal()).collect();
        let h: Vec<f32> = (0..rows * cols).map(|_| rng.normal()).collect();
        let mut g = vec![0.0f32; rows * cols];
        value_and_grad(0.7, 4.0, &x, &h, rows, cols, &mut g);
        let mut scratch = vec![0.0f32; rows * cols];
        for e in 0..rows * cols {
            let eps = 1e-2f32;
            let (mut up, mut down) = (h.clone(), h.clone());
            up[e] += eps;
            down[e] -= eps;
            let fd = (value_and_grad(0.7, 4.0, &x, &up, rows, cols, &mut scratch)
                - value_and_grad(0.7, 4.0, &x, &down, rows, cols, &mut scratch))
                / (2.0 * eps as f64);
            assert!(
                (fd - g[e] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                "{e}: {fd} vs {}",
                g[e]
            );
        }
    }
}
