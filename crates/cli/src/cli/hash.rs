//! `autoencoder hash`: fit a classical binary encoder (LSH, PCA hashing, ITQ), or threshold a
//! trained model's codes (`--method autoencoder`: semantic hashing, §14.9), and write packed
//! codes (NPY u8, FAISS bit order).

use autoencoder::code::CodeDistribution;
use autoencoder::folder::AnyModel;
use autoencoder::hashing::{Codes, Encoder, Method};
use autoencoder::rbm::Units;
use autoencoder::{Activation, Error, Matrix, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Encoder: lsh, pcah, itq, or autoencoder (a trained model's codes, thresholded). With
    /// --model, lsh/pcah/itq are fit on the model's codes instead of the data (a learned
    /// representation quantized by ITQ: better than ITQ on the raw data, BENCHMARKS.md).
    #[arg(long)]
    method: String,
    /// Code length in bits (a multiple of 8); for `autoencoder`, the model's code size.
    #[arg(long)]
    bits: Option<usize>,
    /// Training data the encoder is fit on (IDX, NPY, NPZ or CSV); for `autoencoder`, the data
    /// whose per-bit medians `--threshold median` uses.
    #[arg(long)]
    fit: Option<PathBuf>,
    /// `autoencoder`: the run folder of a model whose code size is a multiple of 8; with
    /// lsh/pcah/itq, a model whose codes the encoder is fit on and applied to.
    #[arg(long)]
    model: Option<PathBuf>,
    /// `autoencoder`: a bit is on where the code exceeds 0.5 (binary or sigmoid codes; the
    /// default for them), a number, or `median` (each bit's median over --fit; the default for
    /// other codes).
    #[arg(long)]
    threshold: Option<String>,
    /// Data to encode; repeat to encode several sets with one fit (pair each with an --out).
    #[arg(long, required = true)]
    data: Vec<PathBuf>,
    /// Output codes (.npy, shape n × bits/8, uint8); one per --data, in order.
    #[arg(long, required = true)]
    out: Vec<PathBuf>,
    /// Seed of LSH's hyperplanes and ITQ's initial rotation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn check_outputs(args: &Args) -> Result<()> {
    if args.data.len() != args.out.len() {
        return Err(Error::Invalid(format!(
            "{} --data but {} --out: give one output per data file",
            args.data.len(),
            args.out.len()
        )));
    }
    if let Some(o) = args
        .out
        .iter()
        .find(|o| o.extension().is_none_or(|e| e != "npy"))
    {
        return Err(Error::format(o, "codes are written as .npy"));
    }
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    check_outputs(&args)?;
    if args.method == "autoencoder" {
        return run_model(&args);
    }
    let method = Method::parse(&args.method)?;
    if args.threshold.is_some() {
        return Err(Error::Invalid(
            "--threshold is for --method autoencoder".into(),
        ));
    }
    // with --model, the classical encoder is fit on (and applied to) the model's codes: a
    // learned representation quantized by ITQ's rotation (or PCA hashing, or LSH)
    let model = match &args.model {
        None => None,
        Some(dir) => match autoencoder::folder::load_any(dir)? {
            AnyModel::Autoencoder(m) => Some((dir, m)),
            _ => {
                return Err(Error::format(
                    dir,
                    "--model with lsh, pcah or itq needs an autoencoder (its codes are hashed)",
                ))
            }
        },
    };
    let features = |path: &PathBuf| -> Result<Matrix> {
        match &model {
            None => super::load_features(path, None),
            Some((dir, m)) => {
                let x = super::load_model_input(dir, path, None)?;
                m.encode(&x).map_err(|e| Error::format(path, e.to_string()))
            }
        }
    };
    let (Some(bits), Some(fit)) = (args.bits, args.fit.clone()) else {
        return Err(Error::Invalid(format!(
            "--method {}: give --bits and --fit",
            method.name()
        )));
    };
    autoencoder::hashing::codes::check_bits(bits)?;
    let fit_path = fit;
    let train = features(&fit_path)?;
    let t = Instant::now();
    let encoder = Encoder::fit(method, &train, bits, args.seed)
        .map_err(|e| Error::format(&fit_path, e.to_string()))?;
    let fit_seconds = t.elapsed().as_secs_f64();
    let mut outputs = Vec::new();
    for (data, out) in args.data.iter().zip(&args.out) {
        let x = if *data == fit_path {
            train.clone()
        } else {
            features(data)?
        };
        let t = Instant::now();
        let codes = encoder
            .encode(&x)
            .map_err(|e| Error::format(data, e.to_string()))?;
        let seconds = t.elapsed().as_secs_f64();
        codes.write_npy(out)?;
        outputs.push(serde_json::json!({
            "data": data, "out": out, "codes": codes.len(), "encode_seconds": seconds,
        }));
        if !args.json {
            println!(
                "{} → {}: {} codes of {} bits in {seconds:.3} s",
                data.display(),
                out.display(),
                codes.len(),
                bits
            );
        }
    }
    if args.json {
        super::print_json(&serde_json::json!({
            "method": method.name(),
            "model": args.model,
            "bits": bits,
            "fit_examples": train.rows(),
            "fit_seconds": fit_seconds,
            "itq_loss": encoder.itq_loss.last(),
            "outputs": outputs,
        }));
    } else {
        println!(
            "{} {} bits fit on {} examples in {fit_seconds:.2} s",
            method.name(),
            bits,
            train.rows()
        );
    }
    Ok(())
}

/// `--method autoencoder`: the model's codes, one bit per code unit, on where above the
/// threshold.
fn run_model(args: &Args) -> Result<()> {
    let Some(dir) = &args.model else {
        return Err(Error::Invalid(
            "--method autoencoder needs --model RUN_FOLDER".into(),
        ));
    };
    let model = autoencoder::folder::load_any(dir)?;
    let (bits, squashed) = match &model {
        AnyModel::Autoencoder(m) => (
            m.spec().code_size,
            m.spec().code_distribution == CodeDistribution::Binary
                || m.spec().code_activation == Activation::Sigmoid,
        ),
        AnyModel::Rbm(r) => (r.spec().hidden, r.spec().hidden_units == Units::Bernoulli),
        other => {
            return Err(other.unsupported(
                dir,
                "--method autoencoder hashes the codes of an autoencoder or an RBM",
            ))
        }
    };
    autoencoder::hashing::codes::check_bits(bits)
        .map_err(|e| Error::format(dir, format!("code size {bits}: {e}")))?;
    if let Some(b) = args.bits.filter(|b| *b != bits) {
        return Err(Error::Invalid(format!(
            "--bits {b}: the model's codes have {bits} bits"
        )));
    }
    let encode = |x: &Matrix, path: &std::path::Path| -> Result<Matrix> {
        let h = match &model {
            AnyModel::Autoencoder(m) => m.encode(x),
            AnyModel::Rbm(r) => r.hidden_means(x),
            other => {
                return Err(other.unsupported(
                    dir,
                    "--method autoencoder hashes the codes of an autoencoder or an RBM",
                ))
            }
        };
        h.map_err(|e| Error::format(path, e.to_string()))
    };
    let threshold = args.threshold.clone().unwrap_or_else(|| {
        if squashed {
            "0.5".into()
        } else {
            "median".into()
        }
    });
    let t = Instant::now();
    let thresholds: Vec<f32> = if threshold == "median" {
        let Some(fit) = &args.fit else {
            return Err(Error::Invalid(
                "--threshold median needs --fit TRAINING_DATA (each bit's median over it)".into(),
            ));
        };
        let h = encode(&super::load_model_input(dir, fit, None)?, fit)?;
        (0..bits)
            .map(|j| {
                let mut col: Vec<f32> = (0..h.rows()).map(|r| h.row(r)[j]).collect();
                col.sort_by(f32::total_cmp);
                col[col.len() / 2]
            })
            .collect()
    } else {
        let v: f32 = threshold
            .parse()
            .ok()
            .filter(|v: &f32| v.is_finite())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "--threshold: expected a number or \"median\", got {threshold:?}"
                ))
            })?;
        vec![v; bits]
    };
    let fit_seconds = t.elapsed().as_secs_f64();
    let mut outputs = Vec::new();
    for (data, out) in args.data.iter().zip(&args.out) {
        let x = super::load_model_input(dir, data, None)?;
        let t = Instant::now();
        let h = encode(&x, data)?;
        let codes = Codes::from_fn(h.rows(), bits, |i, j| h.row(i)[j] > thresholds[j])?;
        let seconds = t.elapsed().as_secs_f64();
        // how binary the codes are: the fraction of units within 0.1 of 0 or 1
        let saturated = h
            .as_slice()
            .iter()
            .filter(|v| **v < 0.1 || **v > 0.9)
            .count() as f64
            / h.as_slice().len().max(1) as f64;
        codes.write_npy(out)?;
        outputs.push(serde_json::json!({
            "data": data, "out": out, "codes": codes.len(), "encode_seconds": seconds,
            "saturated_fraction": saturated,
        }));
        if !args.json {
            println!(
                "{} → {}: {} codes of {bits} bits in {seconds:.3} s ({:.1} % of units within 0.1 of 0 or 1)",
                data.display(),
                out.display(),
                codes.len(),
                100.0 * saturated
            );
        }
    }
    if args.json {
        super::print_json(&serde_json::json!({
            "method": "autoencoder",
            "bits": bits,
            "threshold": threshold,
            "fit_seconds": fit_seconds,
            "outputs": outputs,
        }));
    }
    Ok(())
}
