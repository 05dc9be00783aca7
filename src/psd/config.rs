//! A PSD run's settings: the `[psd]` section (the constants of eq. 14.19 and the inner solve)
//! and the `[model]` keys PSD reads (`atoms`, `predictor`, `lista_steps`), checked once into a
//! [`CheckedPsd`].

use super::{Predictor, PsdSpec};
use crate::error::{Error, Result};
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};

/// `[psd]`: the constants of eq. 14.19 and the inner solve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsdConfig {
    /// `λ` of `‖h‖₁`.
    #[serde(default = "default_psd_lambda")]
    pub lambda: f32,
    /// `γ` of `‖h − f(x)‖²`.
    #[serde(default = "default_psd_gamma")]
    pub gamma: f32,
    /// FISTA iterations per step (cap).
    #[serde(default = "default_fista_iterations")]
    pub fista_iterations: usize,
    /// FISTA's relative-change tolerance.
    #[serde(default = "default_fista_tolerance")]
    pub tolerance: f32,
}

fn default_psd_lambda() -> f32 {
    0.5
}
fn default_psd_gamma() -> f32 {
    1.0
}
fn default_fista_iterations() -> usize {
    100
}
fn default_fista_tolerance() -> f32 {
    1e-4
}

impl Default for PsdConfig {
    fn default() -> Self {
        PsdConfig {
            lambda: default_psd_lambda(),
            gamma: default_psd_gamma(),
            fista_iterations: default_fista_iterations(),
            tolerance: default_fista_tolerance(),
        }
    }
}

/// A checked PSD run.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedPsd {
    /// The model to build.
    pub spec: PsdSpec,
    /// How to train it.
    pub train: TrainConfig,
}

/// The `[model]` keys of a PSD run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PsdModelKeys {
    /// `model.atoms`: the dictionary size.
    pub atoms: Option<usize>,
    /// `model.predictor`.
    pub predictor: Option<Predictor>,
    /// `model.lista_steps`.
    pub lista_steps: Option<usize>,
}

/// Checks a PSD run on data of width `input_size`: its `[model]` keys, its `[psd]` section and
/// the memory a step of `train` needs.
pub fn check(
    input_size: usize,
    model: &PsdModelKeys,
    psd: &PsdConfig,
    train: impl FnOnce() -> Result<TrainConfig>,
) -> Result<CheckedPsd> {
    let atoms = model
        .atoms
        .ok_or_else(|| Error::config("model.atoms", "PSD needs atoms = N"))?;
    if atoms == 0 {
        return Err(Error::config("model.atoms", "must be at least 1"));
    }
    let p = psd;
    let ok = |v: f32| v >= 0.0 && v.is_finite();
    if !ok(p.lambda) {
        return Err(Error::config("psd.lambda", "must be ≥ 0"));
    }
    if !ok(p.gamma) {
        return Err(Error::config("psd.gamma", "must be ≥ 0"));
    }
    if p.fista_iterations == 0 || p.fista_iterations > 1_000_000 {
        return Err(Error::config(
            "psd.fista_iterations",
            "must be between 1 and 1000000",
        ));
    }
    if !ok(p.tolerance) {
        return Err(Error::config("psd.tolerance", "must be ≥ 0"));
    }
    let predictor = model.predictor.unwrap_or_default();
    if model.lista_steps.is_some() && predictor != Predictor::Lista {
        return Err(Error::config(
            "model.lista_steps",
            "only predictor = \"lista\" unrolls steps",
        ));
    }
    let lista_steps = model.lista_steps.unwrap_or(3);
    if lista_steps > 100 {
        return Err(Error::config("model.lista_steps", "must be at most 100"));
    }
    let train = train()?;
    if train.optimizer.is_line_search() {
        return Err(Error::config(
            "train.optimizer",
            "PSD alternates a code search with weight steps; use adam or sgd",
        ));
    }
    crate::limits::check_threads("train.threads", train.threads)?;
    let (d, a, b) = (input_size as u128, atoms as u128, train.batch_size as u128);
    let steps = lista_steps as u128 + 1;
    crate::limits::check_floats(
        "model.atoms",
        8 * d * a + 4 * a * a + b * (2 * d + 12 * a + 2 * steps * a),
        "the dictionary, the predictor, their optimizer state and a step's buffers",
    )?;
    Ok(CheckedPsd {
        spec: PsdSpec {
            inputs: input_size,
            atoms,
            lambda: p.lambda,
            gamma: p.gamma,
            fista_iterations: p.fista_iterations,
            tolerance: p.tolerance,
            predictor,
            lista_steps,
        },
        train,
    })
}
