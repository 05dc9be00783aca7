//! `train.rule`: how an autoencoder's parameters are updated from a minibatch, and which terms
//! of the objective each rule can honour. A rule applies every parameter penalty it can and
//! refuses the others by name, so a term is never dropped in silence.

use crate::error::{Error, Result};
use crate::nn::OptimizerKind;
use crate::objective::{ParameterPenalty, RegularizerConfig};
use serde::{Deserialize, Serialize};

/// How an autoencoder's parameters are updated from a minibatch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rule {
    /// Gradient descent on the objective, by backprop ([`super::backprop`]).
    #[default]
    Backprop,
    /// Hinton & McClelland's recirculation with regression `lambda` ([`super::recirculation`]).
    Recirculation {
        /// The share of `x(0)` in the reconstruction `x(1)`.
        lambda: f32,
    },
}

/// `train.rule`, as written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleName {
    /// Gradient descent by backprop.
    #[default]
    Backprop,
    /// Hinton & McClelland (1988).
    Recirculation,
}

/// The `[train]` keys a rule reads, as given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RuleKeys {
    /// `train.recirculation_lambda`.
    pub recirculation_lambda: f32,
    /// `train.optimizer`, checked.
    pub optimizer: OptimizerKind,
}

impl RuleName {
    /// The rule named, with its keys checked against the optimizer and the `[[regularizer]]`
    /// entries (errors name the key).
    pub fn check(self, k: &RuleKeys, regularizers: &[RegularizerConfig]) -> Result<Rule> {
        let rule = match self {
            RuleName::Backprop => Rule::Backprop,
            RuleName::Recirculation => {
                if k.optimizer.is_line_search() {
                    return Err(Error::config(
                        "train.optimizer",
                        "recirculation's update is not a gradient to search along; use adam or sgd",
                    ));
                }
                if !(0.0..1.0).contains(&k.recirculation_lambda) {
                    return Err(Error::config(
                        "train.recirculation_lambda",
                        "must be in [0, 1) (the paper's 0.75)",
                    ));
                }
                Rule::Recirculation {
                    lambda: k.recirculation_lambda,
                }
            }
        };
        rule.refuse_unapplied(regularizers)?;
        Ok(rule)
    }
}

impl Rule {
    /// Whether this rule adds `penalty` to its update. Recirculation's update has no backward
    /// pass to add `∂h/∂x` to; weight decay it applies to both of its weight matrices.
    pub fn applies(&self, penalty: &ParameterPenalty) -> bool {
        match self {
            Rule::Backprop => true,
            Rule::Recirculation { .. } => matches!(penalty, ParameterPenalty::WeightDecay { .. }),
        }
    }

    /// Whether this rule can add code terms (`Ω(h)`: sparsity, maps) to its update.
    pub fn applies_code_terms(&self) -> bool {
        matches!(self, Rule::Backprop)
    }

    /// An error naming the first `[[regularizer]]` entry this rule cannot honour.
    pub fn refuse_unapplied(&self, regularizers: &[RegularizerConfig]) -> Result<()> {
        let name = match self {
            Rule::Backprop => "backprop",
            Rule::Recirculation { .. } => "recirculation",
        };
        refuse_unapplied(
            regularizers,
            |p| self.applies(p),
            self.applies_code_terms(),
            |kind| {
                format!("{name} has no gradient to add {kind} to; use train.rule = \"backprop\"")
            },
        )
    }
}

/// The learning rules' one check of the `[[regularizer]]` list: an error naming
/// `regularizer[i].kind` for the first entry that is a parameter penalty `applies` rejects, or
/// a code term when `code_terms` is false; `why(kind)` says why.
pub fn refuse_unapplied(
    regularizers: &[RegularizerConfig],
    applies: impl Fn(&ParameterPenalty) -> bool,
    code_terms: bool,
    why: impl Fn(&str) -> String,
) -> Result<()> {
    for (i, r) in regularizers.iter().enumerate() {
        let ok = match r.parameter_penalty() {
            Some(p) => applies(&p),
            None => code_terms,
        };
        if !ok {
            return Err(Error::config(
                format!("regularizer[{i}].kind"),
                why(r.kind()),
            ));
        }
    }
    Ok(())
}
