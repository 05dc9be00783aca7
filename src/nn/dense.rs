//! The dense layer `a = act(x·Wᵀ + b)`, forward and backward side by side.
//!
//! Weights are stored `[outputs, inputs]` (PyTorch's layout). A layer whose weight is shared,
//! transposed, with another layer (tied autoencoders) reads a `[inputs, outputs]` buffer
//! instead: `transposed_weight = true`.

use super::activation::Activation;
use crate::linalg::backend::Backend;
use crate::linalg::fastmath::simd_dispatch;
use crate::linalg::gemm::View;

/// Shape and parameters of one dense layer, borrowed from the model's parameter store.
#[derive(Clone, Copy, Debug)]
pub struct Dense<'a> {
    /// The weight: `[outputs, inputs]`, or `[inputs, outputs]` when `transposed_weight`.
    pub weight: &'a [f32],
    /// The bias, `outputs` long.
    pub bias: &'a [f32],
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// Whether `weight` is stored `[inputs, outputs]`.
    pub transposed_weight: bool,
}

impl Dense<'_> {
    fn weight_view(&self) -> View<'_> {
        if self.transposed_weight {
            View::new(self.weight, self.inputs, self.outputs)
        } else {
            View::new(self.weight, self.outputs, self.inputs)
        }
    }

    /// Forward: `output = act(input·Wᵀ + b)`, `input` is `rows × inputs`.
    pub fn forward(
        &self,
        backend: &dyn Backend,
        input: &[f32],
        rows: usize,
        act: Activation,
        output: &mut [f32],
    ) {
        let x = View::new(input, rows, self.inputs);
        // [outputs,inputs] weight needs its transpose; a [inputs,outputs] one is used as is.
        backend.gemm(
            output,
            false,
            x,
            false,
            self.weight_view(),
            !self.transposed_weight,
            1.0,
        );
        let bias = self.bias;
        backend.for_row_chunks(output, self.outputs, &mut [], &|_, chunk, _| {
            act.forward_with_bias(chunk, bias)
        });
    }

    /// Backward, given `delta = ∂L/∂z` (`rows × outputs`, already through the activation).
    ///
    /// Writes (or adds, when `accumulate_weight` / `accumulate_bias`) the weight gradient in the
    /// weight's own layout and the bias gradient, and when `input_grad` is given writes
    /// `∂L/∂input = delta·W`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        backend: &dyn Backend,
        input: &[f32],
        rows: usize,
        delta: &[f32],
        weight_grad: &mut [f32],
        bias_grad: &mut [f32],
        accumulate_weight: bool,
        accumulate_bias: bool,
        input_grad: Option<&mut [f32]>,
    ) {
        let x = View::new(input, rows, self.inputs);
        let d = View::new(delta, rows, self.outputs);
        if self.transposed_weight {
            backend.gemm(weight_grad, accumulate_weight, x, true, d, false, 1.0);
        // xᵀ·δ: [in,out]
        } else {
            backend.gemm(weight_grad, accumulate_weight, d, true, x, false, 1.0);
            // δᵀ·x: [out,in]
        }
        if !accumulate_bias {
            bias_grad.fill(0.0);
        }
        column_sums_add(delta, bias_grad);
        if let Some(input_grad) = input_grad {
            backend.gemm(
                input_grad,
                false,
                d,
                false,
                self.weight_view(),
                self.transposed_weight,
                1.0,
            );
        }
    }
}

simd_dispatch! {
    /// `sums[j] += Σ_i rows[i, j]` for a row-major matrix with `sums.len()` columns.
    pub fn column_sums_add(rows: &[f32], sums: &mut [f32]) {
        let cols = sums.len();
        for row in rows.chunks_exact(cols) {
            for (s, v) in sums.iter_mut().zip(row) {
                *s += *v;
            }
        }
    }
}
