//! Regularized autoencoders (chapter 14.2): sparse, denoising and contractive parts of the one
//! objective, each shown to do what the chapter says, on the shipped MNIST subset.

mod common;

use autoencoder::analysis;
use autoencoder::linalg::Cpu;
use autoencoder::nn::{Activation, Init};
use autoencoder::objective::contractive;
use autoencoder::objective::sparsity::mean_activation;
use autoencoder::train::{self, Silent};
use autoencoder::ParameterPenalty;
use autoencoder::{
    Autoencoder, AutoencoderSpec, CodePenalty, Corruption, Likelihood, Matrix, Objective,
    TrainConfig,
};
use common::{mnist_test, mnist_train, pool2};

fn one_layer(input: usize, code: usize, act: Activation) -> AutoencoderSpec {
    AutoencoderSpec {
        input_size: input,
        encoder_layers: vec![],
        code_size: code,
        code_activation: act,
        decoder_layers: None,
        activation: act,
        output: Likelihood::Bernoulli,
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

fn trained(spec: AutoencoderSpec, x: &Matrix, objective: Objective, epochs: usize) -> Autoencoder {
    let mut model = Autoencoder::new(spec, 0).unwrap();
    let config = TrainConfig {
        epochs,
        batch_size: 50,
        validation_fraction: 0.0,
        patience: None,
        objective,
        ..TrainConfig::default()
    };
    let state = train::initial_state(&model, &config);
    train::fit(&mut model, x, None, &config, state, &mut Silent).unwrap();
    model
}

#[test]
fn contractive_penalty_matches_finite_difference_jacobian() {
    let x = pool2(&mnist_train(3));
    for act in [Activation::Sigmoid, Activation::Tanh] {
        let model = Autoencoder::new(one_layer(196, 20, act), 5).unwrap();
        for r in 0..3 {
            let row = Matrix::from_vec(1, 196, x.row(r).to_vec());
            // ‖J‖²_F by central differences of the encoder, one input at a time
            let mut fd = 0.0f64;
            for i in 0..196 {
                let (mut up, mut down) = (row.clone(), row.clone());
                up.as_mut_slice()[i] += 1e-2;
                down.as_mut_slice()[i] -= 1e-2;
                let (hu, hd) = (model.encode(&up).unwrap(), model.encode(&down).unwrap());
                fd += hu
                    .as_slice()
                    .iter()
                    .zip(hd.as_slice())
                    .map(|(a, b)| ((a - b) as f64 / 2e-2).powi(2))
                    .sum::<f64>();
            }
            let h = model.encode(&row).unwrap();
            let w = &model.tensors()[0].data;
            let (mut wg, mut bg, mut scratch) = (vec![0.0; w.len()], vec![0.0; 20], vec![0.0; 20]);
            let closed = contractive::value_and_grad(
                &Cpu::new(1),
                1.0,
                act,
                row.as_slice(),
                h.as_slice(),
                1,
                w,
                &mut wg,
                &mut bg,
                &mut scratch,
            );
            assert!(
                (closed - fd).abs() <= 0.01 * fd,
                "{act:?} row {r}: closed form {closed} vs finite differences {fd}"
            );
            let exact = analysis::encoder_jacobian(&model, row.as_slice()).unwrap();
            let exact_sq: f64 = exact.as_slice().iter().map(|v| (*v as f64).powi(2)).sum();
            assert!(
                (exact_sq - closed).abs() <= 1e-3 * closed,
                "forward-mode {exact_sq} vs closed {closed}"
            );
        }
    }
}

#[test]
fn contractive_training_shrinks_the_jacobian() {
    let x = pool2(&mnist_train(1000));
    assert_contractive_training_shrinks_the_jacobian(&x, one_layer(196, 64, Activation::Sigmoid));
}

/// Trains a plain and a contractive (λ = 0.5) model of `spec` for 10 epochs and checks the
/// contractive one's mean ‖J‖_F is under 0.8× the plain one's.
fn assert_contractive_training_shrinks_the_jacobian(x: &Matrix, spec: AutoencoderSpec) {
    let layers = spec.encoder_layers.len() + 1;
    let plain = trained(spec.clone(), x, Objective::plain(), 10);
    let cae = trained(
        spec,
        x,
        Objective {
            parameter_penalties: vec![ParameterPenalty::Contractive {
                weight: 0.5,
                directions: 0,
                hessian: None,
            }],
            ..Objective::plain()
        },
        10,
    );
    let probe = x.slice_rows(0, 100);
    let (jp, jc) = (
        analysis::mean_jacobian_norm(&plain, &probe).unwrap(),
        analysis::mean_jacobian_norm(&cae, &probe).unwrap(),
    );
    eprintln!("{layers}-layer encoder: mean ‖J‖_F plain {jp:.3}, contractive {jc:.3}");
    assert!(
        jc < 0.8 * jp,
        "{layers}-layer contractive {jc} vs plain {jp}"
    );
}

fn deep(input: usize, hidden: usize, code: usize, act: Activation) -> AutoencoderSpec {
    AutoencoderSpec {
        encoder_layers: vec![hidden],
        ..one_layer(input, code, act)
    }
}

/// The tangent estimator's value at `x` along directions `v` (`m·rows × d_x`).
fn tangent_estimate(model: &Autoencoder, x: &Matrix, v: &[f32]) -> f64 {
    let spec = model.spec();
    let widths = spec.encoder_widths();
    let tensor = |name: String| {
        &model
            .tensors()
            .iter()
            .find(|t| t.name == name)
            .unwrap()
            .data
    };
    let activation = |l: usize| {
        if l + 2 == widths.len() {
            spec.code_activation
        } else {
            spec.activation
        }
    };
    // each layer's output, by a plain forward pass
    let mut acts: Vec<Vec<f32>> = Vec::new();
    for l in 0..widths.len() - 1 {
        let (w, b) = (
            tensor(format!("encoder.{l}.weight")),
            tensor(format!("encoder.{l}.bias")),
        );
        let (n_in, n_out, act) = (widths[l], widths[l + 1], activation(l));
        let input = if l == 0 { x.as_slice() } else { &acts[l - 1] };
        let mut out = Vec::with_capacity(input.len() / n_in * n_out);
        for a in input.chunks_exact(n_in) {
            for j in 0..n_out {
                let z: f32 = b[j] + (0..n_in).map(|i| w[j * n_in + i] * a[i]).sum::<f32>();
                out.push(act.apply(z));
            }
        }
        acts.push(out);
    }
    let layers: Vec<contractive::TangentLayer<'_>> = (0..widths.len() - 1)
        .map(|l| contractive::TangentLayer {
            weight: tensor(format!("encoder.{l}.weight")),
            outputs: widths[l + 1],
            activation: activation(l),
            input: if l == 0 { x.as_slice() } else { &acts[l - 1] },
            output: &acts[l],
        })
        .collect();
    contractive::tangent_value_and_grad_along(
        &Cpu::new(1),
        1.0,
        &layers,
        x.rows(),
        v,
        &mut Default::default(),
    )
}

#[test]
fn tangent_estimate_is_exact_along_unit_vectors_and_unbiased_along_random_ones() {
    let x = pool2(&mnist_train(4));
    let d = 196;
    for act in [Activation::Sigmoid, Activation::Tanh, Activation::Softplus] {
        let model = Autoencoder::new(deep(d, 40, 12, act), 5).unwrap();
        for r in 0..2 {
            let row = Matrix::from_vec(1, d, x.row(r).to_vec());
            let exact = analysis::encoder_jacobian(&model, row.as_slice()).unwrap();
            let exact_sq: f64 = exact.as_slice().iter().map(|v| (*v as f64).powi(2)).sum();
            // all d unit vectors: the estimate is ‖J‖²_F / d
            let identity: Vec<f32> = (0..d * d)
                .map(|k| if k / d == k % d { 1.0 } else { 0.0 })
                .collect();
            let along_units = tangent_estimate(&model, &row, &identity) * d as f64;
            assert!(
                (along_units - exact_sq).abs() <= 1e-3 * exact_sq,
                "{act:?} row {r}: along unit vectors {along_units} vs exact {exact_sq}"
            );
            // many Rademacher directions: the mean converges on ‖J‖²_F
            let mut rng = autoencoder::linalg::Rng::new(r as u64);
            let m = 2000;
            let v: Vec<f32> = (0..m * d)
                .map(|_| if rng.uniform() < 0.5 { -1.0 } else { 1.0 })
                .collect();
            let random = tangent_estimate(&model, &row, &v);
            assert!(
                (random - exact_sq).abs() <= 0.05 * exact_sq,
                "{act:?} row {r}: mean over {m} random directions {random} vs exact {exact_sq}"
            );
        }
    }
}

#[test]
fn deep_contractive_training_shrinks_the_jacobian() {
    let x = pool2(&mnist_train(1000));
    assert_contractive_training_shrinks_the_jacobian(&x, deep(196, 64, 32, Activation::Sigmoid));
}

#[test]
fn kl_sparsity_reaches_its_target_and_l1_makes_codes_sparse() {
    let x = pool2(&mnist_train(2000));
    let rho = 0.05;
    let kl = trained(
        one_layer(196, 100, Activation::Sigmoid),
        &x,
        Objective {
            code_penalties: vec![CodePenalty::KlSparsity {
                weight: 50.0,
                target: rho,
            }],
            ..Objective::plain()
        },
        30,
    );
    let codes = kl.encode(&x).unwrap();
    let mean = mean_activation(codes.as_slice(), codes.rows(), codes.cols())
        .iter()
        .sum::<f64>()
        / codes.cols() as f64;
    eprintln!("mean code activation {mean:.4} (target {rho})");
    assert!(
        (mean - rho as f64).abs() <= 0.1 * rho as f64,
        "mean activation {mean} vs ρ = {rho}"
    );

    let relu = |objective| trained(one_layer(196, 100, Activation::Relu), &x, objective, 8);
    let near_zero = |m: &Autoencoder| {
        let c = m.encode(&x).unwrap();
        c.as_slice().iter().filter(|v| v.abs() < 1e-3).count() as f64 / c.as_slice().len() as f64
    };
    let (plain, l1) = (
        relu(Objective::plain()),
        relu(Objective {
            code_penalties: vec![CodePenalty::L1 { weight: 0.05 }],
            ..Objective::plain()
        }),
    );
    let (zp, zl) = (near_zero(&plain), near_zero(&l1));
    eprintln!("near-zero codes: plain {zp:.3}, L1 {zl:.3}");
    assert!(zl > zp + 0.1, "L1 {zl} vs plain {zp}");
}

#[test]
fn denoising_model_cleans_corrupted_test_images_better() {
    let x = mnist_train(3000);
    let test = mnist_test(500);
    let corruption = Corruption::Masking { p: 0.25 };
    let spec = || one_layer(784, 500, Activation::Sigmoid);
    let plain = trained(spec(), &x, Objective::plain(), 30);
    let dae = trained(
        spec(),
        &x,
        Objective {
            corruption: Some(corruption),
            ..Objective::plain()
        },
        30,
    );
    let mut corrupted = test.clone();
    corruption.apply(
        test.as_slice(),
        corrupted.as_mut_slice(),
        &mut autoencoder::linalg::Rng::new(42),
    );
    let err = |m: &Autoencoder| {
        autoencoder::baselines::pca::squared_error_per_example(
            &test,
            &m.reconstruct(&corrupted).unwrap(),
        )
    };
    let (ep, ed) = (err(&plain), err(&dae));
    eprintln!("clean-target error from corrupted input: plain {ep:.3}, denoising {ed:.3}");
    assert!(ed < 0.8 * ep, "denoising {ed} vs plain {ep}");
}
