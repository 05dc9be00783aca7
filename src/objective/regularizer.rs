//! `[[regularizer]]`: one entry per term of Ω, each deserialized by its `kind` straight into its
//! own config (beside the term it configures) and checked there once. A new term is its config
//! in its own file plus one line here.

use super::contractive::ContractiveConfig;
use super::parametric_tsne::TsneConfig;
use super::parametric_umap::UmapConfig;
use super::sparsity::{KlSparsityConfig, L1Config};
use super::weight_decay::WeightDecayConfig;
use super::Objective;
use crate::code::CodeDistribution;
use crate::error::{Error, Result};
use crate::nn::Activation;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};

/// What a term's check may need to know about the rest of the run.
#[derive(Clone, Copy, Debug)]
pub struct RunContext {
    /// `model.code_distribution`.
    pub code_distribution: CodeDistribution,
    /// `model.code_activation`.
    pub code_activation: Activation,
    /// `train.batch_size`.
    pub batch_size: usize,
}

impl RunContext {
    /// An error unless the code is deterministic (terms on `h` itself, not on a sample).
    pub fn need_deterministic_code(&self, key: &str, term: &str) -> Result<()> {
        if self.code_distribution != CodeDistribution::Deterministic {
            return Err(Error::config(
                key,
                format!("{term} needs a deterministic code (model.code_distribution = \"deterministic\")"),
            ));
        }
        Ok(())
    }
}

/// One `[[regularizer]]` entry, by its `kind`.
///
/// Deserialized in two steps (the entry as a map, then its `kind`'s own struct from the rest)
/// rather than by serde's internally tagged enums, which buffer the entry and lose the path of
/// an error inside it: a bad value is reported under `regularizer[i].<key>`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RegularizerConfig {
    /// `λ Σ |h|`.
    L1(L1Config),
    /// `β Σ KL(ρ ‖ ρ̂_j)`.
    KlSparsity(KlSparsityConfig),
    /// `(λ/2) Σ ‖W‖²`.
    WeightDecay(WeightDecayConfig),
    /// `λ ‖∂h/∂x‖²_F`.
    Contractive(ContractiveConfig),
    /// Parametric t-SNE.
    Tsne(TsneConfig),
    /// Parametric UMAP.
    Umap(UmapConfig),
}

impl RegularizerConfig {
    /// The entry's `kind`, as written.
    pub fn kind(&self) -> &'static str {
        match self {
            RegularizerConfig::L1(_) => "l1",
            RegularizerConfig::KlSparsity(_) => "kl_sparsity",
            RegularizerConfig::WeightDecay(_) => "weight_decay",
            RegularizerConfig::Contractive(_) => "contractive",
            RegularizerConfig::Tsne(_) => "tsne",
            RegularizerConfig::Umap(_) => "umap",
        }
    }

    /// The term's weight `λ`.
    pub fn weight(&self) -> f32 {
        match self {
            RegularizerConfig::L1(c) => c.weight,
            RegularizerConfig::KlSparsity(c) => c.weight,
            RegularizerConfig::WeightDecay(c) => c.weight,
            RegularizerConfig::Contractive(c) => c.weight,
            RegularizerConfig::Tsne(c) => c.weight,
            RegularizerConfig::Umap(c) => c.weight,
        }
    }

    /// Checks the entry (`key` is `regularizer[i]`) and adds its term to `objective`.
    pub fn apply(&self, key: &str, run: &RunContext, objective: &mut Objective) -> Result<()> {
        let w = self.weight();
        if !(w >= 0.0 && w.is_finite()) {
            return Err(Error::config(format!("{key}.weight"), "must be ≥ 0"));
        }
        match self {
            RegularizerConfig::L1(c) => c.apply(objective),
            RegularizerConfig::KlSparsity(c) => c.apply(key, run, objective),
            RegularizerConfig::WeightDecay(c) => c.apply(objective),
            RegularizerConfig::Contractive(c) => c.apply(key, run, objective),
            RegularizerConfig::Tsne(c) => c.apply(key, run, objective),
            RegularizerConfig::Umap(c) => c.apply(key, run, objective),
        }
    }
}

/// The kinds, in the order errors list them.
const KINDS: [&str; 6] = [
    "l1",
    "kl_sparsity",
    "weight_decay",
    "contractive",
    "tsne",
    "umap",
];

impl<'de> Deserialize<'de> for RegularizerConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let mut entry = serde_json::Map::deserialize(deserializer)?;
        let kind = match entry.remove("kind") {
            Some(serde_json::Value::String(k)) => k,
            Some(other) => {
                return Err(D::Error::custom(nested_key(
                    "kind",
                    &format!("invalid type: {other}, expected a string"),
                )))
            }
            None => return Err(D::Error::missing_field("kind")),
        };
        let rest = serde_json::Value::Object(entry);
        fn term<T: DeserializeOwned, E: serde::de::Error>(
            rest: serde_json::Value,
        ) -> std::result::Result<T, E> {
            serde_path_to_error::deserialize(rest).map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                match unknown_field(&message) {
                    Some(field) => E::custom(nested_key(field, &message)),
                    None if path != "." => E::custom(nested_key(&path, &message)),
                    None => E::custom(message),
                }
            })
        }
        Ok(match kind.as_str() {
            "l1" => RegularizerConfig::L1(term(rest)?),
            "kl_sparsity" => RegularizerConfig::KlSparsity(term(rest)?),
            "weight_decay" => RegularizerConfig::WeightDecay(term(rest)?),
            "contractive" => RegularizerConfig::Contractive(term(rest)?),
            "tsne" => RegularizerConfig::Tsne(term(rest)?),
            "umap" => RegularizerConfig::Umap(term(rest)?),
            other => {
                let expected = KINDS.map(|k| format!("`{k}`")).join(", ");
                return Err(D::Error::custom(nested_key(
                    "kind",
                    &format!("unknown variant `{other}`, expected one of {expected}"),
                )));
            }
        })
    }
}

/// Marks an error raised for a key inside the value being deserialized, so that the config
/// readers report it as `outer.key` ([`split_nested_key`]).
const NESTED: char = '\u{1f}';

fn nested_key(key: &str, message: &str) -> String {
    format!("{NESTED}{key}{NESTED}{message}")
}

/// The field serde names in an "unknown field `x`, expected …" message.
fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

/// The key and message of a config error at `path` (a serde path such as `regularizer[0]`,
/// or `.` for the whole document): a key marked inside the message, or an unknown field's
/// name, is appended to the path, so the error names the key the user wrote.
pub fn split_nested_key(path: &str, message: &str) -> (String, String) {
    let join = |inner: &str| {
        if path == "." || path.is_empty() {
            inner.to_string()
        } else if path.ends_with(&format!(".{inner}")) {
            path.to_string()
        } else {
            format!("{path}.{inner}")
        }
    };
    if let Some(rest) = message.strip_prefix(NESTED) {
        if let Some((inner, message)) = rest.split_once(NESTED) {
            return (join(inner), message.to_string());
        }
    }
    if let Some(field) = unknown_field(message) {
        return (join(field), message.to_string());
    }
    (path.to_string(), message.to_string())
}
