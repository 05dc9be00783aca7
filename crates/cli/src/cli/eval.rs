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
    /// For Gaussian-code models: K importance samples per example; adds nll_per_example (the
    /// estimate of −log p(x); K = 5000 as in Burda et al.) and negative_elbo_per_example.
    /// (reconstruction_nll_per_example is −log p(x|h) at the mean code, not a model likelihood.)
    #[arg(long)]
    importance_samples: Option<usize>,
    /// Seed of the importance samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let model = persist::load_model(&args.model)?;
    let data = super::load_features(&args.data, args.label_column.as_deref())?;
    let e = model
        .evaluate(&data)
        .map_err(|e| autoencoder::Error::format(&args.data, e.to_string()))?;
    let bernoulli = model.spec().output == Likelihood::Bernoulli;
    let bounds =
        match args.importance_samples {
            Some(k) => Some(model.likelihood_bounds(&data, k, args.seed).map_err(|e| {
                autoencoder::Error::Invalid(format!("{}: {e}", args.model.display()))
            })?),
            None => None,
        };
    if args.json {
        let mut v = serde_json::json!({
            "examples": e.examples,
            "squared_error_per_example": e.squared_error_per_example,
            "reconstruction_nll_per_example": e.loss_per_example,
        });
        if bernoulli {
            v["cross_entropy_per_example"] = e.loss_per_example.into();
        }
        if let Some(b) = &bounds {
            v["importance_samples"] = b.samples.into();
            v["negative_elbo_per_example"] = b.negative_elbo_per_example.into();
            v["nll_per_example"] = b.nll_per_example.into();
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
        if let Some(b) = &bounds {
            println!(
                "-ELBO per example          {:.4}",
                b.negative_elbo_per_example
            );
            println!(
                "NLL per example (k={})  {:.4}",
                b.samples, b.nll_per_example
            );
        }
    }
    Ok(())
}
