//! The autoencoder as a [`Learner`]: one backprop step on `L(x, g(f(C(x)))) + Ω`
//! ([`Autoencoder::train_step`]) per minibatch, with dynamic binarization of the batch and the
//! KL warm-up of a Gaussian code.

use super::learner::{Batch, Examples, Learner, Validation};
use super::reducer::Reducer;
use super::{warmed_up_beta, TrainConfig};
use crate::error::{Error, Result};
use crate::linalg::Matrix;
use crate::linalg::{Cpu, Rng};
use crate::model::{Autoencoder, Workspace};
use crate::nn::{cg, Optimizer, OptimizerKind};
use crate::objective::parametric_umap::FuzzyGraph;
use crate::objective::{corruption, CodePenalty, Objective};

/// Validation rows per evaluation of an objective with a map term (its affinities are
/// per batch, so the chunks are fixed for comparable epochs).
const VALIDATION_CHUNK: usize = 1000;

/// An autoencoder with the objective it is trained on.
pub struct AutoencoderLearner<'a> {
    model: &'a mut Autoencoder,
    /// The objective of the current epoch (its `beta` follows the warm-up).
    objective: Objective,
    beta: f32,
    kl_warmup_epochs: usize,
    dynamic_binarization: bool,
    /// With a UMAP term: the training set's graph, whose edges make each epoch's batches.
    graph: Option<FuzzyGraph>,
    /// With a UMAP term: the validation rows as a fixed draw of its own graph's edges.
    validation_order: Option<Vec<usize>>,
    /// In a data-parallel fit: what averages each step's gradient across the workers.
    reducer: Option<&'a dyn Reducer>,
}

impl<'a> AutoencoderLearner<'a> {
    /// `model` trained on `config`'s objective.
    pub fn new(model: &'a mut Autoencoder, config: &TrainConfig) -> Self {
        AutoencoderLearner {
            model,
            objective: config.objective.clone(),
            beta: config.objective.beta,
            kl_warmup_epochs: config.kl_warmup_epochs,
            dynamic_binarization: config.dynamic_binarization,
            graph: None,
            validation_order: None,
            reducer: None,
        }
    }

    /// The same learner as one worker of a data-parallel fit: each step's gradient (and loss)
    /// is averaged through `reducer` before the optimizer applies it.
    pub fn with_reducer(mut self, reducer: Option<&'a dyn Reducer>) -> Self {
        self.reducer = reducer;
        self
    }

    /// Builds what a UMAP term needs before the first epoch: the fuzzy graph of the clean
    /// training rows, and a fixed draw of edges of the validation rows' own graph (so every
    /// epoch is scored on the same pairs). Without a UMAP term it does nothing.
    pub fn prepare_map_graphs(
        &mut self,
        train: &Matrix,
        validation: Option<&Matrix>,
    ) -> Result<()> {
        let Some(neighbors) = self.objective.code_penalties.iter().find_map(|p| match p {
            CodePenalty::Umap { neighbors, .. } => Some(*neighbors),
            _ => None,
        }) else {
            return Ok(());
        };
        self.graph = Some(FuzzyGraph::fit(train, neighbors)?);
        self.validation_order = match validation {
            Some(v) if v.rows() > neighbors => {
                let mut order = Vec::new();
                FuzzyGraph::fit(v, neighbors)?.draw_pairs(
                    v.rows() / 2,
                    &mut Rng::new(0),
                    &mut order,
                );
                Some(order)
            }
            _ => None,
        };
        Ok(())
    }
}

/// An autoencoder's validation, whatever its rule: the likelihood loss (the selection score)
/// and the squared error of its reconstructions.
pub(crate) fn reconstruction_validation(
    model: &Autoencoder,
    data: &Examples<'_>,
) -> Result<Validation> {
    let e = model.evaluate_rows(data.x)?;
    Ok(Validation {
        score: e.loss_per_example,
        loss: Some(e.loss_per_example),
        squared_error: Some(e.squared_error_per_example),
        ..Validation::default()
    })
}

impl AutoencoderLearner<'_> {
    /// One minibatch of nonlinear conjugate gradients ([`cg::minimize`]): `line_searches`
    /// line searches on this batch's objective over every trained tensor, as Hinton &
    /// Salakhutdinov fine-tuned. Every evaluation draws the same noise (corruption, sampled
    /// codes, dropout), so the line searches see one function; the loop's stream then moves
    /// on as after one step. Running statistics (batch norm) follow every evaluation. In a
    /// data-parallel fit each evaluation's gradient and loss are averaged, so every worker
    /// takes the same steps. Returns the batch's objective before the update.
    fn conjugate_gradient_step(
        &mut self,
        backend: &Cpu,
        ws: &mut Workspace,
        x: &Matrix,
        rng: &mut Rng,
        line_searches: usize,
    ) -> Result<f64> {
        let buffers = self.model.buffer_tensors();
        let trained: Vec<usize> = (0..self.model.tensors().len())
            .filter(|t| !buffers.contains(t))
            .collect();
        let mut theta: Vec<f32> = trained
            .iter()
            .flat_map(|&t| self.model.tensors()[t].data.iter().copied())
            .collect();
        let (model, objective, reducer) = (&mut *self.model, &self.objective, self.reducer);
        let start = rng.clone();
        let mut after_one_step: Option<Rng> = None;
        let mut eval = |p: &[f32], g: &mut [f32]| -> Result<f64> {
            set_flat(model, &trained, p);
            let mut draws = start.clone();
            let loss = match model.gradient_step(backend, ws, x, objective, &mut draws) {
                Ok(loss) => loss,
                // a trial point past the valley: the line search retreats from it
                Err(Error::NonFinite(_)) => f64::NAN,
                Err(e) => return Err(e),
            };
            after_one_step.get_or_insert(draws);
            let loss = match reducer {
                Some(reducer) => {
                    reducer.all_reduce_mean(ws.grads.as_mut_slice())?;
                    // the line search compares values that differ in their last digits: the
                    // mean loss travels in f64, not in the gradient's f32 tail slot
                    let mut sum = [loss];
                    reducer.all_reduce_f64(&mut sum, super::reducer::ReduceOp::Sum)?;
                    sum[0] / reducer.world_size() as f64
                }
                None => loss,
            };
            let mut at = 0;
            for &t in &trained {
                let gt = &ws.grads[t];
                g[at..at + gt.len()].copy_from_slice(gt);
                at += gt.len();
            }
            Ok(loss)
        };
        let report = cg::minimize(&mut theta, line_searches, &mut eval)?;
        set_flat(self.model, &trained, &theta);
        if let Some(next) = after_one_step {
            *rng = next;
        }
        Ok(report.f_start)
    }
}

/// Writes the flat vector `p` into `model`'s tensors `trained`, in order.
fn set_flat(model: &mut Autoencoder, trained: &[usize], p: &[f32]) {
    let mut at = 0;
    for &t in trained {
        let data = &mut model.tensors_mut()[t].data;
        let len = data.len();
        data.copy_from_slice(&p[at..at + len]);
        at += len;
    }
}

impl Learner for AutoencoderLearner<'_> {
    type Model = Autoencoder;
    /// The backend is made on the loop's pool, so it sees that pool's threads.
    type Workspace = (Cpu, Workspace);

    fn model(&self) -> &Autoencoder {
        self.model
    }

    fn input_width(&self) -> usize {
        self.model.spec().input_size
    }

    fn workspace(&self, max_rows: usize) -> Result<Self::Workspace> {
        Ok((
            Cpu::new(0),
            self.model
                .workspace_with_samples(max_rows, self.objective.importance_samples),
        ))
    }

    fn parameters(&self) -> Vec<&[f32]> {
        self.model.parameter_slices()
    }

    fn parameters_mut(&mut self) -> Vec<&mut [f32]> {
        self.model.parameter_slices_mut()
    }

    fn begin_epoch(&mut self, epochs_done: usize, _epochs: usize) {
        self.objective.beta = warmed_up_beta(self.beta, epochs_done, self.kl_warmup_epochs);
    }

    /// With a UMAP term, an epoch is edges of the graph drawn ∝ weight: as many as the graph's
    /// total weight (`epoch_edges = "graph"`) or `examples / 2` (`"rows"`).
    fn draw_order(&mut self, examples: usize, rng: &mut Rng, order: &mut Vec<usize>) -> bool {
        let Some(graph) = &self.graph else {
            return false;
        };
        let epoch_edges = self
            .objective
            .code_penalties
            .iter()
            .find_map(|p| match p {
                CodePenalty::Umap { epoch_edges, .. } => Some(*epoch_edges),
                _ => None,
            })
            .unwrap_or_default();
        graph.draw_pairs(graph.epoch_pairs(epoch_edges, examples), rng, order);
        true
    }

    fn step(
        &mut self,
        (backend, ws): &mut Self::Workspace,
        batch: &mut Batch<'_>,
        rng: &mut Rng,
        optimizer: &mut Optimizer,
        learning_rate: f32,
    ) -> Result<f64> {
        if self.dynamic_binarization {
            // drawn from the loop's stream before the corruption's draws
            corruption::binarize_in_place(batch.x.as_mut_slice(), rng);
        }
        if let OptimizerKind::Cg { line_searches } = optimizer.kind {
            optimizer.begin_step();
            return self.conjugate_gradient_step(backend, ws, batch.x, rng, line_searches);
        }
        let Some(reducer) = self.reducer else {
            return self.model.train_step(
                backend,
                ws,
                batch.x,
                &self.objective,
                rng,
                Some((optimizer, learning_rate)),
            );
        };
        // a worker whose loss went non-finite still joins the all-reduce (the others would
        // wait for it); the mean loss then stops every worker alike
        let loss = match self
            .model
            .gradient_step(backend, ws, batch.x, &self.objective, rng)
        {
            Ok(loss) => loss,
            Err(Error::NonFinite(_)) => f64::NAN,
            Err(e) => return Err(e),
        };
        ws.grads.tail_mut()[0] = loss as f32;
        reducer.all_reduce_mean(ws.grads.as_mut_slice())?;
        let mean = ws.grads.tail()[0] as f64;
        if !mean.is_finite() {
            return Err(Error::NonFinite(format!(
                "the workers' mean loss is {mean}"
            )));
        }
        self.model
            .apply_gradients(backend, &ws.grads, optimizer, learning_rate);
        Ok(mean)
    }

    fn buffers(&self) -> Vec<usize> {
        self.model.buffer_tensors()
    }

    fn validate(&self, data: &Examples<'_>) -> Result<Validation> {
        let mut v = reconstruction_validation(self.model, data)?;
        let maps = self
            .objective
            .code_penalties
            .iter()
            .any(CodePenalty::is_map);
        if maps && data.x.rows() >= 2 {
            // a map term is part of what is learned (with reconstruction_weight = 0, all of
            // it): select and stop early on the whole objective, on fixed chunks of the
            // validation set, without corruption
            let objective = Objective {
                corruption: None,
                ..self.objective.clone()
            };
            let mut model = self.model.clone();
            // a UMAP term scores edges: the validation rows in their fixed pair order
            let x = data.matrix()?;
            let paired = self.validation_order.as_ref().map(|o| x.select_rows(o));
            let rows = paired.as_ref().unwrap_or(&x);
            let (n, mut total) = (rows.rows(), 0.0f64);
            for start in (0..n).step_by(VALIDATION_CHUNK) {
                let end = (start + VALIDATION_CHUNK).min(n);
                let chunk = rows.slice_rows(start, end);
                total += model.loss(&chunk, &objective, &mut Rng::new(0))? * (end - start) as f64;
            }
            v.score = total / n as f64;
            // shown as the validation loss too, comparable with the training loss
            v.loss = Some(v.score);
        }
        Ok(v)
    }

    fn divergence_message(&self, epoch: usize, what: &str) -> String {
        format!(
            "training diverged in epoch {epoch} ({what}); kept the model from the start of that epoch. \
             Try a lower learning rate, or check the data range (Bernoulli output needs data in [0, 1])"
        )
    }
}
