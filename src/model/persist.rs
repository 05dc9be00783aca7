//! Saving and loading models (`model.safetensors` + `spec.json`) and optimizer state
//! (`optimizer.safetensors`), all written atomically.

use super::rbm::{Rbm, RbmSpec};
use super::{Autoencoder, AutoencoderSpec, Tensor};
use crate::error::{Error, Result};
use crate::fsutil::{atomic_write, read};
use crate::nn::{Optimizer, OptimizerKind};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

/// File names inside a model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The resolved spec beside the weights.
pub const SPEC_FILE: &str = "spec.json";
/// Optimizer state, for resuming.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";

fn to_bytes(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub(crate) fn serialize(
    tensors: &[(String, Vec<usize>, &[f32])],
    metadata: HashMap<String, String>,
    path: &Path,
) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|(_, _, d)| to_bytes(d)).collect();
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            TensorView::new(Dtype::F32, shape.clone(), b)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::format(path, e.to_string()))
        })
        .collect::<Result<_>>()?;
    safetensors::tensor::serialize(views, &Some(metadata))
        .map_err(|e| Error::format(path, e.to_string()))
}

pub(crate) fn deserialize(
    path: &Path,
    bytes: &[u8],
) -> Result<(Vec<Tensor>, HashMap<String, String>)> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::format(path, format!("damaged safetensors file: {e}")))?;
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| Error::format(path, e.to_string()))?;
    let mut out = Vec::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(Error::format(
                path,
                format!("tensor {name} is {:?}, expected F32", view.dtype()),
            ));
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.push(Tensor {
            name,
            shape: view.shape().to_vec(),
            data,
        });
    }
    Ok((out, meta.metadata().clone().unwrap_or_default()))
}

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

/// Writes a PSD model's `model.safetensors` (`dictionary` inputs × atoms, `predictor.weight`
/// atoms × inputs, `predictor.bias`, `predictor.gain`; for LISTA also `predictor.lateral`
/// atoms × atoms and `predictor.threshold`) and `spec.json` (`"kind": "psd"`) into
/// `dir`, each atomically.
pub fn save_psd(psd: &crate::sparse_coding::psd::Psd, dir: &Path) -> Result<()> {
    crate::fsutil::create_dir(dir)?;
    let mut spec = serde_json::to_value(psd.spec()).map_err(|e| Error::Invalid(e.to_string()))?;
    spec["kind"] = "psd".into();
    let spec_json =
        serde_json::to_string_pretty(&spec).map_err(|e| Error::Invalid(e.to_string()))?;
    let s = psd.spec();
    let weights_path = dir.join(WEIGHTS_FILE);
    let list: Vec<(String, Vec<usize>, &[f32])> = vec![
        (
            "dictionary".into(),
            vec![s.inputs, s.atoms],
            &psd.dictionary,
        ),
        (
            "predictor.weight".into(),
            vec![s.atoms, s.inputs],
            &psd.weight,
        ),
        ("predictor.bias".into(), vec![s.atoms], &psd.bias),
        ("predictor.gain".into(), vec![s.atoms], &psd.gain),
    ];
    let mut list = list;
    if s.predictor == crate::sparse_coding::psd::Predictor::Lista {
        list.push((
            "predictor.lateral".into(),
            vec![s.atoms, s.atoms],
            &psd.lateral,
        ));
        list.push(("predictor.threshold".into(), vec![s.atoms], &psd.threshold));
    }
    let meta = HashMap::from([("format".to_string(), "autoencoder-psd-v1".to_string())]);
    let bytes = serialize(&list, meta, &weights_path)?;
    atomic_write(&dir.join(SPEC_FILE), spec_json.as_bytes())?;
    atomic_write(&weights_path, &bytes)
}

/// Any model a run folder can hold.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyModel {
    /// A predictive sparse decomposition (`spec.json` is its spec with `"kind": "psd"`).
    Psd(crate::sparse_coding::psd::Psd),
    /// An autoencoder (`spec.json` is its [`AutoencoderSpec`]).
    Autoencoder(Autoencoder),
    /// An RBM (`spec.json` is its [`RbmSpec`] with `"kind": "rbm"`).
    Rbm(Rbm),
}

/// Writes an RBM's `model.safetensors` (`weight` hidden × visible, `visible_bias`,
/// `hidden_bias`) and `spec.json` into `dir`, each atomically.
pub fn save_rbm(rbm: &Rbm, dir: &Path) -> Result<()> {
    crate::fsutil::create_dir(dir)?;
    let mut spec = serde_json::to_value(rbm.spec()).map_err(|e| Error::Invalid(e.to_string()))?;
    spec["kind"] = "rbm".into();
    let spec_json =
        serde_json::to_string_pretty(&spec).map_err(|e| Error::Invalid(e.to_string()))?;
    let s = rbm.spec();
    let weights_path = dir.join(WEIGHTS_FILE);
    let list: Vec<(String, Vec<usize>, &[f32])> = vec![
        ("weight".into(), vec![s.hidden, s.visible], &rbm.weight),
        ("visible_bias".into(), vec![s.visible], &rbm.visible_bias),
        ("hidden_bias".into(), vec![s.hidden], &rbm.hidden_bias),
    ];
    let meta = HashMap::from([("format".to_string(), "autoencoder-rbm-v1".to_string())]);
    let bytes = serialize(&list, meta, &weights_path)?;
    atomic_write(&dir.join(SPEC_FILE), spec_json.as_bytes())?;
    atomic_write(&weights_path, &bytes)
}

/// The values of the tensor called `name`, or an error naming the file.
fn take_tensor(tensors: &[Tensor], name: &str, path: &Path) -> Result<Vec<f32>> {
    tensors
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.data.clone())
        .ok_or_else(|| Error::format(path, format!("tensor {name} is missing")))
}

/// Loads whatever model a folder holds.
pub fn load_any(dir: &Path) -> Result<AnyModel> {
    let spec_path = dir.join(SPEC_FILE);
    let spec_bytes = read(&spec_path)?;
    let bad = |e: serde_json::Error| Error::format(&spec_path, format!("invalid spec: {e}"));
    let mut value: serde_json::Value = serde_json::from_slice(&spec_bytes).map_err(bad)?;
    let kind = value
        .get("kind")
        .and_then(|k| k.as_str())
        .map(str::to_string);
    if kind.as_deref() == Some("psd") {
        return load_psd(dir, value).map(AnyModel::Psd);
    }
    let is_rbm = kind.as_deref() == Some("rbm");
    if !is_rbm {
        return load_model(dir).map(AnyModel::Autoencoder);
    }
    if let Some(map) = value.as_object_mut() {
        map.remove("kind");
    }
    let spec: RbmSpec = serde_json::from_value(value).map_err(bad)?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let (tensors, _) = deserialize(&weights_path, &read(&weights_path)?)?;
    let take = |name: &str| take_tensor(&tensors, name, &weights_path);
    Rbm::from_parts(
        spec,
        take("weight")?,
        take("visible_bias")?,
        take("hidden_bias")?,
    )
    .map(AnyModel::Rbm)
    .map_err(|e| Error::format(&weights_path, e.to_string()))
}

fn load_psd(dir: &Path, mut value: serde_json::Value) -> Result<crate::sparse_coding::psd::Psd> {
    let spec_path = dir.join(SPEC_FILE);
    if let Some(map) = value.as_object_mut() {
        map.remove("kind");
    }
    let spec: crate::sparse_coding::psd::PsdSpec = serde_json::from_value(value)
        .map_err(|e| Error::format(&spec_path, format!("invalid spec: {e}")))?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let (tensors, _) = deserialize(&weights_path, &read(&weights_path)?)?;
    let take = |name: &str| take_tensor(&tensors, name, &weights_path);
    let lista = if spec.predictor == crate::sparse_coding::psd::Predictor::Lista {
        Some((take("predictor.lateral")?, take("predictor.threshold")?))
    } else {
        None
    };
    crate::sparse_coding::psd::Psd::from_parts(
        spec,
        take("dictionary")?,
        take("predictor.weight")?,
        take("predictor.bias")?,
        take("predictor.gain")?,
        lista,
    )
    .map_err(|e| Error::format(&weights_path, e.to_string()))
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
