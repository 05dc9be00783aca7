//! `autoencoder encode` and `autoencoder reconstruct`.

use autoencoder::{data, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model folder.
    #[arg(long)]
    model: PathBuf,
    /// Input data.
    #[arg(long)]
    data: PathBuf,
    /// Output file: .npy or .csv.
    #[arg(long)]
    out: PathBuf,
    /// CSV label column (N or last), excluded from the features.
    #[arg(long)]
    label_column: Option<String>,
    /// PSD models: `predictor` (f(x), one matrix product), `fista` or `ista` (the lasso codes
    /// of the dictionary, warm-started at f(x)).
    #[arg(long)]
    inference: Option<String>,
    /// PSD models: print JSON (objective_per_example, zero_fraction, seconds, iterations).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, reconstruct: bool) -> Result<()> {
    let model = autoencoder::folder::load_any(&args.model)?;
    let input = super::load_model_input(&args.model, &args.data, args.label_column.as_deref())?;
    if let autoencoder::folder::AnyModel::Psd(psd) = &model {
        return psd_codes(psd, &input, &args, reconstruct);
    }
    if args.inference.is_some() || args.json {
        return Err(autoencoder::Error::Invalid(format!(
            "{}: --inference and --json are for PSD models (model.kind = \"psd\")",
            args.model.display()
        )));
    }
    let wrap = |e: autoencoder::Error| autoencoder::Error::format(&args.data, e.to_string());
    let out = match (&model, reconstruct) {
        (autoencoder::folder::AnyModel::Autoencoder(m), true) => {
            let mut out = m.reconstruct(&input).map_err(wrap)?;
            // in the data's units: a fitted standardize undone
            if let Some(t) = autoencoder::data::transform::InputTransform::load(&args.model)? {
                t.invert(&mut out).map_err(wrap)?;
            }
            out
        }
        (autoencoder::folder::AnyModel::Autoencoder(m), false) => m.encode(&input).map_err(wrap)?,
        // an RBM's code is E[h | v]; its reconstruction E[v | E[h | v]]
        (autoencoder::folder::AnyModel::Rbm(r), true) => r
            .visible_means(&r.hidden_means(&input).map_err(wrap)?)
            .map_err(wrap)?,
        (autoencoder::folder::AnyModel::Rbm(r), false) => r.hidden_means(&input).map_err(wrap)?,
        (other, _) => {
            return Err(other.unsupported(
                &args.model,
                "encode and reconstruct read autoencoders, RBMs and PSD",
            ))
        }
    };
    data::save_matrix(&args.out, &out)
}

/// PSD codes by the predictor or by (F)ISTA; `reconstruct` writes `D h` instead.
fn psd_codes(
    psd: &autoencoder::psd::Psd,
    input: &autoencoder::Matrix,
    args: &Args,
    reconstruct: bool,
) -> Result<()> {
    use autoencoder::sparse_coding::{objective, Solver};
    super::check_width(&args.data, input, psd.spec().inputs)?;
    let started = std::time::Instant::now();
    let (codes, iterations) = match args.inference.as_deref().unwrap_or("fista") {
        "predictor" => {
            if psd.spec().predictor == autoencoder::psd::Predictor::None {
                return Err(autoencoder::Error::format(
                    &args.model,
                    "this model was trained without a predictor (model.predictor = \"none\"); use --inference fista",
                ));
            }
            (psd.predict(input)?, None)
        }
        "fista" => {
            let out = psd.sparse_codes(input, Solver::Fista)?;
            (out.codes, Some(out.iterations))
        }
        "ista" => {
            let out = psd.sparse_codes(input, Solver::Ista)?;
            (out.codes, Some(out.iterations))
        }
        other => {
            return Err(autoencoder::Error::Invalid(format!(
                "--inference: expected predictor, fista or ista, got {other:?}"
            )))
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let (d, m) = (psd.spec().inputs, psd.spec().atoms);
    let out = if reconstruct {
        let mut r = autoencoder::Matrix::zeros(codes.rows(), d);
        for i in 0..codes.rows() {
            for (k, v) in r.row_mut(i).iter_mut().enumerate() {
                *v = psd.dictionary[k * m..(k + 1) * m]
                    .iter()
                    .zip(codes.row(i))
                    .map(|(a, b)| a * b)
                    .sum();
            }
        }
        r
    } else {
        codes.clone()
    };
    data::save_matrix(&args.out, &out)?;
    if args.json {
        let n = codes.rows().max(1) as f64;
        let e = objective(&psd.dictionary, input, &codes, psd.spec().lambda);
        let zeros = codes.as_slice().iter().filter(|v| **v == 0.0).count();
        let mut json = serde_json::json!({
            "objective_per_example": e.iter().sum::<f64>() / n,
            "zero_fraction": zeros as f64 / codes.as_slice().len().max(1) as f64,
            "seconds": seconds,
        });
        if let Some(it) = iterations {
            json["iterations"] = (it.iter().sum::<usize>() as f64 / n).into();
        }
        super::print_json(&json);
    }
    Ok(())
}
