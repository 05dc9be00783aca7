//! `autoencoder._native`: the Rust engine behind the Python package's estimators.
//!
//! Thin on purpose: the estimator logic (hyperparameters, validation of arguments,
//! scikit-learn conventions) is Python in `autoencoder/`; this module turns numpy arrays into
//! the library's matrices and back, runs the library's one entry for a run
//! ([`autoencoder::run::fit_checked`], as the CLI's `train` does, so the same config, data and
//! thread count give the same weights), and maps every library error to a
//! one-line `ValueError`. The GIL is released while the engine works; during `fit` the
//! calling thread wakes every 50 ms to let Python see Ctrl-C, which stops training between
//! batches.

mod distributed;
mod hashing;

use autoencoder::code::CodeDistribution;
use autoencoder::config::RunConfig;
use autoencoder::data::rows::{Rows, SliceRows, Transformed};
use autoencoder::data::transform::{InputTransform, TransformKind};
use autoencoder::model::persist;
use autoencoder::objective::regularizer::split_nested_key;
use autoencoder::rbm::Rbm;
use autoencoder::report::tensorboard::TensorBoard;
use autoencoder::run::{self, RunObserver, Start};
use autoencoder::train::reducer::Reducer;
use autoencoder::train::{self, EpochMetrics, Observer, TrainState};
use autoencoder::{Autoencoder, Error, Matrix};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A library error as Python's `ValueError`, on one line as the CLI prints it.
pub(crate) fn value_error(e: Error) -> PyErr {
    PyValueError::new_err(
        e.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// A 2-D array's entries in row-major order, whatever its strides.
pub(crate) fn row_major<T: numpy::Element + Copy>(a: &PyReadonlyArray2<'_, T>) -> Vec<T> {
    match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    }
}

/// Copies a 2-D float32 array (any strides) into a matrix, refusing NaN and infinity.
pub(crate) fn to_matrix(x: &PyReadonlyArray2<'_, f32>, what: &str) -> PyResult<Matrix> {
    let shape = x.shape();
    let m = Matrix::from_vec(shape[0], shape[1], row_major(x));
    if !m.all_finite() {
        return Err(PyValueError::new_err(format!(
            "Input {what} contains NaN or infinity"
        )));
    }
    Ok(m)
}

/// Hands a matrix's buffer to numpy without copying.
fn to_numpy(py: Python<'_>, m: Matrix) -> Bound<'_, PyArray2<f32>> {
    let (n, d) = (m.rows(), m.cols());
    Array2::from_shape_vec((n, d), m.into_vec())
        .expect("a matrix's buffer has rows × cols entries")
        .into_pyarray(py)
}

/// Runs engine work `f` with the GIL released, on `threads` workers (0 = the global pool).
fn detached<T: Send>(
    py: Python<'_>,
    threads: usize,
    f: impl FnOnce() -> autoencoder::Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| with_threads(threads, f))?.map_err(value_error)
}

/// Runs `f` on a pool of `threads` workers (0 = the global pool).
fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    if threads == 0 {
        return Ok(f());
    }
    autoencoder::limits::check_threads("threads", threads).map_err(value_error)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| PyValueError::new_err(format!("cannot start {threads} threads: {e}")))?;
    Ok(pool.install(f))
}

fn parse_config(config_json: &str) -> PyResult<RunConfig> {
    let de = &mut serde_json::Deserializer::from_str(config_json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let mut reason = e.into_inner().to_string();
        // the position in the JSON text means nothing to a caller who passed keywords
        if let Some(at) = reason.rfind(" at line ") {
            reason.truncate(at);
        }
        let (key, reason) = split_nested_key(&path, &reason);
        PyValueError::new_err(format!("{key}: {reason}"))
    })
}

/// Training's link to Python: per-epoch history, progress (a tqdm bar when tqdm is installed,
/// else one line per epoch on `sys.stderr`), the Ctrl-C flag, the user's callbacks and the
/// TensorBoard log.
struct PyObserver<'a> {
    verbose: bool,
    stop: &'a AtomicBool,
    history: Vec<EpochMetrics>,
    pretraining: bool,
    /// Epochs of the fine-tuning run (the bar's total).
    epochs: usize,
    /// The tqdm bar of the current stage, created at its first epoch.
    bar: Option<Py<PyAny>>,
    /// Called after each epoch of the fit with its metrics dict; `True` stops the fit.
    callbacks: Vec<Py<PyAny>>,
    /// A callback asked to stop after this epoch.
    requested: bool,
    /// What a callback raised (training stops; `fit` raises it).
    raised: Option<PyErr>,
    tensorboard: Option<TensorBoard>,
    /// A run folder to checkpoint after every epoch of the fit (rank 0's to write).
    checkpoint: Option<PathBuf>,
}

impl PyObserver<'_> {
    /// Advances the tqdm bar (made on first use; `None` when tqdm cannot be imported).
    fn tqdm_epoch(&mut self, py: Python<'_>, m: &EpochMetrics) -> Option<()> {
        if self.bar.is_none() {
            let tqdm = py.import("tqdm").ok()?.getattr("tqdm").ok()?;
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("unit", "epoch").ok()?;
            if self.pretraining {
                kwargs.set_item("desc", "pretrain").ok()?;
            } else {
                kwargs.set_item("desc", "fit").ok()?;
                kwargs.set_item("total", self.epochs).ok()?;
            }
            self.bar = Some(tqdm.call((), Some(&kwargs)).ok()?.unbind());
        }
        let bar = self.bar.as_ref()?.bind(py);
        let postfix = pyo3::types::PyDict::new(py);
        postfix.set_item("train_loss", m.train_loss).ok()?;
        if let Some(v) = m.validation_loss {
            postfix.set_item("val_loss", v).ok()?;
        }
        bar.call_method("set_postfix", (), Some(&postfix)).ok()?;
        bar.call_method1("update", (1,)).ok()?;
        Some(())
    }

    /// Closes the bar of the stage that ended.
    fn close_bar(&mut self) {
        if let Some(bar) = self.bar.take() {
            Python::attach(|py| {
                let _ = bar.bind(py).call_method0("close");
            });
        }
    }
}

impl PyObserver<'_> {
    /// Progress of an epoch of either stage.
    fn show(&mut self, m: &EpochMetrics) {
        if self.verbose && Python::attach(|py| self.tqdm_epoch(py, m)).is_none() {
            let what = if self.pretraining { "pretrain " } else { "" };
            let val = m
                .validation_loss
                .map(|v| format!("  val loss {v:.4}"))
                .unwrap_or_default();
            let line = format!(
                "{what}epoch {:>3}  train loss {:.4}{val}  {:.1}s\n",
                m.epoch, m.train_loss, m.seconds
            );
            // through sys.stderr, so notebooks show it
            Python::attach(|py| {
                if let Ok(err) = py.import("sys").and_then(|s| s.getattr("stderr")) {
                    let _ = err.call_method1("write", (line,));
                }
            });
        }
    }

    /// Each callback with the epoch's `metrics.jsonl` row as a dict; the first exception
    /// stops training (kept for `fit` to raise).
    fn call_back(&mut self, m: &EpochMetrics) -> autoencoder::Result<()> {
        if self.callbacks.is_empty() {
            return Ok(());
        }
        let row = serde_json::to_string(m).unwrap_or_default();
        let outcome = Python::attach(|py| -> PyResult<bool> {
            let mut stop = false;
            for callback in &self.callbacks {
                let metrics = py.import("json")?.call_method1("loads", (row.as_str(),))?;
                stop |= callback.bind(py).call1((metrics,))?.is_truthy()?;
            }
            Ok(stop)
        });
        match outcome {
            Ok(stop) => {
                self.requested |= stop;
                Ok(())
            }
            Err(e) => {
                self.raised = Some(e);
                Err(Error::Invalid("a callback raised an exception".into()))
            }
        }
    }
}

impl Observer<Autoencoder> for PyObserver<'_> {
    fn batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        if let (false, Some(tb)) = (self.pretraining, self.tensorboard.as_mut()) {
            tb.step(epoch, batch, batches, loss);
        }
    }
    fn epoch(
        &mut self,
        m: &EpochMetrics,
        model: &Autoencoder,
        s: &TrainState,
    ) -> autoencoder::Result<()> {
        self.show(m);
        if self.pretraining {
            return Ok(());
        }
        self.history.push(m.clone());
        if let Some(dir) = &self.checkpoint {
            train::save_checkpoint(dir, model, s)?;
        }
        if let Some(tb) = self.tensorboard.as_mut() {
            Observer::epoch(tb, m, model, s)?;
        }
        self.call_back(m)
    }
    fn interrupted(&mut self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
    fn stop_requested(&mut self) -> bool {
        self.requested
    }
}

impl Observer<Rbm> for PyObserver<'_> {
    fn epoch(&mut self, m: &EpochMetrics, _: &Rbm, _: &TrainState) -> autoencoder::Result<()> {
        self.show(m);
        Ok(())
    }
    fn interrupted(&mut self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl RunObserver for PyObserver<'_> {
    fn pretrained(&mut self, _: &Autoencoder, _: &[Rbm], _: &Matrix) -> autoencoder::Result<()> {
        self.close_bar();
        self.pretraining = false;
        Ok(())
    }
}

/// [`train::StopReason`] as Python sees it.
fn stop_name(stop: train::StopReason) -> &'static str {
    match stop {
        train::StopReason::Completed => "completed",
        train::StopReason::EarlyStopped => "early_stopped",
        train::StopReason::Requested => "requested",
    }
}

/// A trained autoencoder.
#[pyclass(module = "autoencoder._native", name = "NativeModel", frozen)]
struct NativeModel {
    model: Autoencoder,
    /// Optimizer moments, random stream and epoch count after the last `partial_fit` (so the
    /// next chunk continues them); `None` for models from `fit` or from disk.
    state: Option<TrainState>,
    /// The input transform fitted with the model (`[data] transform`, the run folder's
    /// `transform.json`), applied to every input as the CLI applies it; `None` for none.
    transform: Option<InputTransform>,
}

impl NativeModel {
    fn new(
        model: Autoencoder,
        state: Option<TrainState>,
        transform: Option<InputTransform>,
    ) -> Self {
        NativeModel {
            model,
            state,
            transform: transform.filter(|t| !t.is_identity()),
        }
    }

    /// A model's output (reconstructions, decoded codes) in the data's units: a fitted
    /// `standardize` undone ([`InputTransform::invert`]).
    fn output(&self, mut out: Matrix) -> PyResult<Matrix> {
        if let Some(t) = &self.transform {
            t.invert(&mut out).map_err(value_error)?;
        }
        Ok(out)
    }

    /// `x` as the model reads it: copied, with the fitted input transform applied.
    fn input(&self, x: &PyReadonlyArray2<'_, f32>, what: &str) -> PyResult<Matrix> {
        let mut m = to_matrix(x, what)?;
        if let Some(t) = &self.transform {
            t.apply(&mut m)
                .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?;
        }
        Ok(m)
    }
}

/// The `[data] transform` of a config (`none` when absent).
fn transform_kind(config: &RunConfig) -> TransformKind {
    config
        .data
        .as_ref()
        .map(|d| d.transform)
        .unwrap_or_default()
}

#[pymethods]
impl NativeModel {
    /// Trains a model from a config (the TOML config's sections as JSON) on `x`, validating on
    /// `x_val` or on the config's held-out fraction. Returns `(model, history_json, stopped,
    /// reason)`, `stopped` being `None`, `"interrupted"` (Ctrl-C; the model of the last whole
    /// epoch) or the message of a non-finite loss (the last good model), and `reason` why the
    /// fit ended (`completed`, `early_stopped`, `requested` by a callback, `interrupted`,
    /// `non_finite`), and the settings chosen from the data (JSON; `[]` when the config names
    /// an architecture). `callbacks` are called with each epoch's metrics dict; with
    /// `tensorboard_dir` the run is logged there (`labels`: the projector's, one per row).
    #[staticmethod]
    #[pyo3(signature = (config_json, x, x_val=None, verbose=false, callbacks=Vec::new(), tensorboard_dir=None, tensorboard_every=10, labels=None, reducer=None, checkpoint_dir=None))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        config_json: &str,
        x: &Bound<'_, PyAny>,
        x_val: Option<PyReadonlyArray2<'_, f32>>,
        verbose: bool,
        callbacks: Vec<Py<PyAny>>,
        tensorboard_dir: Option<PathBuf>,
        tensorboard_every: usize,
        labels: Option<Vec<String>>,
        reducer: Option<Py<PyAny>>,
        checkpoint_dir: Option<PathBuf>,
    ) -> PyResult<(NativeModel, String, Option<String>, &'static str, String)> {
        let reducer = reducer
            .map(|r| distributed::PyReducer::new(py, r))
            .transpose()?;
        // the run's files (TensorBoard logs) are rank 0's to write
        let tensorboard_dir =
            tensorboard_dir.filter(|_| reducer.as_ref().is_none_or(|r| r.rank() == 0));
        // X: a float32 array, or a list of .npy files streamed from disk as `train --stream`
        // reads them
        let files: Option<Vec<PathBuf>> =
            if x.is_instance_of::<pyo3::types::PyList>()
                || x.is_instance_of::<pyo3::types::PyTuple>()
            {
                Some(x.extract().map_err(|_| {
                    PyValueError::new_err("X: a list of X must hold .npy file paths")
                })?)
            } else {
                None
            };
        let array: Option<PyReadonlyArray2<'_, f32>> = match files {
            Some(_) => None,
            None => Some(x.extract()?),
        };
        // numpy's buffer is read where it lies (a np.memmap stays on disk) when it is
        // C-contiguous, as the Python side makes it; any other layout is copied once
        let copied = match &array {
            Some(a) if a.as_slice().is_err() => Some(to_matrix(a, "X")?),
            _ => None,
        };
        let rows: Box<dyn Rows + '_> = match (&files, &array, &copied) {
            (Some(paths), _, _) => {
                let (concat, _) = autoencoder::data::open_npy_files(paths).map_err(value_error)?;
                // every file read once before training, so bad data stops the fit first
                autoencoder::data::rows::for_each_chunk(&concat, 4096, |_, _| Ok(()))
                    .map_err(value_error)?;
                Box::new(concat)
            }
            (None, _, Some(m)) => {
                Box::new(SliceRows::new(m.as_slice(), m.rows(), m.cols()).map_err(value_error)?)
            }
            (None, Some(a), None) => {
                let (n, d) = (a.shape()[0], a.shape()[1]);
                let data = a.as_slice().expect("checked C-contiguous above");
                let rows = SliceRows::new(data, n, d).map_err(value_error)?;
                if let Some((r, c)) = rows.first_non_finite() {
                    return Err(PyValueError::new_err(format!(
                        "Input X contains NaN or infinity (row {}, column {})",
                        r + 1,
                        c + 1
                    )));
                }
                Box::new(rows)
            }
            (None, None, None) => unreachable!("an array when there are no files"),
        };
        let (n, d) = (rows.rows(), rows.cols());
        // no architecture named: settings chosen from the data (autoencoder::defaults)
        let mut sections: serde_json::Value = serde_json::from_str(config_json)
            .map_err(|e| PyValueError::new_err(format!("config: {e}")))?;
        let chosen = if autoencoder::defaults::wants_defaults(&sections) {
            let summary = autoencoder::defaults::DataSummary::of(&*rows).map_err(value_error)?;
            autoencoder::defaults::choose(&mut sections, &summary)
        } else {
            Vec::new()
        };
        let config = parse_config(&sections.to_string())?;
        let chosen = serde_json::to_string(&chosen)
            .map_err(|e| PyValueError::new_err(format!("defaults: {e}")))?;
        let mut x_val = x_val.map(|v| to_matrix(&v, "X_val")).transpose()?;
        if n == 0 {
            return Err(PyValueError::new_err("X has no rows"));
        }
        // [data] transform: fitted on X whole (the CLI fits it on the training file before its
        // split), then applied to each row as it is read, and to X_val
        let transform = InputTransform::fit_rows(transform_kind(&config), &rows)
            .map_err(|e| PyValueError::new_err(format!("data.transform: {e}")))?;
        if let Some(v) = x_val.as_mut() {
            transform
                .apply(v)
                .map_err(|e| PyValueError::new_err(format!("X_val: {e}")))?;
        }
        let transformed;
        let rows: &dyn Rows = if transform.is_identity() {
            &*rows
        } else {
            transformed = Transformed::new(rows, transform.clone()).map_err(value_error)?;
            &transformed
        };
        let checked = config.check(d).map_err(value_error)?;
        if let Some(v) = &x_val {
            if v.cols() != d {
                return Err(PyValueError::new_err(format!(
                    "X_val has {} columns, X has {}",
                    v.cols(),
                    d
                )));
            }
        }
        if let Some(l) = &labels {
            if l.len() != n {
                return Err(PyValueError::new_err(format!(
                    "y: {} labels for {n} rows of X",
                    l.len()
                )));
            }
        }
        let tensorboard = match &tensorboard_dir {
            Some(dir) => {
                let first = autoencoder::data::rows::read_range(
                    rows,
                    0,
                    n.min(autoencoder::report::tensorboard::SAMPLE_ROWS),
                )
                .map_err(value_error)?;
                Some(TensorBoard::new(dir, tensorboard_every, &first).map_err(value_error)?)
            }
            None => None,
        };
        // checkpoint_dir: continue from its checkpoint when it holds one (every worker reads
        // rank 0's), and write one after every epoch (rank 0)
        let start = match &checkpoint_dir {
            Some(dir) if dir.join(train::CHECKPOINT_FILE).exists() => {
                let (mut model, state) = train::load_checkpoint(dir).map_err(value_error)?;
                if !model.adopt_spec(&checked.spec) {
                    return Err(PyValueError::new_err(format!(
                        "checkpoint_dir: the checkpoint in {} is of another model than this config's",
                        dir.display()
                    )));
                }
                Start::Resume(Box::new((model, state)))
            }
            _ => Start::Fresh,
        };
        let writer = reducer.as_ref().is_none_or(|r| r.rank() == 0);
        // a resumed fit has no pretraining stage: its epochs are the fit's from the first
        let pretraining = matches!(start, Start::Fresh);
        if let (Some(dir), true) = (&checkpoint_dir, writer) {
            autoencoder::fsutil::create_dir(dir).map_err(value_error)?;
            if !transform.is_identity() {
                transform.save(dir).map_err(value_error)?;
            }
        }
        let stop = AtomicBool::new(false);
        let finished = AtomicBool::new(false);
        let outcome = py.detach(|| {
            std::thread::scope(|scope| {
                let worker = scope.spawn(|| {
                    let mut observer = PyObserver {
                        verbose,
                        stop: &stop,
                        history: Vec::new(),
                        pretraining,
                        epochs: checked.train.epochs,
                        bar: None,
                        callbacks,
                        requested: false,
                        raised: None,
                        tensorboard,
                        checkpoint: checkpoint_dir.filter(|_| writer),
                    };
                    let result = run::fit_checked_reduced(
                        &checked,
                        rows,
                        x_val.as_ref().map(|v| v as &dyn Rows),
                        start,
                        &mut observer,
                        reducer.as_ref().map(|r| r as &dyn Reducer),
                    )
                    .map(|f| (f.model, f.fit));
                    finished.store(true, Ordering::Release);
                    observer.close_bar();
                    // the projector's points: the validation rows, as the fit held them out
                    let projected = match (&result, observer.tensorboard.as_ref()) {
                        (Ok((model, Ok(_))), Some(tb)) => run::validation_sample(
                            &checked,
                            rows,
                            x_val.as_ref().map(|v| v as &dyn Rows),
                            autoencoder::report::tensorboard::PROJECTOR_ROWS,
                        )
                        .and_then(|(x, at)| {
                            let names: Option<Vec<String>> = at
                                .zip(labels.as_ref())
                                .map(|(at, l)| at.iter().map(|&i| l[i].clone()).collect());
                            tb.projector(model, &x, names.as_deref())
                        }),
                        _ => Ok(()),
                    };
                    (result, observer.history, observer.raised, projected)
                });
                // Python runs signal handlers on the main thread only: look every 50 ms.
                while !finished.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(50));
                    if Python::attach(|py| py.check_signals()).is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                worker.join()
            })
        });
        let (result, history, raised, projected) =
            outcome.map_err(|_| PyValueError::new_err("training stopped on an internal error"))?;
        if let Some(e) = raised {
            return Err(e);
        }
        // what the reducer raised (a timeout naming a rank, an MPI error), as it was raised
        if let Some(e) = reducer
            .as_ref()
            .and_then(|r| r.raised.lock().ok().and_then(|mut slot| slot.take()))
        {
            return Err(e);
        }
        let (model, fitted) = result.map_err(value_error)?;
        projected.map_err(value_error)?;
        let (stopped, reason, history) = match fitted {
            // the whole run's epochs: a resumed fit's include the checkpoint's
            Ok(report) => (None, stop_name(report.stop), report.history),
            Err(Error::Interrupted { .. }) => {
                (Some("interrupted".to_string()), "interrupted", history)
            }
            Err(e @ Error::NonFinite(_)) => (Some(e.to_string()), "non_finite", history),
            Err(e) => return Err(value_error(e)),
        };
        let history = serde_json::to_string(&history)
            .map_err(|e| PyValueError::new_err(format!("history: {e}")))?;
        Ok((
            NativeModel::new(model, None, Some(transform)),
            history,
            stopped,
            reason,
            chosen,
        ))
    }

    /// One pass over the chunk `x`, continuing `previous` (its weights, optimizer moments and
    /// random stream) or, without one, a fresh model from the config's seed (no pretraining).
    /// The learning rate is the config's, constant (a schedule needs a known epoch count); no
    /// validation, no early stopping. Returns `(model, history_json)` with this pass's metrics.
    #[staticmethod]
    #[pyo3(signature = (config_json, x, previous=None))]
    fn partial_fit(
        py: Python<'_>,
        config_json: &str,
        x: PyReadonlyArray2<'_, f32>,
        previous: Option<PyRef<'_, NativeModel>>,
    ) -> PyResult<(NativeModel, String)> {
        let config = parse_config(config_json)?;
        let (x, transform) = match &previous {
            Some(p) => (p.input(&x, "X")?, p.transform.clone()),
            None if transform_kind(&config) != TransformKind::None => {
                return Err(PyValueError::new_err(
                    "data_transform is fitted on the whole training set: call fit first, then partial_fit",
                ))
            }
            None => (to_matrix(&x, "X")?, None),
        };
        if x.rows() == 0 {
            return Err(PyValueError::new_err("X has no rows"));
        }
        let checked = config.check(x.cols()).map_err(value_error)?;
        let (mut model, state) = match &previous {
            Some(p) => {
                if p.model.spec().input_size != x.cols() {
                    return Err(PyValueError::new_err(format!(
                        "X has {} features, the model reads {}",
                        x.cols(),
                        p.model.spec().input_size
                    )));
                }
                let state = p
                    .state
                    .clone()
                    .unwrap_or_else(|| train::initial_state(&p.model, &checked.train));
                (p.model.clone(), state)
            }
            None => {
                let model = Autoencoder::new(checked.spec.clone(), checked.train.seed)
                    .map_err(value_error)?;
                let state = train::initial_state(&model, &checked.train);
                (model, state)
            }
        };
        drop(previous);
        let pass = train::TrainConfig {
            epochs: state.epochs_done + 1,
            schedule: train::Schedule::Constant,
            validation_fraction: 0.0,
            patience: None,
            ..checked.train.clone()
        };
        let threads = pass.threads;
        let (report, model) = py.detach(|| {
            with_threads(threads, || {
                let report = train::fit(&mut model, &x, None, &pass, state, &mut train::Silent);
                (report, model)
            })
        })?;
        let report = report.map_err(value_error)?;
        let history =
            serde_json::to_string(&report.history[report.history.len().saturating_sub(1)..])
                .map_err(|e| PyValueError::new_err(format!("history: {e}")))?;
        Ok((
            NativeModel::new(model, Some(report.state), transform),
            history,
        ))
    }

    /// Codes `f(x)` (the mean for Gaussian codes).
    #[pyo3(signature = (x, threads=0))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let x = self.input(&x, "X")?;
        let out = detached(py, threads, || self.model.encode(&x))?;
        Ok(to_numpy(py, out))
    }

    /// Decoder means `g(h)`.
    #[pyo3(signature = (h, threads=0))]
    fn decode<'py>(
        &self,
        py: Python<'py>,
        h: PyReadonlyArray2<'py, f32>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let h = to_matrix(&h, "codes")?;
        let out = detached(py, threads, || self.model.decode(&h))?;
        Ok(to_numpy(py, self.output(out)?))
    }

    /// Reconstructions `g(f(x))`.
    #[pyo3(signature = (x, threads=0))]
    fn reconstruct<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let x = self.input(&x, "X")?;
        let out = detached(py, threads, || self.model.reconstruct(&x))?;
        Ok(to_numpy(py, self.output(out)?))
    }

    /// Per-example likelihood loss `L(x, g(f(x)))`.
    #[pyo3(signature = (x, threads=0))]
    fn example_losses<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        threads: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let x = self.input(&x, "X")?;
        let out = detached(py, threads, || self.model.example_losses(&x))?;
        Ok(out.into_pyarray(py))
    }

    /// Per-example `−log p̂(x)` (IWAE with `samples` samples; 1 = the ELBO) of a Gaussian-code
    /// model.
    #[pyo3(signature = (x, samples, seed, threads=0))]
    fn example_nll<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        samples: usize,
        seed: u64,
        threads: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let x = self.input(&x, "X")?;
        let out = detached(py, threads, || {
            self.model.example_likelihood_bounds(&x, samples, seed)
        })?;
        Ok(out
            .into_iter()
            .map(|(_, nll)| nll)
            .collect::<Vec<f64>>()
            .into_pyarray(py))
    }

    /// `n` draws from a Gaussian-code model: decoder means of codes from the prior N(0, I).
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        seed: u64,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        if self.model.spec().code_distribution != CodeDistribution::Gaussian {
            return Err(PyValueError::new_err(
                "sample needs a generative model (code_distribution = \"gaussian\")",
            ));
        }
        let k = self.model.spec().code_size;
        let width = k.max(self.model.spec().input_size) as u128;
        autoencoder::limits::check_floats("n", n as u128 * width, "samples")
            .map_err(value_error)?;
        let mut rng = autoencoder::linalg::Rng::new(seed);
        let mut codes = vec![0.0f32; n * k];
        rng.fill_normal(&mut codes);
        let out = py
            .detach(|| self.model.decode(&Matrix::from_vec(n, k, codes)))
            .map_err(value_error)?;
        Ok(to_numpy(py, self.output(out)?))
    }

    /// Writes the CLI's run-folder files (`model.safetensors`, `spec.json`, and
    /// `config.toml` when a config is given).
    #[pyo3(signature = (dir, config_json=None))]
    fn save(&self, dir: PathBuf, config_json: Option<&str>) -> PyResult<()> {
        persist::save_model(&self.model, &dir).map_err(value_error)?;
        if let Some(t) = &self.transform {
            t.save(&dir).map_err(value_error)?;
        }
        if let Some(c) = config_json {
            let toml = parse_config(c)?.to_toml().map_err(value_error)?;
            autoencoder::fsutil::atomic_write(&dir.join("config.toml"), toml.as_bytes())
                .map_err(value_error)?;
        }
        Ok(())
    }

    /// Loads a run folder written by the CLI or by `save`.
    #[staticmethod]
    fn load(dir: PathBuf) -> PyResult<NativeModel> {
        let model = persist::load_model(&dir).map_err(value_error)?;
        let transform = InputTransform::load(&dir).map_err(value_error)?;
        Ok(NativeModel::new(model, None, transform))
    }

    /// The ONNX model of `part` (encoder, decoder, autoencoder) as bytes.
    fn export_onnx<'py>(&self, py: Python<'py>, part: &str) -> PyResult<Bound<'py, PyBytes>> {
        let part = autoencoder::export::onnx::Part::parse(part).map_err(value_error)?;
        // the fitted input transform, if any, is part of the graph (before the encoder)
        let thresholds = vec![0.5; self.model.spec().code_size];
        let bytes = autoencoder::export::onnx::export_with(
            &self.model,
            part,
            &thresholds,
            self.transform.as_ref(),
        )
        .map_err(value_error)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The model as bytes (pickle's state).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = persist::model_to_bytes(&self.model).map_err(value_error)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The fitted input transform as `transform.json` holds it, or `None`.
    fn transform_json(&self) -> PyResult<Option<String>> {
        self.transform
            .as_ref()
            .map(|t| {
                serde_json::to_string(t)
                    .map_err(|e| PyValueError::new_err(format!("transform: {e}")))
            })
            .transpose()
    }

    /// The inverse of `to_bytes` (and `transform_json`).
    #[staticmethod]
    #[pyo3(signature = (bytes, transform_json=None))]
    fn from_bytes(bytes: &[u8], transform_json: Option<&str>) -> PyResult<NativeModel> {
        let model = persist::model_from_bytes(bytes).map_err(value_error)?;
        let transform = transform_json
            .map(|j| {
                serde_json::from_str::<InputTransform>(j)
                    .map_err(|e| PyValueError::new_err(format!("transform: {e}")))
            })
            .transpose()?;
        Ok(NativeModel::new(model, None, transform))
    }

    /// The architecture as `spec.json` holds it.
    fn spec_json(&self) -> PyResult<String> {
        serde_json::to_string(self.model.spec())
            .map_err(|e| PyValueError::new_err(format!("spec: {e}")))
    }

    /// Every parameter tensor as `(name, float32 array)`, in the file's order.
    fn tensors<'py>(&self, py: Python<'py>) -> Vec<(String, Bound<'py, PyArray1<f32>>)> {
        self.model
            .tensors()
            .iter()
            .map(|t| (t.name.clone(), t.data.clone().into_pyarray(py)))
            .collect()
    }

    #[getter]
    fn input_size(&self) -> usize {
        self.model.spec().input_size
    }

    #[getter]
    fn code_size(&self) -> usize {
        self.model.spec().code_size
    }

    /// One code's shape: `[code]`, or `[C, H, W]` when a convolutional encoder's output is
    /// the code.
    fn code_shape(&self) -> Vec<usize> {
        shape_list(self.model.spec().code_shape())
    }

    /// One input example's shape: `[d]`, or `[C, H, W]` for images.
    fn input_shape(&self) -> Vec<usize> {
        shape_list(self.model.spec().input_shape())
    }
}

fn shape_list(s: autoencoder::layers::Shape) -> Vec<usize> {
    match s {
        autoencoder::layers::Shape::Flat(d) => vec![d],
        autoencoder::layers::Shape::Image {
            channels,
            height,
            width,
        } => vec![channels, height, width],
    }
}

/// The config's TOML text as JSON (for `Autoencoder.from_config`), checked as the CLI checks.
/// The keys of a config section (`"model"`, `"train"`, …), as the library reads them: the
/// estimator's keyword lists come from here.
#[pyfunction]
fn config_keys(section: &str) -> PyResult<Vec<&'static str>> {
    autoencoder::config::section_keys(section)
        .ok_or_else(|| PyValueError::new_err(format!("no config section {section:?}")))
}

#[pyfunction]
fn config_toml_to_json(path: PathBuf) -> PyResult<String> {
    let config = RunConfig::load(&path).map_err(value_error)?;
    config.train_config().map_err(|e| {
        value_error(match e {
            Error::Config { key, reason } => Error::format(&path, format!("{key}: {reason}")),
            other => other,
        })
    })?;
    serde_json::to_string(&config).map_err(|e| PyValueError::new_err(format!("{e}")))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeModel>()?;
    m.add_class::<hashing::NativeHasher>()?;
    m.add_class::<hashing::NativeHammingIndex>()?;
    m.add_function(wrap_pyfunction!(config_toml_to_json, m)?)?;
    m.add_function(wrap_pyfunction!(config_keys, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
