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
//! [`encoder_jacobian`] measures any encoder's Jacobian exactly (for tests and reports).

use crate::linalg::gemm::View;
use crate::linalg::{Backend, Rng};
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
    let row_norms: Vec<f32> = weight
        .chunks_exact(d_x)
        .map(|w| w.iter().map(|v| v * v).sum())
        .collect();
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
    for ((g_row, w_row), m) in weight_grad
        .chunks_exact_mut(d_x)
        .zip(weight.chunks_exact(d_x))
        .zip(&mean_slope_sq)
    {
        let c = 2.0 * scale * m;
        for (g, w) in g_row.iter_mut().zip(w_row) {
            *g += c * w;
        }
    }
    lambda as f64 * value / rows as f64
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

fn sized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
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
    let n_layers = layers.len();
    let d_x = layers[0].inputs();
    let t_rows = v.len() / d_x;
    debug_assert_eq!(t_rows % rows, 0);
    let max_width = layers
        .iter()
        .map(|l| l.inputs().max(l.outputs))
        .max()
        .unwrap_or(0);
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
    let top = layers[n_layers - 1].outputs;
    let top_t = &scratch.tangent[n_layers - 1][..t_rows * top];
    let scale = lambda / t_rows as f32;
    let value = scale as f64 * top_t.iter().map(|t| (*t as f64).powi(2)).sum::<f64>();

    // reverse mode through both the tangent path and the slopes' dependence on z
    let grad_t = sized(&mut scratch.grad_t, t_rows * max_width);
    for (g, t) in grad_t.iter_mut().zip(top_t) {
        *g = 2.0 * scale * t;
    }
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
    value
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
        objective.parameter_penalties_from(self);
        Ok(())
    }

    fn parameter_penalty(&self) -> Option<super::ParameterPenalty> {
        Some(super::ParameterPenalty::Contractive {
            weight: self.weight,
            directions: self.directions.unwrap_or(0),
        })
    }
}
