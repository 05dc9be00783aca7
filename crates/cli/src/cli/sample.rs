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
}

/// More samples than this are a typo, not a request (and would not fit in memory).
const MAX_SAMPLES: usize = 1_000_000;

pub fn run(args: Args) -> Result<()> {
    if args.n == 0 || args.n > MAX_SAMPLES {
        return Err(Error::Invalid(format!(
            "--n must be between 1 and {MAX_SAMPLES}, got {}",
            args.n
        )));
    }
    let model = persist::load_model(&args.model)?;
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
    if args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        autoencoder::report::plots::image_grid(&images, 8, &args.out)
    } else {
        data::save_matrix(&args.out, &images)
    }
}
