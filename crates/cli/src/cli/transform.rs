//! `autoencoder encode` and `autoencoder reconstruct`.

use autoencoder::model::persist;
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
}

pub fn run(args: Args, reconstruct: bool) -> Result<()> {
    let model = persist::load_any(&args.model)?;
    let input = super::load_features(&args.data, args.label_column.as_deref())?;
    let wrap = |e: autoencoder::Error| autoencoder::Error::format(&args.data, e.to_string());
    let out = match (&model, reconstruct) {
        (persist::AnyModel::Autoencoder(m), true) => m.reconstruct(&input).map_err(wrap)?,
        (persist::AnyModel::Autoencoder(m), false) => m.encode(&input).map_err(wrap)?,
        // an RBM's code is E[h | v]; its reconstruction E[v | E[h | v]]
        (persist::AnyModel::Rbm(r), true) => r
            .visible_means(&r.hidden_means(&input).map_err(wrap)?)
            .map_err(wrap)?,
        (persist::AnyModel::Rbm(r), false) => r.hidden_means(&input).map_err(wrap)?,
    };
    data::save_matrix(&args.out, &out)
}
