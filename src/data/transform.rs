//! Input transforms fitted on the training data and saved with the model (`[data] transform`),
//! so that `encode` or `hash` on raw counts of new documents apply the same map:
//!
//! - `tfidf`: `x_j ← x_j · idf_j`, then each row scaled to unit L2 norm, with scikit-learn's
//!   smoothed `idf_j = ln((1 + n) / (1 + df_j)) + 1` (`n` training rows, `df_j` rows where
//!   feature `j` is nonzero);
//! - `log1p`: `x ← ln(1 + x)`;
//! - `binary`: `x ← 1[x > 0]`;
//! - `standardize`: `x_j ← (x_j − mean_j) / std_j`, the training rows' mean and (population)
//!   standard deviation of each column (a constant column is only centred);
//! - `none`.

use super::sparse::CsrMatrix;
use crate::error::{Error, Result};
use crate::linalg::Matrix;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which transform (`data.transform` in configs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransformKind {
    /// The data as it is.
    #[default]
    None,
    /// TF-IDF weights, rows at unit L2 norm.
    Tfidf,
    /// `ln(1 + x)`.
    Log1p,
    /// `1[x > 0]`.
    Binary,
    /// Each column to zero mean and unit variance (the training rows').
    Standardize,
}

/// A fitted transform; saved as `transform.json` in the run folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputTransform {
    /// The transform.
    pub kind: TransformKind,
    /// `tfidf`: one weight per feature; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub idf: Vec<f32>,
    /// `standardize`: each column's mean; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mean: Vec<f32>,
    /// `standardize`: each column's `1 / std` (1 for a constant column); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale: Vec<f32>,
}

/// The file name in a run folder.
pub const FILE: &str = "transform.json";

impl InputTransform {
    /// Fits `kind` on `x` (TF-IDF learns the document frequencies, standardize each column's
    /// mean and spread).
    pub fn fit(kind: TransformKind, x: &Matrix) -> Result<InputTransform> {
        if kind == TransformKind::Standardize {
            return Self::fit_rows(kind, x);
        }
        let idf = if kind == TransformKind::Tfidf {
            if x.as_slice().iter().any(|v| *v < 0.0) {
                return Err(Error::Invalid(
                    "tfidf needs counts (no negative values)".into(),
                ));
            }
            let mut df = vec![0usize; x.cols()];
            for r in 0..x.rows() {
                for (d, v) in df.iter_mut().zip(x.row(r)) {
                    *d += (*v != 0.0) as usize;
                }
            }
            idf_of(&df, x.rows())
        } else {
            Vec::new()
        };
        Ok(InputTransform {
            kind,
            idf,
            mean: Vec::new(),
            scale: Vec::new(),
        })
    }

    /// [`Self::fit`] on rows read in chunks (a streamed file or a sparse corpus, never whole).
    pub fn fit_rows(kind: TransformKind, x: &dyn super::rows::Rows) -> Result<InputTransform> {
        if kind == TransformKind::Standardize {
            // two f64 sums a column: exact enough for any data set that fits a disk
            let (mut sum, mut squares) = (vec![0f64; x.cols()], vec![0f64; x.cols()]);
            super::rows::for_each_chunk(x, 4096, |_, chunk| {
                for r in 0..chunk.rows() {
                    for ((s, q), &v) in sum.iter_mut().zip(squares.iter_mut()).zip(chunk.row(r)) {
                        *s += v as f64;
                        *q += v as f64 * v as f64;
                    }
                }
                Ok(())
            })?;
            let n = x.rows().max(1) as f64;
            let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
            let scale = sum
                .iter()
                .zip(&squares)
                .map(|(s, q)| {
                    let var = (q / n - (s / n).powi(2)).max(0.0);
                    if var > 1e-12 {
                        (1.0 / var.sqrt()) as f32
                    } else {
                        1.0
                    }
                })
                .collect();
            return Ok(InputTransform {
                kind,
                idf: Vec::new(),
                mean,
                scale,
            });
        }
        if let Some(m) = x.as_matrix() {
            return Self::fit(kind, m);
        }
        if kind != TransformKind::Tfidf {
            return Ok(InputTransform {
                kind,
                idf: Vec::new(),
                mean: Vec::new(),
                scale: Vec::new(),
            });
        }
        let mut df = vec![0usize; x.cols()];
        super::rows::for_each_chunk(x, 4096, |_, chunk| {
            if chunk.as_slice().iter().any(|v| *v < 0.0) {
                return Err(Error::Invalid(
                    "tfidf needs counts (no negative values)".into(),
                ));
            }
            for r in 0..chunk.rows() {
                for (d, v) in df.iter_mut().zip(chunk.row(r)) {
                    *d += (*v != 0.0) as usize;
                }
            }
            Ok(())
        })?;
        Ok(InputTransform {
            kind,
            idf: idf_of(&df, x.rows()),
            mean: Vec::new(),
            scale: Vec::new(),
        })
    }

    /// Fits TF-IDF's document frequencies on a sparse matrix.
    pub fn fit_tfidf_sparse(x: &CsrMatrix) -> InputTransform {
        let mut df = vec![0usize; x.cols()];
        for r in 0..x.rows() {
            let (idx, val) = x.row(r);
            for (&j, &v) in idx.iter().zip(val) {
                df[j as usize] += (v != 0.0) as usize;
            }
        }
        InputTransform {
            kind: TransformKind::Tfidf,
            idf: idf_of(&df, x.rows()),
            mean: Vec::new(),
            scale: Vec::new(),
        }
    }

    /// Whether the transform changes anything.
    pub fn is_identity(&self) -> bool {
        self.kind == TransformKind::None
    }

    /// Applies the transform to each row of `x` in place.
    pub fn apply(&self, x: &mut Matrix) -> Result<()> {
        self.check_width(x.cols())?;
        for r in 0..x.rows() {
            self.apply_row(x.row_mut(r));
        }
        Ok(())
    }

    /// Applies the transform to the stored entries of a sparse matrix (zeros stay zero under
    /// every kind).
    pub fn apply_sparse(&self, x: &mut CsrMatrix) -> Result<()> {
        self.check_width(x.cols())?;
        if self.kind == TransformKind::Standardize {
            return Err(Error::Invalid(
                "standardize centres every column, so sparse rows would become dense: use \
                 tfidf, log1p or binary on sparse data"
                    .into(),
            ));
        }
        for r in 0..x.rows() {
            let (idx, val) = x.row_mut(r);
            match self.kind {
                TransformKind::Tfidf => {
                    for (v, &j) in val.iter_mut().zip(idx.iter()) {
                        *v *= self.idf[j as usize];
                    }
                    normalize(val);
                }
                _ => val.iter_mut().for_each(|v| *v = self.scalar(*v)),
            }
        }
        Ok(())
    }

    /// TF-IDF's weights are per column: the data must have as many.
    pub(crate) fn check_width(&self, cols: usize) -> Result<()> {
        let fitted = match self.kind {
            TransformKind::Tfidf => self.idf.len(),
            TransformKind::Standardize => self.mean.len(),
            _ => return Ok(()),
        };
        if cols != fitted {
            return Err(Error::Shape(format!(
                "data has {cols} columns, the fitted {:?} transform {fitted}",
                self.kind
            )));
        }
        Ok(())
    }

    fn scalar(&self, v: f32) -> f32 {
        match self.kind {
            TransformKind::Log1p => v.ln_1p(),
            TransformKind::Binary => (v > 0.0) as u8 as f32,
            TransformKind::None | TransformKind::Tfidf | TransformKind::Standardize => v,
        }
    }

    pub(crate) fn apply_row(&self, row: &mut [f32]) {
        match self.kind {
            TransformKind::None => {}
            TransformKind::Tfidf => {
                row.iter_mut().zip(&self.idf).for_each(|(v, w)| *v *= w);
                normalize(row);
            }
            TransformKind::Standardize => row
                .iter_mut()
                .zip(self.mean.iter().zip(&self.scale))
                .for_each(|(v, (m, s))| *v = (*v - m) * s),
            _ => row.iter_mut().for_each(|v| *v = self.scalar(*v)),
        }
    }

    /// Maps a model's outputs (reconstructions, decoded codes) back to the data's units, in
    /// place: `standardize` is undone (`x = z / scale + mean`); the other kinds leave outputs in
    /// the space the model reconstructs (TF-IDF weights, log1p counts, binary features).
    pub fn invert(&self, x: &mut Matrix) -> Result<()> {
        if self.kind != TransformKind::Standardize {
            return Ok(());
        }
        self.check_width(x.cols())?;
        for r in 0..x.rows() {
            // times the f32 reciprocal, as the ONNX export computes it
            for (v, (m, s)) in x
                .row_mut(r)
                .iter_mut()
                .zip(self.mean.iter().zip(&self.scale))
            {
                *v = *v * (1.0 / s) + m;
            }
        }
        Ok(())
    }

    /// Writes `transform.json` into `dir` (atomically).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string(self)
            .map_err(|e| Error::Invalid(format!("serializing the transform: {e}")))?;
        crate::fsutil::atomic_write(&dir.join(FILE), text.as_bytes())
    }

    /// The transform saved in run folder `dir`, if any.
    pub fn load(dir: &Path) -> Result<Option<InputTransform>> {
        let path = dir.join(FILE);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = crate::fsutil::read(&path)?;
        let t: InputTransform = serde_json::from_slice(&bytes)
            .map_err(|e| Error::format(&path, format!("not a saved transform: {e}")))?;
        if (t.kind == TransformKind::Tfidf) == t.idf.is_empty()
            || t.idf.iter().any(|v| !v.is_finite())
        {
            return Err(Error::format(&path, "idf weights are missing or damaged"));
        }
        let standardize = t.kind == TransformKind::Standardize;
        if standardize == t.mean.is_empty()
            || t.mean.len() != t.scale.len()
            || t.mean.iter().chain(&t.scale).any(|v| !v.is_finite())
        {
            return Err(Error::format(
                &path,
                "standardize's means and scales are missing or damaged",
            ));
        }
        Ok(Some(t))
    }
}

fn idf_of(df: &[usize], n: usize) -> Vec<f32> {
    df.iter()
        .map(|&d| (((1 + n) as f64 / (1 + d) as f64).ln() + 1.0) as f32)
        .collect()
}

fn normalize(row: &mut [f32]) {
    let norm = row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
    if norm > 0.0 {
        let inv = (1.0 / norm) as f32;
        row.iter_mut().for_each(|v| *v *= inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed: 3 documents, feature 0 in all (idf = ln(4/4) + 1 = 1), feature 1 in one
    /// (idf = ln(4/2) + 1).
    #[test]
    fn tfidf_matches_the_hand_computed_weights_dense_and_sparse() {
        let x = Matrix::from_vec(3, 2, vec![1.0, 2.0, 3.0, 0.0, 1.0, 0.0]);
        let t = InputTransform::fit(TransformKind::Tfidf, &x).unwrap();
        let idf1 = 2.0f32.ln() + 1.0;
        assert!((t.idf[0] - 1.0).abs() < 1e-6 && (t.idf[1] - idf1).abs() < 1e-6);
        let mut dense = x.clone();
        t.apply(&mut dense).unwrap();
        let n0 = (1.0 + (2.0 * idf1).powi(2)).sqrt();
        let want = [1.0 / n0, 2.0 * idf1 / n0, 1.0, 0.0, 1.0, 0.0];
        for (a, b) in dense.as_slice().iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        let mut sparse = CsrMatrix::from_dense(&x);
        let ts = InputTransform::fit_tfidf_sparse(&sparse);
        assert_eq!(ts, t);
        ts.apply_sparse(&mut sparse).unwrap();
        assert_eq!(sparse.to_dense(), dense);
        let mut narrow = Matrix::zeros(1, 3);
        assert!(t.apply(&mut narrow).is_err());
    }

    /// Hand-computed: column 0 is 1, 3 (mean 2, std 1); column 1 is constant 5 (centred only).
    #[test]
    fn standardize_centres_and_scales_each_column() {
        let x = Matrix::from_vec(2, 2, vec![1.0, 5.0, 3.0, 5.0]);
        let t = InputTransform::fit(TransformKind::Standardize, &x).unwrap();
        assert_eq!(
            (t.mean.clone(), t.scale.clone()),
            (vec![2.0, 5.0], vec![1.0, 1.0])
        );
        let mut y = x.clone();
        t.apply(&mut y).unwrap();
        assert_eq!(y.as_slice(), &[-1.0, 0.0, 1.0, 0.0]);
        t.invert(&mut y).unwrap();
        assert_eq!(y, x);
        let wide = Matrix::from_vec(2, 1, vec![0.0, 4.0]);
        let s = InputTransform::fit(TransformKind::Standardize, &wide).unwrap();
        assert_eq!(s.scale, vec![0.5]);
        assert!(t.apply(&mut Matrix::zeros(1, 3)).is_err());
        assert!(t.apply_sparse(&mut CsrMatrix::from_dense(&x)).is_err());
    }

    #[test]
    fn elementwise_transforms() {
        let mut x = Matrix::from_vec(1, 3, vec![0.0, 1.0, 3.0]);
        let log = InputTransform::fit(TransformKind::Log1p, &x).unwrap();
        let mut l = x.clone();
        log.apply(&mut l).unwrap();
        assert_eq!(l.as_slice(), &[0.0, 2f32.ln(), 4f32.ln()]);
        InputTransform::fit(TransformKind::Binary, &x)
            .unwrap()
            .apply(&mut x)
            .unwrap();
        assert_eq!(x.as_slice(), &[0.0, 1.0, 1.0]);
    }
}
