//! Features that are useful: linear probes and fine-tuned classifiers on codes, and greedy
//! layer-wise pretraining of a deep encoder.

mod common;

use autoencoder::classifier::{Classifier, ClassifierConfig};
use autoencoder::data;
use autoencoder::pretrain;
use autoencoder::train::{self, Silent};
use autoencoder::{
    Autoencoder, AutoencoderSpec, Corruption, Likelihood, Matrix, Objective, TrainConfig,
};
use common::{pool2, repo_path};

fn labelled(file: &str, n: usize) -> (Matrix, Vec<i64>) {
    let d = data::load(&repo_path(file), None).unwrap();
    (
        pool2(&d.features.slice_rows(0, n)),
        d.labels.unwrap()[..n].to_vec(),
    )
}

#[test]
fn linear_probe_and_fine_tuning_classify_digits() {
    let (x, y) = labelled("data/mnist/train-images-idx3-ubyte.gz", 2000);
    let (tx, ty) = labelled("data/mnist/t10k-images-idx3-ubyte.gz", 500);
    let spec = AutoencoderSpec::new(196, &[], 64, Likelihood::Bernoulli);
    let mut spec = spec;
    spec.code_activation = autoencoder::Activation::Sigmoid;
    let mut model = Autoencoder::new(spec, 0).unwrap();
    let config = TrainConfig {
        epochs: 40,
        batch_size: 50,
        learning_rate: 3e-3,
        validation_fraction: 0.0,
        patience: None,
        ..TrainConfig::default()
    };
    let state = train::initial_state(&model, &config);
    train::fit(&mut model, &x, None, &config, state, &mut Silent).unwrap();

    let cfg = ClassifierConfig {
        epochs: 30,
        batch_size: 50,
        learning_rate: 1e-2,
        ..ClassifierConfig::default()
    };
    let (h, th) = (model.encode(&x).unwrap(), model.encode(&tx).unwrap());
    let mut probe = Classifier::linear(64, &y, 0);
    probe.fit(&h, &y, &cfg).unwrap();
    let probe_err = probe.error_rate(&th, &ty).unwrap();
    let mut fine = Classifier::from_encoder(&model, &y, 0)
        .unwrap()
        .with_head_of(&probe)
        .unwrap();
    fine.fit(
        &x,
        &y,
        &ClassifierConfig {
            epochs: 15,
            learning_rate: 1e-3,
            ..cfg.clone()
        },
    )
    .unwrap();
    let fine_err = fine.error_rate(&tx, &ty).unwrap();
    // labels shuffled against the images: the same probe can only guess
    let mut shuffled = y.clone();
    autoencoder::linalg::Rng::new(1).shuffle(&mut shuffled);
    let mut blind = Classifier::linear(64, &shuffled, 0);
    blind.fit(&h, &shuffled, &cfg).unwrap();
    let blind_err = blind.error_rate(&th, &ty).unwrap();
    eprintln!("probe {probe_err:.3}, fine-tuned {fine_err:.3}, shuffled labels {blind_err:.3}");
    assert!(probe_err < 0.2, "linear probe error {probe_err}");
    assert!(
        fine_err < probe_err,
        "fine-tuning {fine_err} vs probe {probe_err}"
    );
    assert!(
        blind_err > 0.7,
        "a probe trained on shuffled labels scored {blind_err}"
    );
}

#[test]
fn greedy_pretraining_initializes_every_layer() {
    let (x, _) = labelled("data/mnist/train-images-idx3-ubyte.gz", 1000);
    let mut spec = AutoencoderSpec::new(196, &[128, 64], 32, Likelihood::Bernoulli);
    spec.code_activation = autoencoder::Activation::Sigmoid;
    let fresh = Autoencoder::new(spec.clone(), 0).unwrap();
    let mut model = fresh.clone();
    let config = TrainConfig {
        epochs: 8,
        batch_size: 50,
        objective: Objective {
            corruption: Some(Corruption::Masking { p: 0.2 }),
            ..Objective::plain()
        },
        ..TrainConfig::default()
    };
    let layers = pretrain::greedy_layerwise(&mut model, &x, &config, &mut Silent).unwrap();
    assert_eq!(layers, 3);
    for (a, b) in model.tensors().iter().zip(fresh.tensors()) {
        assert_ne!(a.data, b.data, "{} was not pretrained", a.name);
    }
    let (before, after) = (
        fresh.evaluate(&x).unwrap().squared_error_per_example,
        model.evaluate(&x).unwrap().squared_error_per_example,
    );
    eprintln!("reconstruction error: fresh {before:.3}, pretrained stack {after:.3}");
    assert!(after < 0.7 * before, "pretrained {after} vs fresh {before}");
}

/// 1,000 training and 500 validation images with a high constant learning rate: the last
/// epoch is noisy, so selection and averaging have work to do.
fn noisy_linear_run() -> (Matrix, Vec<i64>, Matrix, Vec<i64>, ClassifierConfig) {
    let (x, y) = labelled("data/mnist/train-images-idx3-ubyte.gz", 1500);
    let cfg = ClassifierConfig {
        epochs: 15,
        batch_size: 20,
        learning_rate: 0.05,
        cosine_decay: false,
        ..ClassifierConfig::default()
    };
    (
        x.slice_rows(0, 1000),
        y[..1000].to_vec(),
        x.slice_rows(1000, 1500),
        y[1000..].to_vec(),
        cfg,
    )
}

#[test]
fn validation_selection_keeps_the_best_epoch() {
    let (tx, ty, vx, vy, cfg) = noisy_linear_run();
    let mut last = Classifier::linear(196, &ty, 0);
    last.fit(&tx, &ty, &cfg).unwrap();
    let mut selected = Classifier::linear(196, &ty, 0);
    let history = selected
        .fit_selecting(&tx, &ty, Some((&vx, &vy)), &cfg)
        .unwrap();
    let (el, es) = (
        last.error_rate(&vx, &vy).unwrap(),
        selected.error_rate(&vx, &vy).unwrap(),
    );
    eprintln!("validation error: last epoch {el:.3}, selected {es:.3}");
    // the curve has one entry per epoch, its last one is the unselected run's, and the kept
    // epoch is the first minimum of the curve, whose error the kept parameters reproduce
    let curve = &history.validation_errors;
    assert_eq!(curve.len(), cfg.epochs);
    assert_eq!(curve[cfg.epochs - 1], el);
    let first_min = curve
        .iter()
        .enumerate()
        .fold(0, |b, (i, e)| if *e < curve[b] { i } else { b });
    assert_eq!(history.selected_epoch, Some(first_min + 1));
    assert_eq!(curve[first_min], es);
    // a window of 3 compares trailing means: same curve, kept epoch = first minimum of the means
    let mut smoothed = Classifier::linear(196, &ty, 0);
    let windowed = smoothed
        .fit_selecting(
            &tx,
            &ty,
            Some((&vx, &vy)),
            &ClassifierConfig {
                selection_window: 3,
                ..cfg.clone()
            },
        )
        .unwrap();
    assert_eq!(&windowed.validation_errors, curve);
    let means: Vec<f64> = (0..curve.len())
        .map(|i| {
            let w = &curve[i.saturating_sub(2)..=i];
            w.iter().sum::<f64>() / w.len() as f64
        })
        .collect();
    let first_min_mean = means
        .iter()
        .enumerate()
        .fold(0, |b, (i, m)| if *m < means[b] { i } else { b });
    assert_eq!(windowed.selected_epoch, Some(first_min_mean + 1));
    assert_eq!(
        smoothed.error_rate(&vx, &vy).unwrap(),
        curve[first_min_mean]
    );
}

#[test]
fn weight_averaging_smooths_the_validation_curve() {
    let (tx, ty, vx, vy, cfg) = noisy_linear_run();
    let fit = |weight_average: f32, validation: bool| {
        let mut c = Classifier::linear(196, &ty, 0);
        let config = ClassifierConfig {
            weight_average,
            ..cfg.clone()
        };
        let history = c
            .fit_selecting(
                &tx,
                &ty,
                validation.then_some((&vx, vy.as_slice())),
                &config,
            )
            .unwrap();
        (c, history)
    };
    // A decay near 0 makes the average the parameters themselves: the same classifier as
    // without averaging, so the average is updated after every step and is what is returned.
    let (raw, _) = fit(0.0, false);
    let (copied, _) = fit(1e-6, false);
    let (raw_logits, copied_logits) = (raw.logits(&vx).unwrap(), copied.logits(&vx).unwrap());
    let worst = common::max_abs_diff(&raw_logits, &copied_logits);
    assert!(worst < 1e-3, "logits differ by {worst}");
    // A real decay: validation reads the averaged parameters, whose curve moves less from
    // epoch to epoch, and the kept classifier reproduces the curve's minimum.
    let (_, noisy) = fit(0.0, true);
    let (averaged, smooth) = fit(0.99, true);
    let total_variation =
        |curve: &[f64]| curve.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>();
    let (tv_noisy, tv_smooth) = (
        total_variation(&noisy.validation_errors),
        total_variation(&smooth.validation_errors),
    );
    eprintln!("validation curve total variation: raw {tv_noisy:.4}, averaged {tv_smooth:.4}");
    assert!(
        tv_smooth < 0.75 * tv_noisy,
        "averaged {tv_smooth} vs raw {tv_noisy}"
    );
    // Averaging only watches: the same run's unaveraged parameters trace the curve of the run
    // without averaging, and their selection keeps the same epoch with the same error.
    let unaveraged = smooth.unaveraged.as_ref().unwrap();
    assert_eq!(unaveraged.validation_errors, noisy.validation_errors);
    assert_eq!(Some(unaveraged.selected_epoch), noisy.selected_epoch);
    assert_eq!(
        unaveraged.classifier.error_rate(&vx, &vy).unwrap(),
        noisy.validation_errors[unaveraged.selected_epoch - 1]
    );
    assert!(noisy.unaveraged.is_none());
    let kept = smooth.selected_epoch.unwrap() - 1;
    assert_eq!(
        averaged.error_rate(&vx, &vy).unwrap(),
        smooth.validation_errors[kept]
    );
    let bad = ClassifierConfig {
        weight_average: 1.0,
        ..cfg.clone()
    };
    let e = Classifier::linear(196, &ty, 0)
        .fit(&tx, &ty, &bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("averaging decay must be in [0, 1)"), "{e}");
}

#[test]
fn weight_decay_shrinks_the_classifier() {
    let (x, y) = labelled("data/mnist/train-images-idx3-ubyte.gz", 500);
    let mean_abs_logit = |weight_decay: f32| {
        let mut c = Classifier::linear(196, &y, 0);
        let loss = c
            .fit(
                &x,
                &y,
                &ClassifierConfig {
                    epochs: 10,
                    learning_rate: 1e-2,
                    weight_decay,
                    ..ClassifierConfig::default()
                },
            )
            .unwrap();
        let logits = c.logits(&x).unwrap();
        let mean = logits
            .as_slice()
            .iter()
            .map(|v| v.abs() as f64)
            .sum::<f64>()
            / logits.as_slice().len() as f64;
        (mean, loss)
    };
    let ((free, free_loss), (decayed, decayed_loss)) = (mean_abs_logit(0.0), mean_abs_logit(0.5));
    eprintln!("mean |logit|: no decay {free:.3}, λ = 0.5 {decayed:.3}");
    assert!(decayed < 0.5 * free, "decayed {decayed} vs free {free}");
    // the reported loss includes the penalty, so the decayed run cannot fit better than the free one
    assert!(decayed_loss > free_loss, "{decayed_loss} vs {free_loss}");
}

#[test]
fn dropout_trains_on_noisy_units_and_predicts_with_all_of_them() {
    let (x, y) = labelled("data/mnist/train-images-idx3-ubyte.gz", 1000);
    let mut spec = AutoencoderSpec::new(196, &[], 128, Likelihood::Bernoulli);
    spec.code_activation = autoencoder::Activation::Sigmoid;
    let encoder = Autoencoder::new(spec, 0).unwrap();
    let fine_tune = |input_dropout: f32, hidden_dropout: f32| {
        let mut c = Classifier::from_encoder(&encoder, &y, 0).unwrap();
        let loss = c
            .fit(
                &x,
                &y,
                &ClassifierConfig {
                    epochs: 40,
                    batch_size: 50,
                    learning_rate: 1e-2,
                    input_dropout,
                    hidden_dropout,
                    ..ClassifierConfig::default()
                },
            )
            .unwrap();
        (loss, c.error_rate(&x, &y).unwrap(), c)
    };
    let (plain_loss, plain_error, plain) = fine_tune(0.0, 0.0);
    let (hidden_loss, hidden_error, hidden) = fine_tune(0.0, 0.5);
    let (input_loss, input_error, _) = fine_tune(0.2, 0.0);
    eprintln!(
        "training loss / error: plain {plain_loss:.3} {plain_error:.3}, hidden 0.5 \
         {hidden_loss:.3} {hidden_error:.3}, input 0.2 {input_loss:.3} {input_error:.3}"
    );
    // the loss is measured on dropped units, so it must be higher than the plain one...
    assert!(
        hidden_loss > 1.2 * plain_loss,
        "{hidden_loss} vs {plain_loss}"
    );
    assert!(input_loss > plain_loss, "{input_loss} vs {plain_loss}");
    // ...while the whole network (no mask at inference) still fits the training set
    assert!(
        hidden_error < 0.05 && input_error < 0.05,
        "{hidden_error} {input_error}"
    );
    assert_ne!(plain, hidden);
}

#[test]
fn a_dropout_rate_of_one_is_rejected() {
    let (x, y) = labelled("data/mnist/train-images-idx3-ubyte.gz", 100);
    let err = Classifier::linear(196, &y, 0)
        .fit(
            &x,
            &y,
            &ClassifierConfig {
                input_dropout: 1.0,
                ..ClassifierConfig::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("input_dropout"), "{err}");
}

#[test]
fn a_diverging_classifier_keeps_finite_weights_and_unknown_labels_are_refused() {
    let (x, y) = labelled("data/mnist/train-images-idx3-ubyte.gz", 200);
    let mut c = Classifier::linear(196, &y, 0);
    let before = c.clone();
    let blown_up = ClassifierConfig {
        epochs: 5,
        batch_size: 20,
        learning_rate: f32::MAX,
        optimizer: autoencoder::nn::OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        },
        ..ClassifierConfig::default()
    };
    let err = c.fit(&x, &y, &blown_up).unwrap_err();
    assert!(matches!(err, autoencoder::Error::NonFinite(_)), "{err}");
    // diverged in epoch 1: the weights from its start, i.e. the initial ones
    assert!(c == before, "the diverged weights were kept");
    let mut other = y.clone();
    other[0] = 42;
    let err = Classifier::linear(196, &y, 0)
        .fit(&x, &other, &ClassifierConfig::default())
        .unwrap_err();
    assert!(err.to_string().contains("label 42"), "{err}");
}

/// A PSD predictor topped with its linear probe's head starts out scoring exactly like the
/// probe on the predictor's codes (the gain folded into the head), fine-tuning lowers its test
/// error, and a LISTA predictor is refused by name.
#[test]
fn a_psd_predictor_fine_tunes_from_its_probe() {
    use autoencoder::psd::{Predictor, Psd, PsdLearner, PsdSpec};
    use autoencoder::train::{Examples, Learner, TrainState};
    let (x, y) = labelled("data/mnist/train-images-idx3-ubyte.gz", 1500);
    let (tx, ty) = labelled("data/mnist/t10k-images-idx3-ubyte.gz", 500);
    let spec = PsdSpec {
        inputs: 196,
        atoms: 48,
        lambda: 0.5,
        gamma: 1.0,
        fista_iterations: 50,
        tolerance: 1e-3,
        predictor: Predictor::Psd,
        lista_steps: 0,
    };
    let mut psd = Psd::new(spec, 0).unwrap();
    let config = TrainConfig {
        epochs: 3,
        batch_size: 50,
        learning_rate: 3e-3,
        validation_fraction: 0.0,
        patience: None,
        ..TrainConfig::default()
    };
    let lengths: Vec<usize> = PsdLearner::new(&mut psd.clone())
        .parameters()
        .iter()
        .map(|p| p.len())
        .collect();
    let state = TrainState::new(config.optimizer, &lengths, 0);
    train::run(
        &mut PsdLearner::new(&mut psd),
        Examples::unlabelled(&x),
        None,
        &config.loop_config(),
        state,
        &mut Silent,
    )
    .unwrap();
    // a gain away from 1 makes the folding matter
    psd.gain
        .iter_mut()
        .enumerate()
        .for_each(|(j, g)| *g *= 0.5 + 0.03 * j as f32);
    let cfg = ClassifierConfig {
        epochs: 20,
        batch_size: 50,
        learning_rate: 1e-2,
        ..ClassifierConfig::default()
    };
    let (h, th) = (psd.predict(&x).unwrap(), psd.predict(&tx).unwrap());
    let mut probe = Classifier::linear(48, &y, 0);
    probe.fit(&h, &y, &cfg).unwrap();
    let mut fine = Classifier::from_psd_predictor(&psd, &probe).unwrap();
    let (want, got) = (probe.logits(&th).unwrap(), fine.logits(&tx).unwrap());
    let worst = common::max_abs_diff(&want, &got);
    assert!(
        worst < 1e-4,
        "fine-tuning starts {worst} away from the probe"
    );
    let probe_err = probe.error_rate(&th, &ty).unwrap();
    fine.fit(
        &x,
        &y,
        &ClassifierConfig {
            epochs: 10,
            learning_rate: 1e-3,
            ..cfg.clone()
        },
    )
    .unwrap();
    let fine_err = fine.error_rate(&tx, &ty).unwrap();
    eprintln!("PSD predictor: probe {probe_err:.3}, fine-tuned {fine_err:.3}");
    assert!(
        fine_err < probe_err,
        "fine-tuning {fine_err} vs probe {probe_err}"
    );
    let lista = Psd::new(
        PsdSpec {
            predictor: Predictor::Lista,
            ..spec
        },
        0,
    )
    .unwrap();
    let err = Classifier::from_psd_predictor(&lista, &probe).unwrap_err();
    assert!(err.to_string().contains("Lista"), "{err}");
}
