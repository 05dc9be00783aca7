//! Extreme eigenpairs of a large symmetric operator by block subspace iteration with
//! Rayleigh–Ritz (Saad, *Numerical Methods for Large Eigenvalue Problems*, 2nd ed., §5.2):
//!
//! ```text
//! Q₀ = orth(Ω)                          Ω: n × p Gaussian, p = wanted + oversampling
//! Zₜ = B Qₜ,  Tₜ = Qₜᵀ Zₜ = S Θ Sᵀ       Ritz values Θ (descending), Ritz vectors Xₜ = Qₜ S
//! rⱼ = ‖B xⱼ − θⱼ xⱼ‖ = ‖(Zₜ S)ⱼ − θⱼ xⱼ‖,  stop when rⱼ ≤ tol·|θⱼ| for the wanted j
//! Qₜ₊₁ = orth(Zₜ)
//! ```
//!
//! The wanted eigenvalues converge at rate `|θ_{p+1} / θⱼ|` per step, so the oversampled
//! block makes a few dozen GEMMs enough where a single vector would crawl. Isomap applies the
//! centred kernel itself (largest eigenvalues); LLE applies `(M + σI)⁻¹` through a Cholesky
//! factor (shift-invert: the smallest eigenvalues of `M` become the largest of `B`).

use crate::error::{Error, Result};
use crate::linalg::Rng;
use faer::{Mat, Side};

/// Columns added to the block beyond those wanted.
const OVERSAMPLING: usize = 10;

/// Eigenpairs found by [`top_eigenpairs`]: `values` descending, `vectors` n × wanted with
/// orthonormal columns.
pub struct Eigenpairs {
    pub values: Vec<f64>,
    pub vectors: Mat<f64>,
    /// Iterations run.
    pub iterations: usize,
    /// Whether every wanted pair met the tolerance before the iteration cap.
    pub converged: bool,
}

/// The `wanted` eigenpairs of largest eigenvalue of the symmetric operator `apply` (`Q ↦ B Q`
/// for `n × p` blocks). `deflate`, when given, is a unit vector known to be an eigenvector
/// that must be excluded (LLE's constant vector): it is projected out of every block.
pub fn top_eigenpairs(
    n: usize,
    wanted: usize,
    apply: &dyn Fn(&Mat<f64>) -> Mat<f64>,
    deflate: Option<&[f64]>,
    tolerance: f64,
    max_iterations: usize,
    seed: u64,
) -> Result<Eigenpairs> {
    let free = n - usize::from(deflate.is_some());
    if wanted == 0 || wanted > free {
        return Err(Error::Invalid(format!(
            "{wanted} eigenpairs of a {n} × {n} operator{}",
            if deflate.is_some() {
                " with one direction excluded"
            } else {
                ""
            }
        )));
    }
    let p = (wanted + OVERSAMPLING).min(free);
    let mut rng = Rng::new(seed);
    let mut q = Mat::<f64>::from_fn(n, p, |_, _| rng.normal() as f64);
    let project = |m: &mut Mat<f64>| {
        if let Some(e) = deflate {
            for j in 0..m.ncols() {
                let dot: f64 = (0..n).map(|i| m[(i, j)] * e[i]).sum();
                for (i, ei) in e.iter().enumerate() {
                    m[(i, j)] -= dot * ei;
                }
            }
        }
    };
    project(&mut q);
    q = q.qr().compute_thin_Q();
    let mut iterations = 0;
    loop {
        iterations += 1;
        let mut z = apply(&q);
        project(&mut z);
        let mut t = q.transpose() * &z;
        for i in 0..p {
            for j in 0..i {
                let s = 0.5 * (t[(i, j)] + t[(j, i)]);
                t[(i, j)] = s;
                t[(j, i)] = s;
            }
        }
        let eig = t
            .self_adjoint_eigen(Side::Lower)
            .map_err(|e| Error::Invalid(format!("Rayleigh–Ritz eigensolve failed: {e:?}")))?;
        // ascending from faer: reverse into descending order
        let theta: Vec<f64> = (0..p).map(|j| eig.S().column_vector()[p - 1 - j]).collect();
        let s = Mat::<f64>::from_fn(p, p, |i, j| eig.U()[(i, p - 1 - j)]);
        let x = &q * &s;
        let bx = &z * &s;
        let converged = (0..wanted).all(|j| {
            let r2: f64 = (0..n)
                .map(|i| (bx[(i, j)] - theta[j] * x[(i, j)]).powi(2))
                .sum();
            r2.sqrt() <= tolerance * theta[j].abs().max(f64::MIN_POSITIVE)
        });
        if !theta.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite(
                "the eigensolver met a non-finite value".into(),
            ));
        }
        if converged || iterations >= max_iterations {
            return Ok(Eigenpairs {
                values: theta[..wanted].to_vec(),
                vectors: Mat::from_fn(n, wanted, |i, j| x[(i, j)]),
                iterations,
                converged,
            });
        }
        q = z.qr().compute_thin_Q();
    }
}

/// Flips each column's sign so that its entry of largest magnitude is positive: eigenvectors
/// are defined up to sign, and a fixed choice makes embeddings comparable between runs.
pub fn fix_signs(vectors: &mut Mat<f64>) {
    for j in 0..vectors.ncols() {
        let mut best = 0.0f64;
        for i in 0..vectors.nrows() {
            if vectors[(i, j)].abs() > best.abs() {
                best = vectors[(i, j)];
            }
        }
        if best < 0.0 {
            for i in 0..vectors.nrows() {
                vectors[(i, j)] = -vectors[(i, j)];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symmetric matrix with known spectrum: `U diag(λ) Uᵀ` for a random orthogonal `U`.
    fn known(n: usize, values: &[f64]) -> (Mat<f64>, Mat<f64>) {
        let mut rng = Rng::new(7);
        let g = Mat::<f64>::from_fn(n, n, |_, _| rng.normal() as f64);
        let u = g.qr().compute_thin_Q();
        let d = Mat::<f64>::from_fn(n, n, |i, j| if i == j { values[i] } else { 0.0 });
        (&u * &d * u.transpose(), u)
    }

    #[test]
    fn finds_the_largest_eigenpairs() {
        let n = 60;
        let values: Vec<f64> = (0..n).map(|i| 10.0 * 0.8f64.powi(i as i32)).collect();
        let (a, u) = known(n, &values);
        let e = top_eigenpairs(n, 3, &|q| &a * q, None, 1e-10, 500, 1).unwrap();
        assert!(e.converged);
        for j in 0..3 {
            assert!(
                (e.values[j] - values[j]).abs() < 1e-8,
                "{j}: {}",
                e.values[j]
            );
            let dot: f64 = (0..n).map(|i| e.vectors[(i, j)] * u[(i, j)]).sum();
            assert!((dot.abs() - 1.0).abs() < 1e-8, "{j}: |cos| = {}", dot.abs());
        }
    }

    #[test]
    fn deflation_skips_the_excluded_direction() {
        let n = 40;
        let values: Vec<f64> = (0..n).map(|i| (n - i) as f64).collect();
        let (a, u) = known(n, &values);
        let top: Vec<f64> = (0..n).map(|i| u[(i, 0)]).collect();
        let e = top_eigenpairs(n, 2, &|q| &a * q, Some(&top), 1e-10, 500, 2).unwrap();
        assert!((e.values[0] - values[1]).abs() < 1e-8, "{:?}", e.values);
        assert!((e.values[1] - values[2]).abs() < 1e-8, "{:?}", e.values);
        assert!(top_eigenpairs(n, 40, &|q| &a * q, Some(&top), 1e-10, 5, 2).is_err());
    }
}
