//! A bundle's model in LightGBM's text format: the peer side of `tools/compare_scoring`, which
//! has LightGBM predict with exactly the bundle's trees, and a way out for users whose other
//! tools read LightGBM models. Only a bundle that is one tree ensemble has one: a valence
//! bundle of a boosting model with no fallback and no near twins, or a classifier bundle of one
//! boosting or forest classifier.

use serde::Serialize;

/// What LightGBM's `predict` on the exported model gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LightgbmOutput {
    /// The value, before the bundle clips it to its range and adds its interval.
    Value,
    /// The probability of the second class (of two).
    Binary,
    /// Each class's probability.
    Classes,
}

/// A bundle's model as LightGBM reads it.
#[derive(Clone, Debug)]
pub struct LightgbmModel {
    /// The model file's text (`lightgbm.Booster(model_file=…)` reads it).
    pub text: String,
    /// The model's input columns, in order: the bundle's input names.
    pub columns: Vec<String>,
    /// What its `predict` gives.
    pub output: LightgbmOutput,
}
