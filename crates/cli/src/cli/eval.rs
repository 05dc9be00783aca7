//! `autoencoder eval`.

use autoencoder::{Error, Likelihood, Result};
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
    /// RBMs: estimate log Z by annealed importance sampling with this many runs (adds
    /// log_partition, log_partition_stderr, log_likelihood_per_example).
    #[arg(long)]
    ais_runs: Option<usize>,
    /// RBMs: intermediate distributions of each AIS run.
    #[arg(long, default_value_t = 10_000)]
    ais_betas: usize,
    /// RBMs: exact log Z by enumeration (a Bernoulli layer of at most 20 units).
    #[arg(long)]
    exact: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// More AIS work than this (runs × distributions) is a typo.
const MAX_AIS_WORK: usize = 1 << 32;

/// `eval` of an RBM: reconstruction error, free energy, and with `--ais-runs` or `--exact`
/// log Z and the test log-likelihood.
fn eval_rbm(rbm: &autoencoder::rbm::Rbm, args: &Args) -> Result<()> {
    let data = super::load_model_input(&args.model, &args.data, args.label_column.as_deref())?;
    let wrap = |e: autoencoder::Error| autoencoder::Error::format(&args.data, e.to_string());
    let error = rbm.reconstruction_error(&data).map_err(wrap)?;
    let f = rbm.free_energy(&data).map_err(wrap)?;
    let mean_f = f.iter().sum::<f64>() / f.len().max(1) as f64;
    let mut v = serde_json::json!({
        "examples": data.rows(),
        "squared_error_per_example": error,
        "free_energy_per_example": mean_f,
    });
    let model_err = |e: autoencoder::Error| {
        autoencoder::Error::Invalid(format!("{}: {e}", args.model.display()))
    };
    let log_z = if args.exact {
        let z = rbm.exact_log_partition().map_err(model_err)?;
        v["log_partition"] = z.into();
        v["log_partition_method"] = "exact".into();
        Some(z)
    } else if let Some(runs) = args.ais_runs {
        if runs == 0 || args.ais_betas < 2 || runs.saturating_mul(args.ais_betas) > MAX_AIS_WORK {
            return Err(autoencoder::Error::Invalid(format!(
                "--ais-runs ≥ 1 and --ais-betas ≥ 2, at most {MAX_AIS_WORK} in product; got {runs} and {}",
                args.ais_betas
            )));
        }
        let est =
            autoencoder::analysis::ais::log_partition(rbm, &data, runs, args.ais_betas, args.seed)
                .map_err(model_err)?;
        v["log_partition"] = est.log_partition.into();
        v["log_partition_stderr"] = est.stderr.into();
        v["ais_runs"] = runs.into();
        v["ais_betas"] = args.ais_betas.into();
        v["log_partition_method"] = "ais".into();
        Some(est.log_partition)
    } else {
        None
    };
    if let Some(z) = log_z {
        v["log_likelihood_per_example"] = (-mean_f - z).into();
    }
    if args.json {
        super::print_json(&v);
    } else if let Some(map) = v.as_object() {
        for (k, val) in map {
            println!("{k:<28} {val}");
        }
    }
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    let model = match autoencoder::folder::load_any(&args.model)? {
        autoencoder::folder::AnyModel::Rbm(rbm) => return eval_rbm(&rbm, &args),
        autoencoder::folder::AnyModel::Psd(_) => {
            return Err(Error::Invalid(format!(
                "{}: a PSD model is evaluated by `autoencoder encode --inference predictor|fista --json`",
                args.model.display()
            )))
        }
        autoencoder::folder::AnyModel::Autoencoder(model) => model,
        other => {
            return Err(other.unsupported(&args.model, "eval reads autoencoders and RBMs"))
        }
    };
    let data = super::load_model_input(&args.model, &args.data, args.label_column.as_deref())?;
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
