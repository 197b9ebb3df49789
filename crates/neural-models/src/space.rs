//! The search space of the network regressor, declared next to it.

use linfa::ParamGuard;

use evaluation::{ParamSet, ParamSetExt, SearchSpace, Tunable, Value};

use crate::config::{Activation, MlpConfig, Normalisation, OutputHead};
use crate::error::NeuralError;
use crate::regressor::{Loss, MlpRegressorParams};
use crate::schedule::ReduceOnPlateau;
use crate::training::{Optimiser, TrainingParams};

impl Tunable for MlpRegressorParams {
    type Error = NeuralError;

    /// Width and depth (layers halve in width), dropout, learning rate, weight decay (AdamW),
    /// batch size, loss and activation. Early stopping on a 10% validation split, patience 12,
    /// and a plateau schedule guard every candidate against overfitting.
    ///
    /// Settings (read by `from_params`, never searched): `normalisation` (none, batch, layer),
    /// `huber_delta`, `max_epochs`, `validation_fraction`, `patience`, `seed` and `threads`.
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
            .setting("normalisation")
            .setting("huber_delta")
            .setting("max_epochs")
            .setting("validation_fraction")
            .setting("patience")
            .setting("seed")
            .setting("threads")
    }

    fn from_params(params: &ParamSet) -> Result<Self, NeuralError> {
        Self::search_space().check_names(params)?;
        let width = params.usize_or("width", 256)?;
        let depth = params.usize_or("depth", 2)?;
        if width == 0 || depth == 0 {
            return Err(NeuralError::parameter(
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
            other => {
                return Err(NeuralError::parameter(
                    "activation",
                    other,
                    "relu, gelu, silu or tanh",
                ))
            }
        };
        let normalisation = match params.text_or("normalisation", "none")? {
            "none" => Normalisation::None,
            "batch" => Normalisation::Batch,
            "layer" => Normalisation::Layer,
            other => {
                return Err(NeuralError::parameter(
                    "normalisation",
                    other,
                    "none, batch or layer",
                ))
            }
        };
        let loss = match params.text_or("loss", "l1")? {
            "l1" => Loss::L1,
            "huber" => Loss::Huber {
                delta: params.float_or("huber_delta", 0.1)?,
            },
            "mse" => Loss::Mse,
            other => return Err(NeuralError::parameter("loss", other, "l1, huber or mse")),
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
            batch_size: params.usize_or("batch_size", 128)?,
            max_epochs: params.usize_or("max_epochs", 300)?,
            validation_fraction: params.float_or("validation_fraction", 0.1)?,
            patience: params.usize_or("patience", 12)?,
            reduce_on_plateau: Some(ReduceOnPlateau {
                factor: 0.5,
                patience: 4,
                min_learning_rate: 1e-5,
            }),
            seed: params.int_or("seed", 0)? as u64,
            threads: Some(params.usize_or("threads", 1)?),
            ..TrainingParams::default()
        };
        let built = MlpRegressorParams::new(config)
            .loss(loss)
            .training(training);
        built.check_ref()?;
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

    #[test]
    fn an_unknown_name_is_refused_with_the_known_ones_listed() {
        let mut params = ParamSet::new();
        params.insert("max_epochs".into(), Value::Int(3));
        params.insert("seed".into(), Value::Int(3));
        assert!(MlpRegressorParams::from_params(&params).is_ok());
        params.insert("learnig_rate".into(), Value::Float(0.1));
        let error = MlpRegressorParams::from_params(&params)
            .unwrap_err()
            .to_string();
        assert!(error.contains("learnig_rate"), "{error}");
        assert!(error.contains("known: width, depth"), "{error}");
        assert!(error.contains("max_epochs, validation_fraction"), "{error}");
    }

    #[test]
    fn a_bad_range_is_refused_when_built_from_params() {
        let mut params = ParamSet::new();
        params.insert("dropout".into(), Value::Float(1.5));
        let error = MlpRegressorParams::from_params(&params).unwrap_err();
        assert!(
            matches!(
                error,
                NeuralError::InvalidParameter {
                    name: "dropout",
                    ..
                }
            ),
            "{error}"
        );
        params.insert("dropout".into(), Value::Float(0.1));
        params.insert("batch_size".into(), Value::Int(-2));
        assert!(matches!(
            MlpRegressorParams::from_params(&params),
            Err(NeuralError::Param(_))
        ));
    }
}
