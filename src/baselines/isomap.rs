//! Isomap (Tenenbaum, de Silva & Langford 2000), the nonparametric manifold learner of §14.6,
//! with the out-of-sample extension scikit-learn's `Isomap.transform` uses.
//!
//! ```text
//! graph:    i ~ j  when j is among i's k nearest neighbours or i among j's; edge = ‖xᵢ − xⱼ‖
//! geodesic: G = all-pairs shortest paths on the graph (Dijkstra from every point)
//! kernel:   K = −½ H (G ∘ G) H,   H = I − 11ᵀ/n          (classical MDS on geodesics)
//! map:      Y = V Λ^{1/2},  (Λ, V) the d largest eigenpairs of K
//! new x:    gⱼ = min_{l ∈ kNN(x)} ‖x − x_l‖ + G_{lj};  k = −½ g∘g centred with the training
//!           kernel's column means;  y = Λ^{-1/2} Vᵀ k
//! ```
//!
//! A graph in several pieces is joined by the shortest edge from its smallest piece to the
//! rest, until it is one (scikit-learn does the same, with a warning). The geodesic matrix is
//! dense `n × n`: memory bounds `n` (about 1.2 GB at n = 10,000).

use super::spectral::{fix_signs, top_eigenpairs};
use crate::error::{Error, Result};
use crate::linalg::Matrix;
use crate::neighbors::graph::{distance, knn_graph, knn_query};
use faer::Mat;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A fitted Isomap: the training points' map and what embedding new points needs.
pub struct Isomap {
    train: Matrix,
    neighbors: usize,
    /// `n × n` geodesic distances, symmetric.
    geodesic: Vec<f32>,
    /// Column means of the uncentred kernel `−½ G∘G`, and their mean.
    kernel_means: Vec<f64>,
    kernel_mean: f64,
    /// `n × d` unit eigenvectors of the centred kernel and their eigenvalues.
    vectors: Mat<f64>,
    values: Vec<f64>,
    embedding: Matrix,
    /// Edges added to join a graph in several pieces.
    pub joining_edges: usize,
    /// Eigensolver iterations, and whether it met its tolerance.
    pub eigen_iterations: usize,
    pub eigen_converged: bool,
}

/// An undirected weighted graph in compressed rows.
struct Graph {
    starts: Vec<usize>,
    targets: Vec<u32>,
    weights: Vec<f32>,
}

impl Graph {
    fn from_edges(n: usize, mut edges: Vec<(u32, u32, f32)>) -> Graph {
        let mirrored: Vec<(u32, u32, f32)> = edges.iter().map(|&(i, j, w)| (j, i, w)).collect();
        edges.extend(mirrored);
        edges.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
        edges.dedup_by(|later, first| later.0 == first.0 && later.1 == first.1);
        let mut starts = vec![0usize; n + 1];
        for e in &edges {
            starts[e.0 as usize + 1] += 1;
        }
        for i in 0..n {
            starts[i + 1] += starts[i];
        }
        Graph {
            starts,
            targets: edges.iter().map(|e| e.1).collect(),
            weights: edges.iter().map(|e| e.2).collect(),
        }
    }

    fn neighbours(&self, i: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let r = self.starts[i]..self.starts[i + 1];
        self.targets[r.clone()]
            .iter()
            .zip(&self.weights[r])
            .map(|(t, w)| (*t as usize, *w))
    }

    /// Component label of every vertex (labels 0.., in order of first vertex).
    fn components(&self) -> (Vec<usize>, usize) {
        let n = self.starts.len() - 1;
        let mut label = vec![usize::MAX; n];
        let mut count = 0;
        let mut stack = Vec::new();
        for s in 0..n {
            if label[s] != usize::MAX {
                continue;
            }
            label[s] = count;
            stack.push(s);
            while let Some(u) = stack.pop() {
                for (v, _) in self.neighbours(u) {
                    if label[v] == usize::MAX {
                        label[v] = count;
                        stack.push(v);
                    }
                }
            }
            count += 1;
        }
        (label, count)
    }

    /// Dijkstra from `source` into `out` (a binary heap of `(distance bits, vertex)` keys: a
    /// nonnegative f32's bits order like its value, so the heap compares plain integers).
    fn shortest_paths(&self, source: usize, out: &mut [f32], heap: &mut BinaryHeap<Reverse<u64>>) {
        out.fill(f32::INFINITY);
        out[source] = 0.0;
        heap.clear();
        heap.push(Reverse(source as u64));
        while let Some(Reverse(key)) = heap.pop() {
            let (d, u) = (
                f32::from_bits((key >> 32) as u32),
                (key & 0xffff_ffff) as usize,
            );
            if d > out[u] {
                continue;
            }
            for (v, w) in self.neighbours(u) {
                let nd = d + w;
                if nd < out[v] {
                    out[v] = nd;
                    heap.push(Reverse(((nd.to_bits() as u64) << 32) | v as u64));
                }
            }
        }
    }
}

/// Joins the pieces of the neighbour graph: the smallest piece gets the shortest edge to any
/// point outside it, until one piece is left. Returns the edges added.
fn join_components(x: &Matrix, edges: &mut Vec<(u32, u32, f32)>) -> usize {
    let n = x.rows();
    let mut added = 0;
    loop {
        let graph = Graph::from_edges(n, edges.clone());
        let (label, count) = graph.components();
        if count <= 1 {
            return added;
        }
        let mut sizes = vec![0usize; count];
        label.iter().for_each(|l| sizes[*l] += 1);
        let smallest = (0..count).min_by_key(|c| (sizes[*c], *c)).unwrap_or(0);
        let inside: Vec<usize> = (0..n).filter(|i| label[*i] == smallest).collect();
        let best = inside
            .par_iter()
            .map(|&a| {
                (0..n)
                    .filter(|b| label[*b] != smallest)
                    .map(|b| (distance(x.row(a), x.row(b)), a, b))
                    .min_by(|p, q| p.0.total_cmp(&q.0).then((p.1, p.2).cmp(&(q.1, q.2))))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .min_by(|p, q| p.0.total_cmp(&q.0).then((p.1, p.2).cmp(&(q.1, q.2))));
        let Some((d, a, b)) = best else { return added };
        edges.push((a as u32, b as u32, d as f32));
        added += 1;
    }
}

impl Isomap {
    /// Fits a `dim`-dimensional Isomap of `x` on its `neighbors`-nearest-neighbour graph.
    pub fn fit(x: &Matrix, dim: usize, neighbors: usize, seed: u64) -> Result<Isomap> {
        let n = x.rows();
        if dim == 0 || dim >= n {
            return Err(Error::Invalid(format!(
                "Isomap: dimension {dim} must be between 1 and points − 1 = {}",
                n.saturating_sub(1)
            )));
        }
        // geodesics (f32) + centred kernel (f64) + the eigensolver's blocks
        crate::limits::check_floats(
            "isomap",
            3 * (n as u128) * (n as u128),
            &format!("Isomap's dense {n} × {n} geodesic and kernel matrices"),
        )?;
        let graph = knn_graph(x, neighbors)?;
        let mut edges: Vec<(u32, u32, f32)> = (0..n)
            .flat_map(|i| {
                let (idx, d) = graph.of(i);
                idx.iter()
                    .zip(d)
                    .map(move |(j, dj)| (i as u32, *j as u32, *dj as f32))
                    .collect::<Vec<_>>()
            })
            .collect();
        let joining_edges = join_components(x, &mut edges);
        let graph = Graph::from_edges(n, edges);
        let mut geodesic = vec![0.0f32; n * n];
        geodesic
            .par_chunks_mut(n)
            .enumerate()
            .for_each_init(BinaryHeap::new, |heap, (s, row)| {
                graph.shortest_paths(s, row, heap)
            });
        // the two directions of a path sum in different orders: average them
        for i in 0..n {
            for j in 0..i {
                let m = 0.5 * (geodesic[i * n + j] + geodesic[j * n + i]);
                geodesic[i * n + j] = m;
                geodesic[j * n + i] = m;
            }
        }
        let kernel_means: Vec<f64> = geodesic
            .par_chunks(n)
            .map(|row| row.iter().map(|g| -0.5 * (*g as f64).powi(2)).sum::<f64>() / n as f64)
            .collect();
        let kernel_mean = kernel_means.iter().sum::<f64>() / n as f64;
        let kernel = Mat::<f64>::from_fn(n, n, |i, j| {
            -0.5 * (geodesic[i * n + j] as f64).powi(2) - kernel_means[i] - kernel_means[j]
                + kernel_mean
        });
        let eig = top_eigenpairs(n, dim, &|q| &kernel * q, None, 1e-9, 1000, seed)?;
        drop(kernel);
        let mut vectors = eig.vectors;
        fix_signs(&mut vectors);
        let values: Vec<f64> = eig.values.iter().map(|v| v.max(0.0)).collect();
        let embedding = Matrix::from_fn(n, dim, |i, j| (vectors[(i, j)] * values[j].sqrt()) as f32);
        Ok(Isomap {
            train: x.clone(),
            neighbors,
            geodesic,
            kernel_means,
            kernel_mean,
            vectors,
            values,
            embedding,
            joining_edges,
            eigen_iterations: eig.iterations,
            eigen_converged: eig.converged,
        })
    }

    /// The training points' map, `n × d`.
    pub fn embedding(&self) -> &Matrix {
        &self.embedding
    }

    /// The eigenvalues of the centred kernel behind each map axis, largest first.
    pub fn eigenvalues(&self) -> &[f64] {
        &self.values
    }

    /// Embeds new points: geodesics through their nearest training points, then the kernel
    /// projection (module header).
    pub fn transform(&self, x: &Matrix) -> Result<Matrix> {
        if x.cols() != self.train.cols() {
            return Err(Error::Shape(format!(
                "data has {} columns, Isomap was fit on {}",
                x.cols(),
                self.train.cols()
            )));
        }
        let n = self.train.rows();
        let dim = self.values.len();
        let nb = knn_query(&self.train, x, self.neighbors)?;
        let rows: Vec<Vec<f32>> = (0..x.rows())
            .into_par_iter()
            .map(|q| {
                let (idx, d) = nb.of(q);
                let mut g = vec![f64::INFINITY; n];
                for (l, dl) in idx.iter().zip(d) {
                    let row = &self.geodesic[l * n..(l + 1) * n];
                    for (gj, glj) in g.iter_mut().zip(row) {
                        *gj = gj.min(dl + *glj as f64);
                    }
                }
                let k: Vec<f64> = g.iter().map(|v| -0.5 * v * v).collect();
                let row_mean = k.iter().sum::<f64>() / n as f64;
                (0..dim)
                    .map(|c| {
                        let dot: f64 = (0..n)
                            .map(|j| {
                                (k[j] - row_mean - self.kernel_means[j] + self.kernel_mean)
                                    * self.vectors[(j, c)]
                            })
                            .sum();
                        (dot / self.values[c].sqrt().max(f64::MIN_POSITIVE)) as f32
                    })
                    .collect()
            })
            .collect();
        Ok(Matrix::from_vec(x.rows(), dim, rows.concat()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    /// Pearson correlation of two columns.
    fn correlation(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        cov / (va * vb).sqrt()
    }

    /// A swiss roll: the unrolled coordinates (arc length along the spiral, height) and the 3-D
    /// points.
    fn swiss_roll(n: usize, seed: u64) -> (Vec<[f64; 2]>, Matrix) {
        let mut rng = Rng::new(seed);
        let mut flat = Vec::with_capacity(n);
        let mut x = Vec::with_capacity(3 * n);
        for _ in 0..n {
            let t = 1.5 * std::f64::consts::PI * (1.0 + 2.0 * rng.uniform() as f64);
            let h = 21.0 * rng.uniform() as f64;
            // arc length of the spiral r = t from 0 to t
            let s = 0.5 * (t * (1.0 + t * t).sqrt() + t.asinh());
            flat.push([s, h]);
            x.extend([(t * t.cos()) as f32, h as f32, (t * t.sin()) as f32]);
        }
        (flat, Matrix::from_vec(n, 3, x))
    }

    /// The best |correlation| of the map with the unrolled coordinates, after the rotation that
    /// least-squares fits one to the other (the map is unique up to rotation and sign).
    fn recovered(flat: &[[f64; 2]], map: &Matrix) -> f64 {
        let n = flat.len();
        let y = Mat::<f64>::from_fn(n, 2, |i, j| map.row(i)[j] as f64);
        let t = Mat::<f64>::from_fn(n, 2, |i, j| flat[i][j]);
        // least-squares linear fit t ≈ [y 1] B, then correlation of each fitted column
        let design = Mat::<f64>::from_fn(n, 3, |i, j| if j < 2 { y[(i, j)] } else { 1.0 });
        let gram = design.transpose() * &design;
        let rhs = design.transpose() * &t;
        let b = faer::linalg::solvers::Solve::solve(&gram.llt(faer::Side::Lower).unwrap(), &rhs);
        let fit = &design * &b;
        (0..2)
            .map(|j| {
                let a: Vec<f64> = (0..n).map(|i| fit[(i, j)]).collect();
                let c: Vec<f64> = (0..n).map(|i| t[(i, j)]).collect();
                correlation(&a, &c)
            })
            .fold(f64::INFINITY, f64::min)
    }

    #[test]
    fn unrolls_a_swiss_roll() {
        let (flat, x) = swiss_roll(800, 1);
        let iso = Isomap::fit(&x, 2, 10, 0).unwrap();
        assert!(iso.eigen_converged);
        let r = recovered(&flat, iso.embedding());
        assert!(r >= 0.99, "correlation with the unrolled coordinates {r}");
        // PCA of the same points does not unroll it
        let pca = crate::baselines::Pca::fit(&x, 2).unwrap();
        let r_pca = recovered(&flat, &pca.transform(&x).unwrap());
        assert!(r_pca < 0.9, "PCA {r_pca}");
    }

    #[test]
    fn new_points_land_where_the_training_points_did() {
        let (_, x) = swiss_roll(500, 2);
        let iso = Isomap::fit(&x, 2, 8, 0).unwrap();
        // a training point embedded "out of sample" is its own nearest neighbour at distance 0:
        // its geodesic row is its own, so it maps to its training coordinates
        let again = iso.transform(&x.slice_rows(0, 20)).unwrap();
        for i in 0..20 {
            for j in 0..2 {
                let (a, b) = (again.row(i)[j], iso.embedding().row(i)[j]);
                assert!(
                    (a - b).abs() < 1e-3 * (1.0 + b.abs()),
                    "{i},{j}: {a} vs {b}"
                );
            }
        }
        // a new point from the same roll lands near its nearest training point's image
        let (_, fresh) = swiss_roll(5, 3);
        let y = iso.transform(&fresh).unwrap();
        let nb = knn_query(&x, &fresh, 1).unwrap();
        let spread = {
            let e = iso.embedding();
            let col: Vec<f32> = (0..e.rows()).map(|i| e.row(i)[0]).collect();
            col.iter().cloned().fold(f32::MIN, f32::max)
                - col.iter().cloned().fold(f32::MAX, f32::min)
        };
        for q in 0..5 {
            let near = iso.embedding().row(nb.indices[q]);
            let gap = ((y.row(q)[0] - near[0]).powi(2) + (y.row(q)[1] - near[1]).powi(2)).sqrt();
            assert!(gap < 0.05 * spread, "point {q}: {gap} vs spread {spread}");
        }
    }

    #[test]
    fn joins_a_graph_in_pieces() {
        // two far clusters: the 3-NN graph has two pieces; one edge joins them
        let mut rng = Rng::new(4);
        let mut v: Vec<f32> = (0..120).map(|_| rng.normal()).collect();
        v[60..].iter_mut().step_by(2).for_each(|a| *a += 100.0);
        let x = Matrix::from_vec(60, 2, v);
        let iso = Isomap::fit(&x, 2, 3, 0).unwrap();
        assert_eq!(iso.joining_edges, 1);
        assert!(iso.embedding().as_slice().iter().all(|v| v.is_finite()));
        assert!(Isomap::fit(&x, 0, 3, 0).is_err());
        assert!(Isomap::fit(&x, 2, 60, 0).is_err());
    }
}
