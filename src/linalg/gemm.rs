//! Matrix products through faer, on row-major slices.

use faer::{Accum, MatMut, MatRef, Par};

/// A borrowed row-major matrix.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// Row-major entries, `rows * cols` of them.
    pub data: &'a [f32],
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
}

impl<'a> View<'a> {
    /// Views `data` as `rows × cols`, row-major.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        debug_assert_eq!(data.len(), rows * cols);
        View { data, rows, cols }
    }
    fn faer(self, transpose: bool) -> MatRef<'a, f32> {
        let m = MatRef::from_row_major_slice(self.data, self.rows, self.cols);
        if transpose {
            m.transpose()
        } else {
            m
        }
    }
}

/// `dst = alpha · op(a) · op(b)` (or `dst += …` when `accumulate`), where `op` transposes when
/// asked. `dst` is row-major with the product's shape. `threads <= 1` runs on the calling
/// thread; otherwise faer splits the output over the current rayon pool, which keeps each
/// output entry's summation order fixed, so results do not depend on scheduling.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    dst: &mut [f32],
    accumulate: bool,
    a: View<'_>,
    transpose_a: bool,
    b: View<'_>,
    transpose_b: bool,
    alpha: f32,
    threads: usize,
) {
    let a = a.faer(transpose_a);
    let b = b.faer(transpose_b);
    assert_eq!(a.ncols(), b.nrows(), "gemm: inner dimensions differ");
    let (m, n) = (a.nrows(), b.ncols());
    assert_eq!(dst.len(), m * n, "gemm: destination has the wrong size");
    let dst = MatMut::from_row_major_slice_mut(dst, m, n);
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    let par = if threads <= 1 {
        Par::Seq
    } else {
        Par::rayon(threads)
    };
    faer::linalg::matmul::matmul(dst, accum, a, b, alpha, par);
    super::fastmath::clear_upper_state();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], m: usize, k: usize, b: &[f32], n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn gemm_matches_naive_for_every_transpose_and_accumulate() {
        let (m, k, n) = (7, 5, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.71).cos()).collect();
        let want = naive(&a, m, k, &b, n);
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        for threads in [1, 2] {
            let mut c = vec![0.0; m * n];
            gemm(
                &mut c,
                false,
                View::new(&a, m, k),
                false,
                View::new(&b, k, n),
                false,
                1.0,
                threads,
            );
            let mut ct = vec![1.0; m * n];
            gemm(
                &mut ct,
                true,
                View::new(&at, k, m),
                true,
                View::new(&bt, n, k),
                true,
                2.0,
                threads,
            );
            for i in 0..m * n {
                assert!((c[i] - want[i]).abs() < 1e-5);
                assert!((ct[i] - (1.0 + 2.0 * want[i])).abs() < 1e-5);
            }
        }
    }
}
