//! Exact Euclidean k-nearest-neighbour graphs, the first step of Isomap, LLE and t-SNE.
//!
//! Candidates come from the GEMM-blocked squared distances of
//! [`super::exact::nearest_neighbors`]; the distances of the k chosen
//! neighbours are then recomputed directly in f64, so that the graph's edge lengths carry no
//! `‖a‖² + ‖b‖² − 2a·b` cancellation error.

use super::exact::nearest_neighbors;
use crate::error::Result;
use crate::linalg::Matrix;
use rayon::prelude::*;

/// The k nearest reference points of each query point, nearest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbours {
    /// Neighbours per point.
    pub k: usize,
    /// `points × k` reference indices.
    pub indices: Vec<usize>,
    /// `points × k` Euclidean distances (not squared), nondecreasing per point.
    pub distances: Vec<f64>,
}

impl Neighbours {
    /// Number of query points.
    pub fn points(&self) -> usize {
        self.indices.len() / self.k.max(1)
    }

    /// Point `i`'s neighbour indices and distances.
    pub fn of(&self, i: usize) -> (&[usize], &[f64]) {
        let r = i * self.k..(i + 1) * self.k;
        (&self.indices[r.clone()], &self.distances[r])
    }
}

/// Euclidean distance between two rows, accumulated in f64.
pub fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = (*x - *y) as f64;
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

fn with_distances(
    reference: &Matrix,
    queries: &Matrix,
    k: usize,
    indices: Vec<usize>,
) -> Neighbours {
    let distances: Vec<f64> = indices
        .par_chunks(k)
        .enumerate()
        .flat_map_iter(|(i, row)| {
            row.iter()
                .map(move |&j| distance(queries.row(i), reference.row(j)))
        })
        .collect();
    // re-sort each row by the exact distances (ties by index), which may reorder near-ties
    let mut out = Neighbours {
        k,
        indices,
        distances,
    };
    for i in 0..out.points() {
        let r = i * k..(i + 1) * k;
        let mut pairs: Vec<(f64, usize)> = out.distances[r.clone()]
            .iter()
            .copied()
            .zip(out.indices[r.clone()].iter().copied())
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (slot, (d, j)) in r.zip(pairs) {
            out.distances[slot] = d;
            out.indices[slot] = j;
        }
    }
    out
}

/// The k nearest other points of every point of `points` (a point is not its own neighbour).
pub fn knn_graph(points: &Matrix, k: usize) -> Result<Neighbours> {
    let indices = nearest_neighbors(points, points, k, true)?;
    Ok(with_distances(points, points, k, indices))
}

/// The k nearest `reference` points of every `queries` point.
pub fn knn_query(reference: &Matrix, queries: &Matrix, k: usize) -> Result<Neighbours> {
    let indices = nearest_neighbors(reference, queries, k, false)?;
    Ok(with_distances(reference, queries, k, indices))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    #[test]
    fn graph_distances_are_exact_and_sorted() {
        let mut rng = Rng::new(3);
        let x = Matrix::from_vec(80, 5, (0..400).map(|_| rng.normal()).collect());
        let g = knn_graph(&x, 6).unwrap();
        for i in 0..80 {
            let (idx, d) = g.of(i);
            assert!(!idx.contains(&i));
            for (j, dj) in idx.iter().zip(d) {
                assert!((dj - distance(x.row(i), x.row(*j))).abs() < 1e-12);
            }
            assert!(d.windows(2).all(|w| w[0] <= w[1]));
            // nothing outside the list is nearer than its farthest member
            let far = d[5];
            assert!((0..80)
                .filter(|j| *j != i && !idx.contains(j))
                .all(|j| distance(x.row(i), x.row(j)) >= far - 1e-6));
        }
        let q = knn_query(&x, &x.slice_rows(0, 3), 1).unwrap();
        assert_eq!(
            q.indices,
            vec![0, 1, 2],
            "a point's nearest reference is itself"
        );
    }
}
