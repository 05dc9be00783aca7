//! Rows read on demand. The training loop gathers each minibatch from a [`Rows`], so a data
//! set need not sit in memory as one dense matrix:
//!
//! - [`Matrix`]: rows already in memory;
//! - [`NpyFile`]: a `.npy` file on disk, read row by row as batches ask for them (data larger
//!   than memory);
//! - [`CsrMatrix`]: a sparse corpus, densified one batch at a time (a 20 Newsgroups
//!   vocabulary of 10,000 words is 450 MB dense, 12 MB sparse);
//! - [`SliceRows`]: a borrowed row-major buffer (numpy's, from Python, without a copy);
//! - [`Concat`] of several sources, [`Subset`] of one (a validation split by index),
//!   [`Transformed`] (a fitted input transform applied to each gathered row).
//!
//! Why positional reads rather than a memory map for files: a mapping of a file larger than
//! memory counts whole against `ulimit -v` and grows the resident set as it is touched, while
//! `pread` keeps both near a few batches; the page cache still serves a file that fits.

use super::npy::{self, Header};
use super::sparse::CsrMatrix;
use super::transform::InputTransform;
use crate::error::{Error, Result};
use crate::linalg::Matrix;
use std::borrow::Cow;
use std::fs::File;
use std::path::{Path, PathBuf};

/// A data set whose rows can be copied out by index.
///
/// Invariant: every row has [`Rows::cols`] entries and [`Rows::gather`] of the same indices
/// writes the same values every call.
pub trait Rows: Sync {
    /// Number of rows.
    fn rows(&self) -> usize;
    /// Entries per row.
    fn cols(&self) -> usize;
    /// Copies rows `indices`, in that order, into `out` (`indices.len() × cols`, row-major).
    /// An index past the end, a read failure or a non-finite entry is an error.
    fn gather(&self, indices: &[usize], out: &mut [f32]) -> Result<()>;
    /// The rows as one matrix, when they already are one (lets callers skip a copy).
    fn as_matrix(&self) -> Option<&Matrix> {
        None
    }
}

/// Rows `start..end` of `rows` as a matrix.
pub fn read_range(rows: &dyn Rows, start: usize, end: usize) -> Result<Matrix> {
    let indices: Vec<usize> = (start..end).collect();
    let mut m = Matrix::zeros(indices.len(), rows.cols());
    rows.gather(&indices, m.as_mut_slice())?;
    Ok(m)
}

/// All of `rows` as one matrix: borrowed when it is one, else read whole (for the work that
/// needs every row at once, such as a neighbour graph).
pub fn to_matrix(rows: &dyn Rows) -> Result<Cow<'_, Matrix>> {
    match rows.as_matrix() {
        Some(m) => Ok(Cow::Borrowed(m)),
        None => {
            crate::limits::check_floats(
                "data",
                rows.rows() as u128 * rows.cols() as u128,
                "the in-memory copy of streamed rows",
            )?;
            read_range(rows, 0, rows.rows()).map(Cow::Owned)
        }
    }
}

/// Calls `f(start, chunk)` on consecutive chunks of at most `chunk_rows` rows, in order.
pub fn for_each_chunk(
    rows: &dyn Rows,
    chunk_rows: usize,
    mut f: impl FnMut(usize, &Matrix) -> Result<()>,
) -> Result<()> {
    let chunk_rows = chunk_rows.max(1);
    let mut buf = Matrix::zeros(chunk_rows.min(rows.rows()), rows.cols());
    let mut indices = Vec::with_capacity(chunk_rows);
    for start in (0..rows.rows()).step_by(chunk_rows) {
        let end = (start + chunk_rows).min(rows.rows());
        indices.clear();
        indices.extend(start..end);
        buf.resize_rows(end - start);
        rows.gather(&indices, buf.as_mut_slice())?;
        f(start, &buf)?;
    }
    Ok(())
}

fn out_of_range(index: usize, rows: usize) -> Error {
    Error::Shape(format!("row {index} requested from data with {rows} rows"))
}

fn check_out(indices: &[usize], cols: usize, out: &[f32]) -> Result<()> {
    if out.len() != indices.len() * cols {
        return Err(Error::Shape(format!(
            "gather of {} rows of {cols} into a buffer of {} entries",
            indices.len(),
            out.len()
        )));
    }
    Ok(())
}

impl Rows for Matrix {
    fn rows(&self) -> usize {
        Matrix::rows(self)
    }
    fn cols(&self) -> usize {
        Matrix::cols(self)
    }
    fn gather(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        gather_slice(
            self.as_slice(),
            Matrix::rows(self),
            Matrix::cols(self),
            indices,
            out,
        )
    }
    fn as_matrix(&self) -> Option<&Matrix> {
        Some(self)
    }
}

fn gather_slice(
    data: &[f32],
    rows: usize,
    cols: usize,
    indices: &[usize],
    out: &mut [f32],
) -> Result<()> {
    check_out(indices, cols, out)?;
    if cols == 0 {
        return Ok(());
    }
    for (dst, &i) in out.chunks_exact_mut(cols).zip(indices) {
        if i >= rows {
            return Err(out_of_range(i, rows));
        }
        dst.copy_from_slice(&data[i * cols..(i + 1) * cols]);
    }
    Ok(())
}

/// A borrowed row-major buffer of `rows × cols` entries.
#[derive(Clone, Copy, Debug)]
pub struct SliceRows<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> SliceRows<'a> {
    /// `data` as `rows × cols`; its length must be `rows · cols`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(Error::Shape(format!(
                "{} entries cannot be {rows} rows of {cols}",
                data.len()
            )));
        }
        Ok(SliceRows { data, rows, cols })
    }

    /// The position of the first non-finite entry, as (row, column).
    pub fn first_non_finite(&self) -> Option<(usize, usize)> {
        let i = self.data.iter().position(|v| !v.is_finite())?;
        Some((i / self.cols.max(1), i % self.cols.max(1)))
    }
}

impl Rows for SliceRows<'_> {
    fn rows(&self) -> usize {
        self.rows
    }
    fn cols(&self) -> usize {
        self.cols
    }
    fn gather(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        gather_slice(self.data, self.rows, self.cols, indices, out)
    }
}

impl Rows for CsrMatrix {
    fn rows(&self) -> usize {
        CsrMatrix::rows(self)
    }
    fn cols(&self) -> usize {
        CsrMatrix::cols(self)
    }
    fn gather(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        let cols = CsrMatrix::cols(self);
        check_out(indices, cols, out)?;
        if cols == 0 {
            return Ok(());
        }
        for (dst, &i) in out.chunks_exact_mut(cols).zip(indices) {
            if i >= CsrMatrix::rows(self) {
                return Err(out_of_range(i, CsrMatrix::rows(self)));
            }
            dst.fill(0.0);
            let (idx, val) = self.row(i);
            for (&j, &v) in idx.iter().zip(val) {
                dst[j as usize] = v;
            }
        }
        Ok(())
    }
}

/// A 1-D or 2-D `.npy` file read from disk as rows are asked for; any dtype `.npy` reading
/// accepts, converted to `f32` as [`npy::read_matrix`] converts it (so the values are the same
/// as loading it whole).
#[derive(Debug)]
pub struct NpyFile {
    path: PathBuf,
    file: File,
    header: Header,
    rows: usize,
    cols: usize,
}

/// Rows read by one `pread` at most (bounds the staging buffer).
const MAX_RUN_ROWS: usize = 1024;

impl NpyFile {
    /// Opens `path` and checks its header and length; reads no entries.
    pub fn open(path: &Path) -> Result<NpyFile> {
        let io = |e: std::io::Error| Error::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        // the header is a few hundred bytes; numpy pads it to a multiple of 64
        let mut prefix = vec![0u8; len.min(1 << 16) as usize];
        read_at(&file, &mut prefix, 0).map_err(io)?;
        let header = npy::parse_header(path, &prefix)?;
        let (rows, cols) = npy::matrix_shape(path, &header.shape)?;
        let body = len.saturating_sub(header.data_offset as u64);
        if body != header.data_len as u64 {
            return Err(Error::format(
                path,
                format!(
                    "expected {} data bytes for shape {:?}, found {body}",
                    header.data_len, header.shape
                ),
            ));
        }
        Ok(NpyFile {
            path: path.to_path_buf(),
            file,
            header,
            rows,
            cols,
        })
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Rows for NpyFile {
    fn rows(&self) -> usize {
        self.rows
    }
    fn cols(&self) -> usize {
        self.cols
    }
    fn gather(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        check_out(indices, self.cols, out)?;
        if self.cols == 0 {
            return Ok(());
        }
        let row_bytes = self.cols * self.header.entry_size();
        let mut bytes = Vec::new();
        let mut k = 0;
        while k < indices.len() {
            // a run of consecutive rows is one read (validation and chunked passes are runs)
            let first = indices[k];
            let mut run = 1;
            while k + run < indices.len() && run < MAX_RUN_ROWS && indices[k + run] == first + run {
                run += 1;
            }
            if first + run > self.rows {
                return Err(out_of_range(first + run - 1, self.rows));
            }
            bytes.resize(run * row_bytes, 0);
            let offset = self.header.data_offset as u64 + (first * row_bytes) as u64;
            read_at(&self.file, &mut bytes, offset).map_err(|e| Error::Io {
                path: self.path.clone(),
                source: e,
            })?;
            let dst = &mut out[k * self.cols..(k + run) * self.cols];
            npy::convert_to_f32(self.header.dtype, &bytes, dst);
            if let Some(p) = dst.iter().position(|v| !v.is_finite()) {
                return Err(non_finite(&self.path, first + p / self.cols, p % self.cols));
            }
            k += run;
        }
        Ok(())
    }
}

/// The error for a non-finite entry at (`row`, `col`), counted from 0.
pub fn non_finite(path: &Path, row: usize, col: usize) -> Error {
    Error::format(
        path,
        format!(
            "non-finite value in example {}, feature {} (both counted from 1)",
            row + 1,
            col + 1
        ),
    )
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

impl<R: Rows + ?Sized> Rows for Box<R> {
    fn rows(&self) -> usize {
        (**self).rows()
    }
    fn cols(&self) -> usize {
        (**self).cols()
    }
    fn gather(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        (**self).gather(indices, out)
    }
    fn as_matrix(&self) -> Option<&Matrix> {
        (**self).as_matrix()
    }
}

/// Several sources of the same width, one after another.
pub struct Concat {
    parts: Vec<Box<dyn Rows + Send>>,
    /// `starts[i]`: the first row of part `i`; `starts[parts.len()]` = total rows.
    starts: Vec<usize>,
    cols: usize,
}

impl Concat {
    /// The rows of `parts` in order; all must have the same width.
    pub fn new(parts: Vec<Box<dyn Rows + Send>>) -> Result<Concat> {
        let cols = parts.first().map_or(0, |p| p.cols());
        let mut starts = vec![0usize];
        for (i, p) in parts.iter().enumerate() {
            if p.cols() != cols {
                return Err(Error::Shape(format!(
                    "part {} has {} columns, part 1 has {cols}",
                    i + 1,
                    p.cols()
                )));
            }
            starts.push(starts[i] + p.rows());
        }
        Ok(Concat {
            parts,
            starts,
            cols,
        })
    }
}

impl Rows for Concat {
    fn rows(&self) -> usize {
        *self.starts.last().unwrap_or(&0)
    }
    fn cols(&self) -> usize {
        self.cols
    }
    fn gather(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        check_out(indices, self.cols, out)?;
        let total = self.rows();
        let mut local = Vec::new();
        let mut k = 0;
        while k < indices.len() {
            if indices[k] >= total {
                return Err(out_of_range(indices[k], total));
            }
            // the part holding indices[k], then every following index in the same part
            let part = self.starts.partition_point(|&s| s <= indices[k]) - 1;
            let (lo, hi) = (self.starts[part], self.starts[part + 1]);
            local.clear();
            while k + local.len() < indices.len() {
                let i = indices[k + local.len()];
                if i < lo || i >= hi {
                    break;
                }
                local.push(i - lo);
            }
            let dst = &mut out[k * self.cols..(k + local.len()) * self.cols];
            self.parts[part].gather(&local, dst)?;
            k += local.len();
        }
        Ok(())
    }
}

/// Rows `indices` of `source`, in that order.
pub struct Subset<'a> {
    source: &'a dyn Rows,
    indices: Vec<usize>,
}

impl<'a> Subset<'a> {
    /// The rows of `source` at `indices`; each must be a row of `source`.
    pub fn new(source: &'a dyn Rows, indices: Vec<usize>) -> Result<Subset<'a>> {
        if let Some(&i) = indices.iter().find(|&&i| i >= source.rows()) {
            return Err(out_of_range(i, source.rows()));
        }
        Ok(Subset { source, indices })
    }
}

impl Rows for Subset<'_> {
    fn rows(&self) -> usize {
        self.indices.len()
    }
    fn cols(&self) -> usize {
        self.source.cols()
    }
    fn gather(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        let mapped = indices
            .iter()
            .map(|&i| {
                self.indices
                    .get(i)
                    .copied()
                    .ok_or_else(|| out_of_range(i, self.indices.len()))
            })
            .collect::<Result<Vec<usize>>>()?;
        self.source.gather(&mapped, out)
    }
}

/// `source` with a fitted input transform applied to each row it hands out.
pub struct Transformed<R> {
    source: R,
    transform: InputTransform,
}

impl<R: Rows> Transformed<R> {
    /// `transform` must fit `source`'s width.
    pub fn new(source: R, transform: InputTransform) -> Result<Transformed<R>> {
        transform.check_width(source.cols())?;
        Ok(Transformed { source, transform })
    }
}

impl<R: Rows> Rows for Transformed<R> {
    fn rows(&self) -> usize {
        self.source.rows()
    }
    fn cols(&self) -> usize {
        self.source.cols()
    }
    fn gather(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        self.source.gather(indices, out)?;
        if self.cols() > 0 {
            for row in out.chunks_exact_mut(self.cols()) {
                self.transform.apply_row(row);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(what: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ae-rows-{what}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn sample() -> Matrix {
        Matrix::from_fn(7, 3, |i, j| (i * 3 + j) as f32 * 0.5 - 2.0)
    }

    fn gather_all(r: &dyn Rows, idx: &[usize]) -> Vec<f32> {
        let mut out = vec![0.0; idx.len() * r.cols()];
        r.gather(idx, &mut out).unwrap();
        out
    }

    #[test]
    fn every_source_gathers_the_same_rows_as_the_matrix() {
        let m = sample();
        let dir = scratch("gather");
        let path = dir.join("x.npy");
        std::fs::write(&path, npy::encode_f32(&m)).unwrap();
        let file = NpyFile::open(&path).unwrap();
        let csr = CsrMatrix::from_dense(&m);
        let slice = SliceRows::new(m.as_slice(), 7, 3).unwrap();
        let split = Concat::new(vec![
            Box::new(m.slice_rows(0, 2)),
            Box::new(m.slice_rows(2, 3)),
            Box::new(m.slice_rows(3, 7)),
        ])
        .unwrap();
        let idx = [6, 0, 1, 2, 3, 5, 4, 4, 2];
        let want = gather_all(&m, &idx);
        assert_eq!(want, m.select_rows(&idx).into_vec());
        for r in [&file as &dyn Rows, &csr, &slice, &split] {
            assert_eq!((r.rows(), r.cols()), (7, 3));
            assert_eq!(gather_all(r, &idx), want);
            let mut out = vec![0.0; 3];
            let e = r.gather(&[7], &mut out).unwrap_err().to_string();
            assert!(e.contains("row 7"), "{e}");
        }
        let sub = Subset::new(&file, vec![5, 1, 3]).unwrap();
        assert_eq!(gather_all(&sub, &[2, 0]), m.select_rows(&[3, 5]).into_vec());
        assert!(Subset::new(&file, vec![7]).is_err());
        assert_eq!(to_matrix(&file).unwrap().into_owned(), m);
        let mut starts = Vec::new();
        for_each_chunk(&file, 3, |s, c| {
            assert_eq!(c.as_slice(), m.slice_rows(s, (s + 3).min(7)).as_slice());
            starts.push(s);
            Ok(())
        })
        .unwrap();
        assert_eq!(starts, [0, 3, 6]);
    }

    #[test]
    fn npy_file_converts_like_read_matrix_and_names_bad_entries() {
        let dir = scratch("convert");
        let path = dir.join("u8.npy");
        std::fs::write(&path, npy::encode_u8(&[2, 2], &[0, 7, 255, 3])).unwrap();
        let f = NpyFile::open(&path).unwrap();
        assert_eq!(
            read_range(&f, 0, 2).unwrap(),
            npy::read_matrix(&path).unwrap()
        );
        let nan = dir.join("nan.npy");
        let m = Matrix::from_vec(2, 2, vec![1.0, 2.0, 3.0, f32::NAN]);
        std::fs::write(&nan, npy::encode_f32(&m)).unwrap();
        let f = NpyFile::open(&nan).unwrap();
        let mut out = vec![0.0; 2];
        f.gather(&[0], &mut out).unwrap();
        let e = f.gather(&[1], &mut out).unwrap_err().to_string();
        assert!(
            e.contains("nan.npy") && e.contains("example 2, feature 2"),
            "{e}"
        );
        let short = dir.join("short.npy");
        let bytes = npy::encode_f32(&sample());
        std::fs::write(&short, &bytes[..bytes.len() - 4]).unwrap();
        let e = NpyFile::open(&short).unwrap_err().to_string();
        assert!(e.contains("short.npy") && e.contains("data bytes"), "{e}");
        // images (n, H, W) and (n, C, H, W) are rows of C·H·W values; 5-D is not data
        let three = dir.join("3d.npy");
        std::fs::write(&three, npy::encode_f32_shape(&[1, 2, 2], &[0.0; 4])).unwrap();
        assert_eq!(NpyFile::open(&three).unwrap().cols(), 4);
        let five = dir.join("5d.npy");
        std::fs::write(&five, npy::encode_f32_shape(&[1, 1, 1, 2, 2], &[0.0; 4])).unwrap();
        let e = NpyFile::open(&five).unwrap_err().to_string();
        assert!(e.contains("1-D to 4-D"), "{e}");
    }

    #[test]
    fn transformed_rows_equal_the_transformed_matrix() {
        let counts = Matrix::from_fn(5, 4, |i, j| ((i * 7 + j * 3) % 4) as f32);
        let t =
            InputTransform::fit(super::super::transform::TransformKind::Tfidf, &counts).unwrap();
        assert_eq!(
            InputTransform::fit_rows(
                super::super::transform::TransformKind::Tfidf,
                &CsrMatrix::from_dense(&counts)
            )
            .unwrap(),
            t
        );
        let mut want = counts.clone();
        t.apply(&mut want).unwrap();
        let rows = Transformed::new(counts, t.clone()).unwrap();
        assert_eq!(read_range(&rows, 0, 5).unwrap(), want);
        assert!(Transformed::new(Matrix::zeros(2, 3), t).is_err());
    }

    #[test]
    fn concat_refuses_mixed_widths() {
        let e = Concat::new(vec![
            Box::new(Matrix::zeros(2, 3)),
            Box::new(Matrix::zeros(2, 4)),
        ])
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("part 2 has 4 columns"), "{e}");
    }
}
