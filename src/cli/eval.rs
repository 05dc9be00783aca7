//! `autoencoder eval`.

use autoencoder::model::persist;
use autoencoder::{Likelihood, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model folder (model.safetensors + spec.json).
    #[arg(long)]
    model: PathBuf,
    /// Data to evaluate on.
    #[arg(long)]
    data: PathBuf,
    /// CSV label column (N or last), excluded from the features.
    #[arg(long)]
    label_column: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let model = persist::load_model(&args.model)?;
    let data = super::load_data(&args.data, args.label_column.as_deref())?;
    let e = model
        .evaluate(&data.features)
        .map_err(|e| autoencoder::Error::format(&args.data, e.to_string()))?;
    let bernoulli = model.spec().output == Likelihood::Bernoulli;
    if args.json {
        let mut v = serde_json::json!({
            "examples": e.examples,
            "squared_error_per_example": e.squared_error_per_example,
            "negative_log_likelihood_per_example": e.loss_per_example,
        });
        if bernoulli {
            v["cross_entropy_per_example"] = e.loss_per_example.into();
        }
        super::print_json(&v);
    } else {
        println!("examples                   {}", e.examples);
        println!(
            "squared error per example  {:.4}",
            e.squared_error_per_example
        );
        if bernoulli {
            println!("cross-entropy per example  {:.4}", e.loss_per_example);
        }
    }
    Ok(())
}
