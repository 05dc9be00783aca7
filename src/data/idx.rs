//! IDX files (the MNIST format), raw or gzipped: big-endian u32 magic `0x0000_08NN` (`NN` = number
//! of dimensions), one big-endian u32 per dimension, then u8 entries.

use crate::error::{Error, Result};
use crate::linalg::Matrix;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Reads a file, gunzipping when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    gunzip_if_gzipped(path, crate::fsutil::read(path)?)
}

/// Gunzips `raw` when it starts with the gzip magic; `path` is used in errors only.
pub fn gunzip_if_gzipped(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("damaged gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses an IDX u8 array: returns its dimensions and entries.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<(Vec<usize>, Vec<u8>)> {
    if bytes.len() < 4 {
        return Err(Error::format(path, "truncated IDX header"));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(Error::format(path, "wrong IDX magic (not an IDX file)"));
    }
    if bytes[2] != 0x08 {
        return Err(Error::format(
            path,
            format!("IDX element type 0x{:02x} is not u8", bytes[2]),
        ));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 || bytes.len() < 4 + 4 * ndim {
        return Err(Error::format(path, "truncated IDX header"));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let count = dims.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
    let body = &bytes[4 + 4 * ndim..];
    match count {
        Some(c) if c == body.len() => Ok((dims, body.to_vec())),
        Some(c) if c > body.len() => Err(Error::format(
            path,
            format!(
                "truncated IDX data: header promises {c} bytes, file has {}",
                body.len()
            ),
        )),
        Some(c) => Err(Error::format(
            path,
            format!("IDX has {} bytes after the expected {c}", body.len() - c),
        )),
        None => Err(Error::format(path, "IDX dimensions overflow")),
    }
}

/// Reads images (`n × d1 × d2 …`) as an `n × (d1·d2·…)` matrix scaled to [0, 1].
pub fn read_images(path: &Path) -> Result<Matrix> {
    let bytes = read_maybe_gz(path)?;
    let (dims, data) = parse(path, &bytes)?;
    if dims.len() < 2 {
        return Err(Error::format(
            path,
            "expected an image file (at least 2 dimensions), found labels",
        ));
    }
    // With zero images the header's other dimensions were never multiplied out above.
    let cols = dims[1..]
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        .ok_or_else(|| Error::format(path, "IDX dimensions overflow"))?;
    Ok(Matrix::from_vec(
        dims[0],
        cols,
        data.iter().map(|&b| b as f32 / 255.0).collect(),
    ))
}

/// Reads a 1-D labels file.
pub fn read_labels(path: &Path) -> Result<Vec<i64>> {
    let bytes = read_maybe_gz(path)?;
    let (dims, data) = parse(path, &bytes)?;
    if dims.len() != 1 {
        return Err(Error::format(path, "expected a 1-D labels file"));
    }
    Ok(data.iter().map(|&b| b as i64).collect())
}

/// `train-images-idx3-ubyte.gz` → `train-labels-idx1-ubyte.gz` (also `images.idx3` styles).
pub fn sibling_labels(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_string_lossy().to_string();
    if !name.contains("images") {
        return None;
    }
    let label_name = name.replace("images", "labels").replace("idx3", "idx1");
    Some(path.with_file_name(label_name))
}

/// Encodes a u8 array as IDX (used by tests and to ship data subsets).
pub fn encode(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend((*d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
