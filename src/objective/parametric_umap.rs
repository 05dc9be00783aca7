//! Parametric UMAP (Sainburg, McInnes & Gentner 2021, "Parametric UMAP embeddings for
//! representation and semisupervised learning"; the graph and the curve of McInnes, Healy &
//! Melville 2018) as a code term `Ω(h, x)`: the encoder is trained so that its codes keep the
//! training set's fuzzy neighbourhood graph, and it then maps unseen points by a forward pass.
//!
//! ```text
//! graph (once, from the clean training inputs, k = neighbors counting the point itself):
//!   ρᵢ = distance to i's nearest neighbour,  σᵢ:  Σⱼ exp(−(dᵢⱼ − ρᵢ)₊ / σᵢ) = log₂ k
//!   vᵢⱼ = exp(−(dᵢⱼ − ρᵢ)₊ / σᵢ),           wᵢⱼ = vᵢⱼ + vⱼᵢ − vᵢⱼ vⱼᵢ   (fuzzy union)
//! code similarity:  q(h, h') = 1 / (1 + a ‖h − h'‖^{2b}),  a, b fitted to min_dist
//! per batch of B rows laid out as B/2 edges (h₂ₖ, h₂ₖ₊₁) drawn with probability ∝ wᵢⱼ,
//! each head also paired with `negatives` other edges' tails (h₂ₖ, h₂₍ₖ₊ᵣ₎₊₁), r = 1…n:
//!   Ω = λ/(B/2) [ Σₖ −log q(h₂ₖ, h₂ₖ₊₁) + Σₖ Σᵣ −log(1 − q(h₂ₖ, h₂₍ₖ₊ᵣ₎₊₁) + ε) ]
//! ```
//!
//! The loss is UMAP's fuzzy-set cross-entropy with its edge sampling (an edge drawn ∝ its
//! weight has target 1; a random pair has target 0), as parametric UMAP trains it. The loop
//! asks the learner for each epoch's order of rows ([`crate::train::Learner::draw_order`]);
//! [`FuzzyGraph::draw_pairs`] fills it with edges.

use crate::error::{Error, Result};
use crate::linalg::{Matrix, Rng};
use crate::neighbors::graph::knn_graph;

/// `ε` of the repulsive term: keeps `−log(1 − q)` finite when a negative pair coincides.
const REPULSION_EPS: f64 = 1e-4;
/// Floor on `‖h − h'‖²` where the curve's `s^{b−1}` would divide by zero.
const MIN_SQUARED: f64 = 1e-12;

/// The curve `q(d) = 1/(1 + a d^{2b})` closest in least squares to UMAP's target
/// `1` for `d < min_dist`, `exp(−(d − min_dist)/spread)` beyond, on 300 points of `[0, 3·spread]`
/// (umap-learn's `find_ab_params`, there by SciPy's `curve_fit`; here by Levenberg–Marquardt
/// from the same start, a = b = 1).
pub fn fit_ab(min_dist: f32, spread: f32) -> (f32, f32) {
    let (min_dist, spread) = (min_dist as f64, spread as f64);
    let xs: Vec<f64> = (0..300).map(|i| 3.0 * spread * i as f64 / 299.0).collect();
    let target: Vec<f64> = xs
        .iter()
        .map(|&x| {
            if x < min_dist {
                1.0
            } else {
                (-(x - min_dist) / spread).exp()
            }
        })
        .collect();
    let residual = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&target)
            .map(|(&x, &t)| {
                let m = 1.0 / (1.0 + a * x.powf(2.0 * b));
                (m - t) * (m - t)
            })
            .sum()
    };
    let (mut a, mut b, mut damping) = (1.0f64, 1.0f64, 1e-3f64);
    let mut cost = residual(a, b);
    for _ in 0..200 {
        // normal equations of the Jacobian (2 × 2)
        let (mut jaa, mut jab, mut jbb, mut ga, mut gb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &t) in xs.iter().zip(&target) {
            if x == 0.0 {
                continue; // q(0) = 1 whatever a, b: no gradient
            }
            let u = x.powf(2.0 * b);
            let m = 1.0 / (1.0 + a * u);
            let da = -u * m * m;
            let db = -a * u * 2.0 * x.ln() * m * m;
            let r = m - t;
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        let mut improved = false;
        for _ in 0..30 {
            let (p, q, s) = (jaa * (1.0 + damping), jab, jbb * (1.0 + damping));
            let det = p * s - q * q;
            if det == 0.0 || !det.is_finite() {
                damping *= 10.0;
                continue;
            }
            let step_a = -(s * ga - q * gb) / det;
            let step_b = -(p * gb - q * ga) / det;
            let (na, nb) = (a + step_a, b + step_b);
            let c = if na > 0.0 && nb > 0.0 {
                residual(na, nb)
            } else {
                f64::INFINITY
            };
            if c < cost {
                let small = (cost - c) <= 1e-15 * cost.max(1e-30);
                a = na;
                b = nb;
                cost = c;
                damping = (damping / 10.0).max(1e-12);
                improved = !small;
                break;
            }
            damping *= 10.0;
        }
        if !improved {
            break;
        }
    }
    (a as f32, b as f32)
}

/// The symmetric fuzzy neighbourhood graph of a training set, as directed edges (each
/// undirected edge in both directions), with a table for drawing edges ∝ weight.
#[derive(Clone, Debug, PartialEq)]
pub struct FuzzyGraph {
    /// `(i, j)` of each directed edge, sorted by `i` then `j`.
    pub edges: Vec<(u32, u32)>,
    /// `wᵢⱼ ∈ (0, 1]` of each edge.
    pub weights: Vec<f32>,
    /// Running sums of the weights (for drawing).
    cumulative: Vec<f64>,
}

/// `σ` with `Σⱼ exp(−(dⱼ − ρ)₊ / σ) = target` by bisection (umap-learn's `smooth_knn_dist`,
/// with its floor of 1e-3 × the mean neighbour distance).
fn smooth_sigma(distances: &[f64], rho: f64, target: f64) -> f64 {
    let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
    for _ in 0..64 {
        let sum: f64 = distances
            .iter()
            .map(|&d| {
                let e = d - rho;
                if e > 0.0 {
                    (-e / mid).exp()
                } else {
                    1.0
                }
            })
            .sum();
        if (sum - target).abs() < 1e-5 {
            break;
        }
        if sum > target {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = if hi.is_finite() {
                (lo + hi) / 2.0
            } else {
                mid * 2.0
            };
        }
    }
    let mean = distances.iter().sum::<f64>() / distances.len().max(1) as f64;
    mid.max(1e-3 * mean)
}

impl FuzzyGraph {
    /// The graph of `x`'s rows with `neighbors` counting each point itself (UMAP's
    /// `n_neighbors`; at least 2, fewer than the rows).
    pub fn fit(x: &Matrix, neighbors: usize) -> Result<FuzzyGraph> {
        let n = x.rows();
        if neighbors < 2 || neighbors > n {
            return Err(Error::Invalid(format!(
                "a UMAP graph with {neighbors} neighbours needs at least {neighbors} rows and neighbors ≥ 2; there are {n} rows"
            )));
        }
        if n > u32::MAX as usize {
            return Err(Error::Invalid(format!(
                "{n} rows are too many for a UMAP graph"
            )));
        }
        let knn = knn_graph(x, neighbors - 1)?;
        let target = (neighbors as f64).log2();
        // directed memberships v_ij, then the fuzzy union with the transpose
        let mut directed: Vec<((u32, u32), f64)> = Vec::with_capacity(2 * n * knn.k);
        for i in 0..n {
            let (idx, dist) = knn.of(i);
            let rho = dist.iter().copied().find(|d| *d > 0.0).unwrap_or(0.0);
            let sigma = smooth_sigma(dist, rho, target);
            for (&j, &d) in idx.iter().zip(dist) {
                let v = if d - rho <= 0.0 {
                    1.0
                } else {
                    (-(d - rho) / sigma).exp()
                };
                // keyed by the unordered pair; the flag says which direction it came from
                let (a, b) = (i.min(j) as u32, i.max(j) as u32);
                directed.push(((a, b), if i < j { v } else { -v }));
            }
        }
        directed.sort_by(|p, q| p.0.cmp(&q.0).then(p.1.total_cmp(&q.1)));
        let mut edges = Vec::with_capacity(directed.len() * 2);
        let mut weights = Vec::with_capacity(directed.len() * 2);
        let mut k = 0;
        while k < directed.len() {
            let key = directed[k].0;
            let (mut forward, mut backward) = (0.0f64, 0.0f64);
            while k < directed.len() && directed[k].0 == key {
                let v = directed[k].1;
                if v >= 0.0 {
                    forward = forward.max(v);
                } else {
                    backward = backward.max(-v);
                }
                k += 1;
            }
            let w = forward + backward - forward * backward;
            if w > 0.0 {
                edges.push((key.0, key.1));
                weights.push(w as f32);
                edges.push((key.1, key.0));
                weights.push(w as f32);
            }
        }
        let mut order: Vec<usize> = (0..edges.len()).collect();
        order.sort_by_key(|&e| edges[e]);
        let edges: Vec<(u32, u32)> = order.iter().map(|&e| edges[e]).collect();
        let weights: Vec<f32> = order.iter().map(|&e| weights[e]).collect();
        let mut total = 0.0f64;
        let cumulative = weights
            .iter()
            .map(|w| {
                total += *w as f64;
                total
            })
            .collect();
        Ok(FuzzyGraph {
            edges,
            weights,
            cumulative,
        })
    }

    /// `Σ wᵢⱼ` over every directed edge: the edges an epoch of [`EpochEdges::Graph`] draws.
    pub fn total_weight(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// Edges an epoch draws for `rows` training rows.
    pub fn epoch_pairs(&self, epoch_edges: EpochEdges, rows: usize) -> usize {
        match epoch_edges {
            EpochEdges::Graph => (self.total_weight().round() as usize).max(1),
            EpochEdges::Rows => rows / 2,
        }
    }

    /// Replaces `order` with `pairs` edges drawn with probability ∝ weight, as rows
    /// `[i₀, j₀, i₁, j₁, …]`.
    pub fn draw_pairs(&self, pairs: usize, rng: &mut Rng, order: &mut Vec<usize>) {
        order.clear();
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        if total <= 0.0 {
            return;
        }
        for _ in 0..pairs {
            // 53 random bits: a uniform in [0, total)
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
            let e = self
                .cumulative
                .partition_point(|c| *c <= u)
                .min(self.edges.len() - 1);
            let (i, j) = self.edges[e];
            order.push(i as usize);
            order.push(j as usize);
        }
    }
}

/// `Ω` of a batch laid out as edges (`rows` codes of width `cols`; an odd last row is left
/// out), with the curve's `(a, b)`: adds `∂Ω/∂h` to `grad` and returns `Ω`.
pub fn value_and_grad(
    weight: f32,
    (a, b): (f32, f32),
    negatives: usize,
    code: &[f32],
    rows: usize,
    cols: usize,
    grad: &mut [f32],
) -> f64 {
    let pairs = rows / 2;
    if pairs == 0 {
        return 0.0;
    }
    let (a, b) = (a as f64, b as f64);
    let scale = weight as f64 / pairs as f64;
    let mut total = 0.0f64;
    let mut diff = vec![0.0f64; cols];
    // one term between rows u and v: returns its value, adds its gradient
    let mut term = |u: usize, v: usize, attract: bool, grad: &mut [f32]| -> f64 {
        let (hu, hv) = (
            &code[u * cols..(u + 1) * cols],
            &code[v * cols..(v + 1) * cols],
        );
        let mut s = 0.0f64;
        for ((d, x), y) in diff.iter_mut().zip(hu).zip(hv) {
            *d = (*x - *y) as f64;
            s += *d * *d;
        }
        let s = s.max(MIN_SQUARED);
        let asb = a * s.powf(b);
        let q = 1.0 / (1.0 + asb);
        // value and dΩ/ds of −log q = log(1 + a s^b), or of −log(1 − q + ε)
        let (value, ds) = if attract {
            ((1.0 + asb).ln(), b * asb / s * q)
        } else {
            let dq = -b * asb / s * q * q;
            (
                -(1.0 - q + REPULSION_EPS).ln(),
                dq / (1.0 - q + REPULSION_EPS),
            )
        };
        // ∂s/∂hᵤ = 2(hᵤ − hᵥ) = −∂s/∂hᵥ
        let c = 2.0 * ds * scale;
        for (k, d) in diff.iter().enumerate() {
            let g = (c * d) as f32;
            grad[u * cols + k] += g;
            grad[v * cols + k] -= g;
        }
        value
    };
    for k in 0..pairs {
        total += term(2 * k, 2 * k + 1, true, grad);
        // the other edges' tails, as many as there are others
        for r in 1..=negatives.min(pairs - 1) {
            let other = (k + r) % pairs;
            total += term(2 * k, 2 * other + 1, false, grad);
        }
    }
    total * scale
}

/// `[[regularizer]] kind = "umap"`: `λ` × UMAP's fuzzy-set cross-entropy of the training set's
/// graph edges and negative pairs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UmapConfig {
    /// `λ`.
    pub weight: f32,
    /// Neighbours of the graph, counting the point itself (default 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbors: Option<usize>,
    /// How tightly the map packs neighbours (default 0.1; spread is 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_dist: Option<f32>,
    /// Negative pairs per edge (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_samples: Option<usize>,
    /// How many edges an epoch draws (default `graph`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch_edges: Option<EpochEdges>,
}

/// `epoch_edges`: the size of an epoch of a UMAP term, in edges drawn ∝ weight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpochEdges {
    /// The graph's total weight `Σ wᵢⱼ` over both directions: each edge drawn `wᵢⱼ` times per
    /// epoch in expectation, as umap-learn's epoch samples it — the steps follow the graph,
    /// not the row count, so a small data set gets as many passes over its graph as a large one.
    #[default]
    Graph,
    /// Half the training rows (one edge fills two rows): an epoch shows as many rows as a
    /// reconstruction epoch (the setting before `graph`).
    Rows,
}

impl super::regularizer::RegularizerTerm for UmapConfig {
    fn weight(&self) -> f32 {
        self.weight
    }

    /// Checks the graph's settings, the batch and the code; adds the term (one per run).
    fn apply(
        &self,
        key: &str,
        run: &super::regularizer::RunContext,
        objective: &mut super::Objective,
    ) -> Result<()> {
        let neighbors = self.neighbors.unwrap_or(15);
        if !(2..=1000).contains(&neighbors) {
            return Err(Error::config(
                format!("{key}.neighbors"),
                "must be in 2..=1000 (it counts the point itself)",
            ));
        }
        let min_dist = self.min_dist.unwrap_or(0.1);
        if !(0.0..=1.0).contains(&min_dist) {
            return Err(Error::config(
                format!("{key}.min_dist"),
                "must be in [0, 1] (the spread is 1)",
            ));
        }
        let negatives = self.negative_samples.unwrap_or(5);
        if !(1..=100).contains(&negatives) {
            return Err(Error::config(
                format!("{key}.negative_samples"),
                "must be in 1..=100",
            ));
        }
        if run.batch_size < 4 || !run.batch_size.is_multiple_of(2) {
            return Err(Error::config(
                "train.batch_size",
                format!(
                    "a umap term trains on pairs of rows: batch_size must be even and ≥ 4; it is {}",
                    run.batch_size
                ),
            ));
        }
        run.need_deterministic_code(&format!("{key}.kind"), "umap")?;
        if objective
            .code_penalties
            .iter()
            .any(|p| matches!(p, super::CodePenalty::Umap { .. }))
        {
            return Err(Error::config(
                format!("{key}.kind"),
                "one umap term per run (its graph makes the batches)",
            ));
        }
        let (a, b) = fit_ab(min_dist, 1.0);
        objective.code_penalties.push(super::CodePenalty::Umap {
            weight: self.weight,
            neighbors,
            min_dist,
            a,
            b,
            negatives,
            epoch_edges: self.epoch_edges.unwrap_or_default(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_matches_umap_learn() {
        // SciPy's curve_fit as umap.umap_.find_ab_params(1.0, min_dist) runs it
        for (min_dist, want_a, want_b) in [
            (0.1, 1.576_943, 0.895_061),
            (0.001, 1.929_073, 0.791_504),
            (0.5, 0.583_03, 1.334_167),
        ] {
            let (a, b) = fit_ab(min_dist, 1.0);
            assert!((a - want_a).abs() < 2e-3 * want_a, "{min_dist}: a = {a}");
            assert!((b - want_b).abs() < 2e-3 * want_b, "{min_dist}: b = {b}");
        }
    }

    #[test]
    fn graph_is_symmetric_with_unit_nearest_edges() {
        let mut rng = Rng::new(3);
        let x = Matrix::from_fn(60, 4, |_, _| rng.normal());
        let g = FuzzyGraph::fit(&x, 6).unwrap();
        let lookup: std::collections::HashMap<(u32, u32), f32> = g
            .edges
            .iter()
            .copied()
            .zip(g.weights.iter().copied())
            .collect();
        assert_eq!(lookup.len(), g.edges.len(), "no duplicate edges");
        for (&(i, j), &w) in g.edges.iter().zip(&g.weights) {
            assert_ne!(i, j);
            assert!(w > 0.0 && w <= 1.0);
            assert_eq!(lookup[&(j, i)], w);
        }
        // every point's nearest neighbour is at membership 1
        let knn = knn_graph(&x, 1).unwrap();
        for i in 0..60 {
            let j = knn.of(i).0[0];
            assert_eq!(lookup[&(i as u32, j as u32)], 1.0);
        }
        // each point has at least its 5 neighbours, at most 5 + the points that chose it
        let degree = |i: u32| g.edges.iter().filter(|e| e.0 == i).count();
        assert!((0..60).all(|i| degree(i) >= 5));
    }

    #[test]
    fn sigma_meets_the_target_sum() {
        let d = [0.5, 0.7, 0.9, 1.4, 2.0];
        let rho = 0.5;
        let target = (6f64).log2();
        let sigma = smooth_sigma(&d, rho, target);
        let sum: f64 = d
            .iter()
            .map(|x| (-((x - rho).max(0.0)) / sigma).exp())
            .sum();
        assert!((sum - target).abs() < 1e-4, "{sum} vs {target}");
    }

    #[test]
    fn drawn_pairs_are_edges_in_proportion_to_weight() {
        let mut rng = Rng::new(4);
        let x = Matrix::from_fn(40, 3, |_, _| rng.normal());
        let g = FuzzyGraph::fit(&x, 5).unwrap();
        let mut order = Vec::new();
        let draws = 200_000;
        g.draw_pairs(draws, &mut Rng::new(5), &mut order);
        assert_eq!(order.len(), 2 * draws);
        let mut counts = std::collections::HashMap::new();
        for p in order.chunks(2) {
            *counts.entry((p[0] as u32, p[1] as u32)).or_insert(0usize) += 1;
        }
        let total: f64 = g.weights.iter().map(|w| *w as f64).sum();
        for ((e, w), _) in g.edges.iter().zip(&g.weights).zip(0..20) {
            let expected = draws as f64 * *w as f64 / total;
            let got = *counts.get(e).unwrap_or(&0) as f64;
            assert!(
                (got - expected).abs() < 5.0 * expected.sqrt() + 1.0,
                "{e:?}: {got} vs {expected}"
            );
        }
        assert!(counts.keys().all(|e| g.edges.binary_search(e).is_ok()));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut rng = Rng::new(6);
        let (rows, cols) = (10, 2);
        let h: Vec<f32> = (0..rows * cols).map(|_| rng.normal()).collect();
        let (a, b) = fit_ab(0.1, 1.0);
        let mut g = vec![0.0f32; rows * cols];
        let v = value_and_grad(0.8, (a, b), 3, &h, rows, cols, &mut g);
        assert!(v > 0.0);
        let mut scratch = vec![0.0f32; rows * cols];
        for e in 0..rows * cols {
            let eps = 1e-3f32;
            let (mut up, mut down) = (h.clone(), h.clone());
            up[e] += eps;
            down[e] -= eps;
            let fd = (value_and_grad(0.8, (a, b), 3, &up, rows, cols, &mut scratch)
                - value_and_grad(0.8, (a, b), 3, &down, rows, cols, &mut scratch))
                / (2.0 * eps as f64);
            assert!(
                (fd - g[e] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                "{e}: {fd} vs {}",
                g[e]
            );
        }
    }

    #[test]
    fn attraction_pulls_edges_and_repulsion_pushes_others() {
        // one edge far apart, its negative partner close: both terms fall as they should move
        let (a, b) = fit_ab(0.1, 1.0);
        let h = [0.0f32, 0.0, 3.0, 0.0, 0.1, 0.0, 5.0, 5.0];
        let mut g = vec![0.0f32; 8];
        value_and_grad(1.0, (a, b), 1, &h, 4, 2, &mut g);
        // row 0 is pulled towards row 1 (+x) and pushed from row 3 (its negative, at (5, 5))
        assert!(
            g[0] < 0.0,
            "descent moves row 0 towards its edge partner: {g:?}"
        );
        // row 1 is pulled towards row 0 (−x)
        assert!(g[2] > 0.0);
    }
}
