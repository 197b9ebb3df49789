//! Non-neural learners for Spotify audio features, behind linfa's `Fit` and `PredictInplace`.
//!
//! Every learner is a parameter struct that is checked when it is fitted and that declares its
//! search space next to itself ([`evaluation::Tunable`]); only a fitted model predicts.

pub mod boosting;
pub mod error;
pub mod knn;
pub mod linear;
pub mod persist;
pub mod scaled;
pub mod svr;
pub mod tree;

pub use boosting::{Boosting, BoostingParams, Loss};
pub use error::ModelError;
pub use knn::{Knn, KnnParams, Weighting};
pub use linear::{ElasticNet, ElasticNetParams};
pub use persist::{FittedModel, ModelFile};
pub use scaled::{Scaled, ScaledModel};
pub use svr::{Svr, SvrParams};
pub use tree::{DecisionTree, DecisionTreeParams, RandomForest, RandomForestParams};
