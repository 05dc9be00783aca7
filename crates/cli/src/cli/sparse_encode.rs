//! `autoencoder sparse-encode`: lasso codes of data for a given dictionary by FISTA or ISTA
//! (the inference of predictive sparse decomposition, chapter 14.8), like scikit-learn's
//! `sparse_encode`.

use autoencoder::sparse_coding::{infer, objective, InferenceOptions, Solver, SparseCoder};
use autoencoder::{data, Error, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Dictionary: .npy of shape (inputs, atoms), one atom per column.
    #[arg(long)]
    dictionary: PathBuf,
    /// Data to encode.
    #[arg(long)]
    data: PathBuf,
    /// Output codes, (n, atoms): .npy or .csv.
    #[arg(long)]
    out: PathBuf,
    /// λ of E(h) = ‖x − D h‖² + λ‖h‖₁.
    #[arg(long)]
    lambda: f32,
    /// fista or ista.
    #[arg(long, default_value = "fista")]
    inference: String,
    /// Iteration cap.
    #[arg(long, default_value_t = 1000)]
    iterations: usize,
    /// Stop a row when its codes change by less than this, relative to their norm.
    #[arg(long, default_value_t = 1e-4)]
    tolerance: f32,
    /// Print JSON: objective_per_example, zero_fraction, seconds, iterations (mean).
    #[arg(long)]
    json: bool,
    /// CSV label column (N or last), excluded from the features.
    #[arg(long)]
    label_column: Option<String>,
}

/// More iterations than this are a typo.
const MAX_ITERATIONS: usize = 10_000_000;

pub fn run(args: Args) -> Result<()> {
    let solver = match args.inference.as_str() {
        "fista" => Solver::Fista,
        "ista" => Solver::Ista,
        other => {
            return Err(Error::Invalid(format!(
                "--inference: expected fista or ista, got {other:?}"
            )))
        }
    };
    if args.iterations == 0 || args.iterations > MAX_ITERATIONS {
        return Err(Error::Invalid(format!(
            "--iterations must be between 1 and {MAX_ITERATIONS}, got {}",
            args.iterations
        )));
    }
    let dictionary = data::npy::read_matrix(&args.dictionary)?;
    let x = super::load_features(&args.data, args.label_column.as_deref())?;
    super::check_width(&args.data, &x, dictionary.rows())?;
    let coder = SparseCoder::new(dictionary.as_slice(), dictionary.rows(), dictionary.cols())
        .map_err(|e| Error::format(&args.dictionary, e.to_string()))?;
    let options = InferenceOptions {
        lambda: args.lambda,
        max_iterations: args.iterations,
        tolerance: args.tolerance,
        solver,
    };
    let started = Instant::now();
    let out = infer(&coder, &x, None, &options)?;
    let seconds = started.elapsed().as_secs_f64();
    data::save_matrix(&args.out, &out.codes)?;
    if args.json {
        let n = x.rows() as f64;
        let e = objective(coder.dictionary(), &x, &out.codes, args.lambda);
        let zeros = out.codes.as_slice().iter().filter(|v| **v == 0.0).count();
        super::print_json(&serde_json::json!({
            "objective_per_example": e.iter().sum::<f64>() / n,
            "zero_fraction": zeros as f64 / out.codes.as_slice().len() as f64,
            "seconds": seconds,
            "iterations": out.iterations.iter().sum::<usize>() as f64 / n,
            "lipschitz": coder.lipschitz(),
        }));
    }
    Ok(())
}
