//! An RBM's model folder: `model.safetensors` (`weight` hidden × visible, `visible_bias`,
//! `hidden_bias`) and `spec.json` (its [`RbmSpec`] with `"kind": "rbm"`).

use super::{Rbm, RbmSpec};
use crate::data::safetensors::{deserialize, serialize, take_tensor, SPEC_FILE, WEIGHTS_FILE};
use crate::error::{Error, Result};
use crate::fsutil::{atomic_write, read};
use std::collections::HashMap;
use std::path::Path;

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

/// Loads the RBM of `dir`, whose `spec.json` was read as `value`.
pub fn load_rbm(dir: &Path, mut value: serde_json::Value) -> Result<Rbm> {
    let spec_path = dir.join(SPEC_FILE);
    if let Some(map) = value.as_object_mut() {
        map.remove("kind");
    }
    let spec: RbmSpec = serde_json::from_value(value)
        .map_err(|e| Error::format(&spec_path, format!("invalid spec: {e}")))?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let (tensors, _) = deserialize(&weights_path, &read(&weights_path)?)?;
    let take = |name: &str| take_tensor(&tensors, name, &weights_path);
    Rbm::from_parts(
        spec,
        take("weight")?,
        take("visible_bias")?,
        take("hidden_bias")?,
    )
    .map_err(|e| Error::format(&weights_path, e.to_string()))
}
