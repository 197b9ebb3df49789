//! Evaluating learners that speak linfa's `Fit`/`PredictInplace`: metrics, k-fold
//! cross-validation, grid and random search over declared spaces, explanations (permutation
//! importance, partial dependence), Markdown/JSON reports and PNG plots.
//!
//! It is generic over the learner, so classic models and neural networks share it unchanged.
//! Learners declare their search space next to themselves with [`SearchSpace`] and
//! implement [`Tunable`].

pub mod blend;
pub mod calibration;
pub mod classification;
pub mod conformal;
pub mod cv;
pub mod error;
pub mod explain;
pub mod metrics;
pub mod plot;
pub mod report;
pub mod search;
pub mod space;

pub use blend::{blend, BlendResult};
pub use classification::{
    class_scores, cross_validate_classifier, holdout, ClassCvOutcome, ClassScores, Holdout,
    PredictProba,
};
pub use cv::{cross_validate, CvOutcome, CvScores, Fold};
pub use error::{BoxError, EvalError, FitError, ProbaError};
pub use explain::{partial_dependence, permutation_importance, Importance, PartialDependence};
pub use metrics::{mae, r2, regression_scores, rmse, RegressionScores};
pub use search::{Search, SearchResult, Strategy, Trial};
pub use space::{describe, Domain, ParamError, ParamSet, ParamSetExt, SearchSpace, Tunable, Value};
