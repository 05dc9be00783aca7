//! Softmax cross-entropy for classifier heads, fused with its gradient.

use crate::linalg::fastmath;

/// For each row of logits `z` (`classes` wide) with its class `labels[r]`: writes
/// `scale · (softmax(z) − onehot(y))` over `z` and returns Σ_rows `−log softmax(z)_y`.
pub fn cross_entropy_in_place(z: &mut [f32], labels: &[usize], classes: usize, scale: f32) -> f64 {
    let mut total = 0.0f64;
    for (row, &y) in z.chunks_exact_mut(classes).zip(labels) {
        let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for v in row.iter_mut() {
            *v = fastmath::exp(*v - max);
            sum += *v;
        }
        // −log p_y = log Σ e^(z−max) − (z_y − max); z_y − max = ln(e_y)
        total += (sum.ln() - row[y].max(f32::MIN_POSITIVE).ln()) as f64;
        let inv = 1.0 / sum;
        for (c, v) in row.iter_mut().enumerate() {
            let p = *v * inv;
            *v = scale * (p - if c == y { 1.0 } else { 0.0 });
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let z0 = [0.3f32, -1.2, 2.0, 0.5, 0.1, 0.0, -0.4, 1.1];
        let labels = [2usize, 0];
        let mut g = z0;
        let loss = cross_entropy_in_place(&mut g, &labels, 4, 1.0);
        let f = |z: &[f64]| -> f64 {
            z.chunks(4)
                .zip(&labels)
                .map(|(r, &y)| {
                    let lse = r.iter().map(|v| v.exp()).sum::<f64>().ln();
                    lse - r[y]
                })
                .sum()
        };
        let zd: Vec<f64> = z0.iter().map(|v| *v as f64).collect();
        assert!((f(&zd) - loss).abs() < 1e-5);
        for i in 0..8 {
            let (mut u, mut d) = (zd.clone(), zd.clone());
            u[i] += 1e-5;
            d[i] -= 1e-5;
            let fd = (f(&u) - f(&d)) / 2e-5;
            assert!((fd - g[i] as f64).abs() < 1e-4, "{i}: {fd} vs {}", g[i]);
        }
    }
}
