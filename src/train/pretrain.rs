//! Greedy layer-wise pretraining (Hinton & Salakhutdinov 2006; Bengio et al. 2007; Vincent et
//! al. 2010): each encoder layer is trained as a one-layer autoencoder on the codes of the
//! layers below it, with the same objective parts (corruption, sparsity, contractive…), then
//! the whole network is fine-tuned.

use super::{fit, initial_state, Observer, TrainConfig};
use crate::code::CodeDistribution;
use crate::error::Result;
use crate::linalg::Matrix;
use crate::model::{Autoencoder, AutoencoderSpec, Half};
use crate::nn::Activation;
use crate::objective::Likelihood;

/// Pretrains every encoder layer of `model` greedily on `x` (epochs and objective from
/// `config`), copying each layer's encoder — and, for a mirrored untied decoder, its decoder —
/// into `model`. Returns the number of layers pretrained.
pub fn greedy_layerwise(
    model: &mut Autoencoder,
    x: &Matrix,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<usize> {
    model.require_dense("greedy pretraining")?;
    let spec = model.spec().clone();
    if spec.code_distribution == CodeDistribution::Gaussian {
        return Err(crate::Error::Invalid(
            "greedy pretraining needs a deterministic or binary code".into(),
        ));
    }
    // a binary code is p = σ(logits): its layer pretrains as a sigmoid code, whose weights
    // then give the logits
    let binary = spec.code_distribution == CodeDistribution::Binary;
    let widths = spec.encoder_widths();
    let layers = widths.len() - 1;
    let mirrored = spec.is_mirrored();
    let mut input = x.clone();
    for l in 0..layers {
        let act = if l + 1 == layers && binary {
            Activation::Sigmoid
        } else if l + 1 == layers {
            spec.code_activation
        } else {
            spec.activation
        };
        // the first layer reconstructs the data with its likelihood; deeper layers reconstruct
        // codes: Bernoulli for (0,1) codes, Gaussian otherwise
        let output = if l == 0 {
            spec.output
        } else if spec.activation == Activation::Sigmoid {
            Likelihood::Bernoulli
        } else {
            Likelihood::Gaussian
        };
        let layer_spec = AutoencoderSpec {
            input_size: widths[l],
            encoder_layers: vec![],
            code_size: widths[l + 1],
            code_activation: act,
            decoder_layers: None,
            activation: act,
            output,
            tied: spec.tied,
            init: spec.init,
            code_distribution: CodeDistribution::Deterministic,
            binary: None,
            corruption: None,
        };
        let mut layer = Autoencoder::new(layer_spec, config.seed.wrapping_add(l as u64))?;
        let layer_config = layer_config(config, l);
        let state = initial_state(&layer, &layer_config);
        fit(&mut layer, &input, None, &layer_config, state, observer)?;
        // the layer autoencoder's encoder is layer l; its decoder, for a mirrored decoder, is
        // decoder layer `layers - 1 - l`
        let enc = layer.encoder_layer(0).expect("one encoder layer");
        model.set_layer(Half::Encoder, l, Some(enc.weight), enc.bias)?;
        if mirrored {
            let dec = layer.decoder_layer(0).expect("one decoder layer");
            let weight = (!spec.tied).then_some(dec.weight);
            model.set_layer(Half::Decoder, layers - 1 - l, weight, dec.bias)?;
        }
        if l + 1 < layers {
            input = layer.encode(&input)?;
        }
    }
    Ok(layers)
}

/// The training configuration of layer `l`'s autoencoder: the caller's, without validation, and
/// with dynamic binarization only for the first layer (pixels are Bernoulli draws; the codes
/// the deeper layers read are not, and binarizing them would clip tanh codes to 0 and ReLU
/// codes to 1).
fn layer_config(config: &TrainConfig, l: usize) -> TrainConfig {
    TrainConfig {
        patience: None,
        validation_fraction: 0.0,
        dynamic_binarization: config.dynamic_binarization && l == 0,
        ..config.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_layer_binarizes_its_input() {
        let config = TrainConfig {
            dynamic_binarization: true,
            patience: Some(3),
            ..TrainConfig::default()
        };
        let first = layer_config(&config, 0);
        assert!(first.dynamic_binarization && first.patience.is_none());
        assert!(!layer_config(&config, 1).dynamic_binarization);
        assert!(!layer_config(&config, 2).dynamic_binarization);
    }
}
