//! One training step of `L(x, g(f(C(x)))) + Ω(h, x) + Ω(θ)` by backprop, in stages that each
//! read the one before (shapes for a batch of `rows` examples, `S` samples of the code each):
//!
//! 1. input: `x̃ = C(x)` (`objective::corruption`)                     `ws.input`, rows × d
//! 2. encoder: `a_l = act(a_{l−1} W_lᵀ + b_l)`                          `ws.acts[l]`, rows × n_l
//! 3. code: `h` from the encoder's last layer (`code::CodeLayer`)      `ws.code`, rows·S × k
//! 4. decoder: the output pre-activation `z = g(h)`                    `ws.acts[L−1]`, rows·S × d
//! 5. likelihood: `−log p(x | z)` and `∂/∂z`, fused (`objective::likelihood`); the code layer
//!    combines the rows into the objective (mean, ELBO, importance-weighted bound)
//! 6. Ω(θ): parameter terms write their gradients first (`super::parameter_penalties`)
//! 7. backward, top layer first: `∂/∂z_l → ∂W_l, ∂b_l, ∂/∂a_{l−1}`; Ω(h) adds its gradient at
//!    the code (`objective::sparsity`); a sampled code's backward goes through the sample.
//!    Each tensor is updated by the optimizer as soon as its gradient is final, while it is
//!    still in cache.

use super::autoencoder::Autoencoder;
use super::grads::GradSlots;
use super::parameter_penalties::PenaltyScratch;
use crate::code::CodeBuffers;
use crate::error::{Error, Result};
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
    /// Gradient of each parameter tensor after [`Autoencoder::train_step`].
    pub grads: Vec<Vec<f32>>,
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
            penalty: PenaltyScratch {
                weight_grad: vec![0.0; self.layers[0].inputs * self.layers[0].outputs],
                bias_grad: vec![0.0; self.layers[0].outputs],
                tangent: Default::default(),
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
        let encoder_input: &[f32] = if corrupted { &ws.input[..x.len()] } else { x };
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
            let (wg, bg, accumulate_w, accumulate_b) = grads.layer(p.weight, p.bias);
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
            if let Some((opt, lr)) = update.as_mut() {
                let threads = backend.threads();
                if self.is_last_backward_use(l, p.weight) {
                    opt.update(
                        p.weight,
                        &mut self.tensors[p.weight].data,
                        &grads.bufs[p.weight],
                        *lr,
                        threads,
                    );
                }
                opt.update(
                    p.bias,
                    &mut self.tensors[p.bias].data,
                    &grads.bufs[p.bias],
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
                        x,
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
                        loss +=
                            pen.value_and_grad(outputs, rows, below.outputs, x, &mut spare[..n]);
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
