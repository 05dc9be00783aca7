//! The autoencoder: encoder `h = f(x)`, decoder `r = g(h)`, their parameters, and inference
//! (encode, decode, reconstruct, evaluate). One training step is [`super::step`].

use super::spec::AutoencoderSpec;
use crate::error::{Error, Result};
use crate::layers::{AnyLayer, Pass, Tensor};
use crate::linalg::{Cpu, Matrix, Rng};

/// A trained or freshly initialized autoencoder.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoencoder {
    pub(super) spec: AutoencoderSpec,
    pub(super) tensors: Vec<Tensor>,
    /// The encoder's layers, then the decoder's.
    pub(super) layers: Vec<AnyLayer>,
    /// Number of encoder layers; layer `encoder_len - 1` outputs the code.
    pub(crate) encoder_len: usize,
}

/// Reconstruction quality on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Number of examples.
    pub examples: usize,
    /// `−log p(x | r)` summed over features, mean over examples (the training loss's
    /// likelihood part; cross-entropy for Bernoulli, ½·squared error for Gaussian).
    pub loss_per_example: f64,
    /// `‖x − r‖²` summed over features, mean over examples, with `r` the mean reconstruction.
    pub squared_error_per_example: f64,
}

impl Autoencoder {
    /// Builds the network of `spec` with weights drawn from `seed`.
    pub fn new(spec: AutoencoderSpec, seed: u64) -> Result<Self> {
        spec.validate()?;
        let mut rng = Rng::new(seed);
        let mut tensors = Vec::new();
        let mut layers: Vec<AnyLayer> = Vec::new();
        let mut shape = spec.input_shape();
        for (i, config) in spec.encoder_configs().iter().enumerate() {
            let layer = config.init(
                shape,
                &format!("encoder.{i}"),
                spec.init,
                None,
                &mut tensors,
                &mut rng,
            );
            shape = layer.output_shape();
            layers.push(layer);
        }
        let encoder_len = layers.len();
        shape = spec.code_shape();
        for (i, config) in spec.decoder_configs().iter().enumerate() {
            // a tied layer reads its encoder twin's weight, transposed
            let tied = spec.tied.then(|| {
                layers[encoder_len - 1 - i]
                    .as_dense()
                    .expect("a tied model is dense")
                    .weight()
            });
            let layer = config.init(
                shape,
                &format!("decoder.{i}"),
                spec.init,
                tied,
                &mut tensors,
                &mut rng,
            );
            shape = layer.output_shape();
            layers.push(layer);
        }
        Ok(Autoencoder {
            spec,
            tensors,
            layers,
            encoder_len,
        })
    }

    /// Rebuilds a model from a spec and saved tensors, checking every name and shape.
    pub fn from_tensors(spec: AutoencoderSpec, tensors: Vec<Tensor>) -> Result<Self> {
        let mut model = Autoencoder::new(spec, 0)?;
        if tensors.len() != model.tensors.len() {
            return Err(Error::Shape(format!(
                "expected {} tensors, found {}",
                model.tensors.len(),
                tensors.len()
            )));
        }
        for slot in &mut model.tensors {
            let found = tensors
                .iter()
                .find(|t| t.name == slot.name)
                .ok_or_else(|| Error::Shape(format!("tensor {} is missing", slot.name)))?;
            if found.shape != slot.shape {
                return Err(Error::Shape(format!(
                    "tensor {} has shape {:?}, the spec needs {:?}",
                    slot.name, found.shape, slot.shape
                )));
            }
            slot.data.copy_from_slice(&found.data);
        }
        Ok(model)
    }

    /// Number of dense layers (encoder then decoder).
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// Takes `spec` as this model's when it describes the same network (every field but the
    /// training corruption, which is not part of the network: a resumed run records its own);
    /// returns `false`, changing nothing, when the networks differ.
    pub fn adopt_spec(&mut self, spec: &AutoencoderSpec) -> bool {
        let network = AutoencoderSpec {
            corruption: spec.corruption,
            ..self.spec.clone()
        };
        if network != *spec {
            return false;
        }
        self.spec.corruption = spec.corruption;
        true
    }

    /// The spec this model was built from.
    pub fn spec(&self) -> &AutoencoderSpec {
        &self.spec
    }
    /// Parameter tensors, in a fixed order.
    pub fn tensors(&self) -> &[Tensor] {
        &self.tensors
    }
    /// Parameter tensors, mutable (for loading, tests and optimizers).
    pub fn tensors_mut(&mut self) -> &mut [Tensor] {
        &mut self.tensors
    }
    /// The parameter tensors' entries, in order (a learner's parameters).
    pub fn parameter_slices(&self) -> Vec<&[f32]> {
        self.tensors.iter().map(|t| t.data.as_slice()).collect()
    }

    /// The same, mutable.
    pub fn parameter_slices_mut(&mut self) -> Vec<&mut [f32]> {
        self.tensors
            .iter_mut()
            .map(|t| t.data.as_mut_slice())
            .collect()
    }

    /// Lengths of the parameter tensors (for optimizer state).
    pub fn tensor_lengths(&self) -> Vec<usize> {
        self.tensors.iter().map(|t| t.data.len()).collect()
    }

    /// The encoder's layers, input side first (the last outputs the code's statistics).
    pub fn encoder(&self) -> &[AnyLayer] {
        &self.layers[..self.encoder_len]
    }

    /// The decoder's layers, code side first (the last outputs the likelihood's
    /// pre-activation).
    pub fn decoder(&self) -> &[AnyLayer] {
        &self.layers[self.encoder_len..]
    }

    pub(super) fn check_width(&self, x: &Matrix, want: usize, what: &str) -> Result<()> {
        if x.cols() != want {
            return Err(Error::Shape(format!(
                "{what} has {} columns, the model expects {want}",
                x.cols()
            )));
        }
        Ok(())
    }

    /// Runs layers `range` on `x` in chunks on all threads of the current pool; with
    /// `apply_output_mean`, the last layer gives the output distribution's mean.
    pub(crate) fn run_layers(
        &self,
        x: &Matrix,
        range: std::ops::Range<usize>,
        apply_output_mean: bool,
    ) -> Matrix {
        self.run_layers_on(&Cpu::new(0), x, range, apply_output_mean)
    }

    /// [`Self::run_layers`] on `backend`'s threads (one, inside a caller's own parallel loop).
    pub(crate) fn run_layers_on(
        &self,
        backend: &Cpu,
        x: &Matrix,
        range: std::ops::Range<usize>,
        apply_output_mean: bool,
    ) -> Matrix {
        let out_width = self.layers[range.end - 1].output_shape().len();
        let mut out = Matrix::zeros(x.rows(), out_width);
        const CHUNK: usize = 512;
        let layers = &self.layers[range.clone()];
        let max_width = layers
            .iter()
            .map(|l| l.output_shape().len())
            .max()
            .unwrap_or(0);
        let scratch_len = layers
            .iter()
            .map(|l| l.scratch_floats(CHUNK))
            .max()
            .unwrap_or(0);
        let mut a = vec![0.0f32; CHUNK * max_width];
        let mut b = vec![0.0f32; CHUNK * max_width];
        let mut scratch = vec![0.0f32; scratch_len];
        for start in (0..x.rows()).step_by(CHUNK) {
            let rows = CHUNK.min(x.rows() - start);
            let pass = Pass::inference(backend, &self.tensors, rows);
            let mut input: &[f32] = &x.as_slice()[start * x.cols()..(start + rows) * x.cols()];
            for l in range.clone() {
                let layer = &self.layers[l];
                let outputs = layer.output_shape().len();
                let output_mean = l + 1 == self.layers.len() && apply_output_mean;
                let act = if output_mean {
                    self.spec.output.mean_activation()
                } else {
                    layer.activation()
                };
                let dst = &mut b[..rows * outputs];
                layer.forward(&pass, input, dst, act, &mut scratch);
                if output_mean && self.spec.output == crate::Likelihood::Multinomial {
                    self.spec.output.apply_mean(dst, outputs);
                }
                std::mem::swap(&mut a, &mut b);
                input = &a[..rows * outputs];
            }
            out.as_mut_slice()[start * out_width..(start + rows) * out_width]
                .copy_from_slice(input);
        }
        out
    }

    /// The code `h = f(x)` of each row of `x`.
    /// For a Gaussian code, the mean `μ(x)`.
    pub fn encode(&self, x: &Matrix) -> Result<Matrix> {
        self.check_width(x, self.spec.input_size, "data")?;
        let out = self.run_layers(x, 0..self.encoder_len, false);
        Ok(self.code().encode(out, self.spec.code_size))
    }

    /// The code layer.
    pub(super) fn code(&self) -> crate::code::AnyCode {
        self.spec.code_distribution.with_binary(self.spec.binary)
    }

    /// Whether training samples the code.
    pub(super) fn code_is_sampled(&self) -> bool {
        self.code().is_sampled()
    }

    /// Pre-activations of the output layer for `x` (through the mean code when stochastic).
    fn output_preactivations(&self, x: &Matrix, apply_output_mean: bool) -> Result<Matrix> {
        Ok(if self.code().is_sampled() {
            let h = self.encode(x)?;
            self.run_layers(&h, self.encoder_len..self.layers.len(), apply_output_mean)
        } else {
            self.run_layers(x, 0..self.layers.len(), apply_output_mean)
        })
    }

    /// The reconstruction `r = g(h)` (the output distribution's mean) of each code.
    pub fn decode(&self, h: &Matrix) -> Result<Matrix> {
        self.check_width(h, self.spec.code_size, "code")?;
        Ok(self.run_layers(h, self.encoder_len..self.layers.len(), true))
    }

    /// `g(f(x))`.
    pub fn reconstruct(&self, x: &Matrix) -> Result<Matrix> {
        self.check_width(x, self.spec.input_size, "data")?;
        self.output_preactivations(x, true)
    }

    /// The likelihood loss `L(x, g(f(x)))` of each row of `x` (the code's mean for Gaussian
    /// codes): the negative of an anomaly score.
    pub fn example_losses(&self, x: &Matrix) -> Result<Vec<f64>> {
        let (_, row_loss) = self.preactivations_and_losses(x)?;
        Ok(row_loss.into_iter().map(f64::from).collect())
    }

    /// The output pre-activations for `x` and each row's likelihood loss.
    fn preactivations_and_losses(&self, x: &Matrix) -> Result<(Matrix, Vec<f32>)> {
        self.check_width(x, self.spec.input_size, "data")?;
        let z = self.output_preactivations(x, false)?;
        let mut row_loss = vec![0.0f32; x.rows()];
        self.spec
            .output
            .row_losses(z.as_slice(), x.as_slice(), &mut row_loss);
        Ok((z, row_loss))
    }

    /// Likelihood loss and squared error of the reconstructions of `x`.
    pub fn evaluate(&self, x: &Matrix) -> Result<Evaluation> {
        let mut sums = (0.0f64, 0.0f64);
        self.accumulate_evaluation(x, &mut sums)?;
        Ok(Self::evaluation(x.rows(), sums))
    }

    /// [`Self::evaluate`] on rows read in chunks (streamed or sparse data): the same per-row
    /// terms summed in the same order, so the same numbers as on the whole matrix.
    pub fn evaluate_rows(&self, x: &dyn crate::data::rows::Rows) -> Result<Evaluation> {
        if let Some(m) = x.as_matrix() {
            return self.evaluate(m);
        }
        // run_layers' own chunk, so every layer sees the row blocks it sees on the whole matrix
        // (and memory stays at one such block)
        const CHUNK: usize = 512;
        let mut sums = (0.0f64, 0.0f64);
        crate::data::rows::for_each_chunk(x, CHUNK, |_, chunk| {
            self.accumulate_evaluation(chunk, &mut sums)
        })?;
        Ok(Self::evaluation(x.rows(), sums))
    }

    fn evaluation(rows: usize, (loss, squared): (f64, f64)) -> Evaluation {
        let n = rows.max(1) as f64;
        Evaluation {
            examples: rows,
            loss_per_example: loss / n,
            squared_error_per_example: squared / n,
        }
    }

    /// Adds the rows of `x`, one at a time, to the running (loss, squared error) sums.
    fn accumulate_evaluation(&self, x: &Matrix, sums: &mut (f64, f64)) -> Result<()> {
        let (mut z, row_loss) = self.preactivations_and_losses(x)?;
        let width = x.cols().max(1);
        self.spec.output.apply_mean(z.as_mut_slice(), width);
        let multinomial = self.spec.output == crate::Likelihood::Multinomial;
        for v in &row_loss {
            sums.0 += *v as f64;
        }
        for (r, xr) in z
            .as_slice()
            .chunks_exact(width)
            .zip(x.as_slice().chunks_exact(width))
        {
            // a multinomial's mean is a distribution: compare its expected counts N·p
            let n = if multinomial {
                xr.iter().sum::<f32>()
            } else {
                1.0
            };
            let s: f64 = r
                .iter()
                .zip(xr)
                .map(|(r, x)| ((n * r - x) as f64).powi(2))
                .sum();
            sums.1 += s;
        }
        Ok(())
    }
}
