//! Jacobians of a trained encoder, `J(x) = ∂f(x)/∂x` (ch. 14.2.3, 14.7): exact, by
//! forward-mode propagation in `f64`. The contractive penalty is `λ‖J‖²_F`
//! ([`crate::objective::contractive`]); these tools read a model, they never train it.

use crate::error::{Error, Result};
use crate::linalg::Matrix;
use crate::model::Autoencoder;

/// The exact Jacobian `∂f(x)/∂x` (`code × input`) of a deterministic encoder at one input, by
/// forward-mode propagation of the identity through every encoder layer.
pub fn encoder_jacobian(model: &Autoencoder, x: &[f32]) -> Result<Matrix> {
    model.require_dense("the closed-form Jacobian")?;
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
        let layer = model.encoder_layer(l).expect("one view per encoder width");
        let (w, b, act) = (layer.weight, layer.bias, layer.activation);
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
