//! Tangent planes of the data manifold from an encoder's Jacobian, or from the reconstruction's
//! ([`reconstruction_tangents`]) (chapter 14.6–14.7; Rifai, Vincent, Muller, Glorot & Bengio 2011, "Contractive auto-encoders", §5–6).
//!
//! For an encoder `h = f(x)` of layers `a_l = s_l(W_l a_{l−1} + b_l)`, `a_0 = x`, the Jacobian is
//!
//! ```text
//! J(x) = ∂h/∂x = diag(s'_L) W_L · diag(s'_{L−1}) W_{L−1} ··· diag(s'_1) W_1     (k × D)
//! ```
//!
//! A contractive (or denoising) autoencoder keeps a few large singular values of `J` — the
//! directions along which the code still varies, the manifold's tangent plane — and contracts
//! the rest. With `J = U Σ Vᵀ`, the leading `d` right singular vectors (rows of `Vᵀ`) are the
//! estimated tangent basis at `x`.
//!
//! **Batched, GEMM-shaped.** For a chunk of `B` examples the per-example products are stacked so
//! every layer is one matrix product:
//!
//! - reverse mode (`k ≤ D`): `A ← (A · W_l) ⊙ s'_{l−1}` with `A` of shape `(B·k) × n_l`, started
//!   at `A = diag(s'_L)` per example — `B·k·Σ n_l n_{l−1}` multiply-adds;
//! - forward mode (`k > D`): `U ← (U · W_lᵀ) ⊙ s'_l` with `U` of shape `(B·D) × n_l`, started at
//!   the identity per example (`Uᵀ` stacks `Jᵀ`).
//!
//! The SVD of each `k × D` Jacobian is taken through the Gram matrix of its smaller side in
//! `f64`: `J Jᵀ = U Σ² Uᵀ`, then `v_i = Jᵀ u_i / σ_i` (or `JᵀJ = V Σ² Vᵀ` directly when
//! `D < k`); singular values below `~1e-8 σ_max` lose relative accuracy, far below anything
//! this analysis reads.
//!
//! **Reference: local PCA** ([`local_pca_tangents`]): the leading `d` principal directions of
//! each point's `K` nearest neighbours (the point included, centred on their mean).

use crate::error::{Error, Result};
use crate::linalg::backend::Cpu;
use crate::linalg::gemm::{gemm, View};
use crate::linalg::Matrix;
use crate::model::{Autoencoder, LayerView};
use crate::neighbors::exact::nearest_neighbors;
use faer::{Mat, Side};
use rayon::prelude::*;

/// Values of the largest per-chunk Jacobian buffer (`B · max(k, D) · widest layer`).
const CHUNK_FLOATS: usize = 1 << 22;

/// Encoder Jacobians `∂h/∂x` of every row of `x`, stacked: rows `i·k .. (i+1)·k` of the
/// `(n·k) × D` result are example `i`'s Jacobian (a `(n, k, D)` array in C order). For a
/// Gaussian code, the Jacobian of the mean `μ(x)`. Computed in chunks on the current rayon
/// pool; each chunk's arithmetic is fixed, so the result does not depend on the thread count.
pub fn encoder_jacobians(model: &Autoencoder, x: &Matrix) -> Result<Matrix> {
    model.require_dense("the encoder's Jacobians")?;
    let spec = model.spec();
    let (d, k) = (spec.input_size, spec.code_size);
    if x.cols() != d {
        return Err(Error::Shape(format!(
            "data has {} columns, the model expects {d}",
            x.cols()
        )));
    }
    let layers: Vec<LayerView<'_>> = model.encoder_layers().collect();
    let jacobians = jacobians_in_chunks(&layers, x.as_slice(), x.rows(), d, k);
    Ok(Matrix::from_vec(x.rows() * k, d, jacobians))
}

/// Jacobians of the map `layers` (from `d` inputs; its first `k` outputs) at the `rows`
/// examples of `x`, `(rows·k) × d` row-major, in bounded chunks on the current rayon pool;
/// each chunk's arithmetic is fixed, so the result does not depend on the thread count.
fn jacobians_in_chunks(
    layers: &[LayerView<'_>],
    x: &[f32],
    rows: usize,
    d: usize,
    k: usize,
) -> Vec<f32> {
    let widest = layers
        .iter()
        .map(|l| l.inputs.max(l.outputs))
        .max()
        .unwrap_or(1);
    let per_example = k.min(d) * widest + widest * (layers.len() + 1);
    let chunk = (CHUNK_FLOATS / per_example.max(1)).clamp(1, 256);
    let starts: Vec<usize> = (0..rows).step_by(chunk).collect();
    starts
        .par_iter()
        .map(|&start| {
            let n = chunk.min(rows - start);
            jacobian_chunk(layers, &x[start * d..(start + n) * d], n, d, k)
        })
        .collect::<Vec<_>>()
        .concat()
}

/// The outputs of every layer of `layers` for `rows` examples, input side first (`a_1 … a_L`).
fn layer_outputs(layers: &[LayerView<'_>], x: &[f32], rows: usize, cpu: &Cpu) -> Vec<Vec<f32>> {
    let mut outputs: Vec<Vec<f32>> = Vec::new();
    for layer in layers {
        let input: &[f32] = outputs.last().map_or(x, |v| v.as_slice());
        let mut out = vec![0.0f32; rows * layer.outputs];
        layer
            .dense()
            .forward(cpu, input, rows, layer.activation, &mut out);
        outputs.push(out);
    }
    outputs
}

/// A layer's weight as `outputs × inputs` (`transpose` = whether the view must be transposed
/// to get that shape).
fn weight_out_by_in<'a>(layer: &crate::model::LayerView<'a>) -> (View<'a>, bool) {
    if layer.transposed_weight {
        (View::new(layer.weight, layer.inputs, layer.outputs), true)
    } else {
        (View::new(layer.weight, layer.outputs, layer.inputs), false)
    }
}

/// Jacobians of the map `layers` (from `d` inputs; its first `k` outputs) at `rows` examples,
/// `(rows·k) × d` row-major.
fn jacobian_chunk(
    layers: &[LayerView<'_>],
    x: &[f32],
    rows: usize,
    d: usize,
    k: usize,
) -> Vec<f32> {
    let cpu = Cpu::new(1);
    let outputs = layer_outputs(layers, x, rows, &cpu);
    let top = layers.len() - 1;
    let slope = |l: usize, b: usize, j: usize| {
        let a = &outputs[l];
        layers[l]
            .activation
            .derivative_from_output(a[b * layers[l].outputs + j])
    };
    if k <= d {
        // reverse mode: A (rows·k × n_L) = diag(s'_L) restricted to the code's k rows
        let n_top = layers[top].outputs;
        let mut a = vec![0.0f32; rows * k * n_top];
        for b in 0..rows {
            for j in 0..k {
                a[(b * k + j) * n_top + j] = slope(top, b, j);
            }
        }
        for l in (0..=top).rev() {
            let layer = &layers[l];
            let (w, transposed) = weight_out_by_in(layer);
            let mut next = vec![0.0f32; rows * k * layer.inputs];
            gemm(
                &mut next,
                false,
                View::new(&a, rows * k, layer.outputs),
                false,
                w,
                transposed,
                1.0,
                1,
            );
            if l > 0 {
                let below = layers[l - 1].outputs;
                for b in 0..rows {
                    let s: Vec<f32> = (0..below).map(|i| slope(l - 1, b, i)).collect();
                    for j in 0..k {
                        let row = &mut next[(b * k + j) * below..(b * k + j + 1) * below];
                        row.iter_mut().zip(&s).for_each(|(v, s)| *v *= s);
                    }
                }
            }
            a = next;
        }
        a
    } else {
        // forward mode: U (rows·D × n_l), U_b = J_bᵀ after the last layer
        let mut u = vec![0.0f32; rows * d * d];
        for b in 0..rows {
            for c in 0..d {
                u[(b * d + c) * d + c] = 1.0;
            }
        }
        for (l, layer) in layers.iter().enumerate() {
            let (w, transposed) = weight_out_by_in(layer);
            let mut next = vec![0.0f32; rows * d * layer.outputs];
            gemm(
                &mut next,
                false,
                View::new(&u, rows * d, layer.inputs),
                false,
                w,
                !transposed,
                1.0,
                1,
            );
            for b in 0..rows {
                let s: Vec<f32> = (0..layer.outputs).map(|j| slope(l, b, j)).collect();
                for c in 0..d {
                    let row =
                        &mut next[(b * d + c) * layer.outputs..(b * d + c + 1) * layer.outputs];
                    row.iter_mut().zip(&s).for_each(|(v, s)| *v *= s);
                }
            }
            u = next;
        }
        let n_top = layers[top].outputs;
        let mut j = vec![0.0f32; rows * k * d];
        for b in 0..rows {
            for c in 0..d {
                for r in 0..k {
                    j[(b * k + r) * d + c] = u[(b * d + c) * n_top + r];
                }
            }
        }
        j
    }
}

/// Tangent bases and Jacobian spectra of a set of points.
#[derive(Clone, Debug)]
pub struct Tangents {
    /// `n · dim` rows of `D` values: point `i`'s orthonormal basis is rows `i·dim .. (i+1)·dim`,
    /// most significant direction first (a `(n, dim, D)` array in C order).
    pub bases: Matrix,
    /// `n × min(k, D)`: each point's singular values, largest first.
    pub singular_values: Matrix,
    /// Basis vectors per point.
    pub dim: usize,
}

/// Singular values (descending) and the leading `dim` right singular vectors of one `k × D`
/// matrix (module header: through the Gram matrix of the smaller side, in `f64`).
pub fn right_singular(
    jacobian: &[f32],
    k: usize,
    d: usize,
    dim: usize,
) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    let j = Mat::<f64>::from_fn(k, d, |r, c| jacobian[r * d + c] as f64);
    let failed = |e| Error::Invalid(format!("eigendecomposition failed: {e:?}"));
    if k <= d {
        let gram = &j * j.transpose();
        let eig = gram.self_adjoint_eigen(Side::Lower).map_err(failed)?;
        let (values, u) = (eig.S().column_vector(), eig.U());
        let sigma: Vec<f64> = (0..k).map(|i| values[k - 1 - i].max(0.0).sqrt()).collect();
        let vectors = (0..dim)
            .map(|i| {
                let col = k - 1 - i;
                let mut v: Vec<f64> = (0..d)
                    .map(|c| (0..k).map(|r| j[(r, c)] * u[(r, col)]).sum())
                    .collect();
                let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
                if norm > 0.0 {
                    v.iter_mut().for_each(|a| *a /= norm);
                }
                v
            })
            .collect();
        Ok((sigma, vectors))
    } else {
        let gram = j.transpose() * &j;
        let eig = gram.self_adjoint_eigen(Side::Lower).map_err(failed)?;
        let (values, v) = (eig.S().column_vector(), eig.U());
        let sigma: Vec<f64> = (0..d).map(|i| values[d - 1 - i].max(0.0).sqrt()).collect();
        let vectors = (0..dim)
            .map(|i| (0..d).map(|c| v[(c, d - 1 - i)]).collect())
            .collect();
        Ok((sigma, vectors))
    }
}

/// `(D, k)` of a dense model whose Jacobian (`what`, through its `k`-unit code) can give `dim`
/// tangent directions: at most `min(k, D)`.
fn tangent_sizes(model: &Autoencoder, dim: usize, what: &str) -> Result<(usize, usize)> {
    model.require_dense("tangent planes")?;
    let (d, k) = (model.spec().input_size, model.spec().code_size);
    if dim == 0 || dim > k.min(d) {
        return Err(Error::Invalid(format!(
            "--dim {dim}: {what} a {k}-unit code on {d} inputs has at most {} directions",
            k.min(d)
        )));
    }
    Ok((d, k))
}

/// The encoder's tangent estimate at every row of `x`: the leading `dim` right singular vectors
/// of `∂h/∂x`, and all its singular values (module header).
pub fn encoder_tangents(model: &Autoencoder, x: &Matrix, dim: usize) -> Result<Tangents> {
    let (d, k) = tangent_sizes(model, dim, "a Jacobian of")?;
    let jacobians = encoder_jacobians(model, x)?;
    let per_point: Vec<(Vec<f64>, Vec<Vec<f64>>)> = (0..x.rows())
        .into_par_iter()
        .map(|i| right_singular(&jacobians.as_slice()[i * k * d..(i + 1) * k * d], k, d, dim))
        .collect::<Result<_>>()?;
    Ok(collect_tangents(per_point, d, dim))
}

/// The reconstruction's tangent estimate at every row of `x`: the leading `dim` left singular
/// vectors of `∂r/∂x = (∂g/∂h)(∂f/∂x)` — the directions in input space along which the
/// reconstruction `r = g∘f` moves — and its singular values (at most `k`). Where `r` maps a
/// neighbourhood of the data onto the manifold (chapter 14.6), `∂r/∂x` projects onto the
/// tangent plane, and its range is that plane; the encoder's own right singular vectors
/// ([`encoder_tangents`]) only say which input directions the code keeps, which a contractive
/// encoder can choose badly within the manifold's span (BENCHMARKS.md, "Tangent planes").
///
/// The decoder's Jacobian is taken at the code `f(x)` (the mean of a Gaussian code) through
/// the output's mean function. With `G = ∂g/∂h` (`D × k`) and `F = ∂f/∂x` (`k × D`):
/// `GᵀG = S²` (`S` symmetric), `Q = G S⁻¹` has orthonormal columns and `∂r/∂x = Q (S F)`, so
/// its left singular vectors are `Q w` for the eigenvectors `w` of the `k × k` matrix
/// `S (F Fᵀ) S`: no `D × D` matrix is formed.
pub fn reconstruction_tangents(model: &Autoencoder, x: &Matrix, dim: usize) -> Result<Tangents> {
    let (d, k) = tangent_sizes(model, dim, "the reconstruction's Jacobian through")?;
    let encoder = encoder_jacobians(model, x)?;
    let codes = model.encode(x)?;
    let mut decoder: Vec<LayerView<'_>> = model.decoder_layers().collect();
    let last = decoder.len() - 1;
    decoder[last].activation = model.spec().output.mean_activation();
    let decoder_jacobians = jacobians_in_chunks(&decoder, codes.as_slice(), x.rows(), k, d);
    let per_point: Vec<(Vec<f64>, Vec<Vec<f64>>)> = (0..x.rows())
        .into_par_iter()
        .map(|i| {
            left_singular_of_product(
                &decoder_jacobians[i * d * k..(i + 1) * d * k],
                &encoder.as_slice()[i * k * d..(i + 1) * k * d],
                d,
                k,
                dim,
            )
        })
        .collect::<Result<_>>()?;
    Ok(collect_tangents(per_point, d, dim))
}

/// Singular values (descending, `k` of them) and the leading `dim` left singular vectors of
/// `G F`, `G` `D × k` and `F` `k × D` row-major ([`reconstruction_tangents`]).
pub fn left_singular_of_product(
    g: &[f32],
    f: &[f32],
    d: usize,
    k: usize,
    dim: usize,
) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    let failed = |e| Error::Invalid(format!("eigendecomposition failed: {e:?}"));
    let g = Mat::<f64>::from_fn(d, k, |r, c| g[r * k + c] as f64);
    let f = Mat::<f64>::from_fn(k, d, |r, c| f[r * d + c] as f64);
    let gram = g.transpose() * &g;
    let eig = gram.self_adjoint_eigen(Side::Lower).map_err(failed)?;
    let (lambda, v) = (eig.S().column_vector(), eig.U());
    let top = (0..k).map(|i| lambda[i]).fold(0.0f64, f64::max);
    // S = V √Λ Vᵀ and its pseudo-inverse (directions G does not use are left out)
    let root = |i: usize| lambda[i].max(0.0).sqrt();
    let keep = |i: usize| lambda[i] > 1e-12 * top;
    let s = Mat::<f64>::from_fn(k, k, |a, b| {
        (0..k).map(|i| v[(a, i)] * root(i) * v[(b, i)]).sum()
    });
    let s_inv = Mat::<f64>::from_fn(k, k, |a, b| {
        (0..k)
            .filter(|&i| keep(i))
            .map(|i| v[(a, i)] * v[(b, i)] / root(i))
            .sum()
    });
    let m = &s * (&f * f.transpose()) * &s;
    let eig = m.self_adjoint_eigen(Side::Lower).map_err(failed)?;
    let (mu, w) = (eig.S().column_vector(), eig.U());
    let sigma: Vec<f64> = (0..k).map(|i| mu[k - 1 - i].max(0.0).sqrt()).collect();
    let vectors = (0..dim)
        .map(|i| {
            let wi = Mat::<f64>::from_fn(k, 1, |r, _| w[(r, k - 1 - i)]);
            let u = &g * (&s_inv * wi);
            let mut u: Vec<f64> = (0..d).map(|r| u[(r, 0)]).collect();
            let norm = u.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm > 0.0 {
                u.iter_mut().for_each(|a| *a /= norm);
            }
            u
        })
        .collect();
    Ok((sigma, vectors))
}

fn collect_tangents(per_point: Vec<(Vec<f64>, Vec<Vec<f64>>)>, d: usize, dim: usize) -> Tangents {
    let n = per_point.len();
    let width = per_point.first().map_or(0, |p| p.0.len());
    let mut bases = Vec::with_capacity(n * dim * d);
    let mut sigma = Vec::with_capacity(n * width);
    for (s, vectors) in per_point {
        sigma.extend(s.iter().map(|v| *v as f32));
        for v in vectors {
            bases.extend(v.iter().map(|a| *a as f32));
        }
    }
    Tangents {
        bases: Matrix::from_vec(n * dim, d, bases),
        singular_values: Matrix::from_vec(n, width, sigma),
        dim,
    }
}

/// Local PCA tangents: at each row of `x`, the leading `dim` principal directions of it and its
/// `neighbors` nearest other rows (centred on their mean); the singular values are those of
/// the centred neighbourhood, scaled by `1/√(neighbors + 1)` (standard deviations).
pub fn local_pca_tangents(x: &Matrix, neighbors: usize, dim: usize) -> Result<Tangents> {
    let d = x.cols();
    if dim == 0 || dim > d.min(neighbors + 1) {
        return Err(Error::Invalid(format!(
            "--dim {dim}: local PCA of {} points in {d} dimensions has at most {} directions",
            neighbors + 1,
            d.min(neighbors + 1)
        )));
    }
    let idx = nearest_neighbors(x, x, neighbors, true)?;
    let per_point: Vec<(Vec<f64>, Vec<Vec<f64>>)> = (0..x.rows())
        .into_par_iter()
        .map(|i| {
            let members: Vec<usize> = std::iter::once(i)
                .chain(idx[i * neighbors..(i + 1) * neighbors].iter().copied())
                .collect();
            let m = members.len();
            let mut mean = vec![0.0f64; d];
            for &r in &members {
                mean.iter_mut()
                    .zip(x.row(r))
                    .for_each(|(a, v)| *a += *v as f64);
            }
            mean.iter_mut().for_each(|a| *a /= m as f64);
            let scale = 1.0 / (m as f64).sqrt();
            let centred: Vec<f32> = members
                .iter()
                .flat_map(|&r| {
                    x.row(r)
                        .iter()
                        .zip(&mean)
                        .map(move |(v, a)| ((*v as f64 - a) * scale) as f32)
                })
                .collect();
            right_singular(&centred, m, d, dim)
        })
        .collect::<Result<_>>()?;
    let mut t = collect_tangents(per_point, d, dim);
    // keep min(m, D) singular values per point (all rows have the same count)
    t.dim = dim;
    Ok(t)
}

/// Mean over points of the mean principal angle (degrees) between two sets of per-point bases
/// (`n · d` rows each, `D` columns; rows need not be orthonormal).
pub fn mean_principal_angle_degrees(a: &Matrix, b: &Matrix, dim: usize) -> Result<f64> {
    if a.rows() != b.rows() || a.cols() != b.cols() || dim == 0 || !a.rows().is_multiple_of(dim) {
        return Err(Error::Shape(format!(
            "tangent sets of shapes ({} × {}) and ({} × {}) with {dim} vectors per point do not match",
            a.rows(),
            a.cols(),
            b.rows(),
            b.cols()
        )));
    }
    let d = a.cols();
    let n = a.rows() / dim;
    let basis =
        |m: &Matrix, i: usize| Mat::<f64>::from_fn(d, dim, |r, c| m.row(i * dim + c)[r] as f64);
    let angles: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            let angles =
                crate::baselines::pca::principal_angles_degrees(&basis(a, i), &basis(b, i))?;
            Ok(angles.iter().sum::<f64>() / angles.len() as f64)
        })
        .collect::<Result<_>>()?;
    Ok(angles.iter().sum::<f64>() / n.max(1) as f64)
}
