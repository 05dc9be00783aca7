//! The contractive penalty `Ω = λ ‖∂f(x)/∂x‖²_F` (chapter 14.2.3, 14.7; Rifai et al. 2011).
//!
//! Two ways to compute it, picked by `directions` of [`ParameterPenalty::Contractive`](super::ParameterPenalty):
//!
//! - **Closed form** ([`value_and_grad`]), exact, for a one-layer encoder `h = s(Wx + b)` with
//!   `s` sigmoid or tanh: `J = diag(s'(z)) W`, so `‖J‖²_F = Σ_j s'_j² Σ_i W_ji²` — O(d_x·d_h)
//!   per example, and its gradient costs one extra GEMM.
//! - **Random-direction tangent propagation** ([`tangent_value_and_grad`]), unbiased, for any
//!   encoder: for directions `v` with `E[v vᵀ] = I` (Rademacher ±1), `E‖J v‖² = ‖J‖²_F`, and
//!   `J v` is one forward-mode pass, `t_l = s'(z_l) ⊙ (W_l t_{l−1})`, `t_0 = v`. Averaging
//!   `‖J v‖²` over `m` directions per example gives an unbiased estimate of the penalty and of its
//!   gradient, at about `2 + 2/m` times an encoder forward+backward per direction.
//!
//! CAE+H (Rifai, Mesnil, Vincent, Muller, Bengio, Dauphin & Glorot 2011, "Higher order
//! contractive auto-encoder", ECML) adds `γ · E_ε ‖J(x) − J(x + ε)‖²_F`, `ε ~ N(0, σ²I)`: a
//! stochastic finite difference of the Jacobian, whose expectation for small σ is `σ²` times the
//! squared norm of the Hessian, so the contraction holds in a neighbourhood of each point, not
//! only at it. [`hessian_value_and_grad`] computes it exactly for the one-layer encoder of the
//! closed form, `n_c` corrupted copies per example; [`tangent_hessian_value_and_grad`] estimates
//! it for any encoder along random directions `v` shared by `J(x)v` and `J(x̃)v`.
//!
//! [`encoder_jacobian`] measures any encoder's Jacobian exactly (for tests and reports).

use crate::linalg::gemm::View;
use crate::linalg::{sized, Backend, Rng};
use crate::nn::Activation;

/// `s'(z)` and `d s'(z) / dz`, both written in terms of the output `h = s(z)`.
fn slope_and_curvature(act: Activation, h: f32) -> (f32, f32) {
    (
        act.derivative_from_output(h),
        act.second_derivative_from_output(h),
    )
}

/// Whether the exact closed form applies: one encoder layer with a sigmoid or tanh code.
pub fn has_closed_form(encoder_layers: usize, code_activation: Activation) -> bool {
    encoder_layers == 0 && matches!(code_activation, Activation::Sigmoid | Activation::Tanh)
}

/// `‖W_j‖²` of each row of `weight` (rows of `d_x` values).
fn row_norms(weight: &[f32], d_x: usize) -> Vec<f32> {
    weight
        .chunks_exact(d_x)
        .map(|w| w.iter().map(|v| v * v).sum())
        .collect()
}

/// The gradient through the row norms of a term `scale · Σ_j m_j ‖W_j‖²`: adds `2·scale·m_j·W_j`
/// to row `j` of `weight_grad`.
fn add_row_norm_grad(weight_grad: &mut [f32], weight: &[f32], d_x: usize, scale: f32, m: &[f32]) {
    for ((g_row, w_row), m) in weight_grad
        .chunks_exact_mut(d_x)
        .zip(weight.chunks_exact(d_x))
        .zip(m)
    {
        let c = 2.0 * scale * m;
        for (g, w) in g_row.iter_mut().zip(w_row) {
            *g += c * w;
        }
    }
}

/// Adds `λ·mean_b ‖J(x_b)‖²_F` to the objective: writes its gradient into `weight_grad`
/// (`[d_h, d_x]`) and `bias_grad` (both overwritten) and returns its value.
///
/// `x` is the encoder input (`rows × d_x`), `h` its output (`rows × d_h`), `weight` `[d_h, d_x]`.
/// `scratch` holds at least `rows × d_h` values.
#[allow(clippy::too_many_arguments)]
pub fn value_and_grad(
    backend: &dyn Backend,
    lambda: f32,
    act: Activation,
    x: &[f32],
    h: &[f32],
    rows: usize,
    weight: &[f32],
    weight_grad: &mut [f32],
    bias_grad: &mut [f32],
    scratch: &mut [f32],
) -> f64 {
    let d_h = bias_grad.len();
    let d_x = weight.len() / d_h;
    let row_norms = row_norms(weight, d_x);
    let scale = lambda / rows as f32;
    let mut value = 0.0f64;
    let mut mean_slope_sq = vec![0.0f32; d_h];
    bias_grad.fill(0.0);
    let a = &mut scratch[..rows * d_h];
    for (hr, ar) in h.chunks_exact(d_h).zip(a.chunks_exact_mut(d_h)) {
        for j in 0..d_h {
            let (s, ds) = slope_and_curvature(act, hr[j]);
            value += (s * s * row_norms[j]) as f64;
            mean_slope_sq[j] += s * s;
            // ∂(s² ‖W_j‖²)/∂z_j = 2 s s' ‖W_j‖²
            ar[j] = scale * 2.0 * s * ds * row_norms[j];
            bias_grad[j] += ar[j];
        }
    }
    // ∂/∂W_ji = Σ_b a_bj x_bi  +  2 λ mean_b(s_bj²) W_ji
    backend.gemm(
        weight_grad,
        false,
        View::new(a, rows, d_h),
        true,
        View::new(x, rows, d_x),
        false,
        1.0,
    );
    add_row_norm_grad(weight_grad, weight, d_x, scale, &mean_slope_sq);
    lambda as f64 * value / rows as f64
}

/// The Hessian term of CAE+H (Rifai, Mesnil, Vincent, Muller, Bengio, Dauphin & Glorot 2011,
/// "Higher order contractive auto-encoder"): `γ · mean_b mean_c ‖J(x_b) − J(x_b + ε_bc)‖²_F`
/// with `ε_bc ~ N(0, σ²I)`, a stochastic finite difference of the Jacobian that penalizes its
/// curvature along random directions (the Hessian's norm, in expectation, as σ → 0). For the
/// one-layer encoder of [`value_and_grad`], `J(x) = diag(s(x)) W` with `s = s'(z)`, so
/// `‖J(x) − J(x̃)‖²_F = Σ_j (s_j(x) − s_j(x̃))² ‖W_j‖²`. Its gradient, with `Δ_j = s_j − s̃_j`:
/// `∂/∂z_j = 2 Δ_j ‖W_j‖² s'_j`, `∂/∂z̃_j = −2 Δ_j ‖W_j‖² s̃'_j`, and `2 Δ_j² W_j` through the
/// row norm.
///
/// Adds the gradient into `weight_grad` (`[d_h, d_x]`) and `bias_grad` and returns the value.
/// `x` is the encoder input (`rows × d_x`), `h` its output (`rows × d_h`), `noise` holds
/// `samples` blocks of `rows × d_x` (the `ε`, already scaled by σ). `scratch` holds at least
/// [`hessian_scratch`] values.
///
/// # Shapes
/// `weight` `[d_h, d_x]`, `bias` `[d_h]`, `noise` `[samples, rows, d_x]`.
#[allow(clippy::too_many_arguments)]
pub fn hessian_value_and_grad(
    backend: &dyn Backend,
    gamma: f32,
    act: Activation,
    x: &[f32],
    h: &[f32],
    rows: usize,
    weight: &[f32],
    bias: &[f32],
    noise: &[f32],
    samples: usize,
    weight_grad: &mut [f32],
    bias_grad: &mut [f32],
    scratch: &mut [f32],
) -> f64 {
    let d_h = bias.len();
    let d_x = weight.len() / d_h;
    let (x_t, rest) = scratch.split_at_mut(rows * d_x);
    let (h_t, rest) = rest.split_at_mut(rows * d_h);
    let (coef_x, rest) = rest.split_at_mut(rows * d_h);
    let coef_t = &mut rest[..rows * d_h];
    let row_norms = row_norms(weight, d_x);
    let scale = gamma / (rows * samples) as f32;
    let mut value = 0.0f64;
    let mut delta_sq = vec![0.0f32; d_h];
    coef_x.fill(0.0);
    for eps in noise.chunks_exact(rows * d_x).take(samples) {
        // x̃ = x + ε, h̃ = s(x̃ Wᵀ + b)
        for ((t, &a), &e) in x_t.iter_mut().zip(x).zip(eps) {
            *t = a + e;
        }
        backend.gemm(
            h_t,
            false,
            View::new(x_t, rows, d_x),
            false,
            View::new(weight, d_h, d_x),
            true,
            1.0,
        );
        act.forward_with_bias(h_t, bias);
        for (((hr, tr), cx), ct) in h
            .chunks_exact(d_h)
            .zip(h_t.chunks_exact(d_h))
            .zip(coef_x.chunks_exact_mut(d_h))
            .zip(coef_t.chunks_exact_mut(d_h))
        {
            for j in 0..d_h {
                let (s, ds) = slope_and_curvature(act, hr[j]);
                let (s_t, ds_t) = slope_and_curvature(act, tr[j]);
                let delta = s - s_t;
                value += (delta * delta * row_norms[j]) as f64;
                delta_sq[j] += delta * delta;
                let c = scale * 2.0 * delta * row_norms[j];
                cx[j] += c * ds;
                ct[j] = -c * ds_t;
                bias_grad[j] += c * ds - c * ds_t;
            }
        }
        // ∂/∂W through z̃: Σ_b coef_t_bj x̃_bi
        backend.gemm(
            weight_grad,
            true,
            View::new(coef_t, rows, d_h),
            true,
            View::new(x_t, rows, d_x),
            false,
            1.0,
        );
    }
    // ∂/∂W through z (all samples at once) and through the row norms
    backend.gemm(
        weight_grad,
        true,
        View::new(coef_x, rows, d_h),
        true,
        View::new(x, rows, d_x),
        false,
        1.0,
    );
    add_row_norm_grad(weight_grad, weight, d_x, scale, &delta_sq);
    gamma as f64 * value / (rows * samples) as f64
}

/// Scratch values [`hessian_value_and_grad`] needs for `rows` examples.
pub fn hessian_scratch(rows: usize, d_x: usize, d_h: usize) -> usize {
    rows * d_x + 3 * rows * d_h
}

/// One encoder layer, as [`tangent_value_and_grad`] reads it.
#[derive(Clone, Copy, Debug)]
pub struct TangentLayer<'a> {
    /// `[outputs, inputs]`, row-major.
    pub weight: &'a [f32],
    /// Units of the layer (rows of `weight`).
    pub outputs: usize,
    /// The layer's activation `s_l`.
    pub activation: Activation,
    /// The layer's input `a_{l−1}` (`rows × inputs`; the encoder's input for the first layer).
    pub input: &'a [f32],
    /// The layer's output `a_l = s_l(z_l)` (`rows × outputs`).
    pub output: &'a [f32],
}

impl TangentLayer<'_> {
    fn inputs(&self) -> usize {
        self.weight.len() / self.outputs
    }
}

/// Buffers of the tangent estimator, sized on first use and reused, and the gradients it
/// returns.
#[derive(Debug, Default)]
pub struct TangentScratch {
    directions: Vec<f32>,
    /// Per layer, `(m·rows) × outputs`: `u_l = t_{l−1} W_lᵀ` and `t_l = s'(z_l) ⊙ u_l`.
    pre: Vec<Vec<f32>>,
    tangent: Vec<Vec<f32>>,
    grad_t: Vec<f32>,
    grad_t_below: Vec<f32>,
    grad_u: Vec<f32>,
    /// `rows × width`: the gradient at `z_l`, and at `a_{l−1}` through the primal path.
    grad_z: Vec<f32>,
    grad_a: Vec<f32>,
    /// Per layer: gradient of the estimate with respect to `W_l` and `b_l` (overwritten).
    pub weight_grads: Vec<Vec<f32>>,
    /// See `weight_grads`.
    pub bias_grads: Vec<Vec<f32>>,
}

/// Adds `λ·mean_b ‖J(x_b)‖²_F`, estimated along `directions` random Rademacher directions per
/// example, for an encoder of any depth: returns the estimate and leaves its gradient in
/// `scratch.weight_grads` / `scratch.bias_grads` (one entry per layer).
pub fn tangent_value_and_grad(
    backend: &dyn Backend,
    lambda: f32,
    layers: &[TangentLayer<'_>],
    rows: usize,
    directions: usize,
    rng: &mut Rng,
    scratch: &mut TangentScratch,
) -> f64 {
    let d_x = layers[0].inputs();
    let mut v = std::mem::take(&mut scratch.directions);
    for x in sized(&mut v, directions * rows * d_x) {
        *x = if rng.next_u64() >> 63 == 0 { 1.0 } else { -1.0 };
    }
    let value = tangent_value_and_grad_along(
        backend,
        lambda,
        layers,
        rows,
        &v[..directions * rows * d_x],
        scratch,
    );
    scratch.directions = v;
    value
}

/// [`tangent_value_and_grad`] along given directions: `v` holds `m·rows` rows of `d_x` values,
/// row `k·rows + r` a direction for example `r`; the estimate is
/// `λ / (m·rows) · Σ ‖J(x_r) v‖²`. With the `d_x` unit vectors as directions (`m = d_x`) it is
/// exactly `λ·mean_b ‖J‖²_F / d_x`.
pub fn tangent_value_and_grad_along(
    backend: &dyn Backend,
    lambda: f32,
    layers: &[TangentLayer<'_>],
    rows: usize,
    v: &[f32],
    scratch: &mut TangentScratch,
) -> f64 {
    let t_rows = tangent_forward(backend, layers, rows, v, scratch);
    let top = layers[layers.len() - 1].outputs;
    let scale = lambda / t_rows as f32;
    let top_t = &scratch.tangent[layers.len() - 1][..t_rows * top];
    let value = scale as f64 * top_t.iter().map(|t| (*t as f64).powi(2)).sum::<f64>();
    let grad_t = sized(&mut scratch.grad_t, t_rows * max_width(layers));
    for (g, t) in grad_t.iter_mut().zip(top_t) {
        *g = 2.0 * scale * t;
    }
    tangent_backward(backend, layers, rows, v, scratch);
    value
}

/// CAE+H's Hessian term for an encoder of any depth, estimated as the penalty is:
/// `γ / t_rows · Σ_n ‖J(x) v_n − J(x̃) v_n‖²` with the same Rademacher direction `v_n` through
/// both Jacobians, whose expectation is `γ · mean ‖J(x) − J(x̃)‖²_F`.
///
/// `layers` is the encoder at the `rows` examples `x`; `shifted` the same layers at the
/// `copies · rows` corrupted copies `x̃` (copy `c` of example `r` at row `c·rows + r`); `v` holds
/// `t_rows = m · copies · rows` directions, row `n` at example `n % rows` and copy
/// `n % (copies·rows)`. Leaves the gradient through `x`'s path in `scratch` and through `x̃`'s
/// path in `shifted_scratch` (the caller adds both) and returns the estimate.
#[allow(clippy::too_many_arguments)]
pub fn tangent_hessian_value_and_grad(
    backend: &dyn Backend,
    gamma: f32,
    layers: &[TangentLayer<'_>],
    shifted: &[TangentLayer<'_>],
    rows: usize,
    v: &[f32],
    scratch: &mut TangentScratch,
    shifted_scratch: &mut TangentScratch,
) -> f64 {
    let d_x = layers[0].inputs();
    let shifted_rows = shifted[0].input.len() / d_x;
    let t_rows = tangent_forward(backend, layers, rows, v, scratch);
    tangent_forward(backend, shifted, shifted_rows, v, shifted_scratch);
    let top = layers[layers.len() - 1].outputs;
    let scale = gamma / t_rows as f32;
    let width = max_width(layers);
    let at_x = &scratch.tangent[layers.len() - 1][..t_rows * top];
    let at_shifted = &shifted_scratch.tangent[layers.len() - 1][..t_rows * top];
    let grad = sized(&mut scratch.grad_t, t_rows * width);
    let grad_shifted = sized(&mut shifted_scratch.grad_t, t_rows * width);
    let mut value = 0.0f64;
    for (((g, gs), a), b) in grad
        .iter_mut()
        .zip(grad_shifted.iter_mut())
        .zip(at_x)
        .zip(at_shifted)
    {
        let d = a - b;
        value += (d as f64) * (d as f64);
        *g = 2.0 * scale * d;
        *gs = -2.0 * scale * d;
    }
    tangent_backward(backend, layers, rows, v, scratch);
    tangent_backward(backend, shifted, shifted_rows, v, shifted_scratch);
    scale as f64 * value
}

/// The widest layer input or output of `layers`.
fn max_width(layers: &[TangentLayer<'_>]) -> usize {
    layers
        .iter()
        .map(|l| l.inputs().max(l.outputs))
        .max()
        .unwrap_or(0)
}

/// Forward mode along `v` (`t_rows × d_x`, row `n` a direction at example `n % rows`):
/// `u_l = t_{l−1} W_lᵀ`, `t_l = s'(z_l) ⊙ u_l` into `scratch.pre` / `scratch.tangent`. Returns
/// `t_rows`.
fn tangent_forward(
    backend: &dyn Backend,
    layers: &[TangentLayer<'_>],
    rows: usize,
    v: &[f32],
    scratch: &mut TangentScratch,
) -> usize {
    let n_layers = layers.len();
    let d_x = layers[0].inputs();
    let t_rows = v.len() / d_x;
    debug_assert_eq!(t_rows % rows, 0);
    scratch.pre.resize_with(n_layers, Vec::new);
    scratch.tangent.resize_with(n_layers, Vec::new);
    scratch.weight_grads.resize_with(n_layers, Vec::new);
    scratch.bias_grads.resize_with(n_layers, Vec::new);

    // forward mode: u_l = t_{l−1} W_lᵀ, t_l = s'(z_l) ⊙ u_l
    for (l, layer) in layers.iter().enumerate() {
        let (inputs, outputs) = (layer.inputs(), layer.outputs);
        let (below, here) = scratch.tangent.split_at_mut(l);
        let t_prev: &[f32] = if l == 0 {
            v
        } else {
            &below[l - 1][..t_rows * inputs]
        };
        let u = sized(&mut scratch.pre[l], t_rows * outputs);
        backend.gemm(
            u,
            false,
            View::new(t_prev, t_rows, inputs),
            false,
            View::new(layer.weight, outputs, inputs),
            true,
            1.0,
        );
        let t = sized(&mut here[0], t_rows * outputs);
        for (n, (t_row, u_row)) in t
            .chunks_exact_mut(outputs)
            .zip(u.chunks_exact(outputs))
            .enumerate()
        {
            let a_row = &layer.output[(n % rows) * outputs..(n % rows + 1) * outputs];
            for ((t, u), a) in t_row.iter_mut().zip(u_row).zip(a_row) {
                *t = layer.activation.derivative_from_output(*a) * u;
            }
        }
    }
    t_rows
}

/// Reverse mode through both the tangent path and the slopes' dependence on `z`, from the
/// gradient at the top tangent in `scratch.grad_t` (`t_rows × top`): overwrites
/// `scratch.weight_grads` and `scratch.bias_grads`.
fn tangent_backward(
    backend: &dyn Backend,
    layers: &[TangentLayer<'_>],
    rows: usize,
    v: &[f32],
    scratch: &mut TangentScratch,
) {
    let n_layers = layers.len();
    let d_x = layers[0].inputs();
    let t_rows = v.len() / d_x;
    let max_width = max_width(layers);
    let mut has_primal_grad = false;
    for l in (0..n_layers).rev() {
        let layer = &layers[l];
        let (inputs, outputs) = (layer.inputs(), layer.outputs);
        let grad_t = &scratch.grad_t[..t_rows * outputs];
        let u = &scratch.pre[l][..t_rows * outputs];
        let grad_u = sized(&mut scratch.grad_u, t_rows * outputs);
        let grad_z = sized(&mut scratch.grad_z, rows * outputs);
        if has_primal_grad {
            // a_l feeds the layer above: ∂/∂z_l = ∂/∂a_l ⊙ s'
            for ((gz, ga), a) in grad_z.iter_mut().zip(&scratch.grad_a).zip(layer.output) {
                *gz = ga * layer.activation.derivative_from_output(*a);
            }
        } else {
            grad_z.fill(0.0);
        }
        for (n, ((gu_row, gt_row), u_row)) in grad_u
            .chunks_exact_mut(outputs)
            .zip(grad_t.chunks_exact(outputs))
            .zip(u.chunks_exact(outputs))
            .enumerate()
        {
            let r = n % rows;
            let a_row = &layer.output[r * outputs..(r + 1) * outputs];
            let gz_row = &mut grad_z[r * outputs..(r + 1) * outputs];
            for j in 0..outputs {
                let (slope, curvature) = slope_and_curvature(layer.activation, a_row[j]);
                gu_row[j] = gt_row[j] * slope;
                // t = s'(z) u: the slope's own dependence on z
                gz_row[j] += gt_row[j] * u_row[j] * curvature;
            }
        }
        let t_prev: &[f32] = if l == 0 {
            v
        } else {
            &scratch.tangent[l - 1][..t_rows * inputs]
        };
        let wg = sized(&mut scratch.weight_grads[l], outputs * inputs);
        backend.gemm(
            wg,
            false,
            View::new(grad_u, t_rows, outputs),
            true,
            View::new(t_prev, t_rows, inputs),
            false,
            1.0,
        );
        backend.gemm(
            wg,
            true,
            View::new(grad_z, rows, outputs),
            true,
            View::new(layer.input, rows, inputs),
            false,
            1.0,
        );
        let bg = sized(&mut scratch.bias_grads[l], outputs);
        bg.fill(0.0);
        for gz_row in grad_z.chunks_exact(outputs) {
            bg.iter_mut().zip(gz_row).for_each(|(b, g)| *b += g);
        }
        if l > 0 {
            let below = sized(&mut scratch.grad_t_below, t_rows * max_width);
            backend.gemm(
                &mut below[..t_rows * inputs],
                false,
                View::new(grad_u, t_rows, outputs),
                false,
                View::new(layer.weight, outputs, inputs),
                false,
                1.0,
            );
            let ga = sized(&mut scratch.grad_a, rows * inputs);
            backend.gemm(
                ga,
                false,
                View::new(grad_z, rows, outputs),
                false,
                View::new(layer.weight, outputs, inputs),
                false,
                1.0,
            );
            has_primal_grad = true;
            std::mem::swap(&mut scratch.grad_t, &mut scratch.grad_t_below);
        }
    }
}

/// `[[regularizer]] kind = "contractive"`: `λ ‖∂h/∂x‖²_F`, exactly in closed form (one-layer
/// sigmoid/tanh encoders) or along `directions` random directions per example (any encoder).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractiveConfig {
    /// `λ`.
    pub weight: f32,
    /// Random directions per example; leave out for the closed form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<usize>,
    /// CAE+H: `γ` of the Hessian term `γ E‖J(x) − J(x + ε)‖²_F` (exact with the closed form,
    /// else estimated along the penalty's random directions); leave out for the plain CAE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hessian_weight: Option<f32>,
    /// CAE+H: `σ` of `ε ~ N(0, σ²I)`, in the input's units (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hessian_noise: Option<f32>,
    /// CAE+H: corrupted copies `x + ε` per example and step (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hessian_samples: Option<usize>,
}

/// CAE+H's Hessian term, checked: `γ`, `σ` and the copies per example.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hessian {
    /// `γ`.
    pub weight: f32,
    /// `σ`.
    pub noise: f32,
    /// Corrupted copies per example, `n_c`.
    pub samples: usize,
}

impl Hessian {
    /// Rifai et al.'s σ range starts near 0.1 on inputs in [0, 1].
    pub const DEFAULT_NOISE: f32 = 0.1;
    /// Copies per example: the estimate's variance falls as `1/n_c`, its cost grows as `n_c`.
    pub const DEFAULT_SAMPLES: usize = 4;
}

impl ContractiveConfig {
    /// The Hessian term's settings, defaults filled in (`None` without `hessian_weight`).
    fn hessian(&self) -> Option<Hessian> {
        self.hessian_weight.map(|weight| Hessian {
            weight,
            noise: self.hessian_noise.unwrap_or(Hessian::DEFAULT_NOISE),
            samples: self.hessian_samples.unwrap_or(Hessian::DEFAULT_SAMPLES),
        })
    }

    /// Checks the Hessian term's keys (`key` is `regularizer[i]`).
    fn check_hessian(&self, key: &str) -> crate::Result<()> {
        let Some(h) = self.hessian() else {
            for (name, set) in [
                ("hessian_noise", self.hessian_noise.is_some()),
                ("hessian_samples", self.hessian_samples.is_some()),
            ] {
                if set {
                    return Err(crate::Error::config(
                        format!("{key}.{name}"),
                        "is a setting of CAE+H's Hessian term: give hessian_weight too",
                    ));
                }
            }
            return Ok(());
        };
        let bad =
            |name: &str, message: &str| Err(crate::Error::config(format!("{key}.{name}"), message));
        if !(h.weight >= 0.0 && h.weight.is_finite()) {
            return bad("hessian_weight", "must be ≥ 0");
        }
        if !(h.noise > 0.0 && h.noise.is_finite()) {
            return bad("hessian_noise", "must be a positive number");
        }
        if !(1..=1024).contains(&h.samples) {
            return bad("hessian_samples", "must be in 1..=1024");
        }
        Ok(())
    }
}

impl super::regularizer::RegularizerTerm for ContractiveConfig {
    fn weight(&self) -> f32 {
        self.weight
    }

    /// Checks the code and `directions`; adds the term.
    fn apply(
        &self,
        key: &str,
        run: &super::regularizer::RunContext,
        objective: &mut super::Objective,
    ) -> crate::Result<()> {
        run.need_deterministic_code(&format!("{key}.kind"), "contractive")?;
        if self.directions == Some(0) {
            return Err(crate::Error::config(
                format!("{key}.directions"),
                "must be ≥ 1 (leave it out for the exact closed form)",
            ));
        }
        self.check_hessian(key)?;
        objective.parameter_penalties_from(self);
        Ok(())
    }

    fn parameter_penalty(&self) -> Option<super::ParameterPenalty> {
        Some(super::ParameterPenalty::Contractive {
            weight: self.weight,
            directions: self.directions.unwrap_or(0),
            hessian: self.hessian(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Cpu;

    /// `s'(z)` of `z` in f64, for the reference.
    fn slope(act: Activation, z: f64) -> f64 {
        match act {
            Activation::Sigmoid => {
                let h = 1.0 / (1.0 + (-z).exp());
                h * (1.0 - h)
            }
            Activation::Tanh => 1.0 - z.tanh().powi(2),
            _ => unreachable!("closed form only"),
        }
    }

    struct Case {
        act: Activation,
        rows: usize,
        d_x: usize,
        d_h: usize,
        samples: usize,
        x: Vec<f32>,
        noise: Vec<f32>,
    }

    impl Case {
        fn new(act: Activation) -> Case {
            let (rows, d_x, d_h, samples) = (3, 5, 4, 2);
            let mut rng = Rng::new(7);
            let x = (0..rows * d_x).map(|_| rng.uniform()).collect();
            let noise = (0..samples * rows * d_x)
                .map(|_| 0.3 * rng.normal())
                .collect();
            Case {
                act,
                rows,
                d_x,
                d_h,
                samples,
                x,
                noise,
            }
        }

        /// Value and gradients of the Hessian term at `(w, b)`, as the step computes them.
        fn run(&self, gamma: f32, w: &[f32], b: &[f32]) -> (f64, Vec<f32>, Vec<f32>) {
            let backend = Cpu::new(1);
            let mut h = vec![0.0f32; self.rows * self.d_h];
            backend.gemm(
                &mut h,
                false,
                View::new(&self.x, self.rows, self.d_x),
                false,
                View::new(w, self.d_h, self.d_x),
                true,
                1.0,
            );
            self.act.forward_with_bias(&mut h, b);
            let mut wg = vec![0.0f32; w.len()];
            let mut bg = vec![0.0f32; b.len()];
            let mut scratch = vec![0.0f32; hessian_scratch(self.rows, self.d_x, self.d_h)];
            let v = hessian_value_and_grad(
                &backend,
                gamma,
                self.act,
                &self.x,
                &h,
                self.rows,
                w,
                b,
                &self.noise,
                self.samples,
                &mut wg,
                &mut bg,
                &mut scratch,
            );
            (v, wg, bg)
        }

        /// `γ · mean ‖J(x) − J(x + ε)‖²_F` from the Jacobians written out, in f64.
        fn reference(&self, gamma: f64, w: &[f32], b: &[f32]) -> f64 {
            let mut sum = 0.0;
            for c in 0..self.samples {
                for r in 0..self.rows {
                    let x = &self.x[r * self.d_x..(r + 1) * self.d_x];
                    let e = &self.noise[(c * self.rows + r) * self.d_x..][..self.d_x];
                    for j in 0..self.d_h {
                        let wj = &w[j * self.d_x..(j + 1) * self.d_x];
                        let z = |shift: bool| {
                            b[j] as f64
                                + (0..self.d_x)
                                    .map(|i| {
                                        wj[i] as f64
                                            * (x[i] as f64 + if shift { e[i] as f64 } else { 0.0 })
                                    })
                                    .sum::<f64>()
                        };
                        let (s, s_t) = (slope(self.act, z(false)), slope(self.act, z(true)));
                        // J_ji = s_j W_ji at each point
                        for &wji in wj {
                            sum += ((s - s_t) * wji as f64).powi(2);
                        }
                    }
                }
            }
            gamma * sum / (self.rows * self.samples) as f64
        }
    }

    fn weights(case: &Case) -> (Vec<f32>, Vec<f32>) {
        let mut rng = Rng::new(3);
        let w = (0..case.d_h * case.d_x).map(|_| rng.normal()).collect();
        let b = (0..case.d_h).map(|_| 0.5 * rng.normal()).collect();
        (w, b)
    }

    #[test]
    fn hessian_term_equals_the_jacobians_written_out() {
        for act in [Activation::Sigmoid, Activation::Tanh] {
            let case = Case::new(act);
            let (w, b) = weights(&case);
            let (value, _, _) = case.run(0.7, &w, &b);
            let want = case.reference(0.7, &w, &b);
            assert!(
                (value - want).abs() < 1e-5 * want.abs().max(1.0),
                "{act:?}: {value} vs {want}"
            );
            assert!(want > 1e-3, "{act:?}: the noise moves the Jacobian");
        }
    }

    /// The random-direction estimate of the Hessian term (any depth) agrees with the exact
    /// one-layer value on the same corrupted copies, averaged over many directions.
    #[test]
    fn hessian_estimate_is_unbiased_for_the_exact_term() {
        for act in [Activation::Sigmoid, Activation::Tanh] {
            let case = Case::new(act);
            let (w, b) = weights(&case);
            let (exact, _, _) = case.run(0.7, &w, &b);
            let backend = Cpu::new(1);
            let forward = |x: &[f32], n: usize| {
                let mut h = vec![0.0f32; n * case.d_h];
                backend.gemm(
                    &mut h,
                    false,
                    View::new(x, n, case.d_x),
                    false,
                    View::new(&w, case.d_h, case.d_x),
                    true,
                    1.0,
                );
                act.forward_with_bias(&mut h, &b);
                h
            };
            let shifted_x: Vec<f32> = case
                .noise
                .chunks_exact(case.rows * case.d_x)
                .flat_map(|eps| case.x.iter().zip(eps).map(|(x, e)| x + e))
                .collect();
            let n_shifted = case.samples * case.rows;
            let (h, h_t) = (forward(&case.x, case.rows), forward(&shifted_x, n_shifted));
            let layer = |input, output| TangentLayer {
                weight: &w,
                outputs: case.d_h,
                activation: act,
                input,
                output,
            };
            let m = 4000;
            let mut rng = Rng::new(11);
            let v: Vec<f32> = (0..m * n_shifted * case.d_x)
                .map(|_| if rng.next_u64() >> 63 == 0 { 1.0 } else { -1.0 })
                .collect();
            let (mut at_x, mut at_shifted) = (TangentScratch::default(), TangentScratch::default());
            let estimate = tangent_hessian_value_and_grad(
                &backend,
                0.7,
                &[layer(&case.x, &h)],
                &[layer(&shifted_x, &h_t)],
                case.rows,
                &v,
                &mut at_x,
                &mut at_shifted,
            );
            assert!(
                (estimate - exact).abs() < 0.03 * exact,
                "{act:?}: estimate {estimate}, exact {exact}"
            );
        }
    }

    #[test]
    fn hessian_term_gradient_matches_finite_differences() {
        for act in [Activation::Sigmoid, Activation::Tanh] {
            let case = Case::new(act);
            let (w, b) = weights(&case);
            let (_, wg, bg) = case.run(0.7, &w, &b);
            let step = 1e-3f64;
            let fd = |w: &[f32], b: &[f32]| case.reference(0.7, w, b);
            let mut worst = 0.0f64;
            for i in 0..w.len() {
                let (mut up, mut down) = (w.clone(), w.clone());
                up[i] += step as f32;
                down[i] -= step as f32;
                let num = (fd(&up, &b) - fd(&down, &b)) / (2.0 * step);
                worst = worst.max((num - wg[i] as f64).abs() / (num.abs() + 1e-2));
            }
            for j in 0..b.len() {
                let (mut up, mut down) = (b.clone(), b.clone());
                up[j] += step as f32;
                down[j] -= step as f32;
                let num = (fd(&w, &up) - fd(&w, &down)) / (2.0 * step);
                worst = worst.max((num - bg[j] as f64).abs() / (num.abs() + 1e-2));
            }
            assert!(worst < 1e-2, "{act:?}: worst relative error {worst}");
        }
    }
}
