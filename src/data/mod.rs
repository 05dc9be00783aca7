//! Data readers and writers: IDX (MNIST), NPY and CSV. Every error names the file.

pub mod csv;
pub mod idx;
pub mod npy;
pub mod rows;
pub mod safetensors;
pub mod sparse;
pub mod text;
pub mod toy;
pub mod transform;

use crate::error::{Error, Result};
use crate::linalg::Matrix;
use std::path::{Path, PathBuf};

/// Examples (one per row) with optional integer labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Features, one example per row.
    pub features: Matrix,
    /// One label per example, when known.
    pub labels: Option<Vec<i64>>,
}

/// Loads features from `path`, by extension: `.idx`/`-ubyte` (optionally `.gz`), `.npy`, `.csv`,
/// or a scipy CSR `.npz` (densified: `X.npz`'s labels are `X.labels.npy`).
/// Labels come from a sibling file when present: for IDX images `…-images…` → `…-labels…`, for
/// `X.npy` the 1-D integer array `X.labels.npy`; for CSV from `label_column`.
/// Rejects empty data and non-finite values.
pub fn load(path: &Path, label_column: Option<csv::LabelColumn>) -> Result<Dataset> {
    load_with(path, label_column, true)
}

/// The features of [`load`] without reading a sibling labels file, for work that never uses
/// labels (a missing or damaged labels file beside the data is then no concern). A CSV label
/// column is still left out of the features.
pub fn load_features(path: &Path, label_column: Option<csv::LabelColumn>) -> Result<Matrix> {
    Ok(load_with(path, label_column, false)?.features)
}

fn load_with(
    path: &Path,
    label_column: Option<csv::LabelColumn>,
    sibling: bool,
) -> Result<Dataset> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let stem = name.trim_end_matches(".gz");
    let data = if stem.ends_with(".npy") {
        let features = npy::read_matrix(path)?;
        let beside = npy::sibling_labels(path).filter(|_| sibling);
        let labels = sibling_labels(path, beside, features.rows(), npy::read_labels)?;
        Dataset { features, labels }
    } else if stem.ends_with(".npz") {
        let sparse = sparse::CsrMatrix::read_npz(path)?;
        // the model reads dense rows; the corpus is densified once here (bounded by memory)
        crate::limits::check_floats(
            &path.display().to_string(),
            sparse.rows() as u128 * sparse.cols() as u128,
            "the dense copy of this sparse matrix",
        )?;
        let features = sparse.to_dense();
        let beside = npz_labels(path).filter(|_| sibling);
        let labels = sibling_labels(path, beside, features.rows(), npy::read_labels)?;
        Dataset { features, labels }
    } else if stem.ends_with(".csv") {
        csv::read(path, label_column)?
    } else if stem.contains("idx") || stem.ends_with("ubyte") {
        let features = idx::read_images(path)?;
        let beside = idx::sibling_labels(path).filter(|_| sibling);
        let labels = sibling_labels(path, beside, features.rows(), idx::read_labels)?;
        Dataset { features, labels }
    } else {
        return Err(Error::format(
            path,
            "unknown file type (expected .idx[.gz], *-ubyte[.gz], .npy, .npz or .csv)",
        ));
    };
    if data.features.rows() == 0 || data.features.cols() == 0 {
        return Err(Error::format(path, "no data"));
    }
    if let Some(i) = data.features.as_slice().iter().position(|v| !v.is_finite()) {
        let cols = data.features.cols();
        return Err(Error::format(
            path,
            format!(
                "non-finite value in example {}, feature {} (both counted from 1; a CSV label column is not counted)",
                i / cols + 1,
                i % cols + 1
            ),
        ));
    }
    Ok(data)
}

/// `X.npz` → `X.labels.npy` (case kept); `None` for other names.
fn npz_labels(path: &Path) -> Option<PathBuf> {
    let full = path.file_name()?.to_str()?;
    let stem = full.get(..full.len().checked_sub(4)?)?;
    full[stem.len()..]
        .eq_ignore_ascii_case(".npz")
        .then(|| path.with_file_name(format!("{stem}.labels.npy")))
}

/// A scipy CSR `.npz` kept sparse, with its sibling labels (`X.labels.npy`) when present.
/// Rejects empty data and non-finite values.
pub fn load_sparse(path: &Path) -> Result<(sparse::CsrMatrix, Option<Vec<i64>>)> {
    let x = sparse::CsrMatrix::read_npz(path)?;
    if x.rows() == 0 || x.cols() == 0 {
        return Err(Error::format(path, "no data"));
    }
    for r in 0..x.rows() {
        let (idx, val) = x.row(r);
        if let Some(k) = val.iter().position(|v| !v.is_finite()) {
            return Err(rows::non_finite(path, r, idx[k] as usize));
        }
    }
    let labels = sibling_labels(path, npz_labels(path), x.rows(), npy::read_labels)?;
    Ok((x, labels))
}

/// `.npy` files streamed from disk one after another ([`rows::NpyFile`], [`rows::Concat`]),
/// with their sibling labels when every file has them. Reads headers only.
pub fn open_npy_files(paths: &[PathBuf]) -> Result<(rows::Concat, Option<Vec<i64>>)> {
    let mut parts: Vec<Box<dyn rows::Rows + Send>> = Vec::new();
    let mut labels: Option<Vec<i64>> = Some(Vec::new());
    let mut width: Option<(usize, PathBuf)> = None;
    for path in paths {
        let name = path.to_string_lossy().to_lowercase();
        if !name.ends_with(".npy") {
            return Err(Error::format(
                path,
                "streamed data must be .npy files (numpy.save writes them)",
            ));
        }
        let f = rows::NpyFile::open(path)?;
        use rows::Rows as _;
        if f.rows() == 0 || f.cols() == 0 {
            return Err(Error::format(path, "no data"));
        }
        match width {
            Some((w, ref first)) if w != f.cols() => {
                return Err(Error::format(
                    path,
                    format!("{} columns, {} has {w}", f.cols(), first.display()),
                ))
            }
            None => width = Some((f.cols(), path.clone())),
            _ => {}
        }
        let l = sibling_labels(path, npy::sibling_labels(path), f.rows(), npy::read_labels)?;
        labels = match (labels, l) {
            (Some(mut all), Some(l)) => {
                all.extend(l);
                Some(all)
            }
            _ => None,
        };
        parts.push(Box::new(f));
    }
    if parts.is_empty() {
        return Err(Error::Invalid("no data files".into()));
    }
    Ok((rows::Concat::new(parts)?, labels))
}

/// Reads the labels file beside `data` when it exists, one label per row (`rows` of them).
fn sibling_labels(
    data: &Path,
    labels_path: Option<PathBuf>,
    rows: usize,
    read: fn(&Path) -> Result<Vec<i64>>,
) -> Result<Option<Vec<i64>>> {
    let Some(labels_path) = labels_path.filter(|p| p.exists()) else {
        return Ok(None);
    };
    let labels = read(&labels_path)?;
    if labels.len() != rows {
        return Err(Error::format(
            &labels_path,
            format!(
                "{} labels but {} has {} rows",
                labels.len(),
                data.display(),
                rows
            ),
        ));
    }
    Ok(Some(labels))
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

/// The shape `[C, H, W]` of one example of an image file: IDX images `n × H × W` (`C = 1`),
/// `.npy` arrays `(n, H, W)` and `(n, C, H, W)`; `None` for flat data (2-D arrays, CSV, text).
/// Reads only the header where the format allows.
pub fn image_shape(path: &Path) -> Result<Option<[usize; 3]>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let stem = name.trim_end_matches(".gz");
    let dims: Vec<usize> = if stem.ends_with(".npy") {
        use std::io::Read;
        let mut head = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
            .map_err(|e| Error::format(path, e.to_string()))?;
        npy::parse_header(path, &head)?.shape
    } else if stem.contains("idx") || stem.ends_with("ubyte") {
        let bytes = idx::read_maybe_gz(path)?;
        idx::parse(path, &bytes)?.0
    } else {
        return Ok(None);
    };
    Ok(match dims[..] {
        [_, h, w] => Some([1, h, w]),
        [_, c, h, w] => Some([c, h, w]),
        _ => None,
    })
}
