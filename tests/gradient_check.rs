//! Finite-difference checks of the whole backward pass: every activation, both likelihoods,
//! tied weights, code penalties and weight decay. Directional derivatives along random
//! directions, in f32, compared with the analytic gradient's projection.

use autoencoder::code::CodeDistribution;
use autoencoder::linalg::{Cpu, Rng};
use autoencoder::model::{Autoencoder, Tensor};
use autoencoder::nn::{Activation, Init};
use autoencoder::ParameterPenalty;
use autoencoder::{AutoencoderSpec, CodePenalty, Likelihood, Matrix, Objective};

fn batch(rows: usize, cols: usize, seed: u64) -> Matrix {
    let mut rng = Rng::new(seed);
    Matrix::from_vec(
        rows,
        cols,
        (0..rows * cols)
            .map(|_| rng.uniform_range(0.05, 0.95))
            .collect(),
    )
}

/// Worst relative error over tensors and random directions, on a batch of 5 rows.
fn check(spec: AutoencoderSpec, objective: &Objective) -> f64 {
    check_with(spec, objective, 5, 1, |_| {})
}

/// [`check`] on `rows` rows with `threads` worker threads, after `tamper` has had its way with
/// the analytic gradients (for the test that shows the check can fail).
#[allow(clippy::needless_range_loop)]
fn check_with(
    spec: AutoencoderSpec,
    objective: &Objective,
    rows: usize,
    threads: usize,
    tamper: impl Fn(&mut autoencoder::layers::Grads),
) -> f64 {
    // ReLU has kinks: a smaller step keeps the difference on one side of them
    check_with_step(spec, objective, rows, threads, 1e-2, tamper)
}

#[allow(clippy::needless_range_loop)]
/// [`check_with`] with the step `step` along each unit direction (a larger one for models
/// whose loss sums many terms, where f32 rounding in the loss swamps a small step).
fn check_with_step(
    spec: AutoencoderSpec,
    objective: &Objective,
    rows: usize,
    threads: usize,
    step: f32,
    tamper: impl Fn(&mut autoencoder::layers::Grads),
) -> f64 {
    let x = batch(rows, spec.input_size, 11);
    // ReLU is not differentiable at 0: check at a point whose pre-activations are all clear of it
    let has_relu = spec.activation == Activation::Relu || spec.code_activation == Activation::Relu;
    let seed = if !has_relu {
        3
    } else {
        (3..200)
            .find(|s| {
                min_abs_preactivation(&Autoencoder::new(spec.clone(), *s).unwrap(), &x) > 0.05
            })
            .expect("a seed away from ReLU kinks")
    };
    let mut model = Autoencoder::new(spec, seed).unwrap();
    let mut ws = model.workspace_with_samples(rows, objective.importance_samples);
    let backend = Cpu::new(threads);
    // two steps without updates: the second must not see anything left over from the first
    for _ in 0..2 {
        let mut rng = Rng::new(0);
        model
            .train_step(&backend, &mut ws, &x, objective, &mut rng, None)
            .unwrap();
    }
    let mut grads = ws.grads.clone();
    tamper(&mut grads);
    let mut dir_rng = Rng::new(99);
    let mut worst = 0.0f64;
    for t in 0..model.tensors().len() {
        for _ in 0..3 {
            let dir: Vec<f32> = (0..grads[t].len()).map(|_| dir_rng.normal()).collect();
            let analytic: f64 = grads[t]
                .iter()
                .zip(&dir)
                .map(|(g, d)| (*g as f64) * (*d as f64))
                .sum();
            // at most 1e-2 a coordinate: a large step on a small tensor meets the curvature
            let h = (step / (dir.len() as f32).sqrt()).min(1e-2);
            let base = model.tensors()[t].data.clone();
            let mut eval = |sign: f32| {
                for ((p, b), d) in model.tensors_mut()[t].data.iter_mut().zip(&base).zip(&dir) {
                    *p = b + sign * h * d;
                }
                model.loss(&x, objective, &mut Rng::new(0)).unwrap()
            };
            let numeric = (eval(1.0) - eval(-1.0)) / (2.0 * h as f64);
            model.tensors_mut()[t].data.copy_from_slice(&base);
            let err = (numeric - analytic).abs() / analytic.abs().max(numeric.abs()).max(1e-2);
            if std::env::var("GC_DEBUG").is_ok() {
                eprintln!("t{t} numeric {numeric} analytic {analytic}");
            }
            worst = worst.max(err);
        }
    }
    worst
}

/// One dense layer as the kink search reads it: `weight` is `[outputs, inputs]`, or
/// `[inputs, outputs]` when `transposed` (a tied decoder reusing an encoder weight).
struct PlainLayer<'a> {
    weight: &'a Tensor,
    bias: &'a [f32],
    transposed: bool,
}

/// Smallest |pre-activation| over all layers except the output, by a plain f64 forward pass
/// (ReLU between layers). Reads tensors by name, so tied decoders are covered too.
fn min_abs_preactivation(model: &Autoencoder, x: &Matrix) -> f64 {
    let find = |name: String| model.tensors().iter().find(|t| t.name == name);
    let mut layers: Vec<PlainLayer> = Vec::new();
    let mut encoder = Vec::new();
    while let (Some(weight), Some(b)) = (
        find(format!("encoder.{}.weight", encoder.len())),
        find(format!("encoder.{}.bias", encoder.len())),
    ) {
        encoder.push(weight);
        layers.push(PlainLayer {
            weight,
            bias: &b.data,
            transposed: false,
        });
    }
    let mut d = 0;
    while let Some(b) = find(format!("decoder.{d}.bias")) {
        layers.push(match find(format!("decoder.{d}.weight")) {
            Some(weight) => PlainLayer {
                weight,
                bias: &b.data,
                transposed: false,
            },
            None => PlainLayer {
                weight: encoder[encoder.len() - 1 - d],
                bias: &b.data,
                transposed: true,
            },
        });
        d += 1;
    }
    let mut min = f64::INFINITY;
    for r in 0..x.rows() {
        let mut a: Vec<f64> = x.row(r).iter().map(|v| *v as f64).collect();
        for (l, layer) in layers.iter().enumerate() {
            let (rows, cols) = (layer.weight.shape[0], layer.weight.shape[1]);
            let w = |i: usize, j: usize| -> f64 {
                let index = if layer.transposed {
                    j * cols + i
                } else {
                    i * cols + j
                };
                layer.weight.data[index] as f64
            };
            let (outputs, inputs) = if layer.transposed {
                (cols, rows)
            } else {
                (rows, cols)
            };
            let z: Vec<f64> = (0..outputs)
                .map(|i| layer.bias[i] as f64 + (0..inputs).map(|j| w(i, j) * a[j]).sum::<f64>())
                .collect();
            if l + 1 < layers.len() {
                min = z.iter().fold(min, |m, v| m.min(v.abs()));
            }
            a = z.iter().map(|v| v.max(0.0)).collect();
        }
    }
    min
}

fn spec(act: Activation, code_act: Activation, output: Likelihood, tied: bool) -> AutoencoderSpec {
    AutoencoderSpec {
        input_size: 6,
        encoder_layers: vec![5],
        code_size: 3,
        code_activation: code_act,
        decoder_layers: None,
        activation: act,
        output,
        tied,
        init: Init::Glorot,
        code_distribution: CodeDistribution::Deterministic,
        binary: None,
        corruption: None,
        input_shape: None,
        encoder: None,
        decoder: None,
    }
}

#[test]
fn every_activation_and_likelihood() {
    for act in Activation::ALL {
        for output in [
            Likelihood::Bernoulli,
            Likelihood::Gaussian,
            Likelihood::Multinomial,
        ] {
            let err = check(spec(act, act, output, false), &Objective::plain());
            assert!(err < 2e-2, "{act:?}/{output:?}: relative error {err}");
        }
    }
}

#[test]
fn tied_weights() {
    for act in [Activation::Sigmoid, Activation::Tanh] {
        let err = check(
            spec(act, Activation::Linear, Likelihood::Bernoulli, true),
            &Objective::plain(),
        );
        assert!(err < 2e-2, "tied {act:?}: relative error {err}");
    }
}

#[test]
fn deep_asymmetric_decoder() {
    let mut s = spec(
        Activation::Tanh,
        Activation::Sigmoid,
        Likelihood::Gaussian,
        false,
    );
    s.encoder_layers = vec![7, 4];
    s.decoder_layers = Some(vec![2, 5, 8]);
    let err = check(s, &Objective::plain());
    assert!(err < 2e-2, "relative error {err}");
}

#[test]
fn code_penalties_and_weight_decay() {
    let s = spec(
        Activation::Sigmoid,
        Activation::Sigmoid,
        Likelihood::Bernoulli,
        false,
    );
    for objective in [
        Objective {
            code_penalties: vec![CodePenalty::L1 { weight: 0.3 }],
            ..Objective::plain()
        },
        Objective {
            code_penalties: vec![CodePenalty::KlSparsity {
                weight: 0.5,
                target: 0.1,
            }],
            ..Objective::plain()
        },
        Objective {
            parameter_penalties: vec![ParameterPenalty::WeightDecay { weight: 0.05 }],
            ..Objective::plain()
        },
    ] {
        let err = check(s.clone(), &objective);
        assert!(err < 2e-2, "{objective:?}: relative error {err}");
    }
    let tied = spec(
        Activation::Sigmoid,
        Activation::Linear,
        Likelihood::Gaussian,
        true,
    );
    let err = check(
        tied,
        &Objective {
            parameter_penalties: vec![ParameterPenalty::WeightDecay { weight: 0.05 }],
            ..Objective::plain()
        },
    );
    assert!(err < 2e-2, "tied + weight decay: relative error {err}");
}

/// The parametric t-SNE term through the whole encoder, with the likelihood and without it
/// (`reconstruction_weight = 0`: the map term alone).
/// The map terms of §14.6, with and without the likelihood. The UMAP term reads the check's
/// batch of 5 rows as 2 edges and a spare row.
#[test]
fn parametric_map_terms() {
    let s = spec(
        Activation::Tanh,
        Activation::Linear,
        Likelihood::Bernoulli,
        false,
    );
    let (a, b) = autoencoder::objective::parametric_umap::fit_ab(0.1, 1.0);
    let terms = [
        CodePenalty::Tsne {
            weight: 2.0,
            perplexity: 1.2,
        },
        CodePenalty::Umap {
            weight: 1.5,
            neighbors: 3,
            min_dist: 0.1,
            a,
            b,
            negatives: 1,
            epoch_edges: Default::default(),
        },
    ];
    for term in terms {
        for reconstruction_weight in [1.0, 0.0] {
            let objective = Objective {
                code_penalties: vec![term],
                reconstruction_weight,
                ..Objective::plain()
            };
            let err = check(s.clone(), &objective);
            assert!(
                err < 2e-2,
                "{term:?}, reconstruction weight {reconstruction_weight}: relative error {err}"
            );
        }
    }
}

#[test]
fn a_wrong_gradient_is_caught() {
    // the check itself must be able to fail: a gradient off by 5 % in one tensor, or with one
    // entry's sign flipped, is reported above the tolerance the other tests use
    let s = spec(
        Activation::Sigmoid,
        Activation::Tanh,
        Likelihood::Gaussian,
        false,
    );
    let exact = check(s.clone(), &Objective::plain());
    assert!(exact < 2e-2, "untampered: {exact}");
    let scaled = check_with(s.clone(), &Objective::plain(), 5, 1, |g| {
        g[2].iter_mut().for_each(|v| *v *= 1.05)
    });
    assert!(scaled > 2e-2, "5 % too large a gradient passed: {scaled}");
    let flipped = check_with(s, &Objective::plain(), 5, 1, |g| {
        let i = (0..g[0].len())
            .max_by(|&a, &b| g[0][a].abs().total_cmp(&g[0][b].abs()))
            .unwrap();
        g[0][i] = -g[0][i];
    });
    assert!(flipped > 2e-2, "a flipped entry passed: {flipped}");
}

/// Batches long enough that the row kernels split them into several chunks (16 Ki elements
/// each), sequentially and on two threads: a chunk that read the wrong rows would pass every
/// 5-row check above.
#[test]
fn batches_spanning_several_row_chunks() {
    let mut s = spec(
        Activation::Tanh,
        Activation::Linear,
        Likelihood::Bernoulli,
        false,
    );
    for threads in [1, 2] {
        // 3000 rows × 6 columns: 2 chunks of the data and its reconstruction
        let err = check_with(s.clone(), &Objective::plain(), 3000, threads, |_| {});
        assert!(
            err < 2e-2,
            "deterministic, {threads} threads: relative error {err}"
        );
    }
    // finite differences only see loss and gradient agree; that a chunk compares with its own
    // rows shows in the loss itself: a long batch's loss is the mean of its pieces' losses
    let mut model = Autoencoder::new(s.clone(), 3).unwrap();
    let x = batch(3000, s.input_size, 11);
    let whole = model
        .loss(&x, &Objective::plain(), &mut Rng::new(0))
        .unwrap();
    let mut pieces = 0.0;
    for p in 0..30 {
        let piece = x.slice_rows(p * 100, (p + 1) * 100);
        pieces += model
            .loss(&piece, &Objective::plain(), &mut Rng::new(0))
            .unwrap()
            / 30.0;
    }
    assert!(
        (whole - pieces).abs() <= 1e-5 * pieces.abs(),
        "loss of 3000 rows {whole} vs mean of 100-row pieces {pieces}"
    );
    // the IWAE decoder sees rows × k rows, and maps each back to its example
    s.code_distribution = CodeDistribution::Gaussian;
    let objective = Objective {
        importance_samples: 5,
        ..Objective::plain()
    };
    for threads in [1, 2] {
        let err = check_with(s.clone(), &objective, 600, threads, |_| {});
        assert!(
            err < 2e-2,
            "IWAE k=5, {threads} threads: relative error {err}"
        );
    }
}

#[test]
fn gaussian_code_through_the_reparameterized_path() {
    for output in [Likelihood::Bernoulli, Likelihood::Gaussian] {
        let mut s = spec(Activation::Tanh, Activation::Linear, output, false);
        s.code_distribution = CodeDistribution::Gaussian;
        for objective in [
            Objective::plain(),
            Objective {
                beta: 0.3,
                code_penalties: vec![CodePenalty::L1 { weight: 0.2 }],
                ..Objective::plain()
            },
        ] {
            let err = check(s.clone(), &objective);
            assert!(
                err < 2e-2,
                "gaussian code {output:?} {objective:?}: relative error {err}"
            );
        }
    }
}

/// A binary code pushed by noise (semantic hashing): with the noise drawn from the same seed at
/// every evaluation, the objective is smooth and the backward pass through `σ(a + ε)` is exact.
#[test]
fn binary_noise_code_with_multinomial_and_bernoulli_outputs() {
    for output in [Likelihood::Multinomial, Likelihood::Bernoulli] {
        let mut s = spec(Activation::Sigmoid, Activation::Linear, output, false);
        s.code_size = 8;
        s.code_distribution = CodeDistribution::Binary;
        s.binary = Some(autoencoder::code::BinaryCode {
            kind: autoencoder::code::BinaryKind::Noise,
            noise: 1.5,
        });
        for objective in [
            Objective::plain(),
            Objective {
                code_penalties: vec![CodePenalty::L1 { weight: 0.2 }],
                ..Objective::plain()
            },
        ] {
            let err = check(s.clone(), &objective);
            assert!(
                err < 2e-2,
                "binary noise code, {output:?}: relative error {err}"
            );
        }
    }
}

#[test]
fn importance_weighted_bound() {
    let mut s = spec(
        Activation::Tanh,
        Activation::Linear,
        Likelihood::Bernoulli,
        false,
    );
    s.code_distribution = CodeDistribution::Gaussian;
    for k in [2, 5] {
        let objective = Objective {
            importance_samples: k,
            ..Objective::plain()
        };
        let err = check(s.clone(), &objective);
        assert!(err < 2e-2, "IWAE k={k}: relative error {err}");
    }
    // code penalties beside the bound (they read the sampled codes of every importance sample)
    let objective = Objective {
        importance_samples: 3,
        code_penalties: vec![CodePenalty::L1 { weight: 0.2 }],
        parameter_penalties: vec![ParameterPenalty::WeightDecay { weight: 0.05 }],
        ..Objective::plain()
    };
    let err = check(s, &objective);
    assert!(
        err < 2e-2,
        "IWAE k=3 + L1 + weight decay: relative error {err}"
    );
}

#[test]
fn contractive_penalty() {
    for act in [Activation::Sigmoid, Activation::Tanh] {
        let mut s = spec(act, act, Likelihood::Bernoulli, false);
        s.encoder_layers = vec![];
        for objective in [
            Objective {
                parameter_penalties: vec![ParameterPenalty::Contractive {
                    weight: 0.7,
                    directions: 0,
                    hessian: None,
                }],
                ..Objective::plain()
            },
            Objective {
                parameter_penalties: vec![
                    ParameterPenalty::Contractive {
                        weight: 0.7,
                        directions: 0,
                        hessian: None,
                    },
                    ParameterPenalty::WeightDecay { weight: 0.1 },
                ],
                ..Objective::plain()
            },
            // CAE+H: the Hessian term's noise is drawn from the step's rng, the same at every
            // evaluation, so finite differences see one function
            Objective {
                parameter_penalties: vec![ParameterPenalty::Contractive {
                    weight: 0.7,
                    directions: 0,
                    hessian: Some(autoencoder::objective::contractive::Hessian {
                        weight: 2.0,
                        noise: 0.3,
                        samples: 3,
                    }),
                }],
                corruption: Some(autoencoder::Corruption::Gaussian { sigma: 0.1 }),
                ..Objective::plain()
            },
        ] {
            let err = check(s.clone(), &objective);
            assert!(err < 2e-2, "contractive {act:?}: relative error {err}");
        }
        // the closed form reads the corrupted input; tied, the decoder shares its weight
        for tied in [false, true] {
            s.tied = tied;
            let objective = Objective {
                parameter_penalties: vec![ParameterPenalty::Contractive {
                    weight: 0.7,
                    directions: 0,
                    hessian: None,
                }],
                corruption: Some(autoencoder::Corruption::Masking { p: 0.3 }),
                ..Objective::plain()
            };
            let err = check(s.clone(), &objective);
            assert!(
                err < 2e-2,
                "contractive {act:?} tied {tied} with masking: relative error {err}"
            );
        }
    }
}

#[test]
fn contractive_penalty_by_random_directions_for_deep_encoders() {
    // the estimate is a fixed function of the parameters once its directions are drawn (the same
    // rng seed draws the same directions), so finite differences check its gradient exactly
    for act in Activation::ALL {
        for tied in [false, true] {
            for (directions, hessian) in [
                (1, None),
                (3, None),
                // CAE+H through the estimate: J(x)v − J(x + ε)v along shared directions
                (
                    2,
                    Some(autoencoder::objective::contractive::Hessian {
                        weight: 1.5,
                        noise: 0.3,
                        samples: 2,
                    }),
                ),
            ] {
                let objective = Objective {
                    parameter_penalties: vec![ParameterPenalty::Contractive {
                        weight: 0.7,
                        directions,
                        hessian,
                    }],
                    ..Objective::plain()
                };
                let err = check(spec(act, act, Likelihood::Bernoulli, tied), &objective);
                assert!(
                    err < 2e-2,
                    "deep contractive {act:?} tied {tied} m {directions} {hessian:?}: relative error {err}"
                );
            }
        }
    }
    // the estimator on a one-layer encoder, beside corruption and weight decay
    let mut s = spec(
        Activation::Sigmoid,
        Activation::Tanh,
        Likelihood::Gaussian,
        false,
    );
    s.encoder_layers = vec![];
    let objective = Objective {
        parameter_penalties: vec![
            ParameterPenalty::Contractive {
                weight: 0.7,
                directions: 2,
                hessian: None,
            },
            ParameterPenalty::WeightDecay { weight: 0.1 },
        ],
        corruption: Some(autoencoder::Corruption::Gaussian { sigma: 0.1 }),
        ..Objective::plain()
    };
    let err = check(s, &objective);
    assert!(
        err < 2e-2,
        "one-layer estimated contractive: relative error {err}"
    );
}

#[test]
fn dropout_with_its_mask_fixed() {
    use autoencoder::nn::dropout;
    // L(x) = Σ c_i tanh(dropout(x)_i), with the mask redrawn from the same seed at every
    // evaluation, so that finite differences see one fixed mask.
    let n = 64;
    let x: Vec<f32> = (0..n).map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0).collect();
    let c: Vec<f32> = (0..n).map(|i| ((i * 11 % 7) as f32 - 3.0) / 3.0).collect();
    let p = 0.4;
    let loss = |x: &[f32]| -> f64 {
        let (mut v, mut mask) = (x.to_vec(), vec![0.0f32; n]);
        dropout::forward_in_place(&mut v, &mut mask, p, &mut Rng::new(3));
        v.iter().zip(&c).map(|(v, c)| (c * v.tanh()) as f64).sum()
    };
    let (mut v, mut mask) = (x.clone(), vec![0.0f32; n]);
    dropout::forward_in_place(&mut v, &mut mask, p, &mut Rng::new(3));
    let mut grad: Vec<f32> = v
        .iter()
        .zip(&c)
        .map(|(v, c)| c * (1.0 - v.tanh().powi(2)))
        .collect();
    dropout::backward_in_place(&mut grad, &mask);
    assert!(mask.contains(&0.0) && mask.iter().any(|m| *m > 1.0));
    let h = 1e-3f32;
    for i in 0..n {
        let (mut up, mut down) = (x.clone(), x.clone());
        up[i] += h;
        down[i] -= h;
        let numeric = (loss(&up) - loss(&down)) / (2.0 * h as f64);
        assert!(
            (numeric - grad[i] as f64).abs() < 1e-3 * (1.0 + numeric.abs()),
            "unit {i}: numeric {numeric} vs analytic {}",
            grad[i]
        );
    }
}

/// A layered spec on `C×H×W` images from a `[model]` written as TOML.
fn layered_spec(model: &str, image: [usize; 3]) -> AutoencoderSpec {
    let text = format!("[model]\n{model}\ninput_shape = {image:?}\n");
    let config =
        autoencoder::config::RunConfig::parse(&text, std::path::Path::new("t.toml")).unwrap();
    config.spec(image.iter().product()).unwrap()
}

#[test]
fn convolutional_models_through_every_layer_kind() {
    // tanh and sigmoid keep the loss smooth; max pooling is smooth only while no step moves an
    // argmax, so it reads the input directly
    for (model, output) in [
        (
            "encoder = [{ conv = 3, kernel = 3, padding = 1 }, { pool = \"avg\", size = 2 }, { conv = 4, kernel = 3, stride = 2, padding = 1 }]\ncode = 3\nactivation = \"tanh\"",
            Likelihood::Bernoulli,
        ),
        (
            // max pooling right after the input: no parameter below it moves an argmax
            "encoder = [{ pool = \"max\", size = 2 }, { conv = 2, kernel = 3, padding = 1 }, { dropout = 0.3 }]\ncode = 3\nactivation = \"tanh\"",
            Likelihood::Bernoulli,
        ),
        (
            "encoder = [{ conv = 4, kernel = 2, stride = 2 }, { batch_norm = true }, { pool = \"avg\", size = 1 }]\nactivation = \"sigmoid\"\noutput = \"gaussian\"",
            Likelihood::Gaussian,
        ),
        (
            "encoder = [{ conv = 2, kernel = 3, padding = \"same\" }, { dense = 5 }]\ncode = 2\ncode_distribution = \"gaussian\"\nactivation = \"tanh\"",
            Likelihood::Bernoulli,
        ),
        (
            "encoder = [{ conv = 3, kernel = 3, padding = 1 }, { pool = \"avg\", size = 2 }]\ndecoder = [{ upsample = 2 }, { conv_transpose = 2, kernel = 3, padding = 1 }, { conv = 1, kernel = 1 }]\nactivation = \"tanh\"",
            Likelihood::Bernoulli,
        ),
    ] {
        let spec = layered_spec(model, [1, 6, 6]);
        assert_eq!(spec.output, output);
        let objective = Objective {
            parameter_penalties: vec![ParameterPenalty::WeightDecay { weight: 0.01 }],
            ..Objective::plain()
        };
        // 36 pixels × 4 rows: a larger step than the 6-feature dense checks, so f32 rounding
        // of the summed loss stays below the tolerance (smooth activations only)
        let err = check_with_step(spec, &objective, 4, 1, 0.1, |_| {});
        assert!(err < 2e-2, "{model}: relative error {err}");
    }
}
