//! Learning-rate schedules, by epoch.

use serde::{Deserialize, Serialize};

/// How the learning rate changes with the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step { every: usize, gamma: f32 },
    /// Cosine from the base rate down to `min_lr` over all epochs.
    Cosine { min_lr: f32 },
}

impl Schedule {
    /// Rate for the epoch with 0-based index `epoch` of `epochs`.
    pub fn learning_rate(&self, base: f32, epoch: usize, epochs: usize) -> f32 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => base * gamma.powi((epoch / every.max(1)) as i32),
            Schedule::Cosine { min_lr } => {
                let t = epoch as f32 / epochs.max(1) as f32;
                min_lr + 0.5 * (base - min_lr) * (1.0 + (std::f32::consts::PI * t).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_formulas() {
        assert_eq!(Schedule::Constant.learning_rate(0.1, 7, 10), 0.1);
        let s = Schedule::Step {
            every: 2,
            gamma: 0.5,
        };
        assert_eq!(s.learning_rate(1.0, 0, 10), 1.0);
        assert_eq!(s.learning_rate(1.0, 3, 10), 0.5);
        assert_eq!(s.learning_rate(1.0, 4, 10), 0.25);
        let c = Schedule::Cosine { min_lr: 0.0 };
        assert_eq!(c.learning_rate(1.0, 0, 10), 1.0);
        assert!((c.learning_rate(1.0, 5, 10) - 0.5).abs() < 1e-6);
        assert!(c.learning_rate(1.0, 9, 10) < 0.03);
    }
}
