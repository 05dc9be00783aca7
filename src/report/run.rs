//! The run folder: `model.safetensors`, `spec.json`, `config.toml`, `metrics.jsonl`,
//! `checkpoint.safetensors` (for `--resume`), and `report/*.png`.

use crate::baselines::Pca;
use crate::error::{Error, Result};
use crate::fsutil::{atomic_write, create_dir, read};
use crate::linalg::{Matrix, Rng};
use crate::model::{persist, Autoencoder, AutoencoderSpec, Tensor};
use crate::nn::{Optimizer, OptimizerKind};
use crate::train::{EpochMetrics, TrainState};
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
    if let Some(best) = &state.best_tensors {
        for t in best {
            list.push((format!("best/{}", t.name), t.shape.clone(), &t.data));
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
    let best_tensors = if best_list.is_empty() {
        None
    } else {
        Some(
            Autoencoder::from_tensors(spec, best_list)
                .map_err(|e| Error::format(&path, e.to_string()))?
                .tensors()
                .to_vec(),
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
        best_tensors,
        history: trainer.history,
    };
    Ok((model, state))
}

/// Writes `report/`: loss curves; for square image data, originals vs reconstructions and
/// first-layer filters; a 2-D map of the codes (PCA of the codes when wider than 2).
pub fn write_report(
    dir: &Path,
    model: &Autoencoder,
    history: &[EpochMetrics],
    sample: &Matrix,
    labels: Option<&[i64]>,
) -> Result<()> {
    let report = dir.join("report");
    create_dir(&report)?;
    let train: Vec<f64> = history.iter().map(|m| m.train_loss).collect();
    let val: Vec<f64> = history.iter().filter_map(|m| m.validation_loss).collect();
    super::plots::loss_curves(&train, &val, &report.join("loss.png"))?;
    let n = sample.rows().min(2000);
    let sample = sample.slice_rows(0, n);
    let codes = model.encode(&sample)?;
    let side = (sample.cols() as f64).sqrt() as usize;
    if side * side == sample.cols() && side >= 4 {
        let recon = model.reconstruct(&sample)?;
        super::plots::reconstruction_grid(
            &sample,
            &recon,
            16,
            &report.join("reconstructions.png"),
        )?;
        let first = &model.tensors()[0];
        super::plots::filters(
            &first.data,
            first.shape[0],
            first.shape[1],
            100,
            &report.join("filters.png"),
        )?;
        // straight lines in code space between pairs of examples, decoded
        let steps = 10;
        let pairs = (n / 2).min(8);
        if pairs > 0 {
            let k = codes.cols();
            let mut path = Matrix::zeros(pairs * steps, k);
            for p in 0..pairs {
                let (a, b) = (codes.row(2 * p), codes.row(2 * p + 1));
                for s in 0..steps {
                    let t = s as f32 / (steps - 1) as f32;
                    for (dst, (u, v)) in path.row_mut(p * steps + s).iter_mut().zip(a.iter().zip(b))
                    {
                        *dst = (1.0 - t) * u + t * v;
                    }
                }
            }
            super::plots::image_grid(
                &model.decode(&path)?,
                steps,
                &report.join("interpolations.png"),
            )?;
        }
        if model.spec().code_distribution == crate::objective::CodeDistribution::Gaussian {
            let mut rng = Rng::new(0);
            let k = model.spec().code_size;
            let prior = Matrix::from_vec(64, k, (0..64 * k).map(|_| rng.normal()).collect());
            super::plots::image_grid(&model.decode(&prior)?, 8, &report.join("samples.png"))?;
        }
    }
    let points: Vec<(f32, f32)> = if codes.cols() == 1 {
        (0..n).map(|i| (codes.row(i)[0], 0.0)).collect()
    } else if codes.cols() == 2 {
        (0..n).map(|i| (codes.row(i)[0], codes.row(i)[1])).collect()
    } else if n < 2 {
        // One example has no principal directions; it sits at the origin of its map.
        vec![(0.0, 0.0); n]
    } else {
        let p = Pca::fit(&codes, 2)?.transform(&codes)?;
        (0..n).map(|i| (p.row(i)[0], p.row(i)[1])).collect()
    };
    super::plots::code_map(
        &points,
        labels.map(|l| &l[..n.min(l.len())]),
        &report.join("codes.png"),
    )
}
