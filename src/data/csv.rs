//! Numeric CSV: comma-separated numbers, an optional header row (detected: a first row that
//! does not parse as numbers), and an optional label column.

use super::Dataset;
use crate::error::{Error, Result};
use crate::linalg::Matrix;
use std::path::Path;

/// Which column holds labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelColumn {
    /// Column index, from 0.
    Index(usize),
    /// The last column.
    Last,
}

impl LabelColumn {
    /// Parses `N` or `last`.
    pub fn parse(s: &str) -> Option<LabelColumn> {
        if s == "last" {
            Some(LabelColumn::Last)
        } else {
            s.parse().ok().map(LabelColumn::Index)
        }
    }
}

/// Reads a numeric CSV file.
pub fn read(path: &Path, label_column: Option<LabelColumn>) -> Result<Dataset> {
    parse(path, &crate::fsutil::read(path)?, label_column)
}

/// Parses numeric CSV bytes; `path` is used in errors only.
pub fn parse(path: &Path, bytes: &[u8], label_column: Option<LabelColumn>) -> Result<Dataset> {
    let text = String::from_utf8_lossy(bytes);
    let mut rows: Vec<Vec<f32>> = Vec::new();
    let mut width = None;
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parsed: std::result::Result<Vec<f32>, _> =
            line.split(',').map(|f| f.trim().parse::<f32>()).collect();
        let values = match parsed {
            Ok(v) => v,
            // A header names every column; a first row with some numbers in it is data with
            // a typo, reported below rather than silently dropped.
            Err(_)
                if rows.is_empty()
                    && width.is_none()
                    && line.split(',').all(|f| f.trim().parse::<f32>().is_err()) =>
            {
                width = Some(line.split(',').count());
                continue;
            }
            Err(_) => {
                let bad = line
                    .split(',')
                    .find(|f| f.trim().parse::<f32>().is_err())
                    .unwrap_or("");
                return Err(Error::format(
                    path,
                    format!("line {}: {:?} is not a number", lineno + 1, bad.trim()),
                ));
            }
        };
        match width {
            Some(w) if w != values.len() => {
                return Err(Error::format(
                    path,
                    format!("line {}: {} fields, expected {w}", lineno + 1, values.len()),
                ))
            }
            _ => width = Some(values.len()),
        }
        rows.push(values);
    }
    let width = width.unwrap_or(0);
    let label_idx = match label_column {
        None => None,
        Some(LabelColumn::Last) if width > 0 => Some(width - 1),
        Some(LabelColumn::Index(i)) if i < width => Some(i),
        Some(c) => {
            return Err(Error::format(
                path,
                format!("label column {c:?} is outside the {width} columns"),
            ))
        }
    };
    let cols = width - usize::from(label_idx.is_some());
    let mut data = Vec::with_capacity(rows.len() * cols);
    let mut labels = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            if Some(j) == label_idx {
                if v.fract() != 0.0 {
                    return Err(Error::format(
                        path,
                        format!("row {}: label {v} is not an integer", r + 1),
                    ));
                }
                labels.push(*v as i64);
            } else {
                data.push(*v);
            }
        }
    }
    Ok(Dataset {
        features: Matrix::from_vec(rows.len(), cols, data),
        labels: label_idx.map(|_| labels),
    })
}

/// A matrix as CSV text bytes.
pub fn encode(m: &Matrix) -> Vec<u8> {
    let mut out = String::new();
    for r in 0..m.rows() {
        let line: Vec<String> = m.row(r).iter().map(|v| v.to_string()).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out.into_bytes()
}
