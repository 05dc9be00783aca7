//! `[[regularizer]]`: one entry per term of Ω, each deserialized by its `kind` straight into its
//! own config (beside the term it configures) and checked there once. A new term is its config
//! in its own file plus one line here.

use super::contractive::ContractiveConfig;
use super::parametric_tsne::TsneConfig;
use super::parametric_umap::UmapConfig;
use super::sparsity::{KlSparsityConfig, L1Config};
use super::weight_decay::WeightDecayConfig;
use super::{Objective, ParameterPenalty};
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

/// A term's config: its weight, and its check, which adds the term to an objective.
pub trait RegularizerTerm {
    /// `λ`.
    fn weight(&self) -> f32;
    /// Checks the entry (`key` is `regularizer[i]`, for errors) against the run and adds the
    /// term to `objective`.
    fn apply(&self, key: &str, run: &RunContext, objective: &mut Objective) -> Result<()>;
    /// The term as a penalty on the parameters, or `None` for a term on the code.
    fn parameter_penalty(&self) -> Option<ParameterPenalty> {
        None
    }
}

/// The registry: one line per term, `Variant("kind", Config)`. Makes [`RegularizerConfig`], its
/// serialization by `kind`, its deserialization and its dispatch.
macro_rules! regularizer_kinds {
    ($($variant:ident($name:literal, $config:ty)),* $(,)?) => {
        /// One `[[regularizer]]` entry, by its `kind`.
        ///
        /// Deserialized in two steps (the entry as a map, then its `kind`'s own struct from the
        /// rest) rather than by serde's internally tagged enums, which buffer the entry and lose
        /// the path of an error inside it: a bad value is reported under `regularizer[i].<key>`.
        #[derive(Clone, Debug, PartialEq, Serialize)]
        #[serde(tag = "kind")]
        pub enum RegularizerConfig {
            $(
                #[allow(missing_docs)]
                #[serde(rename = $name)]
                $variant($config),
            )*
        }

        impl RegularizerConfig {
            /// The entry's `kind`, as written.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(RegularizerConfig::$variant(_) => $name,)*
                }
            }

            fn term(&self) -> &dyn RegularizerTerm {
                match self {
                    $(RegularizerConfig::$variant(c) => c,)*
                }
            }
        }

        impl<'de> Deserialize<'de> for RegularizerConfig {
            fn deserialize<D: Deserializer<'de>>(
                deserializer: D,
            ) -> std::result::Result<Self, D::Error> {
                let (kind, rest) = split_kind::<D>(deserializer)?;
                Ok(match kind.as_str() {
                    $($name => RegularizerConfig::$variant(term_config(rest)?),)*
                    other => {
                        let expected = [$(concat!("`", $name, "`")),*].join(", ");
                        return Err(D::Error::custom(nested_key(
                            "kind",
                            &format!("unknown variant `{other}`, expected one of {expected}"),
                        )));
                    }
                })
            }
        }
    };
}

regularizer_kinds! {
    L1("l1", L1Config),
    KlSparsity("kl_sparsity", KlSparsityConfig),
    WeightDecay("weight_decay", WeightDecayConfig),
    Contractive("contractive", ContractiveConfig),
    Tsne("tsne", TsneConfig),
    Umap("umap", UmapConfig),
}

impl RegularizerConfig {
    /// The term's weight `λ`.
    pub fn weight(&self) -> f32 {
        self.term().weight()
    }

    /// The term as a penalty on the parameters (`weight_decay`, `contractive`), or `None` for
    /// a term on the code.
    pub fn parameter_penalty(&self) -> Option<ParameterPenalty> {
        self.term().parameter_penalty()
    }

    /// Checks the entry (`key` is `regularizer[i]`) and adds its term to `objective`.
    pub fn apply(&self, key: &str, run: &RunContext, objective: &mut Objective) -> Result<()> {
        let w = self.weight();
        if !(w >= 0.0 && w.is_finite()) {
            return Err(Error::config(format!("{key}.weight"), "must be ≥ 0"));
        }
        self.term().apply(key, run, objective)
    }
}

/// An entry's `kind` and the rest of its keys.
fn split_kind<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<(String, serde_json::Value), D::Error> {
    let mut entry = serde_json::Map::deserialize(deserializer)?;
    match entry.remove("kind") {
        Some(serde_json::Value::String(k)) => Ok((k, serde_json::Value::Object(entry))),
        Some(other) => Err(D::Error::custom(nested_key(
            "kind",
            &format!("invalid type: {other}, expected a string"),
        ))),
        None => Err(D::Error::missing_field("kind")),
    }
}

/// A term's config from an entry's keys (`kind` removed), its errors marked with their key.
fn term_config<T: DeserializeOwned, E: serde::de::Error>(
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
