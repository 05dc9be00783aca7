//! `autoencoder probe`: are the codes useful? A linear probe (softmax regression on frozen
//! codes) and, optionally, fine-tuning of encoder + softmax head (starting from the probe's
//! head); test error rates.

use autoencoder::classifier::{Classifier, ClassifierConfig, ClassifierEpoch};
use autoencoder::config::shortest_decimal;
use autoencoder::nn::{dropout, weight_average, OptimizerKind};
use autoencoder::psd::{Predictor, Psd};
use autoencoder::sparse_coding::Solver;
use autoencoder::{Autoencoder, Error, Matrix, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Model folder.
    #[arg(long)]
    model: PathBuf,
    /// Labelled training data (IDX with its labels file, or CSV with --label-column).
    #[arg(long)]
    train: PathBuf,
    /// Labelled test data.
    #[arg(long)]
    test: PathBuf,
    /// Labelled validation data: keep each classifier's epoch with the lowest validation error.
    #[arg(long)]
    val: Option<PathBuf>,
    /// CSV label column (N or last).
    #[arg(long)]
    label_column: Option<String>,
    /// Epochs of the linear probe.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Epochs of fine-tuning encoder + head (0 = skip).
    #[arg(long, default_value_t = 0)]
    fine_tune_epochs: usize,
    /// Adam learning rate of the linear probe.
    #[arg(long, default_value_t = 1e-2)]
    learning_rate: f32,
    /// Learning rate of fine-tuning.
    #[arg(long, default_value_t = 1e-3)]
    fine_tune_learning_rate: f32,
    /// Optimizer of fine-tuning: adam, or sgd (momentum 0.9).
    #[arg(long, default_value = "adam")]
    fine_tune_optimizer: String,
    /// Weight decay λ of fine-tuning, `(λ/2) Σ ‖W‖²` over the encoder's and the head's weights.
    #[arg(long, default_value_t = 0.0)]
    fine_tune_weight_decay: f32,
    /// Dropout rate of the encoder's hidden outputs (the code included) during fine-tuning.
    #[arg(long, default_value_t = 0.0)]
    fine_tune_dropout: f32,
    /// Dropout rate of the input image during fine-tuning.
    #[arg(long, default_value_t = 0.0)]
    fine_tune_input_dropout: f32,
    /// Decay β of a running average of the parameters during fine-tuning (e.g. 0.999; 0 = off):
    /// validation and the test error use the average (Polyak averaging).
    #[arg(long, default_value_t = 0.0)]
    fine_tune_average: f32,
    /// Minibatch size of fine-tuning.
    #[arg(long, default_value_t = 100)]
    fine_tune_batch_size: usize,
    /// With --val: compare epochs by their validation error averaged over this many epochs up
    /// to each (1 = the epoch's own error, as in the papers).
    #[arg(long, default_value_t = 1)]
    selection_window: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// PSD models: probe the codes of `predictor` (f(x), the default; fine-tunable when it is
    /// g ⊙ tanh or tanh) or of `fista` (the lasso codes of the dictionary, warm-started at f(x)).
    #[arg(long)]
    inference: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// No per-epoch progress lines on stderr.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    // Encoding and scoring run on this pool too, not only the classifiers' training.
    autoencoder::limits::check_threads("--threads", args.threads)?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .map_err(|e| Error::Invalid(format!("--threads: {e}")))?
        .install(|| probe(args))
}

fn probe(args: Args) -> Result<()> {
    if args.fine_tune_batch_size == 0 {
        return Err(Error::Invalid(
            "--fine-tune-batch-size: must be at least 1".into(),
        ));
    }
    if !(args.fine_tune_weight_decay >= 0.0 && args.fine_tune_weight_decay.is_finite()) {
        return Err(Error::Invalid(
            "--fine-tune-weight-decay: must be a finite number ≥ 0".into(),
        ));
    }
    // Checked here too, so that a bad rate fails before the linear probe's work, naming the flag.
    dropout::check_rate("--fine-tune-dropout", args.fine_tune_dropout)?;
    dropout::check_rate("--fine-tune-input-dropout", args.fine_tune_input_dropout)?;
    weight_average::check_decay("--fine-tune-average", args.fine_tune_average)?;
    for (flag, rate) in [
        ("--learning-rate", args.learning_rate),
        ("--fine-tune-learning-rate", args.fine_tune_learning_rate),
    ] {
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(Error::Invalid(format!(
                "{flag}: must be a finite number > 0, got {rate}"
            )));
        }
    }
    let optimizer = match args.fine_tune_optimizer.as_str() {
        "adam" => OptimizerKind::adam(),
        "sgd" => OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: false,
        },
        other => {
            return Err(Error::Invalid(format!(
                "--fine-tune-optimizer: expected adam or sgd, got {other:?}"
            )))
        }
    };
    if args.selection_window == 0 {
        return Err(Error::Invalid(
            "--selection-window: must be at least 1".into(),
        ));
    }
    let model = Features::load(&args)?;
    let train = super::load_model_data(&args.model, &args.train, args.label_column.as_deref())?;
    let test = super::load_model_data(&args.model, &args.test, args.label_column.as_deref())?;
    let labels = |d: &autoencoder::data::Dataset, p: &PathBuf| {
        d.labels.clone().ok_or_else(|| {
            Error::format(
                p,
                "no labels (IDX needs its -labels- file beside it, X.npy its X.labels.npy; CSV needs --label-column)",
            )
        })
    };
    let width = model.width();
    super::check_width(&args.train, &train.features, width)?;
    super::check_width(&args.test, &test.features, width)?;
    let (train_y, test_y) = (labels(&train, &args.train)?, labels(&test, &args.test)?);
    let val = match &args.val {
        Some(p) => {
            let v = super::load_model_data(&args.model, p, args.label_column.as_deref())?;
            super::check_width(p, &v.features, width)?;
            let y = labels(&v, p)?;
            Some((v.features, y))
        }
        None => None,
    };
    let config = ClassifierConfig {
        epochs: args.epochs,
        learning_rate: args.learning_rate,
        seed: args.seed,
        selection_window: args.selection_window,
        threads: args.threads,
        ..ClassifierConfig::default()
    };
    let start = Instant::now();
    let (train_h, test_h) = (
        model.encode(&train.features)?,
        model.encode(&test.features)?,
    );
    let mut probe = Classifier::linear(train_h.cols(), &train_y, args.seed);
    let val_h = match &val {
        Some((vx, _)) => Some(model.encode(vx)?),
        None => None,
    };
    let probe_val = val_h
        .as_ref()
        .zip(val.as_ref())
        .map(|(h, (_, y))| (h, y.as_slice()));
    let probe_history = probe.fit_observed(
        &train_h,
        &train_y,
        probe_val,
        &config,
        &mut epoch_printer("linear probe", args.quiet),
    )?;
    let probe_error = probe.error_rate(&test_h, &test_y)?;
    // The kept epoch is the best one on validation, so this is the error selection saw: the
    // number to compare hyperparameters by without looking at the test set.
    let probe_val_error = probe_val.map(|(h, y)| probe.error_rate(h, y)).transpose()?;
    let probe_seconds = start.elapsed().as_secs_f64();
    let mut fine = None;
    if args.fine_tune_epochs > 0 {
        let start = Instant::now();
        let mut c = model.fine_tuner(&train_y, args.seed, &probe)?;
        let history = c.fit_observed(
            &train.features,
            &train_y,
            val.as_ref().map(|(x, y)| (x, y.as_slice())),
            &ClassifierConfig {
                epochs: args.fine_tune_epochs,
                learning_rate: args.fine_tune_learning_rate,
                batch_size: args.fine_tune_batch_size,
                optimizer,
                weight_decay: args.fine_tune_weight_decay,
                input_dropout: args.fine_tune_input_dropout,
                hidden_dropout: args.fine_tune_dropout,
                weight_average: args.fine_tune_average,
                ..config.clone()
            },
            &mut epoch_printer("fine-tuning", args.quiet),
        )?;
        let val_error = val.as_ref().map(|(x, y)| c.error_rate(x, y)).transpose()?;
        // Same run, parameters not averaged: what averaging changed.
        let unaveraged_test_error = history
            .unaveraged
            .as_ref()
            .map(|u| u.classifier.error_rate(&test.features, &test_y))
            .transpose()?;
        fine = Some((
            c.error_rate(&test.features, &test_y)?,
            start.elapsed().as_secs_f64(),
            val_error,
            history,
            unaveraged_test_error,
        ));
    }
    if args.json {
        let mut v = serde_json::json!({
            "train_examples": train.features.rows(),
            "test_examples": test.features.rows(),
            "linear_probe_test_error": probe_error,
            "linear_probe_seconds": probe_seconds,
            "linear_probe_last_training_loss": probe_history.last_loss,
        });
        if let Features::Psd { fista, .. } = &model {
            v["inference"] = if *fista { "fista" } else { "predictor" }.into();
        }
        if args.val.is_some() {
            v["selection_window"] = args.selection_window.into();
        }
        if let Some(e) = probe_val_error {
            v["linear_probe_validation_error"] = e.into();
            v["linear_probe_selected_epoch"] = probe_history.selected_epoch.into();
        }
        if let Some((e, s, val_error, history, unaveraged_test_error)) = fine {
            v["fine_tuned_test_error"] = e.into();
            v["fine_tune_seconds"] = s.into();
            v["fine_tune_last_training_loss"] = history.last_loss.into();
            v["fine_tune_dropout"] = shortest_decimal(args.fine_tune_dropout).into();
            v["fine_tune_input_dropout"] = shortest_decimal(args.fine_tune_input_dropout).into();
            v["fine_tune_average"] = shortest_decimal(args.fine_tune_average).into();
            if let Some(ve) = val_error {
                v["fine_tuned_validation_error"] = ve.into();
                v["fine_tuned_selected_epoch"] = history.selected_epoch.into();
                v["fine_tuned_validation_curve"] = history.validation_errors.into();
            }
            if let (Some(u), Some(te)) = (&history.unaveraged, unaveraged_test_error) {
                v["fine_tuned_unaveraged_test_error"] = te.into();
                v["fine_tuned_unaveraged_validation_error"] =
                    u.validation_errors[u.selected_epoch - 1].into();
                v["fine_tuned_unaveraged_selected_epoch"] = u.selected_epoch.into();
                v["fine_tuned_unaveraged_validation_curve"] = u.validation_errors.clone().into();
            }
        }
        super::print_json(&v);
    } else {
        println!("linear probe test error   {:.2} %", 100.0 * probe_error);
        if let Some((e, _, val_error, history, unaveraged_test_error)) = fine {
            println!("fine-tuned test error     {:.2} %", 100.0 * e);
            if let (Some(ve), Some(epoch)) = (val_error, history.selected_epoch) {
                println!(
                    "  (epoch {epoch} of {} kept: validation error {:.2} %)",
                    history.validation_errors.len(),
                    100.0 * ve
                );
            }
            if let (Some(u), Some(te)) = (&history.unaveraged, unaveraged_test_error) {
                println!(
                    "  without averaging: test error {:.2} % (epoch {} kept: validation error {:.2} %)",
                    100.0 * te,
                    u.selected_epoch,
                    100.0 * u.validation_errors[u.selected_epoch - 1]
                );
            }
        }
    }
    Ok(())
}

/// The model whose codes are probed.
enum Features {
    Autoencoder(Autoencoder),
    /// A PSD model's codes: its predictor's, or (`fista`) the lasso codes of its dictionary.
    Psd {
        model: Psd,
        fista: bool,
    },
}

impl Features {
    fn load(args: &Args) -> Result<Features> {
        let model = autoencoder::folder::load_any(&args.model)?;
        let inference = args.inference.as_deref();
        match model {
            autoencoder::folder::AnyModel::Autoencoder(m) => match inference {
                None => Ok(Features::Autoencoder(m)),
                Some(_) => Err(Error::Invalid(format!(
                    "--inference: {} holds an autoencoder; the flag is for PSD models",
                    args.model.display()
                ))),
            },
            autoencoder::folder::AnyModel::Psd(model) => {
                let fista = match inference.unwrap_or("predictor") {
                    "predictor" => false,
                    "fista" => true,
                    other => {
                        return Err(Error::Invalid(format!(
                            "--inference: expected predictor or fista, got {other:?}"
                        )))
                    }
                };
                if !fista && model.spec().predictor == Predictor::None {
                    return Err(Error::format(
                        &args.model,
                        "this PSD model has no predictor (model.predictor = \"none\"); use --inference fista",
                    ));
                }
                if fista && args.fine_tune_epochs > 0 {
                    return Err(Error::Invalid(
                        "--fine-tune-epochs: FISTA's codes have no parameters to fine-tune; use --inference predictor".into(),
                    ));
                }
                Ok(Features::Psd { model, fista })
            }
            autoencoder::folder::AnyModel::Rbm(_) => Err(Error::format(
                &args.model,
                "this folder holds an RBM; probe the autoencoder it pretrains (train with [pretrain] method = \"rbm\")",
            )),
            other => Err(other.unsupported(&args.model, "probe reads autoencoders and PSD models")),
        }
    }

    fn width(&self) -> usize {
        match self {
            Features::Autoencoder(m) => m.spec().input_size,
            Features::Psd { model, .. } => model.spec().inputs,
        }
    }

    fn encode(&self, x: &Matrix) -> Result<Matrix> {
        match self {
            Features::Autoencoder(m) => m.encode(x),
            Features::Psd {
                model,
                fista: false,
            } => model.predict(x),
            Features::Psd { model, fista: true } => Ok(model.sparse_codes(x, Solver::Fista)?.codes),
        }
    }

    /// The encoder topped with the probe's head, for fine-tuning.
    fn fine_tuner(&self, labels: &[i64], seed: u64, probe: &Classifier) -> Result<Classifier> {
        match self {
            Features::Autoencoder(m) => {
                Classifier::from_encoder(m, labels, seed)?.with_head_of(probe)
            }
            Features::Psd { model, .. } => Classifier::from_psd_predictor(model, probe),
        }
    }
}

/// One stderr line per epoch (stdout stays for the result), unless `quiet`.
fn epoch_printer(phase: &'static str, quiet: bool) -> impl FnMut(&ClassifierEpoch) + Send {
    let start = Instant::now();
    move |e: &ClassifierEpoch| {
        if quiet {
            return;
        }
        let validation = e
            .validation_error
            .map(|v| format!(", validation error {:.2} %", 100.0 * v))
            .unwrap_or_default();
        eprintln!(
            "{phase} epoch {}/{}: loss {:.4}{validation} ({:.0} s)",
            e.epoch,
            e.epochs,
            e.training_loss,
            start.elapsed().as_secs_f64()
        );
    }
}
