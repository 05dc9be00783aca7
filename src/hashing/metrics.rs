//! Retrieval quality of Hamming ranking: precision@k, mean average precision@k, and the
//! precision–recall curve over Hamming radii.
//!
//! Ranking is by distance, ties by database index (what [`FlatIndex::knn`] returns).
//! AP@k averages the precision at each relevant position within the top `k` over the relevant
//! items found there (0 when none are): the convention of the deep-hashing literature
//! (e.g. HashNet, DPSH). The curve pools counts over queries: at radius `r`, precision is
//! relevant-retrieved / retrieved and recall is relevant-retrieved / relevant, summed over all
//! queries; precision is absent where nothing is retrieved.

use super::codes::{check_same_width, Codes};
use super::knn::{FlatIndex, KnnResult, MISSING};
use super::labels::Labels;
use crate::error::{Error, Result};
use serde::Serialize;

/// One point of the precision–recall curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrPoint {
    /// Hamming radius: everything at distance ≤ radius is retrieved.
    pub radius: u32,
    /// Pooled precision (absent when nothing is retrieved at this radius).
    pub precision: Option<f64>,
    /// Pooled recall.
    pub recall: f64,
}

/// All the numbers `autoencoder retrieval` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Retrieval {
    /// Number of queries.
    pub queries: usize,
    /// Database size.
    pub database: usize,
    /// Code length.
    pub bits: usize,
    /// The `k` of precision@k.
    pub k: usize,
    /// Mean precision of the top `k`.
    pub precision_at_k: f64,
    /// The cut-off of mAP.
    pub map_at: usize,
    /// Mean average precision of the top `map_at`.
    pub map_at_k: f64,
    /// Precision and recall at every radius `0..=bits`.
    pub pr_curve: Vec<PrPoint>,
}

/// Relevance of each query's ranked list (`MISSING` entries dropped), first `k` entries.
fn relevance(ranked: &KnnResult, qi: usize, k: usize, db: &Labels, q: &Labels) -> Vec<bool> {
    ranked.ids[qi * ranked.k..(qi + 1) * ranked.k]
        .iter()
        .take(k)
        .take_while(|&&id| id != MISSING)
        .map(|&id| db.relevant(id as usize, q, qi))
        .collect()
}

/// Mean over queries of the fraction of the top `k` that is relevant (`k` is capped by the
/// length of each ranked list).
pub fn precision_at_k(ranked: &KnnResult, k: usize, db: &Labels, q: &Labels) -> f64 {
    let nq = ranked.ids.len() / ranked.k.max(1);
    let total: f64 = (0..nq)
        .map(|qi| {
            let rel = relevance(ranked, qi, k, db, q);
            if rel.is_empty() {
                0.0
            } else {
                rel.iter().filter(|&&r| r).count() as f64 / rel.len() as f64
            }
        })
        .sum();
    total / nq.max(1) as f64
}

/// Average precision of one ranked relevance list (see the module notes).
pub fn average_precision(rel: &[bool]) -> f64 {
    let mut hits = 0usize;
    let mut sum = 0.0;
    for (i, &r) in rel.iter().enumerate() {
        if r {
            hits += 1;
            sum += hits as f64 / (i + 1) as f64;
        }
    }
    if hits == 0 {
        0.0
    } else {
        sum / hits as f64
    }
}

/// Mean over queries of AP of the top `k`.
pub fn map_at_k(ranked: &KnnResult, k: usize, db: &Labels, q: &Labels) -> f64 {
    let nq = ranked.ids.len() / ranked.k.max(1);
    let total: f64 = (0..nq)
        .map(|qi| average_precision(&relevance(ranked, qi, k, db, q)))
        .sum();
    total / nq.max(1) as f64
}

/// The pooled precision–recall curve from per-query `(all, relevant)` distance histograms.
pub fn pr_curve(histograms: &[(Vec<u64>, Vec<u64>)]) -> Vec<PrPoint> {
    let Some(len) = histograms.first().map(|h| h.0.len()) else {
        return Vec::new();
    };
    let mut all = vec![0u64; len];
    let mut rel = vec![0u64; len];
    for (a, r) in histograms {
        all.iter_mut().zip(a).for_each(|(s, v)| *s += v);
        rel.iter_mut().zip(r).for_each(|(s, v)| *s += v);
    }
    let total_relevant: u64 = rel.iter().sum();
    let (mut retrieved, mut hits) = (0u64, 0u64);
    (0..len)
        .map(|r| {
            retrieved += all[r];
            hits += rel[r];
            PrPoint {
                radius: r as u32,
                precision: (retrieved > 0).then(|| hits as f64 / retrieved as f64),
                recall: if total_relevant == 0 {
                    0.0
                } else {
                    hits as f64 / total_relevant as f64
                },
            }
        })
        .collect()
}

/// Evaluates Hamming ranking of `db` for `queries`: precision@`k`, mAP@`map_at` and the PR
/// curve.
pub fn evaluate(
    db: &Codes,
    db_labels: &Labels,
    queries: &Codes,
    query_labels: &Labels,
    k: usize,
    map_at: usize,
) -> Result<Retrieval> {
    check_same_width(db, queries)?;
    db_labels.check_compatible(query_labels)?;
    if db_labels.len() != db.len() || query_labels.len() != queries.len() {
        return Err(Error::Shape(format!(
            "{} database codes but {} labels; {} queries but {} labels",
            db.len(),
            db_labels.len(),
            queries.len(),
            query_labels.len()
        )));
    }
    if k == 0 || map_at == 0 {
        return Err(Error::Invalid("k and map-at must be at least 1".into()));
    }
    if db.is_empty() || queries.is_empty() {
        return Err(Error::Invalid(format!(
            "{} database codes and {} queries: both must be non-empty",
            db.len(),
            queries.len()
        )));
    }
    let index = FlatIndex::new(db);
    // Ranks past the database's size would only be padding, which the metrics skip.
    let ranked = index.knn(queries, k.max(map_at).min(db.len()));
    let hist = index.distance_histograms(queries, |qi, id| {
        db_labels.relevant(id as usize, query_labels, qi)
    });
    Ok(Retrieval {
        queries: queries.len(),
        database: db.len(),
        bits: db.bits(),
        k,
        precision_at_k: precision_at_k(&ranked, k, db_labels, query_labels),
        map_at,
        map_at_k: map_at_k(&ranked, map_at, db_labels, query_labels),
        pr_curve: pr_curve(&hist),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_small_case() {
        // db codes (8 bits): distances from query 0b0000_0000 are 0, 1, 1, 2, 8
        let db = Codes::from_bytes(5, 1, vec![0b0, 0b1000_0000, 0b1, 0b11, 0xFF]).unwrap();
        let q = Codes::from_bytes(1, 1, vec![0]).unwrap();
        let dbl = Labels::Single(vec![1, 0, 1, 1, 1]);
        let ql = Labels::Single(vec![1]);
        // ranking (ties by index): 0 (d0, rel), 1 (d1, not), 2 (d1, rel), 3 (d2, rel), 4 (d8, rel)
        let r = evaluate(&db, &dbl, &q, &ql, 2, 3).unwrap();
        assert_eq!(r.precision_at_k, 0.5);
        // AP@3: relevant at ranks 1 and 3: (1/1 + 2/3) / 2
        assert!((r.map_at_k - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        // radius 1 retrieves {0, 1, 2}: precision 2/3, recall 2/4
        let p1 = &r.pr_curve[1];
        assert_eq!(p1.radius, 1);
        assert!((p1.precision.unwrap() - 2.0 / 3.0).abs() < 1e-12 && p1.recall == 0.5);
        assert_eq!(r.pr_curve[8].recall, 1.0);
        assert_eq!(r.pr_curve[8].precision, Some(0.8));
        assert_eq!(r.pr_curve.len(), 9);
        assert_eq!(average_precision(&[false, false]), 0.0);
        // multi-label: any shared label is relevant
        let dbm = Labels::from_multi_hot(2, 3, &[true, false, false, false, true, true]);
        let qm = Labels::from_multi_hot(1, 3, &[false, false, true]);
        assert!(!dbm.relevant(0, &qm, 0) && dbm.relevant(1, &qm, 0));
        let e = dbl.check_compatible(&qm).unwrap_err().to_string();
        assert!(e.contains("must both be single-label"), "{e}");
    }
}
