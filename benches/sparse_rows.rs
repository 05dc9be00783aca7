//! `cargo bench --bench sparse_rows`: the zero-skipping product against faer's dense GEMM for
//! `x Wᵀ` at the PSD predictor's shape (10,000 × 784 inputs, 256 outputs), over input densities:
//! where [`autoencoder::linalg::sparse_rows::SPARSE_DENSITY`] should sit. Medians of 7, 2
//! threads (THREADS to change).

use autoencoder::linalg::gemm::{gemm, View};
use autoencoder::linalg::sparse_rows::{sparse_times, SPARSE_DENSITY};
use autoencoder::linalg::{transpose, Rng};
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
    let (n, d, m) = (10_000, 784, 256);
    let mut rng = Rng::new(0);
    let w: Vec<f32> = (0..m * d).map(|_| rng.normal()).collect();
    let wt = transpose(&w, m, d);
    let mut out = vec![0.0f32; n * m];
    println!("threads {threads}, x {n}×{d}, W {m}×{d}; switch at density {SPARSE_DENSITY}");
    println!("density  sparse_ms  gemm_ms  gemm/sparse");
    for density in [0.02f32, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 1.0] {
        let x: Vec<f32> = (0..n * d)
            .map(|_| {
                if rng.uniform() < density {
                    rng.uniform()
                } else {
                    0.0
                }
            })
            .collect();
        let (mut sparse, mut dense) = (Vec::new(), Vec::new());
        pool.install(|| {
            for _ in 0..7 {
                let t = Instant::now();
                sparse_times(&mut out, View::new(&x, n, d), View::new(&wt, d, m));
                sparse.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                gemm(
                    &mut out,
                    false,
                    View::new(&x, n, d),
                    false,
                    View::new(&w, m, d),
                    true,
                    1.0,
                    threads,
                );
                dense.push(t.elapsed().as_secs_f64() * 1e3);
            }
        });
        let (s, g) = (median(sparse), median(dense));
        println!("{density:7.2}  {s:9.2}  {g:7.2}  {:11.2}", g / s);
    }
}
