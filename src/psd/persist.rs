//! A PSD model's folder: `model.safetensors` and `spec.json` (its spec with `"kind": "psd"`).

use crate::data::safetensors::{deserialize, serialize, take_tensor, SPEC_FILE, WEIGHTS_FILE};
use crate::error::{Error, Result};
use crate::fsutil::{atomic_write, read};
use std::collections::HashMap;
use std::path::Path;

/// Writes a PSD model's `model.safetensors` (`dictionary` inputs × atoms, `predictor.weight`
/// atoms × inputs, `predictor.bias`, `predictor.gain`; for LISTA also `predictor.lateral`
/// atoms × atoms and `predictor.threshold`) and `spec.json` (`"kind": "psd"`) into
/// `dir`, each atomically.
pub fn save_psd(psd: &crate::psd::Psd, dir: &Path) -> Result<()> {
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
    if s.predictor == crate::psd::Predictor::Lista {
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

/// Loads the PSD model of `dir`, whose `spec.json` was read as `value`.
pub fn load_psd(dir: &Path, mut value: serde_json::Value) -> Result<crate::psd::Psd> {
    let spec_path = dir.join(SPEC_FILE);
    if let Some(map) = value.as_object_mut() {
        map.remove("kind");
    }
    let spec: crate::psd::PsdSpec = serde_json::from_value(value)
        .map_err(|e| Error::format(&spec_path, format!("invalid spec: {e}")))?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let (tensors, _) = deserialize(&weights_path, &read(&weights_path)?)?;
    let take = |name: &str| take_tensor(&tensors, name, &weights_path);
    let lista = if spec.predictor == crate::psd::Predictor::Lista {
        Some((take("predictor.lateral")?, take("predictor.threshold")?))
    } else {
        None
    };
    crate::psd::Psd::from_parts(
        spec,
        take("dictionary")?,
        take("predictor.weight")?,
        take("predictor.bias")?,
        take("predictor.gain")?,
        lista,
    )
    .map_err(|e| Error::format(&weights_path, e.to_string()))
}
