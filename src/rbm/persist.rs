//! An RBM's model folder: `model.safetensors` (`weight` hidden × visible, `visible_bias`,
//! `hidden_bias`) and `spec.json` (its [`RbmSpec`] with `"kind": "rbm"`).

use super::{Rbm, RbmSpec};
use crate::data::safetensors::{read_tagged_folder, take_tensor, write_tagged_folder};
use crate::error::{Error, Result};
use std::path::Path;

/// Writes an RBM's `model.safetensors` (`weight` hidden × visible, `visible_bias`,
/// `hidden_bias`) and `spec.json` into `dir`, each atomically.
pub fn save_rbm(rbm: &Rbm, dir: &Path) -> Result<()> {
    let s = rbm.spec();
    let tensors: [(String, Vec<usize>, &[f32]); 3] = [
        ("weight".into(), vec![s.hidden, s.visible], &rbm.weight),
        ("visible_bias".into(), vec![s.visible], &rbm.visible_bias),
        ("hidden_bias".into(), vec![s.hidden], &rbm.hidden_bias),
    ];
    write_tagged_folder(dir, "rbm", s, &tensors, "autoencoder-rbm-v1")
}

/// Loads the RBM of `dir`, whose `spec.json` was read as `value`.
pub fn load_rbm(dir: &Path, value: serde_json::Value) -> Result<Rbm> {
    let (spec, tensors, weights_path): (RbmSpec, _, _) = read_tagged_folder(dir, value)?;
    let take = |name: &str| take_tensor(&tensors, name, &weights_path);
    Rbm::from_parts(
        spec,
        take("weight")?,
        take("visible_bias")?,
        take("hidden_bias")?,
    )
    .map_err(|e| Error::format(&weights_path, e.to_string()))
}
