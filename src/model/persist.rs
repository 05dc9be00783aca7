//! Saving and loading autoencoders (`model.safetensors` + `spec.json`) and optimizer state
//! (`optimizer.safetensors`), all written atomically. Other families keep their own
//! (`rbm::persist`, `psd::persist`); `crate::folder` loads whichever a folder holds.

use super::{Autoencoder, AutoencoderSpec};
use crate::data::safetensors::{deserialize, serialize};
use crate::data::safetensors::{SPEC_FILE, WEIGHTS_FILE};
use crate::error::{Error, Result};
use crate::fsutil::{atomic_write, read};
use crate::nn::{Optimizer, OptimizerKind};
use std::collections::HashMap;
use std::path::Path;

/// Writes `model.safetensors` and `spec.json` into `dir` (created if needed), each atomically.
///
/// `spec.json` is rewritten only when it changes: a run saves its model every epoch with the
/// same spec, and a crash between two renames must not leave weights beside a spec they do
/// not fit.
pub fn save_model(model: &Autoencoder, dir: &Path) -> Result<()> {
    crate::fsutil::create_dir(dir)?;
    let spec_json =
        serde_json::to_string_pretty(model.spec()).map_err(|e| Error::Invalid(e.to_string()))?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let list: Vec<(String, Vec<usize>, &[f32])> = model
        .tensors()
        .iter()
        .map(|t| (t.name.clone(), t.shape.clone(), t.data.as_slice()))
        .collect();
    let meta = HashMap::from([("format".to_string(), "autoencoder-v1".to_string())]);
    let bytes = serialize(&list, meta, &weights_path)?;
    let spec_path = dir.join(SPEC_FILE);
    if std::fs::read(&spec_path).ok().as_deref() != Some(spec_json.as_bytes()) {
        atomic_write(&spec_path, spec_json.as_bytes())?;
    }
    atomic_write(&weights_path, &bytes)
}

/// Loads a model folder written by [`save_model`], refusing names or shapes that do not match
/// the spec (and an RBM's folder, with a message saying so).
pub fn load_model(dir: &Path) -> Result<Autoencoder> {
    let spec_path = dir.join(SPEC_FILE);
    let spec_bytes = read(&spec_path)?;
    if serde_json::from_slice::<serde_json::Value>(&spec_bytes)
        .ok()
        .and_then(|v| {
            v.get("kind")
                .and_then(|k| k.as_str())
                .map(|k| k == "rbm" || k == "psd")
        })
        == Some(true)
    {
        return Err(Error::format(
            &spec_path,
            "this folder holds an RBM or a PSD model; this command needs an autoencoder",
        ));
    }
    let spec: AutoencoderSpec = serde_json::from_slice(&spec_bytes)
        .map_err(|e| Error::format(&spec_path, format!("invalid spec: {e}")))?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let bytes = read(&weights_path)?;
    let (tensors, _) = deserialize(&weights_path, &bytes)?;
    Autoencoder::from_tensors(spec, tensors)
        .map_err(|e| Error::format(&weights_path, e.to_string()))
}

/// The model as one safetensors buffer with its spec in the metadata (key `spec`): what the
/// Python package's pickle holds.
pub fn model_to_bytes(model: &Autoencoder) -> Result<Vec<u8>> {
    let spec_json =
        serde_json::to_string(model.spec()).map_err(|e| Error::Invalid(e.to_string()))?;
    let list: Vec<(String, Vec<usize>, &[f32])> = model
        .tensors()
        .iter()
        .map(|t| (t.name.clone(), t.shape.clone(), t.data.as_slice()))
        .collect();
    let meta = HashMap::from([
        ("format".to_string(), "autoencoder-v1".to_string()),
        ("spec".to_string(), spec_json),
    ]);
    serialize(&list, meta, Path::new("<model bytes>"))
}

/// The inverse of [`model_to_bytes`], with the same checks as [`load_model`].
pub fn model_from_bytes(bytes: &[u8]) -> Result<Autoencoder> {
    let source = Path::new("<model bytes>");
    let (tensors, meta) = deserialize(source, bytes)?;
    let spec_json = meta
        .get("spec")
        .ok_or_else(|| Error::format(source, "no spec in the metadata"))?;
    let spec: AutoencoderSpec = serde_json::from_str(spec_json)
        .map_err(|e| Error::format(source, format!("invalid spec: {e}")))?;
    Autoencoder::from_tensors(spec, tensors).map_err(|e| Error::format(source, e.to_string()))
}

/// Writes optimizer state (slot tensors named after the model's tensors) to `path`.
pub fn save_optimizer(opt: &Optimizer, model: &Autoencoder, path: &Path) -> Result<()> {
    let mut list = Vec::new();
    for (t, slots) in model.tensors().iter().zip(&opt.state) {
        for (k, slot) in slots.iter().enumerate() {
            list.push((
                format!("{}.slot{k}", t.name),
                vec![slot.len()],
                slot.as_slice(),
            ));
        }
    }
    let meta = HashMap::from([
        (
            "kind".to_string(),
            serde_json::to_string(&opt.kind).map_err(|e| Error::Invalid(e.to_string()))?,
        ),
        ("step".to_string(), opt.step.to_string()),
    ]);
    let bytes = serialize(&list, meta, path)?;
    atomic_write(path, &bytes)
}

/// Reads optimizer state written by [`save_optimizer`] for `model`.
pub fn load_optimizer(model: &Autoencoder, path: &Path) -> Result<Optimizer> {
    let bytes = read(path)?;
    let (tensors, meta) = deserialize(path, &bytes)?;
    let kind: OptimizerKind = meta
        .get("kind")
        .and_then(|k| serde_json::from_str(k).ok())
        .ok_or_else(|| Error::format(path, "missing or invalid optimizer kind"))?;
    let step: u64 = meta
        .get("step")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::format(path, "missing or invalid step"))?;
    let mut opt = Optimizer::new(kind, &model.tensor_lengths());
    opt.step = step;
    for (t, slots) in model.tensors().iter().zip(opt.state.iter_mut()) {
        for (k, slot) in slots.iter_mut().enumerate() {
            let name = format!("{}.slot{k}", t.name);
            let found = tensors.iter().find(|x| x.name == name).ok_or_else(|| {
                Error::format(path, format!("optimizer tensor {name} is missing"))
            })?;
            if found.data.len() != slot.len() {
                return Err(Error::format(
                    path,
                    format!("optimizer tensor {name} has the wrong length"),
                ));
            }
            slot.copy_from_slice(&found.data);
        }
    }
    Ok(opt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Likelihood;

    #[test]
    fn model_bytes_round_trip_and_refuse_damage() {
        let spec = AutoencoderSpec::new(6, &[5], 3, Likelihood::Bernoulli);
        let model = Autoencoder::new(spec, 4).unwrap();
        let bytes = model_to_bytes(&model).unwrap();
        assert_eq!(model_from_bytes(&bytes).unwrap(), model);
        assert!(model_from_bytes(&bytes[..bytes.len() / 2]).is_err());
        // weights without a spec
        let list: Vec<(String, Vec<usize>, &[f32])> = model
            .tensors()
            .iter()
            .map(|t| (t.name.clone(), t.shape.clone(), t.data.as_slice()))
            .collect();
        let bare = serialize(&list, HashMap::new(), Path::new("x")).unwrap();
        let err = model_from_bytes(&bare).unwrap_err().to_string();
        assert!(err.contains("no spec"), "{err}");
    }
}
