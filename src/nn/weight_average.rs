//! Exponential moving average of parameters (Polyak averaging in its running form; *Deep
//! Learning* §8.7.3): `ā ← β ā + (1 − β) θ` after every optimizer step.
//!
//! Why: with dropout and minibatch noise the parameters after any one step sit at a random
//! point around the region the optimizer explores; their running average sits nearer its
//! centre, so the validation curve read from it is smoother and the kept epoch less of a
//! lucky draw. The average never feeds back into training: the optimizer's trajectory, and so
//! every random number drawn, is the same with or without it.

use crate::error::{Error, Result};

/// Checks that `decay` is usable: `0 ≤ β < 1` (0 means no averaging).
pub fn check_decay(what: &str, decay: f32) -> Result<()> {
    if (0.0..1.0).contains(&decay) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what}: an averaging decay must be in [0, 1), got {decay}"
        )))
    }
}

/// `average ← decay · average + (1 − decay) · current`, element-wise.
///
/// Written as `a + (1 − β)(θ − a)`, which keeps `a` exactly equal to `θ` when both are equal
/// (no drift from rounding while the parameters stand still).
pub fn update(average: &mut [f32], current: &[f32], decay: f32) {
    debug_assert_eq!(average.len(), current.len());
    let rate = 1.0 - decay;
    for (a, &c) in average.iter_mut().zip(current) {
        *a += rate * (c - *a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_follows_the_closed_form() {
        // After n updates toward a constant c from a₀: a = c + βⁿ (a₀ − c).
        let (decay, c, a0) = (0.9f32, 3.0f32, -1.0f32);
        let mut average = vec![a0; 4];
        for _ in 0..20 {
            update(&mut average, &[c; 4], decay);
        }
        let expected = c + decay.powi(20) * (a0 - c);
        for a in &average {
            assert!((a - expected).abs() < 1e-5, "{a} vs {expected}");
        }
    }

    #[test]
    fn the_average_of_a_noisy_sequence_is_nearer_its_mean() {
        // Parameters that jitter ±1 around 5 each step: the last step is 1 away, the average far less.
        let mut average = vec![5.0f32];
        let mut last = 0.0;
        for step in 0..1000 {
            last = if step % 2 == 0 { 6.0 } else { 4.0 };
            update(&mut average, &[last], 0.99);
        }
        assert_eq!((last - 5.0f32).abs(), 1.0);
        assert!((average[0] - 5.0).abs() < 0.02, "average {}", average[0]);
    }

    #[test]
    fn zero_decay_copies_and_bad_decays_are_refused() {
        let mut average = vec![1.0f32, 2.0];
        update(&mut average, &[7.0, -3.0], 0.0);
        assert_eq!(average, vec![7.0, -3.0]);
        assert!(check_decay("x", 0.999).is_ok());
        for bad in [1.0, -0.1, f32::NAN] {
            let e = check_decay("x", bad).unwrap_err().to_string();
            assert!(
                e.starts_with("x: an averaging decay must be in [0, 1)"),
                "{e}"
            );
        }
    }
}
