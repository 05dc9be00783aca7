//! The finite-difference check every layer kind passes through the [`Layer`] interface: with a
//! fixed random `c`, the scalar `ℓ = Σ c ⊙ layer(x)` is differentiated by central differences
//! in each parameter and input entry and compared with what `backward` writes from
//! `delta = c`. Test-only.

use super::{GradSlots, Grads, Layer, Pass, Tensor};
use crate::linalg::{Cpu, Rng};

/// The step seed of every checked pass (the same dropout mask forward and backward).
const CHECK_SEED: u64 = 0x5eed;

/// `layer(x; θ)` on one thread, in training mode or not.
fn forward(
    layer: &dyn Layer,
    params: &[Tensor],
    x: &[f32],
    rows: usize,
    training: bool,
) -> Vec<f32> {
    let backend = Cpu::new(1);
    let pass = Pass {
        backend: &backend,
        params,
        rows,
        training,
        seed: CHECK_SEED,
    };
    let mut out = vec![0.0f32; rows * layer.output_shape().len()];
    let mut scratch = vec![0.0f32; layer.scratch_floats(rows)];
    layer.forward(&pass, x, &mut out, layer.activation(), &mut scratch);
    out
}

/// `ℓ(x, θ) = Σ c ⊙ layer(x; θ)` in f64.
fn objective(
    layer: &dyn Layer,
    params: &[Tensor],
    x: &[f32],
    rows: usize,
    c: &[f32],
    training: bool,
) -> f64 {
    let out = forward(layer, params, x, rows, training);
    out.iter().zip(c).map(|(o, c)| *o as f64 * *c as f64).sum()
}

/// The worst relative error between `backward`'s gradients and central differences of step
/// `h`, over every parameter and input entry, for `rows` examples drawn from `seed`.
/// Gradient buffers start pre-filled with a known value and marked written, so a layer that
/// overwrites instead of adding fails too.
pub(crate) fn worst_gradient_error(
    layer: &dyn Layer,
    params: &[Tensor],
    rows: usize,
    seed: u64,
    h: f32,
) -> f64 {
    worst_gradient_error_in(layer, params, rows, seed, h, true)
}

/// [`worst_gradient_error`] with the passes in training mode or, `training = false`, in
/// inference mode (batch norm's running statistics, dropout's identity).
pub(crate) fn worst_gradient_error_in(
    layer: &dyn Layer,
    params: &[Tensor],
    rows: usize,
    seed: u64,
    h: f32,
    training: bool,
) -> f64 {
    let mut rng = Rng::new(seed);
    let n_in = rows * layer.input_shape().len();
    let n_out = rows * layer.output_shape().len();
    let x: Vec<f32> = (0..n_in).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let c: Vec<f32> = (0..n_out).map(|_| rng.uniform_range(-1.0, 1.0)).collect();

    // analytic: forward, then backward from delta = c onto buffers that already hold 0.5
    let out = forward(layer, params, &x, rows, training);
    let backend = Cpu::new(1);
    let pass = Pass {
        backend: &backend,
        params,
        rows,
        training,
        seed: CHECK_SEED,
    };
    let mut scratch = vec![0.0f32; layer.scratch_floats(rows)];
    const PRIOR: f32 = 0.5;
    let mut bufs = Grads::filled(params.iter().map(|t| t.data.len()), PRIOR);
    let mut written = vec![true; params.len()];
    let mut delta = c.clone();
    let mut input_grad = vec![0.0f32; n_in];
    layer.backward(
        &pass,
        &x,
        &out,
        &mut delta,
        &mut GradSlots {
            bufs: &mut bufs,
            written: &mut written,
        },
        Some(&mut input_grad),
        &mut scratch,
    );

    let rel = |numeric: f64, analytic: f64| (numeric - analytic).abs() / (1.0 + numeric.abs());
    let mut worst = 0.0f64;
    for &t in layer.tensors() {
        for (i, analytic) in bufs[t].iter().enumerate() {
            let mut p = params.to_vec();
            p[t].data[i] += h;
            let up = objective(layer, &p, &x, rows, &c, training);
            p[t].data[i] -= 2.0 * h;
            let down = objective(layer, &p, &x, rows, &c, training);
            let numeric = (up - down) / (2.0 * h as f64);
            worst = worst.max(rel(numeric, (analytic - PRIOR) as f64));
        }
    }
    for i in 0..n_in {
        let mut xs = x.clone();
        xs[i] += h;
        let up = objective(layer, params, &xs, rows, &c, training);
        xs[i] -= 2.0 * h;
        let down = objective(layer, params, &xs, rows, &c, training);
        worst = worst.max(rel((up - down) / (2.0 * h as f64), input_grad[i] as f64));
    }
    worst
}

/// One forward and one backward pass of `layer` on `backend` (from `delta`, onto zeroed
/// unwritten gradient buffers): `(output, input_grad, parameter gradients)`, for comparing
/// thread counts.
pub(crate) fn run_passes(
    layer: &dyn Layer,
    params: &[Tensor],
    x: &[f32],
    delta: &[f32],
    rows: usize,
    backend: &dyn crate::linalg::Backend,
    training: bool,
) -> (Vec<f32>, Vec<f32>, Vec<Vec<f32>>) {
    let pass = Pass {
        backend,
        params,
        rows,
        training,
        seed: CHECK_SEED,
    };
    let mut out = vec![0.0f32; rows * layer.output_shape().len()];
    let mut scratch = vec![0.0f32; layer.scratch_floats(rows)];
    layer.forward(&pass, x, &mut out, layer.activation(), &mut scratch);
    let mut bufs = Grads::zeros(params.iter().map(|t| t.data.len()));
    let mut written = vec![false; params.len()];
    let mut delta = delta.to_vec();
    let mut input_grad = vec![0.0f32; x.len()];
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
    let bufs = (0..bufs.tensors()).map(|t| bufs[t].to_vec()).collect();
    (out, input_grad, bufs)
}

/// Runs `f` on a rayon pool of `threads` threads.
pub(crate) fn on_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
        .install(f)
}
