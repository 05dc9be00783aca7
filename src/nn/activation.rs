//! Elementwise activations: forward fused with the bias add, backward from the layer's output.

use crate::linalg::fastmath::{self, simd_dispatch};
use serde::{Deserialize, Serialize};

/// An elementwise nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `1 / (1 + e^-z)`.
    Sigmoid,
    /// `tanh z`.
    Tanh,
    /// `max(0, z)`.
    Relu,
    /// `ln(1 + e^z)`.
    Softplus,
    /// Identity.
    Linear,
}

impl Activation {
    /// All activations, for parsing and tests.
    pub const ALL: [Activation; 5] = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::Softplus,
        Activation::Linear,
    ];

    /// The config name (`"sigmoid"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::Softplus => "softplus",
            Activation::Linear => "linear",
        }
    }

    /// Parses a config name.
    pub fn parse(name: &str) -> Option<Activation> {
        Activation::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The activation of one value.
    #[inline(always)]
    pub fn apply(self, z: f32) -> f32 {
        match self {
            Activation::Sigmoid => fastmath::sigmoid(z),
            Activation::Tanh => fastmath::tanh(z),
            Activation::Relu => z.max(0.0),
            Activation::Softplus => fastmath::softplus(z),
            Activation::Linear => z,
        }
    }

    /// `da/dz` written in terms of the output `y = a(z)`, so backward needs no stored `z`.
    #[inline(always)]
    pub fn derivative_from_output(self, y: f32) -> f32 {
        match self {
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Tanh => 1.0 - y * y,
            Activation::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            // softplus'(z) = sigmoid(z) = 1 - e^-y
            Activation::Softplus => 1.0 - fastmath::exp(-y),
            Activation::Linear => 1.0,
        }
    }

    /// `d²a/dz²` written in terms of the output `y = a(z)` (the contractive penalty
    /// differentiates the slope itself). ReLU's is 0 away from its kink.
    #[inline(always)]
    pub fn second_derivative_from_output(self, y: f32) -> f32 {
        match self {
            Activation::Sigmoid => y * (1.0 - y) * (1.0 - 2.0 * y),
            Activation::Tanh => -2.0 * y * (1.0 - y * y),
            Activation::Relu | Activation::Linear => 0.0,
            // softplus''(z) = sigmoid'(z) = σ(1 − σ) with σ = 1 − e^-y
            Activation::Softplus => {
                let s = 1.0 - fastmath::exp(-y);
                s * (1.0 - s)
            }
        }
    }

    /// Forward, fused: `rows[i, j] = a(rows[i, j] + bias[j])` for a row-major chunk.
    pub fn forward_with_bias(self, rows: &mut [f32], bias: &[f32]) {
        match self {
            Activation::Sigmoid => bias_sigmoid(rows, bias),
            Activation::Tanh => bias_tanh(rows, bias),
            Activation::Relu => bias_relu(rows, bias),
            Activation::Softplus => bias_softplus(rows, bias),
            Activation::Linear => bias_linear(rows, bias),
        }
    }

    /// Backward: `grad[i] *= a'(z_i)` given the forward outputs `output[i]`.
    pub fn backward_in_place(self, grad: &mut [f32], output: &[f32]) {
        match self {
            Activation::Sigmoid => grad_sigmoid(grad, output),
            Activation::Tanh => grad_tanh(grad, output),
            Activation::Relu => grad_relu(grad, output),
            Activation::Softplus => grad_softplus(grad, output),
            Activation::Linear => {}
        }
    }
}

macro_rules! bias_activation_kernel {
    ($name:ident, $act:expr) => {
        simd_dispatch! {
            fn $name(rows: &mut [f32], bias: &[f32]) {
                for row in rows.chunks_exact_mut(bias.len()) {
                    for (z, b) in row.iter_mut().zip(bias) {
                        *z = $act.apply(*z + *b);
                    }
                }
            }
        }
    };
}
bias_activation_kernel!(bias_sigmoid, Activation::Sigmoid);
bias_activation_kernel!(bias_tanh, Activation::Tanh);
bias_activation_kernel!(bias_relu, Activation::Relu);
bias_activation_kernel!(bias_softplus, Activation::Softplus);
bias_activation_kernel!(bias_linear, Activation::Linear);

macro_rules! activation_grad_kernel {
    ($name:ident, $act:expr) => {
        simd_dispatch! {
            fn $name(grad: &mut [f32], output: &[f32]) {
                for (g, y) in grad.iter_mut().zip(output) {
                    *g *= $act.derivative_from_output(*y);
                }
            }
        }
    };
}
activation_grad_kernel!(grad_sigmoid, Activation::Sigmoid);
activation_grad_kernel!(grad_tanh, Activation::Tanh);
activation_grad_kernel!(grad_relu, Activation::Relu);
activation_grad_kernel!(grad_softplus, Activation::Softplus);

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `analytic(a(z))` against central differences of `f` over z in [−4, 4], away
    /// from ReLU's kink.
    fn assert_matches_finite_differences(
        what: &str,
        f: impl Fn(Activation, f32) -> f32,
        analytic: impl Fn(Activation, f32) -> f32,
    ) {
        for act in Activation::ALL {
            for i in 0..41 {
                let z = -4.0 + 0.2 * i as f32 + 0.013;
                if act == Activation::Relu && z.abs() < 1e-2 {
                    continue;
                }
                let h = 1e-2f64;
                let g = |x: f64| f(act, x as f32) as f64;
                let fd = (g(z as f64 + h) - g(z as f64 - h)) / (2.0 * h);
                let analytic = analytic(act, act.apply(z)) as f64;
                assert!(
                    (fd - analytic).abs() < 2e-3,
                    "{what} of {act:?} at {z}: fd {fd} vs {analytic}"
                );
            }
        }
    }

    #[test]
    fn derivative_from_output_matches_finite_differences() {
        assert_matches_finite_differences(
            "a'",
            |act, z| act.apply(z),
            |act, y| act.derivative_from_output(y),
        );
    }

    #[test]
    fn second_derivative_from_output_matches_finite_differences() {
        assert_matches_finite_differences(
            "a''",
            |act, z| act.derivative_from_output(act.apply(z)),
            |act, y| act.second_derivative_from_output(y),
        );
    }

    #[test]
    fn fused_forward_and_backward_match_scalar() {
        let bias = [0.5f32, -1.0, 2.0];
        for act in Activation::ALL {
            let mut rows: Vec<f32> = (0..12).map(|i| i as f32 * 0.3 - 1.5).collect();
            let want: Vec<f32> = rows
                .iter()
                .enumerate()
                .map(|(i, z)| act.apply(z + bias[i % 3]))
                .collect();
            act.forward_with_bias(&mut rows, &bias);
            assert_eq!(rows, want, "{act:?}");
            let mut grad = vec![1.5f32; 12];
            act.backward_in_place(&mut grad, &rows);
            for (g, y) in grad.iter().zip(&rows) {
                assert_eq!(*g, 1.5 * act.derivative_from_output(*y));
            }
        }
    }
}
