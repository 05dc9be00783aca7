//! Data readers and writers: IDX (MNIST), NPY and CSV. Every error names the file.

pub mod csv;
pub mod idx;
pub mod npy;

use crate::error::{Error, Result};
use crate::linalg::Matrix;
use std::path::Path;

/// Examples (one per row) with optional integer labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Features, one example per row.
    pub features: Matrix,
    /// One label per example, when known.
    pub labels: Option<Vec<i64>>,
}

/// Loads features from `path`, by extension: `.idx`/`-ubyte` (optionally `.gz`), `.npy`, `.csv`.
/// Labels come from a sibling file when present: for IDX images `…-images…` → `…-labels…`, for
/// `X.npy` the 1-D integer array `X.labels.npy`; for CSV from `label_column`.
/// Rejects empty data and non-finite values.
pub fn load(path: &Path, label_column: Option<csv::LabelColumn>) -> Result<Dataset> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let stem = name.trim_end_matches(".gz");
    let data = if stem.ends_with(".npy") {
        let features = npy::read_matrix(path)?;
        let labels = npy_sibling_labels(path)
            .filter(|p| p.exists())
            .map(|p| {
                let labels = npy::read_labels(&p)?;
                if labels.len() != features.rows() {
                    return Err(Error::format(
                        &p,
                        format!(
                            "{} labels but {} has {} rows",
                            labels.len(),
                            path.display(),
                            features.rows()
                        ),
                    ));
                }
                Ok(labels)
            })
            .transpose()?;
        Dataset { features, labels }
    } else if stem.ends_with(".csv") {
        csv::read(path, label_column)?
    } else if stem.contains("idx") || stem.ends_with("ubyte") {
        let features = idx::read_images(path)?;
        let labels = idx::sibling_labels(path)
            .filter(|p| p.exists())
            .map(|p| idx::read_labels(&p))
            .transpose()?;
        if let Some(l) = &labels {
            if l.len() != features.rows() {
                return Err(Error::format(
                    path,
                    format!("{} images but {} labels", features.rows(), l.len()),
                ));
            }
        }
        Dataset { features, labels }
    } else {
        return Err(Error::format(
            path,
            "unknown file type (expected .idx[.gz], *-ubyte[.gz], .npy or .csv)",
        ));
    };
    if data.features.rows() == 0 || data.features.cols() == 0 {
        return Err(Error::format(path, "no data"));
    }
    if let Some(i) = data.features.as_slice().iter().position(|v| !v.is_finite()) {
        let cols = data.features.cols();
        return Err(Error::format(
            path,
            format!("non-finite value at row {}, column {}", i / cols, i % cols),
        ));
    }
    Ok(data)
}

/// `dir/X.npy` → `dir/X.labels.npy` (case kept); `None` when the name does not end in `.npy`.
pub fn npy_sibling_labels(path: &Path) -> Option<std::path::PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.get(..name.len().checked_sub(4)?)?;
    name[stem.len()..]
        .eq_ignore_ascii_case(".npy")
        .then(|| path.with_file_name(format!("{stem}.labels.npy")))
}

/// Writes a matrix as `.npy` or `.csv`, chosen by `path`'s extension, atomically.
pub fn save_matrix(path: &Path, m: &Matrix) -> Result<()> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let bytes = match ext.as_str() {
        "npy" => npy::encode_f32(m),
        "csv" => csv::encode(m),
        _ => return Err(Error::format(path, "output must end in .npy or .csv")),
    };
    crate::fsutil::atomic_write(path, &bytes)
}
