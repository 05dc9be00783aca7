//! Reshape: the same values read as another shape of the same length, `{ reshape = [C, H, W] }`.
//! What lets a dense layer (which outputs a flat vector) feed a convolution: the default
//! decoder puts one after the layer that undoes the encoder's dense code. (The other way needs
//! nothing: a dense layer reads an image flattened, channel-major.)
//!
//! Forward `y = x`, backward `∂L/∂x = ∂L/∂y`: a copy each way (no scratch, no parameters).
//!
//! # Shapes
//! input `rows × n` → output `rows × n`, `n = C·H·W`.

use super::{GradSlots, Layer, Pass, Shape, TensorId};
use crate::error::{Error, Result};
use crate::nn::Activation;

/// `{ reshape = [C, H, W] }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReshapeConfig {
    /// The output shape.
    pub shape: Shape,
}

impl ReshapeConfig {
    /// Checks the target has values; `key` names the table in errors.
    pub fn check(&self, key: &str) -> Result<()> {
        if self.shape.is_empty() {
            return Err(Error::config(
                key,
                "a reshape target needs at least 1 value",
            ));
        }
        Ok(())
    }

    /// The target, when it holds as many values as `input`.
    pub fn output_shape(&self, input: Shape) -> std::result::Result<Shape, String> {
        if input.len() != self.shape.len() {
            return Err(format!(
                "cannot read {} values as {} ({} values)",
                input.len(),
                self.shape,
                self.shape.len()
            ));
        }
        Ok(self.shape)
    }

    /// The layer on `input`.
    pub fn init(&self, input: Shape) -> ReshapeLayer {
        ReshapeLayer {
            input,
            output: self.shape,
        }
    }
}

/// A built reshape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReshapeLayer {
    input: Shape,
    output: Shape,
}

impl Layer for ReshapeLayer {
    fn kind(&self) -> &'static str {
        "reshape"
    }
    fn input_shape(&self) -> Shape {
        self.input
    }
    fn output_shape(&self) -> Shape {
        self.output
    }
    fn activation(&self) -> Activation {
        Activation::Linear
    }
    fn tensors(&self) -> &[TensorId] {
        &[]
    }
    fn decayed_tensors(&self) -> &[TensorId] {
        &[]
    }
    fn scratch_floats(&self, _rows: usize) -> usize {
        0
    }

    // input, output: rows × n
    fn forward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
        output: &mut [f32],
        activation: Activation,
        _scratch: &mut [f32],
    ) {
        output.copy_from_slice(input);
        if activation != Activation::Linear {
            let n = self.output.len();
            pass.backend
                .for_row_chunks(output, n, &mut [], &|_, rows, _| {
                    activation.forward_with_bias(rows, &vec![0.0; n])
                });
        }
    }

    // delta, input_grad: rows × n
    fn backward(
        &self,
        _pass: &Pass<'_>,
        _input: &[f32],
        _output: &[f32],
        delta: &mut [f32],
        _grads: &mut GradSlots<'_>,
        input_grad: Option<&mut [f32]>,
        _scratch: &mut [f32],
    ) {
        if let Some(g) = input_grad {
            g.copy_from_slice(delta);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reshape_copies_values_and_gradients_and_checks_the_length() {
        let img = Shape::Image {
            channels: 2,
            height: 2,
            width: 3,
        };
        let c = ReshapeConfig { shape: img };
        assert!(c.output_shape(Shape::Flat(11)).is_err());
        let layer = c.init(Shape::Flat(12));
        assert_eq!(layer.output_shape(), img);
        let err = super::super::check::worst_gradient_error(&layer, &[], 2, 3, 1e-2);
        assert!(err < 1e-3, "{err}");
    }
}
