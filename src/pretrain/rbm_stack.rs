//! A deep autoencoder initialized from a stack of RBMs (Hinton & Salakhutdinov 2006, *Science*
//! 313:504; *Deep Learning* §14.9, §20.3): RBM `l` is trained by contrastive divergence on the
//! hidden probabilities of RBM `l − 1` (the data for the first), then the stack is unrolled,
//!
//! ```text
//! encoder layer l:            h_l = σ(W_l h_{l−1} + c_l)        (linear for a linear code)
//! decoder layer L − 1 − l:    h_{l−1} = σ(W_lᵀ h_l + b_l)
//! ```
//!
//! and the whole autoencoder is fine-tuned by backprop. With a multinomial output (word counts,
//! §14.9's semantic hashing) the first RBM has replicated-softmax visible units (Salakhutdinov &
//! Hinton 2009), whose `softmax(b + Wᵀh)` is the decoder's output layer; with a binary code the
//! top RBM's Bernoulli hidden units give the code's logits. As in their code: batches of 100,
//! learning rate 0.1 (0.001 for the linear top layer, whose hidden units are Gaussian), weight
//! decay 0.0002, momentum 0.5 for the first 5 epochs and 0.9 after.

use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::linalg::{transpose, Matrix};
use crate::model::{Autoencoder, AutoencoderSpec, Half};
use crate::nn::{Activation, OptimizerKind};
use crate::rbm::contrastive_divergence::{CdConfig, RbmLearner};
use crate::rbm::{Rbm, RbmSpec, Units};
use crate::train::{
    run, Examples, LoopConfig, Observer, Schedule, SelectionRule, Shuffle, TrainState,
};

/// Hyperparameters of stacked RBM pretraining (`[pretrain] kind = "rbm"`).
#[derive(Clone, Debug, PartialEq)]
pub struct RbmStackConfig {
    /// Epochs per RBM.
    pub epochs: usize,
    /// Updates per RBM instead of epochs (`[pretrain] updates`): the epochs become
    /// `⌈updates / steps per epoch⌉`, so a small data set gets as many updates as a large one.
    pub updates: Option<usize>,
    /// At least this many updates per RBM: `epochs` grows to `⌈min_updates / steps per epoch⌉`
    /// where that is more (the `[pretrain]` default when neither `epochs` nor `updates` is
    /// given, so 1,000 rows get the updates that help, as 60,000 rows do in 50 epochs).
    pub min_updates: Option<usize>,
    /// Gibbs steps of CD-k.
    pub cd_steps: usize,
    /// PCD instead of CD.
    pub persistent: bool,
    /// Learning rate of RBMs with Bernoulli hidden units.
    pub learning_rate: f32,
    /// Learning rate of the top RBM when its hidden units are linear.
    pub linear_learning_rate: f32,
    /// Weight decay on the RBMs' weights.
    pub weight_decay: f32,
    /// Examples per update.
    pub batch_size: usize,
    /// Momentum for the first `momentum_switch_epoch` epochs, and after.
    pub initial_momentum: f32,
    pub final_momentum: f32,
    pub momentum_switch_epoch: usize,
    /// Seed of the RBMs' initial weights and their chains.
    pub seed: u64,
    /// Worker threads (0 = all cores).
    pub threads: usize,
}

impl Default for RbmStackConfig {
    fn default() -> Self {
        RbmStackConfig {
            epochs: 50,
            updates: None,
            min_updates: None,
            cd_steps: 1,
            persistent: false,
            learning_rate: 0.1,
            linear_learning_rate: 0.001,
            weight_decay: 0.0002,
            batch_size: 100,
            initial_momentum: 0.5,
            final_momentum: 0.9,
            momentum_switch_epoch: 5,
            seed: 0,
            threads: 0,
        }
    }
}

impl RbmStackConfig {
    /// The config for `rows` training rows: with `updates` set, the epochs that give each RBM
    /// that many updates (at least one epoch); with `min_updates`, at least that many.
    pub fn for_rows(&self, rows: usize) -> RbmStackConfig {
        let mut c = self.clone();
        let steps = rows.div_ceil(self.batch_size.max(1)).max(1);
        if let Some(updates) = self.updates {
            c.epochs = updates.div_ceil(steps).max(1);
        } else if let Some(min) = self.min_updates {
            c.epochs = c.epochs.max(min.div_ceil(steps));
        }
        c
    }
}

/// Checks that a model of `spec` can be unrolled from RBMs: a deterministic or binary code,
/// sigmoid hidden layers (an RBM's hidden units are logistic), a sigmoid or linear code, a
/// mirrored decoder, data in [0, 1] for a Bernoulli first RBM and non-negative for a
/// replicated-softmax one (multinomial output). Errors name the key.
pub fn check_unrollable(spec: &AutoencoderSpec, x: &Matrix) -> Result<()> {
    if spec.code_distribution == CodeDistribution::Gaussian {
        return Err(Error::config(
            "pretrain.kind",
            "RBM pretraining needs a deterministic or binary code",
        ));
    }
    if !spec.encoder_layers.is_empty() && spec.activation != Activation::Sigmoid {
        return Err(Error::config(
            "model.activation",
            "RBM pretraining needs sigmoid hidden layers (an RBM's hidden units are logistic)",
        ));
    }
    if !matches!(
        spec.code_activation,
        Activation::Sigmoid | Activation::Linear
    ) {
        return Err(Error::config(
            "model.code_activation",
            "RBM pretraining needs a sigmoid code (Bernoulli hidden units) or a linear one (Gaussian)",
        ));
    }
    if !spec.is_mirrored() {
        return Err(Error::config(
            "model.decoder_layers",
            "RBM pretraining unrolls the stack into a mirrored decoder",
        ));
    }
    if spec.output == crate::Likelihood::Multinomial {
        if x.as_slice().iter().any(|v| *v < 0.0) {
            return Err(Error::config(
                "pretrain.kind",
                "the first RBM has replicated-softmax visible units (multinomial output): the data must be non-negative counts or weights",
            ));
        }
    } else if x.as_slice().iter().any(|v| !(0.0..=1.0).contains(v)) {
        return Err(Error::config(
            "pretrain.kind",
            "the first RBM has Bernoulli visible units: the data must lie in [0, 1]",
        ));
    }
    Ok(())
}

/// Trains one RBM per encoder layer of `model` on `x` and unrolls the stack into `model`'s
/// encoder and decoder. Returns the RBMs, bottom first.
pub fn pretrain_rbm_stack(
    model: &mut Autoencoder,
    x: &Matrix,
    config: &RbmStackConfig,
    observer: &mut dyn Observer<Rbm>,
) -> Result<Vec<Rbm>> {
    model.require_dense("RBM pretraining")?;
    check_unrollable(model.spec(), x)?;
    let config = &config.for_rows(x.rows());
    if config.epochs == 0 || config.cd_steps == 0 || config.batch_size == 0 {
        return Err(Error::config(
            "pretrain",
            "epochs, cd_steps and batch_size must each be at least 1",
        ));
    }
    let spec = model.spec().clone();
    let widths = spec.encoder_widths();
    let layers = widths.len() - 1;
    let mut input = x.clone();
    let mut stack = Vec::with_capacity(layers);
    for l in 0..layers {
        let top = l + 1 == layers;
        let binary = spec.code_distribution == CodeDistribution::Binary;
        let hidden_units = if top && spec.code_activation == Activation::Linear && !binary {
            Units::Gaussian
        } else {
            Units::Bernoulli
        };
        let rbm_spec = RbmSpec {
            visible: widths[l],
            hidden: widths[l + 1],
            visible_units: if l == 0 && spec.output == crate::Likelihood::Multinomial {
                Units::Softmax
            } else {
                Units::Bernoulli
            },
            hidden_units,
        };
        let mut rbm = Rbm::new(rbm_spec, config.seed.wrapping_add(l as u64))?;
        let learning_rate = if hidden_units == Units::Gaussian {
            config.linear_learning_rate
        } else {
            config.learning_rate
        };
        train_rbm(&mut rbm, &input, config, learning_rate, l as u64, observer)?;
        // unroll: the encoder reads W (hidden × visible = outputs × inputs); the decoder layer
        // reads Wᵀ (visible × hidden), or W itself transposed when tied
        model.set_layer(Half::Encoder, l, Some(&rbm.weight), &rbm.hidden_bias)?;
        let d = layers - 1 - l;
        let transposed = (!spec.tied).then(|| transpose(&rbm.weight, widths[l + 1], widths[l]));
        model.set_layer(Half::Decoder, d, transposed.as_deref(), &rbm.visible_bias)?;
        if !top {
            input = rbm.hidden_means(&input)?;
        }
        stack.push(rbm);
    }
    Ok(stack)
}

/// CD training of one RBM on the one loop: momentum `initial` for the first epochs, then
/// `final` (the velocity carries over).
fn train_rbm(
    rbm: &mut Rbm,
    x: &Matrix,
    config: &RbmStackConfig,
    learning_rate: f32,
    stream: u64,
    observer: &mut dyn Observer<Rbm>,
) -> Result<()> {
    let cd = CdConfig {
        steps: config.cd_steps,
        persistent: config.persistent,
        weight_decay: config.weight_decay,
    };
    let lens = [
        rbm.weight.len(),
        rbm.visible_bias.len(),
        rbm.hidden_bias.len(),
    ];
    let sgd = |momentum: f32| OptimizerKind::Sgd {
        momentum,
        nesterov: false,
    };
    let mut state = TrainState::new(
        sgd(config.initial_momentum),
        &lens,
        config.seed ^ (0xB0_17 + stream),
    );
    let switch = config.momentum_switch_epoch.min(config.epochs);
    for (until, momentum) in [
        (switch, config.initial_momentum),
        (config.epochs, config.final_momentum),
    ] {
        if state.epochs_done >= until {
            continue;
        }
        state.optimizer.kind = sgd(momentum);
        let loop_config = LoopConfig {
            epochs: until,
            batch_size: config.batch_size,
            learning_rate,
            schedule: Schedule::Constant,
            threads: config.threads,
            drop_last: false,
            shuffle: Shuffle::FromIdentity,
            selection: SelectionRule {
                window: 1,
                keep_best: false,
                patience: None,
            },
            weight_average: 0.0,
        };
        let mut learner = RbmLearner::new(rbm, cd)?;
        let report = run(
            &mut learner,
            Examples::unlabelled(x),
            None,
            &loop_config,
            state,
            observer,
        )?;
        state = report.state;
    }
    Ok(())
}
