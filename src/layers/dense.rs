//! The dense layer `a = act(x·Wᵀ + b)`: its config, its shape rule, forward and backward side
//! by side, and the borrowed kernel ([`Dense`]) other models (probes, RBMs) run too.
//!
//! Weights are stored `[outputs, inputs]` (PyTorch's layout). A layer whose weight is shared,
//! transposed, with another layer (tied autoencoders) reads a `[inputs, outputs]` buffer
//! instead: `transposed_weight = true`. An image input is read flattened (channel-major).
//!
//! # Shapes
//! input `rows × inputs` (any shape of `inputs` values) → output `rows × outputs`
//! (`Shape::Flat(outputs)`); no scratch.

use super::{GradSlots, Layer, Pass, Shape, Tensor, TensorId};
use crate::error::{Error, Result};
use crate::linalg::backend::Backend;
use crate::linalg::fastmath::simd_dispatch;
use crate::linalg::gemm::View;
use crate::linalg::Rng;
use crate::nn::{Activation, Init};

/// The widest layer a model may have (with it, no product of two widths overflows).
pub const MAX_UNITS: usize = 1 << 24;

/// A dense layer's settings: `{ dense = units, activation = … }` in a config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseConfig {
    /// Output width.
    pub units: usize,
    /// Activation of the output.
    pub activation: Activation,
}

impl DenseConfig {
    /// Checks the width; `key` names the config entry in errors.
    pub fn check(&self, key: &str) -> Result<()> {
        if self.units == 0 {
            return Err(Error::config(key, "every layer needs at least 1 unit"));
        }
        if self.units > MAX_UNITS {
            return Err(Error::config(
                key,
                format!("at most {MAX_UNITS} units a layer, got {}", self.units),
            ));
        }
        Ok(())
    }

    /// Parameter values of the layer on `input` (weight and bias; a tied layer's weight is
    /// another's, so only its bias counts).
    pub fn parameter_count(&self, input: Shape, tied: bool) -> usize {
        let weight = if tied { 0 } else { input.len() * self.units };
        weight + self.units
    }

    /// Builds the layer on `input`: pushes its tensors `{name}.weight` and `{name}.bias` (or
    /// only the bias, reading `tied_weight`'s `[inputs, outputs]` weight transposed) onto
    /// `tensors`, drawn by `init` from `rng`.
    pub fn init(
        &self,
        input: Shape,
        name: &str,
        init: Init,
        tied_weight: Option<TensorId>,
        tensors: &mut Vec<Tensor>,
        rng: &mut Rng,
    ) -> DenseLayer {
        let (inputs, outputs) = (input.len(), self.units);
        let weight = match tied_weight {
            Some(w) => w,
            None => {
                tensors.push(Tensor {
                    name: format!("{name}.weight"),
                    shape: vec![outputs, inputs],
                    data: vec![0.0; outputs * inputs],
                });
                tensors.len() - 1
            }
        };
        tensors.push(Tensor {
            name: format!("{name}.bias"),
            shape: vec![outputs],
            data: vec![0.0; outputs],
        });
        let bias = tensors.len() - 1;
        if tied_weight.is_some() {
            // only the bias is new; start it as an untied one would (same draws)
            let mut scratch = vec![0.0f32; inputs * outputs];
            init.fill(&mut scratch, &mut tensors[bias].data, inputs, outputs, rng);
        } else {
            let (left, right) = tensors.split_at_mut(bias);
            init.fill(
                &mut left[weight].data,
                &mut right[0].data,
                inputs,
                outputs,
                rng,
            );
        }
        DenseLayer {
            input,
            outputs,
            activation: self.activation,
            ids: [weight, bias],
            transposed_weight: tied_weight.is_some(),
        }
    }
}

/// A built dense layer: its shapes, activation and the indices of its weight and bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseLayer {
    input: Shape,
    outputs: usize,
    activation: Activation,
    /// `[weight, bias]`.
    ids: [TensorId; 2],
    transposed_weight: bool,
}

impl DenseLayer {
    /// Input width.
    pub fn inputs(&self) -> usize {
        self.input.len()
    }
    /// Output width.
    pub fn outputs(&self) -> usize {
        self.outputs
    }
    /// The weight's tensor.
    pub fn weight(&self) -> TensorId {
        self.ids[0]
    }
    /// The bias's tensor.
    pub fn bias(&self) -> TensorId {
        self.ids[1]
    }
    /// Whether the weight is another layer's, read transposed (`[inputs, outputs]`).
    pub fn transposed_weight(&self) -> bool {
        self.transposed_weight
    }
    /// The layer with its parameters, as the engine's kernel.
    pub fn kernel<'a>(&self, params: &'a [Tensor]) -> Dense<'a> {
        Dense {
            weight: &params[self.ids[0]].data,
            bias: &params[self.ids[1]].data,
            inputs: self.inputs(),
            outputs: self.outputs,
            transposed_weight: self.transposed_weight,
        }
    }
}

impl Layer for DenseLayer {
    fn kind(&self) -> &'static str {
        "dense"
    }
    fn input_shape(&self) -> Shape {
        self.input
    }
    fn output_shape(&self) -> Shape {
        Shape::Flat(self.outputs)
    }
    fn activation(&self) -> Activation {
        self.activation
    }
    fn tensors(&self) -> &[TensorId] {
        &self.ids
    }
    fn decayed_tensors(&self) -> &[TensorId] {
        if self.transposed_weight {
            &[]
        } else {
            &self.ids[..1]
        }
    }
    fn scratch_floats(&self, _rows: usize) -> usize {
        0
    }

    // input: rows × inputs, output: rows × outputs
    fn forward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
        output: &mut [f32],
        activation: Activation,
        _scratch: &mut [f32],
    ) {
        self.kernel(pass.params)
            .forward(pass.backend, input, pass.rows, activation, output);
    }

    // delta: rows × outputs (∂/∂a in, ∂/∂z after the activation), input_grad: rows × inputs
    fn backward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
        output: &[f32],
        delta: &mut [f32],
        grads: &mut GradSlots<'_>,
        input_grad: Option<&mut [f32]>,
        _scratch: &mut [f32],
    ) {
        let (act, w) = (self.activation, self.outputs);
        if act != Activation::Linear {
            pass.backend
                .for_row_chunks(delta, w, &mut [], &|first, g, _| {
                    act.backward_in_place(g, &output[first * w..first * w + g.len()]);
                });
        }
        let (wg, bg, accumulate_w, accumulate_b) = grads.layer(self.ids[0], self.ids[1]);
        self.kernel(pass.params).backward(
            pass.backend,
            input,
            pass.rows,
            delta,
            wg,
            bg,
            accumulate_w,
            accumulate_b,
            input_grad,
        );
    }

    fn as_dense(&self) -> Option<&DenseLayer> {
        Some(self)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::check::worst_gradient_error;
    use crate::layers::AnyLayer;

    fn built(
        activation: Activation,
        input: Shape,
        tied: bool,
        seed: u64,
    ) -> (AnyLayer, Vec<Tensor>) {
        let mut tensors = Vec::new();
        let mut rng = Rng::new(seed);
        let tied_weight = tied.then(|| {
            // a `[inputs, outputs]` weight owned by another layer (its encoder twin)
            let twin = DenseConfig {
                units: input.len(),
                activation,
            };
            twin.init(
                Shape::Flat(3),
                "twin",
                Init::Glorot,
                None,
                &mut tensors,
                &mut rng,
            )
            .weight()
        });
        let config = DenseConfig {
            units: 3,
            activation,
        };
        let layer = config.init(
            input,
            "layer",
            Init::Glorot,
            tied_weight,
            &mut tensors,
            &mut rng,
        );
        (layer.into(), tensors)
    }

    #[test]
    fn gradients_match_finite_differences_for_every_activation() {
        let image = Shape::Image {
            channels: 2,
            height: 1,
            width: 2,
        };
        for activation in [
            Activation::Linear,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Softplus,
            Activation::Relu,
        ] {
            for (input, tied) in [
                (Shape::Flat(4), false),
                (image, false),
                (Shape::Flat(4), true),
            ] {
                // ReLU's kink: the step is small and the check point is a seed's draw; a few
                // seeds are tried so no pre-activation sits within a step of 0
                let worst = (1..20)
                    .map(|seed| {
                        let (layer, params) = built(activation, input, tied, seed);
                        worst_gradient_error(&*layer, &params, 3, seed, 1e-3)
                    })
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    worst < 5e-3,
                    "{activation:?} on {input} (tied {tied}): worst relative error {worst}"
                );
            }
        }
    }

    /// A dense layer whose backward is off by a little: the check must see it.
    #[derive(Debug)]
    struct Skewed(DenseLayer);

    impl Layer for Skewed {
        fn kind(&self) -> &'static str {
            "skewed"
        }
        fn input_shape(&self) -> Shape {
            self.0.input_shape()
        }
        fn output_shape(&self) -> Shape {
            self.0.output_shape()
        }
        fn activation(&self) -> Activation {
            self.0.activation()
        }
        fn tensors(&self) -> &[TensorId] {
            self.0.tensors()
        }
        fn decayed_tensors(&self) -> &[TensorId] {
            self.0.decayed_tensors()
        }
        fn scratch_floats(&self, rows: usize) -> usize {
            self.0.scratch_floats(rows)
        }
        fn forward(&self, p: &Pass<'_>, x: &[f32], o: &mut [f32], a: Activation, s: &mut [f32]) {
            self.0.forward(p, x, o, a, s)
        }
        fn backward(
            &self,
            p: &Pass<'_>,
            x: &[f32],
            o: &[f32],
            delta: &mut [f32],
            grads: &mut GradSlots<'_>,
            input_grad: Option<&mut [f32]>,
            s: &mut [f32],
        ) {
            delta.iter_mut().for_each(|d| *d *= 1.02);
            self.0.backward(p, x, o, delta, grads, input_grad, s)
        }
    }

    #[test]
    fn the_check_catches_a_wrong_gradient() {
        let (layer, params) = built(Activation::Tanh, Shape::Flat(4), false, 1);
        let dense = *layer.as_dense().unwrap();
        assert!(worst_gradient_error(&dense, &params, 3, 1, 1e-3) < 5e-3);
        let skewed = worst_gradient_error(&Skewed(dense), &params, 3, 1, 1e-3);
        assert!(skewed > 5e-3, "a 2 % error went unseen: {skewed}");
    }

    #[test]
    fn config_checks_name_the_key() {
        let zero = DenseConfig {
            units: 0,
            activation: Activation::Relu,
        };
        let err = zero.check("model.encoder[2]").unwrap_err().to_string();
        assert!(err.starts_with("model.encoder[2]: "), "{err}");
        let huge = DenseConfig {
            units: MAX_UNITS + 1,
            activation: Activation::Relu,
        };
        assert!(huge
            .check("model.code")
            .unwrap_err()
            .to_string()
            .starts_with("model.code: "));
        assert_eq!(
            DenseConfig {
                units: 3,
                activation: Activation::Relu
            }
            .parameter_count(Shape::Flat(4), false),
            15
        );
    }
}
