//! Two-sample statistics: how far apart two sets of samples are.
//!
//! The energy distance (Székely & Rizzo 2013) of distributions `P`, `Q`:
//!
//! ```text
//! E(P, Q) = 2 E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖ ≥ 0,   X, X' ~ P,  Y, Y' ~ Q,
//! ```
//!
//! zero exactly when `P = Q`. Estimated by the V-statistic (every pair, `i = j` included), which
//! is never negative, so two samples of one distribution give a small positive value of order
//! `1/n` — the yardstick a sampler's distance is compared with.
//! Pairwise distances come from `‖a‖² + ‖b‖² − 2 a·b` with the dot products as GEMMs, after
//! centring both sets on the first set's mean (which keeps the cancellation small).

use crate::error::{Error, Result};
use crate::linalg::gemm::{gemm, View};
use crate::linalg::Matrix;
use rayon::prelude::*;

/// Rows per GEMM block of the pairwise distances.
const BLOCK: usize = 512;

/// Sum of `‖a_i − b_j‖` over all pairs (over `i ≠ j` when `same`).
fn distance_sum(a: &Matrix, b: &Matrix, same: bool) -> f64 {
    let d = a.cols();
    let norms = |m: &Matrix| -> Vec<f32> {
        (0..m.rows())
            .map(|r| m.row(r).iter().map(|v| v * v).sum())
            .collect()
    };
    let (na, nb) = (norms(a), norms(b));
    let starts: Vec<usize> = (0..a.rows()).step_by(BLOCK).collect();
    starts
        .par_iter()
        .map(|&start| {
            let rows = BLOCK.min(a.rows() - start);
            let mut dots = vec![0.0f32; rows * b.rows()];
            gemm(
                &mut dots,
                false,
                View::new(&a.as_slice()[start * d..(start + rows) * d], rows, d),
                false,
                View::new(b.as_slice(), b.rows(), d),
                true,
                1.0,
                1,
            );
            let mut total = 0.0f64;
            for r in 0..rows {
                let i = start + r;
                for j in 0..b.rows() {
                    if same && i == j {
                        continue;
                    }
                    let sq = na[i] + nb[j] - 2.0 * dots[r * b.rows() + j];
                    total += (sq.max(0.0) as f64).sqrt();
                }
            }
            total
        })
        .sum()
}

/// The energy distance between the rows of `a` and the rows of `b` (module header).
pub fn energy_distance(a: &Matrix, b: &Matrix) -> Result<f64> {
    if a.cols() != b.cols() {
        return Err(Error::Shape(format!(
            "samples have {} and {} columns",
            a.cols(),
            b.cols()
        )));
    }
    if a.rows() < 2 || b.rows() < 2 {
        return Err(Error::Invalid(
            "the energy distance needs at least 2 samples in each set".into(),
        ));
    }
    let mean: Vec<f32> = (0..a.cols())
        .map(|c| (0..a.rows()).map(|r| a.row(r)[c] as f64).sum::<f64>() / a.rows() as f64)
        .map(|v| v as f32)
        .collect();
    let centre = |m: &Matrix| {
        let mut out = m.clone();
        for r in 0..out.rows() {
            out.row_mut(r)
                .iter_mut()
                .zip(&mean)
                .for_each(|(v, c)| *v -= c);
        }
        out
    };
    let (a, b) = (centre(a), centre(b));
    let (n, m) = (a.rows() as f64, b.rows() as f64);
    let cross = distance_sum(&a, &b, false) / (n * m);
    let within_a = distance_sum(&a, &a, true) / (n * n);
    let within_b = distance_sum(&b, &b, true) / (m * m);
    Ok(2.0 * cross - within_a - within_b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    fn normal(n: usize, d: usize, shift: f32, rng: &mut Rng) -> Matrix {
        Matrix::from_vec(n, d, (0..n * d).map(|_| rng.normal() + shift).collect())
    }

    #[test]
    fn equals_the_direct_sum_and_separates_shifted_samples() {
        let mut rng = Rng::new(1);
        let (a, b) = (normal(300, 3, 0.0, &mut rng), normal(200, 3, 0.0, &mut rng));
        let dist = |x: &[f32], y: &[f32]| {
            x.iter()
                .zip(y)
                .map(|(p, q)| ((p - q) as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let mean_pairs = |x: &Matrix, y: &Matrix| {
            let mut total = 0.0;
            for i in 0..x.rows() {
                for j in 0..y.rows() {
                    total += dist(x.row(i), y.row(j));
                }
            }
            total / (x.rows() * y.rows()) as f64
        };
        let direct = 2.0 * mean_pairs(&a, &b) - mean_pairs(&a, &a) - mean_pairs(&b, &b);
        let fast = energy_distance(&a, &b).unwrap();
        assert!((fast - direct).abs() < 1e-4, "{fast} vs {direct}");
        // same distribution: small and positive; shifted by 1 in every coordinate: clearly larger
        assert!(fast > 0.0 && fast < 0.05, "{fast}");
        let shifted = normal(200, 3, 1.0, &mut rng);
        assert!(energy_distance(&a, &shifted).unwrap() > 0.5);
        assert!(energy_distance(&a, &normal(5, 2, 0.0, &mut rng)).is_err());
    }
}
