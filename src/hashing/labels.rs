//! Class labels for retrieval evaluation: one label per example (same label = relevant) or a
//! multi-hot label set per example (any shared label = relevant).

use crate::data::{idx, npy};
use crate::error::{Error, Result};
use std::path::Path;

/// Labels of a database or a query set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Labels {
    /// One class per example.
    Single(Vec<i64>),
    /// A label set per example, as bitsets of `words` words each.
    Multi {
        /// Number of classes (bits used of each set).
        classes: usize,
        /// Words per example.
        words: usize,
        /// Row-major bitsets.
        sets: Vec<u64>,
    },
}

impl Labels {
    /// Multi-label sets from a row-major multi-hot matrix (`n × classes`, nonzero = has).
    pub fn from_multi_hot(n: usize, classes: usize, hot: &[bool]) -> Labels {
        let words = classes.div_ceil(64).max(1);
        let mut sets = vec![0u64; n * words];
        for i in 0..n {
            for c in 0..classes {
                if hot[i * classes + c] {
                    sets[i * words + c / 64] |= 1 << (c % 64);
                }
            }
        }
        Labels::Multi {
            classes,
            words,
            sets,
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        match self {
            Labels::Single(v) => v.len(),
            Labels::Multi { words, sets, .. } => sets.len() / words,
        }
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether database example `d` (of `self`) is relevant to query `q` (of `queries`).
    #[inline]
    pub fn relevant(&self, d: usize, queries: &Labels, q: usize) -> bool {
        match (self, queries) {
            (Labels::Single(a), Labels::Single(b)) => a[d] == b[q],
            (
                Labels::Multi {
                    words: wa, sets: a, ..
                },
                Labels::Multi {
                    words: wb, sets: b, ..
                },
            ) => a[d * wa..(d + 1) * wa]
                .iter()
                .zip(&b[q * wb..(q + 1) * wb])
                .any(|(x, y)| x & y != 0),
            _ => false,
        }
    }

    /// Checks the two label sets can be compared.
    pub fn check_compatible(&self, queries: &Labels) -> Result<()> {
        match (self, queries) {
            (Labels::Single(_), Labels::Single(_)) => Ok(()),
            (Labels::Multi { classes: a, .. }, Labels::Multi { classes: b, .. }) if a == b => {
                Ok(())
            }
            _ => Err(Error::Shape(
                "database and query labels must both be single-label (1-D) or both multi-hot \
                 with the same number of classes"
                    .into(),
            )),
        }
    }

    /// Reads IDX labels (`*idx*`/`*ubyte*`, optionally gzipped) or NPY: 1-D integers
    /// (single-label) or a 2-D 0/1 matrix (multi-label).
    pub fn read(path: &Path) -> Result<Labels> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let stem = name.trim_end_matches(".gz");
        // `.npy` first: a name like `query_idx_labels.npy` is NPY, not IDX.
        if !stem.ends_with(".npy") && (stem.contains("idx") || stem.ends_with("ubyte")) {
            return Ok(Labels::Single(idx::read_labels(path)?));
        }
        if !stem.ends_with(".npy") {
            return Err(Error::format(
                path,
                "labels must be .npy or an IDX labels file (*-ubyte[.gz], *.idx[.gz])",
            ));
        }
        let a = npy::parse(path, &crate::fsutil::read(path)?)?;
        match a.shape.as_slice() {
            [_] => Ok(Labels::Single(npy::read_labels(path)?)),
            [n, c] => {
                let hot: Vec<bool> = match a.dtype {
                    npy::Dtype::U8 => a.data.iter().map(|&b| b != 0).collect(),
                    npy::Dtype::I32 => a
                        .data
                        .chunks_exact(4)
                        .map(|c| c.iter().any(|&b| b != 0))
                        .collect(),
                    npy::Dtype::I64 => a
                        .data
                        .chunks_exact(8)
                        .map(|c| c.iter().any(|&b| b != 0))
                        .collect(),
                    npy::Dtype::F32 => a
                        .data
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().unwrap()) != 0.0)
                        .collect(),
                    npy::Dtype::F64 => a
                        .data
                        .chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().unwrap()) != 0.0)
                        .collect(),
                };
                Ok(Labels::from_multi_hot(*n, *c, &hot))
            }
            s => Err(Error::format(
                path,
                format!("labels must be 1-D (classes) or 2-D (multi-hot), found shape {s:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_hot_sets_compare_only_with_the_same_classes() {
        let hot = |n: usize, classes: usize, on: &[(usize, usize)]| {
            let mut v = vec![false; n * classes];
            on.iter().for_each(|&(i, c)| v[i * classes + c] = true);
            Labels::from_multi_hot(n, classes, &v)
        };
        let db = hot(2, 10, &[(0, 3), (1, 7)]);
        let q = hot(1, 10, &[(0, 7), (0, 9)]);
        db.check_compatible(&q).unwrap();
        assert!(!db.relevant(0, &q, 0) && db.relevant(1, &q, 0));
        // 10 and 20 classes both fit in one word, but class positions need not line up
        for q in [hot(1, 20, &[(0, 7)]), Labels::Single(vec![1])] {
            let e = db.check_compatible(&q).unwrap_err().to_string();
            assert!(e.contains("same number of classes"), "{e}");
        }
    }

    #[test]
    fn an_npy_file_is_read_as_npy_whatever_its_name_says() {
        let dir = std::env::temp_dir().join(format!("ae-labels-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("query_idx_labels.npy");
        std::fs::write(&path, npy::encode_u8(&[2, 3], &[1, 0, 0, 0, 1, 1])).unwrap();
        let labels = Labels::read(&path).unwrap();
        assert_eq!(
            labels,
            Labels::from_multi_hot(2, 3, &[true, false, false, false, true, true])
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
