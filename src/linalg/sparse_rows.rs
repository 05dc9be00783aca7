//! Products `x · B` where `x` is mostly zeros — MNIST pixels (81 % zero), word counts (> 99 %),
//! sparse codes (80 %) — that skip the zeros: output row `i` is the sum of the rows of `B`
//! picked by the nonzero entries of row `i` of `x`,
//!
//! ```text
//! out[i, :] = Σ_{k : x[i, k] ≠ 0}  x[i, k] · B[k, :]        x: n × d,  B: d × m,  out: n × m
//! ```
//!
//! At density ρ this does `ρ · n · d · m` multiply-adds instead of GEMM's `n · d · m`; each is
//! a contiguous AXPY of a row of `B` (which stays in cache), so below ρ ≈ 0.25 it beats faer's
//! dense GEMM on this workload (measured in BENCHMARKS.md, "PSD predictor speed").
//! [`times_transposed`] picks the kernel from a sample of the rows.
//!
//! Every output row's sum runs over `k` in increasing order on one thread, and the kernel uses
//! no fused multiply-add, so the result depends neither on the thread count nor on the SIMD
//! width.

use super::fastmath::simd_dispatch;
use super::gemm::{gemm, View};
use super::transpose;
use rayon::prelude::*;

/// Below this fraction of nonzero entries [`times`] skips the zeros.
pub const SPARSE_DENSITY: f64 = 0.25;

/// Rows handed to one rayon task.
const ROWS_PER_TASK: usize = 32;

/// The fraction of nonzero entries of `x`, estimated from up to 64 rows spread evenly over it
/// (exact when it has at most 64 rows).
pub fn sampled_density(x: View<'_>) -> f64 {
    if x.rows == 0 || x.cols == 0 {
        return 0.0;
    }
    let samples = x.rows.min(64);
    let nonzero: usize = (0..samples)
        .map(|s| {
            let r = s * x.rows / samples;
            x.data[r * x.cols..(r + 1) * x.cols]
                .iter()
                .filter(|v| **v != 0.0)
                .count()
        })
        .sum();
    nonzero as f64 / (samples * x.cols) as f64
}

/// Output columns accumulated at once: 64 `f32` stay in registers (four AVX-512 vectors) while
/// a row's nonzeros stream past, and a block of `B` (`d × 64`) stays in L2 for a whole task.
const BLOCK: usize = 64;

/// `b` (`d × m`) as `⌈m / BLOCK⌉` contiguous `d × BLOCK` column blocks, the last one padded with
/// zeros.
fn pack_blocks(b: View<'_>) -> Vec<f32> {
    let (d, m) = (b.rows, b.cols);
    let blocks = m.div_ceil(BLOCK);
    let mut packed = vec![0.0f32; blocks * d * BLOCK];
    for (blk, dst) in packed.chunks_exact_mut(d * BLOCK).enumerate() {
        let (start, end) = (blk * BLOCK, ((blk + 1) * BLOCK).min(m));
        for k in 0..d {
            dst[k * BLOCK..k * BLOCK + end - start]
                .copy_from_slice(&b.data[k * m + start..k * m + end]);
        }
    }
    packed
}

/// The nonzero entries of `row`: their positions in `index`, their values in `value` (both at
/// least `row.len()` long); returns how many. Branch-free: a zero is written and then
/// overwritten, so unpredictable zero patterns (pixels) cost no mispredictions.
fn compact(row: &[f32], index: &mut [u32], value: &mut [f32]) -> usize {
    let mut count = 0;
    for (k, &v) in row.iter().enumerate() {
        index[count] = k as u32;
        value[count] = v;
        count += usize::from(v != 0.0);
    }
    count
}

simd_dispatch! {
    /// `out[j] = Σ_c value[c] · block[index[c], j]` for one `d × BLOCK` block (`out` at most
    /// `BLOCK` wide: the block's real columns).
    fn accumulate_block(out: &mut [f32], index: &[u32], value: &[f32], block: &[f32]) {
        let mut acc = [0.0f32; BLOCK];
        for (&k, &v) in index.iter().zip(value) {
            let w: &[f32; BLOCK] = block[k as usize * BLOCK..(k as usize + 1) * BLOCK]
                .try_into()
                .expect("BLOCK wide");
            for (a, w) in acc.iter_mut().zip(w) {
                *a += v * w;
            }
        }
        out.copy_from_slice(&acc[..out.len()]);
    }
}

/// `out = x · b` skipping the zeros of `x` (module header), over the current rayon pool.
/// `out` is `x.rows × b.cols`, row-major.
pub fn sparse_times(out: &mut [f32], x: View<'_>, b: View<'_>) {
    assert_eq!(x.cols, b.rows, "sparse_times: inner dimensions differ");
    let (d, m) = (x.cols, b.cols);
    assert_eq!(
        out.len(),
        x.rows * m,
        "sparse_times: destination has the wrong size"
    );
    if m == 0 {
        return;
    }
    let packed = pack_blocks(b);
    out.par_chunks_mut(ROWS_PER_TASK * m)
        .enumerate()
        // each row's nonzeros, compacted once and read once per block; the buffers live per
        // rayon split, not per task (fresh 200 KB buffers per task were mmap'd and page-faulted)
        .for_each_init(
            || {
                (
                    vec![0u32; ROWS_PER_TASK * d],
                    vec![0.0f32; ROWS_PER_TASK * d],
                    Vec::new(),
                )
            },
            |(index, value, counts), (task, chunk)| {
                let first = task * ROWS_PER_TASK;
                let rows = chunk.len() / m;
                counts.clear();
                counts.extend((0..rows).map(|i| {
                    let r = first + i;
                    let span = i * d..(i + 1) * d;
                    compact(
                        &x.data[r * d..(r + 1) * d],
                        &mut index[span.clone()],
                        &mut value[span],
                    )
                }));
                for (blk, block) in packed.chunks_exact(d * BLOCK).enumerate() {
                    let (start, end) = (blk * BLOCK, ((blk + 1) * BLOCK).min(m));
                    for (i, &count) in counts.iter().enumerate() {
                        accumulate_block(
                            &mut chunk[i * m + start..i * m + end],
                            &index[i * d..i * d + count],
                            &value[i * d..i * d + count],
                            block,
                        );
                    }
                }
            },
        );
}

/// `out = x · wᵀ` for `w` stored `[outputs, inputs]` (a layer's weight), by whichever kernel
/// suits `x`: [`sparse_times`] on `w`'s transpose when the sampled density of `x` is below
/// [`SPARSE_DENSITY`], faer's GEMM over the current rayon pool otherwise. `out` is
/// `x.rows × w.rows`, row-major.
pub fn times_transposed(out: &mut [f32], x: View<'_>, w: View<'_>) {
    if sampled_density(x) < SPARSE_DENSITY {
        let wt = transpose(w.data, w.rows, w.cols);
        sparse_times(out, x, View::new(&wt, w.cols, w.rows));
    } else {
        gemm(
            out,
            false,
            x,
            false,
            w,
            true,
            1.0,
            rayon::current_num_threads(),
        );
    }
}

/// Applies `f` to row-aligned chunks of `a` (`cols` wide) over the current rayon pool: for the
/// elementwise steps that follow [`times_transposed`].
pub fn for_each_rows(a: &mut [f32], cols: usize, f: impl Fn(&mut [f32]) + Sync) {
    if cols == 0 {
        return;
    }
    a.par_chunks_mut(ROWS_PER_TASK * cols).for_each(|chunk| {
        super::fastmath::clear_upper_state();
        f(chunk)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Rng;

    fn naive(x: &[f32], n: usize, d: usize, b: &[f32], m: usize) -> Vec<f64> {
        let mut c = vec![0.0f64; n * m];
        for i in 0..n {
            for j in 0..m {
                c[i * m + j] = (0..d)
                    .map(|k| x[i * d + k] as f64 * b[k * m + j] as f64)
                    .sum();
            }
        }
        c
    }

    /// `n × d` with about `density` of its entries nonzero.
    fn sparse_matrix(n: usize, d: usize, density: f32, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n * d)
            .map(|_| {
                if rng.uniform() < density {
                    rng.normal()
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn both_kernels_match_the_exact_product_at_every_density() {
        let (n, d, m) = (77, 45, 19);
        let mut rng = Rng::new(3);
        let b: Vec<f32> = (0..d * m).map(|_| rng.normal()).collect();
        for density in [0.0, 0.05, 0.25, 0.7, 1.0] {
            let x = sparse_matrix(n, d, density, 11);
            let want = naive(&x, n, d, &b, m);
            let (xv, bv) = (View::new(&x, n, d), View::new(&b, d, m));
            let mut sparse = vec![f32::NAN; n * m];
            sparse_times(&mut sparse, xv, bv);
            let bt = transpose(&b, d, m);
            let mut picked = vec![f32::NAN; n * m];
            times_transposed(&mut picked, xv, View::new(&bt, m, d));
            for (k, w) in want.iter().enumerate() {
                assert!(
                    (sparse[k] as f64 - w).abs() < 1e-4,
                    "density {density}: sparse {k}"
                );
                assert!(
                    (picked[k] as f64 - w).abs() < 1e-4,
                    "density {density}: picked {k}"
                );
            }
        }
    }

    #[test]
    fn sparse_kernel_ignores_the_thread_count() {
        let (n, d, m) = (300, 64, 40);
        let x = sparse_matrix(n, d, 0.2, 5);
        let b = sparse_matrix(d, m, 1.0, 6);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            let mut out = vec![0.0f32; n * m];
            pool.install(|| sparse_times(&mut out, View::new(&x, n, d), View::new(&b, d, m)));
            out
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn nonfinite_inputs_still_reach_the_output() {
        // a NaN input is "nonzero": it must not be skipped
        let x = [0.0f32, f32::NAN, 0.0];
        let b = [1.0f32, 2.0, 3.0];
        let mut out = [0.0f32];
        sparse_times(&mut out, View::new(&x, 1, 3), View::new(&b, 3, 1));
        assert!(out[0].is_nan());
    }

    #[test]
    fn sampled_density_counts_nonzeros() {
        let x = [0.0f32, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0];
        assert_eq!(sampled_density(View::new(&x, 2, 4)), 0.25);
        assert_eq!(sampled_density(View::new(&[], 0, 4)), 0.0);
    }
}
