//! The architecture of a multilayer perceptron, as data that is saved with the weights.

use serde::{Deserialize, Serialize};

use crate::error::NeuralError;

/// The non-linearity after each hidden layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// Gaussian error linear unit (exact, erf-based).
    Gelu,
    /// `x · sigmoid(x)`, also called swish.
    Silu,
    /// Hyperbolic tangent.
    Tanh,
    /// `x` for positive `x`, `0.01 · x` otherwise.
    LeakyRelu,
}

/// The normalisation between each hidden layer's linear map and its activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// No normalisation.
    None,
    /// Batch normalisation (running statistics at prediction time).
    Batch,
    /// Layer normalisation.
    Layer,
}

/// How the single regression output is mapped before it is compared with a target in `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputHead {
    /// The raw linear output.
    None,
    /// A sigmoid, in training and at prediction time.
    Sigmoid,
    /// The raw output in training, clamped to `[0, 1]` at prediction time (and for validation).
    Clipped,
}

/// The architecture of a multilayer perceptron: everything needed to rebuild it before loading
/// its weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Width of each hidden layer, input side first; its length is the depth.
    pub hidden: Vec<usize>,
    /// Non-linearity after each hidden layer.
    pub activation: Activation,
    /// Dropout probability after each hidden activation, in `[0, 1)`.
    pub dropout: f64,
    /// Normalisation of each hidden layer.
    pub normalisation: Normalisation,
    /// Mapping of the regression output (classifiers require [`OutputHead::None`]).
    pub output_head: OutputHead,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig::new(vec![64, 32])
    }
}

impl MlpConfig {
    /// A ReLU network with the given hidden widths, no dropout, no normalisation, no output head.
    pub fn new(hidden: Vec<usize>) -> Self {
        MlpConfig {
            hidden,
            activation: Activation::Relu,
            dropout: 0.0,
            normalisation: Normalisation::None,
            output_head: OutputHead::None,
        }
    }

    /// Sets the hidden widths.
    pub fn hidden(mut self, hidden: Vec<usize>) -> Self {
        self.hidden = hidden;
        self
    }

    /// Sets the activation.
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Sets the dropout probability.
    pub fn dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }

    /// Sets the normalisation.
    pub fn normalisation(mut self, normalisation: Normalisation) -> Self {
        self.normalisation = normalisation;
        self
    }

    /// Sets the output head.
    pub fn output_head(mut self, output_head: OutputHead) -> Self {
        self.output_head = output_head;
        self
    }

    /// Checks that every width is positive and the dropout is a probability below 1; part of
    /// the trainers' `ParamGuard::check_ref`.
    pub(crate) fn check(&self) -> Result<(), NeuralError> {
        if let Some(position) = self.hidden.iter().position(|&width| width == 0) {
            return Err(NeuralError::parameter(
                "hidden",
                format!("{:?} (layer {position} has width 0)", self.hidden),
                "positive widths",
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(NeuralError::parameter(
                "dropout",
                self.dropout,
                "a probability in [0, 1)",
            ));
        }
        Ok(())
    }
}
