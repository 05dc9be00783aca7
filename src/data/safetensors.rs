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
