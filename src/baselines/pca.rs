//! Principal component analysis (chapter 14.1: a linear autoencoder with squared error spans
//! the same subspace), and principal angles between subspaces.
//!
//! Few components of wide data (at least [`RANDOMIZED_MIN_FEATURES`] features, at most a
//! quarter of them kept: TF-IDF documents for hashing) use the randomized range finder of
//! Halko, Martinsson & Tropp (2011, Alg. 4.4) instead of the full eigendecomposition of the
//! `d × d` covariance: with `Xc` the centered data and `Ω` a `d × (k + p)` Gaussian matrix,
//!
//! ```text
//! Q = orth(Xc Ω);  repeat q times: Q = orth(Xc orth(Xcᵀ Q))      (subspace iteration)
//! B = Qᵀ Xc = U Σ Vᵀ;  components = V[:, :k],  variances = σ_j² / n
//! ```
//!
//! (`p = max(10, k)` extra directions, `q` = 4 power iterations, a fixed seed: deterministic.) Each
//! component's sign is fixed so its largest entry is positive.

use crate::error::{Error, Result};
use crate::linalg::{Matrix, Rng};
use faer::{Mat, Side};

/// Data at least this wide, keeping at most a quarter of its width, is fitted by the
/// randomized range finder (module header).
pub const RANDOMIZED_MIN_FEATURES: usize = 1000;
/// Extra random directions `p` of the range finder: `max(10, k)`, since hashing keeps the
/// top components one by one, and flat spectra (TF-IDF) need the margin.
const OVERSAMPLING: usize = 10;
/// Subspace iterations `q` of the range finder.
const POWER_ITERATIONS: usize = 4;

/// A fitted PCA: `transform(x) = (x − mean)·V`, `inverse_transform(z) = z·Vᵀ + mean`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// Per-feature mean of the training data.
    pub mean: Vec<f64>,
    /// Principal directions, `features × components`, orthonormal columns, largest variance first.
    pub components: Mat<f64>,
    /// Variance along each component (divided by n).
    pub explained_variance: Vec<f64>,
}

impl Pca {
    /// Fits the top `k` components of `x` (eigendecomposition of the covariance, in f64).
    pub fn fit(x: &Matrix, k: usize) -> Result<Pca> {
        let (n, d) = (x.rows(), x.cols());
        if k == 0 || k > d {
            return Err(Error::Invalid(format!(
                "PCA needs 1 ≤ components ≤ {d}, got {k}"
            )));
        }
        if n < 2 {
            return Err(Error::Invalid("PCA needs at least 2 examples".into()));
        }
        let mut mean = vec![0.0f64; d];
        for r in 0..n {
            for (m, v) in mean.iter_mut().zip(x.row(r)) {
                *m += *v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let centered = Mat::<f64>::from_fn(n, d, |i, j| x.row(i)[j] as f64 - mean[j]);
        if d >= RANDOMIZED_MIN_FEATURES && 4 * k <= d {
            return Self::fit_randomized(centered, k, mean);
        }
        let cov = centered.transpose() * &centered * faer::Scale(1.0 / n as f64);
        let eig = cov
            .self_adjoint_eigen(Side::Lower)
            .map_err(|e| Error::Invalid(format!("PCA eigendecomposition failed: {e:?}")))?;
        let values = eig.S().column_vector();
        let u = eig.U();
        // eigenvalues come in nondecreasing order: take the last k, reversed
        let components = Mat::<f64>::from_fn(d, k, |i, j| u[(i, d - 1 - j)]);
        let explained_variance = (0..k).map(|j| values[d - 1 - j].max(0.0)).collect();
        Ok(Pca {
            mean,
            components,
            explained_variance,
        })
    }

    /// The top `k` components of the `centered` data by the randomized range finder (module
    /// header).
    fn fit_randomized(centered: Mat<f64>, k: usize, mean: Vec<f64>) -> Result<Pca> {
        let (n, d) = (centered.nrows(), centered.ncols());
        let l = (k + OVERSAMPLING.max(k)).min(d).min(n);
        let mut rng = Rng::new(0x05ee_d9ca);
        let omega = Mat::<f64>::from_fn(d, l, |_, _| rng.normal() as f64);
        let orth = |m: Mat<f64>| m.qr().compute_thin_Q();
        let mut q = orth(&centered * &omega);
        for _ in 0..POWER_ITERATIONS {
            let z = orth(centered.transpose() * &q);
            q = orth(&centered * &z);
        }
        let b = q.transpose() * &centered;
        let svd = b
            .thin_svd()
            .map_err(|e| Error::Invalid(format!("PCA (randomized) SVD failed: {e:?}")))?;
        let (v, s) = (svd.V(), svd.S().column_vector());
        let k = k.min(l);
        let mut components = Mat::<f64>::from_fn(d, k, |i, j| v[(i, j)]);
        for j in 0..k {
            let (mut top, mut sign) = (0.0f64, 1.0f64);
            for i in 0..d {
                if components[(i, j)].abs() > top {
                    top = components[(i, j)].abs();
                    sign = components[(i, j)].signum();
                }
            }
            for i in 0..d {
                components[(i, j)] *= sign;
            }
        }
        let explained_variance = (0..k).map(|j| s[j] * s[j] / n as f64).collect();
        Ok(Pca {
            mean,
            components,
            explained_variance,
        })
    }

    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.components.ncols()
    }

    /// Projects rows of `x` onto the components.
    pub fn transform(&self, x: &Matrix) -> Result<Matrix> {
        if x.cols() != self.mean.len() {
            return Err(Error::Shape(format!(
                "data has {} columns, PCA was fit on {}",
                x.cols(),
                self.mean.len()
            )));
        }
        let centered =
            Mat::<f64>::from_fn(x.rows(), x.cols(), |i, j| x.row(i)[j] as f64 - self.mean[j]);
        let z = centered * &self.components;
        Ok(Matrix::from_fn(z.nrows(), z.ncols(), |i, j| {
            z[(i, j)] as f32
        }))
    }

    /// Maps codes back to the data space.
    pub fn inverse_transform(&self, z: &Matrix) -> Result<Matrix> {
        if z.cols() != self.n_components() {
            return Err(Error::Shape(format!(
                "codes have {} columns, PCA has {}",
                z.cols(),
                self.n_components()
            )));
        }
        let zm = Mat::<f64>::from_fn(z.rows(), z.cols(), |i, j| z.row(i)[j] as f64);
        let x = zm * self.components.transpose();
        let d = self.mean.len();
        Ok(Matrix::from_fn(x.nrows(), d, |i, j| {
            (x[(i, j)] + self.mean[j]) as f32
        }))
    }

    /// Mean over rows of `‖x − inverse_transform(transform(x))‖²`.
    pub fn squared_error_per_example(&self, x: &Matrix) -> Result<f64> {
        let r = self.inverse_transform(&self.transform(x)?)?;
        Ok(squared_error_per_example(x, &r))
    }
}

/// Mean over rows of the summed squared difference.
pub fn squared_error_per_example(x: &Matrix, r: &Matrix) -> f64 {
    let total: f64 = x
        .as_slice()
        .iter()
        .zip(r.as_slice())
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum();
    total / x.rows().max(1) as f64
}

/// Principal angles (degrees, ascending) between the column spans of `a` and `b`
/// (`features × k` each; columns need not be orthonormal).
pub fn principal_angles_degrees(a: &Mat<f64>, b: &Mat<f64>) -> Result<Vec<f64>> {
    if a.nrows() != b.nrows() {
        return Err(Error::Shape(
            "subspaces live in spaces of different dimension".into(),
        ));
    }
    let qa = orthonormal_basis(a)?;
    let qb = orthonormal_basis(b)?;
    let m = qa.transpose() * &qb;
    let s = m
        .singular_values()
        .map_err(|e| Error::Invalid(format!("SVD failed: {e:?}")))?;
    let mut angles: Vec<f64> = s
        .iter()
        .map(|c| c.clamp(-1.0, 1.0).acos().to_degrees())
        .collect();
    angles.sort_by(|x, y| x.total_cmp(y));
    Ok(angles)
}

fn orthonormal_basis(a: &Mat<f64>) -> Result<Mat<f64>> {
    let svd = a
        .thin_svd()
        .map_err(|e| Error::Invalid(format!("SVD failed: {e:?}")))?;
    Ok(svd.U().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    #[test]
    fn recovers_a_planted_subspace_and_round_trips() {
        // data = 3-D latent · fixed mixing + tiny noise, in 10-D
        let mut rng = Rng::new(0);
        let mixing = Mat::<f64>::from_fn(10, 3, |_, _| rng.normal() as f64);
        let n = 500;
        let mut data = Vec::new();
        for _ in 0..n {
            let z: Vec<f64> = (0..3).map(|_| rng.normal() as f64).collect();
            for i in 0..10 {
                let v: f64 = (0..3).map(|j| mixing[(i, j)] * z[j]).sum();
                data.push((v + 1.0 + 1e-3 * rng.normal() as f64) as f32);
            }
        }
        let x = Matrix::from_vec(n, 10, data);
        let pca = Pca::fit(&x, 3).unwrap();
        let angles = principal_angles_degrees(&pca.components, &mixing).unwrap();
        assert!(angles.iter().all(|a| *a < 0.1), "{angles:?}");
        assert!(pca.squared_error_per_example(&x).unwrap() < 1e-4);
        assert!(pca.explained_variance.windows(2).all(|w| w[0] >= w[1]));
        let pca2 = Pca::fit(&x, 2).unwrap();
        assert!(pca2.squared_error_per_example(&x).unwrap() > 0.1);
    }

    /// Wide data takes the randomized path: its top components span the exact eigenvectors'
    /// subspace (to 0.01°) with the same variances, signs fixed, the same result every time.
    #[test]
    fn randomized_fit_of_wide_data_matches_the_eigendecomposition() {
        let (n, d, k) = (300, 1200, 12);
        let mut rng = Rng::new(4);
        let basis = Mat::<f64>::from_fn(d, k, |_, _| rng.normal() as f64);
        let mut data = Vec::with_capacity(n * d);
        for _ in 0..n {
            let z: Vec<f64> = (0..k)
                .map(|j| (k - j) as f64 * rng.normal() as f64)
                .collect();
            for i in 0..d {
                let v: f64 = (0..k).map(|j| basis[(i, j)] * z[j]).sum();
                data.push((v + 0.05 * rng.normal() as f64) as f32);
            }
        }
        let x = Matrix::from_vec(n, d, data);
        assert!(d >= RANDOMIZED_MIN_FEATURES && 4 * k <= d);
        let fast = Pca::fit(&x, k).unwrap();
        // the exact answer: the covariance's top eigenvectors
        let mean: Vec<f64> = (0..d)
            .map(|j| (0..n).map(|i| x.row(i)[j] as f64).sum::<f64>() / n as f64)
            .collect();
        let c = Mat::<f64>::from_fn(n, d, |i, j| x.row(i)[j] as f64 - mean[j]);
        let cov = c.transpose() * &c * faer::Scale(1.0 / n as f64);
        let eig = cov.self_adjoint_eigen(Side::Lower).unwrap();
        let exact = Mat::<f64>::from_fn(d, k, |i, j| eig.U()[(i, d - 1 - j)]);
        let angles = principal_angles_degrees(&fast.components, &exact).unwrap();
        assert!(angles.iter().all(|a| *a < 0.01), "{angles:?}");
        for j in 0..k {
            let want = eig.S().column_vector()[d - 1 - j];
            let got = fast.explained_variance[j];
            assert!(
                (got - want).abs() <= 1e-6 * want,
                "variance {j}: {got} vs {want}"
            );
            let col: Vec<f64> = (0..d).map(|i| fast.components[(i, j)]).collect();
            let top = col
                .iter()
                .copied()
                .fold(0.0f64, |a, v| if v.abs() > a.abs() { v } else { a });
            assert!(top > 0.0, "component {j}'s largest entry is positive");
        }
        assert_eq!(Pca::fit(&x, k).unwrap(), fast, "deterministic");
    }

    #[test]
    fn principal_angles_of_known_planes() {
        let a = Mat::<f64>::from_fn(3, 1, |i, _| if i == 0 { 1.0 } else { 0.0 });
        let b = Mat::<f64>::from_fn(3, 1, |i, _| if i == 2 { 0.0 } else { 1.0 });
        let angles = principal_angles_degrees(&a, &b).unwrap();
        assert!((angles[0] - 45.0).abs() < 1e-9);
    }
}
