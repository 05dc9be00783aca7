//! Batched ISTA and FISTA for `E(h) = ‖x − D h‖² + λ‖h‖₁` (Daubechies, Defrise & De Mol 2004;
//! Beck & Teboulle 2009).
//!
//! The smooth part has gradient `∇ = 2 Dᵀ(D h − x) = 2 (h·DᵀD − x·D)` (rows as examples) and
//! Lipschitz constant `L = 2 σ_max(D)²`. One step from `y`:
//!
//! ```text
//! z = S_{λ/L}( y − ∇(y)/L )                       (ISTA: y = z_k)
//! t_{k+1} = (1 + √(1 + 4 t_k²)) / 2,  y_{k+1} = z_k + (t_k − 1)/t_{k+1} · (z_k − z_{k−1})   (FISTA)
//! ```
//!
//! **One GEMM per iteration.** `G = DᵀD` and `x·D` are computed once; the loop keeps `P_k = z_k·G`,
//! and since `y` is a combination of `z_k` and `z_{k−1}`, `y·G = (1 + β) P_k − β P_{k−1}` costs
//! no product. The same `P_k` gives each row's objective `xᵀx − 2 z·(x D) + z·P + λ|z|₁`.
//!
//! **Monotone.** A FISTA row whose step would raise its objective rejects it and restarts its
//! momentum (`t = 1`, `z_{k−1} = z_k`): its next step is a plain ISTA step, which never raises
//! `E` with step `1/L` (up to `f32` rounding, so it is always accepted). So every row's
//! objective is non-increasing (function-value restart, O'Donoghue & Candès 2015).
//!
//! A row stops when `‖z_{k+1} − z_k‖ ≤ tolerance · max(‖z_k‖, 1e-12)` (or at the cap); rows are
//! processed in chunks of at most [`CHUNK`] (smaller for small batches, so a training batch
//! still spreads over the cores; the size depends on the row count only) on the rayon pool with
//! single-threaded GEMMs, so results do
//! not depend on the thread count.

use super::soft_threshold;
use crate::error::{Error, Result};
use crate::linalg::gemm::{gemm, View};
use crate::linalg::Matrix;
use faer::{Mat, Side};
use rayon::prelude::*;

/// Most rows per independent chunk.
pub const CHUNK: usize = 256;

/// Rows per chunk for `n` rows: [`CHUNK`], or for batches of under `8·CHUNK` rows an eighth of
/// them (at least 16), so up to eight workers share a batch. A function of `n` alone, so the
/// codes do not depend on the thread count.
fn chunk_rows(n: usize) -> usize {
    n.div_ceil(8).clamp(16, CHUNK)
}

/// Which iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solver {
    /// Proximal gradient.
    Ista,
    /// Accelerated proximal gradient with function-value restart (module header).
    Fista,
}

/// How to solve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InferenceOptions {
    /// `λ` of `‖h‖₁`.
    pub lambda: f32,
    /// Iteration cap.
    pub max_iterations: usize,
    /// Relative-change stopping tolerance.
    pub tolerance: f32,
    /// ISTA or FISTA.
    pub solver: Solver,
}

/// A dictionary prepared for inference: `DᵀD` and the step `1/L`.
#[derive(Clone, Debug)]
pub struct SparseCoder {
    /// `d × m`, row-major (one atom per column).
    dictionary: Vec<f32>,
    inputs: usize,
    atoms: usize,
    /// `DᵀD`, `m × m`.
    gram: Vec<f32>,
    /// `L = 2 σ_max(D)²`.
    lipschitz: f32,
}

/// Codes and how they were reached.
#[derive(Clone, Debug)]
pub struct Inference {
    /// `n × m` codes.
    pub codes: Matrix,
    /// Iterations each row ran (until its stopping test held, or the cap).
    pub iterations: Vec<usize>,
    /// Each row's final objective `E(h)`.
    pub objective: Vec<f64>,
}

impl SparseCoder {
    /// Prepares `dictionary` (`inputs × atoms`, row-major).
    pub fn new(dictionary: &[f32], inputs: usize, atoms: usize) -> Result<SparseCoder> {
        if inputs == 0 || atoms == 0 || dictionary.len() != inputs * atoms {
            return Err(Error::Shape(format!(
                "a dictionary of {inputs} inputs × {atoms} atoms needs {} values, got {}",
                inputs * atoms,
                dictionary.len()
            )));
        }
        if !dictionary.iter().all(|v| v.is_finite()) {
            return Err(Error::Invalid("the dictionary holds NaN or Inf".into()));
        }
        let mut gram = vec![0.0f32; atoms * atoms];
        let dv = View::new(dictionary, inputs, atoms);
        gemm(&mut gram, false, dv, true, dv, false, 1.0, 0);
        let g = Mat::<f64>::from_fn(atoms, atoms, |i, j| {
            0.5 * (gram[i * atoms + j] as f64 + gram[j * atoms + i] as f64)
        });
        let eig = g
            .self_adjoint_eigen(Side::Lower)
            .map_err(|e| Error::Invalid(format!("eigendecomposition of DᵀD failed: {e:?}")))?;
        let top = eig.S().column_vector()[atoms - 1].max(0.0);
        // a little above the exact value, so f32 rounding never makes a step too long
        let lipschitz = (2.0 * top * (1.0 + 1e-5)) as f32;
        if lipschitz <= 0.0 {
            return Err(Error::Invalid("the dictionary is all zeros".into()));
        }
        Ok(SparseCoder {
            dictionary: dictionary.to_vec(),
            inputs,
            atoms,
            gram,
            lipschitz,
        })
    }

    /// `L = 2 σ_max(D)²`.
    pub fn lipschitz(&self) -> f32 {
        self.lipschitz
    }

    /// Atoms `m`.
    pub fn atoms(&self) -> usize {
        self.atoms
    }

    /// The dictionary, `inputs × atoms` row-major.
    pub fn dictionary(&self) -> &[f32] {
        &self.dictionary
    }
}

/// Sparse codes of every row of `x` (warm-started at `start` when given, else at 0).
pub fn infer(
    coder: &SparseCoder,
    x: &Matrix,
    start: Option<&Matrix>,
    options: &InferenceOptions,
) -> Result<Inference> {
    infer_with_prior(coder, x, start, None, options)
}

/// [`infer`] for PSD's inner problem `‖x − D h‖² + λ‖h‖₁ + γ‖h − f‖²` when `prior = (f, γ)`
/// (one `f` row per example): the same iteration on the augmented dictionary `[D; √γ I]` and
/// data `[x; √γ f]`, i.e. `DᵀD + γI`, `x·D + γf` and `L + 2γ`. The objectives returned include
/// the `γ` term.
pub fn infer_with_prior(
    coder: &SparseCoder,
    x: &Matrix,
    start: Option<&Matrix>,
    prior: Option<(&Matrix, f32)>,
    options: &InferenceOptions,
) -> Result<Inference> {
    let (d, m) = (coder.inputs, coder.atoms);
    if let Some((f, gamma)) = prior {
        if f.rows() != x.rows() || f.cols() != m || !(gamma >= 0.0 && gamma.is_finite()) {
            return Err(Error::Shape(format!(
                "prior codes are {} × {} with γ = {gamma}, expected {} × {m} and γ ≥ 0",
                f.rows(),
                f.cols(),
                x.rows()
            )));
        }
    }
    if x.cols() != d {
        return Err(Error::Shape(format!(
            "data has {} columns, the dictionary {d} inputs",
            x.cols()
        )));
    }
    if let Some(s) = start {
        if s.rows() != x.rows() || s.cols() != m {
            return Err(Error::Shape(format!(
                "initial codes are {} × {}, expected {} × {m}",
                s.rows(),
                s.cols(),
                x.rows()
            )));
        }
    }
    if !(options.lambda >= 0.0 && options.lambda.is_finite()) {
        return Err(Error::Invalid(format!(
            "lambda must be ≥ 0, got {}",
            options.lambda
        )));
    }
    if !(options.tolerance >= 0.0 && options.tolerance.is_finite()) || options.max_iterations == 0 {
        return Err(Error::Invalid(
            "tolerance must be ≥ 0 and the iteration cap at least 1".into(),
        ));
    }
    let chunk = chunk_rows(x.rows());
    let starts: Vec<usize> = (0..x.rows()).step_by(chunk).collect();
    let chunks: Vec<(Vec<f32>, Vec<usize>, Vec<f64>)> = starts
        .par_iter()
        .map(|&first| {
            let rows = chunk.min(x.rows() - first);
            let xs = &x.as_slice()[first * d..(first + rows) * d];
            let h0 = start.map(|s| &s.as_slice()[first * m..(first + rows) * m]);
            let f = prior.map(|(f, g)| (&f.as_slice()[first * m..(first + rows) * m], g));
            solve_chunk(coder, xs, rows, h0, f, options)
        })
        .collect();
    let mut codes = Vec::with_capacity(x.rows() * m);
    let (mut iterations, mut objective) = (Vec::new(), Vec::new());
    for (c, it, obj) in chunks {
        codes.extend(c);
        iterations.extend(it);
        objective.extend(obj);
    }
    Ok(Inference {
        codes: Matrix::from_vec(x.rows(), m, codes),
        iterations,
        objective,
    })
}

/// `z · (G + γI)` for `rows` codes.
fn times_gram(coder: &SparseCoder, z: &[f32], rows: usize, gamma: f32, out: &mut [f32]) {
    let m = coder.atoms;
    gemm(
        out,
        false,
        View::new(z, rows, m),
        false,
        View::new(&coder.gram, m, m),
        false,
        1.0,
        1,
    );
    if gamma > 0.0 {
        out.iter_mut().zip(z).for_each(|(o, v)| *o += gamma * v);
    }
}

/// `E` of one row from `z`, `P = z·G`, `x·D` and `xᵀx`.
fn row_objective(z: &[f32], p: &[f32], xd: &[f32], xx: f64, lambda: f32) -> f64 {
    let mut quad = 0.0f64;
    let mut l1 = 0.0f64;
    for ((zi, pi), ci) in z.iter().zip(p).zip(xd) {
        quad += *zi as f64 * (*pi as f64 - 2.0 * *ci as f64);
        l1 += zi.abs() as f64;
    }
    (xx + quad).max(0.0) + lambda as f64 * l1
}

fn solve_chunk(
    coder: &SparseCoder,
    x: &[f32],
    rows: usize,
    start: Option<&[f32]>,
    prior: Option<(&[f32], f32)>,
    options: &InferenceOptions,
) -> (Vec<f32>, Vec<usize>, Vec<f64>) {
    let (d, m) = (coder.inputs, coder.atoms);
    let gamma = prior.map_or(0.0, |p| p.1);
    let inv_l = 1.0 / (coder.lipschitz + 2.0 * gamma);
    let theta = options.lambda * inv_l;
    // x·D (rows × m) and xᵀx
    let mut xd = vec![0.0f32; rows * m];
    gemm(
        &mut xd,
        false,
        View::new(x, rows, d),
        false,
        View::new(&coder.dictionary, d, m),
        false,
        1.0,
        1,
    );
    let mut xx: Vec<f64> = x
        .chunks_exact(d)
        .map(|r| r.iter().map(|v| (*v as f64).powi(2)).sum())
        .collect();
    if let Some((f, g)) = prior {
        xd.iter_mut().zip(f).for_each(|(c, v)| *c += g * v);
        for (r, total) in xx.iter_mut().enumerate() {
            *total += g as f64
                * f[r * m..(r + 1) * m]
                    .iter()
                    .map(|v| (*v as f64).powi(2))
                    .sum::<f64>();
        }
    }
    let mut z: Vec<f32> = start.map_or_else(|| vec![0.0; rows * m], |s| s.to_vec());
    let mut z_prev = z.clone();
    let mut p = vec![0.0f32; rows * m];
    times_gram(coder, &z, rows, gamma, &mut p);
    let mut p_prev = p.clone();
    let mut energy: Vec<f64> = (0..rows)
        .map(|r| {
            let s = r * m..(r + 1) * m;
            row_objective(&z[s.clone()], &p[s.clone()], &xd[s], xx[r], options.lambda)
        })
        .collect();
    let mut t = vec![1.0f64; rows];
    let mut active = vec![true; rows];
    let mut iterations = vec![options.max_iterations; rows];
    let mut candidate = vec![0.0f32; rows * m];
    let mut p_candidate = vec![0.0f32; rows * m];
    for k in 0..options.max_iterations {
        // candidate step from y = z + β (z − z_prev), per row
        let mut plain_step = vec![true; rows];
        for r in 0..rows {
            let s = r * m..(r + 1) * m;
            if !active[r] {
                // converged rows stay where they stopped, so a row's codes do not depend on
                // which other rows share its chunk
                candidate[s.clone()].copy_from_slice(&z[s]);
                continue;
            }
            let (beta, t_next) = match options.solver {
                Solver::Ista => (0.0, 1.0),
                Solver::Fista => {
                    let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t[r] * t[r]).sqrt());
                    (((t[r] - 1.0) / t_next) as f32, t_next)
                }
            };
            t[r] = t_next;
            plain_step[r] = beta == 0.0;
            for j in s {
                let y = z[j] + beta * (z[j] - z_prev[j]);
                let yg = (1.0 + beta) * p[j] - beta * p_prev[j];
                let grad = 2.0 * (yg - xd[j]);
                candidate[j] = soft_threshold(y - inv_l * grad, theta);
            }
        }
        times_gram(coder, &candidate, rows, gamma, &mut p_candidate);
        let mut any_active = false;
        for r in 0..rows {
            if !active[r] {
                continue;
            }
            let s = r * m..(r + 1) * m;
            let e = row_objective(
                &candidate[s.clone()],
                &p_candidate[s.clone()],
                &xd[s.clone()],
                xx[r],
                options.lambda,
            );
            if !plain_step[r] && e > energy[r] {
                // reject a momentum step that raised E and restart: the next step is an ISTA
                // step from z (accepted always: it cannot raise E but by f32 rounding)
                z_prev[s.clone()].copy_from_slice(&z[s.clone()]);
                p_prev[s.clone()].copy_from_slice(&p[s.clone()]);
                t[r] = 1.0;
                any_active = true;
                continue;
            }
            let (mut change, mut norm) = (0.0f64, 0.0f64);
            for j in s.clone() {
                change += ((candidate[j] - z[j]) as f64).powi(2);
                norm += (z[j] as f64).powi(2);
            }
            z_prev[s.clone()].copy_from_slice(&z[s.clone()]);
            p_prev[s.clone()].copy_from_slice(&p[s.clone()]);
            z[s.clone()].copy_from_slice(&candidate[s.clone()]);
            p[s.clone()].copy_from_slice(&p_candidate[s]);
            energy[r] = e;
            if change.sqrt() <= options.tolerance as f64 * norm.sqrt().max(1e-12) {
                active[r] = false;
                iterations[r] = k + 1;
            } else {
                any_active = true;
            }
        }
        if !any_active {
            break;
        }
    }
    (z, iterations, energy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;
    use crate::sparse_coding::{coordinate_descent::lasso_codes, objective};

    fn unit_norm_dictionary(d: usize, m: usize, rng: &mut Rng) -> Vec<f32> {
        let mut dict: Vec<f32> = (0..d * m).map(|_| rng.normal()).collect();
        for j in 0..m {
            let norm: f32 = (0..d).map(|i| dict[i * m + j].powi(2)).sum::<f32>().sqrt();
            (0..d).for_each(|i| dict[i * m + j] /= norm);
        }
        dict
    }

    fn problem(n: usize, d: usize, m: usize, seed: u64) -> (Vec<f32>, Matrix) {
        let mut rng = Rng::new(seed);
        let dict = unit_norm_dictionary(d, m, &mut rng);
        // x = D h* + noise with a sparse h*
        let mut x = Matrix::zeros(n, d);
        for r in 0..n {
            let h: Vec<f32> = (0..m)
                .map(|_| {
                    if rng.uniform() < 0.1 {
                        rng.normal()
                    } else {
                        0.0
                    }
                })
                .collect();
            for i in 0..d {
                x.row_mut(r)[i] =
                    (0..m).map(|j| dict[i * m + j] * h[j]).sum::<f32>() + 0.05 * rng.normal();
            }
        }
        (dict, x)
    }

    #[test]
    fn fista_equals_coordinate_descent_lasso() {
        let (n, d, m) = (20, 16, 32);
        let (dict, x) = problem(n, d, m, 1);
        let coder = SparseCoder::new(&dict, d, m).unwrap();
        for lambda in [0.05f32, 0.3] {
            let options = InferenceOptions {
                lambda,
                max_iterations: 20_000,
                tolerance: 1e-7,
                solver: Solver::Fista,
            };
            let ours = infer(&coder, &x, None, &options).unwrap();
            let cd = lasso_codes(&dict, &x, m, lambda, 1e-10, 100_000);
            let e_ours = objective(&dict, &x, &ours.codes, lambda);
            let e_cd = objective(&dict, &x, &cd, lambda);
            for r in 0..n {
                assert!(
                    (e_ours[r] - e_cd[r]).abs() <= 1e-4 * e_cd[r].max(1.0),
                    "λ {lambda}: {} vs {}",
                    e_ours[r],
                    e_cd[r]
                );
                assert!((ours.objective[r] - e_ours[r]).abs() < 1e-3 * e_ours[r].max(1.0));
                // at the larger λ the solution is sparse and well determined: the codes agree too
                // (at the small one the objective is flat along some directions in f32)
                if lambda >= 0.3 {
                    for j in 0..m {
                        let (a, b) = (ours.codes.row(r)[j], cd.row(r)[j]);
                        assert!((a - b).abs() < 5e-4, "λ {lambda} code {a} vs {b}");
                    }
                }
            }
            // zero codes for a λ above ‖2 Dᵀx‖_∞
            let big = InferenceOptions {
                lambda: 1e3,
                ..options
            };
            let zero = infer(&coder, &x, None, &big).unwrap();
            assert!(zero.codes.as_slice().iter().all(|v| *v == 0.0));
        }
    }

    #[test]
    fn fista_and_ista_never_raise_the_objective_and_fista_is_faster() {
        let (n, d, m) = (12, 20, 40);
        let (dict, x) = problem(n, d, m, 2);
        let coder = SparseCoder::new(&dict, d, m).unwrap();
        let mut finals = Vec::new();
        for solver in [Solver::Ista, Solver::Fista] {
            let mut previous = vec![f64::INFINITY; n];
            // the objective after k iterations, for growing k, from the same start
            for k in [1usize, 2, 3, 5, 8, 13, 21, 34, 55, 89] {
                let options = InferenceOptions {
                    lambda: 0.1,
                    max_iterations: k,
                    tolerance: 0.0,
                    solver,
                };
                let out = infer(&coder, &x, None, &options).unwrap();
                for (r, (now, before)) in out.objective.iter().zip(&mut previous).enumerate() {
                    assert!(
                        *now <= *before * (1.0 + 1e-6),
                        "{solver:?} row {r} at {k}: {now} after {before}"
                    );
                    *before = *now;
                }
            }
            finals.push(previous.iter().sum::<f64>());
        }
        let exact: f64 = objective(
            &dict,
            &x,
            &lasso_codes(&dict, &x, m, 0.1, 1e-10, 100_000),
            0.1,
        )
        .iter()
        .sum();
        // after 89 iterations FISTA is much closer to the optimum than ISTA
        assert!(
            finals[1] - exact < 0.5 * (finals[0] - exact),
            "{finals:?} vs {exact}"
        );
    }

    #[test]
    fn the_prior_term_equals_an_augmented_lasso() {
        // ‖x − Dh‖² + λ|h| + γ‖h − f‖² = lasso on [D; √γ I] and [x; √γ f]
        let (n, d, m) = (6, 8, 12);
        let (dict, x) = problem(n, d, m, 4);
        let mut rng = Rng::new(5);
        let f = Matrix::from_vec(n, m, (0..n * m).map(|_| 0.3 * rng.normal()).collect());
        let gamma = 0.7f32;
        let options = InferenceOptions {
            lambda: 0.2,
            max_iterations: 20_000,
            tolerance: 1e-7,
            solver: Solver::Fista,
        };
        let coder = SparseCoder::new(&dict, d, m).unwrap();
        let ours = infer_with_prior(&coder, &x, None, Some((&f, gamma)), &options).unwrap();
        let mut big = dict.clone();
        for i in 0..m {
            big.extend((0..m).map(|j| if i == j { gamma.sqrt() } else { 0.0 }));
        }
        let mut xa = Matrix::zeros(n, d + m);
        for r in 0..n {
            xa.row_mut(r)[..d].copy_from_slice(x.row(r));
            for j in 0..m {
                xa.row_mut(r)[d + j] = gamma.sqrt() * f.row(r)[j];
            }
        }
        let cd = lasso_codes(&big, &xa, m, 0.2, 1e-10, 100_000);
        let e_cd = objective(&big, &xa, &cd, 0.2);
        for (r, e) in e_cd.iter().enumerate() {
            assert!((ours.objective[r] - e).abs() < 1e-4 * e.max(1.0));
            for (a, b) in ours.codes.row(r).iter().zip(cd.row(r)) {
                assert!((a - b).abs() < 5e-4, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn warm_start_converges_faster_and_shapes_are_checked() {
        let (n, d, m) = (8, 10, 20);
        let (dict, x) = problem(n, d, m, 3);
        let coder = SparseCoder::new(&dict, d, m).unwrap();
        let options = InferenceOptions {
            lambda: 0.1,
            max_iterations: 5000,
            tolerance: 1e-5,
            solver: Solver::Fista,
        };
        let cold = infer(&coder, &x, None, &options).unwrap();
        let warm = infer(&coder, &x, Some(&cold.codes), &options).unwrap();
        let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len() as f64;
        assert!(
            mean(&warm.iterations) < 0.5 * mean(&cold.iterations),
            "warm {:?} cold {:?}",
            warm.iterations,
            cold.iterations
        );
        assert!(infer(&coder, &Matrix::zeros(2, d + 1), None, &options).is_err());
        assert!(infer(&coder, &x, Some(&Matrix::zeros(n, m + 1)), &options).is_err());
        assert!(SparseCoder::new(&dict, d, m + 1).is_err());
        assert!(SparseCoder::new(&vec![0.0; d * m], d, m).is_err());
        // a row's codes do not depend on the rows that share its chunk
        let alone = infer(&coder, &x.slice_rows(2, 3), None, &options).unwrap();
        for (a, b) in alone.codes.row(0).iter().zip(cold.codes.row(2)) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        assert_eq!(alone.iterations[0], cold.iterations[2]);
        // the same codes on one thread and on several (fixed chunking)
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let single = one.install(|| infer(&coder, &x, None, &options).unwrap());
        assert_eq!(single.codes, cold.codes);
    }
}
