//! The autoencoder: encoder `h = f(x)`, decoder `r = g(h)`, their parameters, and inference
//! (encode, decode, reconstruct, evaluate). One training step is [`super::step`].

use super::spec::AutoencoderSpec;
use crate::error::{Error, Result};
use crate::linalg::{Cpu, Matrix, Rng};
use crate::nn::dense::Dense;
use crate::nn::Activation;

/// A named parameter tensor (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Name in the saved file, e.g. `encoder.0.weight`.
    pub name: String,
    /// Shape, PyTorch convention (`[outputs, inputs]` for weights).
    pub shape: Vec<usize>,
    /// Entries.
    pub data: Vec<f32>,
}

/// How one dense layer reads the parameter store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LayerPlan {
    pub inputs: usize,
    pub outputs: usize,
    pub activation: Activation,
    pub weight: usize,
    pub bias: usize,
    /// The weight is another layer's, used transposed (tied decoder).
    pub transposed_weight: bool,
}

/// A trained or freshly initialized autoencoder.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoencoder {
    pub(super) spec: AutoencoderSpec,
    pub(super) tensors: Vec<Tensor>,
    pub(super) layers: Vec<LayerPlan>,
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
        let mut layers = Vec::new();
        let enc = spec.encoder_widths();
        let dec = spec.decoder_widths();
        let mut push_layer = |prefix: &str,
                              i: usize,
                              inputs: usize,
                              outputs: usize,
                              activation: Activation,
                              shared: Option<usize>,
                              tensors: &mut Vec<Tensor>|
         -> LayerPlan {
            let weight = match shared {
                Some(w) => w,
                None => {
                    tensors.push(Tensor {
                        name: format!("{prefix}.{i}.weight"),
                        shape: vec![outputs, inputs],
                        data: vec![0.0; outputs * inputs],
                    });
                    tensors.len() - 1
                }
            };
            tensors.push(Tensor {
                name: format!("{prefix}.{i}.bias"),
                shape: vec![outputs],
                data: vec![0.0; outputs],
            });
            let bias = tensors.len() - 1;
            {
                let (w, b) = if shared.is_some() {
                    (None, &mut tensors[bias].data)
                } else {
                    let (left, right) = tensors.split_at_mut(bias);
                    (Some(&mut left[weight].data), &mut right[0].data)
                };
                match w {
                    Some(w) => spec.init.fill(w, b, inputs, outputs, &mut rng),
                    None => {
                        // tied layer: only the bias is new; start it like an untied bias would
                        let mut scratch = vec![0.0f32; inputs * outputs];
                        spec.init.fill(&mut scratch, b, inputs, outputs, &mut rng)
                    }
                }
            }
            LayerPlan {
                inputs,
                outputs,
                activation,
                weight,
                bias,
                transposed_weight: shared.is_some(),
            }
        };
        let encoder_len = enc.len() - 1;
        for i in 0..encoder_len {
            let act = if i + 1 == encoder_len {
                spec.code_activation
            } else {
                spec.activation
            };
            layers.push(push_layer(
                "encoder",
                i,
                enc[i],
                enc[i + 1],
                act,
                None,
                &mut tensors,
            ));
        }
        let decoder_len = dec.len() - 1;
        for i in 0..decoder_len {
            let act = if i + 1 == decoder_len {
                Activation::Linear
            } else {
                spec.activation
            };
            let shared = spec.tied.then(|| layers[encoder_len - 1 - i].weight);
            layers.push(push_layer(
                "decoder",
                i,
                dec[i],
                dec[i + 1],
                act,
                shared,
                &mut tensors,
            ));
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

    pub(super) fn dense(&self, l: usize) -> Dense<'_> {
        let p = &self.layers[l];
        Dense {
            weight: &self.tensors[p.weight].data,
            bias: &self.tensors[p.bias].data,
            inputs: p.inputs,
            outputs: p.outputs,
            transposed_weight: p.transposed_weight,
        }
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
        let out_width = self.layers[range.end - 1].outputs;
        let mut out = Matrix::zeros(x.rows(), out_width);
        const CHUNK: usize = 512;
        let max_width = self.layers[range.clone()]
            .iter()
            .map(|l| l.outputs)
            .max()
            .unwrap_or(0);
        let mut a = vec![0.0f32; CHUNK * max_width];
        let mut b = vec![0.0f32; CHUNK * max_width];
        for start in (0..x.rows()).step_by(CHUNK) {
            let rows = CHUNK.min(x.rows() - start);
            let mut input: &[f32] = &x.as_slice()[start * x.cols()..(start + rows) * x.cols()];
            for l in range.clone() {
                let p = self.layers[l];
                let output_mean = l + 1 == self.layers.len() && apply_output_mean;
                let act = if output_mean {
                    self.spec.output.mean_activation()
                } else {
                    p.activation
                };
                let dst = &mut b[..rows * p.outputs];
                self.dense(l).forward(backend, input, rows, act, dst);
                if output_mean && self.spec.output == crate::Likelihood::Multinomial {
                    self.spec.output.apply_mean(dst, p.outputs);
                }
                std::mem::swap(&mut a, &mut b);
                input = &a[..rows * p.outputs];
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
