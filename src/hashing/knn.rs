//! Exact Hamming search by linear scan: k nearest neighbours and range (radius) search.
//!
//! Distances are small integers, so selection is by counting: each query keeps a histogram of
//! the distances it has accepted and a bound `t` (the smallest distance with at least `k`
//! accepted codes at or below it); later codes must beat `t` to be kept, which after the first
//! chunk rejects nearly everything with one vector compare per 8 codes. At the end the
//! survivors are placed by a counting sort on distance. Survivors arrive in index order, so
//! ties go to the smaller index. The database is scanned in cache-sized chunks against a block
//! of queries at a time, so it streams from memory once per query block, not once per query.

use super::codes::{check_same_width, Codes};
use super::popcount::{scan, LANES};
use crate::error::Result;
use rayon::prelude::*;

/// Id and distance of an absent result (fewer than `k` codes, or none within the radius).
pub const MISSING: u32 = u32::MAX;

/// Queries handled together per database pass.
const QUERY_BLOCK: usize = 32;
/// Bytes of database codes per chunk: a chunk stays in L2 while a query block scans it.
const CHUNK_BYTES: usize = 64 * 1024;

/// `k` nearest neighbours of each query, row-major `queries × k`, nearest first, ties by
/// smaller index; absent entries are [`MISSING`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnnResult {
    /// Neighbours per query.
    pub k: usize,
    /// Database indices.
    pub ids: Vec<u32>,
    /// Hamming distances.
    pub distances: Vec<u32>,
}

/// Variable-length results per query (query `i` owns `offsets[i]..offsets[i + 1]`), sorted by
/// distance then index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeResult {
    /// Start of each query's results; one more entry than queries.
    pub offsets: Vec<usize>,
    /// Database indices.
    pub ids: Vec<u32>,
    /// Hamming distances.
    pub distances: Vec<u32>,
}

impl RangeResult {
    /// Results of query `i` as `(ids, distances)`.
    pub fn query(&self, i: usize) -> (&[u32], &[u32]) {
        let r = self.offsets[i]..self.offsets[i + 1];
        (&self.ids[r.clone()], &self.distances[r])
    }
    /// Number of queries.
    pub fn queries(&self) -> usize {
        self.offsets.len() - 1
    }
    /// The first `k` results per query as a fixed-width table, padded with [`MISSING`].
    pub fn to_knn(&self, k: usize) -> KnnResult {
        let nq = self.queries();
        let mut ids = vec![MISSING; nq * k];
        let mut distances = vec![MISSING; nq * k];
        for i in 0..nq {
            let (qi, qd) = self.query(i);
            let m = qi.len().min(k);
            ids[i * k..i * k + m].copy_from_slice(&qi[..m]);
            distances[i * k..i * k + m].copy_from_slice(&qd[..m]);
        }
        KnnResult { k, ids, distances }
    }
    /// Collects per-query `(ids, distances)` lists.
    pub fn from_lists(lists: Vec<(Vec<u32>, Vec<u32>)>) -> RangeResult {
        let mut offsets = vec![0];
        let (mut ids, mut distances) = (Vec::new(), Vec::new());
        for (i, d) in lists {
            ids.extend(i);
            distances.extend(d);
            offsets.push(ids.len());
        }
        RangeResult {
            offsets,
            ids,
            distances,
        }
    }
}

/// A database of codes in the blocked layout the scan kernel reads (like FAISS's
/// `IndexBinaryFlat`): for each block of 8 codes, word 0 of all 8, then word 1, …
#[derive(Clone, Debug)]
pub struct FlatIndex {
    n: usize,
    bits: usize,
    words: usize,
    blocks: Vec<u64>,
}

impl FlatIndex {
    /// Lays out `db` for scanning.
    pub fn new(db: &Codes) -> FlatIndex {
        assert!(db.len() < MISSING as usize, "at most 2^32 − 1 codes");
        let (n, words) = (db.len(), db.words());
        let nblocks = n.div_ceil(LANES);
        let mut blocks = vec![0u64; nblocks * words * LANES];
        for i in 0..n {
            let (b, l) = (i / LANES, i % LANES);
            for (w, &v) in db.code(i).iter().enumerate() {
                blocks[(b * words + w) * LANES + l] = v;
            }
        }
        FlatIndex {
            n,
            bits: db.bits(),
            words,
            blocks,
        }
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.n
    }
    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// Bits per code.
    pub fn bits(&self) -> usize {
        self.bits
    }

    fn chunk_blocks(&self) -> usize {
        (CHUNK_BYTES / (self.words * LANES * 8)).max(4)
    }

    /// Exact `k` nearest neighbours of every query (parallel over queries).
    ///
    /// # Panics
    /// If the queries' code width differs from the database's (check with
    /// [`check_same_width`] first, as the CLI does).
    pub fn knn(&self, queries: &Codes, k: usize) -> KnnResult {
        self.knn_within(queries, k, None)
    }

    /// Exact `k` nearest neighbours at distance ≤ `radius` (all distances when `None`).
    /// Panics like [`FlatIndex::knn`].
    pub fn knn_within(&self, queries: &Codes, k: usize, radius: Option<u32>) -> KnnResult {
        assert_eq!(
            queries.bits(),
            self.bits,
            "query and database widths differ"
        );
        let nq = queries.len();
        let mut ids = vec![MISSING; nq * k];
        let mut distances = vec![MISSING; nq * k];
        if k == 0 || nq == 0 {
            return KnnResult { k, ids, distances };
        }
        let start_bound = radius.map_or(self.bits as u32 + 1, |r| r.saturating_add(1));
        ids.par_chunks_mut(QUERY_BLOCK * k)
            .zip(distances.par_chunks_mut(QUERY_BLOCK * k))
            .enumerate()
            .for_each(|(qb, (ids, dists))| {
                let q0 = qb * QUERY_BLOCK;
                let count = ids.len() / k;
                let mut tops: Vec<TopK> = (0..count)
                    .map(|_| TopK::new(k, self.bits, start_bound))
                    .collect();
                self.scan_block(queries, q0, &mut tops, |top, c0, pos, dist| {
                    top.absorb(c0, pos, dist);
                    top.finish_chunk();
                });
                for (i, top) in tops.iter().enumerate() {
                    top.select(&mut ids[i * k..(i + 1) * k], &mut dists[i * k..(i + 1) * k]);
                }
            });
        KnnResult { k, ids, distances }
    }

    /// Every code within distance `radius` of each query, sorted by distance then index.
    /// Panics like [`FlatIndex::knn`]; [`range`] checks the widths and returns an error instead.
    pub fn range(&self, queries: &Codes, radius: u32) -> RangeResult {
        assert_eq!(
            queries.bits(),
            self.bits,
            "query and database widths differ"
        );
        let nq = queries.len();
        let bound = radius.saturating_add(1).min(self.bits as u32 + 1);
        let lists: Vec<(Vec<u32>, Vec<u32>)> = (0..nq.div_ceil(QUERY_BLOCK))
            .into_par_iter()
            .flat_map_iter(|qb| {
                let q0 = qb * QUERY_BLOCK;
                let count = (nq - q0).min(QUERY_BLOCK);
                let mut hits: Vec<Hits> = (0..count)
                    .map(|_| Hits {
                        bound,
                        ids: Vec::new(),
                        dists: Vec::new(),
                    })
                    .collect();
                self.scan_block(queries, q0, &mut hits, |h, c0, pos, dist| {
                    h.ids.extend(pos.iter().map(|p| c0 + p));
                    h.dists.extend_from_slice(dist);
                });
                hits.into_iter()
                    .map(move |h| sort_by_distance(&h.ids, &h.dists, bound))
            })
            .collect();
        RangeResult::from_lists(lists)
    }

    /// Scans the database once for queries `q0..q0 + states.len()`, chunk by chunk, handing
    /// each query's survivors (positions relative to chunk start `c0`) to `absorb`. Codes past
    /// the end (padding in the last block) are dropped here.
    fn scan_block<S: Bound>(
        &self,
        queries: &Codes,
        q0: usize,
        states: &mut [S],
        mut absorb: impl FnMut(&mut S, u32, &[u32], &[u32]),
    ) {
        let chunk = self.chunk_blocks();
        let per_block = self.words * LANES;
        let mut pos = vec![0u32; chunk * LANES];
        let mut dist = vec![0u32; chunk * LANES];
        for (ci, blocks) in self.blocks.chunks(chunk * per_block).enumerate() {
            let c0 = ci * chunk * LANES;
            let valid = (self.n - c0) as u32;
            for (i, state) in states.iter_mut().enumerate() {
                let bound = state.bound();
                if bound == 0 {
                    continue;
                }
                let mut m = scan(blocks, queries.code(q0 + i), bound, &mut pos, &mut dist);
                while m > 0 && pos[m - 1] >= valid {
                    m -= 1;
                }
                absorb(state, c0 as u32, &pos[..m], &dist[..m]);
            }
        }
    }
}

impl FlatIndex {
    /// For each query, histograms over distance `0..=bits` of all database codes and of those
    /// `relevant(query, id)` says are relevant: everything a precision–recall curve over
    /// Hamming radii needs. Panics like [`FlatIndex::knn`].
    pub fn distance_histograms(
        &self,
        queries: &Codes,
        relevant: impl Fn(usize, u32) -> bool + Sync,
    ) -> Vec<(Vec<u64>, Vec<u64>)> {
        assert_eq!(
            queries.bits(),
            self.bits,
            "query and database widths differ"
        );
        let nq = queries.len();
        let bound = self.bits as u32 + 1;
        (0..nq.div_ceil(QUERY_BLOCK))
            .into_par_iter()
            .flat_map_iter(|qb| {
                let q0 = qb * QUERY_BLOCK;
                let count = (nq - q0).min(QUERY_BLOCK);
                let mut hists: Vec<Histograms> = (0..count)
                    .map(|i| Histograms {
                        query: q0 + i,
                        bound,
                        all: vec![0; bound as usize],
                        relevant: vec![0; bound as usize],
                    })
                    .collect();
                self.scan_block(queries, q0, &mut hists, |h, c0, pos, dist| {
                    for (&p, &d) in pos.iter().zip(dist) {
                        h.all[d as usize] += 1;
                        h.relevant[d as usize] += relevant(h.query, c0 + p) as u64;
                    }
                });
                hists.into_iter().map(|h| (h.all, h.relevant))
            })
            .collect()
    }
}

/// One query's distance histograms.
struct Histograms {
    query: usize,
    bound: u32,
    all: Vec<u64>,
    relevant: Vec<u64>,
}

impl Bound for Histograms {
    fn bound(&self) -> u32 {
        self.bound
    }
}

/// What the scan asks a per-query state: the distance survivors must be below.
trait Bound {
    fn bound(&self) -> u32;
}

/// One query's range-search survivors, in index order.
struct Hits {
    bound: u32,
    ids: Vec<u32>,
    dists: Vec<u32>,
}

impl Bound for Hits {
    fn bound(&self) -> u32 {
        self.bound
    }
}

/// Orders `(ids, dists)` (ids ascending) by distance, stably, by counting; `bound` exceeds
/// every distance.
fn sort_by_distance(ids: &[u32], dists: &[u32], bound: u32) -> (Vec<u32>, Vec<u32>) {
    let mut start = vec![0usize; bound as usize + 1];
    for &d in dists {
        start[d as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut out_ids = vec![0u32; ids.len()];
    let mut out_d = vec![0u32; ids.len()];
    for (&id, &d) in ids.iter().zip(dists) {
        let p = &mut start[d as usize];
        out_ids[*p] = id;
        out_d[*p] = d;
        *p += 1;
    }
    (out_ids, out_d)
}

/// One query's running k-NN state (see the module notes).
struct TopK {
    k: usize,
    bound: u32,
    hist: Vec<u32>,
    ids: Vec<u32>,
    dists: Vec<u32>,
    dirty: bool,
}

impl Bound for TopK {
    fn bound(&self) -> u32 {
        self.bound
    }
}

impl TopK {
    fn new(k: usize, bits: usize, bound: u32) -> TopK {
        TopK {
            k,
            bound: bound.min(bits as u32 + 1),
            hist: vec![0; bits + 1],
            ids: Vec::new(),
            dists: Vec::new(),
            dirty: false,
        }
    }

    fn absorb(&mut self, c0: u32, pos: &[u32], dist: &[u32]) {
        for (&p, &d) in pos.iter().zip(dist) {
            self.ids.push(c0 + p);
            self.dists.push(d);
            self.hist[d as usize] += 1;
        }
        self.dirty |= !pos.is_empty();
    }

    /// The smallest distance `t` with at least `k` accepted codes at or below it.
    fn kth_distance(&self) -> Option<u32> {
        let mut cum = 0usize;
        for (t, &c) in self.hist.iter().enumerate() {
            cum += c as usize;
            if cum >= self.k {
                return Some(t as u32);
            }
        }
        None
    }

    fn finish_chunk(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        if let Some(t) = self.kth_distance() {
            // a later code at distance t ranks after k earlier ones, so it must be below t;
            // accepted codes beyond t can never be selected
            self.bound = t;
            if self.ids.len() > 4 * self.k + 1024 {
                let (mut j, limit) = (0, t);
                for i in 0..self.ids.len() {
                    if self.dists[i] <= limit {
                        self.ids[j] = self.ids[i];
                        self.dists[j] = self.dists[i];
                        j += 1;
                    }
                }
                self.ids.truncate(j);
                self.dists.truncate(j);
            }
        }
    }

    /// Writes the `k` best into `ids`/`dists` (already filled with [`MISSING`]).
    fn select(&self, ids: &mut [u32], dists: &mut [u32]) {
        let limit = self.kth_distance().unwrap_or(self.hist.len() as u32 - 1);
        let mut start = vec![0usize; limit as usize + 2];
        for d in 0..=limit as usize {
            start[d + 1] = start[d] + self.hist[d] as usize;
        }
        for (&id, &d) in self.ids.iter().zip(&self.dists) {
            if d > limit {
                continue;
            }
            let p = &mut start[d as usize];
            // every code below `limit` fits; codes at `limit` fill what is left, by index
            if *p < self.k {
                ids[*p] = id;
                dists[*p] = d;
                *p += 1;
            }
        }
    }
}

/// Validates widths, then runs [`FlatIndex::knn`].
pub fn knn(db: &Codes, queries: &Codes, k: usize) -> Result<KnnResult> {
    check_same_width(db, queries)?;
    Ok(FlatIndex::new(db).knn(queries, k))
}

/// Validates widths, then runs [`FlatIndex::range`].
pub fn range(db: &Codes, queries: &Codes, radius: u32) -> Result<RangeResult> {
    check_same_width(db, queries)?;
    Ok(FlatIndex::new(db).range(queries, radius))
}

/// Brute-force reference: sorts all `(distance, index)` pairs. For tests.
pub fn brute_force_knn(db: &Codes, queries: &Codes, k: usize) -> KnnResult {
    let mut ids = vec![MISSING; queries.len() * k];
    let mut distances = vec![MISSING; queries.len() * k];
    for qi in 0..queries.len() {
        let mut all: Vec<(u32, u32)> = (0..db.len())
            .map(|i| (db.distance(i, queries, qi), i as u32))
            .collect();
        all.sort_unstable();
        for (j, (d, i)) in all.into_iter().take(k).enumerate() {
            ids[qi * k + j] = i;
            distances[qi * k + j] = d;
        }
    }
    KnnResult { k, ids, distances }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    #[test]
    fn knn_matches_brute_force_with_many_ties() {
        // 16-bit codes with 3000 entries: heavy ties at every distance exercise the tie rule
        // and the compaction; 40 queries cross a query block boundary
        let mut rng = Rng::new(1);
        let db = Codes::from_fn(3000, 16, |_, _| rng.below(4) == 0).unwrap();
        let q = Codes::from_fn(40, 16, |_, _| rng.below(2) == 0).unwrap();
        let index = FlatIndex::new(&db);
        for k in [1, 7, 100, 2999, 3000, 3100] {
            assert_eq!(index.knn(&q, k), brute_force_knn(&db, &q, k), "k {k}");
        }
    }

    #[test]
    fn knn_within_radius_pads_with_missing() {
        let db = Codes::from_bytes(3, 1, vec![0b0000_0000, 0b0000_0111, 0b0000_0001]).unwrap();
        let q = Codes::from_bytes(1, 1, vec![0]).unwrap();
        let r = FlatIndex::new(&db).knn_within(&q, 3, Some(1));
        assert_eq!(r.ids, vec![0, 2, MISSING]);
        assert_eq!(r.distances, vec![0, 1, MISSING]);
    }
}
