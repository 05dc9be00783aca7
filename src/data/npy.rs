//! NumPy `.npy` files (format versions 1–3, little-endian, C order).

use crate::error::{Error, Result};
use crate::linalg::Matrix;
use std::path::{Path, PathBuf};

/// Element types we read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `<f4`
    F32,
    /// `<f8`
    F64,
    /// `|u1`
    U8,
    /// `<i8`
    I64,
    /// `<i4`
    I32,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::U8 => 1,
        }
    }
}

/// A parsed array: dtype, shape, raw little-endian entries.
#[derive(Clone, Debug)]
pub struct Array {
    /// Element type.
    pub dtype: Dtype,
    /// Shape (C order).
    pub shape: Vec<usize>,
    /// Entries as bytes.
    pub data: Vec<u8>,
}

fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    Some(rest)
}

/// What an `.npy` header says: element type, shape, and where the entries start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Element type.
    pub dtype: Dtype,
    /// Shape (C order).
    pub shape: Vec<usize>,
    /// Byte offset of the first entry.
    pub data_offset: usize,
    /// Byte length of all entries (`product(shape) × size(dtype)`).
    pub data_len: usize,
}

impl Header {
    /// Bytes per entry.
    pub fn entry_size(&self) -> usize {
        self.dtype.size()
    }
}

/// Parses the header at the start of `bytes` (which need not hold the entries).
pub fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(Error::format(path, "not an .npy file (bad magic)"));
    }
    let major = bytes[6];
    let (header_len, offset) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(Error::format(path, "truncated .npy header"));
            }
            (
                u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
                12,
            )
        }
        v => return Err(Error::format(path, format!("unsupported .npy version {v}"))),
    };
    let end = offset
        .checked_add(header_len)
        .filter(|e| *e <= bytes.len())
        .ok_or_else(|| Error::format(path, "truncated .npy header"))?;
    let header = std::str::from_utf8(&bytes[offset..end])
        .map_err(|_| Error::format(path, "non-UTF-8 .npy header"))?;
    let descr =
        header_value(header, "descr").ok_or_else(|| Error::format(path, "header has no descr"))?;
    let dtype = if descr.starts_with("'<f4'") {
        Dtype::F32
    } else if descr.starts_with("'<f8'") {
        Dtype::F64
    } else if descr.starts_with("'|u1'") || descr.starts_with("'<u1'") {
        Dtype::U8
    } else if descr.starts_with("'<i8'") {
        Dtype::I64
    } else if descr.starts_with("'<i4'") {
        Dtype::I32
    } else {
        let d: String = descr.chars().take(8).collect();
        return Err(Error::format(
            path,
            format!("unsupported dtype {d} (need <f4, <f8, |u1, <i4 or <i8)"),
        ));
    };
    let fortran = header_value(header, "fortran_order")
        .ok_or_else(|| Error::format(path, "header has no fortran_order"))?;
    if fortran.starts_with("True") {
        return Err(Error::format(
            path,
            "Fortran-order arrays are not supported; save with C order",
        ));
    }
    let shape_str =
        header_value(header, "shape").ok_or_else(|| Error::format(path, "header has no shape"))?;
    let inner = shape_str
        .strip_prefix('(')
        .and_then(|rest| rest.find(')').map(|close| &rest[..close]))
        .ok_or_else(|| Error::format(path, "malformed shape (expected a tuple)"))?;
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| Error::format(path, format!("malformed shape entry {s:?}")))
        })
        .collect::<Result<_>>()?;
    let data_len = shape
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        .and_then(|c| c.checked_mul(dtype.size()))
        .ok_or_else(|| Error::format(path, "shape overflows"))?;
    Ok(Header {
        dtype,
        shape,
        data_offset: end,
        data_len,
    })
}

/// Parses `.npy` bytes.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Array> {
    let h = parse_header(path, bytes)?;
    let body = &bytes[h.data_offset..];
    if body.len() != h.data_len {
        return Err(Error::format(
            path,
            format!(
                "expected {} data bytes for shape {:?}, found {}",
                h.data_len,
                h.shape,
                body.len()
            ),
        ));
    }
    Ok(Array {
        dtype: h.dtype,
        shape: h.shape,
        data: body.to_vec(),
    })
}

/// Little-endian entries of `dtype` as `f32`, into `out` (`bytes.len() / size` entries).
pub fn convert_to_f32(dtype: Dtype, bytes: &[u8], out: &mut [f32]) {
    match dtype {
        Dtype::F32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes(c.try_into().unwrap());
            }
        }
        Dtype::F64 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                *o = f64::from_le_bytes(c.try_into().unwrap()) as f32;
            }
        }
        Dtype::U8 => {
            for (o, b) in out.iter_mut().zip(bytes) {
                *o = *b as f32;
            }
        }
        Dtype::I64 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                *o = i64::from_le_bytes(c.try_into().unwrap()) as f64 as f32;
            }
        }
        Dtype::I32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = i32::from_le_bytes(c.try_into().unwrap()) as f64 as f32;
            }
        }
    }
}

/// The entries of any numeric array as `f64` (integers up to 2⁵³ exactly).
pub fn values_f64(a: &Array) -> Vec<f64> {
    match a.dtype {
        Dtype::F32 => a
            .data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        Dtype::F64 => a
            .data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        Dtype::U8 => a.data.iter().map(|&b| b as f64).collect(),
        Dtype::I64 => a
            .data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
        Dtype::I32 => a
            .data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f64)
            .collect(),
    }
}

/// `(rows, cols)` of a 1-D (one column) or 2-D array's `shape`; other ranks are an error
/// naming `path`.
pub(crate) fn matrix_shape(path: &Path, shape: &[usize]) -> Result<(usize, usize)> {
    match shape {
        [n] => Ok((*n, 1)),
        [n, d] => Ok((*n, *d)),
        // images (n, H, W) or (n, C, H, W): one flattened image a row
        [n, rest @ ..] if rest.len() <= 3 => rest
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .map(|d| (*n, d))
            .ok_or_else(|| Error::format(path, "array dimensions overflow")),
        s => Err(Error::format(
            path,
            format!("expected a 1-D to 4-D array, found shape {s:?}"),
        )),
    }
}

/// Reads a 1-D to 4-D array as a matrix (1-D → one column; images `(n, H, W)` and
/// `(n, C, H, W)` → one flattened image a row). u8 stays 0–255: scale yourself.
pub fn read_matrix(path: &Path) -> Result<Matrix> {
    let a = parse(path, &crate::fsutil::read(path)?)?;
    let (rows, cols) = matrix_shape(path, &a.shape)?;
    Ok(Matrix::from_vec(
        rows,
        cols,
        values_f64(&a).into_iter().map(|v| v as f32).collect(),
    ))
}

/// `dir/X.npy` → `dir/X.labels.npy` (case kept); `None` when the name does not end in `.npy`.
pub fn sibling_labels(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.get(..name.len().checked_sub(4)?)?;
    name[stem.len()..]
        .eq_ignore_ascii_case(".npy")
        .then(|| path.with_file_name(format!("{stem}.labels.npy")))
}

/// Reads a 1-D integer (or integral float) label array.
pub fn read_labels(path: &Path) -> Result<Vec<i64>> {
    let a = parse(path, &crate::fsutil::read(path)?)?;
    if a.shape.len() != 1 {
        return Err(Error::format(
            path,
            format!("labels must be 1-D, found shape {:?}", a.shape),
        ));
    }
    values_f64(&a)
        .into_iter()
        .map(|v| {
            if v.fract() == 0.0 && v.is_finite() {
                Ok(v as i64)
            } else {
                Err(Error::format(path, format!("label {v} is not an integer")))
            }
        })
        .collect()
}

fn encode(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_txt = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Any array as `.npy` bytes: `descr` (numpy's type string) and C-order little-endian `data`.
pub fn encode_raw(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    encode(descr, shape, data)
}

/// A matrix as `<f4` `.npy` bytes.
pub fn encode_f32(m: &Matrix) -> Vec<u8> {
    let data: Vec<u8> = m.as_slice().iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<f4", &[m.rows(), m.cols()], &data)
}

/// An f32 array of any shape (C order) as `<f4` `.npy` bytes.
pub fn encode_f32_shape(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<f4", shape, &data)
}

/// Reads a float array of any shape as `f32` values and its shape (C order).
pub fn read_f32_array(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let a = parse(path, &crate::fsutil::read(path)?)?;
    let values = values_f64(&a).into_iter().map(|v| v as f32).collect();
    Ok((a.shape, values))
}

/// A u8 array as `|u1` `.npy` bytes.
pub fn encode_u8(shape: &[usize], data: &[u8]) -> Vec<u8> {
    encode("|u1", shape, data)
}

/// Integer labels as `<i8` `.npy` bytes.
pub fn encode_i64(values: &[i64]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<i8", &[values.len()], &data)
}

/// An i64 array of any shape (C order) as `<i8` `.npy` bytes.
pub fn encode_i64_shape(shape: &[usize], values: &[i64]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<i8", shape, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_f32_and_reject_damage() {
        let m = Matrix::from_vec(2, 3, vec![1.0, 2.0, 3.5, -4.0, 5.0, 6.0]);
        let bytes = encode_f32(&m);
        assert_eq!((bytes.len() - m.as_slice().len() * 4) % 64, 0);
        let a = parse(Path::new("x.npy"), &bytes).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(values_f64(&a), vec![1.0, 2.0, 3.5, -4.0, 5.0, 6.0]);
        let err = parse(Path::new("x.npy"), &bytes[..bytes.len() - 1])
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.npy") && err.contains("data bytes"), "{err}");
        let e = parse(Path::new("x.npy"), b"hello world")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad magic"), "{e}");
    }

    #[test]
    fn fuzzer_found_shape_without_tuple_is_an_error() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape':)(1, 3), }";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        let err = parse(Path::new("f.npy"), &bytes).unwrap_err().to_string();
        assert!(err.contains("malformed shape"), "{err}");
    }
}
