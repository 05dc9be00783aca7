//! Dropout as a layer (Srivastava et al. 2014), inverted: in a training pass each value is kept
//! with probability `1 − p` and scaled by `1/(1 − p)`, so inference is the identity and still
//! sees the same expected value:
//!
//! `y = m ⊙ x`, `m_k ∈ {0, 1/(1 − p)}`, `∂L/∂x = m ⊙ ∂L/∂y`; at inference `y = x`, `∂L/∂x = ∂L/∂y`.
//!
//! The mask is not stored: `m_k` is a pure function of the step's seed, the layer's salt (an
//! FNV-1a hash of its name, so two dropout layers draw different masks in the same step) and
//! the value's index `k` in the batch, through a counter-based hash (SplitMix64's finalizer).
//! Backward recomputes exactly forward's mask, and threads share no random stream.
//!
//! # Shapes
//! input `rows × len` (any shape) → output `rows × len` (the same shape); no scratch.

use super::{GradSlots, Layer, Pass, Shape, TensorId};
use crate::error::{Error, Result};
use crate::nn::Activation;

/// A dropout layer's settings: the probability `p` of zeroing each value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutConfig {
    /// `p`, in `[0, 1)`.
    pub rate: f32,
}

impl DropoutConfig {
    /// Checks the rate (finite, `0 ≤ p < 1`); `key` names the config entry in errors.
    pub fn check(&self, key: &str) -> Result<()> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::config(
                key,
                format!("a dropout rate must be in [0, 1), got {}", self.rate),
            ));
        }
        Ok(())
    }

    /// The output shape: the input's.
    pub fn output_shape(&self, input: Shape) -> std::result::Result<Shape, String> {
        Ok(input)
    }

    /// Builds the layer on `input`; `name` (the layer's name in the model, e.g. `encoder.2`)
    /// salts its masks.
    pub fn init(&self, input: Shape, name: &str) -> DropoutLayer {
        DropoutLayer {
            shape: input,
            rate: self.rate,
            salt: fnv1a(name.as_bytes()),
        }
    }
}

/// A built dropout layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropoutLayer {
    shape: Shape,
    rate: f32,
    /// Mixed into every mask draw, from the layer's name.
    salt: u64,
}

/// 64-bit FNV-1a: a stable hash of the name (std's hashers may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64's finalizer: a bijection of `u64` whose outputs of consecutive inputs look
/// independent (the counter-based generator of Steele et al. 2014).
#[inline(always)]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

impl DropoutLayer {
    /// The rate `p`.
    pub fn rate(&self) -> f32 {
        self.rate
    }

    /// The stream key of one pass: seed and salt mixed, so neighbouring seeds or salts give
    /// unrelated masks.
    fn key(&self, seed: u64) -> u64 {
        mix(seed ^ mix(self.salt.wrapping_add(GOLDEN)))
    }

    /// Whether value `k` of the batch is kept under `key`: its uniform in `[0, 1)` (24 bits,
    /// as [`crate::linalg::Rng::uniform`]) is at least `p`.
    #[inline(always)]
    fn kept(&self, key: u64, k: usize) -> bool {
        let bits = mix(key.wrapping_add((k as u64).wrapping_add(1).wrapping_mul(GOLDEN)));
        let u = (bits >> 40) as f32 * (1.0 / (1u64 << 24) as f32);
        u >= self.rate
    }

    /// `dst = m ⊙ src` for the values `first, first + 1, …` of the batch under `key`.
    fn apply_mask(&self, key: u64, first: usize, src: &[f32], dst: &mut [f32]) {
        let scale = 1.0 / (1.0 - self.rate);
        for (i, (d, s)) in dst.iter_mut().zip(src).enumerate() {
            *d = if self.kept(key, first + i) {
                *s * scale
            } else {
                0.0
            };
        }
    }
}

impl Layer for DropoutLayer {
    fn kind(&self) -> &'static str {
        "dropout"
    }
    fn input_shape(&self) -> Shape {
        self.shape
    }
    fn output_shape(&self) -> Shape {
        self.shape
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
    fn draws(&self) -> bool {
        true
    }

    // input, output: rows × len
    fn forward(
        &self,
        pass: &Pass<'_>,
        input: &[f32],
        output: &mut [f32],
        activation: Activation,
        _scratch: &mut [f32],
    ) {
        let n = self.shape.len();
        let (training, key) = (pass.training, self.key(pass.seed));
        pass.backend
            .for_row_chunks(output, n, &mut [], &|first, chunk, _| {
                let start = first * n;
                let src = &input[start..start + chunk.len()];
                if training {
                    self.apply_mask(key, start, src, chunk);
                } else {
                    chunk.copy_from_slice(src);
                }
                if activation != Activation::Linear {
                    chunk.iter_mut().for_each(|y| *y = activation.apply(*y));
                }
            });
    }

    // delta: rows × len (the layer's activation is Linear: delta is already ∂L/∂y),
    // input_grad: rows × len, overwritten with m ⊙ delta (delta itself at inference)
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
        if !pass.training {
            input_grad.copy_from_slice(delta);
            return;
        }
        let n = self.shape.len();
        let key = self.key(pass.seed);
        let delta = &*delta;
        pass.backend
            .for_row_chunks(input_grad, n, &mut [], &|first, chunk, _| {
                let start = first * n;
                self.apply_mask(key, start, &delta[start..start + chunk.len()], chunk);
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::check::{on_pool, run_passes, worst_gradient_error_in};
    use crate::linalg::{Cpu, Rng};

    fn layer(rate: f32, input: Shape, name: &str) -> DropoutLayer {
        DropoutConfig { rate }.init(input, name)
    }

    /// The forward output of a training pass of `layer` on `x` with `seed`, one thread.
    fn dropped(layer: &DropoutLayer, x: &[f32], seed: u64) -> Vec<f32> {
        let backend = Cpu::new(1);
        let rows = x.len() / layer.input_shape().len();
        let pass = Pass {
            training: true,
            seed,
            ..Pass::inference(&backend, &[], rows)
        };
        let mut out = vec![0.0f32; x.len()];
        layer.forward(&pass, x, &mut out, Activation::Linear, &mut []);
        out
    }

    #[test]
    fn gradients_match_finite_differences() {
        let image = Shape::Image {
            channels: 2,
            height: 2,
            width: 3,
        };
        for training in [true, false] {
            for input in [Shape::Flat(5), image] {
                let drop = layer(0.3, input, "encoder.1");
                let worst = worst_gradient_error_in(&drop, &[], 4, 1, 1e-3, training);
                assert!(worst < 1e-3, "{input} training {training}: {worst}");
            }
        }
    }

    #[test]
    fn about_the_rate_is_dropped_and_the_rest_scaled() {
        let drop = layer(0.25, Shape::Flat(100), "encoder.3");
        let mut rng = Rng::new(2);
        let x: Vec<f32> = (0..10_000).map(|_| rng.uniform_range(0.5, 1.5)).collect();
        let y = dropped(&drop, &x, 17);
        let zeros = y.iter().filter(|v| **v == 0.0).count() as f64 / y.len() as f64;
        assert!((0.22..=0.28).contains(&zeros), "dropped {zeros}");
        for (x, y) in x.iter().zip(&y) {
            assert!(
                *y == 0.0 || (*y - *x / 0.75).abs() <= 1e-6 * y.abs(),
                "{x} → {y}"
            );
        }
        // rate 0 keeps everything as is
        assert_eq!(dropped(&layer(0.0, Shape::Flat(100), "e"), &x, 17), x);
    }

    #[test]
    fn the_mask_depends_on_the_seed_and_the_name_only() {
        let x = vec![1.0f32; 4096];
        let a = layer(0.5, Shape::Flat(64), "encoder.1");
        let b = layer(0.5, Shape::Flat(64), "encoder.4");
        let same_name = layer(0.5, Shape::Flat(64), "encoder.1");
        let mask = dropped(&a, &x, 7);
        assert_eq!(mask, dropped(&a, &x, 7));
        assert_eq!(mask, dropped(&same_name, &x, 7));
        let differ = |m: &[f32]| mask.iter().zip(m).filter(|(u, v)| u != v).count();
        // independent masks of rate ½ disagree on about half the values
        for other in [dropped(&a, &x, 8), dropped(&b, &x, 7)] {
            let n = differ(&other);
            assert!((1700..2400).contains(&n), "{n} of 4096 differ");
        }
    }

    #[test]
    fn backward_uses_forwards_mask_and_inference_is_the_identity() {
        let drop = layer(0.4, Shape::Flat(50), "decoder.0");
        let mut rng = Rng::new(4);
        let x: Vec<f32> = (0..200).map(|_| rng.normal()).collect();
        let ones = vec![1.0f32; 200];
        let backend = Cpu::new(1);
        let (out, grad, _) = run_passes(&drop, &[], &x, &ones, 4, &backend, true);
        for ((x, y), g) in x.iter().zip(&out).zip(&grad) {
            // the gradient of a kept value is the scale, of a dropped one 0
            assert_eq!(*y, *x * *g);
            assert!(*g == 0.0 || *g == 1.0 / (1.0 - 0.4f32));
        }
        let (out, grad, _) = run_passes(&drop, &[], &x, &x, 4, &backend, false);
        assert_eq!((out, grad), (x.clone(), x));
    }

    #[test]
    fn config_checks_name_the_key() {
        assert!(DropoutConfig { rate: 0.0 }
            .check("model.encoder[0]")
            .is_ok());
        assert!(DropoutConfig { rate: 0.99 }
            .check("model.encoder[0]")
            .is_ok());
        for rate in [-0.1, 1.0, f32::NAN, f32::INFINITY] {
            let err = DropoutConfig { rate }
                .check("model.encoder[0]")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("model.encoder[0]: "), "{rate}: {err}");
        }
        let drop = layer(0.1, Shape::Flat(3), "x");
        assert!(drop.draws());
        assert_eq!(
            DropoutConfig { rate: 0.1 }.output_shape(Shape::Flat(3)),
            Ok(Shape::Flat(3))
        );
    }

    #[test]
    fn two_threads_match_one() {
        let drop = layer(0.3, Shape::Flat(300), "encoder.2");
        let rows = 100;
        let mut rng = Rng::new(6);
        let x: Vec<f32> = (0..rows * 300).map(|_| rng.normal()).collect();
        let delta: Vec<f32> = (0..rows * 300).map(|_| rng.normal()).collect();
        let one = run_passes(&drop, &[], &x, &delta, rows, &Cpu::new(1), true);
        let two = on_pool(2, || {
            run_passes(&drop, &[], &x, &delta, rows, &Cpu::new(2), true)
        });
        assert_eq!(one, two);
    }
}
