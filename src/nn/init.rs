//! Weight initializations.

use crate::linalg::Rng;
use serde::{Deserialize, Serialize};

/// How a dense layer's weights (and biases) start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// `U(±1/√fan_in)` for weights and biases (PyTorch's `nn.Linear` default).
    #[default]
    UniformFanIn,
    /// Glorot/Xavier uniform `U(±√(6/(fan_in+fan_out)))`, zero biases.
    Glorot,
    /// He/Kaiming normal `N(0, 2/fan_in)`, zero biases (for ReLU).
    He,
}

impl Init {
    /// Parses a config name.
    pub fn parse(name: &str) -> Option<Init> {
        match name {
            "uniform_fan_in" => Some(Init::UniformFanIn),
            "glorot" => Some(Init::Glorot),
            "he" => Some(Init::He),
            _ => None,
        }
    }

    /// Fills `weight` (`fan_out × fan_in` entries) and `bias` (`fan_out`).
    pub fn fill(
        self,
        weight: &mut [f32],
        bias: &mut [f32],
        fan_in: usize,
        fan_out: usize,
        rng: &mut Rng,
    ) {
        match self {
            Init::UniformFanIn => {
                let bound = 1.0 / (fan_in as f32).sqrt();
                weight
                    .iter_mut()
                    .for_each(|w| *w = rng.uniform_range(-bound, bound));
                bias.iter_mut()
                    .for_each(|b| *b = rng.uniform_range(-bound, bound));
            }
            Init::Glorot => {
                let bound = (6.0 / (fan_in + fan_out) as f32).sqrt();
                weight
                    .iter_mut()
                    .for_each(|w| *w = rng.uniform_range(-bound, bound));
                bias.fill(0.0);
            }
            Init::He => {
                let std = (2.0 / fan_in as f32).sqrt();
                weight.iter_mut().for_each(|w| *w = std * rng.normal());
                bias.fill(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_follow_their_formulas() {
        let (fan_in, fan_out) = (400, 100);
        let mut rng = Rng::new(0);
        let mut w = vec![0.0f32; fan_in * fan_out];
        let mut b = vec![0.0f32; fan_out];
        let var = |w: &[f32]| w.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / w.len() as f64;
        Init::UniformFanIn.fill(&mut w, &mut b, fan_in, fan_out, &mut rng);
        assert!((var(&w) - 1.0 / (3.0 * fan_in as f64)).abs() < 0.05 / (3.0 * fan_in as f64) * 3.0);
        assert!(b.iter().any(|x| *x != 0.0));
        Init::Glorot.fill(&mut w, &mut b, fan_in, fan_out, &mut rng);
        let want = 2.0 / (fan_in + fan_out) as f64;
        assert!((var(&w) - want).abs() < 0.05 * want);
        assert!(b.iter().all(|x| *x == 0.0));
        Init::He.fill(&mut w, &mut b, fan_in, fan_out, &mut rng);
        let want = 2.0 / fan_in as f64;
        assert!((var(&w) - want).abs() < 0.05 * want);
    }
}
