//! `autoencoder export`: a trained model's encoder, decoder, whole autoencoder or hash
//! function (thresholded, packed bits) as ONNX.

use autoencoder::export::onnx::{self, Part};
use autoencoder::model::persist;
use autoencoder::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model folder.
    #[arg(long)]
    model: PathBuf,
    /// encoder (x → code), decoder (code → reconstruction), autoencoder (x → reconstruction)
    /// or hash (x → packed uint8 codes, FAISS bit order; the code size must be a multiple of 8).
    #[arg(long, default_value = "encoder")]
    part: String,
    /// hash: a code unit's bit is 1 when it exceeds this (as `hash --method autoencoder`).
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
    /// Output .onnx file (written atomically).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let part =
        Part::parse(&args.part).map_err(|e| autoencoder::Error::Invalid(format!("--part: {e}")))?;
    if args.threshold != 0.5 && part != Part::Hash {
        return Err(autoencoder::Error::Invalid(
            "--threshold is for --part hash".into(),
        ));
    }
    if !args.threshold.is_finite() {
        return Err(autoencoder::Error::Invalid(
            "--threshold must be finite".into(),
        ));
    }
    let model = persist::load_model(&args.model)?;
    // a model with a fitted input transform reads raw inputs through it in the graph too
    let transform = autoencoder::data::transform::InputTransform::load(&args.model)?;
    let thresholds = vec![args.threshold; model.spec().code_size];
    let bytes = onnx::export_with(&model, part, &thresholds, transform.as_ref())
        .map_err(|e| autoencoder::Error::format(&args.model, e.to_string()))?;
    autoencoder::fsutil::atomic_write(&args.out, &bytes)
}
