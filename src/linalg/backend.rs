//! The seam where another compute backend (cuBLAS via cudarc) slots in.
//!
//! GEMM is ≈85 % of a training step, so it is the operation behind the trait today; the model
//! calls [`Backend::gemm`] and runs its fused elementwise kernels through
//! [`Backend::for_row_chunks`]. A device backend would add its own buffer type and elementwise
//! methods here; nothing above `linalg` names faer.

use super::gemm::View;
use rayon::prelude::*;

/// A kernel over a chunk of whole rows: `(first_row, rows_chunk, per_row_chunk)`.
pub type RowKernel<'k> = dyn Fn(usize, &mut [f32], &mut [f32]) + Sync + 'k;

/// Compute primitives used by the model and the objective.
pub trait Backend: Send + Sync {
    /// `dst = alpha · op(a) · op(b)`, or `dst += …` when `accumulate`.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        dst: &mut [f32],
        accumulate: bool,
        a: View<'_>,
        transpose_a: bool,
        b: View<'_>,
        transpose_b: bool,
        alpha: f32,
    );
    /// Runs `kernel(first_row, rows_chunk, per_row_chunk)` over disjoint chunks of whole rows of a
    /// row-major buffer with `cols` columns; `per_row` (one value per row, or empty) is split
    /// alongside, for per-row results such as losses. Chunk boundaries depend only on the shape,
    /// so results do not depend on scheduling.
    fn for_row_chunks(
        &self,
        data: &mut [f32],
        cols: usize,
        per_row: &mut [f32],
        kernel: &RowKernel<'_>,
    );
    /// Number of worker threads.
    fn threads(&self) -> usize;
}

/// The CPU backend: faer GEMM and rayon over row chunks, on the current rayon pool.
#[derive(Clone, Copy, Debug)]
pub struct Cpu {
    threads: usize,
}

impl Cpu {
    /// A CPU backend using `threads` workers of the current rayon pool (0 = all of them).
    pub fn new(threads: usize) -> Self {
        let threads = if threads == 0 {
            rayon::current_num_threads()
        } else {
            threads
        };
        Cpu { threads }
    }
}

/// Elements per parallel chunk: large enough to amortize scheduling, small enough to balance.
const CHUNK_ELEMENTS: usize = 16 * 1024;

impl Backend for Cpu {
    fn gemm(
        &self,
        dst: &mut [f32],
        accumulate: bool,
        a: View<'_>,
        transpose_a: bool,
        b: View<'_>,
        transpose_b: bool,
        alpha: f32,
    ) {
        super::gemm::gemm(
            dst,
            accumulate,
            a,
            transpose_a,
            b,
            transpose_b,
            alpha,
            self.threads,
        );
    }

    fn for_row_chunks(
        &self,
        data: &mut [f32],
        cols: usize,
        per_row: &mut [f32],
        kernel: &RowKernel<'_>,
    ) {
        if cols == 0 || data.is_empty() {
            return;
        }
        let rows_per_chunk = (CHUNK_ELEMENTS / cols).max(1);
        let per_row_chunk = if per_row.is_empty() {
            0
        } else {
            rows_per_chunk
        };
        debug_assert!(per_row.is_empty() || per_row.len() * cols == data.len());
        let mut empty: [f32; 0] = [];
        if self.threads <= 1 || data.len() <= CHUNK_ELEMENTS {
            for (i, chunk) in data.chunks_mut(rows_per_chunk * cols).enumerate() {
                let aux = if per_row_chunk == 0 {
                    &mut empty[..]
                } else {
                    let start = i * per_row_chunk;
                    let end = (start + per_row_chunk).min(per_row.len());
                    &mut per_row[start..end]
                };
                kernel(i * rows_per_chunk, chunk, aux);
            }
        } else if per_row_chunk == 0 {
            data.par_chunks_mut(rows_per_chunk * cols)
                .enumerate()
                .for_each(|(i, chunk)| {
                    super::fastmath::clear_upper_state();
                    kernel(i * rows_per_chunk, chunk, &mut [])
                });
        } else {
            data.par_chunks_mut(rows_per_chunk * cols)
                .zip(per_row.par_chunks_mut(per_row_chunk))
                .enumerate()
                .for_each(|(i, (chunk, aux))| {
                    super::fastmath::clear_upper_state();
                    kernel(i * rows_per_chunk, chunk, aux)
                });
        }
    }

    fn threads(&self) -> usize {
        self.threads
    }
}
