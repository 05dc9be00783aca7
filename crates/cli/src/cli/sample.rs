//! `autoencoder sample`: decode codes drawn from the prior `N(0, I)`.

use autoencoder::linalg::Rng;
use autoencoder::model::persist;
use autoencoder::objective::CodeDistribution;
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
    /// RBMs: Gibbs steps of each chain (started from uniform random visible units).
    #[arg(long, default_value_t = 1000)]
    chain_steps: usize,
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
    let model = match persist::load_any(&args.model)? {
        persist::AnyModel::Rbm(rbm) => return sample_rbm(&rbm, &args),
        persist::AnyModel::Autoencoder(model) => model,
    };
    if model.spec().code_distribution != CodeDistribution::Gaussian {
        return Err(Error::Invalid(format!(
            "{}: the model's code is deterministic; sampling from the prior N(0, I) needs a model trained with code_distribution = \"gaussian\"",
            args.model.display()
        )));
    }
    let k = model.spec().code_size;
    let mut rng = Rng::new(args.seed);
    let codes = Matrix::from_vec(args.n, k, (0..args.n * k).map(|_| rng.normal()).collect());
    let images = model.decode(&codes)?;
    write(&images, &args)
}

/// `--n` Gibbs chains of `--chain-steps` steps; writes their last visible means.
fn sample_rbm(rbm: &autoencoder::model::rbm::Rbm, args: &Args) -> Result<()> {
    if args.chain_steps == 0 || args.chain_steps > MAX_CHAIN_STEPS {
        return Err(Error::Invalid(format!(
            "--chain-steps must be between 1 and {MAX_CHAIN_STEPS}, got {}",
            args.chain_steps
        )));
    }
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
