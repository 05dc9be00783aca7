//! The autoencoder: encoder `h = f(x)`, decoder `r = g(h)`, and one training step of
//! `L(x, g(f(C(x)))) + Ω(h, x)`.

use super::spec::AutoencoderSpec;
use crate::code::{CodeBuffers, CodeLayer};
use crate::error::{Error, Result};
use crate::linalg::{Backend, Cpu, Matrix, Rng};
use crate::nn::dense::Dense;
use crate::nn::{Activation, Optimizer};
use crate::objective::{contractive, weight_decay, Objective};

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
    spec: AutoencoderSpec,
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

/// Buffers for one batch shape, allocated once so the training loop allocates nothing.
#[derive(Debug)]
pub struct Workspace {
    max_rows: usize,
    samples: usize,
    input: Vec<f32>,
    acts: Vec<Vec<f32>>,
    delta_a: Vec<f32>,
    delta_b: Vec<f32>,
    /// Gradient of each parameter tensor after [`Autoencoder::train_step`].
    pub grads: Vec<Vec<f32>>,
    grad_started: Vec<bool>,
    row_loss: Vec<f32>,
    /// The code layer's buffers (sampled codes, their noise, importance weights).
    code: CodeBuffers,
    /// The contractive penalty's gradient for the first layer, before it joins `grads`.
    penalty_weight_grad: Vec<f32>,
    penalty_bias_grad: Vec<f32>,
    /// The tangent estimator's buffers (empty unless the estimate is used).
    tangent: contractive::TangentScratch,
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
    /// Lengths of the parameter tensors (for optimizer state).
    pub fn tensor_lengths(&self) -> Vec<usize> {
        self.tensors.iter().map(|t| t.data.len()).collect()
    }

    fn dense(&self, l: usize) -> Dense<'_> {
        let p = &self.layers[l];
        Dense {
            weight: &self.tensors[p.weight].data,
            bias: &self.tensors[p.bias].data,
            inputs: p.inputs,
            outputs: p.outputs,
            transposed_weight: p.transposed_weight,
        }
    }

    fn check_width(&self, x: &Matrix, want: usize, what: &str) -> Result<()> {
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
                let act = if l + 1 == self.layers.len() && apply_output_mean {
                    self.spec.output.mean_activation()
                } else {
                    p.activation
                };
                let dst = &mut b[..rows * p.outputs];
                self.dense(l).forward(backend, input, rows, act, dst);
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
    fn code(&self) -> &'static dyn CodeLayer {
        self.spec.code_distribution.layer()
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

    /// Likelihood loss and squared error of the reconstructions of `x`.
    pub fn evaluate(&self, x: &Matrix) -> Result<Evaluation> {
        self.check_width(x, self.spec.input_size, "data")?;
        let z = self.output_preactivations(x, false)?;
        let mut row_loss = vec![0.0f32; x.rows()];
        self.spec
            .output
            .row_losses(z.as_slice(), x.as_slice(), &mut row_loss);
        let mean_act = self.spec.output.mean_activation();
        let mut squared = 0.0f64;
        for (zr, xr) in z
            .as_slice()
            .chunks_exact(x.cols().max(1))
            .zip(x.as_slice().chunks_exact(x.cols().max(1)))
        {
            let s: f64 = zr
                .iter()
                .zip(xr)
                .map(|(z, x)| ((mean_act.apply(*z) - x) as f64).powi(2))
                .sum();
            squared += s;
        }
        let n = x.rows().max(1) as f64;
        Ok(Evaluation {
            examples: x.rows(),
            loss_per_example: row_loss.iter().map(|v| *v as f64).sum::<f64>() / n,
            squared_error_per_example: squared / n,
        })
    }

    /// Workspace for batches of up to `max_rows` rows.
    pub fn workspace(&self, max_rows: usize) -> Workspace {
        self.workspace_with_samples(max_rows, 1)
    }

    /// Workspace for batches of up to `max_rows` rows with up to `samples` importance samples
    /// per example (Gaussian codes).
    pub fn workspace_with_samples(&self, max_rows: usize, samples: usize) -> Workspace {
        let code = self.code();
        let samples = code.training_samples(samples);
        let dec_rows = max_rows * samples;
        let rows_of = |l: usize| {
            if l >= self.encoder_len {
                dec_rows
            } else {
                max_rows
            }
        };
        let max_len = self
            .layers
            .iter()
            .enumerate()
            .map(|(l, p)| rows_of(l) * p.outputs.max(p.inputs))
            .max()
            .unwrap_or(0);
        Workspace {
            max_rows,
            samples,
            input: vec![0.0; max_rows * self.spec.input_size],
            acts: self
                .layers
                .iter()
                .enumerate()
                .map(|(l, p)| vec![0.0; rows_of(l) * p.outputs])
                .collect(),
            delta_a: vec![0.0; max_len],
            delta_b: vec![0.0; max_len],
            grads: self
                .tensors
                .iter()
                .map(|t| vec![0.0; t.data.len()])
                .collect(),
            grad_started: vec![false; self.tensors.len()],
            row_loss: vec![0.0; dec_rows],
            code: code.buffers(max_rows, self.spec.code_size, samples),
            penalty_weight_grad: vec![0.0; self.layers[0].inputs * self.layers[0].outputs],
            penalty_bias_grad: vec![0.0; self.layers[0].outputs],
            tangent: contractive::TangentScratch::default(),
        }
    }

    /// The objective `L(x, g(f(C(x)))) + Ω` on `batch` (mean over rows), without updating.
    /// With a corruption, `rng` draws it.
    pub fn loss(&mut self, batch: &Matrix, objective: &Objective, rng: &mut Rng) -> Result<f64> {
        let mut ws = self.workspace_with_samples(batch.rows(), objective.importance_samples);
        self.train_step(&Cpu::new(0), &mut ws, batch, objective, rng, None)
    }

    /// One step: forward, objective, backward; gradients land in `ws.grads`. With an optimizer,
    /// each tensor is updated as soon as its gradient is final (while it is still in cache).
    /// Returns the batch objective (mean over rows, plus penalties).
    ///
    /// With a Gaussian code and `objective.importance_samples = k > 1` the objective is the
    /// importance-weighted bound (IWAE): the decoder runs on `k` samples per example.
    pub fn train_step(
        &mut self,
        backend: &dyn Backend,
        ws: &mut Workspace,
        batch: &Matrix,
        objective: &Objective,
        rng: &mut Rng,
        mut update: Option<(&mut Optimizer, f32)>,
    ) -> Result<f64> {
        self.check_width(batch, self.spec.input_size, "batch")?;
        let rows = batch.rows();
        let code = self.code();
        let sampled = code.is_sampled();
        let k_code = self.spec.code_size;
        let samples = code.training_samples(objective.importance_samples);
        if rows == 0 || rows > ws.max_rows || samples > ws.samples {
            return Err(Error::Invalid(format!(
                "batch of {rows} rows × {samples} samples does not fit a workspace of {} × {}",
                ws.max_rows, ws.samples
            )));
        }
        let decoder_rows = rows * samples;
        let layer_rows = |l: usize| {
            if l >= self.encoder_len {
                decoder_rows
            } else {
                rows
            }
        };
        let n_layers = self.layers.len();
        let x = batch.as_slice();
        let d = self.spec.input_size;

        // C(x̃ | x)
        let corrupted = if let Some(c) = &objective.corruption {
            c.apply(x, &mut ws.input[..x.len()], rng);
            true
        } else {
            false
        };

        // forward: h = f(x̃) (sampled by a sampled code layer), z = pre-activation of g(h)
        let mut code_term = 0.0f64;
        for l in 0..n_layers {
            let p = self.layers[l];
            let (before, after) = ws.acts.split_at_mut(l);
            let input: &[f32] = if l == 0 {
                if corrupted {
                    &ws.input[..x.len()]
                } else {
                    x
                }
            } else if l == self.encoder_len && sampled {
                // stats: rows × encoder_outputs; h: (rows · samples) × code
                let stats = &before[l - 1][..rows * self.layers[l - 1].outputs];
                code_term = code.forward(stats, k_code, samples, &mut ws.code, rng);
                &ws.code.code[..decoder_rows * k_code]
            } else {
                &before[l - 1][..layer_rows(l) * p.inputs]
            };
            self.dense(l).forward(
                backend,
                input,
                layer_rows(l),
                p.activation,
                &mut after[0][..layer_rows(l) * p.outputs],
            );
        }

        // L(x, z) and ∂L/∂z, fused: reads the output z, writes the gradient into delta. Each of
        // an example's `samples` decoded rows is scored against the same row of x.
        let out = self.layers[n_layers - 1];
        let width = out.outputs;
        let mut delta = std::mem::take(&mut ws.delta_a);
        let mut spare = std::mem::take(&mut ws.delta_b);
        let scale = code.likelihood_scale(rows, samples);
        let likelihood = self.spec.output;
        let output = &ws.acts[n_layers - 1][..decoder_rows * width];
        backend.for_row_chunks(
            &mut delta[..decoder_rows * width],
            width,
            &mut ws.row_loss[..decoder_rows],
            &|first, grad_chunk, loss_chunk| {
                for (i, (grad, loss)) in grad_chunk
                    .chunks_exact_mut(width)
                    .zip(loss_chunk)
                    .enumerate()
                {
                    let (r, example) = (first + i, (first + i) / samples);
                    *loss = likelihood.loss_and_grad(
                        &output[r * width..(r + 1) * width],
                        &x[example * d..(example + 1) * d],
                        scale,
                        grad,
                    );
                }
            },
        );
        let mut loss = code.objective(
            &ws.row_loss[..decoder_rows],
            rows,
            samples,
            objective.beta,
            code_term,
            &mut ws.code,
        );
        if code.weights_rows(samples) {
            // each decoder row's gradient times its weight (the IWAE's w̃_s / rows)
            let weights = &ws.code.row_weights[..decoder_rows];
            backend.for_row_chunks(
                &mut delta[..decoder_rows * width],
                width,
                &mut [],
                &|first, g, _| {
                    for (r, row) in g.chunks_exact_mut(width).enumerate() {
                        let w = weights[first + r];
                        row.iter_mut().for_each(|v| *v *= w);
                    }
                },
            );
        }

        // parameter penalties write first, so the backward pass adds to them
        ws.grad_started.iter_mut().for_each(|s| *s = false);
        if objective.weight_decay != 0.0 {
            for p in &self.layers {
                if !p.transposed_weight {
                    let g = &mut ws.grads[p.weight];
                    g.fill(0.0);
                    loss += weight_decay::value_and_grad(
                        objective.weight_decay,
                        &self.tensors[p.weight].data,
                        g,
                    );
                    ws.grad_started[p.weight] = true;
                }
            }
        }

        if objective.contractive != 0.0 {
            // λ‖J‖²_F; its gradient lands before the backward pass adds to it
            if sampled {
                return Err(Error::Invalid(
                    "the contractive penalty needs a deterministic code, not a sampled one".into(),
                ));
            }
            let encoder_input: &[f32] = if corrupted { &ws.input[..x.len()] } else { x };
            let closed_form = objective.contractive_directions == 0
                && contractive::has_closed_form(
                    self.spec.encoder_layers.len(),
                    self.spec.code_activation,
                );
            if closed_form {
                let p = self.layers[0];
                let (wg, bg) = two_mut(&mut ws.grads, p.weight, p.bias);
                let pen_w = &mut ws.penalty_weight_grad;
                let pen_b = &mut ws.penalty_bias_grad;
                loss += contractive::value_and_grad(
                    backend,
                    objective.contractive,
                    p.activation,
                    encoder_input,
                    &ws.acts[0][..rows * p.outputs],
                    rows,
                    &self.tensors[p.weight].data,
                    pen_w,
                    pen_b,
                    &mut spare,
                );
                add_or_set(wg, pen_w, ws.grad_started[p.weight]);
                add_or_set(bg, pen_b, ws.grad_started[p.bias]);
                ws.grad_started[p.weight] = true;
                ws.grad_started[p.bias] = true;
            } else {
                let layers: Vec<contractive::TangentLayer<'_>> = (0..self.encoder_len)
                    .map(|l| {
                        let p = self.layers[l];
                        contractive::TangentLayer {
                            weight: &self.tensors[p.weight].data,
                            outputs: p.outputs,
                            activation: p.activation,
                            input: if l == 0 {
                                encoder_input
                            } else {
                                &ws.acts[l - 1][..rows * p.inputs]
                            },
                            output: &ws.acts[l][..rows * p.outputs],
                        }
                    })
                    .collect();
                loss += contractive::tangent_value_and_grad(
                    backend,
                    objective.contractive,
                    &layers,
                    rows,
                    objective.contractive_directions.max(1),
                    rng,
                    &mut ws.tangent,
                );
                for l in 0..self.encoder_len {
                    let p = self.layers[l];
                    let (wg, bg) = two_mut(&mut ws.grads, p.weight, p.bias);
                    add_or_set(wg, &ws.tangent.weight_grads[l], ws.grad_started[p.weight]);
                    add_or_set(bg, &ws.tangent.bias_grads[l], ws.grad_started[p.bias]);
                    ws.grad_started[p.weight] = true;
                    ws.grad_started[p.bias] = true;
                }
            }
        }

        if let Some((opt, _)) = update.as_mut() {
            opt.begin_step();
        }

        // backward, top layer first; `delta` holds ∂/∂z of layer l
        for l in (0..n_layers).rev() {
            let p = self.layers[l];
            let lrows = layer_rows(l);
            let input: &[f32] = if l == 0 {
                if corrupted {
                    &ws.input[..x.len()]
                } else {
                    x
                }
            } else if l == self.encoder_len && sampled {
                &ws.code.code[..decoder_rows * k_code]
            } else {
                &ws.acts[l - 1][..lrows * p.inputs]
            };
            let accumulate_w = ws.grad_started[p.weight];
            let accumulate_b = ws.grad_started[p.bias];
            let (wg, bg) = two_mut(&mut ws.grads, p.weight, p.bias);
            let input_grad = if l > 0 {
                Some(&mut spare[..lrows * p.inputs])
            } else {
                None
            };
            self.dense(l).backward(
                backend,
                input,
                lrows,
                &delta[..lrows * p.outputs],
                wg,
                bg,
                accumulate_w,
                accumulate_b,
                input_grad,
            );
            ws.grad_started[p.weight] = true;
            ws.grad_started[p.bias] = true;
            if let Some((opt, lr)) = update.as_mut() {
                let threads = backend.threads();
                if self.is_last_backward_use(l, p.weight) {
                    opt.update(
                        p.weight,
                        &mut self.tensors[p.weight].data,
                        &ws.grads[p.weight],
                        *lr,
                        threads,
                    );
                }
                opt.update(
                    p.bias,
                    &mut self.tensors[p.bias].data,
                    &ws.grads[p.bias],
                    *lr,
                    threads,
                );
            }
            if l > 0 && l == self.encoder_len && sampled {
                // Ω(h) at the sampled code, then back through the code layer (the sample and
                // its own term): ∂/∂h (rows·samples × code) → ∂/∂stats (rows × outputs)
                let n = decoder_rows * k_code;
                for pen in &objective.code_penalties {
                    loss += pen.value_and_grad(
                        &ws.code.code[..n],
                        decoder_rows,
                        k_code,
                        &mut spare[..n],
                    );
                }
                let stats_width = self.layers[l - 1].outputs;
                code.backward(
                    &ws.acts[l - 1][..rows * stats_width],
                    k_code,
                    samples,
                    objective.beta,
                    &spare[..n],
                    &ws.code,
                    &mut delta[..rows * stats_width],
                );
                continue; // a sampled code's stats are linear: `delta` is already ∂/∂z there
            }
            if l > 0 {
                let below = self.layers[l - 1];
                let n = lrows * below.outputs;
                let outputs = &ws.acts[l - 1][..n];
                if l == self.encoder_len {
                    // Ω(h): code penalties add their gradient at h
                    for pen in &objective.code_penalties {
                        loss += pen.value_and_grad(outputs, rows, below.outputs, &mut spare[..n]);
                    }
                }
                let act = below.activation;
                let w = below.outputs;
                backend.for_row_chunks(&mut spare[..n], w, &mut [], &|first, g, _| {
                    act.backward_in_place(g, &outputs[first * w..first * w + g.len()]);
                });
                std::mem::swap(&mut delta, &mut spare);
            }
        }
        ws.delta_a = delta;
        ws.delta_b = spare;
        if !loss.is_finite() {
            return Err(Error::NonFinite(format!("objective became {loss}")));
        }
        Ok(loss)
    }

    /// Whether layer `l` is the last layer the backward pass visits that uses `tensor`.
    fn is_last_backward_use(&self, l: usize, tensor: usize) -> bool {
        self.layers[..l].iter().all(|p| p.weight != tensor)
    }
}

/// `dst += src` when `accumulate`, else `dst = src`.
fn add_or_set(dst: &mut [f32], src: &[f32], accumulate: bool) {
    if accumulate {
        dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
    } else {
        dst.copy_from_slice(src);
    }
}

fn two_mut(v: &mut [Vec<f32>], a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
    assert_ne!(a, b);
    if a < b {
        let (x, y) = v.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = v.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}
