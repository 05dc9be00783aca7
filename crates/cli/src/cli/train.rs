//! `autoencoder train`.

use super::progress::Progress;
use autoencoder::config::{ModelKind, RunConfig};
use autoencoder::data::rows::{self, Rows};
use autoencoder::data::transform::InputTransform;
use autoencoder::model::Autoencoder;
use autoencoder::rbm::config::CheckedRbm;
use autoencoder::rbm::contrastive_divergence::RbmLearner;
use autoencoder::rbm::{Rbm, Units};
use autoencoder::report::run::write_report;
use autoencoder::report::tensorboard::{self, TensorBoard};
use autoencoder::run::{self, RunObserver, Start};
use autoencoder::train::Examples;
use autoencoder::train::{self, EpochMetrics, Observer, TrainState};
use autoencoder::train::{load_checkpoint, save_checkpoint};
use autoencoder::{Error, Likelihood, Result};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// TOML config ([model], [train], [corruption], [[regularizer]]); without it (and without
    /// --resume) the settings are chosen from the data and listed in defaults.json.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Training data (.idx[.gz], .npy, .csv, or a scipy CSR .npz, kept sparse); with --stream,
    /// one or more .npy files (repeat --data), read as one data set.
    #[arg(long, required = true)]
    data: Vec<PathBuf>,
    /// Read the .npy training (and --val) files from disk a batch at a time instead of loading
    /// them: memory stays near the model plus a few batches. The same model as loading them.
    #[arg(long)]
    stream: bool,
    /// Validation data; otherwise `validation_fraction` of the training data is held out.
    #[arg(long)]
    val: Option<PathBuf>,
    /// Run folder to write (a resumed run writes to its own folder).
    #[arg(long, default_value = "runs/latest", conflicts_with = "resume")]
    out: PathBuf,
    /// Override [train] epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override [train] seed (not with --resume: a resumed run continues its own random stream).
    #[arg(long, conflicts_with = "resume")]
    seed: Option<u64>,
    /// Continue the run in this folder (uses its config.toml unless --config is given).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// CSV label column (N or last).
    #[arg(long)]
    label_column: Option<String>,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// Write TensorBoard logs to DIR/<run folder name> (as `[report] tensorboard = true` does
    /// to the run folder's `tensorboard/`).
    #[arg(long, value_name = "DIR")]
    tensorboard: Option<PathBuf>,
}

struct CheckpointingObserver {
    out: PathBuf,
    progress: Progress,
    tensorboard: Option<TensorBoard>,
}

impl Observer for CheckpointingObserver {
    fn batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        self.progress.batch(epoch, batch, batches, loss);
        if let Some(tb) = self.tensorboard.as_mut() {
            tb.step(epoch, batch, batches, loss);
        }
    }
    fn epoch(&mut self, m: &EpochMetrics, model: &Autoencoder, state: &TrainState) -> Result<()> {
        save_checkpoint(&self.out, model, state)?;
        if let Some(tb) = self.tensorboard.as_mut() {
            Observer::epoch(tb, m, model, state)?;
        }
        let val = match (m.validation_loss, m.validation_squared_error) {
            (Some(l), Some(se)) => format!("  val loss {l:.4}  val sq.err {se:.4}"),
            _ => String::new(),
        };
        self.progress.epoch_line(&format!(
            "epoch {:>3}  train loss {:.4}{val}  lr {:.2e}  {:.1}s",
            m.epoch, m.train_loss, m.learning_rate, m.seconds
        ));
        Ok(())
    }
}

/// A run's files besides the model: its config (with any command-line overrides) and its
/// fitted input transform.
fn write_run_files(
    out: &std::path::Path,
    config_toml: &str,
    transform: &InputTransform,
) -> Result<()> {
    autoencoder::fsutil::atomic_write(&out.join("config.toml"), config_toml.as_bytes())?;
    if !transform.is_identity() {
        transform.save(out)?;
    }
    Ok(())
}

/// A run's observer: pretraining's lines, then, once the model is pretrained (its RBM stack
/// reported and the run's files written), the fit's progress and checkpoints.
struct TrainLines<'a> {
    pretraining: bool,
    pretrain: PretrainLines,
    fit: CheckpointingObserver,
    config_toml: &'a str,
    transform: &'a InputTransform,
}

impl Observer for TrainLines<'_> {
    fn batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        if !self.pretraining {
            self.fit.batch(epoch, batch, batches, loss);
        }
    }
    fn epoch(&mut self, m: &EpochMetrics, model: &Autoencoder, state: &TrainState) -> Result<()> {
        if self.pretraining {
            Observer::<Autoencoder>::epoch(&mut self.pretrain, m, model, state)
        } else {
            self.fit.epoch(m, model, state)
        }
    }
}

impl Observer<Rbm> for TrainLines<'_> {
    fn epoch(&mut self, m: &EpochMetrics, model: &Rbm, state: &TrainState) -> Result<()> {
        self.pretrain.epoch(m, model, state)
    }
}

impl RunObserver for TrainLines<'_> {
    fn pretrained(
        &mut self,
        _: &Autoencoder,
        stack: &[Rbm],
        rows: &autoencoder::Matrix,
    ) -> Result<()> {
        let out = &self.fit.out;
        if !stack.is_empty() {
            for layer in autoencoder::report::run::write_stack_report(out, stack, rows)? {
                if !self.pretrain.quiet {
                    eprintln!(
                        "RBM {} ({}-{}): reconstruction error {:.4}",
                        layer.layer, layer.visible, layer.hidden, layer.reconstruction_error
                    );
                }
            }
        }
        write_run_files(out, self.config_toml, self.transform)?;
        self.pretraining = false;
        Ok(())
    }
}

struct PretrainLines {
    quiet: bool,
    layer: usize,
}

/// Pretraining's progress: a line per epoch of each layer (autoencoder or RBM; an RBM's loss
/// is its reconstruction error).
impl<M> Observer<M> for PretrainLines {
    fn epoch(&mut self, m: &EpochMetrics, _: &M, _: &TrainState) -> Result<()> {
        if m.epoch == 1 {
            self.layer += 1;
        }
        if !self.quiet {
            eprintln!(
                "pretrain layer {} epoch {:>3}  loss {:.4}  {:.1}s",
                self.layer, m.epoch, m.train_loss, m.seconds
            );
        }
        Ok(())
    }
}

pub fn run(args: Args) -> Result<()> {
    let out = args.resume.clone().unwrap_or(args.out.clone());
    // without --config (or --resume), the settings are chosen from the data
    let mut opened = None;
    let mut chosen = Vec::new();
    let (config_path, mut config) = match (&args.config, &args.resume) {
        (Some(c), _) => (c.clone(), RunConfig::load(c)?),
        (None, Some(dir)) => {
            let c = dir.join("config.toml");
            let config = RunConfig::load(&c)?;
            (c, config)
        }
        (None, None) => {
            let data = Source::open(&args.data, args.stream, args.label_column.as_deref())?;
            let summary = autoencoder::defaults::DataSummary::of(data.rows())?;
            // what the command line sets is given, not chosen
            let mut sections = serde_json::json!({"train": {}});
            if let Some(e) = args.epochs {
                sections["train"]["epochs"] = e.into();
            }
            if let Some(seed) = args.seed {
                sections["train"]["seed"] = seed.into();
            }
            chosen = autoencoder::defaults::choose(&mut sections, &summary);
            let config = RunConfig::from_json(&sections)?;
            opened = Some(data);
            (PathBuf::from("(settings chosen from the data)"), config)
        }
    };
    if let Some(e) = args.epochs {
        config.train.epochs = e;
    }
    if let Some(s) = args.seed {
        config.train.seed = s;
    }
    // the sections alone first, so a bad config is reported before any data is read
    let train_config = config.train_config().map_err(|e| prefix(&config_path, e))?;
    if config.model.kind == ModelKind::Rbm {
        return run_rbm(&args, &config, &config_path, &out);
    }
    if config.model.kind == ModelKind::Psd {
        return run_psd(&args, &config, &config_path, &out);
    }
    let data = match opened {
        Some(data) => data,
        None => Source::open(&args.data, args.stream, args.label_column.as_deref())?,
    };
    let name = args.data[0].clone();
    if config.model.encoder.is_some() && config.model.input_shape.is_none() {
        // images know their shape: IDX (n, H, W), .npy (n, C, H, W); recorded in the run's
        // config.toml, so --resume and later commands read the same
        config.model.input_shape = autoencoder::data::image_shape(&name)?.map(|s| s.to_vec());
    }
    let checked = config
        .check_with(data.rows().cols(), train_config)
        .map_err(|e| prefix(&config_path, e))?;
    let (spec, train_config) = (checked.spec.clone(), checked.train.clone());
    if args.stream && checked.pretrain.is_some() {
        return Err(Error::config(
            "model.pretrain",
            "greedy pretraining reads the training rows whole: not with --stream",
        ));
    }
    // [data] transform: fitted on the training file(s), saved with the model, applied to every
    // file the run reads
    let transform = InputTransform::fit_rows(
        config
            .data
            .as_ref()
            .map(|d| d.transform)
            .unwrap_or_default(),
        data.rows(),
    )
    .map_err(|e| Error::format(&name, format!("data.transform: {e}")))?;
    let data = data.transformed(&transform)?;
    if spec.output == Likelihood::Multinomial && any_negative(&data)? {
        return Err(Error::format(
            &name,
            "negative values: model.output = \"multinomial\" reads counts (or TF-IDF weights)",
        ));
    }
    super::ensure_writable_dir(&out)?;
    if !chosen.is_empty() {
        autoencoder::fsutil::create_dir(&out)?;
        let text = serde_json::to_string_pretty(&chosen)
            .map_err(|e| Error::Invalid(format!("defaults: {e}")))?;
        autoencoder::fsutil::atomic_write(&out.join(autoencoder::defaults::FILE), text.as_bytes())?;
        if !args.quiet {
            eprintln!(
                "no --config: settings chosen from the data (also in {}):",
                autoencoder::defaults::FILE
            );
            for c in &chosen {
                eprintln!("  {} = {}  ({})", c.key, c.value, c.why);
            }
        }
    }
    // a streamed run reads every file once here, so bad data stops it before training
    if let SourceKind::Files(_) = data.kind {
        rows::for_each_chunk(data.rows(), chunk_rows(data.rows().cols()), |_, _| Ok(()))?;
    }

    let val_file = match &args.val {
        Some(p) => {
            let v = Source::open(
                std::slice::from_ref(p),
                args.stream,
                args.label_column.as_deref(),
            )?;
            if v.rows().cols() != data.rows().cols() {
                return Err(Error::format(
                    p,
                    format!(
                        "{} columns, training data has {}",
                        v.rows().cols(),
                        data.rows().cols()
                    ),
                ));
            }
            Some(v.transformed(&transform)?)
        }
        None => None,
    };
    let config_toml = config.to_toml()?;
    let start = if let Some(dir) = &args.resume {
        let (mut model, state) = load_checkpoint(dir)?;
        // the network must match; the corruption (recorded in the spec since 2026-12, absent
        // from older checkpoints) is the config's, as it always was
        if !model.adopt_spec(&spec) {
            return Err(Error::Invalid(format!(
                "{}: the checkpoint's model does not match the config",
                dir.display()
            )));
        }
        // The optimizer's state and the validation split belong to the run: a config that
        // changed them would be silently ignored, or would validate on trained-on rows.
        check_resumed_optimizer(dir, &state, &train_config)?;
        check_resumed_split(&args, dir, &config, &config_path)?;
        write_run_files(&out, &config_toml, &transform)?;
        Start::Resume(Box::new((model, state)))
    } else {
        Start::Fresh
    };
    let report_section = config.report.clone().unwrap_or_default();
    let tensorboard = match tensorboard_dir(&args, &out, report_section.tensorboard) {
        Some(dir) => {
            let sample = rows::read_range(
                data.rows(),
                0,
                data.rows().rows().min(tensorboard::SAMPLE_ROWS),
            )?;
            Some(TensorBoard::new(
                &dir,
                report_section.tensorboard_every,
                &sample,
            )?)
        }
        None => None,
    };
    let mut observer = TrainLines {
        pretraining: !matches!(start, Start::Resume(..)),
        pretrain: PretrainLines {
            quiet: args.quiet,
            layer: 0,
        },
        fit: CheckpointingObserver {
            out: out.clone(),
            progress: Progress::new(args.quiet, train_config.epochs),
            tensorboard,
        },
        config_toml: &config_toml,
        transform: &transform,
    };
    let fitted = run::fit_checked(
        &checked,
        data.rows(),
        val_file.as_ref().map(|v| v.rows()),
        start,
        &mut observer,
    )
    .map_err(|e| prefix(&config_path, e))?;
    let model = fitted.model;
    let report = match fitted.fit {
        Ok(r) => r,
        Err(e @ Error::NonFinite(_)) => {
            autoencoder::model::persist::save_model(&model, &out)?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    autoencoder::model::persist::save_model(&model, &out)?;
    // the report draws at most 2,000 rows: the first ones, as an in-memory run's report does
    let sample = rows::read_range(data.rows(), 0, data.rows().rows().min(2000))?;
    write_report(
        &out,
        &model,
        &report.history,
        &sample,
        data.labels.as_deref(),
        report_section.map,
        report_section.format,
    )?;
    if let Some(tb) = &observer.fit.tensorboard {
        let (rows, indices) = run::validation_sample(
            &checked,
            data.rows(),
            val_file.as_ref().map(|v| v.rows()),
            tensorboard::PROJECTOR_ROWS,
        )?;
        let labels = match (&indices, &val_file) {
            (Some(at), _) => data
                .labels
                .as_ref()
                .filter(|l| l.len() == data.rows().rows())
                .map(|l| at.iter().map(|&i| l[i].to_string()).collect::<Vec<_>>()),
            (None, Some(v)) => v
                .labels
                .as_ref()
                .map(|l| l.iter().map(|x| x.to_string()).collect()),
            (None, None) => None,
        };
        tb.projector(&model, &rows, labels.as_deref())?;
        if !args.quiet {
            eprintln!("TensorBoard: tensorboard --logdir {}", tb.dir().display());
        }
    }
    if !args.quiet {
        eprintln!("wrote {} ({:?})", out.display(), report.stop);
    }
    Ok(())
}

/// Where the run's TensorBoard logs go: `--tensorboard DIR` → `DIR/<run folder name>`, else
/// with `[report] tensorboard = true` the run folder's `tensorboard/`.
fn tensorboard_dir(args: &Args, out: &std::path::Path, enabled: bool) -> Option<PathBuf> {
    match &args.tensorboard {
        Some(dir) => Some(dir.join(out.file_name().unwrap_or(std::ffi::OsStr::new("run")))),
        None => enabled.then(|| out.join("tensorboard")),
    }
}

/// The TensorBoard log of an RBM or PSD run, if asked for: its scalars.
fn scalar_log(
    args: &Args,
    config: &RunConfig,
    out: &std::path::Path,
) -> Result<Option<TensorBoard>> {
    let section = config.report.clone().unwrap_or_default();
    tensorboard_dir(args, out, section.tensorboard)
        .map(|dir| {
            TensorBoard::new(
                &dir,
                section.tensorboard_every,
                &autoencoder::Matrix::zeros(0, 0),
            )
        })
        .transpose()
}

/// Progress and metrics of an RBM run: reconstruction error (train, validation) and the
/// validation free energy per epoch.
struct RbmLines {
    progress: Progress,
    /// Scalars only (the TensorBoard images and histograms are an autoencoder's).
    tensorboard: Option<TensorBoard>,
}

impl Observer<Rbm> for RbmLines {
    fn batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        self.progress.batch(epoch, batch, batches, loss);
        if let Some(tb) = self.tensorboard.as_mut() {
            tb.step(epoch, batch, batches, loss);
        }
    }
    fn epoch(&mut self, m: &EpochMetrics, _: &Rbm, _: &TrainState) -> Result<()> {
        if let Some(tb) = self.tensorboard.as_mut() {
            tb.metrics(m)?;
        }
        let val = match (m.validation_squared_error, m.validation_free_energy) {
            (Some(e), Some(f)) => format!("  val recon err {e:.4}  val free energy {f:.4}"),
            _ => String::new(),
        };
        self.progress.epoch_line(&format!(
            "epoch {:>3}  recon err {:.4}{val}  lr {:.2e}  {:.1}s",
            m.epoch, m.train_loss, m.learning_rate, m.seconds
        ));
        Ok(())
    }
}

/// `train` of `model.kind = "rbm"`: contrastive divergence on the one loop.
fn run_rbm(
    args: &Args,
    config: &RunConfig,
    config_path: &std::path::Path,
    out: &std::path::Path,
) -> Result<()> {
    if args.resume.is_some() {
        return Err(Error::Invalid(
            "--resume: RBM runs cannot be resumed yet; start a new run".into(),
        ));
    }
    let data = super::load_data(in_memory_data(args)?, args.label_column.as_deref())?;
    let CheckedRbm {
        spec,
        train: tc,
        cd,
    } = config
        .check_rbm(data.features.cols())
        .map_err(|e| prefix(config_path, e))?;
    if spec.visible_units == Units::Bernoulli
        && data
            .features
            .as_slice()
            .iter()
            .any(|v| !(0.0..=1.0).contains(v))
    {
        return Err(Error::format(
            in_memory_data(args)?,
            "values outside [0, 1]: Bernoulli visible units need data in [0, 1] (or model.visible_units = \"gaussian\" for standardized data)",
        ));
    }
    if spec.visible_units == Units::Softmax && data.features.as_slice().iter().any(|v| *v < 0.0) {
        return Err(Error::format(
            in_memory_data(args)?,
            "negative values: softmax (replicated softmax) visible units read word counts",
        ));
    }
    super::ensure_writable_dir(out)?;
    let (train_x, val_x) = held_out_split(args, &data.features, &tc)?;
    let mut rbm = Rbm::new(spec, tc.seed)?;
    let lens = [
        rbm.weight.len(),
        rbm.visible_bias.len(),
        rbm.hidden_bias.len(),
    ];
    let state = TrainState::new(tc.optimizer, &lens, tc.seed);
    autoencoder::fsutil::atomic_write(&out.join("config.toml"), config.to_toml()?.as_bytes())?;
    let mut observer = RbmLines {
        progress: Progress::new(args.quiet, tc.epochs),
        tensorboard: scalar_log(args, config, out)?,
    };
    let result = {
        let mut learner = RbmLearner::new(&mut rbm, cd).map_err(|e| prefix(config_path, e))?;
        train::run(
            &mut learner,
            Examples::unlabelled(&train_x),
            val_x.as_ref().map(|v| Examples::unlabelled(v)),
            &tc.loop_config(),
            state,
            &mut observer,
        )
    };
    autoencoder::rbm::persist::save_rbm(&rbm, out)?;
    let report = result?;
    write_metrics(out, &report.history)?;
    autoencoder::report::run::write_rbm_report(
        out,
        &rbm,
        &report.history,
        &data.features,
        config.report.clone().unwrap_or_default().format,
    )?;
    if !args.quiet {
        eprintln!("wrote {} ({:?})", out.display(), report.stop);
    }
    Ok(())
}

struct PsdLines {
    progress: Progress,
    /// Scalars only.
    tensorboard: Option<TensorBoard>,
    /// Up to 1,000 held-out rows (training rows without a validation set) on which each epoch
    /// compares the predictor's codes with FISTA's.
    probe: Option<autoencoder::Matrix>,
    /// Per epoch: mean `‖x − Dh‖² + λ‖h‖₁` of the predictor's codes and of FISTA's.
    gap: Vec<(usize, f64, f64)>,
    /// The run folder: after each epoch it holds the model, the checkpoint a resume reads,
    /// `metrics.jsonl` and the curve so far.
    out: std::path::PathBuf,
}

/// The predictor-vs-FISTA curve of a PSD run, one JSON line per epoch.
const PSD_GAP_FILE: &str = "predictor_vs_fista.jsonl";

fn write_gap(path: &std::path::Path, gap: &[(usize, f64, f64)]) -> Result<()> {
    let lines: String = gap
        .iter()
        .map(|(epoch, p, f)| {
            format!(
                "{}\n",
                serde_json::json!({"epoch": epoch, "predictor_objective": p, "fista_objective": f})
            )
        })
        .collect();
    autoencoder::fsutil::atomic_write(path, lines.as_bytes())
}

/// The curve's epochs up to `epochs_done` (a missing or unreadable file gives none).
fn read_gap(path: &std::path::Path, epochs_done: usize) -> Vec<(usize, f64, f64)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let epoch = v["epoch"].as_u64()? as usize;
            let p = v["predictor_objective"].as_f64()?;
            let f = v["fista_objective"].as_f64()?;
            (epoch <= epochs_done).then_some((epoch, p, f))
        })
        .collect()
}

/// Rows for the predictor-vs-FISTA curve.
const PSD_PROBE_ROWS: usize = 1000;

impl Observer<autoencoder::psd::Psd> for PsdLines {
    fn batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        self.progress.batch(epoch, batch, batches, loss);
        if let Some(tb) = self.tensorboard.as_mut() {
            tb.step(epoch, batch, batches, loss);
        }
    }
    fn epoch(
        &mut self,
        m: &EpochMetrics,
        psd: &autoencoder::psd::Psd,
        state: &TrainState,
    ) -> Result<()> {
        if let Some(tb) = self.tensorboard.as_mut() {
            tb.metrics(m)?;
        }
        use autoencoder::sparse_coding::{objective, Solver};
        let val = m
            .validation_loss
            .map(|v| format!("  val objective {v:.4}"))
            .unwrap_or_default();
        let mut gap = String::new();
        if let Some(x) = &self.probe {
            let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
            let lambda = psd.spec().lambda;
            let predicted = mean(objective(&psd.dictionary, x, &psd.predict(x)?, lambda));
            let fista = mean(objective(
                &psd.dictionary,
                x,
                &psd.sparse_codes(x, Solver::Fista)?.codes,
                lambda,
            ));
            gap = format!("  predictor {predicted:.3} vs FISTA {fista:.3}");
            self.gap.push((m.epoch, predicted, fista));
        }
        self.progress.epoch_line(&format!(
            "epoch {:>3}  objective {:.4}{val}{gap}  lr {:.2e}  {:.1}s",
            m.epoch, m.train_loss, m.learning_rate, m.seconds
        ));
        // what a resume reads: the model, the checkpoint (its spec, parameters and state)
        autoencoder::psd::persist::save_psd(psd, &self.out)?;
        let spec = serde_json::to_string(psd.spec()).map_err(|e| Error::Invalid(e.to_string()))?;
        let parameters = [
            psd.dictionary.as_slice(),
            &psd.weight,
            &psd.bias,
            &psd.gain,
            &psd.lateral,
            &psd.threshold,
        ];
        train::save_named_checkpoint(&self.out, &spec, &PSD_TENSORS, &parameters, state)?;
        if !self.gap.is_empty() {
            write_gap(&self.out.join(PSD_GAP_FILE), &self.gap)?;
        }
        Ok(())
    }
}

/// A resumed run keeps its optimizer (its saved state is that optimizer's): a config that
/// asks for another is refused.
fn check_resumed_optimizer(
    dir: &std::path::Path,
    state: &TrainState,
    config: &train::TrainConfig,
) -> Result<()> {
    if state.optimizer.kind != config.optimizer {
        return Err(Error::Invalid(format!(
            "{}: the run was trained with {:?}, the config asks for {:?}; start a new run to change the optimizer",
            dir.display(),
            state.optimizer.kind,
            config.optimizer
        )));
    }
    Ok(())
}

/// A resumed run keeps its validation split: a `--config` whose seed or validation fraction
/// would draw another one (and so validate on rows the run trained on) is refused.
fn check_resumed_split(
    args: &Args,
    dir: &std::path::Path,
    config: &RunConfig,
    config_path: &std::path::Path,
) -> Result<()> {
    if args.val.is_none() && args.config.is_some() {
        let saved_path = dir.join("config.toml");
        let saved = RunConfig::load(&saved_path)?.train;
        let now = &config.train;
        if saved.validation_fraction != now.validation_fraction
            || (now.validation_fraction > 0.0 && saved.seed != now.seed)
        {
            return Err(Error::Invalid(format!(
                "{}: seed {} and validation_fraction {} would draw a different validation split from the run's (seed {}, validation_fraction {}); a resumed run keeps its split",
                config_path.display(),
                now.seed,
                now.validation_fraction,
                saved.seed,
                saved.validation_fraction
            )));
        }
    }
    Ok(())
}

/// The names of a PSD learner's parameters in its checkpoint, in `Learner::parameters` order.
const PSD_TENSORS: [&str; 6] = [
    "dictionary",
    "predictor.weight",
    "predictor.bias",
    "predictor.gain",
    "predictor.lateral",
    "predictor.threshold",
];

/// A PSD model and the loop's state from the checkpoint of `dir`, checked against the config's
/// spec and optimizer.
fn resume_psd(
    dir: &std::path::Path,
    spec: autoencoder::psd::PsdSpec,
    tc: &train::TrainConfig,
) -> Result<(autoencoder::psd::Psd, TrainState)> {
    use autoencoder::psd::{Predictor, Psd, PsdSpec};
    let (saved, mut p, state) = train::load_named_checkpoint(dir, &PSD_TENSORS)?;
    let path = dir.join(train::CHECKPOINT_FILE);
    let saved: PsdSpec = serde_json::from_str(&saved)
        .map_err(|e| Error::format(&path, format!("invalid spec: {e}")))?;
    if saved != spec {
        return Err(Error::Invalid(format!(
            "{}: the checkpoint's model does not match the config",
            dir.display()
        )));
    }
    check_resumed_optimizer(dir, &state, tc)?;
    let lista = (spec.predictor == Predictor::Lista)
        .then(|| (std::mem::take(&mut p[4]), std::mem::take(&mut p[5])));
    let [dictionary, weight, bias, gain, _, _] = <[Vec<f32>; 6]>::try_from(p)
        .map_err(|_| Error::format(&path, "expected six PSD tensors"))?;
    let psd = Psd::from_parts(spec, dictionary, weight, bias, gain, lista)
        .map_err(|e| Error::format(&path, e.to_string()))?;
    Ok((psd, state))
}

/// `train` of `model.kind = "psd"`: predictive sparse decomposition on the one loop.
fn run_psd(
    args: &Args,
    config: &RunConfig,
    config_path: &std::path::Path,
    out: &std::path::Path,
) -> Result<()> {
    use autoencoder::psd::{Psd, PsdLearner};
    use autoencoder::train::Learner;
    let data = super::load_data(in_memory_data(args)?, args.label_column.as_deref())?;
    let checked = config
        .check_psd(data.features.cols())
        .map_err(|e| prefix(config_path, e))?;
    let tc = checked.train;
    super::ensure_writable_dir(out)?;
    let (train_x, val_x) = held_out_split(args, &data.features, &tc)?;
    let (mut psd, state, gap) = match &args.resume {
        Some(dir) => {
            check_resumed_split(args, dir, config, config_path)?;
            let (psd, state) = resume_psd(dir, checked.spec, &tc)?;
            // the predictor-vs-FISTA curve of the epochs done
            let gap = read_gap(&dir.join(PSD_GAP_FILE), state.epochs_done);
            (psd, state, gap)
        }
        None => {
            let psd = Psd::new(checked.spec, tc.seed)?;
            let lens: Vec<usize> = PsdLearner::new(&mut psd.clone())
                .parameters()
                .iter()
                .map(|p| p.len())
                .collect();
            let state = TrainState::new(tc.optimizer, &lens, tc.seed);
            (psd, state, Vec::new())
        }
    };
    autoencoder::fsutil::atomic_write(&out.join("config.toml"), config.to_toml()?.as_bytes())?;
    let has_predictor = checked.spec.predictor != autoencoder::psd::Predictor::None;
    let probe = has_predictor.then(|| {
        let rows = val_x.as_ref().unwrap_or(&train_x);
        rows.slice_rows(0, rows.rows().min(PSD_PROBE_ROWS))
    });
    let mut observer = PsdLines {
        progress: Progress::new(args.quiet, tc.epochs),
        tensorboard: scalar_log(args, config, out)?,
        probe,
        gap,
        out: out.to_path_buf(),
    };
    let result = {
        let mut learner = PsdLearner::new(&mut psd);
        train::run(
            &mut learner,
            Examples::unlabelled(&train_x),
            val_x.as_ref().map(|v| Examples::unlabelled(v)),
            &tc.loop_config(),
            state,
            &mut observer,
        )
    };
    autoencoder::psd::persist::save_psd(&psd, out)?;
    let report = result?;
    write_metrics(out, &report.history)?;
    let format = config.report.clone().unwrap_or_default().format;
    write_psd_report(out, &psd, &report.history, &observer.gap, format)?;
    if !args.quiet {
        eprintln!("wrote {} ({:?})", out.display(), report.stop);
    }
    Ok(())
}

/// report/loss.png, the predictor-vs-FISTA curve (and `predictor_vs_fista.jsonl`), and for
/// square images the dictionary's atoms and the predictor's filters.
fn write_psd_report(
    out: &std::path::Path,
    psd: &autoencoder::psd::Psd,
    history: &[EpochMetrics],
    gap: &[(usize, f64, f64)],
    format: autoencoder::report::run::PlotFormat,
) -> Result<()> {
    use autoencoder::report::plots;
    let dir = out.join("report");
    autoencoder::fsutil::create_dir(&dir)?;
    let ext = format.extension();
    if !gap.is_empty() {
        // eq. 14.19's first two terms of the predictor's codes against FISTA's, per epoch
        // (predictor_vs_fista.jsonl was written by the observer after each epoch)
        let (p, f): (Vec<f64>, Vec<f64>) = gap.iter().map(|(_, p, f)| (*p, *f)).unzip();
        plots::curves_on(
            "Objective of the predictor's codes vs FISTA's (held-out rows)",
            plots::Axes {
                x: "epoch",
                y: "‖x − Dh‖² + λ‖h‖₁ per example",
            },
            &[("predictor", &p), ("FISTA", &f)],
            &dir.join(format!("predictor_vs_fista.{ext}")),
        )?;
    }
    let train: Vec<f64> = history.iter().map(|m| m.train_loss).collect();
    let val: Vec<f64> = history
        .iter()
        .map(|m| m.validation_loss.unwrap_or(f64::NAN))
        .collect();
    plots::loss_curves(&train, &val, &dir.join(format!("loss.{ext}")))?;
    let (d, m) = (psd.spec().inputs, psd.spec().atoms);
    let side = (d as f64).sqrt() as usize;
    if side * side == d {
        let atoms: Vec<f32> = (0..m * d)
            .map(|k| psd.dictionary[(k % d) * m + k / d])
            .collect();
        plots::filters(&atoms, m, d, 100, &dir.join("dictionary.png"))?;
        plots::filters(&psd.weight, m, d, 100, &dir.join("predictor.png"))?;
    }
    Ok(())
}

/// The training rows and the held-out rows of an RBM or PSD run: `--val` when given, else the
/// config's fraction of `features`.
fn held_out_split(
    args: &Args,
    features: &autoencoder::Matrix,
    tc: &train::TrainConfig,
) -> Result<(autoencoder::Matrix, Option<autoencoder::Matrix>)> {
    Ok(match &args.val {
        Some(p) => (
            features.clone(),
            Some(super::load_data(p, args.label_column.as_deref())?.features),
        ),
        None => train::split_validation(features, tc.validation_fraction, tc.seed),
    })
}

/// `metrics.jsonl`: one JSON object per epoch.
fn write_metrics(out: &std::path::Path, history: &[EpochMetrics]) -> Result<()> {
    let lines: String = history
        .iter()
        .map(|m| serde_json::to_string(m).unwrap_or_default() + "\n")
        .collect();
    autoencoder::fsutil::atomic_write(&out.join("metrics.jsonl"), lines.as_bytes())
}

fn prefix(path: &std::path::Path, e: Error) -> Error {
    match e {
        Error::Config { key, reason } => Error::format(path, format!("{key}: {reason}")),
        other => other,
    }
}

/// Training rows as `train` reads them: in memory, sparse (`.npz`, densified a batch at a
/// time), or streamed from `.npy` files (`--stream`), with the labels beside them.
struct Source {
    kind: SourceKind,
    labels: Option<Vec<i64>>,
}

enum SourceKind {
    Dense(autoencoder::Matrix),
    Sparse(autoencoder::data::sparse::CsrMatrix),
    Files(Box<dyn Rows + Send>),
}

impl Source {
    /// Opens `paths`: several only with `stream`; a `.npz` stays sparse.
    fn open(paths: &[PathBuf], stream: bool, label_column: Option<&str>) -> Result<Source> {
        if stream {
            let (files, labels) = autoencoder::data::open_npy_files(paths)?;
            return Ok(Source {
                kind: SourceKind::Files(Box::new(files)),
                labels,
            });
        }
        let [path] = paths else {
            return Err(Error::Invalid(
                "several --data files are read as one data set only with --stream".into(),
            ));
        };
        if path.to_string_lossy().to_lowercase().ends_with(".npz") {
            let (x, labels) = autoencoder::data::load_sparse(path)?;
            return Ok(Source {
                kind: SourceKind::Sparse(x),
                labels,
            });
        }
        let d = super::load_data(path, label_column)?;
        Ok(Source {
            kind: SourceKind::Dense(d.features),
            labels: d.labels,
        })
    }

    /// The rows as the model reads them.
    fn rows(&self) -> &dyn Rows {
        match &self.kind {
            SourceKind::Dense(m) => m,
            SourceKind::Sparse(x) => x,
            SourceKind::Files(f) => f,
        }
    }

    /// With `transform` applied: in place in memory, to the stored entries of a sparse
    /// matrix (zeros stay zero under every transform), to each row read from files.
    fn transformed(self, transform: &InputTransform) -> Result<Source> {
        let kind = match self.kind {
            SourceKind::Dense(mut m) => {
                transform.apply(&mut m)?;
                SourceKind::Dense(m)
            }
            SourceKind::Sparse(mut x) => {
                transform.apply_sparse(&mut x)?;
                SourceKind::Sparse(x)
            }
            SourceKind::Files(f) if !transform.is_identity() => {
                SourceKind::Files(Box::new(rows::Transformed::new(f, transform.clone())?))
            }
            files => files,
        };
        Ok(Source {
            kind,
            labels: self.labels,
        })
    }
}

/// The one `--data` file of a run that reads its data whole (RBM and PSD runs).
fn in_memory_data(args: &Args) -> Result<&std::path::Path> {
    match args.data.as_slice() {
        [path] if !args.stream => Ok(path),
        _ => Err(Error::Invalid(
            "--stream and several --data files are for autoencoders; RBM and PSD runs read one file whole".into(),
        )),
    }
}

/// Rows per chunk of a pass over data `cols` wide: about 16 MB of floats.
fn chunk_rows(cols: usize) -> usize {
    ((1 << 22) / cols.max(1)).max(1)
}

fn any_negative(data: &Source) -> Result<bool> {
    let mut found = false;
    rows::for_each_chunk(data.rows(), chunk_rows(data.rows().cols()), |_, c| {
        found |= c.as_slice().iter().any(|v| *v < 0.0);
        Ok(())
    })?;
    Ok(found)
}
