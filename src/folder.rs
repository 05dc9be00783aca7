//! Run folders, whichever model family they hold: which one a folder's `spec.json` names
//! (`"kind": "rbm"`, `"psd"`, or an autoencoder's spec) and loading it.

use crate::data::safetensors::SPEC_FILE;
use crate::error::{Error, Result};
use crate::fsutil::read;
use crate::model::Autoencoder;
use crate::psd::Psd;
use crate::rbm::Rbm;
use std::path::Path;

/// Any model a run folder can hold.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyModel {
    /// A predictive sparse decomposition (`spec.json` is its spec with `"kind": "psd"`).
    Psd(Psd),
    /// An autoencoder (`spec.json` is its [`crate::AutoencoderSpec`]).
    Autoencoder(Autoencoder),
    /// An RBM (`spec.json` is its [`crate::rbm::RbmSpec`] with `"kind": "rbm"`).
    Rbm(Rbm),
}

/// Loads whatever model a folder holds.
pub fn load_any(dir: &Path) -> Result<AnyModel> {
    let spec_path = dir.join(SPEC_FILE);
    let spec_bytes = read(&spec_path)?;
    let value: serde_json::Value = serde_json::from_slice(&spec_bytes)
        .map_err(|e| Error::format(&spec_path, format!("invalid spec: {e}")))?;
    match value.get("kind").and_then(|k| k.as_str()) {
        Some("psd") => crate::psd::persist::load_psd(dir, value).map(AnyModel::Psd),
        Some("rbm") => crate::rbm::persist::load_rbm(dir, value).map(AnyModel::Rbm),
        _ => crate::model::persist::load_model(dir).map(AnyModel::Autoencoder),
    }
}
