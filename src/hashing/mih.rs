//! Multi-index hashing (Norouzi, Punjani & Fleet, "Fast search in Hamming space with
//! multi-index hashing", CVPR 2012): split each code into `m` disjoint substrings, one hash
//! table per substring. If two codes are within distance `r = s·m + a` (`0 ≤ a < m`), then one
//! of the first `a + 1` substrings is within `s`, or one of the others within `s − 1`
//! (otherwise the distance would be at least `(a+1)(s+1) + (m−a−1)s = r + 1`). Probing those
//! small balls and checking the full distance of each candidate finds exactly the codes
//! within `r`, for codes of any length and radii far past what one table could probe.

use super::codes::{check_same_width, hamming, Codes};
use super::knn::RangeResult;
use super::table::{ball_size, flip_masks, probe_ball, CodeTable};
use crate::error::{Error, Result};
use rayon::prelude::*;

/// Most table probes per query before we refuse.
pub const MAX_PROBES: u64 = 1 << 24;

/// `m` substring tables over a copy of the database.
#[derive(Clone, Debug)]
pub struct MultiIndex {
    codes: Codes,
    /// `(first bit, length)` of each substring.
    parts: Vec<(usize, usize)>,
    tables: Vec<CodeTable>,
}

/// Bits `start..start + len` (`len ≤ 64`) of a code, as an integer.
#[inline]
fn substring(code: &[u64], start: usize, len: usize) -> u64 {
    let (w, off) = (start / 64, start % 64);
    let mut v = code[w] >> off;
    if off + len > 64 {
        v |= code[w + 1] << (64 - off);
    }
    if len == 64 {
        v
    } else {
        v & ((1u64 << len) - 1)
    }
}

impl MultiIndex {
    /// The paper's default number of substrings: about `log2(n)` bits each (so buckets hold
    /// about one code), and never more than 64 bits.
    pub fn default_parts(bits: usize, n: usize) -> usize {
        let per = (n.max(2) as f64).log2().round().max(1.0);
        ((bits as f64 / per).round() as usize).clamp(bits.div_ceil(64), bits)
    }

    /// Checks that `bits`-bit codes can be cut into `m` substrings of at most 64 bits each.
    pub fn check_parts(bits: usize, m: usize) -> Result<()> {
        if m == 0 || m > bits || bits.div_ceil(m) > 64 {
            return Err(Error::Invalid(format!(
                "multi-index hashing of {bits}-bit codes needs between {} and {bits} substrings, got {m}",
                bits.div_ceil(64)
            )));
        }
        Ok(())
    }

    /// Indexes `db` with `m` substrings (`None`: [`MultiIndex::default_parts`]).
    pub fn new(db: &Codes, m: Option<usize>) -> Result<MultiIndex> {
        let bits = db.bits();
        let m = m.unwrap_or_else(|| MultiIndex::default_parts(bits, db.len()));
        MultiIndex::check_parts(bits, m)?;
        let parts: Vec<(usize, usize)> = (0..m)
            .map(|i| {
                let start = i * bits / m;
                (start, (i + 1) * bits / m - start)
            })
            .collect();
        let tables = parts
            .par_iter()
            .map(|&(start, len)| {
                let keys: Vec<u64> = (0..db.len())
                    .map(|i| substring(db.code(i), start, len))
                    .collect();
                CodeTable::build(&keys)
            })
            .collect();
        Ok(MultiIndex {
            codes: db.clone(),
            parts,
            tables,
        })
    }

    /// Expected work per query of a radius search with `m` substrings over `n` random codes:
    /// `(probes, candidates)`, the table probes and the codes they return to be checked.
    pub fn cost(bits: usize, n: usize, m: usize, radius: u32) -> (u64, f64) {
        let (s, a) = (radius / m as u32, radius % m as u32);
        let mut probes = 0u64;
        let mut candidates = 0.0;
        for i in 0..m {
            let len = (i + 1) * bits / m - i * bits / m;
            let r = if (i as u32) <= a {
                Some(s)
            } else {
                s.checked_sub(1)
            };
            if let Some(r) = r {
                let p = ball_size(len, r);
                probes = probes.saturating_add(p);
                candidates += p as f64 * n as f64 / 2f64.powi(len as i32);
            }
        }
        (probes, candidates)
    }

    /// The candidates per query of a radius search with `m` substrings, measured on the data:
    /// for up to 64 of the `queries` (evenly spaced) against up to 16,384 database codes
    /// (evenly spaced), the substrings within their probe radius, counted per substring as the
    /// search checks them, scaled to the whole database. Learned codes cluster, so their
    /// buckets hold far more than [`MultiIndex::cost`]'s uniform estimate (a few milliseconds
    /// of work, against a build that reads every code).
    pub fn sampled_candidates(db: &Codes, queries: &Codes, m: usize, radius: u32) -> Result<f64> {
        check_same_width(db, queries)?;
        MultiIndex::check_parts(db.bits(), m)?;
        if db.is_empty() || queries.is_empty() {
            return Ok(0.0);
        }
        let bits = db.bits();
        let (s, a) = (radius / m as u32, radius % m as u32);
        let parts: Vec<(usize, usize, Option<u32>)> = (0..m)
            .map(|i| {
                let start = i * bits / m;
                let r = if (i as u32) <= a {
                    Some(s)
                } else {
                    s.checked_sub(1)
                };
                (start, (i + 1) * bits / m - start, r)
            })
            .collect();
        let spaced = |len: usize, most: usize| -> Vec<usize> {
            let take = len.min(most);
            (0..take).map(|i| i * len / take).collect()
        };
        let (qs, ds) = (spaced(queries.len(), 64), spaced(db.len(), 16_384));
        let mut hits = 0u64;
        for &q in &qs {
            for &(start, len, r) in &parts {
                let Some(r) = r else { continue };
                let key = substring(queries.code(q), start, len);
                hits += ds
                    .iter()
                    .filter(|&&i| (substring(db.code(i), start, len) ^ key).count_ones() <= r)
                    .count() as u64;
            }
        }
        Ok(hits as f64 / qs.len() as f64 * db.len() as f64 / ds.len() as f64)
    }

    /// Number of substrings.
    pub fn parts(&self) -> usize {
        self.parts.len()
    }

    /// Every database code within `radius` of each query, sorted by distance then index.
    pub fn range(&self, queries: &Codes, radius: u32) -> Result<RangeResult> {
        check_same_width(&self.codes, queries)?;
        let m = self.parts.len() as u32;
        let (s, a) = (radius / m, radius % m);
        // per substring: its probe radius (None: nothing to probe)
        let radii: Vec<Option<u32>> = (0..self.parts.len())
            .map(|i| {
                if (i as u32) <= a {
                    Some(s)
                } else {
                    s.checked_sub(1)
                }
            })
            .collect();
        // Counted before any flip mask is built: the masks of a hopeless radius would not fit
        // in memory.
        let probes: u64 = self
            .parts
            .iter()
            .zip(&radii)
            .filter_map(|(&(_, len), r)| r.map(|r| ball_size(len, r)))
            .fold(0, u64::saturating_add);
        if probes > MAX_PROBES {
            return Err(Error::Invalid(format!(
                "radius {radius} needs {probes} probes per query with {m} substrings; \
                 use more substrings or a linear scan"
            )));
        }
        let plans: Vec<Option<Vec<Vec<u64>>>> = self
            .parts
            .iter()
            .zip(&radii)
            .map(|(&(_, len), r)| r.map(|r| flip_masks(len, r)))
            .collect();
        let lists: Vec<(Vec<u32>, Vec<u32>)> = (0..queries.len())
            .into_par_iter()
            .map(|qi| {
                let q = queries.code(qi);
                let mut found: Vec<(u32, u32)> = Vec::new();
                for ((&(start, len), table), plan) in
                    self.parts.iter().zip(&self.tables).zip(&plans)
                {
                    let Some(masks) = plan else { continue };
                    probe_ball(table, substring(q, start, len), masks, |_, ids| {
                        for &id in ids {
                            let d = hamming(q, self.codes.code(id as usize));
                            if d <= radius {
                                found.push((d, id));
                            }
                        }
                    });
                }
                // a code near in several substrings is found once per substring
                found.sort_unstable();
                found.dedup();
                found.into_iter().map(|(d, id)| (id, d)).unzip()
            })
            .collect();
        Ok(RangeResult::from_lists(lists))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substrings_cross_word_boundaries() {
        let code = [0xF000_0000_0000_0000u64, 0b1011];
        assert_eq!(substring(&code, 60, 8), 0b1011_1111);
        assert_eq!(substring(&code, 0, 64), code[0]);
        assert_eq!(substring(&code, 64, 4), 0b1011);
        assert_eq!(MultiIndex::default_parts(32, 1 << 20), 2);
        assert_eq!(MultiIndex::default_parts(256, 1000), 26);
        assert_eq!(MultiIndex::default_parts(128, 4), 64);
    }

    #[test]
    fn sampled_candidates_match_the_uniform_estimate_and_see_clusters() {
        let mut rng = crate::linalg::Rng::new(8);
        let n = 20_000;
        let words: Vec<u64> = (0..n).map(|_| rng.next_u64() & 0xFFFF_FFFF).collect();
        let uniform = Codes::from_words(n, 32, words.clone()).unwrap();
        let queries = Codes::from_words(64, 32, words[..64].to_vec()).unwrap();
        let (_, expected) = MultiIndex::cost(32, n, 2, 2);
        let sampled = MultiIndex::sampled_candidates(&uniform, &queries, 2, 2).unwrap();
        // each query is itself in the database: its own two substrings add 2 × n / 16,384
        let own = 2.0 * n as f64 / 16_384.0;
        assert!(
            (sampled - own - expected).abs() < 0.5 * expected + 2.0,
            "{sampled} vs {expected} + {own}"
        );
        // 200 centres, each copied 100 times with one bit flipped: buckets hold ~100× more
        let clustered: Vec<u64> = (0..n)
            .map(|i| words[i / 100] ^ (1u64 << ((i * 7) % 32)))
            .collect();
        let clustered = Codes::from_words(n, 32, clustered).unwrap();
        let dense = MultiIndex::sampled_candidates(&clustered, &queries, 2, 2).unwrap();
        assert!(dense > 20.0 * expected, "{dense} vs {expected}");
        // exact on a whole small database: a brute-force count of substring hits
        let small = Codes::from_words(100, 32, words[..100].to_vec()).unwrap();
        let q = Codes::from_words(1, 32, vec![words[5] ^ 0b101]).unwrap();
        let brute = (0..100)
            .map(|i| {
                let w = words[i] ^ (words[5] ^ 0b101);
                ((w & 0xFFFF).count_ones() <= 1) as u32 + ((w >> 16).count_ones() == 0) as u32
            })
            .sum::<u32>();
        assert_eq!(
            MultiIndex::sampled_candidates(&small, &q, 2, 2).unwrap(),
            brute as f64
        );
    }

    #[test]
    fn a_hopeless_radius_is_refused_before_any_mask_is_built() {
        // two 64-bit substrings searched to radius 10: C(64, 10) ≈ 1.5e11 masks (1.2 TB)
        let codes = Codes::from_words(4, 128, (0..8u64).collect()).unwrap();
        let index = MultiIndex::new(&codes, Some(2)).unwrap();
        let err = index.range(&codes, 20).unwrap_err();
        assert!(err.to_string().contains("probes"), "{err}");
        // and a radius within reach still answers: each code finds itself
        let near = index.range(&codes, 2).unwrap().to_knn(1);
        assert_eq!(near.ids, [0, 1, 2, 3]);
    }
}
