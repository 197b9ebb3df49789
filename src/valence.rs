//! The valence task shared by the Task 1 and Task 2 examples: the data, the folds, the classic
//! methods and their searches, blending, explanation and the outputs.
//!
//! The examples stay thin: they parse flags and call these functions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use classic_models::{
    Boosting, BoostingParams, DecisionTreeParams, ElasticNetParams, FittedModel, KnnParams,
    ModelError, ModelFile, Nearest, RandomForestParams, Scaled, SvrParams, TwinLookup,
};
use dataset::{DataDir, FeatureSet, Track};
use evaluation::{
    describe, report::Markdown, CvScores, EvalError, Fold, Importance, ParamSet, PartialDependence,
    Search, SearchResult, SearchSpace, Tunable, Value,
};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

/// Errors of the valence pipeline.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Loading or preparing data failed.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    /// Evaluating, reporting or plotting failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// A classic model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A neural network failed.
    #[error(transparent)]
    Neural(#[from] neural_models::NeuralError),
    /// The feature source of the evaluation tracks failed.
    #[error(transparent)]
    Features(#[from] spotify_client::ClientError),
    /// Inputs from an earlier run do not fit this one.
    #[error("{0}")]
    Inconsistent(String),
}

/// What every valence run needs: the data, where to write, how hard to search, and the folds.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The data directory.
    pub data: DataDir,
    /// Where to write the outputs.
    pub out: PathBuf,
    /// Search budget.
    pub budget: Budget,
    /// Seed of folds, searches and models (runs that share out-of-fold predictions need the same).
    pub seed: u64,
    /// Number of folds.
    pub folds: usize,
    /// How tracks are dealt into folds.
    pub grouping: Grouping,
    /// Show progress bars.
    pub progress: bool,
    /// A feature cache (`spotify_client::Cache`, filled from the Web API or ReccoBeats by
    /// `build_dataset` or `fetch_features`) that gives the evaluation tracks' features; `None`
    /// reads them from the shared `eval_features.csv` and `eval_analysis.csv`.
    pub eval_cache: Option<PathBuf>,
}

/// Default seed of folds, searches and models.
pub const SEED: u64 = 42;
/// Number of cross-validation folds.
pub const FOLDS: usize = 5;

/// The data of the valence tasks, ready for learning.
pub struct ValenceInputs {
    /// Chart tracks with valence.
    pub train: Vec<Track>,
    /// The tracks to predict, in the order of `spotify_ids.txt`.
    pub eval: Vec<Track>,
    /// Valence of the training tracks.
    pub y: Array1<f64>,
    /// The folds every method is scored on.
    pub folds: Vec<Fold>,
    /// Number of groups of identical-feature tracks (recordings).
    pub recordings: usize,
    /// How the folds were made.
    pub grouping: Grouping,
}

/// The two feature sets compared: audio features only, and with the analysis means.
pub fn feature_sets() -> [FeatureSet; 2] {
    [FeatureSet::audio(), FeatureSet::audio_with_analysis()]
}

/// How tracks are dealt into folds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Grouping {
    /// Tracks with identical audio features (one recording under several ids) share a fold:
    /// the honest estimate for tracks never seen before (the default).
    Recordings,
    /// Plain shuffled k-fold, as the targets' LightGBM reference was measured; copies of a
    /// recording can sit on both sides of a fold.
    Plain,
}

/// Loads the data and builds the folds every method is scored on. The evaluation tracks'
/// features come through a [`spotify_client::FeatureSource`]: the configured cache, or the
/// shared files.
pub fn prepare(config: &RunConfig) -> Result<ValenceInputs, PipelineError> {
    let (dir, folds, seed, grouping) = (&config.data, config.folds, config.seed, config.grouping);
    let data = dataset::load::valence::load(dir)?;
    let y = dataset::valence(&data.train)?;
    let groups = dataset::prepare::recording_groups(&data.train);
    let recordings = groups.iter().copied().max().map_or(0, |g| g + 1);
    let splits = match grouping {
        Grouping::Recordings => dataset::split::group_k_fold(&groups, folds, seed)?,
        Grouping::Plain => dataset::split::k_fold(groups.len(), folds, seed)?,
    };
    let folds = splits
        .into_iter()
        .map(|split| Fold {
            train: split.train,
            test: split.test,
        })
        .collect();
    let eval = match &config.eval_cache {
        Some(path) => eval_tracks(&data.eval, &mut spotify_client::Cache::open(path)?)?,
        None => eval_tracks(
            &data.eval,
            &mut spotify_client::LocalSource::new(&data.eval),
        )?,
    };
    Ok(ValenceInputs {
        train: data.train,
        eval,
        y,
        folds,
        recordings,
        grouping,
    })
}

/// The evaluation tracks (the ids of `listed`, in order) with the features `source` gives them;
/// an id without features is an error that names it, an id without analysis keeps none.
fn eval_tracks(
    listed: &[Track],
    source: &mut dyn spotify_client::FeatureSource,
) -> Result<Vec<Track>, PipelineError> {
    let ids: Vec<String> = listed.iter().map(|track| track.id.clone()).collect();
    let options = spotify_client::fetch::FetchOptions::new().progress(false);
    let fetched = spotify_client::fetch::fetch(source, None, &ids, &options)?;
    let by_id: std::collections::HashMap<&str, &spotify_client::fetch::FetchedTrack> = fetched
        .tracks
        .iter()
        .map(|track| (track.id.as_str(), track))
        .collect();
    ids.iter()
        .map(|id| {
            let found = by_id.get(id.as_str()).and_then(|track| {
                track
                    .features
                    .clone()
                    .map(|features| (features, track.analysis.clone()))
            });
            let (features, analysis) = found.ok_or_else(|| {
                PipelineError::Inconsistent(format!(
                    "the feature source `{}` has no audio features for evaluation track {id}",
                    source.name()
                ))
            })?;
            Ok(Track {
                id: id.clone(),
                features,
                analysis,
                labels: Default::default(),
            })
        })
        .collect()
}

/// The non-neural methods of Task 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Method {
    /// Elastic net on standardised features.
    ElasticNet,
    /// k-nearest neighbours on standardised features.
    Knn,
    /// One regression tree.
    DecisionTree,
    /// Random forest.
    RandomForest,
    /// Support vector regression, Gaussian kernel.
    Svr,
    /// Gradient-boosted trees.
    Boosting,
}

/// How much searching to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// The full search (about 15 minutes for Task 1 on 2 cores).
    Full,
    /// A token search that exercises every step in well under a minute.
    Quick,
}

/// Rows SVR candidates are fitted on during the search; the winner is refitted on all rows.
const SVR_SEARCH_ROWS: i64 = 3000;

impl Method {
    /// Every method, cheapest first.
    pub const ALL: [Method; 6] = [
        Method::ElasticNet,
        Method::DecisionTree,
        Method::Knn,
        Method::RandomForest,
        Method::Svr,
        Method::Boosting,
    ];

    /// The method's name in reports and `metrics.json`.
    pub fn name(self) -> &'static str {
        match self {
            Method::ElasticNet => "elastic_net",
            Method::Knn => "knn",
            Method::DecisionTree => "decision_tree",
            Method::RandomForest => "random_forest",
            Method::Svr => "svr",
            Method::Boosting => "boosting",
        }
    }

    /// A sentence on what the method is and which crate provides it.
    pub fn description(self) -> &'static str {
        match self {
            Method::ElasticNet => "elastic-net linear regression on standardised features (coordinate descent, classic-models)",
            Method::Knn => "k-nearest neighbours on standardised features (exact, classic-models)",
            Method::DecisionTree => "a single regression tree (smartcore; linfa-trees 0.8 only classifies)",
            Method::RandomForest => "random forest (smartcore, trees grown in parallel)",
            Method::Svr => "epsilon-SVR with a Gaussian kernel on standardised features (linfa-svm)",
            Method::Boosting => "histogram gradient-boosted trees, leaf-wise (classic-models; see docs/BOOSTING.md)",
        }
    }

    /// The space searched: the one each learner declares.
    pub fn space(self) -> SearchSpace {
        match self {
            Method::ElasticNet => ElasticNetParams::search_space(),
            Method::Knn => KnnParams::search_space(),
            Method::DecisionTree => DecisionTreeParams::search_space(),
            Method::RandomForest => RandomForestParams::search_space(),
            Method::Svr => SvrParams::search_space(),
            Method::Boosting => BoostingParams::search_space(),
        }
    }

    /// The search run for this method at this budget.
    pub fn search(self, budget: Budget, seed: u64) -> Search {
        let label = self.name();
        let space = self.space();
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

    /// Runs `search` with this method's learner.
    pub fn run_search(
        self,
        search: &Search,
        x: &Array2<f64>,
        y: &Array1<f64>,
        folds: &[Fold],
    ) -> Result<SearchResult, EvalError> {
        match self {
            Method::ElasticNet => search.run::<Scaled<ElasticNetParams>, _>(x, y, folds),
            Method::Knn => search.run::<Scaled<KnnParams>, _>(x, y, folds),
            Method::DecisionTree => search.run::<DecisionTreeParams, _>(x, y, folds),
            Method::RandomForest => search.run::<RandomForestParams, _>(x, y, folds),
            Method::Svr => search.run::<Scaled<SvrParams>, _>(x, y, folds),
            Method::Boosting => search.run::<BoostingParams, _>(x, y, folds),
        }
    }

    /// Cross-validates one parameter set.
    pub fn cross_validate(
        self,
        params: &ParamSet,
        x: &Array2<f64>,
        y: &Array1<f64>,
        folds: &[Fold],
    ) -> Result<evaluation::CvOutcome, PipelineError> {
        Ok(match self {
            Method::ElasticNet => evaluation::cross_validate(
                &Scaled::<ElasticNetParams>::from_params(params)?,
                x,
                y,
                folds,
            )?,
            Method::Knn => {
                evaluation::cross_validate(&Scaled::<KnnParams>::from_params(params)?, x, y, folds)?
            }
            Method::DecisionTree => {
                evaluation::cross_validate(&DecisionTreeParams::from_params(params)?, x, y, folds)?
            }
            Method::RandomForest => {
                evaluation::cross_validate(&RandomForestParams::from_params(params)?, x, y, folds)?
            }
            Method::Svr => {
                evaluation::cross_validate(&Scaled::<SvrParams>::from_params(params)?, x, y, folds)?
            }
            Method::Boosting => {
                evaluation::cross_validate(&BoostingParams::from_params(params)?, x, y, folds)?
            }
        })
    }

    /// Fits one parameter set on all rows.
    pub fn fit(
        self,
        params: &ParamSet,
        x: &Array2<f64>,
        y: &Array1<f64>,
    ) -> Result<FittedModel, ModelError> {
        let data = DatasetBase::new(x.clone(), y.clone());
        Ok(match self {
            Method::ElasticNet => FittedModel::ElasticNet(
                Scaled::<ElasticNetParams>::from_params(params)?.fit(&data)?,
            ),
            Method::Knn => FittedModel::Knn(Scaled::<KnnParams>::from_params(params)?.fit(&data)?),
            Method::DecisionTree => {
                FittedModel::DecisionTree(DecisionTreeParams::from_params(params)?.fit(&data)?)
            }
            Method::RandomForest => {
                FittedModel::RandomForest(RandomForestParams::from_params(params)?.fit(&data)?)
            }
            Method::Svr => FittedModel::Svr(Scaled::<SvrParams>::from_params(params)?.fit(&data)?),
            Method::Boosting => {
                FittedModel::Boosting(BoostingParams::from_params(params)?.fit(&data)?)
            }
        })
    }

    /// The method with this name.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
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
    /// The feature set's name.
    pub feature_set: String,
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

/// Searches one method on one feature set. SVR candidates are searched on a sample of rows;
/// the winner is then cross-validated again on all rows, and that score is the one reported.
pub fn search_method(
    method: Method,
    budget: Budget,
    seed: u64,
    feature_set: &FeatureSet,
    x: &Array2<f64>,
    inputs: &ValenceInputs,
    progress: bool,
) -> Result<MethodResult, PipelineError> {
    let start = Instant::now();
    let label = format!("{} [{}]", method.name(), feature_set.name);
    let search = method.search(budget, seed);
    let search = Search::clone(&search).progress(progress);
    let result = method.run_search(&search, x, &inputs.y, &inputs.folds)?;
    let best = result.best();
    let leaderboard = result
        .trials
        .iter()
        .take(5)
        .map(|t| (describe(&t.params), t.scores.mae))
        .collect();
    let failed = result
        .failed
        .iter()
        .map(|(params, message)| format!("{}: {message}", describe(params)))
        .collect();
    let mut params = best.params.clone();
    let (scores, oof, note) = if method == Method::Svr && budget == Budget::Full {
        params.remove("max_train_rows");
        if progress {
            eprintln!("{label}: refitting the best SVR on all rows of each fold");
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
        feature_set: feature_set.name.clone(),
        params,
        scores,
        candidates: result.trials.len() + result.failed.len(),
        failed,
        seconds: start.elapsed().as_secs_f64(),
        leaderboard,
        note,
        oof,
    })
}

/// A blend of several methods' best candidates on one feature set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlendOutcome {
    /// The feature set's name.
    pub feature_set: String,
    /// Members and weights (zero weights included).
    pub weights: Vec<(String, f64)>,
    /// Cross-fitted scores.
    pub scores: CvScores,
    /// Cross-fitted out-of-fold predictions.
    #[serde(skip)]
    pub oof: Array1<f64>,
}

/// Blends named out-of-fold predictions by weights chosen on other folds.
pub fn blend_members(
    feature_set: &str,
    members: &[(String, &Array1<f64>)],
    inputs: &ValenceInputs,
) -> Result<BlendOutcome, PipelineError> {
    let result = evaluation::blend(members, &inputs.y, &inputs.folds)?;
    Ok(BlendOutcome {
        feature_set: feature_set.into(),
        weights: result.weights,
        scores: result.scores,
        oof: result.oof,
    })
}

/// What the feature-influence section is built from, for one feature set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Influence {
    /// The feature set's name.
    pub feature_set: String,
    /// Permutation importance of the boosting model on held-out folds.
    pub permutation: Vec<Importance>,
    /// The boosting model's own importance: total split gain, normalised to sum to 1.
    pub gain: Vec<Importance>,
    /// Partial dependence of the most important features.
    pub partial_dependence: Vec<PartialDependence>,
}

/// Explains the boosting model: permutation importance on the held-out folds (`repeats`
/// shuffles), its own gain importance and partial dependence of the `top` features.
#[allow(clippy::too_many_arguments)]
pub fn explain_boosting(
    params: &ParamSet,
    feature_set: &FeatureSet,
    x: &Array2<f64>,
    inputs: &ValenceInputs,
    fitted: &Boosting,
    repeats: usize,
    top: usize,
    seed: u64,
) -> Result<Influence, PipelineError> {
    let names = feature_set.names();
    let learner = BoostingParams::from_params(params)?;
    let permutation = evaluation::permutation_importance(
        &learner,
        x,
        &inputs.y,
        &names,
        &inputs.folds,
        repeats,
        seed,
    )?;
    let total_gain: f64 = fitted
        .gain_importance()
        .iter()
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let mut gain: Vec<Importance> = names
        .iter()
        .zip(fitted.gain_importance())
        .map(|(name, g)| Importance {
            feature: name.clone(),
            mean: g / total_gain,
            sd: 0.0,
        })
        .collect();
    gain.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    let partial_dependence = permutation
        .iter()
        .take(top)
        .map(|importance| {
            let column = names
                .iter()
                .position(|n| *n == importance.feature)
                .unwrap_or(0);
            evaluation::partial_dependence(fitted, x, column, &importance.feature, 12)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Influence {
        feature_set: feature_set.name.clone(),
        permutation,
        gain,
        partial_dependence,
    })
}

/// Sentences, generated from the numbers, saying which features raise valence, which lower it
/// and by how much.
pub fn influence_sentences(influence: &Influence) -> Vec<String> {
    let mut sentences = Vec::new();
    for (rank, curve) in influence.partial_dependence.iter().enumerate() {
        let importance = influence
            .permutation
            .iter()
            .find(|i| i.feature == curve.feature);
        let (Some(first), Some(last)) = (curve.grid.first(), curve.grid.last()) else {
            continue;
        };
        let effect = curve.effect();
        let direction = if effect.abs() < 0.25 * curve.range() || effect.abs() < 0.005 {
            format!(
                "has no steady direction: moving it from {} to {} (5th to 95th percentile) changes predicted valence by {:+.3} overall, within a swing of {:.3}",
                format_value(*first),
                format_value(*last),
                effect,
                curve.range()
            )
        } else {
            format!(
                "{} valence: moving it from {} to {} (5th to 95th percentile) {} the average prediction by {:.3}",
                if effect > 0.0 { "raises" } else { "lowers" },
                format_value(*first),
                format_value(*last),
                if effect > 0.0 { "raises" } else { "lowers" },
                effect.abs()
            )
        };
        let weight = importance.map_or(String::new(), |i| {
            format!(
                "; shuffling it on held-out tracks worsens MAE by {:.4} ± {:.4}",
                i.mean, i.sd
            )
        });
        sentences.push(format!(
            "{}. `{}` {direction}{weight}.",
            rank + 1,
            curve.feature
        ));
    }
    let negligible: Vec<String> = influence
        .permutation
        .iter()
        .filter(|i| i.mean < 0.0005)
        .map(|i| format!("`{}`", i.feature))
        .collect();
    if !negligible.is_empty() {
        sentences.push(format!(
            "Shuffling {} changes the held-out MAE by less than 0.0005: they carry almost nothing the other features do not.",
            negligible.join(", ")
        ));
    }
    sentences
}

fn format_value(value: f64) -> String {
    if value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// The model chosen to predict, and how it was scored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Choice {
    /// A method name, or `blend`.
    pub method: String,
    /// The feature set's name.
    pub feature_set: String,
    /// Parameters (for a blend: each member's weight and parameters).
    pub params: serde_json::Value,
    /// Its CV MAE.
    pub cv_mae: f64,
}

/// Clips predictions to the valence range.
pub fn clip_unit(values: &Array1<f64>) -> Array1<f64> {
    values.mapv(|v| v.clamp(0.0, 1.0))
}

/// Predicts the evaluation tracks: those with an analysis by `with_analysis` on
/// `full_set`, the others by `audio_only` on the audio features. Returns the predictions (in
/// [0,1]) and the ids predicted from audio features alone.
pub fn predict_eval(
    eval: &[Track],
    full_set: &FeatureSet,
    with_analysis: &ModelFile,
    audio_set: &FeatureSet,
    audio_only: &ModelFile,
) -> Result<(Vec<f64>, Vec<String>), PipelineError> {
    let (covered, uncovered): (Vec<usize>, Vec<usize>) =
        (0..eval.len()).partition(|&i| full_set.covers(&eval[i]));
    let pick = |rows: &[usize]| {
        rows.iter()
            .map(|&i| eval[i].clone())
            .collect::<Vec<Track>>()
    };
    let mut values = vec![f64::NAN; eval.len()];
    if !covered.is_empty() {
        let predicted = with_analysis.predict(&full_set.matrix(&pick(&covered))?)?;
        for (&row, value) in covered.iter().zip(predicted) {
            values[row] = value;
        }
    }
    if !uncovered.is_empty() {
        let predicted = audio_only.predict(&audio_set.matrix(&pick(&uncovered))?)?;
        for (&row, value) in uncovered.iter().zip(predicted) {
            values[row] = value;
        }
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(PipelineError::Inconsistent(
            "a model predicted a non-finite valence for an evaluation track".into(),
        ));
    }
    let fallback_ids = uncovered.iter().map(|&i| eval[i].id.clone()).collect();
    Ok((
        values.into_iter().map(|v| v.clamp(0.0, 1.0)).collect(),
        fallback_ids,
    ))
}

/// Out-of-fold predictions of a run, saved so a later task can blend with them on the same
/// folds: one row per training track with its fold, true valence, and one column per model.
pub struct OofTable {
    /// Track ids, in training order.
    pub ids: Vec<String>,
    /// Fold of each track.
    pub fold: Vec<usize>,
    /// Named prediction columns.
    pub columns: BTreeMap<String, Array1<f64>>,
}

impl OofTable {
    /// Builds the table from the inputs' folds.
    pub fn new(inputs: &ValenceInputs) -> OofTable {
        let mut fold = vec![0; inputs.train.len()];
        for (k, f) in inputs.folds.iter().enumerate() {
            for &row in &f.test {
                fold[row] = k;
            }
        }
        OofTable {
            ids: inputs.train.iter().map(|t| t.id.clone()).collect(),
            fold,
            columns: BTreeMap::new(),
        }
    }

    /// Writes `id,fold,<columns…>` atomically.
    pub fn write(&self, path: &Path) -> Result<(), PipelineError> {
        use std::fmt::Write as _;
        let names: Vec<&String> = self.columns.keys().collect();
        let mut text = String::from("id,fold");
        for name in &names {
            let _ = write!(text, ",{name}");
        }
        text.push('\n');
        for (row, id) in self.ids.iter().enumerate() {
            let _ = write!(text, "{id},{}", self.fold[row]);
            for name in &names {
                let _ = write!(text, ",{:?}", self.columns[*name][row]);
            }
            text.push('\n');
        }
        evaluation::report::write_atomic(path, text.as_bytes())?;
        Ok(())
    }

    /// Reads a table written by [`OofTable::write`] and checks it matches `inputs` (same tracks
    /// in the same order, same folds).
    pub fn read(path: &Path, inputs: &ValenceInputs) -> Result<OofTable, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            PipelineError::Inconsistent(format!("{}: {e}; run task1_valence first", path.display()))
        })?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
        if header.len() < 2 || header[0] != "id" || header[1] != "fold" {
            return Err(PipelineError::Inconsistent(format!(
                "{}: not an out-of-fold table (header {:?})",
                path.display(),
                header
            )));
        }
        let expected = OofTable::new(inputs);
        let mut values: Vec<Vec<f64>> =
            vec![Vec::with_capacity(expected.ids.len()); header.len() - 2];
        let mut ids = Vec::with_capacity(expected.ids.len());
        for (index, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            let line_number = index + 2;
            if cells.len() != header.len() {
                return Err(PipelineError::Inconsistent(format!(
                    "{}:{line_number}: {} fields, expected {}",
                    path.display(),
                    cells.len(),
                    header.len()
                )));
            }
            let fold: usize = cells[1].parse().map_err(|_| {
                PipelineError::Inconsistent(format!(
                    "{}:{line_number}: bad fold {:?}",
                    path.display(),
                    cells[1]
                ))
            })?;
            if expected.ids.get(ids.len()) != Some(&cells[0].to_string())
                || expected.fold.get(ids.len()) != Some(&fold)
            {
                return Err(PipelineError::Inconsistent(format!(
                    "{}:{line_number}: track {} in fold {fold} does not match this run's tracks and folds (same data, seed and fold count are needed)",
                    path.display(),
                    cells[0]
                )));
            }
            ids.push(cells[0].to_string());
            for (column, cell) in cells[2..].iter().enumerate() {
                let value: f64 = cell.parse().map_err(|_| {
                    PipelineError::Inconsistent(format!(
                        "{}:{line_number}: column `{}` = {cell:?} is not a number",
                        path.display(),
                        header[column + 2]
                    ))
                })?;
                values[column].push(value);
            }
        }
        if ids.len() != expected.ids.len() {
            return Err(PipelineError::Inconsistent(format!(
                "{}: {} rows, expected {}",
                path.display(),
                ids.len(),
                expected.ids.len()
            )));
        }
        Ok(OofTable {
            ids,
            fold: expected.fold,
            columns: header[2..]
                .iter()
                .map(|h| h.to_string())
                .zip(values.into_iter().map(Array1::from))
                .collect(),
        })
    }
}

/// The key of a method's column in the out-of-fold table.
pub fn oof_key(model: &str, feature_set: &str) -> String {
    format!("{model}@{feature_set}")
}

/// Where a run writes its files.
pub struct OutDir {
    root: PathBuf,
}

impl OutDir {
    /// Creates the directory if needed.
    pub fn create(root: &Path) -> Result<OutDir, PipelineError> {
        std::fs::create_dir_all(root).map_err(|e| EvalError::write(root, e))?;
        Ok(OutDir {
            root: root.to_path_buf(),
        })
    }

    /// A file inside it.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// A file-name-safe form of a feature-set name (`audio+analysis` → `audio_analysis`).
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Adds the predicted-vs-actual and residual plots of out-of-fold predictions to `markdown`.
pub fn plot_oof(
    out: &OutDir,
    markdown: &mut Markdown,
    label: &str,
    file_stem: &str,
    y: &Array1<f64>,
    oof: &Array1<f64>,
) -> Result<(), PipelineError> {
    let truth = y.to_vec();
    let predicted = oof.to_vec();
    let scatter = format!("{file_stem}_predicted_vs_actual.png");
    evaluation::plot::predicted_vs_actual(
        &out.file(&scatter),
        &format!("{label}: out-of-fold predicted vs true valence"),
        &truth,
        &predicted,
    )?;
    let residuals = format!("{file_stem}_residuals.png");
    evaluation::plot::residuals(
        &out.file(&residuals),
        &format!("{label}: out-of-fold residuals"),
        &truth,
        &predicted,
    )?;
    markdown.image(&format!("{label}: predicted vs actual"), &scatter);
    markdown.image(&format!("{label}: residuals"), &residuals);
    Ok(())
}

/// Selects rows of `x` by index.
pub fn rows(x: &Array2<f64>, indices: &[usize]) -> Array2<f64> {
    x.select(Axis(0), indices)
}

/// Distances (on standardised features) up to which a near twin may be trusted; the radius is
/// chosen among these on out-of-fold predictions.
pub const TWIN_RADII: [f64; 10] = [0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0];

/// Near twins of one feature set: tracks whose nearest chart track, on standardised features, is
/// so close that they are almost surely the same recording under another id (single, album,
/// clean and explicit versions). Such a track takes its twin's valence instead of the model's
/// prediction.
///
/// The radius is chosen on out-of-fold predictions, cross-fitted: the rows of each fold are
/// corrected with the radius that is best on the other folds, so the corrected CV MAE is honest.
/// Near twins are far more common among chart tracks than among the evaluation tracks, so the
/// report also gives an estimate weighted by the evaluation tracks' share of twins.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NearTwins {
    /// The feature set's name.
    pub feature_set: String,
    /// The model whose predictions are corrected.
    pub model: String,
    /// The radius chosen on all out-of-fold rows (`None`: trusting twins never helped).
    pub radius: Option<f64>,
    /// The radius each fold was corrected with, chosen on the other folds.
    pub fold_radii: Vec<Option<f64>>,
    /// CV MAE of the model alone.
    pub cv_mae_model: f64,
    /// CV MAE after the correction.
    pub cv_mae: f64,
    /// Share of chart tracks corrected in cross-validation (twin in the other folds).
    pub train_share: f64,
    /// Corrected CV MAE of the rows that took a twin's valence.
    pub mae_twin_rows: f64,
    /// The model's CV MAE on those same rows, before the correction.
    pub mae_twin_rows_model: f64,
    /// CV MAE of the other rows.
    pub mae_other_rows: f64,
    /// Evaluation tracks this feature set covers.
    pub eval_covered: usize,
    /// Of those, the tracks with a twin among all chart tracks within the radius.
    pub eval_twins: usize,
    /// The CV MAE re-weighted to the evaluation tracks' share of twins: what the external score
    /// should be near.
    pub eval_estimate: f64,
    /// Each evaluation track's twin valence (`None`: not covered, or no twin within the radius).
    pub eval: Vec<Option<f64>>,
    /// The corrected out-of-fold predictions.
    #[serde(skip)]
    pub oof: Array1<f64>,
}

/// How far each track is from its nearest chart track on one feature set: each chart track from
/// the chart tracks of the other folds, each evaluation track from all chart tracks. Measured
/// once per feature set; [`NearTwins::find`] then scores any model's predictions with it.
#[derive(Clone, Debug)]
pub struct TwinDistances {
    feature_set: String,
    train: Vec<Nearest>,
    eval: Vec<Option<Nearest>>,
}

impl TwinDistances {
    /// Measures the distances on `set`, whose training matrix is `x`.
    pub fn measure(
        set: &FeatureSet,
        x: &Array2<f64>,
        inputs: &ValenceInputs,
    ) -> Result<TwinDistances, PipelineError> {
        let y = &inputs.y;
        let mut train = vec![
            Nearest {
                distance: f64::INFINITY,
                value: 0.0
            };
            y.len()
        ];
        for fold in &inputs.folds {
            let lookup = TwinLookup::fit(
                rows(x, &fold.train).view(),
                y.select(Axis(0), &fold.train).view(),
            )?;
            for (&row, found) in fold
                .test
                .iter()
                .zip(lookup.nearest(rows(x, &fold.test).view())?)
            {
                train[row] = found;
            }
        }
        let covered: Vec<usize> = (0..inputs.eval.len())
            .filter(|&i| set.covers(&inputs.eval[i]))
            .collect();
        let mut eval = vec![None; inputs.eval.len()];
        if !covered.is_empty() {
            let tracks: Vec<Track> = covered.iter().map(|&i| inputs.eval[i].clone()).collect();
            let lookup = TwinLookup::fit(x.view(), y.view())?;
            for (&i, found) in covered
                .iter()
                .zip(lookup.nearest(set.matrix(&tracks)?.view())?)
            {
                eval[i] = Some(found);
            }
        }
        Ok(TwinDistances {
            feature_set: set.name.clone(),
            train,
            eval,
        })
    }
}

impl NearTwins {
    /// Near twins for the model with out-of-fold predictions `model_oof`, on the feature set
    /// `distances` were measured on.
    pub fn find(
        distances: &TwinDistances,
        model: &str,
        inputs: &ValenceInputs,
        model_oof: &Array1<f64>,
    ) -> Result<NearTwins, PipelineError> {
        let y = &inputs.y;
        let n = y.len();
        if model_oof.len() != n || distances.train.len() != n {
            return Err(PipelineError::Inconsistent(format!(
                "near twins: {} out-of-fold predictions and {} distances for {n} chart tracks",
                model_oof.len(),
                distances.train.len()
            )));
        }
        let nearest = &distances.train;
        let corrected = |row: usize, radius: Option<f64>| match radius {
            Some(r) if nearest[row].distance <= r => nearest[row].value,
            _ => model_oof[row],
        };
        let best_radius = |chosen: &dyn Fn(usize) -> bool| -> Option<f64> {
            let mae = |radius: Option<f64>| -> f64 {
                (0..n)
                    .filter(|&row| chosen(row))
                    .map(|row| (corrected(row, radius) - y[row]).abs())
                    .sum()
            };
            let mut best = (None, mae(None));
            for radius in TWIN_RADII {
                let error = mae(Some(radius));
                if error < best.1 {
                    best = (Some(radius), error);
                }
            }
            best.0
        };
        let fold_of = OofTable::new(inputs).fold;
        let fold_radii: Vec<Option<f64>> = (0..inputs.folds.len())
            .map(|k| best_radius(&|row| fold_of[row] != k))
            .collect();
        let radius = best_radius(&|_| true);
        let oof: Array1<f64> = (0..n)
            .map(|row| corrected(row, fold_radii[fold_of[row]]))
            .collect();
        let is_twin: Vec<bool> = (0..n)
            .map(|row| fold_radii[fold_of[row]].is_some_and(|r| nearest[row].distance <= r))
            .collect();
        let mean_error = |values: &Array1<f64>, twin: bool| -> f64 {
            let errors: Vec<f64> = (0..n)
                .filter(|&row| is_twin[row] == twin)
                .map(|row| (values[row] - y[row]).abs())
                .collect();
            if errors.is_empty() {
                0.0
            } else {
                errors.iter().sum::<f64>() / errors.len() as f64
            }
        };
        let train_share = is_twin.iter().filter(|&&t| t).count() as f64 / n as f64;

        let covered = distances.eval.iter().filter(|d| d.is_some()).count();
        let eval: Vec<Option<f64>> = distances
            .eval
            .iter()
            .map(|found| match (found, radius) {
                (Some(found), Some(r)) if found.distance <= r => Some(found.value),
                _ => None,
            })
            .collect();
        let eval_twins = eval.iter().filter(|v| v.is_some()).count();
        let eval_share = eval_twins as f64 / covered.max(1) as f64;
        let (mae_twin_rows, mae_other_rows) = (mean_error(&oof, true), mean_error(&oof, false));
        Ok(NearTwins {
            feature_set: distances.feature_set.clone(),
            model: model.into(),
            radius,
            fold_radii,
            cv_mae_model: CvScores::of_predictions(y, model_oof, &inputs.folds)?.mae,
            cv_mae: CvScores::of_predictions(y, &oof, &inputs.folds)?.mae,
            train_share,
            mae_twin_rows,
            mae_twin_rows_model: mean_error(model_oof, true),
            mae_other_rows,
            eval_covered: covered,
            eval_twins,
            eval_estimate: eval_share * mae_twin_rows + (1.0 - eval_share) * mae_other_rows,
            eval,
            oof,
        })
    }

    /// Sentences for reports, generated from the numbers.
    pub fn describe(&self) -> String {
        match self.radius {
            None => format!(
                "Near twins [{}]: taking the valence of the nearest chart track never beat {} on out-of-fold predictions, so no prediction was replaced.",
                self.feature_set, self.model
            ),
            Some(radius) => format!(
                "Near twins [{}]: a track whose nearest chart track lies within {radius} (Euclidean, on standardised features) takes that track's valence instead of {}'s prediction. In cross-validation (radius chosen on the other folds) this corrects {:.1}% of the chart tracks, whose MAE falls from {:.4} to {:.4}; the others keep {:.4}. Overall CV MAE: {:.4} → {:.4}. Only {} of the {} evaluation tracks on these features ({:.1}%) have such a twin, so their MAE should be near {:.4}, the CV MAE re-weighted to that share.",
                self.feature_set,
                self.model,
                100.0 * self.train_share,
                self.mae_twin_rows_model,
                self.mae_twin_rows,
                self.mae_other_rows,
                self.cv_mae_model,
                self.cv_mae,
                self.eval_twins,
                self.eval_covered,
                100.0 * self.eval_twins as f64 / self.eval_covered.max(1) as f64,
                self.eval_estimate
            ),
        }
    }
}

/// Applies the near twins of the feature set each evaluation track was predicted on: `best`'s
/// where `best_set` covers the track, `fallback`'s elsewhere. Returns how many were replaced.
pub fn apply_near_twins(
    predictions: &mut [f64],
    eval: &[Track],
    best_set: &FeatureSet,
    best: &NearTwins,
    fallback: &NearTwins,
) -> usize {
    let mut replaced = 0;
    for (i, prediction) in predictions.iter_mut().enumerate() {
        let twins = if best_set.covers(&eval[i]) {
            best
        } else {
            fallback
        };
        if let Some(Some(valence)) = twins.eval.get(i) {
            *prediction = *valence;
            replaced += 1;
        }
    }
    replaced
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataset::{AudioFeatures, Labels};
    use evaluation::ParamSetExt;

    fn track(id: &str, energy: f64, valence: Option<f64>) -> Track {
        Track {
            id: id.into(),
            features: AudioFeatures {
                danceability: 0.5,
                energy,
                key: 1,
                loudness: -5.0,
                mode: Some(1),
                speechiness: 0.1,
                acousticness: 0.2,
                instrumentalness: 0.0,
                liveness: 0.1,
                valence,
                tempo: 120.0,
                duration_ms: Some(200_000),
                time_signature: Some(4),
            },
            analysis: None,
            labels: Labels::default(),
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

    #[test]
    fn near_twins_take_the_valence_of_the_nearest_chart_track_within_the_chosen_radius() {
        // Ten recordings, each twice with a tiny difference in energy; the copies sit in
        // different folds, so each held-out track has its twin in the other fold.
        let train: Vec<Track> = (0..20)
            .map(|i| {
                let recording = f64::from(i / 2);
                track(
                    &format!("t{i}"),
                    0.1 * recording + 0.001 * f64::from(i % 2),
                    Some(0.1 * recording),
                )
            })
            .collect();
        let y = Array1::from_iter(train.iter().filter_map(|t| t.features.valence));
        let folds = vec![
            Fold {
                train: (1..20).step_by(2).collect(),
                test: (0..20).step_by(2).collect(),
            },
            Fold {
                train: (0..20).step_by(2).collect(),
                test: (1..20).step_by(2).collect(),
            },
        ];
        let inputs = ValenceInputs {
            eval: vec![track("x", 0.3, None), track("y", 5.0, None)],
            train,
            y,
            folds,
            recordings: 10,
            grouping: Grouping::Plain,
        };
        let set = FeatureSet::audio();
        let x = set.matrix(&inputs.train).unwrap();
        let constant = Array1::from_elem(20, 0.45);
        let distances = TwinDistances::measure(&set, &x, &inputs).unwrap();
        let twins = NearTwins::find(&distances, "constant", &inputs, &constant).unwrap();
        assert_eq!(twins.radius, Some(0.1));
        assert_eq!(twins.fold_radii, vec![Some(0.1), Some(0.1)]);
        assert!(twins.cv_mae < 1e-12 && (twins.cv_mae_model - 0.25).abs() < 1e-12);
        assert_eq!(twins.train_share, 1.0);
        assert_eq!((twins.eval_covered, twins.eval_twins), (2, 1));
        assert!((twins.eval[0].unwrap() - 0.3).abs() < 1e-12 && twins.eval[1].is_none());
        let mut predictions = vec![0.8, 0.6];
        let replaced = apply_near_twins(&mut predictions, &inputs.eval, &set, &twins, &twins);
        assert_eq!(replaced, 1);
        assert!((predictions[0] - 0.3).abs() < 1e-12 && predictions[1] == 0.6);
    }
}
