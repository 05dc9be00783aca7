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
    let bytes = crate::data::safetensors::serialize(
        &list,
        state_metadata(&to_json(model.spec()), state),
        &path,
    )?;
    atomic_write(&path, &bytes)?;
    persist::save_model(model, dir)?;
    write_metrics(dir, state)
}

/// The checkpoint's metadata: the model's `spec` (JSON) and the loop's state but its tensors.
fn state_metadata(spec: &str, state: &TrainState) -> HashMap<String, String> {
    let trainer = TrainerFile {
        epochs_done: state.epochs_done,
        rng_state: state.rng.state(),
        best_loss: state.best.map(|b| b.0),
        best_epoch: state.best.map(|b| b.1),
        history: state.history.clone(),
    };
    HashMap::from([
        ("spec".to_string(), spec.to_string()),
        ("trainer".to_string(), to_json(&trainer)),
        ("optimizer_kind".to_string(), to_json(&state.optimizer.kind)),
        (
            "optimizer_step".to_string(),
            state.optimizer.step.to_string(),
        ),
    ])
}

/// `metrics.jsonl`: one line per epoch so far.
fn write_metrics(dir: &Path, state: &TrainState) -> Result<()> {
    let lines: String = state
        .history
        .iter()
        .map(|m| serde_json::to_string(m).unwrap_or_default() + "\n")
        .collect();
    atomic_write(&dir.join("metrics.jsonl"), lines.as_bytes())
}

/// The checkpoint of a learner other than the autoencoder (PSD): its parameters under
/// `names` (in [`super::Learner::parameters`] order; empty ones are left out), its `spec`
/// (JSON), the optimizer state, the best parameters and the loop's state; with
/// `metrics.jsonl`. The caller saves the model folder itself.
pub fn save_named_checkpoint(
    dir: &Path,
    spec: &str,
    names: &[&str],
    parameters: &[&[f32]],
    state: &TrainState,
) -> Result<()> {
    create_dir(dir)?;
    let path = dir.join(CHECKPOINT_FILE);
    let mut list: Vec<(String, Vec<usize>, &[f32])> = Vec::new();
    for (name, data) in names.iter().zip(parameters) {
        if !data.is_empty() {
            list.push((format!("model/{name}"), vec![data.len()], data));
        }
    }
    for (name, slots) in names.iter().zip(&state.optimizer.state) {
        for (k, slot) in slots.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
            list.push((format!("optimizer/{name}.slot{k}"), vec![slot.len()], slot));
        }
    }
    if let Some(best) = &state.best_parameters {
        for (name, data) in names.iter().zip(best).filter(|(_, d)| !d.is_empty()) {
            list.push((format!("best/{name}"), vec![data.len()], data));
        }
    }
    let bytes = crate::data::safetensors::serialize(&list, state_metadata(spec, state), &path)?;
    atomic_write(&path, &bytes)?;
    write_metrics(dir, state)
}

/// Reads a [`save_named_checkpoint`] file: the spec (JSON), the parameters in `names` order
/// (an absent one is empty), and the state to continue from.
pub fn load_named_checkpoint(
    dir: &Path,
    names: &[&str],
) -> Result<(String, Vec<Vec<f32>>, TrainState)> {
    let path = dir.join(CHECKPOINT_FILE);
    let (tensors, meta) = crate::data::safetensors::deserialize(&path, &read(&path)?)?;
    let find = |name: String| {
        tensors
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.data.clone())
    };
    let parameters: Vec<Vec<f32>> = names
        .iter()
        .map(|n| find(format!("model/{n}")).unwrap_or_default())
        .collect();
    let best_parameters = names
        .iter()
        .any(|n| find(format!("best/{n}")).is_some())
        .then(|| {
            names
                .iter()
                .map(|n| find(format!("best/{n}")).unwrap_or_default())
                .collect()
        });
    let lengths: Vec<usize> = parameters.iter().map(Vec::len).collect();
    let state = read_state(&path, &meta, names, &lengths, best_parameters, |k, slot| {
        find(format!("optimizer/{}.slot{slot}", names[k]))
    })?;
    let spec = meta
        .get("spec")
        .cloned()
        .ok_or_else(|| Error::format(&path, "checkpoint has no spec"))?;
    Ok((spec, parameters, state))
}

/// The loop's state from a checkpoint's metadata; `slot(k, j)` is slot `j` of parameter `k`'s
/// optimizer state (parameters `names` of `lengths`; an empty parameter needs none).
fn read_state(
    path: &Path,
    meta: &HashMap<String, String>,
    names: &[&str],
    lengths: &[usize],
    best_parameters: Option<Vec<Vec<f32>>>,
    slot: impl Fn(usize, usize) -> Option<Vec<f32>>,
) -> Result<TrainState> {
    let get = |key: &str| {
        meta.get(key)
            .ok_or_else(|| Error::format(path, format!("checkpoint has no {key}")))
    };
    let bad = |key: &str, e: serde_json::Error| Error::format(path, format!("invalid {key}: {e}"));
    let trainer: TrainerFile =
        serde_json::from_str(get("trainer")?).map_err(|e| bad("trainer", e))?;
    let kind: OptimizerKind =
        serde_json::from_str(get("optimizer_kind")?).map_err(|e| bad("optimizer_kind", e))?;
    let step: u64 = get("optimizer_step")?
        .parse()
        .map_err(|_| Error::format(path, "invalid optimizer_step"))?;
    let mut optimizer = Optimizer::new(kind, lengths);
    optimizer.step = step;
    for (k, slots) in optimizer.state.iter_mut().enumerate() {
        for (j, dst) in slots.iter_mut().enumerate().filter(|(_, s)| !s.is_empty()) {
            let found = slot(k, j).filter(|d| d.len() == dst.len()).ok_or_else(|| {
                Error::format(
                    path,
                    format!(
                        "optimizer tensor {}.slot{j} is missing or has the wrong length",
                        names[k]
                    ),
                )
            })?;
            dst.copy_from_slice(&found);
        }
    }
    Ok(TrainState {
        epochs_done: trainer.epochs_done,
        optimizer,
        rng: Rng::from_state(trainer.rng_state),
        best: trainer.best_loss.zip(trainer.best_epoch),
        best_parameters,
        history: trainer.history,
    })
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Loads the checkpoint of a run folder: the model and the state to continue from.
pub fn load_checkpoint(dir: &Path) -> Result<(Autoencoder, TrainState)> {
    let path = dir.join(CHECKPOINT_FILE);
    let bytes = read(&path)?;
    let (tensors, meta) = crate::data::safetensors::deserialize(&path, &bytes)?;
    let spec_json = meta
        .get("spec")
        .ok_or_else(|| Error::format(&path, "checkpoint has no spec"))?;
    let spec: AutoencoderSpec = serde_json::from_str(spec_json)
        .map_err(|e| Error::format(&path, format!("invalid spec: {e}")))?;
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
    let opt_tensors = strip("optimizer/");
    let names: Vec<&str> = model.tensors().iter().map(|t| t.name.as_str()).collect();
    let state = read_state(
        &path,
        &meta,
        &names,
        &model.tensor_lengths(),
        best_parameters,
        |k, j| {
            let name = format!("{}.slot{j}", names[k]);
            opt_tensors
                .iter()
                .find(|x| x.name == name)
                .map(|x| x.data.clone())
        },
    )?;
    Ok((model, state))
}
