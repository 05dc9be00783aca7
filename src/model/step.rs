//! One training step of `L(x, g(f(C(x)))) + Ω(h, x) + Ω(θ)` by backprop, in stages that each
//! read the one before (shapes for a batch of `rows` examples, `S` samples of the code each):
//!
//! 1. input: `x̃ = C(x)` (`objective::corruption`)                     `ws.input`, rows × d
//! 2. encoder: `a_l = layer_l(a_{l−1})` (`crate::layers`)              `ws.acts[l]`, rows × n_l
//! 3. code: `h` from the encoder's last layer (`code::CodeLayer`)      `ws.code`, rows·S × k
//! 4. decoder: the output pre-activation `z = g(h)`                    `ws.acts[L−1]`, rows·S × d
//! 5. likelihood: `−log p(x | z)` and `∂/∂z`, fused (`objective::likelihood`); the code layer
//!    combines the rows into the objective (mean, ELBO, importance-weighted bound)
//! 6. Ω(θ): parameter terms write their gradients first (`super::parameter_penalties`)
//! 7. backward, top layer first: each layer takes `∂/∂a_l` through its activation to its
//!    parameters and `∂/∂a_{l−1}`; Ω(h) adds its gradient at the code (`objective::sparsity`);
//!    a sampled code's backward goes through the sample.
//!    Each tensor is updated by the optimizer as soon as its gradient is final, while it is
//!    still in cache.

use super::autoencoder::Autoencoder;
use super::parameter_penalties::PenaltyScratch;
use crate::code::CodeBuffers;
use crate::error::{Error, Result};
use crate::layers::{GradSlots, Grads, Pass};
use crate::linalg::{Backend, Cpu, Matrix, Rng};
use crate::nn::Optimizer;
use crate::objective::Objective;

/// Buffers for one batch shape, allocated once so the training loop allocates nothing.
#[derive(Debug)]
pub struct Workspace {
    max_rows: usize,
    samples: usize,
    input: Vec<f32>,
    acts: Vec<Vec<f32>>,
    delta_a: Vec<f32>,
    delta_b: Vec<f32>,
    /// The layers' own scratch (the largest any layer needs).
    scratch: Vec<f32>,
    /// Gradient of each parameter tensor after [`Autoencoder::train_step`], in one flat
    /// buffer.
    pub grads: Grads,
    grad_started: Vec<bool>,
    row_loss: Vec<f32>,
    /// The code layer's buffers (sampled codes, their noise, importance weights).
    code: CodeBuffers,
    /// The parameter terms' buffers.
    penalty: PenaltyScratch,
}

impl Autoencoder {
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
        let widths = |l: usize| {
            let layer = &self.layers[l];
            (layer.input_shape().len(), layer.output_shape().len())
        };
        let max_len = (0..self.layers.len())
            .map(|l| rows_of(l) * widths(l).0.max(widths(l).1))
            .max()
            .unwrap_or(0);
        let scratch = (0..self.layers.len())
            .map(|l| self.layers[l].scratch_floats(rows_of(l)))
            .max()
            .unwrap_or(0);
        // the closed-form contractive gradient of a dense first layer
        let (first_in, first_out) = self.layers[0]
            .as_dense()
            .map_or((0, 0), |d| (d.inputs(), d.outputs()));
        Workspace {
            max_rows,
            samples,
            input: vec![0.0; max_rows * self.spec.input_size],
            acts: (0..self.layers.len())
                .map(|l| vec![0.0; rows_of(l) * widths(l).1])
                .collect(),
            delta_a: vec![0.0; max_len],
            delta_b: vec![0.0; max_len],
            scratch: vec![0.0; scratch],
            // the tail carries a data-parallel step's loss in the gradient's all-reduce
            grads: Grads::with_tail(self.tensors.iter().map(|t| t.data.len()), 1, 0.0),
            grad_started: vec![false; self.tensors.len()],
            row_loss: vec![0.0; dec_rows],
            code: code.buffers(max_rows, self.spec.code_size, samples),
            penalty: PenaltyScratch {
                weight_grad: vec![0.0; first_in * first_out],
                bias_grad: vec![0.0; first_out],
                tangent: Default::default(),
                hessian_noise: Vec::new(),
                hessian_scratch: Vec::new(),
                hessian_estimate: Default::default(),
            },
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
        update: Option<(&mut Optimizer, f32)>,
    ) -> Result<f64> {
        let training = update.is_some();
        self.step(backend, ws, batch, objective, rng, update, training)
    }

    /// A training step that stops at the gradients: forward (running statistics updated, as
    /// in training), objective and backward, the gradients in `ws.grads`, the parameters
    /// unchanged. A data-parallel step averages the gradients across workers, then applies
    /// them with [`Self::apply_gradients`].
    pub fn gradient_step(
        &mut self,
        backend: &dyn Backend,
        ws: &mut Workspace,
        batch: &Matrix,
        objective: &Objective,
        rng: &mut Rng,
    ) -> Result<f64> {
        self.step(backend, ws, batch, objective, rng, None, true)
    }

    /// Updates every trainable tensor from `grads` with `optimizer`, in the order (and with
    /// the thread count) of [`Self::train_step`]'s fused updates.
    pub fn apply_gradients(
        &mut self,
        backend: &dyn Backend,
        grads: &Grads,
        optimizer: &mut Optimizer,
        learning_rate: f32,
    ) {
        let threads = backend.threads();
        optimizer.begin_step();
        for l in (0..self.layers.len()).rev() {
            for &t in self.layers[l].tensors() {
                if self.is_last_backward_use(l, t) {
                    optimizer.update(
                        t,
                        &mut self.tensors[t].data,
                        &grads[t],
                        learning_rate,
                        threads,
                    );
                }
            }
        }
    }

    /// Indices of the tensors no layer trains (running statistics).
    pub fn buffer_tensors(&self) -> Vec<usize> {
        (0..self.tensors.len())
            .filter(|t| self.layers.iter().all(|l| !l.tensors().contains(t)))
            .collect()
    }

    /// [`Self::train_step`]; `training` updates the layers' running statistics.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        backend: &dyn Backend,
        ws: &mut Workspace,
        batch: &Matrix,
        objective: &Objective,
        rng: &mut Rng,
        mut update: Option<(&mut Optimizer, f32)>,
        training: bool,
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
        let e = self.encoder_len;
        let x = batch.as_slice();
        let d = self.spec.input_size;

        // C(x̃ | x)
        let corrupted = if let Some(c) = &objective.corruption {
            c.apply(x, &mut ws.input[..x.len()], rng);
            true
        } else {
            false
        };
        let encoder_input: &[f32] = if corrupted { &ws.input[..x.len()] } else { x };

        // layers that draw (dropout) share one seed per step, drawn only when there are some
        let seed = if self.layers.iter().any(|l| l.draws()) {
            rng.next_u64()
        } else {
            0
        };

        // forward: h = f(x̃) (sampled by a sampled code layer), z = pre-activation of g(h)
        let mut code_term = 0.0f64;
        for l in 0..n_layers {
            if l == e && sampled {
                // stats: rows × encoder outputs → h: (rows · samples) × code
                let stats = &ws.acts[e - 1][..rows * self.layers[e - 1].output_shape().len()];
                code_term = code.forward(stats, k_code, samples, &mut ws.code, rng);
            }
            let layer = &self.layers[l];
            let lrows = layer_rows(l);
            let (before, after) = ws.acts.split_at_mut(l);
            let n_in = lrows * layer.input_shape().len();
            let input = layer_input(l, e, sampled, encoder_input, before, &ws.code.code, n_in);
            let pass = Pass {
                backend,
                params: &self.tensors,
                rows: lrows,
                training: true,
                seed,
            };
            layer.forward(
                &pass,
                input,
                &mut after[0][..lrows * layer.output_shape().len()],
                layer.activation(),
                &mut ws.scratch,
            );
            if training {
                layer.update_buffers(lrows, input, &mut self.tensors);
            }
        }

        // L(x, z) and ∂L/∂z, fused: reads the output z, writes the gradient into delta. Each of
        // an example's `samples` decoded rows is scored against the same row of x.
        let width = self.layers[n_layers - 1].output_shape().len();
        let mut delta = std::mem::take(&mut ws.delta_a);
        let mut spare = std::mem::take(&mut ws.delta_b);
        let scale = code.likelihood_scale(rows, samples) * objective.reconstruction_weight;
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
        let mut loss = objective.reconstruction_weight as f64
            * code.objective(
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

        // Ω(θ): parameter terms write their gradients first, so the backward pass adds to them
        let mut grads = GradSlots {
            bufs: &mut ws.grads,
            written: &mut ws.grad_started,
        };
        grads.reset();
        self.parameter_penalties(
            backend,
            objective,
            encoder_input,
            rows,
            &ws.acts,
            &mut grads,
            &mut ws.penalty,
            &mut spare,
            rng,
            &mut loss,
        )?;

        if let Some((opt, _)) = update.as_mut() {
            opt.begin_step();
        }

        // backward, top layer first; `delta` holds ∂/∂a of layer l (its output)
        for l in (0..n_layers).rev() {
            let layer = &self.layers[l];
            let lrows = layer_rows(l);
            let (n_in, n_out) = (
                lrows * layer.input_shape().len(),
                lrows * layer.output_shape().len(),
            );
            let pass = Pass {
                backend,
                params: &self.tensors,
                rows: lrows,
                training: true,
                seed,
            };
            layer.backward(
                &pass,
                layer_input(l, e, sampled, encoder_input, &ws.acts, &ws.code.code, n_in),
                &ws.acts[l][..n_out],
                &mut delta[..n_out],
                &mut grads,
                (l > 0).then(|| &mut spare[..n_in]),
                &mut ws.scratch,
            );
            if let Some((opt, lr)) = update.as_mut() {
                let threads = backend.threads();
                for &t in layer.tensors() {
                    if self.is_last_backward_use(l, t) {
                        opt.update(t, &mut self.tensors[t].data, &grads.bufs[t], *lr, threads);
                    }
                }
            }
            if l == 0 {
                break;
            }
            if l == e {
                // Ω(h): code penalties add their gradient at h (`spare` holds ∂/∂h)
                let (h, h_rows, k): (&[f32], usize, usize) = if sampled {
                    (&ws.code.code, decoder_rows, k_code)
                } else {
                    (
                        &ws.acts[e - 1],
                        rows,
                        self.layers[e - 1].output_shape().len(),
                    )
                };
                let n = h_rows * k;
                for pen in &objective.code_penalties {
                    loss += pen.value_and_grad(&h[..n], h_rows, k, x, &mut spare[..n]);
                }
                if sampled {
                    // back through the code layer (the sample and its own term): ∂/∂h
                    // (rows·samples × code) → ∂/∂stats (rows × outputs), the encoder's
                    // (linear) top
                    let stats_width = self.layers[e - 1].output_shape().len();
                    code.backward(
                        &ws.acts[e - 1][..rows * stats_width],
                        k_code,
                        samples,
                        objective.beta,
                        &spare[..n],
                        &ws.code,
                        &mut delta[..rows * stats_width],
                    );
                    continue;
                }
            }
            std::mem::swap(&mut delta, &mut spare);
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
        self.layers[..l]
            .iter()
            .all(|below| !below.tensors().contains(&tensor))
    }
}

/// What layer `l` reads (`len` values): `x̃`, the layer below's output, or — the decoder's first
/// layer, `e`, when the code is sampled — the sampled code.
fn layer_input<'a>(
    l: usize,
    e: usize,
    sampled: bool,
    x: &'a [f32],
    acts: &'a [Vec<f32>],
    code: &'a [f32],
    len: usize,
) -> &'a [f32] {
    if l == 0 {
        x
    } else if l == e && sampled {
        &code[..len]
    } else {
        &acts[l - 1][..len]
    }
}
