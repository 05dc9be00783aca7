//! The autoencoder: encoder `h = f(x)`, decoder `r = g(h)`, their parameters, and inference
//! (encode, decode, reconstruct, evaluate). One training step is [`super::step`].

use super::spec::AutoencoderSpec;
use crate::error::{Error, Result};
use crate::layers::{AnyLayer, Pass, Tensor};
use crate::linalg::{Cpu, Matrix, Rng};

/// Floats of one layer's output a thread keeps in flight when a model runs depth first
/// ([`Autoencoder::run_layers`]): 8 Keras-guide feature maps, ≈ 0.8 MB with both buffers.
const DEPTH_FIRST_FLOATS: usize = 8 * 25_088;

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

    /// The output of `range`'s layers for `x`, on all threads (the last layer's output mean
    /// when `apply_output_mean`).
    ///
    /// Convolutional feature maps are wide (32×28×28 = 25,088 floats an example): a 512-row
    /// chunk of them is 51 MB, and running each layer over a whole chunk before the next made
    /// inference wait on memory (11.8k img/s on the Keras-guide encoder against onnxruntime's
    /// 41.6k). So a model with a layer that is not dense runs depth first: each thread takes a
    /// contiguous share of the rows and carries a few rows at a time through every layer while
    /// they are in cache. Dense stacks keep the 512-row chunks and the threaded GEMM.
    pub(crate) fn run_layers(
        &self,
        x: &Matrix,
        range: std::ops::Range<usize>,
        apply_output_mean: bool,
    ) -> Matrix {
        let layers = &self.layers[range.clone()];
        let widest = layers
            .iter()
            .map(|l| l.output_shape().len())
            .max()
            .unwrap_or(1)
            .max(1);
        let all_dense = layers
            .iter()
            .all(|l| l.as_dense().is_some() || l.kind() == "reshape");
        if all_dense {
            return self.run_layers_on(&Cpu::new(0), x, range, apply_output_mean);
        }
        let threads = rayon::current_num_threads().max(1);
        let chunk = (DEPTH_FIRST_FLOATS / widest).max(1);
        let out_width = self.layers[range.end - 1].output_shape().len();
        let (n, d) = (x.rows(), x.cols());
        let mut out = Matrix::zeros(n, out_width);
        let share = n.div_ceil(threads).max(1);
        use rayon::prelude::*;
        out.as_mut_slice()
            .par_chunks_mut(share * out_width)
            .zip(x.as_slice().par_chunks(share * d))
            .for_each(|(out, x)| {
                self.run_rows(
                    &Cpu::new(1),
                    x,
                    d,
                    range.clone(),
                    apply_output_mean,
                    chunk,
                    out,
                )
            });
        out
    }

    /// [`Self::run_layers`] on `backend`'s threads (one, inside a caller's own parallel loop),
    /// 512 rows at a time.
    pub(crate) fn run_layers_on(
        &self,
        backend: &Cpu,
        x: &Matrix,
        range: std::ops::Range<usize>,
        apply_output_mean: bool,
    ) -> Matrix {
        let out_width = self.layers[range.end - 1].output_shape().len();
        let mut out = Matrix::zeros(x.rows(), out_width);
        self.run_rows(
            backend,
            x.as_slice(),
            x.cols(),
            range,
            apply_output_mean,
            512,
            out.as_mut_slice(),
        );
        out
    }

    /// The layers of `range` on the rows of `x` (`d` values each), `chunk` rows at a time,
    /// written to `out` (`rows × the last layer's width`).
    #[allow(clippy::too_many_arguments)]
    fn run_rows(
        &self,
        backend: &Cpu,
        x: &[f32],
        d: usize,
        range: std::ops::Range<usize>,
        apply_output_mean: bool,
        chunk: usize,
        out: &mut [f32],
    ) {
        let n = x.len() / d.max(1);
        let chunk = chunk.min(n).max(1);
        let out_width = self.layers[range.end - 1].output_shape().len();
        let layers = &self.layers[range.clone()];
        let max_width = layers
            .iter()
            .map(|l| l.output_shape().len())
            .max()
            .unwrap_or(0);
        let scratch_len = layers
            .iter()
            .map(|l| l.scratch_floats(chunk))
            .max()
            .unwrap_or(0);
        let mut a = vec![0.0f32; chunk * max_width];
        let mut b = vec![0.0f32; chunk * max_width];
        let mut scratch = vec![0.0f32; scratch_len];
        for start in (0..n).step_by(chunk) {
            let rows = chunk.min(n - start);
            let pass = Pass::inference(backend, &self.tensors, rows);
            let mut input: &[f32] = &x[start * d..(start + rows) * d];
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
            out[start * out_width..(start + rows) * out_width].copy_from_slice(input);
        }
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

#[cfg(test)]
mod tests {
    use crate::config::RunConfig;
    use crate::linalg::{Cpu, Matrix, Rng};
    use crate::model::Autoencoder;

    /// The Keras-guide convolutional autoencoder of `examples/conv.toml` on 1×28×28 images.
    fn keras_guide() -> Autoencoder {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/conv.toml"))
                .unwrap();
        let mut cfg = RunConfig::parse(&text, std::path::Path::new("conv.toml")).unwrap();
        cfg.model.input_shape = Some(vec![1, 28, 28]);
        Autoencoder::new(cfg.spec(784).unwrap(), 0).unwrap()
    }

    pub(super) fn keras_guide_for_timing() -> Autoencoder {
        keras_guide()
    }

    fn images(n: usize) -> Matrix {
        let mut rng = Rng::new(5);
        let data = (0..n * 784).map(|_| rng.uniform()).collect();
        Matrix::from_vec(n, 784, data)
    }

    /// Depth first (a few rows through every layer on each thread) gives what the layer-by-layer
    /// chunks give, row for row, for a row count no chunk divides.
    #[test]
    fn depth_first_inference_equals_layer_by_layer() {
        let model = keras_guide();
        let x = images(37);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for range in [0..model.encoder_len, 0..model.layers.len()] {
            let layer_by_layer = model.run_layers_on(&Cpu::new(1), &x, range.clone(), true);
            let depth_first = pool.install(|| model.run_layers(&x, range.clone(), true));
            let worst = layer_by_layer
                .as_slice()
                .iter()
                .zip(depth_first.as_slice())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "{range:?}: {worst}");
            assert_eq!(layer_by_layer.rows(), depth_first.rows());
        }
    }

    /// `cargo test --release --lib encode_timing -- --ignored --nocapture`: img/s of the
    /// Keras-guide encoder on 10,000 images, layer by layer in 512-row chunks against depth
    /// first, interleaved.
    #[test]
    #[ignore]
    fn encode_timing() {
        let model = keras_guide();
        let x = images(10_000);
        let (mut chunks, mut depth) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let a = model.run_layers_on(&Cpu::new(0), &x, 0..model.encoder_len, false);
            chunks.push(t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            let b = model.run_layers(&x, 0..model.encoder_len, false);
            depth.push(t.elapsed().as_secs_f64());
            assert_eq!(a.as_slice().len(), b.as_slice().len());
        }
        chunks.sort_by(f64::total_cmp);
        depth.sort_by(f64::total_cmp);
        println!(
            "layer by layer {:.0} img/s, depth first {:.0} img/s (medians of 5, {} threads)",
            1e4 / chunks[2],
            1e4 / depth[2],
            rayon::current_num_threads()
        );
    }
}

#[cfg(test)]
mod layer_timing {
    /// `cargo test --release --lib encode_layer_timing -- --ignored --nocapture`: one thread,
    /// 8 rows at a time, the Keras-guide encoder's layers timed one by one over 4,000 images.
    #[test]
    #[ignore]
    fn encode_layer_timing() {
        use crate::layers::Pass;
        use crate::linalg::Cpu;
        let model = super::tests::keras_guide_for_timing();
        let n = 4000;
        let chunk = 8;
        let backend = Cpu::new(1);
        let widest = model
            .layers
            .iter()
            .map(|l| l.output_shape().len())
            .max()
            .unwrap();
        let mut bufs: Vec<Vec<f32>> = vec![vec![0.5f32; chunk * 784]];
        for l in &model.layers[..model.encoder_len] {
            bufs.push(vec![0.0; chunk * l.output_shape().len()]);
        }
        let scratch_len = model
            .layers
            .iter()
            .map(|l| l.scratch_floats(chunk))
            .max()
            .unwrap();
        let mut scratch = vec![0.0f32; scratch_len.max(widest)];
        let mut times = vec![0.0f64; model.encoder_len];
        for _ in 0..n / chunk {
            let pass = Pass::inference(&backend, &model.tensors, chunk);
            for l in 0..model.encoder_len {
                let (below, above) = bufs.split_at_mut(l + 1);
                let t = std::time::Instant::now();
                model.layers[l].forward(
                    &pass,
                    &below[l],
                    &mut above[0],
                    model.layers[l].activation(),
                    &mut scratch,
                );
                times[l] += t.elapsed().as_secs_f64();
            }
        }
        for (l, t) in times.iter().enumerate() {
            println!(
                "layer {l} {}: {:.1} µs/img",
                model.layers[l].kind(),
                1e6 * t / n as f64
            );
        }
    }
}
