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
///
/// `#[non_exhaustive]`: the commands outside this crate match the families they serve and
/// refuse the others with [`AnyModel::unsupported`], so a new family is added here and in its
/// own folder without touching every command.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AnyModel {
    /// A predictive sparse decomposition (`spec.json` is its spec with `"kind": "psd"`).
    Psd(Psd),
    /// An autoencoder (`spec.json` is its [`crate::AutoencoderSpec`]).
    Autoencoder(Autoencoder),
    /// An RBM (`spec.json` is its [`crate::rbm::RbmSpec`] with `"kind": "rbm"`).
    Rbm(Rbm),
}

impl AnyModel {
    /// The family, as `model.kind` names it.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyModel::Psd(_) => "psd",
            AnyModel::Autoencoder(_) => "autoencoder",
            AnyModel::Rbm(_) => "rbm",
        }
    }

    /// The error of a command that does not serve this family: `dir: <what>, and this folder
    /// holds a <kind> model`.
    pub fn unsupported(&self, dir: &Path, what: &str) -> Error {
        Error::format(
            dir,
            format!("{what}, and this folder holds a {} model", self.kind()),
        )
    }
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
