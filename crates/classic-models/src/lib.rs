//! Non-neural learners for Spotify audio features, behind linfa's `Fit` and `PredictInplace`
//! (regressors) or `Fit` and `evaluation::PredictProba` (classifiers: boosting, random forest,
//! logistic regression, k-NN, saved with [`ClassifierFile`]).
//!
//! Every learner follows linfa's `ParamGuard`: a parameter struct (`KnnParams`) that users build
//! and change, checked once, in `check_ref`, into its valid counterpart (`KnnValidParams`), which
//! alone implements `Fit` (linfa gives the unchecked struct a `fit` that checks first). A
//! regressor declares its search space next to itself ([`evaluation::Tunable`]), and its
//! `from_params` refuses names that space does not declare; only a fitted model predicts.

/// `Debug` for a `Params(ValidParams)` newtype that reads as the plain parameter struct it
/// replaced (`KnnParams { k: 10, weighting: Distance }`), so that reports printing parameters
/// keep their text.
macro_rules! debug_as_struct {
    ($params:ident { $($field:ident),* $(,)? }) => {
        impl std::fmt::Debug for $params {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($params))
                    $(.field(stringify!($field), &self.0.$field))*
                    .finish()
            }
        }
    };
}

mod binning;
mod blocked;
mod boost_core;
mod boosted_tree;
pub mod boosting;
pub mod boosting_classifier;
mod check;
mod classes;
pub mod classifier_file;
mod draws;
pub mod error;
mod flat_trees;
pub mod forest_classifier;
pub mod knn;
pub mod knn_classifier;
pub mod lightgbm;
pub mod linear;
pub mod logistic;
pub mod persist;
pub mod scaled;
pub mod svr;
mod team;
pub mod tree;
pub mod twins;

pub use binning::bin_edges;
pub use boosting::{Boosting, BoostingParams, BoostingValidParams, Loss};
pub use boosting_classifier::{
    BoostingClassifier, BoostingClassifierParams, BoostingClassifierValidParams, BoostingRound,
};
pub use classifier_file::{ClassifierFile, FittedClassifier};
pub use error::ModelError;
pub use forest_classifier::{
    ForestClassifier, ForestClassifierParams, ForestClassifierValidParams,
};
pub use knn::{Knn, KnnParams, KnnValidParams, Weighting};
pub use knn_classifier::{KnnClassifier, KnnClassifierParams, KnnClassifierValidParams};
pub use linear::{ElasticNet, ElasticNetParams, ElasticNetValidParams};
pub use logistic::{LogisticClassifier, LogisticParams, LogisticValidParams};
pub use persist::{FittedModel, ModelFile};
pub use scaled::{Scaled, ScaledModel};
pub use svr::{Svr, SvrParams, SvrValidParams};
pub use tree::{
    DecisionTree, DecisionTreeParams, DecisionTreeValidParams, RandomForest, RandomForestParams,
    RandomForestValidParams,
};
pub use twins::{Nearest, TwinLookup};
