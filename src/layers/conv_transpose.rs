//! The 2-D transposed convolution layer (NCHW, PyTorch's `ConvTranspose2d` with dilation 1
//! and groups 1): the adjoint of a convolution, used to upsample in decoders.
//!
//! With input `x` (`Cin × H × W`), weight `W` (`[Cin, Cout, k, k]`, PyTorch's layout), bias
//! `b`, stride `s`, padding `p` and output padding `q` (output entries outside
//! `0..Ho × 0..Wo` are dropped):
//!
//! - forward: `z[o, u, v] = b[o] + Σ_{c,y,x',i,j : u = y·s+i−p, v = x'·s+j−p} W[c, o, i, j] · x[c, y, x']`,
//!   `a = act(z)`, `Ho = (H − 1)·s − 2p + k + q` (likewise `Wo`);
//! - from `δ = ∂L/∂z` (the output gradient taken through the activation):
//!   `∂L/∂W[c, o, i, j] = Σ_{n,y,x'} x[n, c, y, x'] · δ[n, o, y·s + i − p, x'·s + j − p]`,
//!   `∂L/∂b[o] = Σ_{n,u,v} δ[n, o, u, v]`,
//!   `∂L/∂x[c, y, x'] = Σ_{o,i,j} W[c, o, i, j] · δ[o, y·s + i − p, x'·s + j − p]`
//!   (an ordinary convolution of `δ`; reads outside `δ` are 0).
//!
//! It is the convolution from `Cout × Ho × Wo` to `Cin × H × W` with the same weight, run
//! backwards: forward is that convolution's input gradient (GEMM then col2im), backward its
//! forward (im2col then GEMM). The kernels are [`super::im2col`]'s, shared with
//! [`super::conv`].
//!
//! # Shapes
//! input `rows × Cin·H·W` (NCHW) → output `rows × Cout·Ho·Wo`; weight `[Cin, Cout, k, k]`, bias
//! `[Cout]`; scratch `g·H·W·(Cout·k·k + Cin)` for a group of `g` examples.

use super::conv::{check_sizes, image_dims};
use super::im2col::{Geometry, ParamGrads};
use super::{GradSlots, Layer, Pass, Shape, Tensor, TensorId};
use crate::error::{Error, Result};
use crate::linalg::Rng;
use crate::nn::{Activation, Init};

/// A transposed convolution layer's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTransposeConfig {
    /// Output channels `Cout`.
    pub filters: usize,
    /// Kernel size `k` (square).
    pub kernel: usize,
    /// Stride `s` (the upsampling factor).
    pub stride: usize,
    /// Padding `p`: rows and columns cropped from each side of the full output.
    pub padding: usize,
    /// Output padding `q < s`: extra rows and columns at the bottom and right.
    pub output_padding: usize,
    /// Activation of the output.
    pub activation: Activation,
}

impl ConvTransposeConfig {
    /// Checks the sizes; `key` names the config entry in errors.
    pub fn check(&self, key: &str) -> Result<()> {
        check_sizes(key, self.filters, self.kernel, self.stride, self.padding)?;
        if self.output_padding >= self.stride {
            return Err(Error::config(
                key,
                format!(
                    "output_padding must be smaller than stride, got {} with stride {}",
                    self.output_padding, self.stride
                ),
            ));
        }
        Ok(())
    }

    /// The convolution this layer is the adjoint of: image side = this layer's output.
    fn geometry(&self, input: Shape) -> std::result::Result<Geometry, String> {
        let (c, h, w) = image_dims(input)?;
        let size = |n: usize| -> std::result::Result<usize, String> {
            let full = (n.max(1) - 1) * self.stride + self.kernel + self.output_padding;
            if n == 0 || full <= 2 * self.padding {
                Err(format!(
                    "the output would be empty: (H − 1)·s − 2p + k + output_padding ≤ 0 on {input}"
                ))
            } else {
                Ok(full - 2 * self.padding)
            }
        };
        let (ho, wo) = (size(h)?, size(w)?);
        let g = Geometry::new(
            self.filters,
            ho,
            wo,
            c,
            self.kernel,
            self.stride,
            self.padding,
        )
        .ok_or_else(|| format!("kernel {} does not fit the output {ho}×{wo}", self.kernel))?;
        debug_assert_eq!((g.ho, g.wo), (h, w));
        Ok(g)
    }

    /// The output shape on `input`, or why the layer does not fit it.
    pub fn output_shape(&self, input: Shape) -> std::result::Result<Shape, String> {
        let g = self.geometry(input)?;
        Ok(Shape::Image {
            channels: g.ci,
            height: g.h,
            width: g.w,
        })
    }

    /// Parameter values on `input`: `Cin·Cout·k·k + Cout`.
    pub fn parameter_count(&self, input: Shape) -> usize {
        let cin = image_dims(input).map_or(0, |(c, _, _)| c);
        cin * self.filters * self.kernel * self.kernel + self.filters
    }

    /// Builds the layer on `input` (known to fit): pushes `{name}.weight` `[Cin, Cout, k, k]`
    /// and `{name}.bias` `[Cout]` onto `tensors`, drawn by `init` with PyTorch's fan-in
    /// `Cout·k·k`.
    pub fn init(
        &self,
        input: Shape,
        name: &str,
        init: Init,
        tensors: &mut Vec<Tensor>,
        rng: &mut Rng,
    ) -> ConvTransposeLayer {
        let geom = self
            .geometry(input)
            .unwrap_or_else(|e| panic!("conv_transpose on {input}: {e}"));
        let (cin, cout, k) = (geom.co, geom.ci, geom.k);
        let mut weight = vec![0.0f32; cin * cout * k * k];
        let mut bias = vec![0.0f32; cout];
        init.fill(&mut weight, &mut bias, cout * k * k, cin, rng);
        tensors.push(Tensor {
            name: format!("{name}.weight"),
            shape: vec![cin, cout, k, k],
            data: weight,
        });
        tensors.push(Tensor {
            name: format!("{name}.bias"),
            shape: vec![cout],
            data: bias,
        });
        let bias = tensors.len() - 1;
        ConvTransposeLayer {
            geom,
            output_padding: self.output_padding,
            activation: self.activation,
            ids: [bias - 1, bias],
        }
    }
}

/// A built transposed convolution layer.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvTransposeLayer {
    /// The convolution it is the adjoint of (image side = this layer's output).
    geom: Geometry,
    output_padding: usize,
    activation: Activation,
    /// `[weight, bias]`.
    ids: [TensorId; 2],
}

impl ConvTransposeLayer {
    /// The weight's tensor (`[Cin, Cout, k, k]`).
    pub fn weight(&self) -> TensorId {
        self.ids[0]
    }
    /// The bias's tensor (`[Cout]`).
    pub fn bias(&self) -> TensorId {
        self.ids[1]
    }
    /// Kernel size `k`.
    pub fn kernel_size(&self) -> usize {
        self.geom.k
    }
    /// Stride `s`.
    pub fn stride(&self) -> usize {
        self.geom.stride
    }
    /// Padding `p` cropped from each side.
    pub fn padding(&self) -> usize {
        self.geom.pad
    }
    /// Output padding `q`.
    pub fn output_padding(&self) -> usize {
        self.output_padding
    }
    /// Multiply-adds of one example's forward pass.
    pub fn macs(&self) -> usize {
        self.geom.macs()
    }
}

impl Layer for ConvTransposeLayer {
    fn kind(&self) -> &'static str {
        "conv_transpose"
    }
    fn input_shape(&self) -> Shape {
        Shape::Image {
            channels: self.geom.co,
            height: self.geom.ho,
            width: self.geom.wo,
        }
    }
    fn output_shape(&self) -> Shape {
        Shape::Image {
            channels: self.geom.ci,
            height: self.geom.h,
            width: self.geom.w,
        }
    }
    fn activation(&self) -> Activation {
        self.activation
    }
    fn tensors(&self) -> &[TensorId] {
        &self.ids
    }
    fn decayed_tensors(&self) -> &[TensorId] {
        &self.ids[..1]
    }
    fn scratch_floats(&self, rows: usize) -> usize {
        self.geom.scratch_floats(rows)
    }

    // input: rows × Cin·H·W, output: rows × Cout·Ho·Wo
    fn forward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
        output: &mut [f32],
        activation: Activation,
        scratch: &mut [f32],
    ) {
        let p = pass.params;
        self.geom.convolve_adjoint(
            pass.backend,
            pass.rows,
            input,
            &p[self.ids[0]].data,
            Some(&p[self.ids[1]].data),
            activation,
            output,
            scratch,
        );
    }

    // delta: rows × Cout·Ho·Wo (∂/∂a in, ∂/∂z after the activation), input_grad: rows × Cin·H·W
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
        let (act, len) = (self.activation, self.geom.image_len());
        if act != Activation::Linear {
            pass.backend
                .for_row_chunks(delta, len, &mut [], &|first, g, _| {
                    act.backward_in_place(g, &output[first * len..first * len + g.len()]);
                });
        }
        let (weight, bias, accumulate_weight, accumulate_bias) =
            grads.layer(self.ids[0], self.ids[1]);
        self.geom.convolve_adjoint_backward(
            pass.backend,
            pass.rows,
            input,
            delta,
            &pass.params[self.ids[0]].data,
            ParamGrads {
                weight,
                accumulate_weight,
                bias,
                accumulate_bias,
            },
            input_grad,
            scratch,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::check::worst_gradient_error;
    use crate::layers::conv::tests::{conv, image, random, run_both, run_forward};
    use crate::layers::conv::{ConvConfig, Padding};
    use crate::linalg::Cpu;

    fn transpose(
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        output_padding: usize,
        activation: Activation,
    ) -> ConvTransposeConfig {
        ConvTransposeConfig {
            filters,
            kernel,
            stride,
            padding,
            output_padding,
            activation,
        }
    }

    fn built(
        config: ConvTransposeConfig,
        input: Shape,
        seed: u64,
    ) -> (ConvTransposeLayer, Vec<Tensor>) {
        let mut tensors = Vec::new();
        let mut rng = Rng::new(seed);
        let layer = config.init(input, "t", Init::UniformFanIn, &mut tensors, &mut rng);
        (layer, tensors)
    }

    #[test]
    fn gradients_match_finite_differences() {
        let cases = [
            // (cin, h, w, cout, k, s, p, output_padding, activation)
            (1, 3, 4, 1, 3, 1, 0, 0, Activation::Linear),
            (2, 3, 4, 3, 3, 1, 1, 0, Activation::Tanh),
            (3, 4, 3, 2, 3, 2, 1, 1, Activation::Linear),
            (2, 3, 3, 2, 3, 2, 0, 0, Activation::Sigmoid),
            (2, 4, 3, 1, 4, 2, 1, 0, Activation::Linear),
            (1, 3, 5, 3, 3, 2, 1, 1, Activation::Tanh),
            (3, 2, 3, 2, 1, 1, 0, 0, Activation::Linear),
        ];
        for (cin, h, w, cout, k, s, p, op, act) in cases {
            let config = transpose(cout, k, s, p, op, act);
            let (layer, params) = built(config, image(cin, h, w), 5);
            let worst = worst_gradient_error(&layer, &params, 2, 4, 1e-2);
            assert!(
                worst < 2e-3,
                "{config:?} on {cin}×{h}×{w}: worst relative error {worst}"
            );
        }
    }

    /// PyTorch's definition, scattering each input value through the kernel, in f64.
    #[test]
    fn forward_matches_the_scatter_definition() {
        let (rows, cin, h, w, cout, k, s, p, op) = (2, 3, 4, 5, 2, 3, 2, 1, 1);
        let config = transpose(cout, k, s, p, op, Activation::Linear);
        let (layer, params) = built(config, image(cin, h, w), 9);
        let (ho, wo) = ((h - 1) * s + k + op - 2 * p, (w - 1) * s + k + op - 2 * p);
        assert_eq!(layer.output_shape(), image(cout, ho, wo));
        let x = random(rows * cin * h * w, 3);
        let (wt, b) = (&params[0].data, &params[1].data);
        let mut want = vec![0.0f64; rows * cout * ho * wo];
        for n in 0..rows {
            for o in 0..cout {
                for v in &mut want[(n * cout + o) * ho * wo..][..ho * wo] {
                    *v = b[o] as f64;
                }
            }
            for c in 0..cin {
                for y in 0..h {
                    for xx in 0..w {
                        for o in 0..cout {
                            for i in 0..k {
                                for j in 0..k {
                                    let (u, v) = (
                                        (y * s + i) as isize - p as isize,
                                        (xx * s + j) as isize - p as isize,
                                    );
                                    if u < 0 || v < 0 || u >= ho as isize || v >= wo as isize {
                                        continue;
                                    }
                                    want[((n * cout + o) * ho + u as usize) * wo + v as usize] +=
                                        wt[((c * cout + o) * k + i) * k + j] as f64
                                            * x[((n * cin + c) * h + y) * w + xx] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
        let got = run_forward(&layer, &params, &Cpu::new(1), &x, rows);
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (*g as f64 - w).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 1e-4, "max abs error {worst}");
    }

    /// ⟨conv(x), y⟩ = ⟨x, conv_transpose(y)⟩ with the same weight buffer and zero biases.
    #[test]
    fn is_the_adjoint_of_conv() {
        for (cin, h, w, cout, k, s, p) in [
            (3, 7, 6, 4, 3, 1, 1),
            (2, 8, 10, 3, 3, 2, 1),
            (2, 8, 8, 3, 4, 2, 1),
        ] {
            let rows = 2;
            let cc = ConvConfig {
                filters: cout,
                kernel: k,
                stride: s,
                padding: Padding::Size(p),
                activation: Activation::Linear,
            };
            let mut tensors = Vec::new();
            let c = cc.init(
                image(cin, h, w),
                "c",
                Init::UniformFanIn,
                &mut tensors,
                &mut Rng::new(1),
            );
            let mid = c.output_shape();
            let Shape::Image { height: ho, .. } = mid else {
                unreachable!()
            };
            // the output padding that gives back H (the shapes are chosen so W needs the same)
            let op = (h + 2 * p - k) % s;
            let tc = transpose(cin, k, s, p, op, Activation::Linear);
            let t = tc.init(mid, "t", Init::UniformFanIn, &mut tensors, &mut Rng::new(2));
            assert_eq!(t.output_shape(), image(cin, h, w), "ho {ho}");
            tensors[t.weight()].data = tensors[c.weight()].data.clone();
            tensors[c.bias()].data.fill(0.0);
            tensors[t.bias()].data.fill(0.0);
            let x = random(rows * cin * h * w, 3);
            let y = random(rows * mid.len(), 4);
            let cx = run_forward(&c, &tensors, &Cpu::new(1), &x, rows);
            let ty = run_forward(&t, &tensors, &Cpu::new(1), &y, rows);
            let dot = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .map(|(a, b)| *a as f64 * *b as f64)
                    .sum::<f64>()
            };
            let (left, right) = (dot(&cx, &y), dot(&x, &ty));
            assert!(
                (left - right).abs() <= 1e-4 * left.abs().max(right.abs()),
                "stride {s}: ⟨conv x, y⟩ = {left}, ⟨x, convᵀ y⟩ = {right}"
            );
        }
    }

    #[test]
    fn shapes_and_errors() {
        let linear = Activation::Linear;
        let t = transpose(32, 3, 2, 1, 1, linear);
        assert_eq!(t.output_shape(image(32, 7, 7)), Ok(image(32, 14, 14)));
        assert_eq!(t.output_shape(image(32, 14, 14)), Ok(image(32, 28, 28)));
        assert_eq!(
            transpose(4, 3, 1, 1, 0, linear).output_shape(image(2, 5, 6)),
            Ok(image(4, 5, 6))
        );
        assert_eq!(
            transpose(4, 4, 2, 0, 0, linear).output_shape(image(2, 3, 2)),
            Ok(image(4, 8, 6))
        );
        assert!(transpose(4, 1, 1, 1, 0, linear)
            .output_shape(image(2, 2, 2))
            .is_err());
        assert_eq!(
            t.output_shape(Shape::Flat(10)),
            Err("needs an image input (C×H×W), got 10".to_string())
        );
        assert_eq!(t.parameter_count(image(16, 7, 7)), 16 * 32 * 9 + 32);
        let err = |c: ConvTransposeConfig| c.check("model.decoder[1]").unwrap_err().to_string();
        let op = err(transpose(4, 3, 2, 1, 2, linear));
        assert!(
            op.starts_with("model.decoder[1]: output_padding must be smaller than stride"),
            "{op}"
        );
        assert!(err(transpose(4, 3, 1, 0, 1, linear)).contains("output_padding"));
        assert!(err(transpose(0, 3, 1, 0, 0, linear)).contains("filters"));
        assert!(err(transpose(4, 3, 1, 1025, 0, linear)).contains("padding"));
        assert!(t.check("k").is_ok());

        let mut tensors = vec![];
        let layer = t.init(
            image(16, 7, 7),
            "dec.0",
            Init::UniformFanIn,
            &mut tensors,
            &mut Rng::new(1),
        );
        assert_eq!(tensors[0].name, "dec.0.weight");
        assert_eq!(tensors[0].shape, vec![16, 32, 3, 3]);
        assert_eq!(tensors[1].shape, vec![32]);
        // PyTorch's fan-in for ConvTranspose2d: weight.size(1)·k·k = Cout·k·k
        let bound = 1.0 / ((32 * 9) as f32).sqrt();
        assert!(tensors[0].data.iter().all(|w| w.abs() <= bound));
        assert!(tensors[0].data.iter().any(|w| w.abs() > 0.9 * bound));
        assert_eq!(layer.kind(), "conv_transpose");
        assert_eq!(
            (
                layer.kernel_size(),
                layer.stride(),
                layer.padding(),
                layer.output_padding()
            ),
            (3, 2, 1, 1)
        );
        assert_eq!(layer.input_shape(), image(16, 7, 7));
        assert_eq!(layer.output_shape(), image(32, 14, 14));
    }

    #[test]
    fn threads_agree_and_runs_repeat_bit_for_bit() {
        let (rows, input) = (24, image(16, 12, 12));
        let (layer, params) = built(transpose(16, 3, 2, 1, 1, Activation::Sigmoid), input, 3);
        let x = random(rows * input.len(), 1);
        let c = random(rows * layer.output_shape().len(), 2);
        let one = run_both(&layer, &params, &Cpu::new(1), &x, &c, rows);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let two = pool.install(|| run_both(&layer, &params, &Cpu::new(2), &x, &c, rows));
        let again = pool.install(|| run_both(&layer, &params, &Cpu::new(2), &x, &c, rows));
        assert_eq!(two, again, "two 2-thread runs differ");
        for (what, (a, b)) in ["output", "weight", "bias", "input"]
            .iter()
            .zip(one.iter().zip(&two))
        {
            let scale = a.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            let worst = a
                .iter()
                .zip(b)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                worst <= 1e-5 * scale,
                "{what}: 1 vs 2 threads differ by {worst}"
            );
        }
    }

    /// Timings of the Keras-guide conv autoencoder's layers at batch 128 on 2 threads:
    /// `cargo test --release --lib conv_timings -- --ignored --nocapture` (`CONV_THREADS=n` for
    /// another thread count).
    #[test]
    #[ignore]
    fn conv_timings() {
        use crate::layers::{AnyLayer, GradSlots, Pass};
        let relu = Activation::Relu;
        let mut tensors = Vec::new();
        let mut rng = Rng::new(1);
        let same = Padding::Size(1);
        let layers: Vec<(&str, AnyLayer, bool)> = vec![
            (
                "conv 1→32 28²",
                conv(32, 3, 1, same, relu)
                    .init(image(1, 28, 28), "a", Init::He, &mut tensors, &mut rng)
                    .into(),
                false,
            ),
            (
                "conv 32→32 14²",
                conv(32, 3, 1, same, relu)
                    .init(image(32, 14, 14), "b", Init::He, &mut tensors, &mut rng)
                    .into(),
                true,
            ),
            (
                "convT 32→32 7→14",
                transpose(32, 3, 2, 1, 1, relu)
                    .init(image(32, 7, 7), "c", Init::He, &mut tensors, &mut rng)
                    .into(),
                true,
            ),
            (
                "convT 32→32 14→28",
                transpose(32, 3, 2, 1, 1, relu)
                    .init(image(32, 14, 14), "d", Init::He, &mut tensors, &mut rng)
                    .into(),
                true,
            ),
            (
                "conv 32→1 28²",
                conv(1, 3, 1, same, Activation::Sigmoid)
                    .init(image(32, 28, 28), "e", Init::He, &mut tensors, &mut rng)
                    .into(),
                true,
            ),
        ];
        let rows = 128;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let backend = Cpu::new(std::env::var("CONV_THREADS").map_or(2, |v| v.parse().unwrap()));
        let (mut total_f, mut total_b) = (0.0, 0.0);
        pool.install(|| {
            for (name, layer, input_grad) in &layers {
                let macs = match layer {
                    AnyLayer::Conv(l) => l.macs(),
                    AnyLayer::ConvTranspose(l) => l.macs(),
                    _ => unreachable!(),
                } as f64
                    * rows as f64;
                let x = random(rows * layer.input_shape().len(), 1);
                let c = random(rows * layer.output_shape().len(), 2);
                let pass = Pass::inference(&backend, &tensors, rows);
                let mut out = vec![0.0; c.len()];
                let mut scratch = vec![0.0; layer.scratch_floats(rows)];
                let mut bufs = crate::layers::grads::Grads::zeros(tensors.iter().map(|t| t.data.len()));
                let mut written = vec![false; tensors.len()];
                let mut ig = vec![0.0; x.len()];
                let (mut tf, mut tb) = (vec![], vec![]);
                for _ in 0..15 {
                    let t = std::time::Instant::now();
                    layer.forward(&pass, &x, &mut out, layer.activation(), &mut scratch);
                    tf.push(t.elapsed().as_secs_f64());
                    let mut delta = c.clone();
                    let t = std::time::Instant::now();
                    layer.backward(
                        &pass,
                        &x,
                        &out,
                        &mut delta,
                        &mut GradSlots { bufs: &mut bufs, written: &mut written },
                        input_grad.then_some(&mut ig[..]),
                        &mut scratch,
                    );
                    tb.push(t.elapsed().as_secs_f64());
                }
                let median = |v: &mut Vec<f64>| {
                    v.sort_by(f64::total_cmp);
                    v[v.len() / 2]
                };
                let (f, b) = (median(&mut tf), median(&mut tb));
                let bflops = if *input_grad { 4.0 } else { 2.0 } * macs;
                println!(
                    "{name:20} forward {:6.2} ms {:6.1} GFLOP/s   backward{} {:6.2} ms {:6.1} GFLOP/s",
                    f * 1e3,
                    2.0 * macs / f / 1e9,
                    if *input_grad { "" } else { " (no dx)" },
                    b * 1e3,
                    bflops / b / 1e9
                );
                total_f += f;
                total_b += b;
            }
        });
        println!(
            "total forward {:.2} ms, backward {:.2} ms, both {:.2} ms",
            total_f * 1e3,
            total_b * 1e3,
            (total_f + total_b) * 1e3
        );
    }
}
