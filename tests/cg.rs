//! `optimizer = "cg"`: Hinton & Salakhutdinov's conjugate-gradient fine-tuning, driven by the
//! same loop as every other optimizer. The line search's own conditions are checked in
//! `nn::cg`; here, what a user sees.

mod common;

use autoencoder::model::Autoencoder;
use autoencoder::nn::{Activation, OptimizerKind};
use autoencoder::objective::corruption::Corruption;
use autoencoder::train::{self, Silent};
use autoencoder::{AutoencoderSpec, Likelihood, Objective, TrainConfig};

fn config(optimizer: OptimizerKind, batch_size: usize, epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size,
        optimizer,
        learning_rate: 1e-3,
        validation_fraction: 0.0,
        patience: None,
        threads: 2,
        shuffle: false,
        ..TrainConfig::default()
    }
}

fn spec() -> AutoencoderSpec {
    let mut spec = AutoencoderSpec::new(196, &[64], 16, Likelihood::Bernoulli);
    spec.activation = Activation::Sigmoid;
    spec
}

#[test]
fn full_batch_cg_lowers_the_objective_at_every_step_and_beats_adam_per_step() {
    let x = common::pool2(&common::mnist_train(300));
    let cg = OptimizerKind::Cg { line_searches: 3 };
    let mut model = Autoencoder::new(spec(), 0).unwrap();
    let c = config(cg, 300, 25);
    let state = train::initial_state(&model, &c);
    let report = train::fit(&mut model, &x, None, &c, state, &mut Silent).unwrap();
    // one batch an epoch, no noise: each epoch's loss is the objective before that step's
    // three line searches, which only accept decreases
    let curve: Vec<f64> = report.history.iter().map(|m| m.train_loss).collect();
    for w in curve.windows(2) {
        assert!(w[1] < w[0], "CG went up: {curve:?}");
    }
    let end = model.evaluate(&x).unwrap().loss_per_example;
    assert!(end < curve[0] * 0.6, "{} → {end}", curve[0]);

    // Adam, one step per epoch on the same full batch, as many steps: far behind
    let mut adam_model = Autoencoder::new(spec(), 0).unwrap();
    let a = config(OptimizerKind::adam(), 300, 25);
    let state = train::initial_state(&adam_model, &a);
    train::fit(&mut adam_model, &x, None, &a, state, &mut Silent).unwrap();
    let adam_end = adam_model.evaluate(&x).unwrap().loss_per_example;
    assert!(end < adam_end, "CG {end}, Adam {adam_end}");
}

#[test]
fn minibatch_cg_with_noise_is_deterministic_and_learns() {
    let x = common::pool2(&common::mnist_train(400));
    let run = || {
        let mut model = Autoencoder::new(spec(), 3).unwrap();
        let mut c = config(OptimizerKind::Cg { line_searches: 2 }, 100, 4);
        c.shuffle = true;
        c.objective = Objective {
            corruption: Some(Corruption::Masking { p: 0.2 }),
            ..Objective::plain()
        };
        let state = train::initial_state(&model, &c);
        let report = train::fit(&mut model, &x, None, &c, state, &mut Silent).unwrap();
        (model, report)
    };
    let (a, report) = run();
    let (b, _) = run();
    assert_eq!(
        a.tensors(),
        b.tensors(),
        "same seed, same threads: same model"
    );
    let start = Autoencoder::new(spec(), 3).unwrap().evaluate(&x).unwrap();
    let end = a.evaluate(&x).unwrap();
    assert!(
        end.squared_error_per_example < 0.7 * start.squared_error_per_example,
        "{} → {}",
        start.squared_error_per_example,
        end.squared_error_per_example
    );
    assert_eq!(
        report.state.optimizer.step, 16,
        "one optimizer step per batch"
    );
}
