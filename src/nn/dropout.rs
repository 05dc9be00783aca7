//! Dropout (Srivastava et al. 2014), in its "inverted" form: in training each unit is kept
//! with probability `1 − p` and scaled by `1 / (1 − p)`, so that inference uses the network
//! unchanged (no mask, no rescaling) and still sees the same expected activation.
//!
//! The mask is a plain multiplier, so the backward pass multiplies the incoming gradient by the
//! same mask.

use crate::error::{Error, Result};
use crate::linalg::Rng;

/// Checks that `p` is a usable rate, `0 ≤ p < 1`; the error names `what` (a field or a flag).
pub fn check_rate(what: &str, p: f32) -> Result<()> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what}: a dropout rate must be in [0, 1), got {p}"
        )))
    }
}

/// Draws a fresh mask (each entry `0` or `1/(1−p)`) and multiplies `values` by it in place.
///
/// `mask` must be as long as `values`. With `p = 0` the mask is all ones and `rng` is not
/// touched, so a run without dropout consumes the same random numbers as before dropout
/// existed.
pub fn forward_in_place(values: &mut [f32], mask: &mut [f32], p: f32, rng: &mut Rng) {
    debug_assert_eq!(values.len(), mask.len());
    if p <= 0.0 {
        mask.fill(1.0);
        return;
    }
    let keep_scale = 1.0 / (1.0 - p);
    for (v, m) in values.iter_mut().zip(mask.iter_mut()) {
        *m = if rng.uniform() < p { 0.0 } else { keep_scale };
        *v *= *m;
    }
}

/// `∂L/∂values = ∂L/∂dropped ⊙ mask`, in place on `grad`.
pub fn backward_in_place(grad: &mut [f32], mask: &[f32]) {
    debug_assert_eq!(grad.len(), mask.len());
    for (g, m) in grad.iter_mut().zip(mask) {
        *g *= m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mask_drops_the_rate_and_keeps_the_mean() {
        let n = 200_000;
        let p = 0.3;
        let mut values = vec![2.0f32; n];
        let mut mask = vec![0.0f32; n];
        forward_in_place(&mut values, &mut mask, p, &mut Rng::new(7));
        let dropped = values.iter().filter(|v| **v == 0.0).count() as f64 / n as f64;
        let mean = values.iter().map(|v| *v as f64).sum::<f64>() / n as f64;
        assert!((dropped - 0.3).abs() < 0.005, "dropped fraction {dropped}");
        assert!((mean - 2.0).abs() < 0.02, "mean {mean}");
        for (v, m) in values.iter().zip(&mask) {
            assert_eq!(*v, 2.0 * m);
        }
    }

    #[test]
    fn zero_rate_is_the_identity() {
        let mut values = vec![1.5f32, -2.0, 0.25];
        let mut mask = vec![0.0f32; 3];
        let mut rng = Rng::new(1);
        let before = rng.state();
        forward_in_place(&mut values, &mut mask, 0.0, &mut rng);
        assert_eq!(values, vec![1.5, -2.0, 0.25]);
        assert_eq!(mask, vec![1.0; 3]);
        assert_eq!(rng.state(), before);
    }
}
