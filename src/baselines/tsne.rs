//! t-SNE (van der Maaten & Hinton 2008), exact and Barnes–Hut (van der Maaten 2014), with
//! scikit-learn's optimization schedule, so that its maps and ours can be compared as equals.
//!
//! ```text
//! p_{j|i} = exp(−βᵢ‖xᵢ − xⱼ‖²) / Σ_{l≠i} exp(−βᵢ‖xᵢ − x_l‖²),  βᵢ by bisection so that
//!           H(P_i) = log(perplexity)                      (over all j, or i's ⌊3·perp⌋+1 NN)
//! p_ij    = (p_{j|i} + p_{i|j}) / Σ (p_{j|i} + p_{i|j})
//! q_ij    = w_ij / Z,  w_ij = (1 + ‖yᵢ − yⱼ‖²)⁻¹,  Z = Σ_{k≠l} w_kl
//! C       = KL(P‖Q) = Σ p_ij log(p_ij / q_ij)
//! ∂C/∂yᵢ  = 4 Σⱼ (p_ij − q_ij) w_ij (yᵢ − yⱼ)
//!         = 4 [Σⱼ p_ij w_ij (yᵢ − yⱼ)  −  (1/Z) Σⱼ w_ij² (yᵢ − yⱼ)]   (attraction − repulsion)
//! ```
//!
//! Barnes–Hut sums the repulsion and `Z` over a quadtree of the map: a cell of `N` points whose
//! width `w` and distance `d` to yᵢ satisfy `w < θ d` counts as `N` points at its centre of
//! mass. The points of one leaf share one traversal (Barnes 1990's grouping, with the test made
//! against the leaf's nearest possible point, so no less accurate than per point). Attraction
//! runs over the sparse nearest-neighbour `P` exactly.
//!
//! Optimization (scikit-learn's `_gradient_descent`): `P` times 12 for the first 250 steps at
//! momentum 0.5, then momentum 0.8; per-coordinate gains +0.2 when the gradient's sign flips
//! against the last update, ×0.8 otherwise (floor 0.01); learning rate `max(n / 12 / 4, 50)`;
//! initial map the first principal components scaled to standard deviation 1e-4.

use crate::error::{Error, Result};
use crate::linalg::{Matrix, Rng};
use crate::neighbors::graph::knn_graph;
use rayon::prelude::*;

/// The floor scikit-learn puts under probabilities (`np.finfo(np.double).eps`).
const MACHINE_EPSILON: f64 = f64::EPSILON;

/// How the gradient is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TsneMethod {
    /// All pairs, `O(n²)` per step; dense `P` over all points.
    Exact,
    /// Quadtree repulsion (2-D maps only), `P` over the nearest neighbours.
    BarnesHut,
}

/// Where the map starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TsneInit {
    /// The first principal components, scaled to standard deviation 1e-4.
    Pca,
    /// Gaussian noise of standard deviation 1e-4.
    Random,
}

/// t-SNE's settings; the defaults are scikit-learn's.
#[derive(Clone, Debug)]
pub struct TsneOptions {
    pub perplexity: f64,
    pub early_exaggeration: f64,
    /// Steps with exaggerated `P` (and momentum 0.5).
    pub exaggeration_iterations: usize,
    /// All steps, the exaggerated ones included.
    pub iterations: usize,
    /// `None`: `max(n / early_exaggeration / 4, 50)`.
    pub learning_rate: Option<f64>,
    /// Barnes–Hut's opening angle.
    pub theta: f64,
    /// `None`: exact up to [`EXACT_UP_TO`] points, else Barnes–Hut.
    pub method: Option<TsneMethod>,
    pub init: TsneInit,
    pub seed: u64,
}

/// The most points `method = None` runs exactly.
pub const EXACT_UP_TO: usize = 2000;

impl Default for TsneOptions {
    fn default() -> Self {
        TsneOptions {
            perplexity: 30.0,
            early_exaggeration: 12.0,
            exaggeration_iterations: 250,
            iterations: 1000,
            learning_rate: None,
            theta: 0.5,
            method: None,
            init: TsneInit::Pca,
            seed: 0,
        }
    }
}

/// A t-SNE map of the points it was fitted on (t-SNE has no map for new points).
pub struct Tsne {
    /// `n × d`.
    pub embedding: Matrix,
    /// `KL(P‖Q)` at the end (Barnes–Hut: with its approximate `Z`).
    pub kl_divergence: f64,
    pub method: TsneMethod,
    pub iterations: usize,
}

/// Joint probabilities: dense `n × n` (exact) or compressed rows (Barnes–Hut).
enum Affinities {
    Dense(Vec<f64>),
    Sparse(SparseP),
}

/// Joint probabilities over the nearest-neighbour edges, in compressed rows.
struct SparseP {
    starts: Vec<usize>,
    targets: Vec<usize>,
    values: Vec<f64>,
}

/// `p_{·|i}` over the given squared distances, β by bisection to the perplexity (scikit-learn's
/// `_binary_search_perplexity`: 100 steps, entropy tolerance 1e-5).
pub fn conditional_probabilities(squared: &[f64], perplexity: f64) -> Vec<f64> {
    let target = perplexity.ln();
    let (mut beta, mut lo, mut hi) = (1.0f64, f64::NEG_INFINITY, f64::INFINITY);
    let mut p = vec![0.0f64; squared.len()];
    for _ in 0..100 {
        p.iter_mut()
            .zip(squared)
            .for_each(|(pj, d)| *pj = (-d * beta).exp());
        let mut sum: f64 = p.iter().sum();
        if sum == 0.0 {
            sum = 1e-8;
        }
        let weighted: f64 = p.iter().zip(squared).map(|(pj, d)| pj * d).sum::<f64>() / sum;
        let entropy = sum.ln() + beta * weighted;
        p.iter_mut().for_each(|pj| *pj /= sum);
        let diff = entropy - target;
        if diff.abs() <= 1e-5 {
            break;
        }
        if diff > 0.0 {
            lo = beta;
            beta = if hi == f64::INFINITY {
                beta * 2.0
            } else {
                (beta + hi) / 2.0
            };
        } else {
            hi = beta;
            beta = if lo == f64::NEG_INFINITY {
                beta / 2.0
            } else {
                (beta + lo) / 2.0
            };
        }
    }
    p
}

fn dense_affinities(x: &Matrix, perplexity: f64) -> Vec<f64> {
    let n = x.rows();
    let mut p = vec![0.0f64; n * n];
    p.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        let others: Vec<usize> = (0..n).filter(|j| *j != i).collect();
        let squared: Vec<f64> = others
            .iter()
            .map(|&j| crate::neighbors::graph::distance(x.row(i), x.row(j)).powi(2))
            .collect();
        for (j, v) in others
            .iter()
            .zip(conditional_probabilities(&squared, perplexity))
        {
            row[*j] = v;
        }
    });
    for i in 0..n {
        for j in 0..i {
            let s = p[i * n + j] + p[j * n + i];
            p[i * n + j] = s;
            p[j * n + i] = s;
        }
    }
    let total: f64 = p.iter().sum::<f64>().max(MACHINE_EPSILON);
    for i in 0..n {
        for j in 0..n {
            p[i * n + j] = if i == j {
                0.0
            } else {
                (p[i * n + j] / total).max(MACHINE_EPSILON)
            };
        }
    }
    p
}

fn sparse_affinities(x: &Matrix, perplexity: f64) -> Result<Affinities> {
    let n = x.rows();
    let k = ((3.0 * perplexity + 1.0) as usize).min(n - 1);
    let graph = knn_graph(x, k)?;
    let mut edges: Vec<(usize, usize, f64)> = (0..n)
        .into_par_iter()
        .flat_map_iter(|i| {
            let (idx, d) = graph.of(i);
            let squared: Vec<f64> = d.iter().map(|v| v * v).collect();
            let p = conditional_probabilities(&squared, perplexity);
            idx.iter()
                .zip(p)
                .map(move |(j, v)| (i, *j, v))
                .collect::<Vec<_>>()
        })
        .collect();
    let mirrored: Vec<(usize, usize, f64)> = edges.iter().map(|&(i, j, v)| (j, i, v)).collect();
    edges.extend(mirrored);
    edges.sort_by_key(|e| (e.0, e.1));
    let mut merged: Vec<(usize, usize, f64)> = Vec::with_capacity(edges.len());
    for e in edges {
        match merged.last_mut() {
            Some(last) if last.0 == e.0 && last.1 == e.1 => last.2 += e.2,
            _ => merged.push(e),
        }
    }
    let total: f64 = merged.iter().map(|e| e.2).sum::<f64>().max(MACHINE_EPSILON);
    let mut starts = vec![0usize; n + 1];
    merged.iter().for_each(|e| starts[e.0 + 1] += 1);
    (0..n).for_each(|i| starts[i + 1] += starts[i]);
    Ok(Affinities::Sparse(SparseP {
        starts,
        targets: merged.iter().map(|e| e.1).collect(),
        values: merged.iter().map(|e| e.2 / total).collect(),
    }))
}

/// `(KL, gradient)` of the exact objective at map `y` (`n × d` row-major), `P` scaled by
/// `exaggeration`.
pub(crate) fn exact_gradient(
    y: &[f64],
    d: usize,
    p: &[f64],
    exaggeration: f64,
    grad: &mut [f64],
) -> f64 {
    // the exact method's cost is all-pairs anyway: the KL term adds little
    let n = y.len() / d;
    let w = |i: usize, j: usize| -> f64 {
        let s: f64 = (0..d).map(|c| (y[i * d + c] - y[j * d + c]).powi(2)).sum();
        1.0 / (1.0 + s)
    };
    let row_sums: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| (0..n).filter(|j| *j != i).map(|j| w(i, j)).sum())
        .collect();
    let z: f64 = row_sums.iter().sum();
    let kl_rows: Vec<f64> = grad
        .par_chunks_mut(d)
        .enumerate()
        .map(|(i, g)| {
            g.fill(0.0);
            let mut kl = 0.0;
            for j in (0..n).filter(|j| *j != i) {
                let wij = w(i, j);
                let pij = exaggeration * p[i * n + j];
                let q = (wij / z).max(MACHINE_EPSILON);
                kl += pij * (pij.max(MACHINE_EPSILON) / q).ln();
                let f = 4.0 * (pij - wij / z) * wij;
                for c in 0..d {
                    g[c] += f * (y[i * d + c] - y[j * d + c]);
                }
            }
            kl
        })
        .collect();
    kl_rows.iter().sum()
}

/// Points per quadtree leaf: a leaf's points share one traversal (below).
const LEAF: usize = 8;

/// A quadtree cell over a range of the permuted points.
struct Cell {
    centre_of_mass: [f64; 2],
    count: usize,
    width: f64,
    /// Index of the first of four children; `usize::MAX` for a leaf.
    children: usize,
    start: usize,
    end: usize,
}

struct QuadTree {
    cells: Vec<Cell>,
    /// Point indices, permuted so that every cell covers a contiguous range.
    order: Vec<usize>,
}

impl QuadTree {
    fn new(y: &[f64]) -> QuadTree {
        let n = y.len() / 2;
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for i in 0..n {
            for c in 0..2 {
                lo[c] = lo[c].min(y[2 * i + c]);
                hi[c] = hi[c].max(y[2 * i + c]);
            }
        }
        let mut tree = QuadTree {
            cells: Vec::with_capacity(2 * n + 1),
            order: (0..n).collect(),
        };
        tree.cells.push(Cell {
            centre_of_mass: [0.0; 2],
            count: 0,
            width: 0.0,
            children: usize::MAX,
            start: 0,
            end: n,
        });
        tree.split(y, 0, lo, hi, 0);
        tree
    }

    fn split(&mut self, y: &[f64], cell: usize, lo: [f64; 2], hi: [f64; 2], depth: usize) {
        let (start, end) = (self.cells[cell].start, self.cells[cell].end);
        let count = end - start;
        let mut com = [0.0; 2];
        for &i in &self.order[start..end] {
            com[0] += y[2 * i];
            com[1] += y[2 * i + 1];
        }
        if count > 0 {
            com = [com[0] / count as f64, com[1] / count as f64];
        }
        let width = (hi[0] - lo[0]).max(hi[1] - lo[1]);
        let c = &mut self.cells[cell];
        c.centre_of_mass = com;
        c.count = count;
        c.width = width;
        // duplicates (or near-duplicates) stop the recursion: their leaf is summed exactly
        if count <= LEAF || depth >= 48 || width <= 1e-12 * (1.0 + com[0].abs() + com[1].abs()) {
            return;
        }
        let mid = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        let range = &mut self.order[start..end];
        let split_x = partition(range, |i| y[2 * i] < mid[0]);
        let (left, right) = range.split_at_mut(split_x);
        let split_left = partition(left, |i| y[2 * i + 1] < mid[1]);
        let split_right = partition(right, |i| y[2 * i + 1] < mid[1]);
        let bounds = [
            (start, start + split_left, [lo[0], lo[1]], [mid[0], mid[1]]),
            (
                start + split_left,
                start + split_x,
                [lo[0], mid[1]],
                [mid[0], hi[1]],
            ),
            (
                start + split_x,
                start + split_x + split_right,
                [mid[0], lo[1]],
                [hi[0], mid[1]],
            ),
            (
                start + split_x + split_right,
                end,
                [mid[0], mid[1]],
                [hi[0], hi[1]],
            ),
        ];
        let first = self.cells.len();
        self.cells[cell].children = first;
        for &(s, e, _, _) in &bounds {
            self.cells.push(Cell {
                centre_of_mass: [0.0; 2],
                count: 0,
                width: 0.0,
                children: usize::MAX,
                start: s,
                end: e,
            });
        }
        for (q, &(_, _, l, h)) in bounds.iter().enumerate() {
            self.split(y, first + q, l, h, depth + 1);
        }
    }

    /// `(Σⱼ w_ij² (yᵢ − yⱼ), Σⱼ w_ij)` over j ≠ i for every point, by leaf: one traversal per
    /// leaf builds the list of sources all its points see — cells with `width < θ·(d − r)`,
    /// `d` the distance from the leaf's bounding-box centre to the cell's centre of mass and `r`
    /// the box's half diagonal (so `width < θ·‖yᵢ − com‖` holds for each point: at least as
    /// accurate as the per-point test), other points one by one — then sums them with one
    /// vectorized loop per point (Barnes 1990's grouping).
    fn repulsion(&self, y: &[f64], theta: f64) -> Vec<([f64; 2], f64)> {
        let leaves: Vec<usize> = (0..self.cells.len())
            .filter(|&c| self.cells[c].children == usize::MAX && self.cells[c].count > 0)
            .collect();
        let per_leaf: Vec<Vec<(usize, [f64; 2], f64)>> = leaves
            .par_iter()
            .map_init(Sources::default, |src, &leaf| {
                let points = &self.order[self.cells[leaf].start..self.cells[leaf].end];
                let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
                for &i in points {
                    for c in 0..2 {
                        lo[c] = lo[c].min(y[2 * i + c]);
                        hi[c] = hi[c].max(y[2 * i + c]);
                    }
                }
                let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
                let radius = 0.5 * ((hi[0] - lo[0]).powi(2) + (hi[1] - lo[1]).powi(2)).sqrt();
                src.clear();
                src.stack.push(0);
                while let Some(c) = src.stack.pop() {
                    let cell = &self.cells[c];
                    if cell.count == 0 {
                        continue;
                    }
                    if cell.children == usize::MAX {
                        for &j in &self.order[cell.start..cell.end] {
                            src.push(y[2 * j], y[2 * j + 1], 1.0);
                        }
                        continue;
                    }
                    let (d0, d1) = (
                        centre[0] - cell.centre_of_mass[0],
                        centre[1] - cell.centre_of_mass[1],
                    );
                    let gap = (d0 * d0 + d1 * d1).sqrt() - radius;
                    if gap > 0.0 && cell.width < theta * gap {
                        let [c0, c1] = cell.centre_of_mass;
                        src.push(c0, c1, cell.count as f64);
                    } else {
                        src.stack.extend(cell.children..cell.children + 4);
                    }
                }
                points
                    .iter()
                    .map(|&i| {
                        let [z, f0, f1] =
                            interactions(y[2 * i], y[2 * i + 1], &src.x, &src.y, &src.mass);
                        // the leaf's own point i is among the sources, at distance 0: w = 1
                        (i, [f0, f1], z - 1.0)
                    })
                    .collect()
            })
            .collect();
        let mut out = vec![([0.0; 2], 0.0); y.len() / 2];
        for (i, f, z) in per_leaf.into_iter().flatten() {
            out[i] = (f, z);
        }
        out
    }
}

/// Sources of repulsion one leaf's points see, struct-of-arrays for the vectorized sum.
#[derive(Default)]
struct Sources {
    x: Vec<f64>,
    y: Vec<f64>,
    mass: Vec<f64>,
    stack: Vec<usize>,
}

impl Sources {
    fn clear(&mut self) {
        self.x.clear();
        self.y.clear();
        self.mass.clear();
        self.stack.clear();
    }
    fn push(&mut self, x: f64, y: f64, mass: f64) {
        self.x.push(x);
        self.y.push(y);
        self.mass.push(mass);
    }
}

crate::linalg::fastmath::simd_dispatch! {
    /// `[Σ m w, Σ m w² (x − sx), Σ m w² (y − sy)]`, `w = 1 / (1 + ‖(x, y) − s‖²)`, over the sources:
    /// four independent lanes in a fixed order, so every SIMD copy sums identically.
    fn interactions(x: f64, y: f64, sx: &[f64], sy: &[f64], mass: &[f64]) -> [f64; 3] {
        const L: usize = 4;
        let (mut z, mut f0, mut f1) = ([0.0f64; L], [0.0f64; L], [0.0f64; L]);
        let n = sx.len() / L * L;
        for ((cx, cy), cm) in sx[..n].chunks_exact(L).zip(sy[..n].chunks_exact(L)).zip(mass[..n].chunks_exact(L)) {
            for l in 0..L {
                let (d0, d1) = (x - cx[l], y - cy[l]);
                let w = 1.0 / (1.0 + d0 * d0 + d1 * d1);
                let mw = cm[l] * w;
                z[l] += mw;
                f0[l] += mw * w * d0;
                f1[l] += mw * w * d1;
            }
        }
        for e in n..sx.len() {
            let (d0, d1) = (x - sx[e], y - sy[e]);
            let w = 1.0 / (1.0 + d0 * d0 + d1 * d1);
            let mw = mass[e] * w;
            z[0] += mw;
            f0[0] += mw * w * d0;
            f1[0] += mw * w * d1;
        }
        let sum = |a: [f64; L]| (a[0] + a[1]) + (a[2] + a[3]);
        [sum(z), sum(f0), sum(f1)]
    }
}

/// Moves the items satisfying `pred` to the front; returns how many there are.
fn partition(items: &mut [usize], pred: impl Fn(usize) -> bool) -> usize {
    let mut first = 0;
    for k in 0..items.len() {
        if pred(items[k]) {
            items.swap(first, k);
            first += 1;
        }
    }
    first
}

/// `(KL, gradient)` with Barnes–Hut repulsion (2-D map `y`); KL is 0 unless `with_kl`.
fn barnes_hut_gradient(
    y: &[f64],
    p: &SparseP,
    exaggeration: f64,
    theta: f64,
    grad: &mut [f64],
    with_kl: bool,
) -> f64 {
    let tree = QuadTree::new(y);
    let repulsion = tree.repulsion(y, theta);
    let z: f64 = repulsion
        .iter()
        .map(|r| r.1)
        .sum::<f64>()
        .max(MACHINE_EPSILON);
    let kl_rows: Vec<f64> = grad
        .par_chunks_mut(2)
        .enumerate()
        .map(|(i, g)| {
            let (mut a0, mut a1, mut kl) = (0.0f64, 0.0f64, 0.0f64);
            for e in p.starts[i]..p.starts[i + 1] {
                let j = p.targets[e];
                let pij = exaggeration * p.values[e];
                let (d0, d1) = (y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]);
                let w = 1.0 / (1.0 + d0 * d0 + d1 * d1);
                a0 += pij * w * d0;
                a1 += pij * w * d1;
                if with_kl {
                    // a logarithm per edge: a quarter of the step if done every step
                    kl += pij * (pij.max(MACHINE_EPSILON) / (w / z).max(MACHINE_EPSILON)).ln();
                }
            }
            let ([r0, r1], _) = repulsion[i];
            g[0] = 4.0 * (a0 - r0 / z);
            g[1] = 4.0 * (a1 - r1 / z);
            kl
        })
        .collect();
    kl_rows.iter().sum()
}

fn initial_map(x: &Matrix, dim: usize, init: TsneInit, seed: u64) -> Result<Vec<f64>> {
    let n = x.rows();
    match init {
        TsneInit::Random => {
            let mut rng = Rng::new(seed);
            Ok((0..n * dim).map(|_| 1e-4 * rng.normal() as f64).collect())
        }
        TsneInit::Pca => {
            if dim > x.cols() {
                return Err(Error::Invalid(format!(
                    "t-SNE: a PCA start needs dimension ≤ the data's {} columns",
                    x.cols()
                )));
            }
            let pca = super::Pca::fit(x, dim)?;
            let z = pca.transform(x)?;
            let mut y: Vec<f64> = z.as_slice().iter().map(|v| *v as f64).collect();
            let mean = (0..n).map(|i| y[i * dim]).sum::<f64>() / n as f64;
            let var = (0..n).map(|i| (y[i * dim] - mean).powi(2)).sum::<f64>() / n as f64;
            let scale = 1e-4 / var.sqrt().max(f64::MIN_POSITIVE);
            y.iter_mut().for_each(|v| *v *= scale);
            Ok(y)
        }
    }
}

/// Fits a `dim`-dimensional t-SNE map of `x`.
pub fn fit(x: &Matrix, dim: usize, options: &TsneOptions) -> Result<Tsne> {
    let n = x.rows();
    let o = options;
    if dim == 0 {
        return Err(Error::Invalid("t-SNE: dimension must be at least 1".into()));
    }
    if !(o.perplexity > 0.0 && o.perplexity.is_finite()) || o.perplexity >= n as f64 {
        return Err(Error::Invalid(format!(
            "t-SNE: perplexity must be positive and below the number of points ({n}), got {}",
            o.perplexity
        )));
    }
    if !(o.theta >= 0.0 && o.theta.is_finite() && o.early_exaggeration > 0.0) {
        return Err(Error::Invalid(
            "t-SNE: theta must be ≥ 0 and early exaggeration > 0".into(),
        ));
    }
    let method = o.method.unwrap_or(if n <= EXACT_UP_TO || dim != 2 {
        TsneMethod::Exact
    } else {
        TsneMethod::BarnesHut
    });
    if method == TsneMethod::BarnesHut && dim != 2 {
        return Err(Error::Invalid(format!(
            "t-SNE: Barnes–Hut builds a quadtree, so it makes 2-D maps; use the exact method for dimension {dim}"
        )));
    }
    let affinities = match method {
        TsneMethod::Exact => {
            crate::limits::check_floats(
                "tsne",
                2 * (n as u128) * (n as u128),
                &format!("exact t-SNE's dense {n} × {n} P"),
            )?;
            Affinities::Dense(dense_affinities(x, o.perplexity))
        }
        TsneMethod::BarnesHut => sparse_affinities(x, o.perplexity)?,
    };
    let mut y = initial_map(x, dim, o.init, o.seed)?;
    let learning_rate = o
        .learning_rate
        .unwrap_or((n as f64 / o.early_exaggeration / 4.0).max(50.0));
    let mut update = vec![0.0f64; n * dim];
    let mut gains = vec![1.0f64; n * dim];
    let mut grad = vec![0.0f64; n * dim];
    let mut kl = f64::NAN;
    for step in 0..o.iterations {
        let exploring = step < o.exaggeration_iterations;
        let (exaggeration, momentum) = if exploring {
            (o.early_exaggeration, 0.5)
        } else {
            (1.0, 0.8)
        };
        kl = match &affinities {
            Affinities::Dense(p) => exact_gradient(&y, dim, p, exaggeration, &mut grad),
            Affinities::Sparse(p) => barnes_hut_gradient(
                &y,
                p,
                exaggeration,
                o.theta,
                &mut grad,
                step + 1 == o.iterations,
            ),
        };
        for e in 0..n * dim {
            if update[e] * grad[e] < 0.0 {
                gains[e] += 0.2;
            } else {
                gains[e] *= 0.8;
            }
            gains[e] = gains[e].max(0.01);
            update[e] = momentum * update[e] - learning_rate * gains[e] * grad[e];
            y[e] += update[e];
        }
        if !y.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite(format!(
                "t-SNE diverged at step {step}; lower the learning rate"
            )));
        }
    }
    Ok(Tsne {
        embedding: Matrix::from_vec(n, dim, y.iter().map(|v| *v as f32).collect()),
        kl_divergence: kl,
        method,
        iterations: o.iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clusters(per: usize, d: usize, seed: u64) -> (Matrix, Vec<i64>) {
        let mut rng = Rng::new(seed);
        let mut v = Vec::new();
        let mut labels = Vec::new();
        for c in 0..3 {
            for _ in 0..per {
                for j in 0..d {
                    v.push(rng.normal() + if j == c { 8.0 } else { 0.0 });
                }
                labels.push(c as i64);
            }
        }
        (Matrix::from_vec(3 * per, d, v), labels)
    }

    #[test]
    fn perplexity_search_hits_its_target() {
        let squared: Vec<f64> = (0..90)
            .map(|j| (j as f64 * 0.37).sin().abs() * 5.0)
            .collect();
        let p = conditional_probabilities(&squared, 20.0);
        let entropy: f64 = -p
            .iter()
            .filter(|v| **v > 0.0)
            .map(|v| v * v.ln())
            .sum::<f64>();
        assert!((entropy - 20f64.ln()).abs() < 1e-4, "{entropy}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    fn kl_at(y: &[f64], d: usize, p: &[f64]) -> f64 {
        let mut g = vec![0.0; y.len()];
        exact_gradient(y, d, p, 1.0, &mut g)
    }

    #[test]
    fn exact_gradient_matches_finite_differences() {
        let (x, _) = clusters(4, 5, 1);
        let p = dense_affinities(&x, 3.0);
        let mut rng = Rng::new(2);
        let y: Vec<f64> = (0..12 * 2).map(|_| rng.normal() as f64).collect();
        let mut g = vec![0.0; y.len()];
        exact_gradient(&y, 2, &p, 1.0, &mut g);
        for e in 0..y.len() {
            let h = 1e-6;
            let (mut a, mut b) = (y.clone(), y.clone());
            a[e] += h;
            b[e] -= h;
            let fd = (kl_at(&a, 2, &p) - kl_at(&b, 2, &p)) / (2.0 * h);
            assert!(
                (fd - g[e]).abs() < 1e-6 * (1.0 + fd.abs()),
                "{e}: {fd} vs {}",
                g[e]
            );
        }
    }

    #[test]
    fn barnes_hut_with_theta_zero_is_exact() {
        let (x, _) = clusters(100, 4, 3);
        let n = x.rows();
        let p = dense_affinities(&x, 5.0);
        let mut starts = vec![0];
        let (mut targets, mut values) = (Vec::new(), Vec::new());
        for i in 0..n {
            for j in (0..n).filter(|j| *j != i) {
                targets.push(j);
                values.push(p[i * n + j]);
            }
            starts.push(targets.len());
        }
        let mut rng = Rng::new(4);
        let y: Vec<f64> = (0..n * 2).map(|_| 3.0 * rng.normal() as f64).collect();
        let (mut exact, mut bh, mut rough) = (vec![0.0; 2 * n], vec![0.0; 2 * n], vec![0.0; 2 * n]);
        let kl_exact = exact_gradient(&y, 2, &p, 1.0, &mut exact);
        let sparse = SparseP {
            starts,
            targets,
            values,
        };
        let kl_bh = barnes_hut_gradient(&y, &sparse, 1.0, 0.0, &mut bh, true);
        barnes_hut_gradient(&y, &sparse, 1.0, 0.5, &mut rough, false);
        for e in 0..2 * n {
            assert!(
                (exact[e] - bh[e]).abs() < 1e-10,
                "{e}: {} vs {}",
                exact[e],
                bh[e]
            );
        }
        assert!((kl_exact - kl_bh).abs() < 1e-9);
        // θ = 0.5 approximates it
        let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
        let diff: Vec<f64> = exact.iter().zip(&rough).map(|(a, b)| a - b).collect();
        assert!(
            norm(&diff) < 0.1 * norm(&exact),
            "{} vs {}",
            norm(&diff),
            norm(&exact)
        );
        assert!(norm(&diff) > 0.0, "θ = 0.5 summarizes some cells");
    }

    #[test]
    fn maps_separate_clusters_both_ways() {
        use crate::analysis::embedding_quality::knn_accuracy;
        let (x, labels) = clusters(60, 10, 5);
        for method in [TsneMethod::Exact, TsneMethod::BarnesHut] {
            let options = TsneOptions {
                perplexity: 15.0,
                iterations: 400,
                method: Some(method),
                ..TsneOptions::default()
            };
            let map = fit(&x, 2, &options).unwrap();
            assert_eq!(map.method, method);
            let acc = knn_accuracy(&map.embedding, &labels, 5).unwrap();
            assert!(acc > 0.98, "{method:?}: {acc}");
            assert!(
                map.kl_divergence.is_finite() && map.kl_divergence < 2.0,
                "{}",
                map.kl_divergence
            );
            // same seed, same map
            let again = fit(&x, 2, &options).unwrap();
            assert_eq!(map.embedding, again.embedding);
        }
        let too_high = TsneOptions {
            perplexity: 500.0,
            ..TsneOptions::default()
        };
        assert!(fit(&x, 2, &too_high).is_err());
        let bh3 = TsneOptions {
            method: Some(TsneMethod::BarnesHut),
            ..TsneOptions::default()
        };
        assert!(fit(&x, 3, &bh3).is_err());
    }
}
