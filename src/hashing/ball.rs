//! Hamming-ball lookup, the "memory address" of semantic hashing (ch. 14.5): codes of up to 64
//! bits go into a hash table; a query probes every code within radius `r` of its own, so the
//! cost depends on the ball's size (`Σ C(bits, d)`, 529 probes for 32 bits and r = 2), not on
//! the database's.

use super::codes::{check_same_width, Codes};
use super::knn::RangeResult;
use super::table::{ball_size, flip_masks, probe_ball, CodeTable};
use crate::error::{Error, Result};
use rayon::prelude::*;

/// Most probes per query a lookup may need before we refuse (a linear scan is cheaper).
pub const MAX_PROBES: u64 = 1 << 24;

/// A hash table over codes of at most 64 bits.
#[derive(Clone, Debug)]
pub struct BallIndex {
    bits: usize,
    table: CodeTable,
}

impl BallIndex {
    /// Indexes `db` (codes of at most 64 bits).
    pub fn new(db: &Codes) -> Result<BallIndex> {
        if db.bits() > 64 {
            return Err(Error::Invalid(format!(
                "Hamming-ball lookup needs codes of at most 64 bits, got {}; use multi-index hashing",
                db.bits()
            )));
        }
        let keys: Vec<u64> = db.as_words().to_vec();
        Ok(BallIndex {
            bits: db.bits(),
            table: CodeTable::build(&keys),
        })
    }

    /// Number of distinct codes stored.
    pub fn distinct_codes(&self) -> usize {
        self.table.distinct()
    }

    /// Every database code within `radius` of each query, sorted by distance then index.
    pub fn range(&self, queries: &Codes, radius: u32) -> Result<RangeResult> {
        if queries.bits() != self.bits {
            return Err(Error::Shape(format!(
                "database codes have {} bits, queries {}",
                self.bits,
                queries.bits()
            )));
        }
        let probes = ball_size(self.bits, radius);
        if probes > MAX_PROBES {
            return Err(Error::Invalid(format!(
                "a radius-{radius} ball of {}-bit codes has {probes} codes, too many to probe; \
                 use a linear scan or multi-index hashing",
                self.bits
            )));
        }
        let masks = flip_masks(self.bits, radius);
        let lists: Vec<(Vec<u32>, Vec<u32>)> = (0..queries.len())
            .into_par_iter()
            .map(|qi| {
                let key = queries.code(qi)[0];
                let (mut ids, mut dists) = (Vec::new(), Vec::new());
                let mut level_start = 0;
                let mut level = 0;
                probe_ball(&self.table, key, &masks, |d, hit| {
                    if d != level {
                        ids[level_start..].sort_unstable();
                        level = d;
                        level_start = ids.len();
                    }
                    ids.extend_from_slice(hit);
                    dists.extend(std::iter::repeat_n(d, hit.len()));
                });
                ids[level_start..].sort_unstable();
                (ids, dists)
            })
            .collect();
        Ok(RangeResult::from_lists(lists))
    }
}

/// Validates widths, builds the table and looks every query up.
pub fn range(db: &Codes, queries: &Codes, radius: u32) -> Result<RangeResult> {
    check_same_width(db, queries)?;
    BallIndex::new(db)?.range(queries, radius)
}
