//! The 2-D convolution layer (NCHW, PyTorch's `Conv2d` with dilation 1 and groups 1): its
//! config, its shape rule, forward and backward.
//!
//! With input `x` (`Cin × H × W`), weight `W` (`[Cout, Cin, k, k]`), bias `b`, stride `s` and
//! zero padding `p` (reads outside the image are 0):
//!
//! - forward: `z[o, y, x'] = b[o] + Σ_{c,i,j} W[o, c, i, j] · x[c, y·s + i − p, x'·s + j − p]`,
//!   `a = act(z)`;
//! - from `δ = ∂L/∂z` (the output gradient taken through the activation):
//!   `∂L/∂W[o, c, i, j] = Σ_{n,y,x'} δ[n, o, y, x'] · x[n, c, y·s + i − p, x'·s + j − p]`,
//!   `∂L/∂b[o] = Σ_{n,y,x'} δ[n, o, y, x']`,
//!   `∂L/∂x[c, u, v] = Σ_{o,i,j : u = y·s+i−p, v = x'·s+j−p} W[o, c, i, j] · δ[o, y, x']`
//!   (the transposed convolution of `δ`).
//!
//! Kernels: im2col + GEMM over groups of examples (see [`super::im2col`]).
//!
//! # Shapes
//! input `rows × Cin·H·W` (NCHW) → output `rows × Cout·Ho·Wo`, `Ho = (H + 2p − k)/s + 1`
//! (floor), likewise `Wo`; weight `[Cout, Cin, k, k]`, bias `[Cout]`; scratch
//! `g·Ho·Wo·(Cin·k·k + Cout)` for a group of `g` examples.

use super::dense::MAX_UNITS;
use super::im2col::{Geometry, ParamGrads};
use super::{GradSlots, Layer, Pass, Shape, Tensor, TensorId};
use crate::error::{Error, Result};
use crate::linalg::Rng;
use crate::nn::{Activation, Init};

/// The largest kernel, stride or padding a config may ask for.
pub const MAX_KERNEL: usize = 1024;

/// Zero padding on each side: a number, or "same" (= (kernel-1)/2, odd kernels only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// `(kernel − 1)/2`: the output keeps the input's size at stride 1.
    Same,
    /// This many zeros on each side.
    Size(usize),
}

impl Padding {
    /// The padding in pixels for a `kernel`-wide kernel.
    pub fn resolve(self, kernel: usize) -> usize {
        match self {
            Padding::Same => kernel.saturating_sub(1) / 2,
            Padding::Size(p) => p,
        }
    }
}

/// A convolution layer's settings: `{ conv = filters, kernel = …, stride = …, padding = … }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvConfig {
    /// Output channels `Cout`.
    pub filters: usize,
    /// Kernel size `k` (square).
    pub kernel: usize,
    /// Stride `s`.
    pub stride: usize,
    /// Zero padding `p` on each side.
    pub padding: Padding,
    /// Activation of the output.
    pub activation: Activation,
}

/// The `(channels, height, width)` of an image input, or the message for a flat one.
pub(crate) fn image_dims(input: Shape) -> std::result::Result<(usize, usize, usize), String> {
    match input {
        Shape::Image {
            channels,
            height,
            width,
        } => Ok((channels, height, width)),
        Shape::Flat(d) => Err(format!("needs an image input (C×H×W), got {d}")),
    }
}

/// Checks `filters`, `kernel`, `stride` and a padding in pixels (shared with conv_transpose).
pub(crate) fn check_sizes(
    key: &str,
    filters: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Result<()> {
    if filters == 0 || filters > MAX_UNITS {
        return Err(Error::config(
            key,
            format!("filters must be in 1..={MAX_UNITS}, got {filters}"),
        ));
    }
    for (what, v, min) in [
        ("kernel", kernel, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
    ] {
        if v < min || v > MAX_KERNEL {
            return Err(Error::config(
                key,
                format!("{what} must be in {min}..={MAX_KERNEL}, got {v}"),
            ));
        }
    }
    Ok(())
}

impl ConvConfig {
    /// Checks the sizes; `key` names the config entry in errors.
    pub fn check(&self, key: &str) -> Result<()> {
        if self.padding == Padding::Same && self.kernel.is_multiple_of(2) {
            return Err(Error::config(
                key,
                format!("padding \"same\" needs an odd kernel, got {}", self.kernel),
            ));
        }
        check_sizes(
            key,
            self.filters,
            self.kernel,
            self.stride,
            self.padding.resolve(self.kernel),
        )
    }

    fn geometry(&self, input: Shape) -> std::result::Result<Geometry, String> {
        let (c, h, w) = image_dims(input)?;
        let pad = self.padding.resolve(self.kernel);
        Geometry::new(c, h, w, self.filters, self.kernel, self.stride, pad).ok_or_else(|| {
            format!(
                "kernel {} is larger than the padded input {}×{}",
                self.kernel,
                h + 2 * pad,
                w + 2 * pad
            )
        })
    }

    /// The output shape on `input`, or why the layer does not fit it.
    pub fn output_shape(&self, input: Shape) -> std::result::Result<Shape, String> {
        let g = self.geometry(input)?;
        Ok(Shape::Image {
            channels: g.co,
            height: g.ho,
            width: g.wo,
        })
    }

    /// Parameter values on `input`: `Cout·Cin·k·k + Cout`.
    pub fn parameter_count(&self, input: Shape) -> usize {
        let cin = image_dims(input).map_or(0, |(c, _, _)| c);
        self.filters * cin * self.kernel * self.kernel + self.filters
    }

    /// Builds the layer on `input` (known to fit): pushes `{name}.weight` `[Cout, Cin, k, k]`
    /// and `{name}.bias` `[Cout]` onto `tensors`, drawn by `init` with fan-in `Cin·k·k`.
    pub fn init(
        &self,
        input: Shape,
        name: &str,
        init: Init,
        tensors: &mut Vec<Tensor>,
        rng: &mut Rng,
    ) -> ConvLayer {
        let geom = self
            .geometry(input)
            .unwrap_or_else(|e| panic!("conv on {input}: {e}"));
        let (cin, cout, k) = (geom.ci, geom.co, geom.k);
        let mut weight = vec![0.0f32; cout * cin * k * k];
        let mut bias = vec![0.0f32; cout];
        init.fill(&mut weight, &mut bias, cin * k * k, cout, rng);
        tensors.push(Tensor {
            name: format!("{name}.weight"),
            shape: vec![cout, cin, k, k],
            data: weight,
        });
        tensors.push(Tensor {
            name: format!("{name}.bias"),
            shape: vec![cout],
            data: bias,
        });
        let bias = tensors.len() - 1;
        ConvLayer {
            geom,
            activation: self.activation,
            ids: [bias - 1, bias],
        }
    }
}

/// A built convolution layer: its geometry, activation and the indices of its weight and bias.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvLayer {
    geom: Geometry,
    activation: Activation,
    /// `[weight, bias]`.
    ids: [TensorId; 2],
}

impl ConvLayer {
    /// The weight's tensor (`[Cout, Cin, k, k]`).
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
    /// Zero padding `p` on each side, in pixels.
    pub fn padding(&self) -> usize {
        self.geom.pad
    }
    /// Multiply-adds of one example's forward pass.
    pub fn macs(&self) -> usize {
        self.geom.macs()
    }
}

impl Layer for ConvLayer {
    fn kind(&self) -> &'static str {
        "conv"
    }
    fn input_shape(&self) -> Shape {
        Shape::Image {
            channels: self.geom.ci,
            height: self.geom.h,
            width: self.geom.w,
        }
    }
    fn output_shape(&self) -> Shape {
        Shape::Image {
            channels: self.geom.co,
            height: self.geom.ho,
            width: self.geom.wo,
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
        self.geom.convolve(
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
        let (act, len) = (self.activation, self.geom.feature_len());
        if act != Activation::Linear {
            pass.backend
                .for_row_chunks(delta, len, &mut [], &|first, g, _| {
                    act.backward_in_place(g, &output[first * len..first * len + g.len()]);
                });
        }
        let (weight, bias, accumulate_weight, accumulate_bias) =
            grads.layer(self.ids[0], self.ids[1]);
        self.geom.convolve_backward(
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
pub(crate) mod tests {
    use super::*;
    use crate::layers::check::worst_gradient_error;
    use crate::linalg::Cpu;

    pub(crate) fn image(channels: usize, height: usize, width: usize) -> Shape {
        Shape::Image {
            channels,
            height,
            width,
        }
    }

    pub(crate) fn conv(
        filters: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        activation: Activation,
    ) -> ConvConfig {
        ConvConfig {
            filters,
            kernel,
            stride,
            padding,
            activation,
        }
    }

    /// A built layer and its tensors, biases drawn nonzero so the bias path is exercised.
    fn built(config: ConvConfig, input: Shape, seed: u64) -> (ConvLayer, Vec<Tensor>) {
        let mut tensors = Vec::new();
        let mut rng = Rng::new(seed);
        let layer = config.init(input, "c", Init::UniformFanIn, &mut tensors, &mut rng);
        (layer, tensors)
    }

    pub(crate) fn random(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n).map(|_| rng.uniform_range(-1.0, 1.0)).collect()
    }

    /// Runs `forward` on a fresh output and scratch.
    pub(crate) fn run_forward(
        layer: &dyn Layer,
        params: &[Tensor],
        backend: &Cpu,
        x: &[f32],
        rows: usize,
    ) -> Vec<f32> {
        let pass = Pass::inference(backend, params, rows);
        let mut out = vec![0.0; rows * layer.output_shape().len()];
        let mut scratch = vec![0.0; layer.scratch_floats(rows)];
        layer.forward(&pass, x, &mut out, layer.activation(), &mut scratch);
        out
    }

    /// Forward then backward from `c`: (output, weight grad, bias grad, input grad).
    pub(crate) fn run_both(
        layer: &dyn Layer,
        params: &[Tensor],
        backend: &Cpu,
        x: &[f32],
        c: &[f32],
        rows: usize,
    ) -> Vec<Vec<f32>> {
        let out = run_forward(layer, params, backend, x, rows);
        let pass = Pass::inference(backend, params, rows);
        let mut scratch = vec![0.0; layer.scratch_floats(rows)];
        let mut bufs = crate::layers::grads::Grads::zeros(params.iter().map(|t| t.data.len()));
        let mut written = vec![false; params.len()];
        let mut delta = c.to_vec();
        let mut input_grad = vec![0.0; x.len()];
        layer.backward(
            &pass,
            x,
            &out,
            &mut delta,
            &mut GradSlots {
                bufs: &mut bufs,
                written: &mut written,
            },
            Some(&mut input_grad),
            &mut scratch,
        );
        let [w, b] = [layer.tensors()[0], layer.tensors()[1]];
        vec![out, bufs[w].to_vec(), bufs[b].to_vec(), input_grad]
    }

    #[test]
    fn gradients_match_finite_differences() {
        use Padding::{Same, Size};
        let cases = [
            // (cin, h, w, cout, k, s, padding, activation)
            (1, 5, 4, 1, 3, 1, Size(0), Activation::Linear),
            (2, 5, 6, 3, 3, 1, Size(1), Activation::Tanh),
            (3, 6, 5, 2, 3, 2, Same, Activation::Linear),
            (2, 7, 6, 3, 4, 2, Size(1), Activation::Sigmoid),
            (3, 4, 5, 4, 1, 1, Size(0), Activation::Linear),
            (1, 6, 7, 3, 3, 2, Size(0), Activation::Tanh),
            (2, 5, 5, 1, 4, 1, Size(2), Activation::Linear),
            (2, 6, 4, 2, 5, 1, Same, Activation::Softplus),
        ];
        for (cin, h, w, cout, k, s, padding, act) in cases {
            let config = conv(cout, k, s, padding, act);
            let (layer, params) = built(config, image(cin, h, w), 7);
            let worst = worst_gradient_error(&layer, &params, 2, 3, 1e-2);
            assert!(
                worst < 2e-3,
                "{config:?} on {cin}×{h}×{w}: worst relative error {worst}"
            );
        }
    }

    /// The direct definition in f64.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        x: &[f32],
        w: &[f32],
        b: &[f32],
        rows: usize,
        (cin, h, wd): (usize, usize, usize),
        cout: usize,
        k: usize,
        s: usize,
        p: usize,
    ) -> Vec<f64> {
        let (ho, wo) = ((h + 2 * p - k) / s + 1, (wd + 2 * p - k) / s + 1);
        let mut out = vec![0.0f64; rows * cout * ho * wo];
        for n in 0..rows {
            for o in 0..cout {
                for y in 0..ho {
                    for xo in 0..wo {
                        let mut acc = b[o] as f64;
                        for c in 0..cin {
                            for i in 0..k {
                                for j in 0..k {
                                    let (u, v) = (
                                        (y * s + i) as isize - p as isize,
                                        (xo * s + j) as isize - p as isize,
                                    );
                                    if u < 0 || v < 0 || u >= h as isize || v >= wd as isize {
                                        continue;
                                    }
                                    acc += w[((o * cin + c) * k + i) * k + j] as f64
                                        * x[((n * cin + c) * h + u as usize) * wd + v as usize]
                                            as f64;
                                }
                            }
                        }
                        out[((n * cout + o) * ho + y) * wo + xo] = acc;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn forward_matches_the_direct_definition() {
        for (cin, h, w, cout, k, s, p) in [
            (3, 9, 7, 5, 3, 1, 1),
            (2, 10, 11, 4, 4, 2, 1),
            (1, 8, 8, 6, 3, 2, 0),
            (6, 7, 9, 1, 5, 1, 2),
        ] {
            let rows = 3;
            let config = conv(cout, k, s, Padding::Size(p), Activation::Linear);
            let (layer, params) = built(config, image(cin, h, w), 11);
            let x = random(rows * cin * h * w, 5);
            let got = run_forward(&layer, &params, &Cpu::new(1), &x, rows);
            let want = naive(
                &x,
                &params[0].data,
                &params[1].data,
                rows,
                (cin, h, w),
                cout,
                k,
                s,
                p,
            );
            assert_eq!(got.len(), want.len());
            let worst = got
                .iter()
                .zip(&want)
                .map(|(g, w)| (*g as f64 - w).abs())
                .fold(0.0, f64::max);
            assert!(worst <= 1e-4, "{config:?}: max abs error {worst}");
        }
    }

    #[test]
    fn shapes_and_errors() {
        let linear = Activation::Linear;
        let out = |c: ConvConfig, s: Shape| c.output_shape(s);
        assert_eq!(
            out(conv(32, 3, 1, Padding::Size(1), linear), image(1, 28, 28)),
            Ok(image(32, 28, 28))
        );
        assert_eq!(
            out(conv(8, 3, 2, Padding::Size(1), linear), image(32, 28, 28)),
            Ok(image(8, 14, 14))
        );
        assert_eq!(
            out(conv(4, 5, 1, Padding::Same, linear), image(2, 9, 6)),
            Ok(image(4, 9, 6))
        );
        assert_eq!(
            out(conv(4, 4, 2, Padding::Size(0), linear), image(2, 9, 6)),
            Ok(image(4, 3, 2))
        );
        assert_eq!(
            out(conv(4, 5, 1, Padding::Size(0), linear), image(1, 3, 3)),
            Err("kernel 5 is larger than the padded input 3×3".to_string())
        );
        assert!(out(conv(4, 5, 1, Padding::Size(1), linear), image(1, 3, 3)).is_ok());
        assert_eq!(
            out(conv(4, 3, 1, Padding::Size(1), linear), Shape::Flat(784)),
            Err("needs an image input (C×H×W), got 784".to_string())
        );
        assert_eq!(
            conv(32, 3, 1, Padding::Size(1), linear).parameter_count(image(2, 5, 5)),
            32 * 2 * 9 + 32
        );

        let err = |c: ConvConfig| c.check("model.encoder[0]").unwrap_err().to_string();
        let even_same = err(conv(4, 4, 1, Padding::Same, linear));
        assert!(even_same.starts_with("model.encoder[0]: ") && even_same.contains("odd"));
        assert!(err(conv(0, 3, 1, Padding::Same, linear)).contains("filters"));
        assert!(err(conv(MAX_UNITS + 1, 3, 1, Padding::Same, linear)).contains("filters"));
        assert!(err(conv(4, 0, 1, Padding::Size(0), linear)).contains("kernel"));
        assert!(err(conv(4, 1025, 1, Padding::Size(0), linear)).contains("kernel"));
        assert!(err(conv(4, 3, 0, Padding::Size(0), linear)).contains("stride"));
        assert!(err(conv(4, 3, 1, Padding::Size(1025), linear)).contains("padding"));
        assert!(conv(4, 3, 2, Padding::Same, linear).check("k").is_ok());
        assert_eq!(Padding::Same.resolve(5), 2);
        assert_eq!(Padding::Size(3).resolve(5), 3);

        let mut tensors = vec![];
        let layer = conv(5, 3, 2, Padding::Same, Activation::Relu).init(
            image(2, 8, 7),
            "enc.0",
            Init::He,
            &mut tensors,
            &mut Rng::new(1),
        );
        assert_eq!(tensors[0].name, "enc.0.weight");
        assert_eq!(tensors[0].shape, vec![5, 2, 3, 3]);
        assert_eq!(
            (tensors[1].name.as_str(), tensors[1].shape.clone()),
            ("enc.0.bias", vec![5])
        );
        assert_eq!((layer.weight(), layer.bias()), (0, 1));
        assert_eq!(
            (layer.kernel_size(), layer.stride(), layer.padding()),
            (3, 2, 1)
        );
        assert_eq!(layer.kind(), "conv");
        assert_eq!(layer.output_shape(), image(5, 4, 4));
        assert_eq!(layer.decayed_tensors(), &[0]);
    }

    #[test]
    fn threads_agree_and_runs_repeat_bit_for_bit() {
        // 24 examples of 16×24×24 run in several groups, and every parallel path is taken
        let (rows, input) = (24, image(16, 24, 24));
        let config = conv(16, 3, 1, Padding::Same, Activation::Tanh);
        let (layer, params) = built(config, input, 3);
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
}
