//! Subcommands, one file each.

mod bench;
mod demo;
mod embed;
mod embedding_quality;
mod eval;
mod export;
mod hash;
mod pca;
mod plot;
mod probe;
mod progress;
mod retrieval;
mod runs;
mod sample;
mod score;
mod search;
mod sparse_encode;
mod tangent;
mod text;
mod toy;
mod train;
mod transform;

use autoencoder::data::csv::LabelColumn;
use autoencoder::{data, Error, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "autoencoder",
    version,
    about = "Every autoencoder of Deep Learning ch. 14, fast."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model from a TOML config; writes a run folder.
    Train(train::Args),
    /// Reconstruction error of a trained model on data.
    Eval(eval::Args),
    /// Write the codes h = f(x) of data (.npy or .csv by extension).
    Encode(transform::Args),
    /// Write the reconstructions g(f(x)) of data (.npy or .csv by extension).
    Reconstruct(transform::Args),
    /// Samples: decoded prior draws (Gaussian codes), Gibbs chains (RBMs) or denoising chains.
    Sample(sample::Args),
    /// Linear probe and fine-tuned classifier on a model's codes (test error rates).
    Probe(probe::Args),
    /// Principal component analysis baseline.
    Pca(pca::Args),
    /// Train a deep autoencoder on the shipped MNIST subset and compare with PCA.
    Demo(demo::Args),
    /// The anchor benchmark workload (Hinton & Salakhutdinov deep AE on MNIST).
    Bench(bench::Args),
    /// Fit a binary hashing encoder (LSH, PCA hashing, ITQ; on the data or on a model's codes) and write packed codes.
    Hash(hash::Args),
    /// Hamming k-NN or radius search of packed codes.
    Search(search::Args),
    /// Retrieval quality of codes: precision@k, mAP@k, precision–recall over radii.
    Retrieval(retrieval::Args),
    /// Quality of a map: trustworthiness, continuity, k-NN accuracy (leave-one-out, and of test
    /// points against training points).
    EmbeddingQuality(embedding_quality::Args),
    /// 2-D maps: fit PCA, Isomap, LLE or t-SNE (and embed new points where the method can), or
    /// map data through a model with a 2-D code.
    Embed(embed::Args),
    /// Plot one metric per epoch of several runs on shared axes (PNG).
    Plot(plot::Args),
    /// Many run folders in one table: the config keys that differ, epochs, seconds, final and
    /// best validation metrics (--json: a JSON array; --plot KEY: their curves together).
    Runs(runs::Args),
    /// Lasso codes for a given dictionary by FISTA or ISTA (sparse coding, §14.8).
    SparseEncode(sparse_encode::Args),
    /// Toy data with known answers: 2-D densities (true score) or manifolds (true tangents).
    Toy(toy::Args),
    /// The score ∇ log p(x) a Gaussian-corruption denoising autoencoder has learned, (r(x) − x)/σ².
    Score(score::Args),
    /// Tangent planes from the encoder's or the reconstruction's Jacobian (or local PCA), with singular values.
    Tangent(tangent::Args),
    /// A text corpus to a bag-of-words matrix (.npz, scipy's CSR layout) with labels.
    Text(text::Args),
    /// Export a model's encoder, decoder or whole autoencoder as ONNX (opset 13).
    Export(export::Args),
}

/// Runs the CLI; returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Encode(a) => transform::run(a, false),
        Command::Reconstruct(a) => transform::run(a, true),
        Command::Pca(a) => pca::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Sample(a) => sample::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Hash(a) => hash::run(a),
        Command::Search(a) => search::run(a),
        Command::Retrieval(a) => retrieval::run(a),
        Command::EmbeddingQuality(a) => embedding_quality::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Plot(a) => plot::run(a),
        Command::Runs(a) => runs::run(a),
        Command::Export(a) => export::run(a),
        Command::Toy(a) => toy::run(a),
        Command::SparseEncode(a) => sparse_encode::run(a),
        Command::Score(a) => score::run(a),
        Command::Tangent(a) => tangent::run(a),
        Command::Text(a) => text::run(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", one_line(&e.to_string()));
            2
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn label_column(label_column: Option<&str>) -> Result<Option<LabelColumn>> {
    label_column
        .map(|s| {
            LabelColumn::parse(s).ok_or_else(|| {
                Error::Invalid(format!(
                    "--label-column: expected a number or \"last\", got {s:?}"
                ))
            })
        })
        .transpose()
}

/// Loads a data file and its labels, with an optional CSV label column (`N` or `last`).
pub(crate) fn load_data(path: &Path, label_column: Option<&str>) -> Result<data::Dataset> {
    data::load(path, self::label_column(label_column)?)
}

/// Loads only the features of a data file (no labels file is read), for commands that never
/// use labels.
pub(crate) fn load_features(
    path: &Path,
    label_column: Option<&str>,
) -> Result<autoencoder::Matrix> {
    data::load_features(path, self::label_column(label_column)?)
}

/// The features of a data file as model `model_dir` reads them: with the input transform its
/// run fitted (`transform.json`, from `[data] transform`) applied.
pub(crate) fn load_model_input(
    model_dir: &Path,
    path: &Path,
    label_column: Option<&str>,
) -> Result<autoencoder::Matrix> {
    let mut x = load_features(path, label_column)?;
    apply_saved_transform(model_dir, path, &mut x)?;
    Ok(x)
}

/// Applies run `model_dir`'s fitted input transform, if it has one, to `x` read from `path`.
fn apply_saved_transform(model_dir: &Path, path: &Path, x: &mut autoencoder::Matrix) -> Result<()> {
    if let Some(t) = autoencoder::data::transform::InputTransform::load(model_dir)? {
        t.apply(x).map_err(|e| Error::format(path, e.to_string()))?;
    }
    Ok(())
}

/// A data file and its labels as model `model_dir` reads them (see [`load_model_input`]).
pub(crate) fn load_model_data(
    model_dir: &Path,
    path: &Path,
    label_column: Option<&str>,
) -> Result<data::Dataset> {
    let mut d = load_data(path, label_column)?;
    apply_saved_transform(model_dir, path, &mut d.features)?;
    Ok(d)
}

/// Checks that the data read from `path` has the `expected` number of columns, naming the file.
pub(crate) fn check_width(path: &Path, data: &autoencoder::Matrix, expected: usize) -> Result<()> {
    if data.cols() != expected {
        return Err(Error::format(
            path,
            format!("{} columns, the model reads {expected}", data.cols()),
        ));
    }
    Ok(())
}

/// Checks `dir` can be created and written, before any long work starts.
pub(crate) fn ensure_writable_dir(dir: &Path) -> Result<()> {
    autoencoder::fsutil::create_dir(dir)?;
    let probe: PathBuf = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| Error::io(dir, e))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Prints one JSON object on stdout.
pub(crate) fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string(value).unwrap_or_default());
}

/// The corruption a run folder's model was trained with: recorded in its `spec.json`, or — in
/// folders saved before the spec recorded it — read from the folder's `config.toml`.
pub(crate) fn training_corruption(
    dir: &Path,
    model: &autoencoder::Autoencoder,
) -> Result<Option<autoencoder::Corruption>> {
    if let Some(c) = model.spec().corruption {
        return Ok(Some(c));
    }
    let path = dir.join("config.toml");
    if !path.exists() {
        return Ok(None);
    }
    Ok(autoencoder::config::RunConfig::load(&path)?
        .train_config()?
        .objective
        .corruption)
}
