//! `cargo bench --bench engine`: where a training step of the anchor workload spends its time.
//! Prints, for batch 128 on the 784-1000-500-250-30 deep autoencoder: the 23 GEMMs of one step
//! alone, a whole step (forward, fused loss, backward, Adam), and the remainder, as medians.

use autoencoder::linalg::gemm::{gemm, View};
use autoencoder::linalg::{Cpu, Rng};
use autoencoder::model::Autoencoder;
use autoencoder::nn::{Optimizer, OptimizerKind};
use autoencoder::{AutoencoderSpec, Likelihood, Matrix, Objective};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let threads: usize = std::env::var("THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| run(threads));
}

fn run(threads: usize) {
    let b = 128;
    let widths = [784, 1000, 500, 250, 30, 250, 500, 1000, 784];
    let mut rng = Rng::new(0);
    let mut rand = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform() - 0.5).collect() };
    // (m, k, n, transpose flags) of forward, weight-gradient and input-gradient GEMMs
    struct Shape {
        dst: Vec<f32>,
        a: Vec<f32>,
        ar: usize,
        ac: usize,
        ta: bool,
        bm: Vec<f32>,
        br: usize,
        bc: usize,
        tb: bool,
    }
    let mut shapes = Vec::new();
    for (l, w) in widths.windows(2).enumerate() {
        let (i, o) = (w[0], w[1]);
        // forward: [b,i] x [o,i]^T
        shapes.push(Shape {
            dst: vec![0.0; b * o],
            a: rand(b * i),
            ar: b,
            ac: i,
            ta: false,
            bm: rand(o * i),
            br: o,
            bc: i,
            tb: true,
        });
        // weight gradient: [b,o]^T x [b,i]
        shapes.push(Shape {
            dst: vec![0.0; o * i],
            a: rand(b * o),
            ar: b,
            ac: o,
            ta: true,
            bm: rand(b * i),
            br: b,
            bc: i,
            tb: false,
        });
        if l > 0 {
            // input gradient: [b,o] x [o,i]
            shapes.push(Shape {
                dst: vec![0.0; b * i],
                a: rand(b * o),
                ar: b,
                ac: o,
                ta: false,
                bm: rand(o * i),
                br: o,
                bc: i,
                tb: false,
            });
        }
    }
    let gemm_flops: f64 = shapes
        .iter()
        .map(|s| 2.0 * (s.dst.len() * if s.ta { s.ar } else { s.ac }) as f64)
        .sum();
    let mut gemm_times = Vec::new();
    for _ in 0..60 {
        let t = Instant::now();
        for s in shapes.iter_mut() {
            gemm(
                &mut s.dst,
                false,
                View::new(&s.a, s.ar, s.ac),
                s.ta,
                View::new(&s.bm, s.br, s.bc),
                s.tb,
                1.0,
                threads,
            );
        }
        gemm_times.push(t.elapsed().as_secs_f64());
    }
    let gemm_s = median(gemm_times[10..].to_vec());

    let spec = AutoencoderSpec::new(784, &[1000, 500, 250], 30, Likelihood::Bernoulli);
    let mut model = Autoencoder::new(spec, 0).unwrap();
    let mut ws = model.workspace(b);
    let mut opt = Optimizer::new(OptimizerKind::adam(), &model.tensor_lengths());
    let x = Matrix::from_vec(b, 784, (0..b * 784).map(|_| rng.uniform()).collect());
    let backend = Cpu::new(threads);
    let objective = Objective::plain();
    let mut step_times = Vec::new();
    for _ in 0..60 {
        let t = Instant::now();
        model
            .train_step(
                &backend,
                &mut ws,
                &x,
                &objective,
                &mut rng,
                Some((&mut opt, 1e-3)),
            )
            .unwrap();
        step_times.push(t.elapsed().as_secs_f64());
    }
    let step_s = median(step_times[10..].to_vec());
    println!("threads {threads}, batch {b}");
    println!(
        "23 GEMMs of one step : {:7.3} ms  ({:.1} GFLOP/s)",
        gemm_s * 1e3,
        gemm_flops / gemm_s / 1e9
    );
    println!(
        "whole training step  : {:7.3} ms  ({:.1} GFLOP/s on the same FLOPs)",
        step_s * 1e3,
        gemm_flops / step_s / 1e9
    );
    println!(
        "non-GEMM remainder   : {:7.3} ms  ({:.0} % of the step)",
        (step_s - gemm_s) * 1e3,
        100.0 * (step_s - gemm_s) / step_s
    );
    println!(
        "projected epoch      : {:7.3} s   (468 steps)",
        step_s * 468.0
    );
}
