//! Salakhutdinov & Hinton's two-stage retrieval (Semantic hashing, 2009): the Hamming ball
//! around a query's address gives a short list of candidates in time independent of the
//! database's size; the candidates are then ranked by cosine similarity of their feature
//! vectors (TF-IDF for documents), and the `k` most similar kept.

use super::knn::{KnnResult, RangeResult, MISSING};
use crate::error::{Error, Result};
use crate::linalg::Matrix;
use rayon::prelude::*;

/// Ranks each query's candidates by cosine similarity of `db[candidate]` and `queries[query]`
/// (most similar first; ties by smaller index) and keeps `k`, padded with [`MISSING`]. The
/// result's `distances` stay the candidates' Hamming distances.
pub fn rerank_by_cosine(
    candidates: &RangeResult,
    db: &Matrix,
    queries: &Matrix,
    k: usize,
) -> Result<KnnResult> {
    if db.cols() != queries.cols() {
        return Err(Error::Shape(format!(
            "database features have {} columns, query features {}",
            db.cols(),
            queries.cols()
        )));
    }
    if queries.rows() != candidates.queries() {
        return Err(Error::Shape(format!(
            "{} query feature rows for {} queries",
            queries.rows(),
            candidates.queries()
        )));
    }
    if let Some(&id) = candidates.ids.iter().find(|&&i| i as usize >= db.rows()) {
        return Err(Error::Shape(format!(
            "candidate {id} is past the {} database feature rows",
            db.rows()
        )));
    }
    let norm = |r: &[f32]| r.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
    let db_norms: Vec<f64> = (0..db.rows())
        .into_par_iter()
        .map(|i| norm(db.row(i)))
        .collect();
    let rows: Vec<(Vec<u32>, Vec<u32>)> = (0..queries.rows())
        .into_par_iter()
        .map(|q| {
            let (ids, dists) = candidates.query(q);
            let qrow = queries.row(q);
            let qn = norm(qrow);
            let mut scored: Vec<(f64, u32, u32)> = ids
                .iter()
                .zip(dists)
                .map(|(&i, &d)| {
                    let dot: f64 = db
                        .row(i as usize)
                        .iter()
                        .zip(qrow)
                        .map(|(a, b)| *a as f64 * *b as f64)
                        .sum();
                    let denom = qn * db_norms[i as usize];
                    (if denom > 0.0 { dot / denom } else { 0.0 }, i, d)
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            scored.truncate(k);
            scored.into_iter().map(|(_, i, d)| (i, d)).unzip()
        })
        .collect();
    let mut ids = vec![MISSING; queries.rows() * k];
    let mut distances = vec![MISSING; queries.rows() * k];
    for (q, (i, d)) in rows.into_iter().enumerate() {
        ids[q * k..q * k + i.len()].copy_from_slice(&i);
        distances[q * k..q * k + d.len()].copy_from_slice(&d);
    }
    Ok(KnnResult { k, ids, distances })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_ranked_by_cosine_and_padded() {
        // database rows: along x, along y, diagonal; the query points mostly along y
        let db = Matrix::from_vec(3, 2, vec![1.0, 0.0, 0.0, 2.0, 1.0, 1.0]);
        let q = Matrix::from_vec(2, 2, vec![0.1, 1.0, 1.0, 0.0]);
        let cand =
            RangeResult::from_lists(vec![(vec![0, 1, 2], vec![0, 1, 2]), (vec![1], vec![3])]);
        let r = rerank_by_cosine(&cand, &db, &q, 2).unwrap();
        assert_eq!(r.ids, vec![1, 2, 1, MISSING]);
        assert_eq!(r.distances, vec![1, 2, 3, MISSING]);
        let bad = RangeResult::from_lists(vec![(vec![7], vec![0]), (vec![], vec![])]);
        assert!(rerank_by_cosine(&bad, &db, &q, 2).is_err());
    }
}
