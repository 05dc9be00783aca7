//! A PSD model's folder: `model.safetensors` and `spec.json` (its spec with `"kind": "psd"`).

use super::{Predictor, Psd, PsdSpec};
use crate::data::safetensors::{read_tagged_folder, take_tensor, write_tagged_folder};
use crate::error::{Error, Result};
use std::path::Path;

/// Writes a PSD model's `model.safetensors` (`dictionary` inputs × atoms, `predictor.weight`
/// atoms × inputs, `predictor.bias`, `predictor.gain`; for LISTA also `predictor.lateral`
/// atoms × atoms and `predictor.threshold`) and `spec.json` (`"kind": "psd"`) into
/// `dir`, each atomically.
pub fn save_psd(psd: &Psd, dir: &Path) -> Result<()> {
    let s = psd.spec();
    let mut tensors: Vec<(String, Vec<usize>, &[f32])> = vec![
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
    if s.predictor == Predictor::Lista {
        tensors.push((
            "predictor.lateral".into(),
            vec![s.atoms, s.atoms],
            &psd.lateral,
        ));
        tensors.push(("predictor.threshold".into(), vec![s.atoms], &psd.threshold));
    }
    write_tagged_folder(dir, "psd", s, &tensors, "autoencoder-psd-v1")
}

/// Loads the PSD model of `dir`, whose `spec.json` was read as `value`.
pub fn load_psd(dir: &Path, value: serde_json::Value) -> Result<Psd> {
    let (spec, tensors, weights_path): (PsdSpec, _, _) = read_tagged_folder(dir, value)?;
    let take = |name: &str| take_tensor(&tensors, name, &weights_path);
    let lista = if spec.predictor == Predictor::Lista {
        Some((take("predictor.lateral")?, take("predictor.threshold")?))
    } else {
        None
    };
    Psd::from_parts(
        spec,
        take("dictionary")?,
        take("predictor.weight")?,
        take("predictor.bias")?,
        take("predictor.gain")?,
        lista,
    )
    .map_err(|e| Error::format(&weights_path, e.to_string()))
}
