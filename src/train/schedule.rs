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
    /// Stage `i` (from 0) lasts `growth^i` epochs at `base · decay^i`: Burda et al.'s IWAE
    /// schedule is `growth = 3`, `decay = 10^(-1/7)` over 3,280 epochs (stages 0–7). Epochs past
    /// the last full stage stay in the stage they reach.
    Stages { growth: usize, decay: f32 },
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
            Schedule::Stages { growth, decay } => {
                let (mut stage, mut stage_end, mut length) = (0i32, 1usize, 1usize);
                while epoch >= stage_end {
                    stage += 1;
                    length = length.saturating_mul(growth.max(1));
                    stage_end = stage_end.saturating_add(length);
                }
                base * decay.powi(stage)
            }
        }
    }
}

/// `train.schedule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleName {
    /// The base learning rate throughout.
    Constant,
    /// Multiply by `step_gamma` every `step_every` epochs.
    Step,
    /// Cosine decay to `min_learning_rate`.
    Cosine,
    /// Burda et al.'s stages (`stage_growth`, `stage_decay`).
    Stages,
}

/// The `[train]` keys a schedule reads, as given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleKeys {
    /// `train.step_every`.
    pub step_every: usize,
    /// `train.step_gamma`.
    pub step_gamma: f32,
    /// `train.min_learning_rate`.
    pub min_learning_rate: f32,
    /// `train.stage_growth`.
    pub stage_growth: usize,
    /// `train.stage_decay`.
    pub stage_decay: f32,
}

impl ScheduleName {
    /// The schedule named, with its keys checked (errors name `train.<key>`).
    pub fn check(self, k: &ScheduleKeys) -> crate::Result<Schedule> {
        use crate::Error;
        Ok(match self {
            ScheduleName::Constant => Schedule::Constant,
            ScheduleName::Step => {
                if k.step_every == 0 {
                    return Err(Error::config("train.step_every", "must be at least 1"));
                }
                if !(k.step_gamma > 0.0 && k.step_gamma.is_finite()) {
                    return Err(Error::config("train.step_gamma", "must be positive"));
                }
                Schedule::Step {
                    every: k.step_every,
                    gamma: k.step_gamma,
                }
            }
            ScheduleName::Cosine => {
                if !(k.min_learning_rate >= 0.0 && k.min_learning_rate.is_finite()) {
                    return Err(Error::config(
                        "train.min_learning_rate",
                        "must be zero or positive",
                    ));
                }
                Schedule::Cosine {
                    min_lr: k.min_learning_rate,
                }
            }
            ScheduleName::Stages => {
                if k.stage_growth == 0 {
                    return Err(Error::config("train.stage_growth", "must be at least 1"));
                }
                if !(k.stage_decay > 0.0 && k.stage_decay.is_finite()) {
                    return Err(Error::config("train.stage_decay", "must be positive"));
                }
                Schedule::Stages {
                    growth: k.stage_growth,
                    decay: k.stage_decay,
                }
            }
        })
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
        let burda = Schedule::Stages {
            growth: 3,
            decay: 10f32.powf(-1.0 / 7.0),
        };
        // Stages 1, 3, 9, … epochs long: epoch 0 | 1–3 | 4–12 | 13–39 | … | 1093–3279.
        assert_eq!(burda.learning_rate(1.0, 0, 3280), 1.0);
        assert!((burda.learning_rate(1.0, 1, 3280) - 10f32.powf(-1.0 / 7.0)).abs() < 1e-6);
        assert_eq!(
            burda.learning_rate(1.0, 3, 3280),
            burda.learning_rate(1.0, 1, 3280)
        );
        assert!(burda.learning_rate(1.0, 4, 3280) < burda.learning_rate(1.0, 3, 3280));
        assert!((burda.learning_rate(1.0, 1092, 3280) - 10f32.powf(-6.0 / 7.0)).abs() < 1e-6);
        assert!((burda.learning_rate(1.0, 3279, 3280) - 0.1).abs() < 1e-6);
    }
}
