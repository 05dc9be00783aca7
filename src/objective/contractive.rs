//! The contractive penalty `Ω = λ ‖∂f(x)/∂x‖²_F` (chapter 14.2.3, 14.7; Rifai et al. 2011), in
//! closed form for a one-layer encoder `h = s(Wx + b)` with `s` sigmoid or tanh:
//!
//! `J = diag(s'(z)) W`, so `‖J‖²_F = Σ_j s'_j² Σ_i W_ji²` — O(d_x·d_h) per example, and its
//! gradient costs one extra GEMM. Deep encoders get the penalty layer by layer through greedy
//! pretraining (Rifai et al.'s stacked CAE); [`encoder_jacobian`] measures any encoder exactly.

use crate::error::{Error, Result};
use crate::linalg::gemm::View;
use crate::linalg::{Backend, Matrix};
use crate::model::Autoencoder;
use crate::nn::Activation;

/// `s'(z)` and `d s'(z) / dz`, both written in terms of the output `h = s(z)`.
fn slope_and_curvature(act: Activation, h: f32) -> (f32, f32) {
    let s = act.derivative_from_output(h);
    let curvature = match act {
        Activation::Sigmoid => s * (1.0 - 2.0 * h),
        Activation::Tanh => -2.0 * h * s,
        _ => 0.0,
    };
    (s, curvature)
}

/// Checks the closed form applies: one encoder layer, sigmoid or tanh code.
pub fn check_applicable(encoder_layers: usize, code_activation: Activation) -> Result<()> {
    if encoder_layers != 0 || !matches!(code_activation, Activation::Sigmoid | Activation::Tanh) {
        return Err(Error::config(
            "regularizer.contractive",
            "the contractive penalty needs a one-layer encoder (layers = []) with a sigmoid or tanh code; \
             for deep encoders, pretrain layer-wise (each layer a one-layer contractive autoencoder)",
        ));
    }
    Ok(())
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

/// The exact Jacobian `∂f(x)/∂x` (`code × input`) of a deterministic encoder at one input, by
/// forward-mode propagation of the identity through every encoder layer.
pub fn encoder_jacobian(model: &Autoencoder, x: &[f32]) -> Result<Matrix> {
    let spec = model.spec();
    if x.len() != spec.input_size {
        return Err(Error::Shape(format!(
            "input has {} values, the model expects {}",
            x.len(),
            spec.input_size
        )));
    }
    let widths = spec.encoder_widths();
    let d = spec.input_size;
    let mut a: Vec<f64> = x.iter().map(|v| *v as f64).collect();
    // tangent: rows = current layer units, cols = input dims
    let mut t: Vec<f64> = (0..d * d)
        .map(|k| if k / d == k % d { 1.0 } else { 0.0 })
        .collect();
    for l in 0..widths.len() - 1 {
        let (n_in, n_out) = (widths[l], widths[l + 1]);
        let w = &model
            .tensors()
            .iter()
            .find(|t| t.name == format!("encoder.{l}.weight"))
            .expect("encoder weight")
            .data;
        let b = &model
            .tensors()
            .iter()
            .find(|t| t.name == format!("encoder.{l}.bias"))
            .expect("encoder bias")
            .data;
        let act = if l + 2 == widths.len() {
            spec.code_activation
        } else {
            spec.activation
        };
        let mut next_a = vec![0.0f64; n_out];
        let mut next_t = vec![0.0f64; n_out * d];
        for j in 0..n_out {
            let z: f64 = b[j] as f64
                + (0..n_in)
                    .map(|i| w[j * n_in + i] as f64 * a[i])
                    .sum::<f64>();
            let y = act.apply(z as f32);
            next_a[j] = y as f64;
            let slope = act.derivative_from_output(y) as f64;
            for c in 0..d {
                let dz: f64 = (0..n_in)
                    .map(|i| w[j * n_in + i] as f64 * t[i * d + c])
                    .sum();
                next_t[j * d + c] = slope * dz;
            }
        }
        a = next_a;
        t = next_t;
    }
    let rows = widths[widths.len() - 1];
    Ok(Matrix::from_vec(
        rows,
        d,
        t.into_iter().map(|v| v as f32).collect(),
    ))
}

/// Mean over rows of `x` of the encoder's `‖J‖_F`.
pub fn mean_jacobian_norm(model: &Autoencoder, x: &Matrix) -> Result<f64> {
    let mut total = 0.0f64;
    for r in 0..x.rows() {
        let j = encoder_jacobian(model, x.row(r))?;
        total += j
            .as_slice()
            .iter()
            .map(|v| (*v as f64).powi(2))
            .sum::<f64>()
            .sqrt();
    }
    Ok(total / x.rows().max(1) as f64)
}
