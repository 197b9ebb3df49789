//! Non-neural learners for Spotify audio features, behind linfa's `Fit` and `PredictInplace`
//! (regressors) or `Fit` and `evaluation::PredictProba` (classifiers: boosting, random forest,
//! logistic regression, k-NN, saved with [`ClassifierFile`]).
//!
//! Every learner is a parameter struct that is checked when it is fitted and that declares its
//! search space next to itself ([`evaluation::Tunable`]); only a fitted model predicts.

mod binning;
mod boosted_tree;
pub mod boosting;
pub mod boosting_classifier;
pub mod classifier_file;
mod draws;
pub mod error;
pub mod forest_classifier;
pub mod knn;
pub mod knn_classifier;
pub mod linear;
pub mod logistic;
pub mod persist;
pub mod scaled;
mod scaled_classifier;
pub mod svr;
mod team;
pub mod tree;
pub mod twins;

pub use binning::bin_edges;
pub use boosting::{Boosting, BoostingParams, Loss};
pub use boosting_classifier::{BoostingClassifier, BoostingClassifierParams, BoostingRound};
pub use classifier_file::{ClassifierFile, FittedClassifier};
pub use error::ModelError;
pub use forest_classifier::{ForestClassifier, ForestClassifierParams};
pub use knn::{Knn, KnnParams, Weighting};
pub use knn_classifier::{KnnClassifier, KnnClassifierParams};
pub use linear::{ElasticNet, ElasticNetParams};
pub use logistic::{LogisticClassifier, LogisticParams};
pub use persist::{FittedModel, ModelFile};
pub use scaled::{Scaled, ScaledModel};
pub use svr::{Svr, SvrParams};
pub use tree::{DecisionTree, DecisionTreeParams, RandomForest, RandomForestParams};
pub use twins::{Nearest, TwinLookup};
