//! Checkpoints: the single file `checkpoint.safetensors` a resume reads (model, optimizer
//! state, best model, trainer state), written with the run folder's model and metrics.

use super::{EpochMetrics, TrainState};
use crate::error::{Error, Result};
use crate::fsutil::{atomic_write, create_dir, read};
use crate::linalg::Rng;
use crate::model::{persist, Autoencoder, AutoencoderSpec, Tensor};
use crate::nn::{Optimizer, OptimizerKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// The part of [`TrainState`] that is not tensors (checkpoint metadata).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TrainerFile {
    epochs_done: usize,
    rng_state: [u64; 4],
    best_loss: Option<f64>,
    best_epoch: Option<usize>,
    history: Vec<EpochMetrics>,
}

/// The single file a resume reads: model, optimizer state, best model and trainer state in one
/// safetensors file, written atomically, so a kill at any moment leaves a consistent checkpoint.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

/// Saves the model (`model.safetensors` + `spec.json`), `metrics.jsonl`, and the checkpoint.
pub fn save_checkpoint(dir: &Path, model: &Autoencoder, state: &TrainState) -> Result<()> {
    create_dir(dir)?;
    let path = dir.join(CHECKPOINT_FILE);
    let mut list: Vec<(String, Vec<usize>, &[f32])> = Vec::new();
    for t in model.tensors() {
        list.push((format!("model/{}", t.name), t.shape.clone(), &t.data));
    }
    for (t, slots) in model.tensors().iter().zip(&state.optimizer.state) {
        for (k, slot) in slots.iter().enumerate() {
            list.push((
                format!("optimizer/{}.slot{k}", t.name),
                vec![slot.len()],
                slot,
            ));
        }
    }
    if let Some(best) = &state.best_parameters {
        for (t, data) in model.tensors().iter().zip(best) {
            list.push((format!("best/{}", t.name), t.shape.clone(), data));
        }
    }
    let trainer = TrainerFile {
        epochs_done: state.epochs_done,
        rng_state: state.rng.state(),
        best_loss: state.best.map(|b| b.0),
        best_epoch: state.best.map(|b| b.1),
        history: state.history.clone(),
    };
    let meta = HashMap::from([
        ("spec".to_string(), to_json(model.spec())),
        ("trainer".to_string(), to_json(&trainer)),
        ("optimizer_kind".to_string(), to_json(&state.optimizer.kind)),
        (
            "optimizer_step".to_string(),
            state.optimizer.step.to_string(),
        ),
    ]);
    let bytes = persist::serialize(&list, meta, &path)?;
    atomic_write(&path, &bytes)?;
    persist::save_model(model, dir)?;
    let lines: String = state
        .history
        .iter()
        .map(|m| serde_json::to_string(m).unwrap_or_default() + "\n")
        .collect();
    atomic_write(&dir.join("metrics.jsonl"), lines.as_bytes())
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Loads the checkpoint of a run folder: the model and the state to continue from.
pub fn load_checkpoint(dir: &Path) -> Result<(Autoencoder, TrainState)> {
    let path = dir.join(CHECKPOINT_FILE);
    let bytes = read(&path)?;
    let (tensors, meta) = persist::deserialize(&path, &bytes)?;
    let get = |key: &str| {
        meta.get(key)
            .ok_or_else(|| Error::format(&path, format!("checkpoint has no {key}")))
    };
    let bad = |key: &str, e: serde_json::Error| Error::format(&path, format!("invalid {key}: {e}"));
    let spec: AutoencoderSpec = serde_json::from_str(get("spec")?).map_err(|e| bad("spec", e))?;
    let trainer: TrainerFile =
        serde_json::from_str(get("trainer")?).map_err(|e| bad("trainer", e))?;
    let kind: OptimizerKind =
        serde_json::from_str(get("optimizer_kind")?).map_err(|e| bad("optimizer_kind", e))?;
    let step: u64 = get("optimizer_step")?
        .parse()
        .map_err(|_| Error::format(&path, "invalid optimizer_step"))?;
    let strip = |prefix: &str| -> Vec<Tensor> {
        tensors
            .iter()
            .filter_map(|t| {
                t.name.strip_prefix(prefix).map(|n| Tensor {
                    name: n.to_string(),
                    shape: t.shape.clone(),
                    data: t.data.clone(),
                })
            })
            .collect()
    };
    let model = Autoencoder::from_tensors(spec.clone(), strip("model/"))
        .map_err(|e| Error::format(&path, e.to_string()))?;
    let best_list = strip("best/");
    let best_parameters = if best_list.is_empty() {
        None
    } else {
        Some(
            Autoencoder::from_tensors(spec, best_list)
                .map_err(|e| Error::format(&path, e.to_string()))?
                .tensors()
                .iter()
                .map(|t| t.data.clone())
                .collect(),
        )
    };
    let mut optimizer = Optimizer::new(kind, &model.tensor_lengths());
    optimizer.step = step;
    let opt_tensors = strip("optimizer/");
    for (t, slots) in model.tensors().iter().zip(optimizer.state.iter_mut()) {
        for (k, slot) in slots.iter_mut().enumerate() {
            let name = format!("{}.slot{k}", t.name);
            let found = opt_tensors
                .iter()
                .find(|x| x.name == name && x.data.len() == slot.len())
                .ok_or_else(|| {
                    Error::format(
                        &path,
                        format!("optimizer tensor {name} is missing or has the wrong length"),
                    )
                })?;
            slot.copy_from_slice(&found.data);
        }
    }
    let state = TrainState {
        epochs_done: trainer.epochs_done,
        optimizer,
        rng: Rng::from_state(trainer.rng_state),
        best: trainer.best_loss.zip(trainer.best_epoch),
        best_parameters,
        history: trainer.history,
    };
    Ok((model, state))
}
