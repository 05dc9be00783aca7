//! The size of a parametric-UMAP epoch: `epoch_edges = "graph"` draws the graph's total weight
//! in edges (umap-learn's epoch), `"rows"` half the rows; both counted in optimizer steps.

use autoencoder::linalg::Rng;
use autoencoder::model::Autoencoder;
use autoencoder::nn::Activation;
use autoencoder::objective::parametric_umap::{fit_ab, EpochEdges, FuzzyGraph};
use autoencoder::train::{self, Silent};
use autoencoder::{AutoencoderSpec, CodePenalty, Likelihood, Matrix, Objective, TrainConfig};

#[test]
fn an_epoch_draws_the_graph_s_weight_in_edges_or_half_the_rows() {
    let (n, d, k) = (300, 8, 10);
    let mut rng = Rng::new(4);
    let x = Matrix::from_vec(n, d, (0..n * d).map(|_| rng.normal()).collect());
    let graph = FuzzyGraph::fit(&x, k).unwrap();
    // memberships of k − 1 neighbours sum to log₂ k per row; the fuzzy union of both
    // directions lies between one and two such sums
    let per_row = graph.total_weight() / n as f64;
    let log2k = (k as f64).log2();
    assert!(per_row > log2k && per_row < 2.0 * log2k, "{per_row}");
    let (a, b) = fit_ab(0.1, 1.0);
    for (epoch_edges, pairs) in [
        (EpochEdges::Graph, graph.total_weight().round() as usize),
        (EpochEdges::Rows, n / 2),
    ] {
        assert_eq!(graph.epoch_pairs(epoch_edges, n), pairs);
        let mut spec = AutoencoderSpec::new(d, &[16], 2, Likelihood::Gaussian);
        spec.activation = Activation::Relu;
        let mut model = Autoencoder::new(spec, 0).unwrap();
        let batch_size = 64;
        let config = TrainConfig {
            epochs: 2,
            batch_size,
            validation_fraction: 0.0,
            patience: None,
            threads: 1,
            objective: Objective {
                reconstruction_weight: 0.0,
                code_penalties: vec![CodePenalty::Umap {
                    weight: 1.0,
                    neighbors: k,
                    min_dist: 0.1,
                    a,
                    b,
                    negatives: 5,
                    epoch_edges,
                }],
                ..Objective::plain()
            },
            ..TrainConfig::default()
        };
        let state = train::initial_state(&model, &config);
        let report = train::fit(&mut model, &x, None, &config, state, &mut Silent).unwrap();
        assert_eq!(
            report.state.optimizer.step as usize,
            2 * (2 * pairs).div_ceil(batch_size),
            "{epoch_edges:?}: two epochs of {pairs} edges in batches of {batch_size} rows"
        );
    }
}
