//! Sparse coding: the codes of predictive sparse decomposition (chapter 14.8; Kavukcuoglu,
//! Ranzato & LeCun 2008), inferred by optimization.
//!
//! Given a dictionary `D` (`d × m`, one atom per column), the sparse code of `x` minimizes the
//! first two terms of eq. 14.19,
//!
//! ```text
//! E(h) = ‖x − D h‖² + λ ‖h‖₁ .
//! ```
//!
//! [`ista`] solves it for a batch of examples by (F)ISTA, one GEMM per iteration for the whole
//! batch; [`coordinate_descent`] is the exact reference (the algorithm of scikit-learn's
//! `sparse_encode(..., algorithm="lasso_cd")`), for tests and benchmarks.

pub mod coordinate_descent;
pub mod ista;

pub use ista::{infer, infer_with_prior, Inference, InferenceOptions, Solver, SparseCoder};

use crate::linalg::Matrix;

/// `sign(v)·max(|v| − θ, 0)`, the proximal map of `θ‖·‖₁`.
#[inline]
pub fn soft_threshold(v: f32, theta: f32) -> f32 {
    if v > theta {
        v - theta
    } else if v < -theta {
        v + theta
    } else {
        0.0
    }
}

/// `E(h) = ‖x − D h‖² + λ‖h‖₁` of each row pair of `x` (`n × d`) and `codes` (`n × m`), with
/// `dictionary` `d × m` row-major; in `f64`.
pub fn objective(dictionary: &[f32], x: &Matrix, codes: &Matrix, lambda: f32) -> Vec<f64> {
    let (d, m) = (x.cols(), codes.cols());
    debug_assert_eq!(dictionary.len(), d * m);
    (0..x.rows())
        .map(|r| {
            let h = codes.row(r);
            let residual: f64 = x
                .row(r)
                .iter()
                .enumerate()
                .map(|(i, xi)| {
                    let dh: f64 = dictionary[i * m..(i + 1) * m]
                        .iter()
                        .zip(h)
                        .map(|(a, b)| *a as f64 * *b as f64)
                        .sum();
                    (*xi as f64 - dh).powi(2)
                })
                .sum();
            residual + lambda as f64 * h.iter().map(|v| v.abs() as f64).sum::<f64>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_threshold_shrinks_towards_zero() {
        assert_eq!(soft_threshold(1.5, 0.5), 1.0);
        assert_eq!(soft_threshold(-1.5, 0.5), -1.0);
        assert_eq!(soft_threshold(0.3, 0.5), 0.0);
        assert_eq!(soft_threshold(-0.5, 0.5), 0.0);
        // it is the prox of θ|·|: v minimizes ½(u − v)² + θ|u| over a grid
        for v in [-2.0f32, -0.7, 0.1, 0.9, 3.0] {
            let theta = 0.6;
            let f = |u: f32| 0.5 * (u - v).powi(2) + theta * u.abs();
            let best = (-4000..=4000)
                .map(|k| k as f32 / 1000.0)
                .min_by(|a, b| f(*a).total_cmp(&f(*b)))
                .unwrap();
            assert!((best - soft_threshold(v, theta)).abs() < 2e-3);
        }
    }
}
