//! Principal component analysis (chapter 14.1: a linear autoencoder with squared error spans
//! the same subspace), and principal angles between subspaces.

use crate::error::{Error, Result};
use crate::linalg::Matrix;
use faer::{Mat, Side};

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

    #[test]
    fn principal_angles_of_known_planes() {
        let a = Mat::<f64>::from_fn(3, 1, |i, _| if i == 0 { 1.0 } else { 0.0 });
        let b = Mat::<f64>::from_fn(3, 1, |i, _| if i == 2 { 0.0 } else { 1.0 });
        let angles = principal_angles_degrees(&a, &b).unwrap();
        assert!((angles[0] - 45.0).abs() < 1e-9);
    }
}
