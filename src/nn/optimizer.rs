//! In-place optimizers. The trainer calls [`Optimizer::update`] for each parameter tensor as
//! soon as its gradient is final, while that gradient is still in cache.

use crate::linalg::fastmath::simd_dispatch;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Optimizer hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerKind {
    /// SGD with (optionally Nesterov) momentum, PyTorch's convention: `v = μv + g`,
    /// step `v` (or `g + μv` for Nesterov).
    Sgd { momentum: f32, nesterov: bool },
    /// Adam (Kingma & Ba) with bias correction.
    Adam { beta1: f32, beta2: f32, eps: f32 },
    /// Nonlinear conjugate gradients ([`super::cg`]): `line_searches` line searches on each
    /// minibatch, no learning rate (Hinton & Salakhutdinov 2006 used 3 on batches of 1,000).
    Cg { line_searches: usize },
}

impl OptimizerKind {
    /// Adam with the usual defaults (0.9, 0.999, 1e-8).
    pub fn adam() -> Self {
        OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
    /// Whether this optimizer searches along lines on a batch (evaluating it several times)
    /// rather than taking one step from one gradient: only backprop learners can drive it.
    pub fn is_line_search(&self) -> bool {
        matches!(self, OptimizerKind::Cg { .. })
    }

    fn slots(&self) -> usize {
        match self {
            OptimizerKind::Sgd { momentum, .. } => usize::from(*momentum != 0.0),
            OptimizerKind::Adam { .. } => 2,
            OptimizerKind::Cg { .. } => 0,
        }
    }
}

/// Optimizer state for a list of parameter tensors.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    /// Hyperparameters.
    pub kind: OptimizerKind,
    /// Steps taken (Adam's `t`).
    pub step: u64,
    /// Per tensor, per slot (momentum; or Adam's m and v), same length as the tensor.
    pub state: Vec<Vec<Vec<f32>>>,
}

const CHUNK: usize = 32 * 1024;

impl Optimizer {
    /// Fresh state for tensors with the given lengths.
    pub fn new(kind: OptimizerKind, tensor_lengths: &[usize]) -> Self {
        let state = tensor_lengths
            .iter()
            .map(|&n| (0..kind.slots()).map(|_| vec![0.0; n]).collect())
            .collect();
        Optimizer {
            kind,
            step: 0,
            state,
        }
    }

    /// Starts a step: call once before the step's [`Optimizer::update`] calls.
    pub fn begin_step(&mut self) {
        self.step += 1;
    }

    /// Updates tensor `index` in place from its gradient, with learning rate `lr`.
    pub fn update(
        &mut self,
        index: usize,
        param: &mut [f32],
        grad: &[f32],
        lr: f32,
        threads: usize,
    ) {
        let slots = &mut self.state[index];
        match self.kind {
            // a learner that drives CG runs `cg::minimize` on the batch instead; configs refuse
            // CG for the others, so this is a plain gradient step should one ever get here
            OptimizerKind::Cg { .. } => {
                par_zip2(param, grad, threads, &|p, g| sgd_plain(p, g, lr));
            }
            OptimizerKind::Sgd { momentum, nesterov } => {
                if momentum == 0.0 {
                    par_zip2(param, grad, threads, &|p, g| sgd_plain(p, g, lr));
                } else {
                    let velocity = &mut slots[0];
                    par_zip3(param, velocity, grad, threads, &|p, v, g| {
                        sgd_momentum(p, v, g, lr, momentum, nesterov)
                    });
                }
            }
            OptimizerKind::Adam { beta1, beta2, eps } => {
                let t = self.step.max(1) as i32;
                let step_size = lr / (1.0 - (beta1 as f64).powi(t)) as f32;
                let inv_sqrt_bc2 = 1.0 / (1.0 - (beta2 as f64).powi(t)).sqrt() as f32;
                let (m, v) = slots.split_at_mut(1);
                let (m, v) = (&mut m[0], &mut v[0]);
                let work = |p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]| {
                    adam(p, m, v, g, step_size, beta1, beta2, eps, inv_sqrt_bc2)
                };
                if threads <= 1 || param.len() <= CHUNK {
                    work(param, m, v, grad);
                } else {
                    param
                        .par_chunks_mut(CHUNK)
                        .zip(m.par_chunks_mut(CHUNK))
                        .zip(v.par_chunks_mut(CHUNK))
                        .zip(grad.par_chunks(CHUNK))
                        .for_each(|(((p, m), v), g)| {
                            crate::linalg::fastmath::clear_upper_state();
                            work(p, m, v, g)
                        });
                }
            }
        }
    }
}

fn par_zip2(
    p: &mut [f32],
    g: &[f32],
    threads: usize,
    f: &(dyn Fn(&mut [f32], &[f32]) + Sync + '_),
) {
    if threads <= 1 || p.len() <= CHUNK {
        f(p, g)
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .for_each(|(p, g)| f(p, g));
    }
}

type Zip3Fn<'a> = dyn Fn(&mut [f32], &mut [f32], &[f32]) + Sync + 'a;

fn par_zip3(p: &mut [f32], s: &mut [f32], g: &[f32], threads: usize, f: &Zip3Fn<'_>) {
    if threads <= 1 || p.len() <= CHUNK {
        f(p, s, g)
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(s.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|((p, s), g)| f(p, s, g));
    }
}

simd_dispatch! {
    fn sgd_plain(param: &mut [f32], grad: &[f32], lr: f32) {
        for (p, g) in param.iter_mut().zip(grad) {
            *p -= lr * *g;
        }
    }
}

simd_dispatch! {
    fn sgd_momentum(param: &mut [f32], velocity: &mut [f32], grad: &[f32], lr: f32, momentum: f32, nesterov: bool) {
        for ((p, v), g) in param.iter_mut().zip(velocity.iter_mut()).zip(grad) {
            *v = momentum * *v + *g;
            let step = if nesterov { *g + momentum * *v } else { *v };
            *p -= lr * step;
        }
    }
}

simd_dispatch! {
    #[allow(clippy::too_many_arguments)]
    fn adam(param: &mut [f32], m: &mut [f32], v: &mut [f32], grad: &[f32], step_size: f32, beta1: f32, beta2: f32, eps: f32, inv_sqrt_bc2: f32) {
        let n = param.len();
        let (m, v, grad) = (&mut m[..n], &mut v[..n], &grad[..n]);
        for i in 0..n {
            let g = grad[i];
            let mi = beta1 * m[i] + (1.0 - beta1) * g;
            let vi = beta2 * v[i] + (1.0 - beta2) * g * g;
            m[i] = mi;
            v[i] = vi;
            param[i] -= step_size * mi / (vi.sqrt() * inv_sqrt_bc2 + eps);
        }
    }
}

/// `train.optimizer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerName {
    /// Adam (`beta1`, `beta2`, `eps`).
    Adam,
    /// SGD (`momentum`, `nesterov`).
    Sgd,
    /// Conjugate gradients (`line_searches`).
    Cg,
}

/// The `[train]` keys an optimizer reads, as given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimizerKeys {
    /// `train.beta1` (Adam).
    pub beta1: f32,
    /// `train.beta2` (Adam).
    pub beta2: f32,
    /// `train.eps` (Adam).
    pub eps: f32,
    /// `train.momentum` (SGD).
    pub momentum: f32,
    /// `train.nesterov` (SGD).
    pub nesterov: bool,
    /// `train.line_searches` (CG).
    pub line_searches: usize,
}

impl OptimizerName {
    /// The optimizer named, with its keys checked (errors name `train.<key>`).
    pub fn check(self, k: &OptimizerKeys) -> crate::Result<OptimizerKind> {
        use crate::Error;
        Ok(match self {
            OptimizerName::Adam => {
                if !(0.0..1.0).contains(&k.beta1) {
                    return Err(Error::config("train.beta1", "must be in [0, 1)"));
                }
                if !(0.0..1.0).contains(&k.beta2) {
                    return Err(Error::config("train.beta2", "must be in [0, 1)"));
                }
                if !(k.eps > 0.0 && k.eps.is_finite()) {
                    return Err(Error::config("train.eps", "must be positive and finite"));
                }
                OptimizerKind::Adam {
                    beta1: k.beta1,
                    beta2: k.beta2,
                    eps: k.eps,
                }
            }
            OptimizerName::Sgd => {
                if !(0.0..1.0).contains(&k.momentum) {
                    return Err(Error::config("train.momentum", "must be in [0, 1)"));
                }
                OptimizerKind::Sgd {
                    momentum: k.momentum,
                    nesterov: k.nesterov,
                }
            }
            OptimizerName::Cg => {
                if !(1..=crate::nn::cg::MAX_LINE_SEARCHES).contains(&k.line_searches) {
                    return Err(Error::config(
                        "train.line_searches",
                        format!(
                            "must be between 1 and {} (Hinton & Salakhutdinov used 3)",
                            crate::nn::cg::MAX_LINE_SEARCHES
                        ),
                    ));
                }
                OptimizerKind::Cg {
                    line_searches: k.line_searches,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_two_steps_match_hand_computation() {
        let mut opt = Optimizer::new(OptimizerKind::adam(), &[2]);
        let mut p = vec![1.0f32, -2.0];
        let (lr, b1, b2, eps) = (0.1f64, 0.9f64, 0.999f64, 1e-8f64);
        let grads = [[0.5f32, -1.0], [0.25, 2.0]];
        let mut want = [1.0f64, -2.0];
        let (mut m, mut v) = ([0.0f64; 2], [0.0f64; 2]);
        for (t, g) in grads.iter().enumerate() {
            opt.begin_step();
            opt.update(0, &mut p, g, lr as f32, 1);
            let t = t as i32 + 1;
            for i in 0..2 {
                m[i] = b1 * m[i] + (1.0 - b1) * g[i] as f64;
                v[i] = b2 * v[i] + (1.0 - b2) * (g[i] as f64).powi(2);
                let mhat = m[i] / (1.0 - b1.powi(t));
                let vhat = v[i] / (1.0 - b2.powi(t));
                want[i] -= lr * mhat / (vhat.sqrt() + eps);
            }
        }
        // after step 1 Adam moves each weight by exactly lr * sign(g)
        for i in 0..2 {
            assert!((p[i] as f64 - want[i]).abs() < 1e-6, "{p:?} vs {want:?}");
        }
    }

    #[test]
    fn sgd_momentum_and_nesterov_match_hand_computation() {
        for nesterov in [false, true] {
            let kind = OptimizerKind::Sgd {
                momentum: 0.5,
                nesterov,
            };
            let mut opt = Optimizer::new(kind, &[1]);
            let mut p = vec![1.0f32];
            opt.begin_step();
            opt.update(0, &mut p, &[2.0], 0.1, 1);
            opt.begin_step();
            opt.update(0, &mut p, &[4.0], 0.1, 1);
            // v1 = 2, v2 = 0.5*2 + 4 = 5
            let want = if nesterov {
                1.0 - 0.1 * (2.0 + 0.5 * 2.0) - 0.1 * (4.0 + 0.5 * 5.0)
            } else {
                1.0 - 0.1 * 2.0 - 0.1 * 5.0
            };
            assert!(
                (p[0] - want).abs() < 1e-6,
                "nesterov={nesterov}: {} vs {want}",
                p[0]
            );
        }
        let mut plain = Optimizer::new(
            OptimizerKind::Sgd {
                momentum: 0.0,
                nesterov: false,
            },
            &[1],
        );
        let mut p = vec![1.0f32];
        plain.begin_step();
        plain.update(0, &mut p, &[3.0], 0.1, 1);
        assert!((p[0] - 0.7).abs() < 1e-7);
    }

    #[test]
    fn parallel_update_equals_sequential() {
        let n = 100_000;
        let grad: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let mut a = vec![0.5f32; n];
        let mut b = a.clone();
        let mut oa = Optimizer::new(OptimizerKind::adam(), &[n]);
        let mut ob = oa.clone();
        for _ in 0..3 {
            oa.begin_step();
            ob.begin_step();
            oa.update(0, &mut a, &grad, 1e-3, 1);
            ob.update(0, &mut b, &grad, 1e-3, 2);
        }
        assert_eq!(a, b);
    }
}
