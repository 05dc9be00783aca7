//! `autoencoder hash`: fit a classical binary encoder (LSH, PCA hashing, ITQ) and write packed
//! codes (NPY u8, FAISS bit order).

use autoencoder::hashing::{Encoder, Method};
use autoencoder::{Error, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Encoder: lsh, pcah or itq.
    #[arg(long)]
    method: String,
    /// Code length in bits (a multiple of 8).
    #[arg(long)]
    bits: usize,
    /// Training data the encoder is fit on (IDX, NPY or CSV).
    #[arg(long)]
    fit: PathBuf,
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

pub fn run(args: Args) -> Result<()> {
    let method = Method::parse(&args.method)?;
    autoencoder::hashing::codes::check_bits(args.bits)?;
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
    let train = super::load_features(&args.fit, None)?;
    let t = Instant::now();
    let encoder = Encoder::fit(method, &train, args.bits, args.seed)
        .map_err(|e| Error::format(&args.fit, e.to_string()))?;
    let fit_seconds = t.elapsed().as_secs_f64();
    let mut outputs = Vec::new();
    for (data, out) in args.data.iter().zip(&args.out) {
        let x = if *data == args.fit {
            train.clone()
        } else {
            super::load_features(data, None)?
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
                args.bits
            );
        }
    }
    if args.json {
        super::print_json(&serde_json::json!({
            "method": method.name(),
            "bits": args.bits,
            "fit_examples": train.rows(),
            "fit_seconds": fit_seconds,
            "itq_loss": encoder.itq_loss.last(),
            "outputs": outputs,
        }));
    } else {
        println!(
            "{} {} bits fit on {} examples in {fit_seconds:.2} s",
            method.name(),
            args.bits,
            train.rows()
        );
    }
    Ok(())
}
