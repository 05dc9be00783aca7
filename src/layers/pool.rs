//! Pooling: max or average over non-overlapping `k × k` windows of each channel (stride `k`, no
//! padding). Like PyTorch's floor mode, a ragged edge (the last `H mod k` rows, `W mod k`
//! columns) is dropped: it reaches no output and gets a zero gradient.
//!
//! With the window `Ω(c, i, j) = {(c, k·i + u, k·j + v) : 0 ≤ u, v < k}`:
//!
//! - max: `y[c,i,j] = max_{p ∈ Ω} x[p]`, and `∂L/∂x[p] = ∂L/∂y[c,i,j]` for `p = p*(c,i,j)`, the
//!   first position of the window in row-major order holding the maximum, `0` elsewhere. The
//!   tie rule makes the gradient a subgradient that backward recomputes exactly: it scans the
//!   window as forward does, so no argmax indices are stored.
//! - average: `y[c,i,j] = (1/k²) Σ_{p ∈ Ω} x[p]` and `∂L/∂x[p] = ∂L/∂y[c,i,j] / k²` for every
//!   `p ∈ Ω(c,i,j)`.
//!
//! The layer has no parameters and no activation of its own (`Linear`); forward still applies
//! an activation it is handed.
//!
//! # Shapes
//! input `rows × C·H·W` (`Shape::Image`) → output `rows × C·⌊H/k⌋·⌊W/k⌋`; no scratch.

use super::{GradSlots, Layer, Pass, Shape, TensorId};
use crate::error::{Error, Result};
use crate::linalg::fastmath::simd_dispatch;
use crate::nn::Activation;

/// `b` when strictly greater, else `a`: the first of equal maxima wins, as [`PoolLayer::argmax`]
/// picks it.
#[inline(always)]
fn first_max(a: f32, b: f32) -> f32 {
    if b > a {
        b
    } else {
        a
    }
}

simd_dispatch! {
    /// One output row of a 2×2 max pool from input rows `r0`, `r1` (`2·out.len()` values read
    /// of each): the maximum in row-major order with the first of equal values kept, so each
    /// output equals the input at [`PoolLayer::argmax`] (the common case, vectorized).
    fn max_pool2_row(r0: &[f32], r1: &[f32], out: &mut [f32]) {
        // pairs by chunks, not by index: no bounds checks, so the loop vectorizes
        for ((o, a), b) in out
            .iter_mut()
            .zip(r0.chunks_exact(2))
            .zip(r1.chunks_exact(2))
        {
            *o = first_max(first_max(a[0], a[1]), first_max(b[0], b[1]));
        }
    }
}

/// The widest window a config may ask for.
pub const MAX_POOL_SIZE: usize = 1024;

/// Which statistic of a window a pooling layer keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// The window's largest value.
    Max,
    /// The window's mean.
    Avg,
}

impl PoolKind {
    /// The name in configs and messages (`"max"`, `"avg"`).
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Max => "max",
            PoolKind::Avg => "avg",
        }
    }
}

/// A pooling layer's settings: the statistic and the window side `size` (also the stride).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Max or average.
    pub kind: PoolKind,
    /// Window side `k`, and the stride.
    pub size: usize,
}

impl PoolConfig {
    /// Checks the window size (`1..=1024`); `key` names the config entry in errors.
    pub fn check(&self, key: &str) -> Result<()> {
        if !(1..=MAX_POOL_SIZE).contains(&self.size) {
            return Err(Error::config(
                key,
                format!(
                    "a pool size must be in 1..={MAX_POOL_SIZE}, got {}",
                    self.size
                ),
            ));
        }
        Ok(())
    }

    /// The output shape on `input`, `C × ⌊H/k⌋ × ⌊W/k⌋`, or why there is none (a flat input, a
    /// window larger than the image); the message names no config key.
    pub fn output_shape(&self, input: Shape) -> std::result::Result<Shape, String> {
        let Shape::Image {
            channels,
            height,
            width,
        } = input
        else {
            return Err(format!(
                "pooling needs an image input (C×H×W), got a flat input of {input}"
            ));
        };
        if self.size == 0 {
            return Err("a pool size must be at least 1".into());
        }
        if self.size > height || self.size > width {
            return Err(format!(
                "pool size {} is larger than the input {height}×{width}",
                self.size
            ));
        }
        Ok(Shape::Image {
            channels,
            height: height / self.size,
            width: width / self.size,
        })
    }

    /// Builds the layer on `input`.
    ///
    /// # Panics
    /// When [`PoolConfig::output_shape`] rejects `input` (callers check shapes first).
    pub fn init(&self, input: Shape) -> PoolLayer {
        let output = self
            .output_shape(input)
            .unwrap_or_else(|e| panic!("pool layer on {input}: {e}"));
        PoolLayer {
            kind: self.kind,
            size: self.size,
            input,
            output,
        }
    }
}

/// A built pooling layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLayer {
    kind: PoolKind,
    size: usize,
    input: Shape,
    output: Shape,
}

/// `(C, H, W)` of an image shape (pool layers are only built on images).
fn dims(shape: Shape) -> (usize, usize, usize) {
    match shape {
        Shape::Image {
            channels,
            height,
            width,
        } => (channels, height, width),
        Shape::Flat(d) => (1, 1, d),
    }
}

impl PoolLayer {
    /// Max or average.
    pub fn pool_kind(&self) -> PoolKind {
        self.kind
    }
    /// The window side (and stride).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The offset in one channel plane (`H × W`, row-major) of the window cell `(i, j)`'s
    /// maximum: the first in row-major order holding it. Forward and backward both call this,
    /// so backward's argmax is forward's.
    #[inline]
    fn argmax(&self, plane: &[f32], width: usize, i: usize, j: usize) -> usize {
        let k = self.size;
        let mut best = (k * i) * width + k * j;
        let mut max = plane[best];
        for u in 0..k {
            let row = (k * i + u) * width + k * j;
            for (v, &x) in plane[row..row + k].iter().enumerate() {
                // strictly greater: an equal later value does not take over (first wins)
                if x > max {
                    max = x;
                    best = row + v;
                }
            }
        }
        best
    }

    /// One example: `out` (`C × OH × OW`) from `x` (`C × H × W`).
    fn forward_row(&self, x: &[f32], out: &mut [f32]) {
        let (channels, height, width) = dims(self.input);
        let (_, oh, ow) = dims(self.output);
        let k = self.size;
        let scale = 1.0 / (k * k) as f32;
        for c in 0..channels {
            let plane = &x[c * height * width..(c + 1) * height * width];
            let out_plane = &mut out[c * oh * ow..(c + 1) * oh * ow];
            if self.kind == PoolKind::Max && k == 2 {
                for i in 0..oh {
                    max_pool2_row(
                        &plane[2 * i * width..][..2 * ow],
                        &plane[(2 * i + 1) * width..][..2 * ow],
                        &mut out_plane[i * ow..(i + 1) * ow],
                    );
                }
                continue;
            }
            for i in 0..oh {
                for j in 0..ow {
                    out_plane[i * ow + j] = match self.kind {
                        PoolKind::Max => plane[self.argmax(plane, width, i, j)],
                        PoolKind::Avg => {
                            let mut sum = 0.0f32;
                            for u in 0..k {
                                let row = (k * i + u) * width + k * j;
                                sum += plane[row..row + k].iter().sum::<f32>();
                            }
                            sum * scale
                        }
                    };
                }
            }
        }
    }

    /// One example: overwrites `grad` (`C × H × W`) with `∂L/∂x` from `delta` (`C × OH × OW`).
    fn backward_row(&self, x: &[f32], delta: &[f32], grad: &mut [f32]) {
        let (channels, height, width) = dims(self.input);
        let (_, oh, ow) = dims(self.output);
        let k = self.size;
        let scale = 1.0 / (k * k) as f32;
        // the ragged edge and the non-maxima get nothing
        grad.fill(0.0);
        for c in 0..channels {
            let plane = &x[c * height * width..(c + 1) * height * width];
            let grad_plane = &mut grad[c * height * width..(c + 1) * height * width];
            let delta_plane = &delta[c * oh * ow..(c + 1) * oh * ow];
            if self.kind == PoolKind::Max && k == 2 {
                // argmax unrolled for the common 2×2 window (same row-major first-max rule)
                for i in 0..oh {
                    for j in 0..ow {
                        let top = 2 * i * width + 2 * j;
                        let mut best = top;
                        for p in [top + 1, top + width, top + width + 1] {
                            if plane[p] > plane[best] {
                                best = p;
                            }
                        }
                        grad_plane[best] = delta_plane[i * ow + j];
                    }
                }
                continue;
            }
            for i in 0..oh {
                for j in 0..ow {
                    let d = delta_plane[i * ow + j];
                    match self.kind {
                        PoolKind::Max => grad_plane[self.argmax(plane, width, i, j)] = d,
                        PoolKind::Avg => {
                            for u in 0..k {
                                let row = (k * i + u) * width + k * j;
                                grad_plane[row..row + k].fill(d * scale);
                            }
                        }
                    }
                }
            }
        }
    }
}

impl Layer for PoolLayer {
    fn kind(&self) -> &'static str {
        "pool"
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

    // input: rows × C·H·W, output: rows × C·OH·OW; one example at a time, in parallel chunks
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

    // delta: rows × C·OH·OW (the layer's activation is Linear: delta is already ∂L/∂y),
    // input_grad: rows × C·H·W, overwritten
    fn backward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
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
                    self.backward_row(
                        &input[row * n_in..(row + 1) * n_in],
                        &delta[row * n_out..(row + 1) * n_out],
                        grad,
                    );
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

    fn layer(kind: PoolKind, size: usize, input: Shape) -> PoolLayer {
        PoolConfig { kind, size }.init(input)
    }

    #[test]
    fn gradients_match_finite_differences() {
        for kind in [PoolKind::Max, PoolKind::Avg] {
            for (size, input) in [
                (2, image(2, 4, 4)),
                (3, image(2, 6, 3)),
                // ragged: the last row and column reach no output
                (2, image(2, 5, 5)),
                (1, image(1, 2, 3)),
            ] {
                let pool = layer(kind, size, input);
                // a max window whose two largest values lie within a step of each other
                // changes its argmax under the step; a few draws are tried so one has none
                let worst = (1..10)
                    .map(|seed| worst_gradient_error(&pool, &[], 3, seed, 1e-3))
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    worst < 1e-3,
                    "{kind:?} {size} on {input}: worst relative error {worst}"
                );
            }
        }
    }

    #[test]
    fn forward_and_backward_by_hand() {
        // one channel 3×5, size 2: windows over rows 0–1 and columns 0–1, 2–3; row 2 and
        // column 4 are the ragged edge
        #[rustfmt::skip]
        let x = [
            1.0, 5.0, 2.0, 0.0, 9.0,
            3.0, 4.0, 8.0, 8.0, 9.0,
            9.0, 9.0, 9.0, 9.0, 9.0,
        ];
        let input = image(1, 3, 5);
        let delta = [10.0f32, 20.0];
        let backend = Cpu::new(1);
        let max = layer(PoolKind::Max, 2, input);
        let (out, grad, _) = run_passes(&max, &[], &x, &delta, 1, &backend, true);
        assert_eq!(out, [5.0, 8.0]);
        #[rustfmt::skip]
        let want = [
            0.0, 10.0, 0.0, 0.0, 0.0,
            0.0, 0.0, 20.0, 0.0, 0.0, // the tie 8, 8: the first gets it all
            0.0, 0.0, 0.0, 0.0, 0.0,
        ];
        assert_eq!(grad, want);
        let avg = layer(PoolKind::Avg, 2, input);
        let (out, grad, _) = run_passes(&avg, &[], &x, &delta, 1, &backend, true);
        assert_eq!(out, [13.0 / 4.0, 18.0 / 4.0]);
        #[rustfmt::skip]
        let want = [
            2.5, 2.5, 5.0, 5.0, 0.0,
            2.5, 2.5, 5.0, 5.0, 0.0,
            0.0, 0.0, 0.0, 0.0, 0.0,
        ];
        assert_eq!(grad, want);
    }

    #[test]
    fn a_window_of_equal_values_sends_the_gradient_to_its_first_position() {
        // two channels 2×2, size 2: a flat window, and one whose maximum appears twice
        let x = [0.5f32, 0.5, 0.5, 0.5, -1.0, 3.0, 3.0, 3.0];
        let pool = layer(PoolKind::Max, 2, image(2, 2, 2));
        let (out, grad, _) = run_passes(&pool, &[], &x, &[1.5, -2.0], 1, &Cpu::new(1), true);
        assert_eq!(out, [0.5, 3.0]);
        assert_eq!(grad, [1.5, 0.0, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0]);
    }

    #[test]
    fn forward_applies_a_given_activation() {
        let pool = layer(PoolKind::Avg, 2, image(1, 2, 2));
        let backend = Cpu::new(1);
        let pass = Pass::inference(&backend, &[], 1);
        let mut out = [0.0f32];
        pool.forward(
            &pass,
            &[1.0, 2.0, 3.0, -2.0],
            &mut out,
            Activation::Relu,
            &mut [],
        );
        assert_eq!(out, [1.0]);
        pool.forward(
            &pass,
            &[1.0, 2.0, 3.0, -10.0],
            &mut out,
            Activation::Relu,
            &mut [],
        );
        assert_eq!(out, [0.0]);
    }

    #[test]
    fn shape_rules_and_errors() {
        let max3 = PoolConfig {
            kind: PoolKind::Max,
            size: 3,
        };
        assert_eq!(max3.output_shape(image(4, 7, 9)), Ok(image(4, 2, 3)));
        assert_eq!(max3.output_shape(image(1, 3, 3)), Ok(image(1, 1, 1)));
        let four = PoolConfig {
            kind: PoolKind::Avg,
            size: 4,
        };
        assert_eq!(
            four.output_shape(image(2, 3, 3)),
            Err("pool size 4 is larger than the input 3×3".to_string())
        );
        assert!(four.output_shape(image(2, 8, 3)).is_err());
        let flat = four.output_shape(Shape::Flat(16)).unwrap_err();
        assert!(flat.contains("image"), "{flat}");
        let built = four.init(image(3, 9, 8));
        assert_eq!(built.output_shape(), image(3, 2, 2));
        assert_eq!(
            (built.input_shape(), built.scratch_floats(5)),
            (image(3, 9, 8), 0)
        );
        assert!(built.tensors().is_empty() && built.decayed_tensors().is_empty());

        assert!(max3.check("model.encoder[1]").is_ok());
        for size in [0, MAX_POOL_SIZE + 1] {
            let err = PoolConfig {
                kind: PoolKind::Max,
                size,
            }
            .check("model.encoder[1]")
            .unwrap_err()
            .to_string();
            assert!(err.starts_with("model.encoder[1]: "), "{err}");
        }
    }

    #[test]
    fn two_threads_match_one() {
        // 100 examples of 3×17×16 values (3×8×8 out): both over the backend's chunk, so two
        // threads split forward and backward
        let input = image(3, 17, 16);
        let rows = 100;
        let mut rng = Rng::new(3);
        let x: Vec<f32> = (0..rows * input.len()).map(|_| rng.normal()).collect();
        for kind in [PoolKind::Max, PoolKind::Avg] {
            let pool = layer(kind, 2, input);
            let delta: Vec<f32> = (0..rows * pool.output_shape().len())
                .map(|_| rng.normal())
                .collect();
            let one = run_passes(&pool, &[], &x, &delta, rows, &Cpu::new(1), true);
            let two = on_pool(2, || {
                run_passes(&pool, &[], &x, &delta, rows, &Cpu::new(2), true)
            });
            assert_eq!(one, two, "{kind:?}");
        }
    }
}
