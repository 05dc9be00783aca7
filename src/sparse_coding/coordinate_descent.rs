//! Exact lasso codes by cyclic coordinate descent, one example at a time (the reference for
//! [`super::ista`]): for `E(h) = ‖x − D h‖² + λ‖h‖₁`, coordinate `j` given the others is
//!
//! ```text
//! h_j ← S(ρ_j, λ/2) / ‖d_j‖²,     ρ_j = d_jᵀ (x − D h + d_j h_j),
//! ```
//!
//! swept until the largest change in a sweep is below `tolerance` (or `max_sweeps`). In `f64`.

use crate::linalg::Matrix;

/// Lasso codes of every row of `x` (`n × d`) for `dictionary` (`d × m`, row-major).
pub fn lasso_codes(
    dictionary: &[f32],
    x: &Matrix,
    atoms: usize,
    lambda: f32,
    tolerance: f64,
    max_sweeps: usize,
) -> Matrix {
    let (d, m) = (x.cols(), atoms);
    let column = |j: usize| -> Vec<f64> { (0..d).map(|i| dictionary[i * m + j] as f64).collect() };
    let columns: Vec<Vec<f64>> = (0..m).map(column).collect();
    let norms: Vec<f64> = columns
        .iter()
        .map(|c| c.iter().map(|v| v * v).sum())
        .collect();
    let half_lambda = lambda as f64 / 2.0;
    let mut out = Matrix::zeros(x.rows(), m);
    for r in 0..x.rows() {
        let mut h = vec![0.0f64; m];
        let mut residual: Vec<f64> = x.row(r).iter().map(|v| *v as f64).collect();
        for _ in 0..max_sweeps {
            let mut largest = 0.0f64;
            for j in 0..m {
                if norms[j] == 0.0 {
                    continue;
                }
                let c = &columns[j];
                let rho: f64 =
                    c.iter().zip(&residual).map(|(a, b)| a * b).sum::<f64>() + norms[j] * h[j];
                let shrunk = if rho > half_lambda {
                    rho - half_lambda
                } else if rho < -half_lambda {
                    rho + half_lambda
                } else {
                    0.0
                };
                let new = shrunk / norms[j];
                let delta = new - h[j];
                if delta != 0.0 {
                    residual
                        .iter_mut()
                        .zip(c)
                        .for_each(|(e, a)| *e -= a * delta);
                    h[j] = new;
                    largest = largest.max(delta.abs());
                }
            }
            if largest < tolerance {
                break;
            }
        }
        out.row_mut(r)
            .iter_mut()
            .zip(&h)
            .for_each(|(o, v)| *o = *v as f32);
    }
    out
}
