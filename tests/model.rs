//! End-to-end properties of the model and trainer on real images (the shipped MNIST subset).

mod common;

use autoencoder::baselines::{principal_angles_degrees, Pca};
use autoencoder::model::persist;
use autoencoder::nn::{Activation, Init};
use autoencoder::train::{self, Schedule, Silent};
use autoencoder::{Autoencoder, AutoencoderSpec, Likelihood, Matrix, TrainConfig};
use common::{mnist_test, mnist_train, pool2, tmp};
use faer::Mat;

fn linear_spec(d: usize, k: usize) -> AutoencoderSpec {
    AutoencoderSpec {
        input_size: d,
        encoder_layers: vec![],
        code_size: k,
        code_activation: Activation::Linear,
        decoder_layers: None,
        activation: Activation::Linear,
        output: Likelihood::Gaussian,
        tied: false,
        init: Init::Glorot,
        code_distribution: Default::default(),
        binary: None,
        corruption: None,
        input_shape: None,
        encoder: None,
        decoder: None,
    }
}

fn train(model: &mut Autoencoder, x: &Matrix, config: &TrainConfig) {
    let state = train::initial_state(model, config);
    train::fit(model, x, None, config, state, &mut Silent).unwrap();
}

/// The decoder's weight, `features × code`, whose columns span the reconstructions.
fn decoder_basis(model: &Autoencoder) -> Mat<f64> {
    let w = model
        .tensors()
        .iter()
        .find(|t| t.name == "decoder.0.weight")
        .unwrap();
    let (d, k) = (w.shape[0], w.shape[1]);
    Mat::from_fn(d, k, |i, j| w.data[i * k + j] as f64)
}

#[test]
fn linear_autoencoder_spans_the_pca_subspace() {
    let x = pool2(&mnist_train(2000));
    let k = 6;
    let pca = Pca::fit(&x, k).unwrap();
    let mut model = Autoencoder::new(linear_spec(x.cols(), k), 1).unwrap();
    let config = TrainConfig {
        epochs: 150,
        batch_size: 100,
        learning_rate: 3e-3,
        schedule: Schedule::Cosine { min_lr: 1e-5 },
        validation_fraction: 0.0,
        patience: None,
        ..TrainConfig::default()
    };
    train(&mut model, &x, &config);
    let angles = principal_angles_degrees(&pca.components, &decoder_basis(&model)).unwrap();
    let largest = angles.iter().cloned().fold(0.0, f64::max);
    let ae = model.evaluate(&x).unwrap().squared_error_per_example;
    let pca_err = pca.squared_error_per_example(&x).unwrap();
    eprintln!("angles {angles:?}; AE {ae:.5} vs PCA {pca_err:.5}");
    assert!(largest <= 1.0, "largest principal angle {largest}° > 1°");
    assert!(
        (ae - pca_err).abs() <= 0.01 * pca_err,
        "AE error {ae} vs PCA {pca_err}"
    );
    // and an untrained model is far from it (the check can fail)
    let fresh = Autoencoder::new(linear_spec(x.cols(), k), 1).unwrap();
    let fresh_angles = principal_angles_degrees(&pca.components, &decoder_basis(&fresh)).unwrap();
    assert!(fresh_angles.iter().cloned().fold(0.0, f64::max) > 10.0);
}

#[test]
fn deep_sigmoid_autoencoder_beats_pca() {
    let x = mnist_train(5000);
    let test = mnist_test(1000);
    let k = 16;
    let pca = Pca::fit(&x, k).unwrap();
    let spec = AutoencoderSpec::new(784, &[256, 64], k, Likelihood::Bernoulli);
    let mut model = Autoencoder::new(spec, 0).unwrap();
    let config = TrainConfig {
        epochs: 100,
        batch_size: 64,
        learning_rate: 3e-3,
        validation_fraction: 0.0,
        patience: None,
        ..TrainConfig::default()
    };
    train(&mut model, &x, &config);
    let ae = model.evaluate(&test).unwrap().squared_error_per_example;
    let pca_err = pca.squared_error_per_example(&test).unwrap();
    eprintln!("deep AE {ae:.3} vs PCA {pca_err:.3}");
    assert!(
        ae < pca_err,
        "deep AE test error {ae} not below PCA's {pca_err}"
    );
}

#[test]
fn save_load_gives_identical_outputs() {
    let x = pool2(&mnist_train(300));
    let mut spec = AutoencoderSpec::new(196, &[32], 8, Likelihood::Bernoulli);
    spec.tied = true;
    let mut model = Autoencoder::new(spec, 4).unwrap();
    let config = TrainConfig {
        epochs: 2,
        validation_fraction: 0.0,
        ..TrainConfig::default()
    };
    train(&mut model, &x, &config);
    let dir = tmp("save_load");
    persist::save_model(&model, &dir).unwrap();
    let loaded = persist::load_model(&dir).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(
        loaded.reconstruct(&x).unwrap(),
        model.reconstruct(&x).unwrap()
    );
    assert_eq!(loaded.encode(&x).unwrap(), model.encode(&x).unwrap());
    // a spec that does not match the saved tensors is refused, naming the tensor
    let mut wrong = model.spec().clone();
    wrong.code_size = 9;
    std::fs::write(
        dir.join("spec.json"),
        serde_json::to_string(&wrong).unwrap(),
    )
    .unwrap();
    let err = persist::load_model(&dir).unwrap_err().to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("shape"),
        "{err}"
    );
    // a damaged weights file is refused
    persist::save_model(&model, &dir).unwrap();
    let mut bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    let e = persist::load_model(&dir).unwrap_err().to_string();
    assert!(e.contains("model.safetensors"), "{e}");
    // saving the same spec again replaces only the weights: one rename, so a crash cannot
    // leave the pair mismatched
    persist::save_model(&model, &dir).unwrap();
    let spec_written = std::fs::metadata(dir.join("spec.json"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    train(&mut model, &x, &config);
    persist::save_model(&model, &dir).unwrap();
    let spec_now = std::fs::metadata(dir.join("spec.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(spec_now, spec_written, "spec.json was rewritten");
    assert_eq!(persist::load_model(&dir).unwrap(), model);
}

#[test]
fn same_seed_same_weights_and_different_seed_differs() {
    let x = pool2(&mnist_train(500));
    let run = |seed: u64, threads: usize| {
        let spec = AutoencoderSpec::new(196, &[64], 10, Likelihood::Bernoulli);
        let mut model = Autoencoder::new(spec, seed).unwrap();
        let config = TrainConfig {
            epochs: 2,
            batch_size: 50,
            seed,
            threads,
            objective: autoencoder::Objective {
                corruption: Some(autoencoder::Corruption::Masking { p: 0.2 }),
                ..Default::default()
            },
            ..TrainConfig::default()
        };
        train(&mut model, &x, &config);
        model
    };
    assert_eq!(run(7, 2), run(7, 2));
    assert_eq!(run(7, 1), run(7, 1));
    assert_ne!(run(7, 2), run(8, 2));
}

#[test]
fn resume_from_saved_state_matches_uninterrupted_run() {
    let x = pool2(&mnist_train(400));
    let spec = AutoencoderSpec::new(196, &[32], 8, Likelihood::Bernoulli);
    let config = TrainConfig {
        epochs: 4,
        batch_size: 32,
        validation_fraction: 0.0,
        patience: None,
        ..TrainConfig::default()
    };
    let mut full = Autoencoder::new(spec.clone(), 0).unwrap();
    train(&mut full, &x, &config);

    let mut half = Autoencoder::new(spec, 0).unwrap();
    let two = TrainConfig {
        epochs: 2,
        ..config.clone()
    };
    let start = train::initial_state(&half, &two);
    let report = train::fit(&mut half, &x, None, &two, start, &mut Silent).unwrap();
    let dir = tmp("resume");
    persist::save_model(&half, &dir).unwrap();
    persist::save_optimizer(
        &report.state.optimizer,
        &half,
        &dir.join("optimizer.safetensors"),
    )
    .unwrap();
    let mut resumed = persist::load_model(&dir).unwrap();
    let mut state = train::initial_state(&resumed, &config);
    state.optimizer =
        persist::load_optimizer(&resumed, &dir.join("optimizer.safetensors")).unwrap();
    state.rng = report.state.rng.clone();
    state.epochs_done = 2;
    train::fit(&mut resumed, &x, None, &config, state, &mut Silent).unwrap();
    assert_eq!(resumed, full);
}

/// With early stopping on, the result is the best validation epoch's model, whether the
/// patience runs out or the epochs do; a tiny training set makes validation loss turn up.
#[test]
fn early_stopping_keeps_the_best_validation_model() {
    let x = pool2(&mnist_train(40));
    let val = pool2(&mnist_test(200));
    for (epochs, patience, expect_early) in [(60, 1000, false), (400, 4, true)] {
        let spec = AutoencoderSpec::new(x.cols(), &[128], 32, Likelihood::Bernoulli);
        let mut model = Autoencoder::new(spec, 0).unwrap();
        let config = TrainConfig {
            epochs,
            batch_size: 8,
            learning_rate: 1e-2,
            patience: Some(patience),
            ..TrainConfig::default()
        };
        let state = train::initial_state(&model, &config);
        let report = train::fit(&mut model, &x, Some(&val), &config, state, &mut Silent).unwrap();
        let curve: Vec<f64> = report
            .history
            .iter()
            .map(|m| m.validation_loss.unwrap())
            .collect();
        let (best_epoch, best) =
            curve.iter().enumerate().fold(
                (0, f64::INFINITY),
                |a, (i, &v)| if v < a.1 { (i, v) } else { a },
            );
        assert_eq!(
            report.stop == train::StopReason::EarlyStopped,
            expect_early,
            "stop {:?} after {} epochs",
            report.stop,
            curve.len()
        );
        // the case the test is about: the best epoch is not the last one
        assert!(
            best_epoch + 1 < curve.len(),
            "best epoch is the last ({})",
            curve.len()
        );
        let kept = model.evaluate(&val).unwrap().loss_per_example;
        assert_eq!(
            kept, best,
            "kept model's validation loss vs the best epoch's"
        );
    }
}

/// An observer that asks to stop after its `after`-th step (as Python's Ctrl-C does).
struct StopAfter {
    after: usize,
    steps: usize,
}

impl train::Observer for StopAfter {
    fn batch(&mut self, _: usize, _: usize, _: usize, _: f64) {
        self.steps += 1;
    }
    fn interrupted(&mut self) -> bool {
        self.steps >= self.after
    }
}

/// Interrupting in the middle of epoch 3 returns `Interrupted` with the model of epoch 2,
/// equal to a run of two epochs.
#[test]
fn an_interrupt_keeps_the_last_whole_epoch() {
    let x = pool2(&mnist_train(128));
    let spec = AutoencoderSpec::new(196, &[16], 4, Likelihood::Bernoulli);
    let config = TrainConfig {
        epochs: 4,
        batch_size: 32,
        validation_fraction: 0.0,
        patience: None,
        ..TrainConfig::default()
    };
    let mut two_epochs = Autoencoder::new(spec.clone(), 0).unwrap();
    let two = TrainConfig {
        epochs: 2,
        ..config.clone()
    };
    train(&mut two_epochs, &x, &two);
    let mut interrupted = Autoencoder::new(spec, 0).unwrap();
    let state = train::initial_state(&interrupted, &config);
    let mut observer = StopAfter {
        after: 10,
        steps: 0,
    };
    let err = train::fit(&mut interrupted, &x, None, &config, state, &mut observer).unwrap_err();
    assert!(
        matches!(err, autoencoder::Error::Interrupted { epochs_done: 2 }),
        "{err}"
    );
    assert_eq!(observer.steps, 10);
    assert_eq!(interrupted, two_epochs);
}

/// Per-example losses average to `evaluate`'s loss, and an image the model never saw the like
/// of (inverted) scores worse than the training images.
#[test]
fn example_losses_match_evaluate_and_rank_outliers() {
    let x = pool2(&mnist_train(256));
    let spec = AutoencoderSpec::new(196, &[32], 8, Likelihood::Bernoulli);
    let mut model = Autoencoder::new(spec, 0).unwrap();
    let config = TrainConfig {
        epochs: 5,
        batch_size: 32,
        validation_fraction: 0.0,
        patience: None,
        ..TrainConfig::default()
    };
    train(&mut model, &x, &config);
    let losses = model.example_losses(&x).unwrap();
    let mean = losses.iter().sum::<f64>() / losses.len() as f64;
    let eval = model.evaluate(&x).unwrap().loss_per_example;
    assert!((mean - eval).abs() < 1e-6 * eval.abs(), "{mean} vs {eval}");
    let mut inverted = x.slice_rows(0, 16);
    inverted
        .as_mut_slice()
        .iter_mut()
        .for_each(|v| *v = 1.0 - *v);
    let outliers = model.example_losses(&inverted).unwrap();
    let worst_inlier = losses[..16].iter().copied().fold(f64::MIN, f64::max);
    assert!(
        outliers.iter().all(|o| *o > worst_inlier),
        "{outliers:?} vs {worst_inlier}"
    );
}
