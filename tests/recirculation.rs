//! Recirculation (Hinton & McClelland 1988): one update against a hand computation on a 2-2-2
//! network, and learning on real images.

mod common;

use autoencoder::model::Autoencoder;
use autoencoder::nn::{Activation, OptimizerKind};
use autoencoder::train::{self, Rule, Silent};
use autoencoder::{AutoencoderSpec, CodePenalty, Likelihood, Matrix, Objective, TrainConfig};

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[test]
fn one_update_on_a_2_2_2_network_is_the_hand_computed_one() {
    let mut spec = AutoencoderSpec::new(2, &[], 2, Likelihood::Bernoulli);
    spec.code_activation = Activation::Sigmoid;
    let mut model = Autoencoder::new(spec, 0).unwrap();
    // W_h = [[0.5, -0.3], [0.2, 0.8]], c = [0.1, -0.2], W_v = [[0.4, -0.6], [0.7, 0.1]], b = [0.05, -0.1]
    let values: [&[f32]; 4] = [
        &[0.5, -0.3, 0.2, 0.8],
        &[0.1, -0.2],
        &[0.4, -0.6, 0.7, 0.1],
        &[0.05, -0.1],
    ];
    for (t, v) in model.tensors_mut().iter_mut().zip(values) {
        t.data.copy_from_slice(v);
    }
    let x0 = [0.9f64, 0.2];
    let (lambda, eps) = (0.75f64, 0.5f64);
    // the paper's ε for our learning rate: divided by 1 − λ (the rule on backprop's scale)
    let rule_eps = eps / (1.0 - lambda);
    // by hand
    let wh = [[0.5, -0.3], [0.2, 0.8]];
    let c = [0.1, -0.2];
    let wv = [[0.4, -0.6], [0.7, 0.1]];
    let b = [0.05, -0.1];
    let h0: Vec<f64> = (0..2)
        .map(|j| sigmoid(wh[j][0] * x0[0] + wh[j][1] * x0[1] + c[j]))
        .collect();
    let r: Vec<f64> = (0..2)
        .map(|i| sigmoid(wv[i][0] * h0[0] + wv[i][1] * h0[1] + b[i]))
        .collect();
    let x1: Vec<f64> = (0..2)
        .map(|i| lambda * x0[i] + (1.0 - lambda) * r[i])
        .collect();
    let h1: Vec<f64> = (0..2)
        .map(|j| sigmoid(wh[j][0] * x1[0] + wh[j][1] * x1[1] + c[j]))
        .collect();
    let mut want_wh = Vec::new();
    for j in 0..2 {
        for i in 0..2 {
            want_wh.push(wh[j][i] + rule_eps * (h0[j] - h1[j]) * x1[i]);
        }
    }
    let want_c: Vec<f64> = (0..2).map(|j| c[j] + rule_eps * (h0[j] - h1[j])).collect();
    let mut want_wv = Vec::new();
    for i in 0..2 {
        for j in 0..2 {
            want_wv.push(wv[i][j] + rule_eps * (x0[i] - x1[i]) * h0[j]);
        }
    }
    let want_b: Vec<f64> = (0..2).map(|i| b[i] + rule_eps * (x0[i] - x1[i])).collect();
    // one step of the learner: one example, plain SGD
    let config = TrainConfig {
        epochs: 1,
        batch_size: 1,
        optimizer: OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        },
        learning_rate: eps as f32,
        validation_fraction: 0.0,
        patience: None,
        threads: 1,
        rule: Rule::Recirculation {
            lambda: lambda as f32,
        },
        ..TrainConfig::default()
    };
    let x = Matrix::from_vec(1, 2, vec![x0[0] as f32, x0[1] as f32]);
    let state = train::initial_state(&model, &config);
    train::fit(&mut model, &x, None, &config, state, &mut Silent).unwrap();
    for (t, want) in model
        .tensors()
        .iter()
        .zip([want_wh, want_c, want_wv, want_b])
    {
        for (got, want) in t.data.iter().zip(&want) {
            assert!(
                (*got as f64 - want).abs() < 1e-6,
                "{}: {got} vs {want}",
                t.name
            );
        }
    }
}

#[test]
fn recirculation_learns_real_images_and_refuses_what_it_cannot_honour() {
    let x = common::pool2(&common::mnist_train(500));
    let mut spec = AutoencoderSpec::new(196, &[], 64, Likelihood::Bernoulli);
    spec.code_activation = Activation::Sigmoid;
    let mut model = Autoencoder::new(spec.clone(), 0).unwrap();
    let before = model.evaluate(&x).unwrap().squared_error_per_example;
    let config = TrainConfig {
        epochs: 15,
        batch_size: 20,
        optimizer: OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: false,
        },
        learning_rate: 0.025, // the paper's ε = 0.1 at λ = 0.75
        validation_fraction: 0.0,
        patience: None,
        threads: 2,
        rule: Rule::Recirculation { lambda: 0.75 },
        ..TrainConfig::default()
    };
    let state = train::initial_state(&model, &config);
    let report = train::fit(&mut model, &x, None, &config, state, &mut Silent).unwrap();
    let after = model.evaluate(&x).unwrap().squared_error_per_example;
    let curve: Vec<f64> = report.history.iter().map(|m| m.train_loss).collect();
    assert!(after < 0.6 * before, "squared error {before} → {after}");
    assert!(curve.last() < curve.first(), "{curve:?}");

    for (objective, deep, key) in [
        (
            Objective {
                code_penalties: vec![CodePenalty::L1 { weight: 0.1 }],
                ..Objective::plain()
            },
            false,
            "train.rule",
        ),
        (Objective::plain(), true, "model.layers"),
    ] {
        let spec = if deep {
            AutoencoderSpec {
                encoder_layers: vec![32],
                ..spec.clone()
            }
        } else {
            spec.clone()
        };
        let mut m = Autoencoder::new(spec, 0).unwrap();
        let c = TrainConfig {
            objective,
            ..config.clone()
        };
        let s = train::initial_state(&m, &c);
        let err = train::fit(&mut m, &x, None, &c, s, &mut Silent)
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{err}");
    }
}
