//! Locally linear embedding (Roweis & Saul 2000), standard variant with scikit-learn's
//! regularization, and its out-of-sample extension (scikit-learn's `transform`).
//!
//! ```text
//! weights:  for each i with neighbours N(i):  C = (X_N − xᵢ)(X_N − xᵢ)ᵀ + r·tr(C)·I
//!           wᵢ = C⁻¹1 / 1ᵀC⁻¹1                          (Σⱼ wᵢⱼ = 1; r = reg, 1e-3)
//! map:      M = (I − W)ᵀ(I − W);  Y = the eigenvectors of M's 2nd … (d+1)th smallest eigenvalues
//!           (the smallest, 0, belongs to the constant vector, excluded)
//! new x:    y = Σⱼ wⱼ yⱼ over x's nearest training points, w its barycentre weights
//! ```
//!
//! The smallest eigenvectors come from shift-invert subspace iteration: `(M + σI)` is factored
//! once (dense Cholesky, σ = 1e-10·max diag so the factor exists), and each step solves with
//! it; the constant vector is projected out. Dense `n × n` storage bounds `n`.

use super::spectral::{fix_signs, top_eigenpairs};
use crate::error::{Error, Result};
use crate::linalg::Matrix;
use crate::neighbors::graph::{knn_graph, knn_query};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use rayon::prelude::*;

/// scikit-learn's default regularization of the local Gram matrix.
pub const DEFAULT_REG: f64 = 1e-3;

/// A fitted LLE: the training points' map and what embedding new points needs.
pub struct Lle {
    train: Matrix,
    neighbors: usize,
    reg: f64,
    embedding: Matrix,
    /// The eigenvalues of `M` behind each map axis (the reconstruction cost of each).
    pub eigenvalues: Vec<f64>,
    /// Eigensolver iterations, and whether it met its tolerance.
    pub eigen_iterations: usize,
    pub eigen_converged: bool,
}

/// Solves `g w = 1` for a symmetric positive definite `k × k` `g` (row-major, overwritten by
/// its Cholesky factor); `None` if `g` is not positive definite.
fn solve_spd_ones(g: &mut [f64], k: usize) -> Option<Vec<f64>> {
    for j in 0..k {
        let mut d = g[j * k + j];
        for l in 0..j {
            d -= g[j * k + l] * g[j * k + l];
        }
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        let d = d.sqrt();
        g[j * k + j] = d;
        for i in j + 1..k {
            let mut s = g[i * k + j];
            for l in 0..j {
                s -= g[i * k + l] * g[j * k + l];
            }
            g[i * k + j] = s / d;
        }
    }
    // L z = 1, then Lᵀ w = z
    let mut w = vec![1.0f64; k];
    for i in 0..k {
        for l in 0..i {
            w[i] -= g[i * k + l] * w[l];
        }
        w[i] /= g[i * k + i];
    }
    for i in (0..k).rev() {
        for l in i + 1..k {
            w[i] -= g[l * k + i] * w[l];
        }
        w[i] /= g[i * k + i];
    }
    Some(w)
}

/// The barycentre weights that best reconstruct `x` from `neighbours` (rows of `points`),
/// summing to one (module header).
pub fn barycenter_weights(
    x: &[f32],
    points: &Matrix,
    neighbours: &[usize],
    reg: f64,
) -> Result<Vec<f64>> {
    let k = neighbours.len();
    let diffs: Vec<Vec<f64>> = neighbours
        .iter()
        .map(|&j| {
            points
                .row(j)
                .iter()
                .zip(x)
                .map(|(a, b)| (*a - *b) as f64)
                .collect()
        })
        .collect();
    let mut g = vec![0.0f64; k * k];
    for a in 0..k {
        for b in 0..=a {
            let dot: f64 = diffs[a].iter().zip(&diffs[b]).map(|(u, v)| u * v).sum();
            g[a * k + b] = dot;
            g[b * k + a] = dot;
        }
    }
    let trace: f64 = (0..k).map(|a| g[a * k + a]).sum();
    let r = if trace > 0.0 { reg * trace } else { reg };
    (0..k).for_each(|a| g[a * k + a] += r);
    let w = solve_spd_ones(&mut g, k).ok_or_else(|| {
        Error::Invalid(format!(
            "LLE: the local Gram matrix is singular even with reg = {reg}; raise reg"
        ))
    })?;
    let sum: f64 = w.iter().sum();
    Ok(w.iter().map(|v| v / sum).collect())
}

impl Lle {
    /// Fits a `dim`-dimensional LLE of `x` with `neighbors` neighbours and regularization `reg`.
    pub fn fit(x: &Matrix, dim: usize, neighbors: usize, reg: f64, seed: u64) -> Result<Lle> {
        let n = x.rows();
        if dim == 0 || dim + 1 >= n {
            return Err(Error::Invalid(format!(
                "LLE: dimension {dim} must be between 1 and points − 2 = {}",
                n.saturating_sub(2)
            )));
        }
        if !(reg > 0.0 && reg.is_finite()) {
            return Err(Error::Invalid(format!(
                "LLE: reg must be positive, got {reg}"
            )));
        }
        // M and its Cholesky factor, both f64
        crate::limits::check_floats(
            "lle",
            4 * (n as u128) * (n as u128),
            &format!("LLE's dense {n} × {n} matrix M and its factor"),
        )?;
        let graph = knn_graph(x, neighbors)?;
        let weights: Vec<Vec<f64>> = (0..n)
            .into_par_iter()
            .map(|i| barycenter_weights(x.row(i), x, graph.of(i).0, reg))
            .collect::<Result<_>>()?;
        // M = (I − W)ᵀ(I − W), built from the rows of I − W: row i has 1 at i and −wᵢⱼ at N(i)
        let mut m = Mat::<f64>::zeros(n, n);
        for (i, w) in weights.iter().enumerate() {
            let idx = graph.of(i).0;
            let entries: Vec<(usize, f64)> = std::iter::once((i, 1.0))
                .chain(idx.iter().zip(w).map(|(j, v)| (*j, -v)))
                .collect();
            for &(a, va) in &entries {
                for &(b, vb) in &entries {
                    m[(a, b)] += va * vb;
                }
            }
        }
        let max_diag = (0..n).map(|i| m[(i, i)]).fold(0.0f64, f64::max);
        let mut sigma = 1e-10 * max_diag.max(1e-300);
        let llt = loop {
            let mut shifted = m.clone();
            (0..n).for_each(|i| shifted[(i, i)] += sigma);
            match shifted.llt(Side::Lower) {
                Ok(f) => break f,
                Err(_) if sigma < 1e-4 * max_diag => sigma *= 1e3,
                Err(e) => {
                    return Err(Error::Invalid(format!(
                        "LLE: M + σI could not be factored: {e:?}"
                    )))
                }
            }
        };
        drop(m);
        let constant = vec![1.0 / (n as f64).sqrt(); n];
        let eig = top_eigenpairs(n, dim, &|q| llt.solve(q), Some(&constant), 1e-8, 1000, seed)?;
        drop(llt);
        let mut vectors = eig.vectors;
        fix_signs(&mut vectors);
        // eigenvalues of M from the Ritz values of (M + σI)⁻¹
        let eigenvalues = eig.values.iter().map(|t| 1.0 / t - sigma).collect();
        let embedding = Matrix::from_fn(n, dim, |i, j| vectors[(i, j)] as f32);
        Ok(Lle {
            train: x.clone(),
            neighbors,
            reg,
            embedding,
            eigenvalues,
            eigen_iterations: eig.iterations,
            eigen_converged: eig.converged,
        })
    }

    /// The training points' map, `n × d`.
    pub fn embedding(&self) -> &Matrix {
        &self.embedding
    }

    /// Embeds new points as the barycentre-weighted mean of their neighbours' images.
    pub fn transform(&self, x: &Matrix) -> Result<Matrix> {
        if x.cols() != self.train.cols() {
            return Err(Error::Shape(format!(
                "data has {} columns, LLE was fit on {}",
                x.cols(),
                self.train.cols()
            )));
        }
        let nb = knn_query(&self.train, x, self.neighbors)?;
        let dim = self.embedding.cols();
        let rows: Vec<Vec<f32>> = (0..x.rows())
            .into_par_iter()
            .map(|q| {
                let idx = nb.of(q).0;
                let w = barycenter_weights(x.row(q), &self.train, idx, self.reg)?;
                Ok((0..dim)
                    .map(|c| {
                        idx.iter()
                            .zip(&w)
                            .map(|(j, wj)| wj * self.embedding.row(*j)[c] as f64)
                            .sum::<f64>() as f32
                    })
                    .collect())
            })
            .collect::<Result<_>>()?;
        Ok(Matrix::from_vec(x.rows(), dim, rows.concat()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    fn random(n: usize, d: usize, seed: u64) -> Matrix {
        let mut rng = Rng::new(seed);
        Matrix::from_vec(n, d, (0..n * d).map(|_| rng.normal()).collect())
    }

    #[test]
    fn weights_sum_to_one_and_reconstruct_the_point() {
        let x = random(50, 6, 1);
        let graph = knn_graph(&x, 8).unwrap();
        for i in 0..50 {
            let idx = graph.of(i).0;
            let w = barycenter_weights(x.row(i), &x, idx, 1e-3).unwrap();
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            // w minimizes the regularized cost ‖x − Σ wⱼ xⱼ‖² + r‖w‖² over Σ w = 1: the mean
            // and every feasible perturbation cost more
            let cost = |w: &[f64]| -> f64 {
                let fit: f64 = (0..6)
                    .map(|c| {
                        let r: f64 = idx
                            .iter()
                            .zip(w)
                            .map(|(j, v)| v * x.row(*j)[c] as f64)
                            .sum();
                        (r - x.row(i)[c] as f64).powi(2)
                    })
                    .sum();
                let trace: f64 = idx
                    .iter()
                    .map(|j| crate::neighbors::graph::distance(x.row(*j), x.row(i)).powi(2))
                    .sum();
                fit + 1e-3 * trace * w.iter().map(|v| v * v).sum::<f64>()
            };
            let best = cost(&w);
            assert!(best < cost(&[1.0 / 8.0; 8]), "point {i}");
            for (a, b) in [(0, 1), (2, 7), (5, 3)] {
                for eps in [1e-3, -1e-3] {
                    let mut v = w.clone();
                    v[a] += eps;
                    v[b] -= eps;
                    assert!(cost(&v) > best, "point {i}: ({a}, {b}, {eps})");
                }
            }
        }
        // a point inside its neighbours' affine hull (two neighbours, halfway) is rebuilt exactly
        let pts = Matrix::from_vec(2, 2, vec![0.0, 0.0, 2.0, 4.0]);
        let w = barycenter_weights(&[1.0, 2.0], &pts, &[0, 1], 1e-9).unwrap();
        assert!(
            (w[0] - 0.5).abs() < 1e-6 && (w[1] - 0.5).abs() < 1e-6,
            "{w:?}"
        );
    }

    #[test]
    fn the_map_solves_the_eigenproblem_and_embeds_new_points() {
        // points on a noisy curve in 5-D: the 1-D LLE orders them along the curve
        let n = 300;
        let mut rng = Rng::new(2);
        let mut v = Vec::new();
        let mut t = Vec::new();
        for _ in 0..n {
            let s = 3.0 * rng.uniform();
            t.push(s);
            v.extend([
                s.cos(),
                s.sin(),
                0.5 * s,
                0.01 * rng.normal(),
                0.01 * rng.normal(),
            ]);
        }
        let x = Matrix::from_vec(n, 5, v);
        let lle = Lle::fit(&x, 1, 10, 1e-3, 0).unwrap();
        assert!(lle.eigen_converged);
        let y: Vec<f32> = (0..n).map(|i| lle.embedding().row(i)[0]).collect();
        // the 1-D map orders the points along the curve: |Spearman correlation| with t
        let ranks = |v: &[f32]| -> Vec<f64> {
            let mut order: Vec<usize> = (0..v.len()).collect();
            order.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
            let mut r = vec![0.0; v.len()];
            order
                .iter()
                .enumerate()
                .for_each(|(rank, i)| r[*i] = rank as f64);
            r
        };
        let (ry, rt) = (ranks(&y), ranks(&t));
        let m = (n - 1) as f64 / 2.0;
        let cov: f64 = ry.iter().zip(&rt).map(|(a, b)| (a - m) * (b - m)).sum();
        let var: f64 = rt.iter().map(|b| (b - m).powi(2)).sum();
        let rho = cov / var;
        assert!(rho.abs() > 0.95, "Spearman {rho}");
        // unit-norm, orthogonal to the constant vector
        let norm: f64 = y.iter().map(|v| (*v as f64).powi(2)).sum();
        let sum: f64 = y.iter().map(|v| *v as f64).sum();
        assert!(
            (norm - 1.0).abs() < 1e-4 && sum.abs() < 1e-3,
            "{norm} {sum}"
        );
        // ‖(I − W) y‖² is the reported eigenvalue
        let graph = knn_graph(&x, 10).unwrap();
        let cost: f64 = (0..n)
            .map(|i| {
                let idx = graph.of(i).0;
                let w = barycenter_weights(x.row(i), &x, idx, 1e-3).unwrap();
                let r: f64 = idx.iter().zip(&w).map(|(j, v)| v * y[*j] as f64).sum();
                (y[i] as f64 - r).powi(2)
            })
            .sum();
        assert!(
            (cost - lle.eigenvalues[0]).abs() < 1e-4 * (1.0 + cost),
            "{cost} vs {}",
            lle.eigenvalues[0]
        );
        // out of sample: a training point maps (nearly) to itself
        let again = lle.transform(&x.slice_rows(0, 10)).unwrap();
        let spread =
            y.iter().cloned().fold(f32::MIN, f32::max) - y.iter().cloned().fold(f32::MAX, f32::min);
        for (i, yi) in y.iter().enumerate().take(10) {
            assert!((again.row(i)[0] - yi).abs() < 0.05 * spread, "{i}");
        }
        assert!(Lle::fit(&x, 1, 10, 0.0, 0).is_err());
    }
}
