//! Classifier heads on learned codes: a linear probe (softmax regression on frozen codes) and
//! full fine-tuning of an encoder plus a softmax head — how the chapter's papers measure whether
//! features are useful. Classifiers train on the one training loop ([`crate::train::run`]).

use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::layers::dense::Dense;
use crate::linalg::{Backend, Cpu, Matrix, Rng};
use crate::model::Autoencoder;
use crate::nn::{dropout, softmax, weight_average, Activation, Init, Optimizer, OptimizerKind};
use crate::psd::{Predictor, Psd};
use crate::train::{
    self, Batch, EpochMetrics, Examples, Learner, LoopConfig, Observer, Schedule, SelectionRule,
    Shuffle, TrainState, Validation,
};

/// Training settings of a classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassifierConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Learning rate.
    pub learning_rate: f32,
    /// Seed for shuffling and the head's initialization.
    pub seed: u64,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Decay the learning rate to 0 over the epochs by a cosine (otherwise constant).
    pub cosine_decay: bool,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// With validation data, epochs are compared by their validation error averaged over this
    /// many epochs up to and including them (1 = that epoch's own error): a wider window keeps
    /// a lucky single-epoch dip of a noisy curve from winning.
    pub selection_window: usize,
    /// `λ` of weight decay `(λ/2) Σ ‖W‖²` on every weight matrix (not biases); 0 disables it.
    pub weight_decay: f32,
    /// Dropout rate of the classifier's input (the image when fine-tuning, the code for a
    /// linear probe); 0 disables it. Training only: inference uses the whole input.
    pub input_dropout: f32,
    /// Dropout rate of every hidden layer's output (the encoder's layers when fine-tuning);
    /// 0 disables it.
    pub hidden_dropout: f32,
    /// Decay `β` of a running average of the parameters, updated after every step
    /// ([`crate::nn::weight_average`]); validation and the returned classifier use the average.
    /// 0 disables it (the parameters themselves are used).
    pub weight_average: f32,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        ClassifierConfig {
            epochs: 30,
            batch_size: 100,
            learning_rate: 1e-3,
            seed: 0,
            threads: 0,
            cosine_decay: true,
            optimizer: OptimizerKind::adam(),
            selection_window: 1,
            weight_decay: 0.0,
            input_dropout: 0.0,
            hidden_dropout: 0.0,
            weight_average: 0.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Layer {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
    activation: Activation,
}

/// Work buffers of a classifier's training step (see [`Classifier::loss_and_gradients`]).
struct StepBuffers {
    /// Each layer's outputs, before dropout (the activations' backward reads them).
    acts: Vec<Vec<f32>>,
    /// Dropped copies of the hidden outputs (the next layer's input), and their masks.
    dropped: Vec<Vec<f32>>,
    masks: Vec<Vec<f32>>,
    /// The input needs no gradient, so its mask is only written, never read.
    input_mask: Vec<f32>,
    delta: Vec<f32>,
    spare: Vec<f32>,
    /// Per layer, the weight's and the bias's gradient.
    grads: Vec<(Vec<f32>, Vec<f32>)>,
}

/// A feed-forward softmax classifier: optional hidden layers (e.g. a pretrained encoder) and a
/// linear head.
#[derive(Clone, Debug, PartialEq)]
pub struct Classifier {
    layers: Vec<Layer>,
    /// The class label of each output unit.
    pub classes: Vec<i64>,
}

/// The sorted distinct labels, and each label's class index.
fn class_indices(labels: &[i64]) -> (Vec<i64>, Vec<usize>) {
    let mut classes = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let idx = labels
        .iter()
        .map(|l| classes.binary_search(l).unwrap_or(0))
        .collect();
    (classes, idx)
}

impl Classifier {
    /// Softmax regression on `inputs` features for the classes present in `labels`.
    pub fn linear(inputs: usize, labels: &[i64], seed: u64) -> Classifier {
        let (classes, _) = class_indices(labels);
        let mut c = Classifier {
            layers: Vec::new(),
            classes,
        };
        c.push_head(inputs, seed);
        c
    }

    /// The encoder of `model` (copied) topped with a softmax head, for fine-tuning.
    pub fn from_encoder(model: &Autoencoder, labels: &[i64], seed: u64) -> Result<Classifier> {
        model.require_dense("a probe's classifier")?;
        let spec = model.spec();
        if spec.code_distribution != CodeDistribution::Deterministic {
            return Err(Error::Invalid(
                "fine-tuning needs a deterministic code".into(),
            ));
        }
        let layers = model
            .encoder_layers()
            .map(|v| Layer {
                weight: v.weight.to_vec(),
                bias: v.bias.to_vec(),
                inputs: v.inputs,
                outputs: v.outputs,
                activation: v.activation,
            })
            .collect();
        let (classes, _) = class_indices(labels);
        let mut c = Classifier { layers, classes };
        c.push_head(spec.code_size, seed);
        Ok(c)
    }

    /// The predictor `g ⊙ tanh(W x + b)` of a PSD model (chapter 14.8) topped with the trained
    /// head of `probe` (a linear probe on the predictor's codes), for fine-tuning. The gain is
    /// folded into the head, `V (g ⊙ t) = (V diag g) t`, so the classifier starts out computing
    /// exactly the probe's scores. LISTA predictors (soft thresholds, lateral steps) are not
    /// layers of this classifier and are refused, as are models without a predictor.
    pub fn from_psd_predictor(psd: &Psd, probe: &Classifier) -> Result<Classifier> {
        let spec = psd.spec();
        if !matches!(spec.predictor, Predictor::Psd | Predictor::Tanh) {
            return Err(Error::Invalid(format!(
                "fine-tuning needs a g ⊙ tanh or tanh predictor (model.predictor = \"psd\" or \"tanh\"), this model's is {:?}",
                spec.predictor
            )));
        }
        let (d, m) = (spec.inputs, spec.atoms);
        let predictor = Layer {
            weight: psd.weight.clone(),
            bias: psd.bias.clone(),
            inputs: d,
            outputs: m,
            activation: Activation::Tanh,
        };
        let mut c = Classifier {
            layers: vec![predictor],
            classes: probe.classes.clone(),
        };
        c.push_head(m, 0);
        let mut c = c.with_head_of(probe)?;
        let head = c.layers.last_mut().expect("a head was pushed");
        for row in head.weight.chunks_exact_mut(m) {
            row.iter_mut().zip(&psd.gain).for_each(|(v, g)| *v *= g);
        }
        Ok(c)
    }

    /// Replaces this classifier's head with the (trained) single layer of `probe`, so that
    /// fine-tuning starts from the linear probe instead of a random head.
    pub fn with_head_of(mut self, probe: &Classifier) -> Result<Classifier> {
        let head = probe
            .layers
            .last()
            .ok_or_else(|| Error::Invalid("empty probe".into()))?;
        let mine = self
            .layers
            .last_mut()
            .ok_or_else(|| Error::Invalid("empty classifier".into()))?;
        if probe.layers.len() != 1 || head.inputs != mine.inputs || probe.classes != self.classes {
            return Err(Error::Shape(
                "the probe's head does not fit this classifier".into(),
            ));
        }
        *mine = head.clone();
        Ok(self)
    }

    fn push_head(&mut self, inputs: usize, seed: u64) {
        let outputs = self.classes.len().max(2);
        let mut weight = vec![0.0; inputs * outputs];
        let mut bias = vec![0.0; outputs];
        Init::Glorot.fill(
            &mut weight,
            &mut bias,
            inputs,
            outputs,
            &mut Rng::new(seed ^ 0x0C1A_55E5),
        );
        self.layers.push(Layer {
            weight,
            bias,
            inputs,
            outputs,
            activation: Activation::Linear,
        });
    }

    fn dense(&self, l: usize) -> Dense<'_> {
        let p = &self.layers[l];
        Dense {
            weight: &p.weight,
            bias: &p.bias,
            inputs: p.inputs,
            outputs: p.outputs,
            transposed_weight: false,
        }
    }

    /// Class scores (logits) of each row.
    pub fn logits(&self, x: &Matrix) -> Result<Matrix> {
        if x.cols() != self.layers[0].inputs {
            return Err(Error::Shape(format!(
                "data has {} columns, the classifier expects {}",
                x.cols(),
                self.layers[0].inputs
            )));
        }
        let backend = Cpu::new(0);
        let mut a = x.clone();
        for l in 0..self.layers.len() {
            let p = &self.layers[l];
            let mut out = Matrix::zeros(x.rows(), p.outputs);
            self.dense(l).forward(
                &backend,
                a.as_slice(),
                x.rows(),
                p.activation,
                out.as_mut_slice(),
            );
            a = out;
        }
        Ok(a)
    }

    /// The predicted label of each row.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<i64>> {
        let z = self.logits(x)?;
        Ok((0..z.rows())
            .map(|r| {
                let row = z.row(r);
                let best = (0..row.len()).fold(0, |b, c| if row[c] > row[b] { c } else { b });
                self.classes.get(best).copied().unwrap_or(best as i64)
            })
            .collect())
    }

    /// Fraction of rows whose predicted label differs from `labels`.
    pub fn error_rate(&self, x: &Matrix, labels: &[i64]) -> Result<f64> {
        let pred = self.predict(x)?;
        if pred.len() != labels.len() {
            return Err(Error::Shape(format!(
                "{} rows but {} labels",
                pred.len(),
                labels.len()
            )));
        }
        Ok(
            pred.iter().zip(labels).filter(|(p, l)| p != l).count() as f64
                / labels.len().max(1) as f64,
        )
    }

    /// Trains all layers (fine-tuning) on softmax cross-entropy; returns the mean loss
    /// of the last epoch.
    pub fn fit(&mut self, x: &Matrix, labels: &[i64], config: &ClassifierConfig) -> Result<f64> {
        Ok(self.fit_selecting(x, labels, None, config)?.last_loss)
    }

    /// Like [`Classifier::fit`], and when `validation` is given keeps the parameters of the
    /// epoch with the lowest validation error (model selection as in the papers; the first
    /// such epoch on ties; see [`ClassifierConfig::selection_window`]). Returns the validation
    /// curve and the kept epoch.
    pub fn fit_selecting(
        &mut self,
        x: &Matrix,
        labels: &[i64],
        validation: Option<(&Matrix, &[i64])>,
        config: &ClassifierConfig,
    ) -> Result<FitHistory> {
        self.fit_observed(x, labels, validation, config, &mut |_| {})
    }

    /// Like [`Classifier::fit_selecting`], calling `on_epoch` after every epoch (progress
    /// display, logging).
    pub fn fit_observed(
        &mut self,
        x: &Matrix,
        labels: &[i64],
        validation: Option<(&Matrix, &[i64])>,
        config: &ClassifierConfig,
        on_epoch: &mut (dyn FnMut(&ClassifierEpoch) + Send),
    ) -> Result<FitHistory> {
        if x.rows() != labels.len() {
            return Err(Error::Shape(format!(
                "{} rows but {} labels",
                x.rows(),
                labels.len()
            )));
        }
        dropout::check_rate("input_dropout", config.input_dropout)?;
        dropout::check_rate("hidden_dropout", config.hidden_dropout)?;
        weight_average::check_decay("weight_average", config.weight_average)?;
        let targets: Vec<usize> = labels
            .iter()
            .map(|l| {
                self.classes.binary_search(l).map_err(|_| {
                    Error::Invalid(format!(
                        "label {l} is not one of the classifier's classes {:?}",
                        self.classes
                    ))
                })
            })
            .collect::<Result<_>>()?;
        let lens: Vec<usize> = self
            .layers
            .iter()
            .flat_map(|l| [l.weight.len(), l.bias.len()])
            .collect();
        let state = TrainState::new(config.optimizer, &lens, config.seed);
        let loop_config = LoopConfig {
            epochs: config.epochs,
            batch_size: config.batch_size,
            learning_rate: config.learning_rate,
            schedule: if config.cosine_decay {
                Schedule::Cosine { min_lr: 0.0 }
            } else {
                Schedule::Constant
            },
            threads: config.threads,
            drop_last: false,
            shuffle: Shuffle::Continued,
            selection: SelectionRule {
                window: config.selection_window,
                keep_best: true,
                patience: None,
            },
            weight_average: config.weight_average,
        };
        let mut learner = ClassifierLearner {
            classifier: self,
            config,
            validation_labels: validation.map(|(_, y)| y),
        };
        let mut observer = EpochCallback {
            epochs: config.epochs,
            on_epoch,
        };
        let report = train::run(
            &mut learner,
            Examples::labelled(x, &targets),
            validation.map(|(vx, _)| Examples::unlabelled(vx)),
            &loop_config,
            state,
            &mut observer,
        )?;
        let unaveraged = report.unaveraged.map(|u| {
            let mut classifier = self.clone();
            classifier.set_parameters(&u.parameters);
            Box::new(UnaveragedSelection {
                validation_errors: u.validation_scores,
                selected_epoch: u.selected_epoch,
                classifier,
            })
        });
        Ok(FitHistory {
            last_loss: report.history.last().map_or(0.0, |m| m.train_loss),
            selected_epoch: validation.and(report.state.best.map(|(_, epoch)| epoch)),
            validation_errors: report.validation_scores,
            unaveraged,
        })
    }

    /// Overwrites every layer's weight and bias from `parameters` (the [`Learner`] order).
    fn set_parameters(&mut self, parameters: &[Vec<f32>]) {
        for (l, layer) in self.layers.iter_mut().enumerate() {
            layer.weight.copy_from_slice(&parameters[2 * l]);
            layer.bias.copy_from_slice(&parameters[2 * l + 1]);
        }
    }

    /// Buffers for training steps of up to `rows` rows of `inputs` features.
    fn step_buffers(&self, rows: usize, inputs: usize, config: &ClassifierConfig) -> StepBuffers {
        let widest = self
            .layers
            .iter()
            .map(|l| l.outputs.max(l.inputs))
            .max()
            .unwrap_or(0);
        let acts: Vec<Vec<f32>> = self
            .layers
            .iter()
            .map(|l| vec![0.0; rows * l.outputs])
            .collect();
        let buffer_if = |on: bool, len: usize| if on { vec![0.0f32; len] } else { Vec::new() };
        let dropped: Vec<Vec<f32>> = acts
            .iter()
            .map(|a| buffer_if(config.hidden_dropout > 0.0, a.len()))
            .collect();
        StepBuffers {
            masks: dropped.clone(),
            dropped,
            acts,
            input_mask: buffer_if(config.input_dropout > 0.0, rows * inputs),
            delta: vec![0.0; rows * widest],
            spare: vec![0.0; rows * widest],
            grads: self
                .layers
                .iter()
                .map(|l| (vec![0.0; l.weight.len()], vec![0.0; l.bias.len()]))
                .collect(),
        }
    }

    /// One training step's forward and backward pass: returns the batch's mean cross-entropy
    /// (of the network with units dropped, as trained) plus the weight-decay penalty, and
    /// leaves its gradient in `bufs.grads`. Input dropout is applied to `batch` in place; the
    /// masks come from `dropout_rng`.
    fn loss_and_gradients(
        &self,
        backend: &Cpu,
        batch: &mut Matrix,
        targets: &[usize],
        config: &ClassifierConfig,
        dropout_rng: &mut Rng,
        bufs: &mut StepBuffers,
    ) -> f64 {
        let rows = batch.rows();
        let hidden_dropout = config.hidden_dropout > 0.0;
        let StepBuffers {
            acts,
            dropped,
            masks,
            input_mask,
            delta,
            spare,
            grads,
        } = bufs;
        if config.input_dropout > 0.0 {
            let n_in = rows * batch.cols();
            dropout::forward_in_place(
                &mut batch.as_mut_slice()[..n_in],
                &mut input_mask[..n_in],
                config.input_dropout,
                dropout_rng,
            );
        }
        let top = self.layers.len() - 1;
        for l in 0..self.layers.len() {
            let p = &self.layers[l];
            let (before, after) = acts.split_at_mut(l);
            let input: &[f32] = if l == 0 {
                batch.as_slice()
            } else if hidden_dropout {
                &dropped[l - 1][..rows * p.inputs]
            } else {
                &before[l - 1][..rows * p.inputs]
            };
            let out = &mut after[0][..rows * p.outputs];
            self.dense(l)
                .forward(backend, input, rows, p.activation, out);
            if hidden_dropout && l < top {
                let kept = &mut dropped[l][..rows * p.outputs];
                kept.copy_from_slice(out);
                dropout::forward_in_place(
                    kept,
                    &mut masks[l][..rows * p.outputs],
                    config.hidden_dropout,
                    dropout_rng,
                );
            }
        }
        let k = self.layers[top].outputs;
        delta[..rows * k].copy_from_slice(&acts[top][..rows * k]);
        let mut loss =
            softmax::cross_entropy_in_place(&mut delta[..rows * k], targets, k, 1.0 / rows as f32)
                / rows as f64;
        for l in (0..self.layers.len()).rev() {
            let (inputs, outputs) = (self.layers[l].inputs, self.layers[l].outputs);
            let input: &[f32] = if l == 0 {
                batch.as_slice()
            } else if hidden_dropout {
                &dropped[l - 1][..rows * inputs]
            } else {
                &acts[l - 1][..rows * inputs]
            };
            let (wg, bg) = {
                let g = &mut grads[l];
                (&mut g.0, &mut g.1)
            };
            let input_grad = if l > 0 {
                Some(&mut spare[..rows * inputs])
            } else {
                None
            };
            self.dense(l).backward(
                backend as &dyn Backend,
                input,
                rows,
                &delta[..rows * outputs],
                wg,
                bg,
                false,
                false,
                input_grad,
            );
            if config.weight_decay > 0.0 {
                loss += crate::objective::weight_decay::value_and_grad(
                    config.weight_decay,
                    &self.layers[l].weight,
                    &mut grads[l].0,
                );
            }
            if l > 0 {
                let below = &self.layers[l - 1];
                let n_below = rows * below.outputs;
                if hidden_dropout {
                    dropout::backward_in_place(&mut spare[..n_below], &masks[l - 1][..n_below]);
                }
                below
                    .activation
                    .backward_in_place(&mut spare[..n_below], &acts[l - 1][..n_below]);
                std::mem::swap(delta, spare);
            }
        }
        loss
    }
}

/// A classifier trained by backprop on softmax cross-entropy (plus weight decay, with
/// dropout), as a [`Learner`] of the one training loop.
struct ClassifierLearner<'a> {
    classifier: &'a mut Classifier,
    config: &'a ClassifierConfig,
    /// Labels of the validation rows (they need not be among the classes: such rows count as
    /// errors).
    validation_labels: Option<&'a [i64]>,
}

impl Learner for ClassifierLearner<'_> {
    type Model = Classifier;
    /// The backend, the step's buffers, and dropout's own stream (so that dropout leaves the
    /// shuffling order unchanged).
    type Workspace = (Cpu, StepBuffers, Rng);

    fn model(&self) -> &Classifier {
        self.classifier
    }

    fn input_width(&self) -> usize {
        self.classifier.layers[0].inputs
    }

    fn workspace(&self, max_rows: usize) -> Result<Self::Workspace> {
        let bufs = self
            .classifier
            .step_buffers(max_rows, self.input_width(), self.config);
        Ok((Cpu::new(0), bufs, Rng::new(self.config.seed).fork(0xD809)))
    }

    fn parameters(&self) -> Vec<&[f32]> {
        self.classifier
            .layers
            .iter()
            .flat_map(|l| [l.weight.as_slice(), l.bias.as_slice()])
            .collect()
    }

    fn parameters_mut(&mut self) -> Vec<&mut [f32]> {
        self.classifier
            .layers
            .iter_mut()
            .flat_map(|l| [l.weight.as_mut_slice(), l.bias.as_mut_slice()])
            .collect()
    }

    fn step(
        &mut self,
        (backend, bufs, dropout_rng): &mut Self::Workspace,
        batch: &mut Batch<'_>,
        _rng: &mut Rng,
        optimizer: &mut Optimizer,
        learning_rate: f32,
    ) -> Result<f64> {
        let loss = self.classifier.loss_and_gradients(
            backend,
            batch.x,
            batch.targets,
            self.config,
            dropout_rng,
            bufs,
        );
        optimizer.begin_step();
        let threads = backend.threads();
        for (l, (layer, (wg, bg))) in self
            .classifier
            .layers
            .iter_mut()
            .zip(&bufs.grads)
            .enumerate()
        {
            optimizer.update(2 * l, &mut layer.weight, wg, learning_rate, threads);
            optimizer.update(2 * l + 1, &mut layer.bias, bg, learning_rate, threads);
        }
        if !loss.is_finite() {
            return Err(Error::NonFinite(format!("the loss became {loss}")));
        }
        Ok(loss)
    }

    fn validate(&self, data: &Examples<'_>) -> Result<Validation> {
        let labels = self
            .validation_labels
            .ok_or_else(|| Error::Invalid("validation rows need labels".into()))?;
        let error = self.classifier.error_rate(&*data.matrix()?, labels)?;
        Ok(Validation {
            score: error,
            error_rate: Some(error),
            ..Validation::default()
        })
    }

    fn divergence_message(&self, epoch: usize, _what: &str) -> String {
        format!(
            "classifier training diverged in epoch {epoch}; kept the weights from the start of that epoch. Try a lower learning rate"
        )
    }
}

/// Shows the loop's epochs to a [`Classifier::fit_observed`] callback.
struct EpochCallback<'a> {
    epochs: usize,
    on_epoch: &'a mut (dyn FnMut(&ClassifierEpoch) + Send),
}

impl Observer<Classifier> for EpochCallback<'_> {
    fn epoch(&mut self, m: &EpochMetrics, _: &Classifier, _: &TrainState) -> Result<()> {
        (self.on_epoch)(&ClassifierEpoch {
            epoch: m.epoch,
            epochs: self.epochs,
            training_loss: m.train_loss,
            validation_error: m.validation_error,
        });
        Ok(())
    }
}

/// What one epoch of classifier training reports (see [`Classifier::fit_observed`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassifierEpoch {
    /// 1-based.
    pub epoch: usize,
    /// Epochs in the run.
    pub epochs: usize,
    /// Mean training loss of the epoch.
    pub training_loss: f64,
    /// Validation error after the epoch (of the averaged parameters when averaging), when
    /// there is validation data.
    pub validation_error: Option<f64>,
}

/// With weight averaging and validation data: the selection the same run made among its
/// unaveraged parameters (what the run would have given without averaging).
#[derive(Clone, Debug, PartialEq)]
pub struct UnaveragedSelection {
    /// Validation error of the unaveraged parameters after each epoch.
    pub validation_errors: Vec<f64>,
    /// The epoch (1-based) whose unaveraged parameters were kept.
    pub selected_epoch: usize,
    /// Those parameters.
    pub classifier: Classifier,
}

/// What [`Classifier::fit_selecting`] saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FitHistory {
    /// Mean training loss of the last epoch.
    pub last_loss: f64,
    /// Validation error after each epoch (empty without validation data).
    pub validation_errors: Vec<f64>,
    /// The epoch (1-based) whose parameters were kept; `None` without validation data.
    pub selected_epoch: Option<usize>,
    /// With weight averaging and validation data: the run's best unaveraged parameters.
    pub unaveraged: Option<Box<UnaveragedSelection>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grad_param(c: &Classifier, l: usize, which: usize, i: usize) -> f32 {
        if which == 0 {
            c.layers[l].weight[i]
        } else {
            c.layers[l].bias[i]
        }
    }

    /// The assembled backward pass (dense layers, activations, hidden and input dropout, the
    /// softmax head, weight decay) against finite differences of its own loss, with the dropout
    /// masks held fixed by redrawing them from the same seed at every evaluation.
    #[test]
    #[allow(clippy::needless_range_loop)] // the indices pick the parameter to perturb
    fn classifier_gradient_matches_finite_differences() {
        let mut rng = Rng::new(5);
        let mut layer = |inputs: usize, outputs: usize, activation: Activation| Layer {
            weight: (0..inputs * outputs).map(|_| 0.6 * rng.normal()).collect(),
            bias: (0..outputs).map(|_| 0.2 * rng.normal()).collect(),
            inputs,
            outputs,
            activation,
        };
        let mut c = Classifier {
            layers: vec![
                layer(5, 6, Activation::Sigmoid),
                layer(6, 4, Activation::Tanh),
                layer(4, 3, Activation::Linear),
            ],
            classes: vec![0, 1, 2],
        };
        let x = Matrix::from_vec(
            7,
            5,
            (0..35).map(|i| ((i * 13 % 11) as f32) / 10.0).collect(),
        );
        let targets: Vec<usize> = (0..7).map(|i| i % 3).collect();
        let config = ClassifierConfig {
            hidden_dropout: 0.3,
            input_dropout: 0.2,
            weight_decay: 0.01,
            ..ClassifierConfig::default()
        };
        let backend = Cpu::new(1);
        let mut bufs = c.step_buffers(7, 5, &config);
        let loss = |c: &Classifier, bufs: &mut StepBuffers| {
            let mut batch = x.clone();
            c.loss_and_gradients(
                &backend,
                &mut batch,
                &targets,
                &config,
                &mut Rng::new(9),
                bufs,
            )
        };
        loss(&c, &mut bufs);
        let grads = bufs.grads.clone();
        assert!(bufs.masks[0].contains(&0.0), "no hidden unit was dropped");
        let mut worst = 0.0f64;
        let h = 1e-3f32;
        for l in 0..c.layers.len() {
            for (which, grad) in [(0, &grads[l].0), (1, &grads[l].1)] {
                for i in 0..grad.len() {
                    let set = |c: &mut Classifier, v: f32| {
                        let layer = &mut c.layers[l];
                        if which == 0 {
                            layer.weight[i] = v
                        } else {
                            layer.bias[i] = v
                        }
                    };
                    let base = grad_param(&c, l, which, i);
                    set(&mut c, base + h);
                    let up = loss(&c, &mut bufs);
                    set(&mut c, base - h);
                    let down = loss(&c, &mut bufs);
                    set(&mut c, base);
                    let numeric = (up - down) / (2.0 * h as f64);
                    worst = worst.max((numeric - grad[i] as f64).abs() / (1.0 + numeric.abs()));
                }
            }
        }
        assert!(worst < 2e-3, "worst error {worst}");
    }
}
