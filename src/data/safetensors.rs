//! Model folders' files: `f32` tensors in safetensors buffers, and the names of the files a
//! model folder holds (every model family writes the same two).

use crate::error::{Error, Result};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

/// A named parameter tensor (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Name in the saved file, e.g. `encoder.0.weight`.
    pub name: String,
    /// Shape, PyTorch convention (`[outputs, inputs]` for dense weights).
    pub shape: Vec<usize>,
    /// Entries.
    pub data: Vec<f32>,
}

/// File names inside a model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The resolved spec beside the weights.
pub const SPEC_FILE: &str = "spec.json";
/// Optimizer state, for resuming.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";

fn to_bytes(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Encodes named `f32` tensors and `metadata` as a safetensors buffer (`path` for errors).
pub fn serialize(
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

/// Decodes a safetensors buffer read from `path` into tensors and its metadata.
pub fn deserialize(path: &Path, bytes: &[u8]) -> Result<(Vec<Tensor>, HashMap<String, String>)> {
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

/// The values of the tensor called `name`, or an error naming the file.
pub fn take_tensor(tensors: &[Tensor], name: &str, path: &Path) -> Result<Vec<f32>> {
    tensors
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.data.clone())
        .ok_or_else(|| Error::format(path, format!("tensor {name} is missing")))
}

/// Writes the folder of a model family that tags its spec with a kind (RBM, PSD):
/// `model.safetensors` (`tensors`, metadata `format`) and `spec.json` (`spec` with
/// `"kind": kind`) into `dir`, each atomically.
pub fn write_tagged_folder<S: serde::Serialize>(
    dir: &Path,
    kind: &str,
    spec: &S,
    tensors: &[(String, Vec<usize>, &[f32])],
    format: &str,
) -> Result<()> {
    crate::fsutil::create_dir(dir)?;
    let invalid = |e: serde_json::Error| Error::Invalid(e.to_string());
    let mut spec = serde_json::to_value(spec).map_err(invalid)?;
    spec["kind"] = kind.into();
    let spec_json = serde_json::to_string_pretty(&spec).map_err(invalid)?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let meta = HashMap::from([("format".to_string(), format.to_string())]);
    let bytes = serialize(tensors, meta, &weights_path)?;
    crate::fsutil::atomic_write(&dir.join(SPEC_FILE), spec_json.as_bytes())?;
    crate::fsutil::atomic_write(&weights_path, &bytes)
}

/// Reads such a folder: its spec from `value` (the `spec.json` already read, `kind` dropped)
/// and its tensors, with the weights file's path for the caller's errors.
pub fn read_tagged_folder<S: serde::de::DeserializeOwned>(
    dir: &Path,
    mut value: serde_json::Value,
) -> Result<(S, Vec<Tensor>, std::path::PathBuf)> {
    if let Some(map) = value.as_object_mut() {
        map.remove("kind");
    }
    let spec = serde_json::from_value(value)
        .map_err(|e| Error::format(dir.join(SPEC_FILE), format!("invalid spec: {e}")))?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let (tensors, _) = deserialize(&weights_path, &crate::fsutil::read(&weights_path)?)?;
    Ok((spec, tensors, weights_path))
}
