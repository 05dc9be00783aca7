//! `autoencoder export`: a trained model's encoder, decoder or whole autoencoder as ONNX.

use autoencoder::export::onnx::{self, Part};
use autoencoder::model::persist;
use autoencoder::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model folder.
    #[arg(long)]
    model: PathBuf,
    /// encoder (x → code), decoder (code → reconstruction) or autoencoder (x → reconstruction).
    #[arg(long, default_value = "encoder")]
    part: String,
    /// Output .onnx file (written atomically).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let part =
        Part::parse(&args.part).map_err(|e| autoencoder::Error::Invalid(format!("--part: {e}")))?;
    let model = persist::load_model(&args.model)?;
    let bytes = onnx::export(&model, part)?;
    autoencoder::fsutil::atomic_write(&args.out, &bytes)
}
