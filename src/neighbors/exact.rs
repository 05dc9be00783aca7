//! Exact k nearest neighbours by squared Euclidean distance, from one GEMM per block of query
//! rows (`‖a‖² + ‖b‖² − 2 a·b` on centred data, which keeps the cancellation small); equal
//! distances rank by index. Used by the maps' graphs ([`super::graph`]), by map quality and by
//! local-PCA tangents.

use crate::error::{Error, Result};
use crate::linalg::backend::{Backend, Cpu};
use crate::linalg::gemm::View;
use crate::linalg::Matrix;
use rayon::prelude::*;

/// Query rows per GEMM block: a block's distances are `BLOCK × reference rows` floats.
const BLOCK: usize = 256;

/// `points` minus the column means of `mean_of`.
pub(crate) fn centred(points: &Matrix, mean_of: &Matrix) -> Matrix {
    let d = points.cols();
    let n = mean_of.rows().max(1) as f64;
    let mut mean = vec![0.0f64; d];
    for r in 0..mean_of.rows() {
        for (m, v) in mean.iter_mut().zip(mean_of.row(r)) {
            *m += *v as f64;
        }
    }
    let mean: Vec<f32> = mean.iter().map(|m| (m / n) as f32).collect();
    let mut out = points.clone();
    for r in 0..out.rows() {
        for (v, m) in out.row_mut(r).iter_mut().zip(&mean) {
            *v -= m;
        }
    }
    out
}

fn squared_norms(m: &Matrix) -> Vec<f32> {
    (0..m.rows())
        .map(|r| m.row(r).iter().map(|v| v * v).sum())
        .collect()
}

/// `per_row(query, distances)` for each query row, with its squared distances to every
/// reference row, computed block by block (queries and references already centred alike).
pub(crate) fn map_distance_rows<T: Send>(
    reference: &Matrix,
    queries: &Matrix,
    per_row: &(dyn Fn(usize, &[f32]) -> T + Sync),
) -> Vec<T> {
    let cpu = Cpu::new(0);
    let (n_ref, d) = (reference.rows(), reference.cols());
    let ref_norms = squared_norms(reference);
    let query_norms = squared_norms(queries);
    let mut dots = vec![0.0f32; BLOCK.min(queries.rows()) * n_ref];
    let mut out = Vec::with_capacity(queries.rows());
    for start in (0..queries.rows()).step_by(BLOCK) {
        let end = (start + BLOCK).min(queries.rows());
        let rows = end - start;
        let block = &mut dots[..rows * n_ref];
        // block = −2 Q Rᵀ, then + ‖q‖² + ‖r‖²
        cpu.gemm(
            block,
            false,
            View::new(&queries.as_slice()[start * d..end * d], rows, d),
            false,
            View::new(reference.as_slice(), n_ref, d),
            true,
            -2.0,
        );
        let results: Vec<T> = block
            .par_chunks_mut(n_ref)
            .enumerate()
            .map(|(r, row)| {
                let q = query_norms[start + r];
                for (v, n) in row.iter_mut().zip(&ref_norms) {
                    *v = (*v + q + n).max(0.0);
                }
                per_row(start + r, row)
            })
            .collect();
        out.extend(results);
    }
    out
}

/// The `k` nearest reference rows of each query row, nearest first (`queries.rows() × k`
/// indices). With `exclude_self`, the queries are the reference rows and row `i` is not its
/// own neighbour.
pub fn nearest_neighbors(
    reference: &Matrix,
    queries: &Matrix,
    k: usize,
    exclude_self: bool,
) -> Result<Vec<usize>> {
    if reference.cols() != queries.cols() {
        return Err(Error::Shape(format!(
            "queries have {} columns, the reference points {}",
            queries.cols(),
            reference.cols()
        )));
    }
    if k == 0 || k + usize::from(exclude_self) > reference.rows() {
        return Err(Error::Invalid(format!(
            "k = {k}: k nearest neighbours need 1 ≤ k ≤ {} (the other points)",
            reference.rows() - usize::from(exclude_self && reference.rows() > 0)
        )));
    }
    let reference_c = centred(reference, reference);
    let queries_c = centred(queries, reference);
    let rows = map_distance_rows(&reference_c, &queries_c, &|q, dist| {
        let mut idx: Vec<usize> = (0..dist.len())
            .filter(|&j| !(exclude_self && j == q))
            .collect();
        let by = |a: &usize, b: &usize| dist[*a].total_cmp(&dist[*b]).then(a.cmp(b));
        if idx.len() > k {
            idx.select_nth_unstable_by(k - 1, by);
            idx.truncate(k);
        }
        idx.sort_unstable_by(by);
        // a fresh k-long vector: the truncated one would keep its n-long capacity, n² in all
        idx.to_vec()
    });
    Ok(rows.concat())
}
