//! Sparse matrices in compressed sparse row (CSR) form, read and written as `.npz` archives in
//! scipy's `save_npz` layout (`data.npy`, `indices.npy`, `indptr.npy`, `shape.npy`,
//! `format.npy` = `b"csr"`), so `scipy.sparse.load_npz` reads what we write and we read what
//! it writes (compressed or not).

use super::npy;
use crate::error::{Error, Result};
use crate::linalg::Matrix;
use std::io::{Read, Write};
use std::path::Path;

/// A CSR matrix: row `r`'s entries are `data[indptr[r]..indptr[r + 1]]` at columns
/// `indices[…]`.
///
/// Invariants (checked by [`CsrMatrix::new`]): `indptr` has `rows + 1` non-decreasing entries
/// from 0 to `data.len()`; every index is below `cols`.
#[derive(Clone, Debug, PartialEq)]
pub struct CsrMatrix {
    rows: usize,
    cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    data: Vec<f32>,
}

impl CsrMatrix {
    /// Checks the invariants.
    pub fn new(
        rows: usize,
        cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        data: Vec<f32>,
    ) -> Result<CsrMatrix> {
        if indptr.len() != rows + 1 || indptr[0] != 0 || indptr[rows] != data.len() {
            return Err(Error::Invalid(format!(
                "indptr must have {} entries from 0 to {} (the number of values)",
                rows + 1,
                data.len()
            )));
        }
        if indices.len() != data.len() {
            return Err(Error::Invalid(format!(
                "{} indices for {} values",
                indices.len(),
                data.len()
            )));
        }
        if indptr.windows(2).any(|w| w[0] > w[1]) {
            return Err(Error::Invalid("indptr decreases".into()));
        }
        if let Some(i) = indices.iter().find(|&&i| i as usize >= cols) {
            return Err(Error::Invalid(format!(
                "column index {i} is out of range for {cols} columns"
            )));
        }
        Ok(CsrMatrix {
            rows,
            cols,
            indptr,
            indices,
            data,
        })
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Stored entries.
    pub fn nnz(&self) -> usize {
        self.data.len()
    }
    /// Row `r` as (column indices, values).
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.data[a..b])
    }

    /// Row `r` as (column indices, values), the values mutable.
    pub fn row_mut(&mut self, r: usize) -> (&[u32], &mut [f32]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &mut self.data[a..b])
    }

    /// Rows `range` as a CSR matrix of their own.
    pub fn slice_rows(&self, range: std::ops::Range<usize>) -> CsrMatrix {
        let (a, b) = (self.indptr[range.start], self.indptr[range.end]);
        CsrMatrix {
            rows: range.len(),
            cols: self.cols,
            indptr: self.indptr[range.start..=range.end]
                .iter()
                .map(|p| p - a)
                .collect(),
            indices: self.indices[a..b].to_vec(),
            data: self.data[a..b].to_vec(),
        }
    }

    /// The dense matrix (duplicate entries of a row add up, as in scipy).
    pub fn to_dense(&self) -> Matrix {
        let mut m = Matrix::zeros(self.rows, self.cols);
        for r in 0..self.rows {
            let (idx, val) = self.row(r);
            let row = m.row_mut(r);
            for (&j, &v) in idx.iter().zip(val) {
                row[j as usize] += v;
            }
        }
        m
    }

    /// The nonzero entries of a dense matrix.
    pub fn from_dense(m: &Matrix) -> CsrMatrix {
        let mut indptr = vec![0usize];
        let (mut indices, mut data) = (Vec::new(), Vec::new());
        for r in 0..m.rows() {
            for (j, &v) in m.row(r).iter().enumerate() {
                if v != 0.0 {
                    indices.push(j as u32);
                    data.push(v);
                }
            }
            indptr.push(data.len());
        }
        CsrMatrix {
            rows: m.rows(),
            cols: m.cols(),
            indptr,
            indices,
            data,
        }
    }

    /// The archive's bytes: a zip of the five `.npy` members, deflated (as `save_npz`'s
    /// default `compressed=True`). Values are `<f4`, indices and indptr `<i4` when they fit
    /// (scipy's choice), else `<i8`.
    pub fn to_npz(&self) -> Result<Vec<u8>> {
        let wide = self.nnz() > i32::MAX as usize || self.cols > i32::MAX as usize;
        let ints = |v: &mut dyn Iterator<Item = usize>, n: usize| -> Vec<u8> {
            if wide {
                let vals: Vec<i64> = v.map(|x| x as i64).collect();
                npy::encode_i64_shape(&[n], &vals)
            } else {
                let bytes: Vec<u8> = v.flat_map(|x| (x as i32).to_le_bytes()).collect();
                npy::encode_raw("<i4", &[n], &bytes)
            }
        };
        let members: Vec<(&str, Vec<u8>)> = vec![
            (
                "indices.npy",
                ints(&mut self.indices.iter().map(|&i| i as usize), self.nnz()),
            ),
            (
                "indptr.npy",
                ints(&mut self.indptr.iter().copied(), self.rows + 1),
            ),
            ("format.npy", npy::encode_raw("|S3", &[], b"csr")),
            (
                "shape.npy",
                npy::encode_i64_shape(&[2], &[self.rows as i64, self.cols as i64]),
            ),
            ("data.npy", npy::encode_f32_shape(&[self.nnz()], &self.data)),
        ];
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true)
            .last_modified_time(zip::DateTime::default());
        for (name, bytes) in members {
            zip.start_file(name, options)
                .and_then(|_| zip.write_all(&bytes).map_err(Into::into))
                .map_err(|e| Error::Invalid(format!("writing {name} into the archive: {e}")))?;
        }
        let cursor = zip
            .finish()
            .map_err(|e| Error::Invalid(format!("finishing the archive: {e}")))?;
        Ok(cursor.into_inner())
    }

    /// Writes the archive atomically.
    pub fn write_npz(&self, path: &Path) -> Result<()> {
        let bytes = self
            .to_npz()
            .map_err(|e| Error::format(path, e.to_string()))?;
        crate::fsutil::atomic_write(path, &bytes)
    }

    /// Reads a CSR `.npz` written by us or by `scipy.sparse.save_npz`.
    pub fn read_npz(path: &Path) -> Result<CsrMatrix> {
        let bytes = crate::fsutil::read(path)?;
        let bad = |reason: String| Error::format(path, reason);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| bad(format!("not a .npz (zip) archive: {e}")))?;
        let mut member = |name: &str| -> Result<Vec<u8>> {
            let mut file = archive.by_name(name).map_err(|_| {
                bad(format!(
                    "no {name} in the archive: expected a scipy sparse matrix (scipy.sparse.save_npz)"
                ))
            })?;
            // a member's declared size is untrusted: read at most what the budget allows
            let budget = crate::limits::memory_budget();
            let mut out = Vec::new();
            (&mut file)
                .take(budget)
                .read_to_end(&mut out)
                .map_err(|e| bad(format!("{name}: {e}")))?;
            Ok(out)
        };
        let format = member("format.npy")?;
        if !format.windows(3).any(|w| w == b"csr") && !contains_utf32(&format, "csr") {
            return Err(bad(
                "only CSR matrices are read (format.npy is not 'csr'); convert with .tocsr()"
                    .into(),
            ));
        }
        let array = |name: &str, bytes: Vec<u8>| -> Result<Vec<f64>> {
            let a = npy::parse(&path.join(name), &bytes)?;
            Ok(npy::values_f64(&a))
        };
        let shape = array("shape.npy", member("shape.npy")?)?;
        let [rows, cols] = shape[..] else {
            return Err(bad(format!("shape.npy has {} entries, not 2", shape.len())));
        };
        let data: Vec<f32> = array("data.npy", member("data.npy")?)?
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let as_index = |v: f64, what: &str| -> Result<usize> {
            if v >= 0.0 && v.fract() == 0.0 && v < 1e15 {
                Ok(v as usize)
            } else {
                Err(bad(format!("{what} holds {v}, not an index")))
            }
        };
        let indices = array("indices.npy", member("indices.npy")?)?
            .into_iter()
            .map(|v| as_index(v, "indices.npy").map(|i| i.min(u32::MAX as usize) as u32))
            .collect::<Result<Vec<u32>>>()?;
        let indptr = array("indptr.npy", member("indptr.npy")?)?
            .into_iter()
            .map(|v| as_index(v, "indptr.npy"))
            .collect::<Result<Vec<usize>>>()?;
        let (rows, cols) = (as_index(rows, "shape.npy")?, as_index(cols, "shape.npy")?);
        if cols > u32::MAX as usize {
            return Err(bad(format!(
                "{cols} columns: at most {} are read",
                u32::MAX
            )));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("non-finite value (stored entry {})", i + 1)));
        }
        CsrMatrix::new(rows, cols, indptr, indices, data).map_err(|e| bad(e.to_string()))
    }
}

/// Whether `bytes` hold `text` as UTF-32LE (numpy's `<U` strings).
fn contains_utf32(bytes: &[u8], text: &str) -> bool {
    let wide: Vec<u8> = text
        .chars()
        .flat_map(|c| (c as u32).to_le_bytes())
        .collect();
    bytes.windows(wide.len()).any(|w| w == wide.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_matches_dense() {
        let dense = Matrix::from_vec(3, 4, vec![0., 2., 0., 1., 0., 0., 0., 0., 5., 0., 0.5, 0.]);
        let csr = CsrMatrix::from_dense(&dense);
        assert_eq!(csr.nnz(), 4);
        assert_eq!(csr.row(0), (&[1u32, 3][..], &[2.0f32, 1.0][..]));
        assert_eq!(csr.to_dense(), dense);
        let dir = std::env::temp_dir().join(format!("ae-sparse-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("m.npz");
        csr.write_npz(&p).unwrap();
        assert_eq!(CsrMatrix::read_npz(&p).unwrap(), csr);
        std::fs::write(dir.join("bad.npz"), b"not a zip").unwrap();
        let e = CsrMatrix::read_npz(&dir.join("bad.npz"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.npz") && e.contains("zip"), "{e}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn invariants_are_checked() {
        assert!(CsrMatrix::new(1, 2, vec![0, 1], vec![2], vec![1.0]).is_err());
        assert!(CsrMatrix::new(2, 2, vec![0, 1], vec![0], vec![1.0]).is_err());
        assert!(CsrMatrix::new(2, 2, vec![0, 2, 1], vec![0, 1], vec![1.0, 1.0]).is_err());
        assert!(CsrMatrix::new(2, 2, vec![0, 1, 2], vec![0, 1], vec![1.0, 1.0]).is_ok());
    }

    /// A file written by `scipy.sparse.save_npz` (compressed, int32 indices, float64 values):
    /// `sp.csr_matrix(np.array([[0, 1.5, 0], [0, 0, 0], [2, 0, -3]]))`.
    #[test]
    fn reads_scipys_file() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scipy_csr.npz");
        let m = CsrMatrix::read_npz(&p).unwrap();
        assert_eq!(
            m.to_dense(),
            Matrix::from_vec(3, 3, vec![0., 1.5, 0., 0., 0., 0., 2., 0., -3.])
        );
    }
}
