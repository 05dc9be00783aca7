//! Nearest-neighbour upsampling by an integer factor `f`: each value of each channel becomes an
//! `f × f` block,
//!
//! `y[c, i, j] = x[c, ⌊i/f⌋, ⌊j/f⌋]`, so `∂L/∂x[c, p, q] = Σ_{0 ≤ u, v < f} ∂L/∂y[c, f·p + u, f·q + v]`.
//!
//! The layer has no parameters and no activation of its own (`Linear`); forward still applies
//! an activation it is handed.
//!
//! # Shapes
//! input `rows × C·H·W` (`Shape::Image`) → output `rows × C·(f·H)·(f·W)`; no scratch.

use super::{GradSlots, Layer, Pass, Shape, TensorId};
use crate::error::{Error, Result};
use crate::nn::Activation;

/// The largest factor a config may ask for.
pub const MAX_UPSAMPLE_FACTOR: usize = 1024;

/// An upsampling layer's settings: the integer factor on both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpsampleConfig {
    /// `f`: each value becomes an `f × f` block.
    pub factor: usize,
}

impl UpsampleConfig {
    /// Checks the factor (`1..=1024`); `key` names the config entry in errors.
    pub fn check(&self, key: &str) -> Result<()> {
        if !(1..=MAX_UPSAMPLE_FACTOR).contains(&self.factor) {
            return Err(Error::config(
                key,
                format!(
                    "an upsampling factor must be in 1..={MAX_UPSAMPLE_FACTOR}, got {}",
                    self.factor
                ),
            ));
        }
        Ok(())
    }

    /// The output shape on `input`, `C × (f·H) × (f·W)`, or why there is none (a flat input,
    /// an output too large to address); the message names no config key.
    pub fn output_shape(&self, input: Shape) -> std::result::Result<Shape, String> {
        let Shape::Image {
            channels,
            height,
            width,
        } = input
        else {
            return Err(format!(
                "upsampling needs an image input (C×H×W), got a flat input of {input}"
            ));
        };
        if self.factor == 0 {
            return Err("an upsampling factor must be at least 1".into());
        }
        let f = self.factor;
        let too_large = || format!("upsampling {input} by {f} gives too many values");
        let (h, w) = (
            height.checked_mul(f).ok_or_else(too_large)?,
            width.checked_mul(f).ok_or_else(too_large)?,
        );
        channels
            .checked_mul(h)
            .and_then(|v| v.checked_mul(w))
            .ok_or_else(too_large)?;
        Ok(Shape::Image {
            channels,
            height: h,
            width: w,
        })
    }

    /// Builds the layer on `input`.
    ///
    /// # Panics
    /// When [`UpsampleConfig::output_shape`] rejects `input` (callers check shapes first).
    pub fn init(&self, input: Shape) -> UpsampleLayer {
        let output = self
            .output_shape(input)
            .unwrap_or_else(|e| panic!("upsample layer on {input}: {e}"));
        UpsampleLayer {
            factor: self.factor,
            input,
            output,
        }
    }
}

/// A built upsampling layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpsampleLayer {
    factor: usize,
    input: Shape,
    output: Shape,
}

impl UpsampleLayer {
    /// The factor `f`.
    pub fn factor(&self) -> usize {
        self.factor
    }

    /// `(C, H, W)` of the input.
    fn dims(&self) -> (usize, usize, usize) {
        match self.input {
            Shape::Image {
                channels,
                height,
                width,
            } => (channels, height, width),
            Shape::Flat(d) => (1, 1, d),
        }
    }

    /// One example: `out` (`C × fH × fW`) from `x` (`C × H × W`).
    fn forward_row(&self, x: &[f32], out: &mut [f32]) {
        let (_, _, width) = self.dims();
        let f = self.factor;
        let out_width = f * width;
        // each input row becomes one stretched output row, copied f times
        for (in_row, out_rows) in x
            .chunks_exact(width)
            .zip(out.chunks_exact_mut(f * out_width))
        {
            let (first, rest) = out_rows.split_at_mut(out_width);
            for (block, &v) in first.chunks_exact_mut(f).zip(in_row) {
                block.fill(v);
            }
            for copy in rest.chunks_exact_mut(out_width) {
                copy.copy_from_slice(first);
            }
        }
    }

    /// One example: overwrites `grad` (`C × H × W`) with the block sums of `delta`
    /// (`C × fH × fW`), each summed row by row in a fixed order.
    fn backward_row(&self, delta: &[f32], grad: &mut [f32]) {
        let (_, _, width) = self.dims();
        let f = self.factor;
        let out_width = f * width;
        for (g_row, d_rows) in grad
            .chunks_exact_mut(width)
            .zip(delta.chunks_exact(f * out_width))
        {
            g_row.fill(0.0);
            for d_row in d_rows.chunks_exact(out_width) {
                for (g, block) in g_row.iter_mut().zip(d_row.chunks_exact(f)) {
                    *g += block.iter().sum::<f32>();
                }
            }
        }
    }
}

impl Layer for UpsampleLayer {
    fn kind(&self) -> &'static str {
        "upsample"
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

    // input: rows × C·H·W, output: rows × C·fH·fW
    fn forward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
        output: &mut [f32],
        activation: Activation,
        _scratch: &mut [f32],
    ) {
        let (n_in, n_out) = (self.input.len(), self.output.len());
        pass.backend
            .for_row_chunks(output, n_out, &mut [], &|first, chunk, _| {
                for (r, out) in chunk.chunks_exact_mut(n_out).enumerate() {
                    let row = first + r;
                    self.forward_row(&input[row * n_in..(row + 1) * n_in], out);
                    if activation != Activation::Linear {
                        out.iter_mut().for_each(|y| *y = activation.apply(*y));
                    }
                }
            });
    }

    // delta: rows × C·fH·fW (the layer's activation is Linear: delta is already ∂L/∂y),
    // input_grad: rows × C·H·W, overwritten
    fn backward(
        &self,
        pass: &Pass<'_>,
        _input: &[f32],
        _output: &[f32],
        delta: &mut [f32],
        _grads: &mut GradSlots<'_>,
        input_grad: Option<&mut [f32]>,
        _scratch: &mut [f32],
    ) {
        let Some(input_grad) = input_grad else {
            return;
        };
        let (n_in, n_out) = (self.input.len(), self.output.len());
        let delta = &*delta;
        pass.backend
            .for_row_chunks(input_grad, n_in, &mut [], &|first, chunk, _| {
                for (r, grad) in chunk.chunks_exact_mut(n_in).enumerate() {
                    let row = first + r;
                    self.backward_row(&delta[row * n_out..(row + 1) * n_out], grad);
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::check::{on_pool, run_passes, worst_gradient_error};
    use crate::linalg::{Cpu, Rng};

    fn image(channels: usize, height: usize, width: usize) -> Shape {
        Shape::Image {
            channels,
            height,
            width,
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (factor, input) in [
            (2, image(2, 3, 2)),
            (3, image(1, 2, 3)),
            (1, image(2, 2, 2)),
        ] {
            let up = UpsampleConfig { factor }.init(input);
            let worst = worst_gradient_error(&up, &[], 3, 1, 1e-3);
            assert!(worst < 1e-3, "factor {factor} on {input}: {worst}");
        }
    }

    #[test]
    fn forward_and_backward_by_hand() {
        // two channels of 1×2, factor 2
        let up = UpsampleConfig { factor: 2 }.init(image(2, 1, 2));
        let x = [1.0f32, 2.0, 3.0, 4.0];
        #[rustfmt::skip]
        let delta = [
            1.0, 2.0, 3.0, 4.0,
            5.0, 6.0, 7.0, 8.0,
            0.5, 0.5, 1.0, 1.0,
            0.5, 0.5, 1.0, -1.0,
        ];
        let (out, grad, _) = run_passes(&up, &[], &x, &delta, 1, &Cpu::new(1), true);
        #[rustfmt::skip]
        let want = [
            1.0, 1.0, 2.0, 2.0,
            1.0, 1.0, 2.0, 2.0,
            3.0, 3.0, 4.0, 4.0,
            3.0, 3.0, 4.0, 4.0,
        ];
        assert_eq!(out, want);
        assert_eq!(grad, [14.0, 22.0, 2.0, 2.0]);
    }

    #[test]
    fn shape_rules_and_errors() {
        let three = UpsampleConfig { factor: 3 };
        assert_eq!(three.output_shape(image(4, 2, 5)), Ok(image(4, 6, 15)));
        let flat = three.output_shape(Shape::Flat(8)).unwrap_err();
        assert!(flat.contains("image"), "{flat}");
        assert!(three.output_shape(image(1, usize::MAX / 2, 1)).is_err());
        let built = three.init(image(2, 1, 1));
        assert_eq!(
            (built.input_shape(), built.output_shape()),
            (image(2, 1, 1), image(2, 3, 3))
        );
        assert!(built.tensors().is_empty() && built.decayed_tensors().is_empty());
        assert!(three.check("model.decoder[0]").is_ok());
        for factor in [0, MAX_UPSAMPLE_FACTOR + 1] {
            let err = UpsampleConfig { factor }
                .check("model.decoder[0]")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("model.decoder[0]: "), "{err}");
        }
    }

    #[test]
    fn two_threads_match_one() {
        // 100 examples: input and output both over the backend's chunk, so both passes split
        let input = image(3, 8, 8);
        let rows = 100;
        let up = UpsampleConfig { factor: 2 }.init(input);
        let mut rng = Rng::new(5);
        let x: Vec<f32> = (0..rows * input.len()).map(|_| rng.normal()).collect();
        let delta: Vec<f32> = (0..rows * up.output_shape().len())
            .map(|_| rng.normal())
            .collect();
        let one = run_passes(&up, &[], &x, &delta, rows, &Cpu::new(1), true);
        let two = on_pool(2, || {
            run_passes(&up, &[], &x, &delta, rows, &Cpu::new(2), true)
        });
        assert_eq!(one, two);
    }
}
