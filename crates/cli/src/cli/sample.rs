//! `autoencoder sample`: decode codes drawn from the prior `N(0, I)` (Gaussian-code models),
//! run Gibbs chains (RBMs), or run a denoising autoencoder's corrupt-then-reconstruct chain
//! (models trained with a corruption; Bengio et al. 2013).

use autoencoder::code::CodeDistribution;
use autoencoder::linalg::Rng;
use autoencoder::{data, Error, Matrix, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model folder.
    #[arg(long)]
    model: PathBuf,
    /// Number of samples.
    #[arg(long, default_value_t = 64)]
    n: usize,
    /// Output: .npy or .csv (decoded means), or .png (a grid, for square images).
    #[arg(long)]
    out: PathBuf,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// RBMs: Gibbs steps of each chain (started from uniform random visible units);
    /// denoising models: corrupt-and-draw steps of each chain.
    #[arg(long, default_value_t = 1000)]
    chain_steps: usize,
    /// Denoising models: start the chains from rows of this data (drawn with the seed).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Denoising models: start the chains from noise (uniform in [0, 1] for a Bernoulli output,
    /// N(0, I) for a Gaussian one) instead of data.
    #[arg(long, conflicts_with = "data")]
    from_noise: bool,
    /// Denoising models: step to the decoder's mean instead of drawing from its distribution.
    #[arg(long)]
    mean: bool,
    /// Compare the samples with these reference samples: prints JSON with energy_distance.
    #[arg(long)]
    reference: Option<PathBuf>,
    /// CSV label column (N or last) of --data and --reference, excluded from the features.
    #[arg(long)]
    label_column: Option<String>,
}

/// More Gibbs steps than this are a typo.
const MAX_CHAIN_STEPS: usize = 10_000_000;

/// More samples than this are a typo, not a request (and would not fit in memory).
const MAX_SAMPLES: usize = 1_000_000;

pub fn run(args: Args) -> Result<()> {
    if args.n == 0 || args.n > MAX_SAMPLES {
        return Err(Error::Invalid(format!(
            "--n must be between 1 and {MAX_SAMPLES}, got {}",
            args.n
        )));
    }
    let model = match autoencoder::folder::load_any(&args.model)? {
        autoencoder::folder::AnyModel::Rbm(rbm) => return sample_rbm(&rbm, &args),
        autoencoder::folder::AnyModel::Psd(_) => {
            return Err(Error::Invalid(format!(
                "{}: a PSD model is not generative; nothing to sample",
                args.model.display()
            )))
        }
        autoencoder::folder::AnyModel::Autoencoder(model) => model,
        other => {
            return Err(other.unsupported(&args.model, "sample draws from autoencoders and RBMs"))
        }
    };
    let corruption = super::training_corruption(&args.model, &model)?;
    let chain_asked = args.data.is_some() || args.from_noise || args.mean;
    if let Some(corruption) = corruption {
        if chain_asked || model.spec().code_distribution != CodeDistribution::Gaussian {
            return sample_dae(&model, corruption, &args);
        }
    } else if chain_asked {
        return Err(Error::Invalid(format!(
            "{}: --data, --from-noise and --mean run a denoising chain, which needs a model trained with a [corruption]",
            args.model.display()
        )));
    }
    if model.spec().code_distribution != CodeDistribution::Gaussian {
        return Err(Error::Invalid(format!(
            "{}: the model's code is deterministic and it was trained without corruption; sampling needs a prior (code_distribution = \"gaussian\") or a denoising chain ([corruption])",
            args.model.display()
        )));
    }
    let k = model.spec().code_size;
    let mut rng = Rng::new(args.seed);
    let codes = Matrix::from_vec(args.n, k, (0..args.n * k).map(|_| rng.normal()).collect());
    let images = model.decode(&codes)?;
    write(&images, &args)
}

/// `--n` denoising chains of `--chain-steps` steps (Bengio et al. 2013): corrupt, then draw
/// from the decoder's distribution; writes their last states.
fn sample_dae(
    model: &autoencoder::Autoencoder,
    corruption: autoencoder::Corruption,
    args: &Args,
) -> Result<()> {
    check_chain_steps(args.chain_steps)?;
    let d = model.spec().input_size;
    let mut rng = Rng::new(args.seed);
    let start =
        match &args.data {
            Some(path) => {
                let x = super::load_features(path, args.label_column.as_deref())?;
                super::check_width(path, &x, d)?;
                let rows: Vec<usize> = (0..args.n).map(|_| rng.below(x.rows())).collect();
                x.select_rows(&rows)
            }
            None if args.from_noise => {
                let gaussian = model.spec().output == autoencoder::Likelihood::Gaussian;
                Matrix::from_vec(
                    args.n,
                    d,
                    (0..args.n * d)
                        .map(|_| {
                            if gaussian {
                                rng.normal()
                            } else {
                                rng.uniform()
                            }
                        })
                        .collect(),
                )
            }
            None => return Err(Error::Invalid(
                "a denoising chain starts from --data X (rows drawn with the seed) or --from-noise"
                    .into(),
            )),
        };
    let samples = autoencoder::analysis::dae_chain::dae_chain(
        model,
        corruption,
        &start,
        args.chain_steps,
        args.mean,
        &mut rng,
    )?;
    write(&samples, args)?;
    if let Some(path) = &args.reference {
        let reference = super::load_features(path, args.label_column.as_deref())?;
        super::check_width(path, &reference, d)?;
        let e = autoencoder::analysis::two_sample::energy_distance(&samples, &reference)?;
        super::print_json(&serde_json::json!({
            "samples": samples.rows(),
            "reference": reference.rows(),
            "chain_steps": args.chain_steps,
            "energy_distance": e,
        }));
    }
    Ok(())
}

fn check_chain_steps(steps: usize) -> Result<()> {
    if steps == 0 || steps > MAX_CHAIN_STEPS {
        return Err(Error::Invalid(format!(
            "--chain-steps must be between 1 and {MAX_CHAIN_STEPS}, got {steps}"
        )));
    }
    Ok(())
}

/// `--n` Gibbs chains of `--chain-steps` steps; writes their last visible means.
fn sample_rbm(rbm: &autoencoder::rbm::Rbm, args: &Args) -> Result<()> {
    check_chain_steps(args.chain_steps)?;
    let d = rbm.spec().visible;
    let mut rng = Rng::new(args.seed);
    let start = Matrix::from_vec(
        args.n,
        d,
        (0..args.n * d)
            .map(|_| if rng.uniform() < 0.5 { 1.0 } else { 0.0 })
            .collect(),
    );
    let images = rbm.gibbs(&start, args.chain_steps, &mut rng)?;
    write(&images, args)
}

fn write(images: &Matrix, args: &Args) -> Result<()> {
    if args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        autoencoder::report::plots::image_grid(images, 8, &args.out)
    } else {
        data::save_matrix(&args.out, images)
    }
}
