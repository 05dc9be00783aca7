//! Settings chosen from the data, for a fit that names no architecture: `Autoencoder()` with no
//! arguments, `autoencoder train --data X` with no `--config`.
//!
//! One pass over the rows gives their range and whether they are whole numbers; from that:
//! - values in [0, 1] (pixels, probabilities, binary features): Bernoulli output (cross-entropy),
//!   no transform;
//! - non-negative whole numbers above 1 (counts): `log1p` then a Gaussian output;
//! - anything else (a table of measurements): each column standardized, a Gaussian output;
//! - the code: a quarter of the width, at least 2 and at most 32 (1 for 1–2 columns);
//! - one ReLU hidden layer of min(256, the next power of two ≥ twice the width) units when the
//!   width is at least 4 codes wide, none otherwise: a narrow table gets a linear-code shallow
//!   model started at PCA's solution (`[pretrain] kind = "pca"`, with a Gaussian output), since
//!   a hidden layer overfit small tables when we tried (BENCHMARKS.md, "Defaults chosen from the
//!   data");
//! - Adam at 1e-3, batches of about 1/32 of the rows (16 to 128), a tenth of the rows held out
//!   (from 50 rows on) with early stopping after 20 epochs without improvement, and as many epochs
//!   as take about 10,000 steps (20 to 1,000).
//!
//! Only keys the config leaves out are set; each choice is returned with its reason, so front ends
//! can say what they chose (`defaults.json` in a run folder, `defaults_` in Python).

use crate::data::rows::{for_each_chunk, Rows};
use crate::error::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// The file in a run folder that lists the choices.
pub const FILE: &str = "defaults.json";

/// What the choices read from the data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DataSummary {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
    /// Whether every value is a whole number.
    pub integers: bool,
}

impl DataSummary {
    /// One pass over `x`.
    pub fn of(x: &dyn Rows) -> Result<Self> {
        let (mut min, mut max, mut integers) = (f32::INFINITY, f32::NEG_INFINITY, true);
        for_each_chunk(x, 4096, |_, chunk| {
            for &v in chunk.as_slice() {
                min = min.min(v);
                max = max.max(v);
                integers &= v.fract() == 0.0;
            }
            Ok(())
        })?;
        Ok(DataSummary {
            rows: x.rows(),
            cols: x.cols(),
            min,
            max,
            integers,
        })
    }
}

/// One chosen setting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Choice {
    /// The config key, e.g. `model.code`.
    pub key: String,
    /// The value chosen.
    pub value: Value,
    /// Why, in a few words.
    pub why: String,
}

/// Whether a config (its sections as JSON) names no architecture, so that [`choose`] applies:
/// an autoencoder with none of `model.code`, `model.layers`, `model.encoder`.
pub fn wants_defaults(config: &Value) -> bool {
    let model = config.get("model");
    let kind = model
        .and_then(|m| m.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or("autoencoder");
    kind == "autoencoder"
        && ["code", "layers", "encoder"]
            .iter()
            .all(|k| model.and_then(|m| m.get(*k)).is_none())
}

/// Sets the keys `config` leaves out from `data` (see the module header); returns the choices.
pub fn choose(config: &mut Value, data: &DataSummary) -> Vec<Choice> {
    let mut choices = Vec::new();
    if !config.is_object() {
        *config = json!({});
    }
    let unit = data.min >= 0.0 && data.max <= 1.0;
    let counts = data.integers && data.min >= 0.0 && data.max > 1.0;
    let range = format!("values from {} to {}", data.min, data.max);
    let (transform, output, why) = if unit {
        ("none", "bernoulli", format!("{range}: in [0, 1]"))
    } else if counts {
        (
            "log1p",
            "gaussian",
            format!("{range}, whole numbers: counts"),
        )
    } else {
        (
            "standardize",
            "gaussian",
            format!("{range}: measurements on their own scales"),
        )
    };
    let d = data.cols.max(1);
    let code = if d <= 2 {
        1
    } else {
        d.div_ceil(4).clamp(2, 32)
    };
    let hidden = if d >= 4 * code {
        vec![(2 * d).next_power_of_two().min(256)]
    } else {
        Vec::new()
    };
    let validation = if data.rows >= 50 { 0.1 } else { 0.0 };
    let train_rows = data.rows - (data.rows as f64 * validation).round() as usize;
    let batch = (train_rows / 32).clamp(16, 128).min(train_rows.max(1));
    let steps_per_epoch = train_rows.div_ceil(batch.max(1)).max(1);
    let epochs = 10_000usize.div_ceil(steps_per_epoch).clamp(20, 1000);
    let mut set = |section: &str, key: &str, value: Value, why: String| {
        let table = config
            .as_object_mut()
            .expect("made an object above")
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        if !table.is_object() {
            return;
        }
        let table = table.as_object_mut().expect("checked");
        if !table.contains_key(key) {
            table.insert(key.into(), value.clone());
            choices.push(Choice {
                key: format!("{section}.{key}"),
                value,
                why,
            });
        }
    };
    set("data", "transform", json!(transform), why.clone());
    set("model", "output", json!(output), why);
    set(
        "model",
        "code",
        json!(code),
        format!("{d} columns: a quarter of the width, 2 to 32"),
    );
    set(
        "model",
        "layers",
        json!(hidden),
        if hidden.is_empty() {
            format!("{d} columns: narrower than 4 codes, no hidden layer")
        } else {
            format!("{d} columns: one layer of the next power of two, at most 256")
        },
    );
    if hidden.is_empty() && output == "gaussian" {
        set(
            "pretrain",
            "kind",
            json!("pca"),
            "a linear code under squared error starts at PCA's solution, so training can only improve on it".into(),
        );
    }
    set(
        "model",
        "activation",
        json!("relu"),
        "hidden layers: ReLU".into(),
    );
    set(
        "model",
        "init",
        json!("he"),
        "ReLU layers: He initialization".into(),
    );
    set(
        "model",
        "code_activation",
        json!("linear"),
        "a linear code (PCA's, when there is no hidden layer)".into(),
    );
    set(
        "train",
        "validation_fraction",
        json!(validation),
        if validation > 0.0 {
            format!("{} rows: a tenth held out for early stopping", data.rows)
        } else {
            format!("{} rows: too few to hold any out", data.rows)
        },
    );
    if validation > 0.0 {
        set(
            "train",
            "patience",
            json!(20),
            "stop after 20 epochs without a better validation loss, keeping the best".into(),
        );
    }
    set(
        "train",
        "batch_size",
        json!(batch),
        format!("{train_rows} training rows: about 1/32 of them, 16 to 128"),
    );
    set(
        "train",
        "epochs",
        json!(epochs),
        format!("{steps_per_epoch} steps an epoch: about 10,000 steps, 20 to 1,000 epochs"),
    );
    choices
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(rows: usize, cols: usize, min: f32, max: f32, integers: bool) -> DataSummary {
        DataSummary {
            rows,
            cols,
            min,
            max,
            integers,
        }
    }

    #[test]
    fn the_data_decides_output_transform_and_sizes() {
        // MNIST-like: pixels in [0, 1]
        let mut c = json!({});
        choose(&mut c, &summary(60_000, 784, 0.0, 1.0, false));
        assert_eq!(c["model"]["output"], "bernoulli");
        assert_eq!(c["data"]["transform"], "none");
        assert_eq!(
            (c["model"]["code"].clone(), c["model"]["layers"].clone()),
            (json!(32), json!([256]))
        );
        assert_eq!(c["train"]["batch_size"], 128);
        assert_eq!(c["train"]["epochs"], 24); // 422 steps an epoch
                                              // a 30-column table of measurements
        let mut t = json!({});
        choose(&mut t, &summary(569, 30, -3.5, 4000.0, false));
        assert_eq!(t["data"]["transform"], "standardize");
        assert_eq!(t["model"]["output"], "gaussian");
        assert_eq!(
            (t["model"]["code"].clone(), t["model"]["layers"].clone()),
            (json!(8), json!([]))
        );
        assert_eq!(t["train"]["batch_size"], 16);
        assert_eq!(t["pretrain"]["kind"], "pca");
        // counts
        let mut k = json!({});
        choose(&mut k, &summary(40, 2, 0.0, 17.0, true));
        assert_eq!(k["data"]["transform"], "log1p");
        assert_eq!(k["model"]["code"], 1);
        assert_eq!(k["train"]["validation_fraction"], 0.0);
        assert!(k["train"].get("patience").is_none());
    }

    #[test]
    fn given_keys_stay_and_an_architecture_turns_defaults_off() {
        let mut c = json!({"train": {"epochs": 3}, "data": {"transform": "binary"}});
        assert!(wants_defaults(&c));
        let choices = choose(&mut c, &summary(100, 10, 0.0, 1.0, false));
        assert_eq!(c["train"]["epochs"], 3);
        assert_eq!(c["data"]["transform"], "binary");
        assert!(choices
            .iter()
            .all(|ch| ch.key != "train.epochs" && ch.key != "data.transform"));
        assert!(!wants_defaults(&json!({"model": {"code": 4}})));
        assert!(!wants_defaults(&json!({"model": {"kind": "rbm"}})));
    }
}
