//! The classic methods of Task 1 in one registry: each method's name, description and learner,
//! the searches run at each budget, and the search of one method on one feature set.

use std::marker::PhantomData;
use std::time::Instant;

use classic_models::{
    BoostingParams, DecisionTreeParams, ElasticNetParams, FittedModel, KnnParams, ModelError,
    RandomForestParams, Scaled, SvrParams,
};
use evaluation::{
    describe, CvOutcome, CvScores, EvalError, Fold, ParamSet, Search, SearchResult, SearchSpace,
    Tunable, Value,
};
use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::{Budget, FeatureSetId, Method, PipelineError, ValenceInputs};
use crate::log::log;

/// What the pipeline does with a method's learner; the same for every method, so one generic
/// implementation ([`Registered`]) serves all six.
trait Learner: Sync {
    /// The space the learner declares.
    fn space(&self) -> SearchSpace;
    /// Runs `search` with this learner.
    fn search(
        &self,
        search: &Search,
        x: &Array2<f64>,
        y: &Array1<f64>,
        folds: &[Fold],
    ) -> Result<SearchResult, EvalError>;
    /// Cross-validates one parameter set.
    fn cross_validate(
        &self,
        params: &ParamSet,
        x: &Array2<f64>,
        y: &Array1<f64>,
        folds: &[Fold],
    ) -> Result<CvOutcome, PipelineError>;
    /// Fits one parameter set on all rows.
    fn fit(
        &self,
        params: &ParamSet,
        x: &Array2<f64>,
        y: &Array1<f64>,
    ) -> Result<FittedModel, ModelError>;
}

/// The learner `P`, and how its fitted model is stored in a model file.
struct Registered<P: Fit<Array2<f64>, Array1<f64>, ModelError>> {
    store: fn(P::Object) -> FittedModel,
    learner: PhantomData<fn() -> P>,
}

impl<P: Fit<Array2<f64>, Array1<f64>, ModelError>> Registered<P> {
    const fn new(store: fn(P::Object) -> FittedModel) -> Self {
        Registered {
            store,
            learner: PhantomData,
        }
    }
}

impl<P> Learner for Registered<P>
where
    P: Tunable + Fit<Array2<f64>, Array1<f64>, ModelError> + Sync,
    P::Object: PredictInplace<Array2<f64>, Array1<f64>>,
    ModelError: From<P::Error>,
{
    fn space(&self) -> SearchSpace {
        P::search_space()
    }

    fn search(
        &self,
        search: &Search,
        x: &Array2<f64>,
        y: &Array1<f64>,
        folds: &[Fold],
    ) -> Result<SearchResult, EvalError> {
        search.run::<P, ModelError>(x, y, folds)
    }

    fn cross_validate(
        &self,
        params: &ParamSet,
        x: &Array2<f64>,
        y: &Array1<f64>,
        folds: &[Fold],
    ) -> Result<CvOutcome, PipelineError> {
        let learner = P::from_params(params).map_err(ModelError::from)?;
        Ok(evaluation::cross_validate(&learner, x, y, folds)?)
    }

    fn fit(
        &self,
        params: &ParamSet,
        x: &Array2<f64>,
        y: &Array1<f64>,
    ) -> Result<FittedModel, ModelError> {
        let learner = P::from_params(params)?;
        let data = DatasetBase::new(x.clone(), y.clone());
        Ok((self.store)(learner.fit(&data)?))
    }
}

/// One row of the registry.
struct Entry {
    name: &'static str,
    description: &'static str,
    learner: &'static dyn Learner,
}

static ELASTIC_NET: Entry = Entry {
    name: "elastic_net",
    description: "elastic-net linear regression on standardised features (coordinate descent, classic-models)",
    learner: &Registered::<Scaled<ElasticNetParams>>::new(FittedModel::ElasticNet),
};
static KNN: Entry = Entry {
    name: "knn",
    description: "k-nearest neighbours on standardised features (exact, classic-models)",
    learner: &Registered::<Scaled<KnnParams>>::new(FittedModel::Knn),
};
static DECISION_TREE: Entry = Entry {
    name: "decision_tree",
    description: "a single regression tree (smartcore; linfa-trees 0.8 only classifies)",
    learner: &Registered::<DecisionTreeParams>::new(FittedModel::DecisionTree),
};
static RANDOM_FOREST: Entry = Entry {
    name: "random_forest",
    description: "random forest (smartcore, trees grown in parallel)",
    learner: &Registered::<RandomForestParams>::new(FittedModel::RandomForest),
};
static SVR: Entry = Entry {
    name: "svr",
    description: "epsilon-SVR with a Gaussian kernel on standardised features (linfa-svm)",
    learner: &Registered::<Scaled<SvrParams>>::new(FittedModel::Svr),
};
static BOOSTING: Entry = Entry {
    name: "boosting",
    description:
        "histogram gradient-boosted trees, leaf-wise (classic-models; see docs/BOOSTING.md)",
    learner: &Registered::<BoostingParams>::new(FittedModel::Boosting),
};

/// Rows SVR candidates are fitted on during the full search; the winner is then
/// cross-validated again on all rows.
const SVR_SEARCH_ROWS: i64 = 3000;

impl Method {
    /// The method's row of the registry: the one place a method is mapped to its learner.
    fn entry(self) -> &'static Entry {
        match self {
            Method::ElasticNet => &ELASTIC_NET,
            Method::Knn => &KNN,
            Method::DecisionTree => &DECISION_TREE,
            Method::RandomForest => &RANDOM_FOREST,
            Method::Svr => &SVR,
            Method::Boosting => &BOOSTING,
        }
    }

    /// The method's name in reports, `metrics.json` and `oof.csv`.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// A sentence on what the method is and which crate provides it.
    pub fn description(self) -> &'static str {
        self.entry().description
    }

    /// The space searched: the one the learner declares.
    pub fn space(self) -> SearchSpace {
        self.entry().learner.space()
    }

    /// Runs `search` with this method's learner.
    pub fn run_search(
        self,
        search: &Search,
        x: &Array2<f64>,
        y: &Array1<f64>,
        folds: &[Fold],
    ) -> Result<SearchResult, EvalError> {
        self.entry().learner.search(search, x, y, folds)
    }

    /// Cross-validates one parameter set.
    pub fn cross_validate(
        self,
        params: &ParamSet,
        x: &Array2<f64>,
        y: &Array1<f64>,
        folds: &[Fold],
    ) -> Result<CvOutcome, PipelineError> {
        self.entry().learner.cross_validate(params, x, y, folds)
    }

    /// Fits one parameter set on all rows.
    pub fn fit(
        self,
        params: &ParamSet,
        x: &Array2<f64>,
        y: &Array1<f64>,
    ) -> Result<FittedModel, ModelError> {
        self.entry().learner.fit(params, x, y)
    }

    /// The search run for this method at this budget.
    pub fn search(self, budget: Budget, seed: u64) -> Search {
        let (label, space) = (self.name(), self.space());
        let seeded = |search: Search| search.overriding("seed", Value::Int(seed as i64));
        match (self, budget) {
            (Method::ElasticNet, Budget::Full) => Search::grid(label, space, 6),
            (Method::DecisionTree, Budget::Full) => Search::grid(label, space, 5),
            (Method::Knn, Budget::Full) => Search::grid(label, space, 6),
            (Method::RandomForest, Budget::Full) => seeded(Search::random(label, space, 4, seed)),
            (Method::Svr, Budget::Full) => seeded(Search::random(label, space, 6, seed))
                .overriding("max_train_rows", Value::Int(SVR_SEARCH_ROWS)),
            (Method::Boosting, Budget::Full) => {
                // The same trees are still learning at 2000 of rate 0.02 on the chart tracks
                // (docs/PERFORMANCE.md, `tools/lightgbm_staged.py`), so two longer learning
                // budgets of them are candidates too.
                seeded(
                    Search::random(label, space, 8, seed)
                        .including(lightgbm_like())
                        .including(lightgbm_like_at(0.05, 2000))
                        .including(lightgbm_like_at(0.05, 4000)),
                )
            }
            (Method::ElasticNet | Method::DecisionTree, Budget::Quick) => {
                Search::random(label, space, 2, seed)
            }
            (Method::Knn, Budget::Quick) => Search::random(label, space, 1, seed),
            (Method::RandomForest, Budget::Quick) => {
                seeded(Search::random(label, space, 2, seed)).overriding("n_trees", Value::Int(20))
            }
            (Method::Svr, Budget::Quick) => seeded(Search::random(label, space, 2, seed))
                .overriding("max_train_rows", Value::Int(500)),
            (Method::Boosting, Budget::Quick) => seeded(Search::random(label, space, 2, seed))
                .overriding("n_trees", Value::Int(60))
                .overriding("learning_rate", Value::Float(0.1)),
        }
    }

    /// Whether the search fits on a sample of rows, so that the winner must be cross-validated
    /// again on all rows.
    fn searches_on_a_sample(self, budget: Budget) -> bool {
        self == Method::Svr && budget == Budget::Full
    }
}

/// The settings of the LightGBM run the targets were measured with, always among the
/// boosting candidates.
pub fn lightgbm_like() -> ParamSet {
    lightgbm_like_at(0.02, 2000)
}

/// [`lightgbm_like`] with another learning rate and tree count.
pub fn lightgbm_like_at(learning_rate: f64, n_trees: i64) -> ParamSet {
    let mut params = ParamSet::new();
    params.insert("n_trees".into(), Value::Int(n_trees));
    params.insert("learning_rate".into(), Value::Float(learning_rate));
    params.insert("max_leaves".into(), Value::Int(31));
    params.insert("min_leaf_rows".into(), Value::Int(20));
    params.insert("l2_regularisation".into(), Value::Float(0.0));
    params.insert("row_fraction".into(), Value::Float(0.8));
    params.insert("feature_fraction".into(), Value::Float(0.7));
    params.insert("loss".into(), Value::Text("l2".into()));
    params
}

/// The best candidate of one method on one feature set, scored on the shared folds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MethodResult {
    /// The method.
    pub method: Method,
    /// The feature set.
    pub feature_set: FeatureSetId,
    /// The best parameters.
    pub params: ParamSet,
    /// Its cross-validated scores.
    pub scores: CvScores,
    /// Candidates evaluated.
    pub candidates: usize,
    /// Candidates that failed, with the reason.
    pub failed: Vec<String>,
    /// Wall-clock seconds of the search (and refit, for SVR).
    pub seconds: f64,
    /// The top candidates (params, CV MAE), best first.
    pub leaderboard: Vec<(String, f64)>,
    /// How the reported score was obtained, when it differs from the search's.
    pub note: Option<String>,
    /// Out-of-fold predictions of the best candidate.
    #[serde(skip)]
    pub oof: Array1<f64>,
}

/// What one method's search is run on.
#[derive(Clone, Copy, Debug)]
pub struct SearchPlan {
    /// How hard to search.
    pub budget: Budget,
    /// Seed of the draws and the models.
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
}

/// Searches one method on one feature set, whose training matrix is `x`. SVR candidates of the
/// full search are fitted on a sample of rows; the winner is then cross-validated again on all
/// rows, and that score is the one reported.
pub fn search_method(
    method: Method,
    plan: SearchPlan,
    feature_set: FeatureSetId,
    x: &Array2<f64>,
    inputs: &ValenceInputs,
) -> Result<MethodResult, PipelineError> {
    let start = Instant::now();
    let search = method
        .search(plan.budget, plan.seed)
        .progress(plan.progress);
    let result = method.run_search(&search, x, &inputs.y, &inputs.folds)?;
    let best = result.best();
    let mut params = best.params.clone();
    let (scores, oof, note) = if method.searches_on_a_sample(plan.budget) {
        params.remove("max_train_rows");
        if plan.progress {
            log(
                "task1",
                format!(
                    "{method} [{feature_set}]: refitting the best SVR on all rows of each fold"
                ),
            );
        }
        let full = method.cross_validate(&params, x, &inputs.y, &inputs.folds)?;
        let note = format!(
            "searched on {SVR_SEARCH_ROWS}-row samples of each training fold (best sampled CV MAE {:.4}); the winner was cross-validated again on all rows",
            best.scores.mae
        );
        (full.scores, full.oof, Some(note))
    } else {
        (best.scores.clone(), best.oof.clone(), None)
    };
    Ok(MethodResult {
        method,
        feature_set,
        params,
        scores,
        candidates: result.trials.len() + result.failed.len(),
        failed: result
            .failed
            .iter()
            .map(|(params, message)| format!("{}: {message}", describe(params)))
            .collect(),
        seconds: start.elapsed().as_secs_f64(),
        leaderboard: leaderboard(&result),
        note,
        oof,
    })
}

/// The top five trials of a search: their parameters and CV MAE.
pub fn leaderboard(result: &SearchResult) -> Vec<(String, f64)> {
    result
        .trials
        .iter()
        .take(5)
        .map(|trial| (describe(&trial.params), trial.scores.mae))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use evaluation::ParamSetExt;

    #[test]
    fn the_registry_gives_each_method_its_own_name_and_learner() {
        let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(
            names,
            [
                "elastic_net",
                "decision_tree",
                "knn",
                "random_forest",
                "svr",
                "boosting"
            ]
        );
        assert_eq!(
            Method::Boosting.space().names().collect::<Vec<_>>(),
            BoostingParams::search_space().names().collect::<Vec<_>>()
        );
        for method in Method::ALL {
            assert_eq!(method.name().parse::<Method>(), Ok(method));
            let x = Array2::from_shape_fn((40, 2), |(i, j)| (i * (j + 1)) as f64 / 40.0);
            let y = x.column(0).to_owned();
            let params = method.search(Budget::Quick, 1).candidates().unwrap()[0].clone();
            let model = method.fit(&params, &x, &y).unwrap();
            let stored = matches!(
                (method, &model),
                (Method::ElasticNet, FittedModel::ElasticNet(_))
                    | (Method::Knn, FittedModel::Knn(_))
                    | (Method::DecisionTree, FittedModel::DecisionTree(_))
                    | (Method::RandomForest, FittedModel::RandomForest(_))
                    | (Method::Svr, FittedModel::Svr(_))
                    | (Method::Boosting, FittedModel::Boosting(_))
            );
            assert!(stored, "{method} was stored as another model");
        }
    }

    #[test]
    fn the_full_boosting_search_holds_the_peer_settings_at_three_learning_budgets() {
        let candidates = Method::Boosting
            .search(Budget::Full, 7)
            .candidates()
            .unwrap();
        assert_eq!(candidates.len(), 11);
        let budget = |set: &ParamSet| {
            (
                set.float_or("learning_rate", 0.0).unwrap(),
                set.int_or("n_trees", 0).unwrap(),
            )
        };
        let anchors: Vec<(f64, i64)> = candidates[..3].iter().map(budget).collect();
        assert_eq!(anchors, [(0.02, 2000), (0.05, 2000), (0.05, 4000)]);
        for set in &candidates {
            // `from_params` checks the parameters it builds.
            BoostingParams::from_params(set).unwrap();
            assert_eq!(set.int_or("seed", 0).unwrap(), 7, "{set:?}");
        }
        // The peer comparison's settings, seeded as the search seeds them.
        let mut peer = lightgbm_like();
        peer.insert("seed".into(), Value::Int(7));
        assert_eq!(candidates[0], peer);
    }
}
