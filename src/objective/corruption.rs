//! The corruption process `C(x̃ | x)` of denoising autoencoders (chapter 14.2.2, 14.5). Applied
//! to the encoder's input in training only, resampled every step; the loss still compares with
//! the clean `x`.

use crate::error::{Error, Result};
use crate::linalg::Rng;
use serde::{Deserialize, Serialize};

/// Dynamic binarization `x ← b`, `b_i ~ Bernoulli(x_i)`, in place: a fresh binary image each
/// time an example is used (the binarized-MNIST protocol of likelihood papers). Unlike
/// [`Corruption`] it changes the target too: the likelihood scores the binarized `x`.
pub fn binarize_in_place(x: &mut [f32], rng: &mut Rng) {
    for v in x {
        *v = if rng.uniform() < *v { 1.0 } else { 0.0 };
    }
}

/// `corruption.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorruptionKind {
    /// Additive isotropic Gaussian noise of σ = `level`.
    Gaussian,
    /// Each input set to 0 with probability `level`.
    Masking,
    /// Each input set to 0 or 1 (at random) with probability `level`.
    SaltAndPepper,
}

/// The `[corruption]` section as written; [`CorruptionConfig::check`] makes it a
/// [`Corruption`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorruptionConfig {
    /// `gaussian`, `masking` or `salt_and_pepper`.
    pub kind: CorruptionKind,
    /// σ for gaussian, probability otherwise.
    pub level: f32,
}

impl CorruptionConfig {
    /// The corruption, once its level is checked (error key `corruption.level`).
    pub fn check(&self) -> Result<Corruption> {
        let level_ok = match self.kind {
            CorruptionKind::Gaussian => self.level >= 0.0 && self.level.is_finite(),
            _ => (0.0..=1.0).contains(&self.level),
        };
        if !level_ok {
            return Err(Error::config(
                "corruption.level",
                "must be a probability in [0, 1] (or σ ≥ 0 for gaussian)",
            ));
        }
        Ok(match self.kind {
            CorruptionKind::Gaussian => Corruption::Gaussian { sigma: self.level },
            CorruptionKind::Masking => Corruption::Masking { p: self.level },
            CorruptionKind::SaltAndPepper => Corruption::SaltAndPepper { p: self.level },
        })
    }
}

/// A corruption process.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Corruption {
    /// `x̃ = x + ε`, `ε ~ N(0, σ²)`.
    Gaussian { sigma: f32 },
    /// Each input set to 0 with probability `p`.
    Masking { p: f32 },
    /// Each input set to 0 or 1 (fair coin) with probability `p`.
    SaltAndPepper { p: f32 },
}

impl Corruption {
    /// Writes a corrupted copy of `clean` into `out`.
    pub fn apply(&self, clean: &[f32], out: &mut [f32], rng: &mut Rng) {
        match *self {
            Corruption::Gaussian { sigma } => {
                rng.fill_normal(out);
                for (o, x) in out.iter_mut().zip(clean) {
                    *o = x + sigma * *o;
                }
            }
            Corruption::Masking { p } => {
                for (o, x) in out.iter_mut().zip(clean) {
                    *o = if rng.uniform() < p { 0.0 } else { *x };
                }
            }
            Corruption::SaltAndPepper { p } => {
                for (o, x) in out.iter_mut().zip(clean) {
                    let u = rng.uniform();
                    *o = if u < p {
                        if u < 0.5 * p {
                            0.0
                        } else {
                            1.0
                        }
                    } else {
                        *x
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binarization_draws_bernoulli_pixels_of_the_given_means() {
        let means = [0.0f32, 1.0, 0.3, 0.8];
        let mut rng = Rng::new(2);
        let n = 20_000;
        let mut ones = [0usize; 4];
        for _ in 0..n {
            let mut x = means;
            binarize_in_place(&mut x, &mut rng);
            for (c, v) in ones.iter_mut().zip(x) {
                assert!(v == 0.0 || v == 1.0);
                *c += v as usize;
            }
        }
        assert_eq!((ones[0], ones[1]), (0, n));
        for j in 2..4 {
            let rate = ones[j] as f64 / n as f64;
            assert!((rate - means[j] as f64).abs() < 0.015, "pixel {j}: {rate}");
        }
    }

    #[test]
    fn corruption_statistics_follow_the_level() {
        let n = 100_000;
        let clean = vec![0.5f32; n];
        let mut out = vec![0.0f32; n];
        let mut rng = Rng::new(5);
        Corruption::Masking { p: 0.25 }.apply(&clean, &mut out, &mut rng);
        let zeros = out.iter().filter(|v| **v == 0.0).count() as f64 / n as f64;
        assert!((zeros - 0.25).abs() < 0.01, "{zeros}");
        Corruption::SaltAndPepper { p: 0.2 }.apply(&clean, &mut out, &mut rng);
        let zeros = out.iter().filter(|v| **v == 0.0).count() as f64 / n as f64;
        let ones = out.iter().filter(|v| **v == 1.0).count() as f64 / n as f64;
        assert!((zeros - 0.1).abs() < 0.01 && (ones - 0.1).abs() < 0.01);
        Corruption::Gaussian { sigma: 0.3 }.apply(&clean, &mut out, &mut rng);
        let var = out.iter().map(|v| ((v - 0.5) as f64).powi(2)).sum::<f64>() / n as f64;
        assert!((var - 0.09).abs() < 0.005, "{var}");
    }
}
