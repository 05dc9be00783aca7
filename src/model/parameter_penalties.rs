//! Ω(θ) in a training step: the terms of the objective attached to parameters, each adding its
//! value to the loss and its gradient to the parameters' gradient buffers before the backward
//! pass adds the likelihood's. The terms themselves (value and gradient) live in
//! [`crate::objective::weight_decay`] and [`crate::objective::contractive`].

use super::autoencoder::Autoencoder;
use crate::error::{Error, Result};
use crate::layers::{GradSlots, Layer};
use crate::linalg::gemm::View;
use crate::linalg::{sized, Backend, Rng};
use crate::objective::{contractive, weight_decay, Objective, ParameterPenalty};

/// Buffers of the parameter terms, sized once per workspace.
#[derive(Debug, Default)]
pub(crate) struct PenaltyScratch {
    /// The closed-form contractive gradient of the first layer, `outputs × inputs` and
    /// `outputs`, before it joins the gradient buffers.
    pub weight_grad: Vec<f32>,
    pub bias_grad: Vec<f32>,
    /// The tangent estimator's buffers (empty unless the estimate is used).
    pub tangent: contractive::TangentScratch,
    /// CAE+H: the corrupted copies' noise (`n_c × rows × inputs`) and the Hessian term's
    /// scratch, sized on the first step.
    pub hessian_noise: Vec<f32>,
    pub hessian_scratch: Vec<f32>,
    /// CAE+H through the random-direction estimate (deep encoders).
    pub hessian_estimate: HessianScratch,
}

/// Buffers of CAE+H's estimate for deep encoders, sized on the first step.
#[derive(Debug, Default)]
pub(crate) struct HessianScratch {
    /// `samples·rows × inputs`: the corrupted copies `x̃`.
    shifted_input: Vec<f32>,
    /// Per encoder layer, `samples·rows × outputs`: its output at `x̃`.
    shifted_acts: Vec<Vec<f32>>,
    /// `m·samples·rows × inputs`: the shared Rademacher directions.
    directions: Vec<f32>,
    /// The tangent estimator's buffers and gradients along `x`'s and `x̃`'s paths.
    at_x: contractive::TangentScratch,
    at_shifted: contractive::TangentScratch,
}

impl Autoencoder {
    /// Adds every parameter term of `objective` to `loss`, in the list's order, and its
    /// gradient to `grads`.
    ///
    /// `encoder_input` is `x̃` (`rows × input`), `acts[l]` encoder layer `l`'s output
    /// (`rows × outputs_l`); `spare` is a scratch buffer of at least `rows × widest` values.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn parameter_penalties(
        &self,
        backend: &dyn Backend,
        objective: &Objective,
        encoder_input: &[f32],
        rows: usize,
        acts: &[Vec<f32>],
        grads: &mut GradSlots<'_>,
        scratch: &mut PenaltyScratch,
        spare: &mut [f32],
        rng: &mut Rng,
        loss: &mut f64,
    ) -> Result<()> {
        for penalty in &objective.parameter_penalties {
            match *penalty {
                ParameterPenalty::WeightDecay { weight } if weight != 0.0 => {
                    self.weight_decay(weight, grads, loss)
                }
                ParameterPenalty::Contractive {
                    weight,
                    directions,
                    hessian,
                } if weight != 0.0 || hessian.is_some_and(|h| h.weight != 0.0) => self
                    .contractive(
                        backend,
                        weight,
                        directions,
                        hessian,
                        encoder_input,
                        rows,
                        acts,
                        grads,
                        scratch,
                        spare,
                        rng,
                        loss,
                    )?,
                ParameterPenalty::WeightDecay { .. } | ParameterPenalty::Contractive { .. } => {}
            }
        }
        Ok(())
    }

    /// `(λ/2) Σ_l ‖W_l‖²` over every weight matrix (a tied one once), layer by layer.
    fn weight_decay(&self, weight: f32, grads: &mut GradSlots<'_>, loss: &mut f64) {
        for layer in &self.layers {
            for &t in layer.decayed_tensors() {
                let w = &self.tensors[t].data;
                *loss += grads.accumulate(t, |g| weight_decay::value_and_grad(weight, w, g));
            }
        }
    }

    /// `λ‖∂h/∂x‖²_F`: exactly where a closed form exists (and `directions` is 0), else along
    /// `max(directions, 1)` random directions per example; with `hessian`, CAE+H's term too, in
    /// the same way (exact, or along directions shared by `J(x)` and `J(x̃)`).
    #[allow(clippy::too_many_arguments)]
    fn contractive(
        &self,
        backend: &dyn Backend,
        weight: f32,
        directions: usize,
        hessian: Option<contractive::Hessian>,
        encoder_input: &[f32],
        rows: usize,
        acts: &[Vec<f32>],
        grads: &mut GradSlots<'_>,
        scratch: &mut PenaltyScratch,
        spare: &mut [f32],
        rng: &mut Rng,
        loss: &mut f64,
    ) -> Result<()> {
        if self.code_is_sampled() {
            return Err(Error::Invalid(
                "the contractive penalty needs a deterministic code, not a sampled one".into(),
            ));
        }
        // the penalty's Jacobian products are written for dense layers
        let dense = |l: usize| {
            self.layers[l].as_dense().ok_or_else(|| {
                Error::Invalid(format!(
                    "the contractive penalty needs dense encoder layers, not {}",
                    self.layers[l].kind()
                ))
            })
        };
        let closed_form = directions == 0
            && self.encoder_len == 1
            && contractive::has_closed_form(
                self.spec().encoder_layers.len(),
                self.spec().code_activation,
            );
        if closed_form {
            let p = dense(0)?;
            *loss += contractive::value_and_grad(
                backend,
                weight,
                p.activation(),
                encoder_input,
                &acts[0][..rows * p.outputs()],
                rows,
                &self.tensors[p.weight()].data,
                &mut scratch.weight_grad,
                &mut scratch.bias_grad,
                spare,
            );
            if let Some(hessian) = hessian.filter(|h| h.weight != 0.0) {
                let (d_x, d_h) = (p.inputs(), p.outputs());
                let noise = sized(&mut scratch.hessian_noise, hessian.samples * rows * d_x);
                rng.fill_normal(noise);
                noise.iter_mut().for_each(|e| *e *= hessian.noise);
                *loss += contractive::hessian_value_and_grad(
                    backend,
                    hessian.weight,
                    p.activation(),
                    encoder_input,
                    &acts[0][..rows * d_h],
                    rows,
                    &self.tensors[p.weight()].data,
                    &self.tensors[p.bias()].data,
                    noise,
                    hessian.samples,
                    &mut scratch.weight_grad,
                    &mut scratch.bias_grad,
                    sized(
                        &mut scratch.hessian_scratch,
                        contractive::hessian_scratch(rows, d_x, d_h),
                    ),
                );
            }
            grads.add(p.weight(), &scratch.weight_grad);
            grads.add(p.bias(), &scratch.bias_grad);
        } else {
            let layers: Vec<contractive::TangentLayer<'_>> = (0..self.encoder_len)
                .map(|l| {
                    let p = dense(l)?;
                    Ok(contractive::TangentLayer {
                        weight: &self.tensors[p.weight()].data,
                        outputs: p.outputs(),
                        activation: p.activation(),
                        input: if l == 0 {
                            encoder_input
                        } else {
                            &acts[l - 1][..rows * p.inputs()]
                        },
                        output: &acts[l][..rows * p.outputs()],
                    })
                })
                .collect::<Result<_>>()?;
            if weight != 0.0 {
                *loss += contractive::tangent_value_and_grad(
                    backend,
                    weight,
                    &layers,
                    rows,
                    directions.max(1),
                    rng,
                    &mut scratch.tangent,
                );
                for l in 0..self.encoder_len {
                    let p = dense(l)?;
                    grads.add(p.weight(), &scratch.tangent.weight_grads[l]);
                    grads.add(p.bias(), &scratch.tangent.bias_grads[l]);
                }
            }
            if let Some(hessian) = hessian.filter(|h| h.weight != 0.0) {
                let d_x = dense(0)?.inputs();
                let shifted_rows = hessian.samples * rows;
                let HessianScratch {
                    shifted_input,
                    shifted_acts,
                    directions: v,
                    at_x,
                    at_shifted,
                } = &mut scratch.hessian_estimate;
                // x̃: `samples` copies of x, each plus σ·ε
                let x_t = sized(shifted_input, shifted_rows * d_x);
                rng.fill_normal(x_t);
                for copy in x_t.chunks_exact_mut(rows * d_x) {
                    for (t, x) in copy.iter_mut().zip(&encoder_input[..rows * d_x]) {
                        *t = x + hessian.noise * *t;
                    }
                }
                // the encoder at x̃
                shifted_acts.resize_with(self.encoder_len, Vec::new);
                for l in 0..self.encoder_len {
                    let p = dense(l)?;
                    let (below, here) = shifted_acts.split_at_mut(l);
                    let input: &[f32] = if l == 0 {
                        x_t
                    } else {
                        &below[l - 1][..shifted_rows * p.inputs()]
                    };
                    let out = sized(&mut here[0], shifted_rows * p.outputs());
                    backend.gemm(
                        out,
                        false,
                        View::new(input, shifted_rows, p.inputs()),
                        false,
                        View::new(&self.tensors[p.weight()].data, p.outputs(), p.inputs()),
                        true,
                        1.0,
                    );
                    p.activation()
                        .forward_with_bias(out, &self.tensors[p.bias()].data);
                }
                let shifted: Vec<contractive::TangentLayer<'_>> = layers
                    .iter()
                    .enumerate()
                    .map(|(l, layer)| contractive::TangentLayer {
                        input: if l == 0 {
                            &x_t[..]
                        } else {
                            &shifted_acts[l - 1]
                                [..shifted_rows * layer.weight.len() / layer.outputs]
                        },
                        output: &shifted_acts[l][..shifted_rows * layer.outputs],
                        ..*layer
                    })
                    .collect();
                let v = sized(v, directions.max(1) * shifted_rows * d_x);
                for e in v.iter_mut() {
                    *e = if rng.next_u64() >> 63 == 0 { 1.0 } else { -1.0 };
                }
                *loss += contractive::tangent_hessian_value_and_grad(
                    backend,
                    hessian.weight,
                    &layers,
                    &shifted,
                    rows,
                    v,
                    at_x,
                    at_shifted,
                );
                for l in 0..self.encoder_len {
                    let p = dense(l)?;
                    grads.add(p.weight(), &at_x.weight_grads[l]);
                    grads.add(p.bias(), &at_x.bias_grads[l]);
                    grads.add(p.weight(), &at_shifted.weight_grads[l]);
                    grads.add(p.bias(), &at_shifted.bias_grads[l]);
                }
            }
        }
        Ok(())
    }
}
