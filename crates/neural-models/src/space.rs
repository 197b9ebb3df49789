//! The search space of the network regressor, declared next to it.

use evaluation::{ParamError, ParamSet, ParamSetExt, SearchSpace, Tunable, Value};

use crate::config::{Activation, MlpConfig, Normalisation, OutputHead};
use crate::error::NeuralError;
use crate::regressor::{Loss, MlpRegressorParams};
use crate::schedule::ReduceOnPlateau;
use crate::training::{Optimiser, TrainingParams};

impl From<ParamError> for NeuralError {
    fn from(error: ParamError) -> NeuralError {
        NeuralError::InvalidData {
            context: "hyperparameters",
            message: error.to_string(),
        }
    }
}

fn bad(name: &'static str, value: impl std::fmt::Display, expected: &'static str) -> NeuralError {
    NeuralError::InvalidParameter {
        name,
        value: value.to_string(),
        expected,
    }
}

fn count(params: &ParamSet, name: &'static str, default: usize) -> Result<usize, NeuralError> {
    let value = params.int_or(name, default as i64)?;
    usize::try_from(value).map_err(|_| bad(name, value, "a whole number >= 0"))
}

impl Tunable for MlpRegressorParams {
    type Error = NeuralError;

    /// Width and depth (layers halve in width), dropout, learning rate, weight decay (AdamW),
    /// batch size, loss and activation. Early stopping on a 10% validation split, patience 12,
    /// and a plateau schedule guard every candidate against overfitting.
    fn search_space() -> SearchSpace {
        SearchSpace::new()
            .choice("width", [64, 128, 256, 512].map(Value::Int))
            .int("depth", 1, 3, false)
            .float("dropout", 0.0, 0.3, false)
            .float("learning_rate", 3e-4, 3e-3, true)
            .float("weight_decay", 1e-5, 3e-2, true)
            .choice("batch_size", [64, 128, 256].map(Value::Int))
            .choice(
                "loss",
                ["l1", "huber", "mse"].map(|l| Value::Text(l.into())),
            )
            .choice(
                "activation",
                ["relu", "gelu", "silu"].map(|a| Value::Text(a.into())),
            )
    }

    fn from_params(params: &ParamSet) -> Result<Self, NeuralError> {
        let width = count(params, "width", 256)?;
        let depth = count(params, "depth", 2)?;
        if width == 0 || depth == 0 {
            return Err(bad(
                "width/depth",
                format!("{width}/{depth}"),
                "both at least 1",
            ));
        }
        let hidden: Vec<usize> = (0..depth).map(|layer| (width >> layer).max(8)).collect();
        let activation = match params.text_or("activation", "relu")? {
            "relu" => Activation::Relu,
            "gelu" => Activation::Gelu,
            "silu" => Activation::Silu,
            "tanh" => Activation::Tanh,
            other => return Err(bad("activation", other, "relu, gelu, silu or tanh")),
        };
        let normalisation = match params.text_or("normalisation", "none")? {
            "none" => Normalisation::None,
            "batch" => Normalisation::Batch,
            "layer" => Normalisation::Layer,
            other => return Err(bad("normalisation", other, "none, batch or layer")),
        };
        let loss = match params.text_or("loss", "l1")? {
            "l1" => Loss::L1,
            "huber" => Loss::Huber {
                delta: params.float_or("huber_delta", 0.1)?,
            },
            "mse" => Loss::Mse,
            other => return Err(bad("loss", other, "l1, huber or mse")),
        };
        let config = MlpConfig::new(hidden)
            .activation(activation)
            .dropout(params.float_or("dropout", 0.1)?)
            .normalisation(normalisation)
            .output_head(OutputHead::Sigmoid);
        let training = TrainingParams {
            optimiser: Optimiser::AdamW {
                weight_decay: params.float_or("weight_decay", 1e-3)?,
            },
            learning_rate: params.float_or("learning_rate", 1e-3)?,
            batch_size: count(params, "batch_size", 128)?,
            max_epochs: count(params, "max_epochs", 300)?,
            validation_fraction: params.float_or("validation_fraction", 0.1)?,
            patience: count(params, "patience", 12)?,
            reduce_on_plateau: Some(ReduceOnPlateau {
                factor: 0.5,
                patience: 4,
                min_learning_rate: 1e-5,
            }),
            seed: params.int_or("seed", 0)? as u64,
            threads: Some(count(params, "threads", 1)?),
            ..TrainingParams::default()
        };
        let built = MlpRegressorParams::new(config)
            .loss(loss)
            .training(training);
        built.check()?;
        Ok(built)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_point_of_the_space_builds_valid_params() {
        let space = MlpRegressorParams::search_space();
        for params in space.sample(30, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1)) {
            let built = MlpRegressorParams::from_params(&params).unwrap();
            assert!(!built.architecture().hidden.is_empty());
        }
    }

    #[test]
    fn unknown_choices_are_errors() {
        let mut params = ParamSet::new();
        params.insert("loss".into(), Value::Text("hinge".into()));
        assert!(MlpRegressorParams::from_params(&params).is_err());
    }
}
