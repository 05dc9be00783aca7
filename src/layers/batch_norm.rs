//! Batch normalization (Ioffe & Szegedy 2015) with PyTorch's semantics, per channel of an image
//! (statistics over the batch and all `H × W` positions) or per feature of a flat input (`d`
//! channels of `1 × 1`), followed by an activation:
//!
//! `x̂ = (x − μ_c) / √(σ²_c + ε)`, `z = γ_c · x̂ + β_c`, `y = act(z)`, with `ε = 1e-5`.
//!
//! In a training pass `μ_c` and `σ²_c` are the batch's mean and biased variance over the
//! `n = rows · H · W` values of channel `c`; at inference they are the running statistics,
//! which [`Layer::update_buffers`] moves after each training forward pass by
//! `running ← (1 − 0.1) · running + 0.1 · batch`, using the unbiased variance `σ² · n/(n − 1)`
//! for the running variance (as PyTorch does).
//!
//! Backward, from `δ = ∂L/∂z` (the incoming gradient taken through the activation), summing
//! over the `n` values of each channel:
//!
//! - `∂L/∂β_c = Σ δ`, `∂L/∂γ_c = Σ δ · x̂`;
//! - training, where `μ` and `σ²` depend on `x` (Ioffe & Szegedy 2015, §3, simplified):
//!   `∂L/∂x = γ_c / √(σ²_c + ε) · (δ − (1/n) Σ δ − x̂ · (1/n) Σ δ · x̂)`;
//! - inference, where the running statistics are constants: `∂L/∂x = γ_c / √(σ²_c + ε) · δ`.
//!
//! Backward recomputes the batch statistics from `input` rather than trusting state kept from
//! forward, so a layer holds nothing between passes. Per-channel sums run in f64, each channel
//! in one fixed order, so results do not depend on the number of threads.
//!
//! # Shapes
//! input `rows × C·H·W` (or `rows × d`) → output of the same shape; `γ`, `β`, the running mean
//! and variance `[C]`; scratch `4·C` (per channel: mean, `1/√(σ² + ε)` and the two sums of
//! backward).

use super::{GradSlots, Layer, Pass, Shape, Tensor, TensorId};
use crate::error::Result;
use crate::linalg::Backend;
use crate::nn::Activation;
use rayon::prelude::*;

/// `ε` in `√(σ² + ε)`, PyTorch's default.
pub const EPS: f32 = 1e-5;

/// The running statistics' momentum, PyTorch's default: each training batch moves them 10 %
/// of the way to its own statistics.
pub const MOMENTUM: f64 = 0.1;

/// Values of a per-channel pass below which it stays on one thread.
const PARALLEL_VALUES: usize = 1 << 14;

/// A batch-norm layer's settings: the activation after the affine map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormConfig {
    /// Activation of the output.
    pub activation: Activation,
}

/// `(C, H·W)`: the channels of a shape and the values of one channel in one example; a flat
/// `d` is `d` channels of one value.
fn channels(shape: Shape) -> (usize, usize) {
    match shape {
        Shape::Flat(d) => (d, 1),
        Shape::Image {
            channels,
            height,
            width,
        } => (channels, height * width),
    }
}

impl BatchNormConfig {
    /// Nothing to check (any activation will do); kept for the config's uniform treatment.
    pub fn check(&self, _key: &str) -> Result<()> {
        Ok(())
    }

    /// The output shape: the input's.
    pub fn output_shape(&self, input: Shape) -> std::result::Result<Shape, String> {
        Ok(input)
    }

    /// Trained parameter values on `input`: `γ` and `β`, one each per channel (the running
    /// statistics are not trained).
    pub fn parameter_count(&self, input: Shape) -> usize {
        2 * channels(input).0
    }

    /// Builds the layer on `input`: pushes `{name}.weight` (`γ = 1`), `{name}.bias` (`β = 0`),
    /// `{name}.running_mean` (0) and `{name}.running_var` (1), each `[C]`, onto `tensors`.
    pub fn init(&self, input: Shape, name: &str, tensors: &mut Vec<Tensor>) -> BatchNormLayer {
        let c = channels(input).0;
        let mut push = |suffix: &str, value: f32| {
            tensors.push(Tensor {
                name: format!("{name}.{suffix}"),
                shape: vec![c],
                data: vec![value; c],
            });
            tensors.len() - 1
        };
        let ids = [push("weight", 1.0), push("bias", 0.0)];
        let running = [push("running_mean", 0.0), push("running_var", 1.0)];
        BatchNormLayer {
            input,
            activation: self.activation,
            ids,
            running,
        }
    }
}

/// A built batch-norm layer: its shape, activation and the indices of its four tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchNormLayer {
    input: Shape,
    activation: Activation,
    /// `[weight (γ), bias (β)]`, the trained tensors.
    ids: [TensorId; 2],
    /// `[running_mean, running_var]`.
    running: [TensorId; 2],
}

/// `(mean, biased variance)` of channel `c` over the batch, in f64: the sum, then the centred
/// sum of squares (two passes, which stays accurate when the mean is large against the spread),
/// both in row order.
fn channel_stats(
    input: &[f32],
    rows: usize,
    (channels, spatial): (usize, usize),
    c: usize,
) -> (f64, f64) {
    let values = || {
        (0..rows).flat_map(move |r| {
            let start = (r * channels + c) * spatial;
            input[start..start + spatial].iter().map(|v| *v as f64)
        })
    };
    let n = (rows * spatial) as f64;
    let mean = values().sum::<f64>() / n;
    let var = values().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var)
}

/// Runs `f(c, stats_c)` for every channel over `stats`, `width` values a channel, in parallel
/// when the backend has threads and the pass reads at least [`PARALLEL_VALUES`]. Each channel
/// is computed by one call whatever the split, so the results are the same on any thread count.
fn for_channels(
    backend: &dyn Backend,
    values: usize,
    stats: &mut [f32],
    width: usize,
    f: &(dyn Fn(usize, &mut [f32]) + Sync),
) {
    if backend.threads() > 1 && values >= PARALLEL_VALUES && stats.len() > width {
        stats
            .par_chunks_mut(width)
            .enumerate()
            .for_each(|(c, s)| f(c, s));
    } else {
        stats
            .chunks_mut(width)
            .enumerate()
            .for_each(|(c, s)| f(c, s));
    }
}

impl BatchNormLayer {
    /// `γ`'s tensor.
    pub fn weight(&self) -> TensorId {
        self.ids[0]
    }
    /// `β`'s tensor.
    pub fn bias(&self) -> TensorId {
        self.ids[1]
    }
    /// The running mean's tensor (updated by [`Layer::update_buffers`], not trained).
    pub fn running_mean(&self) -> TensorId {
        self.running[0]
    }
    /// The running variance's tensor (updated by [`Layer::update_buffers`], not trained).
    pub fn running_var(&self) -> TensorId {
        self.running[1]
    }
    /// `ε`.
    pub fn eps(&self) -> f32 {
        EPS
    }

    /// Channel `c`'s `(μ, 1/√(σ² + ε))` for a pass: the batch's in training, the running
    /// statistics at inference.
    fn normalizer(&self, pass: &Pass<'_>, input: &[f32], c: usize) -> (f64, f64) {
        let (mean, var) = if pass.training {
            channel_stats(input, pass.rows, channels(self.input), c)
        } else {
            (
                pass.params[self.running[0]].data[c] as f64,
                pass.params[self.running[1]].data[c] as f64,
            )
        };
        (mean, 1.0 / (var + EPS as f64).sqrt())
    }
}

impl Layer for BatchNormLayer {
    fn kind(&self) -> &'static str {
        "batch_norm"
    }
    fn input_shape(&self) -> Shape {
        self.input
    }
    fn output_shape(&self) -> Shape {
        self.input
    }
    fn activation(&self) -> Activation {
        self.activation
    }
    fn tensors(&self) -> &[TensorId] {
        &self.ids
    }
    fn decayed_tensors(&self) -> &[TensorId] {
        // γ and β are a scale and a shift, not weights: PyTorch practice leaves them undecayed
        &[]
    }
    fn scratch_floats(&self, _rows: usize) -> usize {
        4 * channels(self.input).0
    }

    // input, output: rows × C·S (S = H·W, 1 for flat); scratch[..2C]: per channel μ, γ/√(σ²+ε)
    fn forward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
        output: &mut [f32],
        activation: Activation,
        scratch: &mut [f32],
    ) {
        let (c_count, spatial) = channels(self.input);
        let gamma = &pass.params[self.ids[0]].data;
        let beta = &pass.params[self.ids[1]].data;
        let stats = &mut scratch[..2 * c_count];
        for_channels(pass.backend, input.len(), stats, 2, &|c, s| {
            let (mean, inv) = self.normalizer(pass, input, c);
            s[0] = mean as f32;
            s[1] = (gamma[c] as f64 * inv) as f32;
        });
        let stats = &*stats;
        let n = self.input.len();
        pass.backend
            .for_row_chunks(output, n, &mut [], &|first, chunk, _| {
                for (r, out) in chunk.chunks_exact_mut(n).enumerate() {
                    let x = &input[(first + r) * n..(first + r + 1) * n];
                    for (c, (out, x)) in out
                        .chunks_exact_mut(spatial)
                        .zip(x.chunks_exact(spatial))
                        .enumerate()
                    {
                        // centred first: x − μ is exact-ish when μ is large against σ
                        let (mean, scale, shift) = (stats[2 * c], stats[2 * c + 1], beta[c]);
                        for (y, x) in out.iter_mut().zip(x) {
                            *y = activation.apply((*x - mean) * scale + shift);
                        }
                    }
                }
            });
    }

    // delta, input_grad: rows × C·S; scratch[..4C]: per channel μ, 1/√(σ²+ε), Σδ, Σδ·x̂
    fn backward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
        output: &[f32],
        delta: &mut [f32],
        grads: &mut GradSlots<'_>,
        input_grad: Option<&mut [f32]>,
        scratch: &mut [f32],
    ) {
        let (c_count, spatial) = channels(self.input);
        let (act, n) = (self.activation, self.input.len());
        if act != Activation::Linear {
            pass.backend
                .for_row_chunks(delta, n, &mut [], &|first, g, _| {
                    act.backward_in_place(g, &output[first * n..first * n + g.len()]);
                });
        }
        let delta = &*delta;
        let rows = pass.rows;
        let stats = &mut scratch[..4 * c_count];
        for_channels(pass.backend, 2 * input.len(), stats, 4, &|c, s| {
            let (mean, inv) = self.normalizer(pass, input, c);
            let (mut sum, mut sum_xhat) = (0.0f64, 0.0f64);
            for r in 0..rows {
                let start = (r * c_count + c) * spatial;
                let xs = &input[start..start + spatial];
                for (d, x) in delta[start..start + spatial].iter().zip(xs) {
                    let d = *d as f64;
                    sum += d;
                    sum_xhat += d * (*x as f64 - mean);
                }
            }
            s.copy_from_slice(&[mean as f32, inv as f32, sum as f32, (sum_xhat * inv) as f32]);
        });
        let stats = &*stats;

        let (wg, bg, add_w, add_b) = grads.layer(self.ids[0], self.ids[1]);
        for ((w, b), s) in wg.iter_mut().zip(bg.iter_mut()).zip(stats.chunks_exact(4)) {
            let (sum, sum_xhat) = (s[2], s[3]);
            *w = if add_w { *w + sum_xhat } else { sum_xhat };
            *b = if add_b { *b + sum } else { sum };
        }

        let Some(input_grad) = input_grad else {
            return;
        };
        let gamma = &pass.params[self.ids[0]].data;
        let training = pass.training;
        let count = (rows * spatial) as f32;
        pass.backend
            .for_row_chunks(input_grad, n, &mut [], &|first, chunk, _| {
                for (r, grad) in chunk.chunks_exact_mut(n).enumerate() {
                    let start = (first + r) * n;
                    let x = &input[start..start + n];
                    let d = &delta[start..start + n];
                    for (c, ((g, x), d)) in grad
                        .chunks_exact_mut(spatial)
                        .zip(x.chunks_exact(spatial))
                        .zip(d.chunks_exact(spatial))
                        .enumerate()
                    {
                        let s = &stats[4 * c..4 * c + 4];
                        let (mean, inv) = (s[0], s[1]);
                        let scale = gamma[c] * inv;
                        if training {
                            // the batch's mean and variance move with x: the two sums'
                            // terms take their share of δ back out
                            let (mean_d, mean_dx) = (s[2] / count, s[3] / count);
                            for ((g, x), d) in g.iter_mut().zip(x).zip(d) {
                                let xhat = (*x - mean) * inv;
                                *g = scale * (*d - mean_d - xhat * mean_dx);
                            }
                        } else {
                            for (g, d) in g.iter_mut().zip(d) {
                                *g = scale * *d;
                            }
                        }
                    }
                }
            });
    }

    fn update_buffers(&self, rows: usize, input: &[f32], tensors: &mut [Tensor]) {
        let (c_count, spatial) = channels(self.input);
        let n = rows * spatial;
        if n == 0 {
            return;
        }
        let [mean_id, var_id] = self.running;
        let (running_mean, running_var) = two_mut(tensors, mean_id, var_id);
        let update = |c: usize, (m, v): (&mut f32, &mut f32)| {
            let (mean, var) = channel_stats(input, rows, (c_count, spatial), c);
            *m = ((1.0 - MOMENTUM) * *m as f64 + MOMENTUM * mean) as f32;
            // one value a channel has no unbiased variance (PyTorch refuses such a batch in
            // training): the running variance stays as it is
            if n > 1 {
                let unbiased = var * n as f64 / (n - 1) as f64;
                *v = ((1.0 - MOMENTUM) * *v as f64 + MOMENTUM * unbiased) as f32;
            }
        };
        // each channel is one call, so the thread count does not change the result
        if input.len() >= PARALLEL_VALUES && c_count > 1 {
            running_mean
                .par_iter_mut()
                .zip(running_var.par_iter_mut())
                .enumerate()
                .for_each(|(c, p)| update(c, p));
        } else {
            running_mean
                .iter_mut()
                .zip(running_var.iter_mut())
                .enumerate()
                .for_each(|(c, p)| update(c, p));
        }
    }
}

/// Two distinct tensors' values, both mutable.
fn two_mut(tensors: &mut [Tensor], a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
    assert_ne!(a, b, "the running mean and variance are two tensors");
    if a < b {
        let (x, y) = tensors.split_at_mut(b);
        (&mut x[a].data, &mut y[0].data)
    } else {
        let (x, y) = tensors.split_at_mut(a);
        (&mut y[0].data, &mut x[b].data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::check::{
        on_pool, run_passes, worst_gradient_error, worst_gradient_error_in,
    };
    use crate::linalg::{Cpu, Rng};

    fn image(channels: usize, height: usize, width: usize) -> Shape {
        Shape::Image {
            channels,
            height,
            width,
        }
    }

    /// A layer on `input` with `γ`, `β` and the running statistics drawn from `seed` (none
    /// of them the identity's), and its tensors.
    fn built(activation: Activation, input: Shape, seed: u64) -> (BatchNormLayer, Vec<Tensor>) {
        let mut tensors = Vec::new();
        let layer = BatchNormConfig { activation }.init(input, "bn", &mut tensors);
        let mut rng = Rng::new(seed);
        for (id, low, high) in [
            (layer.weight(), 0.5, 1.5),
            (layer.bias(), -0.5, 0.5),
            (layer.running_mean(), -0.3, 0.3),
            (layer.running_var(), 0.2, 2.0),
        ] {
            for v in &mut tensors[id].data {
                *v = rng.uniform_range(low, high);
            }
        }
        (layer, tensors)
    }

    #[test]
    fn training_gradients_match_finite_differences() {
        for activation in [Activation::Linear, Activation::Tanh, Activation::Sigmoid] {
            for (input, rows) in [
                (image(2, 2, 2), 3),
                (Shape::Flat(3), 4),
                (Shape::Flat(2), 3),
            ] {
                let (layer, params) = built(activation, input, 1);
                let worst = worst_gradient_error(&layer, &params, rows, 2, 1e-3);
                assert!(
                    worst < 5e-3,
                    "{activation:?} on {input} × {rows}: worst relative error {worst}"
                );
            }
        }
    }

    #[test]
    fn inference_gradients_match_finite_differences() {
        for activation in [Activation::Linear, Activation::Tanh] {
            for input in [image(2, 2, 2), Shape::Flat(3)] {
                let (layer, params) = built(activation, input, 3);
                let worst = worst_gradient_error_in(&layer, &params, 3, 4, 1e-3, false);
                assert!(worst < 5e-3, "{activation:?} on {input}: {worst}");
            }
        }
    }

    /// Batch norm whose training backward treats the batch's mean and variance as constants
    /// (a plausible slip): the check must see it.
    #[derive(Debug)]
    struct ConstantStats(BatchNormLayer);

    impl Layer for ConstantStats {
        fn kind(&self) -> &'static str {
            "constant_stats"
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
            &[]
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
            // the inference-mode input gradient in a training pass: μ and σ² taken as constants
            let inference = Pass {
                training: false,
                ..*p
            };
            let mut params = p.params.to_vec();
            let (c, spatial) = channels(self.0.input);
            for ch in 0..c {
                let (mean, var) = channel_stats(x, p.rows, (c, spatial), ch);
                params[self.0.running_mean()].data[ch] = mean as f32;
                params[self.0.running_var()].data[ch] = var as f32;
            }
            let inference = Pass {
                params: &params,
                ..inference
            };
            self.0
                .backward(&inference, x, o, delta, grads, input_grad, s)
        }
    }

    #[test]
    fn the_check_sees_batch_statistics_taken_as_constants() {
        let (layer, params) = built(Activation::Linear, Shape::Flat(3), 1);
        assert!(worst_gradient_error(&layer, &params, 4, 2, 1e-3) < 5e-3);
        let wrong = worst_gradient_error(&ConstantStats(layer), &params, 4, 2, 1e-3);
        assert!(
            wrong > 5e-2,
            "constant batch statistics went unseen: {wrong}"
        );
    }

    #[test]
    fn training_output_has_zero_mean_and_unit_variance_per_channel() {
        let input = image(3, 4, 5);
        let rows = 6;
        let mut tensors = Vec::new();
        let layer = BatchNormConfig {
            activation: Activation::Linear,
        }
        .init(input, "bn", &mut tensors);
        let mut rng = Rng::new(8);
        // channels with different means and spreads
        let x: Vec<f32> = (0..rows * input.len())
            .map(|i| {
                let c = (i / 20) % 3;
                3.0 * c as f32 - 2.0 + (c + 1) as f32 * rng.normal()
            })
            .collect();
        let (out, _, _) = run_passes(&layer, &tensors, &x, &x, rows, &Cpu::new(1), true);
        let (_, var_x) = channel_stats(&x, rows, (3, 20), 2);
        assert!(
            var_x > 2.0,
            "the input's channel 2 is not already normalized"
        );
        for c in 0..3 {
            let (mean, var) = channel_stats(&out, rows, (3, 20), c);
            assert!(mean.abs() < 1e-6, "channel {c}: mean {mean}");
            // ε takes a little off: σ²/(σ² + ε)
            assert!((var - 1.0).abs() < 1e-4, "channel {c}: variance {var}");
        }
    }

    #[test]
    fn update_buffers_moves_the_running_statistics_by_the_momentum() {
        // flat, 2 features, 3 examples: feature 0 is 1, 2, 6 (mean 3, unbiased variance
        // (4 + 1 + 9)/2 = 7), feature 1 is 0, 0, 3 (mean 1, unbiased variance (1 + 1 + 4)/2 = 3)
        let mut tensors = Vec::new();
        let layer = BatchNormConfig {
            activation: Activation::Relu,
        }
        .init(Shape::Flat(2), "bn", &mut tensors);
        let x = [1.0f32, 0.0, 2.0, 0.0, 6.0, 3.0];
        layer.update_buffers(3, &x, &mut tensors);
        let close =
            |got: &[f32], want: [f32; 2]| got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6);
        let (m, v) = (layer.running_mean(), layer.running_var());
        // 0.9·0 + 0.1·3, 0.9·0 + 0.1·1; 0.9·1 + 0.1·7, 0.9·1 + 0.1·3
        assert!(close(&tensors[m].data, [0.3, 0.1]), "{:?}", tensors[m].data);
        assert!(close(&tensors[v].data, [1.6, 1.2]), "{:?}", tensors[v].data);
        layer.update_buffers(3, &x, &mut tensors);
        assert!(
            close(&tensors[m].data, [0.57, 0.19]),
            "{:?}",
            tensors[m].data
        );
        assert!(
            close(&tensors[v].data, [2.14, 1.38]),
            "{:?}",
            tensors[v].data
        );
        // γ and β are untouched
        assert_eq!(
            (&tensors[0].data, &tensors[1].data),
            (&vec![1.0; 2], &vec![0.0; 2])
        );

        // an image: one channel of 1×2, 2 examples: 1, 3 | 5, 7 (mean 4, unbiased variance
        // (9 + 1 + 1 + 9)/3 = 20/3), over the examples and the positions together
        let mut tensors = Vec::new();
        let layer = BatchNormConfig {
            activation: Activation::Linear,
        }
        .init(image(1, 1, 2), "bn", &mut tensors);
        layer.update_buffers(2, &[1.0, 3.0, 5.0, 7.0], &mut tensors);
        assert!((tensors[layer.running_mean()].data[0] - 0.4).abs() < 1e-6);
        let want_var = 0.9 + 0.1 * 20.0 / 3.0;
        assert!((tensors[layer.running_var()].data[0] - want_var).abs() < 1e-6);
    }

    #[test]
    fn inference_uses_the_running_statistics() {
        let input = image(2, 1, 3);
        let (layer, params) = built(Activation::Linear, input, 5);
        let x = [
            0.5f32, -1.0, 2.0, 3.0, 0.0, -0.25, 1.0, 1.0, 1.0, -2.0, 4.0, 0.5,
        ];
        let (out, _, _) = run_passes(&layer, &params, &x, &x, 2, &Cpu::new(1), false);
        let p = |id: TensorId, c: usize| params[id].data[c];
        for (i, (x, y)) in x.iter().zip(&out).enumerate() {
            let c = (i / 3) % 2;
            let want = (x - p(layer.running_mean(), c))
                / (p(layer.running_var(), c) + layer.eps()).sqrt()
                * p(layer.weight(), c)
                + p(layer.bias(), c);
            assert!((y - want).abs() < 1e-5, "value {i}: {y} vs {want}");
        }
        // and not the batch's: the same input in a training pass gives another output
        let (trained, _, _) = run_passes(&layer, &params, &x, &x, 2, &Cpu::new(1), true);
        assert!(trained.iter().zip(&out).any(|(a, b)| (a - b).abs() > 1e-2));
    }

    #[test]
    fn tensors_and_counts() {
        let mut tensors = Vec::new();
        let config = BatchNormConfig {
            activation: Activation::Tanh,
        };
        let input = image(4, 3, 3);
        assert!(config.check("model.encoder[0]").is_ok());
        assert_eq!(config.output_shape(input), Ok(input));
        assert_eq!(config.parameter_count(input), 8);
        assert_eq!(config.parameter_count(Shape::Flat(5)), 10);
        let layer = config.init(input, "encoder.0", &mut tensors);
        let names: Vec<(&str, &[usize], f32)> = tensors
            .iter()
            .map(|t| (t.name.as_str(), t.shape.as_slice(), t.data[3]))
            .collect();
        assert_eq!(
            names,
            [
                ("encoder.0.weight", &[4][..], 1.0),
                ("encoder.0.bias", &[4][..], 0.0),
                ("encoder.0.running_mean", &[4][..], 0.0),
                ("encoder.0.running_var", &[4][..], 1.0)
            ]
        );
        assert_eq!(layer.tensors(), [0, 1]);
        assert!(layer.decayed_tensors().is_empty());
        assert_eq!((layer.running_mean(), layer.running_var()), (2, 3));
        assert_eq!((layer.output_shape(), layer.scratch_floats(7)), (input, 16));
        assert_eq!((layer.activation(), layer.eps()), (Activation::Tanh, 1e-5));
    }

    #[test]
    fn two_threads_match_one() {
        for (input, rows) in [(image(4, 8, 8), 80), (Shape::Flat(64), 300)] {
            let (layer, params) = built(Activation::Tanh, input, 9);
            let mut rng = Rng::new(10);
            let x: Vec<f32> = (0..rows * input.len()).map(|_| rng.normal()).collect();
            let delta: Vec<f32> = (0..rows * input.len()).map(|_| rng.normal()).collect();
            for training in [true, false] {
                let one = run_passes(&layer, &params, &x, &delta, rows, &Cpu::new(1), training);
                let two = on_pool(2, || {
                    run_passes(&layer, &params, &x, &delta, rows, &Cpu::new(2), training)
                });
                assert_eq!(one, two, "{input} training {training}");
            }
            let mut one = params.clone();
            layer.update_buffers(rows, &x, &mut one);
            let mut two = params.clone();
            on_pool(2, || layer.update_buffers(rows, &x, &mut two));
            assert_eq!(one, two);
        }
    }
}
